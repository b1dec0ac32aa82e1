import Foundation
import Models
import XCTest

/// Subtitle writers against openai-whisper's own (whisper/utils.py of openai-whisper 20250625,
/// run by scripts/goldens/make_word_goldens.py on faster-whisper's words): the same words must give
/// the same files, byte for byte, under every line option.
final class SubtitleTests: XCTestCase {
    static let fixtures = ["words_greedy_jfk.json", "words_greedy_espeak.json", "words_greedy_longform.json",
                           "words_beam5_jfk.json", "words_beam5_espeak.json",
                           "words_base_greedy_german.json", "words_base_greedy_spanish.json"]

    func testWritersMatchOpenAIWhisperOnTheSameWords() throws {
        var compared = 0
        for fixture in Self.fixtures {
            let golden = try TestEnv.json(fixture)
            let document = try Self.document(golden["segments"] as! [[String: Any]])
            for case let expected as [String: Any] in golden["subtitles"] as! [Any] {
                let format = TranscriptFormat(rawValue: expected["format"] as! String)!
                let options = Self.options(expected["options"] as! [String: Any])
                let actual = try document.render(format, subtitles: options)
                XCTAssertEqual(actual, expected["output"] as! String, "\(fixture) \(format) \(expected["options"]!)")
                compared += 1
            }
        }
        XCTAssertEqual(compared, 4 * 15 + 3 * 5)   // jfk, espeak: 7 option sets × srt, vtt + tsv; others: 2 × 2 + tsv
    }

    func testSegmentsWithoutWordsAreOneCueEach() throws {
        let document = try Self.document([["start": 0.0, "end": 1.5, "text": " a --> b"], ["start": 3725.5, "end": 3726.0, "text": " c\td"]])
        XCTAssertEqual(try document.render(.srt), "1\n00:00:00,000 --> 00:00:01,500\na -> b\n\n2\n01:02:05,500 --> 01:02:06,000\nc\td\n\n")
        XCTAssertEqual(try document.render(.vtt), "WEBVTT\n\n00:00.000 --> 00:01.500\na -> b\n\n01:02:05.500 --> 01:02:06.000\nc\td\n\n")
        XCTAssertEqual(try document.render(.tsv), "start\tend\ttext\n0\t1500\ta --> b\n3725500\t3726000\tc d\n")
        XCTAssertEqual(try document.render(.lrc), "[00:00.00] a --> b\n[62:05.50] c\td\n")
        let quoted = try Self.document([["start": 0.25, "end": 1.0, "text": " say \"hi\", then go"]])
        XCTAssertEqual(try quoted.render(.csv), "start,end,text\n250,1000,\"say \"\"hi\"\", then go\"\n")
    }

    func testLineOptionsNeedWordTimestamps() {
        var o = SubtitleOptions()
        XCTAssertNil(o.problem(wordTimestamps: false))
        o.highlightWords = true
        XCTAssertEqual(o.problem(wordTimestamps: false), "highlight_words needs word_timestamps: true")
        XCTAssertNil(o.problem(wordTimestamps: true))
        o = SubtitleOptions()
        o.maxLineWidth = 0
        XCTAssertEqual(o.problem(wordTimestamps: false), "max_line_width needs word_timestamps: true")
        XCTAssertEqual(o.problem(wordTimestamps: true), "max_line_width must be at least 1, not 0")
        o = SubtitleOptions()
        o.maxLineCount = 2
        XCTAssertEqual(o.problem(wordTimestamps: true), "max_line_count has no effect without max_line_width")
    }

    static func options(_ json: [String: Any]) -> SubtitleOptions {
        var o = SubtitleOptions()
        o.maxLineWidth = json["max_line_width"] as? Int
        o.maxLineCount = json["max_line_count"] as? Int
        o.maxWordsPerLine = json["max_words_per_line"] as? Int
        o.highlightWords = json["highlight_words"] as? Bool ?? false
        return o
    }

    /// A document from golden segments (start, end, text, words), through the public Codable form.
    static func document(_ segments: [[String: Any]]) throws -> TranscriptDocument {
        let records: [[String: Any]] = segments.enumerated().map { i, s in
            var r: [String: Any] = ["id": i + 1, "seek": 0, "start": s["start"]!, "end": s["end"]!, "text": s["text"]!,
                                    "tokens": [Int](), "temperature": 0, "avgLogprob": 0, "compressionRatio": 0, "noSpeechProb": 0]
            if let words = s["words"] { r["words"] = words }
            return r
        }
        let json: [String: Any] = ["language": "en", "languageProbability": 1, "duration": 0, "segments": records, "windows": [[Int]]()]
        let transcript = try JSONDecoder().decode(Transcript.self, from: JSONSerialization.data(withJSONObject: json))
        return TranscriptDocument(path: "x.wav", transcript: transcript,
                                  provenance: Provenance(model: "m", modelFormat: "f", files: [:], options: TranscriptionOptions()))
    }
}
