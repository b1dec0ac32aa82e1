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
        assertRefused(try json(vocab: ["a": 0, "b": 1_000_000_000_000_000]), ["model.vocab", "1000000000000000", "beyond the 2 tokens"])
        assertRefused(try json(vocab: ["a": 0], added: [["id": Int(Int32.max), "content": "<x>", "special": true]]),
                      ["added_tokens[0]", "\(Int32.max)"])
        // dense ids with added tokens after the vocabulary still load
        XCTAssertNoThrow(try BPETokenizer(tokenizerJSON: try json(vocab: ["a": 0, "b": 1], added: [["id": 2, "content": "<x>", "special": true]])))
    }
}
