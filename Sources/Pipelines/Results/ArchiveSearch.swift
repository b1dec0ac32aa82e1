// Semantic search over results files: every `embed` result's entries with their vectors (read from
// the vector file beside each results file), ranked by cosine similarity to a query vector.
// Used by `hearth search` and `hearth ask --archive`.

import Foundation
import Models
import ModelStore
import Tensors

/// One embedded text of an archive, and where it came from.
public struct ArchiveEntry: Sendable, Equatable {
    public var id: String
    public var input: String
    /// The embed stage's name and the source it read (`transcribe`, `segments`).
    public var embedStage: String
    public var stage: String
    public var field: String
    public var segment: Int?
    public var start: Double?
    public var end: Double?
    public var text: String
    public var resultsFile: String
}

public struct ArchiveHit: Sendable {
    public var entry: ArchiveEntry
    public var score: Float
}

/// The embedded entries of one or more results files, in memory (384 floats per entry).
public final class ArchiveIndex {
    public private(set) var entries: [ArchiveEntry] = []
    /// Row r is entries[r]'s vector, L2-normalised here (cosine = dot product).
    private var vectors: [Float] = []
    public private(set) var dimension = 0
    /// Models the embed stages named, with how many entries each made.
    public private(set) var models: [String: Int] = [:]
    /// Records (latest per id) that have no embed result, per file.
    public private(set) var recordsWithoutEmbeddings = 0

    public init(resultsFiles urls: [URL]) throws {
        for url in urls { try add(url) }
    }

    public var count: Int { entries.count }

    /// The one model every entry was embedded with (a query must be embedded with it too).
    public func model() throws -> String {
        guard models.count <= 1 else {
            throw PipelineError("the results were embedded with different models (\(models.keys.sorted().joined(separator: ", "))); search them separately")
        }
        guard let name = models.keys.first else { throw PipelineError("the results hold no embeddings: run a pipeline with an `embed` stage first") }
        return name
    }

    private func add(_ url: URL) throws {
        let file = try ResultsFile(url: url)
        let reader = VectorReader(resultsURL: url)
        try file.latest.forEach { record in
            let embedStages = record.provenance.stages.filter { $0.provenance.task == "embed" }.map(\.name)
            var found = false
            for stage in embedStages {
                guard let result = record.results[stage], let entries = result["entries"]?.arrayValue else { continue }
                found = true
                guard !entries.isEmpty else { continue }
                guard let referenceJSON = result["vectors"] else {
                    throw PipelineError("\(url.path): \(record.id)'s \(stage) result lists \(entries.count) texts but no vectors")
                }
                let reference: VectorReference
                do { reference = try referenceJSON.decode(VectorReference.self) } catch {
                    throw PipelineError("\(url.path): \(record.id)'s \(stage) vectors reference is malformed")
                }
                guard reference.count == entries.count else {
                    throw PipelineError("\(url.path): \(record.id)'s \(stage) result lists \(entries.count) texts and \(reference.count) vectors")
                }
                if dimension == 0 { dimension = reference.dimension }
                guard reference.dimension == dimension else {
                    throw PipelineError("\(url.path): \(record.id) has \(reference.dimension)-d vectors, others \(dimension)-d")
                }
                let rows = try reader.vectors(reference)
                let model = result["model"]?.stringValue ?? record.provenance.stages.first { $0.name == stage }?.provenance.model ?? "?"
                models[model, default: 0] += rows.count
                for (entry, row) in zip(entries, rows) {
                    appendEntry(ArchiveEntry(
                        id: record.id, input: record.input, embedStage: stage, stage: entry["stage"]?.stringValue ?? "?",
                        field: entry["field"]?.stringValue ?? "?", segment: entry["segment"]?.doubleValue.map { Int($0) },
                        start: entry["start"]?.doubleValue, end: entry["end"]?.doubleValue,
                        text: entry["text"]?.stringValue ?? "", resultsFile: url.path), row)
                }
            }
            if !found { recordsWithoutEmbeddings += 1 }
        }
    }

    private func appendEntry(_ entry: ArchiveEntry, _ row: [Float]) {
        let norm = max(row.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
        entries.append(entry)
        vectors += row.map { $0 / norm }
    }

    /// The `topK` entries most similar to `query` (any length-`dimension` vector), best first;
    /// equal scores keep archive order.
    public func search(_ query: [Float], topK: Int) -> [ArchiveHit] {
        precondition(query.count == dimension, "query has \(query.count) dimensions, the archive \(dimension)")
        let norm = max(query.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
        guard !entries.isEmpty else { return [] }
        // scores (entries, 1) = vectors (entries, dimension) · queryᵀ
        var dots = [Float](repeating: 0, count: entries.count)
        vectors.withUnsafeBufferPointer { v in
            query.withUnsafeBufferPointer { q in
                dots.withUnsafeMutableBufferPointer { c in
                    BLAS.gemm(m: entries.count, n: 1, k: dimension, a: v.baseAddress!, lda: dimension, b: q.baseAddress!,
                              ldb: dimension, transB: true, c: c.baseAddress!, ldc: 1)
                }
            }
        }
        var scored = dots.enumerated().map { ($0.offset, $0.element / norm) }
        scored.sort { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
        return scored.prefix(max(0, topK)).map { ArchiveHit(entry: entries[$0.0], score: $0.1) }
    }
}

extension ArchiveEntry {
    /// `0:03.20–0:07.84`, `at 1:02.00`, or "" when the entry has no times.
    public var timeRange: String {
        switch (start, end) {
        case let (s?, e?): return "\(Self.clock(s))–\(Self.clock(e))"
        case let (s?, nil): return "at \(Self.clock(s))"
        default: return ""
        }
    }

    static func clock(_ seconds: Double) -> String {
        let minutes = Int(seconds / 60), rest = seconds - Double(minutes * 60)
        return String(format: "%d:%05.2f", minutes, rest)
    }

    /// `transcribe.segments[0]`
    public var source: String { "\(stage).\(field)" + (segment.map { "[\($0)]" } ?? "") }

    public var json: JSONValue {
        var o: [String: JSONValue] = ["id": .string(id), "input": .string(input), "stage": .string(stage), "field": .string(field),
                                      "text": .string(text), "results": .string(resultsFile)]
        if let segment { o["segment"] = .int(Int64(segment)) }
        if let start { o["start"] = .double(start) }
        if let end { o["end"] = .double(end) }
        return .object(o)
    }
}

/// A query against results files: the archive's entries ranked by their cosine similarity to the
/// query, embedded with the model the archive was embedded with (or `model`, of the same width).
public struct ArchiveQuery {
    public var index: ArchiveIndex
    public var model: InstalledModel
    public let embedder: TextEmbedder

    public init(resultsFiles: [URL], model override: String? = nil, store: ModelStore = ModelStore()) throws {
        index = try ArchiveIndex(resultsFiles: resultsFiles)
        model = try store.resolve(override ?? index.model())
        try ModelRegistry.require(model, is: [.textEmbedding], "search needs the text embedding model the results were embedded with")
        embedder = try ModelRegistry.embedder(model)
        guard embedder.dimension == index.dimension else {
            throw PipelineError("model '\(model.name)' makes \(embedder.dimension)-d vectors; the results hold \(index.dimension)-d ones")
        }
    }

    public func search(_ query: String, topK: Int) -> [ArchiveHit] {
        index.search(embedder.embed([query])[0], topK: topK)
    }
}
