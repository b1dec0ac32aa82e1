import Foundation
import Models
import TestSupport
import Weights
import XCTest

/// all-MiniLM-L6-v2 on the shared core against sentence-transformers (Fixtures/minilm_embeddings.json,
/// made by scripts/goldens/make_embedding_goldens.py: SentenceTransformer.encode, float32 CPU torch).
final class EmbeddingParityTests: XCTestCase {
    struct Golden: Decodable {
        struct Case: Decodable { var text: String; var ids: [Int]; var embedding: [Float] }
        var dimension: Int
        var modules: [String]
        var cases: [Case]
    }

    static var modelDirectory: URL { TestPaths.installedModels.appendingPathComponent("all-minilm-l6-v2") }

    static func embedder() throws -> TextEmbedder {
        guard FileManager.default.fileExists(atPath: modelDirectory.appendingPathComponent("model.safetensors").path) else {
            throw SetupError("missing \(modelDirectory.path): run `make test-models` to install the test models")
        }
        return try TextEmbedder.load(directory: modelDirectory)
    }

    static func golden() throws -> Golden {
        guard let url = Bundle.module.url(forResource: "minilm_embeddings", withExtension: "json", subdirectory: "Fixtures") else {
            throw SetupError("Fixtures/minilm_embeddings.json is not in the test bundle")
        }
        return try JSONDecoder().decode(Golden.self, from: Data(contentsOf: url))
    }

    func testEmbeddingsMatchSentenceTransformers() throws {
        let embedder = try Self.embedder(), golden = try Self.golden()
        XCTAssertEqual(golden.modules, ["Transformer", "Pooling", "Normalize"])
        XCTAssertEqual(embedder.pooling, .mean)
        XCTAssertTrue(embedder.normalizes)
        XCTAssertEqual(embedder.maxSequenceLength, 256)
        XCTAssertEqual(embedder.dimension, golden.dimension)
        for c in golden.cases { XCTAssertEqual(embedder.tokenIDs(c.text), c.ids, "text: \(c.text.debugDescription)") }
        for batchSize in [1, 4, 32] {
            let vectors = embedder.embed(golden.cases.map(\.text), batchSize: batchSize)
            var worst: Float = 0, lowestCosine: Float = 1
            for (v, c) in zip(vectors, golden.cases) {
                worst = max(worst, maxAbs(v, c.embedding))
                let cosine = zip(v, c.embedding).reduce(0) { $0 + $1.0 * $1.1 }
                    / (norm(v) * norm(c.embedding))
                lowestCosine = min(lowestCosine, cosine)
                XCTAssertEqual(v.count, golden.dimension)
                XCTAssertEqual(norm(v), 1, accuracy: 1e-5)
            }
            print("all-minilm-l6-v2 vs sentence-transformers, batch \(batchSize): max |Δ| = \(worst), lowest cosine = \(lowestCosine)")
            XCTAssertLessThanOrEqual(worst, 1e-4, "batch \(batchSize)")
            XCTAssertGreaterThanOrEqual(lowestCosine, 0.99999, "batch \(batchSize)")
        }
    }

    func testConfigNotMatchingWeightsIsRefused() throws {
        let directory = try temporaryDirectory(for: self, prefix: "bert-malformed")
        let source = Self.modelDirectory
        guard FileManager.default.fileExists(atPath: source.appendingPathComponent("model.safetensors").path) else {
            throw SetupError("missing \(source.path): run `make test-models`")
        }
        for file in ["model.safetensors", "tokenizer.json", "modules.json", "sentence_bert_config.json"] {
            try FileManager.default.createSymbolicLink(at: directory.appendingPathComponent(file),
                                                       withDestinationURL: source.appendingPathComponent(file))
        }
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: source.appendingPathComponent("config.json"))) as! [String: Any]
        func write(_ edit: [String: Any]) throws {
            let edited = config.merging(edit) { _, new in new }
            try JSONSerialization.data(withJSONObject: edited).write(to: directory.appendingPathComponent("config.json"))
        }
        try write(["hidden_size": 768])
        XCTAssertThrowsError(try TextEmbedder.load(directory: directory)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("hidden_size 768") && text.contains("hidden size 384"), text)
        }
        try write(["num_hidden_layers": 5])
        XCTAssertThrowsError(try TextEmbedder.load(directory: directory)) { error in
            XCTAssertTrue("\(error)".contains("tensors not used by a BERT encoder: encoder.layer.5."), "\(error)")
        }
        try write(["num_hidden_layers": 7])
        XCTAssertThrowsError(try TextEmbedder.load(directory: directory)) { error in
            XCTAssertTrue("\(error)".contains("missing tensor encoder.layer.6."), "\(error)")
        }
        try write(["num_attention_heads": 7])
        XCTAssertThrowsError(try TextEmbedder.load(directory: directory)) { error in
            XCTAssertTrue("\(error)".contains("not a multiple of num_attention_heads 7"), "\(error)")
        }
        try write(["hidden_act": "mish"])
        XCTAssertThrowsError(try TextEmbedder.load(directory: directory)) { error in
            XCTAssertTrue("\(error)".contains("hidden_act mish"), "\(error)")
        }
        try write([:])
        XCTAssertNoThrow(try TextEmbedder.load(directory: directory), "the unedited config loads")
    }

    private func norm(_ v: [Float]) -> Float { v.reduce(0) { $0 + $1 * $1 }.squareRoot() }
}

struct SetupError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
