import Pipelines
import XCTest

final class TemplateTests: XCTestCase {
    let results: [String: JSONValue] = [
        "transcribe": .object(["text": .string(" ask not"), "language": .string("en"), "duration": .double(11)]),
        "caption": .object(["text": .string("")]),
    ]

    func testRendersItemFieldsAndEarlierResults() throws {
        let template = try PromptTemplate("Q: {{ item.question }}\nT:{{transcribe.text}} ({{transcribe.language}}, {{transcribe.duration}} s)")
        XCTAssertEqual(template.render(item: ["question": "Who?"], results: results), "Q: Who?\nT: ask not (en, 11 s)")
    }

    /// A video's frames render one "[m:ss] text" line each (not their JSON); tags as a comma list.
    func testFramesAndTagsRenderAsText() throws {
        let frames: JSONValue = .array([
            .object(["time": .double(0), "text": .string("A dog."), "objects": .array([])]),
            .object(["time": .double(75.4), "text": .string("Two cars."), "objects": .array([])]),
        ])
        let template = try PromptTemplate("{{caption.frames}} | {{caption.tags}}")
        let rendered = template.render(item: [:], results: ["caption": .object(["frames": frames, "tags": .array([.string("dog"), .string("car")])])])
        XCTAssertEqual(rendered, "[0:00] A dog.\n[1:15] Two cars. | dog, car")
    }

    func testSectionsRenderOnlyPresentValues() throws {
        let template = try PromptTemplate(
            "{{#transcribe}}Transcript:{{transcribe.text}}.{{/transcribe}}{{#caption.text}}Photo: {{caption.text}}.{{/caption.text}}"
                + "{{^caption.text}} No caption.{{/caption.text}}{{#detect}}never{{/detect}} {{item.missing}}end")
        XCTAssertEqual(template.render(item: [:], results: results), "Transcript: ask not. No caption. end")
    }

    func testNestedSectionsAndReferencesInOrder() throws {
        let template = try PromptTemplate("{{#item.question}}{{#transcribe}}{{item.question}}/{{transcribe.text}}{{/transcribe}}{{/item.question}}")
        XCTAssertEqual(template.references.map(\.description), ["item.question", "transcribe", "item.question", "transcribe.text"])
        XCTAssertEqual(template.render(item: ["question": "q"], results: results), "q/ ask not")
        XCTAssertEqual(template.render(item: [:], results: results), "")
    }

    func testMalformedTemplatesAreRefused() {
        for source in ["{{item.question", "{{#transcribe}}open", "{{/transcribe}}", "{{#a}}x{{/b}}", "{{a.b.c}}", "{{}}", "{{1abc}}"] {
            XCTAssertThrowsError(try PromptTemplate(source), source)
        }
    }

    func testReferenceChecks() throws {
        let template = try PromptTemplate("{{item.question}} {{item.nope}} {{transcribe.text}} {{transcribe.txt}} {{ask.answer}} {{later.text}} {{transcribe}}")
        let problems = template.check(itemFields: ["id", "input", "media", "question"],
                                      earlierStages: [(name: "transcribe", fields: ["text", "language"])], stage: "ask")
        XCTAssertEqual(problems.count, 5, problems.joined(separator: "\n"))
        XCTAssertTrue(problems[0].contains("no input gives items a field 'nope'"), problems[0])
        XCTAssertTrue(problems[1].contains("stage 'transcribe' has no field 'txt' (fields: text, language)"), problems[1])
        XCTAssertTrue(problems[2].contains("a stage cannot read its own result"), problems[2])
        XCTAssertTrue(problems[3].contains("'later' is not 'item' nor an earlier stage (earlier stages: transcribe)"), problems[3])
        XCTAssertTrue(problems[4].contains("{{transcribe}} needs a field"), problems[4])
    }
}
