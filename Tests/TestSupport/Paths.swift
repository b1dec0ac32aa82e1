import Foundation
import XCTest

/// Where the tests find the repository's files and the installed models.
public enum TestPaths {
    /// The package root (this file is Tests/TestSupport/Paths.swift).
    public static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    /// samples/: the committed photos and clips.
    public static let samples = packageRoot.appendingPathComponent("samples")
    /// The clips `make test-audio` generates: $HEARTH_TESTDATA when set, else .build/testdata.
    public static var testData: URL {
        URL(fileURLWithPath: ProcessInfo.processInfo.environment["HEARTH_TESTDATA"]
            ?? packageRoot.appendingPathComponent(".build/testdata").path)
    }
    /// The model store `make test-models` installs into: $HEARTH_MODELS (when set and not empty),
    /// else ~/.cache/hearth/models.
    public static var installedModels: URL {
        ProcessInfo.processInfo.environment["HEARTH_MODELS"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/hearth/models")
    }
}

/// A fresh temporary directory `<prefix>-<UUID>`, removed when `test` ends.
public func temporaryDirectory(for test: XCTestCase, prefix: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
}

/// Thrown where a test needs a model `make test-models` installs: a missing model fails the test
/// (as the Whisper and LM tests do), it never skips it.
public struct ModelMissing: Error, CustomStringConvertible {
    public let description: String
    public init(_ name: String, _ underlying: Any) {
        description = "\(name) is not installed (\(underlying)); run `make test-models`"
    }
}
