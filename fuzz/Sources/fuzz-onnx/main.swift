// ONNX (Silero VAD's format): parse the ModelProto by hand (graph, nodes, attributes, subgraphs,
// initializers), read every tensor, then check it as the Silero VAD v6 graph; a malformed file
// throws a WeightError naming the field, never a crash.
import FuzzSupport
import Models
import Weights

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzONNX(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = FuzzInput.bytes(data, size)
    guard let model = try? ONNXModel(bytes: bytes, path: "model.onnx") else { return 0 }
    for name in model.tensorNames {
        guard let t = model.tensors[name], t.elementCount <= 1 << 22 else { continue }
        _ = t.integers()
        _ = try? model.tensor(name, shape: t.dims)
    }
    _ = try? SileroVAD.build(from: model)
    return 0
}

/// The executable's entry point (SwiftPM renames `main` to `fuzz_onnx_main`): hands over to libFuzzer.
@_cdecl("fuzz_onnx_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzONNX)
}
