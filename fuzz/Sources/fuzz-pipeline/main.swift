// Pipeline files: YAML → strict decoding → validation (inputs, stages, templates, outputs), and
// prompt templates. Every input is a valid pipeline or PipelineErrors; never a crash.
// Inputs that could name a path outside the scratch folder (an absolute path, '..', '~', or a YAML
// escape that might spell one) are skipped, so a mutated path cannot send validation walking the
// machine's file system; the pipeline sits two folders deep in a scratch directory with a few files.
import Foundation
import FuzzSupport
import ModelStore
@testable import Pipelines

let root = FuzzInput.directory + "/pipeline"
let folder = root + "/p"
let store = ModelStore(directory: URL(fileURLWithPath: root + "/models"))
let prepared: Void = {
    try? FileManager.default.createDirectory(atPath: folder + "/clips", withIntermediateDirectories: true)
    // a WAV header (RIFF/WAVE magic), an image magic, a manifest
    _ = FileManager.default.createFile(atPath: folder + "/clips/a.wav", contents: Data("RIFF\u{24}\0\0\0WAVEfmt ".utf8))
    _ = FileManager.default.createFile(atPath: folder + "/clips/b.png", contents: Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
    _ = FileManager.default.createFile(atPath: folder + "/q.csv", contents: Data("id,path,question\n1,clips/a.wav,why?\n".utf8))
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPipeline(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    _ = prepared
    let bytes = FuzzInput.bytes(data, size)
    if let text = String(bytes: bytes, encoding: .utf8) { _ = try? PromptTemplate(text) }
    guard staysInScratch(bytes) else { return 0 }
    let path = folder + "/pipeline.yaml"
    _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
    do {
        let pipeline = try Pipeline.load(path: path, store: store, environment: ["HOME": root])
        _ = pipeline.items.count
    } catch let errors as PipelineErrors {
        _ = "\(errors)"
    } catch {
        _ = "\(error)"
    }
    return 0
}

/// No '~', no '\\', no "..", and every '/' follows a name character (a relative path).
func staysInScratch(_ bytes: [UInt8]) -> Bool {
    if bytes.contains(UInt8(ascii: "~")) || bytes.contains(UInt8(ascii: "\\")) { return false }
    for i in bytes.indices {
        if bytes[i] == UInt8(ascii: "."), i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: ".") { return false }
        if bytes[i] == UInt8(ascii: "/") {
            guard i > 0 else { return false }
            let p = bytes[i - 1]
            let nameByte = (p >= 0x30 && p <= 0x39) || (p >= 0x41 && p <= 0x5A) || (p >= 0x61 && p <= 0x7A)
                || p == UInt8(ascii: "_") || p == UInt8(ascii: "-") || p == UInt8(ascii: "*") || p == UInt8(ascii: ".")
            if !nameByte { return false }
        }
    }
    return true
}

/// The executable's entry point (SwiftPM renames `main` to `fuzz_pipeline_main`): hands over to libFuzzer.
@_cdecl("fuzz_pipeline_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzPipeline)
}
