// Loads Whisper from a CTranslate2 directory (model.bin + config.json) or a Hugging Face
// directory (config.json + model.safetensors): each format reads its sizes and names its tensors
// (WhisperTensorNames.swift); one build function makes the model from either. Every tensor is
// shape-checked against the dimensions, and every tensor in the file must be used or explained.

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
    /// `weights`: the layers converted to int8 as they are read (compute types), so the float
    /// copy of a converted layer never outlives its block.
    public static func load(directory: URL, weights: WhisperComputeType.Weights = .float32) throws -> (WhisperModel, WhisperCheckpointConfig, Format) {
        let fm = FileManager.default
        let ct2 = directory.appendingPathComponent("model.bin"), hf = directory.appendingPathComponent("model.safetensors")
        if fm.fileExists(atPath: ct2.path) { return try loadCTranslate2(directory: directory, weights: weights) }
        if fm.fileExists(atPath: hf.path) { return try loadHuggingFace(directory: directory, weights: weights) }
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

    // MARK: The one build function

    /// Whisper from any source whose tensors `names` locates, sized by `dims`, with the linear
    /// layers `weights` names in int8: the decoder's per-token products as q8_0 blocks, the
    /// encoder's and the cross-attention memory's as int8 rows (`Int8Form`).
    static func build(from source: TensorSource, names n: TensorNames<WhisperTensor>, dims: WhisperDimensions,
                      weights: WhisperComputeType.Weights = .float32) throws -> WhisperModel {
        let encoderForm: Int8Form? = weights == .int8 ? .rows : nil, decoderForm: Int8Form? = weights == .float32 ? nil : .blocks
        let a = dims.audioWidth, t = dims.textWidth
        func ffn(_ up: WhisperTensor, _ down: WhisperTensor, layer i: Int, width w: Int) throws -> FeedForward {
            let hidden = source.shape(of: n.weight(up, layer: i))?.first ?? 4 * w
            return FeedForward(up: try source.linear(n, up, layer: i, out: hidden, in: w, bias: true),
                               down: try source.linear(n, down, layer: i, out: w, in: hidden, bias: true), activation: .gelu)
        }
        func linear(_ role: WhisperTensor, layer i: Int, out: Int, in k: Int) throws -> Linear {
            try source.linear(n, role, layer: i, out: out, in: k, bias: true)
        }
        /// q|k|v (fused, or the three parts) and the output projection of one self-attention.
        func selfAttention(_ qkv: WhisperTensor, _ parts: [WhisperTensor], _ out: WhisperTensor, layer i: Int, width w: Int,
                           heads: Int) throws -> SelfAttention {
            SelfAttention(qkv: try source.fusedLinear(n, fused: qkv, parts: parts, layer: i, out: w, in: w),
                          out: try linear(out, layer: i, out: w, in: w), heads: heads)
        }
        let encoderBlocks = try (0..<dims.audioLayers).map { i -> SelfAttentionBlock in
            SelfAttentionBlock(
                attentionNorm: try source.norm(n, .encoderAttentionNorm, layer: i, width: a),
                attention: try selfAttention(.encoderQKV, [.encoderQuery, .encoderKey, .encoderValue], .encoderAttentionOut,
                                             layer: i, width: a, heads: dims.audioHeads),
                ffnNorm: try source.norm(n, .encoderFFNNorm, layer: i, width: a),
                ffn: try ffn(.encoderFFNUp, .encoderFFNDown, layer: i, width: a))
            .int8(encoderForm)
        }
        let decoderBlocks = try (0..<dims.textLayers).map { i -> DecoderBlock in
            DecoderBlock(
                selfAttentionNorm: try source.norm(n, .decoderSelfAttentionNorm, layer: i, width: t),
                selfAttention: try selfAttention(.decoderSelfQKV, [.decoderSelfQuery, .decoderSelfKey, .decoderSelfValue],
                                                 .decoderSelfAttentionOut, layer: i, width: t, heads: dims.textHeads),
                crossAttentionNorm: try source.norm(n, .decoderCrossAttentionNorm, layer: i, width: t),
                crossAttention: CrossAttention(
                    query: try linear(.decoderCrossQuery, layer: i, out: t, in: t),
                    keyValue: try source.fusedLinear(n, fused: .decoderCrossKV, parts: [.decoderCrossKey, .decoderCrossValue],
                                                     layer: i, out: t, in: a),
                    out: try linear(.decoderCrossAttentionOut, layer: i, out: t, in: t), heads: dims.textHeads),
                ffnNorm: try source.norm(n, .decoderFFNNorm, layer: i, width: t),
                ffn: try ffn(.decoderFFNUp, .decoderFFNDown, layer: i, width: t))
            .int8(decoderForm, memory: encoderForm)
        }
        return WhisperModel(
            dimensions: dims,
            conv1: Conv1d(weight: try source.tensor(n.weight(.conv1), shape: [a, dims.melBins, 3]),
                          bias: try source.tensor(n.bias(.conv1), shape: [a]), stride: 1, padding: 1),
            conv2: Conv1d(weight: try source.tensor(n.weight(.conv2), shape: [a, a, 3]),
                          bias: try source.tensor(n.bias(.conv2), shape: [a]), stride: 2, padding: 1),
            audioPositions: try source.tensor(n.name(.audioPositions), shape: [dims.audioContext, a]),
            encoderBlocks: encoderBlocks, encoderNorm: try source.norm(n, .encoderNorm, width: a),
            tokenEmbedding: try source.tensor(n.name(.tokenEmbedding), shape: [dims.vocabularySize, t]),
            textPositions: try source.tensor(n.name(.textPositions), shape: [dims.textContext, t]),
            decoderBlocks: decoderBlocks, decoderNorm: try source.norm(n, .decoderNorm, width: t), outputForm: decoderForm)
    }

    // MARK: CTranslate2 (WhisperSpec, revision 3)

    static func loadCTranslate2(directory: URL, weights: WhisperComputeType.Weights) throws -> (WhisperModel, WhisperCheckpointConfig, Format) {
        let path = directory.appendingPathComponent("model.bin").path
        let (file, header) = try CTranslate2Reader.read(path: path)
        guard header.specName == "WhisperSpec" else {
            throw WeightError(path, "is a \(header.specName) model, not WhisperSpec")
        }
        let configJSON = try readJSON(directory.appendingPathComponent("config.json"))
        let config = checkpointConfig(configJSON)
        let names = WhisperTensor.ctranslate2
        func count(_ prefix: String) -> Int {
            var n = 0
            while file.contains("\(prefix)/layer_\(n)/ffn/linear_0/weight") { n += 1 }
            return n
        }
        // CTranslate2 stores no sizes: they are the shapes of these tensors and two scalars.
        let conv1 = try file.raw(names.weight(.conv1)), embed = try file.raw(names.name(.tokenEmbedding))
        let audioPos = try file.raw(names.name(.audioPositions)), textPos = try file.raw(names.name(.textPositions))
        guard conv1.shape.count == 3, embed.shape.count == 2, audioPos.shape.count == 2, textPos.shape.count == 2 else {
            throw WeightError(path, "unexpected ranks for conv1 / embeddings / position encodings")
        }
        let dims = WhisperDimensions(
            melBins: conv1.shape[1], audioContext: audioPos.shape[0], audioWidth: conv1.shape[0],
            audioHeads: try integer(file, "encoder/num_heads", path: path), audioLayers: count("encoder"),
            vocabularySize: embed.shape[0], textContext: textPos.shape[0], textWidth: embed.shape[1],
            textHeads: try integer(file, "decoder/num_heads", path: path), textLayers: count("decoder"))
        try validate(dims, path: path)
        try checkAlignmentHeads(configJSON, dims: dims, path: directory.appendingPathComponent("config.json").path)
        // Flags that CTranslate2 stores as scalars; Whisper's values are fixed, so check them.
        let expectedFlags: [(String, Float)] = [("decoder/pre_norm", 1), ("decoder/activation", 3),
                                                 ("decoder/scale_embeddings", 0)]
        for (name, value) in expectedFlags where file.contains(name) {
            guard try file.scalar(name) == value else { throw WeightError(path, "\(name) ≠ \(value): not a Whisper decoder") }
        }
        file.markExplained(["decoder/alibi", "decoder/alignment_heads", "decoder/alignment_layer",
                            "decoder/start_from_zero_embedding", "decoder/projection/weight"].filter(file.contains))
        let model = try build(from: file, names: names, dims: dims, weights: weights)
        try file.requireAllUsed(by: "Whisper")
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

    /// `alignment_heads` (word timestamps), when present: [layer, head] pairs inside the decoder.
    static func checkAlignmentHeads(_ json: [String: Any], dims d: WhisperDimensions, path: String) throws {
        guard let value = json["alignment_heads"], !(value is NSNull) else { return }
        guard let pairs = value as? [[Int]] else { throw WeightError(path, "alignment_heads: expected a list of [layer, head] pairs") }
        for pair in pairs {
            guard pair.count == 2, (0..<d.textLayers).contains(pair[0]), (0..<d.textHeads).contains(pair[1]) else {
                throw WeightError(path, "alignment_heads: \(pair) is not a [layer, head] of a decoder with \(d.textLayers) layers × \(d.textHeads) heads")
            }
        }
    }

    static func validate(_ d: WhisperDimensions, path: String) throws {
        // Each size within 1…2^24 before any product or allocation uses it.
        try checkSizes([("num_mel_bins", d.melBins), ("max_source_positions", d.audioContext),
                        ("d_model (audio)", d.audioWidth), ("encoder_attention_heads", d.audioHeads),
                        ("encoder_layers", d.audioLayers), ("vocab_size", d.vocabularySize),
                        ("max_target_positions", d.textContext), ("d_model (text)", d.textWidth),
                        ("decoder_attention_heads", d.textHeads), ("decoder_layers", d.textLayers)], source: path)
        guard d.melBins > 0, d.audioLayers > 0, d.textLayers > 0, d.audioHeads > 0, d.textHeads > 0,
              d.audioWidth % d.audioHeads == 0, d.textWidth % d.textHeads == 0, d.audioWidth == d.textWidth else {
            throw WeightError(path, "inconsistent Whisper dimensions \(d)")
        }
    }

    // MARK: Hugging Face (WhisperForConditionalGeneration)

    static func loadHuggingFace(directory: URL, weights: WhisperComputeType.Weights) throws -> (WhisperModel, WhisperCheckpointConfig, Format) {
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
        try checkAlignmentHeads(json, dims: dims, path: configPath)
        if let generation = try? readJSON(directory.appendingPathComponent("generation_config.json")) {
            try checkAlignmentHeads(generation, dims: dims, path: directory.appendingPathComponent("generation_config.json").path)
            let g = checkpointConfig(generation)
            if config.suppressIDs.isEmpty { config.suppressIDs = g.suppressIDs }
            if config.suppressIDsBegin.isEmpty { config.suppressIDsBegin = g.suppressIDsBegin }
            if config.languageIDs.isEmpty { config.languageIDs = g.languageIDs }
            if config.alignmentHeads.isEmpty { config.alignmentHeads = g.alignmentHeads }
        }
        let file = try SafetensorsReader.read(path: path)
        // WhisperForConditionalGeneration keeps the network under `model.`; WhisperModel has none.
        let names = file.contains("model.encoder.conv1.weight") ? WhisperTensor.huggingFace.scoped("model.") : WhisperTensor.huggingFace
        let model = try build(from: file, names: names, dims: dims, weights: weights)
        file.markExplained(["proj_out.weight"].filter(file.contains))   // tied to the token embedding
        try file.requireAllUsed(by: "Whisper")
        return (model, config, .huggingface)
    }
}
