import ArgumentParser
import Foundation
import ModelStore
import Pipelines

/// `hearth classify`: a classify stage over the images, run as a pipeline (CommandLinePipeline).
struct ClassifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classify",
        abstract: "The ImageNet-1k classes of photos (EfficientNet-Lite0), with probabilities, offline.")

    @Argument(help: "Image files or directories (walked recursively for image files).")
    var inputs: [String]

    @Option(help: "Catalog model name or model directory (EfficientNet-Lite0 .pth + class names).")
    var model = ModelCatalog.defaultClassifier

    @Option(name: .customLong("top-k"), help: "Classes per image.")
    var topK = 5

    @Flag(help: "Print one JSON object per image (labels, size, path, timings, provenance).")
    var json = false

    @Option(name: .customLong("output-dir"), help: "Write <name>.txt and <name>.json per image here (with results.jsonl and summary.json) instead of printing.")
    var outputDir: String?

    @Option(help: "CPU threads.")
    var threads = ProcessInfo.processInfo.activeProcessorCount

    func run() throws {
        let job = CommandLinePipeline(command: "classify", stages: [.init(task: "classify", model: model, options: ["top_k": topK])],
                                      inputs: inputs, sidecars: ["txt", "json"], outputDir: outputDir, threads: threads)
        let outcome = try job.run()
        if outputDir == nil {
            for (given, record) in outcome.records where record.status == .ok {
                if json { print(try outcome.json(given, record)); continue }
                print("\(given):")
                print(try outcome.render(record, format: .txt) ?? "", terminator: "")
            }
        }
        if let line = outcome.failureLine("images") {
            printError(line)
            throw ExitCode(1)
        }
    }
}
