import ArgumentParser
import Foundation
import Pipelines

/// `hearth merge`: shard results → one results file.
struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Combine results files (e.g. shards) into one, ordered as a single run writes it.",
        discussion: "The last record of each item wins, as everywhere results are read.")

    @Argument(help: "Results files (JSONL).")
    var results: [String]

    @Option(name: [.short, .customLong("output")], help: "The merged results file.")
    var output: String

    @Option(help: "Also write the CSV view here.")
    var csv: String?

    @Option(help: "Also write the HTML report here.")
    var report: String?

    func run() throws {
        let outcome = try ResultsMerge.merge(results.map { URL(fileURLWithPath: $0) })
        for warning in outcome.warnings { printError("warning: \(warning)") }
        try ResultsMerge.write(outcome.records, to: URL(fileURLWithPath: output))
        if let csv { try Data(CSVView.render(outcome.records).utf8).write(to: URL(fileURLWithPath: csv)) }
        if let report {
            let title = URL(fileURLWithPath: output).deletingPathExtension().lastPathComponent
            try Data(HTMLReport(title: title, records: outcome.records).render().utf8).write(to: URL(fileURLWithPath: report))
        }
        let failed = outcome.records.filter { $0.status == .error }.count
        printError("\(outcome.records.count) records (\(failed) errors) from \(results.count) files → \(output)")
    }
}
