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
