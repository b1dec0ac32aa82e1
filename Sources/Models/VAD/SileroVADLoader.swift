// Silero VAD v6 from the ONNX file faster-whisper 1.2.1 ships (faster_whisper/assets/silero_vad_v6.onnx):
// the graph is checked node by node against the network SileroVAD computes, and the sizes the
// network uses (reflect padding, STFT hop, convolution strides and pads, LSTM width, dropped
// first frame) are read from the graph's constants and attributes, not assumed.
//
//   input (N, 576) ─ Pad reflect [0,128,0,128] ─ Unsqueeze ─ Conv basis (258,1,256) stride 128
//   ─ Slice re [:129, 1:] / im [129:, 1:] ─ Pow 2, Pow 2, Add, Sqrt          → (N, 129, 4)
//   ─ 4 × (Conv k3 p1, strides 1 2 2 1 + Relu)                                → (N, 128, 1)
//   ─ Transpose ─ LSTM (hidden 128, h, c) over the N chunks ─ Squeeze ─ Relu
//   ─ Transpose ─ Conv 1×1 (1,128,1) ─ Sigmoid ─ Reshape                      → speech_probs (N)

import Foundation
import Tensors
import TransformerCore
import Weights

/// Tensor roles of Silero VAD.
public enum SileroVADTensor: Hashable, Sendable {
    case stftBasis, encoderConv, decoderConv
}

extension TensorNames where Role == SileroVADTensor {
    /// The PyTorch module names the export kept (the LSTM's weights are named by the exporter and
    /// found through the LSTM node's inputs instead).
    public static let onnx = TensorNames(format: "onnx", [
        .stftBasis: "encoder.feature_extractor.forward_basis_buffer",
        .encoderConv: "encoder.conv_layers.%d",
        .decoderConv: "decoder.conv1d",
    ])
}

extension SileroVAD {
    /// The node types of the graph, in order.
    static let expectedOps = ["Pad", "Unsqueeze", "Conv", "Slice", "Slice", "Pow", "Pow", "Add", "Sqrt",
                              "Conv", "Relu", "Conv", "Relu", "Conv", "Relu", "Conv", "Relu",
                              "Transpose", "LSTM", "Squeeze", "Relu", "Transpose", "Conv", "Sigmoid", "Reshape"]

    /// Loads `model.onnx` (or the file at `path`).
    public static func load(path: String) throws -> SileroVAD {
        try build(from: ONNXModel.read(path: path))
    }

    /// Checks the graph and builds the network from its weights; every tensor in the file is used
    /// or explained.
    public static func build(from onnx: ONNXModel, names: TensorNames<SileroVADTensor> = .onnx) throws -> SileroVAD {
        let path = onnx.path, g = onnx.graph
        func fail(_ message: String) -> WeightError { WeightError(path, "not the Silero VAD v6 graph: \(message)") }
        let ops = g.nodes.map(\.opType)
        guard ops == expectedOps else {
            let at = Array(zip(ops, expectedOps)).firstIndex { $0.0 != $0.1 } ?? min(ops.count, expectedOps.count)
            throw fail("graph.node[\(at)] is \(at < ops.count ? ops[at] : "missing"), expected \(at < expectedOps.count ? expectedOps[at] : "no more nodes")")
        }
        guard g.inputs == ["input", "h", "c"], g.outputs == ["speech_probs", "hn", "cn"] else {
            throw fail("graph inputs \(g.inputs) / outputs \(g.outputs), expected [input, h, c] / [speech_probs, hn, cn]")
        }
        let n = g.nodes
        /// An int64 constant input of node `i` (input `k`), marked explained.
        func constant(_ i: Int, _ k: Int) throws -> [Int64] {
            guard k < n[i].inputs.count, let t = try? onnx.info(n[i].inputs[k]), let v = t.integers() else {
                throw fail("graph.node[\(i)] (\(n[i].opType)) input \(k) is not an integer constant")
            }
            return v
        }
        func ints(_ i: Int, _ key: String) throws -> [Int64] {
            guard let v = n[i].attributes[key]?.ints else { throw fail("graph.node[\(i)] (\(n[i].opType)) has no '\(key)' attribute") }
            return v
        }
        func require(_ ok: Bool, _ i: Int, _ what: String) throws {
            if !ok { throw fail("graph.node[\(i)] (\(n[i].opType)): \(what)") }
        }

        // Data flow: each node reads the node before it, except the two slices (both read the STFT),
        // the squares (one slice each) and their sum.
        func output(_ i: Int) -> String? { n[i].outputs.first }
        let sources: [Int: [Int]] = [3: [2], 4: [2], 5: [3], 6: [4], 7: [5, 6]]
        try require(n[0].inputs.first == "input", 0, "does not read the graph input")
        for i in 1..<n.count {
            let from = sources[i] ?? [i - 1]
            try require(n[i].inputs.count >= from.count && zip(n[i].inputs, from).allSatisfy { $0 == output($1) }, i,
                        "does not read the output of graph.node\(from)")
        }
        try require(output(24) == "speech_probs" && n[18].outputs.count == 3 && Array(n[18].outputs[1...]) == ["hn", "cn"]
                    && n[2].inputs.count == 2 && n[2].inputs[1] == names.name(.stftBasis), 18,
                    "speech_probs / hn / cn are not the graph's outputs, or the STFT does not read its basis")

        // Pad: reflect, pads [begin0, begin1, end0, end1] = [0, P, 0, P].
        try require(n[0].attributes["mode"]?.string == "reflect", 0, "mode is not reflect")
        let pads = try constant(0, 1)
        try require(pads.count == 4 && pads[0] == 0 && pads[2] == 0 && pads[1] == pads[3] && pads[1] > 0 && pads[1] < 512, 0,
                    "pads \(pads) are not [0, P, 0, P]")
        let reflectPad = Int(pads[1])
        _ = try constant(1, 1)   // Unsqueeze axis
        // STFT as a convolution: basis (2·bins, 1, window), stride hop, no padding.
        let stftStrides = try ints(2, "strides"), stftPads = try ints(2, "pads")
        try require(stftStrides.count == 1 && stftStrides[0] > 0 && stftStrides[0] <= 4096 && stftPads.allSatisfy { $0 == 0 }, 2,
                    "strides \(stftStrides) / pads \(stftPads)")
        guard let basisShape = onnx.shape(of: names.name(.stftBasis)), basisShape.count == 3, basisShape[1] == 1, basisShape[0] % 2 == 0
        else { throw fail("tensor '\(names.name(.stftBasis))' is missing or not (2·bins, 1, window)") }
        try checkSizes([("stft window", basisShape[2]), ("stft bins", basisShape[0] / 2)], source: path)
        let basis = try onnx.tensor(names.name(.stftBasis), shape: basisShape)
        let bins = basisShape[0] / 2
        // Slices: real [0, bins) and imaginary [bins, end) channels, frames from `firstFrame` on.
        let starts = try constant(3, 1), starts2 = try constant(4, 1)
        let ends = try constant(3, 2), axes = try constant(3, 3), steps = try constant(3, 4), ends2 = try constant(4, 2)
        try require(axes == [1, 2] && steps == [1, 1] && n[4].inputs.count == 5 && n[4].inputs[3] == n[3].inputs[3]
                    && n[4].inputs[4] == n[3].inputs[4] && ends == [Int64(bins), .max] && ends2 == [.max, .max], 3,
                    "slices are not channels [0, \(bins)) and [\(bins), end), frames [F, end)")
        try require(starts.count == 2 && starts[0] == 0 && starts[1] >= 0 && starts[1] < 64 && starts2 == [Int64(bins), starts[1]], 3,
                    "slice starts \(starts) / \(starts2), expected [0, F] / [\(bins), F]")
        let firstFrame = Int(starts[1])
        guard n[5].inputs.count == 2, n[6].inputs.count == 2, n[6].inputs[1] == n[5].inputs[1],
              let two = try? onnx.info(n[5].inputs[1]), two.floats() == [2] else {
            throw fail("graph.node[5] (Pow) exponent is not 2")
        }

        // Encoder: Conv + Relu at nodes 9, 11, 13, 15.
        var convs: [Conv1d] = []
        var channels = bins
        for (layer, node) in [9, 11, 13, 15].enumerated() {
            let strides = try ints(node, "strides"), cpads = try ints(node, "pads"), kernel = try ints(node, "kernel_shape")
            try require(strides.count == 1 && (1...8).contains(strides[0]) && cpads.count == 2 && cpads[0] == cpads[1]
                        && kernel.count == 1 && cpads[0] >= 0 && cpads[0] < kernel[0], node, "strides \(strides) / pads \(cpads)")
            let wName = names.weight(.encoderConv, layer: layer)
            try require(n[node].inputs.count == 3 && n[node].inputs[1] == wName && n[node].inputs[2] == names.bias(.encoderConv, layer: layer),
                        node, "inputs \(n[node].inputs) are not \(wName) and its bias")
            guard let shape = onnx.shape(of: wName), shape.count == 3, shape[1] == channels, Int64(shape[2]) == kernel[0] else {
                throw fail("tensor '\(wName)' has shape \(onnx.shape(of: wName) ?? []), expected (out, \(channels), \(kernel[0]))")
            }
            try checkSizes([(wName, shape[0])], source: path)
            convs.append(Conv1d(weight: try onnx.tensor(wName, shape: shape),
                                bias: try onnx.tensor(names.bias(.encoderConv, layer: layer), shape: [shape[0]]),
                                stride: Int(strides[0]), padding: Int(cpads[0])))
            channels = shape[0]
        }

        // LSTM: W (1, 4H, in), R (1, 4H, H), B (1, 8H) = Wb | Rb; forward, default activations.
        let lstmNode = n[18]
        guard let hidden = lstmNode.attributes["hidden_size"]?.int, hidden == 128 else {
            throw fail("graph.node[18] (LSTM) hidden_size is not 128 (the state inputs h, c are (1, 1, 128))")
        }
        try require(lstmNode.attributes["direction"].map { $0.string == "forward" } ?? true
                    && lstmNode.attributes["activations"] == nil && lstmNode.attributes["layout"]?.int ?? 0 == 0,
                    18, "not a forward LSTM with default activations and layout")
        try require(lstmNode.inputs.count == 7 && lstmNode.inputs[4] == "" && lstmNode.inputs[5] == "h" && lstmNode.inputs[6] == "c",
                    18, "inputs \(lstmNode.inputs) are not (x, W, R, B, '', h, c)")
        let h = Int(hidden)
        let w = try onnx.tensor(lstmNode.inputs[1], shape: [1, 4 * h, channels])
        let r = try onnx.tensor(lstmNode.inputs[2], shape: [1, 4 * h, h])
        let b = try onnx.tensor(lstmNode.inputs[3], shape: [1, 8 * h])
        let bias = Tensor(zeros: [4 * h])
        for k in 0..<(4 * h) { bias.data[k] = b.data[k] + b.data[4 * h + k] }
        let lstm = LSTMCell(inputWeight: Tensor(viewing: w, shape: [4 * h, channels]),
                            recurrentWeight: Tensor(viewing: r, shape: [4 * h, h]), bias: bias, order: .iofc)
        _ = try constant(19, 1)   // Squeeze axis

        // Decoder: 1×1 convolution to one channel, sigmoid.
        try require(n[22].inputs.count == 3 && n[22].inputs[1] == names.weight(.decoderConv), 22, "inputs \(n[22].inputs)")
        let decoderWeight = try onnx.tensor(names.weight(.decoderConv), shape: [1, h, 1])
        let decoderBias = try onnx.tensor(names.bias(.decoderConv), shape: [1])
        _ = try constant(24, 1)   // Reshape to (-1)
        try onnx.requireAllUsed(by: "Silero VAD")

        let vad = SileroVAD(reflectPad: reflectPad, basis: basis, bins: bins, hop: Int(stftStrides[0]), firstFrame: firstFrame,
                            encoder: convs, lstm: lstm, decoderWeight: decoderWeight, decoderBias: decoderBias.data[0])
        // The shapes must reduce one chunk to one feature vector, as the graph's Transpose / LSTM expect.
        guard vad.frames > 0, vad.encoderLengths.last == 1 else {
            throw fail("a \(chunkSamples + contextSamples)-sample chunk gives encoder lengths \(vad.encoderLengths), not ending in 1")
        }
        return vad
    }
}
