// Pre-norm transformer blocks (GPT-2 / Whisper / Llama style):
//   encoder:      x += SelfAttn(N(x)); x += FFN(N(x))
//   decoder:      x += CausalSelfAttn(N(x)); x += CrossAttn(N(x), memory); x += FFN(N(x))
//   decoder-only: x += CausalSelfAttn(N(x)); x += FFN(N(x))          (Llama, Qwen2)

import Tensors

public struct EncoderBlock {
    public let attentionNorm: Norm
    public let attention: SelfAttention
    public let ffnNorm: Norm
    public let ffn: FeedForward

    public init(attentionNorm: Norm, attention: SelfAttention, ffnNorm: Norm, ffn: FeedForward) {
        self.attentionNorm = attentionNorm; self.attention = attention; self.ffnNorm = ffnNorm; self.ffn = ffn
    }

    /// x (batch·length, dim), updated in place.
    public func callAsFunction(_ x: UnsafeMutablePointer<Float>, batch: Int, length: Int, scratch: Scratch) {
        let rows = batch * length, d = attention.dim
        let normed = scratch.buffer(.normed, rows * d), delta = scratch.buffer(.residualDelta, rows * d)
        attentionNorm(x, rows: rows, into: normed)
        attention.encode(normed, batch: batch, length: length, into: delta, scratch: scratch)
        Kernels.add(x, delta, count: rows * d)
        ffn.residual(x, rows: rows, norm: ffnNorm, scratch: scratch)
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
        let normed = scratch.buffer(.normed, rows * d), delta = scratch.buffer(.residualDelta, rows * d)
        selfAttentionNorm(x, rows: rows, into: normed)
        selfAttention.decode(normed, rows: rows, slots: slots, positions: positions, cache: cache, layer: layer,
                             into: delta, scratch: scratch)
        Kernels.add(x, delta, count: rows * d)
        crossAttentionNorm(x, rows: rows, into: normed)
        crossAttention(normed, rows: rows, memory: memory, windowOfRow: windowOfRow, into: delta, scratch: scratch,
                       keepScores: keepCrossScores)
        Kernels.add(x, delta, count: rows * d)
        ffn.residual(x, rows: rows, norm: ffnNorm, scratch: scratch)
    }
}

public struct DecoderOnlyBlock {
    public let attentionNorm: Norm
    public let attention: SelfAttention
    public let ffnNorm: Norm
    public let ffn: FeedForward

    public init(attentionNorm: Norm, attention: SelfAttention, ffnNorm: Norm, ffn: FeedForward) {
        self.attentionNorm = attentionNorm; self.attention = attention; self.ffnNorm = ffnNorm; self.ffn = ffn
    }

    /// x (rows, dim) in place; see `SelfAttention.decode` for the meaning of slots and positions.
    public func callAsFunction(_ x: UnsafeMutablePointer<Float>, rows: Int, slots: [Int], positions: [Int],
                               cache: KVCache, layer: Int, scratch: Scratch) {
        let d = attention.dim
        let normed = scratch.buffer(.normed, rows * d), delta = scratch.buffer(.residualDelta, rows * d)
        attentionNorm(x, rows: rows, into: normed)
        attention.decode(normed, rows: rows, slots: slots, positions: positions, cache: cache, layer: layer,
                         into: delta, scratch: scratch)
        Kernels.add(x, delta, count: rows * d)
        ffn.residual(x, rows: rows, norm: ffnNorm, scratch: scratch)
    }
}

extension FeedForward {
    /// x += FFN(norm(x)) over (rows, dim), in the blocks' scratch slots 8–10.
    func residual(_ x: UnsafeMutablePointer<Float>, rows: Int, norm: Norm, scratch: Scratch) {
        let d = down.outFeatures
        let normed = scratch.buffer(.normed, rows * d), delta = scratch.buffer(.residualDelta, rows * d)
        norm(x, rows: rows, into: normed)
        self(normed, rows: rows, into: delta, hidden: scratch.buffer(.feedForwardHidden, rows * hiddenWidth))
        Kernels.add(x, delta, count: rows * d)
    }
}
