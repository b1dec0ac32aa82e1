import Foundation
import Tokenizers
import XCTest

/// tokenizer.json files from strangers: ids that would size arrays by themselves are refused first.
final class HostileTokenizerJSONTests: XCTestCase {
    func json(vocab: [String: Int], added: [[String: Any]] = []) throws -> Data {
        try JSONSerialization.data(withJSONObject: [
            "model": ["type": "BPE", "vocab": vocab, "merges": [String]()],
            "added_tokens": added, "pre_tokenizer": ["type": "ByteLevel", "use_regex": true], "decoder": ["type": "ByteLevel"],
        ] as [String: Any])
    }

    func assertRefused(_ data: Data, _ fragments: [String], line: UInt = #line) {
        XCTAssertThrowsError(try BPETokenizer(tokenizerJSON: data, source: "hostile/tokenizer.json"), line: line) { error in
            for fragment in ["hostile/tokenizer.json"] + fragments {
                XCTAssertTrue("\(error)".contains(fragment), "«\(fragment)» not in: \(error)", line: line)
            }
        }
    }

    func testIdsFarBeyondTheEntriesAreRefusedBeforeAllocating() throws {
        // 10^15 would have sized a 10^15-element token table
        assertRefused(try json(vocab: ["a": 0, "b": 1_000_000_000_000_000]), ["model.vocab", "1000000000000000", "far beyond the 2 tokens"])
        assertRefused(try json(vocab: ["a": 0], added: [["id": Int(Int32.max), "content": "<x>", "special": true]]),
                      ["added_tokens[0]", "\(Int32.max)"])
        // dense ids (GPT-2's 256 byte symbols) with an added token after the vocabulary still load
        var bytes: [String: Int] = [:]
        var next = 0
        for b in 0...255 {
            let printable = (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b)
            let scalar = printable ? UInt32(b) : 256 + UInt32(next)
            if !printable { next += 1 }
            bytes[String(Character(UnicodeScalar(scalar)!))] = b
        }
        XCTAssertNoThrow(try BPETokenizer(tokenizerJSON: try json(vocab: bytes, added: [["id": 256, "content": "<x>", "special": true]])))
    }
}
