import Foundation
import Models
import Tensors
import TestSupport
import Weights
import XCTest

/// Malformed checkpoints are refused with a message that names the file; HF layout loads too.
final class WeightLoadingTests: XCTestCase {
    func tempDir() throws -> URL {
        try temporaryDirectory(for: self, prefix: "hearth-weights")
    }

    func copyModel(to dir: URL, truncateTo bytes: Int? = nil) throws {
        let source = try TestEnv.modelDirectory("whisper-tiny.en")
        for f in ["config.json", "tokenizer.json", "vocabulary.txt"] {
            try FileManager.default.copyItem(at: source.appendingPathComponent(f), to: dir.appendingPathComponent(f))
        }
        var data = try Data(contentsOf: source.appendingPathComponent("model.bin"))
        if let bytes { data = data.prefix(bytes) }
        try data.write(to: dir.appendingPathComponent("model.bin"))
    }

    func expectWeightError(_ dir: URL, containing fragment: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try WhisperTranscriber.load(directory: dir), file: file, line: line) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains(dir.lastPathComponent), "message names the file: \(text)", file: file, line: line)
            XCTAssertTrue(text.contains(fragment), "expected '\(fragment)' in: \(text)", file: file, line: line)
        }
    }

    func testTruncatedModelBinIsRefused() throws {
        for size in [2, 100, 5_000_000, 75_537_000] {
            let dir = try tempDir()
            try copyModel(to: dir, truncateTo: size)
            expectWeightError(dir, containing: "truncated")
        }
    }

    func testGarbageAndEmptyModelBinAreRefused() throws {
        let dir = try tempDir()
        try copyModel(to: dir)
        try Data("this is not a model".utf8).write(to: dir.appendingPathComponent("model.bin"))
        expectWeightError(dir, containing: "not a CTranslate2 model.bin")
        try Data().write(to: dir.appendingPathComponent("model.bin"))
        expectWeightError(dir, containing: "empty")
    }

    func testMissingDirectoryContentIsRefused() throws {
        let dir = try tempDir()
        expectWeightError(dir, containing: "no Whisper weights")
    }

    /// Rewrites the CTranslate2 checkpoint as a Hugging Face directory (split q/k/v, HF names,
    /// float16 safetensors) and checks both give identical tokens.
    func testHuggingFaceLayoutGivesIdenticalTokens() throws {
        let source = try TestEnv.modelDirectory("whisper-tiny.en")
        let (ct2, _) = try CTranslate2Reader.read(path: source.appendingPathComponent("model.bin").path)
        let d = 384
        var tensors: [(String, [Int], Data)] = []
        func add(_ name: String, _ ct2Name: String, rows: Range<Int>? = nil) throws {
            let raw = try ct2.raw(ct2Name)
            var shape = raw.shape, bytes = Data(raw.bytes)
            if let rows {
                let rowBytes = raw.bytes.count / raw.shape[0]
                bytes = bytes.subdata(in: rows.lowerBound * rowBytes ..< rows.upperBound * rowBytes)
                shape[0] = rows.count
            }
            guard raw.dtype == .float16 else { throw WeightError(ct2Name, "expected float16, found \(raw.dtype)") }
            tensors.append((name, shape, bytes))
        }
        func linear(_ hf: String, _ c: String, rows: Range<Int>? = nil, bias: Bool = true) throws {
            try add("\(hf).weight", "\(c)/weight", rows: rows)
            if bias { try add("\(hf).bias", "\(c)/bias", rows: rows) }
        }
        func norm(_ hf: String, _ c: String) throws { try add("\(hf).weight", "\(c)/gamma"); try add("\(hf).bias", "\(c)/beta") }
        try linear("model.encoder.conv1", "encoder/conv1"); try linear("model.encoder.conv2", "encoder/conv2")
        try add("model.encoder.embed_positions.weight", "encoder/position_encodings/encodings")
        try norm("model.encoder.layer_norm", "encoder/layer_norm")
        try add("model.decoder.embed_tokens.weight", "decoder/embeddings/weight")
        try add("model.decoder.embed_positions.weight", "decoder/position_encodings/encodings")
        try norm("model.decoder.layer_norm", "decoder/layer_norm")
        for side in ["encoder", "decoder"] {
            for i in 0..<4 {
                let hf = "model.\(side).layers.\(i)", c = "\(side)/layer_\(i)"
                try linear("\(hf).self_attn.q_proj", "\(c)/self_attention/linear_0", rows: 0..<d)
                try linear("\(hf).self_attn.k_proj", "\(c)/self_attention/linear_0", rows: d..<2 * d, bias: false)
                try linear("\(hf).self_attn.v_proj", "\(c)/self_attention/linear_0", rows: 2 * d..<3 * d)
                try linear("\(hf).self_attn.out_proj", "\(c)/self_attention/linear_1")
                try norm("\(hf).self_attn_layer_norm", "\(c)/self_attention/layer_norm")
                try linear("\(hf).fc1", "\(c)/ffn/linear_0"); try linear("\(hf).fc2", "\(c)/ffn/linear_1")
                try norm("\(hf).final_layer_norm", "\(c)/ffn/layer_norm")
                if side == "decoder" {
                    try linear("\(hf).encoder_attn.q_proj", "\(c)/attention/linear_0")
                    try linear("\(hf).encoder_attn.k_proj", "\(c)/attention/linear_1", rows: 0..<d, bias: false)
                    try linear("\(hf).encoder_attn.v_proj", "\(c)/attention/linear_1", rows: d..<2 * d)
                    try linear("\(hf).encoder_attn.out_proj", "\(c)/attention/linear_2")
                    try norm("\(hf).encoder_attn_layer_norm", "\(c)/attention/layer_norm")
                }
            }
        }
        let dir = try tempDir()
        try writeSafetensors(tensors, to: dir.appendingPathComponent("model.safetensors"))
        let config: [String: Any] = ["d_model": d, "encoder_layers": 4, "decoder_layers": 4, "encoder_attention_heads": 6,
                                     "decoder_attention_heads": 6, "num_mel_bins": 80, "vocab_size": 51864,
                                     "max_source_positions": 1500, "max_target_positions": 448,
                                     "begin_suppress_tokens": [220, 50256]]
        try JSONSerialization.data(withJSONObject: config).write(to: dir.appendingPathComponent("config.json"))
        try FileManager.default.copyItem(at: source.appendingPathComponent("tokenizer.json"), to: dir.appendingPathComponent("tokenizer.json"))

        let hf = try WhisperTranscriber.load(directory: dir)
        XCTAssertEqual(hf.format, .huggingface)
        let samples = TestEnv.samples.appendingPathComponent("jfk.wav").path
        let reference = try TestEnv.transcribe(samples, TestEnv.greedy())
        let mel = try Media.LogMelSpectrogram.load(path: samples)
        let fromHF = try hf.transcribe(count: 1, load: { _ in mel }, options: TestEnv.greedy())[0].get()
        XCTAssertEqual(fromHF.windows, reference.windows)
    }

    func writeSafetensors(_ tensors: [(String, [Int], Data)], to url: URL) throws {
        var header: [String: Any] = [:], offset = 0
        for (name, shape, data) in tensors {
            header[name] = ["dtype": "F16", "shape": shape, "data_offsets": [offset, offset + data.count]]
            offset += data.count
        }
        var json = try JSONSerialization.data(withJSONObject: header)
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data()
        var size = UInt64(json.count).littleEndian
        out.append(Data(bytes: &size, count: 8))
        out.append(json)
        for (_, _, data) in tensors { out.append(data) }
        try out.write(to: url)
    }
}

import Media
