import Foundation

/// Append-only store of log10-mel frames, frame-major `(frames, nMels)`, that tracks the global maximum.
/// Keeps up to `memoryFrameLimit` frames in memory; past that it spills everything to an unlinked
/// temporary file (in $TMPDIR, else /tmp) and, once finished, reads the frames a window asks for
/// back with pread (not mmap: pages of a mapping that have been read count in the resident set,
/// so a 10-hour recording's 1.1 GB of frames would), so memory stays bounded for any audio length.
final class MelFrameStore {
    let nMels: Int
    private let memoryFrameLimit: Int
    private(set) var frameCount = 0
    private(set) var maximum = -Float.infinity

    /// In-memory frames, or, once spilled, the frames not yet written to `spillFile`.
    private var pending: [Float] = []  // (frames, nMels)
    private var spillFile: Int32 = -1
    private var spillPath = ""
    /// Set by `finish` once frames were spilled: everything is in the file, read back per range.
    private var finishedSpill = false

    /// Spilled frames are written in batches of this many.
    private static let writeBatchFrames = 4096

    init(nMels: Int, memoryFrameLimit: Int) {
        precondition(memoryFrameLimit >= 0)
        self.nMels = nMels
        self.memoryFrameLimit = memoryFrameLimit
    }

    deinit {
        if spillFile >= 0 { close(spillFile) }
    }

    var isSpilled: Bool { spillFile >= 0 }

    func append(_ frame: UnsafeBufferPointer<Float>) throws {
        for value in frame where value > maximum { maximum = value }
        pending.append(contentsOf: frame)
        frameCount += 1
        if isSpilled {
            if pending.count >= Self.writeBatchFrames * nMels { try writePending() }
        } else if frameCount > memoryFrameLimit {
            try openSpillFile()
            try writePending()
            pending = []  // release the in-memory frames
            pending.reserveCapacity(Self.writeBatchFrames * nMels)
        }
    }

    /// Flushes the spill file; call once after the last `append`.
    func finish() throws {
        guard spillFile >= 0 else { return }
        try writePending()
        pending = []
        finishedSpill = true
    }

    /// Frames `range` `(range.count, nMels)`, valid only inside `body`: a view of the in-memory
    /// frames, or read from the spill file into a buffer of just that size (pread keeps no shared
    /// offset, so windows can be read from several threads).
    func withFrames<Result>(_ range: Range<Int>, _ body: (UnsafeBufferPointer<Float>) -> Result) throws -> Result {
        precondition(range.lowerBound >= 0 && range.upperBound <= frameCount, "frames \(range) outside 0..<\(frameCount)")
        guard finishedSpill else {
            return pending.withUnsafeBufferPointer { body(UnsafeBufferPointer(rebasing: $0[(range.lowerBound * nMels)..<(range.upperBound * nMels)])) }
        }
        var frames = [Float](repeating: 0, count: range.count * nMels)
        try frames.withUnsafeMutableBytes { bytes in
            var done = 0
            let start = off_t(range.lowerBound * nMels * MemoryLayout<Float>.stride)
            while done < bytes.count {
                let read = pread(spillFile, bytes.baseAddress! + done, bytes.count - done, start + off_t(done))
                if read < 0 && errno == EINTR { continue }
                if read <= 0 { throw ioError(read < 0 ? "read" : "read (file shorter than its frames)") }
                done += read
            }
        }
        return frames.withUnsafeBufferPointer(body)
    }

    private func openSpillFile() throws {
        let directory = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array("\(directory)/hearth-mel-XXXXXX".utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        spillPath = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        guard descriptor >= 0 else { throw ioError("cannot create spill file") }
        spillFile = descriptor
        unlink(spillPath)  // the file lives until closed; nothing is left behind on a crash
    }

    private func writePending() throws {
        try pending.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = write(spillFile, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw ioError("write")
                }
                offset += written
            }
        }
        pending.removeAll(keepingCapacity: true)
    }

    private func ioError(_ operation: String) -> AudioError {
        AudioError(path: spillPath, message: "log-mel spill file: \(operation) failed: \(String(cString: strerror(errno)))")
    }
}
