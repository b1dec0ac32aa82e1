import Tensors
import TestSupport
import TransformerCore
import XCTest

/// Tiny random attention layers (dim 32, 4 heads) against float64 attention written out naively.
final class SelfAttentionTests: XCTestCase {
    let d = 32, heads = 4

    func makeAttention(_ rng: inout TestRNG) -> SelfAttention {
        SelfAttention(qkv: randomLinear(&rng, in: d, out: 3 * d), out: randomLinear(&rng, in: d, out: d), heads: heads)
    }

    func testEncodeMatchesNaiveFullAttention() {
        var rng = TestRNG(seed: 200)
        let attention = makeAttention(&rng)
        XCTAssertEqual(attention.dim, 32)
        XCTAssertEqual(attention.headDim, 8)
        let scratch = Scratch()
        for (batch, length) in [(1, 1), (1, 5), (2, 7), (3, 4)] {
            // Larger inputs make the attention weights peaky, not uniform.
            let x = rng.normals(batch * length * d, scale: 3)
            let y = apply(x, outCount: batch * length * d) {
                attention.encode($0, batch: batch, length: length, into: $1, scratch: scratch)
            }
            for b in 0..<batch {
                let xs = doubles(Array(x[(b * length * d)..<((b + 1) * length * d)]))
                let reference = Ref.selfAttention(xs, rows: length, attention, causal: false)
                let got = Array(y[(b * length * d)..<((b + 1) * length * d)])
                XCTAssertLessThanOrEqual(maxAbsError(got, reference), 2e-5, "batch \(batch) length \(length) item \(b)")
            }
        }
    }

    /// Sequences in one batch do not see each other.
    func testEncodeBatchItemsAreIndependent() {
        var rng = TestRNG(seed: 201)
        let attention = makeAttention(&rng)
        let a = rng.normals(6 * d), b = rng.normals(6 * d)
        let both = apply(a + b, outCount: 12 * d) { attention.encode($0, batch: 2, length: 6, into: $1, scratch: Scratch()) }
        let alone = apply(b, outCount: 6 * d) { attention.encode($0, batch: 1, length: 6, into: $1, scratch: Scratch()) }
        XCTAssertLessThanOrEqual(maxAbs(Array(both[(6 * d)...]), alone), 1e-5)
    }

    /// Runs `calls`, each a list of (sequence, position) rows, through `decode` with cache slots
    /// `slotOf[sequence]`; returns the output row of every (sequence, position).
    func decodeCalls(_ attention: SelfAttention, sequences: [[Float]], slotOf: [Int], calls: [[(Int, Int)]],
                     cache: KVCache, layer: Int, scratch: Scratch) -> [[Int: [Float]]] {
        var outputs = Array(repeating: [Int: [Float]](), count: sequences.count)
        for call in calls {
            var x = [Float]()
            for (s, p) in call { x += sequences[s][(p * d)..<((p + 1) * d)] }
            let y = apply(x, outCount: call.count * d) {
                attention.decode($0, rows: call.count, slots: call.map { slotOf[$0.0] }, positions: call.map(\.1),
                                 cache: cache, layer: layer, into: $1, scratch: scratch)
            }
            for (r, (s, p)) in call.enumerated() { outputs[s][p] = Array(y[(r * d)..<((r + 1) * d)]) }
        }
        return outputs
    }

    /// The key property of the decoder cache: a prompt fed all at once (several rows of one slot),
    /// fed token by token, or interleaved with another sequence in the same calls, gives the
    /// same rows — and they equal naive causal attention.
    func testDecodePromptAtOnceEqualsTokenByTokenEqualsNaiveCausal() {
        var rng = TestRNG(seed: 202)
        let attention = makeAttention(&rng)
        let lengthA = 6, lengthB = 5
        let a = rng.normals(lengthA * d, scale: 2), b = rng.normals(lengthB * d, scale: 2)
        let referenceA = Ref.selfAttention(doubles(a), rows: lengthA, attention, causal: true)
        let referenceB = Ref.selfAttention(doubles(b), rows: lengthB, attention, causal: true)

        func check(_ outputs: [[Int: [Float]]], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
            for (s, (length, reference)) in [(lengthA, referenceA), (lengthB, referenceB)].enumerated() where !outputs[s].isEmpty {
                XCTAssertEqual(outputs[s].count, length, what, file: file, line: line)
                for p in 0..<length {
                    guard let row = outputs[s][p] else { XCTFail("\(what): no row \(p)", file: file, line: line); continue }
                    let e = maxAbsError(row, Array(reference[(p * d)..<((p + 1) * d)]))
                    XCTAssertLessThanOrEqual(e, 2e-5, "\(what): sequence \(s) position \(p)", file: file, line: line)
                }
            }
        }

        // Layer 1 of a two-layer cache, slots 3 and 1 of 4, so offsets are exercised.
        let atOnce = decodeCalls(attention, sequences: [a, b], slotOf: [3, 1], calls: [(0..<lengthA).map { (0, $0) }],
                                 cache: KVCache(layers: 2, slots: 4, maxLength: 8, dim: d), layer: 1, scratch: Scratch())
        check(atOnce, "prompt at once")

        let oneByOne = decodeCalls(attention, sequences: [a, b], slotOf: [3, 1],
                                   calls: (0..<lengthA).map { [(0, $0)] } + (0..<lengthB).map { [(1, $0)] },
                                   cache: KVCache(layers: 2, slots: 4, maxLength: 8, dim: d), layer: 1, scratch: Scratch())
        check(oneByOne, "token by token")

        // Two slots interleaved within calls, prompts split unevenly across calls.
        let interleaved = decodeCalls(attention, sequences: [a, b], slotOf: [3, 1], calls: [
            [(0, 0), (1, 0), (0, 1), (1, 1), (0, 2)],
            [(1, 2), (0, 3), (1, 3), (1, 4)],
            [(0, 4)],
            [(0, 5)],
        ], cache: KVCache(layers: 2, slots: 4, maxLength: 8, dim: d), layer: 1, scratch: Scratch())
        check(interleaved, "interleaved")

        for p in 0..<lengthA {
            XCTAssertLessThanOrEqual(maxAbs(atOnce[0][p]!, oneByOne[0][p]!), 1e-5)
            XCTAssertLessThanOrEqual(maxAbs(atOnce[0][p]!, interleaved[0][p]!), 1e-5)
        }
    }

    /// Layers of one cache are independent: layer 0 holding other data does not disturb layer 1.
    func testCacheLayersAndSlotsAreIndependent() {
        var rng = TestRNG(seed: 203)
        let first = makeAttention(&rng), second = makeAttention(&rng)
        let a = rng.normals(4 * d), noise = rng.normals(4 * d)
        let cache = KVCache(layers: 2, slots: 2, maxLength: 4, dim: d)
        let scratch = Scratch()
        var calls: [[(Int, Int)]] = []
        for p in 0..<4 { calls.append([(0, p)]) }
        // Interleave: layer 0 / slot 0 gets `noise`, layer 1 / slot 0 gets `a`, layer 1 / slot 1 gets `noise`.
        var outputs: [Int: [Float]] = [:]
        for p in 0..<4 {
            _ = decodeCalls(second, sequences: [noise], slotOf: [0], calls: [[(0, p)]], cache: cache, layer: 0, scratch: scratch)
            outputs[p] = decodeCalls(first, sequences: [a], slotOf: [0], calls: [[(0, p)]], cache: cache, layer: 1, scratch: scratch)[0][p]
            _ = decodeCalls(second, sequences: [noise], slotOf: [1], calls: [[(0, p)]], cache: cache, layer: 1, scratch: scratch)
        }
        let reference = Ref.selfAttention(doubles(a), rows: 4, first, causal: true)
        for p in 0..<4 {
            XCTAssertLessThanOrEqual(maxAbsError(outputs[p]!, Array(reference[(p * d)..<((p + 1) * d)])), 2e-5, "position \(p)")
        }
        XCTAssertEqual(cache.keys.shape, [2, 2, 4, d])
        XCTAssertEqual(cache.values.shape, [2, 2, 4, d])
    }

    /// copySlot, then continuing the copy, gives what continuing the original gives; and the
    /// original slot can then go its own way (the two do not share memory), in every layer.
    func testCopySlotThenContinue() {
        var rng = TestRNG(seed: 204)
        let layers = [makeAttention(&rng), makeAttention(&rng)]
        let prompt = rng.normals(4 * d), tailA = rng.normals(2 * d), tailB = rng.normals(2 * d)
        let cache = KVCache(layers: 2, slots: 3, maxLength: 8, dim: d)
        let scratch = Scratch()
        // Slot 2 first holds another sequence (stale data copySlot must overwrite).
        let stale = rng.normals(6 * d, scale: 5)
        for (l, layer) in layers.enumerated() {
            _ = decodeCalls(layer, sequences: [stale], slotOf: [2], calls: [(0..<6).map { (0, $0) }],
                            cache: cache, layer: l, scratch: scratch)
        }
        // Prompt into slot 0 in both layers (each layer gets its own input rows here).
        for (l, layer) in layers.enumerated() {
            _ = decodeCalls(layer, sequences: [prompt], slotOf: [0], calls: [(0..<4).map { (0, $0) }],
                            cache: cache, layer: l, scratch: scratch)
        }
        cache.copySlot(from: 0, to: 2, length: 4)
        cache.copySlot(from: 1, to: 1, length: 4)   // no-op
        cache.copySlot(from: 0, to: 1, length: 0)   // no-op
        for (l, layer) in layers.enumerated() {
            // Slot 2 continues with tail A, slot 0 with tail B — in the same call, interleaved.
            let seqA = prompt + tailA, seqB = prompt + tailB
            let out = decodeCalls(layer, sequences: [seqA, seqB], slotOf: [2, 0],
                                  calls: [[(1, 4), (0, 4), (0, 5), (1, 5)]], cache: cache, layer: l, scratch: scratch)
            let refA = Ref.selfAttention(doubles(seqA), rows: 6, layer, causal: true)
            let refB = Ref.selfAttention(doubles(seqB), rows: 6, layer, causal: true)
            for p in 4..<6 {
                XCTAssertLessThanOrEqual(maxAbsError(out[0][p]!, Array(refA[(p * d)..<((p + 1) * d)])), 2e-5, "layer \(l) copy, position \(p)")
                XCTAssertLessThanOrEqual(maxAbsError(out[1][p]!, Array(refB[(p * d)..<((p + 1) * d)])), 2e-5, "layer \(l) original, position \(p)")
            }
        }
    }
}

final class CrossAttentionTests: XCTestCase {
    let d = 32, heads = 4

    func testCrossAttentionMatchesNaiveWithInterleavedWindows() {
        var rng = TestRNG(seed: 210)
        let cross = CrossAttention(query: randomLinear(&rng, in: d, out: d), keyValue: randomLinear(&rng, in: d, out: 2 * d),
                                   out: randomLinear(&rng, in: d, out: d), heads: heads)
        XCTAssertEqual(cross.headDim, 8)
        let windows = 3, length = 9
        let encoded = rng.normals(windows * length * d, scale: 2)
        let memory = encoded.withUnsafeBufferPointer { cross.memory($0.baseAddress!, windows: windows, length: length) }
        XCTAssertEqual(memory.shape, [windows, length, 2 * d])
        let scratch = Scratch()
        for windowOfRow in [[2, 0, 2, 1, 0], [1], [0, 0, 0], [2, 1, 0, 1, 2, 0, 1]] {
            let rows = windowOfRow.count
            let x = rng.normals(rows * d, scale: 2)
            let y = apply(x, outCount: rows * d) {
                cross($0, rows: rows, memory: memory, windowOfRow: windowOfRow, into: $1, scratch: scratch)
            }
            for r in 0..<rows {
                let w = windowOfRow[r]
                let reference = Ref.crossAttention(doubles(Array(x[(r * d)..<((r + 1) * d)])), rows: 1,
                                                   encoded: doubles(Array(encoded[(w * length * d)..<((w + 1) * length * d)])),
                                                   length: length, cross)
                XCTAssertLessThanOrEqual(maxAbsError(Array(y[(r * d)..<((r + 1) * d)]), reference), 2e-5,
                                         "windows \(windowOfRow), row \(r)")
            }
        }
    }

    /// `keepScores` leaves q·k/√d of the chosen heads for every row (its own window), and the
    /// output is unchanged by asking for them.
    func testKeptScoresAreTheScaledPreSoftmaxScores() {
        var rng = TestRNG(seed: 211)
        let cross = CrossAttention(query: randomLinear(&rng, in: d, out: d), keyValue: randomLinear(&rng, in: d, out: 2 * d),
                                   out: randomLinear(&rng, in: d, out: d), heads: heads)
        let windows = 2, length = 7, dh = d / heads, windowOfRow = [1, 0, 1, 1]
        let rows = windowOfRow.count
        let encoded = rng.normals(windows * length * d, scale: 2)
        let memory = encoded.withUnsafeBufferPointer { cross.memory($0.baseAddress!, windows: windows, length: length) }
        let x = rng.normals(rows * d, scale: 2)
        let scratch = Scratch(), kept = CrossAttentionScores(heads: [3, 1])
        let plain = apply(x, outCount: rows * d) { cross($0, rows: rows, memory: memory, windowOfRow: windowOfRow, into: $1, scratch: scratch) }
        let withScores = apply(x, outCount: rows * d) {
            cross($0, rows: rows, memory: memory, windowOfRow: windowOfRow, into: $1, scratch: scratch, keepScores: kept)
        }
        XCTAssertEqual(plain, withScores)
        XCTAssertEqual(kept.scores.map(\.shape), [[rows, length], [rows, length]])
        let q = Ref.linear(doubles(x), rows: rows, cross.query)
        for (k, h) in kept.heads.enumerated() {
            for r in 0..<rows {
                let w = windowOfRow[r]
                let kv = Ref.linear(doubles(Array(encoded[(w * length * d)..<((w + 1) * length * d)])), rows: length, cross.keyValue)
                for t in 0..<length {
                    var dot = 0.0
                    for i in 0..<dh { dot += q[r * d + h * dh + i] * kv[t * 2 * d + h * dh + i] }
                    XCTAssertEqual(Double(kept.scores[k].data[r * length + t]), dot / Double(dh).squareRoot(), accuracy: 1e-4)
                }
            }
        }
    }
}
