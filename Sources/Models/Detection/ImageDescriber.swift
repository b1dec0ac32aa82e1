// What caption/detect stages and `hearth caption` call: an image in, a description out. The object
// detector is the default (YOLOv3-tiny); a vision-language model can conform later and be chosen
// by `model:` without changing the stages.

import Foundation
import Media

/// One image described: a caption sentence and, from a detector, the objects behind it.
public struct ImageDescription: Sendable, Equatable {
    public var caption: String
    public var objects: [DetectedObject]
    /// Distinct labels, largest total area first.
    public var tags: [String]
    public var width: Int, height: Int
    public init(caption: String, objects: [DetectedObject], tags: [String], width: Int, height: Int) {
        self.caption = caption; self.objects = objects; self.tags = tags; self.width = width; self.height = height
    }
}

public protocol ImageDescriber: AnyObject {
    /// Describes a decoded image (EXIF orientation applied).
    func describe(_ image: RGBImage) throws -> ImageDescription
}

/// Describes images by detecting objects and building a sentence from them (CaptionBuilder).
public final class DetectionDescriber: ImageDescriber {
    public let detector: YOLODetector
    public let options: DetectionOptions

    public init(detector: YOLODetector, options: DetectionOptions = .init()) {
        self.detector = detector; self.options = options
    }

    public func describe(_ image: RGBImage) throws -> ImageDescription {
        let objects = detector.detect(image, options: options)
        return ImageDescription(caption: CaptionBuilder.caption(objects, imageWidth: image.width, imageHeight: image.height),
                                objects: objects, tags: CaptionBuilder.tags(objects), width: image.width, height: image.height)
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
