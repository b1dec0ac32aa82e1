import ArgumentParser
import Foundation
import Media
import ModelStore
import Pipelines

/// `hearth classify`: a classify stage over the images, run as a pipeline (CommandLinePipeline).
struct ClassifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classify",
        abstract: "The ImageNet-1k classes of photos (EfficientNet-Lite0), with probabilities, offline.")

    @Argument(help: "Image files or directories (walked recursively for image files). Reads \(ImageFormat.supportedList) (recognised by content; the first page / frame of multi-image files).")
    var inputs: [String]

    @Option(help: "Catalog model name or model directory (EfficientNet-Lite0 .pth + class names).")
    var model = ModelCatalog.defaultClassifier

    @Option(name: .customLong("top-k"), help: "Classes per image.")
    var topK = 5

    @OptionGroup var output: OutputFlags

    func run() throws {
        let job = CommandLinePipeline(command: "classify", stages: [.init(task: "classify", model: model, options: ["top_k": topK])],
                                      inputs: inputs, sidecars: ["txt", "json"], outputDir: output.outputDir, threads: output.threads)
        let outcome = try job.run()
        try outcome.print(output, noun: "images") { given, record in "\(given):\n" + (try outcome.render(record, format: .txt) ?? "") }
    }
}
