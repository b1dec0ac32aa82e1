import Decoding
import Foundation
import Tensors
import XCTest

/// Vocabulary 0…5; 0 is the start token, 5 the end token.
let vocab = 6, start = 0, end = 5

/// A chain where greedy and beam search disagree: from the start, 1 is likelier than 2, but
/// after 1 everything is spread thin while after 2 the sequence almost surely ends.
let trapChain: [[Double]] = [
    //   0      1      2      3      4      end
    [0.001, 0.449, 0.400, 0.100, 0.049, 0.001],   // after start
    [0.001, 0.220, 0.200, 0.190, 0.179, 0.210],   // after 1: flat
    [0.001, 0.025, 0.025, 0.025, 0.024, 0.900],   // after 2: ends
    [0.001, 0.100, 0.100, 0.100, 0.199, 0.500],   // after 3
    [0.001, 0.100, 0.100, 0.100, 0.099, 0.600],   // after 4
]

func request(prompt: [Int] = [], maxSteps: Int, processors: [LogitsProcessor] = [], context: Int = 0) -> SearchRequest {
    SearchRequest(startToken: start, endToken: end, startPosition: prompt.count, maxSteps: maxSteps,
                  processors: processors, context: context)
}

func options(beam: Int = 1, patience: Float = 1, lengthPenalty: Float = 1, temperature: Float = 0,
             bestOf: Int = 1, seed: UInt64 = 0) -> SearchOptions {
    var o = SearchOptions()
    o.beamSize = beam; o.patience = patience; o.lengthPenalty = lengthPenalty
    o.temperature = temperature; o.bestOf = bestOf; o.seed = seed
    return o
}

/// Runs `requests` (with prompts) through one search on a fresh HistoryModel.
func runSearch(_ requests: [(prompt: [Int], request: SearchRequest)], _ o: SearchOptions,
               logitsOf: @escaping ([Int]) -> [Float], file: StaticString = #filePath, line: UInt = #line) -> ([[Hypothesis]], HistoryModel) {
    let width = Search.slotsPerRequest(o)
    let model = HistoryModel(vocabularySize: vocab, slots: requests.count * width, logitsOf: logitsOf)
    for (i, r) in requests.enumerated() {
        model.setPrompt(slot: i * width, r.prompt)
        for m in 0..<width { model.contextOfSlot[i * width + m] = r.request.context }
    }
    let results = Search.run(requests.map(\.request), options: o, model: model)
    XCTAssertEqual(model.problems, [], "the search fed the model inconsistently", file: file, line: line)
    XCTAssertEqual(results.count, requests.count, file: file, line: line)
    return (results, model)
}

final class GreedySearchTests: XCTestCase {
    func testGreedyPicksArgmaxAndScoresByMeanLogProb() {
        let logits = markovLogits(trapChain)
        let (results, model) = runSearch([([], request(maxSteps: 4))], options(), logitsOf: logits)
        let best = results[0][0]
        // After the start 1 wins, then 1 keeps winning (0.22) until the step limit.
        XCTAssertEqual(best.tokens, [1, 1, 1, 1])
        let expected = (Foundation.log(0.449) + 3 * Foundation.log(0.22)) / 4
        XCTAssertEqual(Double(best.score), expected, accuracy: 1e-5)
        XCTAssertEqual(Double(best.cumulativeLogProb), expected * 4, accuracy: 1e-5)
        XCTAssertEqual(results[0].count, 1)
        XCTAssertEqual(model.stepCalls, 4)
        assertSame(results[0], [referenceGreedy(logits, prompt: [], start: start, end: end, maxSteps: 4)], "greedy")
    }

    func testEndTokenCountsInScoreButNotInLength() {
        // With 1 masked: after the start 2, after 2 the end: tokens [2], score = (log p(2) + log p(end|2)) / 1,
        // both renormalized without token 1.
        let mask = MaskProcessor(tokens: [1])
        let (results, _) = runSearch([([], request(maxSteps: 10, processors: [mask]))], options(), logitsOf: markovLogits(trapChain))
        XCTAssertEqual(results[0][0].tokens, [2])
        let p2 = 0.400 / (1 - 0.449), pEnd = 0.900 / (1 - 0.025)
        XCTAssertEqual(Double(results[0][0].score), Foundation.log(p2) + Foundation.log(pEnd), accuracy: 1e-5)
        // The processor saw every step with the tokens generated so far.
        XCTAssertEqual(mask.calls.map(\.step), [0, 1])
        XCTAssertEqual(mask.calls.map(\.generated), [[], [2]])
    }

    func testEndingImmediatelyGivesEmptyHypothesis() {
        let (results, _) = runSearch([([], request(maxSteps: 5, processors: [MaskProcessor(only: end)]))], options(),
                                     logitsOf: markovLogits(trapChain))
        XCTAssertEqual(results[0][0].tokens, [])
        XCTAssertEqual(results[0][0].score, 0, accuracy: 1e-6)   // only token allowed: log 1, not divided by 0
    }

    func testMaxStepsEndsHypotheses() {
        let logits = hashLogits(vocab: vocab, end: end, salt: 1)
        for maxSteps in 1...6 {
            let (results, model) = runSearch([([], request(maxSteps: maxSteps, processors: [MaskProcessor(tokens: [end])]))],
                                             options(), logitsOf: logits)
            XCTAssertEqual(results[0][0].tokens.count, maxSteps, "end is masked: the limit must stop the search")
            XCTAssertEqual(model.stepCalls, maxSteps)
            XCTAssertFalse(results[0][0].tokens.contains(end))
        }
    }

    func testGreedyMatchesReferenceOnHistoryDependentLogits() {
        for salt: UInt64 in 1...20 {
            let logits = hashLogits(vocab: vocab, end: end, salt: salt)
            let prompt = [3, 1, 4, 1]
            let (results, _) = runSearch([(prompt, request(prompt: prompt, maxSteps: 12))], options(), logitsOf: logits)
            assertSame(results[0], [referenceGreedy(logits, prompt: prompt, start: start, end: end, maxSteps: 12)], "salt \(salt)")
        }
    }

    func testLengthPenalty() {
        let logits = hashLogits(vocab: vocab, end: end, salt: 99)
        for penalty: Float in [0, 0.5, 1, 2] {
            let (results, _) = runSearch([([2], request(prompt: [2], maxSteps: 9))], options(lengthPenalty: penalty), logitsOf: logits)
            let ref = referenceGreedy(logits, prompt: [2], start: start, end: end, maxSteps: 9, lengthPenalty: Double(penalty))
            assertSame(results[0], [ref], "length penalty \(penalty)")
        }
    }

    func testSlotsPerRequest() {
        XCTAssertEqual(Search.slotsPerRequest(options()), 1)
        XCTAssertEqual(Search.slotsPerRequest(options(beam: 5)), 5)
        XCTAssertEqual(Search.slotsPerRequest(options(beam: 5, temperature: 0.5, bestOf: 3)), 3)
        XCTAssertEqual(Search.slotsPerRequest(options(beam: 0)), 1)
    }
}

final class BeamSearchTests: XCTestCase {
    /// On the trap chain greedy walks into the flat region, beam search finds the short, likely
    /// sequence — the best of all possible hypotheses.
    func testBeamFindsExhaustiveBestWhereGreedyFails() {
        // The plain chain, and the chain with a position-dependent pull towards token 3.
        for logits in [markovLogits(trapChain), markovLogits(trapChain) { position, v in v == 3 ? 0.15 * Double(position) : 0 }] {
            checkBeamFindsExhaustiveBest(logits)
        }
    }

    func checkBeamFindsExhaustiveBest(_ logits: @escaping ([Int]) -> [Float]) {
        let maxSteps = 4
        let all = exhaustiveHypotheses(logits, prompt: [], start: start, end: end, maxSteps: maxSteps)
        // End at step 0, 1 or 2 (1 + 5 + 25 paths), or anything at the last step after 3 non-end tokens (125 · 6).
        XCTAssertEqual(all.count, 1 + 5 + 25 + 125 * 6, "every path enumerated")
        let best = all[0]
        XCTAssertEqual(best.tokens, [2])
        let (greedy, _) = runSearch([([], request(maxSteps: maxSteps))], options(), logitsOf: logits)
        XCTAssertNotEqual(greedy[0][0].tokens, best.tokens, "the chain should fool greedy search")
        XCTAssertLessThan(Double(greedy[0][0].score), best.score - 0.1)
        for beam in [2, 3] {
            let (results, _) = runSearch([([], request(maxSteps: maxSteps))], options(beam: beam), logitsOf: logits)
            XCTAssertEqual(results[0].first?.tokens, best.tokens, "beam \(beam)")
            XCTAssertEqual(Double(results[0].first?.score ?? 0), best.score, accuracy: 1e-5, "beam \(beam)")
            XCTAssertEqual(results[0].count, beam, "patience 1: stops after beam finished hypotheses")
            XCTAssertEqual(results[0].map(\.score), results[0].map(\.score).sorted(by: >), "best first")
            // Every returned hypothesis is a real path with its exact score.
            for h in results[0] {
                guard let match = all.first(where: { $0.tokens == h.tokens && abs($0.logProb - Double(h.cumulativeLogProb)) < 1e-4 }) else {
                    XCTFail("beam \(beam) returned \(h.tokens) with log-prob \(h.cumulativeLogProb), not a path of the chain"); continue
                }
                XCTAssertEqual(Double(h.score), match.score, accuracy: 1e-5)
            }
        }
    }

    /// Against the reference over explicit token lists, on logits that depend on the whole
    /// history: any slot mix-up (wrong parent, missing copy) changes the logits a beam sees.
    func testBeamMatchesReferenceOnHistoryDependentLogits() {
        var copies = 0
        for salt: UInt64 in 1...30 {
            let logits = hashLogits(vocab: vocab, end: end, salt: salt)
            for (beam, patience) in [(2, Float(1)), (3, 1), (4, 1), (2, 2), (3, 1.5)] {
                let prompt = salt % 2 == 0 ? [] : [4, 2]
                let (results, model) = runSearch([(prompt, request(prompt: prompt, maxSteps: 8))],
                                                 options(beam: beam, patience: patience), logitsOf: logits)
                let ref = referenceBeam(logits, prompt: prompt, start: start, end: end, maxSteps: 8, beamSize: beam,
                                        patience: Double(patience))
                assertSame(results[0], ref, "salt \(salt) beam \(beam) patience \(patience)")
                copies += model.copies
            }
        }
        XCTAssertGreaterThan(copies, 100, "the cases should exercise slot copies")
    }

    /// copySlot must be what keeps beams right: a model that ignores copies goes wrong.
    func testIgnoringCopiesIsDetected() {
        final class ForgetfulModel: StepModel {
            let inner: HistoryModel
            init(_ inner: HistoryModel) { self.inner = inner }
            var vocabularySize: Int { inner.vocabularySize }
            func step(_ rows: [StepRow]) -> Tensor { inner.step(rows) }
            func copySlot(from: Int, to: Int, length: Int) {}
        }
        let logits = hashLogits(vocab: vocab, end: end, salt: 5)
        let inner = HistoryModel(vocabularySize: vocab, slots: 3, logitsOf: logits)
        _ = Search.run([request(maxSteps: 8)], options: options(beam: 3), model: ForgetfulModel(inner))
        XCTAssertFalse(inner.problems.isEmpty, "the history check should notice missing copies")
    }

    func testMaxStepsEndsEveryBeam() {
        let logits = hashLogits(vocab: vocab, end: end, salt: 3)
        for maxSteps in 1...4 {
            let (results, model) = runSearch([([], request(maxSteps: maxSteps, processors: [MaskProcessor(tokens: [end])]))],
                                             options(beam: 3), logitsOf: logits)
            XCTAssertEqual(results[0].count, 3)
            for h in results[0] { XCTAssertEqual(h.tokens.count, maxSteps) }
            XCTAssertEqual(model.stepCalls, maxSteps)
            let ref = referenceBeam(logits, prompt: [], start: start, end: end, maxSteps: maxSteps, beamSize: 3,
                                    processors: [MaskProcessor(tokens: [end])])
            assertSame(results[0], ref, "maxSteps \(maxSteps)")
        }
    }

    func testProcessorsAreHonouredAndSeeEachBeamsTokens() {
        let logits = hashLogits(vocab: vocab, end: end, salt: 17)
        let mask = MaskProcessor(tokens: [1, 3], fromStep: 1)
        let (results, _) = runSearch([([], request(maxSteps: 7, processors: [mask]))], options(beam: 3), logitsOf: logits)
        for h in results[0] { XCTAssertFalse(h.tokens.dropFirst().contains { $0 == 1 || $0 == 3 }, "\(h.tokens)") }
        for call in mask.calls { XCTAssertEqual(call.generated.count, call.step) }
        let ref = referenceBeam(logits, prompt: [], start: start, end: end, maxSteps: 7, beamSize: 3,
                                processors: [MaskProcessor(tokens: [1, 3], fromStep: 1)])
        assertSame(results[0], ref, "masked")
    }
}

final class BatchingTests: XCTestCase {
    /// Several requests (different prompts, lengths, limits, processors, contexts) in one search
    /// give exactly what each gives alone.
    func testBatchedRequestsEqualSeparateRuns() {
        let logits = hashLogits(vocab: vocab, end: end, salt: 2024)
        let requests: [(prompt: [Int], request: SearchRequest)] = [
            ([], request(maxSteps: 8, context: 10)),
            ([1, 2, 3], request(prompt: [1, 2, 3], maxSteps: 5, context: 11)),
            ([4], request(prompt: [4], maxSteps: 10, processors: [MaskProcessor(tokens: [2])], context: 12)),
            ([3, 3], request(prompt: [3, 3], maxSteps: 1, context: 13)),
            ([2, 4, 1, 1, 2], request(prompt: [2, 4, 1, 1, 2], maxSteps: 9, processors: [MaskProcessor(tokens: [end], fromStep: 0)], context: 14)),
        ]
        for o in [options(), options(beam: 2), options(beam: 3), options(beam: 4, patience: 2, lengthPenalty: 0.6)] {
            let (together, model) = runSearch(requests, o, logitsOf: logits)
            var longest = 0, rows = 0
            for (i, r) in requests.enumerated() {
                let (alone, aloneModel) = runSearch([r], o, logitsOf: logits)
                XCTAssertEqual(together[i].map(\.tokens), alone[0].map(\.tokens), "request \(i), beam \(o.beamSize)")
                XCTAssertEqual(together[i].map(\.score), alone[0].map(\.score), "request \(i), beam \(o.beamSize)")
                longest = max(longest, aloneModel.stepCalls)
                rows += aloneModel.rowsServed
            }
            // One decoder call per step serves every live sequence of every request.
            XCTAssertEqual(model.stepCalls, longest, "beam \(o.beamSize)")
            XCTAssertEqual(model.rowsServed, rows, "beam \(o.beamSize)")
        }
    }
}

final class SamplingTests: XCTestCase {
    func testSamplingIsReproducibleForASeed() {
        let logits = hashLogits(vocab: vocab, end: end, salt: 8)
        let requests = [([Int](), request(maxSteps: 10)), ([1], request(prompt: [1], maxSteps: 10))]
        let (a, _) = runSearch(requests, options(temperature: 0.8, bestOf: 5, seed: 1234), logitsOf: logits)
        let (b, _) = runSearch(requests, options(temperature: 0.8, bestOf: 5, seed: 1234), logitsOf: logits)
        let (c, _) = runSearch(requests, options(temperature: 0.8, bestOf: 5, seed: 4321), logitsOf: logits)
        XCTAssertEqual(a.map { $0.map(\.tokens) }, b.map { $0.map(\.tokens) })
        XCTAssertEqual(a.map { $0.map(\.score) }, b.map { $0.map(\.score) })
        XCTAssertNotEqual(a.map { $0.map(\.tokens) }, c.map { $0.map(\.tokens) })
        for hypotheses in a {
            XCTAssertEqual(hypotheses.count, 5, "bestOf samples per request")
            XCTAssertEqual(hypotheses.map(\.score), hypotheses.map(\.score).sorted(by: >))
        }
    }

    /// One step, many samples of a fixed distribution: frequencies follow softmax(logits / T),
    /// and the score is the untempered log-softmax of the sampled token.
    func testSampleFrequenciesFollowTemperedSoftmax() {
        let fixed: [Float] = [1.0, 0.2, -0.5, 2.0, 0.0, 0.5]
        let draws = 20_000
        for (temperature, masked) in [(Float(1), Set<Int>()), (0.5, []), (2, []), (1, [3])] {
            let (results, _) = runSearch([([], request(maxSteps: 1, processors: [MaskProcessor(tokens: masked)]))],
                                         options(temperature: temperature, bestOf: draws, seed: 77), logitsOf: { _ in fixed })
            var counts = [Int](repeating: 0, count: vocab)
            for h in results[0] { counts[h.tokens.first ?? end] += 1 }
            XCTAssertEqual(counts.reduce(0, +), draws)
            let weights = fixed.enumerated().map { v, l in masked.contains(v) ? 0 : Foundation.exp(Double(l) / Double(temperature)) }
            let total = weights.reduce(0, +)
            for v in 0..<vocab {
                let expected = weights[v] / total, observed = Double(counts[v]) / Double(draws)
                XCTAssertEqual(observed, expected, accuracy: 0.015, "T \(temperature), token \(v)")
            }
            let logProbs = logSoftmaxDouble(fixed.enumerated().map { masked.contains($0) ? -.infinity : $1 })
            for h in results[0].prefix(50) {
                XCTAssertEqual(Double(h.cumulativeLogProb), logProbs[h.tokens.first ?? end], accuracy: 1e-5)
            }
        }
    }

    func testSampledSequencesRespectEndAndLimit() {
        let logits = hashLogits(vocab: vocab, end: end, salt: 31)
        let (results, _) = runSearch([([], request(maxSteps: 6))], options(temperature: 1, bestOf: 200, seed: 5), logitsOf: logits)
        XCTAssertEqual(results[0].count, 200)
        for h in results[0] {
            XCTAssertLessThanOrEqual(h.tokens.count, 6)
            XCTAssertFalse(h.tokens.contains(end))
            // The score is the path's log-prob under the (untempered) model, normalized by length.
            var logProb = 0.0
            for (i, t) in (h.tokens + (h.tokens.count < 6 ? [end] : [])).enumerated() {
                logProb += logSoftmaxDouble(logits([start] + h.tokens.prefix(i)))[t]
            }
            XCTAssertEqual(Double(h.cumulativeLogProb), logProb, accuracy: 1e-4, "\(h.tokens)")
        }
        XCTAssertGreaterThan(Set(results[0].map(\.tokens)).count, 20, "samples should vary")
    }
}
