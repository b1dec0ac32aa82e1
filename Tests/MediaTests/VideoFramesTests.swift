import Foundation
import Media
import TestSupport
import XCTest

/// Frame sampling from the videos make_test_containers.sh writes.
final class VideoFramesTests: XCTestCase {
    func clip(_ name: String) throws -> String { try MediaSupport.container(name) }

    func testSampleTimes() {
        XCTAssertEqual(VideoFrames.sampleTimes(duration: 12, interval: 4, maxFrames: 12), [0, 4, 8])
        XCTAssertEqual(VideoFrames.sampleTimes(duration: 12.5, interval: 4, maxFrames: 12), [0, 4, 8, 12])
        XCTAssertEqual(VideoFrames.sampleTimes(duration: 3, interval: 10, maxFrames: 12), [0])
        XCTAssertEqual(VideoFrames.sampleTimes(duration: 3600, interval: 10, maxFrames: 4), [0, 900, 1800, 2700])  // spread evenly
        XCTAssertEqual(VideoFrames.sampleTimes(duration: nil, interval: 5, maxFrames: 3), [0, 5, 10])
    }

    /// Frames arrive at the asked times with the stream's size; a display matrix turns them upright
    /// as ffmpeg's autorotate does: rotated.mp4 (ffprobe "rotation=90", counter-clockwise) comes out
    /// as the plain stream's frames turned 270° clockwise — checked against `ffmpeg -i rotated.mp4`'s
    /// own first frame (mean absolute difference 0 against that turn, 63.8 against the other).
    func testFramesAndRotation() throws {
        let info = try VideoFrames.probe(path: try clip("slideshow.mp4"))
        XCTAssertEqual([info.width, info.height, info.rotation], [480, 360, 0])
        XCTAssertEqual(info.codec, "h264")
        XCTAssertEqual(info.frameRate ?? 0, 5, accuracy: 0.01)
        XCTAssertEqual(try VideoFrames.probe(path: try clip("rotated.mp4")).rotation, 270)
        var plain: [VideoFrame] = [], turned: [VideoFrame] = []
        try VideoFrames.sample(path: try clip("slideshow.mp4"), interval: 4, maxFrames: 12) { plain.append($0) }
        try VideoFrames.sample(path: try clip("rotated.mp4"), interval: 4, maxFrames: 12) { turned.append($0) }
        XCTAssertEqual(plain.map(\.time), [0, 4, 8])
        XCTAssertEqual(turned.map(\.time), [0, 4, 8])
        for (a, b) in zip(plain, turned) {
            XCTAssertEqual([b.image.width, b.image.height], [360, 480])
            XCTAssertTrue(a.image.rotatedClockwise(270) == b.image, "frame at \(a.time) s")
        }
        // Different scenes at 0 and 4 s (dog.jpg, then horses.jpg).
        XCTAssertNotEqual(plain[0].image.pixels, plain[1].image.pixels)
        var again: [Double] = []
        try VideoFrames.sample(path: try clip("slideshow.mp4"), at: [1.0, 9.5]) { again.append($0.time) }
        XCTAssertEqual(again, [1.0, 9.6])  // 5 fps: the first frame at or after each time
    }

    func testRefusals() throws {
        XCTAssertThrowsError(try VideoFrames.probe(path: try clip("jfk.m4a"))) { XCTAssertTrue("\($0)".contains("has no video stream"), "\($0)") }
        XCTAssertThrowsError(try VideoFrames.probe(path: try clip("slideshow.mp4"), maxPixels: 1000)) {
            XCTAssertTrue("\($0)".contains("480 × 360 is outside 1 … 1000 pixels"), "\($0)")
        }
        XCTAssertThrowsError(try VideoFrames.probe(path: MediaSupport.jfkWAV)) { XCTAssertTrue("\($0)".contains("has no video stream"), "\($0)") }
    }

    /// The report's thumbnails: PNGEncoder output decodes back (libpng) to the same pixels.
    func testPNGEncoderRoundTrips() throws {
        var rng = TestRNG(seed: 7)
        let image = RGBImage(width: 37, height: 11, pixels: (0..<(37 * 11 * 3)).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
        let decoded = try ImageDecoder.decode(data: PNGEncoder.encode(image), name: "thumb.png")
        XCTAssertEqual(decoded, image)
    }
}
