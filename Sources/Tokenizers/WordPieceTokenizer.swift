import Foundation

/// BERT's WordPiece tokenizer, as Hugging Face `tokenizers` runs a `tokenizer.json` with a
/// `BertNormalizer`, a `BertPreTokenizer` and a `WordPiece` model (all-MiniLM-L6-v2, BERT uncased).
///
///     text ─► added tokens cut out verbatim ([CLS], [MASK] …)
///          ─► normalize: drop NUL / U+FFFD / control (Cc Cf Cn Co Cs except \t \n \r), whitespace → ' ',
///             spaces around CJK ideographs, NFD + drop nonspacing marks (accents), lowercase per scalar
///          ─► pre-tokenize: split on whitespace (dropped) and around each punctuation scalar
///             (ASCII punctuation or Unicode P*)
///          ─► WordPiece: greedy longest match, continuations prefixed `##`; a word longer than
///             `maxInputCharsPerWord` scalars or with an unmatched piece becomes [UNK]
///          ─► [CLS] ids [SEP], truncated to `maxLength` ids in all
///
/// Everything works on Unicode scalars (Rust `char`s), never on Swift's grapheme clusters, and the
/// vocabulary is keyed by UTF-8 bytes (Swift `String` equality is canonical equivalence).
/// References: tokenizers/src/normalizers/bert.rs, pre_tokenizers/bert.rs, models/wordpiece/mod.rs;
/// google-research/bert tokenization.py (BasicTokenizer, WordpieceTokenizer).
public final class WordPieceTokenizer: Sendable {
    public let lowercases: Bool
    public let stripsAccents: Bool
    public let cleansText: Bool
    public let splitsChineseCharacters: Bool
    public let continuingPrefix: String
    public let maxInputCharsPerWord: Int
    public let unknownId: Int
    public let classifierId: Int
    public let separatorId: Int
    public let paddingId: Int

    private let tokens: [String]
    private let idsByBytes: [[UInt8]: Int]
    /// Added tokens matched verbatim before normalization, longest first: (scalars, id).
    private let addedTokens: [([Unicode.Scalar], Int)]

    public init(tokens: [String], addedTokens: [String] = [], unknownToken: String = "[UNK]",
                classifierToken: String = "[CLS]", separatorToken: String = "[SEP]", paddingToken: String = "[PAD]",
                continuingPrefix: String = "##", maxInputCharsPerWord: Int = 100, lowercase: Bool = true,
                stripAccents: Bool? = nil, cleanText: Bool = true, splitChineseCharacters: Bool = true,
                source: String = "token list") throws {
        func failure(_ reason: String) -> TokenizerError { TokenizerError(source: source, reason: reason) }
        guard !tokens.isEmpty else { throw failure("the vocabulary is empty") }
        var ids: [[UInt8]: Int] = [:]
        for (id, token) in tokens.enumerated() where ids[Array(token.utf8)] == nil { ids[Array(token.utf8)] = id }
        func id(_ token: String, _ role: String) throws -> Int {
            guard let id = ids[Array(token.utf8)] else { throw failure("the \(role) token \"\(token)\" is not in the vocabulary") }
            return id
        }
        guard maxInputCharsPerWord > 0 else { throw failure("max_input_chars_per_word must be positive") }
        self.tokens = tokens
        idsByBytes = ids
        unknownId = try id(unknownToken, "unknown")
        classifierId = try id(classifierToken, "classifier")
        separatorId = try id(separatorToken, "separator")
        paddingId = try id(paddingToken, "padding")
        self.addedTokens = try addedTokens.filter { !$0.isEmpty }
            .map { (Array($0.unicodeScalars), try id($0, "added")) }
            .sorted { $0.0.count > $1.0.count }
        self.continuingPrefix = continuingPrefix
        self.maxInputCharsPerWord = maxInputCharsPerWord
        lowercases = lowercase
        stripsAccents = stripAccents ?? lowercase   // tokenizers: strip_accents null follows lowercase
        cleansText = cleanText
        splitsChineseCharacters = splitChineseCharacters
    }

    public var vocabularySize: Int { tokens.count }
    public func token(_ id: Int) -> String? { tokens.indices.contains(id) ? tokens[id] : nil }
    public func id(of token: String) -> Int? { idsByBytes[Array(token.utf8)] }

    /// [CLS] + the text's ids + [SEP], at most `maxLength` ids (the text's ids cut at the end first,
    /// as `truncation=longest_first` does for one sequence).
    public func encodeForModel(_ text: String, maxLength: Int) -> [Int] {
        precondition(maxLength >= 2, "room for [CLS] and [SEP]")
        return [classifierId] + encode(text).prefix(maxLength - 2) + [separatorId]
    }

    /// The text's ids, without [CLS] / [SEP].
    public func encode(_ text: String) -> [Int] {
        var ids: [Int] = []
        for piece in splitOnAddedTokens(Array(text.unicodeScalars)) {
            switch piece {
            case .added(let id): ids.append(id)
            case .text(let scalars):
                for word in preTokenize(normalize(scalars)) { wordPiece(word, into: &ids) }
            }
        }
        return ids
    }

    /// The words of the text after normalization and pre-tokenization (for tests and debugging).
    public func words(_ text: String) -> [String] {
        preTokenize(normalize(Array(text.unicodeScalars))).map { String(String.UnicodeScalarView($0)) }
    }

    // MARK: Steps

    private enum Piece { case text([Unicode.Scalar]), added(Int) }

    /// Leftmost, longest added-token matches cut out of the raw text.
    private func splitOnAddedTokens(_ s: [Unicode.Scalar]) -> [Piece] {
        guard !addedTokens.isEmpty else { return [.text(s)] }
        var pieces: [Piece] = []
        var start = 0, i = 0
        while i < s.count {
            if let (match, id) = addedTokens.first(where: { i + $0.0.count <= s.count && s[i..<(i + $0.0.count)].elementsEqual($0.0) }) {
                if start < i { pieces.append(.text(Array(s[start..<i]))) }
                pieces.append(.added(id))
                i += match.count
                start = i
            } else {
                i += 1
            }
        }
        if start < s.count { pieces.append(.text(Array(s[start...]))) }
        return pieces
    }

    func normalize(_ input: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var s: [Unicode.Scalar] = []
        s.reserveCapacity(input.count)
        for c in input {
            if cleansText {
                if c.value == 0 || c.value == 0xFFFD || Self.isControl(c) { continue }
                if Self.isWhitespace(c) { s.append(" "); continue }
            }
            if splitsChineseCharacters, Self.isChineseCharacter(c) { s += [" ", c, " "]; continue }
            s.append(c)
        }
        if stripsAccents {
            let decomposed = String(String.UnicodeScalarView(s)).decomposedStringWithCanonicalMapping.unicodeScalars
            s = decomposed.filter { $0.properties.generalCategory != .nonspacingMark }
        }
        if lowercases {
            s = s.flatMap { c -> [Unicode.Scalar] in c.isASCII ? [Unicode.Scalar(UInt8(ascii: c).lowercasedASCII)] : Array(c.properties.lowercaseMapping.unicodeScalars) }
        }
        return s
    }

    /// Words split on whitespace (dropped) and around every punctuation scalar (kept alone).
    func preTokenize(_ s: [Unicode.Scalar]) -> [[Unicode.Scalar]] {
        var words: [[Unicode.Scalar]] = []
        var current: [Unicode.Scalar] = []
        for c in s {
            if c.properties.isWhitespace {
                if !current.isEmpty { words.append(current); current = [] }
            } else if Self.isPunctuation(c) {
                if !current.isEmpty { words.append(current); current = [] }
                words.append([c])
            } else {
                current.append(c)
            }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    /// Greedy longest-match-first pieces of one word; any unmatched remainder makes the whole word [UNK].
    private func wordPiece(_ word: [Unicode.Scalar], into ids: inout [Int]) {
        guard word.count <= maxInputCharsPerWord else { ids.append(unknownId); return }
        let prefix = Array(continuingPrefix.utf8)
        var bytes: [UInt8] = [], offsets = [0]   // word's UTF-8; offsets[i] = byte where scalar i starts
        for c in word { bytes += Array(String(c).utf8); offsets.append(bytes.count) }
        var pieces: [Int] = []
        var start = 0
        while start < word.count {
            var end = word.count
            var found: Int?
            while end > start {
                let key = (start > 0 ? prefix : []) + bytes[offsets[start]..<offsets[end]]
                if let id = idsByBytes[key] { found = id; break }
                end -= 1
            }
            guard let id = found else { ids.append(unknownId); return }
            pieces.append(id)
            start = end
        }
        ids += pieces
    }

    // MARK: Character classes (tokenizers' bert.rs definitions)

    /// Cc, Cf, Cn, Co, Cs — except tab, newline and carriage return, which count as whitespace.
    static func isControl(_ c: Unicode.Scalar) -> Bool {
        if c == "\t" || c == "\n" || c == "\r" { return false }
        switch c.properties.generalCategory {
        case .control, .format, .unassigned, .privateUse, .surrogate: return true
        default: return false
        }
    }

    static func isWhitespace(_ c: Unicode.Scalar) -> Bool {
        c == "\t" || c == "\n" || c == "\r" || c.properties.isWhitespace
    }

    /// ASCII punctuation (`!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~`, which includes symbols) or Unicode P*.
    static func isPunctuation(_ c: Unicode.Scalar) -> Bool {
        if c.isASCII {
            let v = c.value
            return (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v)
        }
        switch c.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation: return true
        default: return false
        }
    }

    /// The CJK Unified Ideographs blocks BERT pads with spaces (as tokenizers lists them).
    static func isChineseCharacter(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F,
             0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F: return true
        default: return false
        }
    }
}

private extension UInt8 {
    var lowercasedASCII: UInt8 { (65...90).contains(self) ? self + 32 : self }
}

extension WordPieceTokenizer {
    /// Loads a Hugging Face `tokenizer.json` whose model is `WordPiece` (normalizer `BertNormalizer`,
    /// pre-tokenizer `BertPreTokenizer`, or none). `truncation`, `padding` and `post_processor` are
    /// the caller's (the model's [CLS] … [SEP] template); anything else is a ``TokenizerError``.
    public convenience init(contentsOf url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw TokenizerError(source: url.path, reason: "cannot read the file (\(error.localizedDescription))")
        }
        try self.init(tokenizerJSON: data, source: url.path)
    }

    public convenience init(tokenizerJSON data: Data, source: String = "tokenizer.json") throws {
        func failure(_ reason: String) -> TokenizerError { TokenizerError(source: source, reason: reason) }
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw failure("not a JSON object")
        }
        guard let model = root["model"] as? [String: Any], model["type"] as? String == "WordPiece" else {
            throw failure("model type \((root["model"] as? [String: Any])?["type"] as? String ?? "missing") is not WordPiece")
        }
        guard let vocab = model["vocab"] as? [String: Any], !vocab.isEmpty else { throw failure("model.vocab is missing or empty") }
        var byId: [Int: String] = [:]
        for (token, value) in vocab {
            guard let id = value as? Int, id >= 0, id < 4 * vocab.count + 1024 else {
                throw failure("model.vocab[\"\(token)\"] is not a plausible non-negative id")
            }
            if let other = byId.updateValue(token, forKey: id) { throw failure("model.vocab gives id \(id) to \"\(other)\" and \"\(token)\"") }
        }
        var added: [String] = []
        for (index, entry) in ((root["added_tokens"] as? [[String: Any]]) ?? []).enumerated() {
            guard let id = entry["id"] as? Int, let content = entry["content"] as? String, id >= 0 else {
                throw failure("added_tokens[\(index)] lacks an id or content")
            }
            guard byId[id] == nil || byId[id] == content else { throw failure("added token \"\(content)\" has id \(id) of \"\(byId[id]!)\"") }
            guard id < 4 * vocab.count + 1024 else { throw failure("added token \"\(content)\" has an implausible id \(id)") }
            for flag in ["lstrip", "rstrip", "single_word"] where entry[flag] as? Bool == true {
                throw failure("added token \"\(content)\" sets \(flag), which is not supported")
            }
            guard entry["normalized"] as? Bool != true else { throw failure("added token \"\(content)\" is normalized, which is not supported") }
            byId[id] = content
            added.append(content)
        }
        let size = (byId.keys.max() ?? 0) + 1
        if let gap = (0..<size).first(where: { byId[$0] == nil }) { throw failure("no token has id \(gap)") }
        let tokens = (0..<size).map { byId[$0]! }

        var lowercase = true, stripAccents: Bool? = nil, cleanText = true, chinese = true
        if let normalizer = root["normalizer"] as? [String: Any] {
            guard normalizer["type"] as? String == "BertNormalizer" else {
                throw failure("normalizer \(normalizer["type"] as? String ?? "?") is not supported (only BertNormalizer)")
            }
            lowercase = normalizer["lowercase"] as? Bool ?? true
            stripAccents = normalizer["strip_accents"] as? Bool
            cleanText = normalizer["clean_text"] as? Bool ?? true
            chinese = normalizer["handle_chinese_chars"] as? Bool ?? true
        } else if !(root["normalizer"] is NSNull || root["normalizer"] == nil) {
            throw failure("normalizer is not an object")
        } else {
            lowercase = false; cleanText = false; chinese = false
        }
        if let pre = root["pre_tokenizer"] as? [String: Any], pre["type"] as? String != "BertPreTokenizer" {
            throw failure("pre_tokenizer \(pre["type"] as? String ?? "?") is not supported (only BertPreTokenizer)")
        }
        let maxChars = model["max_input_chars_per_word"] as? Int ?? 100
        try self.init(tokens: tokens, addedTokens: added, unknownToken: model["unk_token"] as? String ?? "[UNK]",
                      continuingPrefix: model["continuing_subword_prefix"] as? String ?? "##", maxInputCharsPerWord: maxChars,
                      lowercase: lowercase, stripAccents: stripAccents, cleanText: cleanText, splitChineseCharacters: chinese,
                      source: source)
    }
}
