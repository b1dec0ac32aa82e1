// CTranslate2 model.bin: parse, then convert every variable to float32.
import FuzzSupport
import Weights

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCTranslate2(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let path = FuzzInput.write(data, size, name: "model.bin")
    guard let (file, _) = try? CTranslate2Reader.read(path: path) else { return 0 }
    for name in file.names {
        if let t = try? file.tensor(name) { _ = t.shape }
        _ = try? file.scalar(name)
    }
    return 0
}

/// The executable's entry point (SwiftPM renames `main` to `fuzz_ctranslate2_main`): hands over to libFuzzer.
@_cdecl("fuzz_ctranslate2_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzCTranslate2)
}
