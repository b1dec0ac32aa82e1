import Foundation
import Pipelines
import XCTest

/// The HTML report from hand-made records of every kind (captions and answers included, which
/// later stages will produce).
final class ReportTests: XCTestCase {
    func stage(_ name: String, _ task: String) -> RecordProvenance.Stage {
        .init(name: name, provenance: StageProvenance(task: task, model: "m-\(task)", modelFormat: "f",
                                                       files: ["model.bin": "beef"], options: .object([:]), prompt: nil))
    }

    func record(_ id: String, media: String, path: String = "/nowhere", results: [String: JSONValue],
                fields: [String: String]? = nil, error: String? = nil) -> ResultRecord {
        ResultRecord(id: id, index: 0, input: id, path: path, media: media, bytes: 68, fields: fields,
                     status: error == nil ? .ok : .error, stage: error == nil ? nil : "transcribe", message: error,
                     configuration: "cfg", results: results, mediaSeconds: media.hasPrefix("audio") ? 75.5 : nil, timings: [:],
                     provenance: RecordProvenance(stages: [stage("transcribe", "transcribe"), stage("caption", "caption"),
                                                           stage("ask", "ask")]))
    }

    func testReportShowsTranscriptsImagesAnswersAndErrors() throws {
        let folder = try Fixtures.temporaryFolder(self)
        let png = folder.appendingPathComponent("cat.png")
        try Fixtures.tinyPNG.write(to: png)
        let transcript: JSONValue = .object([
            "text": .string(" Hello <world>"), "language": .string("en"), "duration": .double(75.5),
            "segments": .array([.object(["start": .double(0), "end": .double(2.5), "text": .string(" Hello")]),
                                .object(["start": .double(62.25), "end": .double(75.5), "text": .string(" <world> & co")])]),
        ])
        let records = [
            record("tape.wav", media: "audio/wav", results: ["transcribe": transcript,
                                                              "ask": .object(["answer": .string("A greeting."), "prompt": .string("p")])],
                   fields: ["question": "What is said?"]),
            record("cat.png", media: "image/png", path: png.path,
                   results: ["caption": .object(["text": .string("a cat on a mat"), "tags": .array([.string("cat"), .string("mat")])])]),
            record("big.jpg", media: "image/jpeg", results: ["caption": .object(["text": .string("a dog")])]),
            record("bad.wav", media: "audio/wav", results: [:], error: "truncated: <half> the data"),
        ]
        let html = try HTMLReport(title: "Tapes & photos", records: records).render()
        XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>"))
        XCTAssertTrue(html.contains("<title>Tapes &amp; photos — Hearth report</title>"))
        XCTAssertTrue(html.contains("<tr><th>Items</th><td>4</td></tr><tr><th>Succeeded</th><td>3</td></tr><tr><th>Failed</th><td>1</td></tr>"))
        XCTAssertTrue(html.contains("<td>m-transcribe</td><td class=\"hash\">model.bin: beef</td>"))
        // four records, three stages: each stage's model is listed once
        XCTAssertEqual(html.components(separatedBy: "<td>m-transcribe</td>").count - 1, 1)
        XCTAssertEqual(html.components(separatedBy: "<td>m-caption</td>").count - 1, 1)
        XCTAssertTrue(html.contains("<h2>Errors (1)</h2>"))
        XCTAssertTrue(html.contains("<td>bad.wav</td><td>transcribe</td><td>truncated: &lt;half&gt; the data</td>"))
        XCTAssertTrue(html.contains("<td>tape.wav</td><td>What is said?</td><td>A greeting.</td>"), "Q/A row")
        XCTAssertTrue(html.contains("<h2>Images (2)</h2>"))
        XCTAssertTrue(html.contains("src=\"data:image/png;base64,\(Fixtures.tinyPNG.base64EncodedString())\""), "inlined image")
        XCTAssertTrue(html.contains("<div class=\"noimage\">big.jpg</div>"), "an unreadable image is named")
        XCTAssertTrue(html.contains("<p>a cat on a mat</p><p class=\"tags\"><span>cat</span><span>mat</span></p>"))
        XCTAssertTrue(html.contains("<td class=\"time\">00:01:02.250 → 00:01:15.500</td><td>&lt;world&gt; &amp; co</td>"))
        XCTAssertTrue(html.contains("<b>tape.wav</b> · 1m16s · en"))
        XCTAssertFalse(html.contains("<script"))
        XCTAssertFalse(html.contains("http://") || html.contains("https://"), "self-contained")
        // Sections appear in a fixed order.
        let order = ["Errors (1)", "Questions and answers: ask", "Images (2)", "Transcripts: transcribe (1)"]
        let positions = order.map { html.range(of: $0)?.lowerBound }
        XCTAssertFalse(positions.contains(nil))
        XCTAssertEqual(positions.compactMap { $0 }, positions.compactMap { $0 }.sorted())
    }
}
