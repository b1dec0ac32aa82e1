import Foundation
import Models
import ModelStore

/// `task: caption` — one sentence per photo. The default describer detects objects (yolov3-tiny),
/// classifies the whole photo (efficientnet-lite0 when installed; `options.classify_model`) and builds
/// the sentence from both ("Two people on the left and a kite, on a seashore."); with `options.rewrite_model`
/// a GGUF text model rewrites the detections into a fluent sentence (the stage's `prompt`, if any, is
/// its instruction). The detections stay in the record (`objects`, `tags`) either way. When `model:`
/// is a vision-language model, VisionLanguageStage captions instead.
public struct CaptionTask: StageTask {
    public let name = "caption"
    public let media: Set<MediaKind> = [.image, .video]  // a video's sampled frames (VideoFrameSampling)
    public let fields = ["text", "objects", "tags", "width", "height", "frames", "classes", "caption_sources"]
    public let takesPrompt = true
    public let defaultModel: String? = ModelCatalog.defaultDetector

    public init() {}

    public func decodeOptions(from decoder: Decoder) throws -> any StageOptions { try ImageStageOptions(from: decoder, rewrite: true) }

    public func prepare(_ spec: StageSpec, store: ModelStore) throws -> any PipelineStage {
        let options = (spec.options as? ImageStageOptions) ?? ImageStageOptions(caption: true)
        if let vlm = try VisionLanguageStage.caption(spec, task: self, store: store) {   // a VLM looks at the image
            return VideoFrameSampling(vlm, sampling: options.frames)
        }
        if spec.prompt != nil && options.rewriteModel == nil {
            throw PipelineError("a caption stage's `prompt` instructs its text model: set options.rewrite_model "
                                + "(e.g. \(LanguageModel.defaultModelName)) or remove the prompt")
        }
        return VideoFrameSampling(try ImageStage(spec: spec, task: self, model: ImageStage.resolveDetector(spec, store: store),
                                                 options: options, store: store), sampling: options.frames)
    }

    public func renderSidecar(_ result: JSONValue, format: SidecarFormat, item: ResultRecord, provenance: StageProvenance) throws -> String? {
        try ImageStage.renderSidecar(result, format: format, item: item, provenance: provenance)
    }
}
