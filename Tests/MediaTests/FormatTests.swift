import CHearthDeps
import Media
import TestSupport
import XCTest

/// Every format libsndfile reads here gives (nearly) the same log-mel as the reference WAV.
final class FormatTests: XCTestCase {
    private var wavWindow: [Float] = []  // (80, 3000)
    private var jfkSamples: [Float] = []

    override func setUpWithError() throws {
        jfkSamples = try AudioDecoder.decodeMono16k(path: MediaSupport.jfkWAV)
        wavWindow = try LogMelSpectrogram.load(path: MediaSupport.jfkWAV).window(startFrame: 0)
    }

    /// Mean and max |Δ| between the first window of `path` and the WAV's, over the 1100 content frames.
    private func melDifference(_ path: String) throws -> (mean: Float, max: Float) {
        let spectrogram = try LogMelSpectrogram.load(path: path)
        XCTAssertEqual(spectrogram.contentFrames, 1100, accuracy: 2, path)
        let window = try spectrogram.window(startFrame: 0)
        let a = MediaSupport.columns(window, rows: 80, width: 3000, 0..<1090)
        let b = MediaSupport.columns(wavWindow, rows: 80, width: 3000, 0..<1090)
        let differences = zip(a, b).map { abs($0 - $1) }
        return (differences.reduce(0, +) / Float(differences.count), differences.max()!)
    }

    private func writeJFK(_ name: String, format: Int32) throws -> String {
        let path = try TestSupport.temporaryDirectory(for: self, prefix: "hearth-media").appendingPathComponent(name).path
        try MediaSupport.writeAudio(jfkSamples, to: path, sampleRate: 16000, format: format)
        return path
    }

    func testFLACIsLossless() throws {
        let path = try writeJFK("jfk.flac", format: Int32(SF_FORMAT_FLAC | SF_FORMAT_PCM_16))
        XCTAssertTrue(try AudioDecoder.decodeMono16k(path: path) == jfkSamples)
        XCTAssertTrue(try LogMelSpectrogram.load(path: path).window(startFrame: 0) == wavWindow)
    }

    func testOggVorbisGivesNearlyTheSameMel() throws {
        let path = try writeJFK("jfk.ogg", format: Int32(SF_FORMAT_OGG | SF_FORMAT_VORBIS))
        let difference = try melDifference(path)
        print("jfk.ogg (Vorbis) vs jfk.wav mel: mean |Δ| \(difference.mean), max |Δ| \(difference.max)")
        XCTAssertLessThan(difference.mean, 0.04)
    }

    func testOpusGivesNearlyTheSameMel() throws {
        let path = try writeJFK("jfk.opus", format: Int32(SF_FORMAT_OGG | SF_FORMAT_OPUS))
        let difference = try melDifference(path)
        print("jfk.opus vs jfk.wav mel: mean |Δ| \(difference.mean), max |Δ| \(difference.max)")
        XCTAssertLessThan(difference.mean, 0.03)
    }

    func testMP3GivesNearlyTheSameMel() throws {
        let difference = try melDifference(MediaSupport.jfkMP3)
        print("jfk.mp3 vs jfk.wav mel: mean |Δ| \(difference.mean), max |Δ| \(difference.max)")
        XCTAssertLessThan(difference.mean, 0.03)
    }

    func testStereoIsMixedDownByAveraging() throws {
        let path = try TestSupport.temporaryDirectory(for: self, prefix: "hearth-media").appendingPathComponent("stereo.wav").path
        let left = MediaSupport.sine(frequency: 300, sampleRate: 16000, seconds: 0.5, amplitude: 0.5)
        let right = MediaSupport.sine(frequency: 700, sampleRate: 16000, seconds: 0.5, amplitude: 0.25)
        let interleaved = zip(left, right).flatMap { [$0, $1] }
        try MediaSupport.writeAudio(interleaved, to: path, sampleRate: 16000, channels: 2,
                                   format: Int32(SF_FORMAT_WAV | SF_FORMAT_FLOAT))
        let mono = try AudioDecoder.decodeMono16k(path: path)
        XCTAssertTrue(mono == zip(left, right).map { ($0 + $1) * 0.5 })
    }
}
