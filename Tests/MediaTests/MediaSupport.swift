import CHearthDeps
import Foundation
import Media
import TestSupport
import XCTest

/// Paths, fixtures and audio-writing helpers shared by the Media tests.
enum MediaSupport {
    static let jfkWAV = TestPaths.samples.appendingPathComponent("jfk.wav").path
    static let jfkMP3 = TestPaths.samples.appendingPathComponent("jfk.mp3").path
    /// What scripts/data/make_test_containers.sh writes (`make test-audio`).
    static let containers = TestPaths.packageRoot.appendingPathComponent(".build/testdata/containers")

    /// A file made by make_test_containers.sh; a missing one fails the test (it is part of `make test`).
    static func container(_ name: String) throws -> String {
        let path = containers.appendingPathComponent(name).path
        guard FileManager.default.fileExists(atPath: path) else {
            XCTFail("missing \(path): run `make test-audio` (scripts/data/make_test_containers.sh .build/testdata/containers)")
            throw CocoaError(.fileNoSuchFile)
        }
        return path
    }

    /// `fixtures.json`, written by scripts/goldens/make_mel_fixture.py.
    struct FixtureNote: Decodable {
        struct Input: Decodable { let samples: Int }
        struct Array: Decodable { let file: String; let shape: [Int] }
        struct Tiled: Decodable { let copies: Int; let trim_samples: Int; let content_frames: Int; let window_start_frame: Int }
        let input: Input
        let content_frames: Int
        let tiled: Tiled
        let arrays: [String: Array]
    }

    static func fixtureNote() throws -> FixtureNote {
        let data = try Data(contentsOf: fixtureURL("fixtures.json"))
        return try JSONDecoder().decode(FixtureNote.self, from: data)
    }

    /// A float32 little-endian fixture array, with its shape from `fixtures.json`.
    static func fixtureArray(_ key: String) throws -> (values: [Float], shape: [Int]) {
        let entry = try XCTUnwrap(try fixtureNote().arrays[key], "no fixture array \(key)")
        let data = try Data(contentsOf: fixtureURL(entry.file))
        let values = data.withUnsafeBytes { raw in
            (0..<(data.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
        XCTAssertEqual(values.count, entry.shape.reduce(1, *), "\(entry.file) size does not match its shape")
        return (values, entry.shape)
    }

    private static func fixtureURL(_ name: String) throws -> URL {
        try XCTUnwrap(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures"),
                      "missing fixture \(name)")
    }

    /// Writes interleaved `(frames, channels)` samples with libsndfile; `format` is an SF_FORMAT_* combination.
    static func writeAudio(_ samples: [Float], to path: String, sampleRate: Int, channels: Int = 1,
                           format: Int32 = Int32(SF_FORMAT_WAV | SF_FORMAT_PCM_16)) throws {
        var info = SF_INFO(frames: 0, samplerate: Int32(sampleRate), channels: Int32(channels),
                           format: format, sections: 0, seekable: 0)
        guard let file = sf_open(path, Int32(SFM_WRITE), &info) else {
            throw AudioError(path: path, message: "cannot write: \(String(cString: sf_strerror(nil)))")
        }
        defer { sf_close(file) }
        let frames = samples.count / channels
        let written: sf_count_t
        if format & Int32(SF_FORMAT_SUBMASK) == Int32(SF_FORMAT_PCM_16) {
            // Exact inverse of libsndfile's int16 → float read (x / 32768); its float writer scales by 32767.
            let pcm = samples.map { Int16(max(-32768, min(32767, ($0 * 32768).rounded()))) }
            written = pcm.withUnsafeBufferPointer { sf_writef_short(file, $0.baseAddress, sf_count_t(frames)) }
        } else {
            written = samples.withUnsafeBufferPointer { sf_writef_float(file, $0.baseAddress, sf_count_t(frames)) }
        }
        guard written == frames else {
            throw AudioError(path: path, message: "short write: \(String(cString: sf_strerror(file)))")
        }
    }

    static func sine(frequency: Double, sampleRate: Int, seconds: Double, amplitude: Float = 0.5) -> [Float] {
        let count = Int(seconds * Double(sampleRate))
        return (0..<count).map { amplitude * Float(sin(2 * Double.pi * frequency * Double($0) / Double(sampleRate))) }
    }

    /// Amplitude of the `frequency` component of `samples` (single-bin DFT, Goertzel-style).
    static func toneAmplitude(_ samples: ArraySlice<Float>, frequency: Double, sampleRate: Int) -> Double {
        var real = 0.0, imaginary = 0.0
        for (index, value) in samples.enumerated() {
            let phase = 2 * Double.pi * frequency * Double(index) / Double(sampleRate)
            real += Double(value) * cos(phase)
            imaginary -= Double(value) * sin(phase)
        }
        return 2 * (real * real + imaginary * imaginary).squareRoot() / Double(samples.count)
    }

    /// Columns `columns` of a row-major `(rows, width)` matrix, as a row-major `(rows, columns.count)` array.
    static func columns(_ matrix: [Float], rows: Int, width: Int, _ columns: Range<Int>) -> [Float] {
        (0..<rows).flatMap { row in matrix[(row * width + columns.lowerBound)..<(row * width + columns.upperBound)] }
    }
}
