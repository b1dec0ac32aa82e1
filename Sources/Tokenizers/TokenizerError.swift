/// A tokenizer description that cannot be used: malformed, inconsistent or of an unsupported kind.
public struct TokenizerError: Error, Equatable, CustomStringConvertible {
    /// Where the description came from: a file path, or a note such as "token arrays".
    public var source: String
    /// What is wrong, in words.
    public var reason: String

    public init(source: String, reason: String) {
        self.source = source
        self.reason = reason
    }

    public var description: String { "tokenizer from \(source): \(reason)" }
}
