// Long-form transcription: 30-second windows, seeking by predicted timestamps, temperature
// fallback, no-speech skipping, previous-text conditioning — faster-whisper's generate_segments
// (faster_whisper/transcribe.py) on top of CTranslate2-compatible decoding. Several files are
// processed together: their current windows share one encoder call and one batched search.

import CHearthDeps
import Decoding
import Foundation
import Media
import Tensors
import TransformerCore

public struct TranscriptionOptions: Codable, Sendable, Equatable {
    public var language: String? = nil
    public var task: WhisperTask = .transcribe
    public var beamSize = 5
    public var bestOf = 5
    public var patience: Float = 1
    public var lengthPenalty: Float = 1
    public var temperatures: [Float] = [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    public var compressionRatioThreshold: Float? = 2.4
    public var logProbThreshold: Float? = -1
    public var noSpeechThreshold: Float? = 0.6
    public var conditionOnPreviousText = true
    public var promptResetOnTemperature: Float = 0.5
    public var initialPrompt: String? = nil
    public var suppressBlank = true
    /// −1 stands for the non-speech symbol list (faster-whisper's default).
    public var suppressTokens: [Int] = [-1]
    public var withoutTimestamps = false
    public var maxInitialTimestamp: Float = 1.0
    public var maxNewTokens: Int? = nil
    /// Seed of the sampler used by temperature fallback.
    public var seed: UInt64 = 0
    /// Word-level timestamps from the alignment heads' cross-attention (faster-whisper's `word_timestamps`).
    public var wordTimestamps = false
    /// With word timestamps: marks merged into the following word / the previous word.
    public var prependPunctuations = "\"'“¿([{-"
    public var appendPunctuations = "\"'.。,，!！?？:：”)]}、"
    /// Logits of tokens already generated in a window are divided (positive) or multiplied
    /// (negative) by this (1: off).
    public var repetitionPenalty: Float = 1
    /// n-grams of this size never repeat within a window (0: off).
    public var noRepeatNgramSize = 0
    /// Text forced at the start of the first window (seek 0); hotwords are then left out there.
    public var prefix: String? = nil
    /// Hint phrases put in every window's previous-text prompt (not where `prefix` applies).
    public var hotwords: String? = nil
    /// Seconds: start,end pairs of the regions to transcribe (an odd last start runs to the end);
    /// empty: the whole recording.
    public var clipTimestamps: [Double] = []
    /// With word timestamps: silent gaps longer than this (s) before a likely hallucination are skipped.
    public var hallucinationSilenceThreshold: Float? = nil
    /// Language detection: a 30 s window whose top language is more probable than this decides;
    /// otherwise the next, up to `languageDetectionSegments` windows, then a majority vote.
    public var languageDetectionThreshold: Float = 0.5
    public var languageDetectionSegments = 1
    /// Detect the language of every window (multilingual models); segments record theirs.
    public var multilingual = false
    public init() {}

    /// Problems with combinations of options, named by their snake_case keys.
    public func problem() -> String? {
        if hallucinationSilenceThreshold != nil && !wordTimestamps { return "hallucination_silence_threshold needs word_timestamps: true" }
        if repetitionPenalty <= 0 { return "repetition_penalty must be > 0" }
        if noRepeatNgramSize < 0 { return "no_repeat_ngram_size must be ≥ 0" }
        if languageDetectionSegments < 1 { return "language_detection_segments must be at least 1" }
        if clipTimestamps.contains(where: { !$0.isFinite || $0 < 0 }) { return "clip_timestamps must be seconds ≥ 0" }
        return nil
    }
}

public struct TranscriptSegment: Codable, Sendable, Equatable {
    public var id: Int
    public var seek: Int
    public var start: Double
    public var end: Double
    public var text: String
    public var tokens: [Int]
    public var temperature: Float
    public var avgLogprob: Float
    public var compressionRatio: Float
    public var noSpeechProb: Float
    /// With `wordTimestamps`: the segment's words.
    public var words: [WordTiming]? = nil
    /// With `multilingual`: the language detected for this segment's window.
    public var language: String? = nil
}

public struct Transcript: Codable, Sendable {
    public var language: String
    public var languageProbability: Float
    public var duration: Double
    public var segments: [TranscriptSegment]
    public var text: String { segments.map(\.text).joined() }
    /// Every window's generated ids, in order (for parity checks and audits).
    public var windows: [[Int]] = []
    /// Seconds of encoder and decoder work spent on this file (a step shared by several files is
    /// split evenly between them); not stored.
    public var encoderSeconds = 0.0, decoderSeconds = 0.0

    enum CodingKeys: String, CodingKey { case language, languageProbability, duration, segments, windows }
}

/// One recording's features for `transcribe`; with `parts` (frame ranges, each ≤ 30 s, in order)
/// the ranges are decoded as independent windows side by side — batched long-form, as
/// faster-whisper's `BatchedInferencePipeline` decodes VAD chunks: no text conditioning across parts.
public struct TranscriptionInput {
    public var mel: LogMelSpectrogram
    public var parts: [Range<Int>]
    public init(mel: LogMelSpectrogram, parts: [Range<Int>] = []) { self.mel = mel; self.parts = parts }
}

public final class WhisperTranscriber {
    public let model: WhisperModel
    public let tokenizer: WhisperTokenizer
    public let config: WhisperCheckpointConfig
    public let format: WhisperModel.Format
    static let framesPerWindow = 3000, secondsPerFrame = 0.01, timePrecision = 0.02, inputStride = 2
    /// Batched long-form: a part's undecoded rest shorter than this (frames, 1 s) is not decoded.
    static let minimumPartRest = 100

    public init(model: WhisperModel, tokenizer: WhisperTokenizer, config: WhisperCheckpointConfig, format: WhisperModel.Format) {
        self.model = model; self.tokenizer = tokenizer; self.config = config; self.format = format
    }

    /// Loads weights, config and tokenizer.json from a model directory, the weights as
    /// `computeType` has them.
    public static func load(directory: URL, computeType: WhisperComputeType = .float32) throws -> WhisperTranscriber {
        let (model, config, format) = try WhisperModel.load(directory: directory, weights: computeType.weights)
        let tokenizer = try WhisperTokenizer(url: directory.appendingPathComponent("tokenizer.json"),
                                             vocabularySize: model.dimensions.vocabularySize)
        return WhisperTranscriber(model: model, tokenizer: tokenizer, config: config, format: format)
    }

    /// Transcribes log-mel inputs, `batchSize` files at a time through the encoder and decoder.
    /// `load(i)` produces input i when it enters the batch; failures become `.failure` results.
    /// `shouldStop` is asked before each step (one 30-second window of every active file): once it
    /// says yes, no file enters or advances; unfinished files are `WhisperError.stopped` results,
    /// without an `onFinish` call. `checkpoints` resumes a file from its finished windows and hears
    /// of each window it finishes (between steps, never while `load` runs).
    public func transcribe(count: Int, load: (Int) throws -> LogMelSpectrogram, options: TranscriptionOptions,
                           batchSize: Int = 4, shouldStop: () -> Bool = { false },
                           checkpoints: TranscriptionCheckpoints? = nil,
                           onFinish: ((Int, Result<Transcript, Error>) -> Void)? = nil)
        -> [Result<Transcript, Error>] {
        withoutActuallyEscaping(load) { load in
            transcribe(count: count, input: { TranscriptionInput(mel: try load($0)) }, options: options,
                       batchSize: batchSize, shouldStop: shouldStop, checkpoints: checkpoints, onFinish: onFinish)
        }
    }

    /// As above, for inputs that may be split into parts decoded side by side (batched long-form):
    /// `batchSize` then counts parts — windows decoded together in one step.
    public func transcribe(count: Int, input load: (Int) throws -> TranscriptionInput, options: TranscriptionOptions,
                           batchSize: Int = 4, shouldStop: () -> Bool = { false },
                           checkpoints: TranscriptionCheckpoints? = nil,
                           onFinish: ((Int, Result<Transcript, Error>) -> Void)? = nil)
        -> [Result<Transcript, Error>] {
        var results = [Result<Transcript, Error>?](repeating: nil, count: count)
        var active: [FileState] = []
        /// Parts of loaded files that wait for a place in the batch, in order.
        var waiting: [FileState] = []
        var partsOf: [Int: [FileState]] = [:]
        var next = 0
        let finish = { (i: Int, r: Result<Transcript, Error>) in results[i] = r; onFinish?(i, r) }
        /// A file ends when its last part does: its parts' transcripts in order, as one.
        let retire = {
            active.removeAll { state in
                guard state.done else { return false }
                // (nil: the file's other parts ended in this pass and finished it)
                if let parts = partsOf[state.index], parts.allSatisfy(\.done) {
                    partsOf[state.index] = nil
                    if let failure = parts.lazy.compactMap(\.failure).first { finish(state.index, .failure(failure)) }
                    else { finish(state.index, .success(FileState.joined(parts))) }
                }
                return true
            }
        }
        let prefetch = Prefetch()
        while next < count || !active.isEmpty || !waiting.isEmpty {
            if shouldStop() { return results.map { $0 ?? .failure(WhisperError.stopped) } }
            while active.count < max(1, batchSize) {
                // A part after a file's first starts once the first has its language (multilingual models).
                if let k = waiting.firstIndex(where: \.mayStart) {
                    active.append(waiting.remove(at: k).inheritingLanguage())
                    continue
                }
                guard next < count else { break }
                do {
                    let input = try prefetch.take(next) ?? load(next)
                    guard input.mel.nMels == model.dimensions.melBins else {
                        throw WhisperError("audio features have \(input.mel.nMels) mel bins, the model expects \(model.dimensions.melBins)")
                    }
                    // Checkpoints are per file: a file decoded in parts (batched) has none.
                    let parts = input.parts.isEmpty
                        ? [resumed(FileState(index: next, mel: input.mel, options: options, tokenizer: tokenizer),
                                   options: options, checkpoints: checkpoints)]
                        : input.parts.map { FileState(index: next, mel: input.mel, options: options, tokenizer: tokenizer, clips: [($0.lowerBound, $0.upperBound)]) }
                    for part in parts.dropFirst() { part.leader = parts[0] }
                    partsOf[next] = parts
                    active.append(parts[0])
                    waiting += parts.dropFirst()
                } catch { finish(next, .failure(error)) }
                next += 1
            }
            retire()
            if !active.isEmpty {
                // The next file is decoded (audio → log-mel) while this step computes; only during
                // the step, so `load` never runs at the same time as the caller's own callbacks.
                if next < count && Prefetch.enabled {
                    withoutActuallyEscaping(load) { load in
                        prefetch.start(next, load)
                        step(active, options: options)
                        prefetch.wait()
                    }
                } else {
                    step(active, options: options)
                }
                if let checkpoints { for f in active where !f.isPart { f.reportWindows(to: checkpoints) } }
            }
            retire()
        }
        return results.map { $0! }
    }

    /// One file's features decoded ahead on a background thread (`HEARTH_PREFETCH=0` turns it off).
    final class Prefetch: @unchecked Sendable {
        static let enabled = ProcessInfo.processInfo.environment["HEARTH_PREFETCH"] != "0"
        private let group = DispatchGroup()
        private var ready: (index: Int, result: Result<TranscriptionInput, Error>)?

        func start(_ index: Int, _ load: @escaping (Int) throws -> TranscriptionInput) {
            guard ready == nil else { return }
            DispatchQueue.global(qos: .userInitiated).async(group: group) { self.ready = (index, Result { try load(index) }) }
        }

        func wait() { group.wait() }

        /// The prefetched features of `index`, once; nil when that file was not prefetched.
        func take(_ index: Int) throws -> TranscriptionInput? {
            guard let ready, ready.index == index else { return nil }
            self.ready = nil
            return try ready.result.get()
        }
    }

    /// `fresh` advanced through the windows `checkpoints` holds for its file; when they do not fit
    /// this recording (`WindowRecord.problem`), the file starts over and `checkpoints` is told why.
    func resumed(_ fresh: FileState, options: TranscriptionOptions, checkpoints: TranscriptionCheckpoints?) -> FileState {
        guard let checkpoints else { return fresh }
        let records = checkpoints.finishedWindows(fresh.index)
        guard !records.isEmpty else { return fresh }
        let state = FileState(index: fresh.index, mel: fresh.mel, options: options, tokenizer: tokenizer)
        for record in records {
            if let problem = state.apply(record, vocabularySize: model.dimensions.vocabularySize) {
                checkpoints.rejected(fresh.index, reason: problem)
                return fresh
            }
        }
        return state
    }

    /// Convenience for one clip of 16 kHz samples.
    public func transcribe(samples: [Float], options: TranscriptionOptions) throws -> Transcript {
        let mel = LogMelSpectrogram(samples: samples, nMels: model.dimensions.melBins)
        return try transcribe(count: 1, load: { _ in mel }, options: options)[0].get()
    }

    // MARK: One window of every active file

    final class FileState {
        let index: Int
        let mel: LogMelSpectrogram
        let contentFrames: Int
        var seek = 0
        var allTokens: [Int] = []
        var promptResetSince = 0
        /// The language of the current window's prompt (nil: not detected yet).
        var language: String?
        /// End of the last speech seen (faster-whisper's `last_speech_timestamp`).
        var lastSpeech = 0.0
        var transcript: Transcript
        /// Regions to transcribe in frames (clip_timestamps; the whole recording by default).
        let clips: [(start: Int, end: Int)]
        var clip = 0
        var done: Bool { clip >= clips.count }
        /// Why the file could not be finished (its features could not be read back).
        private(set) var failure: Error?

        func fail(_ error: Error) { failure = error; clip = clips.count }
        /// For a file's later parts: its first part, whose language they take.
        weak var leader: FileState?
        /// A part of batched long-form: decoded as one window (as the peer's batched pipeline), its
        /// segments' times kept inside the part.
        let isPart: Bool

        /// Windows and segments already told to the checkpoints (or read back from them).
        private var reportedWindows = 0, reportedSegments = 0

        /// Tells `checkpoints` of each window finished since the last call.
        func reportWindows(to checkpoints: TranscriptionCheckpoints) {
            guard failure == nil, reportedWindows < transcript.windows.count else { return }
            // one window per step: everything after the last report belongs to the newest window
            reportedWindows = transcript.windows.count
            let record = WindowRecord(
                window: reportedWindows - 1, seek: seek, clip: clip, promptResetSince: promptResetSince, language: language,
                lastSpeech: lastSpeech, transcriptLanguage: transcript.language, languageProbability: transcript.languageProbability,
                tokens: transcript.windows.last!, segments: Array(transcript.segments[reportedSegments...]))
            reportedSegments = transcript.segments.count
            checkpoints.windowFinished(index, record)
        }

        /// Advances this (fresh or resumed) state by a finished window; the reason when it does not fit.
        func apply(_ r: WindowRecord, vocabularySize: Int) -> String? {
            if let problem = r.problem(window: transcript.windows.count, clip: clip, clips: clips.count,
                                       contentFrames: contentFrames, firstSegmentID: transcript.segments.count + 1,
                                       allTokens: allTokens.count, vocabularySize: vocabularySize) {
                return problem
            }
            seek = r.seek; clip = r.clip; promptResetSince = r.promptResetSince; language = r.language; lastSpeech = r.lastSpeech
            transcript.language = r.transcriptLanguage; transcript.languageProbability = r.languageProbability
            transcript.windows.append(r.tokens)
            transcript.segments += r.segments
            for segment in r.segments { allTokens += segment.tokens }
            reportedWindows = transcript.windows.count; reportedSegments = transcript.segments.count
            settle()
            return nil
        }

        /// `clips`: the frame regions of this part (batched long-form); nil: `clip_timestamps`, else
        /// the whole recording.
        init(index: Int, mel: LogMelSpectrogram, options: TranscriptionOptions, tokenizer: WhisperTokenizer,
             clips: [(start: Int, end: Int)]? = nil) {
            self.index = index; self.mel = mel; contentFrames = mel.contentFrames; isPart = clips != nil
            // seek points as faster-whisper: round(seconds · 100), paired; an odd last start runs to the end
            var points = options.clipTimestamps.map { Int(($0 * 100).rounded(.toNearestOrEven)) }
            if points.isEmpty { points = [0] }
            if points.count % 2 == 1 { points.append(mel.contentFrames) }
            self.clips = clips ?? stride(from: 0, to: points.count, by: 2).map { (points[$0], points[$0 + 1]) }
            language = tokenizer.isMultilingual ? options.language : "en"
            transcript = Transcript(language: language ?? "", languageProbability: 1, duration: mel.durationSeconds, segments: [])
            if let prompt = options.initialPrompt {
                allTokens = tokenizer.encode(" " + prompt.trimmingCharacters(in: .whitespaces))
            }
            seek = self.clips[0].start
            settle()
        }

        /// Whether this part may enter a batch: a first part always; a later one once the first knows
        /// the language (or has ended without one).
        var mayStart: Bool { leader.map { $0.language != nil || $0.done } ?? true }

        /// Takes the first part's language (a detected language is the file's, as faster-whisper's
        /// batched pipeline detects once per file).
        func inheritingLanguage() -> FileState {
            if let leader, language == nil, let l = leader.language {
                language = l
                transcript.language = leader.transcript.language
                transcript.languageProbability = leader.transcript.languageProbability
            }
            return self
        }

        /// The transcript of a file from its parts' transcripts, in order (segments renumbered).
        static func joined(_ parts: [FileState]) -> Transcript {
            var t = parts[0].transcript
            for part in parts.dropFirst() {
                t.segments += part.transcript.segments
                t.windows += part.transcript.windows
                t.encoderSeconds += part.transcript.encoderSeconds
                t.decoderSeconds += part.transcript.decoderSeconds
            }
            for i in t.segments.indices { t.segments[i].id = i + 1 }
            return t
        }

        /// The end of the current clip (frames, within the content).
        var clipEnd: Int { min(clips[clip].end, contentFrames) }

        /// Moves `seek` into the current clip, or on to the next clip when this one is done.
        func settle() {
            while clip < clips.count {
                if seek < clips[clip].start { seek = clips[clip].start }
                if seek < clipEnd { return }
                clip += 1
                if clip < clips.count { seek = clips[clip].start }
            }
        }
    }

    struct Decoded {
        var tokens: [Int]; var avgLogprob: Float; var temperature: Float; var compressionRatio: Float; var noSpeechProb: Float
    }

    func step(_ allFiles: [FileState], options: TranscriptionOptions) {
        let dims = model.dimensions, frames = Self.framesPerWindow
        var files: [FileState] = [], windows: [[Float]] = [], segmentSizes: [Int] = []
        defer { for f in allFiles { f.settle() } }
        for f in allFiles {
            let size = min(frames, f.clipEnd - f.seek)
            let window: [Float]  // (melBins, frames)
            do { window = try f.mel.window(startFrame: f.seek, count: size, paddedTo: frames) } catch {
                f.fail(error)   // the spill file could not be read back: this file ends with the error
                continue
            }
            // Digital silence: a window whose content frames hold one constant log-mel value (every
            // sample zero, or at the floor Whisper's normalization clamps quiet frames to; the padding
            // columns past `size` are zeros) carries no signal at all. Decoding it only invites
            // hallucinated text ("you"), so it is skipped as no speech, without running the model
            // (hours of silence cost seconds).
            if Self.isConstant(window, rows: dims.melBins, columns: frames, used: size) {
                f.transcript.windows.append([])
                f.seek += size
                continue
            }
            files.append(f); windows.append(window); segmentSizes.append(size)
        }
        guard !files.isEmpty else { return }
        var clock = ContinuousClock.now
        /// The seconds since the last lap, split between the step's files.
        func lap() -> Double {
            let now = ContinuousClock.now, d = clock.duration(to: now).components
            clock = now
            return (Double(d.seconds) + Double(d.attoseconds) * 1e-18) / Double(files.count)
        }
        let memory = encode(windows)
        let encoderShare = lap()
        for f in files { f.transcript.encoderSeconds += encoderShare }
        defer { let share = lap(); for f in files { f.transcript.decoderSeconds += share } }
        detectLanguages(files, memory: memory, options: options)
        let prompts = files.map { prompt(for: $0, options: options) }
        // Sampling seeds depend on the window's position in its file only, not on the file's place in
        // this call: a resumed run (fewer files) or another batch gives the same sampled fallbacks.
        let seeds = files.map { UInt64($0.seek) &* 1_000_003 }
        let decoded = generateWithFallback(prompts: prompts.map(\.prompt), prefixes: prompts.map(\.prefix), seeds: seeds,
                                           memory: memory, options: options)
        for (i, f) in files.enumerated() {
            f.transcript.windows.append(decoded[i].tokens)
            let before = f.transcript.segments.count, end = Double(f.clipEnd) * Self.secondsPerFrame
            advance(f, decoded: decoded[i], segmentSize: segmentSizes[i], options: options, window: i, memory: memory)
            if f.isPart {
                // Timestamps past the part's speech (into its zero padding) end at the part's end. What
                // the window left undecoded after its last timestamp gets a window of its own, as in
                // sequential seeking, unless it is under `minimumPartRest` (the chunk's silent padding:
                // a fraction of a second before zeros invites looping text).
                for k in before..<f.transcript.segments.count {
                    f.transcript.segments[k].end = min(f.transcript.segments[k].end, end)
                    f.transcript.segments[k].start = min(f.transcript.segments[k].start, f.transcript.segments[k].end)
                }
                if f.clipEnd - f.seek < Self.minimumPartRest { f.seek = max(f.seek, f.clipEnd) }
            }
        }
    }

    /// The decoder's cross-attention memory of (melBins, 3000) log-mel windows, encoded together.
    func encode(_ windows: [[Float]]) -> [Tensor] {
        let size = model.dimensions.melBins * Self.framesPerWindow
        let mel = Tensor(zeros: [windows.count, model.dimensions.melBins, Self.framesPerWindow])
        for (i, window) in windows.enumerated() {
            window.withUnsafeBufferPointer { (mel.data + i * size).update(from: $0.baseAddress!, count: window.count) }
        }
        return model.crossMemory(mel.withData { model.encode(mel: $0, windows: windows.count) })
    }

    /// Whether the first `used` columns of a (rows, columns) window all hold the same value.
    static func isConstant(_ window: [Float], rows: Int, columns: Int, used: Int) -> Bool {
        guard used > 0, let first = window.first else { return false }
        for r in 0..<rows {
            let row = r * columns
            for c in 0..<used where window[row + c] != first { return false }
        }
        return true
    }

    /// Multilingual models: the language of each file without one (faster-whisper's detect_language:
    /// the first window whose top language is more probable than `language_detection_threshold`
    /// decides, looking at up to `language_detection_segments` 30 s windows, else the language most
    /// often on top wins, with its best probability); with `multilingual`, every window's own.
    func detectLanguages(_ files: [FileState], memory: [Tensor], options: TranscriptionOptions) {
        guard tokenizer.isMultilingual, !tokenizer.languages.isEmpty else { return }
        let pending = files.enumerated().filter { $0.element.language == nil || options.multilingual }
        guard !pending.isEmpty else { return }
        let windowTops = languageProbabilities(windows: pending.map(\.offset), memory: memory)
        // faster-whisper detects on its own encoding of features[..., seek:]: where the window holds
        // less than 30 s, that one keeps the frame after the content, which transcription drops.
        var detected = windowTops
        let frames = Self.framesPerWindow
        var ownRows: [Int] = [], ownWindows: [[Float]] = []
        for (row, (_, file)) in pending.enumerated() where file.transcript.language.isEmpty && file.clipEnd - file.seek < frames {
            guard let window = try? file.mel.window(startFrame: file.seek, paddedTo: frames, withFinalFrame: true) else { continue }
            ownRows.append(row); ownWindows.append(window)
        }
        if !ownWindows.isEmpty {
            let own = languageProbabilities(windows: Array(ownWindows.indices), memory: encode(ownWindows))
            for (k, row) in ownRows.enumerated() { detected[row] = own[k] }
        }
        for (row, (_, file)) in pending.enumerated() {
            let top = detected[row]
            if file.transcript.language.isEmpty {
                let (language, probability) = top.probability > options.languageDetectionThreshold
                    ? (top.code, top.probability) : moreLanguageWindows(file, first: top, options: options)
                file.transcript.language = language
                file.transcript.languageProbability = probability
                file.language = language
            }
            if options.multilingual { file.language = windowTops[row].code }  // the decoded window's own
        }
    }

    /// Every language of each window of `memory` with its softmax probability over the language
    /// tokens, most probable first (CTranslate2's Whisper::detect_language).
    func languageDistributions(windows: [Int], memory: [Tensor]) -> [[(code: String, probability: Float)]] {
        let cache = model.makeCache(slots: windows.count)
        let logits = model.decode(tokens: Array(repeating: tokenizer.startOfTranscript, count: windows.count),
                                  slots: Array(windows.indices), positions: Array(repeating: 0, count: windows.count),
                                  windows: windows, memory: memory, cache: cache, logitRows: Array(windows.indices))
        return windows.indices.map { row in
            var scores = tokenizer.languages.map { logits.data[row * model.dimensions.vocabularySize + $0.id] }
            scores.withUnsafeMutableBufferPointer { Kernels.softmax($0.baseAddress!, count: $0.count) }
            // ties keep the token order, as the first maximum wins
            return scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
                .map { (tokenizer.languages[$0].code, scores[$0]) }
        }
    }

    /// The top language of each window of `memory`.
    func languageProbabilities(windows: [Int], memory: [Tensor]) -> [(code: String, probability: Float)] {
        languageDistributions(windows: windows, memory: memory).map { $0[0] }
    }

    /// Every language with its probability, most probable first, for the first 30 s window of 16 kHz
    /// samples: the window transcription detects the language on (faster-whisper's `all_language_probs`).
    public func languageProbabilities(samples: [Float]) throws -> [(code: String, probability: Float)] {
        guard tokenizer.isMultilingual, !tokenizer.languages.isEmpty else { throw WhisperError("the model is English-only: no language to detect") }
        let mel = LogMelSpectrogram(samples: samples, nMels: model.dimensions.melBins)
        let frames = Self.framesPerWindow
        let window = try mel.window(startFrame: 0, paddedTo: frames, withFinalFrame: true)
        return languageDistributions(windows: [0], memory: encode([window]))[0]
    }

    /// Detection over the windows after the first (none decided): each is encoded on its own.
    func moreLanguageWindows(_ f: FileState, first: (code: String, probability: Float),
                             options: TranscriptionOptions) -> (String, Float) {
        var votes: [(code: String, probabilities: [Float])] = [(first.code, [first.probability])]
        let frames = Self.framesPerWindow
        for k in 1..<max(1, options.languageDetectionSegments) {
            let start = f.seek + k * frames
            guard start <= f.contentFrames else { break }   // the frame after the content counts, as there
            guard let window = try? f.mel.window(startFrame: start, paddedTo: frames, withFinalFrame: true)
            else { break }  // unreadable (the step reading this window reports it)
            let top = languageProbabilities(windows: [0], memory: encode([window]))[0]
            if top.probability > options.languageDetectionThreshold { return top }
            if let i = votes.firstIndex(where: { $0.code == top.code }) { votes[i].probabilities.append(top.probability) }
            else { votes.append((top.code, [top.probability])) }
        }
        // Python's max(dict, key=len): the first language with the most windows
        var winner = votes[0]
        for v in votes.dropFirst() where v.probabilities.count > winner.probabilities.count { winner = v }
        return (winner.code, winner.probabilities.max()!)
    }

    /// The prompt [<|startofprev|> hotwords… previous…] <|startoftranscript|> [lang task]
    /// [<|notimestamps|>] and the tokens forced after it: [<|0.00|>] prefix… on the first window
    /// (faster-whisper's get_prompt; hotwords are left out where the prefix applies).
    func prompt(for f: FileState, options: TranscriptionOptions) -> (prompt: [Int], prefix: [Int]) {
        let limit = model.dimensions.textContext / 2
        func encoded(_ text: String) -> [Int] {
            let tokens = tokenizer.encode(" " + text.trimmingCharacters(in: .whitespaces))
            return tokens.count >= limit ? Array(tokens.prefix(limit - 1)) : tokens
        }
        let prefixText = f.seek == 0 ? options.prefix.flatMap { $0.isEmpty ? nil : $0 } : nil
        let hotwords = prefixText == nil ? options.hotwords.flatMap { $0.isEmpty ? nil : $0 } : nil
        var p: [Int] = []
        let previous = Array(f.allTokens[f.promptResetSince...])
        if !previous.isEmpty || hotwords != nil {
            p.append(tokenizer.startOfPrevious)
            if let hotwords { p += encoded(hotwords) }
            p += previous.suffix(limit - 1)
        }
        p += tokenizer.startSequence(language: f.language, task: options.task)
        if options.withoutTimestamps { p.append(tokenizer.noTimestamps) }
        var prefix: [Int] = []
        if let prefixText {
            if !options.withoutTimestamps { prefix.append(tokenizer.timestampBegin) }
            prefix += encoded(prefixText)
        }
        return (p, prefix)
    }

    // MARK: Decoding with temperature fallback

    /// `seeds[i]`: the sampling seed of request i (stable per file and window, whatever the batch).
    func generateWithFallback(prompts: [[Int]], prefixes: [[Int]], seeds: [UInt64], memory: [Tensor],
                              options: TranscriptionOptions) -> [Decoded] {
        var best = [Decoded?](repeating: nil, count: prompts.count)
        var all = [[Decoded]](repeating: [], count: prompts.count)
        var belowThreshold = [[Decoded]](repeating: [], count: prompts.count)
        var pending = Array(prompts.indices)
        let suppressed = tokenizer.suppressedTokens(options.suppressTokens)
        let begin = options.suppressBlank ? (config.suppressIDsBegin.isEmpty ? [tokenizer.bpe.encode(" ").first ?? 220, tokenizer.endOfText] : config.suppressIDsBegin) : []
        // In CTranslate2's order: repetition penalty, no-repeat n-grams, then suppression and timestamp rules.
        var penalties: [LogitsProcessor] = []
        if options.repetitionPenalty != 1 { penalties.append(RepetitionPenalty(options.repetitionPenalty)) }
        if options.noRepeatNgramSize > 0 { penalties.append(NoRepeatNgram(options.noRepeatNgramSize)) }
        let rules = prefixes.map { prefix -> [LogitsProcessor] in
            penalties + [WhisperLogitRules(tokenizer: tokenizer, suppressed: suppressed, suppressedAtBegin: begin,
                                           timestamps: !options.withoutTimestamps,
                                           maxInitialTimestampIndex: Int((options.maxInitialTimestamp / Float(Self.timePrecision)).rounded()),
                                           sampleBegin: prefix.count)]
        }
        for (round, temperature) in options.temperatures.enumerated() where !pending.isEmpty {
            var search = SearchOptions()
            search.temperature = temperature
            search.beamSize = temperature > 0 ? 1 : options.beamSize
            search.bestOf = temperature > 0 ? options.bestOf : 1
            search.patience = options.patience
            search.lengthPenalty = options.lengthPenalty
            search.seed = options.seed &+ UInt64(round)
            let results = run(pending.map { prompts[$0] }, prefixes: pending.map { prefixes[$0] }, windows: pending,
                              seeds: pending.map { seeds[$0] }, memory: memory, rules: pending.map { rules[$0] },
                              search: search, options: options)
            var stillPending: [Int] = []
            for (k, i) in pending.enumerated() {
                let (hyp, noSpeech) = results[k]
                let avg = hyp.cumulativeLogProb / Float(hyp.tokens.count + 1)
                let text = tokenizer.decodeText(hyp.tokens).trimmingCharacters(in: .whitespacesAndNewlines)
                let ratio = compressionRatio(text)
                let d = Decoded(tokens: hyp.tokens, avgLogprob: avg, temperature: temperature, compressionRatio: ratio,
                                noSpeechProb: noSpeech)
                all[i].append(d)
                var needsFallback = false
                if let threshold = options.compressionRatioThreshold {
                    if ratio > threshold { needsFallback = true } else { belowThreshold[i].append(d) }
                }
                if let threshold = options.logProbThreshold, avg < threshold { needsFallback = true }
                if let noSpeechThreshold = options.noSpeechThreshold, noSpeech > noSpeechThreshold,
                   let threshold = options.logProbThreshold, avg < threshold {
                    needsFallback = false   // silence: keep it, the caller skips the window
                }
                if needsFallback { stillPending.append(i) } else { best[i] = d }
            }
            pending = stillPending
        }
        // Every temperature failed: the highest average log-prob wins (preferring low compression ratios).
        for i in pending {
            let pool = belowThreshold[i].isEmpty ? all[i] : belowThreshold[i]
            var d = pool.max { $0.avgLogprob < $1.avgLogprob }!
            d.temperature = options.temperatures.last ?? 0
            best[i] = d
        }
        return best.map { $0! }
    }

    /// Prefills each prompt into its cache slot (batched), then runs one search for all of them.
    /// Returns the best hypothesis and the no-speech probability of each request.
    func run(_ prompts: [[Int]], prefixes: [[Int]], windows: [Int], seeds: [UInt64], memory: [Tensor], rules: [[LogitsProcessor]],
             search: SearchOptions, options: TranscriptionOptions) -> [(Hypothesis, Float)] {
        let width = Search.slotsPerRequest(search)
        let cache = model.makeCache(slots: prompts.count * width)
        let vocab = model.dimensions.vocabularySize
        var rows: [StepRow] = [], probeRows: [Int] = [], noSpeech = [Float](repeating: 0, count: prompts.count)
        var probeOwners: [Int] = []
        for (i, p) in prompts.enumerated() {
            let sot = p.firstIndex(of: tokenizer.startOfTranscript)!
            for (position, token) in p.dropLast().enumerated() {
                if position == sot { probeRows.append(rows.count); probeOwners.append(i) }
                rows.append(StepRow(slot: i * width, token: token, position: position, context: windows[i]))
            }
        }
        if !rows.isEmpty {
            let logits = model.decode(tokens: rows.map(\.token), slots: rows.map(\.slot), positions: rows.map(\.position),
                                      windows: rows.map(\.context), memory: memory, cache: cache, logitRows: probeRows)
            for (k, i) in probeOwners.enumerated() { noSpeech[i] = Self.probability(logits.data + k * vocab, vocab, tokenizer.noSpeech) }
        }
        // When <|startoftranscript|> is the last prompt token, its logits are the first search step's.
        let probes = prompts.enumerated().map { i, p in
            NoSpeechProbe(active: p.last == tokenizer.startOfTranscript, token: tokenizer.noSpeech)
        }
        // faster-whisper's max_length counts the whole prompt, the prefix included
        let total = prompts.indices.map { i in options.maxNewTokens.map { prompts[i].count + prefixes[i].count + $0 } ?? model.dimensions.textContext }
        let requests = prompts.enumerated().map { i, p -> SearchRequest in
            var r = SearchRequest(startToken: p.last!, endToken: tokenizer.endOfText, startPosition: p.count - 1,
                                  maxSteps: max(1, min(total[i] / 2, total[i] - (p.count - 1))),
                                  processors: [probes[i]] + rules[i], context: windows[i])
            r.prefix = prefixes[i]
            r.seed = search.seed &+ seeds[i]
            return r
        }
        let stepper = WhisperStepModel(model: model, memory: memory, cache: cache)
        let hypotheses = Search.run(requests, options: search, model: stepper)
        return hypotheses.enumerated().map { i, h in
            (h.first ?? Hypothesis(tokens: [], score: -.infinity, cumulativeLogProb: -.infinity),
             probes[i].active ? probes[i].value : noSpeech[i])
        }
    }

    static func probability(_ logits: UnsafePointer<Float>, _ count: Int, _ token: Int) -> Float {
        var maxValue = -Float.infinity
        for i in 0..<count { maxValue = max(maxValue, logits[i]) }
        var sum: Float = 0
        for i in 0..<count { sum += Foundation.exp(logits[i] - maxValue) }
        return Foundation.exp(logits[token] - maxValue) / sum
    }

    /// zlib-compressed size ratio of the text, as faster-whisper's get_compression_ratio (level 6 default).
    func compressionRatio(_ text: String) -> Float {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { return 0 }
        var size = compressBound(uLong(bytes.count))
        var out = [UInt8](repeating: 0, count: Int(size))
        let status = compress2(&out, &size, bytes, uLong(bytes.count), Z_DEFAULT_COMPRESSION)
        guard status == Z_OK, size > 0 else { return 0 }
        return Float(bytes.count) / Float(size)
    }

    // MARK: Segments from timestamps

    /// `window`: the file's window in `memory` (for word alignment).
    func advance(_ f: FileState, decoded: Decoded, segmentSize: Int, options: TranscriptionOptions, window: Int, memory: [Tensor]) {
        if let threshold = options.noSpeechThreshold {
            var skip = decoded.noSpeechProb > threshold
            if let lp = options.logProbThreshold, decoded.avgLogprob > lp { skip = false }
            if skip { f.seek += segmentSize; return }
        }
        let tokens = decoded.tokens, begin = tokenizer.timestampBegin
        let previousSeek = f.seek
        let timeOffset = Double(f.seek) * Self.secondsPerFrame
        let segmentDuration = Double(segmentSize) * Self.secondsPerFrame
        var pieces: [WindowPiece] = []
        let singleTimestampEnding = tokens.count >= 2 && tokens[tokens.count - 2] < begin && tokens[tokens.count - 1] >= begin
        let consecutive = tokens.indices.filter { $0 > 0 && tokens[$0] >= begin && tokens[$0 - 1] >= begin }
        if !consecutive.isEmpty {
            var slices = consecutive
            if singleTimestampEnding { slices.append(tokens.count) }
            var last = 0
            for current in slices {
                let sliced = Array(tokens[last..<current])
                pieces.append(WindowPiece(start: timeOffset + Double(sliced.first! - begin) * Self.timePrecision,
                                          end: timeOffset + Double(sliced.last! - begin) * Self.timePrecision, tokens: sliced))
                last = current
            }
            if singleTimestampEnding {
                f.seek += segmentSize
            } else {
                f.seek += (tokens[last - 1] - begin) * Self.inputStride
            }
        } else {
            var duration = segmentDuration
            if let lastStamp = tokens.last(where: { $0 >= begin }), lastStamp != begin {
                duration = Double(lastStamp - begin) * Self.timePrecision
            }
            pieces.append(WindowPiece(start: timeOffset, end: timeOffset + duration, tokens: tokens))
            f.seek += segmentSize
        }
        if options.wordTimestamps {
            addWordTimestamps(&pieces, window: window, memory: memory, numFrames: segmentSize, timeOffset: timeOffset,
                              language: f.language, options: options, lastSpeech: f.lastSpeech)
            // Resume after the last word rather than the last timestamp token.
            if !singleTimestampEnding, let lastWordEnd = Self.lastEnd(pieces), lastWordEnd > timeOffset {
                f.seek = Int((lastWordEnd * 100).rounded(.toNearestOrEven))
            }
            if let threshold = options.hallucinationSilenceThreshold {
                let skipped = skipHallucinations(&pieces, f, threshold: Double(threshold), previousSeek: previousSeek,
                                                 timeOffset: timeOffset, segmentDuration: segmentDuration)
                if skipped { return }
            }
            if let end = Self.lastEnd(pieces) { f.lastSpeech = end }
        }
        for piece in pieces {
            let text = tokenizer.decodeText(piece.tokens)
            if piece.start == piece.end || text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { continue }
            f.allTokens += piece.tokens
            f.transcript.segments.append(TranscriptSegment(
                id: f.transcript.segments.count + 1, seek: previousSeek, start: piece.start, end: piece.end, text: text,
                tokens: piece.tokens, temperature: decoded.temperature, avgLogprob: decoded.avgLogprob,
                compressionRatio: decoded.compressionRatio, noSpeechProb: decoded.noSpeechProb, words: piece.words,
                language: options.multilingual && tokenizer.isMultilingual ? f.language : nil))
        }
        if !options.conditionOnPreviousText || decoded.temperature > options.promptResetOnTemperature {
            f.promptResetSince = f.allTokens.count
        }
    }
}

// MARK: hallucination_silence_threshold (faster-whisper's generate_segments, after openai-whisper)

extension WhisperTranscriber {
    /// Marks faster-whisper leaves out of the anomaly count (`w["word"] not in punctuation`: a
    /// substring test, so "" and runs like "?？" count as punctuation too).
    static let anomalyPunctuation = "\"'“¿([{-\"'.。,，!！?？:：”)]}、"

    /// Very improbable, very short or very long words score high.
    static func anomalyScore(_ w: WordTiming) -> Double {
        let duration = w.end - w.start
        var score = 0.0
        if w.probability < 0.15 { score += 1 }
        if duration < 0.133 { score += (0.133 - duration) * 15 }
        if duration > 2.0 { score += duration - 2.0 }
        return score
    }

    /// A segment whose first eight words (punctuation aside) look hallucinated.
    static func isAnomaly(_ piece: WindowPiece?) -> Bool {
        guard let piece, let all = piece.words, !all.isEmpty else { return false }
        let words = all.filter { !($0.word.isEmpty || anomalyPunctuation.contains($0.word)) }.prefix(8)
        let score = words.reduce(0) { $0 + anomalyScore($1) }
        return score >= 3 || score + 0.01 >= Double(words.count)
    }

    /// Skips the silence before a likely hallucination: when the window's first worded segment is
    /// an anomaly after a gap over `threshold`, the window is dropped and decoding resumes at the
    /// segment (returns true); an anomaly with silence (or anomalies) on both sides ends the window
    /// there, resuming at it or, near the end of the recording, stopping.
    func skipHallucinations(_ pieces: inout [WindowPiece], _ f: FileState, threshold: Double, previousSeek: Int,
                            timeOffset: Double, segmentDuration: Double) -> Bool {
        let hasWords = { (p: WindowPiece) in !(p.words ?? []).isEmpty }
        let windowEnd = Double(previousSeek + Self.framesPerWindow) * Self.secondsPerFrame
        let contentDuration = Double(f.contentFrames) * Self.secondsPerFrame
        if let first = pieces.first(where: hasWords), Self.isAnomaly(first) {
            let gap = first.start - timeOffset
            if gap > threshold {
                f.seek = previousSeek + Int((gap * 100).rounded(.toNearestOrEven))
                return true
            }
        }
        var lastEnd = f.lastSpeech
        for i in pieces.indices where hasWords(pieces[i]) {
            let piece = pieces[i]
            if Self.isAnomaly(piece) {
                let next = pieces[(i + 1)...].first(where: hasWords)
                let nextStart = next?.words?.first?.start ?? timeOffset + segmentDuration
                let silenceBefore = piece.start - lastEnd > threshold || piece.start < threshold || piece.start - timeOffset < 2.0
                let silenceAfter = nextStart - piece.end > threshold || Self.isAnomaly(next) || windowEnd - piece.end < 2.0
                if silenceBefore && silenceAfter {
                    f.seek = Int((max(timeOffset + 1, piece.start) * 100).rounded(.toNearestOrEven))
                    if contentDuration - piece.end < threshold { f.seek = f.contentFrames }
                    pieces.removeSubrange(i...)
                    break
                }
            }
            lastEnd = piece.end
        }
        return false
    }
}

/// Records P(<|nospeech|>) from the raw logits of the first step (CTranslate2's GetNoSpeechProbs).
final class NoSpeechProbe: LogitsProcessor {
    let active: Bool, token: Int
    var value: Float = 0
    init(active: Bool, token: Int) { self.active = active; self.token = token }
    func process(step: Int, generated: [Int], logits: UnsafeMutablePointer<Float>, vocabularySize: Int) {
        if active && step == 0 { value = WhisperTranscriber.probability(logits, vocabularySize, token) }
    }
}

/// Adapts WhisperModel to the search's step interface: a row's context is its encoder window.
final class WhisperStepModel: StepModel {
    let model: WhisperModel, memory: [Tensor], cache: KVCache
    init(model: WhisperModel, memory: [Tensor], cache: KVCache) { self.model = model; self.memory = memory; self.cache = cache }
    var vocabularySize: Int { model.dimensions.vocabularySize }
    func step(_ rows: [StepRow]) -> Tensor {
        model.decode(tokens: rows.map(\.token), slots: rows.map(\.slot), positions: rows.map(\.position),
                     windows: rows.map(\.context), memory: memory, cache: cache, logitRows: Array(rows.indices))
    }
    func copySlot(from: Int, to: Int, length: Int) { cache.copySlot(from: from, to: to, length: length) }
}

public struct WhisperError: Error, CustomStringConvertible {
    public let description: String
    public init(_ message: String) { description = message }
    /// A file the transcription stopped before finishing (`shouldStop`).
    public static var stopped: WhisperError { WhisperError("stopped before the transcription finished") }
}
