import ArgumentParser
import Foundation
import Pipelines
import Tensors

/// `hearth search`: the transcript segments, captions and answers of embedded results most like a query.
struct SearchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Find the segments, captions and answers of results files most similar in meaning to a query.",
        discussion: """
            Reads the `embed` results of each file and their vectors (RESULTS.embeddings.f32 beside it), embeds \
            the query with the same model and ranks by cosine similarity. Offline.
            Example: hearth search "ask what you can do for your country" out/archive/results.jsonl
            """)

    @Argument(help: "The query text.")
    var query: String

    @Argument(help: "Results files (JSONL) made by a pipeline with an embed stage.")
    var results: [String]

    @Option(name: .customLong("top-k"), help: "How many hits to print.")
    var topK = 5

    @Option(help: "Embedding model for the query (default: the one the results name).")
    var model: String?

    @Option(help: "CPU threads.")
    var threads = ProcessInfo.processInfo.activeProcessorCount

    @Flag(help: "Print one JSON object (query, model, hits with scores).")
    var json = false

    func validate() throws {
        if results.isEmpty { throw ValidationError("name at least one results file") }
        if topK < 1 { throw ValidationError("--top-k must be at least 1") }
    }

    func run() throws {
        BLAS.setThreads(threads)
        let search = try ArchiveQuery(resultsFiles: results.map { URL(fileURLWithPath: $0) }, model: model)
        let hits = search.search(query, topK: topK)
        if json {
            let object: JSONValue = .object([
                "query": .string(query), "model": .string(search.model.name), "entries": .int(Int64(search.index.count)),
                "hits": .array(hits.enumerated().map { rank, hit in
                    var o = hit.entry.json.objectValue ?? [:]
                    o["rank"] = .int(Int64(rank + 1))
                    o["score"] = .double(Double(hit.score))
                    return .object(o)
                }),
            ])
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(object), as: UTF8.self))
            return
        }
        printError("\(search.index.count) embedded texts in \(results.count) file\(results.count == 1 ? "" : "s") (model \(search.model.name))")
        for (rank, hit) in hits.enumerated() {
            let e = hit.entry
            print(String(format: "%2d. %.4f  ", rank + 1, hit.score) + [e.id, e.timeRange, e.source].filter { !$0.isEmpty }.joined(separator: "  "))
            print("    " + e.text)
        }
    }
}
