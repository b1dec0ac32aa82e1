import Foundation
import Tokenizers
import XCTest

/// A tiny vocabulary built by hand: the 256 byte tokens (id = byte value) plus a few merges.
final class HandMadeTokenizerTests: XCTestCase {
    private static let extraTokens = ["lo", "low", "er", "Ġlow", "Ġlower", "bc", "ab", "<|end|>", "<sep>"]
    private static let merges = ["l o", "lo w", "e r", "Ġ low", "Ġlow er", "b c", "a b"]
    private static let byteTokens = (0...255).map { byteLevelSpelling([UInt8($0)]) }

    private func makeTokenizer(preTokenizer: PreTokenizer = .gpt2) throws -> BPETokenizer {
        let tokens = Self.byteTokens + Self.extraTokens
        var kinds = [TokenKind](repeating: .normal, count: tokens.count)
        kinds[263] = .control      // <|end|>
        kinds[264] = .userDefined  // <sep>
        return try BPETokenizer(tokens: tokens, kinds: kinds, merges: Self.merges, preTokenizer: preTokenizer)
    }

    func testEncodeAppliesMergesByRank() throws {
        let tokenizer = try makeTokenizer()
        // "lower" → lo, low, er; " lowest" → Ġlow + e s t; "abc" merges "b c" (rank 5) before "a b" (rank 6).
        XCTAssertEqual(tokenizer.encode("lower lowest<|end|>abc<sep>ab"),
                       [257, 258, 259, 101, 115, 116, 263, 97, 261, 264, 262])
        XCTAssertEqual(tokenizer.encode(" lower"), [260])
        XCTAssertEqual(tokenizer.encode("<|end|>", recognizeSpecialTokens: false),
                       Array("<|end|>".utf8).map(Int.init))
        XCTAssertEqual(tokenizer.encode("<sep>", recognizeSpecialTokens: false), [264])
        XCTAssertEqual(tokenizer.encode("é\n"), [0xC3, 0xA9, 0x0A])
        XCTAssertEqual(tokenizer.encode(""), [])
    }

    func testPairAndStringMergesAgree() throws {
        let pairs = Self.merges.map { merge -> (String, String) in
            let parts = merge.split(separator: " ")
            return (String(parts[0]), String(parts[1]))
        }
        let tokens = Self.byteTokens + Self.extraTokens
        let fromPairs = try BPETokenizer(tokens: tokens, merges: pairs, preTokenizer: .llama3)
        let fromStrings = try BPETokenizer(tokens: tokens, merges: Self.merges, preTokenizer: .llama3)
        let text = "lower lowest abc ablow"
        XCTAssertEqual(fromPairs.encode(text), fromStrings.encode(text))
    }

    func testIgnoreMergesTakesWholeWords() throws {
        // With ignore_merges, a word in the vocabulary is one token even when merges cannot reach it.
        let tokens = Self.byteTokens + ["ab", "abc"]
        let merges = ["a b"]
        XCTAssertEqual(try BPETokenizer(tokens: tokens, merges: merges, preTokenizer: .llama3).encode("abc"), [256, 99])
        XCTAssertEqual(try BPETokenizer(tokens: tokens, merges: merges, preTokenizer: .llama3, ignoreMerges: true)
            .encode("abc"), [257])
    }

    func testDecodeAndSkipSpecial() throws {
        let tokenizer = try makeTokenizer()
        let ids = tokenizer.encode("lower<|end|> é<sep>")
        XCTAssertEqual(tokenizer.decode(ids), "lower<|end|> é<sep>")
        XCTAssertEqual(tokenizer.decode(ids, skipSpecial: true), "lower é<sep>")
        XCTAssertTrue(tokenizer.isSpecial(263))
        XCTAssertFalse(tokenizer.isSpecial(264))
        XCTAssertEqual(tokenizer.id(of: "Ġlower"), 260)
        XCTAssertEqual(tokenizer.tokenBytes(260), Array(" lower".utf8))
        XCTAssertEqual(tokenizer.tokenBytes(0x0A), [0x0A])
        XCTAssertEqual(tokenizer.token(0x0A), "Ċ")
    }

    func testIncrementalDecoderHoldsBackPartialCharacters() throws {
        let tokenizer = try makeTokenizer()
        var decoder = IncrementalDecoder(tokenizer: tokenizer)
        // "é" is C3 A9; "😀" is F0 9F 98 80: one byte token each.
        XCTAssertEqual(decoder.append(0xC3), "")
        XCTAssertEqual(decoder.append(0xA9), "é")
        XCTAssertEqual(decoder.append(0xF0), "")
        XCTAssertEqual(decoder.append(0x9F), "")
        XCTAssertEqual(decoder.append(0x98), "")
        XCTAssertEqual(decoder.append(0x80), "😀")
        XCTAssertEqual(decoder.append(263), "<|end|>")
        XCTAssertEqual(decoder.finish(), "")
    }

    func testIncrementalDecoderReplacesInvalidBytes() throws {
        let tokenizer = try makeTokenizer()
        var decoder = IncrementalDecoder(tokenizer: tokenizer)
        XCTAssertEqual(decoder.append(0xFF), "\u{FFFD}", "a byte no sequence can start is replaced at once")
        XCTAssertEqual(decoder.append(0xE6), "")
        XCTAssertEqual(decoder.append(0x97), "")
        XCTAssertEqual(decoder.finish(), "\u{FFFD}", "an unfinished character is replaced at the end")
        XCTAssertEqual(decoder.append(0x61), "a", "finish() starts over")

        var skipping = IncrementalDecoder(tokenizer: tokenizer, skipSpecial: true)
        XCTAssertEqual(skipping.append(0xC3), "")
        XCTAssertEqual(skipping.append(263), "")
        XCTAssertEqual(skipping.append(0xA9), "é", "a skipped special token does not break the character")
        XCTAssertEqual(tokenizer.decode([0xE6, 0x97]), "\u{FFFD}")
    }

    func testArrayInitializerRejectsInconsistentVocabularies() {
        assertFails(try BPETokenizer(tokens: [], merges: [String](), preTokenizer: .gpt2), mentioning: "empty")
        assertFails(try BPETokenizer(tokens: ["a", "b"], merges: [String](), preTokenizer: .gpt2),
                    mentioning: "no token for byte 0x20")
        assertFails(try BPETokenizer(tokens: Self.byteTokens, kinds: [.normal], merges: [String](), preTokenizer: .gpt2),
                    mentioning: "256 tokens but 1 token kinds")
        assertFails(try BPETokenizer(tokens: Self.byteTokens, merges: ["l o"], preTokenizer: .gpt2),
                    mentioning: "makes \"lo\", which is missing")
        assertFails(try BPETokenizer(tokens: Self.byteTokens, merges: ["l o x"], preTokenizer: .gpt2),
                    mentioning: "not two tokens separated by one space")
        assertFails(try BPETokenizer(tokens: Self.byteTokens, merges: [("l", "zz")], preTokenizer: .gpt2),
                    mentioning: "uses a token missing")
    }

    // MARK: tokenizer.json

    func testLoadsMinimalTokenizerJSON() throws {
        let tokenizer = try BPETokenizer(tokenizerJSON: JSONSerialization.data(withJSONObject: minimalJSON()))
        XCTAssertEqual(tokenizer.preTokenizer, .gpt2)
        XCTAssertFalse(tokenizer.addsPrefixSpace)
        XCTAssertEqual(tokenizer.encode("lower<|end|>"), [257, 258, 263])
        XCTAssertTrue(tokenizer.isSpecial(263))
        XCTAssertEqual(tokenizer.vocabularySize, 264)

        var pairMerges = minimalJSON()
        pairMerges["model"] = (pairMerges["model"] as! [String: Any]).merging(["merges": [["l", "o"], ["lo", "w"]]]) { $1 }
        XCTAssertEqual(try BPETokenizer(tokenizerJSON: JSONSerialization.data(withJSONObject: pairMerges)).encode("low"), [257])

        var llama = minimalJSON()
        llama["pre_tokenizer"] = ["type": "Sequence", "pretokenizers": [
            ["type": "Split", "pattern": ["Regex": PreTokenizer.llama3.patterns[0]], "behavior": "Isolated", "invert": false],
            ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false],
        ]]
        XCTAssertEqual(try BPETokenizer(tokenizerJSON: JSONSerialization.data(withJSONObject: llama)).preTokenizer, .llama3)
    }

    func testMalformedTokenizerJSONFailsClearly() throws {
        assertJSONFails(Data("{\"model\": ".utf8), mentioning: "not valid JSON")
        assertJSONFails(Data("[1, 2]".utf8), mentioning: "top level is not a JSON object")
        assertJSONFails(editing { $0["model"] = nil }, mentioning: "no \"model\" object")
        assertJSONFails(editing { $0["model"] = ["type": "WordPiece", "vocab": ["a": 0]] },
                        mentioning: "model type \"WordPiece\" is not supported")
        assertJSONFails(editing { $0["model"] = self.model(["vocab": ["a": "zero"]]) },
                        mentioning: "model.vocab[\"a\"] is not a non-negative integer id")
        assertJSONFails(editing { $0["model"] = self.model(["merges": ["l o", 7]]) },
                        mentioning: "model.merges[1] is neither")
        assertJSONFails(editing { $0["model"] = self.model(["byte_fallback": true]) }, mentioning: "byte_fallback")
        assertJSONFails(editing { $0["model"] = self.model(["continuing_subword_prefix": "##"]) },
                        mentioning: "continuing_subword_prefix")
        assertJSONFails(editing { $0["added_tokens"] = [["id": 300, "content": "<x>", "special": true]] },
                        mentioning: "no token in model.vocab or added_tokens has id 263")
        assertJSONFails(editing { $0["added_tokens"] = [["id": 263, "content": "<x>", "lstrip": true]] },
                        mentioning: "sets lstrip")
        assertJSONFails(editing { $0["normalizer"] = ["type": "Lowercase"] }, mentioning: "normalizer \"Lowercase\"")
        assertJSONFails(editing { $0["pre_tokenizer"] = ["type": "Whitespace"] },
                        mentioning: "pre_tokenizer \"Whitespace\" is not supported")
        assertJSONFails(editing { $0["pre_tokenizer"] = ["type": "ByteLevel", "use_regex": false] },
                        mentioning: "pre_tokenizer \"ByteLevel\" (use_regex false) is not supported")
        assertJSONFails(editing { $0["pre_tokenizer"] = ["type": "Sequence", "pretokenizers": [
            ["type": "Split", "pattern": ["Regex": "\\w+"], "behavior": "Isolated", "invert": false],
            ["type": "ByteLevel", "use_regex": false],
        ]] }, mentioning: "the Split pattern \"\\w+\" is none of the known")
        assertJSONFails(editing { $0["decoder"] = ["type": "WordPiece"] }, mentioning: "decoder \"WordPiece\"")
    }

    func testErrorsNameTheFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-tokenizer-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("tokenizer.json")
        try Data("{\"model\": {\"type\": \"Unigram\"}}".utf8).write(to: file)

        XCTAssertThrowsError(try BPETokenizer(contentsOf: file)) { error in
            XCTAssertEqual(error as? TokenizerError,
                           TokenizerError(source: file.path, reason: "model type \"Unigram\" is not supported; only BPE is"))
            XCTAssertTrue("\(error)".contains(file.path))
        }
        let missing = directory.appendingPathComponent("absent.json")
        XCTAssertThrowsError(try BPETokenizer(contentsOf: missing)) { error in
            XCTAssertEqual((error as? TokenizerError)?.source, missing.path)
            XCTAssertTrue("\(error)".contains("cannot read the file"), "\(error)")
        }
    }

    // MARK: Helpers

    /// A valid tokenizer.json over the hand-made vocabulary (byte tokens, "lo", "low"; "<|end|>" added).
    private func minimalJSON() -> [String: Any] {
        [
            "version": "1.0",
            "added_tokens": [["id": 263, "content": "<|end|>", "special": true,
                              "lstrip": false, "rstrip": false, "single_word": false, "normalized": false]],
            "normalizer": NSNull(),
            "pre_tokenizer": ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true],
            "post_processor": NSNull(),
            "decoder": ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true],
            "model": model([:]),
        ]
    }

    private func model(_ changes: [String: Any]) -> [String: Any] {
        var vocab: [String: Int] = [:]
        for (id, token) in (Self.byteTokens + Self.extraTokens.prefix(7)).enumerated() { vocab[token] = id }
        let model: [String: Any] = ["type": "BPE", "dropout": NSNull(), "unk_token": NSNull(),
                                    "continuing_subword_prefix": "", "end_of_word_suffix": "", "fuse_unk": false,
                                    "byte_fallback": false, "vocab": vocab, "merges": Array(Self.merges.prefix(3))]
        return model.merging(changes) { $1 }
    }

    private func editing(_ edit: (inout [String: Any]) -> Void) -> Data {
        var json = minimalJSON()
        edit(&json)
        do { return try JSONSerialization.data(withJSONObject: json) } catch {
            XCTFail("cannot serialize the edited tokenizer.json: \(error)")
            return Data()
        }
    }

    private func assertJSONFails(_ data: Data, mentioning expected: String, line: UInt = #line) {
        assertFails(try BPETokenizer(tokenizerJSON: data, source: "bad/tokenizer.json"), mentioning: expected, line: line)
        XCTAssertThrowsError(try BPETokenizer(tokenizerJSON: data, source: "bad/tokenizer.json"), line: line) { error in
            XCTAssertEqual((error as? TokenizerError)?.source, "bad/tokenizer.json", line: line)
        }
    }

    private func assertFails(_ make: @autoclosure () throws -> BPETokenizer, mentioning expected: String, line: UInt = #line) {
        XCTAssertThrowsError(try make(), line: line) { error in
            XCTAssertTrue(error is TokenizerError, "\(error)", line: line)
            XCTAssertTrue("\(error)".contains(expected), "«\(error)» should mention «\(expected)»", line: line)
        }
    }
}
