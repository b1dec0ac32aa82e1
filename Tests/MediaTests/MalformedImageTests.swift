import Foundation
import Media
import TestSupport
import XCTest

/// Bad image input throws an ImageError naming the file and the problem; nothing crashes, and
/// nothing is allocated for a size the header merely claims.
final class MalformedImageTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = try TestSupport.temporaryDirectory(for: self, prefix: "hearth-media")
    }

    private func file(_ name: String, _ bytes: [UInt8]) throws -> String {
        let url = directory.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    private func assertRefused(_ path: String, _ kind: ImageError.Kind, mentions expected: String,
                               options: ImageDecodeOptions = .init(), file: StaticString = #filePath, line: UInt = #line) {
        do {
            let image = try ImageDecoder.decode(path: path, options: options)
            XCTFail("\(path) decoded to \(image.width)x\(image.height) instead of failing", file: file, line: line)
        } catch let error as ImageError {
            XCTAssertEqual(error.path, path, file: file, line: line)
            XCTAssertEqual(error.kind, kind, "\(error)", file: file, line: line)
            XCTAssertTrue(error.message.localizedCaseInsensitiveContains(expected),
                          "'\(error)' should mention '\(expected)'", file: file, line: line)
            XCTAssertTrue(error.description.hasPrefix(path), file: file, line: line)
        } catch {
            XCTFail("threw \(error), not an ImageError", file: file, line: line)
        }
    }

    func testMissingFileDirectoryAndEmptyFile() throws {
        assertRefused(directory.appendingPathComponent("nope.png").path, .unreadable, mentions: "no such file")
        assertRefused(directory.path, .unreadable, mentions: "directory")
        assertRefused(try file("empty.jpg", []), .empty, mentions: "empty")
    }

    func testRandomBytesAndOtherFormats() throws {
        var generator = TestRNG(state: 42)
        let noise = (0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) }
        assertRefused(try file("noise.png", noise), .unknownFormat, mentions: "not a PNG, JPEG, WebP, TIFF, GIF, BMP, HEIF/HEIC and AVIF image")
        assertRefused(try file("notes.jpg", Array("just some text\n".utf8)), .unknownFormat, mentions: "first bytes")
        assertRefused(try file("anim.png", Array("GIF89a".utf8) + [UInt8](repeating: 0, count: 32)), .corrupt, mentions: "corrupt GIF")
        let video = [0, 0, 0, 0x18] + Array("ftypisom\0\0\0\0isomavc1".utf8) + [UInt8](repeating: 0, count: 16)
        assertRefused(try file("clip.heic", video), .unsupportedFormat, mentions: "brand 'isom'")
    }

    func testTruncatedPNG() throws {
        let png = try ImageFixtures.bytes("rgb8.png")
        for cut in [20, 40, png.count / 2, png.count - 30] {
            assertRefused(try file("cut\(cut).png", Array(png.prefix(cut))), .truncated, mentions: "truncated")
        }
        let interlaced = try ImageFixtures.bytes("rgb8_adam7.png")
        assertRefused(try file("cut_adam7.png", Array(interlaced.prefix(interlaced.count * 2 / 3))), .truncated, mentions: "truncated")
        assertRefused(try file("sig.png", Array(png.prefix(5))), .truncated, mentions: "signature")
    }

    /// Only the IEND chunk is missing: every pixel is there, so the image is kept (Pillow agrees).
    func testPNGWithoutIENDIsKept() throws {
        let png = try ImageFixtures.bytes("rgb8.png")
        let image = try ImageDecoder.decode(path: try file("no_iend.png", Array(png.dropLast(12))))
        XCTAssertEqual(image, try ImageDecoder.decode(path: try ImageFixtures.path("rgb8.png")))
    }

    func testCorruptPNG() throws {
        var png = try ImageFixtures.bytes("rgb8.png")
        png[png.count / 2] ^= 0xFF  // inside IDAT: its CRC no longer matches
        assertRefused(try file("crc.png", png), .corrupt, mentions: "corrupt PNG")
    }

    func testTruncatedJPEG() throws {
        for name in ["baseline420.jpg", "progressive.jpg", "gray.jpg", "cmyk.jpg"] {
            let jpeg = try ImageFixtures.bytes(name)
            for fraction in [0.1, 0.5, 0.9] {
                let cut = Int(Double(jpeg.count) * fraction)
                assertRefused(try file("cut\(cut)-\(name)", Array(jpeg.prefix(cut))), .truncated, mentions: "truncated")
            }
        }
    }

    /// Without its EOI marker the entropy decoder reads past the data for its last bits: refused as
    /// truncated (Pillow: "image file is truncated").
    func testJPEGWithoutEOIIsTruncated() throws {
        for name in ["baseline420.jpg", "progressive.jpg"] {
            let jpeg = try ImageFixtures.bytes(name)
            XCTAssertEqual(Array(jpeg.suffix(2)), [0xFF, 0xD9])
            assertRefused(try file("no-eoi-\(name)", Array(jpeg.dropLast(2))), .truncated, mentions: "premature end")
        }
    }

    func testCorruptJPEG() throws {
        var jpeg = try ImageFixtures.bytes("baseline420.jpg")
        // Replace the first DQT marker (FF DB) by an undefined marker.
        let dqt = try XCTUnwrap((0..<(jpeg.count - 1)).first { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xDB })
        jpeg[dqt + 1] = 0x02
        assertRefused(try file("marker.jpg", jpeg), .corrupt, mentions: "corrupt JPEG")
    }

    /// A 69-byte PNG whose IHDR declares 100000 x 100000 (30 GB of RGB) is refused from its header.
    func testDecompressionBombIsRefusedBeforeAllocation() throws {
        let bomb = try ImageFixtures.path("bomb_100000x100000.png")
        assertRefused(bomb, .tooLarge, mentions: "100000x100000")
        assertRefused(bomb, .tooLarge, mentions: "refused before decoding")
        // The same for JPEG: patch a real file's SOF0 to declare 60000 x 60000.
        var jpeg = try ImageFixtures.bytes("baseline420.jpg")
        let sof = try XCTUnwrap((0..<(jpeg.count - 1)).first { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xC0 })
        jpeg.replaceSubrange((sof + 5)..<(sof + 9), with: [0xEA, 0x60, 0xEA, 0x60])
        assertRefused(try file("bomb.jpg", jpeg), .tooLarge, mentions: "60000x60000")
        // And any file above a caller's own limit.
        assertRefused(try ImageFixtures.path("rgb8.png"), .tooLarge, mentions: "limit of 100", options: .init(maxPixels: 100))
        assertRefused(try ImageFixtures.path("gray.jpg"), .tooLarge, mentions: "limit of 100", options: .init(maxPixels: 100))
    }

    /// scans100.jpg has 100 progressive scans: decoded by default (and like Pillow, in the JPEG parity
    /// test), refused under a lower scan limit.
    func testProgressiveScanLimit() throws {
        let path = try ImageFixtures.path("scans100.jpg")
        XCTAssertEqual(try ImageDecoder.decode(path: path).width, 75)
        XCTAssertEqual(try ImageDecoder.decode(path: path, options: .init(maxJPEGScans: 100)).width, 75)
        assertRefused(path, .corrupt, mentions: "more than 99 scans", options: .init(maxJPEGScans: 99))
    }

    func testZeroSizedImage() throws {
        assertRefused(try ImageFixtures.path("zero_width.png"), .emptyImage, mentions: "0x5")
    }

    /// An Exif block whose IFD0 offset points outside it: ignored like Pillow does, or refused on request.
    func testMalformedEXIF() throws {
        let path = try ImageFixtures.path("exif_bad_offset.jpg")
        let image = try ImageDecoder.decode(path: path)
        XCTAssertEqual([image.width, image.height], [24, 16])
        assertRefused(path, .malformedEXIF, mentions: "IFD0 offset", options: .init(rejectMalformedEXIF: true))
        // Exif blocks cut short or with a bad byte-order mark, spliced into a real file.
        let good = try ImageFixtures.bytes("orientation6.jpg")
        let app1 = try XCTUnwrap((0..<(good.count - 1)).first { good[$0] == 0xFF && good[$0 + 1] == 0xE1 })
        for (label, tiff) in [("short", Array("MM\0".utf8)), ("order", Array("XX\0*\0\0\0\u{8}".utf8)),
                              ("entries", [0x4D, 0x4D, 0, 42, 0, 0, 0, 8, 0xFF, 0xFF])] {
            let body = Array("Exif\0\0".utf8) + tiff
            let segment: [UInt8] = [0xFF, 0xE1, UInt8((body.count + 2) >> 8), UInt8((body.count + 2) & 0xFF)] + body
            let spliced = Array(good[..<app1]) + segment + Array(good[app1...])
            let bad = try file("exif-\(label).jpg", spliced)
            XCTAssertEqual(try ImageDecoder.decode(path: bad).width, 24, label)  // the broken block comes first and wins: no rotation
            assertRefused(bad, .malformedEXIF, mentions: "Exif", options: .init(rejectMalformedEXIF: true))
        }
    }
}

extension MalformedImageTests {
    /// Seeded mutations of real fixtures (flipped bytes, cuts, spliced garbage): every result is an
    /// image of the declared size or an ImageError; the C codecs never crash or hang.
    func testSeededMutationFuzz() throws {
        var generator = TestRNG(state: 2026)
        var decoded = 0, refused = 0
        for name in ["rgb8.png", "palette8_adam7_trns.png", "rgba16.png", "baseline420.jpg", "progressive.jpg", "cmyk.jpg", "orientation6.jpg"] {
            let original = try ImageFixtures.bytes(name)
            for round in 0..<60 {
                var bytes = original
                switch round % 3 {
                case 0:  // flip a few bytes anywhere after the signature
                    for _ in 0..<Int.random(in: 1...4, using: &generator) {
                        bytes[Int.random(in: 4..<bytes.count, using: &generator)] ^= UInt8.random(in: 1...255, using: &generator)
                    }
                case 1:  // cut
                    bytes = Array(bytes.prefix(Int.random(in: 3..<bytes.count, using: &generator)))
                default:  // overwrite a run with garbage
                    let start = Int.random(in: 4..<bytes.count, using: &generator)
                    for index in start..<min(bytes.count, start + 16) { bytes[index] = UInt8.random(in: 0...255, using: &generator) }
                }
                do {
                    let image = try ImageDecoder.decode(data: bytes, name: "\(name)#\(round)")
                    XCTAssertEqual(image.pixels.count, image.width * image.height * 3)
                    decoded += 1
                } catch let error as ImageError {
                    XCTAssertEqual(error.path, "\(name)#\(round)")
                    refused += 1
                }
            }
        }
        print("mutation fuzz: \(decoded) decoded, \(refused) refused with an ImageError")
        XCTAssertGreaterThan(refused, 0)
    }
}
