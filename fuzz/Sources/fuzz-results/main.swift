// Results files (what resume, merge and report read): any bytes give records, unreadable line
// numbers and a torn tail; then the file is opened for appending (which cuts a torn tail) and
// read again. Never a crash.
import Foundation
import FuzzSupport
@testable import Pipelines

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzResults(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let path = FuzzInput.write(data, size, name: "results.jsonl")
    let url = URL(fileURLWithPath: path)
    guard let first = try? ResultsLog.read(url) else { return 0 }
    _ = try? ResultsFile(url: url).latest.all()
    if let log = try? ResultsLog(url: url) {
        log.close()
        if let again = try? ResultsLog.read(url) {
            if again.records.count != first.records.count { fatalError("reopening changed the number of records") }
        }
    }
    return 0
}

/// The executable's entry point (SwiftPM renames `main` to `fuzz_results_main`): hands over to libFuzzer.
@_cdecl("fuzz_results_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzResults)
}
