// Recurrent layers: an LSTM cell stepping over a sequence with its state kept by the caller.
//
// ONNX LSTM (https://onnx.ai/onnx/operators/onnx__LSTM.html), default activations:
//   i = σ(Wi·x + Ri·h + bi)   o = σ(Wo·x + Ro·h + bo)   f = σ(Wf·x + Rf·h + bf)
//   g = tanh(Wc·x + Rc·h + bc)   c' = f ⊙ c + i ⊙ g   h' = o ⊙ tanh(c')
// PyTorch nn.LSTM computes the same with its gates stored in the order i, f, g, o.

import Foundation
import Tensors

/// One LSTM layer (one direction): input weight (4H, in), recurrent weight (4H, H), one bias (4H)
/// (ONNX's Wb + Rb, PyTorch's b_ih + b_hh).
public struct LSTMCell {
    /// How the four gates are stacked in the weights' rows.
    public enum GateOrder: Sendable {
        /// ONNX: input, output, forget, cell.
        case iofc
        /// PyTorch: input, forget, cell, output.
        case ifco
    }

    public let hiddenSize: Int
    public let inputSize: Int
    public let order: GateOrder
    private let input: Linear      // x (rows, in) → (rows, 4H), with the bias
    private let recurrent: Linear  // h (1, H) → (1, 4H)

    public init(inputWeight: Tensor, recurrentWeight: Tensor, bias: Tensor, order: GateOrder) {
        let h4 = inputWeight.shape[0]
        precondition(h4 % 4 == 0 && recurrentWeight.shape == [h4, h4 / 4] && bias.count == h4,
                     "LSTM weights \(inputWeight.shape), \(recurrentWeight.shape), bias \(bias.shape) do not agree")
        hiddenSize = h4 / 4; inputSize = inputWeight.shape[1]; self.order = order
        input = Linear(weight: inputWeight, bias: bias)
        recurrent = Linear(weight: recurrentWeight, bias: nil)
    }

    /// Floats of scratch `run` needs for `steps` steps.
    public func scratchCount(steps: Int) -> Int { (steps + 1) * 4 * hiddenSize }

    /// Runs `steps` steps over x (steps, in): h (H) and c (H) carry the state in and out;
    /// outputs (steps, H) gets each step's h (may be nil).
    public func run(_ x: UnsafePointer<Float>, steps: Int, h: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>,
                    outputs: UnsafeMutablePointer<Float>?, scratch: UnsafeMutablePointer<Float>) {
        guard steps > 0 else { return }
        let n = hiddenSize
        let projected = scratch                      // (steps, 4H): W·x + b for every step, one GEMM
        let gates = scratch + steps * 4 * n          // (4H): R·h of the current step
        input(x, rows: steps, into: projected)
        // Offsets of the i, f, g (cell) and o gates in a row of 4H.
        let (oi, of, og, oo): (Int, Int, Int, Int) = order == .iofc ? (0, 2 * n, 3 * n, n) : (0, n, 2 * n, 3 * n)
        for t in 0..<steps {
            recurrent(h, rows: 1, into: gates)
            let row = projected + t * 4 * n
            for k in 0..<n {
                let i = sigmoid(row[oi + k] + gates[oi + k])
                let f = sigmoid(row[of + k] + gates[of + k])
                let g = tanhf(row[og + k] + gates[og + k])
                let o = sigmoid(row[oo + k] + gates[oo + k])
                let cNew = f * c[k] + i * g
                c[k] = cNew
                h[k] = o * tanhf(cNew)
            }
            if let outputs { (outputs + t * n).update(from: h, count: n) }
        }
    }
}

@inline(__always) func sigmoid(_ x: Float) -> Float { 1 / (1 + expf(-x)) }
