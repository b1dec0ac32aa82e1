import Foundation
import Tensors
import TestSupport
import TransformerCore
import XCTest

// MARK: float64 references for the transformer pieces

/// Runs `body(x, y)` with `x` as input and a NaN-filled output of `outCount` floats.
func apply(_ x: [Float], outCount: Int, _ body: (UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void) -> [Float] {
    var y = [Float](repeating: .nan, count: outCount)
    x.withUnsafeBufferPointer { xp in
        y.withUnsafeMutableBufferPointer { yp in body(xp.baseAddress!, yp.baseAddress!) }
    }
    return y
}

func randomLinear(_ rng: inout TestRNG, in inFeatures: Int, out outFeatures: Int, bias: Bool = true) -> Linear {
    let scale = 1 / Float(inFeatures).squareRoot()
    return Linear(weight: Tensor(shape: [outFeatures, inFeatures], values: rng.normals(outFeatures * inFeatures, scale: scale)),
                  bias: bias ? Tensor(shape: [outFeatures], values: rng.normals(outFeatures, scale: 0.1)) : nil)
}

/// The same linear layer with its weight rounded to float16 and loaded from float16 bytes, so it
/// carries a `half` copy (and its float32 twin with exactly the same values).
func halfAndFloatTwins(_ rng: inout TestRNG, in inFeatures: Int, out outFeatures: Int) -> (half: Linear, float: Linear) {
    let scale = 1 / Float(inFeatures).squareRoot()
    let bits = rng.normals(outFeatures * inFeatures, scale: scale).map(floatToHalf)
    let halfWeight = bits.withUnsafeBytes { Tensor(shape: [outFeatures, inFeatures], dtype: .float16, bytes: $0) }
    let floatWeight = Tensor(shape: [outFeatures, inFeatures], values: halfWeight.array)
    let bias = Tensor(shape: [outFeatures], values: rng.normals(outFeatures, scale: 0.1))
    return (Linear(weight: halfWeight, bias: bias), Linear(weight: floatWeight, bias: bias))
}

func randomNorm(_ rng: inout TestRNG, _ n: Int) -> Norm {
    Norm(gamma: Tensor(shape: [n], values: (0..<n).map { _ in 1 + 0.2 * rng.normal() }),
         beta: Tensor(shape: [n], values: rng.normals(n, scale: 0.1)))
}

enum Ref {
    static func linear(_ x: [Double], rows: Int, _ l: Linear) -> [Double] {
        let w = l.weight.array, b = l.bias?.array, n = l.outFeatures, k = l.inFeatures
        var y = [Double](repeating: 0, count: rows * n)
        for r in 0..<rows {
            for o in 0..<n {
                var s = Double(b?[o] ?? 0)
                for i in 0..<k { s += x[r * k + i] * Double(w[o * k + i]) }
                y[r * n + o] = s
            }
        }
        return y
    }

    static func layerNorm(_ x: [Double], rows: Int, _ norm: Norm) -> [Double] {
        let g = norm.gamma.array, b = norm.beta?.array, n = g.count
        var y = [Double](repeating: 0, count: rows * n)
        for r in 0..<rows {
            let row = Array(x[(r * n)..<((r + 1) * n)])
            let mean = row.reduce(0, +) / Double(n)
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n)
            let inv = 1 / (variance + Double(norm.eps)).squareRoot()
            for i in 0..<n { y[r * n + i] = (row[i] - mean) * inv * Double(g[i]) + Double(b?[i] ?? 0) }
        }
        return y
    }

    static func gelu(_ x: Double) -> Double { 0.5 * x * (1 + Foundation.erf(x / 2.0.squareRoot())) }
    /// PyTorch gelu(approximate="tanh").
    static func geluTanh(_ x: Double) -> Double { 0.5 * x * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x))) }

    static func feedForward(_ x: [Double], rows: Int, _ f: FeedForward) -> [Double] {
        let hidden = linear(x, rows: rows, f.up).map { v -> Double in
            switch f.activation {
            case .gelu: return gelu(v)
            case .geluTanh: return geluTanh(v)
            case .silu: return v / (1 + Foundation.exp(-v))
            case .relu: return max(0, v)
            case .leakyRelu(let slope): return max(v, v * Double(slope))
            case .sigmoid: return 1 / (1 + Foundation.exp(-v))
            case .relu6: return min(max(0, v), 6)
            }
        }
        return linear(hidden, rows: rows, f.down)
    }

    /// One query row attending to `keys`/`values` (each a list of dim-vectors), head by head.
    static func attend(_ q: ArraySlice<Double>, keys: [ArraySlice<Double>], values: [ArraySlice<Double>], heads: Int) -> [Double] {
        let d = q.count, dh = d / heads
        let q = Array(q)
        var out = [Double](repeating: 0, count: d)
        for h in 0..<heads {
            let scores = keys.map { k -> Double in
                let k = Array(k)
                var s = 0.0
                for i in 0..<dh { s += q[h * dh + i] * k[h * dh + i] }
                return s / Double(dh).squareRoot()
            }
            let m = scores.max()!
            let e = scores.map { Foundation.exp($0 - m) }
            let total = e.reduce(0, +)
            for (t, v) in values.enumerated() {
                let v = Array(v)
                for i in 0..<dh { out[h * dh + i] += e[t] / total * v[h * dh + i] }
            }
        }
        return out
    }

    /// Self-attention over one sequence of `rows` rows: full, or causal (row t sees 0...t).
    static func selfAttention(_ x: [Double], rows: Int, _ a: SelfAttention, causal: Bool) -> [Double] {
        let d = a.dim
        guard case .fused(let qkv) = a.projection else {
            XCTFail("the reference expects a fused projection")   // an empty result fails the comparison too
            return []
        }
        let fused = linear(x, rows: rows, qkv)
        let keys = (0..<rows).map { fused[($0 * 3 * d + d)..<($0 * 3 * d + 2 * d)] }
        let values = (0..<rows).map { fused[($0 * 3 * d + 2 * d)..<($0 * 3 * d + 3 * d)] }
        var context = [Double]()
        for r in 0..<rows {
            let visible = causal ? r + 1 : rows
            context += attend(fused[(r * 3 * d)..<(r * 3 * d + d)], keys: Array(keys[0..<visible]),
                              values: Array(values[0..<visible]), heads: a.heads)
        }
        return linear(context, rows: rows, a.out)
    }

    /// Cross-attention of `x` rows to encoder rows `encoded` (length × dim) of one window.
    static func crossAttention(_ x: [Double], rows: Int, encoded: [Double], length: Int, _ c: CrossAttention) -> [Double] {
        let d = c.dim
        let q = linear(x, rows: rows, c.query)
        let kv = linear(encoded, rows: length, c.keyValue)
        let keys = (0..<length).map { kv[($0 * 2 * d)..<($0 * 2 * d + d)] }
        let values = (0..<length).map { kv[($0 * 2 * d + d)..<($0 * 2 * d + 2 * d)] }
        var context = [Double]()
        for r in 0..<rows { context += attend(q[(r * d)..<(r * d + d)], keys: keys, values: values, heads: c.heads) }
        return linear(context, rows: rows, c.out)
    }
}

func doubles(_ x: [Float]) -> [Double] { x.map(Double.init) }
