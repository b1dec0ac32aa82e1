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

    static func dtype(_ s: String) -> DType? {
        switch s {
        case "F32": return .float32
        case "F16": return .float16
        case "BF16": return .bfloat16
        case "I8": return .int8
        case "I16": return .int16
        case "I32": return .int32
        default: return nil
        }
    }
}
