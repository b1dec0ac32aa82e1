// A GGUF language model ready to answer: weights, tokenizer, chat template and batched generation.

import Decoding
import Foundation
import ModelStore
import Tensors
import Tokenizers
import TransformerCore
import Weights

/// The one set of sampling options: the text LM, the VLM, the ask stage and the caption-with-VLM
/// stage all take these (pipeline files spell them `max_tokens`, `temperature`, `top_k`, `top_p`,
/// `seed`, `stop`).
public struct GenerationOptions: Codable, Sendable, Equatable {
    public var maxTokens = 256
    /// 0 = greedy (reproducible); > 0 samples with `topK`, `topP` and `seed`.
    public var temperature: Float = 0
    public var topK = 0
    public var topP: Float = 1
    public var seed: UInt64 = 0
    public var stop: [String] = []
    public init() {}

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case maxTokens = "max_tokens", temperature, topK = "top_k", topP = "top_p", seed, stop
    }

    /// The keys, for stages whose options are these plus their own.
    public static let keyNames = CodingKeys.allCases.map(\.stringValue)

    /// Reads the keys present from any keyed container whose key type spells them (a stage's
    /// options container, so unknown keys are that stage's to report); checks the ranges.
    public init<K: CodingKey>(from c: KeyedDecodingContainer<K>) throws {
        func key(_ k: CodingKeys) -> K { K(stringValue: k.stringValue)! }
        maxTokens = try c.decodeIfPresent(Int.self, forKey: key(.maxTokens)) ?? maxTokens
        temperature = try c.decodeIfPresent(Float.self, forKey: key(.temperature)) ?? temperature
        topK = try c.decodeIfPresent(Int.self, forKey: key(.topK)) ?? topK
        topP = try c.decodeIfPresent(Float.self, forKey: key(.topP)) ?? topP
        seed = try c.decodeIfPresent(UInt64.self, forKey: key(.seed)) ?? seed
        if c.contains(key(.stop)) { stop = try c.decode(OneOrMany<String>.self, forKey: key(.stop)).values }
        if maxTokens < 1 { throw DecodingError.dataCorruptedError(forKey: key(.maxTokens), in: c, debugDescription: "must be at least 1") }
        if temperature < 0 { throw DecodingError.dataCorruptedError(forKey: key(.temperature), in: c, debugDescription: "must be ≥ 0") }
        if !(topP > 0 && topP <= 1) { throw DecodingError.dataCorruptedError(forKey: key(.topP), in: c, debugDescription: "must be in (0, 1]") }
    }

    public init(from decoder: Decoder) throws { try self.init(from: decoder.container(keyedBy: CodingKeys.self)) }

    /// Writes the fields into a stage's options container (provenance).
    public func encode<K: CodingKey>(into c: inout KeyedEncodingContainer<K>) throws {
        func key(_ k: CodingKeys) -> K { K(stringValue: k.stringValue)! }
        try c.encode(maxTokens, forKey: key(.maxTokens)); try c.encode(temperature, forKey: key(.temperature))
        try c.encode(topK, forKey: key(.topK)); try c.encode(topP, forKey: key(.topP))
        try c.encode(seed, forKey: key(.seed)); try c.encode(stop, forKey: key(.stop))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try encode(into: &c)
    }
}

/// A request the model cannot generate for (a prompt longer than its context).
public struct GenerationError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ message: String) { description = message }
}

/// A continuation and what it cost.
public struct Generation: Sendable {
    public var text: String
    public var tokens: [Int]
    public var promptTokens: Int
    public enum Finish: String, Codable, Sendable { case end, stop, length }
    public var finish: Finish
    /// Wall seconds (shared by a batch): the vision tower and connector over all the batch's images
    /// (0 for text), the batched prompt pass, the generation steps.
    public var visionSeconds: Double = 0
    public var promptSeconds: Double
    public var generationSeconds: Double
}

public final class LanguageModel {
    /// The catalog's default text model.
    public static let defaultModelName = ModelCatalog.defaultTextModel
    public let model: LlamaModel
    public let tokenizer: BPETokenizer
    public let template: ChatTemplate?
    public let templateError: Error?
    public let bos: Int?
    public let endTokens: Set<Int>
    public let path: String

    /// Loads `model.gguf` from a directory, or a .gguf file.
    public init(path: String) throws {
        var file = path
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            guard let gguf = names.first(where: { $0 == "model.gguf" }) ?? names.sorted().first(where: { $0.hasSuffix(".gguf") }) else {
                throw WeightError(path, "no .gguf file in this directory")
            }
            file = (path as NSString).appendingPathComponent(gguf)
        }
        self.path = file
        let gguf = try GGUFFile.read(path: file)
        model = try LlamaModel.load(gguf)
        tokenizer = try Self.tokenizer(gguf)
        if let jinja = gguf.metadata["tokenizer.chat_template"]?.string {
            do { template = try ChatTemplate(jinja: jinja); templateError = nil } catch { template = nil; templateError = error }
        } else {
            template = nil
            templateError = WeightError(file, "the model has no tokenizer.chat_template")
        }
        let addBOS = gguf.metadata["tokenizer.ggml.add_bos_token"]?.bool ?? false
        bos = addBOS ? gguf.metadata["tokenizer.ggml.bos_token_id"]?.int : nil
        var ends = Set<Int>()
        if let eos = gguf.metadata["tokenizer.ggml.eos_token_id"]?.int { ends.insert(eos) }
        if let eot = gguf.metadata["tokenizer.ggml.eot_token_id"]?.int { ends.insert(eot) }
        for t in ["<|im_end|>", "<|endoftext|>", "<|eot_id|>"] { if let id = tokenizer.id(of: t) { ends.insert(id) } }
        endTokens = ends
    }

    /// The GGUF's byte-level BPE vocabulary (`tokenizer.ggml.model == "gpt2"`) with its pre-tokenizer.
    static func tokenizer(_ gguf: GGUFFile) throws -> BPETokenizer {
        let path = gguf.path
        guard gguf.metadata["tokenizer.ggml.model"]?.string == "gpt2" else {
            throw WeightError(path, "tokenizer model '\(gguf.metadata["tokenizer.ggml.model"]?.string ?? "none")' is not supported (only gpt2-style byte-level BPE)")
        }
        guard let tokens = gguf.metadata["tokenizer.ggml.tokens"]?.stringArray,
              let merges = gguf.metadata["tokenizer.ggml.merges"]?.stringArray else {
            throw WeightError(path, "tokenizer.ggml.tokens / merges are missing")
        }
        let kinds = gguf.metadata["tokenizer.ggml.token_type"]?.intArray?.map { TokenKind(rawValue: Int32($0)) ?? .normal }
        let pre = gguf.metadata["tokenizer.ggml.pre"]?.string ?? "default"
        let preTokenizer: PreTokenizer
        switch pre {
        case "default", "gpt2", "gpt-2": preTokenizer = .gpt2
        case "llama3", "llama-bpe", "llama-v3": preTokenizer = .llama3
        case "qwen2", "deepseek-r1-qwen": preTokenizer = .qwen2
        case "smollm", "starcoder", "refact": preTokenizer = .smolLM
        default: throw WeightError(path, "pre-tokenizer '\(pre)' is not supported (gpt2, llama-bpe, qwen2, smollm)")
        }
        return try BPETokenizer(tokens: tokens, kinds: kinds, merges: merges, preTokenizer: preTokenizer)
    }

    /// Token ids of a chat: the rendered template, specials recognised.
    public func chatTokens(_ messages: [ChatMessage]) throws -> [Int] {
        guard let template else { throw templateError! }
        return (bos.map { [$0] } ?? []) + tokenizer.encode(template.render(messages), recognizeSpecialTokens: true)
    }

    /// Generates a continuation for each prompt, all prompts decoded together; with `constraint`
    /// every continuation is a JSON document its schema accepts (or is cut by max_tokens).
    public func generate(prompts: [[Int]], options: GenerationOptions, constraint: SchemaConstraint? = nil) throws -> [Generation] {
        try model.generate(prompts: prompts, options: options, tokenizer: tokenizer, endTokens: endTokens, startToken: bos ?? 0,
                           constraint: constraint)
    }

    /// Answers one chat.
    public func answer(_ messages: [ChatMessage], options: GenerationOptions, constraint: SchemaConstraint? = nil) throws -> Generation {
        try generate(prompts: [try chatTokens(messages)], options: options, constraint: constraint)[0]
    }

    /// The context window in tokens (GGUF `context_length`): prompt and answer must fit in it.
    public var contextLength: Int { model.config.contextLength }

    /// Each token id's bytes as generated text (control tokens empty: they never appear in it),
    /// built on first use.
    public private(set) lazy var vocabulary = TokenVocabulary(bytes: (0..<model.config.vocabularySize).map { id in
        tokenizer.isSpecial(id) ? [] : tokenizer.tokenBytes(id)
    })

    private var constraints: [String: SchemaConstraint] = [:]

    /// The constraint for `schema` over this model's vocabulary; its mask cache lives as long as the model.
    public func constraint(for schema: JSONSchema) -> SchemaConstraint {
        if let c = constraints[schema.source] { return c }
        let c = SchemaConstraint(grammar: JSONGrammar(schema), vocabulary: vocabulary)
        constraints[schema.source] = c
        return c
    }
}

extension GenerationOptions {
    /// Greedy at temperature 0, else sampling with top-k / top-p from `seed`.
    var searchOptions: SearchOptions {
        var search = SearchOptions()
        search.temperature = temperature; search.topK = topK; search.topP = topP; search.seed = seed
        return search
    }
}

extension LlamaModel {
    /// Writes the input embeddings (prompt.count - 1, dim) of all but a prompt's last token: a VLM's
    /// token embeddings with its image features spliced in.
    public typealias PrefillEmbeddings = (_ request: Int, _ tokens: [Int], _ into: UnsafeMutablePointer<Float>) throws -> Void

    /// The one generation path of the text LM and the VLM: every prompt but its last token prefilled
    /// into its cache slot in one batched forward (from token ids, or from `embeddings` when given),
    /// then all continuations decoded together (`Search`); stop strings cut the text.
    func generate(prompts: [[Int]], options: GenerationOptions, tokenizer: BPETokenizer, endTokens: Set<Int>, startToken: Int,
                  cachePrecision: KVCache.Precision = .float16, embeddings: PrefillEmbeddings? = nil,
                  visionSeconds: Double = 0, constraint: SchemaConstraint? = nil) throws -> [Generation] {
        guard !prompts.isEmpty else { return [] }
        let search = options.searchOptions
        let width = Search.slotsPerRequest(search)
        let longest = prompts.map(\.count).max()! + options.maxTokens + 1
        let cache = makeCache(slots: prompts.count * width, maxLength: longest, precision: cachePrecision)
        if let tooLong = prompts.first(where: { $0.count >= cache.maxLength }) {
            throw GenerationError("a prompt of \(tooLong.count) tokens does not fit the context of \(config.contextLength)")
        }
        // Prefill: rows of every prompt but its last token, slot i·width, positions 0…
        var tokens: [Int] = [], slots: [Int] = [], positions: [Int] = []
        for (i, p) in prompts.enumerated() where p.count > 1 {
            for (position, t) in p.dropLast().enumerated() { tokens.append(t); slots.append(i * width); positions.append(position) }
        }
        var x: Tensor?   // (rows, dim) input embeddings, when the caller supplies them
        if let embeddings, !tokens.isEmpty {
            let rows = Tensor(zeros: [tokens.count, config.dim])
            var row = 0
            for (i, p) in prompts.enumerated() where p.count > 1 {
                try embeddings(i, Array(p.dropLast()), rows.data + row * config.dim)
                row += p.count - 1
            }
            x = rows
        }
        let start = Date()
        if let x {
            _ = forward(embeddings: x.data, rows: tokens.count, slots: slots, positions: positions, cache: cache, logitRows: [])
        } else if !tokens.isEmpty {
            _ = forward(tokens: tokens, slots: slots, positions: positions, cache: cache, logitRows: [])
        }
        let promptSeconds = Date().timeIntervalSince(start)

        let stops = options.stop
        let requests = prompts.enumerated().map { i, p -> SearchRequest in
            let endToken = endTokens.min() ?? -1
            let processors: [LogitsProcessor] = constraint.map { [$0.processor(endToken: endToken, endTokens: endTokens)] } ?? []
            var r = SearchRequest(startToken: p.last ?? startToken, endToken: endToken, startPosition: max(0, p.count - 1),
                                  maxSteps: min(options.maxTokens, cache.maxLength - p.count), processors: processors, context: i)
            r.otherEndTokens = endTokens
            if !stops.isEmpty {
                r.shouldStop = { generated in
                    let text = tokenizer.decode(generated, skipSpecial: true)
                    return stops.contains { text.contains($0) }
                }
            }
            return r
        }
        let generationStart = Date()
        let results = Search.run(requests, options: search, model: LlamaStepModel(model: self, cache: cache))
        let generationSeconds = Date().timeIntervalSince(generationStart)
        return results.enumerated().map { i, hyps in
            let best = hyps.first ?? Hypothesis(tokens: [], score: 0, cumulativeLogProb: 0)
            var text = tokenizer.decode(best.tokens, skipSpecial: true)
            var finish: Generation.Finish = best.tokens.count >= requests[i].maxSteps ? .length : .end
            if let stop = stops.compactMap({ s in text.range(of: s) }).min(by: { $0.lowerBound < $1.lowerBound }) {
                text = String(text[..<stop.lowerBound])
                finish = .stop
            }
            return Generation(text: text, tokens: best.tokens, promptTokens: prompts[i].count, finish: finish,
                              visionSeconds: visionSeconds, promptSeconds: promptSeconds, generationSeconds: generationSeconds)
        }
    }
}

/// Search step interface over the Llama model: a row's context is its request index.
final class LlamaStepModel: StepModel {
    let model: LlamaModel, cache: KVCache
    init(model: LlamaModel, cache: KVCache) { self.model = model; self.cache = cache }
    var vocabularySize: Int { model.config.vocabularySize }
    func step(_ rows: [StepRow]) -> Tensor {
        model.forward(tokens: rows.map(\.token), slots: rows.map(\.slot), positions: rows.map(\.position), cache: cache,
                      logitRows: Array(rows.indices))
    }
    func copySlot(from: Int, to: Int, length: Int) { cache.copySlot(from: from, to: to, length: length) }
}
