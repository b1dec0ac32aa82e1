// The results file, written so that `kill -9` at any moment loses at most the record being
// written: each record is one write(2) of a whole line to an O_APPEND descriptor, then fsync.
// A torn last line (no newline) is cut off when the file is next opened; the item it belonged
// to has no record, so it is redone. Rewrites (compaction) go to a temporary file that is synced
// and renamed over the results, so a reader sees the old file or the new one, never a mix.

import Foundation
#if canImport(Glibc)
import Glibc
#endif

public final class ResultsLog {
    public let url: URL
    private var fd: Int32 = -1
    private var lockFD: Int32 = -1
    /// Records found when the file was opened, in file order (superseded ones included).
    public private(set) var existing: [ResultRecord] = []
    /// Bytes of a torn last line removed on open (0 when the file ended cleanly).
    public private(set) var repairedBytes = 0
    /// 1-based numbers of complete lines that were not valid records (left out, not deleted until compaction).
    public private(set) var unreadableLines: [Int] = []

    /// Opens (creating) the results file for appending, after taking its lock and repairing a torn tail.
    public init(url: URL) throws {
        self.url = url
        let folder = url.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        lockFD = open(lockURL.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard lockFD >= 0 else { throw PipelineError("cannot create \(lockURL.path): \(errorText())") }
        guard flock(lockFD, LOCK_EX | LOCK_NB) == 0 else {
            Glibc.close(lockFD)
            throw PipelineError("another hearth run is writing \(url.path) (its lock \(lockURL.lastPathComponent) is held)")
        }
        try? FileManager.default.removeItem(at: temporaryURL)   // left by a run killed while compacting
        fd = open(url.path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw PipelineError("cannot open \(url.path): \(errorText())") }
        let data = try Data(contentsOf: url)
        let (records, bad, complete) = Self.parse(data)
        existing = records
        unreadableLines = bad
        if complete < data.count {
            repairedBytes = data.count - complete
            guard ftruncate(fd, off_t(complete)) == 0, fsync(fd) == 0 else {
                throw PipelineError("cannot repair the torn last line of \(url.path): \(errorText())")
            }
        }
    }

    deinit { close() }

    public func close() {
        if fd >= 0 { Glibc.close(fd); fd = -1 }
        if lockFD >= 0 { Glibc.close(lockFD); lockFD = -1 }   // releases the lock
    }

    var lockURL: URL { url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).lock") }
    var temporaryURL: URL { url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp") }

    /// Appends one record durably (whole line, then fsync).
    public func append(_ record: ResultRecord) throws {
        try writeAll(fd, record.line())
        guard fsync(fd) == 0 else { throw PipelineError("cannot sync \(url.path): \(errorText())") }
    }

    /// Replaces the file's contents with `records`, atomically.
    public func rewrite(_ records: [ResultRecord]) throws {
        var data = Data()
        for record in records { data.append(try record.line()) }
        let tmp = open(temporaryURL.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard tmp >= 0 else { throw PipelineError("cannot create \(temporaryURL.path): \(errorText())") }
        defer { Glibc.close(tmp) }
        try writeAll(tmp, data)
        guard fsync(tmp) == 0, rename(temporaryURL.path, url.path) == 0 else {
            throw PipelineError("cannot replace \(url.path): \(errorText())")
        }
        syncFolder(url.deletingLastPathComponent())
        Glibc.close(fd)
        fd = open(url.path, O_RDWR | O_APPEND | O_CLOEXEC)
        guard fd >= 0 else { throw PipelineError("cannot reopen \(url.path): \(errorText())") }
    }

    private func writeAll(_ fd: Int32, _ data: Data) throws {
        try data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < buffer.count {
                let n = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw PipelineError("cannot write \(url.path): \(errorText())")
                }
                offset += n
            }
        }
    }

    // MARK: Reading

    /// Records of complete lines, numbers of lines that are not records, and the byte length of
    /// the complete lines (shorter than the data when the last line is torn).
    static func parse(_ data: Data) -> (records: [ResultRecord], unreadable: [Int], completeBytes: Int) {
        var records: [ResultRecord] = []
        var bad: [Int] = []
        let decoder = JSONDecoder()
        var start = data.startIndex
        var line = 0
        while let newline = data[start...].firstIndex(of: 0x0A) {
            line += 1
            let slice = data[start..<newline]
            if !slice.allSatisfy({ $0 == 0x20 || $0 == 0x0D }) {
                if let record = try? decoder.decode(ResultRecord.self, from: slice) { records.append(record) } else { bad.append(line) }
            }
            start = newline + 1
        }
        return (records, bad, start - data.startIndex)
    }

    /// Reads a results file without changing it (a torn last line is ignored).
    public static func read(_ url: URL) throws -> (records: [ResultRecord], unreadableLines: [Int], tornBytes: Int) {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw PipelineError("cannot read \(url.path): \(error.localizedDescription)") }
        let (records, bad, complete) = parse(data)
        return (records, bad, data.count - complete)
    }
}

func errorText() -> String { String(cString: strerror(errno)) }

/// fsync of a folder, so a rename in it survives a crash (best effort).
func syncFolder(_ url: URL) {
    let fd = open(url.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if fd >= 0 { fsync(fd); close(fd) }
}

/// Writes a file atomically: temporary file in the same folder, fsync, rename.
func writeAtomically(_ data: Data, to url: URL) throws {
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    let tmp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp")
    let fd = open(tmp.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw PipelineError("cannot create \(tmp.path): \(errorText())") }
    var ok = data.withUnsafeBytes { buffer -> Bool in
        var offset = 0
        while offset < buffer.count {
            let n = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if n < 0 { if errno == EINTR { continue }; return false }
            offset += n
        }
        return true
    }
    ok = ok && fsync(fd) == 0
    close(fd)
    guard ok, rename(tmp.path, url.path) == 0 else {
        let message = errorText()
        try? FileManager.default.removeItem(at: tmp)
        throw PipelineError("cannot write \(url.path): \(message)")
    }
}
