// Multi-head attention: full (encoder), cached incremental (decoder self-attention) and
// cross-attention over precomputed encoder keys/values. Scores use 1/√headDim scaling,
// which equals Whisper's q·d^-¼, k·d^-¼ (openai/whisper model.py `qkv_attention`).

import Tensors

/// Grow-only scratch buffers, reused across calls so the hot loops never allocate.
/// Slots 0–7 belong to the attention layers; model code uses slots 8 and up.
public final class Scratch {
    private var buffers: [Tensor?] = Array(repeating: nil, count: 32)
    public init() {}
    /// Buffer number `slot` with room for at least `count` floats (contents undefined).
    public func buffer(_ slot: Int, _ count: Int) -> UnsafeMutablePointer<Float> {
        if let b = buffers[slot], b.count >= count { return b.data }
        let b = Tensor(zeros: [max(count, 1)])
        buffers[slot] = b
        return b.data
    }
}

/// Per-layer key/value cache for decoder self-attention: (layers, slots, maxLength, dim) each.
/// A slot holds one sequence (one beam of one request).
public final class KVCache {
    public let layers: Int, slots: Int, maxLength: Int, dim: Int
    public let keys: Tensor, values: Tensor

    public init(layers: Int, slots: Int, maxLength: Int, dim: Int) {
        self.layers = layers; self.slots = slots; self.maxLength = maxLength; self.dim = dim
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

/// Self-attention with a fused (3·dim, dim) query/key/value projection.
public struct SelfAttention {
    public let qkv: Linear
    public let out: Linear
    public let heads: Int
    public var dim: Int { out.outFeatures }
    public var headDim: Int { dim / heads }

    public init(qkv: Linear, out: Linear, heads: Int) {
        precondition(qkv.outFeatures == 3 * out.inFeatures && out.inFeatures % heads == 0)
        self.qkv = qkv; self.out = out; self.heads = heads
    }

    /// Full bidirectional attention over `batch` sequences of `length` rows each:
    /// x (batch·length, dim) → y (batch·length, dim).
    public func encode(_ x: UnsafePointer<Float>, batch: Int, length: Int, into y: UnsafeMutablePointer<Float>,
                       scratch: Scratch) {
        let d = dim, dh = headDim, rows = batch * length
        let fused = scratch.buffer(0, rows * 3 * d)      // (rows, 3·dim): q | k | v
        let context = scratch.buffer(1, rows * d)        // (rows, dim)
        let scores = scratch.buffer(2, length * length)  // (length, length)
        qkv(x, rows: rows, into: fused)
        let scale = 1 / Float(dh).squareRoot()
        for b in 0..<batch {
            let base = fused + b * length * 3 * d
            for h in 0..<heads {
                let q = base + h * dh, k = base + d + h * dh, v = base + 2 * d + h * dh
                BLAS.gemm(m: length, n: length, k: dh, a: q, lda: 3 * d, b: k, ldb: 3 * d, transB: true,
                          c: scores, ldc: length)
                Kernels.softmaxRows(scores, rows: length, n: length, scale: scale)
                BLAS.gemm(m: length, n: dh, k: length, a: scores, lda: length, b: v, ldb: 3 * d, transB: false,
                          c: context + b * length * d + h * dh, ldc: d)
            }
        }
        out(context, rows: rows, into: y)
    }

    /// Causal attention through a cache. Row r is token `positions[r]` of the sequence in `slots[r]`:
    /// its key/value are stored there, then it attends to positions 0...positions[r] of that slot.
    /// Rows of one slot must come in increasing position order (a prompt is several rows of one slot).
    public func decode(_ x: UnsafePointer<Float>, rows: Int, slots: [Int], positions: [Int],
                       cache: KVCache, layer: Int, into y: UnsafeMutablePointer<Float>, scratch: Scratch) {
        let d = dim, dh = headDim
        let fused = scratch.buffer(0, rows * 3 * d)
        let context = scratch.buffer(1, rows * d)
        let scores = scratch.buffer(2, cache.maxLength)
        qkv(x, rows: rows, into: fused)
        for r in 0..<rows {
            let o = cache.offset(layer: layer, slot: slots[r], position: positions[r])
            (cache.keys.data + o).update(from: fused + r * 3 * d + d, count: d)
            (cache.values.data + o).update(from: fused + r * 3 * d + 2 * d, count: d)
        }
        let scale = 1 / Float(dh).squareRoot()
        for r in 0..<rows {
            let length = positions[r] + 1
            let keys = cache.keys.data + cache.offset(layer: layer, slot: slots[r], position: 0)
            let values = cache.values.data + cache.offset(layer: layer, slot: slots[r], position: 0)
            for h in 0..<heads {
                let q = fused + r * 3 * d + h * dh
                for t in 0..<length { scores[t] = Kernels.dot(q, keys + t * d + h * dh, count: dh) }
                Kernels.softmax(scores, count: length, scale: scale)
                let c = context + r * d + h * dh
                c.update(repeating: 0, count: dh)
                for t in 0..<length { Kernels.axpy(c, values + t * d + h * dh, alpha: scores[t], count: dh) }
            }
        }
        out(context, rows: rows, into: y)
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
    public func callAsFunction(_ x: UnsafePointer<Float>, rows: Int, memory: Tensor, windowOfRow: [Int],
                               into y: UnsafeMutablePointer<Float>, scratch: Scratch) {
        let d = dim, dh = headDim, length = memory.shape[1]
        let q = scratch.buffer(3, rows * d)
        let gathered = scratch.buffer(4, rows * d)
        let context = scratch.buffer(5, rows * d)
        let groupContext = scratch.buffer(6, rows * d)
        let scores = scratch.buffer(7, rows * length)
        query(x, rows: rows, into: q)
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
                Kernels.softmaxRows(scores, rows: m, n: length, scale: scale)
                BLAS.gemm(m: m, n: dh, k: length, a: scores, lda: length, b: kv + d + h * dh, ldb: 2 * d,
                          transB: false, c: groupContext + h * dh, ldc: d)
            }
            for (i, r) in members.enumerated() { (context + r * d).update(from: groupContext + i * d, count: d) }
        }
        out(context, rows: rows, into: y)
    }
}
