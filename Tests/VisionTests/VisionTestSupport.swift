import Foundation
import Models
import Tensors
import XCTest

/// The committed goldens (scripts/goldens/make_vlm_goldens.py) and helpers to read them.
enum Fixtures {
    static let root = Bundle.module.resourceURL!.appendingPathComponent("Fixtures")
    static let modelDirectory = root.appendingPathComponent("tiny-idefics3")
    static let ggufDirectory = root.appendingPathComponent("tiny-idefics3-gguf")

    nonisolated(unsafe) static let goldens: [String: Any] = {
        let data = try! Data(contentsOf: root.appendingPathComponent("goldens.json"))
        return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    }()

    static var cases: [[String: Any]] { goldens["cases"] as! [[String: Any]] }

    /// A float32 tensor file named by a golden entry {"file", "shape"}.
    static func tensor(_ entry: Any?) -> (shape: [Int], values: [Float]) {
        let e = entry as! [String: Any]
        let data = try! Data(contentsOf: root.appendingPathComponent(e["file"] as! String))
        let values = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        return (e["shape"] as! [Int], values)
    }

    static func floats(_ any: Any?) -> [Float] { (any as! [NSNumber]).map(\.floatValue) }
    static func ints(_ any: Any?) -> [Int] { (any as! [NSNumber]).map(\.intValue) }

    /// The processed image exactly as Hugging Face's processor produced it (pixels from the goldens).
    static func referenceImage(_ c: [String: Any]) -> Idefics3ProcessedImage {
        let (shape, values) = tensor(c["pixel_values"])
        return Idefics3ProcessedImage(rows: c["rows"] as! Int, cols: c["cols"] as! Int, tileSize: shape[2], pixels: values)
    }

    nonisolated(unsafe) static let huggingFace: VisionLanguageModel = try! VisionLanguageModel.loadHuggingFace(directory: modelDirectory)
}

/// max |a − b| and mean |a − b|.
func difference(_ a: [Float], _ b: [Float]) -> (max: Float, mean: Float) {
    precondition(a.count == b.count, "\(a.count) vs \(b.count) values")
    var m: Float = 0, s: Double = 0
    for i in a.indices { let d = abs(a[i] - b[i]); m = max(m, d); s += Double(d) }
    return (m, Float(s / Double(max(a.count, 1))))
}

extension Tensor {
    func row(_ r: Int, width: Int) -> [Float] { Array(UnsafeBufferPointer(start: data + r * width, count: width)) }
}
