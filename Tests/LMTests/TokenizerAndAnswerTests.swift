import Foundation
import Media
import Models
import ModelStore
import TestSupport
import XCTest

/// GGUF tokenizers vs llama.cpp, Qwen2 greedy and logit parity, and a question answered from a real transcript.
final class TokenizerAndAnswerTests: XCTestCase {
    nonisolated(unsafe) static var models: [String: LanguageModel] = [:]
    static func model(_ name: String) throws -> LanguageModel {
        if let m = models[name] { return m }
        let dir: URL
        do { dir = try ModelStore().resolve(name).directory } catch {
            XCTFail("\(name) is not installed (\(error)); run `make test-models`")
            throw error
        }
        let m = try LanguageModel(path: dir.path)
        models[name] = m
        return m
    }

    func checkTokenizer(_ fixture: String, model name: String) throws {
        let lm = try Self.model(name)
        let golden = try LlamaParityTests.json(fixture)
        var mismatches = 0
        for case let c as [String: Any] in golden["cases"] as! [Any] {
            let text = c["text"] as! String, special = c["parse_special"] as! Bool
            let ids = lm.tokenizer.encode(text, recognizeSpecialTokens: special)
            if ids != c["ids"] as! [Int] { mismatches += 1 }
            XCTAssertEqual(ids, c["ids"] as! [Int], "\(name): \(text.debugDescription)")
            if !special { XCTAssertEqual(lm.tokenizer.decode(ids), text, "\(name) round trip: \(text.debugDescription)") }
        }
        print("\(name): \((golden["cases"] as! [Any]).count) strings, \(mismatches) mismatches vs llama.cpp")
    }

    func testSmolLM2TokenizerMatchesLlamaCpp() throws { try checkTokenizer("smollm2_tokens.json", model: "smollm2-135m-instruct") }

    func testQwen2TokenizerMatchesLlamaCpp() throws { try checkTokenizer("qwen_tokens.json", model: "qwen2.5-coder-0.5b-instruct") }

    /// qwen2 architecture (Q5_0/Q8_0 tensors, QKV biases, RoPE halves) vs llama.cpp: the four chat
    /// template cases (text and ids), the 16 greedy tokens, and teacher-forced logits at every step
    /// against llama.cpp's top 5 (`top5_per_step`).
    func testQwen2GreedyMatchesLlamaCpp() throws {
        let lm = try Self.model("qwen2.5-coder-0.5b-instruct")
        let golden = try LlamaParityTests.json("qwen_greedy.json")
        try LlamaParityTests.checkTemplateCases(golden, lm)
        let prompt = golden["prompt_ids"] as! [Int]
        XCTAssertEqual(try lm.chatTokens([ChatMessage(role: "user", content: golden["user_message"] as! String)]), prompt)
        let expected = golden["generated_ids"] as! [Int]
        var options = GenerationOptions()
        options.maxTokens = expected.count
        let generation = try lm.generate(prompts: [prompt], options: options)[0]
        print("qwen2: \(zip(generation.tokens, expected).prefix { $0 == $1 }.count)/\(expected.count) greedy tokens equal to llama.cpp")
        XCTAssertEqual(generation.tokens, expected, "greedy tokens (README: 16 of 16)")
        XCTAssertEqual(generation.text, golden["generated_text"] as? String)

        // Logits at the last prompt position and after each of llama.cpp's tokens (teacher-forced),
        // compared at llama.cpp's 5 best ids of every step.
        let top5 = (golden["top5_per_step"] as! [[[String: Any]]]).map { step in step.map { ($0["id"] as! Int, $0["logit"] as! Double) } }
        XCTAssertEqual(top5.count, expected.count)
        let logits = LlamaParityTests.teacherForcedLogits(lm, prompt: prompt, continuation: Array(expected.dropLast()))
        let vocab = lm.model.config.vocabularySize
        var worst = 0.0, sum = 0.0, orders = 0
        for (step, reference) in top5.enumerated() {
            let row = Array(UnsafeBufferPointer(start: logits.data + step * vocab, count: vocab))
            XCTAssertEqual(reference[0].0, expected[step])
            // Step 3 wins by 0.035 only: the greedy assertion above holds it; the argmax check, where the gap is decisive.
            if reference[0].1 - reference[1].1 > Self.qwenDecisiveGap {
                XCTAssertEqual(row.indices.max { row[$0] < row[$1] }, expected[step], "argmax at step \(step)")
            }
            for (id, logit) in reference {
                let d = abs(Double(row[id]) - logit)
                worst = max(worst, d); sum += d
            }
            // The order of llama.cpp's 5 wherever two neighbours are decisively apart.
            for k in 0..<4 where reference[k].1 - reference[k + 1].1 > Self.qwenDecisiveGap {
                orders += 1
                XCTAssertGreaterThan(row[reference[k].0], row[reference[k + 1].0], "step \(step): order of llama.cpp's #\(k + 1) and #\(k + 2)")
            }
        }
        let mean = sum / Double(5 * top5.count)
        print("qwen2 top-5 logits vs llama.cpp over \(top5.count) steps: max |Δ| \(worst), mean |Δ| \(mean); \(orders) decisive orders held")
        XCTAssertLessThanOrEqual(worst, Self.qwenLogitTolerance.max)
        XCTAssertLessThanOrEqual(mean, Self.qwenLogitTolerance.mean)
    }

    /// At llama.cpp's top-5 ids of the 16 steps, measured 2026-12-04: max |Δ| 0.26, mean |Δ| 0.077
    /// (below llama.cpp's own batched vs token-by-token spread on SmolLM2, 1.04 / 0.19).
    static let qwenLogitTolerance = (max: 1.0, mean: 0.25)
    /// A gap between two of llama.cpp's logits that Hearth's measured error (0.26 each) cannot close.
    static let qwenDecisiveGap = 0.6

    /// Several prompts decoded in one batch give each prompt's single-prompt result.
    func testBatchedGenerationIsExact() throws {
        let lm = try Self.model("smollm2-135m-instruct")
        let prompts = try ["What is rain?", "Name a color.", "Count to three."].map {
            try lm.chatTokens([ChatMessage(role: "user", content: $0)])
        }
        var options = GenerationOptions()
        options.maxTokens = 12
        let batched = try lm.generate(prompts: prompts, options: options)
        for (i, p) in prompts.enumerated() {
            XCTAssertEqual(batched[i].tokens, try lm.generate(prompts: [p], options: options)[0].tokens)
        }
    }

    /// A question whose answer is in jfk.wav's transcript (the whole ask path: Whisper, then the LM).
    func testAnswerFromARealTranscript() throws {
        let whisper = try WhisperTranscriber.load(directory: try ModelStore().resolve("whisper-tiny.en").directory)
        var t = TranscriptionOptions()
        t.language = "en"
        let mel = try LogMelSpectrogram.load(path: TestPaths.samples.appendingPathComponent("jfk.wav").path)
        let transcript = try whisper.transcribe(count: 1, load: { _ in mel }, options: t)[0].get().text
        let lm = try Self.model("qwen2.5-coder-0.5b-instruct")
        let question = "Transcript of a speech:\n\(transcript)\n\nAccording to the speaker, what should the listeners ask? Answer in one sentence."
        var options = GenerationOptions()
        options.maxTokens = 48
        let answer = try lm.answer([ChatMessage(role: "user", content: question)], options: options).text
        print("answer: \(answer)")
        XCTAssertTrue(answer.lowercased().contains("country"), answer)
    }
}
