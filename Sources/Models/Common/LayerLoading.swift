// The core's layers read from any TensorSource through a family's name table: every tensor
// shape-checked against the sizes the family's config gives, whatever the file format.

import Tensors
import TransformerCore
import Weights

/// How a layer's weight matrix is held: float32 always (encoders batch many rows through BLAS),
/// or as the file stores it (GGUF blocks stay quantized; other formats are float32 anyway).
public enum MatrixStorage { case dense, asStored }

extension TensorSource {
    /// y = x·Wᵀ (+ b): the weight (out, in) of `role`, its bias when the file has one (or required).
    public func linear<R>(_ names: TensorNames<R>, _ role: R, layer: Int? = nil, out: Int, in n: Int,
                          bias: Bool? = nil, storage: MatrixStorage = .dense) throws -> Linear {
        let biasName = names.bias(role, layer: layer)
        let hasBias = bias ?? contains(biasName)
        let b = hasBias ? try tensor(biasName, shape: [out]) : nil
        let weightName = names.weight(role, layer: layer)
        switch storage == .dense ? .dense(try tensor(weightName, shape: [out, n])) : try storedMatrix(weightName, rows: out, cols: n) {
        case .dense(let w): return Linear(weight: w, bias: b)
        case .blocks(let q): return Linear(quantized: q, bias: b)
        }
    }

    /// Layer norm (γ, β) or RMS norm (γ only) of width `width`.
    public func norm<R>(_ names: TensorNames<R>, _ role: R, layer: Int? = nil, width: Int,
                        kind: Norm.Kind = .layerNorm, eps: Float = 1e-5) throws -> Norm {
        let gamma = try tensor(names.normWeight(role, layer: layer), shape: [width])
        let beta = kind == .layerNorm ? try tensor(names.normBias(role, layer: layer), shape: [width]) : nil
        return Norm(gamma: gamma, beta: beta, kind: kind, eps: eps)
    }

    /// Several projections of one input in one (parts·out, in) matrix, as CTranslate2 stores q|k|v:
    /// the fused tensor where the format has one, else the parts concatenated in order (a part
    /// without a bias, Whisper's k_proj, contributes zeros).
    public func fusedLinear<R>(_ names: TensorNames<R>, fused: R, parts: [R], layer: Int? = nil, out: Int, in n: Int) throws -> Linear {
        if names.has(fused) { return try linear(names, fused, layer: layer, out: parts.count * out, in: n, bias: true) }
        // every part shape-checked (so its size is the file's, not the config's) before allocating
        let weights = try parts.map { try tensor(names.weight($0, layer: layer), shape: [out, n]) }
        let biases = try parts.map { part -> Tensor? in
            let name = names.bias(part, layer: layer)
            return contains(name) ? try tensor(name, shape: [out]) : nil
        }
        let weight = Tensor(zeros: [parts.count * out, n]), bias = Tensor(zeros: [parts.count * out])
        for i in parts.indices {
            weights[i].withData { (weight.data + i * out * n).update(from: $0, count: out * n) }
            biases[i]?.withData { (bias.data + i * out).update(from: $0, count: out) }
        }
        return Linear(weight: weight, bias: bias)
    }
}
