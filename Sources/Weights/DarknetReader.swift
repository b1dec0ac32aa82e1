// Darknet models: a `.cfg` network description and a `.weights` file of raw float32 parameters.
//
// cfg (darknet src/parser.c `read_cfg`): `[section]` lines start layers, `key=value` lines set their
// options, `#` / `;` start comment lines; whitespace is insignificant. The first section is `[net]`
// (input width, height, channels); every later section is one layer whose output index is its
// position after `[net]` (what `route` / `shortcut` indices refer to).
//
// weights (parser.c `load_weights_upto`): i32 major, i32 minor, i32 revision, then `seen` (u64 when
// major·10 + minor ≥ 2, else u32), then each convolutional layer's parameters in layer order:
// biases[n], and with `batch_normalize=1` scales[n], rolling_mean[n], rolling_variance[n]; then
// weights[n × c/groups × size × size] laid out (out, in/groups, kh, kw). Nothing else may follow.
//
// Every layer's shape is computed from the cfg (darknet's own formulas, cited per layer) and every
// count read from the weights is checked against it; a malformed file is refused with a
// WeightError naming the file and the section/field, never a crash.

import Foundation
import Tensors

/// A layer's output as darknet sees it: (channels, height, width).
public struct DarknetShape: Equatable, Sendable, CustomStringConvertible {
    public var channels: Int, height: Int, width: Int
    public init(channels: Int, height: Int, width: Int) { self.channels = channels; self.height = height; self.width = width }
    public var count: Int { channels * height * width }
    public var description: String { "\(channels)×\(height)×\(width)" }
}

public enum DarknetActivation: String, Sendable {
    case linear, leaky, relu, logistic
}

/// One `[convolutional]` layer with its parameters as stored (batch norm not yet folded).
public struct DarknetConvolution: Sendable {
    public let filters: Int, size: Int, stride: Int, padding: Int, groups: Int
    public let activation: DarknetActivation
    public let batchNormalize: Bool
    public let inChannels: Int
    /// (filters)
    public var biases: [Float] = []
    /// (filters) each, only with batch normalization.
    public var scales: [Float] = [], rollingMean: [Float] = [], rollingVariance: [Float] = []
    /// (filters, inChannels / groups, size, size)
    public var weights: [Float] = []

    public var weightCount: Int { filters * (inChannels / groups) * size * size }
}

/// One `[yolo]` detection head.
public struct DarknetYOLO: Sendable {
    public let classes: Int
    /// The anchors this head uses (`mask` picks them from `anchors`), in network-input pixels.
    public let anchors: [Anchor]
    public struct Anchor: Sendable, Equatable {
        public let width: Float, height: Float
        public init(width: Float, height: Float) { self.width = width; self.height = height }
    }
    /// `scale_x_y` (AlexeyAB's darknet; 1 in the original YOLOv3).
    public let scaleXY: Float
}

public enum DarknetLayerKind: Sendable {
    case convolutional(DarknetConvolution)
    /// darknet maxpool_layer.c: out = (in + padding − size) / stride + 1, windows start at
    /// i·stride − padding/2, cells outside the input are ignored.
    case maxpool(size: Int, stride: Int, padding: Int)
    /// Nearest-neighbour upsampling by an integer factor.
    case upsample(stride: Int)
    /// Channel concatenation of earlier layers' outputs (absolute indices).
    case route(layers: [Int])
    /// Elementwise sum of the previous output and layer `from` (absolute index), then activation.
    case shortcut(from: Int, activation: DarknetActivation)
    case yolo(DarknetYOLO)
}

public struct DarknetLayer: Sendable {
    public let kind: DarknetLayerKind
    public let input: DarknetShape
    public let output: DarknetShape
    /// Section name and its line in the cfg, for messages.
    public let section: String
    public let line: Int
}

/// A parsed, shape-checked Darknet network with its parameters loaded.
public struct DarknetNetwork: Sendable {
    public let input: DarknetShape
    public let layers: [DarknetLayer]
    /// Weights header: version and the number of training images seen.
    public let version: (major: Int32, minor: Int32, revision: Int32)
    public let seen: UInt64

    /// Parameters read from the weights file.
    public var parameterCount: Int {
        layers.reduce(0) { total, layer in
            guard case .convolutional(let c) = layer.kind else { return total }
            return total + c.biases.count + c.scales.count + c.rollingMean.count + c.rollingVariance.count + c.weights.count
        }
    }

    /// Reads `cfg` and `weights`; any problem is a WeightError naming the file at fault. `inputSize`
    /// replaces the cfg's [net] width and height (convolutions do not depend on it; darknet's
    /// `resize_network` does the same).
    public static func load(cfg: String, weights: String, inputSize: (width: Int, height: Int)? = nil) throws -> DarknetNetwork {
        guard let data = FileManager.default.contents(atPath: cfg) else { throw WeightError(cfg, "cannot read the file") }
        guard let text = String(data: data, encoding: .utf8) else { throw WeightError(cfg, "not UTF-8 text") }
        var sections = try DarknetConfig.parse(text, path: cfg)
        if let inputSize {
            sections[0].options.removeAll { $0.key == "width" || $0.key == "height" }
            sections[0].options += [("width", String(inputSize.width), sections[0].line), ("height", String(inputSize.height), sections[0].line)]
        }
        var (input, layers) = try DarknetConfig.layers(sections, path: cfg)
        let file = try MappedFile(path: weights)
        let (version, seen) = try readWeights(file, into: &layers)
        return DarknetNetwork(input: input, layers: layers, version: version, seen: seen)
    }

    /// Fills every convolution's parameters from the weights file, in layer order.
    static func readWeights(_ file: MappedFile, into layers: inout [DarknetLayer])
        throws -> ((major: Int32, minor: Int32, revision: Int32), UInt64) {
        var reader = ByteReader(file)
        let major = try reader.read(Int32.self, "header major version")
        let minor = try reader.read(Int32.self, "header minor version")
        let revision = try reader.read(Int32.self, "header revision")
        guard (0..<1000).contains(major), (0..<1000).contains(minor) else {
            throw WeightError(file.path, "header: version \(major).\(minor) is not a Darknet weights version (is this a .weights file?)")
        }
        let seen: UInt64 = major * 10 + minor >= 2
            ? try reader.read(UInt64.self, "header `seen` (u64)") : UInt64(try reader.read(UInt32.self, "header `seen` (u32)"))
        let expected = layers.reduce(0) { total, layer in
            guard case .convolutional(let c) = layer.kind else { return total }
            return total + c.filters * (c.batchNormalize ? 4 : 1) + c.weightCount
        }
        for i in layers.indices {
            guard case .convolutional(var conv) = layers[i].kind else { continue }
            let what = "layer \(i) (\(layers[i].section), cfg line \(layers[i].line))"
            func floats(_ count: Int, _ field: String) throws -> [Float] {
                let bytes = try reader.bytes(count * 4, "\(what) \(field) (\(count) floats; the cfg needs \(expected) floats after the header)")
                var values = [Float](repeating: 0, count: count)
                values.withUnsafeMutableBytes { $0.copyMemory(from: bytes) }
                if let bad = values.firstIndex(where: { !$0.isFinite }) {
                    throw WeightError(file.path, "\(what) \(field)[\(bad)] is \(values[bad]) (not a finite number)")
                }
                return values
            }
            conv.biases = try floats(conv.filters, "biases")
            if conv.batchNormalize {
                conv.scales = try floats(conv.filters, "scales")
                conv.rollingMean = try floats(conv.filters, "rolling_mean")
                conv.rollingVariance = try floats(conv.filters, "rolling_variance")
                if let bad = conv.rollingVariance.firstIndex(where: { $0 < 0 }) {
                    throw WeightError(file.path, "\(what) rolling_variance[\(bad)] is negative (\(conv.rollingVariance[bad]))")
                }
            }
            conv.weights = try floats(conv.weightCount, "weights")
            layers[i] = DarknetLayer(kind: .convolutional(conv), input: layers[i].input, output: layers[i].output,
                                     section: layers[i].section, line: layers[i].line)
        }
        if reader.remaining != 0 {
            throw WeightError(file.path, "\(reader.remaining) bytes left after the \(expected) floats the cfg's "
                + "convolutions need (does the .weights file belong to this .cfg?)")
        }
        return ((major, minor, revision), seen)
    }
}

/// cfg text → sections → shape-checked layers (without parameters).
public enum DarknetConfig {
    public struct Section: Sendable {
        public let name: String
        public let line: Int
        public var options: [(key: String, value: String, line: Int)]
    }

    /// Options each section understands. Training-only options are accepted and ignored.
    static let knownKeys: [String: Set<String>] = [
        "net": ["batch", "subdivisions", "width", "height", "channels", "momentum", "decay", "angle", "saturation",
                "exposure", "hue", "learning_rate", "burn_in", "max_batches", "policy", "steps", "scales", "step",
                "gamma", "power", "mosaic", "flip", "letter_box", "max_crop", "min_crop", "aspect", "jitter",
                "adam", "B1", "B2", "eps", "inputs", "cutmix", "mixup", "blur", "label_smooth_eps"],
        "convolutional": ["batch_normalize", "filters", "size", "stride", "pad", "padding", "activation", "groups",
                          "stride_x", "stride_y", "dilation", "binary", "xnor", "flipped", "dot"],
        "maxpool": ["size", "stride", "padding", "stride_x", "stride_y"],
        "upsample": ["stride", "scale"],
        "route": ["layers", "groups", "group_id"],
        "shortcut": ["from", "activation", "weights_type", "weights_normalization"],
        "yolo": ["mask", "anchors", "classes", "num", "jitter", "ignore_thresh", "truth_thresh", "random",
                 "scale_x_y", "iou_loss", "iou_normalizer", "cls_normalizer", "obj_normalizer", "max_delta",
                 "counters_per_class", "label_smooth_eps", "nms_kind", "beta_nms", "resize", "iou_thresh", "max",
                 "new_coords", "objectness_smooth"],
    ]
    static let aliases = ["network": "net", "conv": "convolutional", "max": "maxpool"]

    /// Splits cfg text into sections (darknet strips every whitespace character from a line).
    public static func parse(_ text: String, path: String) throws -> [Section] {
        var sections: [Section] = []
        for (n, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r" }).enumerated() {
            let line = String(raw.filter { !$0.isWhitespace })
            let number = n + 1
            guard let first = line.first, first != "#", first != ";" else { continue }
            if first == "[" {
                guard line.last == "]", line.count > 2 else { throw WeightError(path, "line \(number): malformed section header '\(line)'") }
                let name = String(line.dropFirst().dropLast()).lowercased()
                let canonical = aliases[name] ?? name
                guard knownKeys[canonical] != nil else {
                    throw WeightError(path, "line \(number): section [\(name)] is not supported (supported: "
                        + knownKeys.keys.sorted().joined(separator: ", ") + ")")
                }
                sections.append(Section(name: canonical, line: number, options: []))
                continue
            }
            guard let eq = line.firstIndex(of: "="), eq != line.startIndex else {
                throw WeightError(path, "line \(number): expected key=value, got '\(line)'")
            }
            guard !sections.isEmpty else { throw WeightError(path, "line \(number): option '\(line)' before the first [section]") }
            let key = String(line[..<eq]), value = String(line[line.index(after: eq)...])
            let section = sections[sections.count - 1]
            guard knownKeys[section.name]?.contains(key) == true else {
                throw WeightError(path, "line \(number): [\(section.name)] has no option '\(key)'")
            }
            guard !section.options.contains(where: { $0.key == key }) else {
                throw WeightError(path, "line \(number): [\(section.name)] sets '\(key)' twice")
            }
            sections[sections.count - 1].options.append((key, value, number))
        }
        guard let net = sections.first, net.name == "net" else { throw WeightError(path, "the first section must be [net]") }
        guard sections.count > 1 else { throw WeightError(path, "no layers after [net]") }
        return sections
    }

    /// Computes every layer's input and output shape, checking each option's value.
    public static func layers(_ sections: [Section], path: String) throws -> (DarknetShape, [DarknetLayer]) {
        let net = Options(section: sections[0], path: path)
        let input = DarknetShape(channels: try net.int("channels", default: 3, in: 1...64),
                                 height: try net.int("height", default: nil, in: 1...8192),
                                 width: try net.int("width", default: nil, in: 1...8192))
        var layers: [DarknetLayer] = []
        var activations = 0
        for section in sections.dropFirst() {
            let o = Options(section: section, path: path)
            let index = layers.count
            let previous = layers.last?.output ?? input
            func fail(_ message: String) -> WeightError { WeightError(path, "line \(section.line): [\(section.name)] (layer \(index)): \(message)") }
            /// An absolute layer index from a cfg index (negative: relative to this layer).
            func target(_ value: Int) throws -> Int {
                let absolute = value < 0 ? index + value : value
                guard absolute >= 0, absolute < index else { throw fail("refers to layer \(value), which is not an earlier layer") }
                return absolute
            }
            let kind: DarknetLayerKind
            let output: DarknetShape
            var layerInput = previous
            switch section.name {
            case "convolutional":
                let filters = try o.int("filters", default: 1, in: 1...65536)
                let size = try o.int("size", default: 1, in: 1...31)
                let stride = try o.int("stride", default: 1, in: 1...32)
                if let sx = try o.optionalInt("stride_x"), sx != stride { throw fail("stride_x ≠ stride is not supported") }
                if let sy = try o.optionalInt("stride_y"), sy != stride { throw fail("stride_y ≠ stride is not supported") }
                if try o.int("dilation", default: 1, in: 1...64) != 1 { throw fail("dilation is not supported") }
                if try o.int("binary", default: 0, in: 0...1) != 0 || o.int("xnor", default: 0, in: 0...1) != 0 {
                    throw fail("binary / xnor convolutions are not supported")
                }
                // parser.c parse_convolutional: pad=1 means padding = size/2.
                let padding = try o.int("pad", default: 0, in: 0...1) == 1 ? size / 2 : o.int("padding", default: 0, in: 0...31)
                let groups = try o.int("groups", default: 1, in: 1...65536)
                guard previous.channels % groups == 0, filters % groups == 0 else {
                    throw fail("groups=\(groups) must divide the input channels (\(previous.channels)) and filters (\(filters))")
                }
                let h = (previous.height + 2 * padding - size) / stride + 1, w = (previous.width + 2 * padding - size) / stride + 1
                guard h > 0, w > 0, previous.height + 2 * padding >= size, previous.width + 2 * padding >= size else {
                    throw fail("a \(size)×\(size) kernel does not fit the \(previous) input")
                }
                let activation = try o.activation()
                kind = .convolutional(DarknetConvolution(filters: filters, size: size, stride: stride, padding: padding, groups: groups,
                                                         activation: activation, batchNormalize: try o.int("batch_normalize", default: 0, in: 0...1) == 1,
                                                         inChannels: previous.channels))
                output = DarknetShape(channels: filters, height: h, width: w)
            case "maxpool":
                let size = try o.int("size", default: 1, in: 1...64)
                let stride = try o.int("stride", default: 1, in: 1...64)
                if let sx = try o.optionalInt("stride_x"), sx != stride { throw fail("stride_x ≠ stride is not supported") }
                if let sy = try o.optionalInt("stride_y"), sy != stride { throw fail("stride_y ≠ stride is not supported") }
                let padding = try o.int("padding", default: size - 1, in: 0...64)
                let h = (previous.height + padding - size) / stride + 1, w = (previous.width + padding - size) / stride + 1
                guard h > 0, w > 0 else { throw fail("a \(size)×\(size) window does not fit the \(previous) input") }
                kind = .maxpool(size: size, stride: stride, padding: padding)
                output = DarknetShape(channels: previous.channels, height: h, width: w)
            case "upsample":
                let stride = try o.int("stride", default: 2, in: 1...32)
                if try o.float("scale", default: 1) != 1 { throw fail("scale ≠ 1 is not supported") }
                kind = .upsample(stride: stride)
                output = DarknetShape(channels: previous.channels, height: previous.height * stride, width: previous.width * stride)
            case "route":
                let indices = try o.ints("layers").map(target)
                guard !indices.isEmpty else { throw fail("layers is empty") }
                if try o.int("groups", default: 1, in: 1...64) != 1 { throw fail("grouped routes are not supported") }
                let shapes = indices.map { layers[$0].output }
                guard shapes.allSatisfy({ $0.height == shapes[0].height && $0.width == shapes[0].width }) else {
                    throw fail("routed layers have different sizes: " + shapes.map(\.description).joined(separator: ", "))
                }
                kind = .route(layers: indices)
                output = DarknetShape(channels: shapes.reduce(0) { $0 + $1.channels }, height: shapes[0].height, width: shapes[0].width)
                layerInput = output
            case "shortcut":
                let from = try target(try o.int("from", default: nil, in: -100_000...100_000))
                guard layers[from].output == previous else {
                    throw fail("shortcut from layer \(from) (\(layers[from].output)) does not match the previous output (\(previous))")
                }
                kind = .shortcut(from: from, activation: try o.activation())
                output = previous
            case "yolo":
                let classes = try o.int("classes", default: 20, in: 1...100_000)
                let all = try o.floats("anchors")
                let num = try o.int("num", default: all.count / 2, in: 1...1000)
                guard all.count == 2 * num else { throw fail("anchors holds \(all.count) numbers; num=\(num) needs \(2 * num)") }
                let mask = o.has("mask") ? try o.ints("mask") : Array(0..<num)
                guard !mask.isEmpty, mask.allSatisfy({ (0..<num).contains($0) }) else {
                    throw fail("mask \(mask) must pick anchors in 0..<\(num)")
                }
                guard all.allSatisfy({ $0 > 0 && $0.isFinite }) else { throw fail("anchors must be positive numbers") }
                guard previous.channels == mask.count * (classes + 5) else {
                    throw fail("its input has \(previous.channels) channels; \(mask.count) anchors × (\(classes) classes + 5) = "
                        + "\(mask.count * (classes + 5)) are needed")
                }
                let scale = try o.float("scale_x_y", default: 1)
                guard scale >= 1, scale <= 4 else { throw fail("scale_x_y must be in [1, 4]") }
                kind = .yolo(DarknetYOLO(classes: classes, anchors: mask.map { .init(width: all[2 * $0], height: all[2 * $0 + 1]) }, scaleXY: scale))
                output = previous
            default:
                throw fail("unsupported section")
            }
            // Memory the network will need: every layer's output is kept (routes read back), and a
            // convolution's im2col columns; a hostile cfg must not make the loader allocate gigabytes.
            activations += output.count
            if case .convolutional(let c) = kind {
                let columns = c.inChannels / c.groups * c.size * c.size * output.height * output.width
                guard columns <= 1 << 27 else { throw fail("its im2col buffer (\(columns) floats) is too large") }
            }
            guard activations <= 1 << 28 else {
                throw fail("the layers' outputs so far need \(activations) floats (more than 2^28); the input or the filters are too large")
            }
            layers.append(DarknetLayer(kind: kind, input: layerInput, output: output, section: section.name, line: section.line))
        }
        guard layers.contains(where: { if case .yolo = $0.kind { return true } else { return false } }) else {
            throw WeightError(path, "the network has no [yolo] layer")
        }
        return (input, layers)
    }

    /// Typed access to one section's options, with errors naming the line and key.
    struct Options {
        let section: Section
        let path: String

        func has(_ key: String) -> Bool { section.options.contains { $0.key == key } }
        private func raw(_ key: String) -> (value: String, line: Int)? {
            section.options.first { $0.key == key }.map { ($0.value, $0.line) }
        }
        private func fail(_ line: Int, _ key: String, _ message: String) -> WeightError {
            WeightError(path, "line \(line): [\(section.name)] \(key): \(message)")
        }

        func optionalInt(_ key: String) throws -> Int? {
            guard let (value, line) = raw(key) else { return nil }
            guard let v = Int(value) else { throw fail(line, key, "'\(value)' is not an integer") }
            return v
        }

        func int(_ key: String, default fallback: Int?, in range: ClosedRange<Int>) throws -> Int {
            guard let v = try optionalInt(key) ?? fallback else {
                throw WeightError(path, "line \(section.line): [\(section.name)] needs '\(key)'")
            }
            guard range.contains(v) else { throw fail(raw(key)?.line ?? section.line, key, "\(v) is outside \(range.lowerBound)...\(range.upperBound)") }
            return v
        }

        func float(_ key: String, default fallback: Float) throws -> Float {
            guard let (value, line) = raw(key) else { return fallback }
            guard let v = Float(value), v.isFinite else { throw fail(line, key, "'\(value)' is not a number") }
            return v
        }

        func ints(_ key: String) throws -> [Int] {
            guard let (value, line) = raw(key) else { throw WeightError(path, "line \(section.line): [\(section.name)] needs '\(key)'") }
            return try value.split(separator: ",", omittingEmptySubsequences: false).map {
                guard let v = Int($0) else { throw fail(line, key, "'\($0)' in '\(value)' is not an integer") }
                return v
            }
        }

        func floats(_ key: String) throws -> [Float] {
            guard let (value, line) = raw(key) else { throw WeightError(path, "line \(section.line): [\(section.name)] needs '\(key)'") }
            return try value.split(separator: ",", omittingEmptySubsequences: false).map {
                guard let v = Float($0), v.isFinite else { throw fail(line, key, "'\($0)' in '\(value)' is not a number") }
                return v
            }
        }

        func activation() throws -> DarknetActivation {
            guard let (value, line) = raw("activation") else { return .logistic }   // parser.c default
            guard let a = DarknetActivation(rawValue: value) else {
                throw fail(line, "activation", "'\(value)' is not supported (linear, leaky, relu, logistic)")
            }
            return a
        }
    }
}
