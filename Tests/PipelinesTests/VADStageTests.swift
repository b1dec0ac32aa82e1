import Foundation
import Media
import ModelStore
import Pipelines
import XCTest

/// `vad` stages and `vad_filter` in transcribe stages, in-process with the real silero-vad and
/// whisper-tiny.en (`make test-models`); the parities themselves are in VADTests.
final class VADStageTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        for model in [ModelCatalog.defaultVAD, ModelCatalog.defaultWhisper] {
            do { _ = try ModelStore().resolve(model) } catch { XCTFail("\(model) is not installed (\(error)); run `make test-models`"); throw error }
        }
        folder = try Fixtures.temporaryFolder(self)
    }

    func run(_ pipelineFile: URL) throws -> [ResultRecord] {
        var options = RunOptions()
        options.progress = .silent
        let runner = PipelineRunner(pipeline: try Pipeline.load(path: pipelineFile.path), options: options)
        _ = try runner.run()
        return try ResultsLog.read(runner.resultsURL).records
    }

    /// Speech regions only, and transcripts of speech only with times in the original recording;
    /// a recording without speech gives no regions and an empty transcript.
    func testVADStageAndVADFilter() throws {
        let media = folder.appendingPathComponent("audio")
        _ = try Fixtures.copy(Fixtures.sample("jfk.wav"), into: media)
        // 3 s of digital silence, then jfk: regions and segments must start after the silence
        let jfk = try AudioDecoder.decodeMono16k(path: Fixtures.sample("jfk.wav"))
        try Self.wav([Float](repeating: 0, count: 3 * 16_000) + jfk).write(to: media.appendingPathComponent("late.wav"))
        var state: UInt32 = 1   // 2 s of quiet pseudo-random noise, no speech
        let noise = (0..<(2 * 16_000)).map { _ -> Float in
            state = state &* 1_664_525 &+ 1_013_904_223
            return Float(Int32(bitPattern: state) >> 8) / Float(1 << 23) * 0.02
        }
        try Self.wav(noise).write(to: media.appendingPathComponent("noise.wav"))

        let pipeline = try Fixtures.write("""
            inputs: [audio]
            stages:
              - task: vad
              - task: transcribe
                options: {language: en, beam_size: 1, best_of: 1, temperature: 0, vad_filter: true, vad_parameters: {speech_pad_ms: 200}}
            outputs:
              directory: out
              sidecars: [srt, json]
            """, to: folder.appendingPathComponent("p.yaml"))
        let records = try run(pipeline)
        let byName = Dictionary(uniqueKeysWithValues: records.map { (URL(fileURLWithPath: $0.input).lastPathComponent, $0) })
        XCTAssertEqual(records.count, 3)
        XCTAssertTrue(records.allSatisfy { $0.status == .ok }, "\(records.map { $0.message ?? "" })")

        let plain = try XCTUnwrap(byName["jfk.wav"]?.results), late = try XCTUnwrap(byName["late.wav"]?.results)
        let regions = try XCTUnwrap(plain["vad"]?["speech"]?.arrayValue), lateRegions = try XCTUnwrap(late["vad"]?["speech"]?.arrayValue)
        XCTAssertFalse(regions.isEmpty)
        XCTAssertEqual(regions.count, lateRegions.count)
        // default speech_pad_ms 400: jfk's first region starts at 0; after 3 s of silence it starts near 3 s
        XCTAssertGreaterThan(lateRegions[0]["start"]?.doubleValue ?? 0, 2.5)
        XCTAssertEqual(late["vad"]?["duration"]?.doubleValue ?? 0, 14, accuracy: 0.001)
        let speechSeconds = try XCTUnwrap(late["vad"]?["speech_seconds"]?.doubleValue)
        XCTAssertTrue(speechSeconds > 5 && speechSeconds < 11.5, "\(speechSeconds)")

        let text = late["transcribe"]?["text"]?.stringValue ?? ""
        XCTAssertTrue(text.contains("ask not what your country can do for you"), text)
        let segments = try XCTUnwrap(late["transcribe"]?["segments"]?.arrayValue)
        XCTAssertGreaterThan(segments.first?["start"]?.doubleValue ?? 0, 2.5)   // mapped back past the silence
        XCTAssertEqual(late["transcribe"]?["duration"]?.doubleValue ?? 0, 14, accuracy: 0.001)
        XCTAssertLessThan(late["transcribe"]?["duration_after_vad"]?.doubleValue ?? 99, 12)
        let srt = try String(contentsOf: folder.appendingPathComponent("out/late.srt"), encoding: .utf8)
        XCTAssertTrue(srt.contains("00:00:0"), srt)
        let sidecar = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("out/late.vad.json"))) as? [String: Any]
        XCTAssertEqual((sidecar?["speech"] as? [[String: Double]])?.count, lateRegions.count)

        let quiet = try XCTUnwrap(byName["noise.wav"]?.results)
        XCTAssertEqual(quiet["vad"]?["speech"]?.arrayValue?.count, 0)
        XCTAssertEqual(quiet["transcribe"]?["text"]?.stringValue, "")
        XCTAssertEqual(quiet["transcribe"]?["segments"]?.arrayValue?.count, 0)
        XCTAssertEqual(quiet["transcribe"]?["duration_after_vad"]?.doubleValue, 0)
        XCTAssertEqual(byName["jfk.wav"]?.provenance.stages.last?.provenance.files?["vad/model.onnx"]?.count, 64)
    }

    /// A 16 kHz mono 16-bit WAV file of `samples`.
    static func wav(_ samples: [Float]) -> Data {
        var d = Data()
        func u32(_ v: Int) { withUnsafeBytes(of: UInt32(v).littleEndian) { d.append(contentsOf: $0) } }
        func u16(_ v: Int) { withUnsafeBytes(of: UInt16(v).littleEndian) { d.append(contentsOf: $0) } }
        d.append(contentsOf: Array("RIFF".utf8)); u32(36 + 2 * samples.count); d.append(contentsOf: Array("WAVEfmt ".utf8))
        u32(16); u16(1); u16(1); u32(16_000); u32(32_000); u16(2); u16(16)
        d.append(contentsOf: Array("data".utf8)); u32(2 * samples.count)
        for x in samples { withUnsafeBytes(of: Int16(max(-32768, min(32767, (x * 32768).rounded()))).littleEndian) { d.append(contentsOf: $0) } }
        return d
    }

    /// Bad VAD options are refused by validation, naming the key.
    func testBadVADOptionsAreRefused() throws {
        for (options, fragment) in [("{treshold: 0.5}", "unknown key 'treshold'"),
                                    ("{threshold: 1.5}", "threshold: must be between 0 and 1"),
                                    ("{min_silence_duration_ms: -5}", "min_silence_duration_ms")] {
            let file = try Fixtures.write("inputs: [a]\nstages:\n  - task: vad\n    options: \(options)\n", to: folder.appendingPathComponent("v.yaml"))
            XCTAssertThrowsError(try Pipeline.load(path: file.path)) { XCTAssertTrue("\($0)".contains(fragment), "\($0)") }
        }
        for (options, fragment) in [("{vad_parameters: {threshold: 0.3}}", "vad_parameters: takes effect only with vad_filter: true"),
                                    ("{vad_filter: true, vad_parameters: {pad: 3}}", "unknown key 'pad'"),
                                    ("{vad_filter: yes please}", "vad_filter"),
                                    ("{vad_filter: true, vad_parameters: {max_speech_duration_s: 0}}", "max_speech_duration_s")] {
            let file = try Fixtures.write("inputs: [a]\nstages:\n  - task: transcribe\n    options: \(options)\n", to: folder.appendingPathComponent("t.yaml"))
            XCTAssertThrowsError(try Pipeline.load(path: file.path)) { XCTAssertTrue("\($0)".contains(fragment), "\($0)") }
        }
    }
}
