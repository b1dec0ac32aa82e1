import Foundation
import Models
import Weights
import XCTest

/// GGUF language models from strangers: a tiny llama written here (F32 tensors), then its metadata
/// made to lie or its tensors removed, added or cut. Each refusal is a WeightError naming the file
/// and the key or tensor; nothing traps or allocates what the metadata merely claims.
final class StrangerGGUFTests: XCTestCase {
    enum Value { case u32(UInt32), i32(Int32), u64(UInt64), string(String) }

    let metadata: [(String, Value)] = [
        ("general.architecture", .string("llama")), ("llama.embedding_length", .u32(8)), ("llama.attention.head_count", .u32(2)),
        ("llama.context_length", .u32(16)), ("llama.block_count", .u32(1)), ("llama.feed_forward_length", .u32(16)),
    ]
    /// name → GGUF dims (ne0 first: the contiguous, input dimension)
    let tensors: [(String, [Int])] = [
        ("token_embd.weight", [8, 6]), ("blk.0.attn_norm.weight", [8]), ("blk.0.attn_q.weight", [8, 8]),
        ("blk.0.attn_k.weight", [8, 8]), ("blk.0.attn_v.weight", [8, 8]), ("blk.0.attn_output.weight", [8, 8]),
        ("blk.0.ffn_norm.weight", [8]), ("blk.0.ffn_up.weight", [8, 16]), ("blk.0.ffn_gate.weight", [8, 16]),
        ("blk.0.ffn_down.weight", [16, 8]), ("output_norm.weight", [8]),
    ]

    func gguf(metadata: [(String, Value)], tensors: [(String, [Int])], cut: Int = 0) throws -> String {
        var b = Data()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { b.append(contentsOf: $0) } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { b.append(contentsOf: $0) } }
        func string(_ s: String) { u64(UInt64(s.utf8.count)); b.append(contentsOf: Array(s.utf8)) }
        b.append(contentsOf: Array("GGUF".utf8)); u32(3); u64(UInt64(tensors.count)); u64(UInt64(metadata.count))
        for (key, value) in metadata {
            string(key)
            switch value {
            case .u32(let v): u32(4); u32(v)
            case .i32(let v): u32(5); u32(UInt32(bitPattern: v))
            case .u64(let v): u32(10); u64(v)
            case .string(let s): u32(8); string(s)
            }
        }
        var offset = 0
        var data = Data()
        for (name, dims) in tensors {
            string(name); u32(UInt32(dims.count)); for d in dims { u64(UInt64(d)) }
            u32(0)   // F32
            u64(UInt64(offset))
            let count = dims.reduce(1, *)
            for i in 0..<count { withUnsafeBytes(of: Float(i % 5) * 0.1) { data.append(contentsOf: $0) } }
            while data.count % 32 != 0 { data.append(0) }
            offset = data.count
        }
        while b.count % 32 != 0 { b.append(0) }
        b += data
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-stranger-\(UUID().uuidString).gguf")
        try b.dropLast(cut).write(to: url)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url.path
    }

    func replacing(_ key: String, with value: Value) -> [(String, Value)] {
        metadata.map { $0.0 == key ? (key, value) : $0 }
    }

    func assertRefused(_ path: String, _ fragments: [String], line: UInt = #line) {
        XCTAssertThrowsError(try LlamaModel.load(try GGUFFile.read(path: path)), line: line) { error in
            guard let weightError = error as? WeightError else { return XCTFail("not a WeightError: \(error)", line: line) }
            XCTAssertEqual(weightError.path, path, line: line)
            for fragment in fragments {
                XCTAssertTrue(weightError.message.contains(fragment), "«\(fragment)» not in: \(error)", line: line)
            }
        }
    }

    func testTheTinyModelLoads() throws {
        let model = try LlamaModel.load(try GGUFFile.read(path: try gguf(metadata: metadata, tensors: tensors)))
        XCTAssertEqual(model.config.dim, 8)
        XCTAssertEqual(model.config.vocabularySize, 6)
    }

    func testMetadataThatDisagreesWithTheTensorsIsRefused() throws {
        assertRefused(try gguf(metadata: replacing("llama.embedding_length", with: .u32(16)), tensors: tensors),
                      ["has shape", "expected"])
        assertRefused(try gguf(metadata: replacing("llama.feed_forward_length", with: .u32(32)), tensors: tensors),
                      ["blk.0.ffn_up.weight", "expected [32, 8]"])
        assertRefused(try gguf(metadata: replacing("llama.block_count", with: .u32(2)), tensors: tensors),
                      ["missing tensor blk.1."])
    }

    func testImpossibleSizesAreRefusedBeforeAnyAllocation() throws {
        for (key, value, shown) in [("llama.context_length", Value.i32(-5), "-5"), ("llama.attention.head_count", .u32(0), "0"),
                                    ("llama.feed_forward_length", .u64(1 << 40), "\(1 << 40)"),
                                    ("llama.block_count", .u64(UInt64(Int.max)), "\(Int.max)")] {
            assertRefused(try gguf(metadata: replacing(key, with: value), tensors: tensors),
                          [String(key.dropFirst("llama.".count)), shown, "out of range"])
        }
        assertRefused(try gguf(metadata: metadata.filter { $0.0 != "llama.context_length" }, tensors: tensors),
                      ["llama.context_length is missing"])
    }

    func testMissingExtraAndTruncatedTensorsAreRefused() throws {
        assertRefused(try gguf(metadata: metadata, tensors: tensors.filter { $0.0 != "blk.0.ffn_gate.weight" }),
                      ["missing tensor blk.0.ffn_gate.weight"])
        assertRefused(try gguf(metadata: metadata, tensors: tensors + [("blk.0.mystery.weight", [4])]),
                      ["not used", "blk.0.mystery.weight"])
        assertRefused(try gguf(metadata: metadata, tensors: tensors, cut: 40), ["truncated: tensor", "needs"])
    }
}
