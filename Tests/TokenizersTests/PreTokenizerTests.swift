import Tokenizers
import XCTest

/// The hand-written split patterns against Hugging Face's Oniguruma `Split` on the golden texts.
final class PreTokenizerTests: XCTestCase {
    func testSplitsMatchReference() throws {
        for golden in try WhisperGolden.load().cases {
            for preTokenizer in PreTokenizer.allCases {
                let expected = try XCTUnwrap(golden.splits["\(preTokenizer)"], "no \(preTokenizer) splits in the fixture")
                XCTAssertEqual(preTokenizer.split(golden.text), expected,
                               "\(preTokenizer), text: \(golden.text.debugDescription)")
            }
        }
    }

    func testPatternSpecifics() {
        XCTAssertEqual(PreTokenizer.gpt2.split("I'M here, it's 12345!"),
                       ["I", "'", "M", " here", ",", " it", "'s", " 12345", "!"])
        XCTAssertEqual(PreTokenizer.llama3.split("I'M here, it's 12345!"),
                       ["I", "'M", " here", ",", " it", "'s", " ", "123", "45", "!"])
        XCTAssertEqual(PreTokenizer.qwen2.split("12345\n\n  x"),
                       ["1", "2", "3", "4", "5", "\n\n", " ", " x"])
        XCTAssertEqual(PreTokenizer.smolLM.split("a  12b, 2024\n"),
                       ["a", "  ", "1", "2", "b", ",", " ", "2", "0", "2", "4", "\n"])
        XCTAssertEqual(PreTokenizer.gpt2.split(""), [])
    }
}
