import Foundation

/// Combines results files (typically the shards of one pipeline) into one: the last record of
/// each id, ordered by item index — the same lines a single-machine run writes.
public enum ResultsMerge {
    public struct Outcome {
        /// The merged records, read one at a time from their files.
        public var records: RecordSource
        public var count: Int
        public var errorCount: Int
        /// Human-readable notes: ids found in several files, missing shards, torn or bad lines,
        /// records from different configurations.
        public var warnings: [String]
        let winners: [(file: ResultsFile, entry: LogEntry)]

        /// Writes the merged results file (lines copied as they are).
        public func write(to url: URL) throws {
            try writeAtomically(to: url) { sink in
                for (file, entry) in winners {
                    var line = try file.line(entry)
                    line.append(0x0A)
                    sink.write(line)
                }
            }
        }
    }

    public static func merge(_ urls: [URL]) throws -> Outcome {
        var winner: [String: (file: ResultsFile, entry: LogEntry)] = [:]
        var warnings: [String] = []
        var duplicates = 0
        for url in urls {
            let file = try ResultsFile(url: url)
            let bad = file.unreadableLines
            if !bad.isEmpty { warnings.append("\(url.path): \(bad.count) unreadable lines skipped (first: line \(bad[0]))") }
            if file.tornBytes > 0 { warnings.append("\(url.path): a torn last line (\(file.tornBytes) bytes) ignored; rerun that shard to redo its item") }
            for entry in LogEntry.latest(file.entries) {
                if let previous = winner[entry.id] {
                    duplicates += 1
                    if duplicates <= 5 { warnings.append("\(entry.id) is in \(previous.file.url.path) and \(url.path); keeping the latter") }
                }
                winner[entry.id] = (file, entry)
            }
        }
        if duplicates > 5 { warnings.append("\(duplicates) ids in total were in more than one file") }
        warnings += missingShards(urls.map(\.lastPathComponent))
        let winners = winner.values.sorted { ($0.entry.index, $0.entry.id) < ($1.entry.index, $1.entry.id) }
        let configurations = Set(winners.map(\.entry.configuration))
        if configurations.count > 1 {
            warnings.append("records come from \(configurations.count) pipeline configurations (\(configurations.sorted().joined(separator: ", ")))")
        }
        let source = RecordSource(count: winners.count) { body in for (file, entry) in winners { try body(file.record(entry)) } }
        return Outcome(records: source, count: winners.count, errorCount: winners.filter { $0.entry.status == .error }.count,
                       warnings: warnings, winners: winners)
    }

    /// Notes shards of a `NAME.shard-I-of-N.EXT` family that are not among `names`.
    static func missingShards(_ names: [String]) -> [String] {
        var families: [String: (count: Int, seen: Set<Int>)] = [:]
        let pattern = try! NSRegularExpression(pattern: #"^(.*)\.shard-(\d+)-of-(\d+)(\.[^.]*)?$"#)
        for name in names {
            guard let m = pattern.firstMatch(in: name, range: NSRange(name.startIndex..., in: name)),
                  let i = Int(name[Range(m.range(at: 2), in: name)!]), let n = Int(name[Range(m.range(at: 3), in: name)!]) else { continue }
            let family = String(name[Range(m.range(at: 1), in: name)!]) + "-of-\(n)"
            families[family, default: (n, [])].seen.insert(i)
        }
        return families.keys.sorted().compactMap { family in
            let (count, seen) = families[family]!
            let missing = (0..<count).filter { !seen.contains($0) }
            return missing.isEmpty ? nil : "shards \(missing.map(String.init).joined(separator: ", ")) of \(count) are missing"
        }
    }

}
