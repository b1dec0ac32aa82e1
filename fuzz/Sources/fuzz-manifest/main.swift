// Manifest readers: CSV, TSV and JSONL; rows or a ParseError, never a crash.
import FuzzSupport
@testable import Pipelines

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzManifest(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: FuzzInput.bytes(data, size), as: UTF8.self)
    _ = try? Manifest.csv(text)
    _ = try? Manifest.csv(text, separator: "\t")
    _ = try? Manifest.jsonLines(text)
    return 0
}

/// The executable's entry point (SwiftPM renames `main` to `fuzz_manifest_main`): hands over to libFuzzer.
@_cdecl("fuzz_manifest_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzManifest)
}
