// How `report` writes its results (standard output or --out), its signals and the end of the process.
import CLISupport
import Experiments  // StopSignal
import Foundation
import Reporting
import Store

enum Output {
    static func write(_ text: String) {
        StandardStream.output.write(text)
    }

    /// Writes `data` to `out` (standard output without it, or `-`); a file written is said in one
    /// line, `wrote FILE (SIZE)` (`OutputFile.wroteLine`).
    static func write(_ data: Data, to out: String?, protecting database: String?) throws {
        guard try !OutputFile.write(data, to: out, protecting: database), let out, let line = OutputFile.wroteLine(out) else { return }
        write(line + "\n")
    }

    /// One line on stderr that is not an error (the command goes on).
    static func notice(_ line: String) {
        StandardStream.error.write("report: \(line)\n")
    }

    /// Set by Ctrl-C or SIGTERM where a command stops on them (`stopOnSignals`); `stop.signal` is
    /// the signal that did. It also says who ends the process, once (`end(status:_:)`).
    static let stop = StopSignal()

    /// Seconds a command has to stop by itself after Ctrl-C or SIGTERM (`stopOnSignals`).
    static let stopGraceSeconds = 2.0

    /// From now on Ctrl-C and SIGTERM set `stop` instead of ending the process at once, so that
    /// a long command (`export --format sqlite`) stops cleanly. When it has not within
    /// `stopGraceSeconds` (a query waiting for the server), or at a second signal (not the first
    /// delivered twice: `StopSignal.request(signal:at:)`), `cleanUp` runs and the process ends
    /// (status 128 + the signal that ended it), unless the command's own end came first. The handlers
    /// must live as long as the command.
    static func stopOnSignals(cleanUp: @escaping @Sendable () -> Void) -> StopSignalHandlers {
        let end: @Sendable (_ number: Int32, _ why: String) -> Void = { number, why in
            guard stop.mayEnd(.signal) else { return }  // the command is ending by itself: its end is the one
            cleanUp()
            notice("stopped: \(number == SIGINT ? "interrupted" : "terminated")\(why); nothing was written")
            _exit(128 + number)
        }
        return StopSignalHandlers(stop, onFirst: { number in
            DispatchQueue.global().asyncAfter(deadline: .now() + stopGraceSeconds) {
                end(number, ", and the command had not stopped \(Int(stopGraceSeconds)) s later")
            }
        }, onSecond: { number in
            end(number, " (a second request)")
            // The end was taken already, by the command (its last line may be stuck on a full pipe)
            // or by the grace end (its message stuck on a stopped stderr): a second request still
            // ends the process at once.
            _exit(128 + number)
        })
    }

    /// Ends the process with `status` after `last` (its last words), unless a signal's end
    /// (`stopOnSignals`) has begun: then that one ends it, and this waits for it, so that the
    /// process writes one last line and leaves nothing behind.
    static func end(status: Int32, _ last: () -> Void = {}) -> Never {
        stop.claimEnd()
        last()
        Foundation.exit(status)
    }
}
