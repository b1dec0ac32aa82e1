import ArgumentParser
import Foundation
import Pipelines

/// `hearth validate`: every check `hearth run` makes before starting, and nothing else.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a pipeline file: keys, types, inputs, models, prompt templates.",
        discussion: "Problems are printed as FILE:LINE:COLUMN: KEY: message. Exit status 1 when there are errors.")

    @Argument(help: "The pipeline file (YAML).")
    var pipeline: String

    @Flag(name: .customLong("list-items"), help: "Print every item (id, media type, where it was listed).")
    var listItems = false

    func run() throws {
        let loaded = try loadPipeline(pipeline)
        let kinds = Dictionary(grouping: loaded.items, by: { $0.media.kind.rawValue }).mapValues(\.count)
        print("\(pipeline): ok")
        print("  items: \(loaded.items.count)" + (kinds.isEmpty ? "" : " (" + kinds.keys.sorted().map { "\(kinds[$0]!) \($0)" }.joined(separator: ", ") + ")"))
        for stage in loaded.stages {
            let model = stage.provenance.model.map { ", model \($0)" } ?? ""
            print("  stage \(stage.spec.name): \(stage.spec.task)\(model)")
        }
        print("  configuration: \(loaded.configuration)")
        print("  outputs: \(loaded.outputDirectory.path)")
        if listItems {
            for item in loaded.items { print("\(item.id)\t\(item.media)\t\(item.source)") }
        }
    }
}

/// Loads a pipeline, printing warnings; errors are printed and end the command (exit 1).
func loadPipeline(_ path: String) throws -> Pipeline {
    do {
        let pipeline = try Pipeline.load(path: path)
        for warning in pipeline.warnings { printError(warning.description) }
        return pipeline
    } catch let errors as PipelineErrors {
        for diagnostic in errors.diagnostics { printError(diagnostic.description) }
        let count = errors.diagnostics.filter { !$0.isWarning }.count
        printError("\(path): \(count) error\(count == 1 ? "" : "s"); nothing was run")
        throw ExitCode(1)
    }
}

func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
