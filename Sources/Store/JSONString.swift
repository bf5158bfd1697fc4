// One JSON string literal writer for every JSON Slope writes by hand (sweeps.spec, weights
// files, report's json output), where key order or number formatting matter.
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
