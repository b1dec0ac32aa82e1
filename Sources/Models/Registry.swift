// The model registry (mlx-swift-examples' LLMTypeRegistry habit): (family, format) → loader.
// Stages and commands ask the registry what a model does and load it through here; no string
// compares on families or formats anywhere else.

import Foundation
import ModelStore
import Weights

/// A loaded model, by what it does.
public enum LoadedModel {
    case speechRecognition(WhisperTranscriber)
    case textGeneration(LanguageModel)
    case visionLanguage(VisionLanguageModel)
    case objectDetection(YOLODetector)
    case voiceActivity(SileroVAD)
    case imageClassification(ImageClassifier)
    case textEmbedding(TextEmbedder)
}

/// Settings a loader takes from the stage that loads it.
public struct LoadOptions: Sendable {
    /// A detector's network input side (multiple of 32; nil: the cfg's).
    public var detectorInputSize: Int?
    /// Whisper's `compute_type`: which weights are converted to int8 as they load.
    public var computeType: WhisperComputeType
    public init(detectorInputSize: Int? = nil, computeType: WhisperComputeType = .float32) {
        self.detectorInputSize = detectorInputSize; self.computeType = computeType
    }
}

/// A model that a task cannot run, or that nothing in Hearth runs.
public struct ModelKindError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ message: String) { description = message }
}

public enum ModelRegistry {
    public struct Key: Hashable, Sendable {
        public let family: ModelFamily
        public let format: WeightFormat
        public init(_ family: ModelFamily, _ format: WeightFormat) { self.family = family; self.format = format }
    }
    public typealias Loader = @Sendable (InstalledModel, LoadOptions) throws -> LoadedModel

    /// Every (family, format) Hearth can load.
    public static let loaders: [Key: Loader] = {
        let whisper: Loader = { m, o in .speechRecognition(try WhisperTranscriber.load(directory: m.directory, computeType: o.computeType)) }
        let decoder: Loader = { m, _ in .textGeneration(try LanguageModel(path: (m.ggufFile ?? m.directory).path)) }
        return [
            Key(.whisper, .ctranslate2): whisper,
            Key(.whisper, .safetensors): whisper,
            Key(.llama, .gguf): decoder,
            Key(.qwen2, .gguf): decoder,
            Key(.idefics3, .safetensors): { m, _ in
                .visionLanguage(try VisionLanguageModel.load(.huggingface(directory: m.directory.path)))
            },
            Key(.idefics3, .gguf): { m, _ in
                guard let text = m.languageGGUFFile, let mmproj = m.mmprojFile else {
                    throw WeightError(m.directory.path, "a GGUF vision-language model needs a language-model .gguf and an mmproj*.gguf")
                }
                return .visionLanguage(try VisionLanguageModel.load(.gguf(model: text.path, mmproj: mmproj.path)))
            },
            Key(.yolo, .darknet): { m, o in
                .objectDetection(try YOLODetector(directory: m.directory.path, inputSize: o.detectorInputSize))
            },
            Key(.sileroVAD, .onnx): { m, _ in .voiceActivity(try SileroVAD.load(path: m.url(for: "model.onnx").path)) },
            Key(.efficientnet, .pytorch): { m, _ in .imageClassification(try ImageClassifier(directory: m.directory.path)) },
            Key(.bert, .safetensors): { m, _ in .textEmbedding(try TextEmbedder.load(directory: m.directory)) },
        ]
    }()

    /// What `model` is, for messages: its family, else its format.
    public static func describe(_ model: InstalledModel) -> String { model.family?.rawValue ?? model.format.rawValue }

    /// Refuses a model that does not do `kind`: "model 'X' is a whisper model; caption needs an image model …".
    public static func require(_ model: InstalledModel, is kinds: Set<ModelKind>, _ need: String) throws {
        guard let kind = model.kind, kinds.contains(kind) else {
            throw ModelKindError("model '\(model.name)' is a \(describe(model)) model; \(need)")
        }
    }

    /// Loads `model` through its family's loader for its format.
    public static func load(_ model: InstalledModel, options: LoadOptions = LoadOptions()) throws -> LoadedModel {
        guard let family = model.family else {
            throw ModelKindError("model '\(model.name)' (\(model.format)) is of an architecture Hearth does not run")
        }
        guard let loader = loaders[Key(family, model.format)] else {
            throw ModelKindError("model '\(model.name)': Hearth reads \(family) models from "
                                 + loaders.keys.filter { $0.family == family }.map(\.format.rawValue).sorted().joined(separator: ", ")
                                 + ", not \(model.format)")
        }
        return try loader(model, options)
    }

    public static func transcriber(_ model: InstalledModel, computeType: WhisperComputeType = .float32) throws -> WhisperTranscriber {
        try load(model, options: LoadOptions(computeType: computeType), as: "a Whisper model") {
            if case .speechRecognition(let t) = $0 { t } else { nil }
        }
    }

    public static func languageModel(_ model: InstalledModel) throws -> LanguageModel {
        try load(model, as: "a GGUF language model") { if case .textGeneration(let lm) = $0 { lm } else { nil } }
    }

    public static func visionLanguageModel(_ model: InstalledModel) throws -> VisionLanguageModel {
        try load(model, as: "a vision-language model") { if case .visionLanguage(let vlm) = $0 { vlm } else { nil } }
    }

    public static func detector(_ model: InstalledModel, inputSize: Int? = nil) throws -> YOLODetector {
        try load(model, options: LoadOptions(detectorInputSize: inputSize), as: "a Darknet detector") {
            if case .objectDetection(let d) = $0 { d } else { nil }
        }
    }

    public static func voiceActivityDetector(_ model: InstalledModel) throws -> SileroVAD {
        try load(model, as: "a voice activity detector") { if case .voiceActivity(let vad) = $0 { vad } else { nil } }
    }

    public static func classifier(_ model: InstalledModel) throws -> ImageClassifier {
        try load(model, as: "an image classifier") { if case .imageClassification(let c) = $0 { c } else { nil } }
    }

    public static func embedder(_ model: InstalledModel) throws -> TextEmbedder {
        try load(model, as: "a text embedding model") { if case .textEmbedding(let e) = $0 { e } else { nil } }
    }

    /// Loads `model` and returns what `extract` finds in it; a model of another kind is refused as not `expected`.
    static func load<T>(_ model: InstalledModel, options: LoadOptions = LoadOptions(), as expected: String,
                        _ extract: (LoadedModel) -> T?) throws -> T {
        guard let loaded = extract(try load(model, options: options)) else { throw wrongKind(model, expected) }
        return loaded
    }

    static func wrongKind(_ model: InstalledModel, _ expected: String) -> ModelKindError {
        ModelKindError("model '\(model.name)' is a \(describe(model)) model, not \(expected)")
    }
}
