// A GGUF language model ready to answer: weights, tokenizer, chat template and batched generation.

import Decoding
import Foundation
import Tensors
import Tokenizers
import TransformerCore
import Weights

public struct GenerationOptions: Codable, Sendable, Equatable {
    public var maxTokens = 256
    /// 0 = greedy (reproducible); > 0 samples with `topK`, `topP` and `seed`.
    public var temperature: Float = 0
    public var topK = 0
    public var topP: Float = 1
    public var seed: UInt64 = 0
    public var stop: [String] = []
    public init() {}
}

public struct Generation: Sendable {
    public var text: String
    public var tokens: [Int]
    public var promptTokens: Int
    public enum Finish: String, Codable, Sendable { case end, stop, length }
    public var finish: Finish
    /// Wall time of the batched prompt pass and of the generation steps (shared by a batch).
    public var promptSeconds: Double
    public var generationSeconds: Double
}

public final class LanguageModel {
    /// The catalog's default text model (ModelCatalog.defaultTextModel).
    public static let defaultModelName = "smollm2-135m-instruct"
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

    /// Generates a continuation for each prompt, all prompts decoded together.
    public func generate(prompts: [[Int]], options: GenerationOptions) -> [Generation] {
        guard !prompts.isEmpty else { return [] }
        let search = options.searchOptions
        let width = Search.slotsPerRequest(search)
        let longest = prompts.map(\.count).max()! + options.maxTokens + 1
        let cache = model.makeCache(slots: prompts.count * width, maxLength: longest)
        // Prefill every prompt but its last token into its slot (one batched forward).
        var tokens: [Int] = [], slots: [Int] = [], positions: [Int] = []
        for (i, p) in prompts.enumerated() where p.count > 1 {
            for (position, t) in p.dropLast().enumerated() { tokens.append(t); slots.append(i * width); positions.append(position) }
        }
        let start = Date()
        if !tokens.isEmpty { _ = model.forward(tokens: tokens, slots: slots, positions: positions, cache: cache, logitRows: []) }
        let promptSeconds = Date().timeIntervalSince(start)
        return decodeContinuations(prompts: prompts, model: model, cache: cache, tokenizer: tokenizer, endTokens: endTokens,
                                   options: options, search: search, promptSeconds: promptSeconds, startToken: bos ?? 0)
    }

    /// Answers one chat.
    public func answer(_ messages: [ChatMessage], options: GenerationOptions) throws -> Generation {
        generate(prompts: [try chatTokens(messages)], options: options)[0]
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

/// Decodes every prompt's continuation together, once all but each prompt's last token are in
/// `cache` at slot `index × slotsPerRequest` (text LM and VLM share this). Stop strings cut the text.
func decodeContinuations(prompts: [[Int]], model: LlamaModel, cache: KVCache, tokenizer: BPETokenizer, endTokens: Set<Int>,
                         options: GenerationOptions, search: SearchOptions, promptSeconds: Double, startToken: Int) -> [Generation] {
    let stops = options.stop
    let requests = prompts.enumerated().map { i, p -> SearchRequest in
        var r = SearchRequest(startToken: p.last ?? startToken, endToken: endTokens.min() ?? -1, startPosition: max(0, p.count - 1),
                              maxSteps: min(options.maxTokens, cache.maxLength - p.count), processors: [], context: i)
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
    let results = Search.run(requests, options: search, model: LlamaStepModel(model: model, cache: cache))
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
                          promptSeconds: promptSeconds, generationSeconds: generationSeconds)
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
