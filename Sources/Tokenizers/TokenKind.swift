/// What a vocabulary entry is. Raw values are GGUF's `tokenizer.ggml.token_type` codes.
/// Only `.control` and `.userDefined` change how a token is handled; the other kinds are ordinary
/// vocabulary entries.
public enum TokenKind: Int32, Sendable {
    /// A BPE token, spelled in the byte-level alphabet (`Ġthe`).
    case normal = 1
    case unknown = 2
    /// A special token (`<|endoftext|>`): matched verbatim in text, skipped by `decode(skipSpecial: true)`.
    case control = 3
    /// A non-special added token: matched verbatim in text, always decoded.
    case userDefined = 4
    case unused = 5
    case byte = 6

    /// Added tokens are spelled as plain text and cut out of the input before pre-tokenization.
    var isAdded: Bool { self == .control || self == .userDefined }
}
