// The building blocks every model family composes: linear layers, norms, feed-forward, conv stem.
// Activations are row-major (rows, features); rows are tokens of all sequences in the batch.

import CKernels
import Foundation
import Tensors

/// y(rows, out) = x(rows, in) · Wᵀ + b, with W stored (out, in): float32 (with an optional
/// float16 twin), GGML quantized blocks that products read directly, or int8 rows with one scale
/// each (CTranslate2's int8, on oneDNN's integer GEMM).
public struct Linear {
    public enum Weights { case dense(Tensor), quantized(QuantizedMatrix), int8(Int8Matrix) }
    public let weights: Weights
    public let bias: Tensor?
    public let inFeatures: Int
    public let outFeatures: Int

    public init(weight: Tensor, bias: Tensor?) {
        precondition(weight.shape.count == 2, "linear weight must be 2-D, got \(weight.shape)")
        precondition(bias == nil || bias!.count == weight.shape[0], "bias size \(bias!.count) ≠ \(weight.shape[0])")
        weights = .dense(weight); self.bias = bias
        outFeatures = weight.shape[0]; inFeatures = weight.shape[1]
    }

    public init(int8: Int8Matrix, bias: Tensor?) {
        precondition(bias == nil || bias!.count == int8.rows, "bias size \(bias!.count) ≠ \(int8.rows)")
        weights = .int8(int8); self.bias = bias
        outFeatures = int8.rows; inFeatures = int8.cols
    }

    public init(quantized: QuantizedMatrix, bias: Tensor?) {
        precondition(bias == nil || bias!.count == quantized.rows, "bias size \(bias!.count) ≠ \(quantized.rows)")
        weights = .quantized(quantized); self.bias = bias
        outFeatures = quantized.rows; inFeatures = quantized.cols
    }

    /// The float32 weight of a dense layer.
    public var weight: Tensor {
        guard case .dense(let t) = weights else { preconditionFailure("a quantized layer has no float32 weight") }
        return t
    }

    /// Up to this many rows, a float16-loaded weight is read in float16 (bandwidth-bound decode steps);
    /// above it, the float32 copy goes through BLAS GEMM (compute-bound).
    public static let halfPrecisionRowLimit = 8

    /// `x` (rows, ldx ≥ in) → `y` (rows, ldy ≥ out).
    public func callAsFunction(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>,
                               ldx: Int? = nil, ldy: Int? = nil) {
        guard rows > 0 else { return }
        let ldy = ldy ?? outFeatures
        if case .int8(let q) = weights {
            q.multiply(x, rows: rows, ldx: ldx ?? inFeatures, into: y, ldy: ldy)
            if let bias { for r in 0..<rows { Kernels.add(y + r * ldy, bias.data, count: outFeatures) } }
            return
        }
        if case .quantized(let q) = weights {
            precondition((ldx ?? inFeatures) == inFeatures, "quantized products take contiguous rows")
            q.multiply(x, rows: rows, into: y, ldy: ldy)
            if let bias { for r in 0..<rows { Kernels.add(y + r * ldy, bias.data, count: outFeatures) } }
            return
        }
        let weight = self.weight
        if let half = weight.half, rows <= Self.halfPrecisionRowLimit, (ldx ?? inFeatures) == inFeatures {
            let n = outFeatures, k = inFeatures
            if n * k * rows >= 1 << 22 {   // the output projection; per-layer products stay on one thread
                Kernels.parallelChunks(count: n, minChunk: 256) { start, end in hk_matmul_f16(x, rows, k, half, start, end, y, ldy) }
            } else {
                hk_matmul_f16(x, rows, k, half, 0, n, y, ldy)
            }
            if let bias { for r in 0..<rows { Kernels.add(y + r * ldy, bias.data, count: n) } }
            return
        }
        if let bias {
            for r in 0..<rows { (y + r * ldy).update(from: bias.data, count: outFeatures) }
        }
        BLAS.gemm(m: rows, n: outFeatures, k: inFeatures, a: x, lda: ldx ?? inFeatures,
                  b: weight.data, ldb: inFeatures, transB: true, c: y, ldc: ldy, beta: bias == nil ? 0 : 1)
    }
}

/// LayerNorm (with beta) or RMSNorm (without), over the last dimension.
public struct Norm {
    public enum Kind { case layerNorm, rmsNorm }
    public let gamma: Tensor
    public let beta: Tensor?
    public let kind: Kind
    public let eps: Float

    public init(gamma: Tensor, beta: Tensor?, kind: Kind = .layerNorm, eps: Float = 1e-5) {
        self.gamma = gamma; self.beta = beta; self.kind = kind; self.eps = eps
    }

    public func callAsFunction(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        let n = gamma.count
        switch kind {
        case .layerNorm: Kernels.layerNorm(x, y, rows: rows, n: n, gamma: gamma.data, beta: beta?.data, eps: eps)
        case .rmsNorm: Kernels.rmsNorm(x, y, rows: rows, n: n, gamma: gamma.data, eps: eps)
        }
    }
}

public enum Activation: Equatable, Sendable {
    /// `gelu` is the exact (erf) form; `geluTanh` the tanh approximation (SigLIP, GPT-2's gelu_new).
    case gelu, geluTanh, silu, relu
    /// max(x, slope·x) for slope < 1 (darknet's `leaky` is slope 0.1).
    case leakyRelu(slope: Float)
    /// 1 / (1 + e^−x)
    case sigmoid
    /// min(max(x, 0), 6) (MobileNet / EfficientNet-Lite).
    case relu6

    /// Hugging Face `hidden_act` names (transformers activations.py ACT2FN) the core computes:
    /// the one table that configs are validated against and layers are built from.
    public static let huggingFaceNames: [String: Activation] = [
        "gelu": .gelu, "gelu_pytorch_tanh": .geluTanh, "gelu_new": .geluTanh, "silu": .silu, "swish": .silu, "relu": .relu,
    ]
    public func apply(_ x: UnsafeMutablePointer<Float>, count: Int) {
        switch self {
        case .gelu: Kernels.gelu(x, count: count)
        case .geluTanh: Kernels.geluTanh(x, count: count)
        case .silu: Kernels.silu(x, count: count)
        case .relu: for i in 0..<count where x[i] < 0 { x[i] = 0 }
        case .leakyRelu(let slope): for i in 0..<count { x[i] = max(x[i], x[i] * slope) }
        case .sigmoid: for i in 0..<count { x[i] = 1 / (1 + exp(-x[i])) }
        case .relu6: for i in 0..<count { x[i] = min(max(x[i], 0), 6) }
        }
    }
}

/// Position-wise MLP: down(act(up(x))), or the gated form down(act(gate(x)) ⊙ up(x)) (SwiGLU).
public struct FeedForward {
    public let up: Linear
    public let gate: Linear?
    public let down: Linear
    public let activation: Activation

    public init(up: Linear, gate: Linear? = nil, down: Linear, activation: Activation) {
        precondition(up.outFeatures == down.inFeatures && up.inFeatures == down.outFeatures)
        precondition(gate == nil || (gate!.outFeatures == up.outFeatures && gate!.inFeatures == up.inFeatures))
        self.up = up; self.gate = gate; self.down = down; self.activation = activation
    }

    /// Floats of scratch `hidden` needs per row.
    public var hiddenWidth: Int { gate == nil ? up.outFeatures : 2 * up.outFeatures }

    /// x (rows, d) → y (rows, d), using `hidden` (rows, hiddenWidth) as scratch.
    public func callAsFunction(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>,
                               hidden: UnsafeMutablePointer<Float>) {
        let n = up.outFeatures
        up(x, rows: rows, into: hidden)
        guard let gate else {
            activation.apply(hidden, count: rows * n)
            down(hidden, rows: rows, into: y)
            return
        }
        let gated = hidden + rows * n
        gate(x, rows: rows, into: gated)
        activation.apply(gated, count: rows * n)
        Kernels.multiply(hidden, gated, count: rows * n)
        down(hidden, rows: rows, into: y)
    }
}

/// 1-D convolution over time-major input, as GEMM over an im2col matrix.
/// Weight (out, in, kernel) as PyTorch / CTranslate2 store it.
public struct Conv1d {
    public let weight: Tensor
    public let bias: Tensor?
    public let stride: Int
    public let padding: Int
    private let matrix: Linear  // weight viewed as (out, in × kernel)
    public var inChannels: Int { weight.shape[1] }
    public var outChannels: Int { weight.shape[0] }
    public var kernel: Int { weight.shape[2] }

    public init(weight: Tensor, bias: Tensor?, stride: Int, padding: Int) {
        precondition(weight.shape.count == 3, "conv weight must be 3-D, got \(weight.shape)")
        self.weight = weight; self.bias = bias; self.stride = stride; self.padding = padding
        matrix = Linear(weight: Tensor(viewing: weight, shape: [weight.shape[0], weight.shape[1] * weight.shape[2]]), bias: bias)
    }

    public func outputLength(_ inputLength: Int) -> Int { (inputLength + 2 * padding - kernel) / stride + 1 }

    /// x (batch, T, in) time-major → y (batch, Tout, out), one GEMM for every sequence;
    /// `columns` needs batch × Tout × in × kernel floats.
    public func callAsFunction(_ x: UnsafePointer<Float>, length: Int, batch: Int = 1, into y: UnsafeMutablePointer<Float>,
                               columns: UnsafeMutablePointer<Float>) {
        let tOut = outputLength(length), cin = inChannels, k = kernel
        // columns[b, t, c*k + j] = x[b, t*stride + j - padding, c]
        for b in 0..<batch {
            let xb = x + b * length * cin
            for t in 0..<tOut {
                let row = columns + (b * tOut + t) * cin * k
                for j in 0..<k {
                    let src = t * stride + j - padding
                    if src < 0 || src >= length {
                        for c in 0..<cin { row[c * k + j] = 0 }
                    } else {
                        let xs = xb + src * cin
                        for c in 0..<cin { row[c * k + j] = xs[c] }
                    }
                }
            }
        }
        matrix(columns, rows: batch * tOut, into: y)
    }
}

