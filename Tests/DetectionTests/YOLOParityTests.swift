import Foundation
import Models
import ModelStore
import XCTest

/// Parity with OpenCV DNN's Darknet importer (opencv-python-headless 4.14.0.94) on real photos:
/// goldens from scripts/goldens/make_yolo_goldens.py (Fixtures/yolo_goldens.json). Labels must be equal;
/// the other tolerances are at most 10 × the max |Δ| measured on 2026-12-04 (`Tolerance`).
final class YOLOParityTests: XCTestCase {
    static let fixtures = Bundle.module.resourceURL!.appendingPathComponent("Fixtures")

    func testBlobsHeadsAndDetectionsMatchOpenCV() throws {
        let detector = try DetectionSupport.detector()
        let golden = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.fixtures.appendingPathComponent("yolo_goldens.json"))) as! [String: Any]
        let images = golden["images"] as! [[String: Any]]
        XCTAssertGreaterThanOrEqual(images.count, 3)
        var maxBox: Float = 0, maxScore: Float = 0, maxHead: Double = 0, maxBlob: Float = 0, maxSum: Double = 0, compared = 0
        for image in images {
            let file = image["file"] as! String
            let (pixels, width, height) = try DetectionSupport.decode(file)
            XCTAssertEqual(width, image["width"] as? Int, file)
            XCTAssertEqual(height, image["height"] as? Int, file)
            let letterbox = Letterbox(imageWidth: width, imageHeight: height, inputWidth: detector.inputWidth, inputHeight: detector.inputHeight)
            XCTAssertEqual([letterbox.resizedWidth, letterbox.resizedHeight, letterbox.offsetX, letterbox.offsetY],
                           image["letterbox"] as? [Int], file)
            let blob = letterbox.blob(pixels: pixels)
            let blobGolden = image["blob"] as! [String: Any]
            for (i, v) in zip(blobGolden["indices"] as! [Int], blobGolden["values"] as! [Double]) {
                maxBlob = max(maxBlob, abs(blob[i] - Float(v)))
            }
            let heads = detector.forward(blob: blob)
            let headGoldens = image["heads"] as! [[String: Any]]
            XCTAssertEqual(heads.count, headGoldens.count)
            for (head, g) in zip(heads, headGoldens) {
                XCTAssertEqual([head.values.count / (head.height * head.width), head.height, head.width], g["shape"] as? [Int], file)
                for (i, v) in zip(g["indices"] as! [Int], g["values"] as! [Double]) { maxHead = max(maxHead, abs(Double(head.values[i]) - v)) }
                let sum = head.values.reduce(0.0) { $0 + Double($1) }, goldenSum = g["sum"] as! Double
                maxSum = max(maxSum, abs(sum - goldenSum) / max(abs(goldenSum), 1))
            }
            let objects = detector.detections(heads, letterbox: letterbox, options: DetectionOptions())
            let expected = image["objects"] as! [[String: Any]]
            XCTAssertEqual(objects.map(\.label), expected.map { $0["label"] as! String }, "\(file): labels")
            for (o, e) in zip(objects, expected) {
                let box = (e["box"] as! [Double]).map(Float.init)
                for (a, b) in zip(o.box, box) { maxBox = max(maxBox, abs(a - b)) }
                maxScore = max(maxScore, abs(o.score - Float(e["score"] as! Double)))
                compared += 1
            }
        }
        print("YOLO parity vs OpenCV: \(images.count) images, \(compared) objects; max |Δ| blob \(maxBlob), raw heads \(maxHead), "
              + "head sums (relative) \(maxSum), box \(maxBox) px, score \(maxScore)")
        XCTAssertGreaterThan(compared, 5)
        XCTAssertLessThanOrEqual(maxBlob, Tolerance.blob)
        XCTAssertLessThanOrEqual(maxHead, Tolerance.head)
        XCTAssertLessThanOrEqual(maxSum, Tolerance.headSumRelative)
        XCTAssertLessThanOrEqual(maxBox, Tolerance.box)
        XCTAssertLessThanOrEqual(maxScore, Tolerance.score)
    }

    /// max |Δ| allowed, from the measured max |Δ| (in parentheses) × at most 10.
    enum Tolerance {
        static let blob: Float = 5e-7              // (6.0e-8: one float ulp of pixel / 255)
        static let head = 5e-4                     // (8.2e-5, raw YOLO-head values)
        static let headSumRelative = 5e-6          // (9.0e-7, |Δ sum| / max(|sum|, 1) per head)
        static let box: Float = 5e-3               // (6.1e-4 px)
        static let score: Float = 5e-5             // (9.2e-6)
    }
}
