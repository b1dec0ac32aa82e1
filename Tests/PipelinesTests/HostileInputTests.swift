import Foundation
import Media
import ModelStore
import Pipelines
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// A real `hearth run` (transcribe + detect) over the folder `scripts/goldens/make_hostile_corpus.py` builds
/// (broken, lying, hostile and awkward audio and images among good ones, see the script): the run finishes, every bad item has
/// exactly one error record whose message a person can act on, every good item has its result,
/// 10 minutes of digital silence transcribe to no text, and memory stays bounded. Two files are
/// changed and removed while the run goes.
final class HostileInputTests: XCTestCase {
    struct Expectation: Decodable { let expect: String; let text: String?; let prefix: String? }

    func testHostileFolderFinishesWithOneClearRecordPerItem() throws {
        try Fixtures.requireModel()
        do { _ = try ModelStore().resolve("yolov3-tiny") } catch { XCTFail("\(error) — run `make test-models`"); throw error }
        let hearth = try Fixtures.hearthBinary()
        for tool in ["python3", "sox", "espeak-ng"] where !commandExists(tool) {
            throw XCTSkip("\(tool) is not installed (make setup)")
        }
        let folder = try Fixtures.temporaryFolder(self)
        let corpus = folder.appendingPathComponent("hostile")
        let generated = try runProcess(URL(fileURLWithPath: "/usr/bin/env"),
                                       ["python3", TestPaths.packageRoot.appendingPathComponent("scripts/goldens/make_hostile_corpus.py").path,
                                        corpus.path, "--silence-seconds", "600"])
        XCTAssertEqual(generated.status, 0, generated.stderr)
        addTeardownBlock { _ = try? runProcess(URL(fileURLWithPath: "/bin/chmod"), ["-R", "u+rwX", corpus.path]) }
        let expected = try JSONDecoder().decode([String: Expectation].self,
                                                from: Data(contentsOf: folder.appendingPathComponent("hostile.expected.json")))
        let pipeline = try Fixtures.write("""
            inputs: [hostile/]
            stages:
              - task: transcribe
                options: {beam_size: 1}
              - task: detect
            outputs: {directory: out, sidecars: [txt]}
            """, to: folder.appendingPathComponent("p.yaml"))

        // Run; once the run has listed its items (its results lock exists; it then waits for the file
        // named by HEARTH_TEST_WAIT_FOR_FILE), one file is removed and one is replaced by text, and the
        // run is let go: no item has been read before the change.
        // Under a small python parent that prints the run's own peak RSS (KB) when it ends and passes
        // on its exit status or signal: this process's RUSAGE_CHILDREN would also count other tests' children.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", """
            import os, resource, subprocess, sys
            r = subprocess.run(sys.argv[1:])
            print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, flush=True)
            if r.returncode < 0: os.kill(os.getpid(), -r.returncode)
            sys.exit(r.returncode)
            """, hearth.path, "run", pipeline.path, "--quiet"]
        let errors = Pipe(), output = Pipe()
        process.standardError = errors
        process.standardOutput = output
        let go = folder.appendingPathComponent("go")
        process.environment = ProcessInfo.processInfo.environment.merging(["HEARTH_TEST_WAIT_FOR_FILE": go.path]) { $1 }
        try process.run()
        do {
            defer { _ = FileManager.default.createFile(atPath: go.path, contents: nil) }   // let the run go, even on a throw
            let lock = folder.appendingPathComponent("out/.results.jsonl.lock")
            while process.isRunning && !FileManager.default.fileExists(atPath: lock.path) { usleep(2_000) }
            try? FileManager.default.removeItem(at: corpus.appendingPathComponent("zz-vanishes.wav"))
            try Data("now a text file\n".utf8).write(to: corpus.appendingPathComponent("zz-changes.wav"))
        }
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let peakKB = Double(String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)) ?? .infinity
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .exit, "no crash: \(stderr)")
        XCTAssertEqual(process.terminationStatus, 1, "finished, with error records: \(stderr)")

        let all = try ResultsLog.read(folder.appendingPathComponent("out/results.jsonl")).records
        XCTAssertEqual(Set(all.map(\.id)).count, all.count, "one record per item")
        var byInput: [String: ResultRecord] = [:]
        for record in all {
            let relative = record.input.hasPrefix("hostile/") ? String(record.input.dropFirst("hostile/".count)) : record.input
            byInput[relative] = record
        }
        var matched = Set<String>()
        for (name, expectation) in expected.sorted(by: { $0.key < $1.key }) {
            let key = expectation.prefix.flatMap { prefix in byInput.keys.first { $0.hasPrefix(prefix) } } ?? name
            let record = byInput[key]
            let expect = expectation.expect
            switch expect {
            case "none":
                XCTAssertNil(record, "\(name) is not an item")
            case "ok":
                guard let record else { XCTFail("\(name): no record"); continue }
                XCTAssertEqual(record.status, .ok, "\(name): \(record.message ?? "")")
                if let text = expectation.text {
                    XCTAssertEqual(record.results["transcribe"]?["text"]?.text, text, "\(name): no hallucinated text")
                }
            case "error", "error-or-ok":
                guard let record else { XCTFail("\(name): no record"); continue }
                if expect == "error-or-ok" && record.status == .ok { break }
                XCTAssertEqual(record.status, .error, name)
                checkHumanMessage(record, name: name)
            default:
                XCTFail("unknown expectation \(expect)")
            }
            if record != nil { matched.insert(key) }
        }
        XCTAssertEqual(Set(byInput.keys).subtracting(matched), [], "records for files the corpus does not list")

        // Memory: the run's peak resident set stays bounded.
        let peakMB = peakKB / 1024
        XCTAssertLessThan(peakMB, 1500, "peak RSS of the runs")
        print("hostile corpus: \(all.count) records, \(all.filter { $0.status == .ok }.count) ok, peak child RSS \(Int(peakMB)) MB")
    }

    /// The corpus' images through the image decoder (a transcribe pipeline does not collect them):
    /// hostile ones refused with an ImageError naming the file (the bomb before any pixel buffer is
    /// allocated), good ones decoded.
    func testHostileImagesAreRefusedAndGoodOnesDecode() throws {
        guard commandExists("python3"), commandExists("sox"), commandExists("espeak-ng") else { throw XCTSkip("python3, sox, espeak-ng needed") }
        let folder = try Fixtures.temporaryFolder(self)
        let corpus = folder.appendingPathComponent("hostile")
        let generated = try runProcess(URL(fileURLWithPath: "/usr/bin/env"),
                                       ["python3", TestPaths.packageRoot.appendingPathComponent("scripts/goldens/make_hostile_corpus.py").path,
                                        corpus.path, "--silence-seconds", "1"])
        XCTAssertEqual(generated.status, 0, generated.stderr)
        addTeardownBlock { _ = try? runProcess(URL(fileURLWithPath: "/bin/chmod"), ["-R", "u+rwX", corpus.path]) }
        let expected = try JSONDecoder().decode([String: Expectation].self,
                                                from: Data(contentsOf: folder.appendingPathComponent("hostile.expected.json")))
        let images = expected.filter { $0.key.hasPrefix("images/") }
        XCTAssertGreaterThanOrEqual(images.count, 8)
        for (name, expectation) in images.sorted(by: { $0.key < $1.key }) {
            let path = corpus.appendingPathComponent(name).path
            do {
                let image = try ImageDecoder.decode(path: path)
                XCTAssertEqual(expectation.expect, "ok", "\(name) decoded (\(image.width)×\(image.height))")
                XCTAssertGreaterThan(image.width * image.height, 0, name)
            } catch let error as ImageError {
                XCTAssertEqual(expectation.expect, "error", "\(name): \(error)")
                XCTAssertTrue("\(error)".contains(URL(fileURLWithPath: name).lastPathComponent), "\(error)")
            } catch {
                XCTFail("\(name): not an ImageError: \(error)")
            }
        }
    }

    /// An error message a person understands: says what is wrong in words, names no Swift or
    /// Foundation internals, and the record (or message) names the file.
    func checkHumanMessage(_ record: ResultRecord, name: String) {
        let message = record.message ?? ""
        XCTAssertGreaterThan(message.count, 12, "\(name): \(message)")
        for jargon in ["Error Domain", "Optional(", "NSCocoaErrorDomain", "Swift.", "error 1.", "(null)"] {
            XCTAssertFalse(message.contains(jargon), "\(name): \(message)")
        }
        XCTAssertNotNil(record.stage, name)
        let file = URL(fileURLWithPath: name).lastPathComponent
        XCTAssertTrue(record.path.hasSuffix(file) || record.path.contains("\u{FFFD}"), "\(name): \(record.path)")
    }

    func commandExists(_ name: String) -> Bool {
        (try? runProcess(URL(fileURLWithPath: "/bin/sh"), ["-c", "command -v \(name)"]).status) == 0
    }
}
