// Typed model kinds: what family a model is, what format its weights are in, and what it does
// (which stages can run it). The registry in Models/Registry maps (family, format) to a loader.

import Foundation

/// The weight formats Hearth reads (one reader each, behind Weights' TensorSource).
public enum WeightFormat: String, Codable, Sendable, CaseIterable, CustomStringConvertible {
    /// CTranslate2 `model.bin` + `config.json`.
    case ctranslate2
    /// Hugging Face `model.safetensors` + `config.json`.
    case safetensors
    /// llama.cpp GGUF (a language model, optionally with an `mmproj*.gguf` projector).
    case gguf
    /// Darknet `.cfg` + `.weights` + `.names`.
    case darknet
    /// ONNX `model.onnx` (a protobuf ModelProto; weights as graph initializers).
    case onnx
    /// PyTorch `torch.save` state_dict (`.pth`, legacy layout), read by a restricted unpickler.
    case pytorch

    public var description: String { rawValue }
}

/// Model families: one architecture each (one build function each, in Models).
public enum ModelFamily: String, Codable, Sendable, CaseIterable, CustomStringConvertible {
    case whisper, llama, qwen2, idefics3, yolo
    /// Silero VAD (v6): speech probability per 32 ms chunk of 16 kHz audio.
    case sileroVAD = "silero-vad"
    /// EfficientNet-Lite (ImageNet-1k classes).
    case efficientnet
    /// BERT encoders with sentence-transformers pooling (all-MiniLM-L6-v2): text → one vector.
    case bert

    public var description: String { rawValue }

    /// What the family does.
    public var kind: ModelKind {
        switch self {
        case .whisper: return .speechRecognition
        case .llama, .qwen2: return .textGeneration
        case .idefics3: return .visionLanguage
        case .yolo: return .objectDetection
        case .sileroVAD: return .voiceActivity
        case .efficientnet: return .imageClassification
        case .bert: return .textEmbedding
        }
    }
}

/// What a model does, i.e. which stages can run it.
public enum ModelKind: String, Sendable, CustomStringConvertible {
    case speechRecognition = "speech recognition"
    case textGeneration = "text generation"
    case visionLanguage = "vision-language"
    case objectDetection = "object detection"
    case voiceActivity = "voice activity detection"
    case imageClassification = "image classification"
    case textEmbedding = "text embedding"

    public var description: String { rawValue }
}

extension InstalledModel {
    /// The model's family: its catalog entry's, else what its files show (a CTranslate2 or Hugging
    /// Face Whisper, an Idefics3 / SmolVLM checkpoint, a GGUF decoder with or without an mmproj
    /// projector, a Darknet detector). `nil` for a Hugging Face directory of another architecture.
    public var family: ModelFamily? {
        if let entry { return entry.family }
        switch format {
        case .ctranslate2: return .whisper
        case .darknet: return .yolo
        case .onnx: return .sileroVAD   // the only ONNX graph Hearth runs (its loader checks the graph)
        case .pytorch: return .efficientnet
        case .gguf: return mmprojFile != nil ? .idefics3 : .llama
        case .safetensors:
            guard let data = FileManager.default.contents(atPath: url(for: "config.json").path),
                  let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let type = json["model_type"] as? String else { return nil }
            switch type {
            case "whisper": return .whisper
            case "idefics3", "smolvlm": return .idefics3
            case "llama": return .llama
            case "qwen2": return .qwen2
            case "bert": return .bert
            default: return nil
            }
        }
    }

    /// What the model does (nil: nothing Hearth runs).
    public var kind: ModelKind? { family?.kind }
}
