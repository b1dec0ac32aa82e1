import ArgumentParser
import Foundation
import Media
import Models
import ModelStore
import Pipelines
import Tensors

/// Options shared by `hearth caption` and `hearth detect`: a caption or detect stage over the
/// images, run as a pipeline (CommandLinePipeline).
struct ImageCommandOptions: ParsableArguments {
    @Argument(help: "Image or video files, or directories (walked recursively for them). Images: \(ImageFormat.supportedList) (recognised by content; the first page / frame of multi-image files); videos: MP4, MOV, MKV, WebM, AVI and the rest FFmpeg reads, their frames sampled.")
    var inputs: [String]

    @Option(help: "Catalog model name or a Darknet model directory (.cfg + .weights + .names); for caption also a vision-language model (a `models add` name, a SmolVLM / Idefics3 directory, or GGUF + mmproj).")
    var model = ModelCatalog.defaultDetector

    @Option(help: "Vision-language models: the instruction given with each image (default: \(VisionLanguageModel.defaultCaptionPrompt.debugDescription)).")
    var prompt: String?

    @Option(name: .customLong("max-tokens"), help: "Vision-language models: maximum tokens per caption (default 64).")
    var maxTokens: Int?

    @Option(name: .customLong("batch-size"), help: "Images per model batch.")
    var batchSize: Int?

    @Option(help: "Minimum objectness and object score (darknet's -thresh).")
    var threshold: Float = 0.25

    @Option(help: "IoU above which a lower-scored box of the same class is dropped.")
    var nms: Float = 0.45

    @Option(name: .customLong("max-objects"), help: "At most this many objects per image.")
    var maxObjects = 100

    @Option(name: .customLong("input-size"), help: "Network input size, a multiple of 32 (default: the cfg's, 416).")
    var inputSize: Int?

    @Flag(name: .customLong("no-zoom-out"), help: "caption: do not look again, zoomed out, at an image where nothing was found.")
    var noZoomOut = false

    @Option(name: .customLong("classify-model"), help: "caption: the ImageNet classifier whose classes the caption uses, or none (default: efficientnet-lite0 when installed).")
    var classifyModel: String?

    @OptionGroup var frames: FrameFlags

    @OptionGroup var output: OutputFlags

    /// Describes every image; prints (or writes) the caption or the objects. Exit status 1 if any image failed.
    func run(detect: Bool) throws {
        let task = detect ? "detect" : "caption"
        var options: [String: Any] = ["threshold": threshold, "nms": nms, "max_objects": maxObjects]
        if let inputSize { options["input_size"] = inputSize }
        frames.add(to: &options)
        if !detect {
            options["zoom_out_retry"] = !noZoomOut
            if let classifyModel { options["classify_model"] = classifyModel }
            if let maxTokens { options["max_tokens"] = maxTokens }
        }
        let job = CommandLinePipeline(
            command: task, stages: [.init(task: task, model: model, prompt: detect ? nil : prompt, options: options)],
            inputs: inputs, sidecars: ["txt", "json"], outputDir: output.outputDir, batchSize: batchSize, threads: output.threads,
            flags: ["zoom_out_retry": "--no-zoom-out", "frame_interval": "--frame-interval", "max_frames": "--max-frames"])
        let outcome = try job.run()
        let several = outcome.records.count > 1
        try outcome.print(output, noun: "images") { given, record in
            let result = record.results[task]
            let text = result?["text"]?.stringValue ?? ""
            guard detect else { return (several ? "\(given): " : "") + text + "\n" }
            let objects = (result?["objects"]?.arrayValue ?? []).map { object in
                let label = object["label"]?.stringValue ?? "?", score = object["score"]?.doubleValue ?? 0
                let box = (object["box"]?.arrayValue ?? []).map { String(Int(($0.doubleValue ?? 0).rounded())) }
                return "  \(label) \(String(format: "%.2f", score)) [" + box.joined(separator: ", ") + "]"
            }
            return ([given + ": " + text] + objects).map { $0 + "\n" }.joined()
        }
    }
}

struct CaptionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "caption",
        abstract: "Describe photos in one sentence each, from the objects a local detector finds (yolov3-tiny) and the ImageNet classes of the whole photo (efficientnet-lite0), offline.")

    @OptionGroup var options: ImageCommandOptions

    func run() throws { try options.run(detect: false) }
}

struct DetectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detect",
        abstract: "Detect objects in photos (COCO labels, scores, boxes in pixels) with a local YOLO model, offline.")

    @OptionGroup var options: ImageCommandOptions

    func run() throws { try options.run(detect: true) }
}
