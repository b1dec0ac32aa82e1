import ArgumentParser
import Foundation
import Media
import Models
import ModelStore
import Pipelines
import Tensors

struct TranscribeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transcribe",
        abstract: "Transcribe audio and video files with Whisper, offline: WAV, FLAC, OGG/Vorbis, Opus, MP3, "
            + "M4A/AAC, WMA, AMR, AC-3, and the soundtrack of MP4, MOV, MKV, WebM, AVI.")

    @Argument(help: "Audio or video files, or directories (walked recursively for them).")
    var inputs: [String]

    @Option(help: "Catalog model name or a model directory (CTranslate2 or Hugging Face).")
    var model = ModelCatalog.defaultWhisper

    @Option(help: "Comma-separated output formats: txt, srt, vtt, json, tsv, lrc, csv.")
    var format = "txt"

    @Option(name: .customLong("beam-size"), help: "Beam size; 1 = greedy.")
    var beamSize = 5

    @Option(name: .customLong("best-of"), help: "Samples drawn per temperature-fallback step.")
    var bestOf = 5

    @Option(help: "Comma-separated fallback temperatures (a single 0 disables fallback).")
    var temperature = "0,0.2,0.4,0.6,0.8,1.0"

    @Option(help: "Spoken language code (e.g. en, de); detected when omitted on multilingual models.")
    var language: String?

    @Option(help: "transcribe, or translate (to English; multilingual models).")
    var task = "transcribe"

    @Flag(name: .customLong("no-condition-on-previous-text"), help: "Do not prompt each window with the previous text.")
    var noConditionOnPreviousText = false

    @Flag(name: .customLong("without-timestamps"), help: "Decode without timestamp tokens.")
    var withoutTimestamps = false

    @Option(name: .customLong("initial-prompt"), help: "Text that primes the first window.")
    var initialPrompt: String?

    @Flag(name: .customLong("word-timestamps"), help: "Word-level timestamps (json words, subtitle line options).")
    var wordTimestamps = false

    @Option(name: .customLong("prepend-punctuations"), help: "With --word-timestamps: marks merged into the next word.")
    var prependPunctuations = TranscriptionOptions().prependPunctuations

    @Option(name: .customLong("append-punctuations"), help: "With --word-timestamps: marks merged into the previous word.")
    var appendPunctuations = TranscriptionOptions().appendPunctuations

    @Option(name: .customLong("max-line-width"), help: "Subtitles: characters per line (needs --word-timestamps).")
    var maxLineWidth: Int?

    @Option(name: .customLong("max-line-count"), help: "Subtitles: lines per cue (needs --max-line-width).")
    var maxLineCount: Int?

    @Option(name: .customLong("max-words-per-line"), help: "Subtitles: words per line (needs --word-timestamps).")
    var maxWordsPerLine: Int?

    @Flag(name: .customLong("highlight-words"), help: "Subtitles: underline each word as it is spoken (needs --word-timestamps).")
    var highlightWords = false

    @Option(name: .customLong("repetition-penalty"), help: "Penalty on tokens already generated in a window (default 1: off).")
    var repetitionPenalty: Float = 1

    @Option(name: .customLong("no-repeat-ngram-size"), help: "n-grams of this size never repeat within a window (default 0: off).")
    var noRepeatNgramSize = 0

    @Option(name: .customLong("prefix"), help: "Text forced at the start of the first window.")
    var prefix: String?

    @Option(name: .customLong("hotwords"), help: "Hint phrases for every window (not where --prefix applies).")
    var hotwords: String?

    @Option(name: .customLong("clip-timestamps"), help: "Regions to transcribe: start,end,… in seconds (an odd last start runs to the end).")
    var clipTimestamps: String?

    @Option(name: .customLong("hallucination-silence-threshold"), help: "With --word-timestamps: skip silences longer than this (s) before likely hallucinations.")
    var hallucinationSilenceThreshold: Float?

    @Option(name: .customLong("language-detection-threshold"), help: "A window's top language above this probability decides (default 0.5).")
    var languageDetectionThreshold: Float = 0.5

    @Option(name: .customLong("language-detection-segments"), help: "30 s windows language detection may look at (default 1).")
    var languageDetectionSegments = 1

    @Flag(name: .customLong("multilingual"), help: "Detect the language of every window (multilingual models).")
    var multilingual = false

    @Flag(name: .customLong("vad"), help: "Transcribe only the speech Silero VAD finds (faster-whisper's vad_filter; model silero-vad).")
    var vad = false

    @Flag(name: .customLong("batched"), help: "Decode a recording's speech chunks (≤ 30 s) side by side, as faster-whisper's BatchedInferencePipeline (implies --vad).")
    var batched = false

    @Option(name: .customLong("compute-type"), help: "Weights and kernels, as CTranslate2 names them: float32 (default), int8 (every linear layer in int8 blocks), int8_float32 (the same on CPU), auto (int8 decoder, float32 encoder where AVX2 is available).")
    var computeType: String?

    @Option(name: .customLong("vad-threshold"), help: "VAD: speech probability threshold (default 0.5).")
    var vadThreshold: Float?

    @Option(name: .customLong("vad-neg-threshold"), help: "VAD: silence below this (default threshold − 0.15, at least 0.01).")
    var vadNegThreshold: Float?

    @Option(name: .customLong("vad-min-speech-ms"), help: "VAD: drop speech chunks shorter than this (default 0).")
    var vadMinSpeechMs: Int?

    @Option(name: .customLong("vad-max-speech-s"), help: "VAD: split speech chunks longer than this (default: no limit).")
    var vadMaxSpeechS: Double?

    @Option(name: .customLong("vad-min-silence-ms"), help: "VAD: silence that ends a speech chunk (default 2000).")
    var vadMinSilenceMs: Int?

    @Option(name: .customLong("vad-speech-pad-ms"), help: "VAD: padding each side of a speech chunk (default 400).")
    var vadSpeechPadMs: Int?

    @Option(name: .customLong("audio-stream"), help: "Which audio stream of a container to transcribe, from 0 (default: the first).")
    var audioStream: Int?

    @OptionGroup var output: OutputFlags

    @Option(name: .customLong("batch-size"), help: "Files per model batch (default: 4 greedy, 1 with beam 5; with --batched, speech parts: 8 greedy).")
    var batchSize: Int?

    func run() throws {
        let formats = try format.split(separator: ",").map { name -> SidecarFormat in
            guard let f = SidecarFormat(rawValue: name.trimmingCharacters(in: .whitespaces).lowercased()) else {
                throw ValidationError("--format: unknown format '\(name)' (txt, srt, vtt, json, tsv, lrc, csv)")
            }
            return f
        }
        guard !formats.isEmpty else { throw ValidationError("--format: give at least one format") }
        let temperatures = try temperature.split(separator: ",").map { value -> Double in
            guard let t = Double(value.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("--temperature: '\(value)' is not a number")
            }
            return t
        }
        // The stage's options, with the pipeline file's names (TranscribeOptions checks them).
        var options: [String: Any] = [
            "beam_size": beamSize, "best_of": bestOf, "temperature": temperatures, "task": task,
            "condition_on_previous_text": !noConditionOnPreviousText, "without_timestamps": withoutTimestamps,
            "word_timestamps": wordTimestamps, "prepend_punctuations": prependPunctuations,
            "append_punctuations": appendPunctuations, "highlight_words": highlightWords,
            "repetition_penalty": repetitionPenalty, "no_repeat_ngram_size": noRepeatNgramSize,
            "language_detection_threshold": languageDetectionThreshold,
            "language_detection_segments": languageDetectionSegments, "multilingual": multilingual,
        ]
        let optional: [String: Any?] = [
            "language": language, "initial_prompt": initialPrompt, "max_line_width": maxLineWidth,
            "max_line_count": maxLineCount, "max_words_per_line": maxWordsPerLine, "prefix": prefix,
            "hotwords": hotwords, "clip_timestamps": clipTimestamps,
            "hallucination_silence_threshold": hallucinationSilenceThreshold, "audio_stream": audioStream,
            "compute_type": computeType,
        ]
        for case let (key, value?) in optional { options[key] = value }
        let vadParameters: [String: Any?] = [
            "threshold": vadThreshold, "neg_threshold": vadNegThreshold, "min_speech_duration_ms": vadMinSpeechMs,
            "max_speech_duration_s": vadMaxSpeechS, "min_silence_duration_ms": vadMinSilenceMs, "speech_pad_ms": vadSpeechPadMs,
        ]
        var parameters: [String: Any] = [:]
        for case let (key, value?) in vadParameters { parameters[key] = value }
        if !parameters.isEmpty && !vad && !batched { throw ValidationError("--vad-* options take effect only with --vad or --batched") }
        if batched { options["batched"] = true }
        if vad {
            options["vad_filter"] = true
            if !parameters.isEmpty { options["vad_parameters"] = parameters }
        }

        let job = CommandLinePipeline(
            command: "transcribe", stages: [.init(task: "transcribe", model: model, options: options)], inputs: inputs,
            sidecars: formats.map(\.rawValue), outputDir: output.outputDir, batchSize: batchSize, threads: output.threads,
            flags: ["vad_filter": "--vad", "vad_parameters.threshold": "--vad-threshold",
                    "vad_parameters.neg_threshold": "--vad-neg-threshold", "vad_parameters.min_speech_duration_ms": "--vad-min-speech-ms",
                    "vad_parameters.max_speech_duration_s": "--vad-max-speech-s",
                    "vad_parameters.min_silence_duration_ms": "--vad-min-silence-ms", "vad_parameters.speech_pad_ms": "--vad-speech-pad-ms",
                    "condition_on_previous_text": "--no-condition-on-previous-text", "audio_stream": "--audio-stream", "batched": "--batched",
                    "compute_type": "--compute-type"])
        let outcome = try job.run()
        try outcome.print(output, noun: "files") { given, record in "== \(given)\n" + (try outcome.render(record, format: formats[0]) ?? "") }
    }
}
