// 2-D convolution, max pooling and nearest upsampling over one image stored channel-major
// (channels, height, width) — the layout of Darknet, OpenCV DNN and PyTorch (NCHW, N = 1).
// Convolution is a GEMM per group: weights (out/groups, in/groups·k·k) × im2col columns
// (in/groups·k·k, outH·outW) → output rows (out/groups, outH·outW); bias and activation are
// applied in one pass over the product (batch norm is folded into weights and bias by the caller).

import Dispatch
import Foundation
import Tensors

public struct Conv2d {
    /// (out, in / groups, kernel, kernel)
    public let weight: Tensor
    /// (out)
    public let bias: Tensor?
    public let stride: Int
    public let padding: Int
    public let groups: Int
    /// Applied after the bias; nil = linear.
    public let activation: Activation?
    public let inChannels: Int
    public var outChannels: Int { weight.shape[0] }
    public var kernel: Int { weight.shape[2] }

    public init(weight: Tensor, bias: Tensor?, inChannels: Int, stride: Int = 1, padding: Int = 0, groups: Int = 1,
                activation: Activation? = nil) {
        precondition(weight.shape.count == 4 && weight.shape[2] == weight.shape[3], "conv weight must be (out, in/groups, k, k), got \(weight.shape)")
        precondition(groups >= 1 && inChannels % groups == 0 && weight.shape[0] % groups == 0 && weight.shape[1] == inChannels / groups,
                     "conv weight \(weight.shape) does not fit \(inChannels) input channels in \(groups) groups")
        precondition(bias == nil || bias!.count == weight.shape[0])
        precondition(stride >= 1 && padding >= 0)
        self.weight = weight; self.bias = bias; self.inChannels = inChannels
        self.stride = stride; self.padding = padding; self.groups = groups; self.activation = activation
    }

    public func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        ((height + 2 * padding - kernel) / stride + 1, (width + 2 * padding - kernel) / stride + 1)
    }

    /// Whether the input is its own column matrix (1×1, stride 1, no padding).
    private var isPointwise: Bool { kernel == 1 && stride == 1 && padding == 0 }

    /// Floats of scratch `columns` needs for an input of this size.
    public func columnsCount(height: Int, width: Int) -> Int {
        if isPointwise { return 0 }
        let (oh, ow) = outputSize(height: height, width: width)
        return inChannels / groups * kernel * kernel * oh * ow
    }

    /// x (in, height, width) → y (out, outH, outW); `columns` holds `columnsCount` floats.
    public func callAsFunction(_ x: UnsafePointer<Float>, height: Int, width: Int, into y: UnsafeMutablePointer<Float>,
                               columns: UnsafeMutablePointer<Float>?) {
        let (oh, ow) = outputSize(height: height, width: width)
        let spatial = oh * ow
        let cg = inChannels / groups, og = outChannels / groups, depth = cg * kernel * kernel
        for g in 0..<groups {
            let input = x + g * cg * height * width
            let b: UnsafePointer<Float>
            if isPointwise {
                b = input
            } else {
                guard let columns else { preconditionFailure("Conv2d: columns scratch is required for a \(kernel)×\(kernel) kernel") }
                im2col(input, channels: cg, height: height, width: width, outHeight: oh, outWidth: ow, into: columns)
                b = UnsafePointer(columns)
            }
            weight.withData { w in
                BLAS.gemm(m: og, n: spatial, k: depth, a: w + g * og * depth, lda: depth, b: b, ldb: spatial, transB: false,
                          c: y + g * og * spatial, ldc: spatial)
            }
        }
        finish(y, spatial: spatial)
    }

    /// Adds the bias and applies the activation, one channel row at a time, split across threads.
    private func finish(_ y: UnsafeMutablePointer<Float>, spatial: Int) {
        let bias = bias?.data, activation = activation
        guard bias != nil || activation != nil else { return }
        Kernels.parallelChunks(count: outChannels, minChunk: max(1, 65_536 / max(spatial, 1))) { start, end in
            for o in start..<end {
                let row = y + o * spatial
                let b = bias?[o] ?? 0
                switch activation {
                case .leakyRelu(let slope)?:
                    for i in 0..<spatial { let v = row[i] + b; row[i] = max(v, v * slope) }
                case nil:
                    for i in 0..<spatial { row[i] += b }
                case let other?:
                    if b != 0 { for i in 0..<spatial { row[i] += b } }
                    other.apply(row, count: spatial)
                }
            }
        }
        withExtendedLifetime(self.bias) {}
    }

    /// columns[(c·k + ky)·k + kx, oy·outW + ox] = x[c, oy·stride + ky − padding, ox·stride + kx − padding] (0 outside).
    private func im2col(_ x: UnsafePointer<Float>, channels: Int, height: Int, width: Int, outHeight oh: Int, outWidth ow: Int,
                        into columns: UnsafeMutablePointer<Float>) {
        let k = kernel, s = stride, p = padding
        Kernels.parallelChunks(count: channels * k * k, minChunk: max(1, 65_536 / max(oh * ow, 1))) { start, end in
            for r in start..<end {
                let c = r / (k * k), ky = (r / k) % k, kx = r % k
                let plane = x + c * height * width
                let out = columns + r * oh * ow
                for oy in 0..<oh {
                    let iy = oy * s + ky - p
                    let dst = out + oy * ow
                    guard iy >= 0 && iy < height else { dst.update(repeating: 0, count: ow); continue }
                    let src = plane + iy * width
                    if s == 1 {
                        // ix = ox + kx − p: zeros where it falls outside, one copy in between.
                        let lo = max(0, p - kx), hi = min(ow, width + p - kx)
                        if lo > 0 { dst.update(repeating: 0, count: min(lo, ow)) }
                        if hi > lo { dst.advanced(by: lo).update(from: src + (lo + kx - p), count: hi - lo) }
                        if hi < ow { let from = max(hi, 0); dst.advanced(by: from).update(repeating: 0, count: ow - from) }
                    } else {
                        for ox in 0..<ow {
                            let ix = ox * s + kx - p
                            dst[ox] = ix >= 0 && ix < width ? src[ix] : 0
                        }
                    }
                }
            }
        }
    }
}

/// Max pooling with darknet's window placement (maxpool_layer.c): output (in + padding − size) / stride + 1,
/// window (oy, ox) starts at (oy·stride − padding/2, ox·stride − padding/2); cells outside the input are skipped.
public func maxPool2d(_ x: UnsafePointer<Float>, channels: Int, height: Int, width: Int, size: Int, stride: Int, padding: Int,
                      into y: UnsafeMutablePointer<Float>) {
    let oh = (height + padding - size) / stride + 1, ow = (width + padding - size) / stride + 1
    let offset = -(padding / 2)
    // 2×2 windows at stride 2 that lie inside the input (every one when offset is 0): max of four.
    let fast = size == 2 && stride == 2 && offset == 0
    Kernels.parallelChunks(count: channels, minChunk: max(1, 65_536 / max(oh * ow, 1))) { start, end in
        for c in start..<end {
            let plane = x + c * height * width, out = y + c * oh * ow
            for oy in 0..<oh {
                if fast && 2 * oy + 1 < height {
                    let top = plane + 2 * oy * width, bottom = top + width, row = out + oy * ow
                    let inside = min(ow, width / 2)
                    for ox in 0..<inside {
                        row[ox] = max(max(top[2 * ox], top[2 * ox + 1]), max(bottom[2 * ox], bottom[2 * ox + 1]))
                    }
                    if inside == ow { continue }
                }
                for ox in 0..<ow {
                    var best = -Float.greatestFiniteMagnitude
                    for dy in 0..<size {
                        let iy = oy * stride + offset + dy
                        guard iy >= 0 && iy < height else { continue }
                        for dx in 0..<size {
                            let ix = ox * stride + offset + dx
                            if ix >= 0 && ix < width { best = max(best, plane[iy * width + ix]) }
                        }
                    }
                    out[oy * ow + ox] = best
                }
            }
        }
    }
}

/// Nearest-neighbour upsampling by an integer factor: y[c, oy, ox] = x[c, oy / factor, ox / factor].
public func upsampleNearest(_ x: UnsafePointer<Float>, channels: Int, height: Int, width: Int, factor: Int,
                            into y: UnsafeMutablePointer<Float>) {
    let ow = width * factor
    for c in 0..<channels {
        let plane = x + c * height * width, out = y + c * height * factor * ow
        for oy in 0..<height * factor {
            let src = plane + (oy / factor) * width, dst = out + oy * ow
            for ox in 0..<ow { dst[ox] = src[ox / factor] }
        }
    }
}

