import Foundation
import Tensors
import TestSupport
import Weights
import XCTest

final class SafetensorsReaderTests: TempDirTestCase {
    /// u64 header size, the JSON header (space-padded to a multiple of 8 when `pad`), then data.
    func safetensors(_ header: String, data: [UInt8], pad: Bool = true, headerSize: UInt64? = nil) -> [UInt8] {
        var json = Array(header.utf8)
        while pad && json.count % 8 != 0 { json.append(0x20) }
        var w = ByteWriter()
        w.u64(headerSize ?? UInt64(json.count))
        w.raw(json)
        w.raw(data)
        return w.bytes
    }

    let f32: [Float] = [1, -2.5, 3.25, 0, -0.0625, 1e-3]
    let f16: [Float] = [0.5, -1, 2048, 6.1035156e-05]
    let bf16Bits: [UInt16] = [0x3F80, 0xC040, 0x4049]   // 1, -3, 3.140625
    let i32s: [Int32] = [-5, 1 << 20]

    var validData: [UInt8] {
        bytesOf(f32) + bytesOf(f16.map(floatToHalf)) + bytesOf(bf16Bits) + bytesOf([Int8(-7), 9]) + bytesOf(i32s)
    }
    let validHeader = """
    {"__metadata__":{"format":"pt"},\
    "model.a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},\
    "model.h":{"dtype":"F16","shape":[2,2],"data_offsets":[24,32]},\
    "model.b":{"dtype":"BF16","shape":[3],"data_offsets":[32,38]},\
    "model.i":{"dtype":"I8","shape":[2],"data_offsets":[38,40]},\
    "model.n":{"dtype":"I32","shape":[2],"data_offsets":[40,48]}}
    """

    func testValidFile() throws {
        let path = write(safetensors(validHeader, data: validData), "model.safetensors")
        let file = try SafetensorsReader.read(path: path)
        XCTAssertEqual(file.format, "safetensors")
        XCTAssertEqual(file.names, ["model.a", "model.b", "model.h", "model.i", "model.n"])
        XCTAssertEqual(try file.tensor("model.a", shape: [2, 3]).array, f32)
        let h = try file.tensor("model.h", shape: [2, 2])
        XCTAssertEqual(h.array, f16)
        XCTAssertNotNil(h.half)
        XCTAssertEqual(try file.raw("model.h").dtype, .float16)
        XCTAssertEqual(try file.tensor("model.b", shape: [3]).array, [1, -3, 3.140625])
        XCTAssertEqual(try file.tensor("model.i").array, [-7, 9])
        XCTAssertEqual(try file.tensor("model.n").array, [-5, 1_048_576])
        XCTAssertEqual(file.unusedNames, [])
        let message = assertWeightError(path, "shape mismatch") { _ = try file.tensor("model.a", shape: [3, 2]) }
        XCTAssertTrue(message?.contains("[2, 3]") == true && message?.contains("[3, 2]") == true, message ?? "")
    }

    /// Tensors in any order in the header and data; an unpadded header; trailing bytes after the data.
    func testUnpaddedHeaderAndTrailingData() throws {
        let header = #"{"y":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"x":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}"#
        let path = write(safetensors(header, data: bytesOf([Float(7), 8]) + [1, 2, 3], pad: false), "m.safetensors")
        let file = try SafetensorsReader.read(path: path)
        XCTAssertEqual(try file.scalar("x"), 7)
        XCTAssertEqual(try file.tensor("y").array, [8])
    }

    func testEveryTruncationThrows() throws {
        let full = safetensors(validHeader, data: validData)
        for length in 0..<full.count {
            let path = write(Array(full[0..<length]), "cut.safetensors")
            assertWeightError(path, "cut at \(length) of \(full.count)") { _ = try SafetensorsReader.read(path: path) }
        }
    }

    func testMalformedFiles() throws {
        let data = [UInt8](repeating: 0, count: 16)
        let cases: [(String, [UInt8])] = [
            ("offsets beyond the file", safetensors(#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,1000]}}"#, data: data)),
            ("start beyond the file", safetensors(#"{"a":{"dtype":"F32","shape":[0],"data_offsets":[1000,1000]}}"#, data: data)),
            ("start after end", safetensors(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}"#, data: data)),
            ("negative start", safetensors(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}"#, data: data)),
            ("bytes ≠ shape", safetensors(#"{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,16]}}"#, data: data)),
            ("non-JSON header", safetensors("this is not json", data: data)),
            ("truncated JSON", safetensors(#"{"a":{"dtype":"F32","#, data: data)),
            ("JSON array header", safetensors("[1, 2, 3]", data: data)),
            ("unknown dtype", safetensors(#"{"a":{"dtype":"F64","shape":[2],"data_offsets":[0,16]}}"#, data: data)),
            ("quantized dtype", safetensors(#"{"a":{"dtype":"Q4_0","shape":[2],"data_offsets":[0,16]}}"#, data: data)),
            ("missing dtype", safetensors(#"{"a":{"shape":[2],"data_offsets":[0,8]}}"#, data: data)),
            ("shape not a list", safetensors(#"{"a":{"dtype":"F32","shape":"2","data_offsets":[0,8]}}"#, data: data)),
            ("one offset", safetensors(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}}"#, data: data)),
            ("entry not an object", safetensors(#"{"a":[1,2]}"#, data: data)),
            ("header size larger than the file", safetensors(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: data, headerSize: 4096)),
            ("header size 2^40", safetensors("{}", data: data, headerSize: 1 << 40)),
            ("header size 2^63", safetensors("{}", data: data, headerSize: 1 << 63)),
            ("header size 2^64 − 1", safetensors("{}", data: data, headerSize: .max)),
            ("header size 0", safetensors("", data: data, pad: false, headerSize: 0)),
            ("header shorter than 8 bytes", [1, 0, 0]),
        ]
        for (what, bytes) in cases {
            let path = write(bytes, "bad.safetensors")
            assertWeightError(path, what) { _ = try SafetensorsReader.read(path: path) }
        }
    }

    /// A dimension below zero is malformed even when the product of the dimensions matches the
    /// byte count ((−2)·(−3)·4 = 24 bytes here).
    func testNegativeDimensionsAreRejected() throws {
        let path = write(safetensors(#"{"a":{"dtype":"F32","shape":[-2,-3],"data_offsets":[0,24]}}"#,
                                     data: [UInt8](repeating: 0, count: 24)), "negative.safetensors")
        assertWeightError(path, "negative dimensions") { _ = try SafetensorsReader.read(path: path) }
    }

    /// Dimensions whose element count overflows (2^32 · 2^32 = 2^64 ≡ 0) must not pass as an
    /// empty tensor.
    func testShapeWhoseElementCountOverflowsIsRejected() throws {
        let path = write(safetensors(#"{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}}"#,
                                     data: [0, 0, 0, 0]), "overflow.safetensors")
        assertWeightError(path, "2^64 elements in 0 bytes") { _ = try SafetensorsReader.read(path: path) }
    }

    /// Offsets near Int.max: `dataStart + offset` must not wrap around to a position before the
    /// mapping (which would pass the bounds check and point the tensor at foreign memory).
    func testOffsetsNearIntMaxAreRejected() throws {
        // Pad the header past 1 KiB so dataStart + 9223372036854775000 overflows.
        let entry = #"{"a":{"dtype":"I8","shape":[10],"data_offsets":[9223372036854775000,9223372036854775010]}}"#
        let header = entry + String(repeating: " ", count: 1100)
        let path = write(safetensors(header, data: [UInt8](repeating: 0, count: 16)), "wrap.safetensors")
        // Only `read` runs here: looking the tensor up would touch memory outside the file.
        assertWeightError(path, "offsets near Int.max") { _ = try SafetensorsReader.read(path: path) }
    }
}
