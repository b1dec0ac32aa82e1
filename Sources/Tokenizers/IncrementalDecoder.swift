/// Decodes ids one at a time, as a model emits them, holding back the bytes of a character whose
/// UTF-8 sequence straddles tokens until it is complete.
///
/// The concatenation of every `append` result and `finish()` equals `decode` of all the ids.
/// Invalid bytes that no later byte can complete become U+FFFD as soon as that is certain; an
/// incomplete sequence left at the end becomes U+FFFD in `finish()`.
public struct IncrementalDecoder: Sendable {
    private let tokenizer: BPETokenizer
    private let skipSpecial: Bool
    private var pendingBytes: [UInt8] = []

    public init(tokenizer: BPETokenizer, skipSpecial: Bool = false) {
        self.tokenizer = tokenizer
        self.skipSpecial = skipSpecial
    }

    /// Adds one id; returns the text that is now complete (possibly empty).
    public mutating func append(_ id: Int) -> String {
        tokenizer.appendBytes(of: id, skipSpecial: skipSpecial, to: &pendingBytes)
        let ready = Self.completePrefixLength(of: pendingBytes)
        guard ready > 0 else { return "" }
        let text = String(decoding: pendingBytes[..<ready], as: UTF8.self)
        pendingBytes.removeFirst(ready)
        return text
    }

    /// Returns whatever is held back (U+FFFD for an incomplete character) and starts over.
    public mutating func finish() -> String {
        defer { pendingBytes.removeAll() }
        return String(decoding: pendingBytes, as: UTF8.self)
    }

    /// Everything but a trailing sequence whose lead byte announces more bytes than have arrived.
    /// Cutting before a non-continuation byte never changes how the bytes decode.
    private static func completePrefixLength(of bytes: [UInt8]) -> Int {
        for start in stride(from: bytes.count - 1, through: max(0, bytes.count - 4), by: -1)
        where bytes[start] & 0xC0 != 0x80 {
            return bytes.count - start < sequenceLength(lead: bytes[start]) ? start : bytes.count
        }
        return bytes.count
    }

    /// The length a lead byte announces; 1 for ASCII and for bytes that cannot start a sequence.
    private static func sequenceLength(lead: UInt8) -> Int {
        switch lead {
        case 0xC2...0xDF: return 2
        case 0xE0...0xEF: return 3
        case 0xF0...0xF4: return 4
        default: return 1
        }
    }
}
