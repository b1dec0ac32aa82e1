import Foundation

/// Append-only store of log10-mel frames, frame-major `(frames, nMels)`, that tracks the global maximum.
/// Keeps up to `memoryFrameLimit` frames in memory; past that it spills everything to an unlinked
/// temporary file (in $TMPDIR, else /tmp) and, once finished, reads the frames back through mmap,
/// so memory stays bounded for any audio length.
final class MelFrameStore {
    let nMels: Int
    private let memoryFrameLimit: Int
    private(set) var frameCount = 0
    private(set) var maximum = -Float.infinity

    /// In-memory frames, or, once spilled, the frames not yet written to `spillFile`.
    private var pending: [Float] = []  // (frames, nMels)
    private var spillFile: Int32 = -1
    private var spillPath = ""
    private var mapping: UnsafeMutableRawPointer?
    private var mappingLength = 0

    /// Spilled frames are written in batches of this many.
    private static let writeBatchFrames = 4096

    init(nMels: Int, memoryFrameLimit: Int) {
        precondition(memoryFrameLimit >= 0)
        self.nMels = nMels
        self.memoryFrameLimit = memoryFrameLimit
    }

    deinit {
        if let mapping { munmap(mapping, mappingLength) }
        if spillFile >= 0 { close(spillFile) }
    }

    var isSpilled: Bool { spillFile >= 0 || mapping != nil }

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

    /// Flushes and maps the spill file; call once after the last `append`.
    func finish() throws {
        guard spillFile >= 0 else { return }
        try writePending()
        mappingLength = frameCount * nMels * MemoryLayout<Float>.stride
        let mapped = mmap(nil, mappingLength, PROT_READ, MAP_PRIVATE, spillFile, 0)
        guard let mapped, mapped != MAP_FAILED else { throw ioError("mmap") }
        mapping = mapped
        close(spillFile)
        spillFile = -1
        pending = []
    }

    /// All frames `(frameCount, nMels)`, valid only inside `body`.
    func withFrames<Result>(_ body: (UnsafeBufferPointer<Float>) -> Result) -> Result {
        if let mapping {
            let frames = mapping.bindMemory(to: Float.self, capacity: frameCount * nMels)
            return body(UnsafeBufferPointer(start: frames, count: frameCount * nMels))
        }
        return pending.withUnsafeBufferPointer(body)
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
