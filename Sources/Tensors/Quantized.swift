// Weight matrices kept in GGML block formats (as GGUF files store them), multiplied without
// dequantizing: activations are quantized once to 8-bit blocks, then C kernels (CKernels/quant.c,
// scalar or AVX2 chosen at run time) combine them with each weight row by integer dot products.

import CKernels
import Foundation

/// GGML tensor types, with the ids GGUF stores. Every id is known (for sizes and bounds checks);
/// `isSupported` tells which ones Hearth can dequantize and multiply.
public enum GGMLType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8, q8_1 = 9
    case q2_K = 10, q3_K = 11, q4_K = 12, q5_K = 13, q6_K = 14, q8_K = 15
    case iq2_xxs = 16, iq2_xs = 17, iq3_xxs = 18, iq1_s = 19, iq4_nl = 20, iq3_s = 21, iq2_s = 22, iq4_xs = 23
    case i8 = 24, i16 = 25, i32 = 26, i64 = 27, f64 = 28, iq1_m = 29, bf16 = 30
    case tq1_0 = 34, tq2_0 = 35, mxfp4 = 39

    /// Elements per block (1 for plain element types).
    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16, .i8, .i16, .i32, .i64, .f64: return 1
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q8_1, .iq4_nl, .mxfp4: return 32
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .q8_K, .iq2_xxs, .iq2_xs, .iq3_xxs, .iq1_s, .iq3_s,
             .iq2_s, .iq4_xs, .iq1_m, .tq1_0, .tq2_0: return 256
        }
    }

    /// Bytes per block (ggml-common.h).
    public var blockBytes: Int {
        switch self {
        case .f32, .i32: return 4
        case .f16, .bf16, .i16: return 2
        case .i8: return 1
        case .i64, .f64: return 8
        case .q4_0: return 18
        case .q4_1: return 20
        case .q5_0: return 22
        case .q5_1: return 24
        case .q8_0: return 34
        case .q8_1: return 36
        case .q2_K: return 84
        case .q3_K: return 110
        case .q4_K: return 144
        case .q5_K: return 176
        case .q6_K: return 210
        case .q8_K: return 292
        case .iq2_xxs: return 66
        case .iq2_xs: return 74
        case .iq3_xxs: return 98
        case .iq1_s: return 50
        case .iq4_nl: return 18
        case .iq3_s: return 110
        case .iq2_s: return 82
        case .iq4_xs: return 136
        case .iq1_m: return 56
        case .tq1_0: return 54
        case .tq2_0: return 66
        case .mxfp4: return 17
        }
    }

    /// Whether Hearth can dequantize and multiply weights of this type.
    public var isSupported: Bool { hq_type_supported(Int32(rawValue)) != 0 }

    /// llama.cpp's name for the type ("q4_K", "bf16", …).
    public var name: String { String(describing: self) }
    public var description: String {
        switch self {
        case .f32: return "f32"
        case .f16: return "f16"
        case .bf16: return "bf16"
        case .q4_0: return "q4_0"
        case .q4_1: return "q4_1"
        case .q5_0: return "q5_0"
        case .q5_1: return "q5_1"
        case .q8_0: return "q8_0"
        case .q8_1: return "q8_1"
        case .q2_K: return "q2_K"
        case .q3_K: return "q3_K"
        case .q4_K: return "q4_K"
        case .q5_K: return "q5_K"
        case .q6_K: return "q6_K"
        case .q8_K: return "q8_K"
        case .iq2_xxs: return "iq2_xxs"
        case .iq2_xs: return "iq2_xs"
        case .iq3_xxs: return "iq3_xxs"
        case .iq1_s: return "iq1_s"
        case .iq4_nl: return "iq4_nl"
        case .iq3_s: return "iq3_s"
        case .iq2_s: return "iq2_s"
        case .iq4_xs: return "iq4_xs"
        case .i8: return "i8"
        case .i16: return "i16"
        case .i32: return "i32"
        case .i64: return "i64"
        case .f64: return "f64"
        case .iq1_m: return "iq1_m"
        case .tq1_0: return "tq1_0"
        case .tq2_0: return "tq2_0"
        case .mxfp4: return "mxfp4"
        }
    }

    /// Bytes of `elements` values (a multiple of `blockSize`); nil if not a whole number of blocks
    /// or the size overflows.
    public func byteCount(elements: Int) -> Int? {
        guard elements >= 0, elements % blockSize == 0 else { return nil }
        let (bytes, overflow) = (elements / blockSize).multipliedReportingOverflow(by: blockBytes)
        return overflow ? nil : bytes
    }
}

/// A matrix that cannot be built from the given type, shape or bytes.
public struct QuantizedMatrixError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Which kernels the quantized products run (tests and benchmarks compare them).
public enum QuantizedKernels {
    /// scalar: portable C; avx2: AVX2 + FMA + F16C; avx512vnni: AVX-512 VNNI kernels for the
    /// 32-element formats (AVX2 for the K-quants).
    public enum Path: Int32, Sendable, CaseIterable { case scalar = 0, avx2 = 1, avx512vnni = 2 }

    /// The paths this CPU can run.
    public static var availablePaths: [Path] { Path.allCases.filter(isAvailable) }

    /// Whether products of four or more activation rows use the four-row kernels (each weight
    /// block decoded once for four rows). They give every row exactly the one-row kernels' result,
    /// so a row's output never depends on how many rows share a product; on by default.
    public static var fourRowKernels: Bool {
        get { hq_four_row_kernels(-1) != 0 }
        set { hq_four_row_kernels(newValue ? 1 : 0) }
    }

    /// The path in use: the best one this CPU supports unless forced.
    public static var path: Path { Path(rawValue: hq_isa_current()) ?? .scalar }
    public static func isAvailable(_ path: Path) -> Bool { hq_isa_available(path.rawValue) != 0 }
    /// Forces `path` (ignored when the CPU lacks it) or, with nil, restores the best one.
    /// Not to be called while products run.
    @discardableResult
    public static func force(_ path: Path?) -> Path {
        Path(rawValue: hq_isa_force(path?.rawValue ?? -1)) ?? .scalar
    }
}

/// Keeps a private copy of matrix bytes alive.
private final class OwnedBytes {
    let pointer: UnsafeMutableRawPointer
    init(count: Int) { pointer = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 64) }
    deinit { pointer.deallocate() }
}

/// A row-major (rows, cols) weight matrix stored in GGML blocks along each row (GGUF's
/// ne0 = cols): the layout of a linear layer's weight (out, in) or of an embedding table
/// (vocabulary, width). The bytes stay where they are (typically a memory-mapped GGUF file,
/// kept alive through `owner`).
public final class QuantizedMatrix: @unchecked Sendable {
    public let type: GGMLType
    public let rows: Int
    public let cols: Int
    /// Bytes of one row (cols / blockSize blocks).
    public let rowBytes: Int
    /// The first row's first block.
    public let data: UnsafeRawPointer
    private let owner: AnyObject?

    /// Bytes of the whole matrix.
    public var byteCount: Int { rows * rowBytes }

    /// Wraps `rows · rowBytes` bytes at `data`; `owner` keeps them alive (e.g. the file mapping).
    /// Bytes not aligned for their type's loads are copied once.
    public init(type: GGMLType, rows: Int, cols: Int, data: UnsafeRawPointer, owner: AnyObject?) throws {
        guard type.isSupported else { throw QuantizedMatrixError("tensor type \(type) is not supported") }
        guard rows >= 0, cols >= 0 else { throw QuantizedMatrixError("negative shape (\(rows), \(cols))") }
        guard cols % type.blockSize == 0 else {
            throw QuantizedMatrixError("\(cols) columns are not a whole number of \(type) blocks of \(type.blockSize)")
        }
        guard let rowBytes = type.byteCount(elements: cols) else { throw QuantizedMatrixError("row of \(cols) \(type) values is too large") }
        let (total, overflow) = rows.multipliedReportingOverflow(by: rowBytes)
        guard !overflow, total <= Int.max / 2 else { throw QuantizedMatrixError("shape (\(rows), \(cols)) is too large") }
        self.type = type
        self.rows = rows
        self.cols = cols
        self.rowBytes = rowBytes
        let alignment = type == .f32 ? 4 : 2
        if Int(bitPattern: data) % alignment != 0 {
            let copy = OwnedBytes(count: total)
            copy.pointer.copyMemory(from: data, byteCount: total)
            self.data = UnsafeRawPointer(copy.pointer)
            self.owner = copy
        } else {
            self.data = data
            self.owner = owner
        }
    }

    /// A matrix owning a copy of `bytes` (tests, small tensors).
    public convenience init(type: GGMLType, rows: Int, cols: Int, bytes: [UInt8]) throws {
        guard let rowBytes = type.byteCount(elements: cols), rows >= 0 else {
            throw QuantizedMatrixError("\(cols) columns are not a whole number of \(type) blocks of \(type.blockSize)")
        }
        guard bytes.count == rows * rowBytes else {
            throw QuantizedMatrixError("(\(rows), \(cols)) \(type) needs \(rows * rowBytes) bytes, got \(bytes.count)")
        }
        let copy = OwnedBytes(count: bytes.count)
        bytes.withUnsafeBytes { copy.pointer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        try self.init(type: type, rows: rows, cols: cols, data: UnsafeRawPointer(copy.pointer), owner: copy)
    }

    /// A float32 (rows, cols) matrix quantized to q8_0 blocks (34 bytes per 32 values: one fp16
    /// scale, 32 int8) — how a compute type of `int8` stores float checkpoints' weights.
    public static func q8_0(_ weight: Tensor) throws -> QuantizedMatrix {
        guard weight.shape.count == 2 else { throw QuantizedMatrixError("q8_0 needs a matrix, got shape \(weight.shape)") }
        let rows = weight.shape[0], cols = weight.shape[1]
        guard cols % 32 == 0 else { throw QuantizedMatrixError("\(cols) columns are not a whole number of q8_0 blocks of 32") }
        let bytes = OwnedBytes(count: rows * (cols / 32) * 34)
        hq_quantize_rows_q8_0(weight.data, rows, cols, bytes.pointer)
        return try QuantizedMatrix(type: .q8_0, rows: rows, cols: cols, data: UnsafeRawPointer(bytes.pointer), owner: bytes)
    }

    /// Bytes of row `r`.
    @inline(__always)
    public func row(_ r: Int) -> UnsafeRawPointer { data + r * rowBytes }

    /// float32 values of row `r` (embedding lookups, tests): `cols` values into `out`.
    public func dequantizeRow(_ r: Int, into out: UnsafeMutablePointer<Float>) {
        precondition(r >= 0 && r < rows, "row \(r) out of 0..<\(rows)")
        withExtendedLifetime(self) { hq_dequantize_row(Int32(type.rawValue), row(r), out, cols) }
    }

    /// The whole matrix as float32 (rows, cols) — a reference for tests; products never need it.
    public func dequantized() -> Tensor {
        let t = Tensor(zeros: [rows, cols])
        for r in 0..<rows { dequantizeRow(r, into: t.data + r * cols) }
        return t
    }

    /// Bytes of one activation row as the kernels quantize it (0 for float weight types, whose
    /// activations stay float).
    public var activationRowBytes: Int {
        (type == .f32 || type == .f16 || type == .bf16) ? 0 : hq_act_row_bytes(Int32(type.rawValue), cols)
    }

    /// Products smaller than this (weight bytes × activation rows) run on the calling thread:
    /// below ~1 MB a product takes ≲ 50 µs on one core, and waking a second worker through
    /// Kernels.parallelChunks costs 5–20 µs (more on a busy machine), so splitting saves little.
    nonisolated(unsafe) public static var parallelThreshold = 1 << 20

    /// y(m, ldy)[:, 0..<rows] = x(m, cols) · Wᵀ. x's rows are contiguous (stride `cols`).
    /// Quantized weights: x is quantized once to 8-bit blocks (llama.cpp's q8_0 / q8_1 for the
    /// 32-element formats, q8_K for the K-quants), then each weight row is combined with it by
    /// integer dot products. Rows of W are split across `BLAS.threads` workers for large products.
    /// Each output is computed the same way whatever `m` and the thread split are: a row's result
    /// does not depend on which other rows share the product (float weights included, which is
    /// why f32 matrices do not go through BLAS here).
    public func multiply(_ x: UnsafePointer<Float>, rows m: Int, into y: UnsafeMutablePointer<Float>, ldy: Int) {
        precondition(m >= 0 && ldy >= rows, "multiply: m \(m), ldy \(ldy) < \(rows) rows")
        guard m > 0, rows > 0 else { return }
        guard cols > 0 else {
            for r in 0..<m { (y + r * ldy).initialize(repeating: 0, count: rows) }
            return
        }
        let typeID = Int32(type.rawValue)
        withExtendedLifetime(self) {
            let actBytes = hq_act_row_bytes(typeID, cols)
            let isFloat = type == .f32 || type == .f16 || type == .bf16
            var scratch: UnsafeMutableRawPointer? = nil
            let xq: UnsafeRawPointer
            if isFloat {
                xq = UnsafeRawPointer(x)
            } else {
                let buffer = UnsafeMutableRawPointer.allocate(byteCount: m * actBytes, alignment: 64)
                scratch = buffer
                if m * cols >= 1 << 16 && BLAS.threads > 1 {
                    Kernels.parallelChunks(count: m, minChunk: max(1, m / BLAS.threads)) { start, end in
                        hq_quantize_act(typeID, x + start * cols, cols, end - start, cols, buffer + start * actBytes)
                    }
                } else {
                    hq_quantize_act(typeID, x, cols, m, cols, buffer)
                }
                xq = UnsafeRawPointer(buffer)
            }
            defer { scratch?.deallocate() }
            let threads = BLAS.threads
            if threads > 1 && rows >= 2 * 8 && byteCount * m >= Self.parallelThreshold {
                Kernels.parallelChunks(count: rows, minChunk: max(8, rows / threads)) { start, end in
                    hq_matmul(typeID, data, rowBytes, cols, start, end, xq, actBytes, m, y, ldy)
                }
            } else {
                hq_matmul(typeID, data, rowBytes, cols, 0, rows, xq, actBytes, m, y, ldy)
            }
        }
    }
}

/// A (rows, cols) weight matrix in int8 with one float scale per row and per `group` consecutive
/// values (amax/127; group = cols is CTranslate2's per-row int8). Products quantize each
/// activation row with the same groups and run on oneDNN's integer GEMM (CKernels/int8gemm.c) —
/// only where `isAvailable` (AVX-512 VNNI).
public final class Int8Matrix: @unchecked Sendable {
    public let rows: Int
    public let cols: Int
    public let group: Int
    let values: UnsafeMutablePointer<Int8>
    let scales: UnsafeMutablePointer<Float>

    public static var isAvailable: Bool { hk_int8_available() != 0 }

    /// `group` must divide the columns (it is clamped to them).
    public init(_ weight: Tensor, group: Int) {
        precondition(weight.shape.count == 2, "int8 weights need a matrix, got \(weight.shape)")
        rows = weight.shape[0]; cols = weight.shape[1]
        self.group = min(max(1, group), max(1, cols))
        precondition(cols % self.group == 0, "group \(group) does not divide \(cols) columns")
        values = .allocate(capacity: max(1, rows * cols))
        scales = .allocate(capacity: max(1, rows * (cols / self.group)))
        hk_int8_quantize_rows_s8(weight.data, rows, cols, cols, self.group, values, scales)
    }

    deinit { values.deallocate(); scales.deallocate() }

    /// y(m, ldy)[:, 0..<rows] = x(m, cols) · Wᵀ, columns split across `BLAS.threads` workers.
    public func multiply(_ x: UnsafePointer<Float>, rows m: Int, ldx: Int, into y: UnsafeMutablePointer<Float>, ldy: Int) {
        guard m > 0, rows > 0 else { return }
        let (k, n, g) = (cols, rows, group)
        let a = UnsafeMutablePointer<UInt8>.allocate(capacity: m * k)
        let aScale = UnsafeMutablePointer<Float>.allocate(capacity: m * (k / g))
        defer { a.deallocate(); aScale.deallocate() }
        if m >= 64 && BLAS.threads > 1 {
            Kernels.parallelChunks(count: m, minChunk: max(1, m / BLAS.threads)) { s, e in
                hk_int8_quantize_rows_u8(x + s * ldx, e - s, k, ldx, g, a + s * k, aScale + s * (k / g))
            }
        } else {
            hk_int8_quantize_rows_u8(x, m, k, ldx, g, a, aScale)
        }
        withExtendedLifetime(self) {
            if BLAS.threads > 1 && m * n * k >= 1 << 21 && n >= 32 {
                Kernels.parallelChunks(count: n, minChunk: max(16, n / BLAS.threads)) { s, e in
                    let status = hk_int8_matmul(a, aScale, m, k, g, values, scales, s, e, y, ldy)
                    precondition(status == 0, "oneDNN int8 GEMM failed with status \(status)")
                }
            } else {
                let status = hk_int8_matmul(a, aScale, m, k, g, values, scales, 0, n, y, ldy)
                precondition(status == 0, "oneDNN int8 GEMM failed with status \(status)")
            }
        }
    }
}
