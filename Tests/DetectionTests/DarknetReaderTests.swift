import Foundation
import Models
import TestSupport
import Weights
import XCTest

/// Darknet cfg/weights reading: a small network written here round-trips; malformed files are
/// refused with a WeightError naming the file (never a crash).
final class DarknetReaderTests: XCTestCase {
    /// conv(bn, leaky) → maxpool → conv 1×1 (bias, linear) → yolo;  route -3 → upsample → route -1,0 → conv 1×1 → yolo.
    static let cfg = """
        [net]
        # a comment
        width=8
        height = 8
        channels=3

        [convolutional]
        batch_normalize=1
        filters=4
        size=3
        stride=1
        pad=1
        activation=leaky

        [maxpool]
        size=2
        stride=2

        [convolutional]
        size=1
        stride=1
        pad=1
        filters=14
        activation=linear

        [yolo]
        mask = 0,1
        anchors = 2,3, 4,5, 6,7
        classes=2
        num=3

        [route]
        layers = -3

        [upsample]
        stride=2

        [route]
        layers = -1, 0

        [convolutional]
        filters=7
        size=1
        stride=1
        pad=1
        activation=linear

        [yolo]
        mask = 2
        anchors = 2,3, 4,5, 6,7
        classes=2
        num=3
        """
    /// Floats the cfg's convolutions hold: 4·4 + 4·3·9, 14 + 14·4, 7 + 7·8.
    static let parameterCount = 16 + 108 + 14 + 56 + 7 + 56

    func folder() throws -> URL {
        try temporaryDirectory(for: self, prefix: "hearth-darknet")
    }

    static func weightsData(major: Int32 = 0, minor: Int32 = 2, floats: [Float]) -> Data {
        var data = Data()
        for v in [major, minor, 0] { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }
        if major * 10 + minor >= 2 { withUnsafeBytes(of: UInt64(1234).littleEndian) { data.append(contentsOf: $0) } }
        else { withUnsafeBytes(of: UInt32(1234).littleEndian) { data.append(contentsOf: $0) } }
        floats.withUnsafeBytes { data.append(contentsOf: $0) }
        return data
    }

    /// Parameters with variances kept positive (every 4th BN float of the first layer is a variance).
    static func parameters() -> [Float] {
        var values = (0..<parameterCount).map { Float($0 % 17) * 0.01 + 0.01 }
        for i in 12..<16 { values[i] = 0.5 + Float(i) * 0.1 }   // layer 0 rolling_variance
        return values
    }

    func write(cfg: String = DarknetReaderTests.cfg, weights: Data? = nil, names: String = "a\nb\n") throws -> (URL, String, String) {
        let dir = try folder()
        try cfg.write(to: dir.appendingPathComponent("net.cfg"), atomically: true, encoding: .utf8)
        try (weights ?? Self.weightsData(floats: Self.parameters())).write(to: dir.appendingPathComponent("net.weights"))
        try names.write(to: dir.appendingPathComponent("net.names"), atomically: true, encoding: .utf8)
        return (dir, dir.appendingPathComponent("net.cfg").path, dir.appendingPathComponent("net.weights").path)
    }

    func testRoundTripShapesAndParameters() throws {
        let (_, cfg, weights) = try write()
        let net = try DarknetNetwork.load(cfg: cfg, weights: weights)
        XCTAssertEqual(net.input, DarknetShape(channels: 3, height: 8, width: 8))
        XCTAssertEqual(net.seen, 1234)
        XCTAssertEqual(net.version.minor, 2)
        // route -3 (at layer 4) is layer 1's 4×4×4, upsampled ×2; route -1, 0 concatenates 4×8×8 + 4×8×8.
        XCTAssertEqual(net.layers.map(\.output.description),
                       ["4×8×8", "4×4×4", "14×4×4", "14×4×4", "4×4×4", "4×8×8", "8×8×8", "7×8×8", "7×8×8"])
        XCTAssertEqual(net.parameterCount, Self.parameterCount)
        guard case .convolutional(let c0) = net.layers[0].kind, case .convolutional(let c2) = net.layers[2].kind,
              case .yolo(let head) = net.layers[3].kind, case .maxpool(let size, let stride, let padding) = net.layers[1].kind else {
            return XCTFail("unexpected layer kinds")
        }
        let p = Self.parameters()
        XCTAssertEqual(c0.biases, Array(p[0..<4]))
        XCTAssertEqual(c0.scales, Array(p[4..<8]))
        XCTAssertEqual(c0.rollingMean, Array(p[8..<12]))
        XCTAssertEqual(c0.rollingVariance, Array(p[12..<16]))
        XCTAssertEqual(c0.weights, Array(p[16..<124]))
        XCTAssertEqual(c0.padding, 1)
        XCTAssertEqual(c2.padding, 0, "pad=1 with size=1 means padding size/2 = 0")
        XCTAssertEqual(c2.biases, Array(p[124..<138]))
        XCTAssertFalse(c2.batchNormalize)
        XCTAssertEqual([size, stride, padding], [2, 2, 1], "maxpool padding defaults to size − 1")
        XCTAssertEqual(head.anchors, [.init(width: 2, height: 3), .init(width: 4, height: 5)])
        XCTAssertEqual(head.classes, 2)
    }

    func testOldHeaderWithThirtyTwoBitSeen() throws {
        let (_, cfg, weights) = try write(weights: Self.weightsData(major: 0, minor: 1, floats: Self.parameters()))
        XCTAssertEqual(try DarknetNetwork.load(cfg: cfg, weights: weights).seen, 1234)
    }

    func testDetectorRunsOnTheSmallNetwork() throws {
        let (dir, _, _) = try write()
        let detector = try YOLODetector(directory: dir.path)
        XCTAssertEqual(detector.labels, ["a", "b"])
        let heads = detector.forward(blob: [Float](repeating: 0.5, count: 3 * 64))
        XCTAssertEqual(heads.map(\.values.count), [14 * 16, 7 * 64])
        XCTAssertTrue(heads.allSatisfy { $0.values.allSatisfy(\.isFinite) })
    }

    func assertRefused(_ cfg: String = DarknetReaderTests.cfg, weights: Data? = nil, names: String = "a\nb\n",
                       mentioning fragment: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let (dir, cfgPath, weightsPath) = try write(cfg: cfg, weights: weights, names: names)
        XCTAssertThrowsError(try YOLODetector(directory: dir.path), file: file, line: line) { error in
            guard let e = error as? WeightError else { return XCTFail("not a WeightError: \(error)", file: file, line: line) }
            XCTAssertTrue([cfgPath, weightsPath, dir.appendingPathComponent("net.names").path].contains(e.path),
                          "error names \(e.path)", file: file, line: line)
            XCTAssertTrue(e.message.contains(fragment), "'\(e.message)' does not mention '\(fragment)'", file: file, line: line)
        }
    }

    func testEveryTruncationOfTheWeightsIsRefused() throws {
        let full = Self.weightsData(floats: Self.parameters())
        for cut in stride(from: 0, to: full.count, by: 7) {
            try assertRefused(weights: full.prefix(cut), mentioning: cut == 0 ? "empty" : cut < 12 ? "header" : "truncated")
        }
    }

    func testWeightsFileMismatches() throws {
        try assertRefused(weights: Self.weightsData(floats: Self.parameters() + [1]), mentioning: "4 bytes left")
        try assertRefused(weights: Self.weightsData(major: 5000, floats: Self.parameters()), mentioning: "not a Darknet weights version")
        var nan = Self.parameters(); nan[20] = .nan
        try assertRefused(weights: Self.weightsData(floats: nan), mentioning: "weights[4]")
        var negative = Self.parameters(); negative[13] = -1
        try assertRefused(weights: Self.weightsData(floats: negative), mentioning: "rolling_variance[1] is negative")
        try assertRefused(names: "a\n", mentioning: "holds 1 class names")
    }

    func testMalformedConfigs() throws {
        let c = Self.cfg
        try assertRefused(c.replacingOccurrences(of: "filters=4", with: "filtres=4"), mentioning: "has no option 'filtres'")
        try assertRefused(c.replacingOccurrences(of: "filters=4", with: "filters=four"), mentioning: "'four' is not an integer")
        try assertRefused(c.replacingOccurrences(of: "filters=4", with: "filters 4"), mentioning: "expected key=value")
        try assertRefused(c.replacingOccurrences(of: "[maxpool]", with: "[lstm]"), mentioning: "section [lstm] is not supported")
        try assertRefused(c.replacingOccurrences(of: "[maxpool]", with: "[maxpool"), mentioning: "malformed section header")
        try assertRefused(c.replacingOccurrences(of: "filters=14", with: "filters=15"), mentioning: "2 anchors × (2 classes + 5) = 14")
        try assertRefused(c.replacingOccurrences(of: "layers = -3", with: "layers = 9"), mentioning: "not an earlier layer")
        try assertRefused(c.replacingOccurrences(of: "mask = 0,1", with: "mask = 0,5"), mentioning: "must pick anchors")
        try assertRefused(c.replacingOccurrences(of: "anchors = 2,3, 4,5, 6,7\nclasses=2\nnum=3\n\n[route]", with: "anchors = 2,3, 4,5\nclasses=2\nnum=3\n\n[route]"),
                          mentioning: "num=3 needs 6")
        try assertRefused(c.replacingOccurrences(of: "activation=leaky", with: "activation=mish"), mentioning: "'mish' is not supported")
        try assertRefused(c.replacingOccurrences(of: "batch_normalize=1\n", with: "batch_normalize=1\ngroups=3\n"), mentioning: "groups=3 must divide")
        try assertRefused(c.replacingOccurrences(of: "width=8", with: "width=0"), mentioning: "width: 0 is outside")
        try assertRefused(c.replacingOccurrences(of: "[net]", with: "[convolutional]"), mentioning: "has no option 'width'")
        try assertRefused(c.replacingOccurrences(of: "stride=1\npad=1\nactivation=leaky", with: "stride=1\npad=1\nactivation=leaky\nstride=2"),
                          mentioning: "sets 'stride' twice")
        try assertRefused(c.replacingOccurrences(of: "[route]\nlayers = -1, 0", with: "[route]\nlayers = -1, 1"), mentioning: "different sizes")
        try assertRefused("[net]\nwidth=8\nheight=8\n", mentioning: "no layers")
        try assertRefused(String(c.prefix(while: { $0 != "[" })) + "[net]\nwidth=8\nheight=8\n[maxpool]\nsize=2\n", mentioning: "no [yolo] layer")
        try assertRefused(c.replacingOccurrences(of: "size=3", with: "size=31\nstride=1"), mentioning: "sets 'stride' twice")
        try assertRefused(c.replacingOccurrences(of: "pad=1\nactivation=leaky", with: "padding=0\nactivation=leaky").replacingOccurrences(of: "size=3", with: "size=11"),
                          mentioning: "does not fit")
    }

    func testOversizedNetworksAreRefusedBeforeAllocating() throws {
        try assertRefused(Self.cfg.replacingOccurrences(of: "width=8", with: "width=8192").replacingOccurrences(of: "height = 8", with: "height=8192")
                          .replacingOccurrences(of: "filters=4", with: "filters=4096"), mentioning: "too large")
    }

    /// Seeded mutations of the small network's cfg and weights: each loads or is refused with a
    /// WeightError, never a crash.
    func testMutatedFilesLoadOrAreRefused() throws {
        var state: UInt64 = 0x9E3779B97F4A7C15
        func next() -> Int { state = state &* 6364136223846793005 &+ 1442695040888963407; return Int(state >> 33) }
        let cfgBytes = Array(Self.cfg.utf8), weights = Self.weightsData(floats: Self.parameters())
        let replacements = Array("0123456789-,=[]# \nabz.".utf8)
        var loaded = 0, refused = 0
        for round in 0..<300 {
            var cfg = cfgBytes, w = [UInt8](weights)
            for _ in 0..<(1 + next() % 3) {
                if round % 2 == 0 { cfg[next() % cfg.count] = replacements[next() % replacements.count] }
                else { w[next() % w.count] = UInt8(next() % 256) }
            }
            let (dir, _, _) = try write(cfg: String(decoding: cfg, as: UTF8.self), weights: Data(w))
            do { _ = try YOLODetector(directory: dir.path); loaded += 1 } catch is WeightError { refused += 1 }
        }
        XCTAssertEqual(loaded + refused, 300)
        XCTAssertGreaterThan(refused, 50)
    }
}
