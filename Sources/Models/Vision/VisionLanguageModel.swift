// A SmolVLM / Idefics3 model ready to caption and answer: weights (Hugging Face directory or
// llama.cpp GGUF + mmproj), tokenizer, image processor, chat prompt and batched generation.

import Decoding
import Foundation
import Tensors
import Tokenizers
import TransformerCore
import Weights

/// One question about some images (captioning is a question too).
public struct VisionRequest {
    public var images: [Idefics3ProcessedImage]
    public var question: String
    public init(images: [Idefics3ProcessedImage], question: String) { self.images = images; self.question = question }
}

public final class VisionLanguageModel {
    public enum Format: String, Sendable { case huggingface, gguf }
    public static let defaultCaptionPrompt = "Describe this image."

    public let model: Idefics3Model
    public let tokenizer: BPETokenizer
    public let processor: Idefics3ImageProcessor
    public let endTokens: Set<Int>
    public let format: Format
    /// The files the model was built from (for provenance and hashing).
    public let files: [String]

    init(model: Idefics3Model, tokenizer: BPETokenizer, processor: Idefics3ImageProcessor, endTokens: Set<Int>,
         format: Format, files: [String]) {
        self.model = model; self.tokenizer = tokenizer; self.processor = processor; self.endTokens = endTokens
        self.format = format; self.files = files
    }

    // MARK: Finding and loading

    /// Where a vision-language model's files are, or nil when `path` is not one.
    public enum Location: Equatable, Sendable {
        case huggingface(directory: String)
        case gguf(model: String, mmproj: String)
    }

    /// An Idefics3/SmolVLM HF directory (config.json with model_type idefics3/smolvlm), or a GGUF +
    /// `mmproj*.gguf` pair (a directory holding both, or the model .gguf with an mmproj beside it).
    public static func locate(_ path: String) -> Location? {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDirectory) else { return nil }
        let directory = isDirectory.boolValue ? path : (path as NSString).deletingLastPathComponent
        let config = (directory as NSString).appendingPathComponent("config.json")
        if isDirectory.boolValue, let data = fm.contents(atPath: config),
           let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
           let type = json["model_type"] as? String, type == "idefics3" || type == "smolvlm" {
            return .huggingface(directory: path)
        }
        let names = ((try? fm.contentsOfDirectory(atPath: directory)) ?? []).sorted()
        let ggufs = names.filter { $0.lowercased().hasSuffix(".gguf") }
        let projectors = ggufs.filter { $0.lowercased().hasPrefix("mmproj") }
        guard let mmproj = projectors.first else { return nil }
        let full = { (directory as NSString).appendingPathComponent($0) }
        if !isDirectory.boolValue {
            guard path.lowercased().hasSuffix(".gguf"), !(path as NSString).lastPathComponent.lowercased().hasPrefix("mmproj") else { return nil }
            return .gguf(model: path, mmproj: full(mmproj))
        }
        guard let text = ggufs.first(where: { !$0.lowercased().hasPrefix("mmproj") }) else { return nil }
        return .gguf(model: full(text), mmproj: full(mmproj))
    }

    public static func load(_ location: Location) throws -> VisionLanguageModel {
        switch location {
        case .huggingface(let directory): return try loadHuggingFace(directory: URL(fileURLWithPath: directory))
        case .gguf(let model, let mmproj): return try loadGGUF(model: model, mmproj: mmproj)
        }
    }

    public static func loadHuggingFace(directory: URL) throws -> VisionLanguageModel {
        let config = try Idefics3Config.read(directory.appendingPathComponent("config.json"))
        let model = try Idefics3Model.loadHuggingFace(directory: directory, config: config)
        let tokenizerURL = directory.appendingPathComponent("tokenizer.json")
        let tokenizer = try BPETokenizer(contentsOf: tokenizerURL)
        var processorConfig = try Idefics3ProcessorConfig.read(directory: directory, defaultSequenceLength: config.imageSequenceLength)
        try checkSequenceLength(&processorConfig, model: model, source: directory.path)
        if let template = chatTemplate(directory: directory) { try checkChatTemplate(template.text, source: template.path) }
        var ends = Set<Int>()
        for name in ["tokenizer_config.json", "generation_config.json", "special_tokens_map.json"] {
            let url = directory.appendingPathComponent(name)
            guard let data = try? Data(contentsOf: url), let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { continue }
            if let eos = json["eos_token"] as? String, let id = tokenizer.id(of: eos) { ends.insert(id) }
            if let eos = json["eos_token"] as? [String: Any], let content = eos["content"] as? String, let id = tokenizer.id(of: content) { ends.insert(id) }
            if let id = json["eos_token_id"] as? Int { ends.insert(id) }
            if let ids = json["eos_token_id"] as? [Int] { ends.formUnion(ids) }
        }
        for t in ["<end_of_utterance>", "<|im_end|>"] { if let id = tokenizer.id(of: t) { ends.insert(id) } }
        let files = ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "preprocessor_config.json",
                     "processor_config.json", "generation_config.json", "chat_template.jinja", "chat_template.json"]
            .map { directory.appendingPathComponent($0).path }.filter { FileManager.default.fileExists(atPath: $0) }
        return VisionLanguageModel(model: model, tokenizer: tokenizer, processor: Idefics3ImageProcessor(config: processorConfig),
                                   endTokens: ends, format: .huggingface, files: files)
    }

    /// The chat template of an HF directory: chat_template.jinja, chat_template.json or tokenizer_config.json's.
    static func chatTemplate(directory: URL) -> (text: String, path: String)? {
        let jinja = directory.appendingPathComponent("chat_template.jinja")
        if let text = try? String(contentsOf: jinja, encoding: .utf8) { return (text, jinja.path) }
        for name in ["chat_template.json", "processor_config.json", "tokenizer_config.json"] {
            let url = directory.appendingPathComponent(name)
            if let data = try? Data(contentsOf: url), let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
               let text = json["chat_template"] as? String { return (text, url.path) }
        }
        return nil
    }

    /// `image_seq_len` must be what the model makes of one tile.
    static func checkSequenceLength(_ c: inout Idefics3ProcessorConfig, model: Idefics3Model, source: String) throws {
        let perTile = model.tokensPerTile(tileSize: c.tileSize)
        guard c.tileSize % model.vision.config.patchSize == 0, perTile == c.imageSequenceLength else {
            throw WeightError(source, "image_seq_len \(c.imageSequenceLength) does not match \(c.tileSize)-pixel tiles of \(model.vision.config.patchSize)-pixel patches with scale factor \(model.connector.scaleFactor) (\(perTile) tokens)")
        }
    }

    // MARK: Prompts

    /// SmolVLM's chat template with the images first in the user turn:
    /// `<|im_start|>User:<image>…QUESTION<end_of_utterance>\nAssistant:`.
    public static func chatPrompt(question: String, images: Int) -> String {
        let role = images > 0 ? "User:" : "User: "
        return "<|im_start|>" + role + String(repeating: "<image>", count: images) + question + "<end_of_utterance>\nAssistant:"
    }

    /// Prompt ids with every `<image>` expanded to its tile layout (image i ↔ the i-th `<image>`).
    public func promptTokens(_ request: VisionRequest) throws -> [Int] {
        let prompt = Self.chatPrompt(question: request.question, images: request.images.count)
        var parts = prompt.components(separatedBy: "<image>")
        guard parts.count - 1 == request.images.count else {
            throw VisionError("the question contains '<image>'; \(request.images.count) images were given")
        }
        var text = parts.removeFirst()
        for (image, rest) in zip(request.images, parts) { text += processor.promptText(rows: image.rows, cols: image.cols) + rest }
        return tokenizer.encode(text, recognizeSpecialTokens: true)
    }

    // MARK: Running

    /// Logits (rows.count, vocab) of the prompt at `rows`, one full forward (tests, scoring).
    public func promptLogits(tokens: [Int], images: [Idefics3ProcessedImage], rows: [Int]) throws -> Tensor {
        let features = try model.imageFeatures(images)
        let lm = model.language, d = lm.config.dim
        let x = Tensor(zeros: [tokens.count, d])
        try model.inputEmbeddings(tokens: tokens, features: features, into: x.data)
        let cache = lm.makeCache(slots: 1, maxLength: tokens.count, precision: .float32)
        guard cache.maxLength >= tokens.count else { throw VisionError("the prompt of \(tokens.count) tokens exceeds the context of \(lm.config.contextLength)") }
        return lm.forward(embeddings: x.data, rows: tokens.count, slots: Array(repeating: 0, count: tokens.count),
                          positions: Array(tokens.indices), cache: cache, logitRows: rows)
    }

    /// Answers every request; all requests' image tiles go through the vision tower together, then
    /// the language model's one generation path prefills the prompts (image features spliced in at
    /// their `<image>` positions) in one batched forward and decodes them together.
    public func generate(_ requests: [VisionRequest], options: GenerationOptions) throws -> [Generation] {
        guard !requests.isEmpty else { return [] }
        let prompts = try requests.map { try promptTokens($0) }
        for p in prompts where p.last == model.imageTokenID { throw VisionError("the prompt ends with an image token") }
        let visionStart = Date()
        let features = try model.imageFeatures(requests.flatMap(\.images))
        let visionSeconds = Date().timeIntervalSince(visionStart)
        // request i's images are features[first[i] ..< first[i] + images]
        let first = requests.reduce(into: [0]) { $0.append($0.last! + $1.images.count) }
        return try model.language.generate(
            prompts: prompts, options: options, tokenizer: tokenizer, endTokens: endTokens, startToken: 0, cachePrecision: .float32,
            embeddings: { i, tokens, x in
                try self.model.inputEmbeddings(tokens: tokens, features: Array(features[first[i]..<first[i + 1]]), into: x)
            }, visionSeconds: visionSeconds)
            .map { var g = $0; g.text = g.text.trimmingCharacters(in: .whitespaces); return g }
    }
}
