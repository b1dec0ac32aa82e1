// YOLOv3 / YOLOv3-tiny object detection from Darknet files (cfg + weights + class names), on the
// shared core's Conv2d (im2col + BLAS GEMM, batch norm folded into weights and bias at load,
// leaky ReLU fused into the bias pass), max pooling, nearest upsampling, routes and shortcuts.
//
// Reference: darknet src/yolo_layer.c (forward_yolo_layer, get_yolo_detections,
// correct_yolo_boxes), src/box.c (do_nms_sort), src/image.c (letterbox_image); OpenCV DNN's
// darknet importer runs the same graph (the parity tests compare with it).

import Foundation
import Tensors
import TransformerCore
import Weights

/// One detected object, with its box in the original image's pixels.
public struct DetectedObject: Sendable, Equatable, Codable {
    public var label: String
    public var classIndex: Int
    /// objectness × class probability, as darknet reports it.
    public var score: Float
    /// [x0, y0, x1, y1] in pixels of the original image (clamped to it).
    public var box: [Float]

    public var area: Float { max(0, box[2] - box[0]) * max(0, box[3] - box[1]) }

    enum CodingKeys: String, CodingKey { case label, classIndex = "class", score, box }

    public init(label: String, classIndex: Int, score: Float, box: [Float]) {
        self.label = label; self.classIndex = classIndex; self.score = score; self.box = box
    }
}

public struct DetectionOptions: Sendable, Equatable, Codable {
    /// Minimum objectness and objectness × class probability (darknet's `-thresh`, 0.25).
    public var threshold: Float = 0.25
    /// IoU above which a lower-scored box of the same class is dropped (darknet's 0.45).
    public var nms: Float = 0.45
    /// At most this many objects, highest scores first.
    public var maxObjects = 100
    /// When nothing is found, look again with the image shrunk to half the input on a gray canvas:
    /// YOLOv3-tiny often misses an object that fills the frame (a close-up cat scores objectness
    /// 0.06 at full size, 0.97 zoomed out). Only the describer does this; `detect` never does.
    public var zoomOutRetry = true
    public init() {}

    enum CodingKeys: String, CodingKey { case threshold, nms, maxObjects = "max_objects", zoomOutRetry = "zoom_out_retry" }
}

/// A loaded Darknet YOLO network.
public final class YOLODetector {
    public let labels: [String]
    public let inputWidth: Int, inputHeight: Int
    public let network: DarknetNetwork
    public let cfgPath: String, weightsPath: String, namesPath: String
    private let layers: [Layer]
    /// Each layer's output, (channels, height, width), reused across images.
    private let outputs: [UnsafeMutablePointer<Float>]
    private let columns: UnsafeMutablePointer<Float>
    private let lock = NSLock()

    private enum Layer {
        case convolution(Conv2d)
        case maxpool(size: Int, stride: Int, padding: Int)
        case upsample(Int)
        case route([Int])
        case shortcut(from: Int, activation: Activation?)
        case yolo(DarknetYOLO)
    }

    /// Loads `<name>.cfg`, `<name>.weights` and the class names (`coco.names`, or any `.names` file) from a directory.
    /// `inputSize` (a multiple of 32) replaces the cfg's network input size.
    public convenience init(directory: String, inputSize: Int? = nil) throws {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
        func pick(_ ext: String) throws -> String {
            let found = names.filter { $0.hasSuffix(ext) && !$0.hasPrefix(".") }
            guard let first = found.first(where: { $0.hasPrefix("yolov3-tiny") || $0 == "coco.names" }) ?? (found.count == 1 ? found[0] : nil) else {
                throw WeightError(directory, found.isEmpty ? "no \(ext) file in this directory (a Darknet model needs .cfg, .weights and .names)"
                                  : "several \(ext) files (\(found.joined(separator: ", "))); give a directory with one")
            }
            return (directory as NSString).appendingPathComponent(first)
        }
        try self.init(cfg: pick(".cfg"), weights: pick(".weights"), names: pick(".names"), inputSize: inputSize)
    }

    public init(cfg: String, weights: String, names: String, inputSize: Int? = nil) throws {
        if let inputSize, inputSize < 32 || inputSize % 32 != 0 || inputSize > 4096 {
            throw WeightError(cfg, "input size \(inputSize) must be a multiple of 32 between 32 and 4096")
        }
        network = try DarknetNetwork.load(cfg: cfg, weights: weights, inputSize: inputSize.map { ($0, $0) })
        cfgPath = cfg; weightsPath = weights; namesPath = names
        guard let text = FileManager.default.contents(atPath: names).flatMap({ String(data: $0, encoding: .utf8) }) else {
            throw WeightError(names, "cannot read the class names")
        }
        labels = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        for layer in network.layers {
            if case .yolo(let head) = layer.kind, head.classes != labels.count {
                throw WeightError(names, "holds \(labels.count) class names; the cfg's [yolo] layer (line \(layer.line)) has \(head.classes) classes")
            }
        }
        inputWidth = network.input.width; inputHeight = network.input.height
        guard network.input.channels == 3 else { throw WeightError(cfg, "[net] channels=\(network.input.channels); RGB images need 3") }
        layers = network.layers.map(Self.runtimeLayer)
        outputs = network.layers.map { UnsafeMutablePointer<Float>.allocate(capacity: $0.output.count) }
        var scratch = 1
        for (layer, spec) in zip(layers, network.layers) {
            if case .convolution(let conv) = layer { scratch = max(scratch, conv.columnsCount(height: spec.input.height, width: spec.input.width)) }
        }
        columns = UnsafeMutablePointer<Float>.allocate(capacity: scratch)
    }

    deinit {
        outputs.forEach { $0.deallocate() }
        columns.deallocate()
    }

    /// Batch norm folded into the convolution (darknet normalize_cpu + scale_bias + add_bias):
    /// y = scale·(Wx − mean)/(√var + 1e-6) + bias  ⇒  W' = W·scale/(√var + 1e-6), b' = bias − mean·scale/(√var + 1e-6).
    private static func runtimeLayer(_ layer: DarknetLayer) -> Layer {
        switch layer.kind {
        case .convolutional(let c):
            let perFilter = c.weightCount / c.filters
            var weights = c.weights, biases = c.biases
            if c.batchNormalize {
                for o in 0..<c.filters {
                    let factor = c.scales[o] / (c.rollingVariance[o].squareRoot() + 0.000001)
                    for i in 0..<perFilter { weights[o * perFilter + i] *= factor }
                    biases[o] = c.biases[o] - c.rollingMean[o] * factor
                }
            }
            let weight = Tensor(shape: [c.filters, c.inChannels / c.groups, c.size, c.size], values: weights)
            return .convolution(Conv2d(weight: weight, bias: Tensor(shape: [c.filters], values: biases), inChannels: c.inChannels,
                                       stride: c.stride, padding: c.padding, groups: c.groups, activation: activation(c.activation)))
        case .maxpool(let size, let stride, let padding): return .maxpool(size: size, stride: stride, padding: padding)
        case .upsample(let stride): return .upsample(stride)
        case .route(let indices): return .route(indices)
        case .shortcut(let from, let a): return .shortcut(from: from, activation: activation(a))
        case .yolo(let head): return .yolo(head)
        }
    }

    private static func activation(_ a: DarknetActivation) -> Activation? {
        switch a {
        case .linear: nil
        case .leaky: .leakyRelu(slope: 0.1)
        case .relu: .relu
        case .logistic: .sigmoid
        }
    }

    // MARK: Forward

    /// One YOLO head's raw output: (anchors × (5 + classes), height, width), before any activation.
    public struct HeadOutput: Sendable {
        public let head: DarknetYOLO
        public let height: Int, width: Int
        public let values: [Float]
    }

    /// HEARTH_PROFILE=1: each layer's time on stderr.
    static let profile = ProcessInfo.processInfo.environment["HEARTH_PROFILE"] != nil

    /// Runs the network on a letterboxed blob (3, inputHeight, inputWidth); returns each YOLO head's input.
    public func forward(blob: [Float]) -> [HeadOutput] {
        precondition(blob.count == 3 * inputHeight * inputWidth, "blob must be (3, \(inputHeight), \(inputWidth))")
        lock.lock(); defer { lock.unlock() }
        var heads: [HeadOutput] = []
        blob.withUnsafeBufferPointer { input in
            for (i, (layer, spec)) in zip(layers, network.layers).enumerated() {
                let x: UnsafePointer<Float> = i == 0 ? input.baseAddress! : UnsafePointer(outputs[i - 1])
                let y = outputs[i], shape = spec.input
                let t0 = Self.profile ? Date() : nil
                defer {
                    if let t0 {
                        let ms = String(format: "%.1f", Date().timeIntervalSince(t0) * 1000)
                        FileHandle.standardError.write(Data("layer \(i) \(spec.section) \(spec.input) → \(spec.output): \(ms) ms\n".utf8))
                    }
                }
                switch layer {
                case .convolution(let conv):
                    conv(x, height: shape.height, width: shape.width, into: y, columns: columns)
                case .maxpool(let size, let stride, let padding):
                    maxPool2d(x, channels: shape.channels, height: shape.height, width: shape.width, size: size, stride: stride,
                              padding: padding, into: y)
                case .upsample(let factor):
                    upsampleNearest(x, channels: shape.channels, height: shape.height, width: shape.width, factor: factor, into: y)
                case .route(let sources):
                    var offset = 0
                    for s in sources {
                        let n = network.layers[s].output.count
                        (y + offset).update(from: outputs[s], count: n)
                        offset += n
                    }
                case .shortcut(let from, let activation):
                    let n = spec.output.count
                    y.update(from: x, count: n)
                    Kernels.add(y, outputs[from], count: n)
                    activation?.apply(y, count: n)
                case .yolo(let head):
                    let n = spec.output.count
                    y.update(from: x, count: n)
                    heads.append(HeadOutput(head: head, height: shape.height, width: shape.width,
                                            values: Array(UnsafeBufferPointer(start: x, count: n))))
                }
            }
        }
        return heads
    }

    // MARK: Detect

    /// Detects objects in an RGB image (height, width, 3) of bytes.
    public func detect(pixels: [UInt8], width: Int, height: Int, options: DetectionOptions = .init()) -> [DetectedObject] {
        let letterbox = Letterbox(imageWidth: width, imageHeight: height, inputWidth: inputWidth, inputHeight: inputHeight)
        let heads = forward(blob: letterbox.blob(pixels: pixels))
        return detections(heads, letterbox: letterbox, options: options)
    }

    /// Candidate boxes from the heads (darknet get_yolo_detections), NMS per class, then one object
    /// per (box, class) whose score passes the threshold, highest first.
    public func detections(_ heads: [HeadOutput], letterbox: Letterbox, options: DetectionOptions) -> [DetectedObject] {
        var candidates: [Candidate] = []
        for head in heads { candidates += decode(head, letterbox: letterbox, threshold: options.threshold) }
        let kept = NonMaximumSuppression.perClass(candidates, classes: labels.count, iouThreshold: options.nms)
        var objects: [DetectedObject] = []
        for c in kept {
            for (k, p) in c.probabilities.enumerated() where p > options.threshold {
                let box = [min(max(c.x0, 0), Float(letterbox.imageWidth)), min(max(c.y0, 0), Float(letterbox.imageHeight)),
                           min(max(c.x1, 0), Float(letterbox.imageWidth)), min(max(c.y1, 0), Float(letterbox.imageHeight))]
                objects.append(DetectedObject(label: labels[k], classIndex: k, score: p, box: box))
            }
        }
        objects.sort { $0.score != $1.score ? $0.score > $1.score : ($0.classIndex, $0.box[0], $0.box[1]) < ($1.classIndex, $1.box[0], $1.box[1]) }
        return Array(objects.prefix(max(0, options.maxObjects)))
    }

    /// darknet yolo_layer.c: x = (col + σ(tx)) / W, y = (row + σ(ty)) / H, w = e^tw · anchor_w / netW,
    /// h = e^th · anchor_h / netH, objectness σ(to), class k: σ(to)·σ(tk) (0 when ≤ threshold);
    /// cells with objectness ≤ threshold are skipped. Boxes are mapped from the letterboxed input back
    /// to image pixels.
    func decode(_ output: HeadOutput, letterbox: Letterbox, threshold: Float) -> [Candidate] {
        let head = output.head, classes = head.classes, plane = output.height * output.width
        let entries = 5 + classes
        func sigmoid(_ v: Float) -> Float { 1 / (1 + exp(-v)) }
        var found: [Candidate] = []
        let scale = head.scaleXY, shift = -0.5 * (head.scaleXY - 1)
        output.values.withUnsafeBufferPointer { v in
            for (a, anchor) in head.anchors.enumerated() {
                let base = a * entries * plane
                for row in 0..<output.height {
                    for col in 0..<output.width {
                        let cell = row * output.width + col
                        let objectness = sigmoid(v[base + 4 * plane + cell])
                        guard objectness > threshold else { continue }
                        let x = (Float(col) + sigmoid(v[base + cell]) * scale + shift) / Float(output.width)
                        let y = (Float(row) + sigmoid(v[base + plane + cell]) * scale + shift) / Float(output.height)
                        let w = exp(v[base + 2 * plane + cell]) * anchor.width / Float(inputWidth)
                        let h = exp(v[base + 3 * plane + cell]) * anchor.height / Float(inputHeight)
                        var probabilities = [Float](repeating: 0, count: classes)
                        for k in 0..<classes {
                            let p = objectness * sigmoid(v[base + (5 + k) * plane + cell])
                            probabilities[k] = p > threshold ? p : 0
                        }
                        let (x0, y0, x1, y1) = letterbox.imageBox(centerX: x, centerY: y, width: w, height: h)
                        found.append(Candidate(x0: x0, y0: y0, x1: x1, y1: y1, objectness: objectness, probabilities: probabilities))
                    }
                }
            }
        }
        return found
    }
}

/// A box before NMS: image pixels (unclamped), objectness and per-class scores.
public struct Candidate: Sendable, Equatable {
    public var x0: Float, y0: Float, x1: Float, y1: Float
    public var objectness: Float
    public var probabilities: [Float]
    public init(x0: Float, y0: Float, x1: Float, y1: Float, objectness: Float, probabilities: [Float]) {
        self.x0 = x0; self.y0 = y0; self.x1 = x1; self.y1 = y1; self.objectness = objectness; self.probabilities = probabilities
    }
}

public enum NonMaximumSuppression {
    /// Intersection over union of two corner boxes (0 when either is empty).
    public static func iou(_ a: Candidate, _ b: Candidate) -> Float {
        let iw = min(a.x1, b.x1) - max(a.x0, b.x0), ih = min(a.y1, b.y1) - max(a.y0, b.y0)
        guard iw > 0, ih > 0 else { return 0 }
        let inter = iw * ih
        let union = (a.x1 - a.x0) * (a.y1 - a.y0) + (b.x1 - b.x0) * (b.y1 - b.y0) - inter
        return union > 0 ? inter / union : 0
    }

    /// darknet box.c do_nms_sort: for each class, boxes by that class's score (highest first; ties by
    /// position in the list); a box's score for the class is zeroed when it overlaps a kept,
    /// higher-scored box of that class by IoU > `iouThreshold`. Boxes left with no score are dropped.
    public static func perClass(_ boxes: [Candidate], classes: Int, iouThreshold: Float) -> [Candidate] {
        var boxes = boxes
        for k in 0..<classes {
            let order = boxes.indices.filter { boxes[$0].probabilities[k] > 0 }
                .sorted { boxes[$0].probabilities[k] != boxes[$1].probabilities[k] ? boxes[$0].probabilities[k] > boxes[$1].probabilities[k] : $0 < $1 }
            for (n, i) in order.enumerated() where boxes[i].probabilities[k] > 0 {
                for j in order[(n + 1)...] where boxes[j].probabilities[k] > 0 {
                    if iou(boxes[i], boxes[j]) > iouThreshold { boxes[j].probabilities[k] = 0 }
                }
            }
        }
        return boxes.filter { $0.probabilities.contains { $0 > 0 } }
    }
}
