import Foundation
import Tensors
import TransformerCore
import XCTest

/// Conv2d, darknet max pooling and nearest upsampling against naive float64 loops.
final class Conv2dTests: XCTestCase {
    struct Rng { var state: UInt64; mutating func next() -> Float { state = state &* 6364136223846793005 &+ 1442695040888963407
        return Float(Double(state >> 40) / Double(1 << 24) * 2 - 1) } }

    func naiveConv(_ x: [Float], c: Int, h: Int, w: Int, weight: [Float], out: Int, k: Int, stride: Int, pad: Int, groups: Int,
                   bias: [Float], slope: Double?) -> [Double] {
        let oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1
        let cg = c / groups, og = out / groups
        var y = [Double](repeating: 0, count: out * oh * ow)
        for o in 0..<out {
            let g = o / og
            for oy in 0..<oh { for ox in 0..<ow {
                var s = Double(bias[o])
                for ci in 0..<cg { for ky in 0..<k { for kx in 0..<k {
                    let iy = oy * stride + ky - pad, ix = ox * stride + kx - pad
                    guard iy >= 0, iy < h, ix >= 0, ix < w else { continue }
                    s += Double(weight[((o * cg + ci) * k + ky) * k + kx]) * Double(x[((g * cg + ci) * h + iy) * w + ix])
                } } }
                if let slope { s = max(s, s * slope) }
                y[(o * oh + oy) * ow + ox] = s
            } }
        }
        return y
    }

    func testConvolutionMatchesNaiveReference() {
        var rng = Rng(state: 42)
        let cases: [(c: Int, h: Int, w: Int, out: Int, k: Int, stride: Int, pad: Int, groups: Int, leaky: Bool)] = [
            (3, 13, 11, 16, 3, 1, 1, 1, true), (8, 9, 9, 4, 1, 1, 0, 1, false), (8, 10, 7, 6, 3, 2, 1, 2, true),
            (4, 6, 6, 8, 5, 1, 2, 4, false), (6, 12, 12, 6, 3, 2, 0, 3, true), (5, 7, 8, 3, 1, 2, 0, 1, true),
            (2, 3, 3, 2, 5, 1, 2, 1, false), (16, 40, 40, 32, 3, 1, 1, 1, true),
        ]
        for t in cases {
            let x = (0..<t.c * t.h * t.w).map { _ in rng.next() }
            let weight = (0..<t.out * t.c / t.groups * t.k * t.k).map { _ in rng.next() }
            let bias = (0..<t.out).map { _ in rng.next() }
            let conv = Conv2d(weight: Tensor(shape: [t.out, t.c / t.groups, t.k, t.k], values: weight), bias: Tensor(shape: [t.out], values: bias),
                              inChannels: t.c, stride: t.stride, padding: t.pad, groups: t.groups,
                              activation: t.leaky ? .leakyRelu(slope: 0.1) : nil)
            let (oh, ow) = conv.outputSize(height: t.h, width: t.w)
            var y = [Float](repeating: .nan, count: t.out * oh * ow)
            var columns = [Float](repeating: .nan, count: max(1, conv.columnsCount(height: t.h, width: t.w)))
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { yp in
                    columns.withUnsafeMutableBufferPointer { cp in conv(xp.baseAddress!, height: t.h, width: t.w, into: yp.baseAddress!, columns: cp.baseAddress!) }
                }
            }
            let reference = naiveConv(x, c: t.c, h: t.h, w: t.w, weight: weight, out: t.out, k: t.k, stride: t.stride, pad: t.pad,
                                      groups: t.groups, bias: bias, slope: t.leaky ? 0.1 : nil)
            let worst = zip(y, reference).map { abs(Double($0) - $1) }.max() ?? .nan
            XCTAssertLessThan(worst, 1e-4, "case \(t)")
        }
    }

    func testDarknetMaxPoolAndUpsample() {
        // 2×2 stride 1 (padding 1: the last row/column pools over the cells that exist) and 2×2 stride 2 on odd sizes.
        var rng = Rng(state: 7)
        for (h, w, size, stride) in [(13, 13, 2, 1), (7, 9, 2, 2), (6, 5, 3, 2)] {
            let c = 3, padding = size - 1
            let x = (0..<c * h * w).map { _ in rng.next() }
            let oh = (h + padding - size) / stride + 1, ow = (w + padding - size) / stride + 1
            var y = [Float](repeating: .nan, count: c * oh * ow)
            maxPool2d(x, channels: c, height: h, width: w, size: size, stride: stride, padding: padding, into: &y)
            for ch in 0..<c { for oy in 0..<oh { for ox in 0..<ow {
                var best = -Float.infinity
                for dy in 0..<size { for dx in 0..<size {
                    let iy = oy * stride - padding / 2 + dy, ix = ox * stride - padding / 2 + dx
                    if iy >= 0, iy < h, ix >= 0, ix < w { best = max(best, x[(ch * h + iy) * w + ix]) }
                } }
                XCTAssertEqual(y[(ch * oh + oy) * ow + ox], best)
            } } }
        }
        let x: [Float] = [1, 2, 3, 4, 5, 6]   // (1, 2, 3)
        var y = [Float](repeating: 0, count: 24)
        upsampleNearest(x, channels: 1, height: 2, width: 3, factor: 2, into: &y)
        XCTAssertEqual(y, [1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 4, 4, 5, 5, 6, 6])
    }
}
