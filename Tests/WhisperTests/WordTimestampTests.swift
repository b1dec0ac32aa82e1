import Foundation
import Media
import Models
import XCTest

/// Word timestamps against faster-whisper 1.2.1 (word_timestamps=True, compute_type float32) on the
/// same CTranslate2 whisper-tiny.en files; goldens by scripts/goldens/make_word_goldens.py.
final class WordTimestampTests: XCTestCase {
    /// Measured on these five runs (449 words): every word start/end and segment bound identical to
    /// faster-whisper's (max |Δ| 5.7e-14 s, float formatting). Word times are multiples of one
    /// encoder frame (0.02 s) before the heuristics, so a disagreement would be ≥ 0.02 s: the test
    /// asks for identity, tighter than the 0.02 s.
    static let timeTolerance = 1e-6
    /// Mean token probabilities: measured max |Δ| 3.2e-5 (float32 softmax over 50 257 logits,
    /// summed in another order); 2e-4 is ~6× that.
    static let probabilityTolerance = 2e-4

    func testGreedyJFK() throws { try check("words_greedy_jfk.json", TestEnv.samples.appendingPathComponent("jfk.wav").path, beam: 1) }
    func testGreedySpeechClip() throws {
        try check("words_greedy_espeak.json", TestEnv.samples.appendingPathComponent("speech_espeak.flac").path, beam: 1)
    }
    func testBeam5JFK() throws { try check("words_beam5_jfk.json", TestEnv.samples.appendingPathComponent("jfk.wav").path, beam: 5) }
    func testBeam5SpeechClip() throws {
        try check("words_beam5_espeak.json", TestEnv.samples.appendingPathComponent("speech_espeak.flac").path, beam: 5)
    }
    /// Seven windows: the seek after each window follows the last word (faster-whisper), so the
    /// windows themselves depend on the word times.
    func testGreedyLongForm() throws {
        let path = try TestEnv.testClip("longform.wav")
        let golden = try TestEnv.json("words_greedy_longform.json")
        try XCTSkipIf(try fileSHA256(path) != golden["audio_sha256"] as! String,
                      "longform.wav differs from the golden's (another espeak-ng/sox build)")
        try check("words_greedy_longform.json", path, beam: 1)
    }

    func check(_ fixture: String, _ path: String, beam: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let golden = try TestEnv.json(fixture)
        var options = TestEnv.greedy()
        options.beamSize = beam
        options.bestOf = beam == 1 ? 1 : 5
        options.wordTimestamps = true
        let transcript = try TestEnv.transcribe(path, options)
        let segments = golden["segments"] as! [[String: Any]]
        XCTAssertEqual(transcript.segments.map(\.text), segments.map { $0["text"] as! String }, "\(fixture): segment texts",
                       file: file, line: line)
        let expected = segments.flatMap { $0["words"] as! [[String: Any]] }
        let actual = transcript.segments.flatMap { $0.words ?? [] }
        XCTAssertEqual(actual.map(\.word), expected.map { $0["word"] as! String }, "\(fixture): word texts", file: file, line: line)
        var maxTime = 0.0, maxProbability = 0.0, off = 0
        for (a, e) in zip(actual, expected) {
            let dt = max(abs(a.start - (e["start"] as! Double)), abs(a.end - (e["end"] as! Double)))
            if dt > 1e-9 { off += 1 }
            maxTime = max(maxTime, dt)
            maxProbability = max(maxProbability, abs(a.probability - (e["probability"] as! Double)))
        }
        var maxSegment = 0.0
        for (a, e) in zip(transcript.segments, segments) {
            maxSegment = max(maxSegment, abs(a.start - (e["start"] as! Double)), abs(a.end - (e["end"] as! Double)))
        }
        print("\(fixture): \(actual.count) words, max |Δt| \(maxTime) s (\(off) words off), max |Δp| \(maxProbability), "
              + "segment bounds max |Δ| \(maxSegment) s")
        XCTAssertLessThanOrEqual(maxTime, Self.timeTolerance, "\(fixture): word times", file: file, line: line)
        XCTAssertLessThanOrEqual(maxSegment, Self.timeTolerance, "\(fixture): segment bounds", file: file, line: line)
        XCTAssertLessThanOrEqual(maxProbability, Self.probabilityTolerance, "\(fixture): word probabilities", file: file, line: line)
    }
}

func fileSHA256(_ path: String) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
    p.arguments = [path]
    let pipe = Pipe()
    p.standardOutput = pipe
    try p.run()
    p.waitUntilExit()
    return String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: " ").first.map(String.init) ?? ""
}
