import ArgumentParser
import Decoding
import Foundation
import Media
import Models
import ModelStore
import Pipelines
import Tensors

struct AskCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ask",
        abstract: "Answer a question with a local GGUF language model, optionally about a text file or an audio clip.")

    @Argument(help: "The question.")
    var question: String

    @Option(help: "Catalog model name, a model directory or a .gguf file.")
    var model = LanguageModel.defaultModelName

    @Option(name: .customLong("context-file"), help: "A text file given to the model as context.")
    var contextFile: String?

    @Option(help: "An audio file: it is transcribed first and the transcript given as context.")
    var audio: String?

    @Option(help: "An image file: objects are detected and the caption and detections given as context.")
    var image: String?

    @Option(name: .customLong("image-model"), help: "Image model for --image (a Darknet YOLO).")
    var imageModel = ModelCatalog.defaultDetector

    @Option(name: .customLong("whisper-model"), help: "Whisper model for --audio.")
    var whisperModel = ModelCatalog.defaultWhisper

    @Option(help: "Results files with embeddings (repeatable): answer from the passages most similar to the question.")
    var archive: [String] = []

    @Option(help: "With --archive: how many passages the model reads.")
    var passages = 5

    @Option(name: .customLong("embedding-model"), help: "With --archive: the query's embedding model (default: the archive's).")
    var embeddingModel: String?

    @Option(help: "System message (default: the model template's own).")
    var system: String?

    @Option(name: .customLong("max-tokens"), help: "Maximum tokens to generate.")
    var maxTokens = 256

    @Option(help: "0 = greedy (reproducible); > 0 samples.")
    var temperature: Float = 0

    @Option(name: .customLong("top-k"), help: "Sampling: keep the k most likely tokens (0 = all).")
    var topK = 0

    @Option(name: .customLong("top-p"), help: "Sampling: nucleus probability mass.")
    var topP: Float = 1

    @Option(help: "Sampling seed.")
    var seed: UInt64 = 0

    @Option(help: "Stop string (repeatable).")
    var stop: [String] = []

    @Option(help: "A JSON Schema file: the answer is constrained to a JSON document it accepts (see README, \"Structured answers\").")
    var schema: String?

    @Option(help: "CPU threads.")
    var threads = ProcessInfo.processInfo.activeProcessorCount

    @Flag(help: "Print one JSON object (answer, token counts, timings, provenance).")
    var json = false

    func run() throws {
        if schema != nil && !stop.isEmpty {
            throw ValidationError("--stop cannot be combined with --schema (a stop string would cut the JSON answer; it ends when complete)")
        }
        if !archive.isEmpty { return try runOverArchive() }
        if image != nil || audio != nil { return try runOverFile() }
        BLAS.setThreads(threads)
        let store = ModelStore()
        var context: [String] = []
        if let contextFile {
            context.append(try String(contentsOfFile: contextFile, encoding: .utf8))
        }
        let installed = try store.resolve(model)
        let lm = try LanguageModel(path: installed.directory.path)
        var messages: [ChatMessage] = []
        if let system { messages.append(ChatMessage(role: "system", content: system)) }
        let user = context.isEmpty ? question : Self.prompt(material: "Text: " + context.joined(separator: "\n\n") + "\n", question: question)
        messages.append(ChatMessage(role: "user", content: user))
        let constraint = try schema.map { lm.constraint(for: try Self.readSchema($0)) }
        let prompt = try lm.chatTokens(messages)
        let room = lm.contextLength - maxTokens
        if prompt.count > room {
            throw ValidationError("the prompt is \(prompt.count) tokens, but the context of \(lm.contextLength) tokens minus --max-tokens "
                                  + "\(maxTokens) leaves \(room); shorten the context file or lower --max-tokens")
        }
        let result = try lm.generate(prompts: [prompt], options: generation, constraint: constraint)[0]
        var parsed: Any?
        if let constraint {
            guard constraint.grammar.accepts(Array(result.text.utf8)),
                  let value = try? JSONSerialization.jsonObject(with: Data(result.text.utf8), options: [.fragmentsAllowed]) else {
                throw ValidationError("--max-tokens \(maxTokens) ran out before the JSON answer was complete: \(result.text)")
            }
            parsed = value
        }
        if json {
            var object: [String: Any] = [
                "answer": result.text, "prompt_tokens": result.promptTokens, "generated_tokens": result.tokens.count,
                "prompt_seconds": result.promptSeconds, "generation_seconds": result.generationSeconds,
                "finish": result.finish.rawValue,
                "provenance": ["hearth_version": Models.Hearth.version, "model": installed.name, "files": installed.files,
                               "options": ["max_tokens": maxTokens, "temperature": temperature, "top_k": topK, "top_p": topP,
                                           "seed": seed, "stop": stop]] as [String: Any]]
            if let parsed { object["json"] = parsed }
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(result.text.trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }

    /// What a question about material is asked with: pipelines/mixed-media-qa.yaml's wording, the
    /// template that answered eval/qa/qa.jsonl best (`make eval-qa`, README "Answer quality").
    static let instruction = "Answer in a few words, using only the material. If the material does not say, answer \"not stated\"."

    /// The material (ending in a newline), the instruction, then the question.
    static func prompt(material: String, question: String) -> String {
        material + "\n" + instruction + "\nQuestion: " + question
    }

    /// `--audio` / `--image`: a pipeline over the file (CommandLinePipeline). A vision-language
    /// model answers looking at the image (one ask stage); a text model reads the transcript or
    /// the detector's description (a transcribe or detect stage, then ask). The question and the
    /// context file reach the prompt as item fields, so nothing in them is read as a template.
    func runOverFile() throws {
        if image != nil && audio != nil { throw ValidationError("give --audio or --image, not both") }
        let file = image ?? audio!
        var fields = ["question": question, "name": (file as NSString).lastPathComponent]
        if let contextFile { fields["context"] = try String(contentsOfFile: contextFile, encoding: .utf8) }
        let context = contextFile == nil ? "" : "Text: {{item.context}}\n"
        var ask: [String: Any] = ["max_tokens": maxTokens, "temperature": temperature, "top_k": topK, "top_p": topP,
                                  "seed": seed, "stop": stop]
        if let system { ask["system"] = system }
        if let schema {
            _ = try Self.readSchema(schema)   // refused here, with its line and column, before any model loads
            ask["schema"] = URL(fileURLWithPath: schema).standardizedFileURL.path
        }
        var stages: [CommandLinePipeline.Stage] = []
        if image != nil, try ResolvedVisionModel.resolve(model, store: ModelStore()) != nil {
            stages = [.init(task: "ask", model: model, prompt: context + "{{item.question}}", options: ask)]
        } else if image != nil {
            stages = [.init(task: "detect", model: imageModel),
                      .init(task: "ask", model: model, prompt: Self.prompt(material: context + "Description of {{item.name}} from an "
                            + "object detector: {{detect.text}} Objects: {{detect.tags}}.\n", question: "{{item.question}}"), options: ask)]
        } else {
            stages = [.init(task: "transcribe", model: whisperModel),
                      .init(task: "ask", model: model, prompt: Self.prompt(material: context + "Transcript of {{item.name}}: "
                            + "{{transcribe.text}}\n", question: "{{item.question}}"), options: ask)]
        }
        let job = CommandLinePipeline(command: "ask", stages: stages, inputs: [file], fields: fields, threads: threads)
        let outcome = try job.run()
        let last = stages.count - 1
        for (given, record) in outcome.records where record.status == .ok {
            if json { print(try outcome.json(given, record, stage: last)); continue }
            let answer = record.results["ask"]?["answer"]?.stringValue ?? ""
            print(answer.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        try SignalStop.exitIfStopped(outcome.summary, resumable: outcome.resumable)
        if outcome.failures > 0 { throw ExitCode(1) }
    }
}

extension AskCommand {
    /// `--archive`: retrieval, then an answer from the retrieved passages only. The prompt numbers
    /// the passages; the answer's `[n]` citations map back to item ids and times, listed after it.
    func runOverArchive() throws {
        if image != nil || audio != nil || contextFile != nil {
            throw ValidationError("--archive answers from the archive alone; leave out --audio, --image and --context-file")
        }
        if passages < 1 { throw ValidationError("--passages must be at least 1") }
        BLAS.setThreads(threads)
        let search = try ArchiveQuery(resultsFiles: archive.map { URL(fileURLWithPath: $0) }, model: embeddingModel)
        let hits = search.search(question, topK: passages)
        guard !hits.isEmpty else { throw ValidationError("the archive holds no embedded text") }
        // Small models answer better from bare passages; the numbers map them to ids and times.
        let numbered = hits.enumerated().map { n, hit in "[\(n + 1)] \(hit.entry.text)" }
        let user = "Passages from an archive of recordings and pictures, most relevant first:\n" + numbered.joined(separator: "\n")
            + "\n\nUsing only these passages, answer this question in one sentence and cite the passage number, like [1]: "
            + question
        let installed = try ModelStore().resolve(model)
        let lm = try LanguageModel(path: installed.directory.path)
        var messages: [ChatMessage] = []
        if let system { messages.append(ChatMessage(role: "system", content: system)) }
        messages.append(ChatMessage(role: "user", content: user))
        let result = try lm.answer(messages, options: generation)
        let answer = result.text.trimmingCharacters(in: .whitespacesAndNewlines)
        let cited = Self.citations(in: answer, count: hits.count)
        if json {
            let object: [String: Any] = [
                "answer": answer, "question": question, "cited": cited,
                "passages": hits.enumerated().map { n, hit -> [String: Any] in
                    var p: [String: Any] = ["n": n + 1, "id": hit.entry.id, "source": hit.entry.source, "text": hit.entry.text,
                                            "score": Double(hit.score)]
                    if let start = hit.entry.start { p["start"] = start }
                    if let end = hit.entry.end { p["end"] = end }
                    return p
                },
                "prompt_tokens": result.promptTokens, "generated_tokens": result.tokens.count,
                "provenance": ["hearth_version": Models.Hearth.version, "model": installed.name, "files": installed.files,
                               "embedding_model": search.model.name, "embedding_files": search.model.files] as [String: Any],
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print(answer)
        print("\nSources:")
        for (n, hit) in hits.enumerated() {
            let mark = cited.contains(n + 1) ? "*" : " "
            print(String(format: "%@[%d] %.4f  ", mark, n + 1, hit.score)
                  + [hit.entry.id, hit.entry.timeRange, hit.entry.source].filter { !$0.isEmpty }.joined(separator: "  "))
            print("      " + hit.entry.text)
        }
    }

    /// Passage numbers 1…count the answer cites as `[n]`, in order of first mention.
    static func citations(in answer: String, count: Int) -> [Int] {
        let pattern = try! NSRegularExpression(pattern: #"\[(\d+)\]"#)
        var found: [Int] = []
        for m in pattern.matches(in: answer, range: NSRange(answer.startIndex..., in: answer)) {
            if let r = Range(m.range(at: 1), in: answer), let n = Int(answer[r]), (1...count).contains(n), !found.contains(n) { found.append(n) }
        }
        return found
    }

    /// `--schema FILE`, read and compiled; errors as FILE:LINE:COLUMN: message.
    static func readSchema(_ path: String) throws -> JSONSchema {
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read the schema file '\(path)'") }
        do { return try JSONSchema(try JSONNode.parse(data)) }
        catch let e as JSONTextError { throw ValidationError("\(path):\(e.line):\(e.column): not valid JSON: \(e.message)") }
        catch let e as SchemaError { throw ValidationError("\(path):\(e.line):\(e.column): schema: \(e)") }
    }

    var generation: GenerationOptions {
        var options = GenerationOptions()
        options.maxTokens = maxTokens
        options.temperature = temperature
        options.topK = topK
        options.topP = topP
        options.seed = seed
        options.stop = stop
        return options
    }
}
