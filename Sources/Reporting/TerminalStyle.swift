// How output should look: terminal width and whether to use colour (only on a terminal, never with NO_COLOR);
// and the one reader of a terminal's size (`TerminalSize`), for report, the runner's live display and status lines.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The size of the terminal on a file descriptor (TIOCGWINSZ). Each caller keeps its own fallback.
public enum TerminalSize {
    /// Columns and rows of the terminal on `descriptor`; nil for each one it does not give (not a
    /// terminal, or a size of 0).
    public static func of(_ descriptor: Int32) -> (columns: Int?, rows: Int?) {
        var size = winsize()
        guard ioctl(descriptor, UInt(TIOCGWINSZ), &size) == 0 else { return (nil, nil) }
        return (size.ws_col > 0 ? Int(size.ws_col) : nil, size.ws_row > 0 ? Int(size.ws_row) : nil)
    }

    /// The width output to standard output is fitted to when no option gives one (report's tables,
    /// the runner's live display): COLUMNS (a positive whole number), else the terminal's columns
    /// when `isTerminal`; nil when neither says.
    public static func standardOutputColumns(environment: [String: String] = ProcessInfo.processInfo.environment,
                                             isTerminal: Bool = isatty(STDOUT_FILENO) == 1) -> Int? {
        if let columns = environment["COLUMNS"].flatMap(Int.init), columns > 0 { return columns }
        return isTerminal ? of(STDOUT_FILENO).columns : nil
    }
}

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
    /// (plots are then 100 wide). Colour when standard output is a terminal that takes escapes
    /// (`movesCursor`: TERM set and not "dumb", one rule for colour and the live display) and
    /// NO_COLOR is unset.
    public static func detect(columns: Int? = nil, environment: [String: String] = ProcessInfo.processInfo.environment,
                              isTerminal: Bool = isatty(STDOUT_FILENO) == 1) -> TerminalStyle {
        var width = 100
        var fitsTables = true
        if let columns {
            width = columns
        } else if let columns = TerminalSize.standardOutputColumns(environment: environment, isTerminal: isTerminal) {
            width = columns
        } else if !isTerminal {
            fitsTables = false  // a pipe or a file: nobody's screen to fit, and a cut column is lost data
        }
        let noColor = environment["NO_COLOR"].map { !$0.isEmpty } ?? false
        let usesColor = movesCursor(isTerminal: isTerminal, environment: environment) && !noColor
        return TerminalStyle(width: width, usesColor: usesColor, fitsTables: fitsTables)
    }

    /// Whether output to a terminal may move the cursor (a live display redrawn in place, a status
    /// line rewritten with `\r\e[K`): only when `isTerminal` and TERM names a terminal other than
    /// "dumb". Emacs' M-x shell and some CI pseudo-terminals set TERM=dumb (or none) and show the
    /// escapes as text, a new copy of the block at every redraw: they get the output of a pipe.
    public static func movesCursor(isTerminal: Bool, environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        guard isTerminal, let term = environment["TERM"], !term.isEmpty else { return false }
        return term != "dumb"
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
