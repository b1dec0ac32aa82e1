import Foundation
import ModelStore
import Pipelines
import XCTest

/// transcribe → embed over real clips, then search (in-process and `hearth search`), resume,
/// merge and a damaged vector file (whisper-tiny.en and all-minilm-l6-v2, installed by `make test-models`).
final class EmbedPipelineTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        try Fixtures.requireModel()
        do { _ = try ModelStore().resolve(ModelCatalog.defaultEmbedder) } catch {
            XCTFail("\(error) — run `make test-models`")
            throw error
        }
        folder = try Fixtures.temporaryFolder(self)
    }

    func run(_ pipelineFile: URL) throws -> (RunSummary, PipelineRunner) {
        var options = RunOptions()
        options.progress = .silent
        let runner = PipelineRunner(pipeline: try Pipeline.load(path: pipelineFile.path), options: options)
        return (try runner.run(), runner)
    }

    func testTranscribeEmbedThenSearchFindsTheJFKSegment() throws {
        let clips = [Fixtures.sample("jfk.wav")] + (try ["speech.ogg", "spanish.wav", "german.wav", "longform.wav"].map(Fixtures.testClip))
        let pipeline = try Fixtures.write("""
            inputs: [\(clips.joined(separator: ", "))]
            stages:
              - {task: transcribe, options: {beam_size: 1}}
              - {task: embed}
            outputs: {directory: out}
            """, to: folder.appendingPathComponent("p.yaml"))
        let (summary, runner) = try run(pipeline)
        XCTAssertEqual(summary.succeeded, clips.count)
        let records = try latestRecords(runner.resultsURL)
        for record in records {
            let segments = (record.results["transcribe"]?["segments"]?.arrayValue ?? [])
                .filter { !($0["text"]?.stringValue ?? "").trimmingCharacters(in: .whitespaces).isEmpty }
            let embed = try XCTUnwrap(record.results["embed"], record.id)
            XCTAssertEqual(embed["count"]?.doubleValue, Double(segments.count), record.id)
            XCTAssertEqual(embed["dimension"]?.doubleValue, 384)
            XCTAssertEqual(embed["entries"]?.arrayValue?.count, segments.count)
            XCTAssertEqual(embed["entries"]?.arrayValue?.first?["field"]?.stringValue, "segments")
            XCTAssertEqual(embed["vectors"]?["count"]?.doubleValue, Double(segments.count))
        }
        let vectorFile = runner.resultsURL.deletingLastPathComponent().appendingPathComponent("results.embeddings.f32")
        let entries = records.reduce(0) { $0 + Int($1.results["embed"]?["count"]?.doubleValue ?? 0) }
        XCTAssertGreaterThan(entries, 10, "longform.wav alone has more segments")
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: vectorFile.path)[.size] as? Int, entries * 384 * 4)

        let query = "ask what you can do for your country"
        let search = try ArchiveQuery(resultsFiles: [runner.resultsURL])
        XCTAssertEqual(search.index.count, entries)
        let hits = search.search(query, topK: 3)
        let best = try XCTUnwrap(hits.first)
        XCTAssertEqual(best.entry.id, clips[0])
        XCTAssertTrue(best.entry.text.lowercased().contains("ask what you can do for your country"), best.entry.text)
        XCTAssertGreaterThan(best.score, 0.8)
        XCTAssertGreaterThan(best.score - hits[1...].filter { $0.entry.id != clips[0] }.map(\.score).max()!, 0.3,
                             "other clips score far lower")
        XCTAssertLessThanOrEqual(best.entry.end ?? 99, 11.5)

        // The command prints the same first hit.
        let cli = try runProcess(try Fixtures.hearthBinary(), ["search", query, runner.resultsURL.path, "--json", "--top-k", "2"])
        XCTAssertEqual(cli.status, 0, cli.stderr)
        let json = try JSONSerialization.jsonObject(with: Data(cli.stdout.utf8)) as? [String: Any]
        let first = try XCTUnwrap((json?["hits"] as? [[String: Any]])?.first)
        XCTAssertEqual(first["id"] as? String, clips[0])
        XCTAssertEqual(first["text"] as? String, best.entry.text)
        XCTAssertEqual((first["score"] as? Double) ?? 0, Double(best.score), accuracy: 1e-6)
        let text = try runProcess(try Fixtures.hearthBinary(), ["search", query, runner.resultsURL.path, "--top-k", "1"])
        XCTAssertTrue(text.stdout.hasPrefix(String(format: " 1. %.4f  \(clips[0])  0:0", best.score)), text.stdout)

        // Resume: everything is reused, no vector is written again, the search is the same.
        let (again, _) = try run(pipeline)
        XCTAssertEqual(again.skipped, clips.count)
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: vectorFile.path)[.size] as? Int, entries * 384 * 4)
        XCTAssertEqual(try ArchiveQuery(resultsFiles: [runner.resultsURL]).search(query, topK: 3).map(\.entry), hits.map(\.entry))

        // A merged file in the same folder finds the vectors through its records' references.
        let merged = runner.resultsURL.deletingLastPathComponent().appendingPathComponent("merged.jsonl")
        try ResultsMerge.merge([runner.resultsURL]).write(to: merged)
        XCTAssertEqual(try ArchiveQuery(resultsFiles: [merged]).search(query, topK: 1).first?.entry.text, best.entry.text)

        // Damaged vectors are refused by checksum, not searched.
        let handle = try FileHandle(forUpdating: vectorFile)
        try handle.seek(toOffset: 4)
        handle.write(Data([0x7F, 0x7F, 0x7F, 0x7F]))
        try handle.close()
        XCTAssertThrowsError(try ArchiveIndex(resultsFiles: [runner.resultsURL])) { error in
            XCTAssertTrue("\(error)".contains("do not match their record's checksum"), "\(error)")
        }
        // A results file without its vector file says where the vectors should be.
        try FileManager.default.removeItem(at: vectorFile)
        XCTAssertThrowsError(try ArchiveIndex(resultsFiles: [runner.resultsURL])) { error in
            XCTAssertTrue("\(error)".contains("results.embeddings.f32: cannot read the vectors"), "\(error)")
        }
    }

    /// `from` picks the fields: the whole transcript text is one entry, without segment times.
    func testFromOptionChoosesTheFields() throws {
        let pipeline = try Fixtures.write("""
            inputs: [\(Fixtures.sample("jfk.wav"))]
            stages:
              - {task: transcribe, options: {beam_size: 1}}
              - {task: embed, options: {from: [transcribe.text]}}
            outputs: {directory: out}
            """, to: folder.appendingPathComponent("p.yaml"))
        let (_, runner) = try run(pipeline)
        let embed = try XCTUnwrap(try latestRecords(runner.resultsURL).first?.results["embed"])
        XCTAssertEqual(embed["count"]?.doubleValue, 1)
        let entry = try XCTUnwrap(embed["entries"]?.arrayValue?.first)
        XCTAssertEqual(entry["field"]?.stringValue, "text")
        XCTAssertNil(entry["start"])
        XCTAssertTrue(entry["text"]?.stringValue?.hasPrefix("And so") == true, "\(entry)")
    }

    func testBadFromOptionsAreRefusedWhenThePipelineLoads() throws {
        func message(_ options: String) throws -> String {
            let pipeline = try Fixtures.write("""
                inputs: [\(Fixtures.sample("jfk.wav"))]
                stages:
                  - {task: transcribe}
                  - {task: embed, options: \(options)}
                outputs: {directory: out}
                """, to: folder.appendingPathComponent("bad.yaml"))
            do { _ = try Pipeline.load(path: pipeline.path) } catch { return "\(error)" }
            XCTFail("\(options) was accepted")
            return ""
        }
        XCTAssertTrue(try message("{from: [caption.text]}").contains("no stage before 'embed' is named 'caption'"))
        XCTAssertTrue(try message("{from: [transcribe]}").contains("'transcribe' is not STAGE.FIELD"))
        XCTAssertTrue(try message("{form: [transcribe.text]}").contains("unknown key 'form'"))
    }
}
