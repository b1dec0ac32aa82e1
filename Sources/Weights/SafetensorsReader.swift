// safetensors reader: u64 header size, a JSON header {name: {dtype, shape, data_offsets}}, then data.
// https://github.com/huggingface/safetensors#format

import Foundation
import Tensors

public enum SafetensorsReader {
    public static func read(path: String) throws -> WeightFile {
        let mapping = try MappedFile(path: path)
        var r = ByteReader(mapping)
        let rawHeaderSize = try r.read(UInt64.self, "header size")
        guard let headerSize = Int(exactly: rawHeaderSize), headerSize > 1, headerSize < 100_000_000 else { throw WeightError(path, "implausible safetensors header size \(rawHeaderSize)") }
        let headerBytes = try r.bytes(headerSize, "JSON header")
        guard let header = try? JSONSerialization.jsonObject(with: Data(headerBytes)) as? [String: Any] else {
            throw WeightError(path, "safetensors header is not a JSON object")
        }
        let dataStart = r.offset
        let file = WeightFile(path: path, format: "safetensors", mapping: mapping)
        if let duplicate = duplicatedKey(in: Array(headerBytes), keys: header.keys) {
            throw WeightError(path, "tensor \(duplicate) appears twice in the header")
        }
        for (name, value) in header where name != "__metadata__" {
            guard let info = value as? [String: Any], let dtypeName = info["dtype"] as? String,
                  let shape = info["shape"] as? [Int], let offsets = info["data_offsets"] as? [Int], offsets.count == 2 else {
                throw WeightError(path, "malformed header entry for \(name)")
            }
            guard let dtype = dtype(dtypeName) else { throw WeightError(path, "tensor \(name) has unsupported dtype \(dtypeName)") }
            let available = mapping.bytes.count - dataStart
            guard offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= available else {
                throw WeightError(path, "tensor \(name) data [\(offsets[0]), \(offsets[1])) is outside the file (truncated?)")
            }
            let start = dataStart + offsets[0], end = dataStart + offsets[1]
            try file.register(RawTensor(name: name, shape: shape, dtype: dtype,
                                        bytes: UnsafeRawBufferPointer(rebasing: mapping.bytes[start..<end])))
        }
        return file
    }

    /// A top-level key written twice (JSONSerialization keeps one silently): any key whose quoted
    /// JSON form followed by ':' occurs more than once in the header text.
    static func duplicatedKey(in header: [UInt8], keys: Dictionary<String, Any>.Keys) -> String? {
        for key in keys {
            guard let encoded = try? JSONSerialization.data(withJSONObject: [key], options: [.fragmentsAllowed, .withoutEscapingSlashes]) else { continue }
            let quoted = Array(encoded.dropFirst().dropLast())   // ["name"] → "name"
            guard !quoted.isEmpty, quoted.count <= header.count else { continue }
            var count = 0
            var i = 0
            while i + quoted.count <= header.count {
                if header[i] == quoted[0], Array(header[i..<(i + quoted.count)]) == quoted {
                    var j = i + quoted.count
                    while j < header.count, header[j] == 0x20 || header[j] == 0x0A || header[j] == 0x0D || header[j] == 0x09 { j += 1 }
                    if j < header.count, header[j] == UInt8(ascii: ":") { count += 1 }
                    i += quoted.count
                } else {
                    i += 1
                }
            }
            if count > 1 { return key }
        }
        return nil
    }

    static func dtype(_ s: String) -> DType? {
        switch s {
        case "F32": return .float32
        case "F16": return .float16
        case "BF16": return .bfloat16
        case "I8": return .int8
        case "I16": return .int16
        case "I32": return .int32
        case "I64": return .int64
        default: return nil
        }
    }
}
