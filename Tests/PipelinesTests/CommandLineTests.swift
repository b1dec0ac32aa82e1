import Foundation
import Pipelines
import XCTest

/// `hearth transcribe` / `caption` as pipelines (CommandLinePipeline): the same records, sidecar
/// names and provenance as `hearth run`, per-file errors, and option problems named by flag.
final class CommandLineTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        try Fixtures.requireModel()
        folder = try Fixtures.temporaryFolder(self)
    }

    /// With --output-dir the run's own outputs: results.jsonl (one record per file, with the VAD
    /// model's hashes in the provenance), summary.json, and sidecars named as `hearth run` names
    /// them (jfk.wav / jfk.mp3 keep their extensions to stay apart). Running it again resumes.
    func testTranscribeWritesThePipelineOutputs() throws {
        let out = folder.appendingPathComponent("out")
        let args = ["transcribe", Fixtures.sample("jfk.wav"), Fixtures.sample("jfk.mp3"), "--beam-size", "1", "--vad",
                    "--format", "srt,json", "--output-dir", out.path]
        let first = try runProcess(try Fixtures.hearthBinary(), args)
        XCTAssertEqual(first.status, 0, first.stderr)
        let names = Set(try FileManager.default.contentsOfDirectory(atPath: out.path))
        XCTAssertTrue(names.isSuperset(of: ["results.jsonl", "summary.json", "jfk.wav.srt", "jfk.mp3.srt", "jfk.wav.json", "jfk.mp3.json"]),
                      "\(names.sorted())")
        let records = try String(contentsOf: out.appendingPathComponent("results.jsonl"), encoding: .utf8).split(separator: "\n")
            .map { try JSONDecoder().decode(ResultRecord.self, from: Data($0.utf8)) }
        XCTAssertEqual(records.map(\.status), [.ok, .ok])
        let provenance = try XCTUnwrap(records.first?.provenance.stages.first?.provenance)
        XCTAssertNotNil(provenance.files?["vad/model.onnx"], "the VAD model is part of the provenance")
        XCTAssertEqual(provenance.options["vadFilter"] ?? provenance.options["vad_filter"], .bool(true))
        XCTAssertTrue(try String(contentsOf: out.appendingPathComponent("jfk.wav.srt"), encoding: .utf8).contains("ask not what your country"))
        let again = try runProcess(try Fixtures.hearthBinary(), args)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stderr.contains("2 already done"), again.stderr)
    }

    /// a.jpg and a.png in one folder get a.jpg.txt and a.png.txt, not one a.txt.
    func testImagesWithOneStemKeepTheirOwnSidecars() throws {
        let photos = folder.appendingPathComponent("photos")
        _ = try Fixtures.copy(Fixtures.sample("person.jpg"), into: photos, as: "a.jpg")
        _ = try Fixtures.copy(Fixtures.sample("chelsea.png"), into: photos, as: "a.png")
        let out = folder.appendingPathComponent("captions")
        let result = try runProcess(try Fixtures.hearthBinary(), ["caption", photos.path, "--output-dir", out.path])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try String(contentsOf: out.appendingPathComponent("a.png.txt"), encoding: .utf8), "A cat.\n")
        XCTAssertEqual(try String(contentsOf: out.appendingPathComponent("a.jpg.txt"), encoding: .utf8),
                       "A horse on the right, a person and a dog.\n")
    }

    /// A missing file is an error for that file; the others are printed; exit status 1. An option
    /// the stage refuses is named by its flag.
    func testErrorsPerFileAndOptionsByFlag() throws {
        let missing = folder.appendingPathComponent("missing.wav").path
        let result = try runProcess(try Fixtures.hearthBinary(), ["transcribe", Fixtures.sample("jfk.wav"), missing, "--beam-size", "1"])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stdout.contains("== \(Fixtures.sample("jfk.wav"))"), result.stdout)
        XCTAssertTrue(result.stderr.contains("error: \(missing): no such file or folder"), result.stderr)
        XCTAssertTrue(result.stderr.contains("1 of 2 files failed"), result.stderr)
        let refused = try runProcess(try Fixtures.hearthBinary(), ["transcribe", Fixtures.sample("jfk.wav"), "--hallucination-silence-threshold", "2"])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("--hallucination-silence-threshold: hallucination_silence_threshold needs word_timestamps: true"),
                      refused.stderr)
    }

    /// `hearth classify` / `task: classify`: EfficientNet-Lite0's ImageNet classes, a cat for the
    /// sample cat, and `top_k` checked.
    func testClassify() throws {
        let result = try runProcess(try Fixtures.hearthBinary(), ["classify", "--json", "--top-k", "3", Fixtures.sample("chelsea.png")])
        XCTAssertEqual(result.status, 0, result.stderr)
        let record = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let labels = try XCTUnwrap(record["labels"] as? [[String: Any]])
        XCTAssertEqual(labels.count, 3)
        XCTAssertTrue(labels.contains { ["tabby cat", "Egyptian Mau"].contains($0["label"] as? String) }, "\(labels)")
        XCTAssertEqual((record["provenance"] as? [String: Any])?["model"] as? String, "efficientnet-lite0")
        let refused = try runProcess(try Fixtures.hearthBinary(), ["classify", "--top-k", "0", Fixtures.sample("chelsea.png")])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("--top-k: must be from 1 to 1000"), refused.stderr)
    }
}
