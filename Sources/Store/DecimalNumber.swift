// How Slope reads a number a user wrote: in decimal, as pandas' `read_csv` reads a float. One rule
// for CSV cells, numeric flags and sweep-file text (Experiments) and `--where` values (Reporting),
// which both import Store.

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
}
