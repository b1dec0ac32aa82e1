// Whisper's special tokens on top of the byte-level BPE tokenizer (tokenizer.json).
// Reference: openai/whisper tokenizer.py; faster-whisper tokenizer.py (non_speech_tokens).

import Foundation
import Tokenizers

public final class WhisperTokenizer {
    public let bpe: BPETokenizer
    public let endOfText: Int
    public let startOfTranscript: Int
    public let startOfPrevious: Int
    public let startOfLM: Int?
    public let noSpeech: Int
    public let noTimestamps: Int
    public let timestampBegin: Int
    /// The last timestamp id (<|30.00|>): the model's vocabulary size − 1.
    public let timestampEnd: Int
    public let transcribe: Int?
    public let translate: Int?
    /// Language codes in token order ("en", "zh", …) with their token ids.
    public let languages: [(code: String, id: Int)]
    public let isMultilingual: Bool

    public init(url: URL, vocabularySize: Int) throws {
        let bpe = try BPETokenizer(contentsOf: url)
        self.bpe = bpe
        let special = { (s: String) throws -> Int in
            guard let id = bpe.id(of: s) else { throw TokenizerError(source: url.path, reason: "missing special token \(s)") }
            return id
        }
        endOfText = try special("<|endoftext|>")
        startOfTranscript = try special("<|startoftranscript|>")
        startOfPrevious = try special("<|startofprev|>")
        startOfLM = bpe.id(of: "<|startoflm|>")
        noSpeech = try bpe.id(of: "<|nospeech|>") ?? special("<|nocaptions|>")
        noTimestamps = try special("<|notimestamps|>")
        timestampBegin = noTimestamps + 1
        timestampEnd = vocabularySize - 1
        transcribe = bpe.id(of: "<|transcribe|>")
        translate = bpe.id(of: "<|translate|>")
        isMultilingual = vocabularySize >= 51865
        var langs: [(String, Int)] = []
        if let translate {
            for id in (startOfTranscript + 1)..<translate {
                if let t = bpe.token(id), t.hasPrefix("<|"), t.hasSuffix("|>") { langs.append((String(t.dropFirst(2).dropLast(2)), id)) }
            }
        }
        languages = langs
        guard timestampBegin < vocabularySize else {
            throw TokenizerError(source: url.path, reason: "tokenizer does not match a vocabulary of \(vocabularySize)")
        }
    }

    public func languageToken(_ code: String) -> Int? { languages.first { $0.code == code }?.id }

    /// <|startoftranscript|> [<|lang|> <|task|>] — English-only models take the first token only.
    public func startSequence(language: String?, task: WhisperTask) -> [Int] {
        var s = [startOfTranscript]
        guard isMultilingual else { return s }
        if let language, let id = languageToken(language) { s.append(id) }
        if let t = task == .translate ? translate : transcribe { s.append(t) }
        return s
    }

    /// Text of the tokens below <|endoftext|> (timestamps and specials dropped).
    public func decodeText(_ tokens: [Int]) -> String { bpe.decode(tokens.filter { $0 < endOfText }) }

    public func encode(_ text: String) -> [Int] { bpe.encode(text, recognizeSpecialTokens: false) }

    /// Symbols that mark non-speech annotations (♪, [MUSIC], (SPEAKING …)) — suppressed by default.
    public var nonSpeechTokens: [Int] {
        var symbols = "\"#()*+/:;<=>@[\\]^_`{|}~「」『』".map(String.init)
        symbols += "<< >> <<< >>> -- --- -( -[ (' (\" (( )) ((( ))) [[ ]] {{ }} ♪♪ ♪♪♪".split(separator: " ").map(String.init)
        let miscellaneous = Set("♩♪♫♬♭♮♯".map(String.init))
        var result = Set<Int>()
        if let t = encode(" -").first { result.insert(t) }
        if let t = encode(" '").first { result.insert(t) }
        for symbol in symbols + miscellaneous.sorted() {
            for tokens in [encode(symbol), encode(" " + symbol)] where !tokens.isEmpty {
                if tokens.count == 1 || miscellaneous.contains(symbol) { result.insert(tokens[0]) }
            }
        }
        return result.sorted()
    }

    /// faster-whisper's `get_suppressed_tokens`: −1 expands to the non-speech symbols; task and
    /// start tokens are always suppressed.
    public func suppressedTokens(_ requested: [Int]) -> [Int] {
        var ids = Set(requested.filter { $0 >= 0 })
        if requested.contains(-1) { ids.formUnion(nonSpeechTokens) }
        for t in [transcribe, translate, startOfTranscript, startOfPrevious, startOfLM, noSpeech] { if let t { ids.insert(t) } }
        return ids.sorted()
    }
}

public enum WhisperTask: String, Codable, Sendable { case transcribe, translate }
