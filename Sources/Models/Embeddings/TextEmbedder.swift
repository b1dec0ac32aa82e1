// A sentence-transformers model directory as one text → vector function: WordPiece tokenizer,
// BERT encoder, pooling, optional L2 normalization — the modules `modules.json` lists
// (Transformer → Pooling → Normalize for all-MiniLM-L6-v2), with `max_seq_length` from
// `sentence_bert_config.json`.

import Foundation
import Tensors
import Tokenizers
import Weights

public final class TextEmbedder {
    public enum Pooling: String, Sendable { case mean, cls }

    public let model: BertModel
    public let tokenizer: WordPieceTokenizer
    public let pooling: Pooling
    public let normalizes: Bool
    /// Ids per text, [CLS] and [SEP] included; longer texts are cut (sentence-transformers' truncation).
    public let maxSequenceLength: Int
    public var dimension: Int { model.config.hiddenSize }

    /// The default sentence embedder's catalog name.
    public static let defaultModelName = "all-minilm-l6-v2"

    public init(model: BertModel, tokenizer: WordPieceTokenizer, pooling: Pooling, normalizes: Bool, maxSequenceLength: Int) {
        self.model = model; self.tokenizer = tokenizer; self.pooling = pooling; self.normalizes = normalizes
        self.maxSequenceLength = min(max(maxSequenceLength, 2), model.config.maxPositions)
    }

    /// A sentence-transformers folder (or a plain Hugging Face BERT folder: mean pooling, no
    /// normalization, up to max_position_embeddings tokens).
    public static func load(directory: URL) throws -> TextEmbedder {
        let model = try BertModel.load(directory: directory)
        let tokenizer = try WordPieceTokenizer(contentsOf: directory.appendingPathComponent("tokenizer.json"))
        guard tokenizer.vocabularySize <= model.config.vocabularySize else {
            throw WeightError(directory.path, "tokenizer.json has \(tokenizer.vocabularySize) tokens, the model's vocab_size is \(model.config.vocabularySize)")
        }
        let modules = try json(directory, "modules.json") as? [[String: Any]]
        let types = modules?.compactMap { $0["type"] as? String } ?? []
        let known = ["sentence_transformers.models.Transformer", "sentence_transformers.models.Pooling", "sentence_transformers.models.Normalize"]
        if let unknown = types.first(where: { !known.contains($0) }) {
            throw WeightError(directory.path, "modules.json lists \(unknown), which Hearth does not run")
        }
        let poolingFolder = modules?.first { $0["type"] as? String == known[1] }?["path"] as? String ?? "1_Pooling"
        var pooling = Pooling.mean
        if let config = try json(directory, poolingFolder + "/config.json") as? [String: Any] {
            let modes = ["pooling_mode_mean_tokens", "pooling_mode_cls_token", "pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens",
                         "pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken"].filter { config[$0] as? Bool == true }
            switch modes {
            case ["pooling_mode_mean_tokens"]: pooling = .mean
            case ["pooling_mode_cls_token"]: pooling = .cls
            default: throw WeightError(directory.path, "\(poolingFolder)/config.json asks for pooling \(modes); Hearth pools by mean or [CLS] alone")
            }
            if let width = config["word_embedding_dimension"] as? Int, width != model.config.hiddenSize {
                throw WeightError(directory.path, "\(poolingFolder)/config.json pools \(width)-wide tokens, the encoder makes \(model.config.hiddenSize)")
            }
        }
        let sentenceConfig = try json(directory, "sentence_bert_config.json") as? [String: Any]
        return TextEmbedder(model: model, tokenizer: tokenizer, pooling: pooling, normalizes: types.contains(known[2]),
                            maxSequenceLength: sentenceConfig?["max_seq_length"] as? Int ?? model.config.maxPositions)
    }

    private static func json(_ directory: URL, _ name: String) throws -> Any? {
        let url = directory.appendingPathComponent(name)
        guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
        do { return try JSONSerialization.jsonObject(with: data) } catch { throw WeightError(url.path, "not valid JSON") }
    }

    /// The ids the encoder sees for `text`: [CLS] … [SEP], at most `maxSequenceLength`.
    public func tokenIDs(_ text: String) -> [Int] { tokenizer.encodeForModel(text, maxLength: maxSequenceLength) }

    /// One vector per text, in order; texts go through the encoder `batchSize` at a time, grouped
    /// by length so little is padded.
    public func embed(_ texts: [String], batchSize: Int = 32) -> [[Float]] {
        let ids = texts.map(tokenIDs)
        let order = ids.indices.sorted { ids[$0].count < ids[$1].count }
        var vectors = [[Float]](repeating: [], count: texts.count)
        let d = dimension
        for start in stride(from: 0, to: order.count, by: max(1, batchSize)) {
            let members = Array(order[start..<min(order.count, start + max(1, batchSize))])
            let batch = members.map { ids[$0] }
            let hidden = model(batch)   // (batch, length, d)
            let length = hidden.shape[1]
            for (b, index) in members.enumerated() {
                let rows = hidden.data + b * length * d
                var v = [Float](repeating: 0, count: d)
                switch pooling {
                case .cls: for j in 0..<d { v[j] = rows[j] }
                case .mean:
                    let n = batch[b].count
                    for t in 0..<n { for j in 0..<d { v[j] += rows[t * d + j] } }
                    for j in 0..<d { v[j] /= Float(n) }
                }
                if normalizes { Self.normalize(&v) }
                vectors[index] = v
            }
        }
        return vectors
    }

    /// v / max(‖v‖, 1e-12) (torch.nn.functional.normalize).
    public static func normalize(_ v: inout [Float]) {
        let norm = max(v.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
        for j in v.indices { v[j] /= norm }
    }
}
