// Speech regions from Silero VAD probabilities, ported from faster-whisper 1.2.1 vad.py
// (https://github.com/SYSTRAN/faster-whisper/blob/v1.2.1/faster_whisper/vad.py): `VadOptions`,
// `get_speech_timestamps`, `collect_chunks` (with its default max_duration = ∞) and
// `SpeechTimestampsMap`, which maps times in the concatenated speech back to the original audio.
//
// Probabilities are float32 and numpy ≥ 2 compares them with Python floats in float32 (NEP 50),
// so thresholds are compared as Float here too; sample arithmetic follows Python's int / float mix.

import Foundation

/// faster-whisper's `VadOptions`, with its names (in pipeline files) and defaults.
public struct VADOptions: Codable, Sendable, Equatable {
    /// Chunks with a probability ≥ threshold are speech.
    public var threshold: Float = 0.5
    /// Below it a chunk is silence; nil: max(threshold − 0.15, 0.01).
    public var negThreshold: Float? = nil
    /// Final speech chunks shorter than this are dropped.
    public var minSpeechDurationMs = 0
    /// Longer speech is split (at the last silence over 98 ms, else just before the limit); nil: no limit (∞).
    public var maxSpeechDurationS: Double? = nil
    /// Silence that must pass before a speech chunk ends.
    public var minSilenceDurationMs = 2000
    /// Padding added to each side of every speech chunk.
    public var speechPadMs = 400

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case threshold, negThreshold = "neg_threshold", minSpeechDurationMs = "min_speech_duration_ms"
        case maxSpeechDurationS = "max_speech_duration_s", minSilenceDurationMs = "min_silence_duration_ms"
        case speechPadMs = "speech_pad_ms"
    }

    /// Decodes a `vad_parameters` mapping: unknown keys and out-of-range values are refused.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        threshold = try c.decodeIfPresent(Float.self, forKey: .threshold) ?? threshold
        negThreshold = try c.decodeIfPresent(Float.self, forKey: .negThreshold)
        minSpeechDurationMs = try c.decodeIfPresent(Int.self, forKey: .minSpeechDurationMs) ?? minSpeechDurationMs
        maxSpeechDurationS = try c.decodeIfPresent(Double.self, forKey: .maxSpeechDurationS)
        minSilenceDurationMs = try c.decodeIfPresent(Int.self, forKey: .minSilenceDurationMs) ?? minSilenceDurationMs
        speechPadMs = try c.decodeIfPresent(Int.self, forKey: .speechPadMs) ?? speechPadMs
        if let problem = validationProblem {
            throw DecodingError.dataCorruptedError(forKey: problem.key, in: c, debugDescription: problem.message)
        }
    }

    /// The first option out of range, if any.
    var validationProblem: (key: CodingKeys, message: String)? {
        if !(threshold >= 0 && threshold <= 1) { return (.threshold, "must be between 0 and 1") }
        if let n = negThreshold, !(n >= 0 && n <= 1) { return (.negThreshold, "must be between 0 and 1") }
        if minSpeechDurationMs < 0 || minSpeechDurationMs > 86_400_000 { return (.minSpeechDurationMs, "must be between 0 and 86400000") }
        if let m = maxSpeechDurationS, !(m > 0 && m.isFinite) { return (.maxSpeechDurationS, "must be a positive number of seconds") }
        if minSilenceDurationMs < 0 || minSilenceDurationMs > 86_400_000 { return (.minSilenceDurationMs, "must be between 0 and 86400000") }
        if speechPadMs < 0 || speechPadMs > 3_600_000 { return (.speechPadMs, "must be between 0 and 3600000") }
        return nil
    }

    /// Refuses options out of range (for options set in code, e.g. from CLI flags).
    public func validate() throws {
        if let problem = validationProblem { throw VADOptionsError(description: "vad_parameters.\(problem.key.rawValue) \(problem.message)") }
    }
}

public struct VADOptionsError: Error, CustomStringConvertible, Sendable { public let description: String }

/// One speech region in samples of 16 kHz audio: [start, end).
public struct SpeechChunk: Codable, Sendable, Equatable {
    public var start: Int
    public var end: Int
    public init(start: Int, end: Int) { self.start = start; self.end = end }
}

public enum SpeechTimestamps {
    /// faster-whisper's `get_speech_timestamps` over the per-chunk `probabilities` of audio of
    /// `sampleCount` samples (at `sampleRate`).
    public static func speechChunks(probabilities: [Float], sampleCount: Int, options: VADOptions,
                                    sampleRate: Int = 16_000) -> [SpeechChunk] {
        let window = SileroVAD.chunkSamples
        let sr = Double(sampleRate)
        let minSpeechSamples = sr * Double(options.minSpeechDurationMs) / 1000
        let speechPadSamples = sr * Double(options.speechPadMs) / 1000
        let maxSpeechSamples = sr * (options.maxSpeechDurationS ?? .infinity) - Double(window) - 2 * speechPadSamples
        let minSilenceSamples = sr * Double(options.minSilenceDurationMs) / 1000
        let minSilenceSamplesAtMaxSpeech = sr * 98 / 1000
        let threshold = options.threshold
        let negThreshold = options.negThreshold ?? Float(max(Double(threshold) - 0.15, 0.01))

        var triggered = false
        var speeches: [SpeechChunk] = []
        var currentStart: Int?            // current_speech["start"]; nil: current_speech == {}
        var tempEnd = 0, prevEnd = 0, nextStart = 0

        for (i, p) in probabilities.enumerated() {
            let position = window * i
            if p >= threshold && tempEnd != 0 {
                tempEnd = 0
                if nextStart < prevEnd { nextStart = position }
            }
            if p >= threshold && !triggered {
                triggered = true
                currentStart = position
                continue
            }
            if triggered, let start = currentStart, Double(position - start) > maxSpeechSamples {
                if prevEnd != 0 {
                    speeches.append(SpeechChunk(start: start, end: prevEnd))
                    currentStart = nil
                    // previously reached silence (< neg_threshold) and is still not speech (< threshold)
                    if nextStart < prevEnd { triggered = false } else { currentStart = nextStart }
                    prevEnd = 0; nextStart = 0; tempEnd = 0
                } else {
                    speeches.append(SpeechChunk(start: start, end: position))
                    currentStart = nil
                    prevEnd = 0; nextStart = 0; tempEnd = 0
                    triggered = false
                    continue
                }
            }
            if p < negThreshold && triggered {
                if tempEnd == 0 { tempEnd = position }
                // condition to avoid cutting in very short silence
                if Double(position - tempEnd) > minSilenceSamplesAtMaxSpeech { prevEnd = tempEnd }
                if Double(position - tempEnd) < minSilenceSamples { continue }
                if let start = currentStart, Double(tempEnd - start) > minSpeechSamples {
                    speeches.append(SpeechChunk(start: start, end: tempEnd))
                }
                // (faster-whisper reads current_speech["start"] here; a split left it {} only when triggered was cleared)
                currentStart = nil
                prevEnd = 0; nextStart = 0; tempEnd = 0
                triggered = false
                continue
            }
        }
        if let start = currentStart, Double(sampleCount - start) > minSpeechSamples {
            speeches.append(SpeechChunk(start: start, end: sampleCount))
        }

        // Padding: half the gap when two chunks are closer than twice the padding.
        for i in speeches.indices {
            if i == 0 { speeches[i].start = Int(max(0, Double(speeches[i].start) - speechPadSamples)) }
            if i != speeches.count - 1 {
                let silence = speeches[i + 1].start - speeches[i].end
                if Double(silence) < 2 * speechPadSamples {
                    let half = Int((Double(silence) / 2).rounded(.down))   // Python's //
                    speeches[i].end += half
                    speeches[i + 1].start = max(0, speeches[i + 1].start - half)
                } else {
                    speeches[i].end = Int(min(Double(sampleCount), Double(speeches[i].end) + speechPadSamples))
                    speeches[i + 1].start = Int(max(0, Double(speeches[i + 1].start) - speechPadSamples))
                }
            } else {
                speeches[i].end = Int(min(Double(sampleCount), Double(speeches[i].end) + speechPadSamples))
            }
        }
        return speeches
    }

    /// faster-whisper's `collect_chunks` with max_duration = ∞: the speech chunks' samples, concatenated.
    public static func collect(_ audio: [Float], chunks: [SpeechChunk]) -> [Float] {
        var out: [Float] = []
        out.reserveCapacity(chunks.reduce(0) { $0 + max(0, min($1.end, audio.count) - max($1.start, 0)) })
        for chunk in chunks {
            let start = max(0, min(chunk.start, audio.count)), end = max(start, min(chunk.end, audio.count))
            out.append(contentsOf: audio[start..<end])
        }
        return out
    }
}

/// faster-whisper's `SpeechTimestampsMap`: times in the concatenated speech → times in the original audio.
public struct SpeechTimestampsMap: Sendable {
    public let sampleRate: Int
    /// Decimal places of the mapped times (faster-whisper's time_precision = 2).
    public let timePrecision: Int
    private var chunkEndSample: [Int] = []
    private var totalSilenceBefore: [Double] = []

    public init(chunks: [SpeechChunk], sampleRate: Int = 16_000, timePrecision: Int = 2) {
        self.sampleRate = sampleRate; self.timePrecision = timePrecision
        var previousEnd = 0, silentSamples = 0
        for chunk in chunks {
            silentSamples += chunk.start - previousEnd
            previousEnd = chunk.end
            chunkEndSample.append(chunk.end - silentSamples)
            totalSilenceBefore.append(Double(silentSamples) / Double(sampleRate))
        }
    }

    /// `get_original_time`: rounded to `timePrecision` decimals as Python's round() does.
    public func originalTime(_ time: Double, chunkIndex: Int? = nil, isEnd: Bool = false) -> Double {
        guard !chunkEndSample.isEmpty else { return time }
        let index = chunkIndex ?? self.chunkIndex(time, isEnd: isEnd)
        let value = totalSilenceBefore[index] + time
        return Double(String(format: "%.\(timePrecision)f", value)) ?? value
    }

    /// `get_chunk_index`: the chunk holding `time` (a chunk's exact end belongs to it when `isEnd`).
    public func chunkIndex(_ time: Double, isEnd: Bool = false) -> Int {
        let sample = Int(time * Double(sampleRate))
        if isEnd, let i = chunkEndSample.firstIndex(of: sample) { return i }
        // bisect.bisect (right): the first index whose end is > sample
        var lo = 0, hi = chunkEndSample.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if sample < chunkEndSample[mid] { hi = mid } else { lo = mid + 1 }
        }
        return min(lo, chunkEndSample.count - 1)
    }
}
