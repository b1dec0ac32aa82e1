// CTranslate2 `model.bin` reader (binary format versions 1–6).
// Layout (little-endian), as written by ctranslate2/specs/model_spec.py `_serialize`:
//   u32 binary_version; str spec_name; u32 spec_revision (v≥2); u32 n_variables;
//   n × { str name; u8 rank; u32 dims[rank]; u8 dtype (v≥4); u32 n_bytes; bytes[n_bytes] };
//   u32 n_aliases (v≥3); n × { str alias; str target }
// where str = u16 length (including a trailing NUL) + bytes.
// dtype ids: 0 float32, 1 int8, 2 int16, 3 int32, 4 float16, 5 bfloat16.

import Foundation
import Tensors

public enum CTranslate2Reader {
    public static let supportedVersions = 1...6

    public struct Header { public let version: Int; public let specName: String; public let revision: Int }

    public static func read(path: String) throws -> (WeightFile, Header) {
        let mapping = try MappedFile(path: path)
        var r = ByteReader(mapping)
        let version = Int(try r.read(UInt32.self, "binary version"))
        guard supportedVersions.contains(version) else {
            throw WeightError(path, "not a CTranslate2 model.bin (binary version \(version); supported \(supportedVersions))")
        }
        let specName = version >= 2 ? try readString(&r, "spec name") : ""
        let revision = version >= 2 ? Int(try r.read(UInt32.self, "spec revision")) : 1
        let file = WeightFile(path: path, format: "ctranslate2-v\(version)", mapping: mapping)
        let count = Int(try r.read(UInt32.self, "variable count"))
        guard count < 1_000_000 else { throw WeightError(path, "implausible variable count \(count)") }
        for index in 0..<count {
            let name = try readString(&r, "name of variable \(index)")
            let rank = Int(try r.read(UInt8.self, "rank of \(name)"))
            guard rank <= 8 else { throw WeightError(path, "variable \(name) has implausible rank \(rank)") }
            var shape: [Int] = []
            for _ in 0..<rank { shape.append(Int(try r.read(UInt32.self, "shape of \(name)"))) }
            let dtype: DType
            let byteCount: Int
            if version >= 4 {
                let id = try r.read(UInt8.self, "dtype of \(name)")
                guard let d = dtypeFromID(id) else { throw WeightError(path, "variable \(name) has unknown dtype id \(id)") }
                dtype = d
                byteCount = Int(try r.read(UInt32.self, "byte count of \(name)"))
            } else {
                let itemSize = Int(try r.read(UInt8.self, "item size of \(name)"))
                let items = Int(try r.read(UInt32.self, "item count of \(name)"))
                dtype = itemSize == 4 ? .float32 : (itemSize == 2 ? .int16 : .int8)
                byteCount = itemSize * items
            }
            let bytes = try r.bytes(byteCount, "data of \(name)")
            try file.register(RawTensor(name: name, shape: shape, dtype: dtype, bytes: bytes))
        }
        if version >= 3 {
            let aliasCount = Int(try r.read(UInt32.self, "alias count"))
            for _ in 0..<aliasCount {
                let alias = try readString(&r, "alias")
                let target = try readString(&r, "alias target")
                guard file.contains(target) else { throw WeightError(path, "alias \(alias) points to missing \(target)") }
                file.registerAlias(alias, target: target)
            }
        }
        guard r.remaining == 0 else { throw WeightError(path, "\(r.remaining) unexpected trailing bytes") }
        return (file, Header(version: version, specName: specName, revision: revision))
    }

    static func dtypeFromID(_ id: UInt8) -> DType? {
        switch id {
        case 0: return .float32
        case 1: return .int8
        case 2: return .int16
        case 3: return .int32
        case 4: return .float16
        case 5: return .bfloat16
        default: return nil
        }
    }

    static func readString(_ r: inout ByteReader, _ what: String) throws -> String {
        let length = Int(try r.read(UInt16.self, "\(what) length"))
        let b = try r.bytes(length, what)
        let chars = length > 0 && b[length - 1] == 0 ? b.prefix(length - 1) : b[...]
        guard let s = String(bytes: chars, encoding: .utf8) else { throw WeightError(r.file.path, "\(what) is not UTF-8") }
        return s
    }
}
