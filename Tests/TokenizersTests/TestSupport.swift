import Foundation
import TestSupport
import Tokenizers

/// The reference ids in Fixtures/whisper_golden.json (see scripts/goldens/make_tokenizer_fixture.py).
struct WhisperGolden: Decodable {
    struct Case: Decodable {
        var text: String
        var ids: [Int]
        var decoded: String
        var decodedSkipSpecial: String
        var idsLiteralSpecial: [Int]
        var splits: [String: [String]]
    }

    struct Variant: Decodable {
        var name: String
        var preTokenizer: String
        var addPrefixSpace: Bool
        var nfc: Bool
        var ignoreMerges: Bool
        var ids: [[Int]]
    }

    var tokenizersVersion: String
    var tokenizerJsonSha256: String
    var cases: [Case]
    var variants: [Variant]

    static func load() throws -> WhisperGolden {
        guard let url = Bundle.module.url(forResource: "whisper_golden", withExtension: "json", subdirectory: "Fixtures")
        else { throw TestSetupError("Fixtures/whisper_golden.json is not in the test bundle") }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(WhisperGolden.self, from: Data(contentsOf: url))
    }
}

struct TestSetupError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The installed Whisper tiny.en tokenizer.json: `$HEARTH_MODELS/whisper-tiny.en/tokenizer.json`,
/// with HEARTH_MODELS defaulting to ~/.cache/hearth/models.
enum InstalledWhisperTokenizer {
    static var url: URL {
        TestPaths.installedModels.appendingPathComponent("whisper-tiny.en/tokenizer.json")
    }

    /// The file's content; throws (failing the test, never skipping it) when the model is not installed.
    static func data() throws -> Data {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw TestSetupError("missing \(url.path): run `make test-models` to install the test models")
        }
        return try Data(contentsOf: url)
    }

    static func load() throws -> BPETokenizer {
        try BPETokenizer(tokenizerJSON: data(), source: url.path)
    }
}

/// GPT-2's byte → character mapping, derived independently of the module for the hand-made tests.
func byteLevelSpelling(_ bytes: [UInt8]) -> String {
    var unprintable: [UInt8] = []
    for byte in 0...255 where !((0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)) {
        unprintable.append(UInt8(byte))
    }
    return String(String.UnicodeScalarView(bytes.map { byte in
        if let index = unprintable.firstIndex(of: byte) { return Unicode.Scalar(256 + UInt32(index))! }
        return Unicode.Scalar(byte)
    }))
}
