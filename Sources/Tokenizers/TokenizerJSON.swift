import Foundation

extension BPETokenizer {
    /// Loads a Hugging Face `tokenizer.json` with a byte-level BPE model.
    ///
    /// Understood: `model` (BPE: `vocab`, `merges` as `"a b"` strings or `["a", "b"]` pairs,
    /// `ignore_merges`), `added_tokens`, a null or NFC `normalizer`, a `ByteLevel` pre-tokenizer alone,
    /// after a `Split` with one of the ``PreTokenizer/patterns`` or after `Digits(individual_digits)`,
    /// and a null or `ByteLevel` decoder. `post_processor` and `truncation`/`padding` are ignored. Anything else is a ``TokenizerError``.
    /// Format: https://github.com/huggingface/tokenizers/blob/main/tokenizers/src/tokenizer/serialization.rs
    public convenience init(contentsOf url: URL) throws {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw TokenizerError(source: url.path, reason: "cannot read the file (\(error.localizedDescription))")
        }
        try self.init(tokenizerJSON: data, source: url.path)
    }

    /// Loads `tokenizer.json` content; `source` names it in errors.
    public convenience init(tokenizerJSON data: Data, source: String = "tokenizer.json") throws {
        let description = try TokenizerDescription(json: data, source: source)
        try self.init(tokens: description.tokens, kinds: description.kinds, merges: description.merges,
                      preTokenizer: description.preTokenizer, addPrefixSpace: description.addsPrefixSpace,
                      ignoreMerges: description.ignoresMerges, normalizeToNFC: description.normalizesToNFC,
                      source: source)
    }
}

/// The parts of a `tokenizer.json` a ``BPETokenizer`` needs, in id order.
private struct TokenizerDescription {
    var tokens: [String] = []
    var kinds: [TokenKind] = []
    var merges: [(String, String)] = []
    var preTokenizer = PreTokenizer.gpt2
    var addsPrefixSpace = false
    var ignoresMerges = false
    var normalizesToNFC = false

    private let source: String
    /// Ids given a token so far, to find gaps.
    private var assignedIds: Set<Int> = []
    /// Entries in the file (vocab + added tokens). Ids are dense, so any id ≥ entries leaves a gap
    /// (reported as such); ids far beyond (≥ 2·entries + 1024, e.g. 10^15) are refused before any
    /// array is sized by them.
    private var entries = 0
    private var idLimit: Int { 2 * entries + 1024 }

    init(json data: Data, source: String) throws {
        self.source = source
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw failure("not valid JSON (\(error.localizedDescription))")
        }
        guard let root = parsed as? [String: Any] else { throw failure("the top level is not a JSON object") }
        guard let model = root["model"] as? [String: Any] else { throw failure("no \"model\" object") }
        entries = ((model["vocab"] as? [String: Any])?.count ?? 0) + ((root["added_tokens"] as? [Any])?.count ?? 0)
        try readModel(model)
        try readAddedTokens(root["added_tokens"])
        try readNormalizer(root["normalizer"])
        try readPreTokenizer(root["pre_tokenizer"])
        try readDecoder(root["decoder"])
        if let missing = (0..<tokens.count).first(where: { !assignedIds.contains($0) }) {
            throw failure("no token in model.vocab or added_tokens has id \(missing)")
        }
    }

    private func failure(_ reason: String) -> TokenizerError {
        TokenizerError(source: source, reason: reason)
    }

    private mutating func readModel(_ model: [String: Any]) throws {
        let type = model["type"] as? String
        guard type == "BPE" else {
            throw failure("model type \(type.map { "\"\($0)\"" } ?? "missing") is not supported; only BPE is")
        }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] where !isNullOrEmpty(model[key]) {
            throw failure("model.\(key) is not supported by byte-level BPE")
        }
        guard isNullOrEmpty(model["dropout"]) || (model["dropout"] as? Double) == 0 else {
            throw failure("model.dropout is not supported (inference needs deterministic merges)")
        }
        guard model["byte_fallback"] as? Bool != true else {
            throw failure("model.byte_fallback is set: a SentencePiece-style BPE, not byte-level BPE")
        }
        ignoresMerges = model["ignore_merges"] as? Bool ?? false

        guard let vocab = model["vocab"] as? [String: Any], !vocab.isEmpty else {
            throw failure("model.vocab is missing or not a token → id object")
        }
        var tokenById: [Int: String] = [:]
        for (token, value) in vocab {
            guard let id = value as? Int, id >= 0 else {
                throw failure("model.vocab[\"\(token)\"] is not a non-negative integer id")
            }
            guard id < idLimit else {
                throw failure("model.vocab[\"\(token)\"] has id \(id), far beyond the \(entries) tokens the file defines")
            }
            if let other = tokenById.updateValue(token, forKey: id) {
                throw failure("model.vocab gives id \(id) to both \"\(other)\" and \"\(token)\"")
            }
        }
        tokens = Array(repeating: "", count: (tokenById.keys.max() ?? 0) + 1)
        kinds = Array(repeating: .normal, count: tokens.count)
        for (id, token) in tokenById { tokens[id] = token }
        assignedIds = Set(tokenById.keys)

        guard let mergeList = model["merges"] as? [Any] else { throw failure("model.merges is missing or not an array") }
        merges = try mergeList.enumerated().map { rank, merge in
            if let pair = merge as? [Any], pair.count == 2, let left = pair[0] as? String, let right = pair[1] as? String {
                return (left, right)
            }
            guard let line = merge as? String else {
                throw failure("model.merges[\(rank)] is neither \"a b\" nor [\"a\", \"b\"]")
            }
            return try BPETokenizer.mergePairs([line], source: source)[0]
        }
    }

    private mutating func readAddedTokens(_ value: Any?) throws {
        guard !isNull(value) else { return }
        guard let entries = value as? [Any] else { throw failure("added_tokens is not an array") }
        for (index, entry) in entries.enumerated() {
            guard let token = entry as? [String: Any], let id = token["id"] as? Int, id >= 0,
                  let content = token["content"] as? String
            else { throw failure("added_tokens[\(index)] lacks a non-negative \"id\" or a \"content\" string") }
            guard id < idLimit else {
                throw failure("added_tokens[\(index)] has id \(id), far beyond the \(self.entries) tokens the file defines")
            }
            for flag in ["lstrip", "rstrip", "single_word"] where token[flag] as? Bool == true {
                throw failure("added token \"\(content)\" sets \(flag), which is not supported")
            }
            if id >= tokens.count {
                tokens += Array(repeating: "", count: id + 1 - tokens.count)
                kinds += Array(repeating: .normal, count: id + 1 - kinds.count)
            }
            tokens[id] = content
            kinds[id] = token["special"] as? Bool == true ? .control : .userDefined
            assignedIds.insert(id)
        }
    }

    private mutating func readNormalizer(_ value: Any?) throws {
        guard !isNull(value) else { return }
        let type = (value as? [String: Any])?["type"] as? String
        guard type == "NFC" else {
            throw failure("normalizer \(type.map { "\"\($0)\"" } ?? "of unknown form") is not supported (only none or NFC)")
        }
        normalizesToNFC = true
    }

    private mutating func readPreTokenizer(_ value: Any?) throws {
        guard let preTokenizer = value as? [String: Any] else {
            throw failure("no pre_tokenizer object; byte-level BPE needs a ByteLevel pre-tokenizer")
        }
        let steps = preTokenizer["type"] as? String == "Sequence"
            ? preTokenizer["pretokenizers"] as? [[String: Any]] ?? []
            : [preTokenizer]
        let types = steps.map { $0["type"] as? String ?? "?" }
        // Hugging Face's defaults for both ByteLevel flags are true.
        let usesRegex = steps.last?["use_regex"] as? Bool ?? true
        addsPrefixSpace = steps.last?["add_prefix_space"] as? Bool ?? true
        switch (types, usesRegex) {
        case (["ByteLevel"], true):
            self.preTokenizer = .gpt2
        case (["Digits", "ByteLevel"], true) where steps[0]["individual_digits"] as? Bool == true:
            self.preTokenizer = .smolLM
        case (["Split", "ByteLevel"], false):
            self.preTokenizer = try knownSplit(steps[0])
        default:
            let description = types.map { "\"\($0)\"" }.joined(separator: " → ")
            throw failure("pre_tokenizer \(description)\(types.last == "ByteLevel" ? " (use_regex \(usesRegex))" : "") "
                + "is not supported; known: ByteLevel with use_regex, Split → ByteLevel without, "
                + "Digits(individual_digits) → ByteLevel with")
        }
    }

    private func knownSplit(_ split: [String: Any]) throws -> PreTokenizer {
        guard split["behavior"] as? String == "Isolated", split["invert"] as? Bool != true else {
            throw failure("a Split pre-tokenizer must have behavior \"Isolated\" and invert false")
        }
        let pattern = (split["pattern"] as? [String: Any])?["Regex"] as? String
        guard let known = PreTokenizer.allCases.first(where: { $0.patterns == [pattern] }) else {
            throw failure("the Split pattern \(pattern.map { "\"\($0)\"" } ?? "(not a Regex)") is none of the known GPT-2, Llama 3 or Qwen2 patterns")
        }
        return known
    }

    private func readDecoder(_ value: Any?) throws {
        guard !isNull(value) else { return }
        let type = (value as? [String: Any])?["type"] as? String
        guard type == "ByteLevel" else {
            throw failure("decoder \(type.map { "\"\($0)\"" } ?? "of unknown form") is not supported (only ByteLevel)")
        }
    }

    private func isNull(_ value: Any?) -> Bool {
        value == nil || value is NSNull
    }

    private func isNullOrEmpty(_ value: Any?) -> Bool {
        isNull(value) || (value as? String)?.isEmpty == true
    }
}
