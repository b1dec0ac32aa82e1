import Foundation
import Media
import Models
import ModelStore
import TestSupport
import XCTest

/// GGUF tokenizers vs llama.cpp, Qwen2 greedy parity, and a question answered from a real transcript.
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

    /// qwen2 architecture (Q5_0/Q8_0 tensors, QKV biases, RoPE halves): chat ids and greedy tokens vs llama.cpp.
    func testQwen2GreedyMatchesLlamaCpp() throws {
        let lm = try Self.model("qwen2.5-coder-0.5b-instruct")
        let golden = try LlamaParityTests.json("qwen_greedy.json")
        let prompt = golden["prompt_ids"] as! [Int]
        XCTAssertEqual(try lm.chatTokens([ChatMessage(role: "user", content: golden["user_message"] as! String)]), prompt)
        let expected = golden["generated_ids"] as! [Int]
        var options = GenerationOptions()
        options.maxTokens = expected.count
        let tokens = try lm.generate(prompts: [prompt], options: options)[0].tokens
        let agree = zip(tokens, expected).prefix { $0 == $1 }.count
        let decisive = (golden["top1_minus_top2_per_step"] as! [Double]).firstIndex { $0 < 0.05 } ?? expected.count
        print("qwen2: \(agree)/\(expected.count) greedy tokens equal to llama.cpp (first near-tie at step \(decisive))")
        XCTAssertGreaterThanOrEqual(agree, decisive)
    }

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
