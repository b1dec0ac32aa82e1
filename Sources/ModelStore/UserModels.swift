// Models users bring themselves (`hearth models add NAME PATH`): a Hugging Face directory
// (e.g. SmolVLM-256M-Instruct) or llama.cpp GGUF files (a language model, optionally with its
// mmproj projector). The files stay where they are; the models directory gets NAME/hearth-user-model.json
// with the SHA-256 of every file at add time, and every use re-hashes them and refuses a change.

import Foundation

public struct UserModelManifest: Codable, Sendable, Equatable {
    public struct FileRecord: Codable, Sendable, Equatable {
        public let name: String
        public let sha256: String
        public let size: Int64
    }
    public static let fileName = "hearth-user-model.json"

    public let name: String
    /// The folder holding the files (absolute).
    public let directory: String
    /// `safetensors` (Hugging Face directory) or `gguf`.
    public let format: WeightFormat
    public let files: [FileRecord]
    public let addedAt: String
}

extension ModelStore {
    /// Registers the model at `path` under `name`: a directory with `config.json` (Hugging Face;
    /// every top-level file is recorded), a directory with `.gguf` files (the model and, if present,
    /// one `mmproj*.gguf`), or a `.gguf` file (`mmproj` names its projector, in the same folder).
    @discardableResult
    public func addUserModel(name: String, path: String, mmproj: String? = nil) throws -> UserModelManifest {
        guard !name.isEmpty, !name.hasPrefix("."), !name.contains("/"), name.rangeOfCharacter(from: .whitespacesAndNewlines) == nil else {
            throw ModelStoreError.invalidModelDirectory(path: name, reason: "a model name must be one word without '/'")
        }
        if ModelCatalog.entry(named: name) != nil {
            throw ModelStoreError.invalidModelDirectory(path: name, reason: "'\(name)' is a catalog model's name; choose another")
        }
        let target = modelDirectory(for: name)
        if FileManager.default.fileExists(atPath: target.path) {
            throw ModelStoreError.invalidModelDirectory(path: target.path, reason: "a model named '\(name)' exists already")
        }
        let expanded = NSString(string: path).expandingTildeInPath
        let source = URL(fileURLWithPath: expanded).standardizedFileURL
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: source.path, isDirectory: &isDirectory) else {
            throw ModelStoreError.invalidModelDirectory(path: source.path, reason: "no such file or directory")
        }
        let folder: URL, format: WeightFormat
        var names: [String]
        if isDirectory.boolValue {
            folder = source
            let present = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).sorted()
                .filter { !$0.hasPrefix(".") && Self.isRegularFile(folder.appendingPathComponent($0)) }
            if present.contains("config.json") && present.contains(where: { $0.hasSuffix(".safetensors") }) {
                format = .safetensors; names = present
            } else if case let ggufs = present.filter({ $0.lowercased().hasSuffix(".gguf") }), !ggufs.isEmpty {
                let projectors = ggufs.filter { $0.lowercased().hasPrefix("mmproj") }
                let models = ggufs.filter { !$0.lowercased().hasPrefix("mmproj") }
                guard models.count == 1, projectors.count <= 1 else {
                    throw ModelStoreError.invalidModelDirectory(
                        path: folder.path, reason: "it holds \(models.count) model .gguf files and \(projectors.count) mmproj files; give the model file by path (and --mmproj)")
                }
                format = .gguf; names = models + projectors
            } else {
                throw ModelStoreError.invalidModelDirectory(
                    path: folder.path, reason: "expected config.json + *.safetensors (Hugging Face) or .gguf files (llama.cpp)")
            }
        } else {
            guard source.pathExtension.lowercased() == "gguf" else {
                throw ModelStoreError.invalidModelDirectory(path: source.path, reason: "a file must be a .gguf (or give a Hugging Face directory)")
            }
            folder = source.deletingLastPathComponent()
            format = .gguf; names = [source.lastPathComponent]
        }
        if let mmproj {
            let projector = URL(fileURLWithPath: NSString(string: mmproj).expandingTildeInPath).standardizedFileURL
            guard Self.isRegularFile(projector) else {
                throw ModelStoreError.invalidModelDirectory(path: projector.path, reason: "no such mmproj file")
            }
            guard projector.deletingLastPathComponent().path == folder.path else {
                throw ModelStoreError.invalidModelDirectory(path: projector.path, reason: "the mmproj file must be in the model's folder \(folder.path)")
            }
            if !names.contains(projector.lastPathComponent) { names.append(projector.lastPathComponent) }
        }
        // hashed through the hash cache, so the first use after adding costs one stat per file
        let hashes = try HashCache(folder: folder).hashes(of: names)
        let records = try names.map { file -> UserModelManifest.FileRecord in
            .init(name: file, sha256: hashes[file] ?? "", size: try FileManager.default.fileSize(at: folder.appendingPathComponent(file)))
        }
        let manifest = UserModelManifest(name: name, directory: folder.path, format: format, files: records,
                                         addedAt: ISO8601DateFormatter().string(from: Date()))
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            try encoder.encode(manifest).write(to: target.appendingPathComponent(UserModelManifest.fileName), options: .atomic)
        } catch {
            try? FileManager.default.removeItem(at: target)
            throw error
        }
        return manifest
    }

    /// The manifest of user model `name`, or nil when there is none.
    public func userModelManifest(_ name: String) -> UserModelManifest? {
        let url = modelDirectory(for: name).appendingPathComponent(UserModelManifest.fileName)
        guard let data = try? Data(contentsOf: url) else { return nil }
        return try? JSONDecoder().decode(UserModelManifest.self, from: data)
    }

    /// Every user model, by name.
    public func userModels() -> [UserModelManifest] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().compactMap(userModelManifest)
    }

    /// User model `name`, every file checked against the hash recorded at add time (through the hash cache).
    public func resolveUserModel(_ name: String) throws -> InstalledModel {
        guard let manifest = userModelManifest(name) else {
            throw ModelStoreError.unknownModel(name, known: userModels().map(\.name))
        }
        let folder = URL(fileURLWithPath: manifest.directory)
        for file in manifest.files {
            let url = folder.appendingPathComponent(file.name)
            guard Self.isRegularFile(url) else { throw ModelStoreError.missingFile(model: name, file: url.path) }
        }
        // through the stat-keyed hash cache (ModelStore.swift): an unchanged file costs one stat
        let hashes = try HashCache(folder: folder).hashes(of: manifest.files.map(\.name))
        for file in manifest.files {
            let url = folder.appendingPathComponent(file.name)
            let actual = hashes[file.name] ?? ""
            guard actual == file.sha256 else {
                throw ModelStoreError.hashMismatch(file: url.path, expected: file.sha256, actual: actual)
            }
        }
        return InstalledModel(name: name, directory: folder, files: Dictionary(uniqueKeysWithValues: manifest.files.map { ($0.name, $0.sha256) }),
                              format: manifest.format, entry: nil)
    }

    static func isRegularFile(_ url: URL) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && !isDirectory.boolValue
    }
}

extension InstalledModel {
    /// The projector of a GGUF vision-language model (`mmproj*.gguf`), nil when there is none.
    public var mmprojFile: URL? {
        guard format == .gguf else { return nil }
        return files.keys.sorted().first { $0.lowercased().hasPrefix("mmproj") && $0.lowercased().hasSuffix(".gguf") }.map(url(for:))
    }

    /// The language-model GGUF of a model that may also hold an mmproj file.
    public var languageGGUFFile: URL? {
        guard format == .gguf else { return nil }
        if files.keys.contains("model.gguf") { return url(for: "model.gguf") }
        return files.keys.sorted().first { $0.lowercased().hasSuffix(".gguf") && !$0.lowercased().hasPrefix("mmproj") }.map(url(for:))
    }
}
