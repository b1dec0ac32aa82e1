import Foundation
import Pipelines
import XCTest

/// `word_timestamps` through a pipeline: words in the records and the json sidecar, subtitle line
/// options in the srt/vtt sidecars, the tsv/lrc/csv sidecars, and the options that need words.
final class WordTimestampPipelineTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        try Fixtures.requireModel()
        folder = try Fixtures.temporaryFolder(self)
    }

    func problems(_ options: String) throws -> [String] {
        let url = try Fixtures.write("""
            inputs: [media]
            stages:
              - task: transcribe
                options: \(options)
            outputs: {directory: out, sidecars: [srt, tsv, lrc, csv]}
            """, to: folder.appendingPathComponent("p.yaml"))
        do {
            _ = try Pipeline.load(path: url.path)
            return []
        } catch let errors as PipelineErrors {
            return errors.diagnostics.filter { !$0.isWarning }.map { "\($0.key): \($0.message)" }
        }
    }

    func testOptionsThatNeedWordTimestampsSaySo() throws {
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("media"), withIntermediateDirectories: true)
        XCTAssertEqual(try problems("{highlight_words: true}"),
                       ["stages[0].options.highlight_words: highlight_words needs word_timestamps: true"])
        XCTAssertEqual(try problems("{max_line_width: 42, max_line_count: 2}"),
                       ["stages[0].options.max_line_width: max_line_width needs word_timestamps: true"])
        XCTAssertEqual(try problems("{word_timestamps: true, max_line_count: 2}"),
                       ["stages[0].options.max_line_count: max_line_count has no effect without max_line_width"])
        XCTAssertEqual(try problems("{word_timestamps: true, max_words_per_line: 0}"),
                       ["stages[0].options.max_words_per_line: max_words_per_line must be at least 1, not 0"])
        XCTAssertEqual(try problems("{word_timestamps: true, max_line_width: 42, max_line_count: 2, highlight_words: true}"), [])
    }

    /// faster-whisper's decoding options validate, and say what is wrong with them.
    func testDecodingOptionsValidate() throws {
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("media"), withIntermediateDirectories: true)
        XCTAssertEqual(try problems("""
            {hotwords: "Hearth archive", prefix: "Welcome", repetition_penalty: 1.2, no_repeat_ngram_size: 3, \
            clip_timestamps: "0,30.5,60", language_detection_segments: 2, language_detection_threshold: 0.8, \
            multilingual: true, word_timestamps: true, hallucination_silence_threshold: 2}
            """), [])
        XCTAssertEqual(try problems("{clip_timestamps: [5.5, 20]}"), [])
        XCTAssertEqual(try problems("{hallucination_silence_threshold: 2}"),
                       ["stages[0].options.hallucination_silence_threshold: hallucination_silence_threshold needs word_timestamps: true"])
        XCTAssertEqual(try problems("{clip_timestamps: \"0,ten\"}"),
                       ["stages[0].options.clip_timestamps: must be seconds separated by commas, or a list of seconds"])
        XCTAssertEqual(try problems("{repetition_penalty: 0}"),
                       ["stages[0].options.repetition_penalty: repetition_penalty must be > 0"])
        XCTAssertEqual(try problems("{clip_timestamps: [0, 10], vad_filter: true}"),
                       ["stages[0].options.vad_filter: cannot be used with clip_timestamps (faster-whisper ignores vad_filter when clip_timestamps is given)"])
    }

    func testWordsInRecordsAndSidecars() throws {
        try Fixtures.copy(Fixtures.sample("jfk.wav"), into: folder.appendingPathComponent("media"))
        let url = try Fixtures.write("""
            inputs: [media]
            stages:
              - task: transcribe
                options: {beam_size: 1, word_timestamps: true, max_line_width: 24, max_line_count: 2}
            outputs:
              directory: out
              sidecars: [json, srt, vtt, tsv, lrc, csv]
            """, to: folder.appendingPathComponent("p.yaml"))
        var options = RunOptions()
        options.progress = .silent
        let runner = PipelineRunner(pipeline: try Pipeline.load(path: url.path), options: options)
        _ = try runner.run()
        let record = try XCTUnwrap(try ResultsLog.read(runner.resultsURL).records.first)
        let segments = try XCTUnwrap(record.results["transcribe"]?["segments"]?.arrayValue)
        let words = try XCTUnwrap(segments.first?["words"]?.arrayValue)
        XCTAssertEqual(words.first?["word"]?.text, " And")
        XCTAssertNotNil(words.first?["probability"])

        let out = folder.appendingPathComponent("out")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("jfk.json"))) as! [String: Any]
        let sidecarWords = (json["segments"] as! [[String: Any]]).flatMap { $0["words"] as! [[String: Any]] }
        XCTAssertEqual(sidecarWords.count, 22)
        XCTAssertEqual(Set(sidecarWords[0].keys), ["word", "start", "end", "probability"])
        // Cues of at most two lines of at most 24 characters.
        let srt = try String(contentsOf: out.appendingPathComponent("jfk.srt"), encoding: .utf8)
        for cue in srt.components(separatedBy: "\n\n").filter({ !$0.isEmpty }) {
            let lines = cue.split(separator: "\n").dropFirst(2)
            XCTAssertLessThanOrEqual(lines.count, 2, cue)
            for line in lines { XCTAssertLessThanOrEqual(line.count, 24, cue) }
        }
        XCTAssertTrue(try String(contentsOf: out.appendingPathComponent("jfk.vtt"), encoding: .utf8).hasPrefix("WEBVTT\n\n00:00.000 --> "))
        XCTAssertTrue(try String(contentsOf: out.appendingPathComponent("jfk.tsv"), encoding: .utf8).hasPrefix("start\tend\ttext\n0\t"))
        XCTAssertTrue(try String(contentsOf: out.appendingPathComponent("jfk.lrc"), encoding: .utf8).hasPrefix("[00:00.00] And so my fellow"))
        XCTAssertTrue(try String(contentsOf: out.appendingPathComponent("jfk.csv"), encoding: .utf8).hasPrefix("start,end,text\n0,"))
    }
}
