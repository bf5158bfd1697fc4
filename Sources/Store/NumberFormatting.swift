// How Slope shows a number for reading (the counterpart of DecimalNumber, which reads one): one
// rule for report's tables, the settings in runner's end-of-sweep table and the worker's progress
// labels. (The losses in runner's end-of-sweep table still have their own, `ProgressSummary.number`.)
import Foundation

/// Readable number: 4 significant digits, scientific for very small or large values. A fraction
/// (|value| < 1) never reads as 1: a momentum of 0.9999999999999999 is not the refused 1, so it is
/// shown in its shortest exact form.
public func formatNumber(_ value: Double, digits: Int = 4) -> String {
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
