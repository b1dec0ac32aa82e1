// The batch runner. Items of this shard are compared with the results file: an item with an
// ok record made under the same configuration hash (and the same size and fields) is skipped;
// every other item is processed, `chunkSize` at a time, stage after stage, each stage batching
// its items through the model. A record is appended durably the moment an item's last stage
// finishes. At the end the results file is rewritten with exactly one record per item, in item
// order, and the CSV view, summary and report are written from it.
//
// A stop request (`RunOptions.stop`, set by SIGTERM / SIGINT) is honoured between items, batches
// and stages: no item starts after it, finished records are written, unfinished items get no
// record. A stopped run writes its summary (with `stopped_by`) but leaves compaction and the views
// to the run that completes; records stay valid and are reused by that run.

import Foundation
import Tensors

public struct RunOptions: Sendable {
    public var shard: Shard?
    /// Overrides `run.batch_size` and stages' `batch_size`.
    public var batchSize: Int?
    /// Overrides `run.threads`.
    public var threads: Int?
    /// Ignore (and discard) existing results.
    public var fresh = false
    public var progress: ProgressMode = .auto()
    /// Asked between items and batches; a requested stop ends the run early (`RunSummary.stoppedBy`).
    public var stop = RunStop()
    /// Test hook, from HEARTH_TEST_STOP_AFTER_RECORDS=N: the process kills itself with SIGKILL right
    /// after the N-th record of this run is durably written (N = 0: once the results file is open and
    /// the items to do are listed), so crash/resume tests stop at an exact record instead of polling.
    public var killAfterRecords: Int? = ProcessInfo.processInfo.environment["HEARTH_TEST_STOP_AFTER_RECORDS"].flatMap { Int($0) }
    /// Test hook, from HEARTH_TEST_WAIT_FOR_FILE=path: at that same point (results open, work listed)
    /// the run waits until `path` exists, so a test can change inputs before any item is read.
    public var waitForFile: String? = ProcessInfo.processInfo.environment["HEARTH_TEST_WAIT_FOR_FILE"]
    public init() {}
}

public final class PipelineRunner {
    /// Items taken through all stages together; bounds memory held by pending results.
    static let chunkSize = 64

    public let pipeline: Pipeline
    public let options: RunOptions

    public init(pipeline: Pipeline, options: RunOptions) {
        self.pipeline = pipeline; self.options = options
    }

    public var resultsURL: URL { pipeline.outputURL(pipeline.spec.outputs.results ?? "results.jsonl", shard: options.shard) }
    public var summaryURL: URL { pipeline.outputURL(pipeline.spec.outputs.summary ?? "summary.json", shard: options.shard) }
    public var csvURL: URL? { pipeline.spec.outputs.csv.map { pipeline.outputURL($0, shard: options.shard) } }
    public var reportURL: URL? { pipeline.spec.outputs.report.map { pipeline.outputURL($0, shard: options.shard) } }

    /// Runs the pipeline; per-item failures become error records (see `RunSummary.failed`).
    /// Throws only when the run cannot go on: results not writable, a model that does not load.
    public func run() throws -> RunSummary {
        let started = Date()
        let threads = options.threads ?? pipeline.spec.run?.threads ?? ProcessInfo.processInfo.activeProcessorCount
        BLAS.setThreads(threads)
        let items = pipeline.items.filter { options.shard?.contains($0.id) ?? true }
        let log = try ResultsLog(url: resultsURL)
        defer { log.close() }
        let checkpoints = CheckpointFolder(resultsURL: resultsURL)
        if options.fresh { try log.rewrite([]); checkpoints.removeAll() }
        var latest: [String: LogEntry] = [:]
        for entry in options.fresh ? [] : log.existing { latest[entry.id] = entry }
        let previousRecordCount = options.fresh ? 0 : log.existing.count

        let sidecars = Sidecars(formats: pipeline.spec.outputs.sidecars ?? [], directory: pipeline.sidecarDirectory,
                                stages: pipeline.spec.stages.map { ($0.name, StageTasks.named($0.task)!) })
        var todo: [PipelineItem] = []
        var skipped = 0
        for item in items {
            if let entry = latest[item.id], isReusable(entry, for: item) {
                skipped += 1
                try? sidecars.restore(entry, sidecarName: item.sidecarName, from: log)
            } else {
                todo.append(item)
            }
        }

        let progress = ProgressReporter(mode: options.progress)
        defer { progress.stop() }
        progress.begin(name: pipeline.name, items: items.count, todo: todo.count, skipped: skipped,
                       bytes: todo.reduce(0) { $0 + $1.bytes }, shard: options.shard)
        var summary = RunSummary(pipeline: pipeline, shard: options.shard, results: resultsURL.path, items: items.count,
                                 skipped: skipped, batchSizes: Dictionary(uniqueKeysWithValues: pipeline.stages.map { ($0.spec.name, batchSize($0)) }),
                                 threads: threads, started: started)
        summary.repairedTornLine = log.repairedBytes > 0
        summary.unreadableLines = log.unreadableLines.count

        var appended = 0
        let stop = options.stop
        if options.killAfterRecords == 0 { raise(SIGKILL) }
        if let path = options.waitForFile { while !FileManager.default.fileExists(atPath: path) { usleep(2_000) } }
        let vectorFile = VectorFile(resultsURL: resultsURL, fresh: options.fresh)
        for start in stride(from: 0, to: todo.count, by: Self.chunkSize) where !stop.isRequested {
            let chunk = Array(todo[start..<min(todo.count, start + Self.chunkSize)])
            try process(chunk, checkpoints: checkpoints) { record, item, vectors in
                var record = record
                try stop.whileWriting {
                    // Vectors first (synced), then the record that refers to them.
                    for (stage, rows) in vectors.sorted(by: { $0.key < $1.key }) where !rows.isEmpty {
                        guard case .object(var result)? = record.results[stage] else { continue }
                        result["vectors"] = try vectorFile.append(rows).json
                        record.results[stage] = .object(result)
                    }
                    if record.status == .ok {
                        do { try sidecars.write(for: record, sidecarName: item.sidecarName) } catch {
                            record.status = .error
                            record.stage = "outputs"
                            record.message = "cannot write sidecar files: \(describe(error))"
                        }
                    }
                    latest[record.id] = try log.append(record)
                }
                checkpoints.remove(item: record.id, stages: pipeline.stages.map(\.spec.name))
                appended += 1
                if appended == options.killAfterRecords { raise(SIGKILL) }
                summary.count(record)
                progress.itemFinished(record)
            }
        }

        // Stopped with items left: what is on disk stays as it is (whole records, fsynced).
        if let reason = stop.reason, appended < todo.count {
            summary.stoppedBy = reason
            summary.unfinished = todo.count - appended
            summary.finish(items.compactMap { latest[$0.id] })
            summary.wallSeconds = rounded(Date().timeIntervalSince(started))
            try writeAtomically(try summary.json(), to: summaryURL)
            progress.end(summary)
            return summary
        }

        checkpoints.removeAll()   // every item has its record: leftovers (killed before removal) go
        // One record per item, in item order: superseded and foreign records go.
        let final = try log.rewrite(items.compactMap { item in latest[item.id].map { ($0, item.index, item.path) } })
        summary.removedRecords = previousRecordCount + appended - final.count
        summary.finish(final)

        let source = RecordSource(count: final.count) { body in for entry in final { try body(log.record(entry)) } }
        if let csvURL { try writeAtomically(to: csvURL) { try CSVView.write(source, to: $0) } }
        if let reportURL { try HTMLReport(title: pipeline.name, records: source, summary: summary).write(to: reportURL) }
        summary.wallSeconds = rounded(Date().timeIntervalSince(started))
        try writeAtomically(try summary.json(), to: summaryURL)
        progress.end(summary)
        return summary
    }

    /// An ok record made under this configuration for the same file size and fields.
    func isReusable(_ entry: LogEntry, for item: PipelineItem) -> Bool {
        entry.status == .ok && entry.configuration == pipeline.configuration && entry.input == item.input
            && entry.bytes == item.bytes && (entry.fields ?? [:]) == item.fields
    }

    // MARK: One chunk through every stage

    private struct ItemState {
        var item: PipelineItem
        /// Index of the last stage that reads this item's media (`nil`: none does).
        var lastStage: Int?
        var results: [String: JSONValue] = [:]
        var timings: [String: Double] = [:]
        var mediaSeconds: Double?
        /// Vectors of stages that made them, by stage name, until the record is written.
        var vectors: [String: [[Float]]] = [:]
        var failure: (stage: String, message: String)?
        var written = false
    }

    private func process(_ chunk: [PipelineItem], checkpoints: CheckpointFolder,
                         write: (ResultRecord, PipelineItem, [String: [[Float]]]) throws -> Void) throws {
        let stages = pipeline.stages
        var states = chunk.map { item in
            ItemState(item: item, lastStage: stages.indices.last { applies(stages[$0], to: item) })
        }
        func finish(_ i: Int) throws {
            guard !states[i].written else { return }
            states[i].written = true
            try write(record(states[i]), states[i].item, states[i].vectors)
            states[i].vectors = [:]
        }
        for i in states.indices where states[i].lastStage == nil {
            let item = states[i].item
            let reason = item.media.kind == .unknown ? MediaType.unrecognisedReason(path: item.path)
                : "no stage of this pipeline reads \(item.media.kind.rawValue) files (\(item.media.mime))"
            states[i].failure = ("input", reason)
            try finish(i)
        }
        for (s, stage) in stages.enumerated() {
            if options.stop.isRequested { return }
            let members = states.indices.filter {
                !states[$0].written && states[$0].failure == nil && applies(stage, to: states[$0].item)
            }
            if members.isEmpty { continue }
            try stage.load()
            if options.stop.isRequested { return }
            let name = stage.spec.name
            let inputs = members.map { m in
                let pieces = pipeline.templates[name]?.renderPieces(item: states[m].item.templateValues, results: states[m].results)
                return StageInput(item: states[m].item, prompt: pieces.map { $0.map(\.text).joined() }, previous: states[m].results,
                                  promptPieces: pieces, checkpoint: checkpoints.url(item: states[m].item.id, stage: name))
            }
            let began = Date()
            var writeError: Error?
            stage.process(inputs, batchSize: batchSize(stage), stop: options.stop) { k, result in
                let m = members[k]
                switch result {
                case .success(let output):
                    states[m].results[name] = output.result
                    if let vectors = output.vectors { states[m].vectors[name] = vectors }
                    states[m].timings[name] = rounded(output.timings["wall"] ?? Date().timeIntervalSince(began))
                    for (key, value) in output.timings where key != "wall" { states[m].timings["\(name).\(key)"] = rounded(value) }
                    if let seconds = output.mediaSeconds { states[m].mediaSeconds = max(states[m].mediaSeconds ?? 0, seconds) }
                case .failure(let error):
                    states[m].failure = (name, describe(error))
                }
                if states[m].failure != nil || states[m].lastStage == s {
                    do { try finish(m) } catch { writeError = writeError ?? error }
                }
            }
            if let writeError { throw writeError }
        }
    }

    /// The command line's, the stage's, the pipeline's, else the stage's own preference.
    func batchSize(_ stage: any PipelineStage) -> Int {
        options.batchSize ?? stage.spec.batchSize ?? pipeline.spec.run?.batchSize ?? stage.preferredBatchSize
    }

    private func applies(_ stage: any PipelineStage, to item: PipelineItem) -> Bool {
        stage.task.media.isEmpty || stage.task.media.contains(item.media.kind)
    }

    private func record(_ state: ItemState) -> ResultRecord {
        var timings = state.timings
        timings["total"] = rounded(pipeline.stages.compactMap { timings[$0.spec.name] }.reduce(0, +))
        let item = state.item
        return ResultRecord(
            id: item.id, index: item.index, input: item.input, path: item.path, media: item.media.mime, bytes: item.bytes,
            fields: item.fields.isEmpty ? nil : item.fields, status: state.failure == nil ? .ok : .error,
            stage: state.failure?.stage, message: state.failure?.message, configuration: pipeline.configuration,
            results: state.results, mediaSeconds: state.mediaSeconds, timings: timings,
            provenance: RecordProvenance(stages: pipeline.stages.map { .init(name: $0.spec.name, provenance: $0.provenance) }))
    }
}

/// An error's message, without Swift's type decoration where the error describes itself.
func describe(_ error: Error) -> String {
    if let e = error as? LocalizedError, let text = e.errorDescription { return text }
    return String(describing: error)
}
