import Foundation
import Pipelines
import TestSupport
import XCTest

/// Ask stages with a JSON Schema (records, CSV columns, report columns), schemas refused at
/// validation with FILE:LINE:COLUMN, and prompts longer than the context (fail, truncate, chunk).
final class SchemaPipelineTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = try Fixtures.temporaryFolder(self)
    }

    static let schemaYAML = """
          schema:
            type: object
            properties:
              speaker: {type: string, maxLength: 40}
              topics: {type: array, items: {type: string, maxLength: 40}, maxItems: 4}
              mentions_date: {type: boolean}
            required: [speaker, topics, mentions_date]
    """

    /// A JSONL manifest of passages (each item's path is a small text file).
    func manifest(_ passages: [String]) throws {
        var lines: [String] = []
        for (i, passage) in passages.enumerated() {
            try Fixtures.write(passage, to: folder.appendingPathComponent("p\(i).txt"))
            let row = try JSONSerialization.data(withJSONObject: ["id": "p\(i)", "path": "p\(i).txt", "passage": passage], options: [.sortedKeys])
            lines.append(String(decoding: row, as: UTF8.self))
        }
        try Fixtures.write(lines.joined(separator: "\n") + "\n", to: folder.appendingPathComponent("items.jsonl"))
    }

    func run(_ yaml: String) throws -> (RunSummary, [ResultRecord]) {
        let file = try Fixtures.write(yaml, to: folder.appendingPathComponent("p.yaml"))
        var options = RunOptions()
        options.progress = .silent
        let runner = PipelineRunner(pipeline: try Pipeline.load(path: file.path), options: options)
        let summary = try runner.run()
        return (summary, try ResultsLog.read(runner.resultsURL).records)
    }

    func problems(_ yaml: String) throws -> [PipelineDiagnostic] {
        let url = try Fixtures.write(yaml, to: folder.appendingPathComponent("p.yaml"))
        do { _ = try Pipeline.load(path: url.path); return [] } catch let errors as PipelineErrors {
            return errors.diagnostics.filter { !$0.isWarning }
        }
    }

    func testSchemaAnswersLandInRecordsCSVAndReport() throws {
        try manifest([
            "Maria Lopez: Good morning. Today: the harbour renovation and the new ferry timetable, which starts on the 3rd of March.",
            "Hi, this is Tom from the bakery. We are hiring two bakers and want feedback on our rye bread.",
            "Chair Aisha Bello opened the council meeting on school funding and set the next meeting for Friday 12 June.",
        ])
        try Fixtures.write(#"{"type": "object", "properties": {"speaker": {"type": "string", "maxLength": 40}}, "required": ["speaker"]}"#,
                           to: folder.appendingPathComponent("schemas/speaker.json"))
        let (summary, records) = try run("""
            inputs: [{manifest: items.jsonl}]
            stages:
              - task: ask
                prompt: "Answer in JSON with speaker, topics and mentions_date.\\n\\nPassage: {{item.passage}}"
                options:
                  max_tokens: 300
            \(Self.schemaYAML)
              - task: ask
                name: who
                prompt: "Who is speaking? Passage: {{item.passage}}"
                options: {max_tokens: 60, temperature: 0.8, seed: 3, schema: schemas/speaker.json}
            outputs: {directory: out, csv: results.csv, report: report.html}
            """)
        XCTAssertEqual(summary.succeeded, 3, records.compactMap(\.message).joined(separator: "\n"))
        for record in records {
            let ask = try XCTUnwrap(record.results["ask"])
            let json = try XCTUnwrap(ask["json"]?.objectValue, "\(ask)")
            XCTAssertEqual(Set(json.keys), ["speaker", "topics", "mentions_date"])
            XCTAssertNotNil(json["speaker"]?.stringValue)
            XCTAssertNotNil(json["topics"]?.arrayValue)
            if case .bool = json["mentions_date"] {} else { XCTFail("mentions_date is not a boolean: \(json)") }
            XCTAssertEqual(ask["prompt_handling"]?.text, "fit")
            // The answer text and the parsed object are the same document.
            let reparsed = try JSONSerialization.jsonObject(with: Data((ask["answer"]?.text ?? "").utf8)) as? [String: Any]
            XCTAssertEqual(reparsed?["speaker"] as? String, json["speaker"]?.stringValue)
            XCTAssertEqual(record.results["who"]?["json"]?.objectValue.map { Array($0.keys) }, ["speaker"])
            print(record.id, ask["answer"]?.text ?? "", record.results["who"]?["answer"]?.text ?? "")
        }
        let csv = try String(contentsOf: folder.appendingPathComponent("out/results.csv"), encoding: .utf8)
        let header = csv.components(separatedBy: "\r\n")[0]
        for column in ["ask.answer", "ask.mentions_date", "ask.speaker", "ask.topics", "who.speaker"] {
            XCTAssertTrue(header.split(separator: ",").contains(Substring(column)), "\(column) in \(header)")
        }
        let html = try String(contentsOf: folder.appendingPathComponent("out/report.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("<th>Answer</th><th>mentions_date</th><th>speaker</th><th>topics</th>"), "report columns")
        // The schema is part of the provenance (and of the configuration hash).
        let options = records[0].provenance.stages.first { $0.name == "ask" }?.provenance.options
        XCTAssertEqual(options?["schema"]?["required"], .array([.string("speaker"), .string("topics"), .string("mentions_date")]))
    }

    func testBadSchemasAreRefusedWithLineAndColumn() throws {
        try manifest(["x"])
        try Fixtures.write("{\"type\": \"object\",\n  \"properties\": {\"a\": {\"type\": \"string\",}}}",
                           to: folder.appendingPathComponent("broken.json"))
        try Fixtures.write("{\"type\": \"object\",\n  \"properties\": {\"a\": {\"$ref\": \"https://example.com/a.json\"}}}",
                           to: folder.appendingPathComponent("remote.json"))
        let found = try problems("""
            inputs: [{manifest: items.jsonl}]
            stages:
              - task: ask
                prompt: "{{item.id}}"
                options:
                  schema:
                    type: object
                    properties:
                      id: {type: string, pattern: "^[a-z]+$"}
              - {task: ask, name: b, prompt: "{{item.id}}", options: {schema: broken.json}}
              - {task: ask, name: c, prompt: "{{item.id}}", options: {schema: remote.json}}
              - {task: ask, name: d, prompt: "{{item.id}}", options: {schema: missing.json}}
              - {task: ask, name: e, prompt: "{{item.id}}", options: {schema: {anyOf: [{type: string}, {enum: [a, b]}]}}}
            outputs: {directory: out}
            """)
        let rendered = found.map { $0.description.replacingOccurrences(of: folder.path + "/", with: "") }
        print(rendered.joined(separator: "\n"))
        func has(_ prefix: String, _ fragment: String) {
            XCTAssertTrue(rendered.contains { $0.hasPrefix(prefix) && $0.contains(fragment) }, "\(prefix) … \(fragment) in\n\(rendered.joined(separator: "\n"))")
        }
        has("p.yaml:9:30: stages[0].options.schema", "properties.id.pattern: 'pattern' is not supported")
        has("broken.json:2:41:", "not valid JSON")
        has("remote.json:2:24:", "$ref is not supported")
        has("p.yaml:12:67: stages[3].options.schema", "cannot read the schema file")
        has("p.yaml:13:", "alternatives must start differently")
        XCTAssertEqual(found.count, 5, rendered.joined(separator: "\n"))
    }

    /// Options refused while decoding, before any schema is read.
    func testSchemaOptionConflictsAreRefused() throws {
        try manifest(["x"])
        let found = try problems("""
            inputs: [{manifest: items.jsonl}]
            stages:
              - {task: ask, name: f, prompt: "{{item.id}}", options: {schema: {type: string}, stop: ["}"]}}
              - {task: ask, name: g, prompt: "{{item.id}}", options: {long_prompt: cut}}
            outputs: {directory: out}
            """)
        let rendered = found.map { $0.description.replacingOccurrences(of: folder.path + "/", with: "") }
        func has(_ prefix: String, _ fragment: String) {
            XCTAssertTrue(rendered.contains { $0.hasPrefix(prefix) && $0.contains(fragment) }, "\(prefix) … \(fragment) in\n\(rendered.joined(separator: "\n"))")
        }
        has("p.yaml:3:", "stop strings cannot be combined with schema")
        has("p.yaml:4:", "long_prompt: unknown value 'cut' (fail, truncate_middle, chunk)")
        XCTAssertEqual(found.count, 2, rendered.joined(separator: "\n"))
    }

    /// A material of about 900 tokens against a context of 256 (max_tokens 32).
    static let longPassage = (1...40).map { "Entry \($0): the river rose \($0 % 7 + 1) centimetres near mill number \($0 * 3), and the keeper wrote it down." }
        .joined(separator: " ")

    func longPromptPipeline(_ mode: String, schema: Bool = false) throws -> [ResultRecord] {
        try manifest([Self.longPassage])
        let (_, records) = try run("""
            inputs: [{manifest: items.jsonl}]
            stages:
              - task: ask
                prompt: "Log: {{item.passage}}\\n\\nQuestion: how high did the river rise at most?"
                options:
                  max_tokens: 32
                  context_length: 256
                  long_prompt: \(mode)
            \(schema ? "      schema: {type: object, properties: {centimetres: {type: integer}}, required: [centimetres]}" : "")
            outputs: {directory: out}
            """)
        return records
    }

    func testLongPromptFailsWithTokenCounts() throws {
        let record = try XCTUnwrap(try longPromptPipeline("fail").first)
        XCTAssertEqual(record.status, .error)
        let message = record.message ?? ""
        XCTAssertTrue(message.contains("the context of 256 tokens minus max_tokens 32 leaves 224"), message)
        XCTAssertNotNil(message.range(of: #"the prompt is \d{3,} tokens"#, options: .regularExpression), message)
        print(message)
    }

    func testLongPromptTruncatesTheMiddleAndSaysSo() throws {
        let record = try XCTUnwrap(try longPromptPipeline("truncate_middle").first)
        XCTAssertEqual(record.status, .ok, record.message ?? "")
        let ask = try XCTUnwrap(record.results["ask"])
        let handling = ask["prompt_handling"]?.text ?? ""
        XCTAssertTrue(handling.hasPrefix("truncated_middle (kept "), handling)
        let prompt = ask["prompt"]?.text ?? ""
        XCTAssertTrue(prompt.hasPrefix("Log: Entry 1: the river"), prompt)
        XCTAssertTrue(prompt.contains("tokens omitted here"), prompt)
        XCTAssertTrue(prompt.hasSuffix("Question: how high did the river rise at most?"), prompt)
        XCTAssertLessThanOrEqual(Int(ask["prompt_tokens"]?.text ?? "") ?? .max, 224)
    }

    func testLongPromptChunksThenCombines() throws {
        let record = try XCTUnwrap(try longPromptPipeline("chunk", schema: true).first)
        XCTAssertEqual(record.status, .ok, record.message ?? "")
        let ask = try XCTUnwrap(record.results["ask"])
        let parts = try XCTUnwrap(ask["parts"]?.arrayValue)
        XCTAssertGreaterThanOrEqual(parts.count, 4)
        XCTAssertEqual(ask["prompt_handling"]?.text, "chunked (\(parts.count) parts)")
        for part in parts {   // every part answer follows the schema too
            let object = try JSONSerialization.jsonObject(with: Data((part.stringValue ?? "").utf8)) as? [String: Any]
            XCTAssertNotNil(object?["centimetres"] as? Int, "\(part)")
        }
        XCTAssertNotNil(ask["json"]?["centimetres"], "\(ask)")
        let prompt = ask["prompt"]?.text ?? ""
        XCTAssertTrue(prompt.contains("Part 1: {"), prompt)
        XCTAssertTrue(prompt.hasSuffix("Question: how high did the river rise at most?"), prompt)
        print("chunked:", parts, "→", ask["answer"]?.text ?? "")
    }

    /// `hearth ask --schema FILE`: the answer is the JSON document, `--json` carries it parsed; a bad
    /// schema is refused with its line and column before any model loads.
    func testAskCommandWithSchema() throws {
        let hearth = try Fixtures.hearthBinary()
        let schema = try Fixtures.write(#"{"type": "object", "properties": {"city": {"type": "string", "maxLength": 30}, "sunny": {"type": "boolean"}}, "required": ["city", "sunny"]}"#,
                                        to: folder.appendingPathComponent("weather.json"))
        let context = try Fixtures.write("Weather report for Lisbon: clear skies all day.", to: folder.appendingPathComponent("report.txt"))
        let ok = try runProcess(hearth, ["ask", "Which city, and is it sunny?", "--context-file", context.path, "--schema", schema.path,
                                         "--max-tokens", "60", "--json"])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(ok.stdout.utf8)) as? [String: Any]
        let json = try XCTUnwrap(object?["json"] as? [String: Any], ok.stdout)
        XCTAssertEqual(Set(json.keys), ["city", "sunny"])
        XCTAssertNotNil(json["city"] as? String)
        let answer = try JSONSerialization.jsonObject(with: Data(((object?["answer"] as? String) ?? "").utf8)) as? [String: Any]
        XCTAssertEqual(answer?["city"] as? String, json["city"] as? String)

        let bad = try Fixtures.write("{\"type\": \"object\",\n \"properties\": {\"city\": {\"format\": \"uri\"}}}", to: folder.appendingPathComponent("bad.json"))
        let refused = try runProcess(hearth, ["ask", "Which city?", "--schema", bad.path])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("\(bad.path):2:26: schema: properties.city.format: 'format' is not supported"), refused.stderr)
        let both = try runProcess(hearth, ["ask", "Which city?", "--schema", schema.path, "--stop", "}"])
        XCTAssertTrue(both.stderr.contains("--stop cannot be combined with --schema"), both.stderr)
    }
}
