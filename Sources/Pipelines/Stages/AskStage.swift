import Foundation
import Models
import ModelStore

/// `task: ask` — a GGUF language model answers the stage's rendered `prompt` for each item
/// (typically built from earlier stages' results and manifest fields); items are decoded in batches.
public struct AskTask: StageTask {
    public let name = "ask"
    public let media: Set<MediaKind> = []
    public let fields = ["answer", "prompt"]
    public let takesPrompt = true
    public let defaultModel: String? = LanguageModel.defaultModelName
    public let sidecarFormats: Set<SidecarFormat> = [.txt]

    public init() {}

    public func decodeOptions(from decoder: Decoder) throws -> any StageOptions { try AskOptions(from: decoder) }

    public func prepare(_ spec: StageSpec, store: ModelStore) throws -> any PipelineStage {
        if let vision = try ResolvedVisionModel.resolve(spec.model, store: store) {   // the VLM looks at image items itself
            guard spec.prompt != nil else { throw PipelineError("an ask stage needs a `prompt` template") }
            return VisionLanguageStage(spec: spec, task: self, mode: .ask, model: vision,
                                       options: VisionLanguageOptions(ask: (spec.options as? AskOptions) ?? AskOptions()))
        }
        let model = try store.resolve(spec.model ?? LanguageModel.defaultModelName)
        guard model.kind == .textGeneration else {
            throw PipelineError("model '\(model.name)' is not a GGUF language model; ask needs one (e.g. \(LanguageModel.defaultModelName))")
        }
        guard spec.prompt != nil else { throw PipelineError("an ask stage needs a `prompt` template") }
        return AskStage(spec: spec, model: model, options: (spec.options as? AskOptions) ?? AskOptions())
    }

    public func renderSidecar(_ result: JSONValue, format: SidecarFormat, item: ResultRecord, provenance: StageProvenance) throws -> String? {
        guard format == .txt, case .object(let fields) = result, case .string(let answer)? = fields["answer"] else { return nil }
        return answer + "\n"
    }
}

/// `options` of an ask stage: the sampling options every generating stage takes, and a system message.
struct AskOptions: StageOptions, Codable {
    var generation = GenerationOptions()
    var system: String? = nil

    struct Key: OptionKey { static let names = GenerationOptions.keyNames + ["system"]; let name: String }

    init() {}

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        generation = try GenerationOptions(from: c)
        system = try c.decodeIfPresent(String.self, forKey: Key("system"))
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try generation.encode(into: &c)
        try c.encodeIfPresent(system, forKey: Key("system"))
    }
}

/// A loaded language model answering batches of items.
final class AskStage: ModelStage<AskOptions, LanguageModel>, PipelineStage {
    let task: any StageTask = AskTask()

    init(spec: StageSpec, model: InstalledModel, options: AskOptions) {
        super.init(spec: spec, model: model, options: options,
                   provenance: StageProvenance(task: "ask", model: model, options: options, prompt: spec.prompt))
    }

    func load() throws { try loadModel(ModelRegistry.languageModel) }

    func process(_ inputs: [StageInput], batchSize: Int, stop: RunStop, finish: (Int, Result<StageOutput, Error>) -> Void) {
        guard let lm = loaded(loadedModel, inputs, finish) else { return }
        var prompts: [(index: Int, text: String, tokens: [Int])] = []
        for (i, input) in inputs.enumerated() {
            guard let text = input.prompt else { finish(i, .failure(PipelineError("no prompt rendered"))); continue }
            var messages: [ChatMessage] = []
            if let system = options.system { messages.append(ChatMessage(role: "system", content: system)) }
            messages.append(ChatMessage(role: "user", content: text))
            do { prompts.append((i, text, try lm.chatTokens(messages))) } catch { finish(i, .failure(error)) }
        }
        var start = 0
        while start < prompts.count, !stop.isRequested {
            let group = Array(prompts[start..<min(prompts.count, start + max(1, batchSize))])
            start += group.count
            let began = Date()
            let generations: [Generation]
            do { generations = try lm.generate(prompts: group.map(\.tokens), options: options.generation) } catch {
                for p in group { finish(p.index, .failure(error)) }
                continue
            }
            let wall = Date().timeIntervalSince(began)
            for (p, g) in zip(group, generations) {
                let result: JSONValue = .object([
                    "answer": .string(g.text.trimmingCharacters(in: .whitespacesAndNewlines)), "prompt": .string(p.text),
                    "finish": .string(g.finish.rawValue), "prompt_tokens": .int(Int64(g.promptTokens)),
                    "generated_tokens": .int(Int64(g.tokens.count)),
                ])
                finish(p.index, .success(StageOutput(result: result, timings: ["wall": wall, "prompt": g.promptSeconds,
                                                                               "generation": g.generationSeconds])))
            }
        }
    }
}
