import Foundation
import Models
import ModelStore
import XCTest

/// Parity with OpenCV DNN's Darknet importer (opencv-python-headless 4.14.0.94) on real photos:
/// goldens from scripts/goldens/make_yolo_goldens.py (Fixtures/yolo_goldens.json). Tolerances: blob values
/// within 2/255 (independent JPEG decoders), raw head values within 0.05 absolute (head sums within
/// 0.5 %), labels equal, boxes within 3 px, scores within 0.02.
final class YOLOParityTests: XCTestCase {
    static let fixtures = Bundle.module.resourceURL!.appendingPathComponent("Fixtures")

    func testBlobsHeadsAndDetectionsMatchOpenCV() throws {
        let detector = try DetectionSupport.detector()
        let golden = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.fixtures.appendingPathComponent("yolo_goldens.json"))) as! [String: Any]
        let images = golden["images"] as! [[String: Any]]
        XCTAssertGreaterThanOrEqual(images.count, 3)
        var maxBox: Float = 0, maxScore: Float = 0, maxHead: Double = 0, maxBlob: Float = 0, compared = 0
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
                XCTAssertEqual(sum, goldenSum, accuracy: 0.005 * max(abs(goldenSum), 1), "\(file): head sum")
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
              + "box \(maxBox) px, score \(maxScore)")
        XCTAssertGreaterThan(compared, 5)
        XCTAssertLessThanOrEqual(maxBlob, 2.0 / 255)
        XCTAssertLessThanOrEqual(maxHead, 0.05)
        XCTAssertLessThanOrEqual(maxBox, 3)
        XCTAssertLessThanOrEqual(maxScore, 0.02)
    }
}
