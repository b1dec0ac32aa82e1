// Audio decoding (libsndfile container handling, Hearth's RIFF checks, mixing, resampling):
// any bytes decode or throw an AudioError; never a crash.
import FuzzSupport
import Media

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAudio(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let path = FuzzInput.write(data, size, name: "input.wav")
    var samples = 0
    do {
        try AudioDecoder.stream(path: path) { chunk in
            samples += chunk.count
            // 10 minutes of output is plenty for any seed; longer inputs are hostile (rate lies)
            if samples > 16000 * 600 { throw AudioError(path: path, message: "fuzz: output cap") }
        }
    } catch {}
    return 0
}

/// The executable's entry point (SwiftPM renames `main` to `fuzz_audio_main`): hands over to libFuzzer.
@_cdecl("fuzz_audio_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzAudio)
}
