import Decoding
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
        let options = (spec.options as? AskOptions) ?? AskOptions()
        if let vision = try ResolvedVisionModel.resolve(spec.model, store: store) {   // the VLM looks at image items itself
            if options.schemaSource != nil || options.longPrompt != .fail || options.contextLength != nil {
                throw PipelineError("`schema`, `long_prompt` and `context_length` work with GGUF text models only, not with a vision-language model")
            }
            guard spec.prompt != nil else { throw PipelineError("an ask stage needs a `prompt` template") }
            return VisionLanguageStage(spec: spec, task: self, mode: .ask, model: vision,
                                       options: VisionLanguageOptions(ask: (spec.options as? AskOptions) ?? AskOptions()))
        }
        let model = try store.resolve(spec.model ?? LanguageModel.defaultModelName)
        guard model.kind == .textGeneration else {
            throw PipelineError("model '\(model.name)' is not a GGUF language model; ask needs one (e.g. \(LanguageModel.defaultModelName))")
        }
        guard spec.prompt != nil else { throw PipelineError("an ask stage needs a `prompt` template") }
        return AskStage(spec: spec, model: model, options: options)
    }

    public func renderSidecar(_ result: JSONValue, format: SidecarFormat, item: ResultRecord, provenance: StageProvenance) throws -> String? {
        guard format == .txt, case .object(let fields) = result, case .string(let answer)? = fields["answer"] else { return nil }
        return answer + "\n"
    }
}

/// `options` of an ask stage: the sampling options every generating stage takes, a system message,
/// a JSON Schema the answer must follow, and what to do with prompts longer than the context.
struct AskOptions: StageOptions, Codable, ResolvableOptions {
    var generation = GenerationOptions()
    var system: String? = nil
    /// `schema:` as written; `schema` once `resolve` has read and compiled it.
    var schemaSource: SchemaSource? = nil
    var schema: JSONSchema? = nil
    var schemaDocument: JSONNode? = nil
    var longPrompt = LongPrompt.fail
    /// Tokens of context to use (default: the model's `context_length`), like llama.cpp's -c.
    var contextLength: Int? = nil

    /// `long_prompt`: a prompt that does not fit the context with `max_tokens` after it.
    enum LongPrompt: String, Codable, CaseIterable, Sendable {
        /// The item fails with the token counts.
        case fail
        /// The middle of the material (the prompt's longest inserted value) is cut, and a marker says so.
        case truncateMiddle = "truncate_middle"
        /// The material is split into parts that fit; each is asked about, then one last ask combines the answers.
        case chunk
    }

    struct Key: OptionKey {
        static let names = GenerationOptions.keyNames + ["system", "schema", "long_prompt", "context_length"]
        let name: String
    }

    init() {}

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        generation = try GenerationOptions(from: c)
        system = try c.decodeIfPresent(String.self, forKey: Key("system"))
        if c.contains(Key("schema")) { schemaSource = try SchemaSource.decode(from: c.superDecoder(forKey: Key("schema"))) }
        if let text = try c.decodeIfPresent(String.self, forKey: Key("long_prompt")) {
            guard let mode = LongPrompt(rawValue: text) else {
                throw DecodingError.dataCorruptedError(forKey: Key("long_prompt"), in: c, debugDescription:
                    "unknown value '\(text)' (\(LongPrompt.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            longPrompt = mode
        }
        contextLength = try c.decodeIfPresent(Int.self, forKey: Key("context_length"))
        if let contextLength, contextLength < 16 {
            throw DecodingError.dataCorruptedError(forKey: Key("context_length"), in: c, debugDescription: "must be at least 16")
        }
        if schemaSource != nil && !generation.stop.isEmpty {
            throw DecodingError.dataCorruptedError(forKey: Key("stop"), in: c, debugDescription:
                "stop strings cannot be combined with schema (a stop string would cut the JSON document; generation ends when it is complete)")
        }
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try generation.encode(into: &c)
        try c.encodeIfPresent(system, forKey: Key("system"))
        if let schemaDocument { try c.encode(JSONValue(schemaDocument), forKey: Key("schema")) }
        else if case .file(let path, _, _)? = schemaSource { try c.encode(path, forKey: Key("schema")) }
        if longPrompt != .fail { try c.encode(longPrompt, forKey: Key("long_prompt")) }
        try c.encodeIfPresent(contextLength, forKey: Key("context_length"))
    }

    mutating func resolve(directory: URL, displayDirectory: String) -> [OptionProblem] {
        guard let schemaSource else { return [] }
        switch schemaSource.compile(directory: directory, displayDirectory: displayDirectory) {
        case .success(let (schema, document)): self.schema = schema; schemaDocument = document; return []
        case .failure(let problem): return [problem]
        }
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

    /// One prompt to generate for: the item it answers, its text and tokens, and how it was made to fit.
    struct Prompt {
        var index: Int, text: String, tokens: [Int]
        var handling = "fit"
        /// For `chunk`: the pieces with the material (longest insertion) at `material`.
        var pieces: [PromptPiece] = [], material = -1
    }

    func process(_ inputs: [StageInput], batchSize: Int, stop: RunStop, finish: (Int, Result<StageOutput, Error>) -> Void) {
        guard let lm = loaded(loadedModel, inputs, finish) else { return }
        let constraint = options.schema.map { lm.constraint(for: $0) }
        let context = min(options.contextLength ?? lm.contextLength, lm.contextLength)
        let budget = context - options.generation.maxTokens   // prompt tokens that leave room for the answer
        var ready: [Prompt] = [], chunked: [Prompt] = []
        for (i, input) in inputs.enumerated() {
            guard let text = input.prompt else { finish(i, .failure(PipelineError("no prompt rendered"))); continue }
            do {
                var prompt = Prompt(index: i, text: text, tokens: try chatTokens(lm, text))
                if prompt.tokens.count > budget {
                    let pieces = input.promptPieces ?? [PromptPiece(text: text, inserted: true)]
                    let material = Self.material(pieces)
                    switch options.longPrompt {
                    case .fail:
                        throw PipelineError("the prompt is \(prompt.tokens.count) tokens, but the context of \(context) tokens minus max_tokens "
                                            + "\(options.generation.maxTokens) leaves \(budget) (set long_prompt: truncate_middle or chunk, "
                                            + "or lower max_tokens)")
                    case .truncateMiddle: prompt = try truncateMiddle(lm, index: i, pieces: pieces, material: material, budget: budget)
                    case .chunk: prompt.pieces = pieces; prompt.material = material; chunked.append(prompt); continue
                    }
                }
                ready.append(prompt)
            } catch { finish(i, .failure(error)) }
        }
        var start = 0
        while start < ready.count, !stop.isRequested {
            let group = Array(ready[start..<min(ready.count, start + max(1, batchSize))])
            start += group.count
            let began = Date()
            let generations: [Generation]
            do { generations = try lm.generate(prompts: group.map(\.tokens), options: options.generation, constraint: constraint) } catch {
                for p in group { finish(p.index, .failure(error)) }
                continue
            }
            let wall = Date().timeIntervalSince(began)
            for (p, g) in zip(group, generations) { finish(p.index, output(p, g, wall: wall, constraint: constraint)) }
        }
        for prompt in chunked where !stop.isRequested {
            let began = Date()
            do {
                let (combined, generation, parts) = try chunk(lm, prompt, budget: budget, batchSize: batchSize, constraint: constraint)
                finish(prompt.index, output(combined, generation, wall: Date().timeIntervalSince(began), constraint: constraint, parts: parts))
            } catch { finish(prompt.index, .failure(error)) }
        }
    }

    func chatTokens(_ lm: LanguageModel, _ text: String) throws -> [Int] {
        var messages: [ChatMessage] = []
        if let system = options.system { messages.append(ChatMessage(role: "system", content: system)) }
        messages.append(ChatMessage(role: "user", content: text))
        return try lm.chatTokens(messages)
    }

    /// The record of one answer; with a schema, the answer parsed and checked (`json`).
    func output(_ p: Prompt, _ g: Generation, wall: Double, constraint: SchemaConstraint?, parts: [String]? = nil) -> Result<StageOutput, Error> {
        let answer = g.text.trimmingCharacters(in: .whitespacesAndNewlines)
        var fields: [String: JSONValue] = [
            "answer": .string(answer), "prompt": .string(p.text),
            "finish": .string(g.finish.rawValue), "prompt_tokens": .int(Int64(g.promptTokens)),
            "generated_tokens": .int(Int64(g.tokens.count)), "prompt_handling": .string(p.handling),
        ]
        if let parts { fields["parts"] = .array(parts.map(JSONValue.string)) }
        if let constraint {
            guard constraint.grammar.accepts(Array(g.text.utf8)), let document = try? JSONNode.parse(g.text) else {
                let why = g.finish == .length ? "max_tokens (\(options.generation.maxTokens)) ran out before the JSON document was complete; raise max_tokens"
                    : "the answer does not conform to the schema"
                return .failure(PipelineError("schema: \(why) (answer so far: \(answer.prefix(200)))"))
            }
            fields["json"] = JSONValue(document)
        }
        return .success(StageOutput(result: .object(fields), timings: ["wall": wall, "prompt": g.promptSeconds,
                                                                       "generation": g.generationSeconds]))
    }

    /// Index of the material in rendered pieces: the longest inserted value (else the longest piece).
    static func material(_ pieces: [PromptPiece]) -> Int {
        let candidates = pieces.indices.filter { pieces[$0].inserted }
        return (candidates.isEmpty ? Array(pieces.indices) : candidates).max { pieces[$0].text.utf8.count < pieces[$1].text.utf8.count } ?? 0
    }

    /// The prompt with the material replaced.
    static func render(_ pieces: [PromptPiece], material: Int, with text: String) -> String {
        pieces.indices.map { $0 == material ? text : pieces[$0].text }.joined()
    }

    /// Tokens of the material and how many the rest of the prompt leaves for it.
    func room(_ lm: LanguageModel, _ pieces: [PromptPiece], material: Int, budget: Int) throws -> (material: [Int], room: Int) {
        let without = try chatTokens(lm, Self.render(pieces, material: material, with: "")).count
        let room = budget - without
        guard room >= 32 else {
            throw PipelineError("the prompt without its longest inserted value is already \(without) tokens; the context leaves \(budget) "
                                + "before max_tokens \(options.generation.maxTokens), too little to fit any of the material")
        }
        return (lm.tokenizer.encode(pieces[material].text, recognizeSpecialTokens: false), room)
    }

    /// `truncate_middle`: the material's head and tail with a marker where its middle was cut.
    func truncateMiddle(_ lm: LanguageModel, index: Int, pieces: [PromptPiece], material: Int, budget: Int) throws -> Prompt {
        var (tokens, room) = try room(lm, pieces, material: material, budget: budget)
        for _ in 0..<20 {
            let keep = max(2, room - 24)   // the marker's tokens
            let head = keep / 2, tail = keep - head
            let omitted = tokens.count - keep
            let text = Self.text(lm, Array(tokens[..<head]), trimEnd: true) + "\n[… \(omitted) of \(tokens.count) tokens omitted here …]\n"
                + Self.text(lm, Array(tokens[(tokens.count - tail)...]), trimEnd: false)
            let prompt = Self.render(pieces, material: material, with: text)
            let ids = try chatTokens(lm, prompt)
            if ids.count <= budget {
                return Prompt(index: index, text: prompt, tokens: ids, handling: "truncated_middle (kept \(keep) of \(tokens.count) material tokens)")
            }
            room -= max(8, (ids.count - budget) + room / 50)
            if room < 32 { break }
        }
        throw PipelineError("could not truncate the prompt to \(budget) tokens")
    }

    /// `chunk`: the material in parts that fit, one answer per part (batched), then one ask over the
    /// answers in the material's place.
    func chunk(_ lm: LanguageModel, _ prompt: Prompt, budget: Int, batchSize: Int,
               constraint: SchemaConstraint?) throws -> (Prompt, Generation, [String]) {
        var (tokens, room) = try room(lm, prompt.pieces, material: prompt.material, budget: budget)
        var parts: [Prompt] = []
        for _ in 0..<20 {
            let count = (tokens.count + room - 1) / room
            let size = (tokens.count + count - 1) / count
            parts = try Self.split(lm, tokens, size: size).map { text in
                let rendered = Self.render(prompt.pieces, material: prompt.material, with: text)
                return Prompt(index: prompt.index, text: rendered, tokens: try chatTokens(lm, rendered))
            }
            if let worst = parts.map(\.tokens.count).max(), worst > budget { room -= max(8, worst - budget); if room < 32 { break }; continue }
            var answers: [String] = []
            for start in stride(from: 0, to: parts.count, by: max(1, batchSize)) {
                let group = parts[start..<min(parts.count, start + max(1, batchSize))]
                answers += try lm.generate(prompts: group.map(\.tokens), options: options.generation, constraint: constraint)
                    .map { $0.text.trimmingCharacters(in: .whitespacesAndNewlines) }
            }
            let combined = "Answers to the question from the \(parts.count) parts of the material, in order:\n\n"
                + answers.enumerated().map { "Part \($0 + 1): \($1)" }.joined(separator: "\n\n")
            let text = Self.render(prompt.pieces, material: prompt.material, with: combined)
            let ids = try chatTokens(lm, text)
            guard ids.count <= budget else {
                throw PipelineError("long_prompt chunk: the \(parts.count) part answers make a combining prompt of \(ids.count) tokens, "
                                    + "more than the \(budget) the context leaves; lower max_tokens")
            }
            let final = Prompt(index: prompt.index, text: text, tokens: ids, handling: "chunked (\(parts.count) parts)")
            let generation = try lm.generate(prompts: [ids], options: options.generation, constraint: constraint)[0]
            return (final, generation, answers)
        }
        throw PipelineError("could not split the prompt into parts of at most \(budget) tokens")
    }

    /// Text of a token run cut at whole UTF-8 characters: an incomplete one at the end is dropped
    /// (`trimEnd`), stray continuation bytes at the start are dropped (otherwise).
    static func text(_ lm: LanguageModel, _ tokens: [Int], trimEnd: Bool) -> String {
        var bytes = tokens.flatMap { lm.tokenizer.tokenBytes($0) }
        if trimEnd {
            let cut = characterStart(bytes, atOrBefore: bytes.count)
            if bytes.count - cut < sequenceLength(bytes, at: cut) { bytes.removeLast(bytes.count - cut) }
        } else {
            while let b = bytes.first, b & 0xC0 == 0x80 { bytes.removeFirst() }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The material split every `size` tokens, each cut moved back to the start of a character so
    /// no character is split between parts.
    static func split(_ lm: LanguageModel, _ tokens: [Int], size: Int) -> [String] {
        var bytes: [UInt8] = [], ends: [Int] = []   // byte offset after each `size` tokens
        for (i, t) in tokens.enumerated() {
            bytes += lm.tokenizer.tokenBytes(t)
            if (i + 1) % size == 0 && i + 1 < tokens.count { ends.append(bytes.count) }
        }
        var parts: [String] = [], start = 0
        for end in ends.map({ characterStart(bytes, atOrBefore: $0) }) + [bytes.count] where end > start {
            parts.append(String(decoding: bytes[start..<end], as: UTF8.self))
            start = end
        }
        return parts
    }

    /// The offset of the character boundary at or before `offset` (not inside a UTF-8 sequence).
    static func characterStart(_ bytes: [UInt8], atOrBefore offset: Int) -> Int {
        var i = offset
        while i > 0, i < bytes.count, bytes[i] & 0xC0 == 0x80 { i -= 1 }
        if i == bytes.count, i > 0 {   // at the end: back to the last lead byte
            var j = i - 1
            while j > 0, bytes[j] & 0xC0 == 0x80 { j -= 1 }
            return j
        }
        return i
    }

    static func sequenceLength(_ bytes: [UInt8], at i: Int) -> Int {
        guard i < bytes.count else { return 0 }
        let b = bytes[i]
        return b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1
    }
}
