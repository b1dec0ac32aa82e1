// BERT encoder on the shared core (post-norm blocks), as sentence-transformers runs it for
// all-MiniLM-L6-v2: word + absolute position + token-type embeddings, LayerNorm, N post-norm
// layers (bidirectional attention with biases, exact-erf GELU MLP), then (TextEmbedder) mean
// pooling over the real tokens and L2 normalization.
// Reference: transformers models/bert/modeling_bert.py (BertEmbeddings, BertLayer: BertSelfOutput /
// BertOutput = LayerNorm(dense(h) + input)); sentence_transformers/models/Pooling.py, Normalize.py.

import Foundation
import Tensors
import TransformerCore
import Weights

/// `config.json` of a Hugging Face `BertModel` (the keys the encoder needs).
public struct BertConfig: Decodable, Sendable {
    public var hiddenSize: Int
    public var layers: Int
    public var heads: Int
    public var intermediateSize: Int
    public var vocabularySize: Int
    public var maxPositions: Int
    public var typeVocabularySize: Int
    public var layerNormEps: Float
    public var activation: String
    public var positionEmbeddingType: String?
    public var modelType: String?

    enum CodingKeys: String, CodingKey {
        case hiddenSize = "hidden_size", layers = "num_hidden_layers", heads = "num_attention_heads"
        case intermediateSize = "intermediate_size", vocabularySize = "vocab_size", maxPositions = "max_position_embeddings"
        case typeVocabularySize = "type_vocab_size", layerNormEps = "layer_norm_eps", activation = "hidden_act"
        case positionEmbeddingType = "position_embedding_type", modelType = "model_type"
    }

    public var headDim: Int { hiddenSize / heads }

    public static func load(_ url: URL) throws -> BertConfig {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw WeightError(url.path, "cannot read: \(error.localizedDescription)") }
        let config: BertConfig
        do { config = try JSONDecoder().decode(BertConfig.self, from: data) } catch {
            throw WeightError(url.path, "not a BERT config.json: \(error)")
        }
        try checkSizes([("hidden_size", config.hiddenSize), ("num_hidden_layers", config.layers), ("num_attention_heads", config.heads),
                        ("intermediate_size", config.intermediateSize), ("vocab_size", config.vocabularySize),
                        ("max_position_embeddings", config.maxPositions), ("type_vocab_size", config.typeVocabularySize)],
                       source: url.path)
        guard config.hiddenSize % config.heads == 0 else {
            throw WeightError(url.path, "hidden_size \(config.hiddenSize) is not a multiple of num_attention_heads \(config.heads)")
        }
        guard config.modelType == nil || config.modelType == "bert" else {
            throw WeightError(url.path, "model_type \(config.modelType!) is not bert")
        }
        guard (config.positionEmbeddingType ?? "absolute") == "absolute" else {
            throw WeightError(url.path, "position_embedding_type \(config.positionEmbeddingType!) is not supported (only absolute)")
        }
        guard Activation.huggingFaceNames[config.activation] != nil else {
            throw WeightError(url.path, "hidden_act \(config.activation) is not supported")
        }
        guard config.layerNormEps > 0, config.layerNormEps < 1 else { throw WeightError(url.path, "layer_norm_eps \(config.layerNormEps) is implausible") }
        return config
    }
}

/// Where a Hugging Face BertModel's tensors are (`BertModel.state_dict()`; a `BertForMaskedLM` /
/// `BertForSequenceClassification` checkpoint scopes them under `bert.`).
public enum BertTensor: Hashable, Sendable {
    case wordEmbeddings, positionEmbeddings, tokenTypeEmbeddings, embeddingNorm, positionIDs
    case query, key, value, attentionOut, attentionNorm, ffnUp, ffnDown, ffnNorm
    case pooler

    public static let huggingFace = TensorNames<BertTensor>(format: "safetensors", [
        .wordEmbeddings: "embeddings.word_embeddings.weight", .positionEmbeddings: "embeddings.position_embeddings.weight",
        .tokenTypeEmbeddings: "embeddings.token_type_embeddings.weight", .embeddingNorm: "embeddings.LayerNorm",
        .positionIDs: "embeddings.position_ids",
        .query: "encoder.layer.%d.attention.self.query", .key: "encoder.layer.%d.attention.self.key",
        .value: "encoder.layer.%d.attention.self.value", .attentionOut: "encoder.layer.%d.attention.output.dense",
        .attentionNorm: "encoder.layer.%d.attention.output.LayerNorm",
        .ffnUp: "encoder.layer.%d.intermediate.dense", .ffnDown: "encoder.layer.%d.output.dense",
        .ffnNorm: "encoder.layer.%d.output.LayerNorm",
        .pooler: "pooler.dense",
    ])
}

public final class BertModel {
    public let config: BertConfig
    let wordEmbeddings: Tensor       // (vocab, hidden)
    let positionEmbeddings: Tensor   // (maxPositions, hidden)
    let tokenType0: Tensor           // (hidden): row 0 of the token-type table (one-sentence input)
    let embeddingNorm: Norm
    let blocks: [PostNormBlock]
    let scratch = Scratch()

    init(config: BertConfig, wordEmbeddings: Tensor, positionEmbeddings: Tensor, tokenType0: Tensor,
         embeddingNorm: Norm, blocks: [PostNormBlock]) {
        self.config = config; self.wordEmbeddings = wordEmbeddings; self.positionEmbeddings = positionEmbeddings
        self.tokenType0 = tokenType0; self.embeddingNorm = embeddingNorm; self.blocks = blocks
    }

    /// Token ids of `batch` sequences → last hidden states (batch, length, hidden), `length` the
    /// longest sequence; shorter ones are padded and masked out of attention (their padding rows
    /// are left as whatever the layers make of them: poolers read the first `ids[b].count` rows).
    /// Ids must be < vocabularySize and sequences 1…maxPositions long (`TextEmbedder` checks).
    public func callAsFunction(_ ids: [[Int]]) -> Tensor {
        let d = config.hiddenSize, batch = ids.count, length = ids.map(\.count).max() ?? 0
        precondition(batch > 0 && length > 0 && length <= config.maxPositions && ids.allSatisfy { !$0.isEmpty })
        let x = Tensor(zeros: [batch, length, d])
        for (b, sequence) in ids.enumerated() {
            for (t, id) in sequence.enumerated() {
                precondition(id >= 0 && id < config.vocabularySize, "token id \(id) outside the vocabulary")
                let row = x.data + (b * length + t) * d
                row.update(from: wordEmbeddings.data + id * d, count: d)
                Kernels.add(row, positionEmbeddings.data + t * d, count: d)
                Kernels.add(row, tokenType0.data, count: d)
            }
        }
        embeddingNorm(x.data, rows: batch * length, into: x.data)
        let lengths = ids.map(\.count)
        for block in blocks { block(x.data, batch: batch, length: length, validLengths: lengths, scratch: scratch) }
        return x
    }
}

// MARK: Loading

extension BertModel {
    /// Loads `model.safetensors` + `config.json` from `directory` (the weights' shapes checked against
    /// the config; every tensor used or explained).
    public static func load(directory: URL) throws -> BertModel {
        let config = try BertConfig.load(directory.appendingPathComponent("config.json"))
        let weights = directory.appendingPathComponent("model.safetensors")
        let file = try SafetensorsReader.read(path: weights.path)
        let names = file.contains(BertTensor.huggingFace.weight(.embeddingNorm))
            ? BertTensor.huggingFace : BertTensor.huggingFace.scoped("bert.")
        return try build(from: file, names: names, config: config)
    }

    static func build(from source: TensorSource, names n: TensorNames<BertTensor>, config c: BertConfig) throws -> BertModel {
        let d = c.hiddenSize, activation = Activation.huggingFaceNames[c.activation]!
        // The hidden size the file was trained with, named in the message when the config disagrees.
        if let shape = source.shape(of: n.name(.wordEmbeddings)), shape.count == 2, shape[1] != d {
            throw WeightError(source.path, "config.json says hidden_size \(d), but \(n.name(.wordEmbeddings)) is \(shape) "
                              + "(hidden size \(shape[1])): config and weights are of different models")
        }
        func linear(_ role: BertTensor, _ layer: Int, out: Int, in k: Int) throws -> Linear {
            try source.linear(n, role, layer: layer, out: out, in: k, bias: true)
        }
        func norm(_ role: BertTensor, _ layer: Int?) throws -> Norm {
            try source.norm(n, role, layer: layer, width: d, eps: c.layerNormEps)
        }
        let blocks = try (0..<c.layers).map { i -> PostNormBlock in
            let attention = SelfAttention(
                projection: .separate(query: try linear(.query, i, out: d, in: d), key: try linear(.key, i, out: d, in: d),
                                      value: try linear(.value, i, out: d, in: d)),
                out: try linear(.attentionOut, i, out: d, in: d), heads: c.heads, kvHeads: c.heads, headDim: c.headDim, rope: nil)
            let ffn = FeedForward(up: try linear(.ffnUp, i, out: c.intermediateSize, in: d),
                                  down: try linear(.ffnDown, i, out: d, in: c.intermediateSize), activation: activation)
            return PostNormBlock(attention: attention, attentionNorm: try norm(.attentionNorm, i), ffn: ffn, ffnNorm: try norm(.ffnNorm, i))
        }
        let types = try source.tensor(n.name(.tokenTypeEmbeddings), shape: [c.typeVocabularySize, d])
        let model = BertModel(
            config: c,
            wordEmbeddings: try source.tensor(n.name(.wordEmbeddings), shape: [c.vocabularySize, d]),
            positionEmbeddings: try source.tensor(n.name(.positionEmbeddings), shape: [c.maxPositions, d]),
            tokenType0: firstRow(of: types), embeddingNorm: try norm(.embeddingNorm, nil), blocks: blocks)
        // position_ids (a buffer, 0…maxPositions−1) is only information: check it says the usual thing.
        if source.contains(n.name(.positionIDs)) {
            let ids = try source.tensor(n.name(.positionIDs), shape: nil)
            guard ids.count == c.maxPositions, (0..<ids.count).allSatisfy({ ids.data[$0] == Float($0) }) else {
                throw WeightError(source.path, "\(n.name(.positionIDs)) is not 0…\(c.maxPositions - 1)")
            }
        }
        // BERT's pooler (tanh(dense(h[CLS]))) is not part of sentence embeddings: mean pooling replaces it.
        source.markExplained([n.weight(.pooler), n.bias(.pooler)].filter(source.contains))
        try source.requireAllUsed(by: "a BERT encoder")
        return model
    }

    private static func firstRow(of table: Tensor) -> Tensor {
        let d = table.shape[1], row = Tensor(zeros: [d])
        row.data.update(from: table.data, count: d)
        return row
    }
}
