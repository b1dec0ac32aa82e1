import Foundation
import Media
import Models
import XCTest

/// Idefics3's image processor from decoded photos against transformers' PIL image processor
/// (Idefics3ImageProcessorPil): tiles, layout, pixel values; and real SmolVLM-256M settings.
final class ProcessorParityTests: XCTestCase {
    var vlm: VisionLanguageModel!
    var question: String!
    override func setUpWithError() throws {
        vlm = try Fixtures.huggingFace()
        question = try Fixtures.question()
    }

    func decode(_ name: String) throws -> RGBImage {
        try ImageDecoder.decode(path: Fixtures.root.appendingPathComponent(name).path)
    }

    func testPixelValuesMatchTransformers() throws {
        var worst: Float = 0
        for c in try Fixtures.cases() {
            let processed = try vlm.processor.process(try decode(c["photo"] as! String))
            let reference = try Fixtures.referenceImage(c)
            XCTAssertEqual(processed.rows, reference.rows)
            XCTAssertEqual(processed.cols, reference.cols)
            XCTAssertEqual(processed.tiles, c["tiles"] as! Int)
            let d = difference(processed.pixels, reference.pixels)
            worst = max(worst, d.max)
            XCTAssertEqual(d.max, 0, "\(c["photo"]!): pixels differ from transformers'")
            XCTAssertEqual(try vlm.promptTokens(VisionRequest(images: [processed], question: question)), Fixtures.ints(c["input_ids"]))
        }
        print("processor pixel max |Δ| \(worst)")
    }

    func testSizesFollowTransformers() {
        // (height, width) → longest-edge size, then whole tiles (image_processing_pil_idefics3.py).
        XCTAssert(Idefics3ImageProcessor.longestEdgeSize(height: 100, width: 150, longestEdge: 96) == (64, 96))
        XCTAssert(Idefics3ImageProcessor.longestEdgeSize(height: 120, width: 80, longestEdge: 96) == (96, 64))
        XCTAssert(Idefics3ImageProcessor.longestEdgeSize(height: 301, width: 451, longestEdge: 2048) == (1366, 2048))
        XCTAssert(Idefics3ImageProcessor.tiledSize(height: 1366, width: 2048, tile: 512) == (1536, 2048))
        XCTAssert(Idefics3ImageProcessor.tiledSize(height: 64, width: 96, tile: 32) == (64, 96))
    }

    /// SmolVLM-256M's processor settings (size 2048, 512-pixel tiles, 64 tokens per tile) on a real photo.
    func testRealSmolVLMSettings() throws {
        let g = try Fixtures.goldens()["real_processor"] as! [String: Any]
        var config = vlm.processor.config
        config.longestEdge = g["size"] as! Int
        config.tileSize = g["tile"] as! Int
        config.imageSequenceLength = g["image_seq_len"] as! Int
        let processor = Idefics3ImageProcessor(config: config)
        let processed = try processor.process(try decode(g["photo"] as! String))
        XCTAssertEqual(processed.rows, g["rows"] as! Int)
        XCTAssertEqual(processed.cols, g["cols"] as! Int)
        XCTAssertEqual(processed.tiles, g["tiles"] as! Int)
        let tile = 3 * 512 * 512
        let sums = (g["tile_sums"] as! [NSNumber]).map(\.doubleValue)
        let absSums = (g["tile_abs_sums"] as! [NSNumber]).map(\.doubleValue)
        for t in 0..<processed.tiles {
            let values = processed.pixels[(t * tile)..<((t + 1) * tile)]
            XCTAssertEqual(values.reduce(0.0) { $0 + Double($1) }, sums[t], accuracy: 1e-6 * max(1, abs(absSums[t])), "tile \(t)")
            XCTAssertEqual(values.reduce(0.0) { $0 + Double(abs($1)) }, absSums[t], accuracy: 1e-6 * absSums[t], "tile \(t)")
        }
        for (index, value) in g["samples"] as! [String: NSNumber] {
            XCTAssertEqual(processed.pixels[Int(index)!], value.floatValue, "pixel \(index)")
        }
        // Prompt layout with 64 image tokens per tile: same ids as Idefics3Processor.
        let text = VisionLanguageModel.chatPrompt(question: question, images: 1)
            .replacingOccurrences(of: "<image>", with: processor.promptText(rows: processed.rows, cols: processed.cols))
        XCTAssertEqual(vlm.tokenizer.encode(text, recognizeSpecialTokens: true), Fixtures.ints(g["input_ids"]))
    }

    /// From the PNG file to greedy tokens: the whole path a user runs.
    func testPhotoToGreedyTokens() throws {
        var options = GenerationOptions()
        options.maxTokens = 12
        let c = try Fixtures.cases()[1]
        let image = try vlm.processor.process(try decode(c["photo"] as! String))
        let g = try vlm.generate([VisionRequest(images: [image], question: question)], options: options)[0]
        let reference = Fixtures.ints(c["greedy"])
        XCTAssertEqual(Array(reference.prefix(g.tokens.count)), g.tokens)
        XCTAssertGreaterThan(g.tokens.count, 0)
    }
}

/// Optional: a random checkpoint with SmolVLM-256M's dimensions made by
/// scripts/bench/check_vlm_fullsize.py (800 MB, not committed); run with HEARTH_VLM_FULLSIZE=<its directory>.
final class FullSizeCheckpointTests: XCTestCase {
    func testFullSizeCheckpointMatchesTransformers() throws {
        guard let dir = ProcessInfo.processInfo.environment["HEARTH_VLM_FULLSIZE"] else {
            throw XCTSkip("set HEARTH_VLM_FULLSIZE to the directory scripts/bench/check_vlm_fullsize.py wrote")
        }
        let url = URL(fileURLWithPath: dir)
        let reference = try JSONSerialization.jsonObject(with: Data(contentsOf: url.appendingPathComponent("reference.json"))) as! [String: Any]
        let vlm = try VisionLanguageModel.loadHuggingFace(directory: url)
        let image = try vlm.processor.process(try ImageDecoder.decode(path: reference["photo"] as! String))
        XCTAssertEqual(image.tiles, reference["tiles"] as! Int)
        let request = VisionRequest(images: [image], question: reference["question"] as! String)
        let ids = try vlm.promptTokens(request)
        XCTAssertEqual(ids, Fixtures.ints(reference["input_ids"]))
        let logits = try vlm.promptLogits(tokens: ids, images: [image], rows: [ids.count - 1])
        let d = difference(logits.array, Fixtures.floats(reference["last_logits"]))
        print("full-size: \(image.tiles) tiles, \(ids.count) ids, last logits max |Δ| \(d.max) mean \(d.mean)")
        XCTAssertLessThan(d.max, 1e-2)
        var options = GenerationOptions()
        let greedy = Fixtures.ints(reference["greedy"])
        options.maxTokens = greedy.count
        let g = try vlm.generate([request], options: options)[0]
        XCTAssertEqual(g.tokens, Array(greedy.prefix(g.tokens.count)))
    }
}
