import Foundation
import Pipelines
import XCTest

final class ResultsLogTests: XCTestCase {
    func record(_ id: String, index: Int = 0, status: ResultRecord.Status = .ok, text: String = "hello",
                configuration: String = "c1") -> ResultRecord {
        ResultRecord(id: id, index: index, input: id, path: "/data/\(id)", media: "audio/wav", bytes: 10, fields: nil,
                     status: status, stage: status == .error ? "transcribe" : nil, message: status == .error ? "bad" : nil,
                     configuration: configuration, results: status == .ok ? ["transcribe": .object(["text": .string(text)])] : [:],
                     mediaSeconds: 1.5, timings: ["total": 0.25],
                     provenance: RecordProvenance(stages: [.init(name: "transcribe", provenance: StageProvenance(
                        task: "transcribe", model: "m", modelFormat: "ctranslate2", files: ["model.bin": "ab"],
                        options: .object(["beam_size": .int(1)]), prompt: nil))]))
    }

    func testRecordsRoundTripAsOneSortedLine() throws {
        let r = record("a.wav", text: "line\nbreak \"quoted\" é")
        let line = try r.line()
        XCTAssertEqual(line.last, 0x0A)
        XCTAssertEqual(line.filter { $0 == 0x0A }.count, 1, "one record, one line")
        let text = String(decoding: line, as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("{\"bytes\":10,\"configuration\":\"c1\",\"id\":\"a.wav\""), text)
        XCTAssertTrue(text.contains("\"provenance\":{\"hearth_version\":\"0.1.0\",\"stages\":[{\"files\":{\"model.bin\":\"ab\"},\"model\":\"m\",\"model_format\":\"ctranslate2\",\"name\":\"transcribe\""), text)
        XCTAssertEqual(try JSONDecoder().decode(ResultRecord.self, from: line), r)
    }

    func testAppendReopenAndRepairATornLastLine() throws {
        let folder = try Fixtures.temporaryFolder(self)
        let url = folder.appendingPathComponent("results.jsonl")
        do {
            let log = try ResultsLog(url: url)
            XCTAssertEqual(log.existing, [])
            try log.append(record("a"))
            try log.append(record("b", index: 1))
        }
        // A crash in the middle of a write leaves a line without its newline.
        let whole = try Data(contentsOf: url)
        let handle = try FileHandle(forWritingTo: url)
        try handle.seekToEnd()
        try handle.write(contentsOf: try record("c", index: 2).line().prefix(40))
        try handle.close()
        XCTAssertEqual(try ResultsLog.read(url).tornBytes, 40)

        let log = try ResultsLog(url: url)
        XCTAssertEqual(log.existing.map(\.id), ["a", "b"])
        XCTAssertEqual(log.repairedBytes, 40)
        XCTAssertEqual(try Data(contentsOf: url), whole, "the torn tail is cut off on open")
        try log.append(record("c", index: 2))
        log.close()
        XCTAssertEqual(try ResultsLog.read(url).records.map(\.id), ["a", "b", "c"])
    }

    func testUnreadableLinesAreReportedAndSkipped() throws {
        let folder = try Fixtures.temporaryFolder(self)
        let url = folder.appendingPathComponent("r.jsonl")
        var data = try record("a").line()
        data += Data("not json\n\n{\"id\": 1}\n".utf8)
        data += try record("b").line()
        try data.write(to: url)
        let read = try ResultsLog.read(url)
        XCTAssertEqual(read.records.map(\.id), ["a", "b"])
        XCTAssertEqual(read.unreadableLines, [2, 4])
        XCTAssertEqual(read.tornBytes, 0)
    }

    func testOneWriterAtATime() throws {
        let folder = try Fixtures.temporaryFolder(self)
        let url = folder.appendingPathComponent("results.jsonl")
        let first = try ResultsLog(url: url)
        XCTAssertThrowsError(try ResultsLog(url: url)) { error in
            XCTAssertTrue("\(error)".contains("another hearth run is writing"), "\(error)")
        }
        first.close()
        XCTAssertNoThrow(try ResultsLog(url: url))
    }

    func testRewriteKeepsLatestRecordsAndPlacesThem() throws {
        let folder = try Fixtures.temporaryFolder(self)
        let url = folder.appendingPathComponent("results.jsonl")
        let log = try ResultsLog(url: url)
        let entries = [try log.append(record("b", index: 1, text: "old")),
                       try log.append(record("a", index: 0, status: .error)),
                       try log.append(record("b", index: 1, text: "new"))]
        let latest = LogEntry.latest(entries)
        XCTAssertEqual(latest.map(\.id), ["a", "b"])
        XCTAssertEqual(try log.record(latest[1]).results["transcribe"]?["text"], .string("new"))
        let newLine = try record("b", index: 1, text: "new").line()
        // a moves to index 5 and another folder (rewritten); b stays (copied byte for byte).
        let placed = try log.rewrite([(latest[0], 5, "/moved/a"), (latest[1], 1, latest[1].path)])
        XCTAssertEqual(placed.map(\.index), [5, 1])
        try log.append(record("c", index: 2))
        log.close()
        let records = try ResultsLog.read(url).records
        XCTAssertEqual(records.map(\.id), ["a", "b", "c"])
        XCTAssertEqual(records[0].path, "/moved/a")
        XCTAssertEqual(records[0].index, 5)
        let lines = try Data(contentsOf: url).split(separator: 0x0A)
        XCTAssertEqual(Data(lines[1]) + Data([0x0A]), newLine)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent(".results.jsonl.tmp").path))
    }

    func testMergeOrdersByIndexAndReportsGaps() throws {
        let folder = try Fixtures.temporaryFolder(self)
        let shard0 = folder.appendingPathComponent("results.shard-0-of-3.jsonl")
        let shard2 = folder.appendingPathComponent("results.shard-2-of-3.jsonl")
        try (try record("c", index: 2).line() + record("a", index: 0, text: "stale").line() + record("a", index: 0).line()).write(to: shard0)
        try (try record("b", index: 1).line()).write(to: shard2)
        let outcome = try ResultsMerge.merge([shard0, shard2])
        let records = try outcome.records.all()
        XCTAssertEqual(records.map(\.id), ["a", "b", "c"])
        XCTAssertEqual(records[0].results["transcribe"]?["text"], .string("hello"))
        XCTAssertEqual(outcome.warnings, ["shards 1 of 3 are missing"])
        let merged = folder.appendingPathComponent("merged.jsonl")
        try outcome.write(to: merged)
        XCTAssertEqual(try ResultsLog.read(merged).records, records)
    }

    func testCSVViewQuotesAndFlattens() throws {
        var a = record("a,1", text: "say \"hi\"\nthen go")
        a.fields = ["question": "why?"]
        let csv = CSVView.render([a, record("b", index: 1, status: .error)])
        XCTAssertEqual(csv, """
            id,input,media,status,error_stage,error,media_seconds,transcribe.text,item.question\r
            "a,1","a,1",audio/wav,ok,,,1.500,"say ""hi""
            then go",why?\r
            b,b,audio/wav,error,transcribe,bad,1.500,,\r

            """)
    }
}
