import Foundation
import ModelStore
import Pipelines
import XCTest

/// Hearth never touches the network: a full pipeline (transcribe jfk.wav with whisper-tiny.en, then
/// ask smollm2 about the transcript) runs inside a network namespace without interfaces, and under
/// strace it makes no network system call at all — not even the AF_UNIX socket glibc opens to nscd
/// for user-name lookups (Foundation's home directory and file attributes would do that).
final class OfflineTests: XCTestCase {
    func pipeline(in folder: URL) throws -> URL {
        try Fixtures.requireModel()
        do { _ = try ModelStore().resolve("smollm2-135m-instruct") } catch {
            XCTFail("\(error) — run `make test-models`"); throw error
        }
        return try Fixtures.write("""
            inputs: [\(Fixtures.sample("jfk.wav"))]
            stages:
              - task: transcribe
                options: {beam_size: 1}
              - task: ask
                prompt: "Who could have said this? {{transcribe.text}}"
                options: {max_tokens: 12}
            outputs: {directory: out, sidecars: [txt, json], report: report.html}
            """, to: folder.appendingPathComponent("p.yaml"))
    }

    func checkRun(_ folder: URL, _ result: (status: Int32, stdout: String, stderr: String)) throws {
        XCTAssertEqual(result.status, 0, result.stderr)
        let records = try latestRecords(folder.appendingPathComponent("out/results.jsonl"))
        XCTAssertEqual(records.map(\.status), [.ok])
        XCTAssertTrue(records.first?.results["transcribe"]?["text"]?.text?.contains("ask not what your country") == true)
        XCTAssertFalse((records.first?.results["ask"]?["answer"]?.text ?? "").isEmpty)
    }

    func testFullPipelineRunsInANetworkNamespaceWithoutInterfaces() throws {
        let probe = try runProcess(URL(fileURLWithPath: "/usr/bin/env"), ["unshare", "-n", "true"])
        guard probe.status == 0 else {
            throw XCTSkip("unshare -n is not permitted here (needs root or user namespaces): \(probe.stderr)")
        }
        let folder = try Fixtures.temporaryFolder(self)
        let file = try pipeline(in: folder)
        let links = try runProcess(URL(fileURLWithPath: "/usr/bin/env"), ["unshare", "-n", "cat", "/proc/net/dev"])
        // /proc/net/dev: two header lines, then "name: counters" per interface; only loopback may exist.
        let interfaces = links.stdout.split(separator: "\n").dropFirst(2)
            .compactMap { $0.split(separator: ":").first?.trimmingCharacters(in: .whitespaces) }
        XCTAssertEqual(interfaces, ["lo"], "the namespace has only loopback: \(links.stdout)")
        try checkRun(folder, try runProcess(URL(fileURLWithPath: "/usr/bin/env"),
                                            ["unshare", "-n", try Fixtures.hearthBinary().path, "run", file.path, "--quiet"]))
    }

    func testNoSocketIsCreatedDuringARun() throws {
        guard (try? runProcess(URL(fileURLWithPath: "/bin/sh"), ["-c", "command -v strace"]).status) == 0 else {
            throw XCTSkip("strace is not installed (make setup installs it)")
        }
        let folder = try Fixtures.temporaryFolder(self)
        let file = try pipeline(in: folder)
        let trace = folder.appendingPathComponent("network.trace")
        let result = try runProcess(URL(fileURLWithPath: "/usr/bin/env"),
                                    ["strace", "-f", "-qq", "-e", "trace=network", "-o", trace.path,
                                     try Fixtures.hearthBinary().path, "run", file.path, "--quiet"])
        guard !result.stderr.contains("PTRACE_TRACEME") && !result.stderr.contains("Operation not permitted") else {
            throw XCTSkip("ptrace is not permitted here: \(result.stderr)")
        }
        try checkRun(folder, result)
        // `PID ???( <detached ...>` is strace's line for a thread that vanished mid-call when the process
        // re-executed itself (the OpenBLAS core-type re-exec kills the library's threads): no call was made.
        let calls = try String(contentsOf: trace, encoding: .utf8).split(separator: "\n")
            .filter { $0.range(of: #"^\d+ \?\?\?\( <detached \.\.\.>$"#, options: .regularExpression) == nil }
        XCTAssertEqual(calls, [], "network system calls during a run (socket, connect, bind, sendto, …)")
    }
}
