// Constrained decoding: at each step every token whose bytes cannot continue a conforming JSON
// document is masked to -inf (greedy and sampling both choose from what is left), and the end
// token is allowed only once the document is complete — then it is forced.
//
// Cost: a token mask is computed once per grammar state and cached. Computing one walks the
// vocabulary in byte-sorted order, so tokens sharing a prefix share the automaton steps over it
// and a prefix that fails rules out every token under it (a trie walk without the trie).

import Foundation

/// The vocabulary as bytes, sorted for prefix sharing; built once per tokenizer.
public final class TokenVocabulary: @unchecked Sendable {
    public let count: Int
    /// Each token's bytes; empty for tokens that never appear in generated text (control tokens).
    public let bytes: [[UInt8]]
    /// Token ids in lexicographic byte order (empty tokens left out), and for each the length of
    /// the prefix it shares with the previous one.
    let sorted: [Int32]
    let sharedPrefix: [Int32]
    let longest: Int
    /// Code points of a token that is plain string content (whole UTF-8 characters, no `"`, `\`
    /// or control bytes), else -1: inside a string such a token only needs room for its length.
    let plainCharacters: [Int32]
    /// The other non-empty tokens, which a string state must walk byte by byte.
    let otherTokens: [Int32]

    public init(bytes: [[UInt8]]) {
        count = bytes.count
        self.bytes = bytes
        let ids = bytes.indices.filter { !bytes[$0].isEmpty }.sorted { bytes[$0].lexicographicallyPrecedes(bytes[$1]) }
        sorted = ids.map(Int32.init)
        var shared = [Int32](repeating: 0, count: ids.count)
        for i in ids.indices.dropFirst() {
            let a = bytes[ids[i - 1]], b = bytes[ids[i]]
            var n = 0
            while n < a.count && n < b.count && a[n] == b[n] { n += 1 }
            shared[i] = Int32(n)
        }
        sharedPrefix = shared
        longest = bytes.map(\.count).max() ?? 0
        plainCharacters = bytes.map { b in
            guard !b.isEmpty, !b.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }),
                  let text = String(validating: b, as: UTF8.self) else { return -1 }
            return Int32(text.unicodeScalars.count)
        }
        otherTokens = ids.filter { [plainCharacters] in plainCharacters[$0] < 0 }.map(Int32.init)
    }
}

/// The tokens allowed in one grammar state.
public struct TokenMask: Sendable {
    /// Bit t set: token t keeps the document conforming.
    public var bits: [UInt64]
    public var allowedCount: Int
    /// The document is complete: the end token may (or, with no allowed token, must) come now.
    public var accepting: Bool

    public func allows(_ token: Int) -> Bool { token >= 0 && token / 64 < bits.count && bits[token / 64] >> UInt64(token % 64) & 1 == 1 }
}

/// A schema's grammar over one vocabulary, with its cache of masks (shared by every sequence
/// decoded with this schema; not thread-safe — one generation at a time).
public final class SchemaConstraint: @unchecked Sendable {
    public let grammar: JSONGrammar
    public let vocabulary: TokenVocabulary
    private var masks: [GrammarState: TokenMask] = [:]
    /// Statistics: masks computed, the seconds spent computing them, and the seconds spent
    /// otherwise in the processor (following the sequence's state, looking the mask up, applying it).
    public private(set) var masksComputed = 0
    public private(set) var maskSeconds = 0.0
    public private(set) var applySeconds = 0.0

    public init(grammar: JSONGrammar, vocabulary: TokenVocabulary) {
        self.grammar = grammar
        self.vocabulary = vocabulary
    }

    /// The tokens allowed after the bytes that led to `state` (cached).
    public func mask(_ state: GrammarState) -> TokenMask {
        if let m = masks[state] { return m }
        let began = Date()
        var bits = [UInt64](repeating: 0, count: (vocabulary.count + 63) / 64)
        var allowed = 0
        func allow(_ id: Int) { bits[id / 64] |= 1 << UInt64(id % 64); allowed += 1 }
        if let room = grammar.plainStringRoom(state) {
            // Inside a string: plain tokens by their length alone, the rest walked.
            for (id, n) in vocabulary.plainCharacters.enumerated() where n >= 0 && Int(n) <= room { allow(id) }
            for id in vocabulary.otherTokens {
                var s = state
                if vocabulary.bytes[Int(id)].allSatisfy({ grammar.advance(&s, $0) }) { allow(Int(id)) }
            }
            return store(state, TokenMask(bits: bits, allowedCount: allowed, accepting: false), since: began)
        }
        // states[d]: the automaton after the first d bytes of the current token.
        var states = [GrammarState](repeating: state, count: vocabulary.longest + 1)
        var valid = 0                 // states[0...valid] hold the current token's prefix
        var deadLength = Int.max      // the current token's first deadLength bytes cannot be fed
        for (i, id) in vocabulary.sorted.enumerated() {
            let shared = Int(vocabulary.sharedPrefix[i])
            if deadLength <= shared { continue }   // the prefix that failed is this token's too
            let bytes = vocabulary.bytes[Int(id)]
            var d = min(valid, shared)
            deadLength = Int.max
            while d < bytes.count {
                var s = states[d]
                guard grammar.advance(&s, bytes[d]) else { deadLength = d + 1; break }
                states[d + 1] = s
                d += 1
            }
            valid = d
            if deadLength == Int.max { allow(Int(id)) }
        }
        return store(state, TokenMask(bits: bits, allowedCount: allowed, accepting: grammar.isAccepting(state)), since: began)
    }

    private func store(_ state: GrammarState, _ mask: TokenMask, since began: Date) -> TokenMask {
        masks[state] = mask
        masksComputed += 1
        maskSeconds += Date().timeIntervalSince(began)
        return mask
    }

    /// Cached masks (for measurements).
    public var cachedStates: Int { masks.count }

    /// A fresh per-sequence processor for `Search` (one per request).
    public func processor(endToken: Int, endTokens: Set<Int>) -> SchemaProcessor {
        SchemaProcessor(constraint: self, endToken: endToken, endTokens: endTokens)
    }

    fileprivate func recordApply(_ seconds: Double) { applySeconds += seconds }
}

/// Tracks one sequence's grammar state from the tokens it has generated and masks its logits.
public final class SchemaProcessor: LogitsProcessor {
    let constraint: SchemaConstraint
    let endToken: Int
    let endTokens: Set<Int>
    private var consumed: [Int] = []
    private var state: GrammarState?

    init(constraint: SchemaConstraint, endToken: Int, endTokens: Set<Int>) {
        self.constraint = constraint; self.endToken = endToken; self.endTokens = endTokens
        state = constraint.grammar.initial
    }

    /// Feeds the tokens of `generated` not seen yet (from scratch when it is not an extension).
    private func sync(_ generated: [Int]) {
        if !generated.starts(with: consumed) { consumed = []; state = constraint.grammar.initial }
        for token in generated[consumed.count...] {
            guard var s = state else { break }
            let bytes = token < constraint.vocabulary.count ? constraint.vocabulary.bytes[token] : []
            if bytes.isEmpty && !endTokens.contains(token) { state = nil; break }
            for b in bytes where !constraint.grammar.advance(&s, b) { state = nil; break }
            if state != nil { state = s }
        }
        consumed = generated
    }

    public func process(step: Int, generated: [Int], logits: UnsafeMutablePointer<Float>, vocabularySize: Int) {
        let began = Date(), computing = constraint.maskSeconds
        defer { constraint.recordApply(Date().timeIntervalSince(began) - (constraint.maskSeconds - computing)) }
        sync(generated)
        guard let state else {
            // Off the grammar (a token forced from outside): end here.
            for t in 0..<vocabularySize where t != endToken { logits[t] = -.infinity }
            return
        }
        let mask = constraint.mask(state)
        let hasEnd = endToken >= 0 && endToken < vocabularySize
        let endLogit = hasEnd ? logits[endToken] : 0
        mask.bits.withUnsafeBufferPointer { bits in
            for w in 0..<min(bits.count, (vocabularySize + 63) / 64) {
                let word = bits[w]
                if word == ~0 { continue }
                for bit in 0..<64 where word >> UInt64(bit) & 1 == 0 {
                    let t = w * 64 + bit
                    if t < vocabularySize { logits[t] = -.infinity }
                }
            }
        }
        for t in min(vocabularySize, mask.bits.count * 64)..<vocabularySize { logits[t] = -.infinity }
        // The end token: allowed once the document is complete, forced when nothing else may come
        // (or when the automaton is stuck, so generation stops rather than loops).
        if hasEnd && (mask.accepting || mask.allowedCount == 0) { logits[endToken] = mask.allowedCount == 0 ? 0 : endLogit }
    }
}
