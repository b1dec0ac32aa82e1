import Foundation
import Media
import Models
import ModelStore
import TestSupport
import XCTest

/// Shared handles for the Whisper tests: real installed models (made by `make test-models`),
/// committed goldens, and the clips `scripts/data/make_test_audio.sh` generates into .build/testdata.
enum TestEnv {
    static let samples = TestPaths.samples
    static let fixtures = Bundle.module.resourceURL!.appendingPathComponent("Fixtures")
    static var testData: URL { TestPaths.testData }

    static func modelDirectory(_ name: String) throws -> URL {
        do { return try ModelStore().resolve(name).directory } catch {
            XCTFail("model \(name) is not installed (\(error)); run `make test-models`")
            throw error
        }
    }

    nonisolated(unsafe) private static var cache: [String: WhisperTranscriber] = [:]
    static func transcriber(_ name: String = "whisper-tiny.en") throws -> WhisperTranscriber {
        if let t = cache[name] { return t }
        let t = try WhisperTranscriber.load(directory: try modelDirectory(name))
        cache[name] = t
        return t
    }

    static func testClip(_ name: String) throws -> String {
        let url = testData.appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: url.path) else {
            XCTFail("\(url.path) is missing: run `bash scripts/data/make_test_audio.sh \(testData.path)` (make test does)")
            throw CocoaError(.fileNoSuchFile)
        }
        return url.path
    }

    static func json(_ fixture: String) throws -> [String: Any] {
        let data = try Data(contentsOf: fixtures.appendingPathComponent(fixture))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    static func greedy() -> TranscriptionOptions {
        var o = TranscriptionOptions()
        o.beamSize = 1
        o.bestOf = 1
        o.temperatures = [0]
        o.language = "en"
        return o
    }

    static func transcribe(_ path: String, _ options: TranscriptionOptions, model: String = "whisper-tiny.en") throws -> Transcript {
        let t = try transcriber(model)
        return try t.transcribe(count: 1, load: { _ in try LogMelSpectrogram.load(path: path, nMels: t.model.dimensions.melBins) },
                                options: options)[0].get()
    }

    /// Lowercase words without punctuation.
    static func words(_ text: String) -> [String] {
        text.lowercased().split { !($0.isLetter || $0.isNumber || $0 == "'") }.map(String.init)
    }
}
