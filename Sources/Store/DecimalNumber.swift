// How Slope reads a number a user wrote: in decimal, as pandas' `read_csv` reads a float. One rule
// for CSV cells, numeric flags and sweep-file text (Experiments) and `--where` values (Reporting),
// which both import Store.
import Foundation

public enum DecimalNumber {
    /// The number `text` holds when it is written as a decimal number (`isWellFormed`); nil for
    /// anything else, `0x10` and `0x1p3` too (strtod, and so Swift's `Double(_:)`, would read those
    /// as 16 and 8). `inf`, `nan` and numbers beyond a Double's range (`1e999`, infinity) are read
    /// as such: callers that take finite numbers refuse them.
    public static func value<Text: StringProtocol>(of text: Text) -> Double? {
        isWellFormed(Array(text.utf8)[...]) ? Double(String(text)) : nil
    }

    /// `[+-]digits[.[digits]][(e|E)[+-]digits]`, `[+-].digits[...]`, or `[+-]inf`, `infinity`, `nan`
    /// in any case: what pandas reads as a float. No hexadecimal, no spaces, no `_`.
    public static func isWellFormed(_ bytes: ArraySlice<UInt8>) -> Bool {
        var index = bytes.startIndex
        if index < bytes.endIndex && (bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-")) { index += 1 }
        let word = String(decoding: bytes[index...], as: UTF8.self).lowercased()
        if word == "inf" || word == "infinity" || word == "nan" { return true }
        func digits() -> Int {
            let start = index
            while index < bytes.endIndex && bytes[index] >= 48 && bytes[index] <= 57 { index += 1 }
            return index - start
        }
        var mantissaDigits = digits()
        if index < bytes.endIndex && bytes[index] == UInt8(ascii: ".") {
            index += 1
            mantissaDigits += digits()
        }
        guard mantissaDigits > 0 else { return false }
        if index < bytes.endIndex && (bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E")) {
            index += 1
            if index < bytes.endIndex && (bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-")) { index += 1 }
            guard digits() > 0 else { return false }
        }
        return index == bytes.endIndex
    }

    /// Whether decimal `text` reads as 0 (`value(of:)`) without being 0 (`1e-400`, below the smallest
    /// Double above 0, about 4.9e-324): a comparison or option would quietly use 0.
    public static func roundsToZero(_ text: String) -> Bool {
        value(of: text.trimmingCharacters(in: .whitespaces)) == 0 && !isExactly(text, 0)
    }

    /// Whether decimal `text` (as `value(of:)` reads it) is exactly `target` (0 or 1) by its digits,
    /// not after rounding to a Double: `1e-400` reads as 0 and `0.99999999999999999` as 1, and
    /// neither is. Callers refuse such text where the rounding would change what it means.
    public static func isExactly(_ text: String, _ target: Int) -> Bool {
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        let isNegative = rest.first == "-"
        if rest.first == "-" || rest.first == "+" { rest = rest.dropFirst() }
        let mantissa = rest.prefix { $0 != "e" && $0 != "E" }
        let exponent = Swift.min(Swift.max(Int(rest.dropFirst(mantissa.count + 1)) ?? 0, -1 << 40), 1 << 40)  // no overflow below
        let digits = mantissa.filter(\.isNumber)
        let pointAt = mantissa.firstIndex(of: ".").map { mantissa.distance(from: mantissa.startIndex, to: $0) } ?? mantissa.count
        guard let first = digits.firstIndex(where: { $0 != "0" }) else { return target == 0 }  // all zeros (-0 too)
        // 0.d1d2... x 10^place: the first nonzero digit's place.
        let place = pointAt - digits.distance(from: digits.startIndex, to: first) + exponent
        let significant = digits[first...].reversed().drop { $0 == "0" }
        return target == 1 && !isNegative && String(significant) == "1" && place == 1
    }
}
