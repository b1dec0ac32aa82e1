// The results file, written so that `kill -9` at any moment loses at most the record being
// written: each record is one write(2) of a whole line to an O_APPEND descriptor, then fsync.
// A torn last line (no newline) is cut off when the file is next opened; the item it belonged
// to has no record, so it is redone. Rewrites (compaction) go to a temporary file that is synced
// and renamed over the results, so a reader sees the old file or the new one, never a mix.
//
// Records can be large (an hour of speech is ~200 kB of segments), so an archive's results are
// never held in memory: files are scanned into `LogEntry`s (where each line is, plus the few
// fields resume and summaries need) and whole records are read back one at a time.

import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where one record is in a results file, with the fields that resume, summaries and merges use.
public struct LogEntry: Sendable, Equatable {
    public var id: String
    public var index: Int
    public var input: String
    public var path: String
    public var media: String
    public var bytes: Int64
    public var fields: [String: String]?
    public var status: ResultRecord.Status
    public var stage: String?
    public var message: String?
    public var configuration: String
    public var mediaSeconds: Double?
    /// Byte range of the line in its file (without the newline).
    var offset: Int
    var length: Int

    /// The subset of a record's keys decoded while scanning (the rest is skipped).
    private struct Header: Decodable {
        var id: String, index: Int, input: String, path: String, media: String, bytes: Int64
        var fields: [String: String]?, status: ResultRecord.Status, stage: String?, message: String?
        var configuration: String, mediaSeconds: Double?
        enum CodingKeys: String, CodingKey {
            case id, index, input, path, media, bytes, fields, status, stage, message, configuration, mediaSeconds = "media_seconds"
        }
    }

    init?(line: Data, offset: Int) {
        guard let h = try? JSONDecoder().decode(Header.self, from: line) else { return nil }
        self.init(id: h.id, index: h.index, input: h.input, path: h.path, media: h.media, bytes: h.bytes, fields: h.fields,
                  status: h.status, stage: h.stage, message: h.message, configuration: h.configuration,
                  mediaSeconds: h.mediaSeconds, offset: offset, length: line.count)
    }

    init(_ record: ResultRecord, offset: Int, length: Int) {
        self.init(id: record.id, index: record.index, input: record.input, path: record.path, media: record.media,
                  bytes: record.bytes, fields: record.fields, status: record.status, stage: record.stage, message: record.message,
                  configuration: record.configuration, mediaSeconds: record.mediaSeconds, offset: offset, length: length)
    }

    init(id: String, index: Int, input: String, path: String, media: String, bytes: Int64, fields: [String: String]?,
         status: ResultRecord.Status, stage: String?, message: String?, configuration: String, mediaSeconds: Double?,
         offset: Int, length: Int) {
        self.id = id; self.index = index; self.input = input; self.path = path; self.media = media; self.bytes = bytes
        self.fields = fields; self.status = status; self.stage = stage; self.message = message
        self.configuration = configuration; self.mediaSeconds = mediaSeconds; self.offset = offset; self.length = length
    }

    /// The last entry of each id, ordered by item index then id (newer records supersede older).
    public static func latest(_ entries: [LogEntry]) -> [LogEntry] {
        var last: [String: LogEntry] = [:]
        for entry in entries { last[entry.id] = entry }
        return last.values.sorted { ($0.index, $0.id) < ($1.index, $1.id) }
    }
}

/// A results file opened for reading.
public final class ResultsFile {
    public let url: URL
    /// Every readable record, in file order (superseded ones included).
    public let entries: [LogEntry]
    /// 1-based numbers of complete lines that are not records.
    public let unreadableLines: [Int]
    /// Bytes after the last newline (a torn last line), ignored.
    public let tornBytes: Int
    let fd: Int32

    public init(url: URL) throws {
        self.url = url
        fd = open(url.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw PipelineError("cannot read \(url.path): \(errorText())") }
        (entries, unreadableLines, tornBytes) = try scanLines(fd, url: url)
    }

    deinit { close(fd) }

    /// The record an entry points at.
    public func record(_ entry: LogEntry) throws -> ResultRecord { try readRecord(fd, entry, url: url) }

    /// The line of an entry, as stored (no newline).
    func line(_ entry: LogEntry) throws -> Data { try readLine(fd, entry, url: url) }

    /// The last record of each id, ordered by index, decoded one at a time.
    public var latest: RecordSource {
        let entries = LogEntry.latest(self.entries)
        return RecordSource(count: entries.count) { body in for entry in entries { try body(self.record(entry)) } }
    }
}

/// Records to render (CSV, report), visited one at a time so a large file is never all in memory.
public struct RecordSource {
    public let count: Int
    let visit: ((ResultRecord) throws -> Void) throws -> Void

    public init(count: Int, visit: @escaping ((ResultRecord) throws -> Void) throws -> Void) {
        self.count = count; self.visit = visit
    }

    public static func records(_ records: [ResultRecord]) -> RecordSource {
        RecordSource(count: records.count) { body in for record in records { try body(record) } }
    }

    public func forEach(_ body: (ResultRecord) throws -> Void) throws {
        try withoutActuallyEscaping(body) { try visit($0) }
    }

    /// Every record in memory (for small sets).
    public func all() throws -> [ResultRecord] {
        var out: [ResultRecord] = []
        try forEach { out.append($0) }
        return out
    }
}

/// The results file of a run: locked, repaired, appended to, compacted.
public final class ResultsLog {
    public let url: URL
    private var fd: Int32 = -1
    private var lockFD: Int32 = -1
    private var size = 0
    /// Records found when the file was opened, in file order (superseded ones included).
    public private(set) var existing: [LogEntry] = []
    /// Bytes of a torn last line removed on open (0 when the file ended cleanly).
    public private(set) var repairedBytes = 0
    /// 1-based numbers of complete lines that were not records (dropped at the next compaction).
    public private(set) var unreadableLines: [Int] = []

    /// Opens (creating) the results file for appending, after taking its lock and repairing a torn tail.
    public init(url: URL) throws {
        self.url = url
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        lockFD = open(lockURL.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard lockFD >= 0 else { throw PipelineError("cannot create \(lockURL.path): \(errorText())") }
        guard flock(lockFD, LOCK_EX | LOCK_NB) == 0 else {
            close()
            throw PipelineError("another hearth run is writing \(url.path) (its lock \(lockURL.lastPathComponent) is held)")
        }
        try? FileManager.default.removeItem(at: temporaryURL)   // left by a run killed while compacting
        fd = open(url.path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw PipelineError("cannot open \(url.path): \(errorText())") }
        (existing, unreadableLines, repairedBytes) = try scanLines(fd, url: url)
        size = Int(lseek(fd, 0, SEEK_END))
        if repairedBytes > 0 {
            size -= repairedBytes
            guard ftruncate(fd, off_t(size)) == 0, fsync(fd) == 0 else {
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
    @discardableResult
    public func append(_ record: ResultRecord) throws -> LogEntry {
        let line = try record.line()
        try writeAll(fd, line, url: url)
        guard fsync(fd) == 0 else { throw PipelineError("cannot sync \(url.path): \(errorText())") }
        defer { size += line.count }
        return LogEntry(record, offset: size, length: line.count - 1)
    }

    public func record(_ entry: LogEntry) throws -> ResultRecord { try readRecord(fd, entry, url: url) }

    /// Replaces the file with the records `entries` point at, in that order, atomically. A record
    /// whose item now has another index or path is rewritten with them; the others are copied
    /// byte for byte. Returns the new entries.
    @discardableResult
    public func rewrite(_ entries: [(entry: LogEntry, index: Int, path: String)]) throws -> [LogEntry] {
        let tmp = open(temporaryURL.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard tmp >= 0 else { throw PipelineError("cannot create \(temporaryURL.path): \(errorText())") }
        defer { Glibc.close(tmp) }
        var written: [LogEntry] = []
        var buffer = Data()
        var offset = 0
        for (entry, index, path) in entries {
            var line: Data
            var placed = entry
            if entry.index != index || entry.path != path {
                var record = try self.record(entry)
                record.index = index
                record.path = path
                line = try record.line()
                placed.index = index
                placed.path = path
            } else {
                line = try readLine(fd, entry, url: url)
                line.append(0x0A)
            }
            placed.offset = offset
            placed.length = line.count - 1
            written.append(placed)
            offset += line.count
            buffer.append(line)
            if buffer.count >= 1 << 20 { try writeAll(tmp, buffer, url: temporaryURL); buffer.removeAll(keepingCapacity: true) }
        }
        try writeAll(tmp, buffer, url: temporaryURL)
        guard fsync(tmp) == 0, rename(temporaryURL.path, url.path) == 0 else {
            throw PipelineError("cannot replace \(url.path): \(errorText())")
        }
        syncFolder(url.deletingLastPathComponent())
        Glibc.close(fd)
        fd = open(url.path, O_RDWR | O_APPEND | O_CLOEXEC)
        guard fd >= 0 else { throw PipelineError("cannot reopen \(url.path): \(errorText())") }
        size = offset
        return written
    }

    /// Reads a results file without changing it: its records in file order, unreadable line
    /// numbers, and the length of a torn last line (ignored).
    public static func read(_ url: URL) throws -> (records: [ResultRecord], unreadableLines: [Int], tornBytes: Int) {
        let file = try ResultsFile(url: url)
        return (try file.entries.map(file.record), file.unreadableLines, file.tornBytes)
    }
}

// MARK: Lines

/// Scans a file from the start: entries of complete lines, unreadable line numbers, and the
/// number of bytes after the last newline.
private func scanLines(_ fd: Int32, url: URL) throws -> ([LogEntry], [Int], Int) {
    var entries: [LogEntry] = []
    var bad: [Int] = []
    var pending = Data()      // bytes of the current, unfinished line
    var pendingOffset = 0     // file offset of `pending`
    var line = 0
    var chunk = [UInt8](repeating: 0, count: 1 << 20)
    var fileOffset = 0
    while true {
        let n = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(fileOffset)) }
        if n < 0 { if errno == EINTR { continue }; throw PipelineError("cannot read \(url.path): \(errorText())") }
        if n == 0 { break }
        var start = 0
        for i in 0..<n where chunk[i] == 0x0A {
            pending.append(contentsOf: chunk[start..<i])
            line += 1
            if !pending.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) {
                if let entry = LogEntry(line: pending, offset: pendingOffset) { entries.append(entry) } else { bad.append(line) }
            }
            pendingOffset = fileOffset + i + 1
            pending.removeAll(keepingCapacity: true)
            start = i + 1
        }
        pending.append(contentsOf: chunk[start..<n])
        fileOffset += n
    }
    return (entries, bad, pending.count)
}

private func readLine(_ fd: Int32, _ entry: LogEntry, url: URL) throws -> Data {
    var data = Data(count: entry.length)
    var done = 0
    while done < entry.length {
        let n = data.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, entry.length - done, off_t(entry.offset + done)) }
        if n < 0 { if errno == EINTR { continue }; throw PipelineError("cannot read \(url.path): \(errorText())") }
        if n == 0 { throw PipelineError("\(url.path) is shorter than expected (changed while reading?)") }
        done += n
    }
    return data
}

private func readRecord(_ fd: Int32, _ entry: LogEntry, url: URL) throws -> ResultRecord {
    do {
        return try JSONDecoder().decode(ResultRecord.self, from: readLine(fd, entry, url: url))
    } catch let error as DecodingError {
        throw PipelineError("\(url.path): the record of \(entry.id) at byte \(entry.offset) is not readable: \(error)")
    }
}

func writeAll(_ fd: Int32, _ data: Data, url: URL) throws {
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

func errorText() -> String { String(cString: strerror(errno)) }

/// fsync of a folder, so a rename in it survives a crash (best effort).
func syncFolder(_ url: URL) {
    let fd = open(url.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if fd >= 0 { fsync(fd); close(fd) }
}

/// Writes a file atomically: temporary file in the same folder, fsync, rename.
func writeAtomically(_ data: Data, to url: URL) throws {
    try writeAtomically(to: url) { $0.write(data) }
}

/// Writes a file atomically from pieces (`write` is given a sink that buffers 1 MB at a time).
func writeAtomically(to url: URL, _ produce: (OutputSink) throws -> Void) throws {
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    let tmp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp")
    let fd = open(tmp.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw PipelineError("cannot create \(tmp.path): \(errorText())") }
    do {
        let sink = OutputSink { try writeAll(fd, $0, url: tmp) }
        try produce(sink)
        try sink.flush()
        guard fsync(fd) == 0 else { throw PipelineError("cannot sync \(tmp.path): \(errorText())") }
        close(fd)
        guard rename(tmp.path, url.path) == 0 else { throw PipelineError("cannot write \(url.path): \(errorText())") }
    } catch {
        close(fd)
        try? FileManager.default.removeItem(at: tmp)
        throw error
    }
}

/// Text or bytes going to a file (or a string), buffered.
final class OutputSink {
    private var buffer = Data()
    private let drain: (Data) throws -> Void
    private var failure: Error?

    init(drain: @escaping (Data) throws -> Void) { self.drain = drain }

    func write(_ text: String) { write(Data(text.utf8)) }

    func write(_ data: Data) {
        buffer.append(data)
        if buffer.count >= 1 << 20 { try? flush() }
    }

    func flush() throws {
        if let failure { throw failure }
        do { try drain(buffer) } catch { failure = error; throw error }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Collects everything written into one string.
    static func string(_ produce: (OutputSink) throws -> Void) rethrows -> String {
        var collected = Data()
        let sink = OutputSink { collected.append($0) }
        try produce(sink)
        try? sink.flush()
        return String(decoding: collected, as: UTF8.self)
    }
}
