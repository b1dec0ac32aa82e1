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

    @Argument(help: "Image or video files, or directories (walked recursively for them). Images: \(ImageFormat.supportedList) (recognised by content; the first page / frame of multi-image files); videos: MP4, MOV, MKV, WebM, AVI and the rest FFmpeg reads, their frames sampled.")
    var inputs: [String]

    @Option(help: "Catalog model name or model directory (EfficientNet-Lite0 .pth + class names).")
    var model = ModelCatalog.defaultClassifier

    @Option(name: .customLong("top-k"), help: "Classes per image.")
    var topK = 5

    @OptionGroup var frames: FrameFlags

    @OptionGroup var output: OutputFlags

    func run() throws {
        var options: [String: Any] = ["top_k": topK]
        frames.add(to: &options)
        let job = CommandLinePipeline(command: "classify", stages: [.init(task: "classify", model: model, options: options)],
                                      inputs: inputs, sidecars: ["txt", "json"], outputDir: output.outputDir, threads: output.threads,
                                      flags: ["frame_interval": "--frame-interval", "max_frames": "--max-frames"])
        let outcome = try job.run()
        try outcome.print(output, noun: "images") { given, record in "\(given):\n" + (try outcome.render(record, format: .txt) ?? "") }
    }
}
