// Stopping a run early. SIGTERM (Slurm at a time limit or scancel, Kubernetes before it kills a
// pod) and SIGINT (Ctrl-C) become a `RunStop` request; the runner starts no item after it, stages
// start no batch (transcription: no 30-second window) after it, records already finished are
// written whole, and the run ends with exit status 128 + signal. Work in progress is abandoned
// and redone by the next run, which resumes as after any interruption.

import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Why a run stopped early: the signal that asked for it. Coded as its name (`"SIGTERM"`).
public struct StopReason: Sendable, Equatable, CustomStringConvertible, Codable {
    public let signal: Int32

    public init(signal: Int32) { self.signal = signal }

    static let names: [Int32: String] = [SIGTERM: "SIGTERM", SIGINT: "SIGINT", SIGHUP: "SIGHUP", SIGUSR1: "SIGUSR1", SIGUSR2: "SIGUSR2"]

    /// `SIGTERM`, `SIGINT`, else `signal N`.
    public var description: String { Self.names[signal] ?? "signal \(signal)" }

    public init(from decoder: Decoder) throws {
        let name = try decoder.singleValueContainer().decode(String.self)
        if let known = Self.names.first(where: { $0.value == name }) { signal = known.key; return }
        guard name.hasPrefix("signal "), let number = Int32(name.dropFirst(7)) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a signal name: \(name)"))
        }
        signal = number
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    /// What shells and job managers expect of a process that a signal ended: 128 + the signal (143, 130).
    public var exitStatus: Int32 { 128 + signal }
}

/// A stop request, set from any thread (a signal handler's queue), read by the runner between
/// items and by stages before each batch. The first request wins.
public final class RunStop: @unchecked Sendable {
    private let lock = NSLock()
    private var requested: StopReason?
    /// Held while a record and its sidecars are written, so an abort (second signal) never
    /// leaves a torn record or a temporary sidecar behind.
    private let writing = NSLock()

    public init() {}

    public var reason: StopReason? { lock.withLock { requested } }
    public var isRequested: Bool { reason != nil }

    /// Asks the run to stop; returns false when a stop was already requested.
    @discardableResult
    public func request(_ reason: StopReason) -> Bool {
        lock.withLock {
            guard requested == nil else { return false }
            requested = reason
            return true
        }
    }

    /// Runs `body` (one record's writes) so that `abort` waits for it to end.
    func whileWriting<T>(_ body: () throws -> T) rethrows -> T {
        writing.lock()
        defer { writing.unlock() }
        return try body()
    }

    /// Ends the process at once with `status`, but not in the middle of writing a record.
    public func abort(status: Int32) -> Never {
        writing.lock()
        _exit(status)
    }
}
