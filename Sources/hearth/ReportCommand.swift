import ArgumentParser
import Foundation
import Pipelines

/// `hearth report`: results → one static HTML page.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a self-contained HTML report of results files (transcripts, images, Q/A, errors).")

    @Argument(help: "Results files (JSONL); several are merged as `hearth merge` does.")
    var results: [String]

    @Option(name: [.short, .customLong("output")], help: "The HTML file to write.")
    var output = "report.html"

    @Option(help: "Page title (default: the first results file's folder name).")
    var title: String?

    func validate() throws {
        if results.isEmpty { throw ValidationError("give at least one results file") }
    }

    func run() throws {
        let outcome = try ResultsMerge.merge(results.map { URL(fileURLWithPath: $0) })
        for warning in outcome.warnings { printError("warning: \(warning)") }
        let name = title ?? URL(fileURLWithPath: results[0]).standardizedFileURL.deletingLastPathComponent().lastPathComponent
        try HTMLReport(title: name, records: outcome.records).write(to: URL(fileURLWithPath: output))
        printError("\(outcome.count) records → \(output)")
    }
}
