// How Slope shows a number for reading (the counterpart of DecimalNumber, which reads one): one
// rule for report's tables, runner's end-of-sweep table and the worker's run labels (the live
// progress lines keep a fixed 4 decimals: `ProgressDisplay.format`); and a size in bytes
// (`SlopeStore.describeBytes`).
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

extension SlopeStore {
    /// "188.0 MB", "2.3 GB", "512 KB", "0 bytes" (powers of 1000, as `ls -h --si`): how runner and
    /// report show sizes.
    public static func describeBytes(_ bytes: Int64) -> String {
        describeBytes(estimate: Double(bytes))
    }

    /// The same for an estimate, which may be beyond an Int64 (runner's estimate of a sweep).
    public static func describeBytes(estimate bytes: Double) -> String {
        if bytes >= 1e9 { return String(format: "%.1f GB", bytes / 1e9) }
        if bytes >= 1e6 { return String(format: "%.1f MB", bytes / 1e6) }
        if bytes >= 1e3 { return String(format: "%.0f KB", bytes / 1e3) }
        return String(format: "%.0f bytes", bytes)
    }
}
