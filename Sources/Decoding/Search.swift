// Batched autoregressive search: greedy, beam and temperature sampling over many independent
// requests in lockstep, so one decoder call serves every live sequence of every request.
// Semantics follow CTranslate2's decoding.cc (the engine behind faster-whisper):
//  - log-probs are log_softmax of the processed logits; a hypothesis' score is its cumulative
//    log-prob (end token included) divided by length^lengthPenalty (end token excluded);
//  - beam search keeps 2·beam candidates per step, retires hypotheses that end, refills from
//    the spare candidates, and stops after round(beam·patience) finished hypotheses;
//  - at most `maxSteps` tokens are generated; the last step always ends the hypothesis.

import Foundation
import Tensors

/// Masks logits in place before a token is chosen (suppress lists, timestamp rules…).
public protocol LogitsProcessor {
    /// `logits` (vocab) of one sequence at generation `step`; `generated` holds its tokens so far.
    func process(step: Int, generated: [Int], logits: UnsafeMutablePointer<Float>, vocabularySize: Int)
}

public struct SearchOptions: Sendable, Codable, Equatable {
    public var beamSize: Int = 1
    public var patience: Float = 1
    public var lengthPenalty: Float = 1
    /// 0 = argmax (greedy or beam); > 0 = random sampling with this temperature.
    public var temperature: Float = 0
    /// Independent samples drawn when sampling; the best-scoring one wins.
    public var bestOf: Int = 1
    public var seed: UInt64 = 0
    /// Sampling only: keep the k most likely tokens (0 = all) …
    public var topK: Int = 0
    /// … and the smallest set whose probability reaches p (1 = all).
    public var topP: Float = 1
    public init() {}
}

/// One sequence to continue: its first token, where it starts, and what masks its logits.
public struct SearchRequest {
    public var startToken: Int
    public var endToken: Int
    /// Further tokens that end a sequence like `endToken` (chat models have several).
    public var otherEndTokens: Set<Int> = []
    /// Called with the generated tokens after each step; `true` ends the sequence there,
    /// keeping its tokens (stop strings).
    public var shouldStop: (([Int]) -> Bool)? = nil
    /// Sampling seed of this request (nil: the options' seed plus the request's index).
    public var seed: UInt64? = nil
    public var startPosition: Int
    public var maxSteps: Int
    public var processors: [LogitsProcessor]
    /// Anything the step function needs per request (e.g. which encoder window it reads).
    public var context: Int
    /// Tokens forced at the first steps (CTranslate2's hard prefix, `return_prefix`): they are part
    /// of the hypothesis but add nothing to its log-prob; the processors still see those steps.
    public var prefix: [Int] = []
    public init(startToken: Int, endToken: Int, startPosition: Int, maxSteps: Int, processors: [LogitsProcessor], context: Int) {
        self.startToken = startToken; self.endToken = endToken; self.startPosition = startPosition; self.maxSteps = maxSteps
        self.processors = processors; self.context = context
    }
}

public struct Hypothesis: Sendable {
    public var tokens: [Int]
    /// Cumulative log-prob normalized by length^lengthPenalty (CTranslate2's `scores`).
    public var score: Float
    public var cumulativeLogProb: Float
    public init(tokens: [Int], score: Float, cumulativeLogProb: Float) {
        self.tokens = tokens; self.score = score; self.cumulativeLogProb = cumulativeLogProb
    }
}

/// One row of a decoder call: feed `token` at `position` of cache `slot`, for request `context`.
public struct StepRow {
    public var slot: Int, token: Int, position: Int, context: Int
    public init(slot: Int, token: Int, position: Int, context: Int) {
        self.slot = slot; self.token = token; self.position = position; self.context = context
    }
}

/// The model side of a search: run rows and return their logits (rows, vocab); copy cache slots.
public protocol StepModel: AnyObject {
    var vocabularySize: Int { get }
    func step(_ rows: [StepRow]) -> Tensor
    func copySlot(from: Int, to: Int, length: Int)
}

public enum Search {
    /// Number of cache slots that `requests` need: request i owns slots i·width ..< (i+1)·width.
    public static func slotsPerRequest(_ options: SearchOptions) -> Int {
        options.temperature > 0 ? max(1, options.bestOf) : max(1, options.beamSize)
    }

    /// Runs the search. Slot `i·width` of each request must already hold its prompt (positions
    /// 0..<startPosition); sibling slots are filled by copying when they are first needed.
    public static func run(_ requests: [SearchRequest], options: SearchOptions, model: StepModel) -> [[Hypothesis]] {
        if options.temperature <= 0 && options.beamSize > 1 {
            return beam(requests, options: options, model: model)
        }
        return greedyOrSample(requests, options: options, model: model)
    }

    // MARK: Greedy / sampling

    static func greedyOrSample(_ requests: [SearchRequest], options: SearchOptions, model: StepModel) -> [[Hypothesis]] {
        let width = slotsPerRequest(options), vocab = model.vocabularySize
        // One generator per sequence, seeded from its request, so a request samples the same
        // tokens whatever else shares the batch.
        struct Live { var request: Int; var member: Int; var tokens: [Int] = []; var logProb: Float = 0; var next: Int
                      var rng: SplitMix64 }
        var live: [Live] = []
        for (i, r) in requests.enumerated() {
            for m in 0..<width {
                if m > 0 { model.copySlot(from: i * width, to: i * width + m, length: r.startPosition) }
                let seed = (r.seed ?? options.seed &+ UInt64(i)) &* 0x9E37_79B9 &+ UInt64(m)
                live.append(Live(request: i, member: m, next: r.startToken, rng: SplitMix64(seed: seed)))
            }
        }
        var results = Array(repeating: [Hypothesis](), count: requests.count)
        let logProbs = UnsafeMutablePointer<Float>.allocate(capacity: vocab)
        defer { logProbs.deallocate() }
        var step = 0
        while !live.isEmpty {
            let rows = live.map { l in
                StepRow(slot: l.request * width + l.member, token: l.next,
                        position: requests[l.request].startPosition + step, context: requests[l.request].context)
            }
            let logits = model.step(rows)
            var stillLive: [Live] = []
            for (r, var l) in live.enumerated() {
                let request = requests[l.request]
                let row = logits.data + r * vocab
                for p in request.processors { p.process(step: step, generated: l.tokens, logits: row, vocabularySize: vocab) }
                let token: Int
                if step < request.prefix.count {
                    token = request.prefix[step]
                } else {
                    Kernels.logSoftmax(row, logProbs, count: vocab)
                    token = options.temperature > 0
                        ? sample(row, count: vocab, options: options, rng: &l.rng)
                        : argmax(logProbs, count: vocab)
                    l.logProb += logProbs[token]
                }
                let isEnd = isEndToken(token, request)
                if !isEnd { l.tokens.append(token) }
                if isEnd || step == request.maxSteps - 1 || (request.shouldStop?(l.tokens) ?? false) {
                    results[l.request].append(finish(l.tokens, l.logProb, options))
                } else {
                    l.next = token
                    stillLive.append(l)
                }
            }
            live = stillLive
            step += 1
        }
        return results.map { $0.sorted { $0.score > $1.score } }
    }

    // MARK: Beam search

    static func beam(_ requests: [SearchRequest], options: SearchOptions, model: StepModel) -> [[Hypothesis]] {
        let beamSize = options.beamSize, vocab = model.vocabularySize, candidates = 2 * beamSize
        let maxFinished = Int((Float(beamSize) * options.patience).rounded())
        struct Beam { var tokens: [Int]; var logProb: Float; var slot: Int }
        struct State { var beams: [Beam]; var finished: [Hypothesis] = []; var done = false }
        var states = requests.enumerated().map { i, _ in State(beams: [Beam(tokens: [], logProb: 0, slot: i * beamSize)]) }
        let logProbs = UnsafeMutablePointer<Float>.allocate(capacity: vocab)
        defer { logProbs.deallocate() }
        var step = 0
        while states.contains(where: { !$0.done }) {
            var rows: [StepRow] = [], owners: [(request: Int, beam: Int)] = []
            for (i, s) in states.enumerated() where !s.done {
                for (b, beam) in s.beams.enumerated() {
                    rows.append(StepRow(slot: beam.slot, token: beam.tokens.last ?? requests[i].startToken,
                                        position: requests[i].startPosition + step, context: requests[i].context))
                    owners.append((i, b))
                }
            }
            let logits = model.step(rows)
            // Candidates per request: (score, beam, token), best 2·beam over all its beams.
            var candidatesOf: [Int: [(score: Float, beam: Int, token: Int)]] = [:]
            for (r, owner) in owners.enumerated() {
                let request = requests[owner.request], beam = states[owner.request].beams[owner.beam]
                let row = logits.data + r * vocab
                for p in request.processors { p.process(step: step, generated: beam.tokens, logits: row, vocabularySize: vocab) }
                if step < request.prefix.count {
                    // A forced token: one beam, log-prob 0 (CTranslate2's update_sample_with_prefix).
                    candidatesOf[owner.request] = [(0, owner.beam, request.prefix[step])]
                    continue
                }
                Kernels.logSoftmax(row, logProbs, count: vocab)
                var top = candidatesOf[owner.request] ?? []
                topK(logProbs, count: vocab, k: candidates, offset: beam.logProb, beam: owner.beam, into: &top)
                candidatesOf[owner.request] = top
            }
            for (i, top) in candidatesOf {
                let request = requests[i]
                let lastStep = step == request.maxSteps - 1
                var state = states[i]
                let old = state.beams
                var next: [Beam] = []
                var spare = beamSize
                for k in 0..<min(beamSize, top.count) {
                    var pick = top[k]
                    // First free step after a prefix: an end token below the best candidate makes a
                    // dead beam (CTranslate2 penalizes </s> in secondary beams there, issue #277).
                    if k > 0 && step == request.prefix.count && !request.prefix.isEmpty && isEndToken(pick.token, request) {
                        continue
                    }
                    if isEndToken(pick.token, request) || lastStep {
                        var tokens = old[pick.beam].tokens
                        if !isEndToken(pick.token, request) { tokens.append(pick.token) }
                        state.finished.append(finish(tokens, pick.score, options))
                        // Replace the retired beam with the next spare candidate that does not end.
                        var replacement: (score: Float, beam: Int, token: Int)? = nil
                        while spare < top.count {
                            let c = top[spare]; spare += 1
                            if !isEndToken(c.token, request) { replacement = c; break }
                        }
                        guard let r = replacement else { continue }
                        pick = r
                    }
                    next.append(Beam(tokens: old[pick.beam].tokens + [pick.token], logProb: pick.score,
                                     slot: old[pick.beam].slot))   // parent's slot until reassigned below
                }
                if lastStep || state.finished.count >= maxFinished || next.isEmpty {
                    state.done = true
                    state.beams = []
                } else {
                    // The first child of a parent inherits its cache slot; further children take slots
                    // of beams that had no children (or unused ones) and copy the parent's cache there.
                    let owned = Set(i * beamSize ..< (i + 1) * beamSize)
                    let parentSlots = Set(next.map(\.slot))
                    var free = owned.subtracting(parentSlots).sorted()
                    var claimed = Set<Int>()
                    let length = request.startPosition + step + 1
                    for b in next.indices {
                        let parent = next[b].slot
                        if claimed.insert(parent).inserted { continue }
                        let target = free.removeFirst()
                        model.copySlot(from: parent, to: target, length: length)
                        next[b].slot = target
                    }
                    state.beams = next
                }
                states[i] = state
            }
            step += 1
        }
        return states.map { s in Array(s.finished.sorted { $0.score > $1.score }.prefix(maxFinished)) }
    }

    // MARK: Helpers

    static func isEndToken(_ token: Int, _ r: SearchRequest) -> Bool { token == r.endToken || r.otherEndTokens.contains(token) }

    static func finish(_ tokens: [Int], _ logProb: Float, _ options: SearchOptions) -> Hypothesis {
        let length = Float(tokens.count)
        let score = length > 0 ? logProb / Foundation.pow(length, options.lengthPenalty) : logProb
        return Hypothesis(tokens: tokens, score: score, cumulativeLogProb: logProb)
    }

    static func argmax(_ x: UnsafePointer<Float>, count: Int) -> Int {
        var best = 0
        for i in 1..<count where x[i] > x[best] { best = i }
        return best
    }

    /// Merges the k best (offset + x[i]) of this beam into `top`, kept sorted best first.
    static func topK(_ x: UnsafePointer<Float>, count: Int, k: Int, offset: Float, beam: Int,
                     into top: inout [(score: Float, beam: Int, token: Int)]) {
        for i in 0..<count where x[i] > -Float.infinity {
            let s = x[i] + offset
            if top.count == k, let last = top.last, s <= last.score { continue }
            var lo = 0, hi = top.count
            while lo < hi { let mid = (lo + hi) / 2; if top[mid].score >= s { lo = mid + 1 } else { hi = mid } }
            top.insert((s, beam, i), at: lo)
            if top.count > k { top.removeLast() }
        }
    }

    /// Draws from softmax(logits / T), restricted to the top-k tokens and the top-p nucleus.
    static func sample(_ logits: UnsafePointer<Float>, count: Int, options: SearchOptions, rng: inout SplitMix64) -> Int {
        let temperature = options.temperature
        var candidates = (0..<count).filter { logits[$0] > -Float.infinity }
        guard !candidates.isEmpty else { return argmax(logits, count: count) }
        if options.topK > 0 || options.topP < 1 {
            candidates.sort { logits[$0] > logits[$1] }
            if options.topK > 0 && candidates.count > options.topK { candidates.removeLast(candidates.count - options.topK) }
        }
        let maxValue = candidates.map { logits[$0] }.max()!
        var weights = candidates.map { Foundation.exp(Double((logits[$0] - maxValue) / temperature)) }
        if options.topP < 1 {
            let total = weights.reduce(0, +)
            var cumulative = 0.0, keep = weights.count
            for (i, w) in weights.enumerated() {
                cumulative += w / total
                if cumulative >= Double(options.topP) { keep = i + 1; break }
            }
            weights.removeLast(weights.count - keep)
            candidates.removeLast(candidates.count - keep)
        }
        var u = rng.nextUnit() * weights.reduce(0, +)
        for (i, w) in weights.enumerated() {
            u -= w
            if u <= 0 { return candidates[i] }
        }
        return candidates[candidates.count - 1]
    }
}

/// Small, seedable PRNG so sampled decodes are reproducible (the seed goes into provenance).
public struct SplitMix64 {
    var state: UInt64
    public init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    public mutating func nextUnit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}

/// CTranslate2's `repetition_penalty` (decoding_utils.cc RepetitionPenalty): every token already
/// generated has its logit divided by `penalty` when positive, multiplied when negative.
public struct RepetitionPenalty: LogitsProcessor {
    public let penalty: Float
    public init(_ penalty: Float) { self.penalty = penalty }
    public func process(step: Int, generated: [Int], logits: UnsafeMutablePointer<Float>, vocabularySize: Int) {
        for t in Set(generated) where t >= 0 && t < vocabularySize {
            logits[t] = logits[t] < 0 ? logits[t] * penalty : logits[t] / penalty
        }
    }
}

/// CTranslate2's `no_repeat_ngram_size` (decoding_utils.cc NoRepeatNgram): a token that would
/// complete an n-gram already present in the generated tokens is disabled.
public struct NoRepeatNgram: LogitsProcessor {
    public let size: Int
    public init(_ size: Int) { self.size = size }
    public func process(step: Int, generated: [Int], logits: UnsafeMutablePointer<Float>, vocabularySize: Int) {
        let n = size, count = generated.count
        guard n > 0, count >= n else { return }
        let suffix = generated[(count - n + 1)...]   // the n−1 latest tokens
        for start in 0...(count - n) where generated[start..<(start + n - 1)].elementsEqual(suffix) {
            let banned = generated[start + n - 1]
            if banned >= 0 && banned < vocabularySize { logits[banned] = -Float.infinity }
        }
    }
}
