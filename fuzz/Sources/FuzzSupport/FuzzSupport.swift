// Helpers shared by the fuzz targets: the readers under test take paths, so each input is written
// to a scratch file in /dev/shm (or $TMPDIR) first.

import CFuzz
import Foundation

public enum FuzzInput {
    /// A per-process scratch directory (memory-backed when /dev/shm exists).
    public static let directory: String = {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let dir = "\(base)/hearth-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }()

    /// Writes `size` bytes at `data` to `directory/name` and returns the path.
    public static func write(_ data: UnsafePointer<UInt8>?, _ size: Int, name: String) -> String {
        let path = "\(directory)/\(name)"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        precondition(fd >= 0, "fuzz harness cannot write \(path)")  // the harness's own failure, not the input's
        var done = 0
        while done < size, let data {
            let n = Foundation.write(fd, data + done, size - done)
            precondition(n > 0, "fuzz harness cannot write \(path)")
            done += n
        }
        close(fd)
        return path
    }

    public static func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
        guard let data, size > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: size))
    }
}

/// Runs libFuzzer on `callback` with the process arguments (what libFuzzer's own `main` does).
public func runFuzzer(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                      _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt {
    var count = argc
    var arguments = argv
    return withUnsafeMutablePointer(to: &arguments) { argvPointer in
        LLVMFuzzerRunDriver(&count, argvPointer, callback)
    }
}
