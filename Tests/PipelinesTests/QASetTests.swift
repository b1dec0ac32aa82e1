import Foundation
import TestSupport
import XCTest

/// eval/qa/qa.jsonl (made by scripts/eval/make_qa_set.py, scored by scripts/eval/eval_qa.py —
/// `make eval-qa`) is well-formed: enough questions and "not stated" ones, each with its material.
final class QASetTests: XCTestCase {
    struct Question: Decodable {
        let id, kind, source, question: String
        let answers: [String]
        let not_stated: Bool
        let transcript, caption, tags, passage, known_text: String?
        let width, height: Int?
    }

    func testQASetIsWellFormed() throws {
        let url = TestPaths.packageRoot.appendingPathComponent("eval/qa/qa.jsonl")
        let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n")
        var questions: [Question] = []
        for (n, line) in lines.enumerated() {
            do { questions.append(try JSONDecoder().decode(Question.self, from: Data(line.utf8))) } catch {
                return XCTFail("qa.jsonl:\(n + 1): \(error)")
            }
        }
        XCTAssertGreaterThanOrEqual(questions.count, 60)
        XCTAssertGreaterThanOrEqual(questions.filter(\.not_stated).count, 10)
        XCTAssertEqual(Set(questions.map(\.id)).count, questions.count, "ids are unique")
        XCTAssertEqual(Set(questions.map(\.kind)), ["speech", "photo", "passage"])
        for q in questions {
            XCTAssertFalse(q.question.isEmpty, q.id)
            XCTAssertTrue(q.not_stated ? q.answers == ["not stated"] : !q.answers.isEmpty && !q.answers.contains(""), q.id)
            switch q.kind {
            case "speech":
                XCTAssertFalse((q.transcript ?? "").isEmpty, "\(q.id): the transcript is the material")
                XCTAssertFalse((q.known_text ?? "").isEmpty, "\(q.id): the synthesized text is kept")
            case "photo":
                XCTAssertFalse((q.caption ?? "").isEmpty, q.id)
                XCTAssertFalse((q.tags ?? "").isEmpty, q.id)
                XCTAssertGreaterThan(q.width ?? 0, 0, q.id)
            default:
                XCTAssertFalse((q.passage ?? "").isEmpty, q.id)
            }
        }
    }
}
