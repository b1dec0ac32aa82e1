import Foundation
import Models

/// `summary.json`: what one run did.
public struct RunSummary: Codable, Sendable {
    public struct Failure: Codable, Sendable {
        public var id: String
        public var input: String
        public var stage: String
        public var message: String
    }

    public var pipeline: String
    public var name: String
    public var configuration: String
    public var hearthVersion: String = Hearth.version
    /// `I/N` when the run was one shard.
    public var shard: String?
    public var results: String
    /// Items of this run (of this shard).
    public var items: Int
    /// Processed by this run, successfully.
    public var succeeded = 0
    /// Processed by this run, with an error record.
    public var failed = 0
    /// Not processed: an ok record with the same configuration was already there.
    public var skipped: Int
    /// Audio seconds processed by this run.
    public var mediaSeconds = 0.0
    public var wallSeconds = 0.0
    /// Items per model batch, by stage.
    public var batchSizes: [String: Int]
    public var threads: Int
    public var startedAt: String
    /// Records in the results file after the run (ok / error).
    public var recordsOK = 0
    public var recordsError = 0
    /// Records dropped when the results file was rewritten: superseded by newer ones, or of items
    /// no longer listed (or in another shard).
    public var removedRecords = 0
    /// A torn last line (from a crash) was cut off before the run.
    public var repairedTornLine = false
    public var unreadableLines = 0
    /// The signal that stopped the run before every item had a record (nil: the run completed).
    public var stoppedBy: StopReason?
    /// Items without a record when the run stopped (the next run does them).
    public var unfinished = 0
    public var errors: [Failure] = []

    enum CodingKeys: String, CodingKey {
        case pipeline, name, configuration, hearthVersion = "hearth_version", shard, results, items, succeeded, failed, skipped
        case mediaSeconds = "media_seconds", wallSeconds = "wall_seconds", batchSizes = "batch_sizes", threads
        case startedAt = "started_at", recordsOK = "records_ok", recordsError = "records_error"
        case removedRecords = "removed_records", repairedTornLine = "repaired_torn_line", unreadableLines = "unreadable_lines"
        case stoppedBy = "stopped_by", unfinished, errors
    }

    init(pipeline: Pipeline, shard: Shard?, results: String, items: Int, skipped: Int, batchSizes: [String: Int], threads: Int, started: Date) {
        self.pipeline = pipeline.file; name = pipeline.name; configuration = pipeline.configuration
        self.shard = shard.map(\.description); self.results = results; self.items = items; self.skipped = skipped
        self.batchSizes = batchSizes; self.threads = threads
        startedAt = ISO8601DateFormatter().string(from: started)
    }

    mutating func count(_ record: ResultRecord) {
        if record.status == .ok { succeeded += 1 } else { failed += 1 }
        mediaSeconds += record.mediaSeconds ?? 0
    }

    mutating func finish(_ final: [LogEntry]) {
        recordsOK = final.filter { $0.status == .ok }.count
        recordsError = final.count - recordsOK
        errors = final.filter { $0.status == .error }.map {
            Failure(id: $0.id, input: $0.input, stage: $0.stage ?? "", message: $0.message ?? "")
        }
        mediaSeconds = rounded(mediaSeconds)
    }

    /// The exit status a run should end with: 128 + signal when a signal stopped it (143 for
    /// SIGTERM, 130 for SIGINT), else 1 when any item has an error record.
    public var exitStatus: Int32 { stoppedBy?.exitStatus ?? (recordsError > 0 ? 1 : 0) }

    /// `stopped by SIGTERM after 3 of 7 items; run again to resume` (nil when the run completed).
    /// `resumable`: whether the results stay where a rerun finds them.
    public func stopLine(resumable: Bool = true) -> String? {
        guard let stoppedBy else { return nil }
        return "stopped by \(stoppedBy) after \(items - unfinished) of \(items) items" + (resumable ? "; run again to resume" : "")
    }

    /// `3 items: 2 done, 1 failed, 0 skipped · 34s audio in 5s (6.6× realtime) → out/results.jsonl`
    public var line: String {
        var text = "\(items) items: \(succeeded) done, \(failed) failed, \(skipped) skipped (already done)"
        if mediaSeconds > 0 {
            text += " · \(duration(mediaSeconds)) audio in \(duration(wallSeconds))"
            if wallSeconds > 0 { text += String(format: " (%.1f× realtime)", mediaSeconds / wallSeconds) }
        }
        return text + " → \(results)"
    }

    func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self) + Data([0x0A])
    }
}
