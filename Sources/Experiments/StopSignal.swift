// Ctrl-C and SIGTERM as requests to stop, for both executables (`runner` stops after the current
// epoch, `report` stops an export): the request every worker thread checks, the rule that tells a
// signal delivered twice from a second request, and the process's one end.
import Foundation

/// Set from a signal handler (Ctrl-C); every worker thread checks it after each epoch.
public final class StopSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var requested = false
    private var firstSignal: (number: Int32, time: TimeInterval)?
    private var ender: Ender?
    public init() {}
    public func request() { lock.lock(); requested = true; lock.unlock() }
    public var isRequested: Bool { lock.lock(); defer { lock.unlock() }; return requested }

    /// What one more signal means to a process that stops after the current epoch at the first.
    public enum Delivery: Equatable, Sendable {
        /// The first: stop after the current epoch.
        case first
        /// The first one again, delivered twice: nothing more to do.
        case repeated
        /// A second request: quit at once.
        case second
    }

    /// Seconds within which the first signal coming again is that one delivered twice, not a
    /// second request: GNU `timeout` (and supervisors like it) signal the process and then its
    /// whole process group, which holds the process too, microseconds apart. A user's second
    /// Ctrl-C, given after reading that the process stops after its epoch, comes later.
    public static let repeatSeconds: TimeInterval = 0.5

    /// Takes `signal`, received at `time` (seconds on a monotonic clock), as a request to stop,
    /// and says whether it is the first, the first delivered again, or a second one (another
    /// signal, or the same one `repeatSeconds` or more after the first).
    public func request(signal: Int32, at time: TimeInterval) -> Delivery {
        lock.lock()
        defer { lock.unlock() }
        guard let first = firstSignal else {
            firstSignal = (signal, time)
            requested = true
            return .first
        }
        return signal == first.number && time - first.time < Self.repeatSeconds ? .repeated : .second
    }

    /// The signal that made the first request (`request(signal:at:)`), nil before one came.
    public var signal: Int32? { lock.lock(); defer { lock.unlock() }; return firstSignal?.number }

    /// Who ends the process: the work itself (its result or its error, on the main thread), or a
    /// signal's handler that cannot wait for the work any longer.
    public enum Ender: Equatable, Sendable { case work, signal }

    /// Whether `ender` may end the process: true for the first to ask (and for the work asking
    /// again), false for everyone after, who must leave the end to it. Taken before the last line
    /// is written, so that a process ends once: one last line, one cleanup, one exit status.
    public func mayEnd(_ ender: Ender) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if let current = self.ender { return current == ender && ender == .work }
        self.ender = ender
        return true
    }

    /// Takes the process's end for the work (what it writes next is its last line), or, when a
    /// signal's end began first, waits for it: that one writes its line and calls `_exit`, so this
    /// never returns then. Both executables end through it.
    public func claimEnd() {
        guard mayEnd(.work) else {
            while true { pause() }
        }
    }
}

/// Ctrl-C and SIGTERM taken as requests to `stop` (instead of ending the process at once) while
/// this is alive: the first request runs `onFirst`, a second one `onSecond`, the first signal
/// delivered again within `StopSignal.repeatSeconds` nothing.
///
/// A signal is timed as soon as it is taken, on a queue that does nothing else: `onFirst` runs
/// on a queue of its own, so that a message it writes to a blocked stderr (a terminal on hold, a
/// full pipe) cannot delay the group's copy of the signal past the window and make it a second
/// request. `onSecond` runs at once (it ends the process, even while `onFirst` is still writing).
public final class StopSignalHandlers: @unchecked Sendable {  // the sources are only set in init
    private let sources: [DispatchSourceSignal]
    private let firstQueue = DispatchQueue(label: "slope.stop-signal.first")

    public init(_ stop: StopSignal, signals: [Int32] = [SIGINT, SIGTERM],
                onFirst: @escaping @Sendable (Int32) -> Void, onSecond: @escaping @Sendable (Int32) -> Void) {
        let timing = DispatchQueue(label: "slope.stop-signal")  // serial: two signals at once are still first and second
        let firstQueue = self.firstQueue
        sources = signals.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: timing)
            source.setEventHandler {
                // Several of one signal may come as one event: they count as that signal delivered
                // more than once (`timeout` sends it to the process and then to its group).
                switch stop.request(signal: number, at: ProcessInfo.processInfo.systemUptime) {
                case .first: firstQueue.async { onFirst(number) }
                case .repeated: return
                case .second: onSecond(number)
                }
            }
            source.resume()
            return source
        }
    }

    /// Waits until `onFirst` has run for a signal already taken (its message written before what
    /// the process writes next).
    public func flush() { firstQueue.sync {} }

    /// From now on the signals end the process again (their default action).
    public func cancel() {
        sources.forEach { $0.cancel() }
        for source in sources { signal(Int32(source.handle), SIG_DFL) }
    }
}
