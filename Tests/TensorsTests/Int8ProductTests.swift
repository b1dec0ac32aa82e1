import Foundation
import Tensors
import TestSupport
import XCTest

// The int8 forms of compute type `int8`: q8_0 weight blocks (Hearth's kernels) and int8 rows with
// a scale per row and group of values (oneDNN's integer GEMM, AVX-512 VNNI only).
//
// Tolerance: weights w and activations x are rounded to steps s_w, s_x (amax/127 of their block or
// group), each value off by at most half a step, so an output is off by at most, summed over the
// groups, 0.5·(s_w·Σ|x_i| + s_x·Σ|w_i|) + 0.25·s_w·s_x·group, plus float rounding of the scales and sums
// (2e-3·Σ|w_i·x_i| + 1e-6 covers it). Every output is checked against its own bound; a layout
// mistake (transposed operands, a lost 128 offset, a wrong row stride) breaks it by orders of magnitude.
final class Int8ProductTests: XCTestCase {
    private func random(_ count: Int, _ rng: inout TestRNG, scale: Float = 1) -> [Float] {
        (0..<count).map { _ in Float.random(in: -scale...scale, using: &rng) }
    }

    /// q8_0 weight blocks: d = fp16(amax/127) per 32 values, every value within half a step
    /// (plus 127 steps' worth of the fp16 rounding of d, ≤ 2⁻¹¹ relative, as ggml has it).
    func testQ8_0WeightBlocksRoundTrip() throws {
        var rng = TestRNG(seed: 11)
        let rows = 7, cols = 96
        let w = random(rows * cols, &rng, scale: 3)
        let q = try QuantizedMatrix.q8_0(Tensor(shape: [rows, cols], values: w))
        XCTAssertEqual(q.type, .q8_0)
        XCTAssertEqual(q.rowBytes, cols / 32 * 34)
        let back = q.dequantized()
        for r in 0..<rows {
            for b in 0..<(cols / 32) {
                let block = (0..<32).map { w[r * cols + b * 32 + $0] }
                let step = block.map(abs).max()! / 127
                for i in 0..<32 {
                    XCTAssertLessThanOrEqual(abs(back.data[r * cols + b * 32 + i] - block[i]), (0.5 + 127.0 / 2048) * step + 1e-7)
                }
            }
        }
        XCTAssertThrowsError(try QuantizedMatrix.q8_0(Tensor(shape: [2, 40], values: [Float](repeating: 1, count: 80))))
    }

    /// Int8Matrix (oneDNN) products of 1…300 rows against float64, within the per-output bound,
    /// with row strides wider than the row, one or several scale groups per row, and threads
    /// splitting the columns.
    func testInt8RowProductsAgainstFloat64() throws {
        try XCTSkipUnless(Int8Matrix.isAvailable, "no AVX-512 VNNI: int8 rows fall back to q8_0 blocks (tested above)")
        var rng = TestRNG(seed: 5)
        for (m, k, n, ldx, group) in [(1, 64, 48, 64, 64), (3, 384, 130, 400, 128), (300, 384, 1536, 384, 384),
                                      (37, 1536, 384, 1600, 384), (5, 96, 40, 96, 32)] {
            let w = random(n * k, &rng, scale: 0.2), x = random(m * ldx, &rng, scale: 4)
            let matrix = Int8Matrix(Tensor(shape: [n, k], values: w), group: group)
            let ldy = n + 3
            var y = [Float](repeating: .nan, count: m * ldy)
            x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { matrix.multiply(xp.baseAddress!, rows: m, ldx: ldx, into: $0.baseAddress!, ldy: ldy) } }
            var worst = 0.0
            /// (step, Σ|v|) of each group of a row
            func steps(_ v: ArraySlice<Float>) -> [(Double, Double)] {
                stride(from: v.startIndex, to: v.endIndex, by: group).map { s in
                    let g = v[s..<(s + group)]
                    return (Double(g.map(abs).max()!) / 127, g.reduce(0.0) { $0 + Double(abs($1)) })
                }
            }
            for c in 0..<n {
                let wr = Array(w[(c * k)..<((c + 1) * k)]), ws = steps(wr[...])
                for r in 0..<m {
                    let xr = Array(x[(r * ldx)..<(r * ldx + k)]), xs = steps(xr[...])
                    var exact = 0.0, magnitude = 0.0
                    for i in 0..<k { exact += Double(wr[i]) * Double(xr[i]); magnitude += abs(Double(wr[i]) * Double(xr[i])) }
                    var bound = 2e-3 * magnitude + 1e-6
                    for (a, b) in zip(ws, xs) { bound += 0.5 * (a.0 * b.1 + b.0 * a.1) + 0.25 * a.0 * b.0 * Double(group) }
                    let error = abs(Double(y[r * ldy + c]) - exact)
                    worst = max(worst, error / bound)
                    XCTAssertLessThanOrEqual(error, bound, "m \(m) k \(k) n \(n) group \(group): row \(r) column \(c)")
                }
            }
            for r in 0..<m { for c in n..<ldy { XCTAssertTrue(y[r * ldy + c].isNaN, "column \(c) past the output was written") } }
            print("int8 rows m \(m) k \(k) n \(n) group \(group): worst error / bound \(worst)")
        }
    }
}
