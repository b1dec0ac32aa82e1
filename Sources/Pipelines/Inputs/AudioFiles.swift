import Foundation

/// Expands files and directories into a sorted list of audio files (`hearth transcribe`'s inputs).
public enum AudioFiles {
    public static let extensions: Set<String> = ["wav", "flac", "ogg", "oga", "opus", "mp3", "aif", "aiff", "au", "caf", "w64"]
    /// What `hearth caption` / `hearth detect` collect from directories.
    public static let imageExtensions: Set<String> = ["png", "jpg", "jpeg", "gif", "webp", "bmp", "tif", "tiff"]

    /// Files stay as given (a missing one is reported later, for that file); directories are
    /// walked recursively for files with an audio extension, sorted.
    public static func expand(_ inputs: [String], extensions: Set<String> = extensions) throws -> [String] {
        var out: [String] = []
        let fm = FileManager.default
        for input in inputs {
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: input, isDirectory: &isDirectory) else {
                out.append(input)   // reported as an error for that file, the others go on
                continue
            }
            if !isDirectory.boolValue { out.append(input); continue }
            let base = URL(fileURLWithPath: input)
            var found: [String] = []
            if let walker = fm.enumerator(at: base, includingPropertiesForKeys: [.isRegularFileKey]) {
                for case let url as URL in walker where extensions.contains(url.pathExtension.lowercased()) {
                    found.append(url.path)
                }
            }
            out += found.sorted()
        }
        return out
    }

    /// Output base names: the file's stem, or its whole name where two inputs share a stem (jfk.wav, jfk.mp3).
    public static func outputNames(_ files: [String]) -> [String] {
        let stems = files.map { URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent }
        var counts: [String: Int] = [:]
        for s in stems { counts[s, default: 0] += 1 }
        return files.indices.map { i in counts[stems[i]]! > 1 ? URL(fileURLWithPath: files[i]).lastPathComponent : stems[i] }
    }
}
