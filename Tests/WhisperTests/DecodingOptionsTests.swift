import Foundation
import Media
import Models
import TestSupport
import XCTest

/// faster-whisper's decoding options against faster-whisper 1.2.1 itself (sequential
/// `WhisperModel.transcribe`, CTranslate2 4.8.5 float32, the same whisper-tiny.en / whisper-base
/// files): repetition_penalty, no_repeat_ngram_size, prefix, hotwords, clip_timestamps,
/// hallucination_silence_threshold, language_detection_segments/threshold and multilingual.
/// Goldens: scripts/goldens/make_decoding_goldens.py → Fixtures/decoding_options.json.
final class DecodingOptionsTests: XCTestCase {
    /// Segment and word times follow from the tokens and the alignment: identical when the tokens
    /// are (as in WordTimestampTests, measured max |Δ| well under 1e-6 s).
    static let timeTolerance = 1e-6
    /// Language probabilities: float32 softmax over ~100 language logits; measured max |Δ| 3.5e-6
    /// (language_detection_segments, 2026-12-04; printed by the test), tolerance ≤ 10 × that.
    static let languageProbabilityTolerance: Float = 3e-5

    func testRepetitionPenaltyBeam5() throws { try check("repetition_penalty_beam5") }
    func testNoRepeatNgramGreedy() throws { try check("no_repeat_ngram_greedy") }
    func testPrefixBeam5() throws { try check("prefix_beam5") }
    func testPrefixGreedy() throws { try check("prefix_greedy") }
    func testPrefixWithoutTimestamps() throws { try check("prefix_without_timestamps") }
    func testPrefixLongFormWithWords() throws { try check("prefix_longform_words") }
    func testHotwordsLongForm() throws { try check("hotwords_longform") }
    func testClipTimestampsString() throws { try check("clip_string") }
    func testClipTimestampsListWithWords() throws { try check("clip_list_words") }
    func testHallucinationSilenceThresholdLongForm() throws { try check("hallucination_longform") }
    func testHallucinationSilenceThresholdNoiseAndSpeech() throws { try check("hallucination_noise_jfk") }
    /// The skip firing: beam 5 hears " you" in loud white noise after jfk.wav; with a 0.3 s
    /// threshold faster-whisper drops it, and so does Hearth (both goldens checked).
    func testHallucinationSilenceThresholdSkipsHallucinatedWord() throws {
        try check("words_white_noise")
        try check("hallucination_white_noise")
        let cases = try Self.cases()
        func texts(_ name: String) -> [String] { (cases[name]!["segments"] as! [[String: Any]]).map { $0["text"] as! String } }
        XCTAssertEqual(texts("words_white_noise").last, " you")
        XCTAssertEqual(texts("hallucination_white_noise").count, texts("words_white_noise").count - 1)
    }
    func testLanguageDetectionSegments() throws { try check("language_detection_segments") }
    func testMultilingual() throws { try check("multilingual") }

    /// The goldens' options must change something, or the tests above prove nothing about them.
    func testEachOptionChangesTheTranscript() throws {
        let cases = try Self.cases()
        func text(_ name: String) -> String { (cases[name]!["segments"] as! [[String: Any]]).map { $0["text"] as! String }.joined() }
        let plain = try TestEnv.transcribe(TestEnv.samples.appendingPathComponent("speech_espeak.flac").path, TranscriptionOptions())
        XCTAssertNotEqual(text("repetition_penalty_beam5"), plain.text)
        XCTAssertFalse(text("prefix_greedy").contains("Americans"))
        XCTAssertTrue(text("prefix_greedy").hasPrefix(" So my fellow citizens of the world"))
        let clipped = cases["clip_string"]!["segments"] as! [[String: Any]]
        XCTAssertGreaterThanOrEqual(clipped.first!["start"] as! Double, 10)
    }

    /// Options that need word timestamps say so.
    func testHallucinationThresholdNeedsWordTimestamps() {
        var o = TranscriptionOptions()
        o.hallucinationSilenceThreshold = 2
        XCTAssertEqual(o.problem(), "hallucination_silence_threshold needs word_timestamps: true")
        o.wordTimestamps = true
        XCTAssertNil(o.problem())
    }

    // MARK: -

    nonisolated(unsafe) static var cached: [String: [String: Any]]?
    static func cases() throws -> [String: [String: Any]] {
        if let cached { return cached }
        let golden = try TestEnv.json("decoding_options.json")
        var byName: [String: [String: Any]] = [:]
        for case let c as [String: Any] in golden["cases"] as! [Any] { byName[c["name"] as! String] = c }
        cached = byName
        return byName
    }

    /// The golden's clip: its files decoded and concatenated, as the script did.
    static func samples(_ recipe: [String]) throws -> [Float] {
        var samples: [Float] = []
        for item in recipe {
            let path: String
            if item.hasPrefix("testdata/") { path = try TestEnv.testClip(String(item.dropFirst("testdata/".count))) }
            else if item.hasPrefix("vad/") {
                path = TestPaths.packageRoot.appendingPathComponent("Tests/VADTests/Fixtures/" + item.dropFirst("vad/".count)).path
            } else if item.hasPrefix("whisper/") {
                path = TestEnv.fixtures.appendingPathComponent(String(item.dropFirst("whisper/".count))).path
            } else { path = TestPaths.packageRoot.appendingPathComponent(item).path }
            samples += try AudioDecoder.decodeMono16k(path: path)
        }
        return samples
    }

    /// faster-whisper's transcribe kwargs → Hearth's options.
    static func options(_ o: [String: Any]) -> TranscriptionOptions {
        var t = TranscriptionOptions()
        t.language = o["language"] as? String
        t.beamSize = o["beam_size"] as! Int
        t.bestOf = o["best_of"] as! Int
        t.temperatures = (o["temperature"] as? [Double] ?? [o["temperature"] as! Double]).map(Float.init)
        t.conditionOnPreviousText = o["condition_on_previous_text"] as! Bool
        t.withoutTimestamps = o["without_timestamps"] as? Bool ?? false
        t.wordTimestamps = o["word_timestamps"] as? Bool ?? false
        t.repetitionPenalty = (o["repetition_penalty"] as? Double).map(Float.init) ?? 1
        t.noRepeatNgramSize = o["no_repeat_ngram_size"] as? Int ?? 0
        t.prefix = o["prefix"] as? String
        t.hotwords = o["hotwords"] as? String
        if let clip = o["clip_timestamps"] as? String { t.clipTimestamps = clip.split(separator: ",").map { Double($0)! } }
        if let clip = o["clip_timestamps"] as? [Double] { t.clipTimestamps = clip }
        t.hallucinationSilenceThreshold = (o["hallucination_silence_threshold"] as? Double).map(Float.init)
        t.languageDetectionSegments = o["language_detection_segments"] as? Int ?? 1
        t.languageDetectionThreshold = (o["language_detection_threshold"] as? Double).map(Float.init) ?? 0.5
        t.multilingual = o["multilingual"] as? Bool ?? false
        return t
    }

    func check(_ name: String) throws {
        let golden = try XCTUnwrap(try Self.cases()[name], name)
        let model = (golden["model"] as! String)
        let samples = try Self.samples(golden["clip"] as! [String])
        XCTAssertEqual(samples.count, golden["samples"] as! Int, "\(name): decoded audio")
        let options = Self.options(golden["options"] as! [String: Any])
        let transcript = try TestEnv.transcriber(model).transcribe(samples: samples, options: options)
        let expected = golden["segments"] as! [[String: Any]]
        // Sampled fallbacks draw from CTranslate2's RNG; the goldens stay at temperature 0.
        XCTAssertTrue(expected.allSatisfy { $0["temperature"] as! Double == 0 }, "\(name): the golden fell back to sampling")
        XCTAssertEqual(transcript.language, golden["language"] as! String, name)
        let probabilityDelta = abs(transcript.languageProbability - Float(golden["language_probability"] as! Double))
        print("\(name): \(transcript.segments.count) segments, language probability |Δ| \(probabilityDelta)")
        XCTAssertLessThanOrEqual(probabilityDelta, Self.languageProbabilityTolerance, name)
        XCTAssertEqual(transcript.segments.map(\.text), expected.map { $0["text"] as! String }, name)
        XCTAssertEqual(transcript.segments.map(\.tokens), expected.map { $0["tokens"] as! [Int] }, name)
        XCTAssertEqual(transcript.segments.map(\.seek), expected.map { $0["seek"] as! Int }, name)
        for (ours, theirs) in zip(transcript.segments, expected) {
            XCTAssertEqual(ours.start, theirs["start"] as! Double, accuracy: Self.timeTolerance, "\(name) \(ours.text)")
            XCTAssertEqual(ours.end, theirs["end"] as! Double, accuracy: Self.timeTolerance, "\(name) \(ours.text)")
            XCTAssertEqual(ours.language, theirs["language"] as? String, "\(name) \(ours.text)")
            guard let words = theirs["words"] as? [[String: Any]] else { XCTAssertNil(ours.words, name); continue }
            let got = ours.words ?? []
            XCTAssertEqual(got.map(\.word), words.map { $0["word"] as! String }, "\(name) \(ours.text)")
            for (w, t) in zip(got, words) {
                XCTAssertEqual(w.start, t["start"] as! Double, accuracy: Self.timeTolerance, "\(name) \(w.word)")
                XCTAssertEqual(w.end, t["end"] as! Double, accuracy: Self.timeTolerance, "\(name) \(w.word)")
                XCTAssertEqual(w.probability, t["probability"] as! Double, accuracy: WordTimestampTests.probabilityTolerance)
            }
        }
    }
}
