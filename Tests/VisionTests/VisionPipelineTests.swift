import Foundation
import Media
import Models
import ModelStore
import Pipelines
import TestSupport
import XCTest

/// An `ask` stage whose model is a vision-language model looks at each image item itself
/// (batched), through a `models add` name and through a GGUF + mmproj path.
final class VisionPipelineTests: XCTestCase {
    func testAskStageWithAVisionLanguageModel() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-vlm-pipeline-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let media = folder.appendingPathComponent("media")
        try FileManager.default.createDirectory(at: media, withIntermediateDirectories: true)
        for name in ["photo_cat.png", "photo_portrait.png"] {
            try FileManager.default.copyItem(at: Fixtures.root.appendingPathComponent(name), to: media.appendingPathComponent(name))
        }
        let png = try Data(contentsOf: Fixtures.root.appendingPathComponent("photo_cat.png"))
        try png.prefix(400).write(to: media.appendingPathComponent("truncated.png"))
        let store = ModelStore(directory: folder.appendingPathComponent("models"))
        try store.addUserModel(name: "tiny-vlm", path: Fixtures.modelDirectory.path)
        let question = try Fixtures.question()

        for model in ["tiny-vlm", Fixtures.ggufDirectory.path] {
            let file = folder.appendingPathComponent("p.yaml")
            try """
                inputs: [media]
                stages:
                  - task: ask
                    model: \(model)
                    prompt: "\(question)"
                    batch_size: 2
                    options: {max_tokens: 6}
                outputs: {directory: out-\(model.hasPrefix("/") ? "gguf" : "hf")}
                """.write(to: file, atomically: true, encoding: .utf8)
            var options = RunOptions()
            options.progress = .silent
            let runner = PipelineRunner(pipeline: try Pipeline.load(path: file.path, store: store), options: options)
            let summary = try runner.run()
            let records = try ResultsLog.read(runner.resultsURL).records.sorted { $0.input < $1.input }
            XCTAssertEqual(summary.succeeded, 2)
            XCTAssertEqual(summary.failed, 1)
            XCTAssertEqual(records.map(\.status), [.ok, .ok, .error])
            XCTAssertEqual(records[2].stage, "ask")
            XCTAssertTrue(records[2].message?.contains("truncated.png") ?? false, records[2].message ?? "")
            var generation = GenerationOptions()
            generation.maxTokens = 6
            let vlm = try Fixtures.huggingFace()
            for record in records.prefix(2) {
                guard case .object(let result)? = record.results["ask"], case .string(let answer)? = result["answer"] else {
                    return XCTFail("no answer in \(record)")
                }
                let image = try vlm.processor.process(try ImageDecoder.decode(path: record.path))
                let expected = try vlm.generate([VisionRequest(images: [image], question: question)], options: generation)[0]
                XCTAssertEqual(answer, expected.text.trimmingCharacters(in: .whitespacesAndNewlines), record.input)
                XCTAssertEqual(result["tiles"], .int(7))
            }
            XCTAssertEqual(records[0].provenance.stages.first?.provenance.modelFormat, model.hasPrefix("/") ? "idefics3-gguf" : "idefics3-safetensors")
        }
    }
}

extension VisionPipelineTests {
    /// The shipped VLM pipeline validates with a VLM given by name or path (VLM=…), over the samples.
    func testShippedVisionPipelineValidates() throws {
        let file = TestPaths.packageRoot.appendingPathComponent("pipelines/ask-images-vlm.yaml")
        let pipeline = try Pipeline.load(path: file.path, environment: ["VLM": Fixtures.ggufDirectory.path])
        XCTAssertFalse(pipeline.items.isEmpty)
        XCTAssertTrue(pipeline.stages[0] is VisionLanguageStage)
    }
}

extension VisionPipelineTests {
    /// A caption stage whose model is a VLM: the VLM captions each photo (the detector is not used).
    func testCaptionStageWithAVisionLanguageModel() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-vlm-caption-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("p.yaml")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try """
            inputs: [\(Fixtures.root.appendingPathComponent("photo_cat.png").path), \(Fixtures.root.appendingPathComponent("photo_portrait.png").path)]
            stages:
              - task: caption
                model: \(Fixtures.modelDirectory.path)
                batch_size: 2
                options: {max_tokens: 10}
            outputs: {directory: out, sidecars: [txt]}
            """.write(to: file, atomically: true, encoding: .utf8)
        var options = RunOptions()
        options.progress = .silent
        let runner = PipelineRunner(pipeline: try Pipeline.load(path: file.path), options: options)
        XCTAssertTrue((runner.pipeline.stages[0] as? VideoFrameSampling)?.inner is VisionLanguageStage)
        let summary = try runner.run()
        XCTAssertEqual(summary.succeeded, 2)
        var generation = GenerationOptions()
        generation.maxTokens = 10
        let vlm = try Fixtures.huggingFace()
        for record in try ResultsLog.read(runner.resultsURL).records {
            guard case .object(let result)? = record.results["caption"], case .string(let text)? = result["text"] else {
                return XCTFail("no caption in \(record)")
            }
            let image = try vlm.processor.process(try ImageDecoder.decode(path: record.path))
            let expected = try vlm.generate([VisionRequest(images: [image], question: VisionLanguageModel.defaultCaptionPrompt)],
                                            options: generation)[0]
            XCTAssertEqual(text, expected.text.trimmingCharacters(in: .whitespacesAndNewlines))
            XCTAssertEqual(result["prompt"], .string(VisionLanguageModel.defaultCaptionPrompt))
            XCTAssertEqual(result["generated_tokens"], .int(Int64(expected.tokens.count)))   // options.max_tokens: 10
        }
    }
}
