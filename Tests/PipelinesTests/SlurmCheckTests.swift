import Foundation
import TestSupport
import XCTest

/// Opt-in (HEARTH_SLURM_CHECK=1; needs root, munge, slurmctld, slurmd, slurm-client): runs
/// scripts/reliability/slurm_check.py — a one-machine Slurm cluster runs docs/slurm-array.sh as a
/// 3-task job array, the merged shards equal a single-machine run, also after one task is
/// cancelled mid-run and requeued — with the hearth built with the tests. About 1.5 minutes.
final class SlurmCheckTests: XCTestCase {
    func testJobArrayOnARealSlurmClusterMergesToTheSingleMachineRun() throws {
        guard ProcessInfo.processInfo.environment["HEARTH_SLURM_CHECK"] == "1" else {
            throw XCTSkip("set HEARTH_SLURM_CHECK=1 to start a Slurm cluster (or run `make slurm-check`)")
        }
        try Fixtures.requireModel()
        _ = try Fixtures.testClip("truncated.wav")
        let script = TestPaths.packageRoot.appendingPathComponent("scripts/reliability/slurm_check.py").path
        let work = TestPaths.packageRoot.appendingPathComponent(".build/slurm-xctest").path
        let result = try runProcess(URL(fileURLWithPath: "/usr/bin/env"),
                                    ["python3", script, "--hearth", try Fixtures.hearthBinary().path, "--work", work])
        print(result.stdout)
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertFalse(result.stdout.split(separator: "\n").contains { $0.hasPrefix("FAIL:") }, result.stdout)
        // Cluster up, single run, array, merge and its two comparisons, cancel, kept records, requeue, merge and two comparisons.
        XCTAssertTrue(result.stdout.contains("PASS (12 checks passed, 0 failed)"), result.stdout)
    }
}
