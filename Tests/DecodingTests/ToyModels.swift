import Decoding
import Foundation
import Tensors
import XCTest

/// A step model whose logits are a pure function of everything a cache slot has "seen" (prompt
/// plus fed tokens). Each slot stores its own history, `copySlot` copies it, and every row is
/// checked against it: a row must arrive at exactly the position the slot has reached, so a
/// missing, stale or wrong copy either changes the logits or is reported in `problems`.
final class HistoryModel: StepModel {
    let vocabularySize: Int
    let logitsOf: ([Int]) -> [Float]
    private(set) var history: [[Int]]
    /// slot → the `context` its rows must carry (nil = don't check).
    var contextOfSlot: [Int: Int] = [:]
    private(set) var problems: [String] = []
    private(set) var stepCalls = 0
    private(set) var rowsServed = 0
    private(set) var copies = 0

    init(vocabularySize: Int, slots: Int, logitsOf: @escaping ([Int]) -> [Float]) {
        self.vocabularySize = vocabularySize
        self.logitsOf = logitsOf
        history = Array(repeating: [], count: slots)
    }

    func setPrompt(slot: Int, _ tokens: [Int]) { history[slot] = tokens }

    func step(_ rows: [StepRow]) -> Tensor {
        stepCalls += 1
        rowsServed += rows.count
        if Set(rows.map(\.slot)).count != rows.count { problems.append("step \(stepCalls): a slot appears twice") }
        let out = Tensor(zeros: [rows.count, vocabularySize])
        for (r, row) in rows.enumerated() {
            if let expected = contextOfSlot[row.slot], expected != row.context {
                problems.append("slot \(row.slot) got context \(row.context), expected \(expected)")
            }
            if history[row.slot].count != row.position {
                problems.append("slot \(row.slot) is at position \(history[row.slot].count), row says \(row.position)")
                history[row.slot] = Array(history[row.slot].prefix(row.position))
                while history[row.slot].count < row.position { history[row.slot].append(-1) }
            }
            history[row.slot].append(row.token)
            let logits = logitsOf(history[row.slot])
            for v in 0..<vocabularySize { out[r * vocabularySize + v] = logits[v] }
        }
        return out
    }

    func copySlot(from: Int, to: Int, length: Int) {
        copies += 1
        if history[from].count < length { problems.append("copy of \(length) positions from slot \(from), which has \(history[from].count)") }
        history[to] = Array(history[from].prefix(length))
    }
}

// MARK: logits functions

func mix64(_ x: UInt64) -> UInt64 {
    var z = x &+ 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}

/// Pseudo-random logits in [−3, 3) that depend on the whole history; the end token becomes
/// likelier as the history grows, so hypotheses of various lengths finish.
func hashLogits(vocab: Int, end: Int, salt: UInt64) -> ([Int]) -> [Float] {
    { history in
        var h = salt
        for t in history { h = mix64(h ^ UInt64(bitPattern: Int64(t + 7))) }
        var logits = (0..<vocab).map { v in Float(Double(mix64(h &+ UInt64(v)) >> 11) / Double(1 << 53)) * 6 - 3 }
        logits[end] += 0.4 * Float(history.count) - 2
        return logits
    }
}

/// A Markov chain: logits from a table indexed by the last token, plus a position term.
func markovLogits(_ probabilities: [[Double]], positionBonus: @escaping (Int, Int) -> Double = { _, _ in 0 }) -> ([Int]) -> [Float] {
    { history in
        let last = history.last!, position = history.count - 1
        return probabilities[last].enumerated().map { v, p in Float(Foundation.log(p) + positionBonus(position, v)) }
    }
}

// MARK: float64 references (no slots, no batching: one hypothesis = one explicit token list)

func logSoftmaxDouble(_ x: [Float]) -> [Double] {
    let m = Double(x.max()!)
    let logSum = m + Foundation.log(x.map { $0 == -.infinity ? 0 : Foundation.exp(Double($0) - m) }.reduce(0, +))
    return x.map { $0 == -.infinity ? -.infinity : Double($0) - logSum }
}

struct RefHypothesis: Equatable {
    var tokens: [Int]
    var logProb: Double
    var score: Double
}

func refScore(_ tokens: [Int], _ logProb: Double, lengthPenalty: Double) -> Double {
    tokens.isEmpty ? logProb : logProb / Foundation.pow(Double(tokens.count), lengthPenalty)
}

/// Processed logits of a hypothesis: the model's logits, then the request's processors.
func processedLogits(_ logitsOf: ([Int]) -> [Float], prompt: [Int], start: Int, tokens: [Int], step: Int,
                     processors: [LogitsProcessor]) -> [Float] {
    var logits = logitsOf(prompt + [start] + tokens)
    logits.withUnsafeMutableBufferPointer { p in
        for processor in processors { processor.process(step: step, generated: tokens, logits: p.baseAddress!, vocabularySize: p.count) }
    }
    return logits
}

func referenceGreedy(_ logitsOf: ([Int]) -> [Float], prompt: [Int], start: Int, end: Int, maxSteps: Int,
                     processors: [LogitsProcessor] = [], lengthPenalty: Double = 1) -> RefHypothesis {
    var tokens: [Int] = [], logProb = 0.0
    for step in 0..<maxSteps {
        let lp = logSoftmaxDouble(processedLogits(logitsOf, prompt: prompt, start: start, tokens: tokens, step: step,
                                                  processors: processors))
        let token = lp.indices.max { lp[$0] < lp[$1] || (lp[$0] == lp[$1] && $0 > $1) }!
        logProb += lp[token]
        if token == end { break }
        tokens.append(token)
    }
    return RefHypothesis(tokens: tokens, logProb: logProb, score: refScore(tokens, logProb, lengthPenalty: lengthPenalty))
}

/// Beam search with CTranslate2's rules, written over explicit token lists.
func referenceBeam(_ logitsOf: ([Int]) -> [Float], prompt: [Int], start: Int, end: Int, maxSteps: Int,
                   beamSize: Int, patience: Double = 1, lengthPenalty: Double = 1,
                   processors: [LogitsProcessor] = []) -> [RefHypothesis] {
    let maxFinished = Int((Double(beamSize) * patience).rounded())
    var beams: [(tokens: [Int], logProb: Double)] = [([], 0)]
    var finished: [RefHypothesis] = []
    for step in 0..<maxSteps {
        var candidates: [(score: Double, beam: Int, token: Int)] = []
        for (b, beam) in beams.enumerated() {
            let lp = logSoftmaxDouble(processedLogits(logitsOf, prompt: prompt, start: start, tokens: beam.tokens, step: step,
                                                      processors: processors))
            for v in lp.indices where lp[v] > -.infinity { candidates.append((beam.logProb + lp[v], b, v)) }
        }
        // Best first; ties keep (beam, token) order.
        candidates.sort { $0.score != $1.score ? $0.score > $1.score : ($0.beam, $0.token) < ($1.beam, $1.token) }
        let top = Array(candidates.prefix(2 * beamSize))
        let lastStep = step == maxSteps - 1
        var next: [(tokens: [Int], logProb: Double)] = []
        var spare = beamSize
        for k in 0..<min(beamSize, top.count) {
            var pick = top[k]
            if pick.token == end || lastStep {
                let tokens = beams[pick.beam].tokens + (pick.token == end ? [] : [pick.token])
                finished.append(RefHypothesis(tokens: tokens, logProb: pick.score,
                                              score: refScore(tokens, pick.score, lengthPenalty: lengthPenalty)))
                guard let replacement = top[min(spare, top.count)...].first(where: { $0.token != end }) else {
                    spare = top.count
                    continue
                }
                spare = top.firstIndex { $0 == replacement }! + 1
                pick = replacement
            }
            next.append((beams[pick.beam].tokens + [pick.token], pick.score))
        }
        if lastStep || finished.count >= maxFinished || next.isEmpty { break }
        beams = next
    }
    return Array(finished.sorted { $0.score > $1.score }.prefix(maxFinished))
}

/// Every hypothesis a search could finish with, and its score: end at step L (tokens t1…tL), or
/// run out of steps after maxSteps tokens.
func exhaustiveHypotheses(_ logitsOf: ([Int]) -> [Float], prompt: [Int], start: Int, end: Int, maxSteps: Int,
                          lengthPenalty: Double = 1) -> [RefHypothesis] {
    var all: [RefHypothesis] = []
    func visit(_ tokens: [Int], _ logProb: Double) {
        let step = tokens.count
        let lp = logSoftmaxDouble(logitsOf(prompt + [start] + tokens))
        for v in lp.indices where lp[v] > -.infinity {
            let total = logProb + lp[v]
            if v == end {
                all.append(RefHypothesis(tokens: tokens, logProb: total, score: refScore(tokens, total, lengthPenalty: lengthPenalty)))
            } else if step == maxSteps - 1 {
                all.append(RefHypothesis(tokens: tokens + [v], logProb: total,
                                         score: refScore(tokens + [v], total, lengthPenalty: lengthPenalty)))
            } else {
                visit(tokens + [v], total)
            }
        }
    }
    visit([], 0)
    return all.sorted { $0.score > $1.score }
}

/// Masks `tokens` (or everything but `only`) from `fromStep` on, and records what it was shown.
final class MaskProcessor: LogitsProcessor {
    let tokens: Set<Int>
    let only: Int?
    let fromStep: Int
    private(set) var calls: [(step: Int, generated: [Int])] = []
    init(tokens: Set<Int> = [], only: Int? = nil, fromStep: Int = 0) {
        self.tokens = tokens; self.only = only; self.fromStep = fromStep
    }
    func process(step: Int, generated: [Int], logits: UnsafeMutablePointer<Float>, vocabularySize: Int) {
        calls.append((step, generated))
        guard step >= fromStep else { return }
        for v in 0..<vocabularySize where tokens.contains(v) || (only != nil && v != only!) { logits[v] = -.infinity }
    }
}

func assertSame(_ got: [Hypothesis], _ expected: [RefHypothesis], _ what: String,
                file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(got.map(\.tokens), expected.map(\.tokens), what, file: file, line: line)
    for (g, e) in zip(got, expected) {
        XCTAssertEqual(Double(g.score), e.score, accuracy: 1e-4, "\(what): score of \(e.tokens)", file: file, line: line)
        XCTAssertEqual(Double(g.cumulativeLogProb), e.logProb, accuracy: 1e-4, "\(what): log-prob of \(e.tokens)", file: file, line: line)
    }
}
