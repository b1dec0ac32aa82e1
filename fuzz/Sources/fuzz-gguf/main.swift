// GGUF: parse header, metadata and tensor infos, then read every tensor (as float32 and, for
// 2-d tensors, as a quantized matrix).
import FuzzSupport
import Weights

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGGUF(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let path = FuzzInput.write(data, size, name: "model.gguf")
    guard let file = try? GGUFFile.read(path: path) else { return 0 }
    for name in file.tensorNames {
        guard let info = file.tensors[name] else { continue }
        if info.elementCount <= 1 << 22 { _ = try? file.tensor(name, shape: info.shape) }
        if info.shape.count == 2 { _ = try? file.matrix(name, rows: info.shape[0], cols: info.shape[1]) }
    }
    for key in file.metadataKeys { _ = file.metadata[key]?.description }
    return 0
}

/// The executable's entry point (SwiftPM renames `main` to `fuzz_gguf_main`): hands over to libFuzzer.
@_cdecl("fuzz_gguf_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzGGUF)
}
