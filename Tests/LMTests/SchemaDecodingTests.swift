import Decoding
import Foundation
import Models
import Tokenizers
import XCTest

/// Constrained JSON decoding with the real GGUF models: every answer parses and conforms (greedy
/// and sampled), masks over the real vocabularies keep prefixes valid, and what the constraint
/// changes (conformance without it, tokens/s with it) is printed.
final class SchemaDecodingTests: XCTestCase {
    /// Bounded so any conforming document fits in `maxTokens` even at one byte per token.
    static let schemaText = """
    {"type": "object", "properties": {
      "speaker": {"type": "string", "maxLength": 40},
      "topics": {"type": "array", "items": {"type": "string", "maxLength": 40}, "maxItems": 5},
      "mentions_date": {"type": "boolean"}},
     "required": ["speaker", "topics", "mentions_date"]}
    """
    static let maxTokens = 400

    static let passages = [
        "Maria Lopez: Good morning everyone. Today I want to talk about the harbour renovation and the new ferry timetable, which starts on the 3rd of March.",
        "Transcript. Speaker: Dr. Kenji Watanabe. We measured rainfall in the valley for ten years; the data show wetter winters and drier summers.",
        "Hi, this is Tom from the bakery. We are hiring two bakers and we'd love feedback on our sourdough and rye bread.",
        "Chair Aisha Bello opened the council meeting, discussed school funding and road repairs, and set the next meeting for Friday 12 June 2026.",
    ]

    static func prompt(_ passage: String) -> String {
        "Read the passage and answer in JSON with the keys speaker (the person speaking), topics (a list of short topics) "
            + "and mentions_date (true if a date is mentioned).\n\nPassage: \(passage)"
    }

    /// An independent check of the record shape (not the automaton): keys by JSONSerialization,
    /// types by JSONDecoder (strict: a boolean only from true/false).
    struct Record: Decodable { var speaker: String; var topics: [String]; var mentions_date: Bool }
    static func conforms(_ text: String) -> Bool {
        let data = Data(text.utf8)
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              Set(object.keys) == ["speaker", "topics", "mentions_date"],
              let record = try? JSONDecoder().decode(Record.self, from: data),
              record.speaker.count <= 40, record.topics.count <= 5, record.topics.allSatisfy({ $0.count <= 40 })
        else { return false }
        return true
    }

    struct Run { var answers: [String] = []; var tokens = 0; var seconds = 0.0 }

    func run(_ lm: LanguageModel, constraint: SchemaConstraint?, temperature: Float, seed: UInt64) throws -> Run {
        var options = GenerationOptions()
        options.maxTokens = constraint == nil ? 200 : Self.maxTokens   // a conforming answer here is < 100 tokens
        options.temperature = temperature
        options.seed = seed
        let prompts = try Self.passages.map { try lm.chatTokens([ChatMessage(role: "user", content: Self.prompt($0))]) }
        var run = Run()
        for g in try lm.generate(prompts: prompts, options: options, constraint: constraint) {
            run.answers.append(g.text)
            run.tokens += g.tokens.count
            run.seconds = g.generationSeconds   // shared by the batch
        }
        return run
    }

    func checkModel(_ name: String) throws {
        let lm = try TokenizerAndAnswerTests.model(name)
        let schema = try JSONSchema(json: Self.schemaText)
        let constraint = lm.constraint(for: schema)
        var constrained = 0, constrainedOK = 0, free = 0, freeOK = 0
        var constrainedRate = (tokens: 0, seconds: 0.0), freeRate = (tokens: 0, seconds: 0.0)
        for (temperature, seed) in [(Float(0), UInt64(0)), (0.8, 1), (0.8, 2), (0.8, 3)] {
            let with = try run(lm, constraint: constraint, temperature: temperature, seed: seed)
            for answer in with.answers {
                constrained += 1
                XCTAssertTrue(constraint.grammar.accepts(Array(answer.utf8)), "\(name) T=\(temperature) seed \(seed): \(answer)")
                XCTAssertTrue(Self.conforms(answer), "\(name) T=\(temperature) seed \(seed): \(answer)")
                if Self.conforms(answer) { constrainedOK += 1 }
            }
            let without = try run(lm, constraint: nil, temperature: temperature, seed: seed)
            for answer in without.answers {
                free += 1
                if Self.conforms(answer.trimmingCharacters(in: .whitespacesAndNewlines)) { freeOK += 1 }
            }
            if temperature == 0 { print("\(name) greedy, constrained: \(with.answers)\n\(name) greedy, free: \(without.answers.map { $0.prefix(160) })") }
            constrainedRate.tokens += with.tokens; constrainedRate.seconds += with.seconds
            freeRate.tokens += without.tokens; freeRate.seconds += without.seconds
        }
        let withRate = Double(constrainedRate.tokens) / constrainedRate.seconds, freeTokensPerSecond = Double(freeRate.tokens) / freeRate.seconds
        // Steady state: every mask of the greedy run is cached now.
        let computedBefore = constraint.masksComputed
        let warm = try run(lm, constraint: constraint, temperature: 0, seed: 0)
        let greedyFree = try run(lm, constraint: nil, temperature: 0, seed: 0)
        XCTAssertEqual(constraint.masksComputed, computedBefore)
        print("\(name) greedy, masks cached: \(String(format: "%.1f", Double(warm.tokens) / warm.seconds)) tokens/s constrained vs "
              + "\(String(format: "%.1f", Double(greedyFree.tokens) / greedyFree.seconds)) free")
        print("""
            \(name): schema conformance constrained \(constrainedOK)/\(constrained), unconstrained \(freeOK)/\(free) \
            (whole answer parsed and checked); tokens/s constrained \(String(format: "%.1f", withRate)) vs \
            \(String(format: "%.1f", freeTokensPerSecond)) free (batch of \(Self.passages.count)); masks computed \(constraint.masksComputed) \
            in \(String(format: "%.2f", constraint.maskSeconds)) s (\(String(format: "%.1f", 1000 * constraint.maskSeconds / Double(max(1, constraint.masksComputed)))) ms each), \
            applying masks \(String(format: "%.2f", constraint.applySeconds)) s over \(constrainedRate.tokens) tokens \
            (\(String(format: "%.0f", 1e6 * constraint.applySeconds / Double(max(1, constrainedRate.tokens)))) µs per token incl. cache look-ups)
            """)
        XCTAssertEqual(constrainedOK, constrained)
    }

    func testSmolLM2AnswersAlwaysConform() throws { try checkModel("smollm2-135m-instruct") }

    func testQwenAnswersAlwaysConform() throws { try checkModel("qwen2.5-coder-0.5b-instruct") }

    /// Over the real vocabularies: at states along a document, every allowed token keeps the prefix
    /// valid and a sample of the disallowed ones would break it.
    func testMasksOverRealVocabularies() throws {
        for name in ["smollm2-135m-instruct", "qwen2.5-coder-0.5b-instruct"] {
            let lm = try TokenizerAndAnswerTests.model(name)
            let constraint = lm.constraint(for: try JSONSchema(json: Self.schemaText))
            let grammar = constraint.grammar, vocabulary = lm.vocabulary
            let document = Array(#"{"speaker": "Zoë \"Z\" Ng","topics": ["tides", "naïve 😀"], "mentions_date": true}"#.utf8)
            var rng = SplitMix64(seed: 7)
            for cut in Set(Array(stride(from: 0, to: document.count, by: 3)) + [document.count]).sorted() {
                let prefix = Array(document[..<cut])
                var state = grammar.initial
                for b in prefix { XCTAssertTrue(grammar.advance(&state, b)) }
                let mask = constraint.mask(state)
                var allowed: [Int] = [], disallowed: [Int] = []
                for t in 0..<vocabulary.count { if mask.allows(t) { allowed.append(t) } else { disallowed.append(t) } }
                for t in allowed.count > 3000 ? (0..<3000).map({ _ in allowed[Int(rng.next() % UInt64(allowed.count))] }) : allowed {
                    XCTAssertTrue(grammar.acceptsPrefix(prefix + vocabulary.bytes[t]), "\(name): token \(t) after \(cut) bytes")
                }
                for _ in 0..<500 {
                    let t = disallowed[Int(rng.next() % UInt64(disallowed.count))]
                    let bytes = vocabulary.bytes[t]
                    XCTAssertTrue(bytes.isEmpty || !grammar.acceptsPrefix(prefix + bytes), "\(name): token \(t) wrongly masked after \(cut) bytes")
                }
                if cut < document.count { XCTAssertGreaterThan(allowed.count, 0) }
                XCTAssertEqual(mask.accepting, cut == document.count)
            }
            // The end-of-turn tokens are control tokens: never allowed as text.
            for t in lm.endTokens { XCTAssertFalse(constraint.mask(grammar.initial).allows(t)) }
        }
    }
}
