// Weights converted once at load, for a compute type. Two int8 forms:
//  - `.blocks`: q8_0 (one fp16 scale per 32 values) read by Hearth's own integer kernels
//    (CKernels/quant.c) — for bandwidth-bound products of a few rows (decoding steps);
//  - `.rows`: int8 rows with one scale per group of ≤ 384 values on oneDNN's integer GEMM
//    (CKernels/int8gemm.c) — for
//    products of many rows (encoders), where oneDNN's VNNI kernels beat float32 BLAS several times.
//    Without AVX-512 VNNI, `.rows` falls back to `.blocks` (exact integer sums on every CPU).
// Layers that cannot convert (already quantized, widths that are not whole blocks) stay as they are.

import Tensors

/// Which int8 form a conversion uses.
public enum Int8Form: Sendable { case blocks, rows }

extension Linear {
    /// This layer with int8 weights in `form` (the bias stays float32).
    public func int8(_ form: Int8Form) -> Linear {
        guard case .dense(let w) = weights, inFeatures % 32 == 0 else { return self }
        if form == .rows && Int8Matrix.isAvailable { return Linear(int8: Int8Matrix(w, group: Self.int8Group(inFeatures)), bias: bias) }
        guard let q = try? QuantizedMatrix.q8_0(w) else { return self }
        return Linear(quantized: q, bias: bias)
    }
}

extension Linear {
    /// Scale groups of int8 rows: the largest multiple of 32 that divides `k` and is ≤ 384 (`k`
    /// itself when none is). On whisper-tiny.en (widths 384 and 1536: groups of 384) the
    /// 10.6-minute bench recording gave WER 11.36 % with these groups, 12.42 % with one scale per
    /// row (CTranslate2's scheme) and 12.27 % with groups of 128, float32 12.05 % (2026-12-05);
    /// smaller groups cost time (64: 1.5× the encoder's).
    static func int8Group(_ k: Int) -> Int {
        stride(from: min(384, k) / 32 * 32, to: 0, by: -32).first { k % $0 == 0 } ?? k
    }
}

extension QKVProjection {
    func int8(_ form: Int8Form) -> QKVProjection {
        switch self {
        case .fused(let l): return .fused(l.int8(form))
        case .separate(let q, let k, let v): return .separate(query: q.int8(form), key: k.int8(form), value: v.int8(form))
        }
    }
}

extension SelfAttention {
    public func int8(_ form: Int8Form) -> SelfAttention {
        SelfAttention(projection: projection.int8(form), out: out.int8(form), heads: heads, kvHeads: kvHeads,
                      headDim: headDim, rope: rope)
    }
}

extension CrossAttention {
    /// The per-token projections (query, out) in `form`; the keys and values of the encoder
    /// memory (one product over a whole window) in `memory`, or float32 when nil.
    public func int8(_ form: Int8Form, memory: Int8Form?) -> CrossAttention {
        CrossAttention(query: query.int8(form), keyValue: memory.map { keyValue.int8($0) } ?? keyValue,
                       out: out.int8(form), heads: heads)
    }
}

extension FeedForward {
    public func int8(_ form: Int8Form) -> FeedForward {
        FeedForward(up: up.int8(form), gate: gate?.int8(form), down: down.int8(form), activation: activation)
    }
}

extension DecoderBlock {
    /// With `form` nil, the block as it is.
    public func int8(_ form: Int8Form?, memory: Int8Form?) -> DecoderBlock {
        guard let form else { return self }
        return DecoderBlock(selfAttentionNorm: selfAttentionNorm, selfAttention: selfAttention.int8(form),
                     crossAttentionNorm: crossAttentionNorm, crossAttention: crossAttention.int8(form, memory: memory),
                     ffnNorm: ffnNorm, ffn: ffn.int8(form))
    }
}

extension SelfAttentionBlock {
    /// With `form` nil, the block as it is.
    public func int8(_ form: Int8Form?) -> SelfAttentionBlock {
        guard let form else { return self }
        return SelfAttentionBlock(attentionNorm: attentionNorm, attention: attention.int8(form), ffnNorm: ffnNorm, ffn: ffn.int8(form))
    }
}
