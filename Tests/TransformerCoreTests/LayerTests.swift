import CKernels
import Tensors
import TestSupport
import TransformerCore
import XCTest

final class LinearTests: XCTestCase {
    func testLinearMatchesNaiveWithAndWithoutBias() {
        var rng = TestRNG(seed: 100)
        for bias in [true, false] {
            let linear = randomLinear(&rng, in: 32, out: 24, bias: bias)
            for rows in [1, 2, 5, 8, 9, 17] {
                let x = rng.normals(rows * 32)
                let y = apply(x, outCount: rows * 24) { linear($0, rows: rows, into: $1) }
                let reference = Ref.linear(doubles(x), rows: rows, linear)
                XCTAssertLessThanOrEqual(maxAbsError(y, reference), 1e-5, "rows \(rows), bias \(bias)")
            }
        }
    }

    func testZeroRowsWritesNothing() {
        var rng = TestRNG(seed: 101)
        let linear = randomLinear(&rng, in: 4, out: 3)
        let y = apply([1, 2, 3, 4], outCount: 3) { linear($0, rows: 0, into: $1) }
        XCTAssertTrue(y.allSatisfy(\.isNaN))
    }

    /// Rows with strides (ldx > in, ldy > out), for a float32 weight and a float16-loaded one; the
    /// columns beyond `out` in each output row stay untouched.
    func testLeadingDimensions() {
        var rng = TestRNG(seed: 102)
        let (half, float) = halfAndFloatTwins(&rng, in: 16, out: 12)
        for linear in [half, float] {
            for rows in [1, 3, 8, 11] {
                for (ldx, ldy) in [(16, 12), (19, 12), (16, 15), (21, 17)] {
                    let x = rng.normals(rows * ldx)
                    let y = apply(x, outCount: rows * ldy) {
                        linear($0, rows: rows, into: $1, ldx: ldx, ldy: ldy)
                    }
                    var packed = [Double]()
                    for r in 0..<rows { packed += x[(r * ldx)..<(r * ldx + 16)].map(Double.init) }
                    let reference = Ref.linear(packed, rows: rows, linear)
                    for r in 0..<rows {
                        for o in 0..<ldy {
                            let v = y[r * ldy + o]
                            if o >= 12 { XCTAssertTrue(v.isNaN, "padding written (ldx \(ldx), ldy \(ldy))"); continue }
                            XCTAssertEqual(Double(v), reference[r * 12 + o], accuracy: 1e-5,
                                           "rows \(rows) ldx \(ldx) ldy \(ldy) half \(linear.weight.half != nil)")
                        }
                    }
                }
            }
        }
    }

    /// The float16 weight path (rows ≤ 8) and the float32 GEMM path agree, for every row count
    /// around the switch; 512 → 2048 is large enough (rows · in · out ≥ 2^22 from 4 rows on) for
    /// both paths to split the product across threads.
    func testHalfPathEqualsFloatPath() {
        var rng = TestRNG(seed: 103)
        for (inFeatures, outFeatures) in [(32, 48), (33, 7), (64, 600), (512, 2048)] {
            let (half, float) = halfAndFloatTwins(&rng, in: inFeatures, out: outFeatures)
            XCTAssertNotNil(half.weight.half)
            XCTAssertNil(float.weight.half)
            for rows in 1...12 {
                let x = rng.normals(rows * inFeatures)
                let a = apply(x, outCount: rows * outFeatures) { half($0, rows: rows, into: $1) }
                let b = apply(x, outCount: rows * outFeatures) { float($0, rows: rows, into: $1) }
                XCTAssertLessThanOrEqual(maxAbs(a, b), 1e-5, "\(inFeatures)→\(outFeatures), rows \(rows)")
                let reference = Ref.linear(doubles(x), rows: rows, float)
                XCTAssertLessThanOrEqual(maxAbsError(a, reference), 1e-5)
            }
        }
    }

    /// Up to `halfPrecisionRowLimit` rows the product reads the float16 copy, above it the float32
    /// one: spoil the float32 copy and see which rows still get the right answer.
    func testHalfPathIsTakenUpToTheRowLimit() {
        var rng = TestRNG(seed: 104)
        let (half, float) = halfAndFloatTwins(&rng, in: 24, out: 20)
        half.weight.data.update(repeating: 0, count: half.weight.count)
        let limit = Linear.halfPrecisionRowLimit
        XCTAssertEqual(limit, 8)
        for rows in [1, limit, limit + 1] {
            let x = rng.normals(rows * 24)
            let y = apply(x, outCount: rows * 20) { half($0, rows: rows, into: $1) }
            if rows <= limit {
                XCTAssertLessThanOrEqual(maxAbsError(y, Ref.linear(doubles(x), rows: rows, float)), 1e-5, "rows \(rows)")
            } else {
                let biasOnly = (0..<rows).flatMap { _ in half.bias!.array }
                XCTAssertEqual(y, biasOnly, "rows \(rows) should use the float32 copy")
            }
        }
    }

    /// The C kernel directly: a column range [n0, n1) written with a row stride, nothing else touched.
    func testMatmulF16KernelColumnRange() {
        var rng = TestRNG(seed: 105)
        let m = 3, k = 17, n = 10, ldy = 12, n0 = 2, n1 = 7
        let w = rng.normals(n * k).map(floatToHalf)
        let x = rng.normals(m * k)
        var y = [Float](repeating: .nan, count: m * ldy)
        hk_matmul_f16(x, m, k, w, n0, n1, &y, ldy)
        for r in 0..<m {
            for c in 0..<ldy {
                if c < n0 || c >= n1 { XCTAssertTrue(y[r * ldy + c].isNaN); continue }
                var s = 0.0
                for i in 0..<k { s += Double(x[r * k + i]) * Double(halfToFloat(w[c * k + i])) }
                XCTAssertEqual(Double(y[r * ldy + c]), s, accuracy: 1e-5)
            }
        }
    }
}

final class NormAndFeedForwardTests: XCTestCase {
    func testNormKinds() {
        var rng = TestRNG(seed: 110)
        let n = 24, rows = 3
        let x = rng.normals(rows * n, scale: 2)
        let layer = randomNorm(&rng, n)
        let y = apply(x, outCount: rows * n) { layer($0, rows: rows, into: $1) }
        XCTAssertLessThanOrEqual(maxAbsError(y, Ref.layerNorm(doubles(x), rows: rows, layer)), 1e-5)

        let rms = Norm(gamma: layer.gamma, beta: nil, kind: .rmsNorm, eps: 1e-6)
        let z = apply(x, outCount: rows * n) { rms($0, rows: rows, into: $1) }
        let g = layer.gamma.array
        var reference = [Double]()
        for r in 0..<rows {
            let row = x[(r * n)..<((r + 1) * n)].map(Double.init)
            let inv = 1 / (row.map { $0 * $0 }.reduce(0, +) / Double(n) + 1e-6).squareRoot()
            reference += (0..<n).map { row[$0] * inv * Double(g[$0]) }
        }
        XCTAssertLessThanOrEqual(maxAbsError(z, reference), 1e-5)
    }

    func testFeedForwardActivations() {
        var rng = TestRNG(seed: 111)
        let d = 16, dff = 40, rows = 5
        for activation in [Activation.gelu, .geluTanh, .silu, .relu] {
            let ffn = FeedForward(up: randomLinear(&rng, in: d, out: dff), down: randomLinear(&rng, in: dff, out: d),
                                  activation: activation)
            let x = rng.normals(rows * d, scale: 2)
            var hidden = [Float](repeating: .nan, count: rows * dff)
            let y = apply(x, outCount: rows * d) { xp, yp in
                hidden.withUnsafeMutableBufferPointer { ffn(xp, rows: rows, into: yp, hidden: $0.baseAddress!) }
            }
            XCTAssertLessThanOrEqual(maxAbsError(y, Ref.feedForward(doubles(x), rows: rows, ffn)), 2e-5, "\(activation)")
        }
    }
}

final class Conv1dTests: XCTestCase {
    private func naive(_ conv: Conv1d, _ x: [Float], length: Int) -> [Double] {
        let w = conv.weight.array, b = conv.bias?.array
        let cin = conv.inChannels, cout = conv.outChannels, k = conv.kernel
        let tOut = (length + 2 * conv.padding - k) / conv.stride + 1
        var y = [Double](repeating: 0, count: tOut * cout)
        for t in 0..<tOut {
            for o in 0..<cout {
                var s = Double(b?[o] ?? 0)
                for c in 0..<cin {
                    for j in 0..<k {
                        let src = t * conv.stride + j - conv.padding
                        guard src >= 0, src < length else { continue }
                        s += Double(w[(o * cin + c) * k + j]) * Double(x[src * cin + c])
                    }
                }
                y[t * cout + o] = s
            }
        }
        return y
    }

    func testConvolutionMatchesNaive() {
        var rng = TestRNG(seed: 120)
        for (cin, cout, kernel, stride, padding, length) in [
            (3, 5, 3, 1, 1, 11), (3, 5, 3, 2, 1, 11), (3, 5, 3, 2, 1, 10), (4, 6, 3, 2, 1, 1),
            (8, 12, 3, 1, 1, 9), (2, 3, 1, 1, 0, 7), (2, 3, 5, 2, 2, 13),
        ] {
            for withBias in [true, false] {
                let weight = Tensor(shape: [cout, cin, kernel], values: rng.normals(cout * cin * kernel, scale: 0.5))
                let bias = withBias ? Tensor(shape: [cout], values: rng.normals(cout)) : nil
                let conv = Conv1d(weight: weight, bias: bias, stride: stride, padding: padding)
                let tOut = conv.outputLength(length)
                XCTAssertEqual(tOut, (length + 2 * padding - kernel) / stride + 1)
                let x = rng.normals(length * cin)
                var columns = [Float](repeating: .nan, count: tOut * cin * kernel)
                let y = apply(x, outCount: tOut * cout) { xp, yp in
                    columns.withUnsafeMutableBufferPointer { conv(xp, length: length, into: yp, columns: $0.baseAddress!) }
                }
                XCTAssertLessThanOrEqual(maxAbsError(y, naive(conv, x, length: length)), 1e-5,
                                         "in \(cin) out \(cout) k \(kernel) stride \(stride) pad \(padding) T \(length)")
            }
        }
    }

    func testWhisperStemShapes() {
        // Whisper's stem: conv(k3, s1, p1) keeps the length, conv(k3, s2, p1) halves it.
        let c1 = Conv1d(weight: Tensor(zeros: [8, 4, 3]), bias: nil, stride: 1, padding: 1)
        let c2 = Conv1d(weight: Tensor(zeros: [8, 8, 3]), bias: nil, stride: 2, padding: 1)
        XCTAssertEqual(c1.outputLength(3000), 3000)
        XCTAssertEqual(c2.outputLength(3000), 1500)
        XCTAssertEqual(c2.outputLength(7), 4)
        XCTAssertEqual(c1.inChannels, 4)
        XCTAssertEqual(c1.outChannels, 8)
        XCTAssertEqual(c1.kernel, 3)
    }
}
