import Foundation
import Media
import Models
import ModelStore

/// `task: detect` — objects in photos (Darknet YOLO, default yolov3-tiny): labels, scores and boxes in
/// the original image's pixels, plus a one-line summary of them as `text`.
public struct DetectTask: StageTask {
    public let name = "detect"
    public let media: Set<MediaKind> = [.image, .video]  // a video's sampled frames (VideoFrameSampling)
    public let fields = ["text", "objects", "tags", "width", "height", "frames"]
    public let defaultModel: String? = ModelCatalog.defaultDetector

    public init() {}

    public func decodeOptions(from decoder: Decoder) throws -> any StageOptions { try ImageStageOptions(from: decoder, rewrite: false) }

    public func prepare(_ spec: StageSpec, store: ModelStore) throws -> any PipelineStage {
        let options = (spec.options as? ImageStageOptions) ?? ImageStageOptions()
        return VideoFrameSampling(try ImageStage(spec: spec, task: self, model: ImageStage.resolveDetector(spec, store: store),
                                                 options: options, store: store), sampling: options.frames)
    }

    public func renderSidecar(_ result: JSONValue, format: SidecarFormat, item: ResultRecord, provenance: StageProvenance) throws -> String? {
        try ImageStage.renderSidecar(result, format: format, item: item, provenance: provenance)
    }
}

/// `options` of caption and detect stages.
struct ImageStageOptions: StageOptions, Codable {
    var threshold: Float = 0.25
    var nms: Float = 0.45
    var maxObjects = 100
    /// Network input size (a multiple of 32); nil = the cfg's (416 for yolov3-tiny).
    var inputSize: Int?
    /// caption only: a GGUF text model that turns the detections into one fluent sentence.
    var rewriteModel: String?
    var rewriteMaxTokens = 48
    /// caption only: look again, zoomed out, when nothing was found (DetectionOptions.zoomOutRetry).
    var zoomOutRetry = false
    /// caption only: the ImageNet classifier whose classes the caption uses; nil: efficientnet-lite0
    /// when it is installed; "none": no classes.
    var classifyModel: String?
    static let noClassifier = "none"
    /// caption with a vision-language model only: tokens per caption (VisionLanguageStage.caption).
    var maxTokens: Int?
    /// `frame_interval`, `max_frames`: which frames of a video item are looked at.
    var frames = FrameSampling()

    enum CodingKeys: String, CodingKey, CaseIterable {
        case threshold, nms, maxObjects = "max_objects", inputSize = "input_size", rewriteModel = "rewrite_model"
        case rewriteMaxTokens = "rewrite_max_tokens", zoomOutRetry = "zoom_out_retry", maxTokens = "max_tokens"
        case frameInterval = "frame_interval", maxFrames = "max_frames", classifyModel = "classify_model"
    }
    /// The keys a detect stage takes (no rewrite).
    enum DetectKeys: String, CodingKey, CaseIterable {
        case threshold, nms, maxObjects = "max_objects", inputSize = "input_size", frameInterval = "frame_interval", maxFrames = "max_frames"
    }

    init(caption: Bool = false) { zoomOutRetry = caption }

    init(from decoder: Decoder) throws { try self.init(from: decoder, rewrite: true) }

    init(from decoder: Decoder, rewrite: Bool) throws {
        if !rewrite { _ = try decoder.container(keyedBy: DetectKeys.self) }   // unknown keys are reported against detect's own list
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func check(_ ok: Bool, _ key: CodingKeys, _ message: String) throws {
            if !ok { throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: message) }
        }
        threshold = try c.decodeIfPresent(Float.self, forKey: .threshold) ?? threshold
        nms = try c.decodeIfPresent(Float.self, forKey: .nms) ?? nms
        maxObjects = try c.decodeIfPresent(Int.self, forKey: .maxObjects) ?? maxObjects
        inputSize = try c.decodeIfPresent(Int.self, forKey: .inputSize)
        frames = try FrameSampling(from: c, interval: .frameInterval, maxFrames: .maxFrames)
        if rewrite {
            rewriteModel = try c.decodeIfPresent(String.self, forKey: .rewriteModel)
            rewriteMaxTokens = try c.decodeIfPresent(Int.self, forKey: .rewriteMaxTokens) ?? rewriteMaxTokens
            zoomOutRetry = try c.decodeIfPresent(Bool.self, forKey: .zoomOutRetry) ?? true
            maxTokens = try c.decodeIfPresent(Int.self, forKey: .maxTokens)
            classifyModel = try c.decodeIfPresent(String.self, forKey: .classifyModel)
        }
        try check(threshold >= 0 && threshold < 1, .threshold, "must be in [0, 1)")
        try check(nms > 0 && nms <= 1, .nms, "must be in (0, 1]")
        try check(maxObjects >= 1, .maxObjects, "must be at least 1")
        try check(inputSize.map { $0 >= 32 && $0 <= 4096 && $0 % 32 == 0 } ?? true, .inputSize, "must be a multiple of 32 from 32 to 4096")
        try check(rewriteMaxTokens >= 1, .rewriteMaxTokens, "must be at least 1")
        try check(maxTokens.map { $0 >= 1 } ?? true, .maxTokens, "must be at least 1")
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(threshold, forKey: .threshold)
        try c.encode(nms, forKey: .nms)
        try c.encode(maxObjects, forKey: .maxObjects)
        try c.encodeIfPresent(inputSize, forKey: .inputSize)
        try c.encodeIfPresent(rewriteModel, forKey: .rewriteModel)
        if rewriteModel != nil { try c.encode(rewriteMaxTokens, forKey: .rewriteMaxTokens) }
        if zoomOutRetry { try c.encode(true, forKey: .zoomOutRetry) }
        try c.encodeIfPresent(maxTokens, forKey: .maxTokens)
        try c.encodeIfPresent(classifyModel, forKey: .classifyModel)
        try frames.encode(to: &c, interval: .frameInterval, maxFrames: .maxFrames)
    }

    var detection: DetectionOptions {
        var d = DetectionOptions()
        d.threshold = threshold; d.nms = nms; d.maxObjects = maxObjects; d.zoomOutRetry = zoomOutRetry
        return d
    }
}

/// A loaded detector (and, for caption stages, an ImageNet classifier and with `rewrite_model` a text
/// model) over batches of images.
final class ImageStage: PipelineStage {
    let spec: StageSpec
    let task: any StageTask
    let model: InstalledModel
    let rewriteModel: InstalledModel?
    let classifyModel: InstalledModel?
    let options: ImageStageOptions
    let provenance: StageProvenance
    private var describer: DetectionDescriber?
    private var lm: LanguageModel?

    init(spec: StageSpec, task: any StageTask, model: InstalledModel, options: ImageStageOptions, store: ModelStore) throws {
        self.spec = spec; self.task = task; self.model = model
        classifyModel = try Self.resolveClassifier(options.classifyModel, caption: task.name == CaptionTask().name, store: store)
        var options = options
        if task.name == CaptionTask().name { options.classifyModel = classifyModel?.name ?? ImageStageOptions.noClassifier }
        self.options = options
        rewriteModel = try options.rewriteModel.map { name in
            let m = try store.resolve(name)
            if m.kind != .textGeneration { throw PipelineError("rewrite_model '\(name)' is not a GGUF language model (e.g. \(LanguageModel.defaultModelName))") }
            return m
        }
        var files = model.files
        if let rewriteModel { for (k, v) in rewriteModel.files { files["rewrite/\(k)"] = v } }
        if let classifyModel { for (k, v) in classifyModel.files { files["classify/\(k)"] = v } }
        provenance = StageProvenance(task: task.name, model: model, files: files, options: options, prompt: spec.prompt)
    }

    /// The stage's model: a Darknet detector (a VLM `model:` is taken earlier, in CaptionTask.prepare).
    static func resolveDetector(_ spec: StageSpec, store: ModelStore) throws -> InstalledModel {
        let model = try store.resolve(spec.model ?? ModelCatalog.defaultDetector)
        try ModelRegistry.require(model, is: [.objectDetection],
                                  "\(spec.task) needs an image model (a Darknet YOLO such as \(ModelCatalog.defaultDetector))")
        return model
    }

    /// A caption stage's classifier: the one named, none for "none", else the default one if installed.
    static func resolveClassifier(_ name: String?, caption: Bool, store: ModelStore) throws -> InstalledModel? {
        guard caption, name != ImageStageOptions.noClassifier else { return nil }
        guard let name = name ?? store.installed().first(where: { $0.name == ModelCatalog.defaultClassifier })?.name else { return nil }
        let model = try store.resolve(name)
        try ModelRegistry.require(model, is: [.imageClassification],
                                  "classify_model needs an image classifier (\(ModelCatalog.defaultClassifier)) or \"none\"")
        return model
    }

    var preferredBatchSize: Int { 8 }

    func load() throws {
        if describer == nil {
            let detector = try ModelRegistry.detector(model, inputSize: options.inputSize)
            describer = try DetectionDescriber(detector: detector, classifier: try classifyModel.map(ModelRegistry.classifier),
                                               options: options.detection)
        }
        if let rewriteModel, lm == nil { lm = try ModelRegistry.languageModel(rewriteModel) }
    }

    func process(_ inputs: [StageInput], batchSize: Int, stop: RunStop, finish: (Int, Result<StageOutput, Error>) -> Void) {
        guard let describer = loaded(describer, inputs, finish) else { return }
        var described: [(index: Int, description: ImageDescription, timings: [String: Double], prompt: String?)] = []
        for (i, input) in inputs.enumerated() where !stop.isRequested {
            let began = Date()
            do {
                let image = try input.decodedImage()
                let decoded = Date()
                let description = try describer.describe(image)
                let timings = ["image": decoded.timeIntervalSince(began), "detect": Date().timeIntervalSince(decoded)]
                if lm == nil {
                    finish(i, .success(StageOutput(result: Self.result(description, caption: nil),
                                                   timings: timings.merging(["wall": Date().timeIntervalSince(began)]) { a, _ in a })))
                } else {
                    described.append((i, description, timings, input.prompt))
                }
            } catch {
                finish(i, .failure(error))
            }
        }
        guard let lm, !described.isEmpty else { return }
        // Optional rewrite: the text model turns each image's detections into one sentence, batched.
        var generation = GenerationOptions()
        generation.maxTokens = options.rewriteMaxTokens
        generation.stop = ["\n"]
        var start = 0
        while start < described.count, !stop.isRequested {
            let group = Array(described[start..<min(described.count, start + max(1, batchSize))])
            let began = Date()
            var prompts: [[Int]] = []
            var failed: Set<Int> = []
            for (n, d) in group.enumerated() {
                let message = Self.rewritePrompt(d.description, instruction: d.prompt)
                do { prompts.append(try lm.chatTokens([ChatMessage(role: "user", content: message)])) } catch {
                    finish(d.index, .failure(error)); failed.insert(n); prompts.append([])
                }
            }
            let live = group.indices.filter { !failed.contains($0) }
            let generations: [Generation]
            do { generations = try lm.generate(prompts: live.map { prompts[$0] }, options: generation) } catch {
                for n in live { finish(group[n].index, .failure(error)) }
                start += group.count
                continue
            }
            let wall = Date().timeIntervalSince(began)
            for (n, g) in zip(live, generations) {
                let d = group[n]
                let sentence = Self.firstSentence(g.text)
                let result = Self.result(d.description, caption: sentence.isEmpty ? nil : sentence)
                finish(d.index, .success(StageOutput(result: result, timings: d.timings.merging(["rewrite": wall, "wall": wall]) { a, _ in a })))
            }
            start += group.count
        }
    }

    /// The instruction for the text model: the stage's prompt (or a default), the objects as the
    /// caption counts them (one per box) with where each sits, and the detector's own sentence.
    static func rewritePrompt(_ d: ImageDescription, instruction: String?) -> String {
        let objects = CaptionBuilder.distinct(d.objects.filter { $0.score >= CaptionBuilder.minimumScore }).map { o -> String in
            let cx = (o.box[0] + o.box[2]) / 2 / Float(max(d.width, 1))
            let place = cx < 0.33 ? "left" : cx > 0.67 ? "right" : "centre"
            return "\(o.label) (\(place))"
        }
        let ask = instruction ?? "Write one short, fluent sentence describing this photo. Mention only the objects listed; do not invent others."
        return "\(ask)\n\nObjects detected in the photo: \(objects.isEmpty ? "none" : objects.joined(separator: ", ")).\n"
            + "A plain summary: \(d.caption)"
    }

    /// The first sentence of a model's answer (small models tend to run on).
    static func firstSentence(_ text: String) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let end = trimmed.firstIndex(where: { ".!?".contains($0) }) else { return trimmed }
        return String(trimmed[...end])
    }

    /// `text` (the caption: the text model's sentence when there is one), `objects`, `tags`, size.
    static func result(_ d: ImageDescription, caption rewritten: String?) -> JSONValue {
        let score = { (s: Float) in JSONValue.double((Double(s) * 10_000).rounded() / 10_000) }
        let object = { (o: DetectedObject) in
            JSONValue.object(["label": .string(o.label), "score": score(o.score),
                              "box": .array(o.box.map { .double((Double($0) * 10).rounded() / 10) })])
        }
        let imageClass = { (c: ImageClass) in
            JSONValue.object(["label": .string(c.label), "noun": .string(ImageNetVocabulary.noun(c)),
                              "index": .int(Int64(c.index)), "score": score(c.score)])
        }
        var fields: [String: JSONValue] = [
            "text": .string(rewritten ?? d.caption),
            "objects": .array(d.objects.map(object)),
            "tags": .array(d.tags.map { .string($0) }),
            "width": .int(Int64(d.width)), "height": .int(Int64(d.height)),
        ]
        if rewritten != nil { fields["detector_caption"] = .string(d.caption) }
        if d.zoomedOut { fields["zoomed_out"] = .bool(true) }
        if !d.zoomOutRejected.isEmpty { fields["zoom_out_rejected"] = .array(d.zoomOutRejected.map(object)) }
        if !d.classes.isEmpty { fields["classes"] = .array(d.classes.map(imageClass)) }
        if !d.captionParts.isEmpty || !d.classes.isEmpty {   // a caption stage: what each phrase rests on
            fields["caption_sources"] = .array(d.captionParts.map { p in
                .object(["phrase": .string(p.phrase), "source": .string(p.source.rawValue),
                         "objects": .array(p.objects.map { .int(Int64($0)) }),
                         "classes": .array(p.classes.map(imageClass))])
            })
        }
        return .object(fields)
    }

    static func renderSidecar(_ result: JSONValue, format: SidecarFormat, item: ResultRecord, provenance: StageProvenance) throws -> String? {
        switch format {
        case .txt: return result["text"]?.text.map { $0 + "\n" }
        case .json:
            var object: [String: JSONValue] = ["path": .string(item.input)]
            for (k, v) in result.objectValue ?? [:] { object[k] = v }
            object["provenance"] = try JSONValue(encoding: provenance)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            return String(decoding: try encoder.encode(JSONValue.object(object)), as: UTF8.self) + "\n"
        default: return nil
        }
    }
}
