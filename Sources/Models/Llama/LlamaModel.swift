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
    let blocks: [DecoderOnlyBlock]
    let norm: Norm
    let output: Linear                    // (vocab, dim); the embeddings when tied
    let scratch = Scratch()

    init(config: LlamaConfig, embeddings: QuantizedMatrix, blocks: [DecoderOnlyBlock], norm: Norm, output: Linear) {
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
        let sizes: [(String, Int)] = [("embedding_length", dim), ("attention.head_count", heads),
                                      ("attention.head_count_kv", config.kvHeads), ("attention.key_length", headDim),
                                      ("feed_forward_length", config.ffnDim), ("context_length", config.contextLength),
                                      ("block_count", config.layers), ("rope.dimension_count", config.ropeDimensions)]
        for (key, value) in sizes where value <= 0 || value > 1 << 24 {
            throw WeightError(path, "metadata \(arch).\(key) = \(value) is out of range (1…\(1 << 24))")
        }
        guard config.layers > 0, config.heads > 0, config.kvHeads > 0, config.heads % config.kvHeads == 0,
              config.ropeDimensions <= headDim, config.ropeDimensions % 2 == 0 else {
            throw WeightError(path, "inconsistent dimensions \(config)")
        }
        let d = dim, q = heads * headDim, kv = config.kvHeads * headDim, f = config.ffnDim
        func linear(_ name: String, out: Int, in n: Int, bias: Bool = false) throws -> Linear {
            let b = file.tensors["\(name).bias"] != nil ? try file.tensor("\(name).bias", shape: [out]) : nil
            if bias && b == nil { throw WeightError(path, "\(name).bias is missing") }
            return Linear(quantized: try file.matrix("\(name).weight", rows: out, cols: n), bias: b)
        }
        func rms(_ name: String) throws -> Norm {
            Norm(gamma: try file.tensor(name, shape: [d]), beta: nil, kind: .rmsNorm, eps: config.normEps)
        }
        let rope = Rope(layout: config.ropeInterleaved ? .interleaved : .halves, dimensions: config.ropeDimensions,
                        base: config.ropeBase)
        let blocks = try (0..<config.layers).map { i -> DecoderOnlyBlock in
            let p = "blk.\(i)"
            let attention = SelfAttention(
                projection: .separate(query: try linear("\(p).attn_q", out: q, in: d),
                                      key: try linear("\(p).attn_k", out: kv, in: d),
                                      value: try linear("\(p).attn_v", out: kv, in: d)),
                out: try linear("\(p).attn_output", out: d, in: q),
                heads: heads, kvHeads: config.kvHeads, headDim: headDim, rope: rope)
            let ffn = FeedForward(up: try linear("\(p).ffn_up", out: f, in: d), gate: try linear("\(p).ffn_gate", out: f, in: d),
                                  down: try linear("\(p).ffn_down", out: d, in: f), activation: .silu)
            return DecoderOnlyBlock(attentionNorm: try rms("\(p).attn_norm.weight"), attention: attention,
                                    ffnNorm: try rms("\(p).ffn_norm.weight"), ffn: ffn)
        }
        let embeddings = try file.matrix("token_embd.weight", rows: config.vocabularySize, cols: d)
        let output = file.tensors["output.weight"] != nil
            ? try linear("output", out: config.vocabularySize, in: d)
            : Linear(quantized: embeddings, bias: nil)
        let model = LlamaModel(config: config, embeddings: embeddings, blocks: blocks, norm: try rms("output_norm.weight"),
                               output: output)
        let unused = file.unusedNames.filter { !$0.hasSuffix("rope_freqs.weight") }
        guard unused.isEmpty else { throw WeightError(path, "tensors not used by \(arch): \(unused.prefix(8).joined(separator: ", "))") }
        return model
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
        let x = scratch.buffer(14, tokens.count * config.dim)
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
        let selected = scratch.buffer(15, logitRows.count * d)
        for (i, r) in logitRows.enumerated() { (selected + i * d).update(from: x + r * d, count: d) }
        norm(selected, rows: logitRows.count, into: selected)
        let logits = Tensor(zeros: [logitRows.count, config.vocabularySize])
        output(selected, rows: logitRows.count, into: logits.data)
        return logits
    }
}
