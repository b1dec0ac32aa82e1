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
        abstract: "Transcribe audio files (WAV, FLAC, OGG/Vorbis, Opus, MP3) with Whisper, offline.")

    @Argument(help: "Audio files or directories (walked recursively for audio files).")
    var inputs: [String]

    @Option(help: "Catalog model name or a model directory (CTranslate2 or Hugging Face).")
    var model = ModelCatalog.defaultWhisper

    @Option(name: .customLong("output-dir"), help: "Write one file per input and format here (default: print text).")
    var outputDir: String?

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

    @Option(help: "CPU threads for matrix products.")
    var threads = ProcessInfo.processInfo.activeProcessorCount

    @Option(name: .customLong("batch-size"), help: "Files whose windows are encoded and decoded together.")
    var batchSize = 4

    func run() throws {
        BLAS.setThreads(threads)
        let formats = try format.split(separator: ",").map { name -> TranscriptFormat in
            guard let f = TranscriptFormat(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("unknown format '\(name)' (\(TranscriptFormat.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            return f
        }
        guard let task = WhisperTask(rawValue: task) else { throw ValidationError("--task must be transcribe or translate") }
        var options = TranscriptionOptions()
        options.beamSize = beamSize
        options.bestOf = bestOf
        options.temperatures = try temperature.split(separator: ",").map {
            guard let t = Float($0.trimmingCharacters(in: .whitespaces)), t >= 0 else { throw ValidationError("bad temperature '\($0)'") }
            return t
        }
        options.language = language
        options.task = task
        options.conditionOnPreviousText = !noConditionOnPreviousText
        options.withoutTimestamps = withoutTimestamps
        options.initialPrompt = initialPrompt
        options.wordTimestamps = wordTimestamps
        options.repetitionPenalty = repetitionPenalty
        options.noRepeatNgramSize = noRepeatNgramSize
        options.prefix = prefix
        options.hotwords = hotwords
        if let clipTimestamps {
            let parts = clipTimestamps.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard !parts.contains(nil) else { throw ValidationError("--clip-timestamps: seconds separated by commas, e.g. 0,30.5,60") }
            options.clipTimestamps = parts.map { $0! }
            if vad { throw ValidationError("--clip-timestamps cannot be used with --vad (faster-whisper ignores vad_filter then)") }
        }
        options.hallucinationSilenceThreshold = hallucinationSilenceThreshold
        options.languageDetectionThreshold = languageDetectionThreshold
        options.languageDetectionSegments = languageDetectionSegments
        options.multilingual = multilingual
        if let problem = options.problem() {
            throw ValidationError("--" + problem.replacingOccurrences(of: "_", with: "-").replacingOccurrences(of: "-timestamps: true", with: "-timestamps"))
        }
        options.prependPunctuations = prependPunctuations
        options.appendPunctuations = appendPunctuations
        var subtitles = SubtitleOptions()
        subtitles.maxLineWidth = maxLineWidth
        subtitles.maxLineCount = maxLineCount
        subtitles.maxWordsPerLine = maxWordsPerLine
        subtitles.highlightWords = highlightWords
        if let problem = subtitles.problem(wordTimestamps: wordTimestamps, spell: { "--" + $0.replacingOccurrences(of: "_", with: "-") }) {
            throw ValidationError(problem)
        }

        var vadOptions = VADOptions()
        if let vadThreshold { vadOptions.threshold = vadThreshold }
        if let vadNegThreshold { vadOptions.negThreshold = vadNegThreshold }
        if let vadMinSpeechMs { vadOptions.minSpeechDurationMs = vadMinSpeechMs }
        if let vadMaxSpeechS { vadOptions.maxSpeechDurationS = vadMaxSpeechS }
        if let vadMinSilenceMs { vadOptions.minSilenceDurationMs = vadMinSilenceMs }
        if let vadSpeechPadMs { vadOptions.speechPadMs = vadSpeechPadMs }
        let vadSet = [vadThreshold.map { _ in 1 }, vadNegThreshold.map { _ in 1 }, vadMinSpeechMs, vadMaxSpeechS.map { _ in 1 },
                      vadMinSilenceMs, vadSpeechPadMs].contains { $0 != nil }
        if vadSet && !vad { throw ValidationError("--vad-* options take effect only with --vad") }
        do { try vadOptions.validate() } catch { throw ValidationError("\(error)") }
        let detector = vad ? try ModelRegistry.voiceActivityDetector(try ModelStore().resolve(ModelCatalog.defaultVAD)) : nil
        var speech = [SpeechOnlyAudio?]()

        let installed = try ModelStore().resolve(model)
        let transcriber = try WhisperTranscriber.load(directory: installed.directory)
        if !transcriber.tokenizer.isMultilingual, let language, language != "en" {
            FileHandle.standardError.write(Data("warning: \(installed.name) is English-only; --language \(language) ignored\n".utf8))
        }
        let provenance = Provenance(model: installed.name, modelFormat: transcriber.format.rawValue, files: installed.files,
                                    options: options)
        let files = try AudioFiles.expand(inputs)
        let outputNames = AudioFiles.outputNames(files)
        if let outputDir { try FileManager.default.createDirectory(atPath: outputDir, withIntermediateDirectories: true) }
        var failures = 0
        speech = [SpeechOnlyAudio?](repeating: nil, count: files.count)
        _ = transcriber.transcribe(count: files.count, load: { i in
            guard let detector else { return try LogMelSpectrogram.load(path: files[i], nMels: transcriber.model.dimensions.melBins) }
            let kept = detector.speechOnly(try AudioDecoder.decodeMono16k(path: files[i]), options: vadOptions)
            speech[i] = kept
            return LogMelSpectrogram(samples: kept.samples, nMels: transcriber.model.dimensions.melBins)
        }, options: options, batchSize: batchSize) { i, heard in
            let result = heard.map { t in speech[i].map { t.restoringSpeechTimestamps($0) } ?? t }
            switch result {
            case .failure(let error):
                failures += 1
                FileHandle.standardError.write(Data("error: \(files[i]): \(error)\n".utf8))
            case .success(let transcript):
                let document = TranscriptDocument(path: files[i], transcript: transcript, provenance: provenance)
                do {
                    if let outputDir {
                        for f in formats {
                            let url = URL(fileURLWithPath: outputDir).appendingPathComponent("\(outputNames[i]).\(f.rawValue)")
                            try document.render(f, subtitles: subtitles).write(to: url, atomically: true, encoding: .utf8)
                        }
                        FileHandle.standardError.write(Data("done: \(files[i]) (\(String(format: "%.1f", transcript.duration)) s)\n".utf8))
                    } else {
                        print("== \(files[i])")
                        print(try document.render(formats.first ?? .txt, subtitles: subtitles), terminator: "")
                    }
                } catch {
                    failures += 1
                    FileHandle.standardError.write(Data("error: \(files[i]): cannot write output: \(error)\n".utf8))
                }
            }
        }
        if failures > 0 {
            FileHandle.standardError.write(Data("\(failures) of \(files.count) files failed\n".utf8))
            throw ExitCode(1)
        }
    }
}
