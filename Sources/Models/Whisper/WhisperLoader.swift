// Loads Whisper from a CTranslate2 directory (model.bin + config.json) or a Hugging Face
// directory (config.json + model.safetensors). Every tensor is shape-checked against the
// dimensions, and every tensor in the file must be used or explained.

import Foundation
import Tensors
import TransformerCore
import Weights

/// Options and token lists stored beside the weights (CTranslate2 config.json; HF generation_config.json).
public struct WhisperCheckpointConfig: Sendable {
    public var suppressIDs: [Int] = []
    public var suppressIDsBegin: [Int] = []
    public var languageIDs: [Int] = []
    public var alignmentHeads: [[Int]] = []
}

extension WhisperModel {
    public enum Format: String, Sendable { case ctranslate2, huggingface }

    /// Loads the model in `directory`, detecting its format.
    public static func load(directory: URL) throws -> (WhisperModel, WhisperCheckpointConfig, Format) {
        let fm = FileManager.default
        let ct2 = directory.appendingPathComponent("model.bin"), hf = directory.appendingPathComponent("model.safetensors")
        if fm.fileExists(atPath: ct2.path) { return try loadCTranslate2(directory: directory) }
        if fm.fileExists(atPath: hf.path) { return try loadHuggingFace(directory: directory) }
        throw WeightError(directory.path, "no Whisper weights here (expected model.bin or model.safetensors)")
    }

    static func readJSON(_ url: URL) throws -> [String: Any] {
        guard let data = FileManager.default.contents(atPath: url.path) else { throw WeightError(url.path, "missing file") }
        guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw WeightError(url.path, "not a JSON object")
        }
        return json
    }

    static func checkpointConfig(_ json: [String: Any]) -> WhisperCheckpointConfig {
        var c = WhisperCheckpointConfig()
        c.suppressIDs = json["suppress_ids"] as? [Int] ?? json["suppress_tokens"] as? [Int] ?? []
        c.suppressIDsBegin = json["suppress_ids_begin"] as? [Int] ?? json["begin_suppress_tokens"] as? [Int] ?? []
        c.languageIDs = json["lang_ids"] as? [Int] ?? (json["lang_to_id"] as? [String: Int])?.values.sorted() ?? []
        c.alignmentHeads = json["alignment_heads"] as? [[Int]] ?? []
        return c
    }

    // MARK: CTranslate2 (WhisperSpec, revision 3)

    static func loadCTranslate2(directory: URL) throws -> (WhisperModel, WhisperCheckpointConfig, Format) {
        let path = directory.appendingPathComponent("model.bin").path
        let (file, header) = try CTranslate2Reader.read(path: path)
        guard header.specName == "WhisperSpec" else {
            throw WeightError(path, "is a \(header.specName) model, not WhisperSpec")
        }
        let config = checkpointConfig(try readJSON(directory.appendingPathComponent("config.json")))
        func count(_ prefix: String) -> Int {
            var n = 0
            while file.contains("\(prefix)/layer_\(n)/ffn/linear_0/weight") { n += 1 }
            return n
        }
        let conv1 = try file.raw("encoder/conv1/weight"), embed = try file.raw("decoder/embeddings/weight")
        let audioPos = try file.raw("encoder/position_encodings/encodings")
        let textPos = try file.raw("decoder/position_encodings/encodings")
        guard conv1.shape.count == 3, embed.shape.count == 2, audioPos.shape.count == 2, textPos.shape.count == 2 else {
            throw WeightError(path, "unexpected ranks for conv1 / embeddings / position encodings")
        }
        let dims = WhisperDimensions(
            melBins: conv1.shape[1], audioContext: audioPos.shape[0], audioWidth: conv1.shape[0],
            audioHeads: try integer(file, "encoder/num_heads", path: path), audioLayers: count("encoder"),
            vocabularySize: embed.shape[0], textContext: textPos.shape[0], textWidth: embed.shape[1],
            textHeads: try integer(file, "decoder/num_heads", path: path), textLayers: count("decoder"))
        try validate(dims, path: path)
        // Flags that CTranslate2 stores as scalars; Whisper's values are fixed, so check them.
        let expectedFlags: [(String, Float)] = [("decoder/pre_norm", 1), ("decoder/activation", 3),
                                                 ("decoder/scale_embeddings", 0)]
        for (name, value) in expectedFlags where file.contains(name) {
            guard try file.scalar(name) == value else { throw WeightError(path, "\(name) ≠ \(value): not a Whisper decoder") }
        }
        file.markExplained(["decoder/alibi", "decoder/alignment_heads", "decoder/alignment_layer",
                            "decoder/start_from_zero_embedding", "decoder/projection/weight"].filter(file.contains))

        let a = dims.audioWidth, t = dims.textWidth
        func linear(_ s: String, out: Int, in n: Int, bias: Bool = true) throws -> Linear {
            Linear(weight: try file.tensor("\(s)/weight", shape: [out, n]),
                   bias: bias ? try file.tensor("\(s)/bias", shape: [out]) : nil)
        }
        func norm(_ s: String, _ n: Int) throws -> Norm {
            Norm(gamma: try file.tensor("\(s)/gamma", shape: [n]), beta: try file.tensor("\(s)/beta", shape: [n]))
        }
        func ffn(_ s: String, _ n: Int) throws -> FeedForward {
            let hidden = try file.raw("\(s)/linear_0/weight").shape.first ?? 4 * n
            return FeedForward(up: try linear("\(s)/linear_0", out: hidden, in: n),
                               down: try linear("\(s)/linear_1", out: n, in: hidden), activation: .gelu)
        }
        /// Fused q|k|v (`linear_0`) and output (`linear_1`) projections of a CTranslate2 self-attention scope.
        func selfAttention(_ s: String, _ n: Int, heads: Int) throws -> SelfAttention {
            SelfAttention(qkv: try linear("\(s)/linear_0", out: 3 * n, in: n), out: try linear("\(s)/linear_1", out: n, in: n),
                          heads: heads)
        }
        let encoderBlocks = try (0..<dims.audioLayers).map { i -> EncoderBlock in
            let s = "encoder/layer_\(i)"
            return EncoderBlock(
                attentionNorm: try norm("\(s)/self_attention/layer_norm", a),
                attention: try selfAttention("\(s)/self_attention", a, heads: dims.audioHeads),
                ffnNorm: try norm("\(s)/ffn/layer_norm", a), ffn: try ffn("\(s)/ffn", a))
        }
        let decoderBlocks = try (0..<dims.textLayers).map { i -> DecoderBlock in
            let s = "decoder/layer_\(i)"
            return DecoderBlock(
                selfAttentionNorm: try norm("\(s)/self_attention/layer_norm", t),
                selfAttention: try selfAttention("\(s)/self_attention", t, heads: dims.textHeads),
                crossAttentionNorm: try norm("\(s)/attention/layer_norm", t),
                crossAttention: CrossAttention(query: try linear("\(s)/attention/linear_0", out: t, in: t),
                                               keyValue: try linear("\(s)/attention/linear_1", out: 2 * t, in: a),
                                               out: try linear("\(s)/attention/linear_2", out: t, in: t),
                                               heads: dims.textHeads),
                ffnNorm: try norm("\(s)/ffn/layer_norm", t), ffn: try ffn("\(s)/ffn", t))
        }
        let model = WhisperModel(
            dimensions: dims,
            conv1: Conv1d(weight: try file.tensor("encoder/conv1/weight", shape: [a, dims.melBins, 3]),
                          bias: try file.tensor("encoder/conv1/bias", shape: [a]), stride: 1, padding: 1),
            conv2: Conv1d(weight: try file.tensor("encoder/conv2/weight", shape: [a, a, 3]),
                          bias: try file.tensor("encoder/conv2/bias", shape: [a]), stride: 2, padding: 1),
            audioPositions: try file.tensor("encoder/position_encodings/encodings", shape: [dims.audioContext, a]),
            encoderBlocks: encoderBlocks, encoderNorm: try norm("encoder/layer_norm", a),
            tokenEmbedding: try file.tensor("decoder/embeddings/weight", shape: [dims.vocabularySize, t]),
            textPositions: try file.tensor("decoder/position_encodings/encodings", shape: [dims.textContext, t]),
            decoderBlocks: decoderBlocks, decoderNorm: try norm("decoder/layer_norm", t))
        let unused = file.unusedNames
        guard unused.isEmpty else { throw WeightError(path, "tensors not used by Whisper: \(unused.prefix(8).joined(separator: ", "))") }
        return (model, config, .ctranslate2)
    }

    /// A scalar variable that must hold a small whole number (a NaN or 1e30 must not trap `Int(_:)`).
    static func integer(_ file: WeightFile, _ name: String, path: String) throws -> Int {
        let value = try file.scalar(name)
        guard value.isFinite, value == value.rounded(), value.magnitude < 16_777_216 else {
            throw WeightError(path, "\(name) = \(value) is not a whole number of a plausible size")
        }
        return Int(value)
    }

    static func validate(_ d: WhisperDimensions, path: String) throws {
        // Each size within 1…2^24 before any product or allocation uses it.
        let sizes: [(String, Int)] = [("num_mel_bins", d.melBins), ("max_source_positions", d.audioContext),
                                      ("d_model (audio)", d.audioWidth), ("encoder_attention_heads", d.audioHeads),
                                      ("encoder_layers", d.audioLayers), ("vocab_size", d.vocabularySize),
                                      ("max_target_positions", d.textContext), ("d_model (text)", d.textWidth),
                                      ("decoder_attention_heads", d.textHeads), ("decoder_layers", d.textLayers)]
        for (key, value) in sizes where value <= 0 || value > 1 << 24 {
            throw WeightError(path, "\(key) = \(value) is out of range (1…\(1 << 24))")
        }
        guard d.melBins > 0, d.audioLayers > 0, d.textLayers > 0, d.audioHeads > 0, d.textHeads > 0,
              d.audioWidth % d.audioHeads == 0, d.textWidth % d.textHeads == 0, d.audioWidth == d.textWidth else {
            throw WeightError(path, "inconsistent Whisper dimensions \(d)")
        }
    }

    // MARK: Hugging Face (WhisperForConditionalGeneration)

    static func loadHuggingFace(directory: URL) throws -> (WhisperModel, WhisperCheckpointConfig, Format) {
        let path = directory.appendingPathComponent("model.safetensors").path
        let json = try readJSON(directory.appendingPathComponent("config.json"))
        func int(_ key: String) throws -> Int {
            guard let v = json[key] as? Int else { throw WeightError(directory.appendingPathComponent("config.json").path, "missing integer \(key)") }
            return v
        }
        let configPath = directory.appendingPathComponent("config.json").path
        let dims = WhisperDimensions(
            melBins: try int("num_mel_bins"), audioContext: try int("max_source_positions"), audioWidth: try int("d_model"),
            audioHeads: try int("encoder_attention_heads"), audioLayers: try int("encoder_layers"),
            vocabularySize: try int("vocab_size"), textContext: try int("max_target_positions"), textWidth: try int("d_model"),
            textHeads: try int("decoder_attention_heads"), textLayers: try int("decoder_layers"))
        try validate(dims, path: configPath)
        var config = checkpointConfig(json)
        if let generation = try? readJSON(directory.appendingPathComponent("generation_config.json")) {
            let g = checkpointConfig(generation)
            if config.suppressIDs.isEmpty { config.suppressIDs = g.suppressIDs }
            if config.suppressIDsBegin.isEmpty { config.suppressIDsBegin = g.suppressIDsBegin }
            if config.languageIDs.isEmpty { config.languageIDs = g.languageIDs }
            if config.alignmentHeads.isEmpty { config.alignmentHeads = g.alignmentHeads }
        }
        let file = try SafetensorsReader.read(path: path)
        let prefix = file.contains("model.encoder.conv1.weight") ? "model." : ""
        let d = dims.audioWidth
        func t(_ name: String, _ shape: [Int]) throws -> Tensor { try file.tensor(prefix + name, shape: shape) }
        func linear(_ s: String, out: Int, in n: Int, bias: Bool = true) throws -> Linear {
            Linear(weight: try t("\(s).weight", [out, n]), bias: bias ? try t("\(s).bias", [out]) : nil)
        }
        func norm(_ s: String) throws -> Norm { Norm(gamma: try t("\(s).weight", [d]), beta: try t("\(s).bias", [d])) }
        // q, k, v (k without bias) fused into one (3d, d) projection, as CTranslate2 does.
        func fused(_ s: String, _ parts: [String]) throws -> Linear {
            // every part shape-checked (so its size is the file's, not the config's) before allocating
            let weights = try parts.map { try t("\(s).\($0).weight", [d, d]) }
            let biases = try parts.map { $0 == "k_proj" ? nil : try t("\(s).\($0).bias", [d]) }
            let weight = Tensor(zeros: [parts.count * d, d]), bias = Tensor(zeros: [parts.count * d])
            for i in parts.indices {
                weights[i].withData { (weight.data + i * d * d).update(from: $0, count: d * d) }
                biases[i]?.withData { (bias.data + i * d).update(from: $0, count: d) }
            }
            return Linear(weight: weight, bias: bias)
        }
        func ffn(_ s: String) throws -> FeedForward {
            let hidden = try file.raw(prefix + "\(s).fc1.weight").shape.first ?? 4 * d
            return FeedForward(up: try linear("\(s).fc1", out: hidden, in: d), down: try linear("\(s).fc2", out: d, in: hidden),
                               activation: .gelu)
        }
        let encoderBlocks = try (0..<dims.audioLayers).map { i -> EncoderBlock in
            let s = "encoder.layers.\(i)"
            return EncoderBlock(attentionNorm: try norm("\(s).self_attn_layer_norm"),
                                attention: SelfAttention(qkv: try fused("\(s).self_attn", ["q_proj", "k_proj", "v_proj"]),
                                                         out: try linear("\(s).self_attn.out_proj", out: d, in: d),
                                                         heads: dims.audioHeads),
                                ffnNorm: try norm("\(s).final_layer_norm"), ffn: try ffn(s))
        }
        let decoderBlocks = try (0..<dims.textLayers).map { i -> DecoderBlock in
            let s = "decoder.layers.\(i)"
            let kv = try fused("\(s).encoder_attn", ["k_proj", "v_proj"])
            return DecoderBlock(
                selfAttentionNorm: try norm("\(s).self_attn_layer_norm"),
                selfAttention: SelfAttention(qkv: try fused("\(s).self_attn", ["q_proj", "k_proj", "v_proj"]),
                                             out: try linear("\(s).self_attn.out_proj", out: d, in: d), heads: dims.textHeads),
                crossAttentionNorm: try norm("\(s).encoder_attn_layer_norm"),
                crossAttention: CrossAttention(query: try linear("\(s).encoder_attn.q_proj", out: d, in: d), keyValue: kv,
                                               out: try linear("\(s).encoder_attn.out_proj", out: d, in: d), heads: dims.textHeads),
                ffnNorm: try norm("\(s).final_layer_norm"), ffn: try ffn(s))
        }
        let model = WhisperModel(
            dimensions: dims,
            conv1: Conv1d(weight: try t("encoder.conv1.weight", [d, dims.melBins, 3]), bias: try t("encoder.conv1.bias", [d]),
                          stride: 1, padding: 1),
            conv2: Conv1d(weight: try t("encoder.conv2.weight", [d, d, 3]), bias: try t("encoder.conv2.bias", [d]),
                          stride: 2, padding: 1),
            audioPositions: try t("encoder.embed_positions.weight", [dims.audioContext, d]),
            encoderBlocks: encoderBlocks, encoderNorm: try norm("encoder.layer_norm"),
            tokenEmbedding: try t("decoder.embed_tokens.weight", [dims.vocabularySize, d]),
            textPositions: try t("decoder.embed_positions.weight", [dims.textContext, d]),
            decoderBlocks: decoderBlocks, decoderNorm: try norm("decoder.layer_norm"))
        file.markExplained(["proj_out.weight"].filter(file.contains))   // tied to the token embedding
        let unused = file.unusedNames
        guard unused.isEmpty else { throw WeightError(path, "tensors not used by Whisper: \(unused.prefix(8).joined(separator: ", "))") }
        return (model, config, .huggingface)
    }
}
