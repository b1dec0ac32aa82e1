// Tokenizers: the first byte chooses the mode.
//   even: the rest is a tokenizer.json — parse it, and if it loads, encode and decode a string;
//   odd:  the rest is text for a fixed byte-level BPE tokenizer (encode, decode, round trip),
//         and also read as token ids to decode (ids out of range must not crash).
import Foundation
import FuzzSupport
import Tokenizers

let fixed: BPETokenizer = {
    // A small GPT-2-style tokenizer.json (byte alphabet, a few merges, one special token), built
    // here so the target needs no files. GPT-2's bytes_to_unicode: printable bytes map to
    // themselves, the others to U+0100 onwards.
    var vocab: [String: Int] = [:]
    var next = 0
    for b in 0...255 {
        let printable = (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b)
        let scalar = printable ? UInt32(b) : 256 + UInt32(next)
        if !printable { next += 1 }
        vocab[String(Character(UnicodeScalar(scalar)!))] = vocab.count
    }
    let merges = ["Ġ t", "h e", "Ġt he", "i n", "Ġ a", "e r", "o n", "Ġ s"]
    for m in merges { vocab[m.replacingOccurrences(of: " ", with: "")] = vocab.count }
    let json: [String: Any] = [
        "added_tokens": [["id": vocab.count, "content": "<|endoftext|>", "special": true]],
        "normalizer": NSNull(),
        "pre_tokenizer": ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true],
        "decoder": ["type": "ByteLevel"],
        "model": ["type": "BPE", "vocab": vocab, "merges": merges],
    ]
    let data = try! JSONSerialization.data(withJSONObject: json)
    return try! BPETokenizer(tokenizerJSON: data)
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenizer(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = FuzzInput.bytes(data, size)
    guard let mode = bytes.first else { return 0 }
    let rest = Array(bytes.dropFirst())
    if mode & 1 == 0 {
        guard let tokenizer = try? BPETokenizer(tokenizerJSON: Data(rest)) else { return 0 }
        let ids = tokenizer.encode("Hello world <|endoftext|> héllo 🙂")
        _ = tokenizer.decode(ids)
        _ = tokenizer.decode([-1, 0, Int.max, Int.min])
    } else {
        let text = String(decoding: rest, as: UTF8.self)
        let ids = fixed.encode(text)
        let back = fixed.decode(ids)
        if !text.contains("<|endoftext|>") && back != text {
            fatalError("byte-level BPE round trip changed the text")
        }
        var raw: [Int] = []
        var i = 0
        while i + 4 <= rest.count {
            raw.append(Int(Int32(bitPattern: UInt32(rest[i]) | UInt32(rest[i + 1]) << 8 | UInt32(rest[i + 2]) << 16 | UInt32(rest[i + 3]) << 24)))
            i += 4
        }
        _ = fixed.decode(raw)
        _ = fixed.decode(raw, skipSpecial: true)
    }
    return 0
}

/// The executable's entry point (SwiftPM renames `main` to `fuzz_tokenizer_main`): hands over to libFuzzer.
@_cdecl("fuzz_tokenizer_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzTokenizer)
}
