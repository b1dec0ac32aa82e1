import Tensors
import TestSupport
import XCTest

/// float16 / bfloat16 / integer → float32 conversions, scalar and bulk.
final class ConversionTests: XCTestCase {
    private func sameFloat(_ a: Float, _ b: Float) -> Bool {
        if a.isNaN || b.isNaN { return a.isNaN && b.isNaN && a.sign == b.sign }
        return a.bitPattern == b.bitPattern  // distinguishes −0 from +0
    }

    func testHalfToFloatIsExactOnAllBitPatterns() {
        var mismatches: [UInt16] = []
        for bits in 0...UInt16.max {
            let expected = Float(Float16(bitPattern: bits))
            if !sameFloat(halfToFloat(bits), expected) { mismatches.append(bits) }
        }
        XCTAssertEqual(mismatches.count, 0, "first mismatching patterns: \(mismatches.prefix(8).map { String($0, radix: 16) })")
        // A few landmarks checked by hand.
        XCTAssertEqual(halfToFloat(0x3C00), 1)
        XCTAssertEqual(halfToFloat(0xC000), -2)
        XCTAssertEqual(halfToFloat(0x7BFF), 65504)
        XCTAssertEqual(halfToFloat(0x0001), Float(sign: .plus, exponent: -24, significand: 1))
        XCTAssertEqual(halfToFloat(0x03FF), Float(1023) * Float(sign: .plus, exponent: -24, significand: 1))
        XCTAssertEqual(halfToFloat(0x7C00), .infinity)
        XCTAssertEqual(halfToFloat(0xFC00), -.infinity)
        XCTAssertEqual(halfToFloat(0x8000).bitPattern, (-Float(0)).bitPattern)
        XCTAssertTrue(halfToFloat(0x7E00).isNaN)
    }

    func testFloatToHalfRoundTripsAndRoundsToNearestEven() {
        for bits in 0...UInt16.max {
            let f = halfToFloat(bits)
            if f.isNaN { XCTAssertTrue(halfToFloat(floatToHalf(f)).isNaN); continue }
            if floatToHalf(f) != bits { XCTFail("round trip of \(String(bits, radix: 16)) gave \(String(floatToHalf(f), radix: 16))"); break }
        }
        let ulpAtOne = Float(sign: .plus, exponent: -10, significand: 1)     // half ulp spacing at 1
        XCTAssertEqual(floatToHalf(1 + ulpAtOne / 2), 0x3C00)                // tie → even (1.0)
        XCTAssertEqual(floatToHalf(1 + 3 * ulpAtOne / 2), 0x3C02)            // tie → even (1 + 2 ulp)
        XCTAssertEqual(floatToHalf(1 + ulpAtOne * 0.51), 0x3C01)
        XCTAssertEqual(floatToHalf(70000), 0x7C00)                           // overflow → inf
        XCTAssertEqual(floatToHalf(1e-9), 0x0000)                            // underflow → 0
    }

    /// Bulk conversion (the C kernel behind `Tensor(shape:dtype:bytes:)`) equals the scalar one,
    /// at odd lengths, from unaligned sources, for every bit pattern.
    func testBulkFloat16ConversionEqualsScalar() {
        let all = (0...UInt16.max).map { $0 }
        let bytes = bytesOf(all)
        let t = bytes.withUnsafeBytes { Tensor(shape: [65536], dtype: .float16, bytes: $0) }
        var bad = 0
        for i in 0..<65536 where !sameFloat(t[i], halfToFloat(all[i])) { bad += 1 }
        XCTAssertEqual(bad, 0)

        var rng = TestRNG(seed: 7)
        for length in [1, 2, 3, 7, 8, 15, 16, 17, 31, 33, 63, 65, 127, 1001] {
            let values = (0..<length).map { _ in UInt16(truncatingIfNeeded: rng.next()) }
            // One spare byte in front makes the source odd-aligned.
            let raw: [UInt8] = [0xAB] + bytesOf(values)
            let tensor = raw.withUnsafeBytes { buffer in
                Tensor(shape: [length], dtype: .float16, bytes: UnsafeRawBufferPointer(rebasing: buffer[1...]))
            }
            for i in 0..<length where !sameFloat(tensor[i], halfToFloat(values[i])) {
                XCTFail("length \(length), element \(i): \(tensor[i]) vs \(halfToFloat(values[i]))"); break
            }
        }
    }

    func testFloat16MatrixKeepsHalfCopy() {
        var rng = TestRNG(seed: 11)
        let values = (0..<15).map { _ in floatToHalf(rng.normal()) }
        let matrix = bytesOf(values).withUnsafeBytes { Tensor(shape: [3, 5], dtype: .float16, bytes: $0) }
        guard let half = matrix.half else { return XCTFail("2-D float16 tensor has no float16 copy") }
        for i in 0..<15 {
            XCTAssertEqual(half[i], values[i])
            XCTAssertEqual(matrix[i], halfToFloat(values[i]))
        }
        // Only 2-D float16 tensors keep the copy.
        let vector = bytesOf(values).withUnsafeBytes { Tensor(shape: [15], dtype: .float16, bytes: $0) }
        XCTAssertNil(vector.half)
        let f32 = bytesOf(values.map(halfToFloat)).withUnsafeBytes { Tensor(shape: [3, 5], dtype: .float32, bytes: $0) }
        XCTAssertNil(f32.half)
        XCTAssertEqual(f32.array, matrix.array)
    }

    func testBFloat16Conversion() {
        // bfloat16 is the top half of a float32: hand-checked landmarks, then all patterns.
        let landmarks: [(UInt16, Float)] = [
            (0x3F80, 1), (0xC000, -2), (0x3FC0, 1.5), (0x4049, 3.140625), (0x0000, 0),
            (0x7F80, .infinity), (0xFF80, -.infinity), (0x0001, Float(sign: .plus, exponent: -133, significand: 1)),
            (0x7F7F, Float(bitPattern: 0x7F7F_0000)),
        ]
        let bytes = bytesOf(landmarks.map(\.0))
        let t = bytes.withUnsafeBytes { Tensor(shape: [landmarks.count], dtype: .bfloat16, bytes: $0) }
        for (i, (_, expected)) in landmarks.enumerated() { XCTAssertEqual(t[i], expected, "landmark \(i)") }

        let all = (0...UInt16.max).map { $0 }
        let every = bytesOf(all).withUnsafeBytes { Tensor(shape: [65536], dtype: .bfloat16, bytes: $0) }
        var bad = 0
        for i in 0..<65536 {
            let expected = Float(bitPattern: UInt32(all[i]) << 16)
            if !sameFloat(every[i], expected) { bad += 1 }
            // Widening is exact: the float rounds back to the same bfloat16 (NaNs aside).
            if !expected.isNaN, UInt16(every[i].bitPattern >> 16) != all[i] || every[i].bitPattern & 0xFFFF != 0 { bad += 1 }
        }
        XCTAssertEqual(bad, 0)
    }

    func testIntegerConversions() {
        let int8s = (Int8.min...Int8.max).map { $0 }
        let t8 = bytesOf(int8s).withUnsafeBytes { Tensor(shape: [256], dtype: .int8, bytes: $0) }
        for i in 0..<256 { XCTAssertEqual(t8[i], Float(Int(int8s[i]))) }
        XCTAssertEqual(t8[0], -128)
        XCTAssertEqual(t8[255], 127)

        let int16s: [Int16] = [.min, -1, 0, 1, 12345, .max]
        let t16 = bytesOf(int16s).withUnsafeBytes { Tensor(shape: [6], dtype: .int16, bytes: $0) }
        XCTAssertEqual(t16.array, [-32768, -1, 0, 1, 12345, 32767])

        let int32s: [Int32] = [.min, -7, 0, 16_777_217, .max]
        let t32 = bytesOf(int32s).withUnsafeBytes { Tensor(shape: [5], dtype: .int32, bytes: $0) }
        XCTAssertEqual(t32.array, [-2_147_483_648, -7, 0, 16_777_216, 2_147_483_648])  // nearest floats

        let floats: [Float] = [.pi, -0.0, .infinity, .leastNonzeroMagnitude, .greatestFiniteMagnitude]
        let tf = bytesOf(floats).withUnsafeBytes { Tensor(shape: [5], dtype: .float32, bytes: $0) }
        XCTAssertEqual(tf.array.map(\.bitPattern), floats.map(\.bitPattern))
    }

    func testDTypeSizes() {
        XCTAssertEqual(DType.float32.byteSize, 4)
        XCTAssertEqual(DType.int32.byteSize, 4)
        XCTAssertEqual(DType.float16.byteSize, 2)
        XCTAssertEqual(DType.bfloat16.byteSize, 2)
        XCTAssertEqual(DType.int16.byteSize, 2)
        XCTAssertEqual(DType.int8.byteSize, 1)
        XCTAssertEqual(DType.float16.description, "float16")
    }
}
