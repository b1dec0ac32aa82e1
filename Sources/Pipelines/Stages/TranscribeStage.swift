import Foundation
import Media
import Models
import ModelStore
import TransformerCore

/// `task: transcribe` — Whisper speech to text, several files batched through the encoder and decoder.
public struct TranscribeTask: StageTask {
    public let name = "transcribe"
    public let media: Set<MediaKind> = [.audio, .video]  // a video's soundtrack
    public let fields = ["text", "language", "language_probability", "duration", "duration_after_vad"]
    public let defaultModel: String? = ModelCatalog.defaultWhisper
    public let sidecarFormats: Set<SidecarFormat> = Set(SidecarFormat.allCases)

    public init() {}

    public func decodeOptions(from decoder: Decoder) throws -> any StageOptions {
        try TranscribeOptions(from: decoder)
    }

    public func prepare(_ spec: StageSpec, store: ModelStore) throws -> any PipelineStage {
        let model = try store.resolve(spec.model ?? ModelCatalog.defaultWhisper)
        try ModelRegistry.require(model, is: [.speechRecognition], "transcribe needs a Whisper model")
        let stageOptions = spec.options as? TranscribeOptions
        let options = stageOptions?.options ?? TranscriptionOptions()
        // vad_filter: the Silero VAD from the catalog (`hearth models install silero-vad`)
        let vad = try stageOptions?.vad.map { vadOptions -> (InstalledModel, VADOptions) in
            let vadModel = try store.resolve(ModelCatalog.defaultVAD)
            try ModelRegistry.require(vadModel, is: [.voiceActivity], "vad_filter needs the Silero VAD model")
            return (vadModel, vadOptions)
        }
        return TranscribeStage(spec: spec, model: model, options: options,
                               subtitles: stageOptions?.subtitles ?? SubtitleOptions(), vad: vad,
                               audioStream: stageOptions?.audioStream, batched: stageOptions?.batched ?? false,
                               computeType: stageOptions?.computeType ?? .float32)
    }

    public func renderSidecar(_ result: JSONValue, format: SidecarFormat, item: ResultRecord,
                              provenance: StageProvenance) throws -> String? {
        guard case .object(var fields) = result else { return nil }
        fields["windows"] = .array([])   // not stored in records; Transcript's decoder wants the key
        let transcript = try JSONValue.object(fields).decode(Transcript.self)
        let options = (try? provenance.options.decode(TranscriptionOptions.self)) ?? TranscriptionOptions()
        let subtitles = (try? provenance.options.decode(SubtitleOptions.self)) ?? SubtitleOptions()
        let document = TranscriptDocument(
            path: item.input, transcript: transcript,
            provenance: Provenance(model: provenance.model ?? "", modelFormat: provenance.modelFormat ?? "",
                                   files: provenance.files ?? [:], options: options))
        return try document.render(TranscriptFormat(rawValue: format.rawValue)!, subtitles: subtitles)
    }
}

/// `options` of a transcribe stage: faster-whisper's names and defaults (`TranscriptionOptions`),
/// openai-whisper's subtitle line options for the srt/vtt sidecars (`SubtitleOptions`), and
/// `vad_filter` (default false) with `vad_parameters` (faster-whisper's `VadOptions`), and
/// `batched` (default false): faster-whisper's `BatchedInferencePipeline` — the VAD's speech
/// chunks, grouped into parts of ≤ 30 s, decoded side by side (it implies `vad_filter`, and caps
/// `max_speech_duration_s` at 30 as the peer does).
struct TranscribeOptions: StageOptions, Decodable {
    var options = TranscriptionOptions()
    var subtitles = SubtitleOptions()
    /// Set when `vad_filter: true`: the VAD options (`vad_parameters`, else faster-whisper's defaults).
    var vad: VADOptions?
    /// `audio_stream`: which audio stream of a container (from 0); nil is the first.
    var audioStream: Int?
    var batched = false
    /// `compute_type` (CTranslate2's names): which weights are int8 (`WhisperComputeType`).
    var computeType = WhisperComputeType.float32

    enum CodingKeys: String, CodingKey, CaseIterable {
        case language, task, beamSize = "beam_size", bestOf = "best_of", patience, lengthPenalty = "length_penalty"
        case temperature, compressionRatioThreshold = "compression_ratio_threshold"
        case logProbThreshold = "log_prob_threshold", noSpeechThreshold = "no_speech_threshold"
        case conditionOnPreviousText = "condition_on_previous_text", promptResetOnTemperature = "prompt_reset_on_temperature"
        case initialPrompt = "initial_prompt", suppressBlank = "suppress_blank", suppressTokens = "suppress_tokens"
        case withoutTimestamps = "without_timestamps", maxInitialTimestamp = "max_initial_timestamp"
        case maxNewTokens = "max_new_tokens", seed
        case wordTimestamps = "word_timestamps", prependPunctuations = "prepend_punctuations"
        case appendPunctuations = "append_punctuations"
        case maxLineWidth = "max_line_width", maxLineCount = "max_line_count", maxWordsPerLine = "max_words_per_line"
        case highlightWords = "highlight_words"
        case vadFilter = "vad_filter", vadParameters = "vad_parameters"
        case repetitionPenalty = "repetition_penalty", noRepeatNgramSize = "no_repeat_ngram_size", prefix, hotwords
        case clipTimestamps = "clip_timestamps", hallucinationSilenceThreshold = "hallucination_silence_threshold"
        case languageDetectionThreshold = "language_detection_threshold"
        case languageDetectionSegments = "language_detection_segments", multilingual
        case audioStream = "audio_stream", batched, computeType = "compute_type"
    }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func value<T: Decodable>(_ key: CodingKeys, _ current: T) throws -> T { try c.decodeIfPresent(T.self, forKey: key) ?? current }
        /// A threshold: a number, or `null` to turn the check off.
        func threshold(_ key: CodingKeys, _ current: Float?) throws -> Float? {
            guard c.contains(key) else { return current }
            return try c.decodeNil(forKey: key) ? nil : c.decode(Float.self, forKey: key)
        }
        func check(_ ok: Bool, _ key: CodingKeys, _ message: String) throws {
            if !ok { throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: message) }
        }
        var o = TranscriptionOptions()
        o.language = try c.decodeIfPresent(String.self, forKey: .language)
        if let task = try c.decodeIfPresent(String.self, forKey: .task) {
            guard let t = WhisperTask(rawValue: task) else {
                throw DecodingError.dataCorruptedError(forKey: .task, in: c, debugDescription: "must be transcribe or translate, not '\(task)'")
            }
            o.task = t
        }
        o.beamSize = try value(.beamSize, o.beamSize)
        o.bestOf = try value(.bestOf, o.bestOf)
        o.patience = try value(.patience, o.patience)
        o.lengthPenalty = try value(.lengthPenalty, o.lengthPenalty)
        if c.contains(.temperature) { o.temperatures = try c.decode(OneOrMany<Float>.self, forKey: .temperature).values }
        o.compressionRatioThreshold = try threshold(.compressionRatioThreshold, o.compressionRatioThreshold)
        o.logProbThreshold = try threshold(.logProbThreshold, o.logProbThreshold)
        o.noSpeechThreshold = try threshold(.noSpeechThreshold, o.noSpeechThreshold)
        o.conditionOnPreviousText = try value(.conditionOnPreviousText, o.conditionOnPreviousText)
        o.promptResetOnTemperature = try value(.promptResetOnTemperature, o.promptResetOnTemperature)
        o.initialPrompt = try c.decodeIfPresent(String.self, forKey: .initialPrompt)
        o.suppressBlank = try value(.suppressBlank, o.suppressBlank)
        o.suppressTokens = try value(.suppressTokens, o.suppressTokens)
        o.withoutTimestamps = try value(.withoutTimestamps, o.withoutTimestamps)
        o.maxInitialTimestamp = try value(.maxInitialTimestamp, o.maxInitialTimestamp)
        o.maxNewTokens = try c.decodeIfPresent(Int.self, forKey: .maxNewTokens)
        o.seed = try value(.seed, o.seed)
        o.wordTimestamps = try value(.wordTimestamps, o.wordTimestamps)
        o.prependPunctuations = try value(.prependPunctuations, o.prependPunctuations)
        o.appendPunctuations = try value(.appendPunctuations, o.appendPunctuations)
        o.repetitionPenalty = try value(.repetitionPenalty, o.repetitionPenalty)
        o.noRepeatNgramSize = try value(.noRepeatNgramSize, o.noRepeatNgramSize)
        o.prefix = try c.decodeIfPresent(String.self, forKey: .prefix)
        o.hotwords = try c.decodeIfPresent(String.self, forKey: .hotwords)
        if c.contains(.clipTimestamps) {
            // faster-whisper takes "start,end,…" or a list of seconds
            if let text = try? c.decode(String.self, forKey: .clipTimestamps) {
                let parts = text.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
                try check(!parts.contains(nil), .clipTimestamps, "must be seconds separated by commas, or a list of seconds")
                o.clipTimestamps = parts.map { $0! }
            } else {
                o.clipTimestamps = try c.decode([Double].self, forKey: .clipTimestamps)
            }
        }
        o.hallucinationSilenceThreshold = try threshold(.hallucinationSilenceThreshold, o.hallucinationSilenceThreshold)
        o.languageDetectionThreshold = try value(.languageDetectionThreshold, o.languageDetectionThreshold)
        o.languageDetectionSegments = try value(.languageDetectionSegments, o.languageDetectionSegments)
        o.multilingual = try value(.multilingual, o.multilingual)
        if let problem = o.problem() {
            let key = CodingKeys.allCases.first { problem.hasPrefix($0.stringValue + " ") } ?? .wordTimestamps
            try check(false, key, problem)
        }
        var sub = SubtitleOptions()
        sub.maxLineWidth = try c.decodeIfPresent(Int.self, forKey: .maxLineWidth)
        sub.maxLineCount = try c.decodeIfPresent(Int.self, forKey: .maxLineCount)
        sub.maxWordsPerLine = try c.decodeIfPresent(Int.self, forKey: .maxWordsPerLine)
        sub.highlightWords = try value(.highlightWords, sub.highlightWords)
        if let problem = sub.problem(wordTimestamps: o.wordTimestamps) {
            let key: CodingKeys = [(CodingKeys.maxLineWidth, sub.maxLineWidth != nil), (.maxLineCount, sub.maxLineCount != nil),
                                   (.maxWordsPerLine, sub.maxWordsPerLine != nil), (.highlightWords, sub.highlightWords)]
                .first { problem.hasPrefix($0.0.stringValue) }?.0 ?? .wordTimestamps
            try check(false, key, problem)
        }
        try check(o.beamSize >= 1, .beamSize, "must be at least 1")
        try check(o.bestOf >= 1, .bestOf, "must be at least 1")
        try check(!o.temperatures.isEmpty && o.temperatures.allSatisfy { $0 >= 0 }, .temperature,
                  "must be a number ≥ 0 or a non-empty list of them")
        try check((o.maxNewTokens ?? 1) >= 1, .maxNewTokens, "must be at least 1")
        options = o
        subtitles = sub
        batched = try value(.batched, false)
        let vadFilter = try value(.vadFilter, batched)
        let parameters = try c.decodeIfPresent(VADOptions.self, forKey: .vadParameters)
        try check(vadFilter || parameters == nil, .vadParameters, "takes effect only with vad_filter: true")
        try check(!(vadFilter && !o.clipTimestamps.isEmpty), .vadFilter,
                  "cannot be used with clip_timestamps (faster-whisper ignores vad_filter when clip_timestamps is given)")
        try check(vadFilter || !batched, .batched, "decodes the VAD's speech chunks: it needs vad_filter (leave vad_filter out or set it true)")
        vad = vadFilter ? parameters ?? VADOptions() : nil
        if batched { vad!.maxSpeechDurationS = min(vad!.maxSpeechDurationS ?? 30, 30) }
        if let name = try c.decodeIfPresent(String.self, forKey: .computeType) {
            let known = WhisperComputeType.allCases.map(\.rawValue).joined(separator: ", ")
            if let why = WhisperComputeType.unsupported[name] { try check(false, .computeType, "'\(name)' is not supported: \(why) (use one of \(known))") }
            guard let type = WhisperComputeType(rawValue: name) else { try check(false, .computeType, "must be one of \(known), got '\(name)'"); return }
            computeType = type
        }
        audioStream = try c.decodeIfPresent(Int.self, forKey: .audioStream)
        try check((audioStream ?? 0) >= 0, .audioStream, "must be 0 or more (audio streams are counted from 0)")
    }

    init(options: TranscriptionOptions, subtitles: SubtitleOptions, vad: VADOptions?, audioStream: Int? = nil, batched: Bool = false,
         computeType: WhisperComputeType = .float32) {
        self.options = options; self.subtitles = subtitles; self.vad = vad; self.audioStream = audioStream; self.batched = batched
        self.computeType = computeType
    }

    enum ExtraKeys: String, CodingKey {
        case vadFilter = "vad_filter", vadParameters = "vad_parameters", audioStream = "audio_stream", batched
        case computeType = "compute_type"
    }

    /// The Whisper options, the subtitle ones when set, and the VAD ones, `audio_stream` and
    /// `batched` only when set (so files without them keep their provenance hash); the sidecars
    /// read the subtitle options back.
    func encode(to encoder: Encoder) throws {
        try options.encode(to: encoder)
        if !subtitles.isDefault { try subtitles.encode(to: encoder) }
        var c = encoder.container(keyedBy: ExtraKeys.self)
        try c.encodeIfPresent(audioStream, forKey: .audioStream)
        if batched { try c.encode(true, forKey: .batched) }
        if computeType != .float32 { try c.encode(computeType.rawValue, forKey: .computeType) }
        guard let vad else { return }
        try c.encode(true, forKey: .vadFilter)
        try c.encode(vad, forKey: .vadParameters)
    }
}

/// A loaded Whisper model transcribing batches of items.
final class TranscribeStage: ModelStage<TranscriptionOptions, WhisperTranscriber>, PipelineStage {
    let task: any StageTask = TranscribeTask()
    let subtitles: SubtitleOptions
    /// vad_filter: the VAD model and its options.
    let vad: (model: InstalledModel, options: VADOptions)?
    /// `audio_stream`: a container's n-th audio stream; nil the first.
    let audioStream: Int?
    /// `batched`: the speech chunks of one recording decoded side by side (needs `vad`).
    let batched: Bool
    /// `compute_type`: the weights converted at load.
    let computeType: WhisperComputeType
    private var detector: SileroVAD?

    init(spec: StageSpec, model: InstalledModel, options: TranscriptionOptions, subtitles: SubtitleOptions = SubtitleOptions(),
         vad: (InstalledModel, VADOptions)? = nil, audioStream: Int? = nil, batched: Bool = false,
         computeType: WhisperComputeType = .float32) {
        self.subtitles = subtitles; self.vad = vad; self.audioStream = audioStream; self.batched = batched
        self.computeType = computeType
        var files = model.files
        if let vad { for (k, v) in vad.0.files { files["vad/\(k)"] = v } }
        let recorded = TranscribeOptions(options: options, subtitles: subtitles, vad: vad?.1, audioStream: audioStream, batched: batched,
                                         computeType: computeType)
        super.init(spec: spec, model: model, options: options,
                   provenance: StageProvenance(task: "transcribe", model: model, files: files, options: recorded))
    }

    /// Files per batch: as many as keep a decoding step within the rows that read float16 weights
    /// (`Linear.halfPrecisionRowLimit`, 8): each file decodes `beam_size` rows, so greedy batches
    /// 4 files and beam 5 decodes one file at a time. Measured on 2 cores (README, "Batching"):
    /// greedy batches of 4 beat one at a time by 1.3–1.6×; beam-5 batches of 2–8 cross into float32
    /// GEMMs and were slower than one at a time.
    /// Batched long-form counts parts, not files: as many as fill those rows (8 greedy parts, as
    /// faster-whisper's `batch_size` default).
    /// With int8 weights (`compute_type`) the decoder's q8_0 products stay on the integer kernels
    /// at any row count, so beam search batches files too (4 × 5 beams = 20 rows).
    var preferredBatchSize: Int {
        if computeType.weights != .float32 { return batched ? 8 : 4 }
        return max(1, min(batched ? 8 : 4, Linear.halfPrecisionRowLimit / max(1, options.beamSize)))
    }

    /// English-only models ignore `language`; validation says so.
    var languageWarning: String? {
        guard model.entry?.languages == .englishOnly, let language = options.language, language != "en" else { return nil }
        return "\(model.name) is English-only; language '\(language)' is ignored"
    }

    func load() throws {
        let computeType = self.computeType
        try loadModel { try ModelRegistry.transcriber($0, computeType: computeType) }
        if let vad, detector == nil { detector = try ModelRegistry.voiceActivityDetector(vad.model) }
    }

    func process(_ inputs: [StageInput], batchSize: Int, stop: RunStop, finish: (Int, Result<StageOutput, Error>) -> Void) {
        guard let transcriber = loaded(loadedModel, inputs, finish) else { return }
        let melBins = transcriber.model.dimensions.melBins
        var entered = [Date](repeating: Date(), count: inputs.count)
        var loadSeconds = [Double](repeating: 0, count: inputs.count)
        var speech = [SpeechOnlyAudio?](repeating: nil, count: inputs.count)
        var vadSeconds = [Double](repeating: 0, count: inputs.count)
        let (detector, vadOptions, audioStream, batched) = (self.detector, vad?.options ?? VADOptions(), self.audioStream, self.batched)
        withoutActuallyEscaping(finish) { finish in
            _ = transcriber.transcribe(count: inputs.count, input: { i in
                entered[i] = Date()
                defer { loadSeconds[i] = Date().timeIntervalSince(entered[i]) }
                let path = inputs[i].item.path
                guard let detector else {
                    return TranscriptionInput(mel: try LogMelSpectrogram.load(path: path, nMels: melBins, audioStream: audioStream))
                }
                // vad_filter (faster-whisper): only the speech chunks, concatenated, are transcribed
                let samples = try AudioDecoder.decodeMono16k(path: path, audioStream: audioStream)
                let vadStart = Date()
                let kept = detector.speechOnly(samples, options: vadOptions)
                vadSeconds[i] = Date().timeIntervalSince(vadStart)
                speech[i] = kept
                let mel = LogMelSpectrogram(samples: kept.samples, nMels: melBins)
                return TranscriptionInput(mel: mel, parts: batched ? kept.lanes(count: batchSize, minSeconds: 30) : [])
            }, options: options, batchSize: batchSize, shouldStop: { stop.isRequested },
               checkpoints: batched ? nil : WindowJournals(inputs: inputs, provenance: provenance)) { i, result in
                finish(i, result.flatMap { heard in
                    Result {
                        // times mapped back to the original recording (restore_speech_timestamps)
                        let transcript = speech[i].map { heard.restoringSpeechTimestamps($0) } ?? heard
                        var fields = try JSONValue(encoding: transcript).objectValue ?? [:]
                        fields["windows"] = nil   // every window's ids: the segments' tokens already hold them
                        fields["text"] = .string(transcript.text)
                        if let kept = speech[i] { fields["duration_after_vad"] = .double(kept.durationAfterVAD) }
                        return StageOutput(result: .object(fields), mediaSeconds: transcript.duration,
                                           timings: ["audio": loadSeconds[i] - vadSeconds[i], "vad": vadSeconds[i],
                                                     "encoder": heard.encoderSeconds, "decoder": heard.decoderSeconds,
                                                     "wall": Date().timeIntervalSince(entered[i])])
                    }
                })
            }
        }
    }
}
