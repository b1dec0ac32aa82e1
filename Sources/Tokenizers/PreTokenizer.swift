/// How a byte-level BPE model cuts text into words before merging: one of the well-known split
/// regular expressions, matched by hand over Unicode scalars (no regex engine).
///
/// `\s` is the Unicode White_Space property, `\p{L}` and `\p{N}` the letter and number general
/// categories, as in the Oniguruma engine Hugging Face tokenizers uses.
/// References: https://github.com/openai/gpt-2/blob/master/src/encoder.py (GPT-2 pattern),
/// https://github.com/huggingface/tokenizers/blob/main/tokenizers/src/pre_tokenizers/byte_level.rs
public enum PreTokenizer: Sendable, CaseIterable {
    /// GPT-2 and Whisper.
    case gpt2
    /// Llama 3 (tiktoken `cl100k`-style): case-insensitive contractions, numbers in runs of up to three digits.
    case llama3
    /// Qwen2 and Qwen2.5: as Llama 3, but every digit is a word of its own.
    case qwen2
    /// SmolLM and StarCoder: every digit a word of its own, GPT-2 on the text between digits
    /// (Hugging Face's `Digits(individual_digits)` then `ByteLevel`).
    case smolLM

    private static let gpt2Pattern = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#

    /// The regular expressions this pre-tokenizer implements, each splitting the words of the one
    /// before (as llama.cpp lists them), spelled as in `tokenizer.json`.
    public var patterns: [String] {
        switch self {
        case .gpt2:
            return [Self.gpt2Pattern]
        case .llama3:
            return [#"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#]
        case .qwen2:
            return [#"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#]
        case .smolLM:
            return [#"\p{N}"#, Self.gpt2Pattern]
        }
    }

    /// The words of `text`, in order; they concatenate back to `text`.
    public func split(_ text: String) -> [String] {
        let bytes = Array(text.utf8)
        return wordRanges(in: bytes[...]).map { String(decoding: bytes[$0], as: UTF8.self) }
    }

    /// Byte ranges (indices into `bytes`' base) of the words of a valid UTF-8 slice.
    func wordRanges(in bytes: ArraySlice<UInt8>) -> [Range<Int>] {
        var text = ScalarText(bytes)
        var ranges: [Range<Int>] = []
        var start = 0
        while start < text.count {
            let end: Int
            switch self {
            case .gpt2:
                end = text.gpt2WordEnd(from: start)
            case .llama3:
                end = text.llama3WordEnd(from: start, maxDigits: 3)
            case .qwen2:
                end = text.llama3WordEnd(from: start, maxDigits: 1)
            case .smolLM:
                if text.classes[start] == .number {
                    end = start + 1
                } else {
                    if start == 0 || text.classes[start - 1] == .number {  // a new stretch between digits
                        text.limit = text.classes[start...].firstIndex(of: .number) ?? text.count
                    }
                    end = text.gpt2WordEnd(from: start)
                }
            }
            ranges.append(text.offsets[start]..<text.offsets[end])
            start = end
        }
        return ranges
    }
}

/// The character classes the split patterns distinguish.
enum ScalarClass: UInt8 {
    case letter       // \p{L}
    case number       // \p{N}
    case lineBreak    // \r or \n (also \s)
    case space        // \s other than \r and \n
    case other        // [^\s\p{L}\p{N}]

    var isWhitespace: Bool { self == .space || self == .lineBreak }

    init(_ scalar: Unicode.Scalar) {
        if scalar.value < 0x1_0000 {
            self = bmpClasses[Int(scalar.value)]
        } else {
            self = ScalarClass(computing: scalar)
        }
    }

    fileprivate init(computing scalar: Unicode.Scalar) {
        if scalar == "\r" || scalar == "\n" { self = .lineBreak; return }
        if scalar.properties.isWhitespace { self = .space; return }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            self = .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            self = .number
        default:
            self = .other
        }
    }
}

/// Classes of the Basic Multilingual Plane, computed once (64 KiB) so common text never queries
/// Unicode properties.
private let bmpClasses: [ScalarClass] = (0..<0x1_0000).map { value in
    Unicode.Scalar(UInt32(value)).map(ScalarClass.init(computing:)) ?? .other
}

/// A UTF-8 slice decoded to scalars, with each scalar's class and byte offset.
private struct ScalarText {
    private static let apostrophe: UInt32 = 0x27
    private static let space: UInt32 = 0x20

    var values: [UInt32] = []
    var classes: [ScalarClass] = []
    /// Byte offset of each scalar in the base array, plus the end offset.
    var offsets: [Int] = []

    var count: Int { values.count }
    /// Where matching stops (a word never extends past it); the end of the text unless narrowed.
    var limit: Int

    init(_ bytes: ArraySlice<UInt8>) {
        values.reserveCapacity(bytes.count)
        classes.reserveCapacity(bytes.count)
        offsets.reserveCapacity(bytes.count + 1)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let lead = UInt32(bytes[index])
            let value: UInt32
            let length: Int
            switch lead {
            case ..<0x80:
                value = lead
                length = 1
            case ..<0xE0:
                value = (lead & 0x1F) << 6 | UInt32(bytes[index + 1] & 0x3F)
                length = 2
            case ..<0xF0:
                value = (lead & 0x0F) << 12 | UInt32(bytes[index + 1] & 0x3F) << 6
                    | UInt32(bytes[index + 2] & 0x3F)
                length = 3
            default:
                value = (lead & 0x07) << 18 | UInt32(bytes[index + 1] & 0x3F) << 12
                    | UInt32(bytes[index + 2] & 0x3F) << 6 | UInt32(bytes[index + 3] & 0x3F)
                length = 4
            }
            values.append(value)
            classes.append(ScalarClass(Unicode.Scalar(value)!))
            offsets.append(index)
            index += length
        }
        offsets.append(bytes.endIndex)
        limit = values.count
    }

    /// One match of the GPT-2 pattern starting at scalar `start`; returns its end.
    func gpt2WordEnd(from start: Int) -> Int {
        if values[start] == Self.apostrophe, let length = contractionLength(at: start, caseInsensitive: false) {
            return start + length
        }
        // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`
        var first = start
        if values[start] == Self.space, start + 1 < limit, !classes[start + 1].isWhitespace {
            first = start + 1
        }
        let kind = classes[first]
        if !kind.isWhitespace {
            return runEnd(from: first) { $0 == kind }
        }
        return whitespaceWordEnd(from: start)
    }

    /// One match of the Llama 3 / Qwen2 pattern starting at scalar `start`; returns its end.
    func llama3WordEnd(from start: Int, maxDigits: Int) -> Int {
        if values[start] == Self.apostrophe, let length = contractionLength(at: start, caseInsensitive: true) {
            return start + length
        }
        let kind = classes[start]
        // `[^\r\n\p{L}\p{N}]?\p{L}+`
        if kind == .letter {
            return runEnd(from: start) { $0 == .letter }
        }
        if kind == .space || kind == .other, start + 1 < limit, classes[start + 1] == .letter {
            return runEnd(from: start + 1) { $0 == .letter }
        }
        // `\p{N}{1,maxDigits}`
        if kind == .number {
            return min(runEnd(from: start) { $0 == .number }, start + maxDigits)
        }
        // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
        var first = start
        if values[start] == Self.space, start + 1 < limit, classes[start + 1] == .other {
            first = start + 1
        }
        if classes[first] == .other {
            let symbolsEnd = runEnd(from: first) { $0 == .other }
            return runEnd(from: symbolsEnd) { $0 == .lineBreak }
        }
        // `\s*[\r\n]+`: whitespace up to and including the last line break of the run.
        let end = runEnd(from: start) { $0.isWhitespace }
        if let lastBreak = (start..<end).last(where: { classes[$0] == .lineBreak }) {
            return lastBreak + 1
        }
        return whitespaceWordEnd(from: start)
    }

    /// `\s+(?!\S)|\s+`: a whitespace run, leaving its last scalar to the next word when a
    /// non-space follows a run of two or more.
    private func whitespaceWordEnd(from start: Int) -> Int {
        let end = runEnd(from: start) { $0.isWhitespace }
        return end == limit || end - start == 1 ? end : end - 1
    }

    private func runEnd(from start: Int, while matches: (ScalarClass) -> Bool) -> Int {
        var end = start
        while end < limit, matches(classes[end]) { end += 1 }
        return end
    }

    /// Length in scalars of `'s|'t|'re|'ve|'m|'ll|'d` at an apostrophe, or nil. Case-insensitive
    /// matching follows Unicode case folding, so `ſ` (U+017F) counts as `s`, as in Oniguruma.
    private func contractionLength(at start: Int, caseInsensitive: Bool) -> Int? {
        func folded(_ index: Int) -> UInt32? {
            guard index < limit else { return nil }
            let value = values[index]
            guard caseInsensitive else { return value }
            if (0x41...0x5A).contains(value) { return value + 0x20 }
            return value == 0x17F ? UInt32(UInt8(ascii: "s")) : value
        }
        guard let first = folded(start + 1) else { return nil }
        switch first {
        case UInt32(UInt8(ascii: "s")), UInt32(UInt8(ascii: "t")), UInt32(UInt8(ascii: "m")), UInt32(UInt8(ascii: "d")):
            return 2
        case UInt32(UInt8(ascii: "r")), UInt32(UInt8(ascii: "v")):
            return folded(start + 2) == UInt32(UInt8(ascii: "e")) ? 3 : nil
        case UInt32(UInt8(ascii: "l")):
            return folded(start + 2) == UInt32(UInt8(ascii: "l")) ? 3 : nil
        default:
            return nil
        }
    }
}
