import Foundation

/// Combines results files (typically the shards of one pipeline) into one: the last record of
/// each id, ordered by item index — the same lines a single-machine run writes.
public enum ResultsMerge {
    public struct Outcome {
        public var records: [ResultRecord]
        /// Human-readable notes: ids found in several files, missing shards, torn or bad lines,
        /// records from different configurations.
        public var warnings: [String]
    }

    public static func merge(_ urls: [URL]) throws -> Outcome {
        var winner: [String: (record: ResultRecord, file: String)] = [:]
        var warnings: [String] = []
        var duplicates = 0
        for url in urls {
            let (records, bad, torn) = try ResultsLog.read(url)
            if !bad.isEmpty { warnings.append("\(url.path): \(bad.count) unreadable lines skipped (first: line \(bad[0]))") }
            if torn > 0 { warnings.append("\(url.path): a torn last line (\(torn) bytes) ignored; rerun that shard to redo its item") }
            for record in ResultRecord.latest(records) {
                if let previous = winner[record.id] {
                    duplicates += 1
                    if duplicates <= 5 { warnings.append("\(record.id) is in \(previous.file) and \(url.path); keeping the latter") }
                }
                winner[record.id] = (record, url.path)
            }
        }
        if duplicates > 5 { warnings.append("\(duplicates) ids in total were in more than one file") }
        warnings += missingShards(urls.map(\.lastPathComponent))
        let records = winner.values.map(\.record).sorted { ($0.index, $0.id) < ($1.index, $1.id) }
        let configurations = Set(records.map(\.configuration))
        if configurations.count > 1 {
            warnings.append("records come from \(configurations.count) pipeline configurations (\(configurations.sorted().joined(separator: ", ")))")
        }
        return Outcome(records: records, warnings: warnings)
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

    /// Writes merged records as a results file.
    public static func write(_ records: [ResultRecord], to url: URL) throws {
        var data = Data()
        for record in records { data.append(try record.line()) }
        try writeAtomically(data, to: url)
    }
}
