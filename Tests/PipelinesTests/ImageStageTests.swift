import Foundation
import ModelStore
import Pipelines
import TestSupport
import XCTest

/// caption / detect stages in-process with the real yolov3-tiny (`make test-models`).
final class ImageStageTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        do { _ = try ModelStore().resolve(ModelCatalog.defaultDetector) } catch {
            throw ModelMissing("yolov3-tiny", error)
        }
        folder = try Fixtures.temporaryFolder(self)
    }

    func run(_ pipelineFile: URL) throws -> (RunSummary, [ResultRecord]) {
        var options = RunOptions()
        options.progress = .silent
        let runner = PipelineRunner(pipeline: try Pipeline.load(path: pipelineFile.path), options: options)
        let summary = try runner.run()
        return (summary, try ResultsLog.read(runner.resultsURL).records)
    }

    /// Corrupt images among real photos: error records for them, captions, objects and sidecars for
    /// the others, in one batch; the report's contact sheet inlines the photos.
    func testCorruptImagesAmongGoodOnes() throws {
        let media = folder.appendingPathComponent("photos")
        for name in ["dog.jpg", "person.jpg", "chelsea.png"] { try Fixtures.copy(Fixtures.sample(name), into: media) }
        let jpeg = try Data(contentsOf: URL(fileURLWithPath: Fixtures.sample("dog.jpg")))
        try jpeg.prefix(3000).write(to: media.appendingPathComponent("truncated.jpg"))
        try Fixtures.tinyPNG.prefix(40).write(to: media.appendingPathComponent("cut.png"))
        try Data("not an image".utf8).write(to: media.appendingPathComponent("fake.jpg"))
        let pipeline = try Fixtures.write("""
            inputs: [photos]
            stages:
              - task: detect
              - task: caption
                batch_size: 8
            outputs:
              directory: out
              sidecars: [txt, json]
              report: report.html
            """, to: folder.appendingPathComponent("p.yaml"))
        let (summary, records) = try run(pipeline)
        let byName = Dictionary(uniqueKeysWithValues: records.map { (URL(fileURLWithPath: $0.input).lastPathComponent, $0) })
        XCTAssertEqual(summary.failed, 3)
        XCTAssertEqual(summary.succeeded, 3)
        for bad in ["truncated.jpg", "cut.png", "fake.jpg"] {
            XCTAssertEqual(byName[bad]?.status, .error, bad)
            XCTAssertFalse(byName[bad]?.message?.isEmpty ?? true, bad)
        }
        XCTAssertEqual(byName["fake.jpg"]?.stage, "input")
        XCTAssertEqual(byName["truncated.jpg"]?.stage, "detect")

        let dog = try XCTUnwrap(byName["dog.jpg"])
        XCTAssertEqual(dog.status, .ok)
        let labels = (dog.results["detect"]?["objects"]?.arrayValue ?? []).compactMap { $0["label"]?.stringValue }
        XCTAssertTrue(labels.contains("dog") && labels.contains("bicycle"), "\(labels)")
        XCTAssertEqual(dog.results["caption"]?["width"], .int(768))
        let box = try XCTUnwrap(dog.results["detect"]?["objects"]?.arrayValue?.first { $0["label"]?.stringValue == "dog" }?["box"]?.arrayValue)
        XCTAssertEqual(box.count, 4)
        XCTAssertTrue(box.allSatisfy { ($0.doubleValue ?? -1) >= 0 && ($0.doubleValue ?? 1e9) <= 768 })
        XCTAssertEqual(dog.provenance.stages.first?.provenance.files?["yolov3-tiny.weights"]?.count, 64)
        let caption = dog.results["caption"]?["text"]?.stringValue ?? ""
        XCTAssertTrue(caption.contains("dog") && caption.hasSuffix("."), caption)

        let person = try XCTUnwrap(byName["person.jpg"]?.results["caption"])
        XCTAssertEqual(Set((person["tags"]?.arrayValue ?? []).compactMap(\.stringValue)), ["horse", "person", "dog"])
        // The close-up cat: the network alone finds nothing at 0.25; the caption's zoomed-out look finds the cat.
        let cat = try XCTUnwrap(byName["chelsea.png"])
        XCTAssertEqual(cat.results["detect"]?["objects"]?.arrayValue?.count, 0)
        XCTAssertEqual(cat.results["caption"]?["text"]?.stringValue, "A cat.")
        XCTAssertEqual(cat.results["caption"]?["zoomed_out"], .bool(true))

        let out = folder.appendingPathComponent("out")
        let txt = try String(contentsOf: out.appendingPathComponent("dog.caption.txt"), encoding: .utf8)
        XCTAssertEqual(txt, caption + "\n")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("dog.detect.json"))) as? [String: Any]
        XCTAssertNotNil(json?["objects"] as? [[String: Any]])
        XCTAssertNotNil(json?["provenance"])
        let report = try String(contentsOf: out.appendingPathComponent("report.html"), encoding: .utf8)
        XCTAssertTrue(report.contains("Images (3)"), "contact sheet")
        XCTAssertTrue(report.contains("data:image/jpeg;base64,"), "inlined thumbnails")
        XCTAssertTrue(report.contains(caption), "caption in the report")
        // The detections drawn over the inlined photo: an SVG in the photo's pixels, one <rect> per object.
        let dogObjects = try XCTUnwrap(dog.results["caption"]?["objects"]?.arrayValue)
        let figure = try XCTUnwrap(report.components(separatedBy: "<figure>").first { $0.contains("<b>photos/dog.jpg</b>") })
        XCTAssertTrue(figure.contains("<svg class=\"boxes\" viewBox=\"0 0 768.0 576.0\""), figure.prefix(300).description)
        XCTAssertTrue(figure.contains("<image href=\"data:image/jpeg;base64,"), "the photo inside the SVG")
        XCTAssertEqual(figure.components(separatedBy: "<rect ").count - 1, dogObjects.count)
        let dogBox = try XCTUnwrap(dogObjects.first { $0["label"]?.stringValue == "dog" }?["box"]?.arrayValue).compactMap(\.doubleValue)
        XCTAssertTrue(figure.contains(String(format: "<rect x=\"%.1f\" y=\"%.1f\"", dogBox[0], dogBox[1])), "the dog's box")
        XCTAssertTrue(figure.contains(">dog 0.57</text>"), "the dog's label and score")
        if ModelStore().installed().contains(where: { $0.name == ModelCatalog.defaultClassifier }) {
            // The caption stage's classes (efficientnet-lite0) in the record, its files in the provenance, the top classes on the sheet.
            let classes = try XCTUnwrap(dog.results["caption"]?["classes"]?.arrayValue)
            XCTAssertEqual(classes.count, 5)
            XCTAssertEqual(classes.first?["noun"]?.stringValue, "German shepherd")
            XCTAssertTrue(figure.contains("<p class=\"classes\"><span>German shepherd 0.40</span>"), "top classes on the sheet")
            let sources = try XCTUnwrap(dog.results["caption"]?["caption_sources"]?.arrayValue)
            XCTAssertEqual(sources.compactMap { $0["phrase"]?.stringValue }, ["a bicycle", "a dog", "a car", "a truck"])
            let captionStage = try XCTUnwrap(dog.provenance.stages.first { $0.name == "caption" })
            XCTAssertEqual(captionStage.provenance.files?["classify/efficientnet-lite0-57934424.pth"]?.count, 64)
        }
    }

    func testCaptionOptionsAreChecked() throws {
        try Fixtures.copy(Fixtures.sample("dog.jpg"), into: folder.appendingPathComponent("photos"))
        let cases = [
            ("{task: caption, options: {treshold: 0.3}}", "unknown key 'treshold' (did you mean 'threshold'?"),
            ("{task: detect, options: {rewrite_model: smollm2-135m-instruct}}", "unknown key 'rewrite_model'"),
            ("{task: caption, options: {input_size: 400}}", "input_size: must be a multiple of 32"),
            ("{task: caption, options: {threshold: 1.5}}", "threshold: must be in [0, 1)"),
            ("{task: caption, prompt: \"Describe.\"}", "a caption stage's `prompt` instructs its text model"),
            ("{task: caption, model: whisper-tiny.en}", "caption needs an image model"),
            ("{task: caption, options: {rewrite_model: yolov3-tiny}}", "is not a GGUF language model"),
            ("{task: caption, options: {classify_model: yolov3-tiny}}", "classify_model needs an image classifier"),
            ("{task: detect, options: {classify_model: none}}", "unknown key 'classify_model'"),
        ]
        for (n, (stage, expected)) in cases.enumerated() {
            let bad = try Fixtures.write("inputs: [photos]\nstages:\n  - \(stage)\noutputs: {directory: out}\n",
                                         to: folder.appendingPathComponent("bad\(n).yaml"))
            XCTAssertThrowsError(try Pipeline.load(path: bad.path), stage) { error in
                let text = ((error as? PipelineErrors)?.diagnostics ?? []).map { "\($0.key): \($0.message)" }.joined(separator: "\n")
                XCTAssertTrue(text.contains(expected), "\(stage): \(text)")
            }
        }
    }

    /// `hearth caption` / `detect` / `ask --image` as a user runs them.
    func testCommandLine() throws {
        let hearth = try Fixtures.hearthBinary()
        let missing = folder.appendingPathComponent("missing.jpg").path
        let caption = try runProcess(hearth, ["caption", "--json", Fixtures.sample("person.jpg"), missing])
        XCTAssertEqual(caption.status, 1, "one input failed")
        XCTAssertTrue(caption.stderr.contains("error: \(missing)"), caption.stderr)
        let record = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(caption.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(record["text"] as? String, "A horse on the right, a person and a dog.")
        XCTAssertEqual(Set(record["tags"] as? [String] ?? []), ["horse", "person", "dog"])
        let provenance = try XCTUnwrap(record["provenance"] as? [String: Any])
        XCTAssertEqual((provenance["files"] as? [String: String])?["yolov3-tiny.weights"],
                       "dccea06f59b781ec1234ddf8d1e94b9519a97f4245748a7d4db75d5b7080a42c")
        let detect = try runProcess(hearth, ["detect", "--threshold", "0.5", Fixtures.sample("dog.jpg")])
        XCTAssertEqual(detect.status, 0, detect.stderr)
        XCTAssertTrue(detect.stdout.contains("  dog 0.57 ["), detect.stdout)
        XCTAssertFalse(detect.stdout.contains(" 0.4"), "threshold 0.5 drops lower scores: \(detect.stdout)")
        let out = folder.appendingPathComponent("captions")
        let written = try runProcess(hearth, ["caption", "--output-dir", out.path, Fixtures.sample("chelsea.png")])
        XCTAssertEqual(written.status, 0, written.stderr)
        XCTAssertEqual(try String(contentsOf: out.appendingPathComponent("chelsea.txt"), encoding: .utf8), "A cat.\n")
        let ask = try runProcess(hearth, ["ask", "--image", Fixtures.sample("person.jpg"), "--max-tokens", "24", "--json",
                                          "Which animals are in the photo?"])
        XCTAssertEqual(ask.status, 0, ask.stderr)
        XCTAssertTrue(ask.stdout.contains("\"answer\""), ask.stdout)
    }

    /// `rewrite_model`: a text model turns the detections into one sentence; the detector's
    /// caption and the objects stay in the record, the text model's hash in the provenance.
    func testCaptionRewrittenByTextModel() throws {
        try Fixtures.copy(Fixtures.sample("person.jpg"), into: folder.appendingPathComponent("photos"))
        let pipeline = try Fixtures.write("""
            inputs: [photos]
            stages:
              - task: caption
                options: {rewrite_model: qwen2.5-coder-0.5b-instruct, rewrite_max_tokens: 40}
            outputs: {directory: out}
            """, to: folder.appendingPathComponent("p.yaml"))
        let (summary, records) = try run(pipeline)
        XCTAssertEqual(summary.succeeded, 1)
        let caption = try XCTUnwrap(records.first?.results["caption"])
        XCTAssertEqual(caption["detector_caption"]?.stringValue, "A horse on the right, a person and a dog.")
        let text = caption["text"]?.stringValue ?? ""
        XCTAssertFalse(text.isEmpty)
        XCTAssertFalse(text.contains("\n"), text)
        print("rewritten caption: \(text)")
        // every detected kind is named (Qwen2.5-0.5B; SmolLM2-135M's sentence drifts with the last bit
        // of the sums and invents, README "What a caption is made from")
        for word in ["horse", "person", "dog"] { XCTAssertTrue(text.lowercased().contains(word), "\(word): \(text)") }
        XCTAssertEqual(caption["objects"]?.arrayValue?.count, 5)
        XCTAssertEqual(records.first?.provenance.stages.first?.provenance.files?["rewrite/model.gguf"],
                       "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32")
    }
}
