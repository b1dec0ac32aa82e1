// Window checkpoints of the transcribe stage: a file killed in the middle resumes from its last
// finished 30-second window (README, "Reliability").

import Foundation
import Models
import ModelStore

/// One journal per item, at `StageInput.checkpoint` (JSON lines): a header naming what the windows
/// belong to — the input's size and modification time and a hash of the stage's provenance (the
/// model files' SHA-256 and every option) — then one `WindowRecord` per finished window, appended
/// with one write and fsynced. Appending keeps a window's cost constant (a 10-hour file has 1200
/// windows; rewriting the transcript so far each time would be quadratic). A torn last line is
/// dropped; a header that does not match, or any other line that does not decode, makes the item
/// start over with a warning. The runner removes the journal once the item's record is written.
final class WindowJournals: TranscriptionCheckpoints {
    struct Header: Codable, Equatable {
        var hearthWindowCheckpoint = 1
        var path: String
        var bytes: UInt64
        var modifiedNanoseconds: Int64
        var stage: String
    }

    /// Test hook, from HEARTH_TEST_KILL_AFTER_WINDOWS=N: the process kills itself with SIGKILL right
    /// after the N-th window checkpoint of this process is written, for kill/resume tests.
    nonisolated(unsafe) static var killAfterWindows = ProcessInfo.processInfo.environment["HEARTH_TEST_KILL_AFTER_WINDOWS"].flatMap { Int($0) }
    nonisolated(unsafe) static var windowsWritten = 0

    private let inputs: [StageInput]
    private let stageHash: String
    /// Open journals by input index; -1 once writing one failed (that item goes on without).
    private var descriptors: [Int: Int32] = [:]

    init(inputs: [StageInput], provenance: StageProvenance) {
        self.inputs = inputs
        stageHash = SHA256.hex((try? JSONEncoder.checkpoints.encode(provenance)) ?? Data())
    }

    deinit { for fd in descriptors.values where fd >= 0 { close(fd) } }

    func finishedWindows(_ file: Int) -> [WindowRecord] {
        guard let url = inputs[file].checkpoint, let data = FileManager.default.contents(atPath: url.path) else { return [] }
        var lines = data.split(separator: 0x0A, omittingEmptySubsequences: false)
        let complete = data.last == 0x0A
        lines.removeLast()  // after the final newline: empty, or a torn line (killed mid-write)
        let decoder = JSONDecoder.checkpoints
        guard let first = lines.first, let header = try? decoder.decode(Header.self, from: first) else {
            return startOver(file, url, complete || lines.count > 0 ? "its header is unreadable" : nil)
        }
        guard header == self.header(file) else {
            return startOver(file, url, "it was made for another version of the input, model or options")
        }
        var records: [WindowRecord] = []
        for (n, line) in lines.dropFirst().enumerated() {
            guard let record = try? decoder.decode(WindowRecord.self, from: line) else {
                return startOver(file, url, "line \(n + 2) is not a window record")
            }
            records.append(record)
        }
        // Continue the journal after its last whole line (a torn tail is cut off).
        let fd = open(url.path, O_WRONLY | O_CLOEXEC)
        let kept = lines.reduce(0) { $0 + $1.count + 1 }
        if fd < 0 || ftruncate(fd, off_t(kept)) != 0 || lseek(fd, 0, SEEK_END) < 0 {
            if fd >= 0 { close(fd) }
            return startOver(file, url, "it cannot be reopened: \(errorText())")
        }
        descriptors[file] = fd
        return records
    }

    func windowFinished(_ file: Int, _ record: WindowRecord) {
        guard let url = inputs[file].checkpoint, descriptors[file] ?? 0 >= 0 else { return }
        do {
            if descriptors[file] == nil {
                // a new journal: the header appears atomically, then windows are appended
                try writeAtomically(try JSONEncoder.checkpoints.encode(header(file)) + Data([0x0A]), to: url)
                let fd = open(url.path, O_WRONLY | O_APPEND | O_CLOEXEC)
                guard fd >= 0 else { throw PipelineError("cannot open \(url.path): \(errorText())") }
                descriptors[file] = fd
            }
            let fd = descriptors[file]!
            try writeAll(fd, try JSONEncoder.checkpoints.encode(record) + Data([0x0A]), url: url)
            guard fsync(fd) == 0 else { throw PipelineError("cannot sync \(url.path): \(errorText())") }
        } catch {
            warn(file, "window checkpoints stop for this file: \(describe(error))")
            if let fd = descriptors[file], fd >= 0 { close(fd) }
            descriptors[file] = -1
            return
        }
        Self.windowsWritten += 1
        if Self.windowsWritten == Self.killAfterWindows { raise(SIGKILL) }
    }

    func rejected(_ file: Int, reason: String) {
        if let url = inputs[file].checkpoint { _ = startOver(file, url, "its windows do not fit the recording (\(reason))") }
    }

    private func header(_ file: Int) -> Header {
        let path = inputs[file].item.path
        var info = stat()
        let found = stat(path, &info) == 0
        return Header(path: path, bytes: found ? UInt64(info.st_size) : 0,
                      modifiedNanoseconds: found ? Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec) : 0,
                      stage: stageHash)
    }

    /// Drops the journal (with a warning when `reason` is given): the item is transcribed from the start.
    private func startOver(_ file: Int, _ url: URL, _ reason: String?) -> [WindowRecord] {
        if let reason { warn(file, "window checkpoint \(url.lastPathComponent) ignored, \(reason); transcribing from the start") }
        if let fd = descriptors.removeValue(forKey: file), fd >= 0 { close(fd) }
        try? FileManager.default.removeItem(at: url)
        return []
    }

    private func warn(_ file: Int, _ message: String) {
        FileHandle.standardError.write(Data("warning: \(inputs[file].item.input): \(message)\n".utf8))
    }
}

extension JSONEncoder {
    /// Checkpoints keep non-finite floats (a log-probability of −inf) as strings.
    static var checkpoints: JSONEncoder {
        let e = JSONEncoder.records
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return e
    }
}

extension JSONDecoder {
    static var checkpoints: JSONDecoder {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return d
    }
}
