import Foundation
import Models
import XCTest

/// NMS (darknet do_nms_sort), letterbox geometry and the caption sentence.
final class PostprocessingTests: XCTestCase {
    func box(_ x0: Float, _ y0: Float, _ x1: Float, _ y1: Float, _ probabilities: [Float]) -> Candidate {
        Candidate(x0: x0, y0: y0, x1: x1, y1: y1, objectness: probabilities.max() ?? 0, probabilities: probabilities)
    }

    func testIoU() {
        XCTAssertEqual(NonMaximumSuppression.iou(box(0, 0, 10, 10, [1]), box(0, 0, 10, 10, [1])), 1)
        XCTAssertEqual(NonMaximumSuppression.iou(box(0, 0, 10, 10, [1]), box(5, 0, 15, 10, [1])), 50 / 150, accuracy: 1e-6)
        XCTAssertEqual(NonMaximumSuppression.iou(box(0, 0, 10, 10, [1]), box(10, 0, 20, 10, [1])), 0)
        XCTAssertEqual(NonMaximumSuppression.iou(box(0, 0, 0, 0, [1]), box(0, 0, 0, 0, [1])), 0)
    }

    func testPerClassSuppression() {
        let boxes = [
            box(0, 0, 10, 10, [0.6, 0]),     // suppressed by the 0.9 box (IoU 0.82)
            box(0, 0, 10, 11, [0.9, 0]),
            box(5, 0, 15, 10, [0.7, 0]),     // IoU 0.31 with the 0.9 box: kept
            box(0, 0, 10, 10, [0, 0.5]),     // another class: never suppressed by class 0
            box(100, 100, 110, 110, [0.3, 0.8]),
            box(101, 100, 111, 110, [0.35, 0.4]),   // class 0: kept (higher); class 1: suppressed by 0.8
        ]
        let kept = NonMaximumSuppression.perClass(boxes, classes: 2, iouThreshold: 0.45)
        XCTAssertEqual(kept.map(\.probabilities), [[0.9, 0], [0.7, 0], [0, 0.5], [0, 0.8], [0.35, 0]])
        XCTAssertEqual(NonMaximumSuppression.perClass(boxes, classes: 2, iouThreshold: 0.95).count, 6, "a high threshold keeps all")
        XCTAssertEqual(NonMaximumSuppression.perClass(boxes, classes: 2, iouThreshold: 0).map(\.probabilities),
                       [[0.9, 0], [0, 0.5], [0, 0.8], [0.35, 0]])
        XCTAssertTrue(NonMaximumSuppression.perClass([], classes: 2, iouThreshold: 0.45).isEmpty)
    }

    func testLetterboxGeometry() {
        let wide = Letterbox(imageWidth: 768, imageHeight: 576, inputWidth: 416, inputHeight: 416)
        XCTAssertEqual([wide.resizedWidth, wide.resizedHeight, wide.offsetX, wide.offsetY], [416, 312, 0, 52])
        let tall = Letterbox(imageWidth: 300, imageHeight: 451, inputWidth: 416, inputHeight: 416)
        XCTAssertEqual([tall.resizedWidth, tall.resizedHeight, tall.offsetX, tall.offsetY], [276, 416, 70, 0])
        // The input's centre maps to the image's centre; the full resized area to the whole image.
        let (x0, y0, x1, y1) = wide.imageBox(centerX: 0.5, centerY: 0.5, width: 1, height: 312 / 416)
        XCTAssertEqual([x0, y0, x1, y1], [0, 0, 768, 576])
        let blob = tall.blob(pixels: [UInt8](repeating: 255, count: 300 * 451 * 3))
        XCTAssertEqual(blob[0], 0.5, "gray padding")
        XCTAssertEqual(blob[100], 1, "image area")
        XCTAssertEqual(blob.count, 3 * 416 * 416)
    }

    func object(_ label: String, _ box: [Float], score: Float = 0.9) -> DetectedObject {
        DetectedObject(label: label, classIndex: 0, score: score, box: box)
    }

    func testCaptions() {
        XCTAssertEqual(CaptionBuilder.caption([], imageWidth: 100, imageHeight: 100), "No objects recognised.")
        XCTAssertEqual(CaptionBuilder.caption([object("cat", [10, 10, 90, 90])], imageWidth: 100, imageHeight: 100), "A cat.")
        XCTAssertEqual(CaptionBuilder.caption([object("umbrella", [0, 30, 20, 60])], imageWidth: 100, imageHeight: 100), "An umbrella on the left.")
        let people = [object("person", [10, 10, 40, 90]), object("person", [50, 10, 80, 90]), object("dog", [80, 70, 95, 95])]
        XCTAssertEqual(CaptionBuilder.caption(people, imageWidth: 100, imageHeight: 100), "Two people and a dog.")
        let rider = [object("horse", [20, 40, 80, 100]), object("person", [35, 0, 65, 70])]
        XCTAssertEqual(CaptionBuilder.caption(rider, imageWidth: 100, imageHeight: 100), "A horse and a person.")
        let onCouch = [object("couch", [0, 40, 100, 100]), object("cat", [30, 30, 60, 60])]
        XCTAssertEqual(CaptionBuilder.caption(onCouch.reversed(), imageWidth: 200, imageHeight: 100), "A couch on the left and a cat.")
        let catOnCouch = [object("cat", [20, 20, 90, 70]), object("couch", [0, 50, 100, 80])]
        XCTAssertEqual(CaptionBuilder.caption(catOnCouch, imageWidth: 100, imageHeight: 100), "A cat on a couch.")
        let cars = (0..<12).map { object("car", [Float($0) * 8, 0, Float($0) * 8 + 8, 8]) }
        XCTAssertEqual(CaptionBuilder.caption(cars, imageWidth: 100, imageHeight: 100), "12 cars at the top.")
        XCTAssertEqual(CaptionBuilder.caption([object("cat", [0, 0, 10, 10], score: 0.1)], imageWidth: 100, imageHeight: 100),
                       "No objects recognised.")
        XCTAssertEqual(CaptionBuilder.plural("bus"), "buses")
        XCTAssertEqual(CaptionBuilder.plural("teddy bear"), "teddy bears")
        XCTAssertEqual(CaptionBuilder.plural("sheep"), "sheep")
        XCTAssertEqual(CaptionBuilder.caption([object("cat", [20, 20, 90, 70]), object("sofa", [0, 50, 100, 80]),
                                               object("tvmonitor", [0, 0, 10, 10], score: 0.5), object("tvmonitor", [80, 0, 90, 10], score: 0.5)],
                                              imageWidth: 100, imageHeight: 100), "A cat on a sofa and two TVs.")
        XCTAssertEqual(CaptionBuilder.phrase(count: 1, label: "diningtable"), "a dining table")
        XCTAssertEqual(CaptionBuilder.tags(people), ["person", "dog"])
        let sideBySide = [object("horse", [55, 20, 95, 70]), object("person", [10, 10, 30, 90], score: 0.8), object("dog", [35, 70, 45, 80])]
        XCTAssertEqual(CaptionBuilder.caption(sideBySide, imageWidth: 100, imageHeight: 100), "A horse on the right, a person and a dog.")
        // One box under two labels counts once (its best label); a box inside a same-label box is the same object.
        let doubled = [object("car", [0, 0, 40, 20], score: 0.6), object("truck", [0, 0, 40, 20], score: 0.5),
                       object("dog", [50, 50, 90, 90], score: 0.9), object("dog", [60, 60, 80, 80], score: 0.8),
                       object("dog", [0, 50, 40, 90], score: 0.7)]
        XCTAssertEqual(CaptionBuilder.caption(doubled, imageWidth: 100, imageHeight: 100), "Two dogs and a car.")
    }

    func imageClass(_ index: Int, _ synonyms: [String], _ score: Float) -> ImageClass {
        ImageClass(index: index, label: synonyms[0], synonyms: synonyms, score: score)
    }

    /// ImageNet classes in the sentence: each only past its threshold, each phrase with its evidence.
    func testCaptionsWithClasses() {
        let tabby = imageClass(281, ["tabby", "tabby cat"], 0.6), seashore = imageClass(978, ["seashore", "coast"], 0.2)
        let cat = [object("cat", [10, 10, 90, 90])]
        func compose(_ objects: [DetectedObject], _ classes: [ImageClass]) -> Caption {
            CaptionBuilder.compose(objects, classes: classes, imageWidth: 100, imageHeight: 100)
        }
        // A class that is a kind of the lone detected object names it, by the synonym ending in its word.
        let named = compose(cat, [tabby])
        XCTAssertEqual(named.text, "A tabby cat.")
        XCTAssertEqual(named.parts, [CaptionPart(phrase: "a tabby cat", source: .detectorAndClassifier, objects: [0], classes: [tabby])])
        XCTAssertEqual(ImageNetVocabulary.noun(imageClass(671, ["mountain bike", "all-terrain bike"], 0.6), agreeingWith: "bicycle"),
                       "mountain bike")
        // 21 "kite" is the bird: the classifier's own name, not COCO's toy kite.
        let bird = ImageClass(index: 21, label: "kite (bird of prey)", synonyms: ["kite"], score: 0.6)
        XCTAssertEqual(compose([object("bird", [10, 10, 90, 90])], [bird]).text, "A kite (bird of prey).")
        XCTAssertEqual(compose(cat, [imageClass(281, ["tabby", "tabby cat"], 0.45)]).text, "A cat.", "below agreeingClassScore")
        XCTAssertEqual(compose(cat + [object("cat", [0, 0, 8, 8])], [tabby]).text, "Two cats.", "one class, two cats: not renamed")
        XCTAssertEqual(compose([object("dog", [10, 10, 90, 90])], [tabby]).text, "A dog.", "the class is not a kind of dog")
        // A class the detector cannot name: only past loneClassScore; a place sets the scene past sceneScore.
        let volcano = imageClass(980, ["volcano"], 0.05), web = imageClass(815, ["spider web", "spider's web"], 0.85)
        XCTAssertEqual(compose([], [web]).text, "A spider web.")
        XCTAssertEqual(compose([], [imageClass(815, ["spider web"], 0.71)]).text, "No objects recognised.")
        XCTAssertEqual(compose(cat, [web]).text, "A cat and a spider web.")
        XCTAssertEqual(compose([], [volcano]).text, "No objects recognised.", "below sceneScore")
        XCTAssertEqual(compose([], [seashore]).text, "A seashore.")
        let kite = [object("person", [0, 40, 10, 90]), object("person", [12, 40, 22, 90]), object("kite", [40, 0, 60, 20])]
        let scene = compose(kite, [imageClass(701, ["parachute", "chute"], 0.56), seashore])
        XCTAssertEqual(scene.text, "Two people on the left and a kite, on a seashore.")
        XCTAssertEqual(scene.parts.map(\.source), [.detector, .detector, .scene])
        XCTAssertEqual(scene.parts.map(\.objects), [[0, 1], [2], []])
        XCTAssertEqual(scene.parts.last?.classes, [seashore])
        // A surface named by the hint is part of the first phrase's evidence.
        let onCouch = compose([object("cat", [20, 20, 90, 70]), object("couch", [0, 50, 100, 80])], [])
        XCTAssertEqual(onCouch.parts, [CaptionPart(phrase: "a cat on a couch", source: .detector, objects: [0, 1])])
    }
}
