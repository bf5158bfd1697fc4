// A typed table that renders three ways: a terminal table that fits the width, CSV (RFC 4180,
// full precision) and JSON (an array of objects, keys in column order, full precision).
import Foundation
import Store

public enum OutputFormat: String, CaseIterable, Sendable {
    case table, csv, json
}

/// One cell of a `DataTable`.
public enum Cell: Hashable, Sendable {
    case text(String)
    case integer(Int64)
    case real(Double)
    case null
    /// Names (importance's `merged`): separated by spaces in a table and CSV, a JSON array in JSON.
    case list([String])

    /// A number rounded for reading (4 significant digits, or integral values exactly).
    var display: String {
        switch self {
        case .text(let text): return text
        case .integer(let value): return String(value)
        case .real(let value): return formatNumber(value)
        case .null: return "-"
        case .list(let items): return items.joined(separator: " ")
        }
    }

    /// The short display when it reads back as the same value, else the full-precision text.
    var faithful: String {
        if case .real(let value) = self, value.isFinite, Double(display) != value { return exact }
        return display
    }

    /// Full-precision text for CSV (empty when missing).
    var exact: String {
        switch self {
        case .text(let text): return text
        case .integer(let value): return String(value)
        case .real(let value): return value.isFinite ? "\(value)" : (value.isNaN ? "nan" : (value > 0 ? "inf" : "-inf"))
        case .null: return ""
        case .list(let items): return items.joined(separator: " ")
        }
    }

    var json: String {
        switch self {
        case .text(let text): return jsonStringLiteral(text)
        case .integer(let value): return String(value)
        case .real(let value): return value.isFinite ? "\(value)" : "null"
        case .null: return "null"
        case .list(let items): return "[" + items.map(jsonStringLiteral).joined(separator: ", ") + "]"
        }
    }

    var isNumeric: Bool {
        switch self {
        case .integer, .real: return true
        default: return false
        }
    }

    static func number(_ value: Double?) -> Cell { value.map { .real($0) } ?? .null }
    static func integer(_ value: Int?) -> Cell { value.map { .integer(Int64($0)) } ?? .null }
    static func text(_ value: String?) -> Cell { value.map { .text($0) } ?? .null }
}

/// Readable number: 4 significant digits, scientific for very small or large values. A fraction
/// (|value| < 1) never reads as 1: a momentum of 0.9999999999999999 is not the refused 1, so it is
/// shown in its shortest exact form.
func formatNumber(_ value: Double, digits: Int = 4) -> String {
    let text = roundedNumber(value, digits: digits)
    if abs(value) < 1, text == "1" || text == "-1" { return "\(value)" }
    return text
}

private func roundedNumber(_ value: Double, digits: Int) -> String {
    if value.isNaN { return "nan" }
    if value.isInfinite { return value > 0 ? "inf" : "-inf" }
    if value == 0 { return "0" }
    // Values a rounding error away from an integer (10^log10(4096)) read as that integer.
    if abs(value - value.rounded()) <= 1e-9 * abs(value), abs(value) < 1e7 { return String(Int64(value.rounded())) }
    let magnitude = abs(value)
    if magnitude >= 1e-3, magnitude < 1e6 {
        let text = String(format: "%.\(digits)g", value)
        return text.contains("e") ? String(format: "%.0f", value) : text
    }
    return String(format: "%.\(max(1, digits - 1))e", value)
}

/// A number as C's `%g` with `digits` significant digits: fixed notation from 1e-4 up, exponent
/// notation below (and from 10^digits), trailing zeros dropped in both (`-0.000935999`,
/// `2.5e-07`); nan, inf and integers as `formatNumber` writes them. For `report explain`, whose
/// gradients, factors and steps (mostly 1e-4 to 1) are read against each other line by line.
func formatSignificant(_ value: Double, digits: Int) -> String {
    if value.isNaN || value.isInfinite || value == 0 { return formatNumber(value) }
    if abs(value - value.rounded()) <= 1e-9 * abs(value), abs(value) < 1e7 { return String(Int64(value.rounded())) }
    return String(format: "%.\(digits)g", value)
}


/// A terminal-safe single line: control characters (newlines, escapes) shown as visible symbols,
/// so that a hostile run name cannot break a table or inject terminal escape sequences.
public func terminalSafe(_ text: String) -> String {
    var result = ""
    for scalar in text.unicodeScalars {
        if scalar == "\n" { result += "↵" } else if scalar == "\t" { result += " " } else if scalar.value < 0x20 || scalar.value == 0x7F || (0x80...0x9F).contains(scalar.value)
                    || isBidiControl(scalar) {
            result += "?"  // bidi controls too: they would reorder the rest of the line on screen
        } else { result.unicodeScalars.append(scalar) }
    }
    return result
}

/// Right-to-left and isolate overrides and marks (U+200E, U+200F, U+202A-U+202E, U+2066-U+2069).
func isBidiControl(_ scalar: Unicode.Scalar) -> Bool {
    [0x200E, 0x200F].contains(scalar.value) || (0x202A...0x202E).contains(scalar.value) || (0x2066...0x2069).contains(scalar.value)
}

/// Terminal columns a character takes: 2 for East Asian wide and fullwidth characters and
/// emoji, 0 for combining marks and format characters (their base carries them), else 1.
func displayWidth(_ character: Character) -> Int {
    var width = 0
    for scalar in character.unicodeScalars {
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: continue
        default: break
        }
        let value = scalar.value
        let wide = scalar.properties.isEmojiPresentation
            || (0x1100...0x115F).contains(value) || (0x2E80...0x303E).contains(value) || (0x3041...0x33FF).contains(value)
            || (0x3400...0x4DBF).contains(value) || (0x4E00...0x9FFF).contains(value) || (0xA000...0xA4CF).contains(value)
            || (0xAC00...0xD7A3).contains(value) || (0xF900...0xFAFF).contains(value) || (0xFE30...0xFE4F).contains(value)
            || (0xFF00...0xFF60).contains(value) || (0xFFE0...0xFFE6).contains(value) || (0x20000...0x3FFFD).contains(value)
        width = max(width, wide ? 2 : 1)  // a cluster (flag, emoji with modifiers) takes the width of its widest part
    }
    return width
}

/// Display width of a string in terminal columns.
func displayWidth(_ text: String) -> Int { text.reduce(0) { $0 + displayWidth($1) } }

/// The longest start of `text` that fits in `width` columns.
func prefix(_ text: String, fitting width: Int) -> String {
    var used = 0, result = ""
    for character in text {
        let next = displayWidth(character)
        if used + next > width { break }
        used += next
        result.append(character)
    }
    return result
}

public struct DataTable: Equatable, Sendable {
    public struct Column: Equatable, Sendable {
        public var key: String
        public var title: String
        /// Right-align in terminal tables; nil: right when every value is a number.
        public var alignsRight: Bool?
        /// Whether a terminal table may shorten this column's values to fit the width.
        public var isShortenable: Bool
        public init(_ key: String, title: String? = nil, alignsRight: Bool? = nil, isShortenable: Bool = true) {
            self.key = key
            self.title = title ?? key
            self.alignsRight = alignsRight
            self.isShortenable = isShortenable
        }
    }

    public var columns: [Column]
    public var rows: [[Cell]]
    /// Row indices shown highlighted (e.g. the best run) in terminal tables.
    public var highlightedRows: Set<Int> = []

    public init(columns: [Column], rows: [[Cell]] = []) {
        self.columns = columns
        self.rows = rows
    }

    public func render(_ format: OutputFormat, style: TerminalStyle = .plain) -> String {
        switch format {
        case .table: return renderTable(style: style)
        case .csv: return renderCSV()
        case .json: return renderJSON()
        }
    }

    public func renderCSV() -> String {
        Self.csvLine(columns.map(\.key)) + rows.map { Self.csvLine($0.map(\.exact)) }.joined()
    }

    /// One CSV record with its newline; fields quoted when they hold a comma, quote or line break.
    static func csvLine(_ fields: [String]) -> String {
        fields.map { field in
            field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
                ? "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : field
        }.joined(separator: ",") + "\n"
    }

    public func renderJSON() -> String {
        if rows.isEmpty { return "[]\n" }
        let objects = rows.map { row -> String in
            let fields = zip(columns, row).map { "\(jsonStringLiteral($0.key)): \($1.json)" }
            return "  {" + fields.joined(separator: ", ") + "}"
        }
        return "[\n" + objects.joined(separator: ",\n") + "\n]\n"
    }

    /// Aligned columns (numbers right, text left) that fit `style.width` (when `style.fitsTables`): the
    /// widest text columns are truncated with "…" first; if that is not enough, trailing columns are
    /// dropped and counted.
    public func renderTable(style: TerminalStyle) -> String {
        let titles = columns.map { terminalSafe($0.title) }
        let body = rows.map { $0.map { terminalSafe($0.display) } }
        var widths = titles.indices.map { index in
            max(displayWidth(titles[index]), body.map { displayWidth($0[index]) }.max() ?? 0)
        }
        let numeric = columns.indices.map { index in
            columns[index].alignsRight ?? (!rows.isEmpty && rows.allSatisfy { $0[index].isNumeric || $0[index] == .null })
        }
        let separator = 2
        func total(_ count: Int) -> Int { widths.prefix(count).reduce(0, +) + separator * max(0, count - 1) }
        var shown = columns.count
        let width = style.fitsTables ? style.width : Int.max
        // Shrink the widest text column, one character at a time, down to 8 characters.
        while total(shown) > width {
            let candidates = (0..<shown).filter { !numeric[$0] && columns[$0].isShortenable && widths[$0] > 8 }
            guard let widest = candidates.max(by: { widths[$0] < widths[$1] }) else { break }
            widths[widest] -= 1
        }
        while total(shown) > width, shown > 1 { shown -= 1 }

        func fit(_ text: String, _ width: Int, right: Bool) -> String {
            var text = text
            if displayWidth(text) > width { text = prefix(text, fitting: max(0, width - 1)) + "…" }
            let padding = String(repeating: " ", count: max(0, width - displayWidth(text)))
            return right ? padding + text : text + padding
        }
        func line(_ cells: [String]) -> String {
            (0..<shown).map { fit(cells[$0], widths[$0], right: numeric[$0]) }
                .joined(separator: String(repeating: " ", count: separator))
                .replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }
        var lines = [style.bold(line(titles))]
        lines.append(style.dim(String(repeating: "─", count: total(shown))))
        for (index, cells) in body.enumerated() {
            let text = line(cells)
            lines.append(highlightedRows.contains(index) ? style.good(text) : text)
        }
        if shown < columns.count {
            let hidden = columns[shown...].map(\.title).joined(separator: ", ")
            let note = "(\(columns.count - shown) columns hidden: \(terminalSafe(hidden)); widen the terminal or use --format csv)"
            lines += style.wrapped(note).map(style.dim)  // every hidden column named, within the width
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
