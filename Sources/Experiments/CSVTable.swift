// Reads a CSV file with a header row into a table of finite numbers, or fails
// with an error naming the file, line and column of the first problem.
import Foundation

/// A numeric table read from CSV: `values` is row-major, `rowCount x columnNames.count`.
struct CSVTable: Equatable {
    var columnNames: [String]
    var values: [Double]
    var rowCount: Int

    func column(_ index: Int) -> [Double] {
        (0..<rowCount).map { values[$0 * columnNames.count + index] }
    }

    /// Parses `text` (the contents of `file`, which is only used in messages).
    /// Blank lines are skipped; fields may be quoted with double quotes.
    /// - Complexity: O(n) in the length of the text.
    static func parse(_ text: String, file: String) throws -> CSVTable {
        // "\r\n" is one Character in Swift, so split on it as well as on "\n".
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        while let last = lines.last, last.allSatisfy(\.isWhitespace) { lines.removeLast() }
        guard let headerIndex = lines.firstIndex(where: { !$0.allSatisfy(\.isWhitespace) }) else {
            throw ExperimentsError.badData(file: file, line: nil, column: nil, reason: "the file is empty; expected a header row naming the columns, then one row per sample")
        }
        let header = splitFields(lines[headerIndex]).map { $0.trimmingCharacters(in: .whitespaces) }
        if header.allSatisfy({ Double($0) != nil }) {
            throw ExperimentsError.badData(file: file, line: headerIndex + 1, column: nil,
                reason: "no header row (the first line holds only numbers); add a first line naming each column, e.g. x1,x2,label")
        }
        for (index, name) in header.enumerated() {
            if name.isEmpty {
                throw ExperimentsError.badData(file: file, line: headerIndex + 1, column: "\(index + 1)", reason: "empty column name in the header")
            }
            if header[..<index].contains(name) {
                throw ExperimentsError.badData(file: file, line: headerIndex + 1, column: "'\(name)'", reason: "column name '\(name)' appears twice in the header")
            }
        }
        var values: [Double] = []
        values.reserveCapacity(lines.count * header.count)
        var rowCount = 0
        for lineIndex in (headerIndex + 1)..<lines.count {
            let line = lines[lineIndex]
            if line.allSatisfy(\.isWhitespace) { continue }
            let fields = splitFields(line)
            guard fields.count == header.count else {
                throw ExperimentsError.badData(file: file, line: lineIndex + 1, column: nil,
                    reason: "\(fields.count) fields, expected \(header.count) (as many as the header names)")
            }
            for (columnIndex, field) in fields.enumerated() {
                let trimmed = field.trimmingCharacters(in: .whitespaces)
                guard let value = Double(trimmed) else {
                    throw ExperimentsError.badData(file: file, line: lineIndex + 1, column: "'\(header[columnIndex])' (\(columnIndex + 1))",
                        reason: trimmed.isEmpty ? "empty cell; every cell must hold a number" : "'\(trimmed)' is not a number")
                }
                guard value.isFinite else {
                    throw ExperimentsError.badData(file: file, line: lineIndex + 1, column: "'\(header[columnIndex])' (\(columnIndex + 1))",
                        reason: "'\(trimmed)' is not a finite number (NaN and infinities are not accepted)")
                }
                values.append(value)
            }
            rowCount += 1
        }
        guard rowCount > 0 else {
            throw ExperimentsError.badData(file: file, line: nil, column: nil, reason: "the file has a header but no data rows")
        }
        return CSVTable(columnNames: header, values: values, rowCount: rowCount)
    }

    /// Splits one line on commas; a field in double quotes may hold commas and "" for a quote.
    private static func splitFields(_ line: Substring) -> [String] {
        guard line.contains("\"") else { return line.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        var fields: [String] = []
        var current = ""
        var inQuotes = false
        var iterator = line.makeIterator()
        var pending: Character? = nil
        while let character = pending ?? iterator.next() {
            pending = nil
            if inQuotes {
                if character == "\"" {
                    if let next = iterator.next() {
                        if next == "\"" { current.append("\"") } else { inQuotes = false; pending = next }
                    } else { inQuotes = false }
                } else { current.append(character) }
            } else if character == "\"" {
                inQuotes = true
            } else if character == "," {
                fields.append(current); current = ""
            } else {
                current.append(character)
            }
        }
        fields.append(current)
        return fields
    }
}
