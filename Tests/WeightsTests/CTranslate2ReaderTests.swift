import Foundation
import Tensors
import TestSupport
import Weights
import XCTest

final class CTranslate2ReaderTests: TempDirTestCase {
    let conv: [Float] = [1.5, -2, 0.25, 3, -0.125, 100]
    let halfValues: [Float] = [1, -0.5, 65504, 0.099975586, -3, 6.1035156e-05]   // exactly representable in float16
    let int8s: [Int8] = [-128, -1, 0, 127]
    let int16s: [Int16] = [-300, 7, 32767]

    /// Variables of every dtype the v4+ format has, a rank-0 scalar and an alias.
    var v6Variables: [CT2Variable] {
        [
            CT2Variable(name: "encoder/conv1/weight", shape: [2, 3], dtypeID: 0, data: bytesOf(conv)),
            CT2Variable(name: "encoder/layer_0/fc1/weight", shape: [3, 2], dtypeID: 4, data: bytesOf(halfValues.map(floatToHalf))),
            CT2Variable(name: "decoder/embeddings/weight", shape: [4], dtypeID: 1, data: bytesOf(int8s)),
            CT2Variable(name: "decoder/bf", shape: [1, 2], dtypeID: 5, data: bytesOf([UInt16(0x3FC0), 0xC000])),
            CT2Variable(name: "decoder/scale", shape: [], dtypeID: 0, data: bytesOf([Float(0.125)])),
            CT2Variable(name: "num_heads", shape: [], dtypeID: 3, data: bytesOf([Int32(6)])),
            CT2Variable(name: "decoder/int16", shape: [3], dtypeID: 2, data: bytesOf(int16s)),
        ]
    }
    let v6Aliases = [("decoder/projection/weight", "encoder/conv1/weight")]

    func testVersion6RoundTrip() throws {
        let path = write(ct2Bytes(version: 6, spec: "WhisperSpec", revision: 3, variables: v6Variables, aliases: v6Aliases), "model.bin")
        let (file, header) = try CTranslate2Reader.read(path: path)
        XCTAssertEqual(header.version, 6)
        XCTAssertEqual(header.specName, "WhisperSpec")
        XCTAssertEqual(header.revision, 3)
        XCTAssertEqual(file.format, "ctranslate2-v6")
        XCTAssertEqual(file.path, path)
        XCTAssertEqual(file.names, v6Variables.map(\.name).sorted())   // aliases are not variables
        XCTAssertEqual(file.unusedNames, file.names)

        let w = try file.tensor("encoder/conv1/weight", shape: [2, 3])
        XCTAssertEqual(w.array, conv)
        XCTAssertNil(w.half)
        let h = try file.tensor("encoder/layer_0/fc1/weight", shape: [3, 2])
        XCTAssertEqual(h.array, halfValues)
        XCTAssertNotNil(h.half, "a 2-D float16 variable keeps its float16 copy")
        XCTAssertEqual(try file.raw("encoder/layer_0/fc1/weight").dtype, .float16)
        XCTAssertEqual(try file.tensor("decoder/embeddings/weight").array, [-128, -1, 0, 127])
        XCTAssertEqual(try file.tensor("decoder/bf", shape: [1, 2]).array, [1.5, -2])
        XCTAssertEqual(try file.tensor("decoder/int16").array, [-300, 7, 32767])
        XCTAssertEqual(try file.scalar("decoder/scale"), 0.125)
        XCTAssertEqual(try file.scalar("num_heads"), 6)
        XCTAssertEqual(try file.raw("decoder/scale").shape, [])

        // The alias resolves to its target.
        XCTAssertTrue(file.contains("decoder/projection/weight"))
        XCTAssertFalse(file.contains("decoder/missing"))
        let viaAlias = try file.raw("decoder/projection/weight")
        XCTAssertEqual(viaAlias.name, "encoder/conv1/weight")
        XCTAssertEqual(try file.tensor("decoder/projection/weight", shape: [2, 3]).array, conv)
        XCTAssertEqual(file.unusedNames, [])
    }

    func testUnusedNamesTracking() throws {
        let path = write(ct2Bytes(version: 6, variables: v6Variables, aliases: v6Aliases), "model.bin")
        let (file, _) = try CTranslate2Reader.read(path: path)
        XCTAssertEqual(file.unusedNames.count, 7)
        // Using an alias marks its target.
        _ = try file.raw("decoder/projection/weight")
        XCTAssertFalse(file.unusedNames.contains("encoder/conv1/weight"))
        _ = try file.scalar("num_heads")
        _ = try file.tensor("decoder/bf")
        // A failed (shape-mismatched) lookup does not hide anything else.
        XCTAssertThrowsError(try file.tensor("decoder/int16", shape: [4]))
        file.markExplained(["decoder/scale", "not/in/file"])
        XCTAssertEqual(file.unusedNames, ["decoder/embeddings/weight", "encoder/layer_0/fc1/weight"].filter { file.unusedNames.contains($0) })
        XCTAssertTrue(file.unusedNames.contains("decoder/embeddings/weight"))
        XCTAssertTrue(file.unusedNames.contains("encoder/layer_0/fc1/weight"))
        XCTAssertFalse(file.unusedNames.contains("decoder/scale"))
        XCTAssertFalse(file.unusedNames.contains("decoder/bf"))
        XCTAssertFalse(file.unusedNames.contains("num_heads"))
        XCTAssertEqual(file.unusedNames, file.unusedNames.sorted())
        // Reading a name does not depend on the order of lookups, and repeated reads are fine.
        XCTAssertEqual(try file.tensor("encoder/conv1/weight").array, try file.tensor("decoder/projection/weight").array)
    }

    func testLookupErrors() throws {
        let path = write(ct2Bytes(version: 6, variables: v6Variables, aliases: v6Aliases), "model.bin")
        let (file, _) = try CTranslate2Reader.read(path: path)
        let mismatch = assertWeightError(path, "shape mismatch") { _ = try file.tensor("encoder/conv1/weight", shape: [3, 2]) }
        XCTAssertTrue(mismatch?.contains("[2, 3]") == true && mismatch?.contains("[3, 2]") == true,
                      "message should give both shapes: \(mismatch ?? "")")
        XCTAssertTrue(mismatch?.contains("encoder/conv1/weight") == true)
        let missing = assertWeightError(path, "missing") { _ = try file.tensor("decoder/nope") }
        XCTAssertTrue(missing?.contains("decoder/nope") == true)
        assertWeightError(path, "scalar of a matrix") { _ = try file.scalar("encoder/conv1/weight") }
        assertWeightError(path, "missing scalar") { _ = try file.scalar("nope") }
    }

    /// Versions 1–5: the spec name/revision appear at 2, aliases at 3, dtype ids at 4 (before
    /// that, an item size that stands for float32 / int16 / int8).
    func testOlderVersions() throws {
        let old: [CT2Variable] = [
            CT2Variable(name: "w", shape: [2, 3], dtypeID: 0, data: bytesOf(conv)),
            CT2Variable(name: "q", shape: [4], dtypeID: 1, data: bytesOf(int8s)),
            CT2Variable(name: "s", shape: [3], dtypeID: 2, data: bytesOf(int16s)),
        ]
        for version: UInt32 in 1...5 {
            let aliases = version >= 3 ? [("w_alias", "w")] : []
            let path = write(ct2Bytes(version: version, spec: "OldSpec", revision: 2, variables: old, aliases: aliases), "v\(version).bin")
            let (file, header) = try CTranslate2Reader.read(path: path)
            XCTAssertEqual(header.version, Int(version))
            XCTAssertEqual(header.specName, version >= 2 ? "OldSpec" : "")
            XCTAssertEqual(header.revision, version >= 2 ? 2 : 1)
            XCTAssertEqual(file.names, ["q", "s", "w"])
            XCTAssertEqual(try file.raw("w").dtype, .float32)
            XCTAssertEqual(try file.raw("q").dtype, .int8)
            XCTAssertEqual(try file.raw("s").dtype, .int16)
            XCTAssertEqual(try file.tensor("w", shape: [2, 3]).array, conv)
            XCTAssertEqual(try file.tensor("q").array, [-128, -1, 0, 127])
            XCTAssertEqual(try file.tensor("s").array, [-300, 7, 32767])
            if version >= 3 { XCTAssertEqual(try file.tensor("w_alias").array, conv) }
        }
    }

    /// Every proper prefix of a valid file is an error naming the file, never a crash.
    func testEveryTruncationThrows() throws {
        for version: UInt32 in [6, 3, 1] {
            let variables = version >= 4 ? v6Variables : Array(v6Variables.filter { [0, 1, 2].contains($0.dtypeID) })
            let full = ct2Bytes(version: version, variables: variables, aliases: version >= 3 ? v6Aliases : [])
            XCTAssertNoThrow(try CTranslate2Reader.read(path: write(full, "full-v\(version).bin")))
            for length in 0..<full.count {
                let path = write(Array(full[0..<length]), "cut.bin")
                assertWeightError(path, "v\(version) cut at \(length) of \(full.count)") { _ = try CTranslate2Reader.read(path: path) }
            }
        }
    }

    func testMalformedHeaders() throws {
        let good = ct2Bytes(version: 6, variables: v6Variables, aliases: v6Aliases)

        for version: UInt32 in [0, 7, 0x0100_0000, .max] {
            var bytes = good
            withUnsafeBytes(of: version.littleEndian) { bytes.replaceSubrange(0..<4, with: $0) }
            let path = write(bytes, "version-\(version).bin")
            let message = assertWeightError(path, "version \(version)") { _ = try CTranslate2Reader.read(path: path) }
            XCTAssertTrue(message?.contains("\(version)") == true, message ?? "")
        }

        var trailing = good
        trailing.append(0)
        let trailingPath = write(trailing, "trailing.bin")
        let trailingMessage = assertWeightError(trailingPath, "trailing byte") { _ = try CTranslate2Reader.read(path: trailingPath) }
        XCTAssertTrue(trailingMessage?.contains("trailing") == true, trailingMessage ?? "")

        func one(_ body: (inout ByteWriter) -> Void, aliases: [(String, String)] = []) -> [UInt8] {
            var w = ByteWriter()
            w.u32(6); w.str("Spec"); w.u32(1); w.u32(1)
            body(&w)
            w.u32(UInt32(aliases.count))
            for (a, t) in aliases { w.str(a); w.str(t) }
            return w.bytes
        }
        let cases: [(String, [UInt8])] = [
            ("unknown dtype id 6", one { w in w.str("x"); w.u8(1); w.u32(2); w.u8(6); w.u32(8); w.raw([UInt8](repeating: 0, count: 8)) }),
            ("unknown dtype id 255", one { w in w.str("x"); w.u8(1); w.u32(2); w.u8(255); w.u32(8); w.raw([UInt8](repeating: 0, count: 8)) }),
            ("rank 9", one { w in w.str("x"); w.u8(9); for _ in 0..<9 { w.u32(1) }; w.u8(0); w.u32(4); w.raw([0, 0, 0, 0]) }),
            ("rank 255", one { w in w.str("x"); w.u8(255); for _ in 0..<255 { w.u32(1) }; w.u8(0); w.u32(4); w.raw([0, 0, 0, 0]) }),
            ("byte count ≠ shape", one { w in w.str("x"); w.u8(1); w.u32(3); w.u8(0); w.u32(8); w.raw([UInt8](repeating: 0, count: 8)) }),
            ("byte count beyond file", one { w in w.str("x"); w.u8(1); w.u32(3); w.u8(0); w.u32(0xFFFF_FFFF); w.raw([0]) }),
            ("alias to a missing variable", one({ w in w.str("x"); w.u8(0); w.u8(0); w.u32(4); w.raw([0, 0, 0, 0]) },
                                                aliases: [("y", "nope")])),
            ("name not UTF-8", one { w in w.u16(3); w.raw([0xFF, 0xFE, 0]); w.u8(0); w.u8(0); w.u32(4); w.raw([0, 0, 0, 0]) }),
            ("name length beyond file", one { w in w.u16(0xFFFF); w.raw([0x41, 0x42]) }),
        ]
        for (what, bytes) in cases {
            let path = write(bytes, "case.bin")
            assertWeightError(path, what) { _ = try CTranslate2Reader.read(path: path) }
        }

        // The same name twice.
        var w = ByteWriter()
        w.u32(6); w.str("Spec"); w.u32(1); w.u32(2)
        for _ in 0..<2 { w.str("dup"); w.u8(0); w.u8(0); w.u32(4); w.raw([0, 0, 0, 0]) }
        w.u32(0)
        let dupPath = write(w.bytes, "dup.bin")
        let dupMessage = assertWeightError(dupPath, "duplicate name") { _ = try CTranslate2Reader.read(path: dupPath) }
        XCTAssertTrue(dupMessage?.contains("dup") == true)

        // An implausible variable count fails at once instead of looping.
        var huge = ByteWriter()
        huge.u32(6); huge.str("Spec"); huge.u32(1); huge.u32(0xFFFF_FFFF)
        let hugePath = write(huge.bytes, "huge.bin")
        assertWeightError(hugePath, "variable count") { _ = try CTranslate2Reader.read(path: hugePath) }

        // Version 3 item sizes other than 1, 2 and 4 are not valid.
        var v3 = ByteWriter()
        v3.u32(3); v3.str("Spec"); v3.u32(1); v3.u32(1)
        v3.str("x"); v3.u8(1); v3.u32(2); v3.u8(3); v3.u32(2); v3.raw([UInt8](repeating: 0, count: 6))
        v3.u32(0)
        let v3Path = write(v3.bytes, "itemsize.bin")
        assertWeightError(v3Path, "item size 3") { _ = try CTranslate2Reader.read(path: v3Path) }
    }

    /// Dimensions whose product overflows must be rejected, not wrap around to a small count
    /// (here 2^16 · 2^16 · 2^16 · 2^16 = 2^64 ≡ 0, matching a 0-byte payload).
    func testShapeWhoseElementCountOverflowsIsRejected() throws {
        var w = ByteWriter()
        w.u32(6); w.str("Spec"); w.u32(1); w.u32(1)
        w.str("x"); w.u8(4); for _ in 0..<4 { w.u32(65536) }; w.u8(0); w.u32(0)
        w.u32(0)
        let path = write(w.bytes, "overflow.bin")
        assertWeightError(path, "2^64 elements in 0 bytes") { _ = try CTranslate2Reader.read(path: path) }
    }

    /// An alias whose target is itself an alias passes the reader's check, so it must resolve.
    func testAliasOfAliasResolvesOrIsRejected() throws {
        let bytes = ct2Bytes(version: 6, variables: [CT2Variable(name: "a", shape: [2], dtypeID: 0, data: bytesOf([Float(1), 2]))],
                             aliases: [("b", "a"), ("c", "b")])
        let path = write(bytes, "chain.bin")
        let file: WeightFile
        do { file = try CTranslate2Reader.read(path: path).0 } catch is WeightError { return }   // rejecting is fine too
        XCTAssertTrue(file.contains("c"))
        XCTAssertEqual(try file.tensor("b").array, [1, 2])
        XCTAssertEqual(try file.tensor("c").array, [1, 2], "contains(\"c\") is true but the lookup fails")
    }

    func testFileSystemErrors() throws {
        let missing = dir.appendingPathComponent("nope.bin").path
        let message = assertWeightError(missing, "missing file") { _ = try CTranslate2Reader.read(path: missing) }
        XCTAssertTrue(message?.contains("cannot open") == true, message ?? "")
        assertWeightError(dir.path, "directory") { _ = try CTranslate2Reader.read(path: dir.path) }
        let empty = write([], "empty.bin")
        assertWeightError(empty, "empty file") { _ = try CTranslate2Reader.read(path: empty) }
        assertWeightError(empty, "empty safetensors") { _ = try SafetensorsReader.read(path: empty) }
    }

    func testMappedFileAndByteReader() throws {
        var w = ByteWriter()
        w.u8(0xAB); w.u16(0x1234); w.u32(0xDEAD_BEEF); w.u64(0x0102_0304_0506_0708)
        let path = write(w.bytes, "bytes.bin")
        let mapping = try MappedFile(path: path)
        XCTAssertEqual(mapping.bytes.count, 15)
        var r = ByteReader(mapping)
        XCTAssertEqual(try r.read(UInt8.self, "a"), 0xAB)
        XCTAssertEqual(try r.read(UInt16.self, "b"), 0x1234)       // unaligned reads
        XCTAssertEqual(try r.read(UInt32.self, "c"), 0xDEAD_BEEF)
        XCTAssertEqual(r.remaining, 8)
        XCTAssertEqual(try r.read(UInt64.self, "d"), 0x0102_0304_0506_0708)
        XCTAssertEqual(r.remaining, 0)
        let message = assertWeightError(path, "read past the end") { _ = try r.read(UInt8.self, "one more") }
        XCTAssertTrue(message?.contains("one more") == true, message ?? "")
        var r2 = ByteReader(mapping, offset: 3)
        assertWeightError(path, "negative count") { _ = try r2.bytes(-1, "negative") }
        assertWeightError(path, "too many") { _ = try r2.bytes(13, "thirteen") }
        XCTAssertEqual(try r2.bytes(12, "twelve").count, 12)
        XCTAssertEqual(r2.offset, 15)
    }
}
