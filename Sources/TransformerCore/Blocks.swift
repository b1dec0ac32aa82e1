// Pre-norm transformer blocks (GPT-2 / Whisper / Llama style):
//   encoder:      x += SelfAttn(N(x)); x += FFN(N(x))                    SelfAttentionBlock(batch:length:)
//   decoder:      x += CausalSelfAttn(N(x)); x += CrossAttn(N(x), memory); x += FFN(N(x))   DecoderBlock
//   decoder-only: x += CausalSelfAttn(N(x)); x += FFN(N(x))              SelfAttentionBlock(rows:slots:…) (Llama, Qwen2)
// Post-norm encoder block (original Transformer / BERT):
//   x = N₁(x + SelfAttn(x)); x = N₂(x + FFN(x))                          PostNormBlock

import Tensors

/// x += SelfAttn(N(x)); x += FFN(N(x)): the encoder's block (bidirectional over a batch of
/// sequences) and the decoder-only stack's (causal over cached positions) are the same weights.
public struct SelfAttentionBlock {
    public let attentionNorm: Norm
    public let attention: SelfAttention
    public let ffnNorm: Norm
    public let ffn: FeedForward

    public init(attentionNorm: Norm, attention: SelfAttention, ffnNorm: Norm, ffn: FeedForward) {
        self.attentionNorm = attentionNorm; self.attention = attention; self.ffnNorm = ffnNorm; self.ffn = ffn
    }

    /// x (batch·length, dim), updated in place.
    public func callAsFunction(_ x: UnsafeMutablePointer<Float>, batch: Int, length: Int, scratch: Scratch) {
        let rows = batch * length
        preNormResidual(x, rows: rows, dim: attention.dim, norm: attentionNorm, scratch: scratch) { normed, delta in
            attention.encode(normed, batch: batch, length: length, into: delta, scratch: scratch)
        }
        ffn.residual(x, rows: rows, norm: ffnNorm, scratch: scratch)
    }
}

/// x = N₁(x + SelfAttn(x)); x = N₂(x + FFN(x)): BERT's layer (transformers modeling_bert.py
/// BertLayer: BertSelfOutput / BertOutput apply LayerNorm(dense(h) + input)).
public struct PostNormBlock {
    public let attention: SelfAttention
    public let attentionNorm: Norm
    public let ffn: FeedForward
    public let ffnNorm: Norm

    public init(attention: SelfAttention, attentionNorm: Norm, ffn: FeedForward, ffnNorm: Norm) {
        self.attention = attention; self.attentionNorm = attentionNorm; self.ffn = ffn; self.ffnNorm = ffnNorm
    }

    /// x (batch·length, dim), updated in place; `validLengths` as `SelfAttention.encode` takes them.
    public func callAsFunction(_ x: UnsafeMutablePointer<Float>, batch: Int, length: Int, validLengths: [Int]? = nil,
                               scratch: Scratch) {
        let rows = batch * length, d = attention.dim
        let delta = scratch.buffer(.residualDelta, rows * d)
        attention.encode(x, batch: batch, length: length, validLengths: validLengths, into: delta, scratch: scratch)
        Kernels.add(x, delta, count: rows * d)
        attentionNorm(x, rows: rows, into: x)
        ffn(x, rows: rows, into: delta, hidden: scratch.buffer(.feedForwardHidden, rows * ffn.hiddenWidth))
        Kernels.add(x, delta, count: rows * d)
        ffnNorm(x, rows: rows, into: x)
    }
}

public struct DecoderBlock {
    public let selfAttentionNorm: Norm
    public let selfAttention: SelfAttention
    public let crossAttentionNorm: Norm
    public let crossAttention: CrossAttention
    public let ffnNorm: Norm
    public let ffn: FeedForward

    public init(selfAttentionNorm: Norm, selfAttention: SelfAttention, crossAttentionNorm: Norm,
                crossAttention: CrossAttention, ffnNorm: Norm, ffn: FeedForward) {
        self.selfAttentionNorm = selfAttentionNorm; self.selfAttention = selfAttention
        self.crossAttentionNorm = crossAttentionNorm; self.crossAttention = crossAttention
        self.ffnNorm = ffnNorm; self.ffn = ffn
    }

    /// x (rows, dim) in place; see `SelfAttention.decode` for the meaning of slots and positions.
    public func callAsFunction(_ x: UnsafeMutablePointer<Float>, rows: Int, slots: [Int], positions: [Int],
                               cache: KVCache, layer: Int, memory: Tensor, windowOfRow: [Int], scratch: Scratch,
                               keepCrossScores: CrossAttentionScores? = nil) {
        let d = selfAttention.dim
        preNormResidual(x, rows: rows, dim: d, norm: selfAttentionNorm, scratch: scratch) { normed, delta in
            selfAttention.decode(normed, rows: rows, slots: slots, positions: positions, cache: cache, layer: layer,
                                 into: delta, scratch: scratch)
        }
        preNormResidual(x, rows: rows, dim: d, norm: crossAttentionNorm, scratch: scratch) { normed, delta in
            crossAttention(normed, rows: rows, memory: memory, windowOfRow: windowOfRow, into: delta, scratch: scratch,
                           keepScores: keepCrossScores)
        }
        ffn.residual(x, rows: rows, norm: ffnNorm, scratch: scratch)
    }
}

extension SelfAttentionBlock {
    /// x (rows, dim) in place; see `SelfAttention.decode` for the meaning of slots and positions.
    public func callAsFunction(_ x: UnsafeMutablePointer<Float>, rows: Int, slots: [Int], positions: [Int],
                               cache: KVCache, layer: Int, scratch: Scratch) {
        preNormResidual(x, rows: rows, dim: attention.dim, norm: attentionNorm, scratch: scratch) { normed, delta in
            attention.decode(normed, rows: rows, slots: slots, positions: positions, cache: cache, layer: layer,
                             into: delta, scratch: scratch)
        }
        ffn.residual(x, rows: rows, norm: ffnNorm, scratch: scratch)
    }
}

extension FeedForward {
    /// x += FFN(norm(x)) over (rows, dim).
    func residual(_ x: UnsafeMutablePointer<Float>, rows: Int, norm: Norm, scratch: Scratch) {
        preNormResidual(x, rows: rows, dim: down.outFeatures, norm: norm, scratch: scratch) { normed, delta in
            self(normed, rows: rows, into: delta, hidden: scratch.buffer(.feedForwardHidden, rows * hiddenWidth))
        }
    }
}

/// x += sublayer(norm(x)) over (rows, dim): the pre-norm residual step every block above is made of.
/// The sublayer reads `normed` and writes `delta`, both (rows, dim) scratch buffers.
@inline(__always)
func preNormResidual(_ x: UnsafeMutablePointer<Float>, rows: Int, dim d: Int, norm: Norm, scratch: Scratch,
                     _ sublayer: (_ normed: UnsafeMutablePointer<Float>, _ delta: UnsafeMutablePointer<Float>) -> Void) {
    let normed = scratch.buffer(.normed, rows * d), delta = scratch.buffer(.residualDelta, rows * d)
    norm(x, rows: rows, into: normed)
    sublayer(normed, delta)
    Kernels.add(x, delta, count: rows * d)
}

/// Logits of the chosen rows of the last hidden state: copy them out, final norm, output projection.
/// x (rows, dim) → (logitRows.count, vocabulary). Decoders ask only for the rows they sample from.
public func selectedRowLogits(_ x: UnsafePointer<Float>, dim d: Int, logitRows: [Int], norm: Norm, output: Linear,
                              vocabulary: Int, scratch: Scratch) -> Tensor {
    let selected = scratch.buffer(.selectedRows, logitRows.count * d)
    for (i, r) in logitRows.enumerated() { (selected + i * d).update(from: x + r * d, count: d) }
    norm(selected, rows: logitRows.count, into: selected)
    let logits = Tensor(zeros: [logitRows.count, vocabulary])
    output(selected, rows: logitRows.count, into: logits.data)
    return logits
}
