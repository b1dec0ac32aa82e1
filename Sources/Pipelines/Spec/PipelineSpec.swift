// The pipeline file as written (YAML → these Codable types, strictly: unknown keys are errors).
// README.md, "Pipeline files", documents every key; keep the two in step.

import Foundation
import Models

/// A whole pipeline file.
public struct PipelineSpec: Decodable, Sendable {
    /// Schema version; only 1 exists.
    public var version: Int?
    /// Shown in reports and summaries (default: the file's name without extension).
    public var name: String?
    public var inputs: [InputSpec]
    public var stages: [StageSpec]
    public var outputs: OutputSpec
    public var run: RunSpec?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case version, name, inputs, stages, outputs, run
    }

    /// Each input, stage and section is decoded on its own, so one file reports all its problems.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        var incomplete = false
        func field<T: Decodable>(_ key: CodingKeys, required: Bool = false) throws -> T? {
            guard c.contains(key), try !c.decodeNil(forKey: key) else {
                if required {
                    let missing = DecodingError.keyNotFound(key, .init(codingPath: c.codingPath, debugDescription: ""))
                    guard let nodes = decoder as? NodeDecoder else { throw missing }
                    nodes.issues.errors.append(missing)
                    incomplete = true
                }
                return nil
            }
            let value = try c.decode(Lenient<T>.self, forKey: key).value
            if value == nil { incomplete = true }
            return value
        }
        version = try field(.version)
        name = try field(.name)
        let inputs: [Lenient<InputSpec>]? = try field(.inputs, required: true)
        let stages: [Lenient<StageSpec>]? = try field(.stages, required: true)
        let outputs: OutputSpec? = try field(.outputs, required: true)
        run = try field(.run)
        self.inputs = inputs?.compactMap(\.value) ?? []
        self.stages = stages?.compactMap(\.value) ?? []
        if self.inputs.count != inputs?.count || self.stages.count != stages?.count { incomplete = true }
        guard let outputs, !incomplete else { throw Lenient<OutputSpec>.Recorded() }
        self.outputs = outputs
    }
}

/// Decodes `T`, or records the error with the pipeline decoder and yields `nil`, so decoding
/// goes on to the next entry.
struct Lenient<T: Decodable>: Decodable {
    /// Thrown once errors have been recorded.
    struct Recorded: Error {}
    var value: T?
    init(from decoder: Decoder) throws {
        do {
            value = try T(from: decoder)
        } catch let error as DecodingError {
            guard let nodes = decoder as? NodeDecoder else { throw error }
            nodes.issues.errors.append(error)
            value = nil
        }
    }
}

/// One entry of `inputs`: a path (file or folder), a glob, or a manifest. A bare string is a
/// path, or a glob when it contains `*`, `?` or `[`.
public struct InputSpec: Decodable, Sendable {
    public var path: String?
    public var glob: String?
    public var manifest: String?
    /// Manifest format: `csv`, `tsv` or `jsonl` (default: from the manifest's extension).
    public var format: String?
    /// Manifest column holding the media path (default `path`).
    public var pathField: String?
    /// Manifest column holding the item id (default `id`; without it, the path is the id).
    public var idField: String?
    /// Extra fields given to every item of this input (templates read them as `{{item.NAME}}`).
    public var fields: [String: String]?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case path, glob, manifest, format
        case pathField = "path_field", idField = "id_field", fields
    }

    public init(path: String? = nil, glob: String? = nil, manifest: String? = nil) {
        self.path = path; self.glob = glob; self.manifest = manifest
    }

    public init(from decoder: Decoder) throws {
        if let single = try? decoder.singleValueContainer(), let text = try? single.decode(String.self) {
            if text.contains(where: { "*?[".contains($0) }) { glob = text } else { path = text }
            return
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        path = try c.decodeIfPresent(String.self, forKey: .path)
        glob = try c.decodeIfPresent(String.self, forKey: .glob)
        manifest = try c.decodeIfPresent(String.self, forKey: .manifest)
        format = try c.decodeIfPresent(String.self, forKey: .format)
        pathField = try c.decodeIfPresent(String.self, forKey: .pathField)
        idField = try c.decodeIfPresent(String.self, forKey: .idField)
        fields = try c.decodeIfPresent([String: String].self, forKey: .fields)
        let kinds = [path, glob, manifest].compactMap { $0 }.count
        guard kinds == 1 else {
            throw DecodingError.dataCorrupted(.init(
                codingPath: decoder.codingPath,
                debugDescription: "an input needs exactly one of 'path', 'glob' or 'manifest' (found \(kinds))"))
        }
        if manifest == nil, format != nil || pathField != nil || idField != nil {
            throw DecodingError.dataCorrupted(.init(
                codingPath: decoder.codingPath, debugDescription: "'format', 'path_field' and 'id_field' apply to manifests only"))
        }
        if let format, !["csv", "tsv", "jsonl"].contains(format) {
            throw DecodingError.dataCorruptedError(forKey: .format, in: c, debugDescription: "unknown manifest format '\(format)' (csv, tsv, jsonl)")
        }
    }
}

/// One entry of `stages`.
public struct StageSpec: Decodable, Sendable {
    /// `transcribe`, `caption`, `detect` or `ask` (see `StageTasks`).
    public var task: String
    /// Name in results and templates (default: the task). Letters, digits, `_` and `-`.
    public var name: String
    /// Catalog name or model directory (default: the task's default model).
    public var model: String?
    /// A template rendered per item (stages that take prompts: `caption`, `ask`).
    public var prompt: String?
    /// Items per model batch for this stage (overrides `run.batch_size`).
    public var batchSize: Int?
    /// Task-specific options, decoded by the task (`nil` when absent).
    public var options: (any StageOptions)?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case task, name, model, prompt, batchSize = "batch_size", options
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        task = try c.decode(String.self, forKey: .task)
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? task
        model = try c.decodeIfPresent(String.self, forKey: .model)
        prompt = try c.decodeIfPresent(String.self, forKey: .prompt)
        batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize)
        guard let definition = StageTasks.named(task) else {
            throw DecodingError.dataCorruptedError(
                forKey: .task, in: c,
                debugDescription: "unknown task '\(task)' (known tasks: \(StageTasks.all.map(\.name).joined(separator: ", ")))")
        }
        guard name.range(of: "^[A-Za-z][A-Za-z0-9_-]*$", options: .regularExpression) != nil, name != "item" else {
            throw DecodingError.dataCorruptedError(
                forKey: .name, in: c,
                debugDescription: "stage name '\(name)' must start with a letter and use letters, digits, '_' or '-' ('item' is reserved)")
        }
        if let batchSize, batchSize < 1 {
            throw DecodingError.dataCorruptedError(forKey: .batchSize, in: c, debugDescription: "must be at least 1")
        }
        if c.contains(.options), try !c.decodeNil(forKey: .options) {
            options = try definition.decodeOptions(from: c.superDecoder(forKey: .options))
        }
    }
}

/// Options of a stage: Codable so they go into provenance and the configuration hash.
public protocol StageOptions: Encodable, Sendable {}

extension JSONValue: StageOptions {}

/// Option keys given as a list of names, for options made of shared parts (the sampling options of
/// every generating stage plus the stage's own keys): a name not in the list is an unknown key.
protocol OptionKey: CodingKey, CaseIterable {
    static var names: [String] { get }
    var name: String { get }
    init(name: String)
}

extension OptionKey {
    init?(stringValue: String) {
        guard Self.names.contains(stringValue) else { return nil }
        self.init(name: stringValue)
    }
    init?(intValue: Int) { nil }
    /// A key the type lists.
    init(_ name: String) {
        precondition(Self.names.contains(name), "\(name) is not an option key")
        self.init(name: name)
    }
    var stringValue: String { name }
    var intValue: Int? { nil }
    static var allCases: [Self] { names.map { Self(name: $0) } }
}

/// `outputs`: where results go. Relative paths are relative to the pipeline file's folder
/// (`directory`) or to `directory` (the others).
public struct OutputSpec: Decodable, Sendable {
    public var directory: String
    /// JSONL, one record per item (default `results.jsonl`). Shards write `NAME.shard-I-of-N.jsonl`.
    public var results: String?
    /// Run summary JSON (default `summary.json`).
    public var summary: String?
    /// CSV view of the results (optional).
    public var csv: String?
    /// Static HTML report written at the end of each run (optional).
    public var report: String?
    /// Per-item files rendered from stage results: `txt`, `srt`, `vtt`, `json`.
    public var sidecars: [SidecarFormat]?
    /// Folder for sidecars (default: `directory`); item sub-folders are kept.
    public var sidecarDirectory: String?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case directory, results, summary, csv, report, sidecars, sidecarDirectory = "sidecar_directory"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        directory = try c.decode(String.self, forKey: .directory)
        results = try c.decodeIfPresent(String.self, forKey: .results)
        summary = try c.decodeIfPresent(String.self, forKey: .summary)
        csv = try c.decodeIfPresent(String.self, forKey: .csv)
        report = try c.decodeIfPresent(String.self, forKey: .report)
        sidecars = try c.decodeIfPresent(OneOrMany<SidecarFormat>.self, forKey: .sidecars)?.values
        sidecarDirectory = try c.decodeIfPresent(String.self, forKey: .sidecarDirectory)
    }
}

/// Per-item files a stage can render from its result.
public enum SidecarFormat: String, Codable, Sendable, CaseIterable {
    case txt, srt, vtt, json, tsv, lrc, csv

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let format = SidecarFormat(rawValue: text) else {
            throw DecodingError.dataCorrupted(.init(
                codingPath: decoder.codingPath,
                debugDescription: "unknown sidecar format '\(text)' (\(Self.allCases.map(\.rawValue).joined(separator: ", ")))"))
        }
        self = format
    }
}

/// `run`: how to run (not part of the results' identity).
public struct RunSpec: Decodable, Sendable {
    /// Items per model batch (default: each stage's own; `transcribe`: 4 greedy, 1 with beam 5).
    public var batchSize: Int?
    /// CPU threads for matrix products (default: all cores).
    public var threads: Int?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case batchSize = "batch_size", threads
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize)
        threads = try c.decodeIfPresent(Int.self, forKey: .threads)
        for (value, key) in [(batchSize, CodingKeys.batchSize), (threads, .threads)] where (value ?? 1) < 1 {
            throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "must be at least 1")
        }
    }
}

