import Foundation

/// A byte-level BPE tokenizer (GPT-2, Whisper, Llama 3, Qwen2 style).
///
/// Encoding cuts added tokens (`<|endoftext|>` …) out of the text verbatim, optionally NFC-normalizes
/// the rest, splits it into words with a ``PreTokenizer``, spells each word's UTF-8 bytes in the
/// byte-level alphabet and merges them by rank. Template tokens (a BOS, Whisper's task prefix) are
/// the caller's business: `encode` returns the text's ids only.
///
/// References: https://github.com/openai/gpt-2/blob/master/src/encoder.py,
/// https://github.com/huggingface/tokenizers/blob/main/tokenizers/src/models/bpe/model.rs
public final class BPETokenizer: Sendable {
    /// How ordinary text is split into words.
    public let preTokenizer: PreTokenizer
    /// Whether a space is put before text that does not start with one (per segment between added tokens).
    public let addsPrefixSpace: Bool
    /// Whether a word that is itself a vocabulary entry skips merging (Llama 3's `ignore_merges`).
    public let ignoresMerges: Bool
    /// Whether ordinary text is NFC-normalized first (Qwen2's `tokenizer.json` normalizer).
    public let normalizesToNFC: Bool

    private let tokens: [String]
    private let kinds: [TokenKind]
    private let idsByToken: [String: Int32]
    /// The bytes each id decodes to: `tokenByteStorage[tokenByteOffsets[id]..<tokenByteOffsets[id + 1]]`.
    private let tokenByteStorage: [UInt8]
    private let tokenByteOffsets: [Int]
    /// The id of each single-byte token, by byte value.
    private let byteTokenIds: [Int32]
    private let mergeTable: MergeTable
    private let addedTokenMatcher: AddedTokenMatcher
    private let wordCache = WordCache()

    /// Builds a tokenizer from a vocabulary in id order, such as GGUF's `tokenizer.ggml.tokens`,
    /// `tokenizer.ggml.token_type` and `tokenizer.ggml.merges`.
    ///
    /// - Parameters:
    ///   - tokens: every token, index = id; ordinary tokens in the byte-level alphabet, added
    ///     tokens (`.control`, `.userDefined`) as the plain text they match.
    ///   - kinds: each token's kind; nil means all `.normal`.
    ///   - merges: merge pairs, highest priority first.
    public convenience init(tokens: [String], kinds: [TokenKind]? = nil, merges: [(String, String)],
                            preTokenizer: PreTokenizer, addPrefixSpace: Bool = false,
                            ignoreMerges: Bool = false, normalizeToNFC: Bool = false) throws {
        try self.init(tokens: tokens, kinds: kinds, merges: merges, preTokenizer: preTokenizer,
                      addPrefixSpace: addPrefixSpace, ignoreMerges: ignoreMerges,
                      normalizeToNFC: normalizeToNFC, source: "token arrays")
    }

    /// As the pair form, with merges spelled `"left right"` (GGUF, older `tokenizer.json`).
    public convenience init(tokens: [String], kinds: [TokenKind]? = nil, merges: [String],
                            preTokenizer: PreTokenizer, addPrefixSpace: Bool = false,
                            ignoreMerges: Bool = false, normalizeToNFC: Bool = false) throws {
        let source = "token arrays"
        try self.init(tokens: tokens, kinds: kinds, merges: Self.mergePairs(merges, source: source),
                      preTokenizer: preTokenizer, addPrefixSpace: addPrefixSpace,
                      ignoreMerges: ignoreMerges, normalizeToNFC: normalizeToNFC, source: source)
    }

    init(tokens: [String], kinds: [TokenKind]?, merges: [(String, String)], preTokenizer: PreTokenizer,
         addPrefixSpace: Bool, ignoreMerges: Bool, normalizeToNFC: Bool, source: String) throws {
        func failure(_ reason: String) -> TokenizerError { TokenizerError(source: source, reason: reason) }

        guard !tokens.isEmpty else { throw failure("the vocabulary is empty") }
        guard tokens.count < Int(Int32.max) else { throw failure("the vocabulary has too many tokens") }
        let kinds = kinds ?? Array(repeating: .normal, count: tokens.count)
        guard kinds.count == tokens.count else {
            throw failure("\(tokens.count) tokens but \(kinds.count) token kinds")
        }

        var idsByToken: [String: Int32] = [:]
        idsByToken.reserveCapacity(tokens.count)
        for (id, token) in tokens.enumerated() where idsByToken[token] == nil {
            idsByToken[token] = Int32(id)  // a repeated spelling resolves to its lowest id
        }

        // Every printable ASCII byte needs a token; another byte without one (some GGUF
        // vocabularies drop rare control bytes) gets −1 and is skipped when encoding, as llama.cpp does.
        var byteTokenIds: [Int32] = []
        for byte in 0...255 {
            let spelling = String(ByteLevel.scalarForByte[byte])
            guard let id = idsByToken[spelling] else {
                if (0x20...0x7E).contains(byte) {
                    throw failure("no token for byte 0x\(String(byte, radix: 16)) (\"\(spelling)\"): not a byte-level BPE vocabulary")
                }
                byteTokenIds.append(-1)
                continue
            }
            byteTokenIds.append(id)
        }

        var mergeTable = MergeTable()
        for (rank, (left, right)) in merges.enumerated() {
            guard let leftId = idsByToken[left], let rightId = idsByToken[right] else {
                throw failure("merge \(rank) (\"\(left)\" \"\(right)\") uses a token missing from the vocabulary")
            }
            guard let mergedId = idsByToken[left + right] else {
                throw failure("merge \(rank) (\"\(left)\" \"\(right)\") makes \"\(left + right)\", which is missing from the vocabulary")
            }
            mergeTable.append(left: leftId, right: rightId, merged: mergedId)
        }

        var storage: [UInt8] = []
        var offsets = [0]
        offsets.reserveCapacity(tokens.count + 1)
        for (token, kind) in zip(tokens, kinds) {
            // Like Hugging Face's ByteLevel decoder, a token outside the byte alphabet decodes as its own UTF-8.
            storage += kind.isAdded ? Array(token.utf8) : ByteLevel.decode(token) ?? Array(token.utf8)
            offsets.append(storage.count)
        }

        self.preTokenizer = preTokenizer
        self.addsPrefixSpace = addPrefixSpace
        self.ignoresMerges = ignoreMerges
        self.normalizesToNFC = normalizeToNFC
        self.tokens = tokens
        self.kinds = kinds
        self.idsByToken = idsByToken
        self.tokenByteStorage = storage
        self.tokenByteOffsets = offsets
        self.byteTokenIds = byteTokenIds
        self.mergeTable = mergeTable
        self.addedTokenMatcher = AddedTokenMatcher(tokens: tokens, kinds: kinds)
    }

    static func mergePairs(_ merges: [String], source: String) throws -> [(String, String)] {
        try merges.enumerated().map { rank, merge in
            let parts = merge.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw TokenizerError(source: source, reason: "merge \(rank) (\"\(merge)\") is not two tokens separated by one space")
            }
            return (String(parts[0]), String(parts[1]))
        }
    }

    // MARK: Lookup

    /// Number of ids, added tokens included.
    public var vocabularySize: Int { tokens.count }

    /// The id of a token as spelled in the vocabulary (`"Ġthe"`, `"<|startoftranscript|>"`).
    public func id(of token: String) -> Int? {
        idsByToken[token].map(Int.init)
    }

    /// The vocabulary spelling of an id, or nil outside the vocabulary.
    public func token(_ id: Int) -> String? {
        tokens.indices.contains(id) ? tokens[id] : nil
    }

    /// The kind of an id, or nil outside the vocabulary.
    public func kind(of id: Int) -> TokenKind? {
        kinds.indices.contains(id) ? kinds[id] : nil
    }

    /// Whether an id is a special (control) token, which `decode(_:skipSpecial: true)` drops.
    public func isSpecial(_ id: Int) -> Bool {
        kind(of: id) == .control
    }

    /// The raw bytes an id decodes to; empty outside the vocabulary.
    public func tokenBytes(_ id: Int) -> [UInt8] {
        tokens.indices.contains(id) ? Array(tokenByteStorage[tokenByteOffsets[id]..<tokenByteOffsets[id + 1]]) : []
    }

    // MARK: Encoding

    /// The ids of `text`. With `recognizeSpecialTokens` false, special-token text such as
    /// `"<|endoftext|>"` is encoded as ordinary characters (non-special added tokens still match).
    public func encode(_ text: String, recognizeSpecialTokens: Bool = true) -> [Int] {
        let bytes = Array(text.utf8)
        var ids: [Int] = []
        ids.reserveCapacity(bytes.count / 3)
        var segmentStart = 0
        for match in addedTokenMatcher.matches(in: bytes, includingSpecial: recognizeSpecialTokens) {
            appendOrdinaryText(bytes[segmentStart..<match.range.lowerBound], to: &ids)
            ids.append(Int(match.id))
            segmentStart = match.range.upperBound
        }
        appendOrdinaryText(bytes[segmentStart...], to: &ids)
        return ids
    }

    private func appendOrdinaryText(_ segment: ArraySlice<UInt8>, to ids: inout [Int]) {
        guard !segment.isEmpty else { return }
        var text = segment
        if normalizesToNFC {
            text = Array(String(decoding: segment, as: UTF8.self).precomposedStringWithCanonicalMapping.utf8)[...]
        }
        if addsPrefixSpace, text.first != UInt8(ascii: " ") {
            text = ([UInt8(ascii: " ")] + text)[...]
        }
        for range in preTokenizer.wordRanges(in: text) {
            appendWord(text[range], to: &ids)
        }
    }

    private func appendWord(_ word: ArraySlice<UInt8>, to ids: inout [Int]) {
        if word.count == 1 {
            let id = byteTokenIds[Int(word[word.startIndex])]
            if id >= 0 { ids.append(Int(id)) }
            return
        }
        let key = Array(word)
        let wordIds: [Int32]
        if let cached = wordCache.ids(for: key) {
            wordIds = cached
        } else {
            wordIds = mergedIds(of: key)
            wordCache.store(wordIds, for: key)
        }
        for id in wordIds { ids.append(Int(id)) }
    }

    private func mergedIds(of word: [UInt8]) -> [Int32] {
        if ignoresMerges, let id = idsByToken[ByteLevel.encode(word)], !kinds[Int(id)].isAdded {
            return [id]
        }
        let symbols = word.map { byteTokenIds[Int($0)] }.filter { $0 >= 0 }
        return symbols.count > 1 ? mergeTable.apply(to: symbols) : symbols
    }

    // MARK: Decoding

    /// The text of `ids`; ids outside the vocabulary are ignored, invalid UTF-8 becomes U+FFFD.
    public func decode(_ ids: [Int], skipSpecial: Bool = false) -> String {
        var bytes: [UInt8] = []
        for id in ids { appendBytes(of: id, skipSpecial: skipSpecial, to: &bytes) }
        return String(decoding: bytes, as: UTF8.self)
    }

    func appendBytes(of id: Int, skipSpecial: Bool, to bytes: inout [UInt8]) {
        guard tokens.indices.contains(id), !(skipSpecial && kinds[id] == .control) else { return }
        bytes += tokenByteStorage[tokenByteOffsets[id]..<tokenByteOffsets[id + 1]]
    }
}

/// Finds added tokens in text: at the leftmost position where any matches, the longest wins
/// (the leftmost-longest rule of Hugging Face's `AddedVocabulary`).
private struct AddedTokenMatcher: Sendable {
    private struct Candidate: Sendable {
        var bytes: [UInt8]
        var id: Int32
        var isSpecial: Bool
    }

    /// Candidates by their first byte, longest first.
    private let candidatesByFirstByte: [[Candidate]]

    init(tokens: [String], kinds: [TokenKind]) {
        var candidates = [[Candidate]](repeating: [], count: 256)
        for (id, (token, kind)) in zip(tokens, kinds).enumerated() where kind.isAdded && !token.isEmpty {
            let bytes = Array(token.utf8)
            candidates[Int(bytes[0])].append(Candidate(bytes: bytes, id: Int32(id), isSpecial: kind == .control))
        }
        candidatesByFirstByte = candidates.map { $0.sorted { $0.bytes.count > $1.bytes.count } }
    }

    func matches(in text: [UInt8], includingSpecial: Bool) -> [(range: Range<Int>, id: Int32)] {
        var found: [(range: Range<Int>, id: Int32)] = []
        var position = 0
        scan: while position < text.count {
            for candidate in candidatesByFirstByte[Int(text[position])]
            where includingSpecial || !candidate.isSpecial {
                let end = position + candidate.bytes.count
                if end <= text.count, text[position..<end].elementsEqual(candidate.bytes) {
                    found.append((position..<end, candidate.id))
                    position = end
                    continue scan
                }
            }
            position += 1
        }
        return found
    }
}

/// Merge results of recent words, shared by all callers of one tokenizer.
private final class WordCache: @unchecked Sendable {
    private static let capacity = 65_536
    private let lock = NSLock()
    private var idsByWord: [[UInt8]: [Int32]] = [:]  // guarded by `lock`

    func ids(for word: [UInt8]) -> [Int32]? {
        lock.lock()
        defer { lock.unlock() }
        return idsByWord[word]
    }

    func store(_ ids: [Int32], for word: [UInt8]) {
        lock.lock()
        defer { lock.unlock() }
        if idsByWord.count >= Self.capacity { idsByWord.removeAll(keepingCapacity: true) }
        idsByWord[word] = ids
    }
}
