/// GPT-2's reversible byte ↔ printable-character mapping, used by every byte-level BPE vocabulary.
///
/// Printable bytes (`!`…`~`, `¡`…`¬`, `®`…`ÿ`) stand for themselves; the 68 others (controls, space,
/// DEL, NBSP, soft hyphen) are shifted to U+0100 and up in byte order, so a space becomes `Ġ` and a
/// newline `Ċ`.
/// Reference: `bytes_to_unicode` in https://github.com/openai/gpt-2/blob/master/src/encoder.py and
/// https://github.com/huggingface/tokenizers/blob/main/tokenizers/src/pre_tokenizers/byte_level.rs
enum ByteLevel {
    /// The vocabulary character for each byte value.
    static let scalarForByte: [Unicode.Scalar] = {
        var shifted: UInt32 = 256
        return (0...255).map { (byte: UInt32) -> Unicode.Scalar in
            if isPrintable(byte) { return Unicode.Scalar(byte)! }
            defer { shifted += 1 }
            return Unicode.Scalar(shifted)!
        }
    }()

    /// The byte each vocabulary character stands for, indexed by scalar value; -1 for characters
    /// outside the mapping.
    private static let byteForScalarValue: [Int16] = {
        var table = [Int16](repeating: -1, count: 256 + 68)
        for (byte, scalar) in scalarForByte.enumerated() { table[Int(scalar.value)] = Int16(byte) }
        return table
    }()

    private static func isPrintable(_ byte: UInt32) -> Bool {
        (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
    }

    /// The vocabulary spelling of raw bytes (`" the"` → `"Ġthe"`).
    static func encode<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
        var scalars = String.UnicodeScalarView()
        for byte in bytes { scalars.append(scalarForByte[Int(byte)]) }
        return String(scalars)
    }

    /// The raw bytes a vocabulary token stands for, or nil when a character is outside the mapping.
    static func decode(_ token: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(token.unicodeScalars.count)
        for scalar in token.unicodeScalars {
            let value = Int(scalar.value)
            guard value < byteForScalarValue.count, byteForScalarValue[value] >= 0 else { return nil }
            bytes.append(UInt8(byteForScalarValue[value]))
        }
        return bytes
    }
}
