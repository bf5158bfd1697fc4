// Splitting a SQL script (a PostgreSQL migration file) into statements: postgres-nio's extended
// protocol takes one statement per query.
import Foundation

/// Splits a SQL script into statements at the `;` that end them, skipping those inside
/// quotes, comments and dollar-quoted bodies.
enum SQLScript {
    static func statements(_ script: String) -> [String] {
        let text = Array(script.utf8)
        var statements: [String] = []
        var start = 0, index = 0
        func peek(_ offset: Int) -> UInt8? { index + offset < text.count ? text[index + offset] : nil }
        while index < text.count {
            switch text[index] {
            case UInt8(ascii: "-") where peek(1) == UInt8(ascii: "-"):
                while index < text.count && text[index] != UInt8(ascii: "\n") { index += 1 }
            case UInt8(ascii: "/") where peek(1) == UInt8(ascii: "*"):
                index += 2
                while index < text.count && !(text[index] == UInt8(ascii: "*") && peek(1) == UInt8(ascii: "/")) { index += 1 }
                index += 2
            case UInt8(ascii: "'"), UInt8(ascii: "\""):
                let quote = text[index]
                index += 1
                while index < text.count {
                    if text[index] == quote {
                        if peek(1) == quote { index += 2; continue }  // a doubled quote inside
                        break
                    }
                    index += 1
                }
                index += 1
            case UInt8(ascii: "$"):
                // $tag$ ... $tag$ (tag: letters, digits, underscores, possibly empty)
                var end = index + 1
                while end < text.count, text[end] == UInt8(ascii: "_") || (text[end] < 128 && isalnum(Int32(text[end])) != 0) { end += 1 }
                if end < text.count, text[end] == UInt8(ascii: "$") {
                    let tag = Array(text[index...end])
                    index = end + 1
                    while index < text.count && !text[index...].starts(with: tag) { index += 1 }
                    index += tag.count
                } else {
                    index += 1
                }
            case UInt8(ascii: ";"):
                if let statement = meaningfulStatement(text[start..<index]) { statements.append(statement) }
                index += 1
                start = index
            default:
                index += 1
            }
        }
        if start < text.count, let statement = meaningfulStatement(text[start..<min(index, text.count)]) {
            statements.append(statement)
        }
        return statements
    }

    /// The statement in `bytes`, or nil when they hold only comments and blanks.
    private static func meaningfulStatement(_ bytes: ArraySlice<UInt8>) -> String? {
        let statement = String(decoding: bytes, as: UTF8.self)
        let meaningful = statement.split(separator: "\n").contains { line in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            return !trimmed.isEmpty && !trimmed.hasPrefix("--")
        }
        return meaningful ? statement.trimmingCharacters(in: .whitespacesAndNewlines) : nil
    }
}
