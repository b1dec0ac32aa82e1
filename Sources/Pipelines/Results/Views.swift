import Foundation

/// The CSV view of results: one row per item. Columns: `id, input, media, status, error_stage,
/// error, media_seconds`, then `STAGE.FIELD` for each scalar field of each stage's result (stages
/// in pipeline order, fields sorted) and for each top-level key of its `json` object (an ask
/// stage's schema answer; `STAGE.json.KEY` when a result field has that name), then `item.FIELD`
/// for manifest fields.
public enum CSVView {
    public static func render(_ records: [ResultRecord]) -> String {
        OutputSink.string { sink in try? write(.records(records), to: sink) }
    }

    /// Writes the CSV file atomically.
    public static func write(_ source: RecordSource, to url: URL) throws {
        try writeAtomically(to: url) { try write(source, to: $0) }
    }

    /// Writes the CSV in two passes over `source`: columns first, then rows.
    static func write(_ source: RecordSource, to sink: OutputSink) throws {
        var stageOrder: [String] = []
        var stageFields: [String: Set<String>] = [:], jsonFields: [String: Set<String>] = [:]
        var itemFields: Set<String> = []
        try source.forEach { record in
            for stage in record.provenance.stages where !stageOrder.contains(stage.name) { stageOrder.append(stage.name) }
            for (stage, result) in record.results {
                for (key, value) in result.objectValue ?? [:] where value.isScalar { stageFields[stage, default: []].insert(key) }
                for key in result["json"]?.objectValue?.keys ?? [:].keys { jsonFields[stage, default: []].insert(key) }
            }
            if let fields = record.fields { itemFields.formUnion(fields.keys) }
        }
        for stage in Set(stageFields.keys).union(jsonFields.keys).sorted() where !stageOrder.contains(stage) { stageOrder.append(stage) }
        /// (stage, column name after the stage, value of a result).
        typealias Column = (stage: String, name: String, value: (JSONValue) -> JSONValue?)
        let stageColumns: [Column] = stageOrder.flatMap { stage -> [Column] in
            let fields = stageFields[stage] ?? []
            let plain: [Column] = fields.sorted().map { field in (stage, field, { (result: JSONValue) in result[field] }) }
            let parsed: [Column] = (jsonFields[stage] ?? []).sorted().map { key in
                (stage, fields.contains(key) ? "json.\(key)" : key, { (result: JSONValue) in result["json"]?[key] })
            }
            return plain + parsed
        }
        let fieldColumns = itemFields.sorted()

        func row(_ cells: [String]) { sink.write(cells.map(quote).joined(separator: ",") + "\r\n") }
        row(["id", "input", "media", "status", "error_stage", "error", "media_seconds"]
            + stageColumns.map { "\($0.stage).\($0.name)" } + fieldColumns.map { "item.\($0)" })
        try source.forEach { r in
            var cells = [r.id, r.input, r.media, r.status.rawValue, r.stage ?? "", r.message ?? "",
                         r.mediaSeconds.map { String(format: "%.3f", $0) } ?? ""]
            cells += stageColumns.map { column in r.results[column.stage].flatMap(column.value)?.text ?? "" }
            cells += fieldColumns.map { r.fields?[$0] ?? "" }
            row(cells)
        }
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

    /// (stage, format, file) for every sidecar of an item whose results hold `stagesWithResults`.
    /// A format that more than one stage renders gets the stage name in the file name: `jfk.transcribe.srt`.
    func files(stagesWithResults: Set<String>, sidecarName: String) -> [(stage: String, format: SidecarFormat, url: URL)] {
        var out: [(String, SidecarFormat, URL)] = []
        for format in formats {
            let renderers = stages.filter { $0.task.sidecarFormats.contains(format) }
            for stage in renderers where stagesWithResults.contains(stage.name) {
                let name = sidecarName + (renderers.count > 1 ? ".\(stage.name)" : "") + ".\(format.rawValue)"
                out.append((stage.name, format, directory.appendingPathComponent(name)))
            }
        }
        return out
    }

    /// Writes an ok record's sidecars.
    func write(for record: ResultRecord, sidecarName: String) throws {
        guard record.status == .ok else { return }
        for (stageName, format, url) in files(stagesWithResults: Set(record.results.keys), sidecarName: sidecarName) {
            guard let stage = stages.first(where: { $0.name == stageName }), let result = record.results[stageName],
                  let provenance = record.provenance.stages.first(where: { $0.name == stageName })?.provenance,
                  let text = try stage.task.renderSidecar(result, format: format, item: record, provenance: provenance)
            else { continue }
            try writeAtomically(Data(text.utf8), to: url)
        }
    }

    /// Renders the sidecars of an ok record again if any is missing (the record is read only then).
    func restore(_ entry: LogEntry, sidecarName: String, from log: ResultsLog) throws {
        guard entry.status == .ok, !formats.isEmpty else { return }
        let kind = MediaType(entry.media).kind
        let applicable = Set(stages.filter { $0.task.media.isEmpty || $0.task.media.contains(kind) }.map(\.name))
        let expected = files(stagesWithResults: applicable, sidecarName: sidecarName)
        guard expected.contains(where: { !FileManager.default.fileExists(atPath: $0.url.path) }) else { return }
        try write(for: log.record(entry), sidecarName: sidecarName)
    }
}
