// The FFmpeg wrapper (Sources/CAVCodecs through ContainerAudio and VideoFrames): any bytes give
// audio chunks, frames, or an AudioError / VideoError; never a crash, a hang or unbounded memory.
import FuzzSupport
import Media

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzContainer(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let path = FuzzInput.write(data, size, name: "input.mp4")
    var samples = 0
    do {
        try ContainerAudio.stream(path: path) { _, chunk in
            samples += chunk.count
            // 10 minutes of output at 48 kHz is plenty for any seed; longer inputs are hostile
            if samples > 48000 * 600 { throw AudioError(path: path, message: "fuzz: output cap") }
        }
    } catch {}
    _ = ContainerAudio.streamCounts(path: path)
    do {
        try VideoFrames.sample(path: path, interval: 0.5, maxFrames: 3, maxPixels: 4096 * 4096) { _ in }
    } catch {}
    return 0
}

/// The executable's entry point (SwiftPM renames `main` to `fuzz_container_main`): hands over to libFuzzer.
@_cdecl("fuzz_container_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzContainer)
}
