// Progress of one long piece of work on standard error, for both executables (`runner` queueing a
// large sweep, `report export`): on a terminal one line kept up to date in place and erased at
// the end; elsewhere (a log) a line now and then, or nothing.
import Foundation
import Reporting

public final class StatusLine: @unchecked Sendable {  // used by one thread at a time
    private let quiet: Bool
    private let delay: TimeInterval
    private let interval: TimeInterval
    private let logInterval: TimeInterval?
    /// A terminal that can take `\r\e[K` (not TERM=dumb): else the line is written as to a log.
    private let isTerminal = StatusLine.movesCursor()
    private let started = Date()
    private var lastLine: Date?
    private var shown = false

    /// - Parameters:
    ///   - quiet: shows nothing.
    ///   - delay: seconds from now during which nothing is shown (most work ends sooner).
    ///   - interval: seconds between two updates of the terminal's line at least.
    ///   - logInterval: seconds between two lines written to something other than a terminal at
    ///     least; nil writes none there (a pipe or a log gets no stray lines).
    public init(quiet: Bool = false, delay: TimeInterval = 0, interval: TimeInterval = 0, logInterval: TimeInterval? = nil) {
        self.quiet = quiet
        self.delay = delay
        self.interval = interval
        self.logInterval = logInterval
    }

    /// Shows `line` unless it comes too soon (`delay`, `interval`, `logInterval`); `always`
    /// shows it whatever the time. On a terminal it is fitted to one row less a column
    /// (`fittedLine`: `shortening`, a file name in it, shortened by its middle first), as wide as
    /// the terminal is at that moment: a line that wraps is redrawn over its last row only, and
    /// leaves the others behind.
    public func show(_ line: String, shortening part: String? = nil, always: Bool = false) {
        guard !quiet else { return }
        let now = Date()
        guard always || now.timeIntervalSince(started) >= delay else { return }
        let wait = isTerminal ? interval : logInterval
        guard let wait, always || lastLine.map({ now.timeIntervalSince($0) >= wait }) ?? true else { return }
        // One column spare: a line as wide as the terminal leaves some terminals' cursor on the next row.
        let fitted = Self.terminalColumns().map { fittedLine(line, width: $0 - 1, shortening: part) } ?? line
        StandardStream.error.write(isTerminal ? "\r\u{1B}[K" + fitted : line + "\n")
        lastLine = now
        shown = true
    }

    /// Erases the terminal's line, if one is shown (a log keeps its lines).
    public func finish() {
        guard shown, isTerminal else { return }
        StandardStream.error.write("\r\u{1B}[K")
        shown = false
    }

    /// Whether standard error is a terminal that the line may be rewritten on (`TerminalStyle.movesCursor`).
    public static func movesCursor() -> Bool { TerminalStyle.movesCursor(isTerminal: isatty(STDERR_FILENO) == 1) }

    /// The width of the terminal on standard error, nil when it says none (the line is then not fitted).
    static func terminalColumns() -> Int? { TerminalSize.of(STDERR_FILENO).columns }

    /// Whether a line has been shown since the last `finish`.
    public var isShown: Bool { shown }
}
