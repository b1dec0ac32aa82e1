// Name-scoped, shape-checked access to the tensors of a weight file, whatever its format.
// Readers (CTranslate2, safetensors, later GGUF) mmap the file, validate every offset against
// the file size, and register raw views here; models ask for tensors by name and shape.

import Foundation
import Tensors

/// A weight file that cannot be used, with the file and the problem named.
public struct WeightError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let message: String
    public init(_ path: String, _ message: String) { self.path = path; self.message = message }
    public var description: String { "\(path): \(message)" }
}

/// A read-only memory map of a whole file.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let bytes: UnsafeRawBufferPointer

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw WeightError(path, "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw WeightError(path, "cannot stat") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw WeightError(path, "not a regular file") }
        let size = Int(st.st_size)
        guard size > 0 else { throw WeightError(path, "file is empty") }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            throw WeightError(path, "mmap failed: \(String(cString: strerror(errno)))")
        }
        bytes = UnsafeRawBufferPointer(start: base, count: size)
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: bytes.baseAddress), bytes.count) }
}

/// Bounds-checked little-endian cursor over a mapped file.
public struct ByteReader {
    public let file: MappedFile
    public private(set) var offset: Int

    public init(_ file: MappedFile, offset: Int = 0) { self.file = file; self.offset = offset }
    public var remaining: Int { file.bytes.count - offset }

    public mutating func bytes(_ n: Int, _ what: @autoclosure () -> String) throws -> UnsafeRawBufferPointer {
        guard n >= 0, n <= remaining else {
            throw WeightError(file.path, "truncated: \(what()) needs \(n) bytes at offset \(offset), \(remaining) left")
        }
        defer { offset += n }
        return UnsafeRawBufferPointer(rebasing: file.bytes[offset..<(offset + n)])
    }

    public mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws -> T {
        let b = try bytes(MemoryLayout<T>.size, what())
        return T(littleEndian: b.loadUnaligned(as: T.self))
    }
}

/// One stored tensor: shape, element type and a view into the mapped file.
public struct RawTensor {
    public let name: String
    public let shape: [Int]
    public let dtype: DType
    public let bytes: UnsafeRawBufferPointer
    public var count: Int { shape.reduce(1, *) }
}

/// The tensors of one file, looked up by name with shape checks; remembers which were used.
public final class WeightFile: TensorSource {
    public let path: String
    public let format: String
    private let mapping: MappedFile
    private var tensors: [String: RawTensor] = [:]
    private var aliases: [String: String] = [:]
    private var used = Set<String>()

    public init(path: String, format: String, mapping: MappedFile) {
        self.path = path; self.format = format; self.mapping = mapping
    }

    public func register(_ t: RawTensor) throws {
        // Element count with overflow checks: a hostile header must not trap the multiplication.
        var elements = 1
        for d in t.shape {
            guard d >= 0 else { throw WeightError(path, "tensor \(t.name) has a negative dimension in \(t.shape)") }
            let (product, overflow) = elements.multipliedReportingOverflow(by: d)
            guard !overflow, product <= Int.max / 8 else { throw WeightError(path, "tensor \(t.name) shape \(t.shape) is too large") }
            elements = product
        }
        guard elements * t.dtype.byteSize == t.bytes.count else {
            throw WeightError(path, "tensor \(t.name): shape \(t.shape) × \(t.dtype) needs \(t.count * t.dtype.byteSize) bytes, has \(t.bytes.count)")
        }
        guard tensors[t.name] == nil else { throw WeightError(path, "tensor \(t.name) appears twice") }
        tensors[t.name] = t
    }

    public func registerAlias(_ alias: String, target: String) { aliases[alias] = aliases[target] ?? target }

    public var names: [String] { tensors.keys.sorted() }
    public func contains(_ name: String) -> Bool { tensors[resolve(name)] != nil }
    public func shape(of name: String) -> [Int]? { tensors[resolve(name)]?.shape }
    private func resolve(_ name: String) -> String { aliases[name] ?? name }

    public func raw(_ name: String) throws -> RawTensor {
        let key = resolve(name)
        guard let t = tensors[key] else { throw WeightError(path, "missing tensor \(name)") }
        used.insert(key)
        return t
    }

    /// The tensor `name` as float32, checked against `shape` (nil = any).
    public func tensor(_ name: String, shape: [Int]? = nil) throws -> Tensor {
        let t = try raw(name)
        if let shape, shape != t.shape {
            throw WeightError(path, "tensor \(name) has shape \(t.shape), expected \(shape)")
        }
        return Tensor(shape: t.shape, dtype: t.dtype, bytes: t.bytes)
    }

    /// Dense float32 (a float16 file's tensors keep their float16 twin for decode steps).
    public func storedMatrix(_ name: String, rows: Int, cols: Int) throws -> StoredMatrix {
        .dense(try tensor(name, shape: [rows, cols]))
    }

    /// A scalar stored as a 0-d tensor (CTranslate2 keeps layer options this way).
    public func scalar(_ name: String) throws -> Float {
        let t = try raw(name)
        guard t.count == 1 else { throw WeightError(path, "\(name) is not a scalar (shape \(t.shape))") }
        var value: Float = 0
        convertToFloat32(dtype: t.dtype, from: t.bytes.baseAddress!, to: &value, count: 1)
        return value
    }

    /// Names never looked up: a complete model uses or explains every tensor in its file.
    public var unusedNames: [String] { tensors.keys.filter { !used.contains($0) }.sorted() }
    /// Marks tensors that a model reads for their information only (flags, sizes).
    public func markExplained(_ names: [String]) { for n in names { used.insert(resolve(n)) } }
}
