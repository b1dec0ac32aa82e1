import Foundation
import Models
import Tensors
import XCTest

/// The committed goldens (scripts/goldens/make_vlm_goldens.py) and helpers to read them.
enum Fixtures {
    static let root = Bundle.module.resourceURL!.appendingPathComponent("Fixtures")
    static let modelDirectory = root.appendingPathComponent("tiny-idefics3")
    static let ggufDirectory = root.appendingPathComponent("tiny-idefics3-gguf")

    /// goldens.json, read once; a missing or unreadable file fails the test that asks, not the process.
    nonisolated(unsafe) private static var loadedGoldens: [String: Any]?
    static func goldens() throws -> [String: Any] {
        if let loadedGoldens { return loadedGoldens }
        let data = try Data(contentsOf: root.appendingPathComponent("goldens.json"))
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any], "goldens.json is not an object")
        loadedGoldens = json
        return json
    }

    static func cases() throws -> [[String: Any]] { try XCTUnwrap(try goldens()["cases"] as? [[String: Any]], "goldens.json: cases") }
    static func question() throws -> String { try XCTUnwrap(try goldens()["question"] as? String, "goldens.json: question") }

    /// A float32 tensor file named by a golden entry {"file", "shape"}.
    static func tensor(_ entry: Any?) throws -> (shape: [Int], values: [Float]) {
        let e = try XCTUnwrap(entry as? [String: Any], "not a tensor entry")
        let data = try Data(contentsOf: root.appendingPathComponent(try XCTUnwrap(e["file"] as? String, "tensor entry without a file")))
        let values = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        return (try XCTUnwrap(e["shape"] as? [Int], "tensor entry without a shape"), values)
    }

    static func floats(_ any: Any?) -> [Float] { (any as! [NSNumber]).map(\.floatValue) }
    static func ints(_ any: Any?) -> [Int] { (any as! [NSNumber]).map(\.intValue) }

    /// The processed image exactly as Hugging Face's processor produced it (pixels from the goldens).
    static func referenceImage(_ c: [String: Any]) throws -> Idefics3ProcessedImage {
        let (shape, values) = try tensor(c["pixel_values"])
        return Idefics3ProcessedImage(rows: c["rows"] as! Int, cols: c["cols"] as! Int, tileSize: shape[2], pixels: values)
    }

    /// The tiny model loaded once.
    nonisolated(unsafe) private static var loadedModel: VisionLanguageModel?
    static func huggingFace() throws -> VisionLanguageModel {
        if let loadedModel { return loadedModel }
        let model = try VisionLanguageModel.loadHuggingFace(directory: modelDirectory)
        loadedModel = model
        return model
    }
}

/// max |a − b| and mean |a − b| (both +inf when the lengths differ, so the assertion fails).
func difference(_ a: [Float], _ b: [Float]) -> (max: Float, mean: Float) {
    guard a.count == b.count else { return (.infinity, .infinity) }
    var m: Float = 0, s: Double = 0
    for i in a.indices { let d = abs(a[i] - b[i]); m = max(m, d); s += Double(d) }
    return (m, Float(s / Double(max(a.count, 1))))
}

extension Tensor {
    func row(_ r: Int, width: Int) -> [Float] { Array(UnsafeBufferPointer(start: data + r * width, count: width)) }
}
