// `vad_filter` as faster-whisper 1.2.1's `WhisperModel.transcribe` applies it
// (https://github.com/SYSTRAN/faster-whisper/blob/v1.2.1/faster_whisper/transcribe.py):
// speech chunks from `get_speech_timestamps`, their samples concatenated (`collect_chunks`),
// the concatenation transcribed, then every segment's times mapped back to the original audio
// (`restore_speech_timestamps`: start through `get_original_time(start)`, end through
// `get_original_time(end, is_end=True)`). `duration` stays the original audio's.

import Foundation
import Media

/// Speech regions of one recording and the audio Whisper hears from it.
public struct SpeechOnlyAudio: Sendable {
    public let chunks: [SpeechChunk]
    /// The speech chunks' samples, concatenated.
    public let samples: [Float]
    /// Samples of the original recording.
    public let originalSampleCount: Int
    public var originalDuration: Double { Double(originalSampleCount) / Double(SileroVAD.sampleRate) }
    public var durationAfterVAD: Double { Double(samples.count) / Double(SileroVAD.sampleRate) }

    public init(chunks: [SpeechChunk], samples: [Float], originalSampleCount: Int) {
        self.chunks = chunks; self.samples = samples; self.originalSampleCount = originalSampleCount
    }

    /// The concatenated speech cut into at most `count` contiguous lanes of about equal length, as
    /// frame ranges (10 ms log-mel frames), each at least `minSeconds` long (fewer lanes otherwise):
    /// cuts fall where one speech chunk ends and the next begins, nearest to the equal split.
    public func lanes(count: Int, minSeconds: Double) -> [Range<Int>] {
        let hop = SileroVAD.sampleRate / 100, total = samples.count
        let frame = { (sample: Int) in (sample + hop / 2) / hop }   // boundaries rounded alike: lanes abut
        let n = max(1, min(count, Int(Double(total) / (minSeconds * Double(SileroVAD.sampleRate)))))
        var joins: [Int] = [], position = 0   // chunk ends in the concatenation
        for chunk in chunks.dropLast() { position += chunk.end - chunk.start; joins.append(position) }
        var cuts = [0]
        for k in 1..<n {
            let target = total * k / n
            guard let best = joins.min(by: { abs($0 - target) < abs($1 - target) }), best > cuts.last! else { continue }
            cuts.append(best)
        }
        cuts.append(total)
        return zip(cuts, cuts.dropFirst()).map { frame($0) ..< frame($1) }.filter { !$0.isEmpty }
    }
}

extension SileroVAD {
    /// faster-whisper's `get_speech_timestamps` over `audio` (16 kHz mono).
    public func speechChunks(_ audio: [Float], options: VADOptions) -> [SpeechChunk] {
        SpeechTimestamps.speechChunks(probabilities: speechProbabilities(audio), sampleCount: audio.count, options: options)
    }

    /// Speech chunks of the file at `path`, streamed (the audio is never held whole): the `vad` task.
    public func speechChunks(path: String, options: VADOptions) throws -> (chunks: [SpeechChunk], sampleCount: Int) {
        let stream = Stream(self)
        try AudioDecoder.stream(path: path) { stream.append($0) }
        stream.finish()
        return (SpeechTimestamps.speechChunks(probabilities: stream.probabilities, sampleCount: stream.sampleCount, options: options),
                stream.sampleCount)
    }

    /// The speech of `audio` only (`collect_chunks`).
    public func speechOnly(_ audio: [Float], options: VADOptions) -> SpeechOnlyAudio {
        let chunks = speechChunks(audio, options: options)
        return SpeechOnlyAudio(chunks: chunks, samples: SpeechTimestamps.collect(audio, chunks: chunks), originalSampleCount: audio.count)
    }
}

extension Transcript {
    /// faster-whisper's `restore_speech_timestamps`; `duration` becomes the original recording's.
    /// A segment with words maps each word's start and end through the chunk holding the word's
    /// middle (so a word never straddles two chunks) and then spans its first to last word; a
    /// segment without words maps its start, and its end as an end.
    public func restoringSpeechTimestamps(_ speech: SpeechOnlyAudio) -> Transcript {
        var t = self
        t.duration = speech.originalDuration
        guard !speech.chunks.isEmpty else { return t }
        let map = SpeechTimestampsMap(chunks: speech.chunks, sampleRate: SileroVAD.sampleRate)
        for i in t.segments.indices {
            if var words = t.segments[i].words, !words.isEmpty {
                for w in words.indices {
                    let chunk = map.chunkIndex((words[w].start + words[w].end) / 2)
                    words[w].start = map.originalTime(words[w].start, chunkIndex: chunk)
                    words[w].end = map.originalTime(words[w].end, chunkIndex: chunk)
                }
                t.segments[i].start = words[0].start
                t.segments[i].end = words[words.count - 1].end
                t.segments[i].words = words
            } else {
                t.segments[i].start = map.originalTime(t.segments[i].start)
                t.segments[i].end = map.originalTime(t.segments[i].end, isEnd: true)
            }
        }
        return t
    }
}
