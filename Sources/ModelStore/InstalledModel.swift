import Foundation

/// A model ready to load: its directory and the SHA-256 of each file, for provenance.
public struct InstalledModel: Sendable, Hashable {
    /// Catalog name, or the directory's name for a model given by path.
    public let name: String
    public let directory: URL
    /// File name → SHA-256 (hex) of the files the model is made of.
    public let files: [String: String]
    public let format: WeightFormat
    /// The catalog entry this model is, when known (also found by hash for models given by path).
    public let entry: CatalogEntry?

    public init(name: String, directory: URL, files: [String: String], format: WeightFormat, entry: CatalogEntry?) {
        self.name = name
        self.directory = directory
        self.files = files
        self.format = format
        self.entry = entry
    }

    public func url(for file: String) -> URL { directory.appendingPathComponent(file) }

    /// The GGUF weights file of a `gguf` model (`model.gguf` when installed from the catalog,
    /// the given file's own name for a path), `nil` for other formats.
    public var ggufFile: URL? {
        guard format == .gguf else { return nil }
        let name = files.keys.contains("model.gguf") ? "model.gguf" : files.keys.sorted().first { $0.lowercased().hasSuffix(".gguf") }
        return name.map(url(for:))
    }

    /// Bytes of the model's files on disk.
    public var size: Int64 {
        files.keys.reduce(0) { total, file in total + ((try? FileManager.default.fileSize(at: url(for: file))) ?? 0) }
    }
}

/// `hearth-model.json`: what was installed, from where, and the hash of every file.
struct InstallManifest: Codable {
    struct FileRecord: Codable {
        let name: String
        let sha256: String
        let size: Int64
    }

    static let fileName = "hearth-model.json"

    let name: String
    let family: ModelFamily
    let format: WeightFormat
    let license: String
    let packages: [PackagePin]
    let files: [FileRecord]
    let installedAt: String

    static func read(from directory: URL) throws -> InstallManifest {
        let data = try Data(contentsOf: directory.appendingPathComponent(fileName))
        return try JSONDecoder().decode(InstallManifest.self, from: data)
    }

    func write(to directory: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(self).write(to: directory.appendingPathComponent(Self.fileName), options: .atomic)
    }

    func installedModel(in directory: URL) -> InstalledModel {
        InstalledModel(name: name, directory: directory,
                       files: Dictionary(uniqueKeysWithValues: files.map { ($0.name, $0.sha256) }),
                       format: format, entry: ModelCatalog.entry(named: name))
    }
}

extension FileManager {
    func fileSize(at url: URL) throws -> Int64 {
        guard let size = FileSystem.size(atPath: url.path) else { throw CocoaError(.fileNoSuchFile) }
        return size
    }
}
