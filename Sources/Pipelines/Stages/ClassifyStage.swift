import Foundation
import Media
import Models
import ModelStore

/// `task: classify` — the ImageNet-1k classes of a photo (EfficientNet-Lite0, default
/// `efficientnet-lite0`). Result: `labels` (the `top_k` most likely classes, best first, each
/// `{"label", "index", "score"}` with softmax probabilities), `text` (the top class), `width`, `height`.
public struct ClassifyTask: StageTask {
    public let name = "classify"
    public let media: Set<MediaKind> = [.image, .video]  // a video's sampled frames (VideoFrameSampling)
    public let fields = ["text", "labels", "width", "height", "frames"]
    public let defaultModel: String? = ModelCatalog.defaultClassifier
    /// `txt`: one `label<TAB>score` line per class; `json`: the result with path and provenance.

    public init() {}

    public func decodeOptions(from decoder: Decoder) throws -> any StageOptions { try ClassifyOptions(from: decoder) }

    public func prepare(_ spec: StageSpec, store: ModelStore) throws -> any PipelineStage {
        let model = try store.resolve(spec.model ?? ModelCatalog.defaultClassifier)
        try ModelRegistry.require(model, is: [.imageClassification],
                                  "classify needs an image classifier (\(ModelCatalog.defaultClassifier))")
        let options = (spec.options as? ClassifyOptions) ?? ClassifyOptions()
        return VideoFrameSampling(ClassifyStage(spec: spec, model: model, options: options), sampling: options.frames)
    }

    public func renderSidecar(_ result: JSONValue, format: SidecarFormat, item: ResultRecord, provenance: StageProvenance) throws -> String? {
        switch format {
        case .json: return try ImageStage.renderSidecar(result, format: .json, item: item, provenance: provenance)
        case .txt:
            if result["frames"] != nil { return result["text"]?.text.map { $0 + "\n" } }  // a video: one line per frame
            let lines = (result["labels"]?.arrayValue ?? []).map { l in
                "\(l["label"]?.stringValue ?? "")\t\(String(format: "%.4f", l["score"]?.doubleValue ?? 0))"
            }
            return lines.joined(separator: "\n") + "\n"
        default: return nil
        }
    }
}

/// `options` of a classify stage.
struct ClassifyOptions: StageOptions, Codable {
    /// Classes kept per photo (1–1000).
    var topK = 5
    /// `frame_interval`, `max_frames`: which frames of a video item are classified.
    var frames = FrameSampling()

    enum CodingKeys: String, CodingKey, CaseIterable { case topK = "top_k", frameInterval = "frame_interval", maxFrames = "max_frames" }

    init() {}

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        topK = try c.decodeIfPresent(Int.self, forKey: .topK) ?? topK
        guard (1...1000).contains(topK) else {
            throw DecodingError.dataCorruptedError(forKey: .topK, in: c, debugDescription: "must be from 1 to 1000")
        }
        frames = try FrameSampling(from: c, interval: .frameInterval, maxFrames: .maxFrames)
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(topK, forKey: .topK)
        try frames.encode(to: &c, interval: .frameInterval, maxFrames: .maxFrames)
    }
}

/// A loaded classifier over images, one at a time.
final class ClassifyStage: ModelStage<ClassifyOptions, ImageClassifier>, PipelineStage {
    let task: any StageTask = ClassifyTask()

    init(spec: StageSpec, model: InstalledModel, options: ClassifyOptions) {
        super.init(spec: spec, model: model, options: options, provenance: StageProvenance(task: "classify", model: model, options: options))
    }

    var preferredBatchSize: Int { 1 }

    func load() throws { try loadModel(ModelRegistry.classifier) }

    func process(_ inputs: [StageInput], batchSize: Int, stop: RunStop, finish: (Int, Result<StageOutput, Error>) -> Void) {
        guard let classifier = loaded(loadedModel, inputs, finish) else { return }
        for (i, input) in inputs.enumerated() where !stop.isRequested {
            let began = Date()
            finish(i, Result {
                let image = try input.decodedImage()
                let decoded = Date()
                let labels = classifier.classify(image, top: options.topK)
                let result: JSONValue = .object([
                    "text": .string(labels.first?.name ?? ""),
                    "labels": .array(labels.map { l in
                        .object(["label": .string(l.name), "index": .int(Int64(l.index)),
                                 "score": .double((Double(l.score) * 10_000).rounded() / 10_000)])
                    }),
                    "width": .int(Int64(image.width)), "height": .int(Int64(image.height)),
                ])
                return StageOutput(result: result, timings: ["image": decoded.timeIntervalSince(began),
                                                             "classify": Date().timeIntervalSince(decoded),
                                                             "wall": Date().timeIntervalSince(began)])
            })
        }
    }
}
