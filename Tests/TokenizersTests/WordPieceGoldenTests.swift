import Foundation
import TestSupport
import Tokenizers
import XCTest

/// Parity with Hugging Face `tokenizers` on all-MiniLM-L6-v2's WordPiece tokenizer.json
/// (Fixtures/wordpiece_golden.json, made by scripts/goldens/make_embedding_goldens.py).
final class WordPieceGoldenTests: XCTestCase {
    struct Golden: Decodable {
        struct Case: Decodable { var text: String; var ids: [Int]; var words: [String] }
        var tokenizerJsonSha256: String
        var maxLength: Int
        var cases: [Case]
    }

    static var tokenizerURL: URL { TestPaths.installedModels.appendingPathComponent("all-minilm-l6-v2/tokenizer.json") }

    func load() throws -> (WordPieceTokenizer, Golden) {
        guard FileManager.default.fileExists(atPath: Self.tokenizerURL.path) else {
            throw TestSetupError("missing \(Self.tokenizerURL.path): run `make test-models` to install the test models")
        }
        guard let url = Bundle.module.url(forResource: "wordpiece_golden", withExtension: "json", subdirectory: "Fixtures") else {
            throw TestSetupError("Fixtures/wordpiece_golden.json is not in the test bundle")
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return (try WordPieceTokenizer(contentsOf: Self.tokenizerURL), try decoder.decode(Golden.self, from: Data(contentsOf: url)))
    }

    func testIdsMatchReference() throws {
        let (tokenizer, golden) = try load()
        XCTAssertEqual(golden.maxLength, 256)
        XCTAssertGreaterThanOrEqual(golden.cases.count, 20)
        var matched = 0
        for c in golden.cases {
            let ids = tokenizer.encodeForModel(c.text, maxLength: golden.maxLength)
            XCTAssertEqual(ids, c.ids, "text: \(c.text.debugDescription)")
            if ids == c.ids { matched += 1 }
        }
        XCTAssertEqual(matched, golden.cases.count)
        XCTAssertEqual(golden.cases.last?.ids.count, 256, "the long case checks truncation")
    }

    func testNormalizedWordsMatchReference() throws {
        let (tokenizer, golden) = try load()
        for c in golden.cases {
            XCTAssertEqual(tokenizer.words(c.text), c.words, "text: \(c.text.debugDescription)")
        }
    }

    func testSpecialIdsAndUnknownWords() throws {
        let (tokenizer, _) = try load()
        XCTAssertEqual(tokenizer.vocabularySize, 30_522)
        XCTAssertEqual([tokenizer.paddingId, tokenizer.unknownId, tokenizer.classifierId, tokenizer.separatorId], [0, 100, 101, 102])
        XCTAssertEqual(tokenizer.encode(String(repeating: "a", count: 101)), [100], "over 100 characters: [UNK]")
        XCTAssertEqual(tokenizer.encodeForModel("", maxLength: 256), [101, 102])
        XCTAssertEqual(tokenizer.encodeForModel("one two three", maxLength: 3), [101, tokenizer.id(of: "one")!, 102])
    }

    func testRefusesOtherModels() throws {
        let bpe = #"{"model":{"type":"BPE","vocab":{"a":0},"merges":[]}}"#
        XCTAssertThrowsError(try WordPieceTokenizer(tokenizerJSON: Data(bpe.utf8))) { error in
            XCTAssertTrue("\(error)".contains("not WordPiece"), "\(error)")
        }
        let noUnknown = #"{"model":{"type":"WordPiece","vocab":{"a":0,"[CLS]":1,"[SEP]":2,"[PAD]":3}}}"#
        XCTAssertThrowsError(try WordPieceTokenizer(tokenizerJSON: Data(noUnknown.utf8))) { error in
            XCTAssertTrue("\(error)".contains("[UNK]"), "\(error)")
        }
        XCTAssertThrowsError(try WordPieceTokenizer(tokenizerJSON: Data("[1,2".utf8)))
    }
}
