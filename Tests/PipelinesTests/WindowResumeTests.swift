import Foundation
import Pipelines
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Resume inside one recording: `hearth run` killed (SIGKILL, HEARTH_TEST_KILL_AFTER_WINDOWS) in the
/// middle of a long file goes on from its last finished 30-second window, and the final record is
/// byte for byte an uninterrupted run's (timings aside). Real whisper-tiny.en, greedy.
final class WindowResumeTests: XCTestCase {
    override func setUpWithError() throws {
        try Fixtures.requireModel()
        _ = try Fixtures.hearthBinary()
    }

    func pipeline(_ inputs: String..., options: String = "beam_size: 1", batchSize: Int = 1, in folder: URL) throws -> URL {
        try Fixtures.write("""
            inputs: [\(inputs.joined(separator: ", "))]
            stages:
              - task: transcribe
                options: {\(options)}
            outputs: {directory: out}
            run: {batch_size: \(batchSize)}
            """, to: folder.appendingPathComponent("p.yaml"))
    }

    /// Runs the pipeline; with `killAfterWindows` it must die by its own SIGKILL after that many
    /// window checkpoints. Returns the process's stderr.
    @discardableResult
    func run(_ pipeline: URL, killAfterWindows: Int? = nil) throws -> String {
        var environment = ProcessInfo.processInfo.environment
        environment["HEARTH_TEST_KILL_AFTER_WINDOWS"] = killAfterWindows.map(String.init)
        let process = Process()
        process.executableURL = try Fixtures.hearthBinary()
        process.arguments = ["run", pipeline.path, "--quiet"]
        process.environment = environment
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        if killAfterWindows != nil {
            XCTAssertTrue(process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGKILL,
                          "not killed after \(killAfterWindows!) windows: \(stderr)")
        } else {
            XCTAssertEqual(process.terminationStatus, 0, stderr)
        }
        return stderr
    }

    /// The records of a run's folder, timings removed, as their JSON lines.
    func recordLines(_ folder: URL) throws -> [Data] {
        try ResultsLog.read(folder.appendingPathComponent("out/results.jsonl")).records.map { try $0.withoutTimings.line() }
    }

    /// The single record of a run's folder, timings removed, as its JSON line.
    func recordLine(_ folder: URL) throws -> Data {
        let lines = try recordLines(folder)
        XCTAssertEqual(lines.count, 1)
        return try XCTUnwrap(lines.first)
    }

    func checkpointFolder(_ folder: URL) -> URL { folder.appendingPathComponent("out/results.jsonl.checkpoints") }

    /// The one checkpoint journal of a killed run: its lines (header + windows).
    func journal(_ folder: URL) throws -> (url: URL, lines: [String]) {
        let files = try FileManager.default.contentsOfDirectory(at: checkpointFolder(folder), includingPropertiesForKeys: nil)
        XCTAssertEqual(files.count, 1, "\(files)")
        let url = try XCTUnwrap(files.first)
        let text = try String(contentsOf: url, encoding: .utf8)
        return (url, text.split(separator: "\n").map(String.init))
    }

    /// A 20.4-minute recording: the long-form test clip (~3 min of sentences and pauses) seven times.
    func twentyMinutes(in folder: URL) throws -> String {
        let source = try Fixtures.testClip("longform.wav")
        let out = folder.appendingPathComponent("twenty-minutes.wav").path
        let sox = Process()
        sox.executableURL = URL(fileURLWithPath: "/usr/bin/sox")
        sox.arguments = ["-R", "-D", "-V1", source, out, "repeat", "6"]
        try sox.run()
        sox.waitUntilExit()
        XCTAssertEqual(sox.terminationStatus, 0, "sox")
        return out
    }

    /// SIGKILL after 1, then 15 more, then 15 more windows (three different places in the file, each
    /// run resuming the previous one's checkpoint), then a run to the end: its record equals an
    /// uninterrupted run's byte for byte, and no checkpoint is left.
    func testKilledThreeTimesInsideATwentyMinuteFileResumesToTheSameRecord() throws {
        let folder = try Fixtures.temporaryFolder(self)
        let audio = try twentyMinutes(in: folder)
        let whole = folder.appendingPathComponent("whole"), killed = folder.appendingPathComponent("killed")
        let started = Date()
        try run(try pipeline(audio, in: whole))
        let expected = try recordLine(whole)
        let wholeSeconds = Date().timeIntervalSince(started)
        XCTAssertFalse(FileManager.default.fileExists(atPath: checkpointFolder(whole).path), "checkpoints removed")

        let p = try pipeline(audio, in: killed)
        var windows = 0
        for more in [1, 15, 15] {
            try run(p, killAfterWindows: more)
            windows += more
            let results = killed.appendingPathComponent("out/results.jsonl")
            if FileManager.default.fileExists(atPath: results.path) {
                XCTAssertEqual(try ResultsLog.read(results).records.count, 0, "no record before the file is done")
            }
            XCTAssertEqual(try journal(killed).lines.count, 1 + windows, "header + one line per finished window")
        }
        let stderr = try run(p)
        XCTAssertFalse(stderr.contains("warning"), stderr)
        XCTAssertEqual(try recordLine(killed), expected, "the resumed record is the uninterrupted one")
        XCTAssertFalse(FileManager.default.fileExists(atPath: checkpointFolder(killed).path), "checkpoints removed")
        let segments = try ResultsLog.read(killed.appendingPathComponent("out/results.jsonl")).records[0]
            .results["transcribe"]?["segments"]?.arrayValue?.count ?? 0
        print("20.4-min file: killed after windows \(1), \(16), \(31); resumed record identical (\(segments) segments); "
              + "uninterrupted run \(Int(wholeSeconds)) s")
    }

    /// Two recordings batched through the encoder together, with word timestamps: killed after 5
    /// windows (both files part-way), resumed → both records equal an uninterrupted run's.
    func testBatchedFilesWithWordTimestampsResume() throws {
        let folder = try Fixtures.temporaryFolder(self)
        let first = try Fixtures.testClip("longform.wav")
        let second = folder.appendingPathComponent("copy of longform.wav").path
        try FileManager.default.copyItem(atPath: first, toPath: second)
        let options = "beam_size: 1, word_timestamps: true"
        let whole = folder.appendingPathComponent("whole"), killed = folder.appendingPathComponent("killed")
        try run(try pipeline(first, "'\(second)'", options: options, batchSize: 2, in: whole))
        let expected = try recordLines(whole)
        XCTAssertEqual(expected.count, 2)
        let p = try pipeline(first, "'\(second)'", options: options, batchSize: 2, in: killed)
        try run(p, killAfterWindows: 5)
        let journals = try FileManager.default.contentsOfDirectory(at: checkpointFolder(killed), includingPropertiesForKeys: nil)
        XCTAssertEqual(journals.count, 2, "one journal per file")
        let windows = try journals.map { try String(contentsOf: $0, encoding: .utf8).split(separator: "\n").count - 1 }
        XCTAssertEqual(windows.reduce(0, +), 5, "\(windows)")
        XCTAssertTrue(try String(contentsOf: journals[0], encoding: .utf8).contains("\"words\""), "words are checkpointed")
        try run(p)
        XCTAssertEqual(try recordLines(killed), expected)
        XCTAssertFalse(FileManager.default.fileExists(atPath: checkpointFolder(killed).path))
        print("batched pair with word timestamps: killed after \(windows) windows, resumed records identical")
    }

    /// The long-form clip (~3 min, 7 windows) killed after 2 windows with `beam_size: 1`: the folder
    /// and its checkpoint for the edits below.
    func killedShortRun(_ name: String) throws -> (folder: URL, audio: String) {
        let folder = try Fixtures.temporaryFolder(self).appendingPathComponent(name)
        let audio = try Fixtures.testClip("longform.wav")
        try run(try pipeline(audio, in: folder), killAfterWindows: 2)
        XCTAssertEqual(try journal(folder).lines.count, 3)
        return (folder, audio)
    }

    /// An uninterrupted run's record of the long-form clip with `options`.
    func uninterrupted(_ options: String) throws -> Data {
        let folder = try Fixtures.temporaryFolder(self).appendingPathComponent("whole")
        try run(try pipeline(try Fixtures.testClip("longform.wav"), options: options, in: folder))
        return try recordLine(folder)
    }

    /// A checkpoint made with other options (an initial prompt changes every window) is ignored with
    /// a warning: the run starts the file over and gives that option's uninterrupted record.
    func testCheckpointOfOtherOptionsIsIgnored() throws {
        let (folder, audio) = try killedShortRun("other-options")
        let options = "beam_size: 1, initial_prompt: \"A reading room.\""
        let stderr = try run(try pipeline(audio, options: options, in: folder))
        XCTAssertTrue(stderr.contains("made for another version of the input, model or options"), stderr)
        XCTAssertEqual(try recordLine(folder), try uninterrupted(options))
    }

    /// Corrupt checkpoints never crash a run: a garbled window line or header starts the file over
    /// (with a warning), a torn last line is cut off and the windows before it are kept; each run
    /// ends with the uninterrupted record.
    func testCorruptOrTruncatedCheckpointIsIgnored() throws {
        let expected = try uninterrupted("beam_size: 1")
        for damage in ["garbled window", "garbled header", "torn last line", "window from elsewhere"] {
            let (folder, audio) = try killedShortRun(damage.replacingOccurrences(of: " ", with: "-"))
            let (url, lines) = try journal(folder)
            var text: String
            switch damage {
            case "garbled window": text = [lines[0], "{\"window\":0,\"seek\":", lines[2]].joined(separator: "\n") + "\n"
            case "garbled header": text = ["\u{1}\u{2}not json", lines[1], lines[2]].joined(separator: "\n") + "\n"
            case "torn last line": text = [lines[0], lines[1], String(lines[2].prefix(40))].joined(separator: "\n")
            default:  // decodes, but as the second window it does not follow the first
                text = [lines[0], lines[1], lines[1]].joined(separator: "\n") + "\n"
            }
            try Data(text.utf8).write(to: url)
            let stderr = try run(try pipeline(audio, in: folder))
            let warned = stderr.contains("ignored")
            XCTAssertEqual(warned, damage != "torn last line", "\(damage): \(stderr)")
            XCTAssertEqual(try recordLine(folder), expected, damage)
            XCTAssertFalse(FileManager.default.fileExists(atPath: checkpointFolder(folder).path), damage)
        }
    }
}
