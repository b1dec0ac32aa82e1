import Tensors
import TestSupport
import TransformerCore
import XCTest

/// Pre-norm blocks: against a float32 composition of the pieces (same kernels, so nearly bitwise)
/// and against a float64 naive block.
final class BlockTests: XCTestCase {
    let d = 32, heads = 4, dff = 64

    func makeFFN(_ rng: inout TestRNG) -> FeedForward {
        FeedForward(up: randomLinear(&rng, in: d, out: dff), down: randomLinear(&rng, in: dff, out: d), activation: .gelu)
    }

    func makeSelfAttention(_ rng: inout TestRNG) -> SelfAttention {
        SelfAttention(qkv: randomLinear(&rng, in: d, out: 3 * d), out: randomLinear(&rng, in: d, out: d), heads: heads)
    }

    func testEncoderBlock() {
        var rng = TestRNG(seed: 300)
        let block = SelfAttentionBlock(attentionNorm: randomNorm(&rng, d), attention: makeSelfAttention(&rng),
                                 ffnNorm: randomNorm(&rng, d), ffn: makeFFN(&rng))
        let batch = 2, length = 5, rows = batch * length
        let input = rng.normals(rows * d, scale: 2)

        var x = input
        x.withUnsafeMutableBufferPointer { block($0.baseAddress!, batch: batch, length: length, scratch: Scratch()) }
        XCTAssertFalse(x.contains { !$0.isFinite })

        // The same computation, piece by piece.
        var composed = input
        let scratch = Scratch()
        let normed = apply(composed, outCount: rows * d) { block.attentionNorm($0, rows: rows, into: $1) }
        let attended = apply(normed, outCount: rows * d) { block.attention.encode($0, batch: batch, length: length, into: $1, scratch: scratch) }
        for i in composed.indices { composed[i] += attended[i] }
        let normed2 = apply(composed, outCount: rows * d) { block.ffnNorm($0, rows: rows, into: $1) }
        var hidden = [Float](repeating: 0, count: rows * dff)
        let fed = apply(normed2, outCount: rows * d) { xp, yp in
            hidden.withUnsafeMutableBufferPointer { block.ffn(xp, rows: rows, into: yp, hidden: $0.baseAddress!) }
        }
        for i in composed.indices { composed[i] += fed[i] }
        XCTAssertLessThanOrEqual(maxAbs(x, composed), 1e-6)

        // float64 reference, item by item.
        for b in 0..<batch {
            let xs = doubles(Array(input[(b * length * d)..<((b + 1) * length * d)]))
            let sa = Ref.selfAttention(Ref.layerNorm(xs, rows: length, block.attentionNorm), rows: length, block.attention, causal: false)
            let h = zip(xs, sa).map(+)
            let ff = Ref.feedForward(Ref.layerNorm(h, rows: length, block.ffnNorm), rows: length, block.ffn)
            let reference = zip(h, ff).map(+)
            XCTAssertLessThanOrEqual(maxAbsError(Array(x[(b * length * d)..<((b + 1) * length * d)]), reference), 5e-5, "item \(b)")
        }
    }

    func testDecoderBlockWithInterleavedSequences() {
        var rng = TestRNG(seed: 301)
        let cross = CrossAttention(query: randomLinear(&rng, in: d, out: d), keyValue: randomLinear(&rng, in: d, out: 2 * d),
                                   out: randomLinear(&rng, in: d, out: d), heads: heads)
        let block = DecoderBlock(selfAttentionNorm: randomNorm(&rng, d), selfAttention: makeSelfAttention(&rng),
                                 crossAttentionNorm: randomNorm(&rng, d), crossAttention: cross,
                                 ffnNorm: randomNorm(&rng, d), ffn: makeFFN(&rng))
        let windows = 2, length = 6
        let encoded = rng.normals(windows * length * d, scale: 2)
        let memory = encoded.withUnsafeBufferPointer { cross.memory($0.baseAddress!, windows: windows, length: length) }
        // Sequence 0: 4 tokens, slot 2, window 1. Sequence 1: 3 tokens, slot 0, window 0.
        let lengths = [4, 3], slotOf = [2, 0], windowOf = [1, 0]
        let sequences = lengths.map { rng.normals($0 * d, scale: 2) }
        let calls: [[(Int, Int)]] = [[(0, 0), (0, 1), (1, 0), (0, 2), (1, 1)], [(0, 3), (1, 2)]]

        let cache = KVCache(layers: 3, slots: 3, maxLength: 8, dim: d)
        let pieceCache = KVCache(layers: 3, slots: 3, maxLength: 8, dim: d)
        let scratch = Scratch(), pieceScratch = Scratch()
        var outputs = Array(repeating: [Int: [Float]](), count: 2)
        for call in calls {
            let rows = call.count
            var x = [Float]()
            for (s, p) in call { x += sequences[s][(p * d)..<((p + 1) * d)] }
            let slots = call.map { slotOf[$0.0] }, positions = call.map(\.1), windowOfRow = call.map { windowOf[$0.0] }
            var y = x
            y.withUnsafeMutableBufferPointer {
                block($0.baseAddress!, rows: rows, slots: slots, positions: positions, cache: cache, layer: 2,
                      memory: memory, windowOfRow: windowOfRow, scratch: scratch)
            }
            XCTAssertFalse(y.contains { !$0.isFinite })

            // Piece by piece.
            var z = x
            let n1 = apply(z, outCount: rows * d) { block.selfAttentionNorm($0, rows: rows, into: $1) }
            let sa = apply(n1, outCount: rows * d) {
                block.selfAttention.decode($0, rows: rows, slots: slots, positions: positions, cache: pieceCache, layer: 2,
                                           into: $1, scratch: pieceScratch)
            }
            for i in z.indices { z[i] += sa[i] }
            let n2 = apply(z, outCount: rows * d) { block.crossAttentionNorm($0, rows: rows, into: $1) }
            let ca = apply(n2, outCount: rows * d) {
                cross($0, rows: rows, memory: memory, windowOfRow: windowOfRow, into: $1, scratch: pieceScratch)
            }
            for i in z.indices { z[i] += ca[i] }
            let n3 = apply(z, outCount: rows * d) { block.ffnNorm($0, rows: rows, into: $1) }
            var hidden = [Float](repeating: 0, count: rows * dff)
            let ff = apply(n3, outCount: rows * d) { xp, yp in
                hidden.withUnsafeMutableBufferPointer { block.ffn(xp, rows: rows, into: yp, hidden: $0.baseAddress!) }
            }
            for i in z.indices { z[i] += ff[i] }
            XCTAssertLessThanOrEqual(maxAbs(y, z), 1e-6)

            for (r, (s, p)) in call.enumerated() { outputs[s][p] = Array(y[(r * d)..<((r + 1) * d)]) }
        }

        // float64 reference per sequence (causal self-attention, its own window).
        for s in 0..<2 {
            let n = lengths[s], w = windowOf[s]
            let xs = doubles(sequences[s])
            let sa = Ref.selfAttention(Ref.layerNorm(xs, rows: n, block.selfAttentionNorm), rows: n, block.selfAttention, causal: true)
            let h1 = zip(xs, sa).map(+)
            let ca = Ref.crossAttention(Ref.layerNorm(h1, rows: n, block.crossAttentionNorm), rows: n,
                                        encoded: doubles(Array(encoded[(w * length * d)..<((w + 1) * length * d)])),
                                        length: length, cross)
            let h2 = zip(h1, ca).map(+)
            let ff = Ref.feedForward(Ref.layerNorm(h2, rows: n, block.ffnNorm), rows: n, block.ffn)
            let reference = zip(h2, ff).map(+)
            for p in 0..<n {
                XCTAssertLessThanOrEqual(maxAbsError(outputs[s][p]!, Array(reference[(p * d)..<((p + 1) * d)])), 5e-5,
                                         "sequence \(s) position \(p)")
            }
        }
    }
}

final class ScratchTests: XCTestCase {
    func testBuffersGrowOnlyAndSlotsAreSeparate() {
        let scratch = Scratch()
        let a = scratch.buffer(.qkv, 100)
        a[99] = 7
        XCTAssertEqual(scratch.buffer(.qkv, 50), a, "a smaller request reuses the buffer")
        XCTAssertEqual(scratch.buffer(.qkv, 100)[99], 7)
        let b = scratch.buffer(.attentionContext, 100)
        XCTAssertNotEqual(a, b)
        let grown = scratch.buffer(.qkv, 1000)
        grown[999] = 1
        XCTAssertEqual(scratch.buffer(.qkv, 10), grown, "after growing, the larger buffer is kept")
        XCTAssertEqual(scratch.buffer(.selectedRows, 0)[0], 0, "empty requests still get a valid pointer")
    }
}
