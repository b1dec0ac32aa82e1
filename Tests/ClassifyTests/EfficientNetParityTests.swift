// EfficientNet-Lite0 parity against efficientnet_lite_pytorch + torch on the sample photos
// (Fixtures/effnet_goldens.json, made by scripts/goldens/make_effnet_goldens.py), and the
// restricted PyTorch reader refusing what a state_dict does not need.

import Foundation
import Media
import Models
import ModelStore
import TestSupport
import Weights
import XCTest

final class EfficientNetParityTests: XCTestCase {
    static let root = TestPaths.packageRoot
    nonisolated(unsafe) static var cached: ImageClassifier?

    static func classifier() throws -> ImageClassifier {
        if let cached { return cached }
        let dir: URL
        do { dir = try ModelStore().resolve("efficientnet-lite0").directory } catch {
            throw ModelMissing("efficientnet-lite0", error)
        }
        let c = try ImageClassifier(directory: dir.path)
        cached = c
        return c
    }

    struct Golden: Decodable {
        let image: String
        let pixels_sum: Double
        let pixels_index: [Int]
        let pixels_values: [Float]
        let features_sum: Double
        let logits: [Float]
        let top5: [Int]
    }
    struct Goldens: Decodable { let images: [Golden] }

    func testLogitsAndTop5MatchTorch() throws {
        let classifier = try Self.classifier()
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/effnet_goldens", withExtension: "json"))
        let goldens = try JSONDecoder().decode(Goldens.self, from: Data(contentsOf: url))
        XCTAssertEqual(goldens.images.count, 4)
        var worstLogit: Float = 0, worstPixel: Float = 0, worstPixelSum = 0.0, worstFeatureSum = 0.0
        for g in goldens.images {
            let image = try ImageDecoder.decode(path: Self.root.appendingPathComponent("samples/\(g.image)").path)
            // (3, 224, 224) here, (224, 224, 3) in the golden.
            let pixels = EfficientNetLite.preprocess(image)
            for (i, v) in zip(g.pixels_index, g.pixels_values) {
                let y = i / (224 * 3), x = (i / 3) % 224, c = i % 3
                worstPixel = max(worstPixel, abs(pixels[c * 224 * 224 + y * 224 + x] - v))
            }
            let pixelSum = pixels.reduce(0.0) { $0 + Double($1) }
            worstPixelSum = max(worstPixelSum, abs(pixelSum - g.pixels_sum))
            let (features, logits) = classifier.network.forward(pixels)
            let err = zip(logits, g.logits).map { abs($0 - $1) }.max() ?? .infinity
            worstLogit = max(worstLogit, err)
            // Measured max |Δlogit| over the four photos: 6.2e-6 (torch 2.13.0+cpu), 7.4e-6 on 2026-12-04; tolerance 6e-5.
            XCTAssertLessThan(err, 6e-5, "\(g.image): logits differ by \(err)")
            let fsum = features.reduce(0) { $0 + Double($1) }
            worstFeatureSum = max(worstFeatureSum, abs(fsum - g.features_sum) / max(abs(g.features_sum), 1))
            XCTAssertEqual(ImageClassifier.top(logits, labels: classifier.labels, k: 5).map(\.index), g.top5, g.image)
        }
        XCTAssertEqual(worstPixel, 0, "Pillow-identical resize expected")
        // Measured 2026-12-04: pixel sums 0 (float64 sums of the same float32 values), feature sums
        // 3.6e-7 relative; tolerances 1e-9 per value (summation order only) and 3e-6 (≤ 10 × measured).
        XCTAssertLessThanOrEqual(worstPixelSum, 1e-9 * 224 * 224 * 3)
        XCTAssertLessThanOrEqual(worstFeatureSum, 3e-6)
        print("EfficientNet-Lite0 parity: max |Δlogit| \(worstLogit), max |Δpixel| \(worstPixel), |Δ pixel sum| \(worstPixelSum), "
              + "|Δ feature sum| (relative) \(worstFeatureSum)")
    }

    func testClassifiesTheSampleCatAsACat() throws {
        let classifier = try Self.classifier()
        let cat = try ImageDecoder.decode(path: Self.root.appendingPathComponent("samples/chelsea.png").path)
        let top = classifier.classify(cat, top: 3)
        XCTAssertEqual(top.count, 3)
        XCTAssertTrue(top.contains { $0.name == "tabby cat" || $0.name == "Egyptian Mau" }, "\(top)")
        XCTAssertEqual(Double(top.map(\.score).reduce(0, +)), 0.91, accuracy: 0.09)
    }

    // The three header pickles of a legacy torch.save file (magic, protocol 1001, sys_info).
    static let header = Data(hex: "80028a0a6cfc9c46f9206aa850192e80024de9032e80027d710028581000000070726f746f636f6c5f76657273696f6e71014de903580d0000006c6974746c655f656e6469616e710288580a000000747970655f73697a657371037d710428580500000073686f727471054b025803000000696e7471064b0458040000006c6f6e6771074b0475752e")

    func load(_ bytes: Data) -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-\(UUID().uuidString).pth").path
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: bytes), path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        do { _ = try PyTorchCheckpoint(path: path); return "loaded" } catch { return "\(error)" }
    }

    func testRefusesGlobalsAndOpcodesAStateDictDoesNotNeed() {
        // cos\nsystem\n (S'ls' tuple REDUCE): the classic pickle exploit.
        let exploit = Self.header + Data([0x80, 0x02]) + Data("cos\nsystem\n".utf8) + Data([0x58, 2, 0, 0, 0]) + Data("ls".utf8) + Data([0x85, 0x52, 0x2E])
        XCTAssertTrue(load(exploit).contains("refused global os.system"), load(exploit))
        let builtins = Self.header + Data([0x80, 0x02]) + Data("c__builtin__\neval\n".utf8) + Data([0x2E])
        XCTAssertTrue(load(builtins).contains("refused global __builtin__.eval"))
        // INST (0x69) and NEWOBJ (0x81) are not state_dict opcodes.
        XCTAssertTrue(load(Self.header + Data([0x80, 0x02, 0x81, 0x2E])).contains("refused opcode 0x81"))
        XCTAssertTrue(load(Self.header + Data([0x80, 0x02, 0x69])).contains("refused opcode 0x69"))
        XCTAssertTrue(load(Data([0x50, 0x4B, 3, 4, 0, 0])).contains("zip PyTorch checkpoint"))
        XCTAssertTrue(load(Data("not a checkpoint at all".utf8)).contains("pickle"))
    }

    func testRefusesTruncatedAndOutOfBoundsViews() throws {
        let dir: URL
        do { dir = try ModelStore().resolve("efficientnet-lite0").directory } catch { throw ModelMissing("efficientnet-lite0", error) }
        let real = try Data(contentsOf: dir.appendingPathComponent(ImageClassifier.weightsFile))
        for cut in [200, 30_000, 47_180, real.count - 10] {
            let message = load(real.prefix(cut))
            XCTAssertTrue(message.contains("truncated") || message.contains("pickle"), "cut \(cut): \(message)")
        }
        // A storage offset past the end: (storage, 10**6, (2,), (1,), False, OrderedDict()).
        let view = RestrictedUnpicklerProbe.outOfBoundsMessage()
        XCTAssertTrue(view.contains("reaches past its storage"), view)
    }
}

enum RestrictedUnpicklerProbe {
    /// A full legacy file with one tensor whose view lies outside its 2-element storage.
    static func outOfBoundsMessage() -> String {
        var p = Data([0x80, 0x02]) + Data("ccollections\nOrderedDict\n".utf8) + Data([0x29, 0x52, 0x28])
        p += Data([0x58, 1, 0, 0, 0]) + Data("w".utf8)
        p += Data("ctorch._utils\n_rebuild_tensor_v2\n".utf8) + Data([0x28])
        p += Data([0x28, 0x58, 7, 0, 0, 0]) + Data("storage".utf8) + Data("ctorch\nFloatStorage\n".utf8)
        p += Data([0x58, 1, 0, 0, 0]) + Data("0".utf8) + Data([0x58, 3, 0, 0, 0]) + Data("cpu".utf8) + Data([0x4B, 2, 0x4E, 0x74, 0x51])
        p += Data([0x4A, 0x40, 0x42, 0x0F, 0x00])                    // offset 1_000_000
        p += Data([0x4B, 2, 0x85, 0x4B, 1, 0x85, 0x89, 0x29, 0x74, 0x52, 0x75, 0x2E])
        let keys = Data([0x80, 0x02, 0x5D, 0x58, 1, 0, 0, 0]) + Data("0".utf8) + Data([0x61, 0x2E])
        var storage = Data([2, 0, 0, 0, 0, 0, 0, 0]); storage += Data(count: 8)
        let bytes = EfficientNetParityTests.header + p + keys + storage
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("oob-\(UUID().uuidString).pth").path
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: bytes), path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        do { _ = try PyTorchCheckpoint(path: path); return "loaded" } catch { return "\(error)" }
    }
}

extension Data {
    init(hex: String) {
        var bytes: [UInt8] = []
        var i = hex.startIndex
        while i < hex.endIndex { let j = hex.index(i, offsetBy: 2); bytes.append(UInt8(hex[i..<j], radix: 16)!); i = j }
        self.init(bytes)
    }
}
