import CHearthDeps
import Media
import TestSupport
import XCTest

/// Files at other rates are written with libsndfile, decoded, and resampled to 16 kHz by libsoxr.
final class ResamplerTests: XCTestCase {
    /// Decodes a mono sine written at `rate` and returns the 16 kHz samples.
    private func resampledSine(frequency: Double, rate: Int, seconds: Double) throws -> [Float] {
        let path = try TestSupport.temporaryDirectory(for: self, prefix: "hearth-media").appendingPathComponent("sine-\(rate).wav").path
        let sine = MediaSupport.sine(frequency: frequency, sampleRate: rate, seconds: seconds)
        try MediaSupport.writeAudio(sine, to: path, sampleRate: rate, format: Int32(SF_FORMAT_WAV | SF_FORMAT_FLOAT))
        return try AudioDecoder.decodeMono16k(path: path)
    }

    /// Zero crossings from negative to positive (one per period).
    private func risingZeroCrossings(_ samples: ArraySlice<Float>) -> Int {
        zip(samples, samples.dropFirst()).filter { $0.0 < 0 && $0.1 >= 0 }.count
    }

    func testDownsamples44100ToSixteenKilohertz() throws {
        let output = try resampledSine(frequency: 1000, rate: 44100, seconds: 2)
        XCTAssertEqual(output.count, 32000)
        let steady = output[1600..<30400]  // 1.8 s away from the edges
        XCTAssertEqual(risingZeroCrossings(steady), 1800, accuracy: 1)
        XCTAssertEqual(MediaSupport.toneAmplitude(steady, frequency: 1000, sampleRate: 16000), 0.5, accuracy: 0.005)
        XCTAssertLessThan(MediaSupport.toneAmplitude(steady, frequency: 1100, sampleRate: 16000), 1e-3)
    }

    func testUpsamples8000ToSixteenKilohertz() throws {
        let output = try resampledSine(frequency: 440, rate: 8000, seconds: 1.5)
        XCTAssertEqual(output.count, 24000)
        let steady = output[1600..<22400]  // 1.3 s
        XCTAssertEqual(risingZeroCrossings(steady), 572, accuracy: 1)
        XCTAssertEqual(MediaSupport.toneAmplitude(steady, frequency: 440, sampleRate: 16000), 0.5, accuracy: 0.005)
        // Band-limited: no image of the tone above the old Nyquist (8000 − 440 Hz).
        XCTAssertLessThan(MediaSupport.toneAmplitude(steady, frequency: 7560, sampleRate: 16000), 1e-3)
    }

    /// A 10 kHz tone is above the new Nyquist (8 kHz): it must be filtered out, not folded to 6 kHz.
    func testToneAboveNewNyquistDoesNotAlias() throws {
        let output = try resampledSine(frequency: 10000, rate: 44100, seconds: 1)
        XCTAssertEqual(output.count, 16000)
        let steady = output[1600..<14400]
        XCTAssertLessThan(MediaSupport.toneAmplitude(steady, frequency: 6000, sampleRate: 16000), 1e-4)
        let rms = (steady.reduce(0) { $0 + Double($1 * $1) } / Double(steady.count)).squareRoot()
        XCTAssertLessThan(rms, 1e-4, "the 0.5-amplitude tone should be attenuated by more than 70 dB")
    }
}
