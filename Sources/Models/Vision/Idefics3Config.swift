// Idefics3 (SmolVLM) configuration as Hugging Face's config.json spells it.
// Reference: transformers models/idefics3/configuration_idefics3.py (Idefics3Config,
// Idefics3VisionConfig) and models/llama/configuration_llama.py for `text_config`.

import Foundation
import TransformerCore
import Weights

/// The SigLIP-style vision tower (`vision_config`).
public struct SigLIPVisionConfig: Codable, Sendable, Equatable {
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layers: Int
    public var heads: Int
    public var channels: Int
    /// Side of the square image the position table covers (`image_size`), in pixels.
    public var imageSize: Int
    public var patchSize: Int
    public var layerNormEps: Float
    public var activation: String

    enum CodingKeys: String, CodingKey {
        case hiddenSize = "hidden_size", intermediateSize = "intermediate_size", layers = "num_hidden_layers"
        case heads = "num_attention_heads", channels = "num_channels", imageSize = "image_size"
        case patchSize = "patch_size", layerNormEps = "layer_norm_eps", activation = "hidden_act"
    }

    public init(hiddenSize: Int, intermediateSize: Int, layers: Int, heads: Int, channels: Int = 3, imageSize: Int,
                patchSize: Int, layerNormEps: Float = 1e-6, activation: String = "gelu_pytorch_tanh") {
        self.hiddenSize = hiddenSize; self.intermediateSize = intermediateSize; self.layers = layers; self.heads = heads
        self.channels = channels; self.imageSize = imageSize; self.patchSize = patchSize
        self.layerNormEps = layerNormEps; self.activation = activation
    }

    // Defaults are Idefics3VisionConfig's.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        hiddenSize = try c.decodeIfPresent(Int.self, forKey: .hiddenSize) ?? 1152
        intermediateSize = try c.decodeIfPresent(Int.self, forKey: .intermediateSize) ?? 3072
        layers = try c.decodeIfPresent(Int.self, forKey: .layers) ?? 12
        heads = try c.decodeIfPresent(Int.self, forKey: .heads) ?? 16
        channels = try c.decodeIfPresent(Int.self, forKey: .channels) ?? 3
        imageSize = try c.decodeIfPresent(Int.self, forKey: .imageSize) ?? 224
        patchSize = try c.decodeIfPresent(Int.self, forKey: .patchSize) ?? 32
        layerNormEps = try c.decodeIfPresent(Float.self, forKey: .layerNormEps) ?? 1e-6
        activation = try c.decodeIfPresent(String.self, forKey: .activation) ?? "gelu_pytorch_tanh"
    }

    /// Patches along one side of the position table.
    public var patchesPerSide: Int { imageSize / max(patchSize, 1) }
    public var headDim: Int { hiddenSize / max(heads, 1) }
}

/// The Llama language model (`text_config`).
public struct LlamaTextConfig: Codable, Sendable, Equatable {
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layers: Int
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int?
    public var vocabularySize: Int
    public var maxPositions: Int
    public var rmsNormEps: Float
    public var ropeTheta: Float
    public var activation: String
    public var tieWordEmbeddings: Bool?

    enum CodingKeys: String, CodingKey {
        case hiddenSize = "hidden_size", intermediateSize = "intermediate_size", layers = "num_hidden_layers"
        case heads = "num_attention_heads", kvHeads = "num_key_value_heads", headDim = "head_dim"
        case vocabularySize = "vocab_size", maxPositions = "max_position_embeddings", rmsNormEps = "rms_norm_eps"
        case ropeTheta = "rope_theta", ropeParameters = "rope_parameters", ropeScaling = "rope_scaling"
        case activation = "hidden_act", tieWordEmbeddings = "tie_word_embeddings"
    }

    struct RopeParameters: Codable { var rope_theta: Float?; var rope_type: String? }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        hiddenSize = try c.decodeIfPresent(Int.self, forKey: .hiddenSize) ?? 4096
        intermediateSize = try c.decodeIfPresent(Int.self, forKey: .intermediateSize) ?? 11008
        layers = try c.decodeIfPresent(Int.self, forKey: .layers) ?? 32
        heads = try c.decodeIfPresent(Int.self, forKey: .heads) ?? 32
        kvHeads = try c.decodeIfPresent(Int.self, forKey: .kvHeads) ?? heads
        headDim = try c.decodeIfPresent(Int.self, forKey: .headDim)
        vocabularySize = try c.decodeIfPresent(Int.self, forKey: .vocabularySize) ?? 32000
        maxPositions = try c.decodeIfPresent(Int.self, forKey: .maxPositions) ?? 2048
        rmsNormEps = try c.decodeIfPresent(Float.self, forKey: .rmsNormEps) ?? 1e-6
        activation = try c.decodeIfPresent(String.self, forKey: .activation) ?? "silu"
        tieWordEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings)
        // transformers ≥ 5 keeps rope_theta inside rope_parameters; older files have it at the top.
        let parameters = try c.decodeIfPresent(RopeParameters.self, forKey: .ropeParameters)
        ropeTheta = try c.decodeIfPresent(Float.self, forKey: .ropeTheta) ?? parameters?.rope_theta ?? 10_000
        let scaling = try c.decodeIfPresent(RopeParameters.self, forKey: .ropeScaling)
        for type in [parameters?.rope_type, scaling?.rope_type].compactMap({ $0 }) where type != "default" {
            throw DecodingError.dataCorruptedError(forKey: .ropeScaling, in: c,
                                                   debugDescription: "rope type '\(type)' is not supported (only default RoPE)")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(hiddenSize, forKey: .hiddenSize); try c.encode(intermediateSize, forKey: .intermediateSize)
        try c.encode(layers, forKey: .layers); try c.encode(heads, forKey: .heads); try c.encode(kvHeads, forKey: .kvHeads)
        try c.encodeIfPresent(headDim, forKey: .headDim); try c.encode(vocabularySize, forKey: .vocabularySize)
        try c.encode(maxPositions, forKey: .maxPositions); try c.encode(rmsNormEps, forKey: .rmsNormEps)
        try c.encode(ropeTheta, forKey: .ropeTheta); try c.encode(activation, forKey: .activation)
        try c.encodeIfPresent(tieWordEmbeddings, forKey: .tieWordEmbeddings)
    }

    public var resolvedHeadDim: Int { headDim ?? hiddenSize / max(heads, 1) }
}

/// `Idefics3ForConditionalGeneration`'s config.json.
public struct Idefics3Config: Codable, Sendable, Equatable {
    public var vision: SigLIPVisionConfig
    public var text: LlamaTextConfig
    /// Pixel-shuffle factor of the connector: scale² patches become one token.
    public var scaleFactor: Int
    public var imageTokenID: Int
    public var tieWordEmbeddings: Bool

    enum CodingKeys: String, CodingKey {
        case vision = "vision_config", text = "text_config", scaleFactor = "scale_factor"
        case imageTokenID = "image_token_id", tieWordEmbeddings = "tie_word_embeddings", modelType = "model_type"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let type = try c.decodeIfPresent(String.self, forKey: .modelType), type != "idefics3", type != "smolvlm" {
            throw DecodingError.dataCorruptedError(forKey: .modelType, in: c,
                                                   debugDescription: "model_type '\(type)' is not idefics3 / smolvlm")
        }
        vision = try c.decode(SigLIPVisionConfig.self, forKey: .vision)
        text = try c.decode(LlamaTextConfig.self, forKey: .text)
        scaleFactor = try c.decodeIfPresent(Int.self, forKey: .scaleFactor) ?? 2
        imageTokenID = try c.decodeIfPresent(Int.self, forKey: .imageTokenID) ?? 128257
        tieWordEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings) ?? text.tieWordEmbeddings ?? false
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(vision, forKey: .vision); try c.encode(text, forKey: .text); try c.encode(scaleFactor, forKey: .scaleFactor)
        try c.encode(imageTokenID, forKey: .imageTokenID); try c.encode(tieWordEmbeddings, forKey: .tieWordEmbeddings)
        try c.encode("idefics3", forKey: .modelType)
    }

    /// Language-model tokens per image tile: (patchesPerSide / scale)².
    public var imageSequenceLength: Int {
        let side = vision.patchesPerSide / max(scaleFactor, 1)
        return side * side
    }

    public static func read(_ url: URL) throws -> Idefics3Config {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw WeightError(url.path, "cannot read: \(error.localizedDescription)") }
        do { return try JSONDecoder().decode(Idefics3Config.self, from: data) } catch {
            throw WeightError(url.path, "not an Idefics3 config: \(describe(error))")
        }
    }

    /// Checks the dimensions fit together; `path` names the file in the error.
    public func validate(path: String) throws {
        let v = vision, t = text
        guard v.hiddenSize > 0, v.layers > 0, v.heads > 0, v.hiddenSize % v.heads == 0, v.patchSize > 0, v.channels == 3,
              v.imageSize % v.patchSize == 0, v.intermediateSize > 0 else {
            throw WeightError(path, "inconsistent vision_config \(v)")
        }
        guard scaleFactor > 0, v.patchesPerSide % scaleFactor == 0 else {
            throw WeightError(path, "scale_factor \(scaleFactor) does not divide \(v.patchesPerSide) patches per side")
        }
        guard [.gelu, .geluTanh].contains(Activation.huggingFaceNames[v.activation]) else {
            throw WeightError(path, "vision hidden_act '\(v.activation)' is not supported")
        }
        guard t.hiddenSize > 0, t.layers > 0, t.heads > 0, t.kvHeads > 0, t.heads % t.kvHeads == 0, t.vocabularySize > 0,
              t.resolvedHeadDim % 2 == 0, Activation.huggingFaceNames[t.activation] == .silu else {
            throw WeightError(path, "inconsistent or unsupported text_config \(t)")
        }
        guard imageTokenID >= 0, imageTokenID < t.vocabularySize else {
            throw WeightError(path, "image_token_id \(imageTokenID) is outside the vocabulary of \(t.vocabularySize)")
        }
    }
}

func describe(_ error: Error) -> String {
    switch error {
    case DecodingError.keyNotFound(let key, let context):
        return "missing \((context.codingPath + [key]).map(\.stringValue).joined(separator: "."))"
    case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
        return "wrong type at \(context.codingPath.map(\.stringValue).joined(separator: "."))"
    case DecodingError.dataCorrupted(let context):
        return context.debugDescription
    default:
        return "\(error)"
    }
}
