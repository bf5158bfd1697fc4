// How output should look: terminal width and whether to use colour (only on a terminal, never with NO_COLOR).
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

public struct TerminalStyle: Equatable, Sendable {
    /// Columns available for plots and matrices, and for tables when `fitsTables`.
    public var width: Int
    /// Whether to emit ANSI colour sequences.
    public var usesColor: Bool
    /// Whether tables are fitted to `width` (text shortened, trailing columns dropped). Off for a
    /// pipe or file without COLUMNS or --columns: every column is printed in full.
    public var fitsTables: Bool

    public init(width: Int = 100, usesColor: Bool = false, fitsTables: Bool = true) {
        self.width = max(10, width)
        self.usesColor = usesColor
        self.fitsTables = fitsTables
    }

    /// `text` (plain, before styling) cut with "…" to `columns` (default: `width`) when output is
    /// fitted; whole otherwise.
    func fitted(_ text: String, to columns: Int? = nil) -> String {
        let limit = max(1, columns ?? width)
        guard fitsTables, displayWidth(text) > limit else { return text }
        return prefix(text, fitting: limit - 1) + "…"
    }

    /// `text` broken at spaces into lines of at most `width` columns when output is fitted (a word
    /// longer than a line is cut with "…"); one line otherwise.
    func wrapped(_ text: String) -> [String] {
        guard fitsTables, displayWidth(text) > width else { return [text] }
        var lines: [String] = [], line = ""
        for word in text.split(separator: " ", omittingEmptySubsequences: false).map(String.init) {
            if line.isEmpty {
                line = word
            } else if displayWidth(line) + 1 + displayWidth(word) <= width {
                line += " " + word
            } else {
                lines.append(fitted(line))
                line = word
            }
        }
        lines.append(fitted(line))
        return lines
    }

    /// Plain output of a fixed width: what tests get.
    public static let plain = TerminalStyle(width: 100, usesColor: false)

    /// The style for standard output of this process. Width: `columns` (--columns), else COLUMNS,
    /// else the terminal's size; sent to a pipe or a file without either, tables keep every column
    /// (plots are then 100 wide). Colour when standard output is a terminal, NO_COLOR is unset and
    /// TERM is not "dumb".
    public static func detect(columns: Int? = nil, environment: [String: String] = ProcessInfo.processInfo.environment,
                              isTerminal: Bool = isatty(STDOUT_FILENO) == 1) -> TerminalStyle {
        var width = 100
        var fitsTables = true
        if let columns {
            width = columns
        } else if let columns = environment["COLUMNS"].flatMap(Int.init), columns > 0 {
            width = columns
        } else if isTerminal {
            var size = winsize()
            if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { width = Int(size.ws_col) }
        } else {
            fitsTables = false  // a pipe or a file: nobody's screen to fit, and a cut column is lost data
        }
        let noColor = environment["NO_COLOR"].map { !$0.isEmpty } ?? false
        let usesColor = isTerminal && !noColor && environment["TERM"] != "dumb"
        return TerminalStyle(width: width, usesColor: usesColor, fitsTables: fitsTables)
    }

    // ANSI styling, a no-op without colour.
    func bold(_ text: String) -> String { usesColor ? "\u{1B}[1m\(text)\u{1B}[0m" : text }
    func dim(_ text: String) -> String { usesColor ? "\u{1B}[2m\(text)\u{1B}[0m" : text }
    func colored(_ text: String, _ code: Int) -> String { usesColor ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }
    func warning(_ text: String) -> String { colored(text, 33) }
    func good(_ text: String) -> String { colored(text, 32) }

    /// ANSI foreground colours for plot series, in order.
    static let seriesColors = [36, 33, 35, 32, 34, 31, 96, 93, 95, 92]
}

/// The executables' one way to write to their standard streams (libraries never print).
public enum StandardStream {
    case output, error

    /// What starts the one error line written when standard output cannot be written to
    /// ("report: error: " for `report`); set once by the executable before it writes anything.
    nonisolated(unsafe) public static var errorPrefix = "error: "

    /// What a write does once the reader of standard output has gone away (`... | head`): nil
    /// ends the process quietly (`report`); a notice drops standard output from then on, says
    /// so once on stderr and lets the process go on (`runner`: the training is worth more than
    /// its progress lines). Set once by the executable before it writes anything.
    nonisolated(unsafe) public static var closedOutputNotice: String?

    /// Set once standard output's reader went away and `closedOutputNotice` was said.
    private static let outputClosed = ClosedFlag()

    /// Writes all of `text`. When the reader of standard output has gone away (`report ... | head`),
    /// the process ends quietly the way SIGPIPE ends it (exit 141 in the shell), on either store,
    /// or with `closedOutputNotice` goes on without its output. The executables ignore SIGPIPE
    /// (SwiftNIO, under the PostgreSQL store, does too), so the error comes back here instead
    /// (Foundation's `FileHandle.write` would crash on it). Any other error writing standard output
    /// (a full disk, /dev/full, an I/O error) ends the process with one line on stderr,
    /// "cannot write to standard output: REASON", and exit status 1: output that was cut short
    /// must not look like a success. Errors writing stderr drop the text (there is nowhere to say so).
    public func write(_ text: String) {
        write(Data(text.utf8))
    }

    /// Writes all of `data` (see `write(_:)` for a reader that went away).
    public func write(_ data: Data) {
        if self == .output && Self.outputClosed.isSet { return }
        let descriptor = self == .output ? STDOUT_FILENO : STDERR_FILENO
        guard let failure = writeAll(descriptor, data), self == .output else { return }
        if failure == EPIPE, let notice = Self.closedOutputNotice {
            if Self.outputClosed.set() { StandardStream.error.write(notice.hasSuffix("\n") ? notice : notice + "\n") }
            return
        }
        if failure == EPIPE {
            signal(SIGPIPE, SIG_DFL)
            raise(SIGPIPE)
            _exit(141)
        }
        StandardStream.error.write(StandardStream.errorPrefix + "cannot write to standard output: "
                                   + String(cString: strerror(failure)) + "\n")
        _exit(1)
    }
}

/// A flag set once, from any thread.
private final class ClosedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false

    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }

    /// Sets the flag; true for the call that set it.
    func set() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if value { return false }
        value = true
        return true
    }
}

/// Writes all of `data` to `descriptor`, again after EINTR: nil once all is written, else the
/// errno of the failure (EIO for a write that wrote nothing). The one write loop of the
/// executables' output (`StandardStream`, `OutputFile`); each caller decides what EPIPE means.
func writeAll(_ descriptor: Int32, _ data: Data) -> Int32? {
    data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> Int32? in
        var offset = 0
        while offset < raw.count {
            let written = systemWrite(descriptor, raw.baseAddress! + offset, raw.count - offset)
            if written > 0 { offset += written; continue }
            if written < 0 && errno == EINTR { continue }
            return written < 0 ? errno : EIO
        }
        return nil
    }
}

#if canImport(Glibc)
private let systemWrite = Glibc.write
#elseif canImport(Darwin)
private let systemWrite = Darwin.write
#endif
