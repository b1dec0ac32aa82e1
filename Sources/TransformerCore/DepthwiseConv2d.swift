// Depthwise convolution, TensorFlow "SAME" padding, zero padding and global average pooling over
// one channel-major image (channels, height, width), next to Conv2d (pointwise convolutions are
// Conv2d 1×1, a GEMM). Batch norm is folded into weight and bias by the caller (see foldBatchNorm).

import Foundation
import Tensors

/// TensorFlow / Keras "SAME" padding (tf.nn.conv2d; efficientnet_lite_pytorch's
/// Conv2dStaticSamePadding): output ⌈in / stride⌉, total padding split with the extra cell after.
public struct SamePadding: Equatable, Sendable {
    public let before: Int, after: Int, output: Int
    public init(input: Int, kernel: Int, stride: Int) {
        output = (input + stride - 1) / stride
        let total = max((output - 1) * stride + kernel - input, 0)
        before = total / 2; after = total - before
    }
}

/// One filter per channel: y[c, oy, ox] = act(bias[c] + Σ w[c, ky, kx] · x[c, oy·s + ky − padTop, ox·s + kx − padLeft]).
public struct DepthwiseConv2d {
    /// (channels, 1, kernel, kernel)
    public let weight: Tensor
    /// (channels)
    public let bias: Tensor
    public let stride: Int
    public let activation: Activation?
    public var channels: Int { weight.shape[0] }
    public var kernel: Int { weight.shape[2] }

    public init(weight: Tensor, bias: Tensor, stride: Int, activation: Activation?) {
        precondition(weight.shape.count == 4 && weight.shape[1] == 1 && weight.shape[2] == weight.shape[3],
                     "depthwise weight must be (channels, 1, k, k), got \(weight.shape)")
        precondition(bias.count == weight.shape[0] && stride >= 1)
        self.weight = weight; self.bias = bias; self.stride = stride; self.activation = activation
    }

    /// Output size with "SAME" padding.
    public func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        (SamePadding(input: height, kernel: kernel, stride: stride).output, SamePadding(input: width, kernel: kernel, stride: stride).output)
    }

    /// x (channels, height, width) → y (channels, ⌈height/stride⌉, ⌈width/stride⌉), "SAME" padding.
    public func callAsFunction(_ x: UnsafePointer<Float>, height: Int, width: Int, into y: UnsafeMutablePointer<Float>) {
        let ph = SamePadding(input: height, kernel: kernel, stride: stride), pw = SamePadding(input: width, kernel: kernel, stride: stride)
        let oh = ph.output, ow = pw.output, k = kernel, s = stride
        let w = weight.data, b = bias.data, activation = activation
        Kernels.parallelChunks(count: channels, minChunk: max(1, 16_384 / max(oh * ow, 1))) { start, end in
            for c in start..<end {
                let plane = x + c * height * width, out = y + c * oh * ow, filter = w + c * k * k
                out.update(repeating: b[c], count: oh * ow)
                for ky in 0..<k {
                    for kx in 0..<k {
                        let wv = filter[ky * k + kx]
                        // ox range whose ix = ox·s + kx − padLeft lies inside the row.
                        let dx = kx - pw.before
                        let oxLo = dx >= 0 ? 0 : (-dx + s - 1) / s
                        let oxHi = min(ow, width - dx <= 0 ? 0 : (width - dx + s - 1) / s)
                        guard oxLo < oxHi else { continue }
                        for oy in 0..<oh {
                            let iy = oy * s + ky - ph.before
                            guard iy >= 0 && iy < height else { continue }
                            let src = plane + iy * width + dx, dst = out + oy * ow
                            if s == 1 {
                                for ox in oxLo..<oxHi { dst[ox] += wv * src[ox] }
                            } else {
                                for ox in oxLo..<oxHi { dst[ox] += wv * src[ox * s] }
                            }
                        }
                    }
                }
                activation?.apply(out, count: oh * ow)
            }
        }
        withExtendedLifetime((weight, bias)) {}
    }
}

/// Zero padding: x (channels, height, width) → y (channels, top + height + bottom, left + width + right).
public func zeroPad2d(_ x: UnsafePointer<Float>, channels: Int, height: Int, width: Int,
                      top: Int, bottom: Int, left: Int, right: Int, into y: UnsafeMutablePointer<Float>) {
    let oh = top + height + bottom, ow = left + width + right
    y.update(repeating: 0, count: channels * oh * ow)
    for c in 0..<channels {
        for r in 0..<height {
            (y + c * oh * ow + (r + top) * ow + left).update(from: x + c * height * width + r * width, count: width)
        }
    }
}

/// Global average pooling: x (channels, spatial) → y (channels).
public func globalAveragePool(_ x: UnsafePointer<Float>, channels: Int, spatial: Int, into y: UnsafeMutablePointer<Float>) {
    for c in 0..<channels {
        var sum: Double = 0
        let row = x + c * spatial
        for i in 0..<spatial { sum += Double(row[i]) }
        y[c] = Float(sum / Double(max(spatial, 1)))
    }
}

/// Folds an inference batch norm into the preceding convolution: w' = w·γ/√(σ²+ε), b' = β − μ·γ/√(σ²+ε).
/// `weight` is (out, …); returns (weight', bias') with the same shapes as weight and (out).
public func foldBatchNorm(weight: Tensor, gamma: Tensor, beta: Tensor, mean: Tensor, variance: Tensor, epsilon: Float) -> (Tensor, Tensor) {
    let out = weight.shape[0], per = weight.count / max(out, 1)
    let w = Tensor(zeros: weight.shape), b = Tensor(zeros: [out])
    for o in 0..<out {
        let scale = gamma[o] / (variance[o] + epsilon).squareRoot()
        for i in 0..<per { w.data[o * per + i] = weight[o * per + i] * scale }
        b.data[o] = beta[o] - mean[o] * scale
    }
    return (w, b)
}
