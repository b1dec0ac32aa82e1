import Foundation
import ModelStore

/// Where stages keep unfinished items' progress: `<results>.checkpoints/<stage>-<SHA-256 of the
/// item id, 16 hex>.jsonl` next to the results file. An item's files go once its record is written;
/// the folder goes when a run ends with nothing left to do (or with `--fresh`, before it starts).
struct CheckpointFolder {
    let directory: URL

    init(resultsURL: URL) {
        directory = resultsURL.deletingLastPathComponent().appendingPathComponent(resultsURL.lastPathComponent + ".checkpoints")
    }

    func url(item: String, stage: String) -> URL {
        directory.appendingPathComponent("\(stage)-\(SHA256.hex(Array(item.utf8)).prefix(16)).jsonl")
    }

    func remove(item: String, stages: [String]) {
        for stage in stages { try? FileManager.default.removeItem(at: url(item: item, stage: stage)) }
    }

    func removeAll() { try? FileManager.default.removeItem(at: directory) }
}
