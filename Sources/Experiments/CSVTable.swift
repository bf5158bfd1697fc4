// Reads a CSV file with a header row into a table of finite numbers, or fails
// with an error naming the file, line and column of the first problem.
import Foundation
import Store

/// A numeric table read from CSV: `values` is row-major, `rowCount x columnNames.count`.
struct CSVTable: Equatable {
    var columnNames: [String]
    var values: [Double]
    var rowCount: Int
    /// The text column's cells, one per row, when it held any cell that is not a number (class
    /// names such as "setosa"); its `values` are then NaN where the text was not a number.
    var texts: [String]? = nil
    /// When the text column mixes numbers and text (an "NA" among numbers): the line and text of
    /// its first text cell.
    var mixedText: (line: Int, text: String)? = nil
    /// With `mixedText`: how many of the text column's cells are text, and the line and text of its
    /// first number (so that a number among class names is named, not the names around it).
    var textCellCount = 0
    var firstNumberInText: (line: Int, text: String)? = nil
    /// Per column, the first cell whose number is beyond float32's range (1e39): such a file is
    /// refused for a float32 run (see `LoadedData.float32Problem`).
    var beyondFloat32: [Int: (line: Int, text: String)] = [:]
    /// The text column's first number that is a whole number of 2^53 or more in magnitude, where a
    /// Double no longer holds every whole number (9007199254740993 reads as 9007199254740992): as a
    /// class label it would merge with its neighbour, so a classification target refuses it.
    var inexactWhole: (line: Int, text: String)? = nil

    /// Refuses a classification target (the text column) holding a whole number a Double does not
    /// hold exactly: one line naming the line of the file.
    func checkExactLabels(file: String, targetName: String) throws {
        guard let (line, text) = inexactWhole else { return }
        throw ExperimentsError.badData(file: file, line: line, column: "'\(shownText(targetName))'",
            reason: "'\(shownText(text))' is a whole number of 2^53 (9007199254740992) or more, which a class label cannot be exactly; "
                + "number the classes below 2^53, or use --task regression")
    }

    static func == (lhs: CSVTable, rhs: CSVTable) -> Bool {
        lhs.columnNames == rhs.columnNames && lhs.values == rhs.values && lhs.rowCount == rhs.rowCount && lhs.texts == rhs.texts
    }

    func column(_ index: Int) -> [Double] {
        (0..<rowCount).map { values[$0 * columnNames.count + index] }
    }

    /// Parses a CSV file's bytes (`file` is only used in messages). Blank lines are skipped; fields
    /// may be quoted with double quotes. Works on UTF-8 bytes and `strtod`, so that the 1 MB
    /// digits file parses in milliseconds (String and Character handling was 30x slower).
    /// - Complexity: O(n) in the number of bytes.
    /// `textColumn`: the column that may hold text (the target, by name; nil: the last column).
    /// Why `bytes` (a whole file, or its first bytes: `InputFile.contents` asks before reading the
    /// rest) are no CSV text, or nil: NUL bytes (UTF-16, a binary file, a sparse file of zeros).
    static func binaryProblem(_ bytes: Data) -> String? { bytes.contains(0) ? binaryText : nil }

    private static let binaryText = "not a text file (it holds NUL bytes; UTF-16 text? save it as UTF-8); expected CSV text: "
        + "a header row naming the columns, then one row per sample"

    /// `checkHeader`: the caller's checks of the column names, before any row is read (a column the
    /// caller refuses is said as such, not as a cell of it that is no number).
    static func parse(_ bytes: [UInt8], file: String, textColumn: String? = nil, checkHeader: (([String]) throws -> Void)? = nil) throws -> CSVTable {
        // Excel's "CSV UTF-8" starts with a byte-order mark: not part of the first column's name.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) {
            return try parse(Array(bytes.dropFirst(3)), file: file, textColumn: textColumn, checkHeader: checkHeader)
        }
        let hasNUL = bytes.withUnsafeBufferPointer { $0.baseAddress.map { memchr($0, 0, bytes.count) != nil } ?? false }
        if hasNUL { throw ExperimentsError.badData(file: file, line: nil, column: nil, reason: binaryText) }
        try checkUTF8(bytes, file: file)
        try checkCarriageReturns(bytes, file: file)
        // Lines one at a time (no array of line ranges: 16 bytes per line, for a file of blank lines
        // 16 times its size).
        var nextLineStart = 0, lineNumber = 0
        func nextLine() -> Range<Int>? {
            guard nextLineStart < bytes.count else { return nil }
            var end = nextLineStart
            while end < bytes.count && bytes[end] != UInt8(ascii: "\n") { end += 1 }
            defer { nextLineStart = min(end + 1, bytes.count); lineNumber += 1 }  // no line feed at the end: past it, not beyond
            return nextLineStart..<end
        }
        func isBlank(_ range: Range<Int>) -> Bool { bytes[range].allSatisfy { $0 == 32 || $0 == 9 || $0 == 13 } }
        func withoutCR(_ range: Range<Int>) -> Range<Int> {  // "\r\n" line ends
            range.upperBound > range.lowerBound && bytes[range.upperBound - 1] == 13 ? range.lowerBound..<(range.upperBound - 1) : range
        }
        var headerRange: Range<Int>?
        while let range = nextLine() {
            if !isBlank(range) { headerRange = range; break }
        }
        guard let headerRange else {
            throw ExperimentsError.badData(file: file, line: nil, column: nil, reason: "the file is empty; expected a header row naming the columns, then one row per sample")
        }
        let headerLine = lineNumber
        let header = try fields(bytes, withoutCR(headerRange), file: file, line: headerLine, header: nil)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        if header.allSatisfy({ DecimalNumber.value(of: $0) != nil }) {
            throw ExperimentsError.badData(file: file, line: headerLine, column: nil,
                reason: "no header row (the first line holds only numbers); add a first line naming each column, e.g. x1,x2,label")
        }
        var seenNames = Set<String>()  // a set, not a search of the names before: 100,000 columns stay linear
        for (index, name) in header.enumerated() {
            if name.isEmpty {
                throw ExperimentsError.badData(file: file, line: headerLine, column: "\(index + 1)", reason: "empty column name in the header")
            }
            if !seenNames.insert(name).inserted {
                throw ExperimentsError.badData(file: file, line: headerLine, column: "'\(shownText(name))'", reason: "column name '\(shownText(name))' appears twice in the header")
            }
        }
        try checkHeader?(header)
        let textIndex = textColumn.map { header.firstIndex(of: $0) } ?? header.count - 1
        var textCells: [Int: String] = [:]  // row -> text, for the text column's non-numbers
        var beyondFloat32: [Int: (line: Int, text: String)] = [:]
        var inexactWhole: (line: Int, text: String)?
        var firstTextLine: Int?
        var firstNumberInText: (line: Int, text: String)?
        var values: [Double] = []
        // Every cell takes a byte and a separator: at most half the rest of the file in values, however
        // many blank lines there are.
        let lineCount = bytes[nextLineStart...].reduce(1) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
        let (cellCount, overflow) = lineCount.multipliedReportingOverflow(by: header.count)
        values.reserveCapacity(min(overflow ? Int.max : cellCount, (bytes.count - nextLineStart) / 2 + 1))
        var rowCount = 0
        var buffer = [CChar](repeating: 0, count: 64)
        while let range = nextLine() {
            if isBlank(range) { continue }
            let lineIndex = lineNumber - 1
            func fail(_ fieldCount: Int) -> ExperimentsError {
                .badData(file: file, line: lineIndex + 1, column: nil, reason: "\(fieldCount) fields, expected \(header.count) (as many as the header names)")
            }
            func check(_ field: Substring, column: Int) throws -> Double {
                let trimmed = field.trimmingCharacters(in: .whitespaces)
                if column == textIndex, !trimmed.isEmpty, DecimalNumber.value(of: trimmed) == nil {
                    textCells[rowCount] = trimmed
                    if firstTextLine == nil { firstTextLine = lineIndex + 1 }
                    return .nan
                }
                guard let value = DecimalNumber.value(of: trimmed) else {
                    throw ExperimentsError.badData(file: file, line: lineIndex + 1, column: "'\(shownText(header[column]))' (\(column + 1))",
                        reason: trimmed.isEmpty ? "empty cell; every cell must hold a number" : "'\(shownText(trimmed))' is not a number")
                }
                guard value.isFinite else {
                    throw ExperimentsError.badData(file: file, line: lineIndex + 1, column: "'\(shownText(header[column]))' (\(column + 1))",
                        reason: "'\(shownText(trimmed))' is not a finite number (NaN and infinities are not accepted)")
                }
                return value
            }
            func noteRange(_ value: Double, column: Int, text: @autoclosure () -> String) {
                if column == textIndex && !value.isNaN && firstNumberInText == nil { firstNumberInText = (lineIndex + 1, text()) }
                if !Float(value).isFinite && beyondFloat32[column] == nil { beyondFloat32[column] = (lineIndex + 1, text()) }
                if column == textIndex && value.magnitude >= 9_007_199_254_740_992 && value.rounded() == value && inexactWhole == nil {
                    inexactWhole = (lineIndex + 1, text())
                }
            }
            if bytes[range].contains(UInt8(ascii: "\"")) {
                let cells = try fields(bytes, withoutCR(range), file: file, line: lineIndex + 1, header: header)
                guard cells.count == header.count else { throw fail(cells.count) }
                for (column, field) in cells.enumerated() {
                    let value = try check(Substring(field), column: column)
                    noteRange(value, column: column, text: field.trimmingCharacters(in: .whitespaces))
                    values.append(value)
                }
                rowCount += 1
                continue
            }
            // Fast path: plain numbers between commas.
            var column = 0
            var fieldStart = range.lowerBound
            var end = range.upperBound
            if end > fieldStart && bytes[end - 1] == 13 { end -= 1 }
            while true {
                var fieldEnd = fieldStart
                while fieldEnd < end && bytes[fieldEnd] != UInt8(ascii: ",") { fieldEnd += 1 }
                guard column < header.count else { throw fail(bytes[range].reduce(1) { $1 == UInt8(ascii: ",") ? $0 + 1 : $0 }) }
                var value = Double.nan
                var parsed = false
                var first = fieldStart, last = fieldEnd
                while first < last && (bytes[first] == 32 || bytes[first] == 9) { first += 1 }
                while last > first && (bytes[last - 1] == 32 || bytes[last - 1] == 9) { last -= 1 }
                let length = last - first
                if fieldEnd - fieldStart > longestCell {  // spaces count: they are trimmed by Foundation below
                    throw ExperimentsError.badData(file: file, line: lineIndex + 1, column: "'\(shownText(header[column]))' (\(column + 1))",
                        reason: cellTooLong(bytes[first..<last], size: "\(fieldEnd - fieldStart)"))
                }
                if let exact = exactDecimal(bytes, first..<last) {
                    value = exact
                    parsed = true
                } else if length > 0 && length < buffer.count && DecimalNumber.isWellFormed(bytes[first..<last]) {
                    for offset in 0..<length { buffer[offset] = CChar(bitPattern: bytes[first + offset]) }
                    buffer[length] = 0
                    buffer.withUnsafeMutableBufferPointer { characters in
                        var parsedEnd: UnsafeMutablePointer<CChar>? = nil
                        value = strtod(characters.baseAddress!, &parsedEnd)
                        parsed = parsedEnd == characters.baseAddress! + length
                    }
                }
                if !parsed || !value.isFinite {
                    value = try check(Substring(String(decoding: bytes[fieldStart..<fieldEnd], as: UTF8.self)), column: column)
                }
                noteRange(value, column: column, text: String(decoding: bytes[first..<last], as: UTF8.self))
                values.append(value)
                column += 1
                if fieldEnd >= end { break }
                fieldStart = fieldEnd + 1
            }
            guard column == header.count else { throw fail(column) }
            rowCount += 1
        }
        guard rowCount > 0 else {
            throw ExperimentsError.badData(file: file, line: nil, column: nil, reason: "the file has a header but no data rows")
        }
        var table = CSVTable(columnNames: header, values: values, rowCount: rowCount)
        table.beyondFloat32 = beyondFloat32
        table.inexactWhole = inexactWhole
        if !textCells.isEmpty, let textIndex {
            table.texts = (0..<rowCount).map { row in textCells[row] ?? shortDescription(values[row * header.count + textIndex]) }
            if textCells.count < rowCount, let line = firstTextLine, let first = textCells.min(by: { $0.key < $1.key }) {
                table.mixedText = (line, first.value)
                table.textCellCount = textCells.count
                table.firstNumberInText = firstNumberInText
            }
        }
        return table
    }

    /// `[-]digits[.digits]` with at most 19 digits whose integer value is at most 2^53 and at most
    /// 22 after the point: Double(integer) / 10^k, exactly what strtod returns, since both operands
    /// are exact doubles and IEEE division rounds once (Clinger's fast path). Nil for anything else.
    @inline(__always)
    static func exactDecimal(_ bytes: [UInt8], _ range: Range<Int>) -> Double? {
        var index = range.lowerBound
        let negative = index < range.upperBound && bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        var mantissa: UInt64 = 0
        var digits = 0, fractionDigits = 0
        var seenPoint = false
        while index < range.upperBound {
            let byte = bytes[index]
            if byte >= 48 && byte <= 57 {
                guard digits < 19 else { return nil }
                mantissa = mantissa &* 10 &+ UInt64(byte - 48)
                digits += 1
                if seenPoint { fractionDigits += 1 }
            } else if byte == UInt8(ascii: "."), !seenPoint {
                seenPoint = true
            } else {
                return nil
            }
            index += 1
        }
        guard digits > 0, mantissa <= 1 << 53, fractionDigits <= 22 else { return nil }
        let magnitude = Double(mantissa) / exactPowersOfTen[fractionDigits]
        return negative ? -magnitude : magnitude
    }

    private static let exactPowersOfTen: [Double] = (0...22).map { exponent in
        (0..<exponent).reduce(1.0) { value, _ in value * 10 }  // each product is exact up to 1e22
    }

    /// The most bytes a cell or column name may have: far more than any number or class name, and
    /// it bounds the work per cell (a 60 MB cell once took 16 bytes of memory per byte to refuse).
    static let longestCell = 1_000

    /// The reason for refusing a cell (`what`) of `size` bytes that starts with `start`.
    static func cellTooLong(_ start: ArraySlice<UInt8>, size: String, what: String = "a cell") -> String {
        // 200 bytes hold the 40 characters shown (at most 4 bytes each) whole.
        let shown = String(decoding: start.prefix(200), as: UTF8.self)
        return "\(what) of \(size) bytes ('\(shownText(shown))') is longer than the \(longestCell) bytes Slope reads; "
            + "a cell holds a number or a class name: is a line break missing?"
    }

    /// The line (from 1) holding the byte at `offset`, and the character of that line it starts (from 1).
    static func position(of offset: Int, in bytes: [UInt8]) -> (line: Int, character: Int) {
        var line = 1, lineStart = 0
        for index in 0..<offset where bytes[index] == UInt8(ascii: "\n") {
            line += 1
            lineStart = index + 1
        }
        return (line, String(decoding: bytes[lineStart..<offset], as: UTF8.self).count + 1)
    }

    /// Refuses bytes that are not UTF-8 (Latin-1 or Windows-1252 text): decoded with replacement
    /// characters, two different class names such as 0xFE and 0xFF would merge into one.
    /// - Complexity: O(n), one pass that skips ASCII bytes.
    static func checkUTF8(_ bytes: [UInt8], file: String) throws {
        guard let offset = firstInvalidUTF8(bytes) else { return }
        let (line, character) = position(of: offset, in: bytes)
        throw ExperimentsError.badData(file: file, line: line, column: nil, reason: String(format: "not UTF-8 text (byte 0x%02X at character %d", bytes[offset], character)
            + " is not UTF-8; Latin-1 or Windows-1252 text?); save the file as UTF-8")
    }

    /// The offset of the first byte that does not start a well-formed UTF-8 sequence (Unicode's
    /// table 3-7: no overlong forms, no surrogates, nothing beyond U+10FFFF); nil when all do.
    static func firstInvalidUTF8(_ bytes: [UInt8]) -> Int? {
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte < 0x80 { index += 1; continue }
            var length = 0, lower: UInt8 = 0x80, upper: UInt8 = 0xBF
            switch byte {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; lower = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; upper = 0x9F
            case 0xF0: length = 4; lower = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; upper = 0x8F
            default: return index
            }
            guard index + length <= bytes.count, (lower...upper).contains(bytes[index + 1]) else { return index }
            for next in (index + 2)..<(index + length) where bytes[next] & 0xC0 != 0x80 { return index }
            index += length
        }
        return nil
    }

    /// A carriage return that does not end a line (CR only line endings, as classic Mac OS
    /// wrote them, make the whole file one line with CRs in it): named, rather than "1 fields".
    static func checkCarriageReturns(_ bytes: [UInt8], file: String) throws {
        guard let lone = bytes.indices.first(where: { bytes[$0] == 13 && $0 + 1 < bytes.count && bytes[$0 + 1] != UInt8(ascii: "\n") })
        else { return }
        let (line, character) = position(of: lone, in: bytes)
        // One line: no line feed at all, or only the file's last byte.
        let lineFeeds = bytes.reduce(0) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
        let onlyCR = lineFeeds == 0 || (lineFeeds == 1 && bytes.last == UInt8(ascii: "\n"))
        throw ExperimentsError.badData(file: file, line: line, column: nil, reason: onlyCR
            ? "line endings are CR only (classic Mac OS; first CR at character \(character)): save the file with LF or CRLF line endings"
            : "a carriage return (CR) inside the line at character \(character): remove it, or save the file with LF or CRLF line endings")
    }

    /// The fields of the line at `range` of `bytes` (UTF-8, without its line end), split on commas;
    /// a field in double quotes may hold commas and "" for a quote (spaces around the quotes are
    /// allowed). A quote left open, a quote inside an unquoted field, text after a closing quote and
    /// a field longer than `longestCell` are errors naming the line and the column (by its header
    /// name when `header` is given) and the character.
    /// - Complexity: O(n) in the line's bytes; a field's bytes are kept once.
    static func fields(_ bytes: [UInt8], _ range: Range<Int>, file: String, line lineNumber: Int, header: [String]?) throws -> [String] {
        var fields: [String] = []
        var current: [UInt8] = []
        var inQuotes = false, wasQuoted = false
        var openedAt = 0
        func fail(_ reason: String) -> ExperimentsError {
            let index = fields.count
            let column = header.map { index < $0.count ? "'\(shownText($0[index]))' (\(index + 1))" : "\(index + 1)" } ?? "\(index + 1)"
            return .badData(file: file, line: lineNumber, column: column, reason: reason)
        }
        func character(_ offset: Int) -> Int { String(decoding: bytes[range.lowerBound..<offset], as: UTF8.self).count + 1 }
        func append(_ byte: UInt8) throws {
            if current.count == longestCell {
                throw fail(cellTooLong(current[...], size: "more than \(longestCell)", what: header == nil ? "a column name" : "a cell"))
            }
            current.append(byte)
        }
        var index = range.lowerBound
        while index < range.upperBound {
            let byte = bytes[index]
            index += 1
            if inQuotes {
                guard byte == UInt8(ascii: "\"") else { try append(byte); continue }
                if index < range.upperBound, bytes[index] == UInt8(ascii: "\"") {
                    try append(byte)
                    index += 1
                } else {
                    inQuotes = false
                }
            } else if byte == UInt8(ascii: ",") {
                fields.append(String(decoding: current, as: UTF8.self))
                current = []
                wasQuoted = false
            } else if wasQuoted {
                guard byte == 32 || byte == 9 else {
                    throw fail("text after the closing quote at character \(character(index - 1)) (a quoted field ends at its closing quote; write \"\" for a quote inside it)")
                }
            } else if byte == UInt8(ascii: "\"") {
                guard current.allSatisfy({ $0 == 32 || $0 == 9 }) else {
                    throw fail("a quote inside an unquoted field at character \(character(index - 1)): quote the whole field and double the quote (\"a\"\"b\"), or remove it")
                }
                current = []
                inQuotes = true
                wasQuoted = true
                openedAt = character(index - 1)
            } else {
                try append(byte)
            }
        }
        if inQuotes { throw fail("unterminated quote: the field opened with \" at character \(openedAt) is not closed on this line") }
        fields.append(String(decoding: current, as: UTF8.self))
        return fields
    }
}
