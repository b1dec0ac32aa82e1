import Foundation
import ModelStore
import XCTest

final class SHA256Tests: XCTestCase {
    func testKnownVectors() {
        XCTAssertEqual(SHA256.hex(Array("".utf8)), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(SHA256.hex([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testNonContiguousCollectionHashesLikeAnArray() {
        let bytes = (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        XCTAssertEqual(SHA256.hex(bytes.lazy.map { $0 }), SHA256.hex(bytes))
    }

    /// Splitting the input at any point around block and padding boundaries gives the same digest.
    func testIncrementalUpdatesMatchOneShot() {
        let bytes = (0..<200).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 5) }
        for length in [0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 200] {
            let message = Array(bytes[0..<length])
            let expected = SHA256.hex(message)
            for split in Set([0, length / 3, length / 2, length]) {
                var hasher = SHA256.Hasher()
                hasher.update(message[0..<split])
                hasher.update(message[split...])
                XCTAssertEqual(hasher.finalizeHex(), expected, "length \(length), split \(split)")
            }
        }
    }

    /// A file larger than the 1 MiB read chunk hashes as `sha256sum` says.
    func testFileHashMatchesSha256sum() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-sha-\(UUID().uuidString).bin")
        defer { try? FileManager.default.removeItem(at: url) }
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<(3 << 20) + 12_345).map { _ in UInt8.random(in: 0...255, using: &generator) }
        try Data(bytes).write(to: url)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["sha256sum", url.path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)

        let expected = String(text.prefix(64))
        XCTAssertEqual(try SHA256.hex(of: url), expected)
        XCTAssertEqual(SHA256.hex(bytes), expected)
    }
}
