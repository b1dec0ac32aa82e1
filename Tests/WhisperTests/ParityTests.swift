import Foundation
import Media
import Models
import ModelStore
import Tensors
import XCTest

/// Parity with CTranslate2 / faster-whisper 1.2.1 on the same float16 checkpoint
/// (goldens made by scripts/goldens/make_whisper_goldens.py; see Fixtures/README.md).
final class ParityTests: XCTestCase {
    func testEncoderMatchesCTranslate2() throws {
        let t = try TestEnv.transcriber()
        let input = try Data(contentsOf: TestEnv.fixtures.appendingPathComponent("encoder_input_jfk.f16"))
        let expected = try Data(contentsOf: TestEnv.fixtures.appendingPathComponent("encoder_output_jfk_every10.f32"))
        let mel = Tensor(zeros: [1, 80, 3000])
        input.withUnsafeBytes { raw in convertToFloat32(dtype: .float16, from: raw.baseAddress!, to: mel.data, count: 80 * 3000) }
        let encoded = mel.withData { t.model.encode(mel: $0, windows: 1) }   // (1, 1500, 384)
        XCTAssertEqual(encoded.shape, [1, 1500, 384])
        var maxDiff: Float = 0, sumDiff: Float = 0
        expected.withUnsafeBytes { raw in
            let ref = raw.bindMemory(to: Float.self)
            for frame in 0..<150 {
                for c in 0..<384 {
                    let d = abs(encoded.data[frame * 10 * 384 + c] - ref[frame * 384 + c])
                    maxDiff = max(maxDiff, d); sumDiff += d
                }
            }
        }
        print("encoder parity vs CTranslate2 float32: max |Δ| \(maxDiff), mean |Δ| \(sumDiff / Float(150 * 384))")
        // CT2 float32 vs an independent float64 encoder differs by 2.8e-5 (goldens.json); allow a little more.
        XCTAssertLessThan(maxDiff, 1e-3)
        XCTAssertLessThan(sumDiff / Float(150 * 384), 1e-5)
    }

    func testGreedyTokensMatchFasterWhisperOnJFK() throws {
        try checkTokens(fixture: "greedy_jfk.json", path: TestEnv.samples.appendingPathComponent("jfk.wav").path, options: TestEnv.greedy())
    }

    func testGreedyTokensMatchFasterWhisperOnSpeechClip() throws {
        try checkTokens(fixture: "greedy_espeak.json", path: TestEnv.samples.appendingPathComponent("speech_espeak.flac").path,
                        options: TestEnv.greedy())
    }

    func testBeam5TokensMatchFasterWhisper() throws {
        var o = TestEnv.greedy()
        o.beamSize = 5
        try checkTokens(fixture: "beam5_jfk.json", path: TestEnv.samples.appendingPathComponent("jfk.wav").path, options: o)
        try checkTokens(fixture: "beam5_espeak.json", path: TestEnv.samples.appendingPathComponent("speech_espeak.flac").path, options: o)
    }

    /// Seven windows with previous-text prompts (including the 223-token cap) on a generated 3-minute clip.
    func testGreedyLongFormMatchesFasterWhisperWindowByWindow() throws {
        let path = try TestEnv.testClip("longform.wav")
        let golden = try TestEnv.json("greedy_longform.json")
        let audio = golden["audio"] as! [String: Any]
        let actualHash = try SHA256.hex(of: URL(fileURLWithPath: path))
        try XCTSkipIf(actualHash != audio["sha256"] as! String,
                      "longform.wav differs from the golden's (another espeak-ng/sox build); window parity not comparable")
        try checkTokens(fixture: "greedy_longform.json", path: path, options: TestEnv.greedy())
    }

    func testJFKExactText() throws {
        let path = TestEnv.samples.appendingPathComponent("jfk.wav").path
        let greedy = try TestEnv.transcribe(path, TestEnv.greedy())
        XCTAssertEqual(greedy.text.trimmingCharacters(in: .whitespaces),
                       "And so my fellow Americans ask not what your country can do for you ask what you can do for your country")
        let beam = try TestEnv.transcribe(path, TranscriptionOptions())   // defaults: beam 5 with fallback
        XCTAssertEqual(beam.text.trimmingCharacters(in: .whitespaces),
                       "And so, my fellow Americans ask not what your country can do for you ask what you can do for your country.")
        XCTAssertEqual(beam.segments.map(\.start), [0, 8])
        XCTAssertEqual(beam.segments.map(\.end), [8, 11])
    }

    func checkTokens(fixture: String, path: String, options: TranscriptionOptions, file: StaticString = #filePath, line: UInt = #line) throws {
        let golden = try TestEnv.json(fixture)
        let transcript = try TestEnv.transcribe(path, options)
        let windows = (golden["windows"] as! [[String: Any]]).filter { !($0["skipped_as_no_speech"] as? Bool ?? false) }
        let expected = windows.map { $0["tokens"] as! [Int] }
        XCTAssertEqual(transcript.windows.count, (golden["windows"] as! [[String: Any]]).count, "\(fixture): window count", file: file, line: line)
        for (i, tokens) in expected.enumerated() where i < transcript.windows.count {
            XCTAssertEqual(transcript.windows[i], tokens, "\(fixture): window \(i) tokens", file: file, line: line)
        }
        let segments = golden["segments"] as! [[String: Any]]
        XCTAssertEqual(transcript.segments.count, segments.count, "\(fixture): segment count", file: file, line: line)
        for (s, g) in zip(transcript.segments, segments) {
            XCTAssertEqual(s.text, g["text"] as! String, file: file, line: line)
            XCTAssertEqual(s.start, g["start"] as! Double, accuracy: 1e-6, file: file, line: line)
            XCTAssertEqual(s.end, g["end"] as! Double, accuracy: 1e-6, file: file, line: line)
            XCTAssertEqual(s.avgLogprob, Float(g["avg_logprob"] as! Double), accuracy: 2e-3, file: file, line: line)
            XCTAssertEqual(s.noSpeechProb, Float(g["no_speech_prob"] as! Double), accuracy: 2e-3, file: file, line: line)
        }
    }
}
