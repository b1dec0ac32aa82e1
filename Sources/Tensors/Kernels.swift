// CPU kernels shared by every model: GEMM through CBLAS; norms, activations and softmax in
// CKernels (C, vectorized by clang, AVX2/FMA chosen at run time). Swift's SIMD types lowered to
// scalar code here (45 ns per exp vs 0.4 ns in C), so elementwise math lives in C.

import CHearthDeps
import CKernels
import Foundation

public enum BLAS {
    /// Worker threads for products. OpenBLAS itself runs single-threaded: its spinning worker
    /// pool fought with our own threads (a quarter of decode time went to sched_yield), so
    /// large products are split across our workers instead, one OpenBLAS call per slice.
    nonisolated(unsafe) public private(set) static var threads = ProcessInfo.processInfo.activeProcessorCount

    public static func setThreads(_ n: Int) {
        threads = max(1, n)
        openblas_set_num_threads(1)
    }

    /// C(m, n) = alpha · A(m, k) · op(B) + beta · C, row-major with explicit leading dimensions.
    /// `transB == true` means B is stored (n, k) — the layout of every linear weight (out, in).
    public static func gemm(m: Int, n: Int, k: Int,
                            a: UnsafePointer<Float>, lda: Int,
                            b: UnsafePointer<Float>, ldb: Int, transB: Bool,
                            c: UnsafeMutablePointer<Float>, ldc: Int,
                            alpha: Float = 1, beta: Float = 0) {
        if !configured { setThreads(threads); configured = true }
        let workers = threads
        guard workers > 1, m * n * k >= 1 << 20 else {
            sgemm(m, n, k, a, lda, b, ldb, transB, c, ldc, alpha, beta)
            return
        }
        if m >= n || m >= 64 {
            // Split rows of A and C.
            let chunk = (m + workers - 1) / workers
            WorkerPool.run(workers) { w in
                let start = w * chunk, rows = min(m, start + chunk) - start
                if rows > 0 { sgemm(rows, n, k, a + start * lda, lda, b, ldb, transB, c + start * ldc, ldc, alpha, beta) }
            }
        } else {
            // Split columns of op(B) and C.
            let chunk = (n + workers - 1) / workers
            WorkerPool.run(workers) { w in
                let start = w * chunk, cols = min(n, start + chunk) - start
                if cols > 0 {
                    let bStart = transB ? b + start * ldb : b + start
                    sgemm(m, cols, k, a, lda, bStart, ldb, transB, c + start, ldc, alpha, beta)
                }
            }
        }
    }

    /// `gemm` on the calling thread only (callers that split work across the pool themselves).
    public static func gemmOnThisThread(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                                        b: UnsafePointer<Float>, ldb: Int, transB: Bool,
                                        c: UnsafeMutablePointer<Float>, ldc: Int) {
        if !configured { setThreads(threads); configured = true }
        sgemm(m, n, k, a, lda, b, ldb, transB, c, ldc, 1, 0)
    }

    nonisolated(unsafe) private static var configured = false

    @inline(__always)
    private static func sgemm(_ m: Int, _ n: Int, _ k: Int, _ a: UnsafePointer<Float>, _ lda: Int,
                              _ b: UnsafePointer<Float>, _ ldb: Int, _ transB: Bool,
                              _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ alpha: Float, _ beta: Float) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}

public enum Kernels {
    /// y(rows, n) = LayerNorm(x) · gamma + beta, row by row; x and y may alias.
    public static func layerNorm(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, n: Int,
                                 gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>?, eps: Float = 1e-5) {
        hk_layernorm(x, y, rows, n, gamma, beta, eps)
    }

    /// y(rows, n) = RMSNorm(x) · gamma; x and y may alias.
    public static func rmsNorm(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, n: Int,
                               gamma: UnsafePointer<Float>, eps: Float) {
        hk_rmsnorm(x, y, rows, n, gamma, eps)
    }

    /// x += y, elementwise over `count`.
    public static func add(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, count: Int) { hk_add(x, y, count) }

    /// x *= y, elementwise over `count`.
    public static func multiply(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, count: Int) { hk_mul(x, y, count) }

    /// Rounds each value to the nearest float16 (kept as float32).
    public static func roundToHalf(_ x: UnsafeMutablePointer<Float>, count: Int) { hk_round_half(x, count) }

    /// Σ a[i]·b[i]
    @inline(__always)
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float { hk_dot(a, b, count) }

    /// y += alpha · x
    @inline(__always)
    public static func axpy(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, alpha: Float, count: Int) {
        hk_axpy(y, x, alpha, count)
    }

    /// Exact (erf) GELU in place: x · ½ (1 + erf(x / √2)).
    public static func gelu(_ x: UnsafeMutablePointer<Float>, count: Int) {
        parallelChunks(count: count, minChunk: 1 << 16) { start, end in hk_gelu(x + start, end - start) }
    }

    /// tanh-approximated GELU in place (PyTorch `gelu(approximate: "tanh")`, SigLIP's `gelu_pytorch_tanh`).
    public static func geluTanh(_ x: UnsafeMutablePointer<Float>, count: Int) {
        parallelChunks(count: count, minChunk: 1 << 16) { start, end in hk_gelu_tanh(x + start, end - start) }
    }

    /// SiLU in place: x · σ(x).
    public static func silu(_ x: UnsafeMutablePointer<Float>, count: Int) { hk_silu(x, count) }

    /// Softmax over each row of x (rows, n) in place, each row scaled by `scale` first.
    public static func softmaxRows(_ x: UnsafeMutablePointer<Float>, rows: Int, n: Int, scale: Float = 1) {
        if rows * n >= 1 << 17 {
            parallelChunks(count: rows, minChunk: 1) { start, end in
                for r in start..<end { hk_softmax(x + r * n, n, scale) }
            }
        } else {
            for r in 0..<rows { hk_softmax(x + r * n, n, scale) }
        }
    }

    /// Numerically stable softmax of `count` values in place, after multiplying by `scale`.
    @inline(__always)
    public static func softmax(_ row: UnsafeMutablePointer<Float>, count: Int, scale: Float = 1) {
        hk_softmax(row, count, scale)
    }

    /// log-softmax of `count` values, written to `out` (may alias); −inf stays −inf.
    public static func logSoftmax(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, count: Int) {
        hk_log_softmax(x, out, count)
    }

    /// Runs `body(start, end)` over [0, count) split across `BLAS.threads` workers (`--threads`).
    public static func parallelChunks(count: Int, minChunk: Int, _ body: (Int, Int) -> Void) {
        let workers = min(BLAS.threads, max(1, count / max(minChunk, 1)))
        if workers <= 1 { body(0, count); return }
        let chunk = (count + workers - 1) / workers
        WorkerPool.run(workers) { w in
            let start = w * chunk, end = min(count, start + chunk)
            if start < end { body(start, end) }
        }
    }
}

/// Runs the parallel parts of every kernel: `run(n) { i in … }` calls the body for 0..<n on the
/// persistent C worker pool (CKernels/pool.c: workers spin ~200 µs between jobs, then sleep), so
/// the dozens of products of one decoding step do not each pay a thread wake-up.
/// `HEARTH_POOL=dispatch` uses DispatchQueue.concurrentPerform instead (for A/B measurements).
public enum WorkerPool {
    static let useDispatch = ProcessInfo.processInfo.environment["HEARTH_POOL"] == "dispatch"

    public static func run(_ tasks: Int, _ body: (Int) -> Void) {
        if tasks <= 1 { if tasks == 1 { body(0) }; return }
        if useDispatch { DispatchQueue.concurrentPerform(iterations: tasks, execute: body); return }
        withoutActuallyEscaping(body) { body in
            var task = body
            withUnsafeMutablePointer(to: &task) { pointer in
                hk_pool_run(tasks, { context, index in
                    context!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(index)
                }, pointer)
            }
        }
    }
}
