import Foundation
import Media
import Models
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

    /// whisper-base detects Spanish and German and transcribes them.
    func testLanguageDetectionWithMultilingualModel() throws {
        for (clip, code) in [("spanish", "es"), ("german", "de")] {
            var options = TranscriptionOptions()
            options.language = nil
            let transcript = try TestEnv.transcribe(try TestEnv.testClip("\(clip).wav"), options, model: "whisper-base")
            XCTAssertEqual(transcript.language, code, "\(clip): detected \(transcript.language)")
            XCTAssertGreaterThan(transcript.languageProbability, 0.5)
            let reference = TestEnv.words(try String(contentsOfFile: try TestEnv.testClip("\(clip).txt"), encoding: .utf8))
            let found = Set(TestEnv.words(transcript.text))
            let recall = Double(reference.filter(found.contains).count) / Double(reference.count)
            print("\(clip): \(transcript.language) p=\(transcript.languageProbability) recall \(recall): \(transcript.text)")
            XCTAssertGreaterThanOrEqual(recall, 0.5, "\(clip): \(transcript.text)")
        }
    }

    /// --task translate on a multilingual model produces English.
    func testTranslateTask() throws {
        var options = TranscriptionOptions()
        options.language = "es"
        options.task = .translate
        let transcript = try TestEnv.transcribe(try TestEnv.testClip("spanish.wav"), options, model: "whisper-base")
        let english: Set<String> = ["the", "is", "and", "a", "of", "to", "in", "it", "we", "i", "you", "they", "this", "that"]
        let words = TestEnv.words(transcript.text)
        print("translate: \(transcript.text)")
        XCTAssertGreaterThanOrEqual(words.filter(english.contains).count, 2, transcript.text)
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
