import Foundation
import Tokenizers
import XCTest

/// Parity with Hugging Face `tokenizers` on Whisper tiny.en's real tokenizer.json.
final class WhisperGoldenTests: XCTestCase {
    func testEncodeMatchesReference() throws {
        let tokenizer = try InstalledWhisperTokenizer.load()
        let golden = try WhisperGolden.load()
        XCTAssertGreaterThanOrEqual(golden.cases.count, 40)
        for golden in golden.cases {
            XCTAssertEqual(tokenizer.encode(golden.text), golden.ids, "text: \(golden.text.debugDescription)")
        }
    }

    func testSpecialTokenTextEncodesLiterallyOnRequest() throws {
        let tokenizer = try InstalledWhisperTokenizer.load()
        for golden in try WhisperGolden.load().cases {
            XCTAssertEqual(tokenizer.encode(golden.text, recognizeSpecialTokens: false), golden.idsLiteralSpecial,
                           "text: \(golden.text.debugDescription)")
        }
    }

    func testDecodeMatchesReferenceAndRoundTrips() throws {
        let tokenizer = try InstalledWhisperTokenizer.load()
        for golden in try WhisperGolden.load().cases {
            XCTAssertEqual(tokenizer.decode(golden.ids), golden.decoded)
            XCTAssertEqual(tokenizer.decode(golden.ids), golden.text)
            XCTAssertEqual(tokenizer.decode(golden.ids, skipSpecial: true), golden.decodedSkipSpecial)
        }
    }

    func testLookup() throws {
        let tokenizer = try InstalledWhisperTokenizer.load()
        XCTAssertEqual(tokenizer.vocabularySize, 50_363)
        XCTAssertEqual(tokenizer.id(of: "<|endoftext|>"), 50_256)
        XCTAssertEqual(tokenizer.id(of: "<|startoftranscript|>"), 50_257)
        XCTAssertEqual(tokenizer.id(of: "<|notimestamps|>"), 50_362)
        XCTAssertNil(tokenizer.id(of: "<|no such token|>"))
        XCTAssertTrue(tokenizer.isSpecial(50_257))
        XCTAssertEqual(tokenizer.kind(of: 50_257), .control)

        let the = try XCTUnwrap(tokenizer.id(of: "Ġthe"))
        XCTAssertFalse(tokenizer.isSpecial(the))
        XCTAssertEqual(tokenizer.kind(of: the), .normal)
        XCTAssertEqual(tokenizer.token(the), "Ġthe")
        XCTAssertEqual(tokenizer.tokenBytes(the), Array(" the".utf8))
        XCTAssertEqual(tokenizer.tokenBytes(50_257), Array("<|startoftranscript|>".utf8))

        // Whisper's timestamp ids lie past tokenizer.json's vocabulary: no token, no text, no crash.
        XCTAssertNil(tokenizer.token(50_364))
        XCTAssertNil(tokenizer.kind(of: -1))
        XCTAssertFalse(tokenizer.isSpecial(50_364))
        XCTAssertEqual(tokenizer.tokenBytes(50_364), [])
        XCTAssertEqual(tokenizer.decode([50_364, the, 50_365]), " the")
    }

    /// The same vocabulary with the other pre-tokenizers and options, as `tokenizer.json` spells them.
    func testVariantsMatchReference() throws {
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: InstalledWhisperTokenizer.data()) as? [String: Any])
        let golden = try WhisperGolden.load()
        for variant in golden.variants {
            let expectedPreTokenizer = try XCTUnwrap(PreTokenizer.allCases.first { "\($0)" == variant.preTokenizer })
            let edited = try JSONSerialization.data(withJSONObject: editedTokenizerJSON(json, variant: variant, preTokenizer: expectedPreTokenizer))
            let tokenizer = try BPETokenizer(tokenizerJSON: edited, source: variant.name)
            XCTAssertEqual(tokenizer.preTokenizer, expectedPreTokenizer, variant.name)
            XCTAssertEqual(tokenizer.addsPrefixSpace, variant.addPrefixSpace, variant.name)
            XCTAssertEqual(tokenizer.normalizesToNFC, variant.nfc, variant.name)
            XCTAssertEqual(tokenizer.ignoresMerges, variant.ignoreMerges, variant.name)
            for (golden, ids) in zip(golden.cases, variant.ids) {
                XCTAssertEqual(tokenizer.encode(golden.text), ids, "\(variant.name), text: \(golden.text.debugDescription)")
            }
        }
    }

    /// The GGUF-style initializer, fed the same vocabulary as arrays, agrees with the JSON loader.
    func testArrayInitializerMatchesJSONLoader() throws {
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: InstalledWhisperTokenizer.data()) as? [String: Any])
        let model = try XCTUnwrap(json["model"] as? [String: Any])
        let vocab = try XCTUnwrap(model["vocab"] as? [String: Int])
        let addedTokens = try XCTUnwrap(json["added_tokens"] as? [[String: Any]])
        var tokens = [String](repeating: "", count: 50_363)
        var kinds = [TokenKind](repeating: .normal, count: 50_363)
        for (token, id) in vocab { tokens[id] = token }
        for added in addedTokens {
            let id = try XCTUnwrap(added["id"] as? Int)
            tokens[id] = try XCTUnwrap(added["content"] as? String)
            kinds[id] = .control
        }
        let merges = try XCTUnwrap(model["merges"] as? [String])
        let tokenizer = try BPETokenizer(tokens: tokens, kinds: kinds, merges: merges, preTokenizer: .gpt2)
        XCTAssertEqual(tokenizer.vocabularySize, 50_363)
        for golden in try WhisperGolden.load().cases {
            XCTAssertEqual(tokenizer.encode(golden.text), golden.ids, "text: \(golden.text.debugDescription)")
            XCTAssertEqual(tokenizer.decode(golden.ids, skipSpecial: true), golden.decodedSkipSpecial)
        }
    }

    func testIncrementalDecodingOfCharactersSplitAcrossTokens() throws {
        let tokenizer = try InstalledWhisperTokenizer.load()
        let text = "日本語のテキスト 😀👍🏽 Größe"
        let ids = tokenizer.encode(text)
        let partialTokens = ids.filter { String(bytes: tokenizer.tokenBytes($0), encoding: .utf8) == nil }
        XCTAssertFalse(partialTokens.isEmpty, "the text should contain characters split across tokens")

        var decoder = IncrementalDecoder(tokenizer: tokenizer)
        var pieces: [String] = []
        for id in ids { pieces.append(decoder.append(id)) }
        pieces.append(decoder.finish())
        XCTAssertEqual(pieces.joined(), text)
        XCTAssertFalse(pieces.contains { $0.contains("\u{FFFD}") }, "pieces: \(pieces)")
        XCTAssertTrue(pieces.contains(""), "some tokens should be held back until their character completes")

        for golden in try WhisperGolden.load().cases {
            var decoder = IncrementalDecoder(tokenizer: tokenizer, skipSpecial: true)
            let streamed = golden.ids.map { decoder.append($0) }.joined() + decoder.finish()
            XCTAssertEqual(streamed, golden.decodedSkipSpecial)
        }
    }

    /// The edit scripts/goldens/make_tokenizer_fixture.py makes before encoding with Hugging Face tokenizers.
    private func editedTokenizerJSON(_ json: [String: Any], variant: WhisperGolden.Variant,
                                     preTokenizer: PreTokenizer) -> [String: Any] {
        var json = json
        var model = json["model"] as? [String: Any] ?? [:]
        model["ignore_merges"] = variant.ignoreMerges
        json["model"] = model
        json["normalizer"] = variant.nfc ? ["type": "NFC"] : NSNull()
        var byteLevel: [String: Any] = ["type": "ByteLevel", "add_prefix_space": variant.addPrefixSpace,
                                        "trim_offsets": true, "use_regex": true]
        switch preTokenizer {
        case .gpt2:
            json["pre_tokenizer"] = byteLevel
        case .smolLM:
            let digits: [String: Any] = ["type": "Digits", "individual_digits": true]
            json["pre_tokenizer"] = ["type": "Sequence", "pretokenizers": [digits, byteLevel]]
        case .llama3, .qwen2:
            let split: [String: Any] = ["type": "Split", "pattern": ["Regex": preTokenizer.patterns[0]],
                                        "behavior": "Isolated", "invert": false]
            byteLevel["use_regex"] = false
            json["pre_tokenizer"] = ["type": "Sequence", "pretokenizers": [split, byteLevel]]
        }
        return json
    }
}
