import Foundation
import Models
import ModelStore
import XCTest

enum DetectionSupport {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    nonisolated(unsafe) static var cached: YOLODetector?

    /// The installed yolov3-tiny (`make test-models`).
    static func detector() throws -> YOLODetector {
        if let cached { return cached }
        let directory: URL
        do { directory = try ModelStore().resolve(ModelCatalog.defaultDetector).directory } catch {
            throw XCTSkip("yolov3-tiny is not installed (\(error)); run `make test-models`")
        }
        let d = try YOLODetector(directory: directory.path)
        cached = d
        return d
    }

    /// TEMPORARY: raw RGB made by Python until the image decoders land.
    static func decode(_ file: String) throws -> (pixels: [UInt8], width: Int, height: Int) {
        let data = try Data(contentsOf: root.appendingPathComponent(".build/photos/\(file).rgb"))
        let w = Int(data.withUnsafeBytes { $0.load(fromByteOffset: 0, as: Int32.self) })
        let h = Int(data.withUnsafeBytes { $0.load(fromByteOffset: 4, as: Int32.self) })
        return ([UInt8](data.dropFirst(8)), w, h)
    }
}
