import ArgumentParser
import Dispatch
import Foundation
import Pipelines
#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM and SIGINT during a run: the first asks the runner to stop after the work in
/// progress (`RunStop`), the second ends the process at once (between two records). Either way
/// the exit status is 128 + signal (of the first): 143 for SIGTERM, 130 for SIGINT.
enum SignalStop {
    static let signals = [SIGTERM, SIGINT]
    /// The process's one stop request, shared by every run of this process.
    nonisolated(unsafe) private static var installed: (stop: RunStop, sources: [DispatchSourceSignal])?

    /// Installs the handlers (once) and returns the stop request they set. `announce`: whether
    /// signals are acknowledged on stderr ("stopping…"; not when stderr carries JSON progress).
    static func install(announce: Bool = true) -> RunStop {
        if let installed { return installed.stop }
        let stop = RunStop()
        let sources = signals.compactMap { number -> DispatchSourceSignal? in
            // The dispatch source receives it instead of the default action. A signal ignored when
            // hearth started (`trap '' INT`, a shell's background job) stays ignored.
            let previous = signal(number, SIG_IGN)
            if unsafeBitCast(previous, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self) { return nil }
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                let reason = StopReason(signal: number)
                if stop.request(reason) {
                    // On a terminal the progress bar has no newline yet: clear it first.
                    let clear = isatty(STDERR_FILENO) == 1 ? "\r\u{1B}[K" : ""
                    if announce { printError(clear + "\(reason): stopping after the work in progress (send again to stop at once)") }
                } else {
                    if announce { printError("\(reason) again: stopping now") }
                    stop.abort(status: (stop.reason ?? reason).exitStatus)
                }
            }
            source.resume()
            return source
        }
        installed = (stop, sources)
        return stop
    }

    /// After a run: prints "stopped by SIGTERM after N of M items; run again to resume" and ends
    /// with 143 / 130 when a signal stopped it before every item was done.
    static func exitIfStopped(_ summary: RunSummary, resumable: Bool, printLine: Bool = true) throws {
        guard let reason = summary.stoppedBy else { return }
        if printLine, let line = summary.stopLine(resumable: resumable) { printError(line) }
        throw ExitCode(reason.exitStatus)
    }
}
