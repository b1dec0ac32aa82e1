import Foundation
import Media
import TestSupport
import XCTest

/// Decoded pixels equal Pillow's (scripts/goldens/make_image_fixtures.py): exactly for PNG, within a measured
/// tolerance for JPEG (system libjpeg-turbo vs the one bundled in Pillow's wheel).
final class ImageDecoderTests: XCTestCase {
    func testPNGMatchesPillowExactly() throws {
        let note = try ImageFixtures.note()
        XCTAssertGreaterThanOrEqual(note.png.count, 20)
        for (name, modes) in note.png.sorted(by: { $0.key < $1.key }) {
            for (mode, expected) in modes {
                let alpha: AlphaHandling = mode == "drop" ? .drop : .compositeOnWhite
                let image = try ImageDecoder.decode(path: try ImageFixtures.path(name), options: .init(alpha: alpha))
                XCTAssertEqual(image.width, expected.width, "\(name) \(mode) width")
                XCTAssertEqual(image.height, expected.height, "\(name) \(mode) height")
                XCTAssertEqual(SHA256.hex(image.pixels), expected.sha256, "\(name) (\(mode)) pixels differ from Pillow's")
            }
        }
    }

    /// Transparency makes the two alpha rules differ where they should, and nowhere else.
    func testAlphaRules() throws {
        let rgba = try ImageFixtures.path("rgba8.png")
        let dropped = try ImageDecoder.decode(path: rgba, options: .init(alpha: .drop))
        let composited = try ImageDecoder.decode(path: rgba, options: .init(alpha: .compositeOnWhite))
        // Row 0 starts with 5 fully transparent pixels: white when composited, the stored color when dropped.
        XCTAssertTrue(composited.pixels[0..<15].allSatisfy { $0 == 255 })
        XCTAssertNotEqual(Array(dropped.pixels[0..<15]), Array(composited.pixels[0..<15]))
        // Row 1 starts with 5 opaque pixels: identical.
        let row1 = (37 * 3)..<(37 * 3 + 15)
        XCTAssertEqual(Array(dropped.pixels[row1]), Array(composited.pixels[row1]))
        // Opaque formats do not depend on the rule.
        let rgb = try ImageFixtures.path("rgb8.png")
        XCTAssertEqual(try ImageDecoder.decode(path: rgb, options: .init(alpha: .drop)),
                       try ImageDecoder.decode(path: rgb, options: .init(alpha: .compositeOnWhite)))
    }

    func testJPEGMatchesPillowWithinTolerance() throws {
        let note = try ImageFixtures.note()
        var worst = 0, totalDifference = 0, totalCount = 0, exactFiles = 0
        for (name, expected) in note.jpeg.sorted(by: { $0.key < $1.key }) {
            let image = try ImageDecoder.decode(path: try ImageFixtures.path(name))
            XCTAssertEqual(image.width, expected.width, "\(name) width")
            XCTAssertEqual(image.height, expected.height, "\(name) height")
            let reference = try ImageFixtures.bytes(expected.expected)
            XCTAssertEqual(image.pixels.count, reference.count, name)
            guard image.pixels.count == reference.count else { continue }
            let differences = zip(image.pixels, reference).map { abs(Int($0) - Int($1)) }
            let fileWorst = differences.max() ?? 0
            worst = max(worst, fileWorst)
            totalDifference += differences.reduce(0, +)
            totalCount += differences.count
            if fileWorst == 0 { exactFiles += 1 }
            XCTAssertLessThanOrEqual(fileWorst, Self.jpegTolerance, "\(name): max |Δ| \(fileWorst) vs Pillow")
        }
        let mean = Double(totalDifference) / Double(max(totalCount, 1))
        print("JPEG vs Pillow \(note.pillow): \(note.jpeg.count) files, \(exactFiles) bit-exact, max |Δ| \(worst), mean |Δ| \(mean)")
        XCTAssertLessThanOrEqual(mean, 0.05)
    }

    /// Largest per-sample difference allowed between Hearth's JPEG decode and Pillow's.
    static let jpegTolerance = 1

    func testEXIFOrientationCanBeTurnedOff() throws {
        for orientation in 1...8 {
            let path = try ImageFixtures.path("orientation\(orientation).jpg")
            let stored = try ImageDecoder.decode(path: path, options: .init(applyEXIFOrientation: false))
            XCTAssertEqual([stored.width, stored.height], [24, 16], "orientation \(orientation) stored size")
            let oriented = try ImageDecoder.decode(path: path)
            XCTAssertEqual([oriented.width, oriented.height], orientation >= 5 ? [16, 24] : [24, 16])
            let probed = try ImageDecoder.probe(path: path)
            XCTAssertEqual([probed.width, probed.height], [oriented.width, oriented.height], "probe follows orientation")
        }
        // Orientation 3 is a 180° turn of orientation 1's pixels.
        let upright = try ImageDecoder.decode(path: try ImageFixtures.path("orientation3.jpg"), options: .init(applyEXIFOrientation: false))
        let turned = try ImageDecoder.decode(path: try ImageFixtures.path("orientation3.jpg"))
        XCTAssertEqual(turned.pixel(x: 0, y: 0).r, upright.pixel(x: 23, y: 15).r)
    }

    func testProbeReadsOnlyTheHeader() throws {
        XCTAssertEqual(try probeTuple(ImageFixtures.sample("dog.jpg")), [768, 576])
        XCTAssertEqual(try ImageDecoder.probe(path: ImageFixtures.sample("dog.jpg")).format, "JPEG")
        XCTAssertEqual(try probeTuple(ImageFixtures.sample("chelsea.png")), [451, 300])
        XCTAssertEqual(try ImageDecoder.probe(path: try ImageFixtures.path("rgb8_exif6.png")).format, "PNG")
        XCTAssertEqual(try probeTuple(try ImageFixtures.path("rgb8_exif6.png")), [23, 37])
        // The bomb's header is readable; only decoding it is refused.
        XCTAssertEqual(try probeTuple(try ImageFixtures.path("bomb_100000x100000.png")), [100_000, 100_000])
    }

    private func probeTuple(_ path: String) throws -> [Int] {
        let probe = try ImageDecoder.probe(path: path)
        return [probe.width, probe.height]
    }

    /// The format comes from the bytes: a PNG named .jpg decodes as PNG; Data and path entries agree.
    func testFormatFromMagicBytesNotName() throws {
        let directory = try TestSupport.temporaryDirectory(for: self, prefix: "hearth-media")
        let misnamed = directory.appendingPathComponent("actually-a-png.jpg")
        try Data(try ImageFixtures.bytes("rgb8.png")).write(to: misnamed)
        let fromPath = try ImageDecoder.decode(path: misnamed.path)
        XCTAssertEqual(try ImageDecoder.probe(path: misnamed.path).format, "PNG")
        let fromData = try ImageDecoder.decode(data: Data(try ImageFixtures.bytes("rgb8.png")), name: "memory")
        XCTAssertEqual(fromPath, fromData)
        XCTAssertEqual(fromPath, try ImageDecoder.decode(path: try ImageFixtures.path("rgb8.png")))
    }

    /// The real photos in samples/ decode exactly as Pillow decodes them, checked row by row (each
    /// row's SHA-256 against Pillow's), so a differing sample anywhere fails and is located.
    func testSamplePhotosMatchPillow() throws {
        let note = try ImageFixtures.photos()
        XCTAssertEqual(note.photos.count, 4)
        for (name, expected) in note.photos.sorted(by: { $0.key < $1.key }) {
            let image = try ImageDecoder.decode(path: ImageFixtures.sample(name))
            XCTAssertEqual([image.width, image.height], [expected.width, expected.height], name)
            XCTAssertEqual(expected.row_sha256_16.count, expected.height, name)
            guard image.width == expected.width, image.height == expected.height else { continue }
            let stride = image.width * 3
            let differing = (0..<image.height).filter { y in
                SHA256.hex(Array(image.pixels[(y * stride)..<((y + 1) * stride)])).prefix(16) != expected.row_sha256_16[y]
            }
            XCTAssertEqual(differing, [], "\(name): \(differing.count) of \(image.height) rows differ from Pillow \(note.pillow)'s decode")
            if differing.isEmpty { XCTAssertEqual(SHA256.hex(image.pixels), expected.sha256, name) }
            print("\(name): \(image.width)x\(image.height), \(image.height - differing.count) of \(image.height) rows identical to Pillow's")
        }
    }

    func testFloats() {
        let image = RGBImage(width: 2, height: 1, pixels: [0, 51, 255, 10, 20, 30])
        XCTAssertEqual(image.floats(), [0, 51, 255, 10, 20, 30].map { Float($0) * (1 / 255 as Float) })
        XCTAssertEqual(image.floats()[2], 1)
        XCTAssertEqual(image.floats(scale: 1), [0, 51, 255, 10, 20, 30])
    }
}
