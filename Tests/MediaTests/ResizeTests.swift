import Foundation
import Media
import TestSupport
import XCTest

/// resizedLikePillow is bit-identical to Pillow's Image.resize; resizeBilinear matches OpenCV INTER_LINEAR.
final class ResizeTests: XCTestCase {
    func testBitIdenticalToPillow() throws {
        let note = try ImageFixtures.note()
        let source = try ImageDecoder.decode(path: try ImageFixtures.path(note.resize_source))
        XCTAssertEqual([source.width, source.height], [97, 73])
        let filters: [String: ResampleFilter] = ["nearest": .nearest, "box": .box, "bilinear": .bilinear,
                                                 "hamming": .hamming, "bicubic": .bicubic, "lanczos": .lanczos]
        XCTAssertGreaterThanOrEqual(note.resize.count, 40)
        var exact = 0
        var photos: [String: RGBImage] = [:]
        for reference in note.resize {
            let filter = try XCTUnwrap(filters[reference.filter])
            var source = source
            if let photo = reference.source {
                if photos[photo] == nil { photos[photo] = try ImageDecoder.decode(path: TestPaths.packageRoot.appendingPathComponent(photo).path) }
                source = try XCTUnwrap(photos[photo])
            }
            let resized = source.resizedLikePillow(width: reference.width, height: reference.height, filter: filter)
            let label = "\(reference.filter) \(source.width)x\(source.height) → \(reference.width)x\(reference.height)"
            XCTAssertEqual([resized.width, resized.height], [reference.width, reference.height], label)
            XCTAssertEqual(resized.pixels.prefix(12).map(Int.init), reference.head, label)
            XCTAssertEqual(resized.pixels.reduce(0) { $0 + Int($1) }, reference.sum, label)
            XCTAssertEqual(SHA256.hex(resized.pixels), reference.sha256, label)
            if SHA256.hex(resized.pixels) == reference.sha256 { exact += 1 }
        }
        print("Pillow resize parity: \(exact)/\(note.resize.count) bit-identical")
    }

    /// letterboxedLikeDarknet equals Debian's libdarknet letterbox_image bit for bit (float32).
    func testLetterboxMatchesDarknet() throws {
        let note = try ImageFixtures.note()
        let references = try XCTUnwrap(note.darknet_letterbox, "fixtures made without libdarknet")
        XCTAssertEqual(references.count, 5)
        let source = try ImageDecoder.decode(path: try ImageFixtures.path(note.resize_source))
        for reference in references {
            let box = source.letterboxedLikeDarknet(width: reference.width, height: reference.height)
            let label = "\(source.width)x\(source.height) → \(reference.width)x\(reference.height)"
            XCTAssertEqual(box.pixels.count, 3 * reference.width * reference.height, label)
            let sampled = stride(from: 0, to: box.pixels.count, by: reference.sample_step).prefix(16).map { box.pixels[$0] }
            XCTAssertEqual(sampled, reference.samples, label)
            var bytes: [UInt8] = []
            bytes.reserveCapacity(box.pixels.count * 4)
            for value in box.pixels { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
            XCTAssertEqual(SHA256.hex(bytes), reference.sha256, label)
            // The content rectangle is where the scaled photo sits; outside it the canvas is 0.5.
            XCTAssertTrue(box.contentWidth == reference.width || box.contentHeight == reference.height, label)
            if box.offsetY > 0 { XCTAssertEqual(box.pixels[0], 0.5, label) }
        }
    }

    func testSameSizeIsACopy() throws {
        let source = try ImageDecoder.decode(path: try ImageFixtures.path("rgb8.png"))
        for filter in ResampleFilter.allCases {
            XCTAssertEqual(source.resizedLikePillow(width: source.width, height: source.height, filter: filter), source)
        }
    }

    func testBilinearMatchesOpenCV() throws {
        let note = try ImageFixtures.note()
        let source = try ImageFixtures.floats(note.bilinear_source)
        XCTAssertEqual(source.count, 9 * 13 * 3)
        XCTAssertFalse(note.bilinear.isEmpty)
        for (name, size) in note.bilinear {
            let reference = try ImageFixtures.floats(name)
            let resized = resizeBilinear(source, width: 13, height: 9, channels: 3, toWidth: size.width, toHeight: size.height)
            XCTAssertEqual(resized.count, reference.count, name)
            let worst = zip(resized, reference).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
            XCTAssertLessThanOrEqual(worst, 1e-5, "\(name): max |Δ| \(worst) vs OpenCV")
        }
    }
}
