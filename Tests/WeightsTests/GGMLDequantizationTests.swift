import Foundation
import ModelStore
import Tensors
import TestSupport
import Weights
import XCTest

/// Hearth's dequantization vs ggml's own, as gguf-py (llama.cpp's `gguf.quants.dequantize`) computes
/// it: seeded random blocks of every block type, and rows of the real GGUF files' tensors
/// (Fixtures/ggml_dequant, scripts/goldens/make_ggml_dequant_fixtures.py). Expected: identical floats.
final class GGMLDequantizationTests: XCTestCase {
    struct TypeNote: Decodable { let type: String; let ggml_type: UInt32; let rows: Int; let cols: Int }
    struct ModelNote: Decodable { let model: String; let file: String; let tensor: String; let type: String; let cols: Int
                                  let row_sha256: [String]; let row_head: [[Float]] }
    struct Note: Decodable { let gguf: String; let types: [TypeNote]; let models: [ModelNote] }

    static let folder = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/ggml_dequant")
    static func note() throws -> Note { try JSONDecoder().decode(Note.self, from: Data(contentsOf: folder.appendingPathComponent("dequant.json"))) }

    func testEveryBlockTypeMatchesGGUFPy() throws {
        let note = try Self.note()
        XCTAssertEqual(Set(note.types.map(\.type)), ["Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"])
        for t in note.types {
            let type = try XCTUnwrap(GGMLType(rawValue: t.ggml_type), t.type)
            XCTAssertEqual(type.description.uppercased(), t.type.uppercased())
            let blocks = [UInt8](try Data(contentsOf: Self.folder.appendingPathComponent("\(t.type).blocks")))
            let expected = try floats(Self.folder.appendingPathComponent("\(t.type).f32"))
            XCTAssertEqual(expected.count, t.rows * t.cols, t.type)
            let got = try QuantizedMatrix(type: type, rows: t.rows, cols: t.cols, bytes: blocks).dequantized().array
            guard got.count == expected.count else { XCTFail("\(t.type): \(got.count) values"); continue }
            let differing = got.indices.filter { got[$0].bitPattern != expected[$0].bitPattern }
            let worst = differing.map { abs(got[$0] - expected[$0]) }.max() ?? 0
            print("\(t.type) vs gguf-py \(note.gguf): \(got.count - differing.count) of \(got.count) values identical, max |Δ| \(worst)")
            XCTAssertEqual(differing.count, 0, "\(t.type): first differing value \(differing.first.map { "#\($0): \(got[$0]) vs \(expected[$0])" } ?? "")")
        }
    }

    /// The first tensor of each quantized type in the installed SmolLM2 and Qwen2.5 GGUFs: rows 0–3 as gguf-py dequantizes them.
    func testRealModelTensorsMatchGGUFPy() throws {
        let note = try Self.note()
        XCTAssertEqual(Set(note.models.map(\.type)), ["Q8_0", "Q4_1", "Q5_0", "Q6_K", "Q4_K"])
        var files: [String: GGUFFile] = [:]
        for m in note.models {
            let directory = TestPaths.installedModels.appendingPathComponent(m.model)
            let path = directory.appendingPathComponent(m.file).path
            guard FileManager.default.fileExists(atPath: path) else {
                XCTFail("\(m.model) is not installed (\(path)); run `make test-models`")
                continue
            }
            let file = try files[path] ?? GGUFFile.read(path: path)
            files[path] = file
            let info = try XCTUnwrap(file.tensors[m.tensor], m.tensor)
            XCTAssertEqual(info.dims[0], m.cols, m.tensor)
            let matrix = try file.matrix(m.tensor, rows: info.dims[1], cols: info.dims[0])
            XCTAssertEqual(matrix.type.description.uppercased(), m.type.uppercased(), m.tensor)
            var row = [Float](repeating: .nan, count: m.cols)
            XCTAssertEqual(m.row_head.count, m.row_sha256.count, "\(m.tensor): fixture rows")
            for (r, (hash, head)) in zip(m.row_sha256, m.row_head).enumerated() where r < matrix.rows {
                matrix.dequantizeRow(r, into: &row)
                XCTAssertEqual(Array(row.prefix(8)), head, "\(m.model) \(m.tensor) row \(r): first values")
                XCTAssertEqual(SHA256.hex(row.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }), hash,
                               "\(m.model) \(m.tensor) (\(m.type)) row \(r) differs from gguf-py's")
            }
        }
    }

    private func floats(_ url: URL) throws -> [Float] {
        let data = try Data(contentsOf: url)
        return data.withUnsafeBytes { raw in
            (0..<(data.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
    }
}
