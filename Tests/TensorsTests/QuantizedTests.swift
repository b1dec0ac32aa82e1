import Foundation
import Tensors
import TestSupport
import XCTest

// Quantized weight matrices: every supported GGML block format decoded exactly as its definition
// says (blocks crafted from random bytes, expected values computed here from ggml-common.h's
// layouts), and products against float64 references of the decoded matrices.
//
// Tolerance of the products: activations are quantized to 8-bit blocks (scale d_b = amax_b/127
// per block of 32, or of 256 for the K-quants; the scale itself rounded to fp16 for the 32-element
// formats), so each activation is off by at most ~0.5·d_b (+ 127·d_b·2⁻¹¹ from the fp16 scale).
// Each output is checked against that bound: |y − y_ref| ≤ 0.6·Σ_b d_b·Σ_{i∈b}|w_i|
// + 2e-3·Σ|w_i·x_i| (fp16 rounding of q4_1/q5_1's sum term, float accumulation) — and the typical
// error is far below it (relative RMS error < 1e-2 asserted too, 1.5e-2 for the 256-blocks).

private let quantizedTypes: [GGMLType] = [.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K]
private let floatTypes: [GGMLType] = [.f32, .f16, .bf16]

// MARK: - Blocks crafted from random bytes, decoded from the format definition

private func half(_ bytes: [UInt8], _ at: Int) -> Float {
    halfToFloat(UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8)
}

private func putHalf(_ bytes: inout [UInt8], _ at: Int, _ value: Float) {
    let h = floatToHalf(value)
    bytes[at] = UInt8(h & 0xff)
    bytes[at + 1] = UInt8(h >> 8)
}

/// Random bytes for `rows` rows of `cols` values of `type`, with every fp16 scale field set to a
/// finite value in a realistic range (random bytes there could be inf or NaN).
private func randomMatrixBytes(_ type: GGMLType, rows: Int, cols: Int, rng: inout TestRNG) -> [UInt8] {
    let blocks = rows * cols / type.blockSize
    var out: [UInt8] = []
    out.reserveCapacity(blocks * type.blockBytes)
    switch type {
    case .f32:
        for _ in 0..<(rows * cols) { out += bytesOf([rng.normal() * 0.5]) }
        return out
    case .f16:
        for _ in 0..<(rows * cols) { out += bytesOf([floatToHalf(rng.normal() * 0.5)]) }
        return out
    case .bf16:
        for _ in 0..<(rows * cols) { out += bytesOf([UInt16((rng.normal() * 0.5).bitPattern >> 16)]) }
        return out
    default: break
    }
    for _ in 0..<blocks {
        var b = (0..<type.blockBytes).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let d = rng.uniform(-0.05, 0.05), m = rng.uniform(-0.2, 0.2)
        switch type {
        case .q4_0, .q5_0, .q8_0: putHalf(&b, 0, d)
        case .q4_1, .q5_1: putHalf(&b, 0, abs(d)); putHalf(&b, 2, m)
        case .q2_K: putHalf(&b, 80, abs(d) * 0.2); putHalf(&b, 82, abs(m) * 0.05)
        case .q3_K: putHalf(&b, 108, d * 0.1)
        case .q4_K, .q5_K: putHalf(&b, 0, abs(d) * 0.1); putHalf(&b, 2, abs(m) * 0.02)
        case .q6_K: putHalf(&b, 208, d * 0.02)
        default: XCTFail("no crafting for \(type)")
        }
        out += b
    }
    return out
}

/// q4_K / q5_K 6-bit scale and min j of 8, packed in 12 bytes (ggml-quants.c get_scale_min_k4).
private func scaleMinK4(_ s: ArraySlice<UInt8>, _ j: Int) -> (Int, Int) {
    let q = Array(s)
    if j < 4 { return (Int(q[j] & 63), Int(q[j + 4] & 63)) }
    return (Int(q[j + 4] & 0xF) | Int(q[j - 4] >> 6) << 4, Int(q[j + 4] >> 4) | Int(q[j] >> 6) << 4)
}

/// Expected float values of one block, from the format definition (same float operations, in the
/// same order, as the reference formulas in ggml-quants.c's dequantize_row_*).
private func decodeBlock(_ type: GGMLType, _ b: [UInt8]) -> [Float] {
    var y = [Float](repeating: 0, count: type.blockSize)
    switch type {
    case .f32: y[0] = b.withUnsafeBytes { $0.loadUnaligned(as: Float.self) }
    case .f16: y[0] = half(b, 0)
    case .bf16: y[0] = Float(bitPattern: UInt32(b[0]) << 16 | UInt32(b[1]) << 24)
    case .q4_0:
        let d = half(b, 0)
        for j in 0..<16 {
            y[j] = Float(Int(b[2 + j] & 0xF) - 8) * d
            y[j + 16] = Float(Int(b[2 + j] >> 4) - 8) * d
        }
    case .q4_1:
        let d = half(b, 0), m = half(b, 2)
        for j in 0..<16 {
            y[j] = Float(b[4 + j] & 0xF) * d + m
            y[j + 16] = Float(b[4 + j] >> 4) * d + m
        }
    case .q5_0, .q5_1:
        let hasMin = type == .q5_1
        let d = half(b, 0), m: Float = hasMin ? half(b, 2) : 0
        let o = hasMin ? 4 : 2
        let qh = UInt32(b[o]) | UInt32(b[o + 1]) << 8 | UInt32(b[o + 2]) << 16 | UInt32(b[o + 3]) << 24
        for j in 0..<16 {
            let x0 = Int(b[o + 4 + j] & 0xF) | Int((qh >> UInt32(j)) & 1) << 4
            let x1 = Int(b[o + 4 + j] >> 4) | Int((qh >> UInt32(j + 16)) & 1) << 4
            if hasMin {
                y[j] = Float(x0) * d + m
                y[j + 16] = Float(x1) * d + m
            } else {
                y[j] = Float(x0 - 16) * d
                y[j + 16] = Float(x1 - 16) * d
            }
        }
    case .q8_0:
        let d = half(b, 0)
        for j in 0..<32 { y[j] = Float(Int8(bitPattern: b[2 + j])) * d }
    case .q2_K:
        // scales[16] qs[64] d dmin; per 128: 4 shifts × (16 + 16) values
        let d = half(b, 80), dmin = half(b, 82)
        var out = 0, s = 0
        for n in stride(from: 0, to: 256, by: 128) {
            let q = 16 + n / 4
            for shift in stride(from: 0, to: 8, by: 2) {
                for half16 in 0..<2 {
                    let sc = b[s]; s += 1
                    let dl = d * Float(sc & 0xF), ml = dmin * Float(sc >> 4)
                    for l in 0..<16 {
                        y[out] = dl * Float((b[q + 16 * half16 + l] >> UInt8(shift)) & 3) - ml
                        out += 1
                    }
                }
            }
        }
    case .q3_K:
        // hmask[32] qs[64] scales[12] d — scales unpacked the way ggml does (kmask1/kmask2)
        let d = half(b, 108)
        var aux = [UInt32](repeating: 0, count: 4)
        for i in 0..<3 { aux[i] = UInt32(b[96 + 4 * i]) | UInt32(b[97 + 4 * i]) << 8 | UInt32(b[98 + 4 * i]) << 16 | UInt32(b[99 + 4 * i]) << 24 }
        let k1: UInt32 = 0x0303_0303, k2: UInt32 = 0x0f0f_0f0f
        let tmp = aux[2]
        aux[2] = ((aux[0] >> 4) & k2) | (((tmp >> 4) & k1) << 4)
        aux[3] = ((aux[1] >> 4) & k2) | (((tmp >> 6) & k1) << 4)
        aux[0] = (aux[0] & k2) | (((tmp >> 0) & k1) << 4)
        aux[1] = (aux[1] & k2) | (((tmp >> 2) & k1) << 4)
        let scales = aux.flatMap { v in (0..<4).map { Int(Int8(bitPattern: UInt8((v >> UInt32(8 * $0)) & 0xff))) } }
        var out = 0, s = 0
        var m: UInt8 = 1
        for n in stride(from: 0, to: 256, by: 128) {
            let q = 32 + n / 4
            for shift in stride(from: 0, to: 8, by: 2) {
                for half16 in 0..<2 {
                    let sc = scales[s] - 32; s += 1
                    for l in 0..<16 {
                        let low = Int((b[q + 16 * half16 + l] >> UInt8(shift)) & 3)
                        let high = b[16 * half16 + l] & m
                        y[out] = d * Float(sc) * Float(low - (high != 0 ? 0 : 4))
                        out += 1
                    }
                }
                m <<= 1
            }
        }
    case .q4_K, .q5_K:
        // d dmin scales[12] (qh[32]) qs[128]
        let d = half(b, 0), dmin = half(b, 2)
        let scales = b[4..<16]
        let five = type == .q5_K
        let qs = five ? 48 : 16
        var out = 0
        for j in 0..<4 {
            let (sc0, m0) = scaleMinK4(scales, 2 * j), (sc1, m1) = scaleMinK4(scales, 2 * j + 1)
            for l in 0..<32 {
                let h = five ? Int((b[16 + l] >> UInt8(2 * j)) & 1) << 4 : 0
                y[out] = d * Float(sc0) * Float(Int(b[qs + 32 * j + l] & 0xF) | h) - dmin * Float(m0)
                out += 1
            }
            for l in 0..<32 {
                let h = five ? Int((b[16 + l] >> UInt8(2 * j + 1)) & 1) << 4 : 0
                y[out] = d * Float(sc1) * Float(Int(b[qs + 32 * j + l] >> 4) | h) - dmin * Float(m1)
                out += 1
            }
        }
    case .q6_K:
        // ql[128] qh[64] scales[16] d
        let d = half(b, 208)
        for n in 0..<2 {
            let ql = 64 * n, qh = 128 + 32 * n, sc = 192 + 8 * n
            for l in 0..<32 {
                let isc = l / 16
                let q1 = Int(b[ql + l] & 0xF) | Int((b[qh + l] >> 0) & 3) << 4
                let q2 = Int(b[ql + l + 32] & 0xF) | Int((b[qh + l] >> 2) & 3) << 4
                let q3 = Int(b[ql + l] >> 4) | Int((b[qh + l] >> 4) & 3) << 4
                let q4 = Int(b[ql + l + 32] >> 4) | Int((b[qh + l] >> 6) & 3) << 4
                let s = { (i: Int) in Float(Int8(bitPattern: b[sc + i])) }
                y[128 * n + l] = d * s(isc) * Float(q1 - 32)
                y[128 * n + l + 32] = d * s(isc + 2) * Float(q2 - 32)
                y[128 * n + l + 64] = d * s(isc + 4) * Float(q3 - 32)
                y[128 * n + l + 96] = d * s(isc + 6) * Float(q4 - 32)
            }
        }
    default:
        XCTFail("no decoder for \(type)")
    }
    return y
}

private func expectedRows(_ type: GGMLType, _ bytes: [UInt8], rows: Int, cols: Int) -> [Float] {
    var out: [Float] = []
    let bb = type.blockBytes
    for blk in 0..<(rows * cols / type.blockSize) {
        out += decodeBlock(type, Array(bytes[(blk * bb)..<((blk + 1) * bb)]))
    }
    return out
}

// MARK: - Reference product and its error bound

private struct Product {
    var y: [Float]
    var ref: [Double]
    var bound: [Double]
}

/// The min term m of each element's block (q4_1 / q5_1; 0 for the other formats).
private func elementMins(_ type: GGMLType, _ bytes: [UInt8], rows: Int, cols: Int) -> [Float] {
    guard type == .q4_1 || type == .q5_1 else { return [Float](repeating: 0, count: rows * cols) }
    return (0..<(rows * cols)).map { half(bytes, ($0 / 32) * type.blockBytes + 2) }
}

private func referenceProduct(_ w: [Float], mins: [Float], rows: Int, cols: Int, x: [Float], m: Int, type: GGMLType) -> (ref: [Double], bound: [Double]) {
    let isFloat = floatTypes.contains(type)
    let block = type.blockSize == 256 ? 256 : 32
    var ref = [Double](repeating: 0, count: m * rows), bound = ref
    for r in 0..<m {
        // activation block scales
        var scales = [Double](repeating: 0, count: cols / block)
        for b in 0..<(cols / block) {
            scales[b] = Double(x[(r * cols + b * block)..<(r * cols + (b + 1) * block)].map { abs($0) }.max()!) / 127
        }
        for n in 0..<rows {
            var s = 0.0, absSum = 0.0, qBound = 0.0
            for i in 0..<cols {
                let wv = Double(w[n * cols + i]), xv = Double(x[r * cols + i])
                s += wv * xv
                absSum += abs(wv * xv) + abs(Double(mins[n * cols + i]) * xv)
                qBound += abs(wv) * scales[i / block]
            }
            ref[r * rows + n] = s
            bound[r * rows + n] = isFloat ? 1e-5 * absSum + 1e-6 : 0.6 * qBound + 2e-3 * absSum + 1e-6
        }
    }
    return (ref, bound)
}

final class QuantizedTests: XCTestCase {
    private var savedThreshold = 0
    private var savedThreads = 1
    override func setUp() {
        savedThreshold = QuantizedMatrix.parallelThreshold
        savedThreads = BLAS.threads
    }
    override func tearDown() {
        QuantizedKernels.force(nil)
        BLAS.setThreads(savedThreads)
        QuantizedMatrix.parallelThreshold = savedThreshold
    }

    func testBlockSizesMatchGGML() {
        let expected: [GGMLType: (Int, Int)] = [
            .f32: (1, 4), .f16: (1, 2), .bf16: (1, 2), .q4_0: (32, 18), .q4_1: (32, 20), .q5_0: (32, 22),
            .q5_1: (32, 24), .q8_0: (32, 34), .q8_1: (32, 36), .q2_K: (256, 84), .q3_K: (256, 110),
            .q4_K: (256, 144), .q5_K: (256, 176), .q6_K: (256, 210), .q8_K: (256, 292),
        ]
        for (type, (size, bytes)) in expected {
            XCTAssertEqual(type.blockSize, size, "\(type)")
            XCTAssertEqual(type.blockBytes, bytes, "\(type)")
        }
        for type in quantizedTypes + floatTypes { XCTAssertTrue(type.isSupported, "\(type)") }
        for type in [GGMLType.q8_1, .q8_K, .iq2_xxs, .iq4_nl, .i32, .f64, .mxfp4] { XCTAssertFalse(type.isSupported, "\(type)") }
        XCTAssertEqual(GGMLType.q4_K.description, "q4_K")
        XCTAssertEqual(GGMLType(rawValue: 14), .q6_K)
        XCTAssertNil(GGMLType(rawValue: 4))
    }

    func testDequantizeMatchesFormatDefinitionExactly() throws {
        var rng = TestRNG(seed: 11)
        for type in quantizedTypes + floatTypes {
            let cols = type.blockSize == 256 ? 512 : 96
            let rows = 5
            let bytes = randomMatrixBytes(type, rows: rows, cols: cols, rng: &rng)
            let matrix = try QuantizedMatrix(type: type, rows: rows, cols: cols, bytes: bytes)
            XCTAssertEqual(matrix.rowBytes * rows, bytes.count)
            let expected = expectedRows(type, bytes, rows: rows, cols: cols)
            var got = [Float](repeating: .nan, count: cols)
            for r in 0..<rows {
                got.withUnsafeMutableBufferPointer { matrix.dequantizeRow(r, into: $0.baseAddress!) }
                for i in 0..<cols where got[i].bitPattern != expected[r * cols + i].bitPattern {
                    XCTFail("\(type) row \(r) col \(i): \(got[i]) != \(expected[r * cols + i])")
                    break
                }
            }
            let all = matrix.dequantized()
            XCTAssertEqual(all.shape, [rows, cols])
            XCTAssertEqual(all.array, expected, "\(type) dequantized()")
        }
    }

    /// Runs `multiply` and checks each output against the float64 reference within the bound.
    @discardableResult
    private func checkProduct(_ type: GGMLType, rows: Int, cols: Int, m: Int, ldyPad: Int = 0, x givenX: [Float]? = nil,
                              seed: UInt64, file: StaticString = #filePath, line: UInt = #line) throws -> [Float] {
        var rng = TestRNG(seed: seed)
        let bytes = randomMatrixBytes(type, rows: rows, cols: cols, rng: &rng)
        let matrix = try QuantizedMatrix(type: type, rows: rows, cols: cols, bytes: bytes)
        let w = matrix.dequantized().array
        let x = givenX ?? rng.normals(m * cols)
        let ldy = rows + ldyPad
        var y = [Float](repeating: .nan, count: m * ldy)
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { matrix.multiply(xp.baseAddress!, rows: m, into: $0.baseAddress!, ldy: ldy) }
        }
        let (ref, bound) = referenceProduct(w, mins: elementMins(type, bytes, rows: rows, cols: cols), rows: rows, cols: cols,
                                            x: x, m: m, type: type)
        var sq = 0.0, refSq = 0.0
        for r in 0..<m {
            for n in 0..<rows {
                let got = Double(y[r * ldy + n]), want = ref[r * rows + n]
                sq += (got - want) * (got - want)
                refSq += want * want
                if !(abs(got - want) <= bound[r * rows + n]) {
                    XCTFail("\(type) \(rows)x\(cols) m=\(m) y[\(r), \(n)] = \(got), reference \(want), bound \(bound[r * rows + n])", file: file, line: line)
                    return y
                }
            }
            for n in rows..<ldy { XCTAssertTrue(y[r * ldy + n].isNaN, "wrote past the row", file: file, line: line) }
        }
        guard givenX == nil else { return y }
        let relRMS = (sq / max(refSq, 1e-30)).squareRoot()
        let rmsLimit = floatTypes.contains(type) ? 1e-6 : type.blockSize == 256 ? 1.5e-2 : 1e-2
        XCTAssertLessThan(relRMS, rmsLimit, "\(type) relative RMS error", file: file, line: line)
        return y
    }

    func testProductsMatchFloatReferenceForRowCounts1To9() throws {
        for type in quantizedTypes + floatTypes {
            // an odd number of 32-blocks exercises the unrolled kernels' tails
            let cols = type.blockSize == 256 ? 768 : 224
            for m in 1...9 { try checkProduct(type, rows: 19, cols: cols, m: m, ldyPad: m % 3, seed: UInt64(100 + m)) }
        }
    }

    func testEveryKernelPathAgreesWithScalar() throws {
        let paths = QuantizedKernels.availablePaths
        XCTAssertEqual(paths.first, .scalar)
        let best = QuantizedKernels.force(nil)
        XCTAssertEqual(best, paths.last)
        guard paths.count > 1 else { throw XCTSkip("only the scalar kernels run on this CPU") }
        for type in quantizedTypes {
            let cols = type.blockSize == 256 ? 1024 : 352
            for m in [1, 3, 5, 8] {   // one-row kernels, then the four-row ones (with tails)
                QuantizedKernels.force(.scalar)
                XCTAssertEqual(QuantizedKernels.path, .scalar)
                let scalar = try checkProduct(type, rows: 23, cols: cols, m: m, seed: 7)
                for path in paths.dropFirst() {
                    XCTAssertEqual(QuantizedKernels.force(path), path)
                    let y = try checkProduct(type, rows: 23, cols: cols, m: m, seed: 7)
                    // same quantized activations, same integer block sums: only float rounding differs
                    // (summation order; the unsigned-form kernels' offset term)
                    for i in scalar.indices {
                        XCTAssertEqual(scalar[i], y[i], accuracy: 2e-5 * max(1, abs(scalar[i])), "\(type) \(path) m=\(m) [\(i)]")
                    }
                }
            }
        }
        XCTAssertEqual(QuantizedKernels.force(nil), best)
    }

    /// A row's result must not depend on how many rows share a product (batched generation must
    /// give the tokens single prompts give): alone, in a batch of 9 (two four-row calls + a tail),
    /// or with the four-row kernels off, bit for bit, on every kernel path.
    func testRowResultsDoNotDependOnBatch() throws {
        defer { QuantizedKernels.fourRowKernels = true }
        XCTAssertTrue(QuantizedKernels.fourRowKernels, "on by default")
        var rng = TestRNG(seed: 99)
        for type in quantizedTypes + floatTypes {
            let cols = type.blockSize == 256 ? 768 : 224, rows = 13, m = 9
            let matrix = try QuantizedMatrix(type: type, rows: rows, cols: cols,
                                             bytes: randomMatrixBytes(type, rows: rows, cols: cols, rng: &rng))
            let x = rng.normals(m * cols)
            for path in QuantizedKernels.availablePaths {
                QuantizedKernels.force(path)
                var batch = [Float](repeating: .nan, count: m * rows)
                QuantizedKernels.fourRowKernels = true
                matrix.multiply(x, rows: m, into: &batch, ldy: rows)
                var plain = [Float](repeating: .nan, count: m * rows)
                QuantizedKernels.fourRowKernels = false
                matrix.multiply(x, rows: m, into: &plain, ldy: rows)
                QuantizedKernels.fourRowKernels = true
                XCTAssertEqual(batch.map(\.bitPattern), plain.map(\.bitPattern), "\(type) \(path) four-row vs one-row kernels")
                for r in 0..<m {
                    var single = [Float](repeating: .nan, count: rows)
                    Array(x[(r * cols)..<((r + 1) * cols)]).withUnsafeBufferPointer {
                        matrix.multiply($0.baseAddress!, rows: 1, into: &single, ldy: rows)
                    }
                    XCTAssertEqual(single.map(\.bitPattern), batch[(r * rows)..<((r + 1) * rows)].map(\.bitPattern),
                                   "\(type) \(path) row \(r) alone vs in a batch of \(m)")
                }
            }
        }
    }

    func testThreadSplitsGiveIdenticalResults() throws {
        QuantizedMatrix.parallelThreshold = 0
        for type in [GGMLType.q4_1, .q5_0, .q4_K, .q6_K, .f16, .bf16] {
            let cols = type.blockSize == 256 ? 512 : 256
            var results: [[Float]] = []
            for threads in [1, 2, 3] {
                BLAS.setThreads(threads)
                for m in [1, 5] {
                    let y = try checkProduct(type, rows: 301, cols: cols, m: m, seed: 21 + UInt64(m))
                    if threads == 1 { results.append(y) } else { XCTAssertEqual(y, results[m == 1 ? 0 : 1], "\(type) threads \(threads) m \(m)") }
                }
            }
        }
    }

    func testLargerProductOnDefaultSettings() throws {
        // big enough to split across threads with the default threshold
        try checkProduct(.q4_K, rows: 2048, cols: 1024, m: 1, seed: 5)
        try checkProduct(.q8_0, rows: 512, cols: 1024, m: 4, seed: 6)
        try checkProduct(.f32, rows: 256, cols: 512, m: 8, seed: 7)
    }

    func testActivationsOfZerosAndExtremes() throws {
        // all-zero activation blocks (scale 0), then blocks with one huge value: results stay
        // finite and within the bound (an fp16 overflow of q8_1's sum term would give inf)
        var rng = TestRNG(seed: 3)
        for type in quantizedTypes {
            let cols = 512
            let bytes = randomMatrixBytes(type, rows: 4, cols: cols, rng: &rng)
            let matrix = try QuantizedMatrix(type: type, rows: 4, cols: cols, bytes: bytes)
            var y = [Float](repeating: .nan, count: 4)
            matrix.multiply([Float](repeating: 0, count: cols), rows: 1, into: &y, ldy: 4)
            XCTAssertEqual(y, [0, 0, 0, 0], "\(type) zeros")
            var x = [Float](repeating: 0, count: 2 * cols)
            x[300] = -1e6
            x[301] = 1
            x[cols + 5] = 3e4
            x[cols + 6] = -2
            let out = try checkProduct(type, rows: 4, cols: cols, m: 2, x: x, seed: 3)
            XCTAssertTrue(out.allSatisfy(\.isFinite), "\(type) \(out)")
        }
    }

    func testRefusesBadShapesAndTypes() {
        XCTAssertThrowsError(try QuantizedMatrix(type: .q4_0, rows: 2, cols: 48, bytes: [])) { error in
            XCTAssertTrue("\(error)".contains("48 columns"), "\(error)")
        }
        XCTAssertThrowsError(try QuantizedMatrix(type: .iq2_xxs, rows: 1, cols: 256, bytes: [UInt8](repeating: 0, count: 66))) { error in
            XCTAssertTrue("\(error)".contains("iq2_xxs"), "\(error)")
        }
        XCTAssertThrowsError(try QuantizedMatrix(type: .q8_0, rows: 2, cols: 32, bytes: [UInt8](repeating: 0, count: 67)))
        XCTAssertEqual(GGMLType.q4_K.byteCount(elements: 512), 288)
        XCTAssertNil(GGMLType.q4_K.byteCount(elements: 100))
        XCTAssertNil(GGMLType.q8_0.byteCount(elements: Int.max - 31))
    }

    func testMisalignedBytesAreCopied() throws {
        var rng = TestRNG(seed: 9)
        let bytes = randomMatrixBytes(.q4_0, rows: 3, cols: 64, rng: &rng)
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: bytes.count + 1, alignment: 16)
        defer { buffer.deallocate() }
        (buffer + 1).copyMemory(from: bytes, byteCount: bytes.count)
        let matrix = try QuantizedMatrix(type: .q4_0, rows: 3, cols: 64, data: UnsafeRawPointer(buffer + 1), owner: nil)
        XCTAssertNotEqual(matrix.data, UnsafeRawPointer(buffer + 1))
        XCTAssertEqual(matrix.dequantized().array, expectedRows(.q4_0, bytes, rows: 3, cols: 64))
    }
}
