// Embedding vectors of a run, beside its results file: `results.jsonl` → `results.embeddings.f32`
// (shards: `results.shard-0-of-2.embeddings.f32`). The file is raw little-endian float32 rows,
// appended to and never rewritten (only `--fresh` empties it). A record finds its vectors through
// the reference its `embed` result holds:
//
//     "vectors": {"file": "results.embeddings.f32", "offset": 6144, "count": 4, "dimension": 384,
//                 "fnv1a64": "8c1f…"}
//
// `file` is relative to the results file's folder, `offset` a byte offset, `fnv1a64` the FNV-1a
// hash of the `count·dimension·4` bytes. The vectors are written and synced before the record that
// points at them, so a record never refers to missing bytes; a crash between the two leaves unused
// bytes only. Resume reuses records and so their vectors; compaction keeps the file as it is
// (superseded records' vectors stay as unused bytes until `--fresh`); `merge` copies records with
// their references, so a merged file finds its shards' vector files when written into their folder.

import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where one record's vectors are.
public struct VectorReference: Codable, Sendable, Equatable {
    public var file: String
    public var offset: Int
    public var count: Int
    public var dimension: Int
    public var fnv1a64: String

    public var json: JSONValue { (try? JSONValue(encoding: self)) ?? .null }
}

/// The vector file of one run, opened for appending (the results file's lock covers it).
public final class VectorFile {
    let url: URL
    private var fd: Int32 = -1
    private var size = 0

    /// `results.jsonl` → `results.embeddings.f32` in the same folder.
    public static func url(forResults results: URL) -> URL {
        results.deletingPathExtension().appendingPathExtension("embeddings.f32")
    }

    /// Opened on first use, so runs without embeddings make no file.
    init(resultsURL: URL, fresh: Bool) {
        url = Self.url(forResults: resultsURL)
        if fresh { try? FileManager.default.removeItem(at: url) }
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Appends `vectors` (each `dimension` floats) durably; returns the reference a record stores.
    func append(_ vectors: [[Float]]) throws -> VectorReference {
        if fd < 0 {
            fd = open(url.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw PipelineError("cannot open \(url.path): \(errorText())") }
            size = Int(lseek(fd, 0, SEEK_END))
        }
        let dimension = vectors.first?.count ?? 0
        precondition(vectors.allSatisfy { $0.count == dimension }, "vectors of one record share a dimension")
        var bytes = [UInt8]()
        bytes.reserveCapacity(vectors.count * dimension * 4)
        for v in vectors { for x in v { withUnsafeBytes(of: x.bitPattern.littleEndian) { bytes += $0 } } }
        let offset = size
        try bytes.withUnsafeBytes { buffer in
            var done = 0
            while done < buffer.count {
                let n = write(fd, buffer.baseAddress! + done, buffer.count - done)
                if n < 0 { if errno == EINTR { continue }; throw PipelineError("cannot write \(url.path): \(errorText())") }
                done += n
            }
        }
        guard fsync(fd) == 0 else { throw PipelineError("cannot sync \(url.path): \(errorText())") }
        size += bytes.count
        return VectorReference(file: url.lastPathComponent, offset: offset, count: vectors.count, dimension: dimension,
                               fnv1a64: fnv1a64(bytes))
    }
}

/// FNV-1a, 64 bits, as 16 hex digits.
func fnv1a64<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in bytes { hash = (hash ^ UInt64(b)) &* 0x100_0000_01b3 }
    return String(format: "%016llx", hash)
}

/// Reads the vectors records refer to, next to a results file (one open file per vector file).
public final class VectorReader {
    public let resultsURL: URL
    private var handles: [String: FileHandle] = [:]

    public init(resultsURL: URL) { self.resultsURL = resultsURL }

    deinit { for h in handles.values { try? h.close() } }

    public func vectors(_ reference: VectorReference) throws -> [[Float]] {
        let name = reference.file
        guard !name.isEmpty, !name.contains("/"), name != "..", name.hasSuffix(".f32") else {
            throw PipelineError("\(resultsURL.path): vector file name \(name.debugDescription) is not a file beside the results")
        }
        let (bytes, overflow) = reference.count.multipliedReportingOverflow(by: reference.dimension)
        guard reference.count >= 0, reference.dimension > 0, reference.dimension <= 1 << 16, reference.offset >= 0,
              !overflow, bytes <= Int.max / 4 else {
            throw PipelineError("\(resultsURL.path): implausible vector reference \(reference)")
        }
        let url = resultsURL.deletingLastPathComponent().appendingPathComponent(name)
        let handle: FileHandle
        if let open = handles[name] { handle = open } else {
            do { handle = try FileHandle(forReadingFrom: url) } catch {
                throw PipelineError("\(url.path): cannot read the vectors \(resultsURL.lastPathComponent) refers to "
                                    + "(embeddings are stored beside the results file; merged files need their shards' .f32 files in their folder)")
            }
            handles[name] = handle
        }
        try handle.seek(toOffset: UInt64(reference.offset))
        let data = try handle.read(upToCount: bytes * 4) ?? Data()
        guard data.count == bytes * 4 else {
            throw PipelineError("\(url.path) ends before the \(reference.count) vectors at byte \(reference.offset) (truncated, or from another run)")
        }
        guard fnv1a64(data) == reference.fnv1a64 else {
            throw PipelineError("\(url.path): the vectors at byte \(reference.offset) do not match their record's checksum (file replaced or damaged)")
        }
        return data.withUnsafeBytes { raw in
            (0..<reference.count).map { r in
                (0..<reference.dimension).map { j in
                    Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: (r * reference.dimension + j) * 4, as: UInt32.self)))
                }
            }
        }
    }
}
