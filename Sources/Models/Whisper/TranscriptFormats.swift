// Transcript renderings: plain text, SubRip (.srt), WebVTT (.vtt), tab-separated (.tsv), LRC
// lyrics (.lrc), CSV and JSON with provenance. txt/srt/vtt/tsv follow openai-whisper's writers
// (whisper/utils.py WriteTXT, SubtitlesWriter.iterate_result, WriteSRT, WriteVTT, WriteTSV) byte
// for byte, including the subtitle line options on word timestamps.

import Foundation

public enum TranscriptFormat: String, CaseIterable, Codable, Sendable {
    case txt, srt, vtt, json, tsv, lrc, csv
}

/// How subtitles (srt, vtt) are cut into lines and cues — openai-whisper's `--max_line_width`,
/// `--max_line_count`, `--max_words_per_line` and `--highlight_words`. All need word timestamps.
public struct SubtitleOptions: Codable, Sendable, Equatable {
    /// Characters per line before a line break (nil: segments are kept whole).
    public var maxLineWidth: Int? = nil
    /// Lines per cue (with `maxLineWidth`; nil: segments are kept whole).
    public var maxLineCount: Int? = nil
    /// Words per line (nil: no limit).
    public var maxWordsPerLine: Int? = nil
    /// One cue per word with the spoken word underlined (<u>…</u>).
    public var highlightWords = false
    public init() {}

    enum CodingKeys: String, CodingKey { case maxLineWidth, maxLineCount, maxWordsPerLine, highlightWords }
    /// Every key optional (records written before these options existed have none).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        maxLineWidth = try c.decodeIfPresent(Int.self, forKey: .maxLineWidth)
        maxLineCount = try c.decodeIfPresent(Int.self, forKey: .maxLineCount)
        maxWordsPerLine = try c.decodeIfPresent(Int.self, forKey: .maxWordsPerLine)
        highlightWords = try c.decodeIfPresent(Bool.self, forKey: .highlightWords) ?? false
    }

    public var isDefault: Bool { self == SubtitleOptions() }
    /// Why these options cannot be used, or nil: every one needs word timestamps. `spell` names an
    /// option as the user wrote it (pipeline key by default; the CLI passes its flags).
    public func problem(wordTimestamps: Bool,
                        spell: (String) -> String = { $0 == "word_timestamps" ? "word_timestamps: true" : $0 }) -> String? {
        let used = [maxLineWidth.map { _ in "max_line_width" }, maxLineCount.map { _ in "max_line_count" },
                    maxWordsPerLine.map { _ in "max_words_per_line" }, highlightWords ? "highlight_words" : nil].compactMap { $0 }
        if !wordTimestamps, let first = used.first { return "\(spell(first)) needs \(spell("word_timestamps"))" }
        for (name, value) in [("max_line_width", maxLineWidth), ("max_line_count", maxLineCount),
                              ("max_words_per_line", maxWordsPerLine)] {
            if let value, value < 1 { return "\(spell(name)) must be at least 1, not \(value)" }
        }
        if maxLineCount != nil && maxLineWidth == nil {
            return "\(spell("max_line_count")) has no effect without \(spell("max_line_width"))"
        }
        return nil
    }
}

/// Where a result came from: enough to reproduce it exactly.
public struct Provenance: Codable, Sendable, Equatable {
    public var hearthVersion: String = Hearth.version
    public var model: String
    public var modelFormat: String
    /// SHA-256 of every weight/config/tokenizer file, by file name.
    public var files: [String: String]
    public var options: TranscriptionOptions
    public init(model: String, modelFormat: String, files: [String: String], options: TranscriptionOptions) {
        self.model = model; self.modelFormat = modelFormat; self.files = files; self.options = options
    }
}

public enum Hearth {
    public static let version = "0.1.0"
}

public struct TranscriptDocument: Codable, Sendable {
    public var path: String
    public var text: String
    public var language: String
    public var languageProbability: Float
    public var duration: Double
    public var segments: [TranscriptSegment]
    public var provenance: Provenance

    public init(path: String, transcript: Transcript, provenance: Provenance) {
        self.path = path; text = transcript.text; language = transcript.language
        languageProbability = transcript.languageProbability; duration = transcript.duration
        segments = transcript.segments; self.provenance = provenance
    }

    public func render(_ format: TranscriptFormat, subtitles: SubtitleOptions = SubtitleOptions()) throws -> String {
        let trimmed = { (s: TranscriptSegment) in s.text.trimmingCharacters(in: .whitespacesAndNewlines) }
        switch format {
        case .txt: return segments.map { trimmed($0) + "\n" }.joined()
        case .srt:
            return Subtitles.cues(segments, subtitles, hours: true, marker: ",").enumerated().map { i, cue in
                "\(i + 1)\n\(cue.start) --> \(cue.end)\n\(cue.text)\n\n"
            }.joined()
        case .vtt:
            return "WEBVTT\n\n" + Subtitles.cues(segments, subtitles, hours: false, marker: ".").map { cue in
                "\(cue.start) --> \(cue.end)\n\(cue.text)\n\n"
            }.joined()
        case .tsv:   // openai-whisper WriteTSV: integer milliseconds
            return "start\tend\ttext\n" + segments.map { s in
                "\(Subtitles.milliseconds(s.start))\t\(Subtitles.milliseconds(s.end))\t\(trimmed(s).replacingOccurrences(of: "\t", with: " "))\n"
            }.joined()
        case .lrc:   // [mm:ss.xx] text, one line per segment start
            return segments.map { s in
                let cs = Int((max(0, s.start) * 100).rounded(.toNearestOrEven))
                return String(format: "[%02d:%02d.%02d] ", cs / 6000, cs / 100 % 60, cs % 100)
                    + trimmed(s).replacingOccurrences(of: "\n", with: " ") + "\n"
            }.joined()
        case .csv:   // whisper.cpp --output-csv: integer milliseconds, text always quoted (RFC 4180)
            return "start,end,text\n" + segments.map { s in
                "\(Subtitles.milliseconds(s.start)),\(Subtitles.milliseconds(s.end)),\"\(trimmed(s).replacingOccurrences(of: "\"", with: "\"\""))\"\n"
            }.joined()
        case .json:
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            return String(decoding: try encoder.encode(self), as: UTF8.self) + "\n"
        }
    }

    /// HH:MM:SS,mmm (SRT) or HH:MM:SS.mmm (VTT).
    public static func timestamp(_ seconds: Double, comma: Bool) -> String {
        let ms = Int((max(0, seconds) * 1000).rounded())
        let h = ms / 3_600_000, m = ms / 60_000 % 60, s = ms / 1000 % 60, f = ms % 1000
        return String(format: "%02d:%02d:%02d%@%03d", h, m, s, comma ? "," : ".", f)
    }
}

/// openai-whisper's SubtitlesWriter.iterate_result: cues from word timings (lines of at most
/// `maxLineWidth` characters, `maxLineCount` lines per cue, a new cue after a pause over 3 s), or
/// one cue per segment without words.
enum Subtitles {
    struct Cue { var start: String, end: String, text: String }
    struct Timing { var word: String; var start: Double; var end: Double }

    static func milliseconds(_ seconds: Double) -> Int { Int((seconds * 1000).rounded(.toNearestOrEven)) }

    /// whisper/utils.py format_timestamp: [HH:]MM:SS<marker>mmm.
    static func timestamp(_ seconds: Double, hours alwaysHours: Bool, marker: String) -> String {
        var ms = milliseconds(max(0, seconds))
        let h = ms / 3_600_000; ms -= h * 3_600_000
        let m = ms / 60_000; ms -= m * 60_000
        let s = ms / 1000; ms -= s * 1000
        return (alwaysHours || h > 0 ? String(format: "%02d:", h) : "") + String(format: "%02d:%02d%@%03d", m, s, marker, ms)
    }

    /// Python's len(): code points.
    static func length(_ s: String) -> Int { s.unicodeScalars.count }
    static func strip(_ s: String) -> String { s.trimmingCharacters(in: .whitespacesAndNewlines) }

    static func cues(_ segments: [TranscriptSegment], _ o: SubtitleOptions, hours: Bool, marker: String) -> [Cue] {
        let format = { timestamp($0, hours: hours, marker: marker) }
        guard let first = segments.first, first.words != nil else {
            return segments.map { Cue(start: format($0.start), end: format($0.end),
                                      text: strip($0.text).replacingOccurrences(of: "-->", with: "->")) }
        }
        let maxLineCount = o.maxLineCount.flatMap { $0 > 0 ? $0 : nil }
        let givenWidth = o.maxLineWidth.flatMap { $0 > 0 ? $0 : nil }
        let preserveSegments = maxLineCount == nil || givenWidth == nil
        let maxLineWidth = givenWidth ?? 1000
        let maxWordsPerLine = o.maxWordsPerLine.flatMap { $0 > 0 ? $0 : nil } ?? 1000

        var subtitles: [[Timing]] = [], subtitle: [Timing] = []
        var lineLength = 0, lineCount = 1
        var last = segments.lazy.compactMap { $0.words?.first?.start }.first ?? first.start
        for segment in segments {
            let words = segment.words ?? []
            var chunk = 0, count = maxWordsPerLine
            while chunk < words.count {
                if maxWordsPerLine > words.count - chunk { count = words.count - chunk }
                for (i, original) in words[chunk..<min(words.count, chunk + count)].enumerated() {
                    var timing = Timing(word: original.word, start: original.start, end: original.end)
                    let longPause = !preserveSegments && timing.start - last > 3.0
                    let hasRoom = lineLength + length(timing.word) <= maxLineWidth
                    let segmentBreak = i == 0 && !subtitle.isEmpty && preserveSegments
                    if lineLength > 0 && hasRoom && !longPause && !segmentBreak {
                        lineLength += length(timing.word)   // the line goes on
                    } else {
                        timing.word = strip(timing.word)
                        if (!subtitle.isEmpty && maxLineCount != nil && (longPause || lineCount >= maxLineCount!)) || segmentBreak {
                            subtitles.append(subtitle)          // a new cue
                            subtitle = []
                            lineCount = 1
                        } else if lineLength > 0 {
                            lineCount += 1                      // a new line
                            timing.word = "\n" + timing.word
                        }
                        lineLength = length(strip(timing.word))
                    }
                    subtitle.append(timing)
                    last = timing.start
                }
                chunk += maxWordsPerLine
            }
        }
        if !subtitle.isEmpty { subtitles.append(subtitle) }

        var cues: [Cue] = []
        for subtitle in subtitles {
            let start = format(subtitle[0].start), end = format(subtitle[subtitle.count - 1].end)
            let text = subtitle.map(\.word).joined()
            guard o.highlightWords else { cues.append(Cue(start: start, end: end, text: text)); continue }
            var previous = start
            for (i, word) in subtitle.enumerated() {
                let wordStart = format(word.start), wordEnd = format(word.end)
                if previous != wordStart { cues.append(Cue(start: previous, end: wordStart, text: text)) }
                let marked = subtitle.enumerated().map { j, w in j == i ? underline(w.word) : w.word }.joined()
                cues.append(Cue(start: wordStart, end: wordEnd, text: marked))
                previous = wordEnd
            }
        }
        return cues
    }

    /// re.sub(r"^(\s*)(.*)$", r"\1<u>\2</u>", word): leading whitespace kept outside the tags.
    static func underline(_ word: String) -> String {
        let scalars = Array(word.unicodeScalars)
        let lead = scalars.prefix { CharacterSet.whitespacesAndNewlines.contains($0) }.count
        var head = String.UnicodeScalarView(), tail = String.UnicodeScalarView()
        head.append(contentsOf: scalars[..<lead]); tail.append(contentsOf: scalars[lead...])
        return String(head) + "<u>" + String(tail) + "</u>"
    }
}
