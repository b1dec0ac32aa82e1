import Foundation
import Tensors
import XCTest

/// The persistent worker pool: every index of every job runs exactly once, also with nested jobs
/// and two threads dispatching at the same time (the second runs its job inline).
final class WorkerPoolTests: XCTestCase {
    /// Counters the pool's tasks bump from several threads.
    final class Counts: @unchecked Sendable {
        private let lock = NSLock()
        private var values: [Int]
        init(_ n: Int) { values = [Int](repeating: 0, count: n) }
        func bump(_ i: Int) { lock.lock(); values[i] += 1; lock.unlock() }
        var all: [Int] { lock.lock(); defer { lock.unlock() }; return values }
    }

    func testEveryIndexRunsOnceAcrossManyJobs() {
        for tasks in [2, 3, 7, 64] {
            for _ in 0..<2000 {
                let counts = Counts(tasks)
                WorkerPool.run(tasks) { counts.bump($0) }
                XCTAssertEqual(counts.all, [Int](repeating: 1, count: tasks))
            }
        }
    }

    func testNestedAndConcurrentCallers() {
        let total = Counts(1)
        DispatchQueue.concurrentPerform(iterations: 2) { _ in
            for _ in 0..<500 {
                WorkerPool.run(4) { _ in
                    WorkerPool.run(3) { _ in total.bump(0) }   // nested: runs inline on its thread
                }
            }
        }
        XCTAssertEqual(total.all, [2 * 500 * 4 * 3])
    }
}
