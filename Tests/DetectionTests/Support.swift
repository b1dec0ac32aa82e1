import Foundation
import Media
import Models
import ModelStore
import TestSupport
import XCTest

enum DetectionSupport {
    nonisolated(unsafe) static var cached: YOLODetector?

    /// The installed yolov3-tiny (`make test-models`).
    static func detector() throws -> YOLODetector {
        if let cached { return cached }
        let directory: URL
        do { directory = try ModelStore().resolve(ModelCatalog.defaultDetector).directory } catch {
            throw ModelMissing("yolov3-tiny", error)
        }
        let d = try YOLODetector(directory: directory.path)
        cached = d
        return d
    }

    /// A photo from samples/, decoded by Media (EXIF orientation applied).
    static func decode(_ file: String) throws -> (pixels: [UInt8], width: Int, height: Int) {
        let image = try ImageDecoder.decode(path: TestPaths.samples.appendingPathComponent(file).path)
        return (image.pixels, image.width, image.height)
    }
}
