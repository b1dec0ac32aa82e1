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
        let merged = URL(fileURLWithPath: output)
        try outcome.write(to: merged)
        // Embedding references name a vector file beside their results file (Pipelines/Results/VectorFile).
        for input in results.map({ URL(fileURLWithPath: $0) }) {
            let vectors = VectorFile.url(forResults: input)
            if FileManager.default.fileExists(atPath: vectors.path),
               input.deletingLastPathComponent().standardizedFileURL != merged.deletingLastPathComponent().standardizedFileURL {
                printError("warning: \(input.path)'s embeddings are in \(vectors.path); copy it beside \(output) for `hearth search`")
            }
        }
        // The views are made from the merged file, one record at a time.
        let source = try ResultsFile(url: merged).latest
        if let csv { try CSVView.write(source, to: URL(fileURLWithPath: csv)) }
        if let report {
            let title = merged.deletingPathExtension().lastPathComponent
            try HTMLReport(title: title, records: source).write(to: URL(fileURLWithPath: report))
        }
        printError("\(outcome.count) records (\(outcome.errorCount) errors) from \(results.count) files → \(output)")
    }
}
