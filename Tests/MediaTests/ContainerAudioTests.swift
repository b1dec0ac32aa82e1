import Foundation
import Media
import TestSupport
import XCTest

/// FFmpeg-decoded containers (scripts/data/make_test_containers.sh, run by `make test-audio`) against
/// the WAV they were encoded from, and the containers' failure modes.
final class ContainerAudioTests: XCTestCase {
    static var reference: [Float] = []

    override class func setUp() {
        reference = (try? AudioDecoder.decodeMono16k(path: MediaSupport.jfkWAV)) ?? []
    }

    func clip(_ name: String) throws -> String { try MediaSupport.container(name) }

    /// Signal-to-noise ratio of `decoded` against the WAV, in dB, at the lag (±2048 samples) that
    /// correlates best (codecs with a priming delay that the container does not trim shift the audio).
    func snr(_ decoded: [Float]) -> (db: Double, lag: Int) {
        let ref = Self.reference
        func overlap(_ lag: Int) -> Range<Int> { max(0, -lag)..<min(ref.count, decoded.count - lag) }
        var best = (score: -Double.infinity, lag: 0)
        for lag in stride(from: -2048, through: 2048, by: 1) {
            var dot = 0.0
            for i in stride(from: overlap(lag).lowerBound, to: overlap(lag).upperBound, by: 16) { dot += Double(ref[i]) * Double(decoded[i + lag]) }
            if dot > best.score { best = (dot, lag) }
        }
        var signal = 0.0, noise = 0.0
        for i in overlap(best.lag) {
            let d = Double(ref[i]) - Double(decoded[i + best.lag])
            signal += Double(ref[i]) * Double(ref[i]); noise += d * d
        }
        return (10 * log10(signal / max(noise, 1e-30)), best.lag)
    }

    /// The same 11 s of speech through each codec decodes to within that codec's own error of the
    /// WAV. Measured (Debian 12 FFmpeg 5.1 encoders at this script's bit rates, 2026-12-04): M4A
    /// AAC 96k 46.74 dB; Opus 48k in WebM 30.24 dB; AAC in an MP4 with a video track 46.74 dB;
    /// AC-3 128k in MKV 63.78 dB (lag 128); WMA v2 64k 38.76 dB (lag −512); stereo 44.1 kHz AAC in
    /// MOV 52.62 dB. Each bound sits 3 dB under its measurement. Lengths: within one codec frame
    /// (≤ 2048 samples at 16 kHz) of the WAV's 176 000.
    func testEachCodecMatchesTheWAVWithinItsOwnError() throws {
        let minimumSNR: [(String, Double)] = [("jfk.m4a", 43.7), ("jfk.webm", 27.2), ("jfk_video.mp4", 43.7),
                                              ("jfk.mkv", 60.7), ("jfk.wma", 35.7), ("jfk_stereo.mov", 49.6)]
        XCTAssertEqual(Self.reference.count, 176_000)
        for (name, bound) in minimumSNR {
            let decoded = try AudioDecoder.decodeMono16k(path: try clip(name))
            let (db, lag) = snr(decoded)
            print("\(name): \(decoded.count) samples, SNR \(String(format: "%.2f", db)) dB at lag \(lag)")
            XCTAssertGreaterThanOrEqual(db, bound, name)
            XCTAssertLessThanOrEqual(abs(decoded.count - Self.reference.count), 2048, "\(name): \(decoded.count) samples")
            XCTAssertLessThanOrEqual(abs(lag), 1024, name)
        }
    }

    func testProbeReportsStreamsAndCodec() throws {
        let video = try ContainerAudio.probe(path: try clip("jfk_video.mp4"))
        XCTAssertEqual(video.codec, "aac")
        XCTAssertTrue(video.container.contains("mp4"), video.container)
        XCTAssertEqual(video.videoStreams, 1)
        XCTAssertEqual(video.audioStreams, 1)
        XCTAssertEqual(video.declaredDuration ?? 0, 11, accuracy: 0.1)
        let mov = try ContainerAudio.probe(path: try clip("jfk_stereo.mov"))
        XCTAssertEqual(mov.channels, 2)
        XCTAssertEqual(mov.sampleRate, 44100)
        let wma = try ContainerAudio.probe(path: try clip("jfk.wma"))
        XCTAssertEqual(wma.codec, "wmav2")
        let tracks = try ContainerAudio.probe(path: try clip("two_tracks.mkv"))
        XCTAssertEqual(tracks.audioStreams, 2)
        XCTAssertEqual(tracks.streamIndex, 0)
        XCTAssertEqual(try ContainerAudio.probe(path: try clip("two_tracks.mkv"), stream: 1).streamIndex, 1)
        XCTAssertEqual(ContainerAudio.streamCounts(path: try clip("video_only.mp4"))?.video, 1)
        XCTAssertNil(ContainerAudio.streamCounts(path: MediaSupport.jfkWAV + ".missing"))
    }

    /// The first audio stream by default (as faster-whisper's decode_audio), another on request.
    func testChoosingAnAudioStream() throws {
        let path = try clip("two_tracks.mkv")
        let first = try AudioDecoder.decodeMono16k(path: path)
        XCTAssertLessThan(first.map(abs).max() ?? 1, 1e-3, "track 0 is silence")
        let second = try AudioDecoder.decodeMono16k(path: path, audioStream: 1)
        XCTAssertGreaterThan(snr(second).db, 50)  // AC-3 96k; measured 60.9 dB
        XCTAssertThrowsError(try AudioDecoder.decodeMono16k(path: path, audioStream: 2)) { error in
            XCTAssertTrue("\(error)".contains("has no audio stream 2 (it has 2"), "\(error)")
        }
        XCTAssertThrowsError(try AudioDecoder.decodeMono16k(path: MediaSupport.jfkWAV, audioStream: 1)) { error in
            XCTAssertTrue("\(error)".contains("has no audio stream 1 (it has 1"), "\(error)")
        }
    }

    /// Each broken container is one clear error, with what was wrong.
    func testBrokenContainersAreClearErrors() throws {
        let expected: [(String, String)] = [
            ("video_only.mp4", "has no audio stream (video only)"),
            ("truncated.m4a", "ends early: the container declares 11.00 s of audio, only"),
            ("no_index.m4a", "not a readable audio file (libsndfile: "),
            ("no_index.m4a", "moov atom not found"),
            ("lying.mkv", "ends early: the container declares 110."),
        ]
        for (name, message) in expected {
            XCTAssertThrowsError(try AudioDecoder.decodeMono16k(path: try clip(name)), name) { error in
                XCTAssertTrue("\(error)".contains(message), "\(name): \(error)")
            }
        }
    }

    /// Random byte damage inside the AAC payload (the header intact) decodes or fails cleanly.
    func testDamagedPayloadsNeverCrash() throws {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: try clip("jfk.m4a"))))
        var rng = TestRNG(seed: 14)
        let folder = try temporaryDirectory(for: self, prefix: "damaged")
        for round in 0..<8 {
            for _ in 0..<(50 * (round + 1)) { bytes[rng.int(4096..<bytes.count)] = UInt8(truncatingIfNeeded: rng.next()) }
            let path = folder.appendingPathComponent("damaged\(round).m4a").path
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            do {
                let samples = try AudioDecoder.decodeMono16k(path: path)
                XCTAssertTrue(samples.allSatisfy(\.isFinite), "round \(round)")
            } catch let error as AudioError {
                XCTAssertFalse(error.message.isEmpty)
            }
        }
    }

    /// Ten hours of AAC stream in bounded memory: the resident set grows by less than 40 MB over
    /// the whole file (measured: ~13 MB, the container's sample index) and every sample arrives.
    func testTenHourContainerStreamsInBoundedMemory() throws {
        let path = try clip("long_10h.m4a")
        let before = residentBytes()
        var peak = before, samples = 0, chunks = 0, largestChunk = 0
        try AudioDecoder.stream(path: path) { chunk in
            samples += chunk.count; chunks += 1; largestChunk = max(largestChunk, chunk.count)
            if chunks % 256 == 0 { peak = max(peak, residentBytes()) }
        }
        peak = max(peak, residentBytes())
        print("10 h M4A: \(samples) samples in \(chunks) chunks, RSS +\((peak - before) / 1_000_000) MB")
        // 600 stream copies of one minute, each keeping its encoder priming (1536 samples, 0.096 s)
        XCTAssertEqual(Double(samples) / 16000, 36000 + 600 * 0.096, accuracy: 1)
        XCTAssertLessThanOrEqual(largestChunk, 65536)
        XCTAssertLessThan(peak - before, 40_000_000)
    }

    func residentBytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kb = Int(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
        return kb * 1024
    }
}
