import ArgumentParser
import Foundation
import Media
import Models
import ModelStore
import Pipelines
import Tensors

/// `hearth caption` / `hearth ask --image` with a vision-language model (SmolVLM / Idefics3):
/// the model looks at the image itself.
enum VisionLanguageCLI {
    static let imageExtensions: Set<String> = ["png", "jpg", "jpeg", "gif", "webp", "bmp", "tif", "tiff"]

    /// Files as given; directories walked recursively for image extensions, sorted.
    static func expand(_ inputs: [String]) -> [String] {
        var out: [String] = []
        for input in inputs {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: input, isDirectory: &isDirectory), isDirectory.boolValue else {
                out.append(input); continue
            }
            var found: [String] = []
            if let walker = FileManager.default.enumerator(at: URL(fileURLWithPath: input), includingPropertiesForKeys: nil) {
                for case let url as URL in walker where imageExtensions.contains(url.pathExtension.lowercased()) { found.append(url.path) }
            }
            out += found.sorted()
        }
        return out
    }

    static func provenance(_ model: ResolvedVisionModel, options: [String: Any]) -> [String: Any] {
        ["hearth_version": Models.Hearth.version, "model": model.installed.name, "model_format": "idefics3-\(model.installed.format)",
         "files": model.installed.files, "options": options]
    }

    /// Captions `inputs` (`batchSize` images per model batch); prints or writes `<name>.txt` / `.json`.
    /// Returns the number of images that failed (each reported on stderr).
    static func caption(_ inputs: [String], model: ResolvedVisionModel, prompt: String, generation: GenerationOptions,
                        maxPixels: Int, batchSize: Int, json: Bool, outputDir: String?) throws -> Int {
        let files = expand(inputs)
        guard !files.isEmpty else { throw ValidationError("no image files found in \(inputs.joined(separator: ", "))") }
        let vlm = try VisionLanguageModel.load(model.location)
        let names = files.map { URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent }
        if let outputDir { try FileManager.default.createDirectory(atPath: outputDir, withIntermediateDirectories: true) }
        let provenance = provenance(model, options: ["prompt": prompt, "max_tokens": generation.maxTokens, "temperature": generation.temperature,
                                                     "top_k": generation.topK, "top_p": generation.topP, "seed": generation.seed])
        var failures = 0
        var start = 0
        while start < files.count {
            let group = Array(files.indices[start..<min(files.count, start + max(1, batchSize))])
            start += group.count
            var ready: [(index: Int, request: VisionRequest, width: Int, height: Int)] = []
            for i in group {
                do {
                    let image = try ImageDecoder.decode(path: files[i], options: ImageDecodeOptions(maxPixels: maxPixels))
                    ready.append((i, VisionRequest(images: [try vlm.processor.process(image)], question: prompt), image.width, image.height))
                } catch {
                    failures += 1
                    let message = "\(error)"
                    FileHandle.standardError.write(Data("error: \(message.hasPrefix(files[i]) ? message : files[i] + ": " + message)\n".utf8))
                }
            }
            guard !ready.isEmpty else { continue }
            let generations: [Generation]
            do { generations = try vlm.generate(ready.map(\.request), options: generation) } catch {
                for r in ready { FileHandle.standardError.write(Data("error: \(files[r.index]): \(error)\n".utf8)) }
                failures += ready.count
                continue
            }
            for (r, g) in zip(ready, generations) {
                let text = g.text.trimmingCharacters(in: .whitespacesAndNewlines)
                let record: [String: Any] = [
                    "path": files[r.index], "text": text, "width": r.width, "height": r.height, "tiles": r.request.images[0].tiles,
                    "prompt_tokens": g.promptTokens, "generated_tokens": g.tokens.count, "finish": g.finish.rawValue,
                    "timings": ["vision": g.visionSeconds, "prompt": g.promptSeconds, "generation": g.generationSeconds],
                    "provenance": provenance]
                let line = String(decoding: try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys, .withoutEscapingSlashes]),
                                  as: UTF8.self)
                if let outputDir {
                    let base = URL(fileURLWithPath: outputDir).appendingPathComponent(names[r.index])
                    try (text + "\n").write(to: base.appendingPathExtension("txt"), atomically: true, encoding: .utf8)
                    try (line + "\n").write(to: base.appendingPathExtension("json"), atomically: true, encoding: .utf8)
                } else {
                    print(json ? line : (files.count > 1 ? "\(files[r.index]): " : "") + text)
                }
            }
        }
        return failures
    }

    /// `hearth caption … --model VLM` from another caption command: captions with the VLM and returns
    /// true (throwing ExitCode(1) when an image failed), or returns false when `model` is not a VLM.
    static func captionIfVisionModel(_ inputs: [String], model: String, json: Bool, outputDir: String?,
                                     prompt: String = VisionLanguageModel.defaultCaptionPrompt, maxTokens: Int = 64,
                                     batchSize: Int = 4) throws -> Bool {
        guard let resolved = try ResolvedVisionModel.resolve(model, store: ModelStore()) else { return false }
        var generation = GenerationOptions()
        generation.maxTokens = maxTokens
        let failures = try caption(inputs, model: resolved, prompt: prompt, generation: generation,
                                   maxPixels: ImageDecodeOptions().maxPixels, batchSize: batchSize, json: json, outputDir: outputDir)
        if failures > 0 { throw ExitCode(1) }
        return true
    }

    /// `hearth ask --image F "Q" --model VLM`: answers with the VLM looking at the image; false when
    /// `model` is not a vision-language model (the text-model path then runs).
    static func askIfVisionModel(model: String, image: String, question: String, generation: GenerationOptions, json: Bool) throws -> Bool {
        guard let resolved = try ResolvedVisionModel.resolve(model, store: ModelStore()) else { return false }
        let vlm = try VisionLanguageModel.load(resolved.location)
        let processed = try vlm.processor.process(try ImageDecoder.decode(path: image))
        let g = try vlm.generate([VisionRequest(images: [processed], question: question)], options: generation)[0]
        let answer = g.text.trimmingCharacters(in: .whitespacesAndNewlines)
        if json {
            let object: [String: Any] = [
                "answer": answer, "image": image, "tiles": processed.tiles, "prompt_tokens": g.promptTokens,
                "generated_tokens": g.tokens.count, "vision_seconds": g.visionSeconds, "prompt_seconds": g.promptSeconds,
                "generation_seconds": g.generationSeconds,
                "finish": g.finish.rawValue,
                "provenance": provenance(resolved, options: ["max_tokens": generation.maxTokens, "temperature": generation.temperature,
                                                             "top_k": generation.topK, "top_p": generation.topP, "seed": generation.seed,
                                                             "stop": generation.stop])]
            print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self))
        } else {
            print(answer)
        }
        return true
    }
}
