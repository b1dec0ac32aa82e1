import CKernels

// Dense float32 tensors: a shape plus an owned, 64-byte-aligned buffer.
//
// Weights arrive in several on-disk types (float16, float32, later quantized blocks); the core
// computes in float32 through BLAS, so loaders convert once at load time into `Tensor`.

/// Element types that weight files can hold.
public enum DType: String, Sendable, CustomStringConvertible {
    case float32, float16, bfloat16, int8, int16, int32
    /// Index tensors (Hugging Face `position_ids`); values beyond 2^24 lose precision as float32.
    case int64
    public var byteSize: Int {
        switch self {
        case .float32, .int32: return 4
        case .float16, .bfloat16, .int16: return 2
        case .int8: return 1
        case .int64: return 8
        }
    }
    public var description: String { rawValue }
}

/// A row-major float32 tensor. Reference semantics: layers share weights without copies.
public final class Tensor: @unchecked Sendable {
    public let shape: [Int]
    public let count: Int
    public let data: UnsafeMutablePointer<Float>
    /// For views: the tensor whose memory this one borrows (kept alive here).
    private let base: Tensor?
    /// The original float16 values, kept when a tensor was loaded from float16: decode-time
    /// products read half the bytes from it (the values are exactly those of `data`).
    public private(set) var half: UnsafeMutablePointer<UInt16>?

    /// A zero-filled tensor.
    public init(zeros shape: [Int]) {
        self.base = nil
        self.shape = shape
        self.count = shape.reduce(1, *)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * 4, alignment: 64)
        data = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        data.initialize(repeating: 0, count: max(count, 1))
    }

    public convenience init(shape: [Int], values: [Float]) {
        precondition(shape.reduce(1, *) == values.count, "shape \(shape) does not hold \(values.count) values")
        self.init(zeros: shape)
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: values.count) }
    }

    /// Converts raw little-endian bytes of `dtype` into float32.
    public convenience init(shape: [Int], dtype: DType, bytes: UnsafeRawBufferPointer) {
        self.init(zeros: shape)
        precondition(bytes.count == count * dtype.byteSize)
        convertToFloat32(dtype: dtype, from: bytes.baseAddress!, to: data, count: count)
        if dtype == .float16 && shape.count == 2 {
            let h = UnsafeMutablePointer<UInt16>.allocate(capacity: count)
            UnsafeMutableRawPointer(h).copyMemory(from: bytes.baseAddress!, byteCount: count * 2)   // src may be unaligned
            half = h
        }
    }

    /// The same storage under another shape with the same element count (no copy).
    public init(viewing tensor: Tensor, shape: [Int]) {
        precondition(shape.reduce(1, *) == tensor.count, "cannot view \(tensor.shape) as \(shape)")
        self.base = tensor
        self.shape = shape
        self.count = tensor.count
        self.data = tensor.data
    }

    /// Frees the float16 copy (when no product will read it: the layer that used it was converted).
    public func releaseHalf() {
        half?.deallocate()
        half = nil
    }

    deinit {
        if base == nil { UnsafeMutableRawPointer(data).deallocate() }
        half?.deallocate()
    }

    /// Runs `body` on the storage while keeping this tensor alive (ARC may otherwise release a
    /// temporary right after `.data` is read).
    @inline(__always)
    public func withData<R>(_ body: (UnsafeMutablePointer<Float>) throws -> R) rethrows -> R {
        try withExtendedLifetime(self) { try body(data) }
    }

    public var array: [Float] { Array(UnsafeBufferPointer(start: data, count: count)) }
    public subscript(i: Int) -> Float {
        get { data[i] }
        set { data[i] = newValue }
    }
    /// Pointer to row `r` of a tensor viewed as (rows, shape.last).
    public func row(_ r: Int) -> UnsafeMutablePointer<Float> { data + r * shape[shape.count - 1] }
}

/// Converts `count` elements from a raw buffer of `dtype` to float32.
public func convertToFloat32(dtype: DType, from src: UnsafeRawPointer, to dst: UnsafeMutablePointer<Float>, count: Int) {
    switch dtype {
    // `src` may be unaligned (tensors in a CTranslate2 file start at any byte offset): copies and
    // unaligned loads only (found by the UBSan build, `make test-asan`).
    case .float32:
        UnsafeMutableRawPointer(dst).copyMemory(from: src, byteCount: count * 4)
    case .float16:
        hk_f16_to_f32(src.assumingMemoryBound(to: UInt16.self), dst, count)
    case .bfloat16:
        for i in 0..<count { dst[i] = Float(bitPattern: UInt32(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16) }
    case .int8:
        let p = src.assumingMemoryBound(to: Int8.self)
        for i in 0..<count { dst[i] = Float(p[i]) }
    case .int16:
        for i in 0..<count { dst[i] = Float(src.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)) }
    case .int32:
        for i in 0..<count { dst[i] = Float(src.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)) }
    case .int64:
        for i in 0..<count { dst[i] = Float(src.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)) }
    }
}

/// IEEE 754 binary16 → binary32, exact (subnormals, inf and NaN included).
@inline(__always)
public func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exponent = UInt32(h >> 10) & 0x1f
    let mantissa = UInt32(h & 0x3ff)
    if exponent == 0 {
        if mantissa == 0 { return Float(bitPattern: sign) }
        // Subnormal half: value = mantissa * 2^-24.
        let magnitude = Float(mantissa) * (1.0 / 16_777_216.0)
        return sign != 0 ? -magnitude : magnitude
    }
    if exponent == 0x1f { return Float(bitPattern: sign | 0x7f80_0000 | (mantissa << 13)) }
    return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
}

/// binary32 → binary16 with round-to-nearest-even (used by tests and fixtures).
public func floatToHalf(_ f: Float) -> UInt16 { Float16(f).bitPattern }
