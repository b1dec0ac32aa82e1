// ONNX models (`model.onnx`): a protobuf `ModelProto` read by hand from the wire format
// (https://protobuf.dev/programming-guides/encoding/) against onnx/onnx.proto
// (https://github.com/onnx/onnx/blob/main/onnx/onnx.proto):
//
//   ModelProto  1 ir_version · 2 producer_name · 3 producer_version · 7 graph · 8 opset_import
//   GraphProto  1 node · 2 name · 5 initializer · 11 input · 12 output
//   NodeProto   1 input · 2 output · 3 name · 4 op_type · 5 attribute · 7 domain
//   AttributeProto 1 name · 2 f · 3 i · 4 s · 5 t · 6 g · 7 floats · 8 ints · 20 type
//   TensorProto 1 dims · 2 data_type · 4 float_data · 7 int64_data · 8 name · 9 raw_data
//               · 14 data_location (external data is refused)
//   ValueInfoProto 1 name · OperatorSetIdProto 1 domain · 2 version
//
// Every other field is skipped by its wire type. Every varint, length and offset is checked
// against the end of the message that holds it; a malformed file is refused with a WeightError
// naming the field path (`graph.initializer[3].raw_data`), never a crash. The weights are the
// graph's initializers, Constant nodes' `value` tensors and those of subgraphs (If / Loop
// branches), exposed through `TensorSource` as float32.

import Foundation
import Tensors

/// One `TensorProto`: its name, dims and data, still encoded.
public struct ONNXTensor: Sendable {
    /// ONNX `TensorProto.DataType` values Hearth reads.
    public enum DataType: Int, Sendable, CustomStringConvertible {
        case float = 1, int32 = 6, int64 = 7, float16 = 10, double = 11
        public var byteSize: Int {
            switch self {
            case .float, .int32: return 4
            case .int64, .double: return 8
            case .float16: return 2
            }
        }
        public var description: String {
            switch self {
            case .float: return "FLOAT"
            case .int32: return "INT32"
            case .int64: return "INT64"
            case .float16: return "FLOAT16"
            case .double: return "DOUBLE"
            }
        }
    }

    public let name: String
    public let dims: [Int]
    public let dataType: DataType
    /// Little-endian element bytes (`raw_data`, or the typed `*_data` field re-encoded).
    public let bytes: [UInt8]
    public var elementCount: Int { dims.reduce(1, *) }

    /// The elements as float32 (float, float16, double; integers converted).
    public func floats() -> [Float] {
        let n = elementCount
        return bytes.withUnsafeBytes { raw in
            (0..<n).map { i -> Float in
                switch dataType {
                case .float: return Float(bitPattern: raw.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self).littleEndian)
                case .float16: return halfToFloat(raw.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self).littleEndian)
                case .double: return Float(Double(bitPattern: raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self).littleEndian))
                case .int32: return Float(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: i * 4, as: Int32.self)))
                case .int64: return Float(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: i * 8, as: Int64.self)))
                }
            }
        }
    }

    /// The elements as integers (int32 / int64 tensors: shapes, pads, axes), nil for float types.
    public func integers() -> [Int64]? {
        let n = elementCount
        return bytes.withUnsafeBytes { raw in
            switch dataType {
            case .int64: return (0..<n).map { Int64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) }
            case .int32: return (0..<n).map { Int64(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self))) }
            default: return nil
            }
        }
    }
}

/// One `AttributeProto` value.
public indirect enum ONNXAttribute: Sendable {
    case float(Float), int(Int64), string(String), tensor(ONNXTensor), graph(ONNXGraph)
    case floats([Float]), ints([Int64]), strings([String])

    public var int: Int64? { if case .int(let v) = self { return v } else { return nil } }
    public var ints: [Int64]? { if case .ints(let v) = self { return v } else { return nil } }
    public var string: String? { if case .string(let v) = self { return v } else { return nil } }
}

/// One `NodeProto`.
public struct ONNXNode: Sendable {
    public var name = "", opType = "", domain = ""
    public var inputs: [String] = [], outputs: [String] = []
    public var attributes: [String: ONNXAttribute] = [:]
}

/// One `GraphProto`.
public struct ONNXGraph: Sendable {
    public var name = ""
    public var nodes: [ONNXNode] = []
    public var initializers: [ONNXTensor] = []
    public var inputs: [String] = [], outputs: [String] = []
}

/// A parsed `model.onnx`; its weights as a `TensorSource`.
public final class ONNXModel: TensorSource {
    public let path: String
    public let irVersion: Int64
    public let producerName: String, producerVersion: String
    /// Operator set version of the default ("" / "ai.onnx") domain.
    public let opsetVersion: Int64?
    public let graph: ONNXGraph
    /// Every weight by name: initializers, Constant node values (named by their output) and the
    /// same inside subgraphs.
    public let tensors: [String: ONNXTensor]
    /// Weight names in file order.
    public let tensorNames: [String]
    private var used = Set<String>()

    /// Files above this size are refused before reading (ONNX's own protobuf limit is 2 GB).
    public static let maximumFileSize = 1 << 31

    /// Reads and parses the file at `path`.
    public static func read(path: String) throws -> ONNXModel {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let size = (attributes[.size] as? NSNumber)?.intValue else { throw WeightError(path, "cannot open the file") }
        guard size <= maximumFileSize else { throw WeightError(path, "\(size) bytes is larger than ONNX's 2 GB protobuf limit") }
        guard let data = FileManager.default.contents(atPath: path) else { throw WeightError(path, "cannot read the file") }
        return try ONNXModel(bytes: [UInt8](data), path: path)
    }

    /// Parses a serialized `ModelProto`.
    public init(bytes: [UInt8], path: String) throws {
        self.path = path
        guard !bytes.isEmpty else { throw WeightError(path, "empty file (not an ONNX ModelProto)") }
        var parser = ProtobufParser(bytes: bytes, path: path)
        var ir: Int64?, producer = "", producerVersion = "", opset: Int64?, graph: ONNXGraph?
        try parser.message(0..<bytes.count, "ModelProto") { p, field, wire, at in
            switch (field, wire) {
            case (1, .varint): ir = try p.int64(at, "ir_version")
            case (2, .bytes): producer = try p.string(at, "producer_name")
            case (3, .bytes): producerVersion = try p.string(at, "producer_version")
            case (7, .bytes):
                guard graph == nil else { throw p.error(at, "graph", "appears twice") }
                graph = try p.graph(try p.bytesRange(at, "graph"), "graph", depth: 0)
            case (8, .bytes):
                var domain = "", version: Int64?
                try p.message(try p.bytesRange(at, "opset_import"), "opset_import") { p, field, wire, at in
                    switch (field, wire) {
                    case (1, .bytes): domain = try p.string(at, "domain")
                    case (2, .varint): version = try p.int64(at, "version")
                    default: try p.skip(wire, at, "field \(field)")
                    }
                }
                if domain == "" || domain == "ai.onnx" { opset = version }
            default: try p.skip(wire, at, "field \(field)")
            }
        }
        guard let ir else { throw WeightError(path, "ModelProto.ir_version is missing (not an ONNX model)") }
        guard let graph else { throw WeightError(path, "ModelProto.graph is missing (not an ONNX model)") }
        irVersion = ir; producerName = producer; self.producerVersion = producerVersion; opsetVersion = opset
        self.graph = graph

        var tensors: [String: ONNXTensor] = [:], names: [String] = []
        func collect(_ g: ONNXGraph, _ where_: String) throws {
            func add(_ t: ONNXTensor, _ what: String) throws {
                guard !t.name.isEmpty else { throw WeightError(path, "\(what) has no name") }
                guard tensors[t.name] == nil else { throw WeightError(path, "\(what): tensor '\(t.name)' is defined twice") }
                tensors[t.name] = t; names.append(t.name)
            }
            for (i, t) in g.initializers.enumerated() { try add(t, "\(where_).initializer[\(i)]") }
            for (i, node) in g.nodes.enumerated() {
                if node.opType == "Constant", case .tensor(let t)? = node.attributes["value"], let output = node.outputs.first {
                    try add(ONNXTensor(name: output, dims: t.dims, dataType: t.dataType, bytes: t.bytes), "\(where_).node[\(i)] (Constant)")
                }
                for (key, attribute) in node.attributes.sorted(by: { $0.key < $1.key }) {
                    if case .graph(let sub) = attribute { try collect(sub, "\(where_).node[\(i)].\(key)") }
                }
            }
        }
        try collect(graph, "graph")
        self.tensors = tensors; tensorNames = names
    }

    // MARK: TensorSource

    public func contains(_ name: String) -> Bool { tensors[name] != nil }

    public func shape(of name: String) -> [Int]? { tensors[name]?.dims }

    /// `name` (any float or integer type) as float32, checked against `shape`; marks it used.
    public func tensor(_ name: String, shape: [Int]?) throws -> Tensor {
        let t = try info(name)
        if let shape, shape != t.dims {
            throw WeightError(path, "tensor '\(name)' has shape \(t.dims), expected \(shape)")
        }
        return Tensor(shape: t.dims, values: t.floats())
    }

    public func storedMatrix(_ name: String, rows: Int, cols: Int) throws -> StoredMatrix {
        .dense(try tensor(name, shape: [rows, cols]))
    }

    /// The raw tensor `name` (integers too); marks it used.
    public func info(_ name: String) throws -> ONNXTensor {
        guard let t = tensors[name] else { throw WeightError(path, "tensor '\(name)' is missing") }
        used.insert(name)
        return t
    }

    public var unusedNames: [String] { tensorNames.filter { !used.contains($0) } }

    public func markExplained(_ names: [String]) { used.formUnion(names) }
}

/// Protobuf wire types (3 / 4, groups, are refused).
enum WireType: UInt64 { case varint = 0, fixed64 = 1, bytes = 2, fixed32 = 5 }

/// A bounds-checked protobuf reader over one buffer; `message` walks the fields of one message,
/// each field's value read by the closure through the typed readers below (which take the
/// field's start position and check everything against the message's end).
struct ProtobufParser {
    let bytes: [UInt8]
    let path: String
    /// The field path being read (`graph.node[3].attribute[0]`), for messages.
    private(set) var context: [String] = []
    /// End of the message being read.
    private var end = 0
    private var position = 0
    static let maximumDepth = 16

    init(bytes: [UInt8], path: String) { self.bytes = bytes; self.path = path }

    func error(_ at: Int, _ field: String, _ message: String) -> WeightError {
        WeightError(path, "\((context + [field]).joined(separator: ".")) (byte \(at)): \(message)")
    }

    /// Calls `body(parser, field number, wire type, field start)` for each field in `range`.
    mutating func message(_ range: Range<Int>, _ name: String,
                          _ body: (inout ProtobufParser, Int, WireType, Int) throws -> Void) throws {
        guard context.count < Self.maximumDepth else { throw error(range.lowerBound, name, "nested deeper than \(Self.maximumDepth) messages") }
        let (savedEnd, savedPosition) = (end, position)
        context.append(name)
        end = range.upperBound; position = range.lowerBound
        while position < end {
            let at = position
            let key = try rawVarint(at, "field key")
            let number = key >> 3
            guard number >= 1, number <= 536_870_911 else { throw error(at, "field key", "field number \(number) is out of range") }
            guard let wire = WireType(rawValue: key & 7) else {
                throw error(at, "field \(number)", "wire type \(key & 7) is not one protobuf 3 uses")
            }
            try body(&self, Int(number), wire, at)
        }
        context.removeLast()
        end = savedEnd; position = savedPosition
    }

    private mutating func rawVarint(_ at: Int, _ field: String) throws -> UInt64 {
        var value: UInt64 = 0, shift: UInt64 = 0
        while true {
            guard position < end else { throw error(at, field, "varint runs past the end of its message") }
            let byte = bytes[position]; position += 1
            guard shift < 64, !(shift == 63 && byte > 1) else { throw error(at, field, "varint is longer than 64 bits") }
            value |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
    }

    mutating func varint(_ at: Int, _ field: String) throws -> UInt64 { try rawVarint(at, field) }

    mutating func int64(_ at: Int, _ field: String) throws -> Int64 { Int64(bitPattern: try rawVarint(at, field)) }

    /// An int32 / enum field: a varint whose value fits in 32 bits (negative ones are sign-extended to 64).
    mutating func int32(_ at: Int, _ field: String) throws -> Int32 {
        let v = Int64(bitPattern: try rawVarint(at, field))
        guard let i = Int32(exactly: v) else { throw error(at, field, "\(v) does not fit in 32 bits") }
        return i
    }

    /// The range of a length-delimited field's payload.
    mutating func bytesRange(_ at: Int, _ field: String) throws -> Range<Int> {
        let length = try rawVarint(at, field + " length")
        guard length <= UInt64(end - position) else {
            throw error(at, field, "length \(length) runs past the end of its message (\(end - position) bytes left)")
        }
        let start = position
        position += Int(length)
        return start..<position
    }

    mutating func string(_ at: Int, _ field: String) throws -> String {
        let r = try bytesRange(at, field)
        guard let s = String(validating: bytes[r], as: UTF8.self) else { throw error(at, field, "is not valid UTF-8") }
        return s
    }

    mutating func fixed32(_ at: Int, _ field: String) throws -> UInt32 {
        guard end - position >= 4 else { throw error(at, field, "4-byte value runs past the end of its message") }
        var v: UInt32 = 0
        for k in 0..<4 { v |= UInt32(bytes[position + k]) << (8 * UInt32(k)) }
        position += 4
        return v
    }

    mutating func skip(_ wire: WireType, _ at: Int, _ field: String) throws {
        switch wire {
        case .varint: _ = try rawVarint(at, field)
        case .bytes: _ = try bytesRange(at, field)
        case .fixed32, .fixed64:
            let n = wire == .fixed32 ? 4 : 8
            guard end - position >= n else { throw error(at, field, "\(n)-byte value runs past the end of its message") }
            position += n
        }
    }

    /// A repeated int64 field, packed (one length-delimited run) or not (one varint).
    mutating func int64s(_ wire: WireType, _ at: Int, _ field: String, into values: inout [Int64]) throws {
        switch wire {
        case .varint: values.append(try int64(at, field))
        case .bytes:
            let r = try bytesRange(at, field)
            let (savedEnd, savedPosition) = (end, position)
            end = r.upperBound; position = r.lowerBound
            while position < end { values.append(try int64(position, field)) }
            end = savedEnd; position = savedPosition
        default: throw error(at, field, "has wire type \(wire), not a varint or a packed run")
        }
    }

    /// A repeated float field, packed or not.
    mutating func floats(_ wire: WireType, _ at: Int, _ field: String, into values: inout [Float]) throws {
        switch wire {
        case .fixed32: values.append(Float(bitPattern: try fixed32(at, field)))
        case .bytes:
            let r = try bytesRange(at, field)
            guard r.count % 4 == 0 else { throw error(at, field, "packed floats of \(r.count) bytes (not a multiple of 4)") }
            values.reserveCapacity(values.count + r.count / 4)
            var k = r.lowerBound
            while k < r.upperBound {
                values.append(Float(bitPattern: UInt32(bytes[k]) | UInt32(bytes[k + 1]) << 8 | UInt32(bytes[k + 2]) << 16 | UInt32(bytes[k + 3]) << 24))
                k += 4
            }
        default: throw error(at, field, "has wire type \(wire), not a float or a packed run")
        }
    }

    // MARK: ONNX messages

    mutating func graph(_ range: Range<Int>, _ name: String, depth: Int) throws -> ONNXGraph {
        var g = ONNXGraph()
        try message(range, name) { p, field, wire, at in
            switch (field, wire) {
            case (1, .bytes): g.nodes.append(try p.node(try p.bytesRange(at, "node"), "node[\(g.nodes.count)]", depth: depth))
            case (2, .bytes): g.name = try p.string(at, "name")
            case (5, .bytes): g.initializers.append(try p.tensor(try p.bytesRange(at, "initializer"), "initializer[\(g.initializers.count)]"))
            case (11, .bytes), (12, .bytes):
                let label = field == 11 ? "input" : "output"
                var valueName = ""
                try p.message(try p.bytesRange(at, label), label) { p, field, wire, at in
                    if field == 1, wire == .bytes { valueName = try p.string(at, "name") } else { try p.skip(wire, at, "field \(field)") }
                }
                if field == 11 { g.inputs.append(valueName) } else { g.outputs.append(valueName) }
            default: try p.skip(wire, at, "field \(field)")
            }
        }
        return g
    }

    mutating func node(_ range: Range<Int>, _ name: String, depth: Int) throws -> ONNXNode {
        var n = ONNXNode()
        try message(range, name) { p, field, wire, at in
            switch (field, wire) {
            case (1, .bytes): n.inputs.append(try p.string(at, "input"))
            case (2, .bytes): n.outputs.append(try p.string(at, "output"))
            case (3, .bytes): n.name = try p.string(at, "name")
            case (4, .bytes): n.opType = try p.string(at, "op_type")
            case (7, .bytes): n.domain = try p.string(at, "domain")
            case (5, .bytes):
                let (key, value) = try p.attribute(try p.bytesRange(at, "attribute"), "attribute[\(n.attributes.count)]", depth: depth)
                guard n.attributes[key] == nil else { throw p.error(at, "attribute", "'\(key)' appears twice") }
                n.attributes[key] = value
            default: try p.skip(wire, at, "field \(field)")
            }
        }
        return n
    }

    /// AttributeProto.AttributeType: FLOAT 1, INT 2, STRING 3, TENSOR 4, GRAPH 5, FLOATS 6, INTS 7, STRINGS 8.
    mutating func attribute(_ range: Range<Int>, _ label: String, depth: Int) throws -> (String, ONNXAttribute) {
        var name = "", type: Int32?, f: Float?, i: Int64?, s: [UInt8]?, t: ONNXTensor?, g: ONNXGraph?
        var floats: [Float] = [], ints: [Int64] = [], strings: [String] = []
        try message(range, label) { p, field, wire, at in
            switch (field, wire) {
            case (1, .bytes): name = try p.string(at, "name")
            case (20, .varint): type = try p.int32(at, "type")
            case (2, .fixed32): f = Float(bitPattern: try p.fixed32(at, "f"))
            case (3, .varint): i = try p.int64(at, "i")
            case (4, .bytes): s = Array(p.bytes[try p.bytesRange(at, "s")])
            case (5, .bytes): t = try p.tensor(try p.bytesRange(at, "t"), "t")
            case (6, .bytes):
                guard depth < 4 else { throw p.error(at, "g", "subgraphs nested deeper than 4") }
                g = try p.graph(try p.bytesRange(at, "g"), "g", depth: depth + 1)
            case (7, _): try p.floats(wire, at, "floats", into: &floats)
            case (8, _): try p.int64s(wire, at, "ints", into: &ints)
            case (9, .bytes): strings.append(try p.string(at, "strings"))
            default: try p.skip(wire, at, "field \(field)")
            }
        }
        let start = range.lowerBound
        func missing(_ what: String) -> WeightError { error(start, label, "attribute '\(name)' of type \(type ?? 0) has no \(what)") }
        func utf8(_ b: [UInt8]) throws -> String {
            guard let v = String(validating: b, as: UTF8.self) else { throw error(start, label, "attribute '\(name)' is not UTF-8") }
            return v
        }
        switch type {
        case 1: guard let f else { throw missing("f") }; return (name, .float(f))
        case 2: guard let i else { throw missing("i") }; return (name, .int(i))
        case 3: guard let s else { throw missing("s") }; return (name, .string(try utf8(s)))
        case 4: guard let t else { throw missing("t") }; return (name, .tensor(t))
        case 5: guard let g else { throw missing("g") }; return (name, .graph(g))
        case 6: return (name, .floats(floats))
        case 7: return (name, .ints(ints))
        case 8: return (name, .strings(strings))
        default: throw error(start, label, "attribute '\(name)' has type \(type.map(String.init) ?? "(missing)"), not one Hearth reads")
        }
    }

    mutating func tensor(_ range: Range<Int>, _ label: String) throws -> ONNXTensor {
        var dims: [Int64] = [], dataType: Int32?, name = "", raw: Range<Int>?, floatData: [Float] = [], int64Data: [Int64] = []
        var int32Data: [Int64] = [], external = false
        try message(range, label) { p, field, wire, at in
            switch (field, wire) {
            case (1, _): try p.int64s(wire, at, "dims", into: &dims)
            case (2, .varint): dataType = try p.int32(at, "data_type")
            case (4, _): try p.floats(wire, at, "float_data", into: &floatData)
            case (5, _): try p.int64s(wire, at, "int32_data", into: &int32Data)
            case (7, _): try p.int64s(wire, at, "int64_data", into: &int64Data)
            case (8, .bytes): name = try p.string(at, "name")
            case (9, .bytes): raw = try p.bytesRange(at, "raw_data")
            case (14, .varint): external = try p.int32(at, "data_location") == 1
            default: try p.skip(wire, at, "field \(field)")
            }
        }
        let at = range.lowerBound, what = name.isEmpty ? label : "\(label) '\(name)'"
        func fail(_ field: String, _ message: String) -> WeightError {
            WeightError(path, "\((context + [what, field]).joined(separator: ".")) (byte \(at)): \(message)")
        }
        guard !external else { throw fail("data_location", "the data is in an external file, which Hearth does not read") }
        guard let code = dataType, let type = ONNXTensor.DataType(rawValue: Int(code)) else {
            throw fail("data_type", "\(dataType.map(String.init) ?? "missing"), not FLOAT, FLOAT16, DOUBLE, INT32 or INT64")
        }
        var count = 1
        for d in dims {
            guard d >= 0, d <= 1 << 31 else { throw fail("dims", "dimension \(d) is out of range") }
            let (product, overflow) = count.multipliedReportingOverflow(by: Int(d))
            guard !overflow, product <= 1 << 31 else { throw fail("dims", "\(dims) hold more than 2^31 elements") }
            count = product
        }
        let byteCount = count * type.byteSize
        var bytes: [UInt8]
        if let raw {
            guard raw.count == byteCount else {
                throw fail("raw_data", "\(raw.count) bytes, but dims \(dims) of \(type) need \(byteCount)")
            }
            bytes = Array(self.bytes[raw])
        } else {
            let typed: Int
            switch type {
            case .float: typed = floatData.count
            case .int64: typed = int64Data.count
            case .int32: typed = int32Data.count
            default: throw fail("raw_data", "is missing (\(type) tensors keep their data there)")
            }
            guard typed == count else { throw fail(type == .float ? "float_data" : "int64_data", "\(typed) values, but dims \(dims) need \(count)") }
            bytes = []
            bytes.reserveCapacity(byteCount)
            switch type {
            case .float: for v in floatData { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes += $0 } }
            case .int64: for v in int64Data { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
            default:
                for v in int32Data {
                    guard let i = Int32(exactly: v) else { throw fail("int32_data", "\(v) does not fit in 32 bits") }
                    withUnsafeBytes(of: i.littleEndian) { bytes += $0 }
                }
            }
        }
        return ONNXTensor(name: name, dims: dims.map { Int($0) }, dataType: type, bytes: bytes)
    }
}
