import Foundation
import Tensors
import TestSupport
import XCTest

/// The C kernels against float64 references. Measured maxima are printed so regressions in
/// accuracy show up in the log even while the tolerance still holds.
final class KernelTests: XCTestCase {

    // MARK: softmax

    private func softmaxReference(_ x: [Float], scale: Float) -> [Double] {
        let m = x.max() ?? -.infinity
        if m == -.infinity { return x.map { _ in 0 } }
        let e = x.map { $0 == -.infinity ? 0 : Foundation.exp(Double($0) * Double(scale) - Double(m) * Double(scale)) }
        let sum = e.reduce(0, +)
        return e.map { $0 / sum }
    }

    func testSoftmaxMatchesDoubleReference() {
        var rng = TestRNG(seed: 1)
        var rows: [([Float], Float)] = []
        for n in [1, 2, 3, 7, 8, 9, 16, 31, 64, 100, 1500] {
            rows.append((rng.normals(n, scale: 4), 1))
            rows.append((rng.normals(n, scale: 30), 0.125))
        }
        // −inf entries (masked positions) get exactly zero weight.
        var masked = rng.normals(37, scale: 3)
        for i in stride(from: 0, to: 37, by: 3) { masked[i] = -.infinity }
        rows.append((masked, 1))
        rows.append(([-.infinity, 2, -.infinity], 1))
        // Large magnitudes: only differences matter.
        rows.append(([1e4, 1e4 - 1, 1e4 - 2, -1e4], 1))
        rows.append(([-3e4, -3e4 + 0.5, -3e4 + 3], 1))
        rows.append(([1e30, 0, -1e30, 1e30], 1))
        rows.append(([80, 0, -80, 79.5], 1))
        rows.append((rng.normals(50, scale: 1000), 1))
        var worst = 0.0
        for (row, scale) in rows {
            var y = row
            y.withUnsafeMutableBufferPointer { Kernels.softmax($0.baseAddress!, count: $0.count, scale: scale) }
            let reference = softmaxReference(row, scale: scale)
            let e = maxAbsError(y, reference)
            worst = max(worst, e)
            XCTAssertLessThanOrEqual(e, 1e-6, "row of \(row.count) (scale \(scale)): max error \(e)")
            XCTAssertEqual(y.map(Double.init).reduce(0, +), 1, accuracy: 2e-6)
            for i in row.indices where row[i] == -.infinity { XCTAssertEqual(y[i], 0) }
        }
        print("softmax max abs error vs float64: \(worst)")
    }

    func testSoftmaxOfAllMinusInfinityIsZero() {
        var row = [Float](repeating: -.infinity, count: 9)
        row.withUnsafeMutableBufferPointer { Kernels.softmax($0.baseAddress!, count: 9) }
        XCTAssertEqual(row, [Float](repeating: 0, count: 9))
    }

    func testSoftmaxRowsSerialAndParallelPaths() {
        var rng = TestRNG(seed: 2)
        // 4 × 33 stays serial; 150 × 1000 (≥ 2^17 values) splits rows across threads.
        for (rows, n) in [(4, 33), (150, 1000)] {
            var x = rng.normals(rows * n, scale: 5)
            for r in stride(from: 0, to: rows, by: 7) { x[r * n] = -.infinity }
            let input = x
            x.withUnsafeMutableBufferPointer { Kernels.softmaxRows($0.baseAddress!, rows: rows, n: n, scale: 0.5) }
            var worst = 0.0
            for r in 0..<rows {
                let reference = softmaxReference(Array(input[(r * n)..<((r + 1) * n)]), scale: 0.5)
                worst = max(worst, maxAbsError(Array(x[(r * n)..<((r + 1) * n)]), reference))
            }
            XCTAssertLessThanOrEqual(worst, 1e-6, "\(rows)×\(n)")
        }
    }

    // MARK: activations

    func testGeluMatchesErfFormula() {
        // Every 1e-4 over [−10, 10] (200 001 values, enough to use the threaded path), plus tails.
        var x = (0...200_000).map { Float(-10 + Double($0) * 1e-4) }
        x += [-1e4, -100, -20, -12, 12, 20, 100, 1e4, 0, -0.0, 1e-30, -1e-30]
        let input = x
        x.withUnsafeMutableBufferPointer { Kernels.gelu($0.baseAddress!, count: $0.count) }
        var worst = 0.0, worstAt: Float = 0, worstRelative = 0.0
        for i in input.indices {
            let v = Double(input[i])
            let reference = 0.5 * v * (1 + Foundation.erf(v / 2.0.squareRoot()))
            let e = abs(Double(x[i]) - reference)
            if !(e <= worst) { worst = e; worstAt = input[i] }
            // Relative accuracy for x ≥ 0 only: for x ≪ 0 the result is x·(1 + erf) with erf ≈ −1, a
            // cancellation that costs relative (not absolute) accuracy.
            if v > 1e-3 { worstRelative = max(worstRelative, e / abs(reference)) }
        }
        print("GELU max abs error vs float64 erf: \(worst) at x = \(worstAt); max rel error (x > 1e-3): \(worstRelative)")
        XCTAssertLessThanOrEqual(worst, 2e-6)
        XCTAssertLessThanOrEqual(worstRelative, 1e-6)
    }

    func testSiLUMatchesLogisticFormula() {
        var x = (0...40_000).map { Float(-20 + Double($0) * 1e-3) }
        x += [-1e4, -100, -88, -87, 87, 88, 100, 1e4, 0]
        let input = x
        x.withUnsafeMutableBufferPointer { Kernels.silu($0.baseAddress!, count: $0.count) }
        var worst = 0.0, worstRelative = 0.0
        for i in input.indices {
            let v = Double(input[i])
            let reference = v / (1 + Foundation.exp(-v))
            let e = abs(Double(x[i]) - reference)
            XCTAssertFalse(x[i].isNaN, "SiLU(\(input[i])) is NaN")
            if abs(input[i]) <= 20 { worst = max(worst, e) }
            if abs(reference) > 1e-3 { worstRelative = max(worstRelative, e / abs(reference)) }
        }
        print("SiLU max abs error on [−20, 20]: \(worst); max rel error (|y| > 1e-3): \(worstRelative)")
        XCTAssertLessThanOrEqual(worst, 2e-6)
        XCTAssertLessThanOrEqual(worstRelative, 1e-6)
    }

    // MARK: norms

    private func layerNormReference(_ x: [Float], rows: Int, n: Int, gamma: [Float], beta: [Float]?, eps: Float) -> [Double] {
        var out = [Double]()
        for r in 0..<rows {
            let row = x[(r * n)..<((r + 1) * n)].map(Double.init)
            let mean = row.reduce(0, +) / Double(n)
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n)
            let inv = 1 / (variance + Double(eps)).squareRoot()
            for i in 0..<n { out.append((row[i] - mean) * inv * Double(gamma[i]) + Double(beta?[i] ?? 0)) }
        }
        return out
    }

    func testLayerNormMatchesReference() {
        var rng = TestRNG(seed: 3)
        var worst = 0.0
        for (rows, n) in [(1, 1), (3, 37), (5, 64), (2, 1025)] {
            var x = rng.normals(rows * n, scale: 2)
            // One row far from zero: a one-pass variance would lose it.
            for i in 0..<n { x[i] += 1000 }
            let gamma = rng.normals(n), beta = rng.normals(n)
            for withBeta in [true, false] {
                let reference = layerNormReference(x, rows: rows, n: n, gamma: gamma, beta: withBeta ? beta : nil, eps: 1e-5)
                var y = [Float](repeating: .nan, count: rows * n)
                x.withUnsafeBufferPointer { xp in
                    gamma.withUnsafeBufferPointer { g in
                        beta.withUnsafeBufferPointer { b in
                            y.withUnsafeMutableBufferPointer { yp in
                                Kernels.layerNorm(xp.baseAddress!, yp.baseAddress!, rows: rows, n: n, gamma: g.baseAddress!,
                                                  beta: withBeta ? b.baseAddress! : nil, eps: 1e-5)
                            }
                        }
                    }
                }
                let e = maxAbsError(y, reference)
                worst = max(worst, e)
                // Sums and the mean are kept in double, so the row at 1000 costs no more than float
                // rounding of x − mean (~1e-6 with |gamma| ≤ 4), vectorized or not (the sanitized build).
                XCTAssertLessThanOrEqual(e, n == 1 ? 1e-6 : 1e-5, "\(rows)×\(n) beta \(withBeta): \(e)")
                // In place (x and y alias) gives the same values.
                var inPlace = x
                gamma.withUnsafeBufferPointer { g in
                    beta.withUnsafeBufferPointer { b in
                        inPlace.withUnsafeMutableBufferPointer { p in
                            Kernels.layerNorm(p.baseAddress!, p.baseAddress!, rows: rows, n: n, gamma: g.baseAddress!,
                                              beta: withBeta ? b.baseAddress! : nil, eps: 1e-5)
                        }
                    }
                }
                XCTAssertEqual(inPlace, y)
            }
        }
        print("layer norm max abs error vs float64 (a row offset by 1000): \(worst)")
        // A constant row normalizes to beta (variance 0, eps keeps it finite).
        var constant = [Float](repeating: 3, count: 8)
        let gamma = [Float](repeating: 2, count: 8), beta = (0..<8).map(Float.init)
        constant.withUnsafeMutableBufferPointer { p in
            Kernels.layerNorm(p.baseAddress!, p.baseAddress!, rows: 1, n: 8, gamma: gamma, beta: beta)
        }
        XCTAssertEqual(constant, beta)
    }

    func testRMSNormMatchesReference() {
        var rng = TestRNG(seed: 4)
        for (rows, n) in [(1, 1), (4, 37), (3, 256)] {
            let x = rng.normals(rows * n, scale: 3), gamma = rng.normals(n)
            var reference = [Double]()
            for r in 0..<rows {
                let row = x[(r * n)..<((r + 1) * n)].map(Double.init)
                let inv = 1 / (row.map { $0 * $0 }.reduce(0, +) / Double(n) + 1e-6).squareRoot()
                for i in 0..<n { reference.append(row[i] * inv * Double(gamma[i])) }
            }
            var y = x
            y.withUnsafeMutableBufferPointer { p in
                Kernels.rmsNorm(p.baseAddress!, p.baseAddress!, rows: rows, n: n, gamma: gamma, eps: 1e-6)
            }
            XCTAssertLessThanOrEqual(maxAbsError(y, reference), 2e-6, "\(rows)×\(n)")
        }
    }

    // MARK: log-softmax

    func testLogSoftmax() {
        var rng = TestRNG(seed: 5)
        for n in [1, 2, 6, 51, 1000] {
            var x = rng.normals(n, scale: 6)
            if n > 2 { x[1] = -.infinity }
            let m = Double(x.max()!)
            let logSum = m + Foundation.log(x.map { Foundation.exp(Double($0) - m) }.reduce(0, +))
            var out = [Float](repeating: .nan, count: n)
            x.withUnsafeBufferPointer { xp in
                out.withUnsafeMutableBufferPointer { Kernels.logSoftmax(xp.baseAddress!, $0.baseAddress!, count: n) }
            }
            for i in 0..<n {
                if x[i] == -.infinity { XCTAssertEqual(out[i], -.infinity); continue }
                XCTAssertEqual(Double(out[i]), Double(x[i]) - logSum, accuracy: 1e-5)
            }
            // In place.
            var inPlace = x
            inPlace.withUnsafeMutableBufferPointer { Kernels.logSoftmax($0.baseAddress!, $0.baseAddress!, count: n) }
            XCTAssertEqual(inPlace, out)
            let total = out.map { Foundation.exp(Double($0)) }.reduce(0, +)
            XCTAssertEqual(total, 1, accuracy: 1e-5)
        }
    }

    /// Large logits: each output should be as accurate as (x − max) − log Σ exp(x − max) in float,
    /// about 1e-7 here. Computing x − (max + log Σ) rounds max + log Σ to float first and loses
    /// up to half an ulp of max (≈ 5e-4 at 1e4).
    func testLogSoftmaxKeepsPrecisionForLargeLogits() {
        for m: Float in [1e4, -1e4, 3e5] {
            var big: [Float] = [m, m - 1, m - 40]
            big.withUnsafeMutableBufferPointer { Kernels.logSoftmax($0.baseAddress!, $0.baseAddress!, count: 3) }
            let logSum = Foundation.log(1 + Foundation.exp(-1.0) + Foundation.exp(-40.0))
            XCTAssertEqual(Double(big[0]), -logSum, accuracy: 1e-6, "max logit \(m)")
            XCTAssertEqual(Double(big[1]), -1 - logSum, accuracy: 1e-6, "max logit \(m)")
            XCTAssertEqual(Double(big[2]), -40 - logSum, accuracy: 1e-5, "max logit \(m)")
        }
    }

    /// "−inf stays −inf" also when a processor masked every entry (no NaN leaks into scores).
    func testLogSoftmaxOfFullyMaskedRowStaysMinusInfinity() {
        var row = [Float](repeating: -.infinity, count: 5)
        row.withUnsafeMutableBufferPointer { Kernels.logSoftmax($0.baseAddress!, $0.baseAddress!, count: 5) }
        XCTAssertEqual(row, [Float](repeating: -.infinity, count: 5), "got \(row)")
    }

    // MARK: vector ops

    func testDotAxpyAddAtOddLengths() {
        var rng = TestRNG(seed: 6)
        for n in [0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 33, 63, 65, 129, 1001] {
            let a = rng.normals(n), b = rng.normals(n)
            let exact = zip(a, b).map { Double($0) * Double($1) }.reduce(0, +)
            let magnitude = zip(a, b).map { abs(Double($0) * Double($1)) }.reduce(0, +)
            let d = Kernels.dot(a, b, count: n)
            XCTAssertEqual(Double(d), exact, accuracy: 1e-6 * max(1, magnitude), "dot n=\(n)")

            // axpy touches exactly n elements: a sentinel after them stays.
            var y = b + [42]
            y.withUnsafeMutableBufferPointer { Kernels.axpy($0.baseAddress!, a, alpha: -0.75, count: n) }
            for i in 0..<n {
                XCTAssertEqual(Double(y[i]), Double(b[i]) - 0.75 * Double(a[i]), accuracy: 1e-6 * (1 + abs(Double(b[i])) + abs(Double(a[i]))))
            }
            XCTAssertEqual(y[n], 42)

            var s = a + [42]
            s.withUnsafeMutableBufferPointer { Kernels.add($0.baseAddress!, b, count: n) }
            for i in 0..<n { XCTAssertEqual(s[i], a[i] + b[i]) }   // single rounding: exact match
            XCTAssertEqual(s[n], 42)
        }
    }
}
