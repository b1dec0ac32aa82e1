import CHearthDeps
import Foundation
import Media
import TestSupport
import XCTest

/// Bad inputs throw an AudioError that names the file and the problem; nothing crashes.
final class MalformedInputTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = try TestSupport.temporaryDirectory(for: self, prefix: "hearth-media")
    }

    private func file(_ name: String, _ contents: Data) throws -> String {
        let url = directory.appendingPathComponent(name)
        try contents.write(to: url)
        return url.path
    }

    /// Both entry points fail with an AudioError for `path` whose message contains `expected`.
    private func assertAudioError(_ path: String, mentions expected: String, file: StaticString = #filePath, line: UInt = #line) {
        for (entry, decode) in [("decodeMono16k", { _ = try AudioDecoder.decodeMono16k(path: path) }),
                                ("LogMelSpectrogram.load", { _ = try LogMelSpectrogram.load(path: path) })] {
            do {
                try decode()
                XCTFail("\(entry) accepted \(path)", file: file, line: line)
            } catch let error as AudioError {
                XCTAssertEqual(error.path, path, file: file, line: line)
                XCTAssertTrue(error.message.localizedCaseInsensitiveContains(expected),
                              "\(entry): '\(error)' should mention '\(expected)'", file: file, line: line)
                XCTAssertTrue(error.description.hasPrefix(path), file: file, line: line)
            } catch {
                XCTFail("\(entry) threw \(error), not an AudioError", file: file, line: line)
            }
        }
    }

    func testMissingFile() {
        assertAudioError(directory.appendingPathComponent("nope.wav").path, mentions: "no such file")
    }

    func testDirectory() {
        assertAudioError(directory.path, mentions: "directory")
    }

    func testEmptyFile() throws {
        assertAudioError(try file("empty.wav", Data()), mentions: "empty")
    }

    func testTextFileNamedWAV() throws {
        let path = try file("notes.wav", Data("This is a text file, not RIFF audio.\n".utf8))
        assertAudioError(path, mentions: "not a readable audio file")
    }

    func testWAVTruncatedInsideTheHeader() throws {
        let wav = try Data(contentsOf: URL(fileURLWithPath: MediaSupport.jfkWAV))
        assertAudioError(try file("header.wav", wav.prefix(30)), mentions: "not a readable audio file")
    }

    func testWAVTruncatedInsideTheData() throws {
        let wav = try Data(contentsOf: URL(fileURLWithPath: MediaSupport.jfkWAV))
        assertAudioError(try file("cut.wav", wav.prefix(100_000)), mentions: "truncated")
    }

    func testWAVWithoutFrames() throws {
        let path = directory.appendingPathComponent("silent.wav").path
        try MediaSupport.writeAudio([], to: path, sampleRate: 16000)
        assertAudioError(path, mentions: "no audio frames")
    }

    func testFLACTruncatedInsideTheData() throws {
        let flac = directory.appendingPathComponent("whole.flac").path
        try MediaSupport.writeAudio(try AudioDecoder.decodeMono16k(path: MediaSupport.jfkWAV), to: flac, sampleRate: 16000,
                                   format: Int32(SF_FORMAT_FLAC | SF_FORMAT_PCM_16))
        let bytes = try Data(contentsOf: URL(fileURLWithPath: flac))
        assertAudioError(try file("cut.flac", bytes.prefix(bytes.count / 2)), mentions: "truncated")
    }
}
