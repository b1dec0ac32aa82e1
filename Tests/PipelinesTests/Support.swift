import Foundation
import ModelStore
import Pipelines
import TestSupport
import XCTest

/// Paths and helpers shared by the pipeline tests.
enum Fixtures {
    static let samples = TestPaths.samples
    /// Clips made by `make test-audio`.
    static let testdata = TestPaths.packageRoot.appendingPathComponent(".build/testdata")

    static func sample(_ name: String) -> String { samples.appendingPathComponent(name).path }

    static func testClip(_ name: String) throws -> String {
        let path = testdata.appendingPathComponent(name).path
        guard FileManager.default.fileExists(atPath: path) else {
            throw XCTSkip("missing \(path): run `make test-audio` (scripts/data/make_test_audio.sh .build/testdata) first")
        }
        return path
    }

    /// Fails the test clearly when the default model is not installed.
    static func requireModel() throws {
        do { _ = try ModelStore().resolve(ModelCatalog.defaultWhisper) } catch {
            XCTFail("\(error) — run `make test-models`")
            throw error
        }
    }

    /// The `hearth` executable built with the tests: next to the test bundle, else in the package's
    /// .build*/release. `HEARTH_BINARY` overrides.
    static func hearthBinary() throws -> URL {
        var candidates: [URL] = []
        if let path = ProcessInfo.processInfo.environment["HEARTH_BINARY"] { candidates.append(URL(fileURLWithPath: path)) }
        var bundleFolder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        if bundleFolder.pathExtension == "xctest" { bundleFolder.deleteLastPathComponent() }
        candidates.append(bundleFolder.appendingPathComponent("hearth"))
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            candidates.append(bundle.bundleURL.deletingLastPathComponent().appendingPathComponent("hearth"))
        }
        candidates.append(TestPaths.packageRoot.appendingPathComponent(".build/release/hearth"))
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            XCTFail("hearth executable not found (looked at \(candidates.map(\.path).joined(separator: ", "))); "
                    + "build it with `swift build -c release` or set HEARTH_BINARY")
            throw CocoaError(.fileNoSuchFile)
        }
        return found
    }

    /// A fresh temporary folder, removed when the test ends.
    static func temporaryFolder(_ test: XCTestCase) throws -> URL {
        try temporaryDirectory(for: test, prefix: "hearth-pipelines")
    }

    @discardableResult
    static func write(_ text: String, to url: URL) throws -> URL {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    /// Copies a file into a folder (optionally renamed) and returns its path.
    @discardableResult
    static func copy(_ path: String, into folder: URL, as name: String? = nil) throws -> String {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let target = folder.appendingPathComponent(name ?? URL(fileURLWithPath: path).lastPathComponent)
        try FileManager.default.copyItem(atPath: path, toPath: target.path)
        return target.path
    }

    /// A valid 1×1 RGB PNG.
    static let tinyPNG = Data(base64Encoded: "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC")!
}

/// What two runs of a pipeline must agree on: ids, status, errors and, per stage, the text and
/// each segment's times, text and token ids (not timings, not float scores).
struct Essence: Equatable, CustomStringConvertible {
    var id: String
    var status: String
    var error: String?
    var results: [String: [String]]

    init(_ record: ResultRecord) {
        id = record.id
        status = record.status.rawValue
        error = record.stage.map { "\($0): \(record.message ?? "")" }
        results = record.results.mapValues { result in
            var lines = [result["text"]?.text ?? ""]
            for segment in result["segments"]?.arrayValue ?? [] {
                let tokens = (segment["tokens"]?.arrayValue ?? []).compactMap(\.text).joined(separator: " ")
                lines.append("\(segment["start"]?.text ?? "") \(segment["end"]?.text ?? "") \(segment["text"]?.text ?? "") [\(tokens)]")
            }
            return lines
        }
    }

    var description: String { "\(id) \(status) \(error ?? "") \(results)" }
}

/// Runs a process to completion, returning status and output.
@discardableResult
func runProcess(_ executable: URL, _ arguments: [String], environment: [String: String]? = nil,
                currentDirectory: URL? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    if let environment { process.environment = environment }
    if let currentDirectory { process.currentDirectoryURL = currentDirectory }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Read both pipes while the process runs, so a full pipe cannot block it.
    final class Box: @unchecked Sendable { var data = Data() }
    let stdout = Box()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async { stdout.data = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    let stderrData = err.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    let stdoutData = stdout.data
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: stdoutData, as: UTF8.self), String(decoding: stderrData, as: UTF8.self))
}

/// Records of a results file, as every reader sees them (last record per id).
func latestRecords(_ url: URL) throws -> [ResultRecord] {
    ResultRecord.latest(try ResultsLog.read(url).records)
}
