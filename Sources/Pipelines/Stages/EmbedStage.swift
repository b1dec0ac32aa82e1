import Foundation
import Models
import ModelStore

/// `task: embed` — sentence embeddings of the text earlier stages made for the same item: each
/// transcript segment (with its start/end), each sampled video frame's caption (with its time),
/// captions, answers. The vectors go to the run's vector file beside the results (`VectorFile`);
/// the record keeps what each vector is of:
///
///     "embed": {"model": "all-minilm-l6-v2", "dimension": 384, "count": 2,
///               "entries": [{"stage": "transcribe", "field": "segments", "segment": 0, "start": 0, "end": 11,
///                            "text": "And so my fellow Americans, …"}, …],
///               "vectors": {"file": "results.embeddings.f32", "offset": 0, "count": 2, "dimension": 384, "fnv1a64": "…"}}
///
/// Options: `from` — a list of `STAGE.FIELD` (`transcribe.segments`, `caption.text`, `ask.answer`,
/// `caption.frames`, or any string field); default: every earlier stage's first text-bearing field
/// of segments, frames, text, answer.
public struct EmbedTask: StageTask {
    public let name = "embed"
    public let media: Set<MediaKind> = []
    public let fields = ["count", "dimension"]
    public let defaultModel: String? = ModelCatalog.defaultEmbedder
    public let sidecarFormats: Set<SidecarFormat> = []

    public init() {}

    public func decodeOptions(from decoder: Decoder) throws -> any StageOptions { try EmbedOptions(from: decoder) }

    public func prepare(_ spec: StageSpec, store: ModelStore) throws -> any PipelineStage {
        let model = try store.resolve(spec.model ?? ModelCatalog.defaultEmbedder)
        try ModelRegistry.require(model, is: [.textEmbedding], "embed needs a text embedding model (\(ModelCatalog.defaultEmbedder))")
        return EmbedStage(spec: spec, model: model, options: (spec.options as? EmbedOptions) ?? EmbedOptions())
    }

    public func renderSidecar(_ result: JSONValue, format: SidecarFormat, item: ResultRecord, provenance: StageProvenance) throws -> String? { nil }
}

/// `options` of an embed stage.
struct EmbedOptions: StageOptions, Codable {
    /// `STAGE.FIELD` sources in order; nil: every earlier stage's text (see `EmbedTask`).
    var from: [String]? = nil

    enum CodingKeys: String, CodingKey, CaseIterable { case from }

    init() {}

    init(from decoder: Decoder) throws {
        from = try decoder.container(keyedBy: CodingKeys.self).decodeIfPresent([String].self, forKey: .from)
        for source in from ?? [] where EmbedSource(source) == nil {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath + [CodingKeys.from],
                                                    debugDescription: "'\(source)' is not STAGE.FIELD (e.g. transcribe.segments, caption.text, ask.answer)"))
        }
    }
}

/// One `STAGE.FIELD` of `from`.
struct EmbedSource: Equatable {
    var stage: String
    var field: String

    init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        stage = String(parts[0]); field = String(parts[1])
    }

    init(stage: String, field: String) { self.stage = stage; self.field = field }

    /// Fields the default picks from, first present wins.
    static let defaultFields = ["segments", "frames", "text", "answer"]
}

/// What one vector is of.
struct EmbeddedText {
    var stage: String
    var field: String
    var segment: Int?
    var start: Double?
    var end: Double?
    var text: String

    var json: JSONValue {
        var o: [String: JSONValue] = ["stage": .string(stage), "field": .string(field), "text": .string(text)]
        if let segment { o["segment"] = .int(Int64(segment)) }
        if let start { o["start"] = .double(start) }
        if let end { o["end"] = .double(end) }
        return .object(o)
    }

    /// The texts `source` names in an item's earlier results: a list field's elements (their `text`,
    /// with `start`/`end` or a frame's `time`), or a string field. Empty texts are skipped.
    static func texts(_ source: EmbedSource, in previous: [String: JSONValue]) -> [EmbeddedText] {
        guard let value = previous[source.stage]?[source.field] else { return [] }
        var out: [EmbeddedText] = []
        func add(_ text: String?, segment: Int?, start: Double?, end: Double?) {
            guard let text = text?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else { return }
            out.append(EmbeddedText(stage: source.stage, field: source.field, segment: segment, start: start, end: end, text: text))
        }
        switch value {
        case .string(let text): add(text, segment: nil, start: nil, end: nil)
        case .array(let elements):
            for (i, element) in elements.enumerated() {
                add(element["text"]?.stringValue ?? element.stringValue, segment: i,
                    start: element["start"]?.doubleValue ?? element["time"]?.doubleValue, end: element["end"]?.doubleValue)
            }
        default: break
        }
        return out
    }
}

final class EmbedStage: ModelStage<EmbedOptions, TextEmbedder>, PipelineStage {
    let task: any StageTask = EmbedTask()
    /// Sequences per encoder call (texts of several items go together).
    static let textBatch = 32

    init(spec: StageSpec, model: InstalledModel, options: EmbedOptions) {
        super.init(spec: spec, model: model, options: options, provenance: StageProvenance(task: "embed", model: model, options: options))
    }

    var preferredBatchSize: Int { 16 }

    /// Stage names `from` reads (checked against the pipeline's earlier stages when it loads).
    var sourceStages: [String] { (options.from ?? []).compactMap { EmbedSource($0)?.stage } }

    func load() throws { try loadModel(ModelRegistry.embedder) }

    /// The sources for one item: `from`, else each earlier result's first text-bearing field (by stage name).
    func sources(_ previous: [String: JSONValue]) -> [EmbedSource] {
        if let from = options.from { return from.compactMap(EmbedSource.init) }
        return previous.keys.sorted().compactMap { stage in
            EmbedSource.defaultFields.first { field in !EmbeddedText.texts(EmbedSource(stage: stage, field: field), in: previous).isEmpty }
                .map { EmbedSource(stage: stage, field: $0) }
        }
    }

    func process(_ inputs: [StageInput], batchSize: Int, stop: RunStop, finish: (Int, Result<StageOutput, Error>) -> Void) {
        guard let embedder = loaded(loadedModel, inputs, finish) else { return }
        var start = 0
        while start < inputs.count, !stop.isRequested {
            let group = Array(start..<min(inputs.count, start + max(1, batchSize)))
            start += group.count
            let began = Date()
            let texts = group.map { i in sources(inputs[i].previous).flatMap { EmbeddedText.texts($0, in: inputs[i].previous) } }
            let vectors = embedder.embed(texts.flatMap { $0.map(\.text) }, batchSize: Self.textBatch)
            let wall = Date().timeIntervalSince(began)
            var next = 0
            for (i, entries) in zip(group, texts) {
                let rows = Array(vectors[next..<(next + entries.count)])
                next += entries.count
                let result: JSONValue = .object([
                    "model": .string(model.name), "dimension": .int(Int64(embedder.dimension)), "count": .int(Int64(entries.count)),
                    "entries": .array(entries.map(\.json)),
                ])
                finish(i, .success(StageOutput(result: result, timings: ["wall": wall], vectors: rows)))
            }
        }
    }
}
