import Foundation
import Tensors
import TestSupport
import Weights
import XCTest

// GGUF files written here byte by byte (after ggml/docs/gguf.md), read back; every truncation and a
// catalogue of hostile headers refused with a WeightError naming the file; the real SmolLM2 GGUF
// (installed by `make test-models`) read and its tensors used.

/// One tensor to write: GGML dims (ne0 first), type id, data bytes.
private struct GGUFTestTensor {
    var name: String
    var dims: [UInt64]
    var type: UInt32
    var data: [UInt8]
}

/// GGUF value type id of a value (arrays: 9).
private func ggufTypeID(_ v: GGUFValue) -> UInt32 {
    switch v {
    case .uint8: return 0
    case .int8: return 1
    case .uint16: return 2
    case .int16: return 3
    case .uint32: return 4
    case .int32: return 5
    case .float32: return 6
    case .bool: return 7
    case .string: return 8
    case .array: return 9
    case .uint64: return 10
    case .int64: return 11
    case .float64: return 12
    }
}

private extension ByteWriter {
    mutating func ggufString(_ s: String) { let u = Array(s.utf8); u64(UInt64(u.count)); raw(u) }

    mutating func ggufValue(_ v: GGUFValue, emptyArrayType: UInt32 = 4) {
        switch v {
        case .uint8(let x): u8(x)
        case .int8(let x): u8(UInt8(bitPattern: x))
        case .uint16(let x): u16(x)
        case .int16(let x): u16(UInt16(bitPattern: x))
        case .uint32(let x): u32(x)
        case .int32(let x): u32(UInt32(bitPattern: x))
        case .float32(let x): u32(x.bitPattern)
        case .bool(let x): u8(x ? 1 : 0)
        case .string(let x): ggufString(x)
        case .array(let a):
            u32(a.first.map(ggufTypeID) ?? emptyArrayType)
            u64(UInt64(a.count))
            for e in a { ggufValue(e) }
        case .uint64(let x): u64(x)
        case .int64(let x): u64(UInt64(bitPattern: x))
        case .float64(let x): u64(x.bitPattern)
        }
    }
}

/// A GGUF file: header, metadata (with `general.alignment` first when `alignment` is given), tensor
/// infos, padding, data (each tensor aligned).
private func ggufBytes(version: UInt32 = 3, alignment: UInt32? = nil, metadata: [(String, GGUFValue)],
                       tensors: [GGUFTestTensor]) -> [UInt8] {
    let align = Int(alignment ?? 32)
    var kvs = metadata
    if let alignment { kvs.insert(("general.alignment", .uint32(alignment)), at: 0) }
    var w = ByteWriter()
    w.raw(Array("GGUF".utf8))
    w.u32(version)
    w.u64(UInt64(tensors.count))
    w.u64(UInt64(kvs.count))
    for (key, value) in kvs {
        w.ggufString(key)
        w.u32(ggufTypeID(value))
        w.ggufValue(value)
    }
    var offset = 0
    var offsets: [Int] = []
    for t in tensors {
        offsets.append(offset)
        offset = (offset + t.data.count + align - 1) / align * align
    }
    for (t, o) in zip(tensors, offsets) {
        w.ggufString(t.name)
        w.u32(UInt32(t.dims.count))
        for d in t.dims { w.u64(d) }
        w.u32(t.type)
        w.u64(UInt64(o))
    }
    while w.bytes.count % align != 0 { w.u8(0) }
    let dataStart = w.bytes.count
    for (t, o) in zip(tensors, offsets) {
        while w.bytes.count < dataStart + o { w.u8(0) }
        w.raw(t.data)
    }
    return w.bytes
}

/// Random blocks of `type` with finite fp16 scales (the scale fields' places per format).
private func randomBlocks(_ type: GGMLType, count: Int, rng: inout TestRNG) -> [UInt8] {
    var out: [UInt8] = []
    for _ in 0..<count {
        var b = (0..<type.blockBytes).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let put = { (at: Int, v: Float) in
            let h = floatToHalf(v)
            b[at] = UInt8(h & 0xff); b[at + 1] = UInt8(h >> 8)
        }
        switch type {
        case .q4_0, .q8_0, .q5_0: put(0, Float(rng.unit() - 0.5) * 0.1)
        case .q4_1, .q5_1: put(0, Float(rng.unit()) * 0.05); put(2, Float(rng.unit() - 0.5) * 0.2)
        case .q4_K, .q5_K: put(0, Float(rng.unit()) * 0.01); put(2, Float(rng.unit()) * 0.004)
        case .q6_K: put(208, Float(rng.unit() - 0.5) * 0.004)
        default: break
        }
        out += b
    }
    return out
}

private let everyKindOfValue: [(String, GGUFValue)] = [
    ("general.architecture", .string("llama")),
    ("test.u8", .uint8(200)), ("test.i8", .int8(-100)), ("test.u16", .uint16(60000)), ("test.i16", .int16(-30000)),
    ("test.u32", .uint32(4_000_000_000)), ("test.i32", .int32(-2_000_000_000)), ("test.f32", .float32(1.5e-5)),
    ("test.bool", .bool(true)), ("test.false", .bool(false)), ("test.string", .string("héllo, 世界 🙂")),
    ("test.empty", .string("")), ("test.u64", .uint64(UInt64.max)), ("test.i64", .int64(Int64.min)),
    ("test.f64", .float64(-2.718281828459045)),
    ("test.strings", .array([.string("a"), .string(""), .string("ĠThe")])),
    ("test.ints", .array([.int32(1), .int32(-2), .int32(3)])),
    ("test.floats", .array([.float32(0.5), .float32(-1)])),
    ("test.nested", .array([.array([.uint8(1), .uint8(2)]), .array([.uint8(3)])])),
    ("test.nested.strings", .array([.array([.string("x")]), .array([.string("y"), .string("z")])])),
]

final class GGUFReaderTests: TempDirTestCase {
    private var rng = TestRNG(state: 77)

    private func sampleTensors() -> [GGUFTestTensor] {
        let norm = (0..<64).map { Float($0) * 0.25 - 3 }
        let halfValues = (0..<(3 * 64)).map { floatToHalf(Float($0 % 17) * 0.125 - 1) }
        return [
            GGUFTestTensor(name: "norm.weight", dims: [64], type: 0, data: bytesOf(norm)),
            GGUFTestTensor(name: "half.weight", dims: [64, 3], type: 1, data: bytesOf(halfValues)),
            GGUFTestTensor(name: "q4.weight", dims: [64, 5], type: 2, data: randomBlocks(.q4_0, count: 10, rng: &rng)),
            GGUFTestTensor(name: "q8.weight", dims: [96, 2], type: 8, data: randomBlocks(.q8_0, count: 6, rng: &rng)),
            GGUFTestTensor(name: "q41.weight", dims: [32, 3], type: 3, data: randomBlocks(.q4_1, count: 3, rng: &rng)),
            GGUFTestTensor(name: "k4.weight", dims: [256, 2], type: 12, data: randomBlocks(.q4_K, count: 2, rng: &rng)),
            GGUFTestTensor(name: "k6.weight", dims: [512, 1, 1], type: 14, data: randomBlocks(.q6_K, count: 2, rng: &rng)),
            GGUFTestTensor(name: "iq.weight", dims: [256], type: 16, data: [UInt8](repeating: 0, count: 66)),
        ]
    }

    private func checkRoundTrip(version: UInt32, alignment: UInt32?) throws {
        let tensors = sampleTensors()
        let path = write(ggufBytes(version: version, alignment: alignment, metadata: everyKindOfValue, tensors: tensors),
                         "v\(version)-\(alignment ?? 0).gguf")
        let file = try GGUFFile.read(path: path)
        XCTAssertEqual(file.path, path)
        XCTAssertEqual(file.version, Int(version))
        XCTAssertEqual(file.alignment, Int(alignment ?? 32))
        XCTAssertEqual(file.dataOffset % file.alignment, 0)
        XCTAssertEqual(file.architecture, "llama")
        for (key, value) in everyKindOfValue { XCTAssertEqual(file.metadata[key], value, key) }
        XCTAssertEqual(file.metadataKeys, (alignment == nil ? [] : ["general.alignment"]) + everyKindOfValue.map(\.0))
        XCTAssertEqual(file.metadata["test.u8"]?.int, 200)
        XCTAssertEqual(file.metadata["test.i64"]?.int, Int(Int64.min))
        XCTAssertNil(file.metadata["test.u64"]?.int, "UInt64.max does not fit in Int")
        XCTAssertEqual(file.metadata["test.f32"]?.float, 1.5e-5)
        XCTAssertEqual(file.metadata["test.f64"]?.double, -2.718281828459045)
        XCTAssertEqual(file.metadata["test.u16"]?.float, 60000)
        XCTAssertEqual(file.metadata["test.bool"]?.bool, true)
        XCTAssertNil(file.metadata["test.bool"]?.int)
        XCTAssertEqual(file.metadata["test.string"]?.string, "héllo, 世界 🙂")
        XCTAssertEqual(file.metadata["test.strings"]?.stringArray, ["a", "", "ĠThe"])
        XCTAssertEqual(file.metadata["test.ints"]?.intArray, [1, -2, 3])
        XCTAssertEqual(file.metadata["test.floats"]?.floatArray, [0.5, -1])
        XCTAssertNil(file.metadata["test.ints"]?.stringArray)
        XCTAssertEqual(file.metadata["test.nested"]?.array?[1].array?.first?.int, 3)
        XCTAssertEqual(file.metadata["test.strings"]?.typeName, "array[string]")

        XCTAssertEqual(file.tensorNames, tensors.map(\.name))
        XCTAssertEqual(file.unusedNames, tensors.map(\.name))
        file.markExplained(["iq.weight", "not.there"])
        XCTAssertEqual(file.unusedNames, tensors.map(\.name).filter { $0 != "iq.weight" })
        _ = try file.matrix("q8.weight", rows: 2, cols: 96)
        XCTAssertEqual(file.unusedNames, tensors.map(\.name).filter { $0 != "iq.weight" && $0 != "q8.weight" })
        for t in tensors {
            let info = try XCTUnwrap(file.tensors[t.name])
            XCTAssertEqual(info.dims, t.dims.map { Int($0) }, t.name)
            XCTAssertEqual(info.type.rawValue, t.type, t.name)
            XCTAssertEqual(info.byteCount, t.data.count, t.name)
            XCTAssertEqual(info.offset % file.alignment, 0, t.name)
            XCTAssertEqual(Array(try file.bytes(t.name)), t.data, t.name)
        }
        // tensor(): float32 of any supported type; matrix(): the stored blocks, shape-checked
        let norm = try file.tensor("norm.weight", shape: [64])
        XCTAssertEqual(norm.array, (0..<64).map { Float($0) * 0.25 - 3 })
        let half = try file.tensor("half.weight", shape: [3, 64])
        XCTAssertEqual(half.array, (0..<(3 * 64)).map { Float($0 % 17) * 0.125 - 1 })
        for (name, rows, cols, type) in [("q4.weight", 5, 64, GGMLType.q4_0), ("q8.weight", 2, 96, .q8_0),
                                         ("q41.weight", 3, 32, .q4_1), ("k4.weight", 2, 256, .q4_K),
                                         ("half.weight", 3, 64, .f16), ("k6.weight", 1, 512, .q6_K)] {
            let m = try file.matrix(name, rows: rows, cols: cols)
            XCTAssertEqual(m.type, type)
            let data = tensors.first { $0.name == name }!.data
            let reference = try QuantizedMatrix(type: type, rows: rows, cols: cols, bytes: data).dequantized().array
            XCTAssertEqual(m.dequantized().array, reference, name)
            XCTAssertEqual(try file.tensor(name, shape: [rows, cols]).array, reference, name)
        }
        let k6 = try file.tensor("k6.weight", shape: [512])   // outer size-1 dims ignored
        XCTAssertEqual(k6.shape, [512])
        XCTAssertEqual(file.unusedNames, [])
        let message = assertWeightError(path, "unsupported type") { _ = try file.matrix("iq.weight", rows: 1, cols: 256) }
        XCTAssertTrue(message?.contains("iq2_xxs") ?? false, message ?? "")
        assertWeightError(path, "unsupported type") { _ = try file.tensor("iq.weight", shape: [256]) }
        assertWeightError(path, "wrong shape") { _ = try file.matrix("q4.weight", rows: 64, cols: 5) }
        assertWeightError(path, "wrong shape") { _ = try file.tensor("norm.weight", shape: [65]) }
        assertWeightError(path, "missing") { _ = try file.matrix("nope", rows: 1, cols: 1) }
    }

    func testVersion3RoundTrip() throws { try checkRoundTrip(version: 3, alignment: nil) }
    func testVersion2RoundTripWithAlignment64() throws { try checkRoundTrip(version: 2, alignment: 64) }
    func testAlignment8() throws { try checkRoundTrip(version: 3, alignment: 8) }

    func testProductThroughMappedMatrix() throws {
        let data = randomBlocks(.q4_K, count: 3 * 2, rng: &rng)
        let path = write(ggufBytes(metadata: [], tensors: [GGUFTestTensor(name: "w", dims: [512, 3], type: 12, data: data)]), "p.gguf")
        var m: QuantizedMatrix? = try GGUFFile.read(path: path).matrix("w", rows: 3, cols: 512)   // file object released
        let x = (0..<512).map { Float(sin(Double($0))) }
        var y = [Float](repeating: 0, count: 3)
        m!.multiply(x, rows: 1, into: &y, ldy: 3)
        let w = m!.dequantized()
        for r in 0..<3 {
            let ref = (0..<512).reduce(0.0) { $0 + Double(w[r * 512 + $1]) * Double(x[$1]) }
            XCTAssertEqual(Double(y[r]), ref, accuracy: 2e-2 * max(1, abs(ref)))
        }
        m = nil
    }

    func testEveryTruncationIsRefused() throws {
        let bytes = ggufBytes(alignment: 64, metadata: everyKindOfValue, tensors: Array(sampleTensors().prefix(4)))
        for length in 0..<bytes.count {
            let path = write(Array(bytes[0..<length]), "t\(length).gguf")
            assertWeightError(path, "truncated at \(length)") { _ = try GGUFFile.read(path: path) }
            try? FileManager.default.removeItem(atPath: path)
        }
        XCTAssertNoThrow(try GGUFFile.read(path: write(bytes, "whole.gguf")))
    }

    /// A header with `kvs` raw bytes for the metadata section and `infos` for the tensor infos.
    private func rawFile(version: UInt32 = 3, tensorCount: UInt64, kvCount: UInt64, body: (inout ByteWriter) -> Void,
                         padTo: Int = 0) -> [UInt8] {
        var w = ByteWriter()
        w.raw(Array("GGUF".utf8))
        w.u32(version)
        w.u64(tensorCount)
        w.u64(kvCount)
        body(&w)
        while w.bytes.count < padTo { w.u8(0) }
        return w.bytes
    }

    private func refused(_ name: String, _ bytes: [UInt8], _ expected: String, line: UInt = #line) {
        let path = write(bytes, "\(name).gguf")
        let message = assertWeightError(path, name, line: line) { _ = try GGUFFile.read(path: path) }
        if let message { XCTAssertTrue(message.contains(expected), "\(name): '\(message)' lacks '\(expected)'", line: line) }
    }

    private func tensorInfo(_ w: inout ByteWriter, name: String = "t", dims: [UInt64], type: UInt32, offset: UInt64 = 0) {
        w.ggufString(name)
        w.u32(UInt32(dims.count))
        for d in dims { w.u64(d) }
        w.u32(type)
        w.u64(offset)
    }

    func testMalformedFilesAreRefused() {
        let pad = 4096
        refused("magic", Array("GGML".utf8) + [UInt8](repeating: 0, count: 64), "not a GGUF file")
        refused("v1", rawFile(version: 1, tensorCount: 0, kvCount: 0, body: { _ in }), "version 1 is not supported")
        refused("v4", rawFile(version: 4, tensorCount: 0, kvCount: 0, body: { _ in }), "unsupported GGUF version 4")
        refused("big-endian", rawFile(version: UInt32(3).byteSwapped, tensorCount: 0, kvCount: 0, body: { _ in }), "big-endian")
        refused("kv count", rawFile(tensorCount: 0, kvCount: 1 << 40, body: { _ in }, padTo: pad), "metadata count")
        refused("tensor count", rawFile(tensorCount: UInt64.max, kvCount: 0, body: { _ in }, padTo: pad), "tensor count")
        refused("key length", rawFile(tensorCount: 0, kvCount: 1, body: { $0.u64(1 << 62) }, padTo: 64), "bytes long")
        refused("string length", rawFile(tensorCount: 0, kvCount: 1, body: { w in
            w.ggufString("k"); w.u32(8); w.u64(100_000)
        }, padTo: 200), "truncated")
        refused("array length", rawFile(tensorCount: 0, kvCount: 1, body: { w in
            w.ggufString("k"); w.u32(9); w.u32(0); w.u64(1 << 60)
        }, padTo: pad), "claims 1152921504606846976 elements")
        refused("array of strings length", rawFile(tensorCount: 0, kvCount: 1, body: { w in
            w.ggufString("k"); w.u32(9); w.u32(8); w.u64(600)   // 600 × ≥ 8 bytes > 4096
        }, padTo: pad), "claims 600 elements")
        // an array the file could hold, but longer than any real metadata (2^24 + 1 one-byte values)
        let long = 1 << 24 + 1
        refused("array limit", rawFile(tensorCount: 0, kvCount: 1, body: { w in
            w.ggufString("k"); w.u32(9); w.u32(0); w.u64(UInt64(long))
        }, padTo: long + 64), "more than the 16777216 accepted")
        refused("value type", rawFile(tensorCount: 0, kvCount: 1, body: { w in
            w.ggufString("k"); w.u32(13); w.u64(0)
        }, padTo: 64), "unknown value type 13")
        refused("array element type", rawFile(tensorCount: 0, kvCount: 1, body: { w in
            w.ggufString("k"); w.u32(9); w.u32(99); w.u64(1)
        }, padTo: 64), "unknown value type 99")
        refused("nesting", rawFile(tensorCount: 0, kvCount: 1, body: { w in
            w.ggufString("k"); w.u32(9)
            for _ in 0..<20 { w.u32(9); w.u64(1) }
            w.u32(0); w.u64(0)
        }, padTo: 512), "nests arrays deeper")
        refused("duplicate key", rawFile(tensorCount: 0, kvCount: 2, body: { w in
            w.ggufString("k"); w.u32(4); w.u32(1)
            w.ggufString("k"); w.u32(4); w.u32(2)
        }), "appears twice")
        refused("alignment", rawFile(tensorCount: 0, kvCount: 1, body: { w in
            w.ggufString("general.alignment"); w.u32(4); w.u32(48)
        }), "not a power of two")
        refused("alignment 0", rawFile(tensorCount: 0, kvCount: 1, body: { w in
            w.ggufString("general.alignment"); w.u32(4); w.u32(0)
        }), "not a power of two")
        refused("n_dims", rawFile(tensorCount: 1, kvCount: 0, body: { w in
            w.ggufString("t"); w.u32(99)
        }, padTo: pad), "99 dimensions")
        refused("tensor type", rawFile(tensorCount: 1, kvCount: 0, body: { tensorInfo(&$0, dims: [32], type: 77) }, padTo: pad),
                "unknown type 77")
        refused("removed type 4", rawFile(tensorCount: 1, kvCount: 0, body: { tensorInfo(&$0, dims: [32], type: 4) }, padTo: pad),
                "unknown type 4")
        refused("offset", rawFile(tensorCount: 1, kvCount: 0, body: { tensorInfo(&$0, dims: [32], type: 0, offset: 1 << 40) }, padTo: pad),
                "beyond the end")
        refused("offset near max", rawFile(tensorCount: 1, kvCount: 0, body: { tensorInfo(&$0, dims: [32], type: 0, offset: UInt64.max - 3) }, padTo: pad),
                "beyond the end")
        refused("misaligned", rawFile(tensorCount: 1, kvCount: 0, body: { tensorInfo(&$0, dims: [32], type: 0, offset: 4) }, padTo: pad),
                "not a multiple of the alignment")
        refused("data beyond end", rawFile(tensorCount: 1, kvCount: 0, body: { tensorInfo(&$0, dims: [1024], type: 0, offset: 0) }, padTo: pad),
                "tensor t needs 4096 bytes")
        refused("huge dims", rawFile(tensorCount: 1, kvCount: 0, body: { tensorInfo(&$0, dims: [1 << 40, 1 << 40], type: 0) }, padTo: pad),
                "overflow")
        refused("dim beyond Int", rawFile(tensorCount: 1, kvCount: 0, body: { tensorInfo(&$0, dims: [UInt64.max], type: 0) }, padTo: pad),
                "too large")
        refused("big tensor", rawFile(tensorCount: 1, kvCount: 0, body: { tensorInfo(&$0, dims: [1 << 30, 64], type: 0) }, padTo: pad),
                "need more bytes than the file has")
        refused("partial block", rawFile(tensorCount: 1, kvCount: 0, body: { tensorInfo(&$0, dims: [48, 2], type: 2) }, padTo: pad),
                "not a whole number of q4_0 blocks")
        refused("duplicate tensor", rawFile(tensorCount: 2, kvCount: 0, body: { w in
            tensorInfo(&w, dims: [8], type: 0); tensorInfo(&w, dims: [8], type: 0, offset: 32)
        }, padTo: pad), "appears twice")
        refused("empty", [], "empty")
    }

    /// Seeded mutation fuzz: random bytes overwritten in a valid file. Each mutant parses (and then
    /// every tensor reads, as stored and as float32) or is refused with a WeightError naming it.
    func testMutatedFilesParseOrAreRefused() throws {
        let original = ggufBytes(alignment: 64, metadata: Array(everyKindOfValue.prefix(12)) + [everyKindOfValue[15], everyKindOfValue[18]],
                                 tensors: Array(sampleTensors().prefix(6)))
        let headerEnd = try GGUFFile.read(path: write(original, "original.gguf")).dataOffset
        var fuzz = TestRNG(state: 4242)
        var parsed = 0, refused = 0
        let trials = ProcessInfo.processInfo.environment["HEARTH_FUZZ_TRIALS"].flatMap { Int($0) } ?? 1500
        for trial in 0..<trials {
            var bytes = original
            for _ in 0..<(1 + Int(fuzz.next() % 4)) {
                // mostly the header (where the structure is), sometimes anywhere
                let limit = fuzz.next() % 4 == 0 ? bytes.count : headerEnd
                let at = Int(fuzz.next() % UInt64(limit))
                switch fuzz.next() % 3 {
                case 0: bytes[at] = UInt8(truncatingIfNeeded: fuzz.next())
                case 1: bytes[at] = 0xff
                default: bytes[at] ^= UInt8(1 << (fuzz.next() % 8))
                }
            }
            let path = write(bytes, "m\(trial).gguf")
            do {
                let file = try GGUFFile.read(path: path)
                parsed += 1
                for name in file.tensorNames {
                    let info = file.tensors[name]!
                    guard info.type.isSupported else { continue }
                    do {
                        _ = try file.tensor(name, shape: info.shape)
                        if info.dims.count == 2 { _ = try file.matrix(name, rows: info.dims[1], cols: info.dims[0]).dequantized() }
                    } catch let error as WeightError {
                        XCTAssertEqual(error.path, path)
                    }
                }
            } catch let error as WeightError {
                refused += 1
                XCTAssertEqual(error.path, path, "trial \(trial)")
            }
            try? FileManager.default.removeItem(atPath: path)
        }
        XCTAssertGreaterThan(parsed, 0)
        XCTAssertGreaterThan(refused, 0)
        print("GGUF fuzz: \(trials) mutants, \(parsed) parsed, \(refused) refused")
    }

    func testZeroTensorsAndZeroSizedTensor() throws {
        let path = write(ggufBytes(metadata: [("a", .uint8(1))], tensors: []), "empty.gguf")
        let file = try GGUFFile.read(path: path)
        XCTAssertTrue(file.tensors.isEmpty)
        XCTAssertEqual(file.metadata["a"], .uint8(1))
        let zero = write(ggufBytes(metadata: [], tensors: [GGUFTestTensor(name: "z", dims: [0, 4], type: 0, data: [])]), "zero.gguf")
        XCTAssertEqual(try GGUFFile.read(path: zero).tensor("z", shape: [4, 0]).count, 0)
    }

    // MARK: Real model

    /// The GGUF of installed model `name`: $HEARTH_MODELS/<name>/*.gguf, HEARTH_MODELS defaulting
    /// to ~/.cache/hearth/models.
    private func installedGGUF(_ name: String) -> String? {
        let dir = TestPaths.installedModels.appendingPathComponent(name)
        let files = (try? FileManager.default.contentsOfDirectory(atPath: dir.path))?.filter { $0.hasSuffix(".gguf") } ?? []
        return files.sorted().first.map { dir.appendingPathComponent($0).path }
    }

    /// SmolLM2-135M-Instruct, installed by `make test-models`.
    private func installedSmolLM2() throws -> String {
        guard let path = installedGGUF("smollm2-135m-instruct") else {
            throw ModelMissing("smollm2-135m-instruct", "no .gguf under \(TestPaths.installedModels.path)")
        }
        return path
    }

    /// Reads every tensor of `file`: vectors as float32, matrices as stored with one product each,
    /// checked on three rows against the float64 reference of the decoded weights.
    private func useEveryTensor(_ file: GGUFFile) throws {
        var rng = TestRNG(state: 1)
        for name in file.tensorNames {
            let info = file.tensors[name]!
            if info.dims.count == 1 {
                let t = try file.tensor(name, shape: [info.dims[0]])
                XCTAssertTrue(t.array.allSatisfy(\.isFinite), name)
                continue
            }
            let rows = info.dims[1], cols = info.dims[0]
            let m = try file.matrix(name, rows: rows, cols: cols)
            let x = rng.normals(cols)
            var y = [Float](repeating: 0, count: rows)
            m.multiply(x, rows: 1, into: &y, ldy: rows)
            var row = [Float](repeating: 0, count: cols)
            for r in [0, rows / 2, rows - 1] {
                m.dequantizeRow(r, into: &row)
                XCTAssertTrue(row.allSatisfy(\.isFinite), name)
                var ref = 0.0, scale = 0.0
                for i in 0..<cols { ref += Double(row[i]) * Double(x[i]); scale += abs(Double(row[i]) * Double(x[i])) }
                XCTAssertEqual(Double(y[r]), ref, accuracy: 1e-2 * scale + 1e-4, "\(name) row \(r)")
            }
        }
        XCTAssertEqual(file.unusedNames, [])
    }

    func testRealSmolLM2File() throws {
        let path = try installedSmolLM2()
        let file = try GGUFFile.read(path: path)
        XCTAssertEqual(file.version, 3)
        XCTAssertEqual(file.architecture, "llama")
        XCTAssertEqual(file.metadata["llama.embedding_length"]?.int, 576)
        XCTAssertEqual(file.metadata["llama.block_count"]?.int, 30)
        XCTAssertEqual(file.metadata["tokenizer.ggml.model"]?.string, "gpt2")
        XCTAssertEqual(file.metadata["tokenizer.ggml.tokens"]?.stringArray?.count, 49152)
        XCTAssertNotNil(file.metadata["tokenizer.ggml.merges"]?.stringArray)
        XCTAssertEqual(file.metadata["tokenizer.ggml.token_type"]?.intArray?.count, 49152)
        var types: [GGMLType: Int] = [:]
        for info in file.tensors.values { types[info.type, default: 0] += 1 }
        XCTAssertEqual(types, [.q4_1: 210, .q8_0: 1, .f32: 61], "tensor types")
        XCTAssertEqual(file.tensors.count, 272)

        try useEveryTensor(file)
    }

    /// Qwen2.5-Coder-0.5B-Instruct (Q5_0, Q8_0, Q4_K, Q6_K, F32), installed by `make test-models`;
    /// a missing file fails the test.
    func testRealQwen05BFile() throws {
        guard let path = installedGGUF("qwen2.5-coder-0.5b-instruct") else {
            XCTFail("qwen2.5-coder-0.5b-instruct has no .gguf in the model store: run `make test-models` to install it")
            return
        }
        let file = try GGUFFile.read(path: path)
        XCTAssertEqual(file.architecture, "qwen2")
        XCTAssertEqual(file.metadata["qwen2.embedding_length"]?.int, 896)
        XCTAssertEqual(file.metadata["tokenizer.ggml.tokens"]?.stringArray?.count, 151_936)
        var types: [GGMLType: Int] = [:]
        for info in file.tensors.values { types[info.type, default: 0] += 1 }
        XCTAssertEqual(types, [.q5_0: 133, .q8_0: 13, .q4_K: 12, .q6_K: 12, .f32: 121], "tensor types")
        try useEveryTensor(file)
    }
}
