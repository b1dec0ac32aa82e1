import Foundation
import Pipelines
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The `hearth` executable as users run it: kill -9 and resume, shards and merge, the commands'
/// output and exit statuses. Real whisper-tiny.en, greedy, short clips.
final class ProcessTests: XCTestCase {
    /// Five short clips and two broken files, by absolute path (so every test folder lists the
    /// same item ids).
    static func inputs() throws -> [String] {
        [Fixtures.sample("jfk.wav"), Fixtures.sample("jfk.mp3"), Fixtures.sample("speech_espeak.flac"),
         try Fixtures.testClip("speech.ogg"), try Fixtures.testClip("stereo_44k.flac"),
         try Fixtures.testClip("empty.wav"), try Fixtures.testClip("notaudio.wav")]
    }

    static func pipelineText(batchSize: Int = 1) throws -> String {
        """
        inputs:
        \(try inputs().map { "  - \($0)" }.joined(separator: "\n"))
        stages:
          - task: transcribe
            options: {beam_size: 1}
        outputs:
          directory: out
          sidecars: [srt]
        run: {batch_size: \(batchSize)}
        """
    }

    /// The records of one uninterrupted run, made once for the tests that compare with it.
    nonisolated(unsafe) static var cachedBaseline: [ResultRecord]?

    func baseline() throws -> [ResultRecord] {
        if let cached = Self.cachedBaseline { return cached }
        let folder = try Fixtures.temporaryFolder(self)
        let pipeline = try Fixtures.write(try Self.pipelineText(), to: folder.appendingPathComponent("p.yaml"))
        let result = try runProcess(try Fixtures.hearthBinary(), ["run", pipeline.path, "--quiet"])
        XCTAssertEqual(result.status, 1, "two items are broken: \(result.stderr)")
        let records = try latestRecords(folder.appendingPathComponent("out/results.jsonl"))
        XCTAssertEqual(records.count, 7)
        XCTAssertEqual(records.filter { $0.status == .ok }.count, 5)
        Self.cachedBaseline = records
        return records
    }

    override func setUpWithError() throws {
        try Fixtures.requireModel()
        _ = try Fixtures.hearthBinary()
    }

    // MARK: kill -9 and resume

    /// Runs with HEARTH_TEST_STOP_AFTER_RECORDS=`records`: the run kills itself with SIGKILL right
    /// after writing its `records`-th record (0: once its results are open and its work listed).
    /// Returns whether it died by that SIGKILL (not by finishing first).
    func killRun(pipeline: URL, afterRecords records: Int) throws -> Bool {
        let process = Process()
        process.executableURL = try Fixtures.hearthBinary()
        process.arguments = ["run", pipeline.path, "--quiet"]
        process.environment = ProcessInfo.processInfo.environment.merging(["HEARTH_TEST_STOP_AFTER_RECORDS": "\(records)"]) { $1 }
        process.standardError = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGKILL
    }

    /// kill -9 after 0, 1 and 3 written records (and a torn line added by hand), then a full
    /// rerun: the final records equal an uninterrupted run's — nothing lost, nothing doubled.
    func testKillNineAtSeveralPointsThenResume() throws {
        let expected = try baseline()
        let folder = try Fixtures.temporaryFolder(self)
        let pipeline = try Fixtures.write(try Self.pipelineText(), to: folder.appendingPathComponent("p.yaml"))
        let results = folder.appendingPathComponent("out/results.jsonl")

        // Each run redoes the items without an ok record and dies after writing `point` records.
        var recordsAfterKill: [Int] = [], okAfterKill: [Int] = []
        for point in [0, 1, 3] {
            let before = FileManager.default.fileExists(atPath: results.path) ? try ResultsLog.read(results).records.count : 0
            XCTAssertTrue(try killRun(pipeline: pipeline, afterRecords: point), "the run was not killed at its record \(point)")
            let lines = try ResultsLog.read(results)
            XCTAssertEqual(lines.records.count, before + point, "exactly \(point) records written by the killed run")
            XCTAssertEqual(lines.tornBytes, 0, "a kill after a durable record leaves no torn line")
            recordsAfterKill.append(lines.records.count)
            okAfterKill.append(try latestRecords(results).filter { $0.status == .ok }.count)
        }
        print("kill -9 after 0, 1, 3 records: \(recordsAfterKill) lines, \(okAfterKill) ok items")
        XCTAssertLessThan(okAfterKill.last ?? 5, 5, "the last kill landed before the end: \(okAfterKill)")
        XCTAssertEqual(okAfterKill, okAfterKill.sorted(), "work done before a kill is kept")

        // A crash in the middle of a write leaves a torn last line: the next run cuts it off.
        let handle = try FileHandle(forWritingTo: results)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("{\"bytes\":352078,\"configuration\":\"".utf8))
        try handle.close()

        let final = try runProcess(try Fixtures.hearthBinary(), ["run", pipeline.path, "--quiet"])
        XCTAssertEqual(final.status, 1, final.stderr)
        let summary = try JSONDecoder().decode(RunSummary.self, from: Data(contentsOf: folder.appendingPathComponent("out/summary.json")))
        XCTAssertTrue(summary.repairedTornLine)
        XCTAssertEqual(summary.skipped, okAfterKill.last)

        let lines = try ResultsLog.read(results)
        XCTAssertEqual(lines.records.count, 7, "one line per item after the run")
        XCTAssertEqual(lines.tornBytes, 0)
        XCTAssertEqual(lines.records.map(Essence.init), expected.map(Essence.init))
        XCTAssertEqual(lines.records.map { $0.withoutTimings.configuration }, expected.map(\.configuration))
        // Sidecars of every ok item exist (written before their record).
        for record in lines.records where record.status == .ok {
            let name = URL(fileURLWithPath: record.input).lastPathComponent
            let stem = (name as NSString).deletingPathExtension
            let candidates = [stem, name].map { folder.appendingPathComponent("out/\($0).srt").path }
            XCTAssertTrue(candidates.contains { FileManager.default.fileExists(atPath: $0) }, "sidecar of \(record.id)")
        }
    }

    // MARK: Shards

    /// Three shard processes (by flag, by Slurm and by Kubernetes variables), then `hearth merge`:
    /// the same records, in the same order, as a single-machine run.
    func testThreeShardsMergeToASingleRun() throws {
        let expected = try baseline()
        let folder = try Fixtures.temporaryFolder(self)
        let pipeline = try Fixtures.write(try Self.pipelineText(batchSize: 2), to: folder.appendingPathComponent("p.yaml"))
        let hearth = try Fixtures.hearthBinary()
        var environment = ProcessInfo.processInfo.environment
        for key in ["SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_COUNT", "JOB_COMPLETION_INDEX", "HEARTH_SHARDS"] {
            environment[key] = nil
        }
        let launches: [(arguments: [String], environment: [String: String])] = [
            (["--shard", "0/3"], [:]),
            ([], ["SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_COUNT": "3"]),
            ([], ["JOB_COMPLETION_INDEX": "2", "HEARTH_SHARDS": "3"]),
        ]
        var outcomes = [(status: Int32, stdout: String, stderr: String)?](repeating: nil, count: 3)
        let lock = NSLock()
        DispatchQueue.concurrentPerform(iterations: 3) { i in
            let launch = launches[i]
            let outcome = try? runProcess(hearth, ["run", pipeline.path, "--json-progress", "--threads", "1"] + launch.arguments,
                                          environment: environment.merging(launch.environment) { $1 })
            lock.withLock { outcomes[i] = outcome }
        }
        var shardFiles: [URL] = []
        var seen: Set<String> = []
        for i in 0..<3 {
            let outcome = try XCTUnwrap(outcomes[i], "shard \(i) did not start")
            XCTAssertTrue([0, 1].contains(outcome.status), "shard \(i): \(outcome.stderr)")
            // --json-progress: every stderr line is a JSON object; the last is the end event.
            let events = outcome.stderr.split(separator: "\n").map { try? JSONDecoder().decode(JSONValue.self, from: Data($0.utf8)) }
            XCTAssertFalse(events.contains(nil), outcome.stderr)
            XCTAssertEqual(events.first??["event"], .string("start"))
            XCTAssertEqual(events.first??["shard"], .string("\(i)/3"))
            XCTAssertEqual(events.last??["event"], .string("end"))
            let file = folder.appendingPathComponent("out/results.shard-\(i)-of-3.jsonl")
            let records = try latestRecords(file)
            let shard = try Shard(index: i, count: 3)
            XCTAssertTrue(records.allSatisfy { shard.contains($0.id) }, "shard \(i) holds only its items")
            XCTAssertTrue(seen.isDisjoint(with: records.map(\.id)))
            seen.formUnion(records.map(\.id))
            XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent("out/summary.shard-\(i)-of-3.json").path))
            shardFiles.append(file)
        }
        XCTAssertEqual(seen, Set(expected.map(\.id)), "the shards cover every item once")

        let merged = folder.appendingPathComponent("merged.jsonl")
        let merge = try runProcess(hearth, ["merge"] + shardFiles.reversed().map(\.path) + ["-o", merged.path, "--report", folder.appendingPathComponent("r.html").path])
        XCTAssertEqual(merge.status, 0, merge.stderr)
        let records = try ResultsLog.read(merged).records
        XCTAssertEqual(records.map(Essence.init), expected.map(Essence.init), "merged = single run, in the same order")
        XCTAssertEqual(records.map(\.index), Array(0..<7))

        let partial = try runProcess(hearth, ["merge", shardFiles[0].path, shardFiles[2].path, "-o", merged.path])
        XCTAssertTrue(partial.stderr.contains("warning: shards 1 of 3 are missing"), partial.stderr)
    }

    // MARK: Commands

    func testValidateRunAndReportCommands() throws {
        let hearth = try Fixtures.hearthBinary()
        let folder = try Fixtures.temporaryFolder(self)
        let good = try Fixtures.write("""
            inputs: [\(Fixtures.sample("jfk.wav")), \(try Fixtures.testClip("empty.wav"))]
            stages: [{task: transcribe, options: {beam_size: 1}}]
            outputs: {directory: out, report: report.html, csv: results.csv}
            """, to: folder.appendingPathComponent("good.yaml"))
        let validate = try runProcess(hearth, ["validate", good.path, "--list-items"])
        XCTAssertEqual(validate.status, 0, validate.stderr)
        XCTAssertTrue(validate.stdout.contains("items: 2 (1 audio, 1 unknown)"), validate.stdout)
        XCTAssertTrue(validate.stdout.contains("stage transcribe: transcribe, model whisper-tiny.en"), validate.stdout)

        let bad = try Fixtures.write("inputs: [nowhere]\nstages:\n  - task: caption\n    model: whisper-tiny.en\noutputs: {directory: out}\n",
                                     to: folder.appendingPathComponent("bad.yaml"))
        let refused = try runProcess(hearth, ["validate", bad.path])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.contains("\(bad.path):1:10: inputs[0].path: no such file or folder"), refused.stderr)
        XCTAssertTrue(refused.stderr.contains("\(bad.path):4:12: stages[0].model: model 'whisper-tiny.en' is a whisper model; caption needs an image model"),
                      refused.stderr)
        let notRun = try runProcess(hearth, ["run", bad.path])
        XCTAssertEqual(notRun.status, 2, "an invalid pipeline does not start")
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("out").path))

        let run = try runProcess(hearth, ["run", good.path])
        XCTAssertEqual(run.status, 1, "one item failed")
        XCTAssertTrue(run.stderr.contains("error: \(try Fixtures.testClip("empty.wav")): input: empty file (0 bytes)"), run.stderr)
        XCTAssertTrue(run.stderr.contains("2 items: 1 done, 1 failed, 0 skipped"), run.stderr)
        XCTAssertTrue(run.stdout.contains("report:  \(folder.appendingPathComponent("out/report.html").path)"), run.stdout)

        let report = folder.appendingPathComponent("custom.html")
        let made = try runProcess(hearth, ["report", folder.appendingPathComponent("out/results.jsonl").path, "-o", report.path, "--title", "Tapes <1>"])
        XCTAssertEqual(made.status, 0, made.stderr)
        let html = try String(contentsOf: report, encoding: .utf8)
        XCTAssertTrue(html.contains("<h1>Tapes &lt;1&gt;</h1>"))
        XCTAssertTrue(html.contains("ask not what your country can do for you"))
        XCTAssertTrue(html.contains("Errors (1)"))
        XCTAssertFalse(html.contains("<script"), "no scripts")
        XCTAssertFalse(html.contains("http://") || html.contains("https://"), "no external assets")
    }
}
