import ArgumentParser
import Foundation
import Media
import Models
import ModelStore
import Pipelines
import Tensors

/// Options shared by `hearth caption` and `hearth detect`.
struct ImageCommandOptions: ParsableArguments {
    @Argument(help: "Image files or directories (walked recursively for png, jpg, jpeg, gif, webp, bmp, tif files).")
    var inputs: [String]

    @Option(help: "Catalog model name or a Darknet model directory (.cfg + .weights + .names); for caption also a vision-language model (a `models add` name, a SmolVLM / Idefics3 directory, or GGUF + mmproj).")
    var model = ModelCatalog.defaultDetector

    @Option(help: "Vision-language models: the instruction given with each image.")
    var prompt = VisionLanguageModel.defaultCaptionPrompt

    @Option(name: .customLong("max-tokens"), help: "Vision-language models: maximum tokens per caption.")
    var maxTokens = 64

    @Option(name: .customLong("batch-size"), help: "Vision-language models: images per model batch.")
    var batchSize = 4

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

    @Flag(help: "Print one JSON object per image (caption, objects, tags, size, provenance).")
    var json = false

    @Option(name: .customLong("output-dir"), help: "Write <name>.txt and <name>.json per image here instead of printing.")
    var outputDir: String?

    @Option(help: "CPU threads.")
    var threads = ProcessInfo.processInfo.activeProcessorCount

    var detection: DetectionOptions {
        var d = DetectionOptions()
        d.threshold = threshold; d.nms = nms; d.maxObjects = maxObjects; d.zoomOutRetry = !noZoomOut
        return d
    }

    func validate() throws {
        guard threshold >= 0 && threshold < 1 else { throw ValidationError("--threshold must be in [0, 1)") }
        guard nms > 0 && nms <= 1 else { throw ValidationError("--nms must be in (0, 1]") }
        guard maxObjects >= 1 else { throw ValidationError("--max-objects must be at least 1") }
        if let inputSize, inputSize < 32 || inputSize % 32 != 0 { throw ValidationError("--input-size must be a multiple of 32") }
        guard maxTokens >= 1, batchSize >= 1 else { throw ValidationError("--max-tokens and --batch-size must be at least 1") }
    }

    /// Describes every image; prints (or writes) the caption or the objects. Exit status 1 if any image failed.
    func run(detect: Bool) throws {
        BLAS.setThreads(threads)
        if !detect, try VisionLanguageCLI.captionIfVisionModel(inputs, model: model, json: json, outputDir: outputDir, prompt: prompt,
                                                               maxTokens: maxTokens, batchSize: batchSize) {
            return   // a vision-language model captioned the images (VisionLanguageCLI.swift)
        }
        var detection = detection
        if detect { detection.zoomOutRetry = false }   // detect reports exactly what the network finds
        let installed = try ModelStore().resolve(model)
        guard installed.kind == .objectDetection else {
            throw ValidationError("model '\(installed.name)' is not an image model (a Darknet YOLO such as \(ModelCatalog.defaultDetector))")
        }
        let detector = try YOLODetector(directory: installed.directory.path, inputSize: inputSize)
        let describer = DetectionDescriber(detector: detector, options: detection)
        let files = try AudioFiles.expand(inputs, extensions: AudioFiles.imageExtensions)
        if files.isEmpty { throw ValidationError("no image files found in \(inputs.joined(separator: ", "))") }
        let names = AudioFiles.outputNames(files)
        if let outputDir { try FileManager.default.createDirectory(atPath: outputDir, withIntermediateDirectories: true) }
        var options: [String: Any] = ["threshold": threshold, "nms": nms, "max_objects": maxObjects,
                                      "input_size": detector.inputWidth, "zoom_out_retry": detection.zoomOutRetry]
        options["threads"] = threads
        let provenance: [String: Any] = ["hearth_version": Models.Hearth.version, "model": installed.name, "model_format": installed.format.rawValue,
                                         "files": installed.files, "options": options]
        var failures = 0
        for (file, name) in zip(files, names) {
            do {
                let began = Date()
                let image = try ImageDecoder.decode(path: file)
                let decoded = Date()
                let d = try describer.describe(image)
                let seconds = Date().timeIntervalSince(decoded)
                let objects: [[String: Any]] = d.objects.map { o in
                    ["label": o.label, "score": (Double(o.score) * 10_000).rounded() / 10_000,
                     "box": o.box.map { (Double($0) * 10).rounded() / 10 }]
                }
                var record: [String: Any] = ["path": file, "text": d.caption, "objects": objects, "tags": d.tags, "width": d.width,
                                             "height": d.height, "timings": ["image": decoded.timeIntervalSince(began), "detect": seconds],
                                             "provenance": provenance]
                if d.zoomedOut { record["zoomed_out"] = true }
                let jsonText = String(decoding: try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys, .withoutEscapingSlashes]),
                                      as: UTF8.self)
                let plain = detect
                    ? ([file + ": " + d.caption] + d.objects.map { o in
                        "  \(o.label) \(String(format: "%.2f", o.score)) [" + o.box.map { String(Int($0.rounded())) }.joined(separator: ", ") + "]"
                    }).joined(separator: "\n")
                    : (files.count > 1 ? "\(file): " : "") + d.caption
                if let outputDir {
                    let base = URL(fileURLWithPath: outputDir).appendingPathComponent(name)
                    try (d.caption + "\n").write(to: base.appendingPathExtension("txt"), atomically: true, encoding: .utf8)
                    try (jsonText + "\n").write(to: base.appendingPathExtension("json"), atomically: true, encoding: .utf8)
                } else {
                    print(json ? jsonText : plain)
                }
            } catch {
                failures += 1
                let message = "\(error)"
                FileHandle.standardError.write(Data("error: \(message.hasPrefix(file) ? message : "\(file): \(message)")\n".utf8))
            }
        }
        if failures > 0 { throw ExitCode(1) }
    }
}

struct CaptionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "caption",
        abstract: "Describe photos in one sentence each, from the objects a local detector finds (yolov3-tiny), offline.")

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
