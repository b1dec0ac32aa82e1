// SigLIP vision transformer as Idefics3 uses it, on the shared core: patch embedding (a
// stride-p convolution, done as one GEMM over patchified pixels), learned position embeddings
// looked up by Idefics3's fractional-coordinate buckets, pre-norm encoder blocks (LayerNorm,
// bidirectional attention with biases, tanh-GELU MLP), post-LayerNorm.
// Reference: transformers models/idefics3/modeling_idefics3.py (Idefics3VisionEmbeddings,
// Idefics3EncoderLayer, Idefics3VisionTransformer); llama.cpp tools/mtmd/clip.cpp (build_siglip).

import Foundation
import Tensors
import TransformerCore
import Weights

public final class SigLIPVisionModel {
    public let config: SigLIPVisionConfig
    /// Conv weight (hidden, 3, p, p) viewed as (hidden, 3·p·p), with its bias.
    let patchEmbedding: Linear
    let positions: Tensor          // (patchesPerSide², hidden)
    let blocks: [SelfAttentionBlock]
    let postNorm: Norm
    let scratch = Scratch()

    init(config: SigLIPVisionConfig, patchEmbedding: Linear, positions: Tensor, blocks: [SelfAttentionBlock], postNorm: Norm) {
        self.config = config; self.patchEmbedding = patchEmbedding; self.positions = positions
        self.blocks = blocks; self.postNorm = postNorm
    }

    /// Position-table rows for a full tile of `side` × `side` patches: Idefics3 buckets each
    /// patch's fractional coordinate i/side into the table's patchesPerSide cells (float32 as
    /// torch computes it); for side == patchesPerSide this is 0, 1, 2, ….
    static func positionIDs(side: Int, patchesPerSide n: Int) -> [Int] {
        // boundaries = torch.arange(1/n, 1.0, 1/n): start + i·step in double, stored as float32
        let step = 1.0 / Double(n)
        let count = Int(((1.0 - step) / step).rounded(.up))
        let boundaries = (0..<max(count, 0)).map { Float(step + Double($0) * step) }
        let stepSide = Float(1) / Float(side)
        let bucket: [Int] = (0..<side).map { i in
            let f = min(Float(i) * stepSide, Float(1.0 - 1e-6))
            return boundaries.reduce(0) { $0 + ($1 <= f ? 1 : 0) }   // bucketize(right=True)
        }
        var ids: [Int] = []
        ids.reserveCapacity(side * side)
        for h in 0..<side { for w in 0..<side { ids.append(bucket[h] * n + bucket[w]) } }
        return ids
    }

    /// pixels (tiles, 3, side, side), channels first → hidden states (tiles, (side/p)², hidden),
    /// all tiles through each layer together.
    public func callAsFunction(_ pixels: UnsafePointer<Float>, tiles: Int, side: Int) -> Tensor {
        let p = config.patchSize, grid = side / p, length = grid * grid, d = config.hiddenSize
        let rows = tiles * length, k = 3 * p * p
        // Patchify: row (tile, py, px), column (channel, ky, kx) — the conv weight's layout.
        let columns = scratch.buffer(.convColumns, rows * k)
        for t in 0..<tiles {
            let image = pixels + t * 3 * side * side
            for py in 0..<grid {
                for px in 0..<grid {
                    let row = columns + ((t * grid + py) * grid + px) * k
                    for c in 0..<3 {
                        for ky in 0..<p {
                            (row + (c * p + ky) * p).update(from: image + (c * side + py * p + ky) * side + px * p, count: p)
                        }
                    }
                }
            }
        }
        let x = Tensor(zeros: [tiles, length, d])
        patchEmbedding(columns, rows: rows, into: x.data)
        let ids = Self.positionIDs(side: grid, patchesPerSide: config.patchesPerSide)
        for t in 0..<tiles {
            for (i, id) in ids.enumerated() { Kernels.add(x.data + (t * length + i) * d, positions.data + id * d, count: d) }
        }
        for block in blocks { block(x.data, batch: tiles, length: length, scratch: scratch) }
        postNorm(x.data, rows: rows, into: x.data)
        return x
    }
}

/// Idefics3's connector: pixel shuffle (scale² neighbouring patches concatenated into one token),
/// then a bias-free projection into the language model's width.
/// Reference: modeling_idefics3.py Idefics3Connector.pixel_shuffle / Idefics3SimpleMLP.
public struct Idefics3Connector {
    public let scaleFactor: Int
    let projection: Linear         // (textHidden, visionHidden·scale²)

    /// x (tiles, side·side, e) → (tiles, (side/s)², e·s²):
    /// out[tile, h1·(side/s) + w1, (hr·s + wr)·e + j] = x[tile, (h1·s + hr)·side + w1·s + wr, j].
    public static func pixelShuffle(_ x: UnsafePointer<Float>, tiles: Int, side: Int, width e: Int, scale s: Int,
                                    into out: UnsafeMutablePointer<Float>) {
        let outSide = side / s, outWidth = e * s * s
        for t in 0..<tiles {
            for h1 in 0..<outSide {
                for w1 in 0..<outSide {
                    let dst = out + (t * outSide * outSide + h1 * outSide + w1) * outWidth
                    for hr in 0..<s {
                        for wr in 0..<s {
                            let src = x + (t * side * side + (h1 * s + hr) * side + w1 * s + wr) * e
                            (dst + (hr * s + wr) * e).update(from: src, count: e)
                        }
                    }
                }
            }
        }
    }

    /// Vision states (tiles, side², e) → language-model embeddings (tiles·(side/s)², textHidden).
    public func callAsFunction(_ states: Tensor, tiles: Int, side: Int) -> Tensor {
        let e = states.shape[2], s = scaleFactor, tokens = tiles * (side / s) * (side / s)
        let shuffled = Tensor(zeros: [tokens, e * s * s])
        states.withData { Self.pixelShuffle($0, tiles: tiles, side: side, width: e, scale: s, into: shuffled.data) }
        let out = Tensor(zeros: [tokens, projection.outFeatures])
        projection(shuffled.data, rows: tokens, into: out.data)
        return out
    }
}

// MARK: Loading

extension SigLIPVisionModel {
    /// The tower from any source whose tensors `names` locates (float32: encoders batch every
    /// patch of every tile through BLAS), sized by `config`.
    static func build(from source: TensorSource, names n: TensorNames<SigLIPTensor>, config v: SigLIPVisionConfig) throws -> SigLIPVisionModel {
        guard let activation = Activation.huggingFaceNames[v.activation] else {
            throw WeightError(source.path, "vision hidden_act '\(v.activation)' is not supported")
        }
        let e = v.hiddenSize, p = v.patchSize
        func linear(_ role: SigLIPTensor, _ layer: Int, out: Int, in k: Int) throws -> Linear {
            try source.linear(n, role, layer: layer, out: out, in: k, bias: true)
        }
        func norm(_ role: SigLIPTensor, _ layer: Int?) throws -> Norm {
            try source.norm(n, role, layer: layer, width: e, eps: v.layerNormEps)
        }
        let blocks = try (0..<v.layers).map { i -> SelfAttentionBlock in
            let attention = SelfAttention(
                projection: .separate(query: try linear(.query, i, out: e, in: e), key: try linear(.key, i, out: e, in: e),
                                      value: try linear(.value, i, out: e, in: e)),
                out: try linear(.attentionOut, i, out: e, in: e), heads: v.heads, kvHeads: v.heads, headDim: v.headDim, rope: nil)
            let ffn = FeedForward(up: try linear(.ffnUp, i, out: v.intermediateSize, in: e),
                                  down: try linear(.ffnDown, i, out: e, in: v.intermediateSize), activation: activation)
            return SelfAttentionBlock(attentionNorm: try norm(.attentionNorm, i), attention: attention, ffnNorm: try norm(.ffnNorm, i), ffn: ffn)
        }
        let conv = try source.tensor(n.weight(.patchEmbedding), shape: [e, 3, p, p])
        return SigLIPVisionModel(
            config: v,
            patchEmbedding: Linear(weight: Tensor(viewing: conv, shape: [e, 3 * p * p]),
                                   bias: try source.tensor(n.bias(.patchEmbedding), shape: [e])),
            positions: try source.tensor(n.name(.positions), shape: [v.patchesPerSide * v.patchesPerSide, e]),
            blocks: blocks, postNorm: try norm(.postNorm, nil))
    }
}
