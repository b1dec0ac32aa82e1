import Foundation
import ModelStore

/// Part I of N of a pipeline's items (0-based). An item belongs to shard
/// `stableHash(id) mod N`, so the assignment does not depend on the order in which a machine
/// lists files, and every item is in exactly one shard.
public struct Shard: Sendable, Equatable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    public init(index: Int, count: Int) throws {
        guard count >= 1, (0..<count).contains(index) else {
            throw PipelineError("shard \(index)/\(count) is out of range (0 ≤ I < N, N ≥ 1)")
        }
        self.index = index; self.count = count
    }

    /// `I/N`, e.g. `0/4`.
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]) else {
            throw PipelineError("--shard expects I/N with 0 ≤ I < N, e.g. 0/4; got '\(text)'")
        }
        try self.init(index: i, count: n)
    }

    public var description: String { "\(index)/\(count)" }

    public func contains(_ id: String) -> Bool { count == 1 || Self.bucket(id, count: count) == index }

    /// First 8 bytes of SHA-256(id), big-endian, mod `count`.
    static func bucket(_ id: String, count: Int) -> Int {
        let hex = SHA256.hex(Array(id.utf8))
        let value = UInt64(hex.prefix(16), radix: 16)!
        return Int(value % UInt64(count))
    }

    /// The shard from the command line or the scheduler's environment:
    /// `--shard I/N`; Slurm job arrays (`SLURM_ARRAY_TASK_ID` − `SLURM_ARRAY_TASK_MIN`, of
    /// `SLURM_ARRAY_TASK_COUNT`); Kubernetes Indexed Jobs (`JOB_COMPLETION_INDEX`, of `--shards`
    /// or `HEARTH_SHARDS`). `nil` means the whole pipeline.
    public static func resolve(flag: String?, shards: Int?, environment: [String: String]) throws -> Shard? {
        if let flag { return try Shard(parsing: flag) }
        func number(_ name: String) throws -> Int? {
            guard let text = environment[name], !text.isEmpty else { return nil }
            guard let value = Int(text) else { throw PipelineError("\(name)='\(text)' is not a number") }
            return value
        }
        if let task = try number("SLURM_ARRAY_TASK_ID") {
            guard let count = try shards ?? number("SLURM_ARRAY_TASK_COUNT") else {
                throw PipelineError("SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not; pass --shards N")
            }
            return try Shard(index: task - (try number("SLURM_ARRAY_TASK_MIN") ?? 0), count: count)
        }
        if let index = try number("JOB_COMPLETION_INDEX") {
            guard let count = try shards ?? number("HEARTH_SHARDS") else {
                throw PipelineError("JOB_COMPLETION_INDEX is set; give the shard count with --shards N or HEARTH_SHARDS")
            }
            return try Shard(index: index, count: count)
        }
        if let shards, shards > 1 { throw PipelineError("--shards \(shards) needs --shard I/N or a scheduler index in the environment") }
        return nil
    }
}
