import Foundation
import ModelStore
import Models
import Weights
import XCTest

/// Broken checkpoints are refused with a message naming the file and the problem; user models
/// added with `models add` are hashed and a changed file is refused.
final class MalformedModelTests: XCTestCase {
    var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-vlm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }

    /// A copy of the tiny checkpoint to break.
    func copyOfCheckpoint(_ name: String = "model") throws -> URL {
        let target = scratch.appendingPathComponent(name)
        try FileManager.default.copyItem(at: Fixtures.modelDirectory, to: target)
        return target
    }

    /// Rewrites the safetensors header of `url` through `edit` (data bytes unchanged).
    func editHeader(_ url: URL, _ edit: (inout [String: Any]) -> Void) throws {
        let data = try Data(contentsOf: url)
        let size = Int(data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        var header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + size))) as! [String: Any]
        edit(&header)
        let newHeader = try JSONSerialization.data(withJSONObject: header)
        var out = Data()
        withUnsafeBytes(of: UInt64(newHeader.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(newHeader)
        out.append(data.subdata(in: (8 + size)..<data.count))
        try out.write(to: url)
    }

    func assertRefused(_ directory: URL, mentioning words: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try VisionLanguageModel.loadHuggingFace(directory: directory),
                             file: file, line: line) { error in
            let message = "\(error)"
            for w in words { XCTAssertTrue(message.contains(w), "'\(w)' not in: \(message)", file: file, line: line) }
        }
    }

    func testMissingTensorIsRefused() throws {
        let dir = try copyOfCheckpoint()
        let weights = dir.appendingPathComponent("model.safetensors")
        try editHeader(weights) { $0.removeValue(forKey: "model.vision_model.encoder.layers.1.mlp.fc2.weight") }
        assertRefused(dir, mentioning: [weights.path, "missing tensor model.vision_model.encoder.layers.1.mlp.fc2.weight"])
    }

    func testWrongShapeIsRefused() throws {
        let dir = try copyOfCheckpoint()
        let weights = dir.appendingPathComponent("model.safetensors")
        try editHeader(weights) { header in
            var entry = header["model.connector.modality_projection.proj.weight"] as! [String: Any]
            entry["shape"] = [128, 64]   // stored (64, 128): same bytes, transposed shape
            header["model.connector.modality_projection.proj.weight"] = entry
        }
        assertRefused(dir, mentioning: [weights.path, "model.connector.modality_projection.proj.weight", "[128, 64]", "expected [64, 128]"])
    }

    func testTruncatedSafetensorsIsRefused() throws {
        let dir = try copyOfCheckpoint()
        let weights = dir.appendingPathComponent("model.safetensors")
        let data = try Data(contentsOf: weights)
        try data.prefix(data.count / 2).write(to: weights)
        assertRefused(dir, mentioning: [weights.path, "outside the file"])
        try data.prefix(5).write(to: weights)
        assertRefused(dir, mentioning: [weights.path, "truncated"])
    }

    func testUnusedTensorIsRefused() throws {
        let dir = try copyOfCheckpoint()
        let weights = dir.appendingPathComponent("model.safetensors")
        try editHeader(weights) { header in
            header["model.extra.weight"] = header["model.vision_model.post_layernorm.bias"]
        }
        assertRefused(dir, mentioning: [weights.path, "not used", "model.extra.weight"])
    }

    func testBadConfigIsRefused() throws {
        let dir = try copyOfCheckpoint()
        let config = dir.appendingPathComponent("config.json")
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: config)) as! [String: Any]
        json.removeValue(forKey: "vision_config")
        try JSONSerialization.data(withJSONObject: json).write(to: config)
        assertRefused(dir, mentioning: [config.path, "vision_config"])
        json = try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.modelDirectory.appendingPathComponent("config.json"))) as! [String: Any]
        json["scale_factor"] = 3
        try JSONSerialization.data(withJSONObject: json).write(to: config)
        assertRefused(dir, mentioning: ["scale_factor 3"])
    }

    func testProcessorSequenceLengthMismatchIsRefused() throws {
        let dir = try copyOfCheckpoint()
        let url = dir.appendingPathComponent("processor_config.json")
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        json["image_seq_len"] = 64
        try JSONSerialization.data(withJSONObject: json).write(to: url)
        assertRefused(dir, mentioning: ["image_seq_len 64"])
    }

    func testBrokenMMProjIsRefused() throws {
        let dir = scratch.appendingPathComponent("gguf")
        try FileManager.default.copyItem(at: Fixtures.ggufDirectory, to: dir)
        let mmproj = dir.appendingPathComponent("mmproj-tiny-idefics3-f16.gguf")
        let model = dir.appendingPathComponent("tiny-idefics3-f16.gguf")
        let data = try Data(contentsOf: mmproj)
        try data.prefix(data.count - 100).write(to: mmproj)
        XCTAssertThrowsError(try VisionLanguageModel.loadGGUF(model: model.path, mmproj: mmproj.path)) {
            XCTAssertTrue("\($0)".contains(mmproj.path), "\($0)")
        }
        // The language model given as the projector: not an mmproj.
        XCTAssertThrowsError(try VisionLanguageModel.loadGGUF(model: model.path, mmproj: model.path)) {
            XCTAssertTrue("\($0)".contains("not an mmproj file"), "\($0)")
        }
    }

    // MARK: models add

    func testModelsAddRecordsHashesAndRefusesAModifiedFile() throws {
        let store = ModelStore(directory: scratch.appendingPathComponent("models"))
        let dir = try copyOfCheckpoint("SmolVLM-tiny")
        let manifest = try store.addUserModel(name: "tiny-vlm", path: dir.path)
        XCTAssertEqual(manifest.format, .safetensors)
        let expected = try Fixtures.goldens()["model_files"] as! [String: String]
        for file in manifest.files where expected[file.name] != nil { XCTAssertEqual(file.sha256, expected[file.name], file.name) }
        XCTAssertTrue(manifest.files.contains { $0.name == "model.safetensors" })
        XCTAssertEqual(store.userModels().map(\.name), ["tiny-vlm"])
        let resolved = try store.resolve("tiny-vlm")
        XCTAssertEqual(resolved.directory.path, dir.path)
        XCTAssertEqual(VisionLanguageModel.locate(resolved.directory.path), .huggingface(directory: dir.path))
        XCTAssertThrowsError(try store.addUserModel(name: "tiny-vlm", path: dir.path)) { XCTAssertTrue("\($0)".contains("exists already")) }

        // One byte of the tokenizer changed: refused before use, naming the file.
        let tokenizer = dir.appendingPathComponent("tokenizer.json")
        var bytes = try Data(contentsOf: tokenizer)
        bytes[bytes.count - 2] ^= 0x01
        try bytes.write(to: tokenizer)
        XCTAssertThrowsError(try store.resolve("tiny-vlm")) { error in
            XCTAssertTrue("\(error)".contains(tokenizer.path) && "\(error)".contains("SHA-256 mismatch"), "\(error)")
        }
        try FileManager.default.removeItem(at: tokenizer)
        XCTAssertThrowsError(try store.resolve("tiny-vlm")) { XCTAssertTrue("\($0)".contains("missing"), "\($0)") }
    }

    func testModelsAddGGUFPair() throws {
        let store = ModelStore(directory: scratch.appendingPathComponent("models"))
        let manifest = try store.addUserModel(name: "tiny-gguf", path: Fixtures.ggufDirectory.path)
        XCTAssertEqual(manifest.format, .gguf)
        XCTAssertEqual(manifest.files.map(\.name).sorted(), ["mmproj-tiny-idefics3-f16.gguf", "tiny-idefics3-f16.gguf"])
        let resolved = try store.resolve("tiny-gguf")
        XCTAssertEqual(resolved.mmprojFile?.lastPathComponent, "mmproj-tiny-idefics3-f16.gguf")
        XCTAssertEqual(resolved.languageGGUFFile?.lastPathComponent, "tiny-idefics3-f16.gguf")
        // Given as a file plus --mmproj.
        let single = try store.addUserModel(name: "tiny-gguf-2", path: Fixtures.ggufDirectory.appendingPathComponent("tiny-idefics3-f16.gguf").path,
                                            mmproj: Fixtures.ggufDirectory.appendingPathComponent("mmproj-tiny-idefics3-f16.gguf").path)
        XCTAssertEqual(single.files.count, 2)
        XCTAssertThrowsError(try store.addUserModel(name: "bad", path: scratch.path)) { XCTAssertTrue("\($0)".contains("expected config.json")) }
        XCTAssertThrowsError(try store.addUserModel(name: "whisper-tiny.en", path: Fixtures.ggufDirectory.path))
    }
}
