// Llama-family decoder (Llama 2/3, SmolLM2, Qwen2/2.5) from GGUF, on the shared core.
// Reference: llama.cpp src/models/llama.cpp and qwen2.cpp; HF modeling_llama.py.
// Weights stay in their GGUF block types (Q4_1, Q5_0, Q4_K, …); products run on the quantized
// blocks (QuantizedMatrix). Norm weights and biases are small and converted to float32.

import Foundation
import Tensors
import TransformerCore
import Weights

public struct LlamaConfig: Codable, Sendable, Equatable {
    public var architecture: String
    public var vocabularySize: Int
    public var contextLength: Int
    public var dim: Int
    public var layers: Int
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int
    public var ffnDim: Int
    public var normEps: Float
    public var ropeBase: Float
    public var ropeDimensions: Int
    /// llama GGUFs rotate adjacent pairs; qwen2 rotates halves (llama.cpp's NORM vs NEOX).
    public var ropeInterleaved: Bool
}

public final class LlamaModel {
    public let config: LlamaConfig
    let embeddings: QuantizedMatrix       // (vocab, dim)
    let blocks: [SelfAttentionBlock]
    let norm: Norm
    let output: Linear                    // (vocab, dim); the embeddings when tied
    let scratch = Scratch()

    init(config: LlamaConfig, embeddings: QuantizedMatrix, blocks: [SelfAttentionBlock], norm: Norm, output: Linear) {
        self.config = config; self.embeddings = embeddings; self.blocks = blocks; self.norm = norm; self.output = output
    }

    public static let supportedArchitectures = ["llama", "qwen2"]

    public static func load(_ file: GGUFFile) throws -> LlamaModel {
        let path = file.path
        guard let arch = file.metadata["general.architecture"]?.string else {
            throw WeightError(path, "general.architecture is missing")
        }
        guard supportedArchitectures.contains(arch) else {
            throw WeightError(path, "architecture '\(arch)' is not supported (supported: \(supportedArchitectures.joined(separator: ", ")))")
        }
        func int(_ key: String, _ fallback: Int? = nil) throws -> Int {
            if let v = file.metadata["\(arch).\(key)"]?.int { return v }
            if let fallback { return fallback }
            throw WeightError(path, "metadata \(arch).\(key) is missing")
        }
        func float(_ key: String, _ fallback: Float) -> Float { file.metadata["\(arch).\(key)"]?.float ?? fallback }
        let dim = try int("embedding_length"), heads = try int("attention.head_count")
        guard let embedInfo = file.tensors["token_embd.weight"], embedInfo.dims.count == 2 else {
            throw WeightError(path, "token_embd.weight is missing or not 2-D")
        }
        let headDim = try int("attention.key_length", dim / max(heads, 1))
        let config = LlamaConfig(
            architecture: arch, vocabularySize: embedInfo.dims[1], contextLength: try int("context_length"),
            dim: dim, layers: try int("block_count"), heads: heads, kvHeads: try int("attention.head_count_kv", heads),
            headDim: headDim, ffnDim: try int("feed_forward_length"),
            normEps: float("attention.layer_norm_rms_epsilon", 1e-5), ropeBase: float("rope.freq_base", 10_000),
            ropeDimensions: try int("rope.dimension_count", headDim), ropeInterleaved: arch == "llama")
        // Each size from the file within 1…2^24 before any product or allocation uses it.
        try checkSizes([("embedding_length", dim), ("attention.head_count", heads),
                        ("attention.head_count_kv", config.kvHeads), ("attention.key_length", headDim),
                        ("feed_forward_length", config.ffnDim), ("context_length", config.contextLength),
                        ("block_count", config.layers), ("rope.dimension_count", config.ropeDimensions)],
                       source: path, prefix: "metadata \(arch).")
        guard config.layers > 0, config.heads > 0, config.kvHeads > 0, config.heads % config.kvHeads == 0,
              config.ropeDimensions <= headDim, config.ropeDimensions % 2 == 0 else {
            throw WeightError(path, "inconsistent dimensions \(config)")
        }
        let names = LlamaTensor.gguf
        let model = try build(from: file, names: names, config: config, tiedWhenNoOutput: true)
        // llama 3's rope_freqs (long-context scaling) is not used by the supported models
        file.markExplained(file.tensorNames.filter { $0.hasSuffix(names.weight(.ropeFrequencies)) })
        try file.requireAllUsed(by: arch)
        return model
    }

    /// The decoder from any source whose tensors `names` locates, sized by `config`. Weights stay
    /// as the file stores them (GGUF blocks; float32 otherwise); biases are read where present
    /// (qwen2's q/k/v). The output projection is `names`' `.output`, or the embeddings when absent
    /// and `tiedWhenNoOutput`.
    static func build(from source: TensorSource, names n: TensorNames<LlamaTensor>, config: LlamaConfig,
                      tiedWhenNoOutput: Bool) throws -> LlamaModel {
        let d = config.dim, hd = config.headDim, q = config.heads * hd, kv = config.kvHeads * hd, f = config.ffnDim
        func linear(_ role: LlamaTensor, _ layer: Int?, out: Int, in k: Int) throws -> Linear {
            try source.linear(n, role, layer: layer, out: out, in: k, storage: .asStored)
        }
        func rms(_ role: LlamaTensor, _ layer: Int?) throws -> Norm {
            try source.norm(n, role, layer: layer, width: d, kind: .rmsNorm, eps: config.normEps)
        }
        let rope = Rope(layout: config.ropeInterleaved ? .interleaved : .halves, dimensions: config.ropeDimensions,
                        base: config.ropeBase)
        let blocks = try (0..<config.layers).map { i -> SelfAttentionBlock in
            let attention = SelfAttention(
                projection: .separate(query: try linear(.query, i, out: q, in: d), key: try linear(.key, i, out: kv, in: d),
                                      value: try linear(.value, i, out: kv, in: d)),
                out: try linear(.attentionOut, i, out: d, in: q),
                heads: config.heads, kvHeads: config.kvHeads, headDim: hd, rope: rope)
            let ffn = FeedForward(up: try linear(.ffnUp, i, out: f, in: d), gate: try linear(.ffnGate, i, out: f, in: d),
                                  down: try linear(.ffnDown, i, out: d, in: f), activation: .silu)
            return SelfAttentionBlock(attentionNorm: try rms(.attentionNorm, i), attention: attention,
                                    ffnNorm: try rms(.ffnNorm, i), ffn: ffn)
        }
        let table = try source.storedMatrix(n.weight(.tokenEmbedding), rows: config.vocabularySize, cols: d)
        let output: Linear
        if source.contains(n.weight(.output)) {
            output = try linear(.output, nil, out: config.vocabularySize, in: d)
        } else if tiedWhenNoOutput {
            switch table {
            case .dense(let t): output = Linear(weight: t, bias: nil)
            case .blocks(let m): output = Linear(quantized: m, bias: nil)
            }
        } else {
            throw WeightError(source.path, "missing tensor \(n.weight(.output)) (the config does not tie word embeddings)")
        }
        return LlamaModel(config: config, embeddings: try table.rowMatrix(), blocks: blocks, norm: try rms(.outputNorm, nil),
                          output: output)
    }

    /// A cache for `slots` sequences of up to `maxLength` tokens, float16 like llama.cpp's default
    /// (`.float32` for parity with Hugging Face's float32 runs).
    public func makeCache(slots: Int, maxLength: Int, precision: KVCache.Precision = .float16) -> KVCache {
        KVCache(layers: config.layers, slots: slots, maxLength: min(maxLength, config.contextLength),
                dim: config.kvHeads * config.headDim, precision: precision)
    }

    /// Token embeddings of `tokens` into `x` (tokens.count, dim).
    public func embed(_ tokens: [Int], into x: UnsafeMutablePointer<Float>) {
        let d = config.dim
        for (r, t) in tokens.enumerated() { embeddings.dequantizeRow(t, into: x + r * d) }
    }

    /// Runs `tokens` (row r: token at `positions[r]` of cache slot `slots[r]`) and returns logits
    /// (logitRows.count, vocab) for the listed rows.
    public func forward(tokens: [Int], slots: [Int], positions: [Int], cache: KVCache, logitRows: [Int]) -> Tensor {
        let x = scratch.buffer(.hiddenStates, tokens.count * config.dim)
        embed(tokens, into: x)
        return forward(embeddings: x, rows: tokens.count, slots: slots, positions: positions, cache: cache, logitRows: logitRows)
    }

    /// The same from input embeddings x (rows, dim) — a VLM's token embeddings with image
    /// features spliced in; x is overwritten.
    public func forward(embeddings x: UnsafeMutablePointer<Float>, rows: Int, slots: [Int], positions: [Int], cache: KVCache,
                        logitRows: [Int]) -> Tensor {
        let d = config.dim
        for (layer, block) in blocks.enumerated() {
            block(x, rows: rows, slots: slots, positions: positions, cache: cache, layer: layer, scratch: scratch)
        }
        return selectedRowLogits(x, dim: d, logitRows: logitRows, norm: norm, output: output,
                                 vocabulary: config.vocabularySize, scratch: scratch)
    }
}
