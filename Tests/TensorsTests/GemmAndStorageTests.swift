import Tensors
import TestSupport
import XCTest

final class GemmTests: XCTestCase {
    /// C = alpha·A·op(B) + beta·C with padded leading dimensions; padding must stay untouched.
    private func check(m: Int, n: Int, k: Int, transB: Bool, padA: Int, padB: Int, padC: Int,
                       alpha: Float, beta: Float, rng: inout TestRNG, file: StaticString = #filePath, line: UInt = #line) {
        let lda = k + padA
        let ldb = (transB ? k : n) + padB
        let ldc = n + padC
        let bRows = transB ? n : k
        let a = rng.normals(m * lda), b = rng.normals(bRows * ldb)
        let c0 = rng.normals(m * ldc)
        var c = c0
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                c.withUnsafeMutableBufferPointer { cp in
                    BLAS.gemm(m: m, n: n, k: k, a: ap.baseAddress!, lda: lda, b: bp.baseAddress!, ldb: ldb, transB: transB,
                              c: cp.baseAddress!, ldc: ldc, alpha: alpha, beta: beta)
                }
            }
        }
        for i in 0..<m {
            for j in 0..<ldc {
                if j >= n {
                    XCTAssertEqual(c[i * ldc + j], c0[i * ldc + j], "padding of C changed", file: file, line: line)
                    continue
                }
                var sum = 0.0, magnitude = 0.0
                for p in 0..<k {
                    let bv = transB ? b[j * ldb + p] : b[p * ldb + j]
                    sum += Double(a[i * lda + p]) * Double(bv)
                    magnitude += abs(Double(a[i * lda + p]) * Double(bv))
                }
                let expected = Double(alpha) * sum + Double(beta) * Double(c0[i * ldc + j])
                let tolerance = 1e-6 * (abs(Double(alpha)) * magnitude + abs(Double(beta) * Double(c0[i * ldc + j])) + 1)
                if abs(Double(c[i * ldc + j]) - expected) > tolerance {
                    XCTFail("m\(m) n\(n) k\(k) transB \(transB) C[\(i),\(j)] = \(c[i * ldc + j]), expected \(expected)",
                            file: file, line: line)
                    return
                }
            }
        }
    }

    func testGemmMatchesNaiveProduct() {
        var rng = TestRNG(seed: 21)
        for transB in [false, true] {
            // The last four have m·n·k ≥ 2^20, so the product is split across worker threads:
            // by rows of C (m ≥ n, or m ≥ 64) or by columns (few rows, many outputs).
            for (m, n, k) in [(1, 1, 1), (1, 7, 5), (5, 7, 3), (8, 1, 33), (17, 13, 9), (33, 65, 31), (64, 48, 80),
                              (129, 96, 97), (70, 101, 160), (16, 257, 256), (3, 701, 512)] {
                check(m: m, n: n, k: k, transB: transB, padA: 0, padB: 0, padC: 0, alpha: 1, beta: 0, rng: &rng)
                check(m: m, n: n, k: k, transB: transB, padA: 3, padB: 5, padC: 2, alpha: 1, beta: 0, rng: &rng)
                check(m: m, n: n, k: k, transB: transB, padA: 1, padB: 0, padC: 4, alpha: 1, beta: 1, rng: &rng)
                check(m: m, n: n, k: k, transB: transB, padA: 0, padB: 2, padC: 1, alpha: 0.5, beta: -2, rng: &rng)
            }
        }
    }

    func testGemmBetaZeroIgnoresGarbageInC() {
        // beta = 0 must overwrite C, even if it holds NaN.
        let a: [Float] = [1, 2, 3, 4], b: [Float] = [5, 6, 7, 8]   // 2×2 each
        var c = [Float](repeating: .nan, count: 4)
        BLAS.gemm(m: 2, n: 2, k: 2, a: a, lda: 2, b: b, ldb: 2, transB: false, c: &c, ldc: 2)
        XCTAssertEqual(c, [19, 22, 43, 50])
        BLAS.gemm(m: 2, n: 2, k: 2, a: a, lda: 2, b: b, ldb: 2, transB: true, c: &c, ldc: 2)
        XCTAssertEqual(c, [17, 23, 39, 53])
        BLAS.gemm(m: 2, n: 2, k: 2, a: a, lda: 2, b: b, ldb: 2, transB: true, c: &c, ldc: 2, beta: 1)
        XCTAssertEqual(c, [34, 46, 78, 106])
    }
}

final class TensorStorageTests: XCTestCase {
    func testZerosValuesRowsAndSubscript() {
        let z = Tensor(zeros: [2, 3, 4])
        XCTAssertEqual(z.shape, [2, 3, 4])
        XCTAssertEqual(z.count, 24)
        XCTAssertEqual(z.array, [Float](repeating: 0, count: 24))
        XCTAssertEqual(Int(bitPattern: z.data) % 64, 0, "storage is 64-byte aligned")

        let t = Tensor(shape: [3, 2], values: [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(t.row(0)[1], 2)
        XCTAssertEqual(t.row(2)[0], 5)
        t[3] = 40
        XCTAssertEqual(t.array, [1, 2, 3, 40, 5, 6])
        XCTAssertEqual(t.withData { $0[3] }, 40)

        let scalar = Tensor(shape: [], values: [7])
        XCTAssertEqual(scalar.count, 1)
        XCTAssertEqual(scalar[0], 7)
        let empty = Tensor(zeros: [0, 5])
        XCTAssertEqual(empty.count, 0)
        XCTAssertEqual(empty.array, [])
    }

    func testViewSharesStorage() {
        let base = Tensor(shape: [2, 6], values: (0..<12).map(Float.init))
        let view = Tensor(viewing: base, shape: [3, 4])
        XCTAssertEqual(view.shape, [3, 4])
        XCTAssertEqual(view.count, 12)
        XCTAssertEqual(view.data, base.data)
        XCTAssertEqual(view.row(1)[0], 4)
        view[5] = -1
        XCTAssertEqual(base[5], -1)
        base[11] = 99
        XCTAssertEqual(view.row(2)[3], 99)
        // A view of a view.
        let flat = Tensor(viewing: view, shape: [12])
        flat[0] = 123
        XCTAssertEqual(base[0], 123)
    }

    func testViewKeepsBaseAliveAndReleasesIt() {
        weak var weakBase: Tensor?
        var view: Tensor?
        do {
            let base = Tensor(shape: [4, 4], values: (0..<16).map { Float($0) * 0.5 })
            weakBase = base
            view = Tensor(viewing: base, shape: [16])
        }
        XCTAssertNotNil(weakBase, "the view must keep its base alive")
        // Allocate and scribble elsewhere; the view's memory must still hold the base's values.
        let noise = (0..<64).map { _ in Tensor(shape: [16], values: [Float](repeating: -7, count: 16)) }
        XCTAssertEqual(view?.array, (0..<16).map { Float($0) * 0.5 })
        XCTAssertEqual(noise.count, 64)
        view = nil
        XCTAssertNil(weakBase, "dropping the last view releases the base")
    }
}
