// One JSON string literal writer for every JSON Slope writes by hand (sweeps.spec, weights
// files, report's json output), where key order or number formatting matter; one way to
// quote user text in a message (`shownText`, and `SlopeStore.shownPath` for a path), for every
// module's errors; and one SQL identifier quoter (`sqlIdentifier`).
import Foundation

/// `text` as a JSON string literal (RFC 8259). Besides the escapes JSON requires, characters
/// that YAML does not take raw or reads as line breaks (DEL, C1 controls, U+2028, U+2029, the
/// byte-order mark) are escaped, so the text reads back the same as YAML too (`sweeps.spec`).
public func jsonStringLiteral(_ text: String) -> String {
    var result = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": result += "\\\""
        case "\\": result += "\\\\"
        case "\n": result += "\\n"
        case "\r": result += "\\r"
        case "\t": result += "\\t"
        case _ where scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
                     || scalar.value == 0x2028 || scalar.value == 0x2029 || scalar.value == 0xFEFF:
            result += String(format: "\\u%04x", scalar.value)
        default: result.unicodeScalars.append(scalar)
        }
    }
    return result + "\""
}

/// User text as it goes into a one-line message (a CSV cell or header, a sweep-file key, a
/// `--where` expression, a dashboard parameter): newline, carriage return and tab as `\n`, `\r`,
/// `\t`; other C0 controls, DEL and C1 controls as `\xNN`; bidi controls (`isBidiControl`),
/// which would reorder the rest of the line on a terminal, as `\u{202E}`; its first `limit`
/// characters (Unicode scalars), then `...`; inside `quote` when one is given (escaped within).
public func shownText(_ text: some StringProtocol, limit: Int = 40, quote: Character? = nil) -> String {
    var result = quote.map(String.init) ?? ""
    for scalar in text.unicodeScalars.prefix(limit) {
        switch scalar {
        case "\n": result += "\\n"
        case "\r": result += "\\r"
        case "\t": result += "\\t"
        case _ where quote.map({ Character(scalar) == $0 }) ?? false: result += "\\" + String(scalar)
        case _ where scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value): result += String(format: "\\x%02X", scalar.value)
        case _ where isBidiControl(scalar): result += String(format: "\\u{%04X}", scalar.value)
        default: result.unicodeScalars.append(scalar)
        }
    }
    if text.unicodeScalars.count > limit { result += "..." }
    return result + (quote.map(String.init) ?? "")
}

/// Right-to-left and isolate overrides and marks (U+200E, U+200F, U+202A-U+202E, U+2066-U+2069).
public func isBidiControl(_ scalar: Unicode.Scalar) -> Bool {
    [0x200E, 0x200F].contains(scalar.value) || (0x202A...0x202E).contains(scalar.value) || (0x2066...0x2069).contains(scalar.value)
}

extension SlopeStore {
    /// A path as messages show it: as a JSON string literal when it holds a line break or another
    /// control character (one line, nothing hidden), else as it is.
    public static func shownPath(_ path: String) -> String {
        path.unicodeScalars.contains { $0.properties.generalCategory == .control } ? jsonStringLiteral(path) : path
    }
}

/// An SQL identifier as SQL writes it: in double quotes, a `"` inside doubled. With `bareWhenPlain`,
/// a name of only lowercase letters, digits and `_` stays bare (a hint in a message, written as
/// one would type it).
func sqlIdentifier(_ name: String, bareWhenPlain: Bool = false) -> String {
    if bareWhenPlain, name.allSatisfy({ $0.isLowercase || $0.isNumber || $0 == "_" }) { return name }
    return "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}
