// Multi-head attention: full (encoder), cached incremental (decoder self-attention) and
// cross-attention over precomputed encoder keys/values. Scores use 1/√headDim scaling,
// which equals Whisper's q·d^-¼, k·d^-¼ (openai/whisper model.py `qkv_attention`).

import CKernels
import Foundation
import Tensors

/// Grow-only scratch buffers, reused across calls so the hot loops never allocate.
public final class Scratch {
    /// A forward pass's working buffers, named by role. Each grows to the largest request it has
    /// seen and is reused by every layer (a layer finishes with a buffer before the next starts);
    /// shapes are per call. A model owns one Scratch, so two models never share a buffer.
    public enum Buffer: Int, CaseIterable {
        /// Self-attention: (rows, q | k | v) projections, (rows, heads·headDim) context,
        /// (length, length) or (maxLength) scores of one head.
        case qkv, attentionContext, attentionScores
        /// Cross-attention: (rows, dim) queries, keys/values gathered per row's window, context,
        /// grouped context, and (rows, length) scores.
        case crossQuery, crossGathered, crossContext, crossGroupContext, crossScores
        /// Pre-norm blocks: (rows, dim) normalised input and the sublayer's output before the
        /// residual add; (rows, hidden) feed-forward activations.
        case normed, residualDelta, feedForwardHidden
        /// Convolution stems (Whisper's encoder, SigLIP's patches): (frames, melBins) input
        /// transposed, (frames, width) hidden, im2col columns.
        case convInput, convHidden, convColumns
        /// Decoders: (rows, width) residual stream, and the (logitRows, width) rows whose logits
        /// are computed.
        case hiddenStates, selectedRows
    }

    private var buffers: [Tensor?] = Array(repeating: nil, count: Buffer.allCases.count)
    public init() {}
    /// Buffer `role` with room for at least `count` floats (contents undefined).
    public func buffer(_ role: Buffer, _ count: Int) -> UnsafeMutablePointer<Float> {
        if let b = buffers[role.rawValue], b.count >= count { return b.data }
        let b = Tensor(zeros: [max(count, 1)])
        buffers[role.rawValue] = b
        return b.data
    }
}

/// Per-layer key/value cache for decoder self-attention: (layers, slots, maxLength, dim) each.
/// A slot holds one sequence (one beam of one request).
public final class KVCache {
    /// `.float16` keeps ggml's semantics for an f16 cache (llama.cpp's default): keys and values are
    /// rounded to float16 when stored, and attention rounds queries and probabilities to float16
    /// before multiplying them with the cache, as ggml's f16 matrix products do.
    public enum Precision: Sendable { case float32, float16 }
    public let layers: Int, slots: Int, maxLength: Int, dim: Int
    public let precision: Precision
    public let keys: Tensor, values: Tensor

    public init(layers: Int, slots: Int, maxLength: Int, dim: Int, precision: Precision = .float32) {
        self.layers = layers; self.slots = slots; self.maxLength = maxLength; self.dim = dim; self.precision = precision
        keys = Tensor(zeros: [layers, slots, maxLength, dim])
        values = Tensor(zeros: [layers, slots, maxLength, dim])
    }

    @inline(__always) func offset(layer: Int, slot: Int, position: Int) -> Int {
        ((layer * slots + slot) * maxLength + position) * dim
    }

    /// Copies the first `length` positions of slot `from` into slot `to`, in every layer (beam reordering).
    public func copySlot(from: Int, to: Int, length: Int) {
        guard from != to, length > 0 else { return }
        for l in 0..<layers {
            let s = offset(layer: l, slot: from, position: 0), d = offset(layer: l, slot: to, position: 0)
            (keys.data + d).update(from: keys.data + s, count: length * dim)
            (values.data + d).update(from: values.data + s, count: length * dim)
        }
    }
}

/// Rotary position embedding (Su et al. 2021) applied to query/key heads in place.
/// `.interleaved` rotates pairs (x[2i], x[2i+1]) — llama.cpp's LLAMA_ROPE_TYPE_NORM, which GGUF
/// llama checkpoints expect; `.halves` rotates (x[i], x[i + d/2]) — GPT-NeoX / HF rotate_half,
/// used by qwen2 GGUFs.
public struct Rope: Sendable {
    public enum Layout: Sendable { case interleaved, halves }
    public let layout: Layout
    public let dimensions: Int      // rotated dims per head (≤ headDim)
    public let base: Float

    public init(layout: Layout, dimensions: Int, base: Float) {
        self.layout = layout; self.dimensions = dimensions; self.base = base
    }

    /// Rotates `heads` vectors of `headDim` at `x` (contiguous) for `position`. Angles are
    /// computed in float as ggml does (θ₀ = position, θᵢ₊₁ = θᵢ · base^(−2/dims)), so rotated
    /// values match llama.cpp's to the last bit of the angle.
    public func apply(_ x: UnsafeMutablePointer<Float>, heads: Int, headDim: Int, position: Int) {
        let half = dimensions / 2
        let thetaScale = Foundation.powf(base, -2 / Float(dimensions))
        var theta = Float(position)
        for i in 0..<half {
            let c = Foundation.cosf(theta), s = Foundation.sinf(theta)
            theta *= thetaScale
            for h in 0..<heads {
                let v = x + h * headDim
                let (a, b) = layout == .interleaved ? (2 * i, 2 * i + 1) : (i, i + half)
                let x0 = v[a], x1 = v[b]
                v[a] = x0 * c - x1 * s
                v[b] = x0 * s + x1 * c
            }
        }
    }
}

/// How queries, keys and values are projected: one fused (q|k|v) matrix, as CTranslate2 stores
/// Whisper, or three matrices, as GGUF stores Llama-family models (possibly of different types).
public enum QKVProjection {
    case fused(Linear)
    case separate(query: Linear, key: Linear, value: Linear)

    var inFeatures: Int {
        switch self {
        case .fused(let l): return l.inFeatures
        case .separate(let q, _, _): return q.inFeatures
        }
    }

    /// x (rows, in) → y (rows, qDim + 2·kvDim) laid out q | k | v per row.
    func callAsFunction(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>, qDim: Int, kvDim: Int) {
        switch self {
        case .fused(let l): l(x, rows: rows, into: y)
        case .separate(let q, let k, let v):
            let width = qDim + 2 * kvDim
            q(x, rows: rows, into: y, ldy: width)
            k(x, rows: rows, into: y + qDim, ldy: width)
            v(x, rows: rows, into: y + qDim + kvDim, ldy: width)
        }
    }
}

/// Multi-head self-attention with optional grouped-query heads (kvHeads < heads) and RoPE.
public struct SelfAttention {
    public let projection: QKVProjection
    public let out: Linear
    public let heads: Int
    public let kvHeads: Int
    public let headDim: Int
    public let rope: Rope?
    public var dim: Int { out.outFeatures }
    var queryDim: Int { heads * headDim }
    /// Width of one cached key (or value) row.
    public var kvDim: Int { kvHeads * headDim }

    /// Whisper-style: fused (3·dim, dim) projection, heads = kvHeads, no rotary embedding.
    public init(qkv: Linear, out: Linear, heads: Int) {
        precondition(qkv.outFeatures == 3 * out.inFeatures && out.inFeatures % heads == 0)
        self.init(projection: .fused(qkv), out: out, heads: heads, kvHeads: heads, headDim: out.inFeatures / heads, rope: nil)
    }

    public init(projection: QKVProjection, out: Linear, heads: Int, kvHeads: Int, headDim: Int, rope: Rope?) {
        precondition(heads % kvHeads == 0, "heads \(heads) must be a multiple of kvHeads \(kvHeads)")
        precondition(out.inFeatures == heads * headDim)
        self.projection = projection; self.out = out; self.heads = heads; self.kvHeads = kvHeads
        self.headDim = headDim; self.rope = rope
    }

    /// Full bidirectional attention over `batch` sequences of `length` rows each:
    /// x (batch·length, dim) → y (batch·length, dim). (Encoders: no RoPE, no grouped heads.)
    /// With `validLengths`, sequence b is its first validLengths[b] rows, the rest padding: its
    /// queries attend to those keys only (what an additive −∞ key mask gives, as BERT's attention
    /// mask), and its padding rows get a zero context.
    /// Query rows per encoder attention task (a 1500-key scores block of 128 rows is 768 KB).
    nonisolated(unsafe) public static var encoderBlockRows = 128

    public func encode(_ x: UnsafePointer<Float>, batch: Int, length: Int, validLengths: [Int]? = nil,
                       into y: UnsafeMutablePointer<Float>, scratch: Scratch) {
        precondition(kvHeads == heads && rope == nil, "encode() is for encoder attention")
        precondition(validLengths.map { $0.count == batch && $0.allSatisfy { (1...length).contains($0) } } ?? true)
        let d = queryDim, dh = headDim, rows = batch * length
        let fused = scratch.buffer(.qkv, rows * 3 * d)      // (rows, 3·dim): q | k | v
        let context = scratch.buffer(.attentionContext, rows * d)        // (rows, dim)
        projection(x, rows: rows, into: fused, qDim: d, kvDim: d)
        let scale = 1 / Float(dh).squareRoot()
        // Tasks of (sequence, head, block of query rows), one pool dispatch for the whole layer:
        // each task's scores block (block rows × n keys) stays in L2 from QKᵀ through softmax to
        // ·V, on the worker's own slice of the scores buffer.
        let blockRows = Self.encoderBlockRows
        let blocks = (0..<batch).map { ((validLengths?[$0] ?? length) + blockRows - 1) / blockRows }
        var tasks: [(b: Int, h: Int, first: Int)] = []
        for b in 0..<batch { for h in 0..<heads { for blk in 0..<blocks[b] { tasks.append((b, h, blk * blockRows)) } } }
        let workers = max(1, min(BLAS.threads, tasks.count))
        let scores = scratch.buffer(.attentionScores, workers * blockRows * length)
        WorkerPool.run(workers) { w in
            let mine = scores + w * blockRows * length
            for t in stride(from: w, to: tasks.count, by: workers) {
                let (b, h, first) = tasks[t]
                let n = validLengths?[b] ?? length, m = min(blockRows, n - first)
                let base = fused + b * length * 3 * d
                let q = base + first * 3 * d + h * dh, k = base + d + h * dh, v = base + 2 * d + h * dh
                BLAS.gemmOnThisThread(m: m, n: n, k: dh, a: q, lda: 3 * d, b: k, ldb: 3 * d, transB: true, c: mine, ldc: n)
                for r in 0..<m { hk_softmax(mine + r * n, n, scale) }
                BLAS.gemmOnThisThread(m: m, n: dh, k: n, a: mine, lda: n, b: v, ldb: 3 * d, transB: false,
                                      c: context + (b * length + first) * d + h * dh, ldc: d)
            }
        }
        for b in 0..<batch {
            let n = validLengths?[b] ?? length
            if n < length { (context + (b * length + n) * d).update(repeating: 0, count: (length - n) * d) }
        }
        out(context, rows: rows, into: y)
    }

    /// Causal attention through a cache. Row r is token `positions[r]` of the sequence in `slots[r]`:
    /// its key/value are stored there, then it attends to positions 0...positions[r] of that slot.
    /// Rows of one slot must come in increasing position order (a prompt is several rows of one slot).
    public func decode(_ x: UnsafePointer<Float>, rows: Int, slots: [Int], positions: [Int],
                       cache: KVCache, layer: Int, into y: UnsafeMutablePointer<Float>, scratch: Scratch) {
        let qd = queryDim, kvd = kvDim, dh = headDim, width = qd + 2 * kvd
        precondition(cache.dim == kvd, "cache rows hold \(cache.dim) floats, attention needs \(kvd)")
        let fused = scratch.buffer(.qkv, rows * width)      // (rows, q | k | v)
        let context = scratch.buffer(.attentionContext, rows * qd)       // (rows, heads·headDim)
        let scores = scratch.buffer(.attentionScores, cache.maxLength)
        projection(x, rows: rows, into: fused, qDim: qd, kvDim: kvd)
        let half = cache.precision == .float16
        for r in 0..<rows {
            let row = fused + r * width
            if let rope {
                rope.apply(row, heads: heads, headDim: dh, position: positions[r])
                rope.apply(row + qd, heads: kvHeads, headDim: dh, position: positions[r])
            }
            if half { Kernels.roundToHalf(row, count: width) }   // q, k, v as f16 products see them
            let o = cache.offset(layer: layer, slot: slots[r], position: positions[r])
            (cache.keys.data + o).update(from: row + qd, count: kvd)
            (cache.values.data + o).update(from: row + qd + kvd, count: kvd)
        }
        let scale = 1 / Float(dh).squareRoot()
        let group = heads / kvHeads
        for r in 0..<rows {
            let length = positions[r] + 1
            let keys = cache.keys.data + cache.offset(layer: layer, slot: slots[r], position: 0)
            let values = cache.values.data + cache.offset(layer: layer, slot: slots[r], position: 0)
            for h in 0..<heads {
                let q = fused + r * width + h * dh, kvOffset = (h / group) * dh
                for t in 0..<length { scores[t] = Kernels.dot(q, keys + t * kvd + kvOffset, count: dh) }
                Kernels.softmax(scores, count: length, scale: scale)
                if half { Kernels.roundToHalf(scores, count: length) }
                let c = context + r * qd + h * dh
                c.update(repeating: 0, count: dh)
                for t in 0..<length { Kernels.axpy(c, values + t * kvd + kvOffset, alpha: scores[t], count: dh) }
            }
        }
        out(context, rows: rows, into: y)
    }
}

/// Where cross-attention leaves the scaled, pre-softmax scores q·k/√d of chosen heads, for
/// alignment (Whisper word timestamps: CTranslate2 returns these for its alignment heads, then
/// applies its own softmax over the content frames). `scores[i]` is (rows, length) for `heads[i]`.
public final class CrossAttentionScores {
    public let heads: [Int]
    public private(set) var scores: [Tensor] = []
    public init(heads: [Int]) { self.heads = heads }

    func prepare(rows: Int, length: Int) {
        if scores.first?.shape != [rows, length] { scores = heads.map { _ in Tensor(zeros: [rows, length]) } }
    }
}

/// Attention from decoder rows to encoder memory, with keys/values computed once per window.
public struct CrossAttention {
    public let query: Linear
    public let keyValue: Linear   // fused (2·dim, dim)
    public let out: Linear
    public let heads: Int
    public var dim: Int { out.outFeatures }
    public var headDim: Int { dim / heads }

    public init(query: Linear, keyValue: Linear, out: Linear, heads: Int) {
        precondition(keyValue.outFeatures == 2 * query.outFeatures && query.outFeatures % heads == 0)
        self.query = query; self.keyValue = keyValue; self.out = out; self.heads = heads
    }

    /// Encoder memory (windows·length, dim) → keys|values (windows, length, 2·dim).
    public func memory(_ encoded: UnsafePointer<Float>, windows: Int, length: Int) -> Tensor {
        let kv = Tensor(zeros: [windows, length, 2 * dim])
        keyValue(encoded, rows: windows * length, into: kv.data)
        return kv
    }

    /// x (rows, dim) → y (rows, dim); row r attends to window `windowOfRow[r]` of `memory`.
    /// With `keepScores`, the scaled scores of its heads are copied out before the softmax.
    public func callAsFunction(_ x: UnsafePointer<Float>, rows: Int, memory: Tensor, windowOfRow: [Int],
                               into y: UnsafeMutablePointer<Float>, scratch: Scratch,
                               keepScores: CrossAttentionScores? = nil) {
        let d = dim, dh = headDim, length = memory.shape[1]
        let q = scratch.buffer(.crossQuery, rows * d)
        let gathered = scratch.buffer(.crossGathered, rows * d)
        let context = scratch.buffer(.crossContext, rows * d)
        let groupContext = scratch.buffer(.crossGroupContext, rows * d)
        let scores = scratch.buffer(.crossScores, rows * length)
        query(x, rows: rows, into: q)
        keepScores?.prepare(rows: rows, length: length)
        let scale = 1 / Float(dh).squareRoot()
        // Rows that share a window go through GEMMs together (the beams of one request, say).
        var rowsOfWindow: [Int: [Int]] = [:]
        for r in 0..<rows { rowsOfWindow[windowOfRow[r], default: []].append(r) }
        for (window, members) in rowsOfWindow {
            let m = members.count
            for (i, r) in members.enumerated() { (gathered + i * d).update(from: q + r * d, count: d) }
            let kv = memory.data + window * length * 2 * d
            for h in 0..<heads {
                BLAS.gemm(m: m, n: length, k: dh, a: gathered + h * dh, lda: d, b: kv + h * dh, ldb: 2 * d,
                          transB: true, c: scores, ldc: length)
                if let keep = keepScores, let k = keep.heads.firstIndex(of: h) {
                    for (i, r) in members.enumerated() {
                        let kept = keep.scores[k].data + r * length, row = scores + i * length
                        for t in 0..<length { kept[t] = row[t] * scale }
                    }
                }
                Kernels.softmaxRows(scores, rows: m, n: length, scale: scale)
                BLAS.gemm(m: m, n: dh, k: length, a: scores, lda: length, b: kv + d + h * dh, ldb: 2 * d,
                          transB: false, c: groupContext + h * dh, ldc: d)
            }
            for (i, r) in members.enumerated() { (context + r * d).update(from: groupContext + i * d, count: d) }
        }
        out(context, rows: rows, into: y)
    }
}
