import Foundation
import Media
import Models
import ModelStore
import Weights
import XCTest

/// End-to-end behaviour on real clips with the real models.
final class TranscriptionTests: XCTestCase {
    /// ~3 minutes of known sentences with silences (scripts/data/make_test_audio.sh), default options.
    func testLongFormTimestampsAndWordRecall() throws {
        let path = try TestEnv.testClip("longform.wav")
        let reference = try String(contentsOfFile: try TestEnv.testClip("longform.txt"), encoding: .utf8)
        var options = TranscriptionOptions()
        options.language = "en"
        let transcript = try TestEnv.transcribe(path, options)
        XCTAssertGreaterThan(transcript.duration, 170)
        var previousEnd = 0.0
        for s in transcript.segments {
            XCTAssertGreaterThanOrEqual(s.start, previousEnd - 1e-9, "segment \(s.id) starts before the previous one ends")
            XCTAssertLessThanOrEqual(s.start, s.end)
            XCTAssertLessThanOrEqual(s.end, transcript.duration + 0.5)
            previousEnd = s.end
        }
        let found = Set(TestEnv.words(transcript.text))
        let expected = TestEnv.words(reference)
        let recall = Double(expected.filter(found.contains).count) / Double(expected.count)
        print("long-form: \(transcript.segments.count) segments, word recall \(recall)")
        XCTAssertGreaterThanOrEqual(recall, 0.9)
    }

    /// Language probabilities (the detected one and the top five of all_language_probs) against
    /// faster-whisper's: float32 softmax over 99 language logits from an encoder with other GEMM
    /// kernels; measured max |Δ| 4.8e-7 (2026-12-04, printed by the test), tolerance ≈ 10 × that.
    /// (Before detection used faster-whisper's own window — the frame after the content kept — the
    /// short clips differed by up to 5.2e-3.)
    static let languageProbabilityTolerance: Float = 5e-6

    /// whisper-base detects Spanish and German (committed clips) and transcribes them: the same
    /// language, probabilities and token ids as faster-whisper 1.2.1 (Fixtures/multilingual.json).
    func testLanguageDetectionWithMultilingualModel() throws {
        try checkMultilingual("detect_spanish")
        try checkMultilingual("detect_german")
    }

    /// --task translate on a multilingual model: faster-whisper's English token ids.
    func testTranslateTask() throws {
        let transcript = try checkMultilingual("translate_spanish")
        XCTAssertTrue(transcript.text.contains("Good morning"), transcript.text)
    }

    /// One case of multilingual.json (scripts/goldens/make_multilingual_goldens.py): default options
    /// (beam 5, …) with the case's language, task and temperature (0: no sampled fallback).
    @discardableResult
    func checkMultilingual(_ name: String) throws -> Transcript {
        let golden = try TestEnv.json("multilingual.json")
        let c = try XCTUnwrap((golden["cases"] as! [[String: Any]]).first { $0["name"] as? String == name }, name)
        let samples = try AudioDecoder.decodeMono16k(path: TestEnv.fixtures.appendingPathComponent(c["clip"] as! String).path)
        let bytes = samples.withUnsafeBytes { Array($0) }   // float32 little-endian
        XCTAssertEqual(SHA256.hex(bytes), c["samples_float32_sha256"] as! String,
                       "\(name): libsndfile decodes \(c["clip"]!) to other samples than the golden's")
        let given = c["options"] as! [String: Any]
        var options = TranscriptionOptions()
        options.language = given["language"] as? String
        options.task = (given["task"] as? String).flatMap(WhisperTask.init(rawValue:)) ?? .transcribe
        options.temperatures = [Float(try XCTUnwrap(given["temperature"] as? Double, "\(name): options.temperature"))]
        let transcriber = try TestEnv.transcriber("whisper-base")
        let transcript = try transcriber.transcribe(samples: samples, options: options)

        let segments = c["segments"] as! [[String: Any]]
        XCTAssertTrue(segments.allSatisfy { $0["temperature"] as! Double == 0 }, "\(name): the golden fell back to sampling")
        XCTAssertEqual(transcript.language, c["language"] as! String, name)
        var maxDelta = abs(transcript.languageProbability - Float(c["language_probability"] as! Double))
        let top = c["top_languages"] as! [[String: Any]]
        if !top.isEmpty {   // detected (not given): the distribution too
            let ours = try transcriber.languageProbabilities(samples: samples).prefix(top.count)
            XCTAssertEqual(ours.map(\.code), top.map { $0["code"] as! String }, "\(name): top languages")
            for (o, t) in zip(ours, top) { maxDelta = max(maxDelta, abs(o.probability - Float(t["probability"] as! Double))) }
        }
        print("\(name): \(transcript.language) p=\(transcript.languageProbability), probabilities max |Δ| \(maxDelta): \(transcript.text)")
        XCTAssertLessThanOrEqual(maxDelta, Self.languageProbabilityTolerance, name)
        XCTAssertEqual(transcript.segments.map(\.tokens), segments.map { $0["tokens"] as! [Int] }, name)
        XCTAssertEqual(transcript.segments.map(\.text), segments.map { $0["text"] as! String }, name)
        XCTAssertEqual(transcript.segments.map(\.seek), segments.map { $0["seek"] as! Int }, name)
        return transcript
    }

    /// Several files through the encoder and decoder together give the same tokens as one at a time.
    func testCrossFileBatchingIsExact() throws {
        let t = try TestEnv.transcriber()
        let paths = [TestEnv.samples.appendingPathComponent("jfk.wav").path,
                     TestEnv.samples.appendingPathComponent("speech_espeak.flac").path,
                     try TestEnv.testClip("speech.ogg")]
        let load = { (i: Int) in try LogMelSpectrogram.load(path: paths[i]) }
        for options in [TestEnv.greedy(), TranscriptionOptions()] {
            let one = t.transcribe(count: paths.count, load: load, options: options, batchSize: 1).map { try? $0.get() }
            let batched = t.transcribe(count: paths.count, load: load, options: options, batchSize: 3).map { try? $0.get() }
            for i in paths.indices {
                XCTAssertEqual(one[i]?.windows, batched[i]?.windows, "\(paths[i]) beam \(options.beamSize)")
                XCTAssertFalse(one[i]?.text.isEmpty ?? true)
            }
        }
    }

    /// `shouldStop` is asked once per step (one 30-second window of every active file): a stop
    /// after two steps keeps the short files that finished and leaves the 3-minute one unfinished
    /// (`WhisperError.stopped`, no `onFinish` call).
    func testStopBetweenWindows() throws {
        let t = try TestEnv.transcriber()
        let paths = [TestEnv.samples.appendingPathComponent("jfk.wav").path, try TestEnv.testClip("longform.wav"),
                     try TestEnv.testClip("speech.ogg")]
        var asked = 0
        var finished: [Int] = []
        let results = t.transcribe(count: paths.count, load: { try LogMelSpectrogram.load(path: paths[$0]) }, options: TestEnv.greedy(),
                                   batchSize: 2, shouldStop: { asked += 1; return asked > 2 }) { i, _ in finished.append(i) }
        XCTAssertEqual(asked, 3, "asked before each step")
        XCTAssertEqual(finished, [0, 2], "the short files finished in the two steps; the long one did not")
        XCTAssertTrue((try results[0].get()).text.contains("ask not what your country"))
        XCTAssertFalse((try results[2].get()).text.isEmpty)
        guard case .failure(let error) = results[1] else { return XCTFail("the long file should be unfinished") }
        XCTAssertEqual("\(error)", WhisperError.stopped.description)
    }

    /// A file that cannot be decoded becomes that file's error; the batch goes on.
    func testBadFileInBatchDoesNotStopOthers() throws {
        let t = try TestEnv.transcriber()
        let paths = [try TestEnv.testClip("empty.wav"), TestEnv.samples.appendingPathComponent("jfk.wav").path,
                     try TestEnv.testClip("notaudio.wav"), try TestEnv.testClip("truncated.wav")]
        let results = t.transcribe(count: paths.count, load: { try LogMelSpectrogram.load(path: paths[$0]) },
                                   options: TestEnv.greedy(), batchSize: 4)
        for i in [0, 2] {
            guard case .failure(let error) = results[i] else { return XCTFail("\(paths[i]) should fail") }
            XCTAssertTrue("\(error)".contains(paths[i]), "error names the file: \(error)")
        }
        XCTAssertTrue((try results[1].get()).text.contains("ask not what your country"))
        // A truncated WAV is decoded up to where its data ends (libsndfile semantics) or refused — never a crash.
        switch results[3] {
        case .success(let t): XCTAssertLessThan(t.duration, 30)
        case .failure(let e): XCTAssertTrue("\(e)".contains("truncated.wav"))
        }
    }

    func testSubtitleFormats() throws {
        let transcript = try TestEnv.transcribe(TestEnv.samples.appendingPathComponent("jfk.wav").path, TestEnv.greedy())
        let doc = TranscriptDocument(path: "jfk.wav", transcript: transcript,
                                     provenance: Provenance(model: "whisper-tiny.en", modelFormat: "ctranslate2", files: [:],
                                                            options: TestEnv.greedy()))
        let srt = try doc.render(.srt)
        XCTAssertTrue(srt.hasPrefix("1\n00:00:00,000 --> 00:00:07,740\nAnd so my fellow Americans"), srt)
        XCTAssertTrue(srt.contains("\n\n2\n00:00:07,740 --> 00:00:10,740\nask what you can do for your country\n"), srt)
        let vtt = try doc.render(.vtt)
        XCTAssertTrue(vtt.hasPrefix("WEBVTT\n\n00:00.000 --> 00:07.740\n"), vtt)   // openai-whisper WriteVTT: hours only past 1 h
        let json = try JSONSerialization.jsonObject(with: Data(try doc.render(.json).utf8)) as! [String: Any]
        XCTAssertEqual((json["segments"] as! [[String: Any]]).count, 2)
        XCTAssertNotNil((json["provenance"] as! [String: Any])["hearth_version"])
        XCTAssertEqual(TranscriptDocument.timestamp(3725.5, comma: true), "01:02:05,500")
    }
}
