import CHearthDeps
import Media
import TestSupport
import XCTest

/// Frames past the in-memory limit spill to an mmap'd temp file; windows must not change.
final class SpillTests: XCTestCase {
    func testSpilledJFKWindowsEqualInMemoryWindows() throws {
        let inMemory = try LogMelSpectrogram.load(path: MediaSupport.jfkWAV)
        for limit in [0, 1, 100, 1100] {
            let spilled = try LogMelSpectrogram.load(path: MediaSupport.jfkWAV, memoryFrameLimit: limit)
            XCTAssertTrue(spilled.isSpilledToDisk, "limit \(limit)")
            XCTAssertEqual(spilled.contentFrames, inMemory.contentFrames)
            for start in [0, 1, 777, 1099] {
                XCTAssertTrue(try spilled.window(startFrame: start) == inMemory.window(startFrame: start), "limit \(limit), start \(start)")
            }
        }
        XCTAssertFalse(try LogMelSpectrogram.load(path: MediaSupport.jfkWAV, memoryFrameLimit: 1101).isSpilledToDisk)
    }

    /// Two minutes at 44.1 kHz: several decoder chunks, resampling, and many spill-file write batches.
    func testLongResampledFileSpillsWithIdenticalWindows() throws {
        let path = try TestSupport.temporaryDirectory(for: self, prefix: "hearth-media").appendingPathComponent("long.wav").path
        let rate = 44100
        let seconds = 120.0
        let chirp = (0..<Int(seconds * Double(rate))).map { index -> Float in
            let time = Double(index) / Double(rate)
            return Float(0.3 * sin(2 * Double.pi * (200 + 25 * time) * time))
        }
        try MediaSupport.writeAudio(chirp, to: path, sampleRate: rate)

        let inMemory = try LogMelSpectrogram.load(path: path, nMels: 128)
        let spilled = try LogMelSpectrogram.load(path: path, nMels: 128, memoryFrameLimit: 500)
        XCTAssertFalse(inMemory.isSpilledToDisk)
        XCTAssertTrue(spilled.isSpilledToDisk)
        XCTAssertEqual(inMemory.sampleCount, 1_920_000)
        XCTAssertEqual(inMemory.contentFrames, 12_000)
        XCTAssertEqual(spilled.contentFrames, inMemory.contentFrames)
        for start in [0, 2999, 3000, 6000, 9000, 11_990] {
            XCTAssertTrue(try spilled.window(startFrame: start) == inMemory.window(startFrame: start), "start \(start)")
        }
    }
}
