import Foundation

/// The CSV view of results: one row per item. Columns: `id, input, media, status, error_stage,
/// error, media_seconds`, then `STAGE.FIELD` for each scalar field of each stage's result (stages
/// in pipeline order, fields sorted), then `item.FIELD` for manifest fields.
public enum CSVView {
    public static func render(_ records: [ResultRecord]) -> String {
        var stageOrder: [String] = []
        for record in records {
            for stage in record.provenance.stages where !stageOrder.contains(stage.name) { stageOrder.append(stage.name) }
        }
        var stageFields: [String: Set<String>] = [:]
        var itemFields: Set<String> = []
        for record in records {
            for (stage, result) in record.results {
                for (key, value) in result.objectValue ?? [:] where value.isScalar { stageFields[stage, default: []].insert(key) }
            }
            if let fields = record.fields { itemFields.formUnion(fields.keys) }
        }
        for stage in stageFields.keys.sorted() where !stageOrder.contains(stage) { stageOrder.append(stage) }
        let stageColumns = stageOrder.flatMap { stage in (stageFields[stage] ?? []).sorted().map { (stage, $0) } }
        let fieldColumns = itemFields.sorted()

        var rows = [["id", "input", "media", "status", "error_stage", "error", "media_seconds"]
                    + stageColumns.map { "\($0.0).\($0.1)" } + fieldColumns.map { "item.\($0)" }]
        for r in records {
            var row = [r.id, r.input, r.media, r.status.rawValue, r.stage ?? "", r.message ?? "",
                       r.mediaSeconds.map { String(format: "%.3f", $0) } ?? ""]
            row += stageColumns.map { stage, field in r.results[stage]?[field]?.text ?? "" }
            row += fieldColumns.map { r.fields?[$0] ?? "" }
            rows.append(row)
        }
        return rows.map { $0.map(quote).joined(separator: ",") }.joined(separator: "\r\n") + "\r\n"
    }

    /// RFC 4180 quoting: fields with commas, quotes or line breaks are quoted, quotes doubled.
    static func quote(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

extension JSONValue {
    var isScalar: Bool {
        switch self {
        case .array, .object: return false
        default: return true
        }
    }
}

/// Per-item sidecar files rendered from records.
struct Sidecars {
    let formats: [SidecarFormat]
    let directory: URL
    /// Stages (name, task) in pipeline order.
    let stages: [(name: String, task: any StageTask)]

    /// (stage, format, file) for every sidecar an ok record should have. A format that more than
    /// one stage renders gets the stage name in the file name: `jfk.transcribe.srt`.
    func files(for record: ResultRecord, sidecarName: String) -> [(stage: String, format: SidecarFormat, url: URL)] {
        guard record.status == .ok else { return [] }
        var out: [(String, SidecarFormat, URL)] = []
        for format in formats {
            let renderers = stages.filter { $0.task.sidecarFormats.contains(format) }
            for stage in renderers where record.results[stage.name] != nil {
                let name = sidecarName + (renderers.count > 1 ? ".\(stage.name)" : "") + ".\(format.rawValue)"
                out.append((stage.name, format, directory.appendingPathComponent(name)))
            }
        }
        return out
    }

    /// Writes the record's sidecars; with `onlyMissing`, only files that do not exist yet.
    func write(for record: ResultRecord, sidecarName: String, onlyMissing: Bool = false) throws {
        for (stageName, format, url) in files(for: record, sidecarName: sidecarName) {
            if onlyMissing && FileManager.default.fileExists(atPath: url.path) { continue }
            guard let stage = stages.first(where: { $0.name == stageName }), let result = record.results[stageName],
                  let provenance = record.provenance.stages.first(where: { $0.name == stageName })?.provenance,
                  let text = try stage.task.renderSidecar(result, format: format, item: record, provenance: provenance)
            else { continue }
            try writeAtomically(Data(text.utf8), to: url)
        }
    }
}
