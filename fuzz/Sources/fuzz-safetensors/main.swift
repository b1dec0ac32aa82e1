// safetensors: parse the header, then convert every tensor to float32.
import FuzzSupport
import Weights

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafetensors(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let path = FuzzInput.write(data, size, name: "model.safetensors")
    guard let file = try? SafetensorsReader.read(path: path) else { return 0 }
    for name in file.names {
        if let t = try? file.tensor(name) { _ = t.shape }
    }
    return 0
}

/// The executable's entry point (SwiftPM renames `main` to `fuzz_safetensors_main`): hands over to libFuzzer.
@_cdecl("fuzz_safetensors_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzSafetensors)
}
