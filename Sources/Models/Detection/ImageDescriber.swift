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
    public init(caption: String, objects: [DetectedObject], tags: [String], width: Int, height: Int) {
        self.caption = caption; self.objects = objects; self.tags = tags; self.width = width; self.height = height
    }
}

/// Describes images by detecting objects and building a sentence from them (CaptionBuilder).
public final class DetectionDescriber {
    public let detector: YOLODetector
    public let options: DetectionOptions

    public init(detector: YOLODetector, options: DetectionOptions = .init()) {
        self.detector = detector; self.options = options
    }

    /// Describes a decoded image (EXIF orientation applied).
    public func describe(_ image: RGBImage) throws -> ImageDescription {
        var objects = detector.detect(image, options: options)
        var zoomedOut = false
        if objects.isEmpty && options.zoomOutRetry {
            objects = detectZoomedOut(image)
            zoomedOut = !objects.isEmpty
        }
        var d = ImageDescription(caption: CaptionBuilder.caption(objects, imageWidth: image.width, imageHeight: image.height),
                                 objects: objects, tags: CaptionBuilder.tags(objects), width: image.width, height: image.height)
        d.zoomedOut = zoomedOut
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

/// An image description as context for a text model (`hearth ask --image`).
public enum ImageContext {
    public static func text(_ d: ImageDescription, name: String) -> String {
        let counts = Dictionary(grouping: d.objects, by: \.label).mapValues(\.count)
        let objects = d.tags.map { "\(counts[$0] ?? 0) × \($0)" }.joined(separator: ", ")
        return "Description of the image \(name) (\(d.width)×\(d.height) pixels), from an object detector: \(d.caption)\n"
            + "Objects detected: \(objects.isEmpty ? "none" : objects)."
    }
}
