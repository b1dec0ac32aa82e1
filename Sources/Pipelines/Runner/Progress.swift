import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// How a run reports progress on stderr.
public enum ProgressMode: Sendable {
    /// A live bar on a terminal, a plain line every `interval` seconds otherwise.
    case auto(interval: Double = 10)
    /// Errors and the final line only.
    case quiet
    /// Nothing (for callers that report themselves).
    case silent
    /// One JSON object per line: `start`, one `item` per finished item, `end`.
    case json
}

/// Progress of a run: items, media seconds, rate and ETA (from bytes, the only size known
/// for every item up front). Thread-safe: a timer redraws the bar while the model works.
final class ProgressReporter: @unchecked Sendable {
    private let mode: ProgressMode
    private let isTerminal: Bool
    private let lock = NSLock()
    private var timer: DispatchSourceTimer?
    private let start = Date()
    private var total = 0, done = 0, failed = 0, skipped = 0
    private var totalBytes: Int64 = 0, doneBytes: Int64 = 0
    /// Bytes and seconds of items a model worked on (rejected files finish at once and would
    /// make the rate meaningless).
    private var workedBytes: Int64 = 0
    private var mediaSeconds = 0.0
    private var lastLine = Date()
    private var barShown = false
    /// Set by `end`: a timer tick already under way draws nothing after the final line.
    private var ended = false

    init(mode: ProgressMode) {
        self.mode = mode
        isTerminal = isatty(STDERR_FILENO) == 1
    }

    func begin(name: String, items: Int, todo: Int, skipped: Int, bytes: Int64, shard: Shard?) {
        lock.withLock {
            total = todo; self.skipped = skipped; totalBytes = bytes
            switch mode {
            case .json:
                emitJSON(["event": .string("start"), "pipeline": .string(name), "items": .int(Int64(items)),
                          "todo": .int(Int64(todo)), "skipped": .int(Int64(skipped)),
                          "shard": shard.map { .string($0.description) } ?? .null])
            case .quiet, .silent: break
            case .auto:
                let part = shard.map { " (shard \($0))" } ?? ""
                write("\(name)\(part): \(items) items, \(skipped) already done, \(todo) to do\n")
            }
        }
        if case .auto(let interval) = mode, todo > 0 {
            let timer = DispatchSource.makeTimerSource(queue: .global())
            let period = isTerminal ? 0.5 : interval
            timer.schedule(deadline: .now() + period, repeating: period)
            timer.setEventHandler { [weak self] in self?.tick() }
            timer.resume()
            self.timer = timer
        }
    }

    func itemFinished(_ record: ResultRecord) {
        lock.withLock {
            done += 1
            doneBytes += record.bytes
            if record.mediaSeconds != nil || record.status == .ok {
                workedBytes += record.bytes
            }
            mediaSeconds += record.mediaSeconds ?? 0
            if record.status == .error { failed += 1 }
            switch mode {
            case .json:
                var event: [String: JSONValue] = [
                    "event": .string("item"), "id": .string(record.id), "status": .string(record.status.rawValue),
                    "done": .int(Int64(done)), "todo": .int(Int64(total)), "media_seconds": .double(rounded(mediaSeconds)),
                    "elapsed": .double(rounded(elapsed)),
                ]
                if let stage = record.stage { event["stage"] = .string(stage) }
                if let message = record.message { event["message"] = .string(message) }
                emitJSON(event)
            case .silent: break
            case .quiet, .auto:
                if record.status == .error {
                    clearBar()
                    write("error: \(record.input): \(record.stage ?? "?"): \(record.message ?? "")\n")
                }
                if case .auto = mode, isTerminal { drawBar() }
            }
        }
    }

    /// Stops the redraw timer (also when a run throws).
    func stop() {
        timer?.cancel()
        timer = nil
    }

    func end(_ summary: RunSummary) {
        stop()
        lock.withLock {
            ended = true
            switch mode {
            case .json:
                var event: [String: JSONValue] = [
                    "event": .string("end"), "succeeded": .int(Int64(summary.succeeded)), "failed": .int(Int64(summary.failed)),
                    "skipped": .int(Int64(summary.skipped)), "media_seconds": .double(rounded(summary.mediaSeconds)),
                    "elapsed": .double(rounded(summary.wallSeconds)), "results": .string(summary.results),
                ]
                if let reason = summary.stoppedBy, let line = summary.stopLine() {
                    event["stopped_by"] = .string(reason.description)
                    event["unfinished"] = .int(Int64(summary.unfinished))
                    event["message"] = .string(line)
                }
                emitJSON(event)
            case .silent: break
            case .quiet, .auto:
                clearBar()
                write(summary.line + "\n")
            }
        }
    }

    // MARK: Drawing

    private var elapsed: Double { Date().timeIntervalSince(start) }

    private func tick() {
        lock.withLock {
            guard case .auto = mode, !ended else { return }
            if isTerminal { drawBar() } else if done < total { write(status() + "\n") }
        }
    }

    /// `12/40 items · 6m12s audio · 8.1× realtime · ETA 1m05s`
    private func status() -> String {
        var parts = ["\(done)/\(total) items" + (failed > 0 ? " (\(failed) failed)" : ""),
                     "\(duration(mediaSeconds)) audio"]
        if mediaSeconds > 0, elapsed > 0 { parts.append(String(format: "%.1f× realtime", mediaSeconds / elapsed)) }
        if workedBytes > 0, totalBytes > doneBytes, done < total {
            parts.append("ETA " + duration(elapsed * Double(totalBytes - doneBytes) / Double(workedBytes)))
        }
        parts.append("elapsed " + duration(elapsed))
        return parts.joined(separator: " · ")
    }

    private func drawBar() {
        let width = 24
        let filled = total > 0 ? width * done / total : width
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        write("\r\u{1B}[K[\(bar)] " + status())
        barShown = true
    }

    private func clearBar() {
        if barShown { write("\r\u{1B}[K"); barShown = false }
    }

    private func write(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }

    private func emitJSON(_ object: [String: JSONValue]) {
        guard let data = try? JSONEncoder.records.encode(JSONValue.object(object)) else { return }
        FileHandle.standardError.write(data + Data([0x0A]))
    }
}

func rounded(_ seconds: Double, places: Double = 1000) -> Double { (seconds * places).rounded() / places }

/// `42s`, `6m12s`, `2h05m`.
func duration(_ seconds: Double) -> String {
    let s = Int(seconds.rounded())
    if s < 60 { return "\(s)s" }
    if s < 3600 { return "\(s / 60)m\(String(format: "%02d", s % 60))s" }
    return "\(s / 3600)h\(String(format: "%02d", s / 60 % 60))m"
}
