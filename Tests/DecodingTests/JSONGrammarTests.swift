import Decoding
import Foundation
import Tensors
import XCTest

/// The schema automaton over tricky texts, schema refusals with positions, token-mask
/// correctness (exhaustive over a toy vocabulary) and constrained search that always conforms.
final class JSONGrammarTests: XCTestCase {
    static let record = """
    {"type": "object", "properties": {"speaker": {"type": "string"}, "topics": {"type": "array", "items": {"type": "string"}},
     "mentions_date": {"type": "boolean"}}, "required": ["speaker", "topics", "mentions_date"]}
    """

    func grammar(_ schema: String) throws -> JSONGrammar { JSONGrammar(try JSONSchema(json: schema)) }

    func check(_ g: JSONGrammar, accepts good: [String], rejects bad: [String], file: StaticString = #filePath, line: UInt = #line) {
        for text in good { XCTAssertTrue(g.accepts(Array(text.utf8)), "should accept \(text)", file: file, line: line) }
        for text in bad { XCTAssertFalse(g.accepts(Array(text.utf8)), "should reject \(text)", file: file, line: line) }
    }

    func testStringsEscapesAndUnicode() throws {
        let g = try grammar(#"{"type": "string"}"#)
        check(g, accepts: [#""""#, #""a\"b""#, #""back\\slash \/ \b\f\n\r\t""#, #""\u00e9\u20AC""#, "\"é€😀 ünïcödé\"", #""\uFFFF""#],
              rejects: ["\"a", "\"tab\there\"", #""\x""#, #""\u12""#, #""\uD800""#, #""\udfff""#, "\"a\" ", " \"a\"", "'a'"])
        // Invalid UTF-8 inside a string: overlong, surrogate range, truncated, stray continuation.
        for bytes: [UInt8] in [[0x22, 0xC0, 0x80, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xE2, 0x82, 0x22], [0x22, 0x80, 0x22],
                               [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], [0x22, 0xF5, 0x80, 0x80, 0x80, 0x22]] {
            XCTAssertFalse(g.accepts(bytes), "should reject \(bytes)")
        }
        XCTAssertTrue(g.accepts([0x22, 0xF0, 0x9F, 0x98, 0x80, 0x22]))
        let bounded = try grammar(#"{"type": "string", "minLength": 2, "maxLength": 3}"#)
        check(bounded, accepts: [#""ab""#, #""abc""#, "\"é😀\"", #""\n\u0041b""#], rejects: [#""a""#, #""abcd""#, "\"éééé\""])
    }

    func testNumbers() throws {
        let number = try grammar(#"{"type": "number"}"#)
        check(number, accepts: ["0", "-0", "12", "12.5", "-0.25e-3", "1E5", "6.02e+23", "1234567890123456"],
              rejects: ["01", "1.", "-", ".5", "+1", "1e", "1e+", "--1", "12345678901234567", "1.5.2", "0x10", "NaN"])
        let integer = try grammar(#"{"type": "integer"}"#)
        check(integer, accepts: ["0", "-7", "42"], rejects: ["1.0", "1e5", "-", "00"])
    }

    func testNestedArraysAndBounds() throws {
        let g = try grammar(#"{"type": "array", "items": {"type": "array", "items": {"type": "integer"}, "minItems": 1}, "maxItems": 2}"#)
        check(g, accepts: ["[]", "[[1]]", "[[1,2],[3]]", "[ [1, 2], [3] ]", "[[-1,0,10]]"],
              rejects: ["[[]]", "[[1],[2],[3]]", "[[1,]]", "[,]", "[[1]", "[[1]]]", "[  [1]]", "[[1.5]]"])
    }

    func testObjectsOrderWhitespaceAndRequired() throws {
        let g = try grammar(Self.record)
        check(g, accepts: [#"{"speaker":"Ann","topics":["rain","a \"quoted\" word"],"mentions_date":false}"#,
                           #"{ "speaker": "Ann", "topics": [], "mentions_date": true }"#,
                           #"{"speaker" : "Ann" , "topics" : [ "x" ] , "mentions_date" : true}"#],
              rejects: [#"{"speaker":"Ann","topics":[]}"#,                                      // missing required
                        #"{"topics":[],"speaker":"Ann","mentions_date":true}"#,                 // out of schema order
                        #"{"speaker":"Ann","topics":[],"mentions_date":true,"extra":1}"#,       // additionalProperties false
                        #"{"speaker":"Ann","topics":[],"mentions_date":"yes"}"#,                // wrong type
                        #"{"speaker":  "Ann","topics":[],"mentions_date":true}"#,               // two spaces
                        "{\n\"speaker\":\"Ann\",\"topics\":[],\"mentions_date\":true}",         // newline
                        #"{"speaker":"Ann","topics":[],"mentions_date":true} "#])               // trailing space
        let optional = try grammar(#"{"properties": {"a": {"type": "integer"}, "b": {"type": "integer"}, "c": {"type": "null"}}, "required": ["b"]}"#)
        // Required first (b), then the optional ones in schema order (a, c), each may be left out.
        check(optional, accepts: [#"{"b":1}"#, #"{"b":1,"a":2}"#, #"{"b":1,"c":null}"#, #"{"b":1,"a":2,"c":null}"#],
              rejects: ["{}", #"{"a":2,"b":1}"#, #"{"b":1,"c":null,"a":2}"#, #"{"b":1,}"#])
        let keys = try grammar(#"{"properties": {"ab": {"type": "integer"}, "a": {"type": "integer"}, "a\"b": {"const": 1}}}"#)
        check(keys, accepts: ["{}", #"{"ab":1}"#, #"{"a":1}"#, #"{"ab":1,"a":2}"#, #"{"a\"b":1}"#, #"{"ab":1,"a\"b":1}"#],
              rejects: [#"{"abc":1}"#, #"{"a\"b":2}"#, #"{"b":1}"#])
    }

    func testEnumConstChoicesAndAnyValue() throws {
        let e = try grammar(#"{"enum": ["red", "green", 1, 10, null, {"k": [true]}]}"#)
        check(e, accepts: [#""red""#, #""green""#, "1", "10", "null", #"{"k":[true]}"#], rejects: [#""blue""#, "100", "2", #""re""#, "nul"])
        let c = try grammar(#"{"properties": {"kind": {"const": "note"}, "n": {"type": ["integer", "null"]}}, "required": ["kind", "n"]}"#)
        check(c, accepts: [#"{"kind":"note","n":3}"#, #"{"kind":"note","n":null}"#], rejects: [#"{"kind":"other","n":3}"#, #"{"kind":"note","n":"3"}"#])
        let anyOf = try grammar(#"{"anyOf": [{"type": "string", "maxLength": 2}, {"type": "array", "items": {"type": "boolean"}}]}"#)
        check(anyOf, accepts: [#""ab""#, "[true,false]", "[]"], rejects: [#""abc""#, "[1]", "true"])
        let any = try grammar("{}")
        check(any, accepts: ["1", #""s""#, "[1,[2,{\"a\":null}],\"x\"]", #"{"free":{"nested":[true,false]},"n":-1.5e3}"#, "{}", "[]"],
              rejects: ["[1,]", #"{"a"}"#, #"{"a":}"#, "tru"])
        // Nesting deeper than the automaton's limit stops.
        XCTAssertFalse(any.accepts(Array((String(repeating: "[", count: 40) + String(repeating: "]", count: 40)).utf8)))
        // A free object: any keys.
        let free = try grammar(#"{"type": "object"}"#)
        check(free, accepts: [#"{"x":1,"y":[]}"#], rejects: ["[]"])
    }

    func testRefusalsCarryPositions() {
        func refusal(_ text: String) -> SchemaError? {
            do { _ = try JSONSchema(json: text); return nil } catch let e as SchemaError { return e } catch { XCTFail("\(error)"); return nil }
        }
        let pattern = refusal("{\"type\": \"object\",\n \"properties\": {\"id\": {\"type\": \"string\", \"pattern\": \"^[a-z]+$\"}}}")
        XCTAssertEqual(pattern?.line, 2)
        XCTAssertEqual(pattern?.column, 42)
        XCTAssertEqual(pattern?.path, "properties.id.pattern")
        XCTAssertTrue(pattern?.message.contains("regular expressions") ?? false)
        XCTAssertTrue(refusal(#"{"$ref": "https://example.com/s.json"}"#)?.message.contains("$ref") ?? false)
        XCTAssertTrue(refusal(#"{"type": "integer", "minimum": 0}"#)?.message.contains("numeric ranges") ?? false)
        XCTAssertTrue(refusal(#"{"type": "strin"}"#)?.message.contains("unknown type 'strin'") ?? false)
        XCTAssertTrue(refusal(#"{"anyOf": [{"type": "string"}, {"enum": ["a"]}]}"#)?.message.contains("start differently") ?? false)
        XCTAssertTrue(refusal(#"{"properties": {"a": {}}, "required": ["b"]}"#)?.message.contains("'b' is not among") ?? false)
        XCTAssertTrue(refusal(#"{"type": "string", "maxLength": -1}"#)?.message.contains("non-negative") ?? false)
        XCTAssertTrue(refusal(#"[1]"#)?.message.contains("must be an object") ?? false)
        XCTAssertThrowsError(try JSONSchema(json: "{\"type\": \"string\",\n  \"maxLength\": 3,}")) { error in
            let e = error as? JSONTextError
            XCTAssertEqual([e?.line, e?.column], [2, 18])
            XCTAssertEqual(e?.message, "expected a member name in double quotes")
        }
    }

    // MARK: Masks

    /// A toy vocabulary (~190 tokens): JSON punctuation runs, words, spaces, escapes, multi-byte characters and
    /// single bytes of split UTF-8 sequences (byte-level BPE makes those), a control token.
    static let toyTokens: [[UInt8]] = {
        var texts = ["{", "}", "[", "]", ",", ":", "\"", " ", "  ", "\n", "{\"", "\":", "\":\"", "\",\"", "\"]", "\"}", "\"],\"", ": ", ", ",
                     "speaker", "spe", "aker", "topics", "top", "ics", "mentions", "_date", "mentions_date", "true", "false", "null", "tr",
                     "ue", "fal", "se", "Ann", " Bob", "rain", "a", "b", "0", "1", "12", "-", ".", "5", "e", "E+", "\\", "\\\"", "\\n", "\\u",
                     "00e9", "D8", "é", "😀", "x\"", "\"}}", "}]", "\"x", "]}", "\":[", "\":[]", ",\"", "\":true}", "\":false}"].map { Array($0.utf8) }
        texts += [[0xC3], [0xA9], [0xF0, 0x9F], [0x98, 0x80], [0x09], []]   // split UTF-8, a tab, a control token (empty)
        // Every printable ASCII byte alone, as real byte-level vocabularies have (so no state is a dead end).
        texts += (0x20...0x7E).map { [UInt8($0)] }.filter { !texts.contains($0) }
        return texts
    }()

    func testMaskAllowsExactlyTheTokensThatKeepAPrefix() throws {
        let grammar = try self.grammar(Self.record)
        let constraint = SchemaConstraint(grammar: grammar, vocabulary: TokenVocabulary(bytes: Self.toyTokens))
        let document = Array(#"{"speaker":"Ann é😀 \"x\"","topics":["rain","12"],"mentions_date":false}"#.utf8)
        var checkedStates = 0
        for cut in 0...document.count {
            let prefix = Array(document[..<cut])
            var state = grammar.initial
            for b in prefix { XCTAssertTrue(grammar.advance(&state, b)) }
            let mask = constraint.mask(state)
            for (t, bytes) in Self.toyTokens.enumerated() {
                let keeps = !bytes.isEmpty && grammar.acceptsPrefix(prefix + bytes)
                XCTAssertEqual(mask.allows(t), keeps, "after \(String(decoding: prefix, as: UTF8.self)) token \(String(decoding: bytes, as: UTF8.self))")
            }
            XCTAssertEqual(mask.accepting, cut == document.count)
            checkedStates += 1
        }
        XCTAssertEqual(checkedStates, document.count + 1)
        XCTAssertLessThanOrEqual(constraint.cachedStates, document.count + 1)
    }

    /// Random logits over the toy vocabulary, masked: greedy and sampled outputs always conform.
    func testConstrainedSearchAlwaysConforms() throws {
        let grammar = try self.grammar(Self.record)
        let vocabulary = TokenVocabulary(bytes: Self.toyTokens + [[]])   // the last id: the end token
        let constraint = SchemaConstraint(grammar: grammar, vocabulary: vocabulary)
        let endToken = Self.toyTokens.count
        var complete = 0
        for seed in 0..<40 as Range<UInt64> {
            let model = HistoryModel(vocabularySize: vocabulary.count, slots: 1, logitsOf: hashLogits(vocab: vocabulary.count, end: endToken, salt: seed))
            var options = SearchOptions()
            options.temperature = seed % 2 == 0 ? 0 : 0.8
            options.seed = seed
            var r = SearchRequest(startToken: 0, endToken: endToken, startPosition: 0, maxSteps: 400,
                                  processors: [constraint.processor(endToken: endToken, endTokens: [endToken])], context: 0)
            r.otherEndTokens = [endToken]
            let tokens = Search.run([r], options: options, model: model)[0][0].tokens
            let bytes = tokens.flatMap { vocabulary.bytes[$0] }
            if tokens.count < 400 {
                XCTAssertTrue(grammar.accepts(bytes), "seed \(seed): \(String(decoding: bytes, as: UTF8.self))")
                XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(bytes)))
                complete += 1
            } else {
                XCTAssertTrue(grammar.acceptsPrefix(bytes))
            }
        }
        XCTAssertGreaterThan(complete, 20)
    }
}
