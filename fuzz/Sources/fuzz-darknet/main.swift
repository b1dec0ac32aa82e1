// Darknet networks (YOLO): a .cfg and a .weights file from one input — a little-endian u16 cfg
// length, the cfg text, then the weights bytes. Loads at a 32×32 input (activations stay small)
// or throws a WeightError naming the file at fault; never a crash.
import FuzzSupport
import Weights

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDarknet(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = FuzzInput.bytes(data, size)
    guard bytes.count >= 2 else { return 0 }
    let cfgLength = min(Int(bytes[0]) | Int(bytes[1]) << 8, bytes.count - 2)
    let cfg = Array(bytes[2..<(2 + cfgLength)]), weights = Array(bytes[(2 + cfgLength)...])
    let cfgPath = cfg.withUnsafeBufferPointer { FuzzInput.write($0.baseAddress, $0.count, name: "net.cfg") }
    let weightsPath = weights.withUnsafeBufferPointer { FuzzInput.write($0.baseAddress, $0.count, name: "net.weights") }
    if let network = try? DarknetNetwork.load(cfg: cfgPath, weights: weightsPath, inputSize: (32, 32)) {
        _ = network.layers.count
    }
    return 0
}

/// The executable's entry point (SwiftPM renames `main` to `fuzz_darknet_main`): hands over to libFuzzer.
@_cdecl("fuzz_darknet_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzDarknet)
}
