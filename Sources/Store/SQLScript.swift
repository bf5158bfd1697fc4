// Reading SQL text the way the server lexes it, for the two things PostgreSQL needs done to
// Slope's SQL: splitting a script (a migration file) into statements, since postgres-nio's
// extended protocol takes one statement per query, and numbering `?` placeholders ($1, $2, ...).
import Foundation

enum SQLScript {
    /// Splits a SQL script into statements at the `;` that end them, skipping those inside
    /// quotes, comments and dollar-quoted bodies.
    static func statements(_ script: String) -> [String] {
        let text = Array(script.utf8)
        var statements: [String] = []
        var start = 0
        forEachCodeByte(text) { index in
            guard text[index] == UInt8(ascii: ";") else { return }
            if let statement = meaningfulStatement(text[start..<index]) { statements.append(statement) }
            start = index + 1
        }
        if start < text.count, let statement = meaningfulStatement(text[start...]) {
            statements.append(statement)
        }
        return statements
    }

    /// The statement with each `?` placeholder (outside quotes and comments) numbered in order,
    /// `$1, $2, ...`, as PostgreSQL's protocol wants them; and how many there are.
    static func numberedPlaceholders(_ sql: String) -> (sql: String, count: Int) {
        let text = Array(sql.utf8)
        var output: [UInt8] = []
        output.reserveCapacity(text.count + 16)
        var copied = 0, count = 0
        forEachCodeByte(text) { index in
            guard text[index] == UInt8(ascii: "?") else { return }
            count += 1
            output.append(contentsOf: text[copied..<index])
            output.append(UInt8(ascii: "$"))
            output.append(contentsOf: String(count).utf8)
            copied = index + 1
        }
        guard count > 0 else { return (sql, 0) }
        output.append(contentsOf: text[copied...])
        return (String(decoding: output, as: UTF8.self), count)
    }

    /// Calls `body` with the offset of every byte of `text` that is SQL code: not inside a quoted
    /// string or identifier, a comment (`--`, `/* */`) or a dollar-quoted body (`$tag$ ... $tag$`).
    /// - Complexity: one pass over `text`.
    private static func forEachCodeByte(_ text: [UInt8], _ body: (Int) -> Void) {
        var index = 0
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
                // $tag$ ... $tag$ (tag: letters, digits, underscores, possibly empty); $1 is a parameter.
                var end = index + 1
                while end < text.count, text[end] == UInt8(ascii: "_") || (text[end] < 128 && isalnum(Int32(text[end])) != 0) { end += 1 }
                if end < text.count, text[end] == UInt8(ascii: "$") {
                    let tag = Array(text[index...end])
                    index = end + 1
                    while index < text.count && !text[index...].starts(with: tag) { index += 1 }
                    index += tag.count
                } else {
                    body(index)
                    index += 1
                }
            default:
                body(index)
                index += 1
            }
        }
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
