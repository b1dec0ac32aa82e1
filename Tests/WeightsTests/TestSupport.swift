import Foundation
import Tensors
import TestSupport
import Weights
import XCTest

/// Little-endian byte builder for hand-made weight files.
struct ByteWriter {
    var bytes: [UInt8] = []
    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func raw(_ b: [UInt8]) { bytes += b }
    /// CTranslate2 string: u16 length including a trailing NUL, then the bytes and the NUL.
    mutating func str(_ s: String) { let u = Array(s.utf8); u16(UInt16(u.count + 1)); bytes += u; bytes.append(0) }
}

/// One variable of a CTranslate2 model.bin. `dtypeID`: 0 f32, 1 i8, 2 i16, 3 i32, 4 f16, 5 bf16.
struct CT2Variable {
    var name: String
    var shape: [UInt32]
    var dtypeID: UInt8
    var data: [UInt8]
    var itemSize: UInt8 {
        switch dtypeID { case 0, 3: return 4; case 2, 4, 5: return 2; default: return 1 }
    }
}

/// Serializes like ctranslate2/specs/model_spec.py `_serialize` for binary `version`.
func ct2Bytes(version: UInt32, spec: String = "TinySpec", revision: UInt32 = 3,
              variables: [CT2Variable], aliases: [(String, String)] = []) -> [UInt8] {
    var w = ByteWriter()
    w.u32(version)
    if version >= 2 { w.str(spec); w.u32(revision) }
    w.u32(UInt32(variables.count))
    for v in variables {
        w.str(v.name)
        w.u8(UInt8(v.shape.count))
        for dim in v.shape { w.u32(dim) }
        if version >= 4 {
            w.u8(v.dtypeID)
            w.u32(UInt32(v.data.count))
        } else {
            w.u8(v.itemSize)
            w.u32(UInt32(v.data.count / Int(v.itemSize)))
        }
        w.raw(v.data)
    }
    if version >= 3 {
        w.u32(UInt32(aliases.count))
        for (alias, target) in aliases { w.str(alias); w.str(target) }
    }
    return w.bytes
}

/// A temporary directory per test case, removed afterwards.
class TempDirTestCase: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-weights-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// Writes `bytes` to `name` in the test directory (plain open/write/close: the truncation
    /// tests write hundreds of files) and returns the path; a failed write fails this test.
    func write(_ bytes: [UInt8], _ name: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        let path = dir.appendingPathComponent(name).path
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else {
            XCTFail("cannot create \(path): \(String(cString: strerror(errno)))", file: file, line: line)
            return path
        }
        let written = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
        if written != bytes.count { XCTFail("short write to \(path): \(written) of \(bytes.count) bytes", file: file, line: line) }
        close(fd)
        return path
    }

    /// `body` throws a WeightError that names `path`; returns its message.
    @discardableResult
    func assertWeightError(_ path: String, _ what: String, file: StaticString = #filePath, line: UInt = #line,
                           _ body: () throws -> Void) -> String? {
        do {
            try body()
            XCTFail("\(what): no error", file: file, line: line)
        } catch let error as WeightError {
            XCTAssertEqual(error.path, path, what, file: file, line: line)
            XCTAssertTrue("\(error)".hasPrefix(path + ": "), "\(what): '\(error)' does not name the file", file: file, line: line)
            XCTAssertFalse(error.message.isEmpty, file: file, line: line)
            return error.message
        } catch {
            XCTFail("\(what): not a WeightError: \(error)", file: file, line: line)
        }
        return nil
    }
}
