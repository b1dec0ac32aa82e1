import Foundation
import Models
import TestSupport
import Weights
import XCTest

/// Whisper weights from strangers: a tiny Hugging Face layout (config.json + model.safetensors)
/// written here, then broken one way at a time. Every refusal names the file and the field or
/// tensor; nothing traps or allocates what the config merely claims.
final class StrangerWeightsTests: XCTestCase {
    let d = 8, hidden = 16, melBins = 4, context = 4, vocab = 10

    var config: [String: Any] {
        ["num_mel_bins": melBins, "max_source_positions": context, "d_model": d, "encoder_attention_heads": 2,
         "encoder_layers": 1, "vocab_size": vocab, "max_target_positions": context, "decoder_attention_heads": 2,
         "decoder_layers": 1]
    }

    /// Every tensor WhisperForConditionalGeneration has at these sizes, name → shape.
    var tensors: [(String, [Int])] {
        var t: [(String, [Int])] = [("model.encoder.conv1.weight", [d, melBins, 3]), ("model.encoder.conv1.bias", [d]),
                                    ("model.encoder.conv2.weight", [d, d, 3]), ("model.encoder.conv2.bias", [d]),
                                    ("model.encoder.embed_positions.weight", [context, d]),
                                    ("model.decoder.embed_tokens.weight", [vocab, d]),
                                    ("model.decoder.embed_positions.weight", [context, d])]
        func norm(_ s: String) { t += [("\(s).weight", [d]), ("\(s).bias", [d])] }
        func attention(_ s: String) {
            for p in ["q_proj", "k_proj", "v_proj", "out_proj"] {
                t.append(("\(s).\(p).weight", [d, d]))
                if p != "k_proj" { t.append(("\(s).\(p).bias", [d])) }
            }
        }
        func ffn(_ s: String) {
            t += [("\(s).fc1.weight", [hidden, d]), ("\(s).fc1.bias", [hidden]), ("\(s).fc2.weight", [d, hidden]), ("\(s).fc2.bias", [d])]
        }
        norm("model.encoder.layer_norm"); norm("model.decoder.layer_norm")
        norm("model.encoder.layers.0.self_attn_layer_norm"); attention("model.encoder.layers.0.self_attn")
        norm("model.encoder.layers.0.final_layer_norm"); ffn("model.encoder.layers.0")
        norm("model.decoder.layers.0.self_attn_layer_norm"); attention("model.decoder.layers.0.self_attn")
        norm("model.decoder.layers.0.encoder_attn_layer_norm"); attention("model.decoder.layers.0.encoder_attn")
        norm("model.decoder.layers.0.final_layer_norm"); ffn("model.decoder.layers.0")
        return t
    }

    /// Writes the directory; `header` may rewrite the JSON header text before it is stored.
    func write(config: [String: Any]? = nil, tensors: [(String, [Int])]? = nil,
               header edit: (String) -> String = { $0 }, cut: Int = 0) throws -> URL {
        let folder = try temporaryDirectory(for: self, prefix: "hearth-stranger")
        try JSONSerialization.data(withJSONObject: config ?? self.config).write(to: folder.appendingPathComponent("config.json"))
        var entries: [String] = []
        var data = Data()
        for (name, shape) in tensors ?? self.tensors {
            let count = shape.reduce(1, *)
            let start = data.count
            for i in 0..<count { withUnsafeBytes(of: Float(i % 7) * 0.01) { data.append(contentsOf: $0) } }
            entries.append("\"\(name)\":{\"dtype\":\"F32\",\"shape\":\(shape),\"data_offsets\":[\(start),\(data.count)]}")
        }
        var header = Data(edit("{" + entries.joined(separator: ",") + "}").utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var file = Data()
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { file.append(contentsOf: $0) }
        file += header + data
        try file.dropLast(cut).write(to: folder.appendingPathComponent("model.safetensors"))
        return folder
    }

    /// Loading `folder` fails with a WeightError naming `file` and containing every fragment.
    func assertRefused(_ folder: URL, file: String, _ fragments: [String], line: UInt = #line) {
        XCTAssertThrowsError(try WhisperModel.load(directory: folder), line: line) { error in
            guard let weightError = error as? WeightError else { return XCTFail("not a WeightError: \(error)", line: line) }
            XCTAssertEqual(URL(fileURLWithPath: weightError.path).lastPathComponent, file, "\(error)", line: line)
            for fragment in fragments {
                XCTAssertTrue(weightError.message.contains(fragment), "«\(fragment)» not in: \(error)", line: line)
            }
        }
    }

    func testTheTinyCheckpointLoads() throws {
        let (model, _, format) = try WhisperModel.load(directory: try write())
        XCTAssertEqual(format, .huggingface)
        XCTAssertEqual(model.dimensions.audioWidth, d)
    }

    func testShapesThatDisagreeWithTheConfigAreRefused() throws {
        var wide = config
        wide["d_model"] = 16
        assertRefused(try write(config: wide), file: "model.safetensors", ["has shape", "expected", "16"])
        var moreMels = config
        moreMels["num_mel_bins"] = 80
        assertRefused(try write(config: moreMels), file: "model.safetensors", ["model.encoder.conv1.weight", "[8, 4, 3]", "[8, 80, 3]"])
    }

    func testImplausibleOrNegativeConfigSizesAreRefusedBeforeAnyAllocation() throws {
        for (key, value) in [("d_model", 1_000_000_000), ("encoder_layers", -1), ("vocab_size", 0),
                             ("max_target_positions", Int.max)] {
            var bad = config
            bad[key] = value
            assertRefused(try write(config: bad), file: "config.json", [key, "\(value)", "out of range"])
        }
        var missing = config
        missing["decoder_layers"] = nil
        assertRefused(try write(config: missing), file: "config.json", ["decoder_layers"])
        var uneven = config
        uneven["encoder_attention_heads"] = 3
        assertRefused(try write(config: uneven), file: "config.json", ["inconsistent"])
    }

    /// Word-timestamp heads must name a decoder layer and head that exist.
    func testAlignmentHeadsOutsideTheDecoderAreRefused() throws {
        var good = config
        good["alignment_heads"] = [[0, 1]]
        XCTAssertEqual(try WhisperModel.load(directory: try write(config: good)).1.alignmentHeads, [[0, 1]])
        for heads: Any in [[[1, 0]], [[0, 2]], [[0]], [[-1, 0]], "all"] {
            var bad = config
            bad["alignment_heads"] = heads
            assertRefused(try write(config: bad), file: "config.json", ["alignment_heads"])
        }
    }

    func testMissingExtraAndDuplicatedTensorsAreRefused() throws {
        let all = tensors
        assertRefused(try write(tensors: all.filter { $0.0 != "model.decoder.layers.0.fc2.bias" }), file: "model.safetensors",
                      ["missing tensor", "model.decoder.layers.0.fc2.bias"])
        assertRefused(try write(tensors: all + [("model.decoder.extra.weight", [2])]), file: "model.safetensors",
                      ["not used", "model.decoder.extra.weight"])
        // the same key twice in the header (JSON parsers keep one silently)
        assertRefused(try write(header: { $0.replacingOccurrences(of: "}}", with: "},\"model.encoder.conv1.bias\":{\"dtype\":\"F32\",\"shape\":[8],\"data_offsets\":[0,32]}}") }),
                      file: "model.safetensors", ["model.encoder.conv1.bias", "appears twice"])
    }

    func testTruncatedFilesWrongMagicAndLyingOffsetsAreRefused() throws {
        assertRefused(try write(cut: 4), file: "model.safetensors", ["outside the file"])
        let folder = try write()
        let weights = folder.appendingPathComponent("model.safetensors")
        var bytes = try Data(contentsOf: weights)
        bytes.replaceSubrange(0..<8, with: Data("GGUF\u{3}\0\0\0".utf8))   // another format's magic
        try bytes.write(to: weights)
        assertRefused(folder, file: "model.safetensors", ["header size"])
        assertRefused(try write(header: { $0.replacingOccurrences(of: "[0,384]", with: "[0,9223372036854775807]") }),
                      file: "model.safetensors", ["outside the file"])
        assertRefused(try write(header: { $0.replacingOccurrences(of: "\"shape\":[8, 4, 3]", with: "\"shape\":[-8,-4,3]") }),
                      file: "model.safetensors", ["negative"])
        assertRefused(try write(header: { $0.replacingOccurrences(of: "\"shape\":[8, 4, 3]", with: "\"shape\":[4294967296,4294967296,3]") }),
                      file: "model.safetensors", ["too large"])
    }
}
