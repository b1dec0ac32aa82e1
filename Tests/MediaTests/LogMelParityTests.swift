import Media
import TestSupport
import XCTest

/// Parity with the fixtures of scripts/goldens/make_mel_fixture.py (numpy + openai-whisper's mel_filters.npz,
/// framed like faster-whisper 1.2.1 transcribe(), cross-checked against its FeatureExtractor).
final class LogMelParityTests: XCTestCase {
    static let tolerance: Float = 1e-4

    func testSlaneyFilterbankMatchesWhisperAssets() throws {
        for nMels in [80, 128] {
            let (expected, shape) = try MediaSupport.fixtureArray("filters\(nMels)")
            XCTAssertEqual(shape, [nMels, 201])
            let computed = MelFilterbank.slaney(nMels: nMels)
            let difference = maxAbsDifference(computed[...], expected[...])
            print("mel filterbank \(nMels): max |swift - mel_filters.npz| = \(difference)")
            XCTAssertLessThanOrEqual(difference, 1e-6)
        }
    }

    func testFirstWindowOfJFKMatchesFixture() throws {
        let note = try MediaSupport.fixtureNote()
        let (expected, shape) = try MediaSupport.fixtureArray("mel80")
        let content = note.content_frames
        XCTAssertEqual(shape, [80, content])

        let spectrogram = try LogMelSpectrogram.load(path: MediaSupport.jfkWAV)
        XCTAssertEqual(spectrogram.sampleCount, note.input.samples)
        XCTAssertEqual(spectrogram.contentFrames, content)
        XCTAssertEqual(spectrogram.durationSeconds, 11.0, accuracy: 1e-9)
        XCTAssertFalse(spectrogram.isSpilledToDisk)

        let window = try spectrogram.window(startFrame: 0)  // (80, 3000)
        XCTAssertEqual(window.count, 80 * 3000)
        let audio = MediaSupport.columns(window, rows: 80, width: 3000, 0..<content)
        let difference = maxAbsDifference(audio[...], expected[...])
        print("jfk.wav 80-mel window 0: max |swift - fixture| = \(difference) over \(content) content frames")
        XCTAssertLessThanOrEqual(difference, Self.tolerance)
        let padding = MediaSupport.columns(window, rows: 80, width: 3000, content..<3000)
        XCTAssertTrue(padding.allSatisfy { $0 == 0 }, "frames past the audio must be zero, as pad_or_trim makes them")
    }

    func testJFK128MelsMatchFixture() throws {
        let (expected, shape) = try MediaSupport.fixtureArray("mel128_head")
        let spectrogram = try LogMelSpectrogram.load(path: MediaSupport.jfkWAV, nMels: 128)
        let window = try spectrogram.window(startFrame: 0)  // (128, 3000)
        let head = MediaSupport.columns(window, rows: 128, width: 3000, 0..<shape[1])
        let difference = maxAbsDifference(head[...], expected[...])
        print("jfk.wav 128-mel window 0: max |swift - fixture| = \(difference) over \(shape[1]) frames")
        XCTAssertLessThanOrEqual(difference, Self.tolerance)
    }

    /// A segment near the end holds the remaining content frames, then zeros (never the extra last frame).
    func testWindowNearTheEndIsPaddedLikeFasterWhisper() throws {
        let (expected, _) = try MediaSupport.fixtureArray("mel80")
        let content = try MediaSupport.fixtureNote().content_frames
        let spectrogram = try LogMelSpectrogram.load(path: MediaSupport.jfkWAV)

        let start = content - 100
        let tail = try spectrogram.window(startFrame: start)  // (80, 3000)
        let expectedTail = MediaSupport.columns(expected, rows: 80, width: content, start..<content)
        let tailAudio = MediaSupport.columns(tail, rows: 80, width: 3000, 0..<100)
        XCTAssertLessThanOrEqual(maxAbsDifference(tailAudio[...], expectedTail[...]), Self.tolerance)
        XCTAssertTrue(MediaSupport.columns(tail, rows: 80, width: 3000, 100..<3000).allSatisfy { $0 == 0 })

        XCTAssertTrue(try spectrogram.window(startFrame: content).allSatisfy { $0 == 0 })
        XCTAssertTrue(try spectrogram.window(startFrame: content + 5000).allSatisfy { $0 == 0 })

        // A clipped segment (clip_timestamps): 250 frames of audio, padded to 3000.
        let clipped = try spectrogram.window(startFrame: 10, count: 250)
        let clippedExpected = MediaSupport.columns(expected, rows: 80, width: content, 10..<260)
        XCTAssertLessThanOrEqual(
            maxAbsDifference(MediaSupport.columns(clipped, rows: 80, width: 3000, 0..<250)[...], clippedExpected[...]),
            Self.tolerance)
        XCTAssertTrue(MediaSupport.columns(clipped, rows: 80, width: 3000, 250..<3000).allSatisfy { $0 == 0 })
    }

    /// The last, partial segment of a 33 s signal whose length is not a multiple of 160 samples.
    func testLastSegmentOfOddLengthAudioMatchesFixture() throws {
        let tiled = try MediaSupport.fixtureNote().tiled
        let (expected, shape) = try MediaSupport.fixtureArray("tiled_tail_mel80")
        let jfk = try AudioDecoder.decodeMono16k(path: MediaSupport.jfkWAV)
        let samples = Array(Array(repeating: jfk, count: tiled.copies).joined().dropLast(tiled.trim_samples))
        let path = try TestSupport.temporaryDirectory(for: self, prefix: "hearth-media").appendingPathComponent("jfk3.wav").path
        try MediaSupport.writeAudio(samples, to: path, sampleRate: 16000)

        let spectrogram = try LogMelSpectrogram.load(path: path)
        XCTAssertEqual(spectrogram.contentFrames, tiled.content_frames)
        let frames = tiled.content_frames - tiled.window_start_frame
        XCTAssertEqual(shape, [80, frames])
        let window = try spectrogram.window(startFrame: tiled.window_start_frame)  // (80, 3000)
        let audio = MediaSupport.columns(window, rows: 80, width: 3000, 0..<frames)
        let difference = maxAbsDifference(audio[...], expected[...])
        print("jfk x3 - 37 samples, 80-mel window at frame 3000: max |swift - fixture| = \(difference) over \(frames) frames")
        XCTAssertLessThanOrEqual(difference, Self.tolerance)
        XCTAssertTrue(MediaSupport.columns(window, rows: 80, width: 3000, frames..<3000).allSatisfy { $0 == 0 })
    }

    /// faster-whisper: features = N / 160 + 1 frames, content_frames = features - 1.
    func testContentFramesFollowFasterWhisperForAnyLength() throws {
        for count in [0, 1, 40, 41, 159, 160, 161, 199, 200, 201, 240, 241, 319, 320, 16000, 16159, 70000] {
            let samples = (0..<count).map { Float(sin(Double($0) * 0.05)) * 0.3 }
            let spectrogram = LogMelSpectrogram(samples: samples)
            XCTAssertEqual(spectrogram.contentFrames, count / 160, "\(count) samples")
            let window = try spectrogram.window(startFrame: 0)
            XCTAssertEqual(window.count, 80 * 3000)
            XCTAssertTrue(window.allSatisfy { $0.isFinite })
        }
    }

    /// The shared FFTW plan is executed from many threads at once; results must not change.
    func testConcurrentLoadsAgree() throws {
        let reference = try LogMelSpectrogram.load(path: MediaSupport.jfkWAV).window(startFrame: 0)
        let matches = UnsafeMutableBufferPointer<Bool>.allocate(capacity: 8)
        defer { matches.deallocate() }
        DispatchQueue.concurrentPerform(iterations: matches.count) { index in
            matches[index] = (try? LogMelSpectrogram.load(path: MediaSupport.jfkWAV).window(startFrame: 0)) == reference
        }
        XCTAssertTrue(matches.allSatisfy { $0 })
    }

    func testDecodedSamplesAndInMemorySpectrogramAgreeWithStreamingLoad() throws {
        let samples = try AudioDecoder.decodeMono16k(path: MediaSupport.jfkWAV)
        XCTAssertEqual(samples.count, 176_000)
        XCTAssertTrue(samples.allSatisfy { ($0 * 32768).rounded() == $0 * 32768 }, "16-bit PCM must decode as int16 / 32768")
        let streamed = try LogMelSpectrogram.load(path: MediaSupport.jfkWAV)
        XCTAssertTrue(try LogMelSpectrogram(samples: samples).window(startFrame: 0) == streamed.window(startFrame: 0))
    }
}
