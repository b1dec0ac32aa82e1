import Foundation
import Pipelines
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM (Slurm, Kubernetes) and SIGINT (Ctrl-C) sent to the real `hearth` executable: exit
/// status 143 / 130, whole records only, a one-line message, and a resume that ends with exactly
/// the records of an uninterrupted run. Real whisper-tiny.en, greedy; ProcessTests' seven items.
final class SignalTests: XCTestCase {
    /// A `hearth` process whose stderr is collected while it runs.
    final class LaunchedRun: @unchecked Sendable {
        let process = Process()
        private let lock = NSLock()
        private var collected = ["", ""]   // stdout, stderr
        private let reading = DispatchGroup()

        /// `shell`: run /bin/sh with `arguments` instead of hearth.
        init(_ arguments: [String], environment: [String: String] = [:], shell: Bool = false) throws {
            process.executableURL = shell ? URL(fileURLWithPath: "/bin/sh") : try Fixtures.hearthBinary()
            process.arguments = arguments
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
            let pipes = [Pipe(), Pipe()]
            process.standardOutput = pipes[0]
            process.standardError = pipes[1]
            try process.run()
            for (n, pipe) in pipes.enumerated() {
                reading.enter()
                DispatchQueue.global().async { [self] in
                    while true {
                        let data = pipe.fileHandleForReading.availableData
                        if data.isEmpty { break }
                        lock.withLock { collected[n] += String(decoding: data, as: UTF8.self) }
                    }
                    reading.leave()
                }
            }
        }

        var stdout: String { lock.withLock { collected[0] } }
        var stderr: String { lock.withLock { collected[1] } }

        /// Waits until `condition` holds (false: the process ended or 120 s passed first).
        func wait(until condition: () -> Bool) -> Bool {
            let deadline = Date().addingTimeInterval(120)
            while Date() < deadline {
                if condition() { return true }
                if !process.isRunning { return condition() }
                usleep(1_000)
            }
            return false
        }

        /// Sends `signal`; returns when it was sent.
        @discardableResult
        func send(_ signal: Int32) -> Date {
            let sent = Date()
            kill(process.processIdentifier, signal)
            return sent
        }

        /// Waits for the exit: status, whether it exited (rather than died of a signal), stderr lines.
        func finish() -> (status: Int32, exited: Bool, lines: [String]) {
            process.waitUntilExit()
            reading.wait()
            return (process.terminationStatus, process.terminationReason == .exit, stderr.split(separator: "\n").map(String.init))
        }
    }

    /// The begin line `hearth run` prints once its signal handlers are in place and its results are open.
    static let began = "items, "

    /// The uninterrupted run's records and wall time (made once).
    nonisolated(unsafe) static var cachedBaseline: (records: [ResultRecord], seconds: Double)?

    func baseline() throws -> (records: [ResultRecord], seconds: Double) {
        if let cached = Self.cachedBaseline { return cached }
        let folder = try Fixtures.temporaryFolder(self)
        let pipeline = try Fixtures.write(try ProcessTests.pipelineText(batchSize: 2), to: folder.appendingPathComponent("p.yaml"))
        let started = Date()
        let result = try runProcess(try Fixtures.hearthBinary(), ["run", pipeline.path, "--quiet"])
        let seconds = Date().timeIntervalSince(started)
        XCTAssertEqual(result.status, 1, "two items are broken: \(result.stderr)")
        let records = try latestRecords(folder.appendingPathComponent("out/results.jsonl"))
        XCTAssertEqual(records.filter { $0.status == .ok }.count, 5)
        Self.cachedBaseline = (records, seconds)
        return (records, seconds)
    }

    override func setUpWithError() throws {
        try Fixtures.requireModel()
        _ = try Fixtures.hearthBinary()
    }

    /// What a stopped run must have left: every line a whole record, each ok record once and equal
    /// to the uninterrupted run's, no temporary file, the summary's and stderr's account of it.
    /// Returns N of "after N of M items".
    @discardableResult
    func checkStopped(_ out: URL, signal: String, items: Int, lines: [String], expected: [ResultRecord],
                      resumable: Bool = true, file: StaticString = #filePath, line: UInt = #line) throws -> Int {
        let results = out.appendingPathComponent("results.jsonl")
        let read = try ResultsLog.read(results)
        XCTAssertEqual(read.tornBytes, 0, "no torn line", file: file, line: line)
        XCTAssertEqual(read.unreadableLines, [], "every line is a record", file: file, line: line)
        let raw = try Data(contentsOf: results)
        XCTAssertTrue(raw.isEmpty || raw.last == 0x0A, "ends with a newline", file: file, line: line)
        let ok = read.records.filter { $0.status == .ok }
        XCTAssertEqual(Set(ok.map(\.id)).count, ok.count, "no ok record twice: \(ok.map(\.id))", file: file, line: line)
        let baseline = Dictionary(uniqueKeysWithValues: expected.map { ($0.id, Essence($0)) })
        for record in read.records {
            XCTAssertEqual(Essence(record), baseline[record.id], "a stopped run's records are whole and right", file: file, line: line)
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: out.path).filter { $0.hasSuffix(".tmp") }
        XCTAssertEqual(leftovers, [], "no temporary file left", file: file, line: line)

        let summary = try JSONDecoder().decode(RunSummary.self, from: Data(contentsOf: out.appendingPathComponent("summary.json")))
        XCTAssertEqual(summary.stoppedBy?.description, signal, file: file, line: line)
        XCTAssertEqual(summary.items, items, file: file, line: line)
        let done = summary.items - summary.unfinished
        XCTAssertEqual(done, summary.skipped + summary.succeeded + summary.failed, "the unfinished items are the ones not done", file: file, line: line)
        XCTAssertEqual(ok.count, summary.skipped + summary.succeeded, "every ok record counted is on disk, and no other", file: file, line: line)
        XCTAssertEqual(lines.last, "stopped by \(signal) after \(done) of \(items) items" + (resumable ? "; run again to resume" : ""),
                       file: file, line: line)
        return done
    }

    // MARK: Random moments

    /// SIGTERM and SIGINT alternately at seeded-random moments of a run, each stopped run resumed
    /// by the next, until four stops have landed; then the run completes. Every stop: exit status
    /// 143 / 130, whole records, the message; the end: exactly the uninterrupted run's records.
    func testSignalsAtRandomMomentsThenResume() throws {
        let (expected, wall) = try baseline()
        let folder = try Fixtures.temporaryFolder(self)
        let pipeline = try Fixtures.write(try ProcessTests.pipelineText(batchSize: 2), to: folder.appendingPathComponent("p.yaml"))
        let out = folder.appendingPathComponent("out")
        var rng = TestRNG(seed: 16)
        let signals: [(number: Int32, name: String, status: Int32)] = [(SIGTERM, "SIGTERM", 143), (SIGINT, "SIGINT", 130)]
        var stops = 0, completions = 0, attempts = 0
        var latencies: [Double] = [], doneAfterStops: [Int] = []
        while stops < 4 {
            attempts += 1
            XCTAssertLessThan(attempts, 12, "the signals keep missing the runs")
            if attempts >= 12 { return }
            let signal = signals[stops % 2]
            // A moment within the work left (the uninterrupted run's time for the items not yet ok).
            let okBefore = ((try? latestRecords(out.appendingPathComponent("results.jsonl"))) ?? []).filter { $0.status == .ok }.count
            let left = max(0.2, 1 - Double(okBefore) / 5)
            let run = try LaunchedRun(["run", pipeline.path])
            XCTAssertTrue(run.wait { run.stderr.contains(Self.began) }, run.stderr)
            usleep(UInt32(rng.unit() * wall * 0.8 * left * 1e6))
            let landed = run.process.isRunning
            let sent = run.send(signal.number)
            let (status, exited, lines) = run.finish()
            XCTAssertTrue(exited, "exits, not killed by the signal: \(lines)")
            if status == 1 {   // the run completed before the signal
                completions += 1
                XCTAssertEqual(try ResultsLog.read(out.appendingPathComponent("results.jsonl")).records.map(Essence.init), expected.map(Essence.init))
                try FileManager.default.removeItem(at: out)
                continue
            }
            XCTAssertTrue(landed)
            XCTAssertEqual(status, signal.status, "\(signal.name): \(lines)")
            latencies.append(Date().timeIntervalSince(sent))
            doneAfterStops.append(try checkStopped(out, signal: signal.name, items: 7, lines: lines, expected: expected))
            stops += 1
        }
        let final = try runProcess(try Fixtures.hearthBinary(), ["run", pipeline.path, "--quiet"])
        XCTAssertEqual(final.status, 1, final.stderr)
        let records = try ResultsLog.read(out.appendingPathComponent("results.jsonl")).records
        XCTAssertEqual(records.map(\.id), expected.map(\.id), "one record per item, no item twice, in item order")
        XCTAssertEqual(records.map(Essence.init), expected.map(Essence.init))
        let summary = try JSONDecoder().decode(RunSummary.self, from: Data(contentsOf: out.appendingPathComponent("summary.json")))
        XCTAssertNil(summary.stoppedBy)
        latencies.sort()
        print(String(format: "signals: %d stops (%d runs completed first), done after each: %@, stop latency median %.3f s, max %.3f s",
                     stops, completions, doneAfterStops.description, latencies[latencies.count / 2], latencies.last ?? 0))
    }

    // MARK: Edges

    /// SIGTERM as soon as the run has begun (while the model loads): exit 143, no ok record, and the
    /// message; the rerun then does everything.
    func testSignalBeforeTheFirstItem() throws {
        let expected = try baseline().records
        let folder = try Fixtures.temporaryFolder(self)
        let pipeline = try Fixtures.write(try ProcessTests.pipelineText(), to: folder.appendingPathComponent("p.yaml"))
        let run = try LaunchedRun(["run", pipeline.path])
        XCTAssertTrue(run.wait { run.stderr.contains(Self.began) }, run.stderr)
        run.send(SIGTERM)
        let (status, exited, lines) = run.finish()
        XCTAssertTrue(exited)
        XCTAssertEqual(status, 143, "\(lines)")
        let out = folder.appendingPathComponent("out")
        try checkStopped(out, signal: "SIGTERM", items: 7, lines: lines, expected: expected)
        XCTAssertEqual(try ResultsLog.read(out.appendingPathComponent("results.jsonl")).records.filter { $0.status == .ok }.count, 0)
    }

    /// `--json-progress`: the stop is in the end event (`stopped_by`, `unfinished`, `message`) and
    /// stderr stays one JSON object per line.
    func testStopInJSONProgress() throws {
        let folder = try Fixtures.temporaryFolder(self)
        let pipeline = try Fixtures.write(try ProcessTests.pipelineText(), to: folder.appendingPathComponent("p.yaml"))
        let run = try LaunchedRun(["run", pipeline.path, "--json-progress"])
        XCTAssertTrue(run.wait { run.stderr.contains("\"start\"") }, run.stderr)
        run.send(SIGTERM)
        let (status, exited, lines) = run.finish()
        XCTAssertTrue(exited)
        XCTAssertEqual(status, 143, "\(lines)")
        let events = try lines.map { try JSONDecoder().decode(JSONValue.self, from: Data($0.utf8)) }
        let end = try XCTUnwrap(events.last)
        XCTAssertEqual(end["event"], .string("end"))
        XCTAssertEqual(end["stopped_by"], .string("SIGTERM"))
        let unfinished = try XCTUnwrap(end["unfinished"]?.doubleValue)
        XCTAssertGreaterThan(unfinished, 0)
        XCTAssertEqual(end["message"], .string("stopped by SIGTERM after \(7 - Int(unfinished)) of 7 items; run again to resume"))
    }

    /// SIGTERM once the last record is on disk: the run has nothing left to do, so it completes —
    /// results compacted, summary without `stopped_by`, the usual exit status (1: two broken files).
    func testSignalAfterTheLastItem() throws {
        let expected = try baseline().records
        let folder = try Fixtures.temporaryFolder(self)
        let pipeline = try Fixtures.write(try ProcessTests.pipelineText(), to: folder.appendingPathComponent("p.yaml"))
        let results = folder.appendingPathComponent("out/results.jsonl")
        let run = try LaunchedRun(["run", pipeline.path])
        XCTAssertTrue(run.wait { ((try? Data(contentsOf: results)) ?? Data()).filter { $0 == 0x0A }.count >= 7 })
        let landed = run.process.isRunning
        run.send(SIGTERM)
        let (status, exited, lines) = run.finish()
        XCTAssertTrue(exited)
        XCTAssertEqual(status, 1, "\(lines)")
        XCTAssertFalse(lines.contains { $0.hasPrefix("stopped by") }, "\(lines)")
        XCTAssertEqual(try ResultsLog.read(results).records.map(Essence.init), expected.map(Essence.init))
        let summary = try JSONDecoder().decode(RunSummary.self, from: Data(contentsOf: folder.appendingPathComponent("out/summary.json")))
        XCTAssertNil(summary.stoppedBy)
        XCTAssertEqual(summary.unfinished, 0)
        print("signal after the last record: \(landed ? "landed while the run was finishing" : "the run had already ended")")
    }

    /// A signal ignored when hearth starts (`trap '' INT`, as shells do for background jobs) stays
    /// ignored: SIGINT changes nothing, the SIGTERM after it stops the run.
    func testSignalIgnoredAtStartStaysIgnored() throws {
        let folder = try Fixtures.temporaryFolder(self)
        let pipeline = try Self.longPipeline(in: folder)
        let hearth = try Fixtures.hearthBinary().path
        let run = try LaunchedRun(["-c", "trap '' INT; exec \"$0\" run \"$1\"", hearth, pipeline.path], shell: true)
        XCTAssertTrue(run.wait { run.stderr.contains(Self.began) }, run.stderr)
        run.send(SIGINT)
        usleep(300_000)
        XCTAssertTrue(run.process.isRunning, "SIGINT is ignored")
        run.send(SIGTERM)
        let (status, exited, lines) = run.finish()
        XCTAssertTrue(exited)
        XCTAssertEqual(status, 143, "\(lines)")
        XCTAssertEqual(lines.last, "stopped by SIGTERM after 0 of 1 items; run again to resume")
    }

    // MARK: A long recording

    static func longPipeline(in folder: URL) throws -> URL {
        try Fixtures.write("""
            inputs: [\(try Fixtures.testClip("longform.wav"))]
            stages: [{task: transcribe, options: {beam_size: 1}}]
            outputs: {directory: out, sidecars: [srt]}
            """, to: folder.appendingPathComponent("long.yaml"))
    }

    /// SIGINT while a 3-minute recording is transcribed (6 windows, several seconds): the item is
    /// left after the window in progress — exit 130, no record, no sidecar, its finished windows in
    /// a checkpoint — and the rerun resumes it to the whole transcript, removing the checkpoint.
    func testSignalDuringALongRecordingAbandonsIt() throws {
        let folder = try Fixtures.temporaryFolder(self)
        let pipeline = try Self.longPipeline(in: folder)
        let out = folder.appendingPathComponent("out")
        let run = try LaunchedRun(["run", pipeline.path])
        XCTAssertTrue(run.wait { run.stderr.contains(Self.began) }, run.stderr)
        usleep(1_500_000)   // model loaded, a window or two done
        let sent = run.send(SIGINT)
        let (status, exited, lines) = run.finish()
        let latency = Date().timeIntervalSince(sent)
        XCTAssertTrue(exited)
        XCTAssertEqual(status, 130, "\(lines)")
        try checkStopped(out, signal: "SIGINT", items: 1, lines: lines, expected: [])
        XCTAssertEqual(try ResultsLog.read(out.appendingPathComponent("results.jsonl")).records.count, 0, "the long item is abandoned")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("longform.srt").path))
        let checkpoints = out.appendingPathComponent("results.jsonl.checkpoints")
        let journals = (try? FileManager.default.contentsOfDirectory(atPath: checkpoints.path)) ?? []
        XCTAssertLessThanOrEqual(journals.count, 1, "one journal for the one item: \(journals)")
        print(String(format: "signals: SIGINT during a 175 s recording: exit after %.3f s, %d checkpoint", latency, journals.count))

        let rerun = try runProcess(try Fixtures.hearthBinary(), ["run", pipeline.path, "--quiet"])
        XCTAssertEqual(rerun.status, 0, rerun.stderr)
        let records = try ResultsLog.read(out.appendingPathComponent("results.jsonl")).records
        XCTAssertEqual(records.count, 1)
        XCTAssertEqual(records.first?.status, .ok)
        let segments = records.first?.results["transcribe"]?["segments"]?.arrayValue ?? []
        XCTAssertGreaterThan(segments.last?["end"]?.doubleValue ?? 0, 150, "the whole recording, from its start")
        XCTAssertEqual(segments.first?["start"]?.doubleValue ?? -1, 0, accuracy: 2)
        XCTAssertFalse(FileManager.default.fileExists(atPath: checkpoints.path), "checkpoints removed with the record")
    }

    /// A second SIGTERM during the graceful stop ends the process at once: still exit 143, no torn
    /// record, no temporary file.
    func testSecondSignalStopsAtOnce() throws {
        let folder = try Fixtures.temporaryFolder(self)
        let pipeline = try Self.longPipeline(in: folder)
        let out = folder.appendingPathComponent("out")
        let run = try LaunchedRun(["run", pipeline.path])
        XCTAssertTrue(run.wait { run.stderr.contains(Self.began) }, run.stderr)
        usleep(1_000_000)
        run.send(SIGTERM)
        XCTAssertTrue(run.wait { run.stderr.contains("SIGTERM: stopping") }, run.stderr)
        let sent = run.send(SIGTERM)
        let (status, exited, lines) = run.finish()
        let latency = Date().timeIntervalSince(sent)
        XCTAssertTrue(exited)
        XCTAssertEqual(status, 143, "\(lines)")
        XCTAssertEqual(lines.last, "SIGTERM again: stopping now")
        let read = try ResultsLog.read(out.appendingPathComponent("results.jsonl"))
        XCTAssertEqual(read.tornBytes, 0)
        XCTAssertEqual(read.records.count, 0)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out.path).filter { $0.hasSuffix(".tmp") }, [])
        print(String(format: "signals: second SIGTERM: exit after %.3f s", latency))
    }

    // MARK: One-shot commands

    /// `hearth transcribe --output-dir` goes through the same runner: SIGINT after the first record
    /// gives exit 130 and the resume hint, and the same command again completes the rest.
    func testTranscribeCommandStopsAndResumes() throws {
        let expected = try baseline().records
        let folder = try Fixtures.temporaryFolder(self)
        let out = folder.appendingPathComponent("out")
        let inputs = try ProcessTests.inputs().filter { !$0.hasSuffix("empty.wav") && !$0.hasSuffix("notaudio.wav") }
        let arguments = ["transcribe", "--beam-size", "1", "--batch-size", "1", "--output-dir", out.path] + inputs
        let results = out.appendingPathComponent("results.jsonl")
        let run = try LaunchedRun(arguments)
        XCTAssertTrue(run.wait { ((try? Data(contentsOf: results)) ?? Data()).contains(0x0A) })
        run.send(SIGINT)
        let (status, exited, lines) = run.finish()
        XCTAssertTrue(exited)
        XCTAssertEqual(status, 130, "\(lines)")
        let stopped = try ResultsLog.read(results).records
        XCTAssertLessThan(stopped.count, inputs.count, "stopped before the end")
        XCTAssertEqual(lines.last, "stopped by SIGINT after \(stopped.count) of \(inputs.count) items; run again to resume")

        let rerun = try runProcess(try Fixtures.hearthBinary(), arguments)
        XCTAssertEqual(rerun.status, 0, rerun.stderr)
        let records = try ResultsLog.read(results).records
        XCTAssertEqual(records.map(\.path), inputs, "one record per file, in order")
        let text = Dictionary(uniqueKeysWithValues: expected.map { ($0.path, $0.results["transcribe"]?["text"]) })
        for record in records {
            XCTAssertEqual(record.results["transcribe"]?["text"], text[record.path], record.path)
        }
    }

    /// Without `--output-dir` the results live in a temporary folder: SIGINT prints the records
    /// finished so far, says where it stopped (no resume hint: nothing is kept) and exits 130.
    func testTranscribeCommandWithoutOutputDirPrintsWhatFinished() throws {
        let folder = try Fixtures.temporaryFolder(self)
        let inputs = try ProcessTests.inputs().filter { !$0.hasSuffix("empty.wav") && !$0.hasSuffix("notaudio.wav") }
        let run = try LaunchedRun(["transcribe", "--beam-size", "1", "--batch-size", "1"] + inputs, environment: ["TMPDIR": folder.path])
        func records() -> Int {
            let work = (try? FileManager.default.contentsOfDirectory(atPath: folder.path))?.first { $0.hasPrefix("hearth-transcribe-") }
            guard let work, let data = try? Data(contentsOf: folder.appendingPathComponent("\(work)/out/results.jsonl")) else { return 0 }
            return data.filter { $0 == 0x0A }.count
        }
        XCTAssertTrue(run.wait { records() >= 1 })
        run.send(SIGINT)
        let (status, exited, lines) = run.finish()
        XCTAssertTrue(exited)
        XCTAssertEqual(status, 130, "\(lines)")
        let printed = run.stdout.split(separator: "\n").filter { $0.hasPrefix("== ") }.map { String($0.dropFirst(3)) }
        XCTAssertGreaterThan(printed.count, 0)
        XCTAssertLessThan(printed.count, inputs.count)
        XCTAssertEqual(printed, Array(inputs.prefix(printed.count)), "the finished files, in order")
        XCTAssertEqual(lines.last, "stopped by SIGINT after \(printed.count) of \(inputs.count) items")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasPrefix("hearth-") }, [],
                       "the temporary folder is removed")
    }
}
