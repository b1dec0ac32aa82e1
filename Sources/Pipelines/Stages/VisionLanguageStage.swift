// Caption and ask stages run by a vision-language model (SmolVLM / Idefics3) that looks at the
// image itself: chosen when a stage's `model:` is a user-added VLM (`hearth models add`), a Hugging
// Face Idefics3 directory, or a llama.cpp GGUF + mmproj pair. Items are batched: the tiles of all
// images of a batch go through the vision tower together and the prompts are decoded together.

import Foundation
import Media
import Models
import ModelStore

/// A vision-language model found from a stage's or command's `model`.
public struct ResolvedVisionModel: Sendable {
    public var location: VisionLanguageModel.Location
    /// Name, folder, SHA-256 of every file (provenance; user models are verified against their manifest).
    public var installed: InstalledModel

    /// `nil` when `nameOrPath` is not a vision-language model (a catalog text model, Whisper, a detector…).
    public static func resolve(_ nameOrPath: String?, store: ModelStore) throws -> ResolvedVisionModel? {
        guard let nameOrPath, !nameOrPath.isEmpty else { return nil }
        if store.userModelManifest(nameOrPath) != nil {
            let installed = try store.resolveUserModel(nameOrPath)
            if installed.format == .safetensors, case .huggingface? = VisionLanguageModel.locate(installed.directory.path) {
                return ResolvedVisionModel(location: .huggingface(directory: installed.directory.path), installed: installed)
            }
            if let mmproj = installed.mmprojFile, let model = installed.languageGGUFFile {
                return ResolvedVisionModel(location: .gguf(model: model.path, mmproj: mmproj.path), installed: installed)
            }
            return nil
        }
        let path = NSString(string: nameOrPath).expandingTildeInPath
        guard nameOrPath.contains("/") || nameOrPath.hasPrefix("."), let location = VisionLanguageModel.locate(path) else { return nil }
        let folder: URL, names: [String]
        switch location {
        case .huggingface(let directory):
            folder = URL(fileURLWithPath: directory)
            let present = Set((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            names = ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "preprocessor_config.json",
                     "processor_config.json", "generation_config.json", "chat_template.jinja", "chat_template.json"].filter(present.contains)
        case .gguf(let model, let mmproj):
            folder = URL(fileURLWithPath: model).deletingLastPathComponent()
            names = [(model as NSString).lastPathComponent, (mmproj as NSString).lastPathComponent]
        }
        let files = try store.hashes(of: names, in: folder)
        let name = URL(fileURLWithPath: path).standardizedFileURL.lastPathComponent
        let format: WeightFormat = if case .gguf = location { .gguf } else { .safetensors }
        return ResolvedVisionModel(location: location, installed: InstalledModel(name: name, directory: folder, files: files,
                                                                                 format: format, entry: nil))
    }
}

/// Options of a vision-language caption or ask stage, built from the ask stage's options (or the
/// caption stage's `max_tokens`); encoded into provenance.
public struct VisionLanguageOptions: StageOptions {
    public var generation = GenerationOptions()
    /// Largest decoded image, in pixels (refused before its pixels are allocated).
    public var maxPixels = ImageDecodeOptions().maxPixels

    struct Key: OptionKey { static let names = GenerationOptions.keyNames + ["max_pixels"]; let name: String }

    public init() {}

    /// An ask stage's options (its `system` message does not apply: SmolVLM's template has none).
    init(ask: AskOptions) { generation = ask.generation }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try generation.encode(into: &c)
        try c.encode(maxPixels, forKey: Key("max_pixels"))
    }
}

/// A loaded VLM captioning images (`text`) or answering prompts about them (`answer`).
public final class VisionLanguageStage: PipelineStage {
    public enum Mode: String, Sendable { case caption, ask }
    public let spec: StageSpec
    public let task: any StageTask
    public let mode: Mode
    public let model: ResolvedVisionModel
    public let options: VisionLanguageOptions
    public let provenance: StageProvenance
    private var vlm: VisionLanguageModel?

    public init(spec: StageSpec, task: any StageTask, mode: Mode, model: ResolvedVisionModel, options: VisionLanguageOptions) {
        self.spec = spec; self.task = task; self.mode = mode; self.model = model; self.options = options
        provenance = StageProvenance(task: task.name, model: model.installed.name, modelFormat: "\(ModelFamily.idefics3)-\(model.installed.format)",
                                     files: model.installed.files, options: (try? JSONValue(encoding: options)) ?? .null,
                                     prompt: spec.prompt)
    }

    public var preferredBatchSize: Int { 4 }

    public func load() throws {
        guard vlm == nil else { return }
        vlm = try ModelRegistry.visionLanguageModel(model.installed)
    }

    public func process(_ inputs: [StageInput], batchSize: Int, stop: RunStop, finish: (Int, Result<StageOutput, Error>) -> Void) {
        guard let vlm = loaded(vlm, inputs, finish) else { return }
        var prepared: [(index: Int, request: VisionRequest, seconds: Double)] = []
        for (i, input) in inputs.enumerated() where !stop.isRequested {
            let began = Date()
            do {
                let question = input.prompt ?? (mode == .caption ? VisionLanguageModel.defaultCaptionPrompt : "")
                guard !question.isEmpty else { throw PipelineError("no prompt rendered") }
                var images: [Idefics3ProcessedImage] = []
                if input.image != nil || input.item.media.kind == .image {
                    let decoded = try input.decodedImage(ImageDecodeOptions(maxPixels: options.maxPixels))
                    images.append(try vlm.processor.process(decoded))
                } else if mode == .caption {
                    throw PipelineError("\(input.item.path): not an image")
                }
                prepared.append((i, VisionRequest(images: images, question: question), Date().timeIntervalSince(began)))
            } catch {
                finish(i, .failure(error))
            }
        }
        var start = 0
        while start < prepared.count, !stop.isRequested {
            let group = Array(prepared[start..<min(prepared.count, start + max(1, batchSize))])
            start += group.count
            let began = Date()
            do {
                let generations = try vlm.generate(group.map(\.request), options: options.generation)
                let wall = Date().timeIntervalSince(began)
                for (p, g) in zip(group, generations) {
                    let text = JSONValue.string(g.text.trimmingCharacters(in: .whitespacesAndNewlines))
                    var fields: [String: JSONValue] = [
                        "prompt": .string(p.request.question), "finish": .string(g.finish.rawValue),
                        "prompt_tokens": .int(Int64(g.promptTokens)), "generated_tokens": .int(Int64(g.tokens.count)),
                        "images": .int(Int64(p.request.images.count)),
                        "tiles": .int(Int64(p.request.images.reduce(0) { $0 + $1.tiles })),
                    ]
                    fields[mode == .caption ? "text" : "answer"] = text
                    finish(p.index, .success(StageOutput(result: .object(fields), timings: [
                        "wall": wall + p.seconds, "image": p.seconds, "vision": g.visionSeconds, "prompt": g.promptSeconds,
                        "generation": g.generationSeconds])))
                }
            } catch {
                for p in group { finish(p.index, .failure(error)) }
            }
        }
    }
}

extension VisionLanguageStage {
    /// For a caption task: the VLM stage when the spec's `model:` is a vision-language model, else nil
    /// (the task's own describer then runs). Captions default to 64 new tokens (`options.max_tokens`).
    public static func caption(_ spec: StageSpec, task: any StageTask, store: ModelStore) throws -> VisionLanguageStage? {
        guard let model = try ResolvedVisionModel.resolve(spec.model, store: store) else { return nil }
        var options = VisionLanguageOptions()
        options.generation.maxTokens = (spec.options as? ImageStageOptions)?.maxTokens ?? 64
        return VisionLanguageStage(spec: spec, task: task, mode: .caption, model: model, options: options)
    }
}
