import ArgumentParser
import Foundation
import Pipelines

/// `hearth transcribe`, `caption`, `detect` and `ask --audio|--image` are pipelines: the command
/// line becomes a pipeline file (one stage; two when `ask` reads a file), run by the same
/// `PipelineRunner` as `hearth run`. Items, stage code, records, sidecars, provenance, error
/// records and resume are therefore `hearth run`'s; the commands only print.
///
/// With `--output-dir` the run's outputs stay there (results.jsonl, summary.json and one sidecar
/// per item and format, named as `hearth run` names them), and running the same command again
/// resumes. Without it they go to a temporary folder, removed afterwards.
struct CommandLinePipeline {
    struct Stage {
        var task: String
        var name: String? = nil
        var model: String? = nil
        var prompt: String? = nil
        /// The stage's `options` mapping, with the pipeline file's keys.
        var options: [String: Any] = [:]
    }

    /// The command's name (the pipeline's name in summaries).
    var command: String
    var stages: [Stage]
    /// Files and folders as the user named them.
    var inputs: [String]
    /// Fields of every item (templates read them as `{{item.NAME}}`).
    var fields: [String: String] = [:]
    /// Sidecar formats written with `--output-dir`.
    var sidecars: [String] = []
    var outputDir: String?
    var batchSize: Int?
    var threads: Int?
    /// Flag spellings of option keys for messages (`beam_size` → `--beam-size` by default).
    var flags: [String: String] = [:]

    /// What the command prints from.
    struct Outcome {
        var pipeline: Pipeline
        /// Records in item order, with the path each was named by on the command line.
        var records: [(given: String, record: ResultRecord)]
        /// Inputs that failed: missing ones and error records (already reported on stderr).
        var failures: Int
        /// Inputs that did not exist.
        var missing: Int
        /// The run's summary (`stoppedBy` when a signal stopped it).
        var summary: RunSummary
        /// Whether the results stay on disk, so running again resumes (`--output-dir`).
        var resumable: Bool
        /// "2 of 5 files failed" when some did.
        func failureLine(_ noun: String) -> String? {
            failures == 0 ? nil : "\(failures) of \(records.count + missing) \(noun) failed"
        }

        /// After the records are printed: "stopped by SIGINT after 2 of 5 items" and exit status
        /// 130 / 143 when a signal stopped the run, else "2 of 5 files failed" and 1 when some did.
        func exitIfIncomplete(_ noun: String) throws {
            try SignalStop.exitIfStopped(summary, resumable: resumable)
            if let line = failureLine(noun) {
                printError(line)
                throw ExitCode(1)
            }
        }

        /// What every media command prints: nothing when results went to --output-dir, else per
        /// finished record its `--json` line or `text(given, record)` as it is (newlines included);
        /// then `exitIfIncomplete`.
        func print(_ output: OutputFlags, noun: String, stage: Int = 0,
                   text: (_ given: String, _ record: ResultRecord) throws -> String) throws {
            if output.outputDir == nil {
                for (given, record) in records where record.status == .ok {
                    if output.json { Swift.print(try json(given, record, stage: stage)) } else { Swift.print(try text(given, record), terminator: "") }
                }
            }
            try exitIfIncomplete(noun)
        }
    }

    /// Builds and runs the pipeline. Missing inputs are reported and counted, the others go on;
    /// option problems end the command with the flag named.
    func run() throws -> Outcome {
        let stop = SignalStop.install()
        var failures = 0
        var given: [String: String] = [:]   // absolute path → as given
        var paths: [String] = []
        for input in inputs {
            guard FileManager.default.fileExists(atPath: input) else {
                printError("error: \(input): no such file or folder")
                failures += 1
                continue
            }
            let absolute = URL(fileURLWithPath: input).standardizedFileURL.path
            given[absolute] = input
            paths.append(absolute)
        }
        guard !paths.isEmpty else { throw ExitCode(1) }

        let work = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-\(command)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let output = outputDir.map { URL(fileURLWithPath: $0).standardizedFileURL.path } ?? work.appendingPathComponent("out").path

        var document: [String: Any] = [
            "inputs": paths.map { path -> [String: Any] in fields.isEmpty ? ["path": path] : ["path": path, "fields": fields] },
            "stages": stages.map { stage -> [String: Any] in
                var s: [String: Any] = ["task": stage.task]
                if let name = stage.name { s["name"] = name }
                if let model = stage.model { s["model"] = model }
                if let prompt = stage.prompt { s["prompt"] = prompt }
                if !stage.options.isEmpty { s["options"] = stage.options }
                return s
            },
            "outputs": ["directory": output, "sidecars": outputDir == nil ? [] : sidecars] as [String: Any],
        ]
        if let batchSize { document["run"] = ["batch_size": batchSize] }
        // JSON is YAML: the pipeline file is written as JSON, so no value needs YAML quoting.
        let file = work.appendingPathComponent("\(command).yaml")
        try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys]).write(to: file)

        let pipeline: Pipeline
        do {
            pipeline = try Pipeline.load(path: file.path)
        } catch let errors as PipelineErrors {
            let problems = errors.diagnostics.filter { !$0.isWarning }.map { spell($0) }
            throw ValidationError(problems.joined(separator: "\n"))
        }
        for warning in pipeline.warnings { printError("warning: " + spell(warning)) }

        var options = RunOptions()
        options.batchSize = batchSize
        options.threads = threads
        options.progress = outputDir == nil ? .silent : .auto()
        options.stop = stop
        let runner = PipelineRunner(pipeline: pipeline, options: options)
        let summary: RunSummary
        do { summary = try runner.run() } catch {
            printError("error: \(error)")
            throw ExitCode(2)
        }
        // One per item, in order (a completed run compacted the file; a stopped one may hold superseded records).
        let records = ResultRecord.latest(try ResultsLog.read(runner.resultsURL).records)
        var outcome = Outcome(pipeline: pipeline, records: [], failures: failures, missing: failures, summary: summary,
                              resumable: outputDir != nil)
        for record in records {
            let name = given[record.path] ?? given.first { record.path.hasPrefix($0.key + "/") }
                .map { $0.value + record.path.dropFirst($0.key.count) } ?? record.input
            if record.status == .error {
                printError("error: \(name): \(record.message ?? "failed")")
                outcome.failures += 1
            }
            outcome.records.append((name, record))
        }
        return outcome
    }

    /// A diagnostic as the command line says it: `stages[0].options.beam_size: …` → `--beam-size: …`.
    func spell(_ d: PipelineDiagnostic) -> String {
        guard let range = d.key.range(of: #"^stages\[\d+\]\.options\."#, options: .regularExpression) else {
            return d.key.isEmpty ? d.message : "\(d.key): \(d.message)"
        }
        let key = String(d.key[range.upperBound...])
        return (flags[key] ?? "--" + key.replacingOccurrences(of: "_", with: "-")) + ": " + d.message
    }
}

extension CommandLinePipeline.Outcome {
    /// Renders one of the record's stage results as the sidecar `format` would hold it.
    func render(_ record: ResultRecord, stage: Int = 0, format: SidecarFormat) throws -> String? {
        let spec = pipeline.stages[stage]
        guard let result = record.results[spec.spec.name] else { return nil }
        return try spec.task.renderSidecar(result, format: format, item: record, provenance: spec.provenance)
    }

    /// One JSON object for `--json`: the stage's result fields, the path, the timings and the
    /// stage's provenance (model, file hashes, options) with the Hearth version.
    func json(_ given: String, _ record: ResultRecord, stage: Int = 0) throws -> String {
        let spec = pipeline.stages[stage]
        var object = record.results[spec.spec.name]?.objectValue ?? [:]
        object["path"] = .string(given)
        object["timings"] = .object(record.timings.mapValues { .double($0) })
        var provenance = try JSONValue(encoding: spec.provenance).objectValue ?? [:]
        provenance["hearth_version"] = .string(record.provenance.hearthVersion)
        object["provenance"] = .object(provenance)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(JSONValue.object(object)), as: UTF8.self)
    }
}

/// Flags every media command shares: where results go, `--json`, threads.
struct OutputFlags: ParsableArguments {
    @Option(name: .customLong("output-dir"), help: "Write each file's sidecars here, with results.jsonl and summary.json (a rerun resumes), instead of printing.")
    var outputDir: String?

    @Flag(help: "Print one JSON object per file (the stage's result, path, timings, provenance).")
    var json = false

    @Option(help: "CPU threads for matrix products.")
    var threads = ProcessInfo.processInfo.activeProcessorCount
}

/// Flags of the image commands for video inputs: which frames are looked at (`frame_interval`, `max_frames`).
struct FrameFlags: ParsableArguments {
    @Option(name: .customLong("frame-interval"), help: "Videos: seconds between sampled frames (default 10).")
    var frameInterval: Double?

    @Option(name: .customLong("max-frames"), help: "Videos: at most this many frames, spread over longer videos (default 12).")
    var maxFrames: Int?

    /// Adds the flags that are set to a stage's options.
    func add(to options: inout [String: Any]) {
        if let frameInterval { options["frame_interval"] = frameInterval }
        if let maxFrames { options["max_frames"] = maxFrames }
    }
}
