// Word-level timestamps from the cross-attention of Whisper's alignment heads.
// The model side is CTranslate2's `WhisperReplica::align` (src/models/whisper.cc: a forced pass
// of <sot…> <|notimestamps|> text <|endoftext|>, softmax of the heads' scores over the content
// frames, normalisation over tokens, median filter, mean over heads, DTW); the word side is
// faster-whisper 1.2.1 transcribe.py `find_alignment` + `add_word_timestamps` +
// `merge_punctuations` and tokenizer.py `split_to_word_tokens` (the same rules as openai-whisper
// timing.py).

import Foundation
import Tensors
import TransformerCore

/// One word of a segment: text (with its leading space), seconds, and mean token probability.
public struct WordTiming: Codable, Sendable, Equatable {
    public var word: String
    public var start: Double
    public var end: Double
    public var probability: Double
    public init(word: String, start: Double, end: Double, probability: Double) {
        self.word = word; self.start = start; self.end = end; self.probability = probability
    }
}

/// A word of the alignment, in seconds from the window start.
struct AlignedWord {
    var word: String
    var tokens: [Int]
    var start: Double
    var end: Double
    var probability: Double
}

extension WhisperTranscriber {
    static let tokensPerSecond = 50.0, medianFilterWidth = 7

    /// (layer, head) pairs whose cross-attention follows the audio: the checkpoint's
    /// `alignment_heads`, else openai-whisper's default (every head of the upper half of layers).
    var alignmentHeads: [(layer: Int, head: Int)] {
        let dims = model.dimensions
        let listed = config.alignmentHeads.compactMap { pair -> (layer: Int, head: Int)? in
            guard pair.count == 2, (0..<dims.textLayers).contains(pair[0]), (0..<dims.textHeads).contains(pair[1]) else { return nil }
            return (pair[0], pair[1])
        }
        if !listed.isEmpty { return listed }
        return (dims.textLayers / 2..<dims.textLayers).flatMap { l in (0..<dims.textHeads).map { (l, $0) } }
    }

    /// faster-whisper `find_alignment` over CTranslate2 `align` for one window: `textTokens`
    /// (ids < <|endoftext|>) decoded against window `window` of `memory`, whose first `numFrames`
    /// mel frames hold audio. Word times are seconds from the window start.
    func align(textTokens: [Int], window: Int, memory: [Tensor], numFrames: Int, language: String?,
               task: WhisperTask) -> [AlignedWord] {
        let sot = tokenizer.startSequence(language: language, task: task)
        let input = sot + [tokenizer.noTimestamps] + textTokens + [tokenizer.endOfText]
        let frames = min(numFrames / 2, memory.first?.shape[1] ?? 0)   // the second convolution has stride 2
        guard !textTokens.isEmpty, frames > 0, input.count <= model.dimensions.textContext else { return [] }
        let n = input.count, offset = sot.count, vocab = model.dimensions.vocabularySize, eot = tokenizer.endOfText

        // Forced pass, keeping the alignment heads' scaled scores q·k/√d: (n, audioContext) per head.
        var byLayer: [Int: [Int]] = [:]
        for (l, h) in alignmentHeads { byLayer[l, default: []].append(h) }
        let captures = byLayer.mapValues { CrossAttentionScores(heads: $0) }
        let logitRows = Array(offset..<(offset + textTokens.count))   // outputs that predict the text tokens
        let logits = model.decode(tokens: input, slots: Array(repeating: 0, count: n), positions: Array(0..<n),
                                  windows: Array(repeating: window, count: n), memory: memory,
                                  cache: model.makeCache(slots: 1), logitRows: logitRows, crossScores: captures)
        // P(text token) under a softmax over the text vocabulary only (ids < <|endoftext|>).
        var probabilities = [Float](repeating: 0, count: textTokens.count)
        for (k, token) in textTokens.enumerated() {
            let row = logits.data + k * vocab
            Kernels.softmax(row, count: eot)
            probabilities[k] = row[token]
        }

        // Per head: softmax over the content frames, then (x − mean) / std over the tokens.
        var heads: [[Float]] = []   // each (n, frames)
        for layer in byLayer.keys.sorted() {
            let capture = captures[layer]!
            for k in capture.heads.indices {
                let scores = capture.scores[k], length = scores.shape[1]
                var w = [Float](repeating: 0, count: n * frames)
                w.withUnsafeMutableBufferPointer { buffer in
                    for t in 0..<n {
                        let dst = buffer.baseAddress! + t * frames
                        dst.update(from: scores.data + t * length, count: frames)
                        Kernels.softmax(dst, count: frames)
                    }
                }
                Self.normalizeOverTokens(&w, rows: n, columns: frames)
                heads.append(Self.medianFilter(w, rows: n, columns: frames, width: Self.medianFilterWidth))
            }
        }
        guard !heads.isEmpty else { return [] }
        // Mean over heads of the rows from <|notimestamps|> to the last text token: (text + 1, frames).
        let rows = textTokens.count + 1
        var matrix = [Float](repeating: 0, count: rows * frames)
        for i in 0..<(rows * frames) {
            var sum: Float = 0
            for h in heads { sum += h[offset * frames + i] }
            matrix[i] = sum / Float(heads.count)
        }
        let path = Self.negativeDTW(matrix, rows: rows, columns: frames)

        let (words, wordTokens) = tokenizer.splitToWordTokens(textTokens + [eot], language: language ?? "en")
        guard wordTokens.count > 1 else { return [] }
        var boundaries = [0]
        for tokens in wordTokens.dropLast() { boundaries.append(boundaries.last! + tokens.count) }
        // Times where the path moves to a new token.
        var jumpTimes: [Double] = []
        for (k, step) in path.enumerated() where k == 0 || step.row != path[k - 1].row {
            jumpTimes.append(Double(step.column) / Self.tokensPerSecond)
        }
        var result: [AlignedWord] = []
        for w in 0..<(boundaries.count - 1) {
            let (i, j) = (boundaries[w], boundaries[w + 1])
            guard j < jumpTimes.count, j <= probabilities.count else { break }
            var sum: Float = 0
            for p in probabilities[i..<j] { sum += p }
            result.append(AlignedWord(word: words[w], tokens: wordTokens[w], start: jumpTimes[i], end: jumpTimes[j],
                                      probability: Double(j > i ? sum / Float(j - i) : .nan)))
        }
        return result
    }

    /// CTranslate2's `LayerNorm(axis: -2, epsilon: 0)` over a (rows, columns) head: each column
    /// minus its mean over rows, divided by the (biased) standard deviation.
    static func normalizeOverTokens(_ w: inout [Float], rows: Int, columns: Int) {
        for c in 0..<columns {
            var mean: Float = 0
            for r in 0..<rows { mean += w[r * columns + c] }
            mean /= Float(rows)
            var variance: Float = 0
            for r in 0..<rows { let d = w[r * columns + c] - mean; variance += d * d }
            variance /= Float(rows)
            let inverse = variance > 0 ? 1 / variance.squareRoot() : 0
            for r in 0..<rows { w[r * columns + c] = (w[r * columns + c] - mean) * inverse }
        }
    }

    /// Median over a sliding window along each row, reflecting at the edges (torch's reflect
    /// padding; CTranslate2 MedianFilter). Rows no longer than width/2 pass through.
    static func medianFilter(_ x: [Float], rows: Int, columns: Int, width: Int) -> [Float] {
        let rank = width / 2
        guard columns > rank else { return x }
        var out = x, window = [Float](repeating: 0, count: width)
        for r in 0..<rows {
            let base = r * columns
            for j in 0..<columns {
                for k in -rank...rank {
                    var read = abs(j + k)
                    if read >= columns { read = 2 * columns - read - 2 }
                    window[k + rank] = x[base + read]
                }
                window.sort()
                out[base + j] = window[rank]
            }
        }
        return out
    }

    /// Dynamic time warping over −x (rows, columns), with openai-whisper's / CTranslate2's tie
    /// order (diagonal, then up, then left); the path as (row, column) steps from (0, 0).
    static func negativeDTW(_ x: [Float], rows n: Int, columns m: Int) -> [(row: Int, column: Int)] {
        let width = m + 1
        var cost = [Float](repeating: .infinity, count: (n + 1) * width)
        var trace = [UInt8](repeating: 0, count: (n + 1) * width)
        cost[0] = 0
        for j in 1...m {
            for i in 1...n {
                let c0 = cost[(i - 1) * width + j - 1], c1 = cost[(i - 1) * width + j], c2 = cost[i * width + j - 1]
                let (c, t): (Float, UInt8) = c0 < c1 && c0 < c2 ? (c0, 0) : (c1 < c0 && c1 < c2 ? (c1, 1) : (c2, 2))
                cost[i * width + j] = -x[(i - 1) * m + j - 1] + c
                trace[i * width + j] = t
            }
        }
        for k in 0...m { trace[k] = 2 }
        for k in 0...n { trace[k * width] = 1 }
        var path: [(row: Int, column: Int)] = []
        var i = n, j = m
        while i > 0 || j > 0 {
            path.append((i - 1, j - 1))
            switch trace[i * width + j] {
            case 0: i -= 1; j -= 1
            case 1: i -= 1
            default: j -= 1
            }
        }
        return path.reversed()
    }

    /// faster-whisper `add_word_timestamps` for the segments of one window (`pieces`, times in
    /// seconds of the file): aligns their text, clips over-long words, merges punctuation, and
    /// moves segment starts/ends onto their words. `lastSpeech` is the end of the speech before.
    func addWordTimestamps(_ pieces: inout [WindowPiece], window: Int, memory: [Tensor], numFrames: Int,
                           timeOffset: Double, language: String?, options: TranscriptionOptions, lastSpeech: Double) {
        guard !pieces.isEmpty else { return }
        let eot = tokenizer.endOfText
        let tokensPerPiece = pieces.map { $0.tokens.filter { $0 < eot } }
        var alignment = align(textTokens: tokensPerPiece.flatMap { $0 }, window: window, memory: memory,
                              numFrames: numFrames, language: language, task: options.task)
        let durations = alignment.map { $0.end - $0.start }.filter { $0 != 0 }
        let median = min(0.7, Self.median(durations))
        let maxDuration = median * 2
        // Words at sentence boundaries are not longer than twice the median word duration.
        if !durations.isEmpty {
            let sentenceEnds = ".。!！?？"
            for i in 1..<max(1, alignment.count) where alignment[i].end - alignment[i].start > maxDuration {
                if Self.isSubstring(alignment[i].word, of: sentenceEnds) {
                    alignment[i].end = alignment[i].start + maxDuration
                } else if Self.isSubstring(alignment[i - 1].word, of: sentenceEnds) {
                    alignment[i].start = alignment[i].end - maxDuration
                }
            }
        }
        Self.mergePunctuations(&alignment, prepended: options.prependPunctuations, appended: options.appendPunctuations)

        var lastSpeech = lastSpeech, wordIndex = 0
        for p in pieces.indices {
            var savedTokens = 0
            var words: [WordTiming] = []
            while wordIndex < alignment.count && savedTokens < tokensPerPiece[p].count {
                let timing = alignment[wordIndex]
                if !timing.word.isEmpty {
                    words.append(WordTiming(word: timing.word, start: Self.round2(timeOffset + timing.start),
                                            end: Self.round2(timeOffset + timing.end), probability: timing.probability))
                }
                savedTokens += timing.tokens.count
                wordIndex += 1
            }
            if !words.isEmpty {
                // The first and second word after a pause are not longer than twice the median.
                if words[0].end - lastSpeech > median * 4
                    && (words[0].end - words[0].start > maxDuration
                        || (words.count > 1 && words[1].end - words[0].start > maxDuration * 2)) {
                    if words.count > 1 && words[1].end - words[1].start > maxDuration {
                        let boundary = max(words[1].end / 2, words[1].end - maxDuration)
                        words[0].end = boundary; words[1].start = boundary
                    }
                    words[0].start = max(0, words[0].end - maxDuration)
                }
                // Prefer the segment's start if the first word is too long, else start at the word.
                if pieces[p].start < words[0].end && pieces[p].start - 0.5 > words[0].start {
                    words[0].start = max(0, min(words[0].end - median, pieces[p].start))
                } else {
                    pieces[p].start = words[0].start
                }
                // Likewise at the end.
                let last = words.count - 1
                if pieces[p].end > words[last].start && pieces[p].end + 0.5 < words[last].end {
                    words[last].end = max(words[last].start + median, pieces[p].end)
                } else {
                    pieces[p].end = words[last].end
                }
                lastSpeech = pieces[p].end
            }
            pieces[p].words = words
        }
    }

    /// numpy.median (mean of the two middle values for an even count); 0 when empty.
    static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let s = values.sorted(), mid = s.count / 2
        return s.count % 2 == 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2
    }

    /// Python's round(x, 2) for the values word times take.
    static func round2(_ x: Double) -> Double { (x * 100).rounded(.toNearestOrEven) / 100 }

    /// Python's `a in b` for strings (substring test; the empty string is in every string).
    static func isSubstring(_ a: String, of b: String) -> Bool { a.isEmpty || b.contains(a) }

    /// faster-whisper `merge_punctuations`: opening marks join the next word, closing marks the previous.
    static func mergePunctuations(_ alignment: inout [AlignedWord], prepended: String, appended: String) {
        var i = alignment.count - 2, j = alignment.count - 1
        while i >= 0 {
            let previous = alignment[i]
            if previous.word.hasPrefix(" ") && isSubstring(previous.word.trimmingCharacters(in: .whitespacesAndNewlines), of: prepended) {
                alignment[j].word = previous.word + alignment[j].word
                alignment[j].tokens = previous.tokens + alignment[j].tokens
                alignment[i].word = ""; alignment[i].tokens = []
            } else {
                j = i
            }
            i -= 1
        }
        i = 0; j = 1
        while j < alignment.count {
            if !alignment[i].word.hasSuffix(" ") && isSubstring(alignment[j].word, of: appended) {
                alignment[i].word += alignment[j].word
                alignment[i].tokens += alignment[j].tokens
                alignment[j].word = ""; alignment[j].tokens = []
            } else {
                i = j
            }
            j += 1
        }
    }

    /// faster-whisper `get_end`: the last word's end, else the last segment's end.
    static func lastEnd(_ pieces: [WindowPiece]) -> Double? {
        pieces.reversed().lazy.compactMap { $0.words?.last?.end }.first ?? pieces.last?.end
    }
}

/// A segment of one window while it is being built (times in seconds of the file).
struct WindowPiece {
    var start: Double
    var end: Double
    var tokens: [Int]
    var words: [WordTiming]? = nil
}

extension WhisperTokenizer {
    /// The words word timestamps give `tokens` (text ids), before timing: split, then punctuation
    /// merged (merged-away words stay as empty strings, as in faster-whisper's alignment list).
    public func alignmentWords(_ tokens: [Int], language: String, prepend: String = TranscriptionOptions().prependPunctuations,
                               append: String = TranscriptionOptions().appendPunctuations) -> [(word: String, tokens: [Int])] {
        let (words, ids) = splitToWordTokens(tokens + [endOfText], language: language)
        var alignment = zip(words, ids).dropLast().map { AlignedWord(word: $0, tokens: $1, start: 0, end: 0, probability: 0) }
        WhisperTranscriber.mergePunctuations(&alignment, prepended: prepend, appended: append)
        return alignment.map { ($0.word, $0.tokens) }
    }

    /// faster-whisper `split_to_word_tokens`: words at spaces and punctuation, or at every
    /// complete Unicode character for languages written without spaces.
    public func splitToWordTokens(_ tokens: [Int], language: String) -> (words: [String], tokens: [[Int]]) {
        if ["zh", "ja", "th", "lo", "my", "yue"].contains(language) { return splitOnUnicode(tokens) }
        let (subwords, subwordTokens) = splitOnUnicode(tokens)
        let punctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"   // Python's string.punctuation
        var words: [String] = [], wordTokens: [[Int]] = []
        for (subword, ids) in zip(subwords, subwordTokens) {
            let special = ids[0] >= endOfText
            let withSpace = subword.hasPrefix(" ")
            let isPunctuation = WhisperTranscriber.isSubstring(subword.trimmingCharacters(in: .whitespacesAndNewlines), of: punctuation)
            if special || withSpace || isPunctuation || words.isEmpty {
                words.append(subword); wordTokens.append(ids)
            } else {
                words[words.count - 1] += subword; wordTokens[wordTokens.count - 1] += ids
            }
        }
        return (words, wordTokens)
    }

    /// Cuts wherever the tokens so far decode to complete characters (no U+FFFD that the full
    /// text does not also have at that place).
    func splitOnUnicode(_ tokens: [Int]) -> (words: [String], tokens: [[Int]]) {
        let full = Array(decodeWithTimestamps(tokens).unicodeScalars)
        var words: [String] = [], wordTokens: [[Int]] = [], current: [Int] = []
        var offset = 0
        for token in tokens {
            current.append(token)
            let decoded = decodeWithTimestamps(current)
            let scalars = Array(decoded.unicodeScalars)
            let replacement = scalars.firstIndex(of: "\u{FFFD}").map { $0 + offset }
            if replacement == nil || (replacement! < full.count && full[replacement!] == "\u{FFFD}") {
                words.append(decoded); wordTokens.append(current)
                current = []
                offset += scalars.count
            }
        }
        return (words, wordTokens)
    }

    /// Text with timestamp tokens spelled <|1.23|> and other special tokens dropped (faster-whisper
    /// `decode_with_timestamps`: HF tokenizers decode with skip_special_tokens).
    func decodeWithTimestamps(_ tokens: [Int]) -> String {
        var out = "", run: [Int] = []
        for t in tokens {
            if t >= timestampBegin {
                out += bpe.decode(run, skipSpecial: true); run = []
                out += String(format: "<|%.2f|>", Double(t - timestampBegin) * 0.02)
            } else { run.append(t) }
        }
        return out + bpe.decode(run, skipSpecial: true)
    }
}
