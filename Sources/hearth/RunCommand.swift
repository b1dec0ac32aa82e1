import ArgumentParser
import Foundation
import Pipelines

/// `hearth run`: a pipeline file over its inputs, resumable, shardable.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a pipeline file: resumes where it stopped, skips items already done.",
        discussion: """
            Exit status: 0 when every item succeeded, 1 when some items have error records (the \
            others are done), 2 when the run could not start or stopped (invalid pipeline, \
            results not writable, a model that does not load), 143 / 130 when SIGTERM / SIGINT \
            stopped it: no item starts after the signal, finished records are kept, and running \
            again resumes. A second signal stops at once.

            Shards: --shard I/N (0-based) runs the items whose id hashes to I. Without it, \
            SLURM_ARRAY_TASK_ID (minus SLURM_ARRAY_TASK_MIN) of SLURM_ARRAY_TASK_COUNT, or \
            JOB_COMPLETION_INDEX of --shards / HEARTH_SHARDS, select the shard. Each shard writes \
            RESULTS.shard-I-of-N.jsonl; `hearth merge` combines them.
            """)

    @Argument(help: "The pipeline file (YAML).")
    var pipeline: String

    @Option(help: "Run shard I of N (0-based), e.g. 0/4.")
    var shard: String?

    @Option(help: "Shard count for JOB_COMPLETION_INDEX / SLURM_ARRAY_TASK_ID (default: HEARTH_SHARDS / SLURM_ARRAY_TASK_COUNT).")
    var shards: Int?

    @Flag(help: "Print only errors and the final line.")
    var quiet = false

    @Flag(name: .customLong("json-progress"), help: "Progress as one JSON object per line on stderr.")
    var jsonProgress = false

    @Option(help: "CPU threads for matrix products (default: run.threads, else all cores).")
    var threads: Int?

    @Option(name: .customLong("batch-size"), help: "Items per model batch for every stage (default: the pipeline's, else each stage's: transcribe 4 greedy, 1 with beam 5).")
    var batchSize: Int?

    @Flag(help: "Discard existing results and start over.")
    var fresh = false

    func validate() throws {
        if quiet && jsonProgress { throw ValidationError("--quiet and --json-progress exclude each other") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if let batchSize, batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
    }

    func run() throws {
        let stop = SignalStop.install(announce: !jsonProgress)
        let loaded: Pipeline
        do { loaded = try loadPipeline(pipeline) } catch { throw ExitCode(2) }
        var options = RunOptions()
        options.batchSize = batchSize
        options.threads = threads
        options.fresh = fresh
        options.progress = jsonProgress ? .json : quiet ? .quiet : .auto()
        options.stop = stop
        let runner: PipelineRunner
        let summary: RunSummary
        do {
            options.shard = try Shard.resolve(flag: shard, shards: shards, environment: ProcessInfo.processInfo.environment)
            runner = PipelineRunner(pipeline: loaded, options: options)
            summary = try runner.run()
        } catch {
            printError("error: \(error)")
            throw ExitCode(2)
        }
        try SignalStop.exitIfStopped(summary, resumable: true, printLine: !jsonProgress)
        if !quiet && !jsonProgress {
            var lines = ["results: \(runner.resultsURL.path)", "summary: \(runner.summaryURL.path)"]
            if let csv = runner.csvURL { lines.append("csv:     \(csv.path)") }
            if let report = runner.reportURL { lines.append("report:  \(report.path)") }
            print(lines.joined(separator: "\n"))
        }
        if summary.exitStatus != 0 { throw ExitCode(summary.exitStatus) }
    }
}
