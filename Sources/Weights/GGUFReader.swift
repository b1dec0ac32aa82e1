// GGUF (llama.cpp's model format), versions 2 and 3: header, metadata key/values, tensor infos,
// aligned tensor data. The file is memory-mapped; quantized weights stay in their GGML blocks and
// are handed out as QuantizedMatrix views of the mapping.
//
// Layout (ggml/docs/gguf.md, ggml/src/gguf.cpp): "GGUF" magic, u32 version, u64 tensor count,
// u64 metadata count (v1 used u32 counts: refused), then metadata (string key, u32 value type,
// value), tensor infos (string name, u32 n_dims, u64 ne[n_dims], u32 type, u64 offset), padding to
// `general.alignment` (default 32), tensor data (offsets relative to its start, each aligned).
// Strings are a u64 length and UTF-8 bytes; arrays a u32 element type, a u64 count and elements.
//
// Every count, length and offset is checked against the bytes the file actually has before
// anything is allocated or read: a malformed file is refused with a WeightError naming it.

import Foundation
import Tensors

/// A GGUF metadata value.
public enum GGUFValue: Sendable, Equatable, CustomStringConvertible {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case float32(Float), bool(Bool), string(String), array([GGUFValue])
    case uint64(UInt64), int64(Int64), float64(Double)

    /// Any integer value that fits in Int.
    public var int: Int? {
        switch self {
        case .uint8(let v): return Int(v)
        case .int8(let v): return Int(v)
        case .uint16(let v): return Int(v)
        case .int16(let v): return Int(v)
        case .uint32(let v): return Int(v)
        case .int32(let v): return Int(v)
        case .uint64(let v): return Int(exactly: v)
        case .int64(let v): return Int(v)
        default: return nil
        }
    }

    /// A float32 or float64 value (or an integer one) as Double.
    public var double: Double? {
        switch self {
        case .float32(let v): return Double(v)
        case .float64(let v): return v
        default: return int.map(Double.init)
        }
    }

    /// A float32 or float64 value (or an integer one) as Float.
    public var float: Float? {
        if case .float32(let v) = self { return v }
        return double.map(Float.init)
    }

    public var bool: Bool? { if case .bool(let v) = self { return v } else { return nil } }
    public var string: String? { if case .string(let v) = self { return v } else { return nil } }
    public var array: [GGUFValue]? { if case .array(let v) = self { return v } else { return nil } }

    /// An array whose elements are all strings.
    public var stringArray: [String]? { elements(\.string) }
    /// An array whose elements are all integers that fit in Int.
    public var intArray: [Int]? { elements(\.int) }
    /// An array whose elements are all numbers, as Float.
    public var floatArray: [Float]? { elements(\.float) }

    /// The array's elements as `T`, nil if this is not an array or one element is not a `T`.
    private func elements<T>(_ value: KeyPath<GGUFValue, T?>) -> [T]? {
        guard let a = array else { return nil }
        var out: [T] = []
        out.reserveCapacity(a.count)
        for v in a { guard let e = v[keyPath: value] else { return nil }; out.append(e) }
        return out
    }

    /// The GGUF type name ("uint32", "string", "array[string]", …).
    public var typeName: String {
        switch self {
        case .uint8: return "uint8"
        case .int8: return "int8"
        case .uint16: return "uint16"
        case .int16: return "int16"
        case .uint32: return "uint32"
        case .int32: return "int32"
        case .float32: return "float32"
        case .bool: return "bool"
        case .string: return "string"
        case .array(let a): return "array[\(a.first?.typeName ?? "")]"
        case .uint64: return "uint64"
        case .int64: return "int64"
        case .float64: return "float64"
        }
    }

    public var description: String {
        switch self {
        case .uint8(let v): return "\(v)"
        case .int8(let v): return "\(v)"
        case .uint16(let v): return "\(v)"
        case .int16(let v): return "\(v)"
        case .uint32(let v): return "\(v)"
        case .int32(let v): return "\(v)"
        case .float32(let v): return "\(v)"
        case .bool(let v): return "\(v)"
        case .string(let v): return "\"\(v)\""
        case .array(let a):
            let shown = a.prefix(8).map(\.description).joined(separator: ", ")
            return a.count > 8 ? "[\(shown), … (\(a.count) values)]" : "[\(shown)]"
        case .uint64(let v): return "\(v)"
        case .int64(let v): return "\(v)"
        case .float64(let v): return "\(v)"
        }
    }
}

/// A GGUF file: metadata, tensor infos, and name-scoped, shape-checked access to the tensors.
public final class GGUFFile: TensorSource {
    /// One tensor as the file describes it.
    public struct TensorInfo: Sendable, Equatable {
        public let name: String
        /// GGML order: dims[0] (ne0) is the innermost, contiguous dimension.
        public let dims: [Int]
        public let type: GGMLType
        /// Offset of the data from the start of the data section.
        public let offset: Int
        public let byteCount: Int
        public var elementCount: Int { dims.reduce(1, *) }
        /// Row-major shape (outermost first): dims reversed.
        public var shape: [Int] { dims.reversed() }
    }

    public let path: String
    public let version: Int
    /// Alignment of the tensor data (`general.alignment`, default 32).
    public let alignment: Int
    /// File offset of the data section.
    public let dataOffset: Int
    public let metadata: [String: GGUFValue]
    /// Metadata keys in file order.
    public let metadataKeys: [String]
    public let tensors: [String: TensorInfo]
    /// Tensor names in file order.
    public let tensorNames: [String]

    private let mapping: MappedFile
    private var used = Set<String>()

    /// `general.architecture` ("llama", "qwen2", …).
    public var architecture: String? { metadata["general.architecture"]?.string }

    fileprivate init(path: String, version: Int, alignment: Int, dataOffset: Int, metadata: [String: GGUFValue],
                 metadataKeys: [String], tensors: [String: TensorInfo], tensorNames: [String], mapping: MappedFile) {
        self.path = path; self.version = version; self.alignment = alignment; self.dataOffset = dataOffset
        self.metadata = metadata; self.metadataKeys = metadataKeys; self.tensors = tensors
        self.tensorNames = tensorNames; self.mapping = mapping
    }

    /// Maps and validates the file at `path`.
    public static func read(path: String) throws -> GGUFFile {
        let file = try MappedFile(path: path)
        var parser = Parser(reader: ByteReader(file), path: path)
        return try parser.parse(file)
    }

    // MARK: Tensor access

    /// The raw bytes of tensor `name`; marks it used.
    public func bytes(_ name: String) throws -> UnsafeRawBufferPointer {
        let info = try info(name)
        used.insert(name)
        let start = dataOffset + info.offset
        return UnsafeRawBufferPointer(rebasing: mapping.bytes[start..<(start + info.byteCount)])
    }

    private func info(_ name: String) throws -> TensorInfo {
        guard let info = tensors[name] else { throw WeightError(path, "missing tensor \(name)") }
        return info
    }

    /// Tensor `name` as a (rows, cols) matrix in its stored type (GGUF dims [cols, rows]),
    /// viewing the mapped file; marks it used.
    public func matrix(_ name: String, rows: Int, cols: Int) throws -> QuantizedMatrix {
        let info = try info(name)
        guard Self.sameShape(info.shape, [rows, cols]) else {
            throw WeightError(path, "tensor \(name) has shape \(info.shape) (GGUF dims \(info.dims)), expected [\(rows), \(cols)]")
        }
        guard info.type.isSupported else {
            throw WeightError(path, "tensor \(name) has type \(info.type), which Hearth cannot compute with")
        }
        let raw = try bytes(name)
        do {
            return try QuantizedMatrix(type: info.type, rows: rows, cols: cols, data: raw.baseAddress!, owner: mapping)
        } catch let error as QuantizedMatrixError {
            throw WeightError(path, "tensor \(name): \(error.message)")
        }
    }

    /// Tensor `name` converted to float32 (norm weights, biases, small tensors), checked against the
    /// row-major `shape` (GGUF dims reversed; size-1 outer dimensions are ignored); marks it used.
    public func tensor(_ name: String, shape expected: [Int]? = nil) throws -> Tensor {
        let info = try info(name)
        let shape = expected ?? info.shape
        guard Self.sameShape(info.shape, shape) else {
            throw WeightError(path, "tensor \(name) has shape \(info.shape) (GGUF dims \(info.dims)), expected \(shape)")
        }
        let raw = try bytes(name)
        let count = info.elementCount
        let source = raw.baseAddress!
        switch info.type {
        case .f32: return Tensor(shape: shape, dtype: .float32, bytes: raw)
        case .bf16: return Tensor(shape: shape, dtype: .bfloat16, bytes: raw)
        case .i8: return Tensor(shape: shape, dtype: .int8, bytes: raw)
        case .i16: return Tensor(shape: shape, dtype: .int16, bytes: raw)
        case .i32: return Tensor(shape: shape, dtype: .int32, bytes: raw)
        case .f64:
            let t = Tensor(zeros: shape)
            for i in 0..<count { t.data[i] = Float(raw.loadUnaligned(fromByteOffset: 8 * i, as: Double.self)) }
            return t
        default:
            guard info.type.isSupported else {
                throw WeightError(path, "tensor \(name) has type \(info.type), which Hearth cannot convert")
            }
            // f16 and the block formats, row by row (rows of ne0 values)
            let cols = info.dims.first ?? 1
            let rows = cols == 0 ? 0 : count / cols
            let t = Tensor(zeros: shape)
            do {
                let m = try QuantizedMatrix(type: info.type, rows: rows, cols: cols, data: source, owner: mapping)
                for r in 0..<rows { m.dequantizeRow(r, into: t.data + r * cols) }
            } catch let error as QuantizedMatrixError {
                throw WeightError(path, "tensor \(name): \(error.message)")
            }
            return t
        }
    }

    public func contains(_ name: String) -> Bool { tensors[name] != nil }
    public func shape(of name: String) -> [Int]? { tensors[name]?.shape }

    /// GGML blocks as stored (f32 and f16 tensors too): products read them directly.
    public func storedMatrix(_ name: String, rows: Int, cols: Int) throws -> StoredMatrix {
        .blocks(try matrix(name, rows: rows, cols: cols))
    }

    /// Tensor names never looked up: a complete model uses or explains every tensor in its file.
    public var unusedNames: [String] { tensorNames.filter { !used.contains($0) } }
    /// Marks tensors as accounted for without reading them.
    public func markExplained(_ names: [String]) { for n in names where tensors[n] != nil { used.insert(n) } }

    private static func sameShape(_ a: [Int], _ b: [Int]) -> Bool {
        func trimmed(_ s: [Int]) -> ArraySlice<Int> {
            var s = s[...]
            while s.count > 1, s.first == 1 { s = s.dropFirst() }
            return s
        }
        return trimmed(a) == trimmed(b)
    }
}

// MARK: - Parser

private struct Parser {
    var reader: ByteReader
    let path: String

    static let magic: UInt32 = 0x4655_4747   // "GGUF" read little-endian
    static let maxDims = 4                   // GGML_MAX_DIMS
    static let maxNesting = 8                // arrays of arrays of …
    /// Longest metadata array accepted (real vocabularies and merge lists have < 10^6 entries);
    /// a value takes ~24 bytes in memory, so this bounds one array to ~400 MB.
    static let maxArrayLength = 1 << 24
    /// Capacity reserved ahead of parsing; beyond it, storage grows only as entries really parse.
    static let maxReserve = 1 << 16

    func fail(_ message: String) -> WeightError { WeightError(path, message) }

    mutating func parse(_ file: MappedFile) throws -> GGUFFile {
        let magic = try reader.read(UInt32.self, "GGUF magic")
        guard magic == Self.magic else {
            let shown = withUnsafeBytes(of: magic.littleEndian) { Array($0) }.map { String(format: "%02x", $0) }.joined(separator: " ")
            throw fail("not a GGUF file (magic bytes \(shown), expected \"GGUF\")")
        }
        let version = try reader.read(UInt32.self, "GGUF version")
        if version == 1 {
            throw fail("GGUF version 1 is not supported (it stored counts and lengths as 32-bit); convert the model again with a current llama.cpp")
        }
        if version > 0xffff && version.byteSwapped <= 3 {
            throw fail("big-endian GGUF files are not supported")
        }
        guard version == 2 || version == 3 else { throw fail("unsupported GGUF version \(version) (supported: 2, 3)") }

        let tensorCount = try reader.read(UInt64.self, "tensor count")
        let kvCount = try reader.read(UInt64.self, "metadata count")
        // Smallest possible entries: a key/value is ≥ 13 bytes (u64 key length, u32 type, 1-byte
        // value), a tensor info ≥ 24 (u64 name length, u32 n_dims, u32 type, u64 offset).
        guard kvCount <= UInt64(reader.remaining / 13) else {
            throw fail("metadata count \(kvCount) is more than the \(reader.remaining) bytes left can hold")
        }
        guard tensorCount <= UInt64(reader.remaining / 24) else {
            throw fail("tensor count \(tensorCount) is more than the \(reader.remaining) bytes left can hold")
        }

        var metadata: [String: GGUFValue] = [:]
        var keys: [String] = []
        for i in 0..<Int(kvCount) {
            let key = try string("key of metadata entry \(i)")
            let type = try reader.read(UInt32.self, "value type of metadata \(key)")
            let value = try self.value(type: type, what: "metadata \(key)", depth: 0)
            guard metadata[key] == nil else { throw fail("metadata key \(key) appears twice") }
            metadata[key] = value
            keys.append(key)
        }

        var alignment = 32
        if let a = metadata["general.alignment"] {
            guard let v = a.int, v > 0, v & (v - 1) == 0, v <= 1 << 20 else {
                throw fail("general.alignment \(a) is not a power of two")
            }
            alignment = v
        }

        var infos: [GGUFFile.TensorInfo] = []
        infos.reserveCapacity(min(Int(tensorCount), Self.maxReserve))
        var byName: [String: GGUFFile.TensorInfo] = [:]
        for i in 0..<Int(tensorCount) {
            let name = try string("name of tensor \(i)")
            let nDims = try reader.read(UInt32.self, "dimension count of tensor \(name)")
            guard nDims <= Self.maxDims else { throw fail("tensor \(name) has \(nDims) dimensions (at most \(Self.maxDims))") }
            var dims: [Int] = []
            var elements = 1
            for d in 0..<Int(nDims) {
                let ne = try reader.read(UInt64.self, "dimension \(d) of tensor \(name)")
                guard ne <= UInt64(Int.max) else { throw fail("tensor \(name) dimension \(d) is \(ne), too large") }
                let (product, overflow) = elements.multipliedReportingOverflow(by: Int(ne))
                guard !overflow else { throw fail("tensor \(name) dims \(dims + [Int(ne)]) overflow") }
                elements = product
                dims.append(Int(ne))
            }
            let rawType = try reader.read(UInt32.self, "type of tensor \(name)")
            guard let type = GGMLType(rawValue: rawType) else { throw fail("tensor \(name) has unknown type \(rawType)") }
            let offset = try reader.read(UInt64.self, "data offset of tensor \(name)")
            let rowLength = dims.first ?? 1
            guard rowLength % type.blockSize == 0 else {
                throw fail("tensor \(name): \(rowLength) values per row are not a whole number of \(type) blocks of \(type.blockSize)")
            }
            guard let byteCount = type.byteCount(elements: elements), byteCount <= file.bytes.count else {
                throw fail("tensor \(name) dims \(dims) of \(type) need more bytes than the file has (\(file.bytes.count))")
            }
            guard offset <= UInt64(file.bytes.count) else {
                throw fail("tensor \(name) data offset \(offset) is beyond the end of the file (\(file.bytes.count) bytes)")
            }
            guard Int(offset) % alignment == 0 else {
                throw fail("tensor \(name) data offset \(offset) is not a multiple of the alignment \(alignment)")
            }
            guard byName[name] == nil else { throw fail("tensor \(name) appears twice") }
            let info = GGUFFile.TensorInfo(name: name, dims: dims, type: type, offset: Int(offset), byteCount: byteCount)
            byName[name] = info
            infos.append(info)
        }

        let end = reader.offset
        let dataOffset = (end + alignment - 1) / alignment * alignment
        for info in infos {
            // dataOffset + offset + byteCount ≤ size, each term already ≤ size (no overflow)
            let available = file.bytes.count - dataOffset - info.offset
            guard available >= info.byteCount else {
                throw fail("truncated: tensor \(info.name) needs \(info.byteCount) bytes at offset \(dataOffset + info.offset), "
                    + "the file has \(max(0, available)) there")
            }
        }
        return GGUFFile(path: path, version: Int(version), alignment: alignment, dataOffset: dataOffset, metadata: metadata,
                        metadataKeys: keys, tensors: byName, tensorNames: infos.map(\.name), mapping: file)
    }

    mutating func string(_ what: @autoclosure () -> String) throws -> String {
        let length = try reader.read(UInt64.self, "length of \(what())")
        guard length <= UInt64(reader.remaining) else {
            throw fail("truncated: \(what()) is \(length) bytes long at offset \(reader.offset), \(reader.remaining) left")
        }
        let bytes = try reader.bytes(Int(length), what())
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Fewest bytes one value of GGUF type `type` takes (nil: unknown type).
    static func minimumSize(_ type: UInt32) -> Int? {
        switch type {
        case 0, 1, 7: return 1          // u8, i8, bool
        case 2, 3: return 2             // u16, i16
        case 4, 5, 6: return 4          // u32, i32, f32
        case 10, 11, 12: return 8       // u64, i64, f64
        case 8: return 8                // string: u64 length
        case 9: return 12               // array: u32 type + u64 count
        default: return nil
        }
    }

    mutating func value(type: UInt32, what: @autoclosure () -> String, depth: Int) throws -> GGUFValue {
        switch type {
        case 0: return .uint8(try reader.read(UInt8.self, what()))
        case 1: return .int8(try reader.read(Int8.self, what()))
        case 2: return .uint16(try reader.read(UInt16.self, what()))
        case 3: return .int16(try reader.read(Int16.self, what()))
        case 4: return .uint32(try reader.read(UInt32.self, what()))
        case 5: return .int32(try reader.read(Int32.self, what()))
        case 6: return .float32(Float(bitPattern: try reader.read(UInt32.self, what())))
        case 7:
            return .bool(try reader.read(UInt8.self, what()) != 0)
        case 8: return .string(try string(what()))
        case 10: return .uint64(try reader.read(UInt64.self, what()))
        case 11: return .int64(try reader.read(Int64.self, what()))
        case 12: return .float64(Double(bitPattern: try reader.read(UInt64.self, what())))
        case 9:
            guard depth < Self.maxNesting else { throw fail("\(what()) nests arrays deeper than \(Self.maxNesting)") }
            let elementType = try reader.read(UInt32.self, "element type of \(what())")
            let count = try reader.read(UInt64.self, "length of \(what())")
            guard let size = Self.minimumSize(elementType) else {
                throw fail("\(what()) is an array of unknown value type \(elementType)")
            }
            guard count <= UInt64(reader.remaining / size) else {
                throw fail("\(what()) claims \(count) elements, more than the \(reader.remaining) bytes left can hold")
            }
            guard count <= UInt64(Self.maxArrayLength) else {
                throw fail("\(what()) has \(count) elements, more than the \(Self.maxArrayLength) accepted")
            }
            var elements: [GGUFValue] = []
            elements.reserveCapacity(min(Int(count), Self.maxReserve))
            for i in 0..<Int(count) {
                elements.append(try value(type: elementType, what: "\(what())[\(i)]", depth: depth + 1))
            }
            return .array(elements)
        default:
            throw fail("\(what()) has unknown value type \(type)")
        }
    }
}
