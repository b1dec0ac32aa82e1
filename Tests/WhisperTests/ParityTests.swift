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

    /// Five windows with previous-text prompts (up to the 223-token cap) on a 143 s clip made only
    /// from committed samples (jfk.wav, speech_espeak.flac and silences, the golden's `recipe`), so it
    /// runs on every machine: the rebuilt samples must hash as the golden's did.
    func testGreedyLongFormFromSamplesMatchesFasterWhisper() throws {
        let golden = try TestEnv.json("greedy_samples_longform.json")
        let audio = try XCTUnwrap(golden["audio"] as? [String: Any])
        var samples: [Float] = []
        for step in try XCTUnwrap(audio["recipe"] as? [[String: Any]]) {
            if let name = step["file"] as? String {
                samples += try AudioDecoder.decodeMono16k(path: TestEnv.samples.appendingPathComponent(name).path)
            } else {
                let seconds = try XCTUnwrap(step["silence"] as? Double, "recipe step \(step)")
                samples += [Float](repeating: 0, count: Int((seconds * 16000).rounded()))
            }
        }
        XCTAssertEqual(samples.count, audio["samples"] as? Int)
        let bytes = samples.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
        XCTAssertEqual(SHA256.hex(bytes), audio["samples_float32_sha256"] as? String, "the rebuilt clip differs from the golden's samples")
        try checkTokens(fixture: "greedy_samples_longform.json", path: "samples_longform", options: TestEnv.greedy(), samples: samples)
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

    /// Window tokens, segments and their scores vs the golden; `samples` (16 kHz) instead of the file at `path` when given.
    func checkTokens(fixture: String, path: String, options: TranscriptionOptions, samples: [Float]? = nil,
                     file: StaticString = #filePath, line: UInt = #line) throws {
        let golden = try TestEnv.json(fixture)
        let transcript: Transcript
        if let samples {
            let mel = LogMelSpectrogram(samples: samples)
            transcript = try TestEnv.transcriber().transcribe(count: 1, load: { _ in mel }, options: options)[0].get()
        } else {
            transcript = try TestEnv.transcribe(path, options)
        }
        let windows = (golden["windows"] as! [[String: Any]]).filter { !($0["skipped_as_no_speech"] as? Bool ?? false) }
        let expected = windows.map { $0["tokens"] as! [Int] }
        XCTAssertEqual(transcript.windows.count, (golden["windows"] as! [[String: Any]]).count, "\(fixture): window count", file: file, line: line)
        for (i, tokens) in expected.enumerated() where i < transcript.windows.count {
            XCTAssertEqual(transcript.windows[i], tokens, "\(fixture): window \(i) tokens", file: file, line: line)
        }
        let segments = golden["segments"] as! [[String: Any]]
        XCTAssertEqual(transcript.segments.count, segments.count, "\(fixture): segment count", file: file, line: line)
        var worstLogprob: Float = 0, worstNoSpeech: Float = 0
        for (s, g) in zip(transcript.segments, segments) {
            XCTAssertEqual(s.text, g["text"] as! String, file: file, line: line)
            XCTAssertEqual(s.start, g["start"] as! Double, accuracy: 1e-6, file: file, line: line)
            XCTAssertEqual(s.end, g["end"] as! Double, accuracy: 1e-6, file: file, line: line)
            worstLogprob = max(worstLogprob, abs(s.avgLogprob - Float(g["avg_logprob"] as! Double)))
            worstNoSpeech = max(worstNoSpeech, abs(s.noSpeechProb - Float(g["no_speech_prob"] as! Double)))
        }
        print("\(fixture): \(transcript.windows.count) windows, \(segments.count) segments; max |Δ| avg_logprob \(worstLogprob), no_speech_prob \(worstNoSpeech)")
        XCTAssertLessThanOrEqual(worstLogprob, Self.avgLogprobTolerance, "\(fixture): avg_logprob", file: file, line: line)
        XCTAssertLessThanOrEqual(worstNoSpeech, Self.noSpeechTolerance, "\(fixture): no_speech_prob", file: file, line: line)
    }

    /// Segment scores vs faster-whisper, ≤ 10 × the max |Δ| measured over the 7 fixtures (2026-12-04):
    /// avg_logprob 1.2e-4 (greedy_longform.json), no_speech_prob 1.5e-6.
    static let avgLogprobTolerance: Float = 1e-3
    static let noSpeechTolerance: Float = 1e-5
}
