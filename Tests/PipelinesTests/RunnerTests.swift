import Foundation
import Pipelines
import XCTest

/// The runner in-process with the real whisper-tiny.en model (greedy, short clips).
final class RunnerTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        try Fixtures.requireModel()
        folder = try Fixtures.temporaryFolder(self)
    }

    func run(_ pipelineFile: URL, fresh: Bool = false) throws -> (RunSummary, [ResultRecord], PipelineRunner) {
        var options = RunOptions()
        options.progress = .silent
        options.fresh = fresh
        let runner = PipelineRunner(pipeline: try Pipeline.load(path: pipelineFile.path), options: options)
        let summary = try runner.run()
        return (summary, try ResultsLog.read(runner.resultsURL).records, runner)
    }

    /// A folder with corrupt files among good ones completes: ok records, error records with the
    /// failing stage and a message, sidecars for the good ones, a CSV, a summary, exit status 1.
    func testCorruptFilesAmongGoodOnes() throws {
        let media = folder.appendingPathComponent("media")
        try Fixtures.copy(Fixtures.sample("jfk.wav"), into: media)
        try Fixtures.copy(try Fixtures.testClip("speech.ogg"), into: media.appendingPathComponent("sub"))
        for name in ["empty.wav", "truncated.wav", "notaudio.wav"] { try Fixtures.copy(try Fixtures.testClip(name), into: media.appendingPathComponent("bad")) }
        try Fixtures.tinyPNG.write(to: media.appendingPathComponent("photo.png"))
        let pipeline = try Fixtures.write("""
            inputs: [media, media/photo.png]
            stages:
              - task: transcribe
                options: {beam_size: 1}
            outputs:
              directory: out
              sidecars: [srt, txt]
              csv: results.csv
              report: report.html
            """, to: folder.appendingPathComponent("p.yaml"))
        let (summary, records, runner) = try run(pipeline)

        XCTAssertEqual(records.map(\.id), ["media/bad/empty.wav", "media/bad/notaudio.wav", "media/bad/truncated.wav",
                                           "media/jfk.wav", "media/sub/speech.ogg", "media/photo.png"])
        XCTAssertEqual(records.map(\.status), [.error, .error, .error, .ok, .ok, .error])
        XCTAssertEqual(records.map { $0.stage ?? "-" }, ["input", "input", "transcribe", "-", "-", "input"])
        XCTAssertEqual(records[0].message, "empty file (0 bytes)")
        XCTAssertTrue(records[1].message?.hasPrefix("not a recognised audio, video or image file") ?? false, records[1].message ?? "")
        XCTAssertTrue(records[2].message?.contains("truncated") ?? false, records[2].message ?? "")
        XCTAssertEqual(records[5].message, "no stage of this pipeline reads image files (image/png)")
        let jfk = records[3]
        XCTAssertEqual(jfk.results["transcribe"]?["text"]?.text,
                       " And so my fellow Americans ask not what your country can do for you ask what you can do for your country")
        XCTAssertEqual(jfk.mediaSeconds, 11)
        XCTAssertEqual(jfk.media, "audio/wav")
        XCTAssertEqual(jfk.provenance.stages.first?.provenance.model, "whisper-tiny.en")
        XCTAssertEqual(jfk.provenance.stages.first?.provenance.files?["model.bin"]?.count, 64)
        XCTAssertEqual(jfk.provenance.stages.first?.provenance.options["beam_size"], .int(1))
        XCTAssertEqual(jfk.configuration, runner.pipeline.configuration)
        XCTAssertNotNil(jfk.timings["transcribe"])
        XCTAssertNotNil(jfk.timings["total"])

        XCTAssertEqual(summary.items, 6)
        XCTAssertEqual([summary.succeeded, summary.failed, summary.skipped], [2, 4, 0])
        XCTAssertEqual(summary.exitStatus, 1)
        XCTAssertEqual(summary.errors.map(\.stage), ["input", "input", "transcribe", "input"])

        let out = folder.appendingPathComponent("out")
        let srt = try String(contentsOf: out.appendingPathComponent("jfk.srt"), encoding: .utf8)
        XCTAssertTrue(srt.hasPrefix("1\n00:00:00,000 --> "), srt)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("sub/speech.txt").path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("bad/truncated.srt").path))
        let csv = try String(contentsOf: out.appendingPathComponent("results.csv"), encoding: .utf8)
        XCTAssertEqual(csv.components(separatedBy: "\r\n").filter { !$0.isEmpty }.count, 7)
        let saved = try JSONDecoder().decode(RunSummary.self, from: Data(contentsOf: out.appendingPathComponent("summary.json")))
        XCTAssertEqual(saved.recordsError, 4)
        let html = try String(contentsOf: out.appendingPathComponent("report.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("Errors (4)"))
        XCTAssertTrue(html.contains("00:00:00.000 → "))
    }

    /// Rerunning skips items done under the same configuration, retries errors, redoes items
    /// whose fields or configuration changed, keeps one record per item, restores sidecars.
    /// The same speech as WAV, FLAC, MP3, M4A, Opus in WebM, AC-3 in MKV, WMA, stereo AAC in MOV
    /// and an MP4 with a video track: one record each, every transcript equal to the WAV's; a video
    /// without audio and a cut M4A are error records that say so.
    func testEveryContainerTranscribesLikeTheWAV() throws {
        let media = folder.appendingPathComponent("media")
        try Fixtures.copy(Fixtures.sample("jfk.wav"), into: media)
        try Fixtures.copy(Fixtures.sample("jfk.mp3"), into: media)
        let containers = ["jfk.flac", "jfk.m4a", "jfk.webm", "jfk.mkv", "jfk.wma", "jfk_stereo.mov", "jfk_video.mp4",
                          "video_only.mp4", "truncated.m4a"]
        for name in containers { try Fixtures.copy(try Fixtures.testClip("containers/" + name), into: media) }
        let pipeline = try Fixtures.write("""
            inputs: [media]
            stages:
              - task: transcribe
                options: {beam_size: 1}
            outputs: {directory: out}
            """, to: folder.appendingPathComponent("p.yaml"))
        let (_, records, _) = try run(pipeline)
        XCTAssertEqual(records.count, containers.count + 2)
        let byName = Dictionary(uniqueKeysWithValues: records.map { (URL(fileURLWithPath: $0.id).lastPathComponent, $0) })
        let reference = try XCTUnwrap(byName["jfk.wav"]?.results["transcribe"]?.objectValue?["text"]?.stringValue)
        XCTAssertTrue(reference.contains("ask not what your country can do for you"), reference)
        // Lossless FLAC gives the WAV's text exactly; the lossy codecs the same words (measured: the
        // AAC and Opus files end with a "." where the WAV's transcript has none, the others are exact).
        func words(_ text: String) -> [String] {
            text.lowercased().split { !$0.isLetter && !$0.isNumber && $0 != "'" }.map(String.init)
        }
        var exact = 0
        for name in ["jfk.flac", "jfk.mp3", "jfk.m4a", "jfk.webm", "jfk.mkv", "jfk.wma", "jfk_stereo.mov", "jfk_video.mp4"] {
            let record = try XCTUnwrap(byName[name], name)
            XCTAssertEqual(record.status, .ok, "\(name): \(record.message ?? "")")
            let text = try XCTUnwrap(record.results["transcribe"]?.objectValue?["text"]?.stringValue, name)
            if name == "jfk.flac" { XCTAssertEqual(text, reference) }
            XCTAssertEqual(words(text), words(reference), name)
            if text == reference { exact += 1 }
        }
        print("containers: \(exact) of 8 transcripts identical to the WAV's, all 8 with the same words")
        XCTAssertEqual(byName["jfk_video.mp4"]?.media, "video/mp4")
        XCTAssertEqual(byName["jfk.webm"]?.media, "audio/webm")
        XCTAssertTrue(byName["video_only.mp4"]?.message?.contains("has no audio stream (video only)") ?? false,
                      byName["video_only.mp4"]?.message ?? "no record")
        XCTAssertTrue(byName["truncated.m4a"]?.message?.contains("ends early") ?? false, byName["truncated.m4a"]?.message ?? "no record")
    }

    func testResumeSkipsDoneWorkAndRedoesChangedItems() throws {
        try Fixtures.copy(Fixtures.sample("jfk.wav"), into: folder)
        try Fixtures.copy(try Fixtures.testClip("speech.ogg"), into: folder)
        try Fixtures.copy(try Fixtures.testClip("notaudio.wav"), into: folder)
        func manifest(_ rows: [String]) throws {
            try Fixtures.write((["id,path,question"] + rows).joined(separator: "\n") + "\n", to: folder.appendingPathComponent("items.csv"))
        }
        func pipeline(beam: Int) throws -> URL {
            try Fixtures.write("""
                inputs: [{manifest: items.csv}]
                stages: [{task: transcribe, options: {beam_size: \(beam)}}]
                outputs: {directory: out, sidecars: srt}
                """, to: folder.appendingPathComponent("p.yaml"))
        }
        try manifest(["a,jfk.wav,Who?", "b,speech.ogg,What?", "c,notaudio.wav,Why?"])
        let first = try run(try pipeline(beam: 1))
        XCTAssertEqual([first.0.succeeded, first.0.failed, first.0.skipped], [2, 1, 0])

        let srt = folder.appendingPathComponent("out/a.srt")
        try FileManager.default.removeItem(at: srt)
        let again = try run(try pipeline(beam: 1))
        XCTAssertEqual([again.0.succeeded, again.0.failed, again.0.skipped], [0, 1, 2], "errors are retried, done items skipped")
        XCTAssertEqual(again.1.map(\.id), ["a", "b", "c"], "one record per item after the run")
        XCTAssertEqual(again.1.map(\.withoutTimings)[..<2], first.1.map(\.withoutTimings)[..<2])
        XCTAssertTrue(FileManager.default.fileExists(atPath: srt.path), "a missing sidecar is rendered again from its record")

        try manifest(["a,jfk.wav,Who?", "b,speech.ogg,What exactly?", "c,notaudio.wav,Why?"])
        let changedField = try run(try pipeline(beam: 1))
        XCTAssertEqual([changedField.0.succeeded, changedField.0.skipped], [1, 1])
        XCTAssertEqual(changedField.1.first { $0.id == "b" }?.fields?["question"], "What exactly?")

        let changedOptions = try run(try pipeline(beam: 2))
        XCTAssertEqual([changedOptions.0.succeeded, changedOptions.0.failed, changedOptions.0.skipped], [2, 1, 0])
        XCTAssertEqual(changedOptions.0.removedRecords, 3, "the superseded records are gone")
        XCTAssertEqual(changedOptions.1.count, 3)
        XCTAssertEqual(Set(changedOptions.1.map(\.configuration)).count, 1)
        XCTAssertNotEqual(changedOptions.1[0].configuration, first.1[0].configuration)

        try manifest(["b,speech.ogg,What exactly?"])
        let fewer = try run(try pipeline(beam: 2))
        XCTAssertEqual([fewer.0.succeeded, fewer.0.skipped, fewer.0.removedRecords], [0, 1, 2])
        XCTAssertEqual(fewer.1.map(\.id), ["b"])
        XCTAssertEqual(fewer.1[0].index, 0, "records take the item's current position")

        let fresh = try run(try pipeline(beam: 2), fresh: true)
        XCTAssertEqual([fresh.0.succeeded, fresh.0.skipped], [1, 0])
    }

    /// A stage that fails for an item keeps the earlier stages' results in the error record;
    /// templates see earlier results and manifest fields.
    func testTwoStagesAndTemplates() throws {
        try Fixtures.copy(Fixtures.sample("jfk.wav"), into: folder)
        try Fixtures.write("id,path,question\nq,jfk.wav,Who speaks?\n", to: folder.appendingPathComponent("items.csv"))
        let pipeline = try Pipeline.load(path: try Fixtures.write("""
            inputs: [{manifest: items.csv}]
            stages:
              - {task: transcribe, name: fast, options: {beam_size: 1}}
              - {task: transcribe, name: careful, options: {beam_size: 2, without_timestamps: true}}
            outputs: {directory: out, sidecars: txt}
            """, to: folder.appendingPathComponent("p.yaml")).path)
        var options = RunOptions()
        options.progress = .silent
        let runner = PipelineRunner(pipeline: pipeline, options: options)
        XCTAssertEqual(try runner.run().succeeded, 1)
        let record = try XCTUnwrap(try latestRecords(runner.resultsURL).first)
        XCTAssertEqual(record.provenance.stages.map(\.name), ["fast", "careful"])
        XCTAssertNotNil(record.results["fast"]?["text"])
        XCTAssertNotNil(record.results["careful"]?["text"])
        // Two stages render txt: the stage name goes into the file names.
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent("out/q.fast.txt").path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent("out/q.careful.txt").path))

        let template = try PromptTemplate("{{item.question}} Transcript:{{fast.text}}")
        XCTAssertEqual(template.render(item: try XCTUnwrap(pipeline.items.first).templateValues, results: record.results),
                       "Who speaks? Transcript: And so my fellow Americans ask not what your country can do for you ask what you can do for your country")
    }

    /// Transcribe then ask (smollm2-135m): the ask prompt is rendered from the transcript and the
    /// manifest's question; the answer lands in the record, the CSV and a txt sidecar.
    func testTranscribeThenAskThroughATemplate() throws {
        try Fixtures.copy(Fixtures.sample("jfk.wav"), into: folder)
        try Fixtures.write("id,path,question\njfk,jfk.wav,Which country is mentioned?\n", to: folder.appendingPathComponent("items.csv"))
        let pipelineFile = try Fixtures.write("""
            inputs: [{manifest: items.csv}]
            stages:
              - {task: transcribe, options: {beam_size: 1}}
              - task: ask
                prompt: "Transcript:{{transcribe.text}}\\nQuestion: {{item.question}}"
                options: {max_tokens: 12}
            outputs: {directory: out, csv: results.csv, report: report.html}
            """, to: folder.appendingPathComponent("p.yaml"))
        let (summary, records, _) = try run(pipelineFile)
        XCTAssertEqual(summary.succeeded, 1, "\(records.first?.message ?? "")")
        let ask = try XCTUnwrap(records.first?.results["ask"])
        XCTAssertEqual(ask["prompt"]?.text, "Transcript: And so my fellow Americans ask not what your country can do for you "
                       + "ask what you can do for your country\nQuestion: Which country is mentioned?")
        XCTAssertFalse((ask["answer"]?.text ?? "").isEmpty)
        XCTAssertEqual(records.first?.provenance.stages.map(\.provenance.task), ["transcribe", "ask"])
        let csv = try String(contentsOf: folder.appendingPathComponent("out/results.csv"), encoding: .utf8)
        XCTAssertTrue(csv.hasPrefix("id,input,media,status,error_stage,error,media_seconds,transcribe.duration,"), csv)
        XCTAssertTrue(csv.contains("ask.answer"), csv)
        let html = try String(contentsOf: folder.appendingPathComponent("out/report.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("<td>jfk.wav</td><td>Which country is mentioned?</td>"), "Q/A table")
    }
}
