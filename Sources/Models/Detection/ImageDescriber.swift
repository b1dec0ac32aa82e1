// What caption/detect stages and `hearth caption` call when no vision-language model is given: an
// image in, a description built from detected objects (YOLOv3-tiny by default) out. A VLM caption
// runs through VisionLanguageModel instead (Pipelines' VisionLanguageStage, chosen by `model:`).

import Foundation
import Media

/// One image described: a caption sentence and, from a detector, the objects behind it.
public struct ImageDescription: Sendable, Equatable {
    public var caption: String
    public var objects: [DetectedObject]
    /// Distinct labels, largest total area first.
    public var tags: [String]
    public var width: Int, height: Int
    /// Whether the objects come from the zoomed-out second look (DetectionOptions.zoomOutRetry).
    public var zoomedOut = false
    /// What the zoomed-out look found below `DetectionDescriber.zoomOutMinimumScore` (not in `objects`).
    public var zoomOutRejected: [DetectedObject] = []
    /// The image's top ImageNet classes, best first (empty without a classifier).
    public var classes: [ImageClass] = []
    /// What each phrase of the caption rests on.
    public var captionParts: [CaptionPart] = []
    public init(caption: String, objects: [DetectedObject], tags: [String], width: Int, height: Int) {
        self.caption = caption; self.objects = objects; self.tags = tags; self.width = width; self.height = height
    }
}

/// Describes images by detecting objects, optionally classifying the whole image (ImageNet), and
/// building a sentence from both (CaptionBuilder.compose).
public final class DetectionDescriber {
    public let detector: YOLODetector
    public let classifier: ImageClassifier?
    public let options: DetectionOptions
    /// ImageNet classes kept per image (the record's `classes`; the caption reads them).
    public static let classCount = 5
    /// A zoomed-out detection counts only from this score. Measured (yolov3-tiny, 416): the close-ups
    /// it exists for score 0.94 (chelsea.png cat), 0.97 (photo_cat.png), 0.96 (photo_portrait.png
    /// person); what it invents scores up to 0.79 (a dog as a sheep in person.jpg), 0.59 (a bed in
    /// The Scream, where darknet finds nothing), 0.45 (a suitcase in a cellular-automaton pattern).
    public static let zoomOutMinimumScore: Float = 0.9

    public init(detector: YOLODetector, classifier: ImageClassifier? = nil, options: DetectionOptions = .init()) throws {
        if let classifier, classifier.synonyms == nil {
            throw DescriberError("the image classifier has no \(ImageClassifier.synonymsFile) (installed before captions used it): "
                                 + "run `hearth models install efficientnet-lite0` again, or set classify_model: none (--classify-model none)")
        }
        self.detector = detector; self.classifier = classifier; self.options = options
    }

    /// Describes a decoded image (EXIF orientation applied).
    public func describe(_ image: RGBImage) throws -> ImageDescription {
        var objects = detector.detect(image, options: options)
        var zoomedOut = false, rejected: [DetectedObject] = []
        if objects.isEmpty && options.zoomOutRetry {
            let found = detectZoomedOut(image)
            objects = found.filter { $0.score >= Self.zoomOutMinimumScore }
            rejected = found.filter { $0.score < Self.zoomOutMinimumScore }
            zoomedOut = !objects.isEmpty
        }
        let classes = classifier.map { c in
            c.classify(image, top: Self.classCount).map { l in
                ImageClass(index: l.index, label: l.name, synonyms: c.synonyms?[l.index] ?? [l.name], score: l.score)
            }
        } ?? []
        let caption = CaptionBuilder.compose(objects, classes: classes, imageWidth: image.width, imageHeight: image.height)
        var d = ImageDescription(caption: caption.text, objects: objects, tags: CaptionBuilder.tags(objects),
                                 width: image.width, height: image.height)
        d.zoomedOut = zoomedOut; d.zoomOutRejected = rejected
        d.classes = classes; d.captionParts = caption.parts
        return d
    }

    /// The image centred on a canvas twice its size, gray 128 (the letterbox's 0.5); boxes mapped back and clamped.
    func detectZoomedOut(_ image: RGBImage) -> [DetectedObject] {
        let w = image.width, h = image.height, cw = 2 * w, ch = 2 * h, dx = w / 2, dy = h / 2
        var canvas = [UInt8](repeating: 128, count: cw * ch * 3)
        for y in 0..<h {
            canvas.replaceSubrange(((y + dy) * cw + dx) * 3..<((y + dy) * cw + dx + w) * 3, with: image.pixels[(y * w * 3)..<((y + 1) * w * 3)])
        }
        return detector.detect(pixels: canvas, width: cw, height: ch, options: options).compactMap { o in
            var o = o
            o.box = [min(max(o.box[0] - Float(dx), 0), Float(w)), min(max(o.box[1] - Float(dy), 0), Float(h)),
                     min(max(o.box[2] - Float(dx), 0), Float(w)), min(max(o.box[3] - Float(dy), 0), Float(h))]
            return o.area > 0 ? o : nil
        }
    }
}

extension YOLODetector {
    public func detect(_ image: RGBImage, options: DetectionOptions = .init()) -> [DetectedObject] {
        detect(pixels: image.pixels, width: image.width, height: image.height, options: options)
    }
}

public struct DescriberError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// An image description as context for a text model (`hearth ask --image`).
public enum ImageContext {
    public static func text(_ d: ImageDescription, name: String) -> String {
        let counts = Dictionary(grouping: d.objects, by: \.label).mapValues(\.count)
        let objects = d.tags.map { "\(counts[$0] ?? 0) × \($0)" }.joined(separator: ", ")
        return "Description of the image \(name) (\(d.width)×\(d.height) pixels), from an object detector: \(d.caption)\n"
            + "Objects detected: \(objects.isEmpty ? "none" : objects)."
    }
}
