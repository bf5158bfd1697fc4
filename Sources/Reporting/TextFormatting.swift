// Text for the terminal: numbers for explain (`formatSignificant`; the tables' `formatNumber` is
// Store's), control and bidi characters made visible, and the columns a text takes.
import Foundation
import Store

/// A number as C's `%g` with `digits` significant digits: fixed notation from 1e-4 up, exponent
/// notation below (and from 10^digits), trailing zeros dropped in both (`-0.000935999`,
/// `2.5e-07`); nan, inf and integers as `formatNumber` writes them. For `report explain`, whose
/// gradients, factors and steps (mostly 1e-4 to 1) are read against each other line by line.
func formatSignificant(_ value: Double, digits: Int) -> String {
    if value.isNaN || value.isInfinite || value == 0 { return formatNumber(value) }
    if abs(value - value.rounded()) <= 1e-9 * abs(value), abs(value) < 1e7 { return String(Int64(value.rounded())) }
    return String(format: "%.\(digits)g", value)
}

/// A terminal-safe single line: control characters (newlines, escapes) shown as visible symbols,
/// so that a hostile run name cannot break a table or inject terminal escape sequences.
public func terminalSafe(_ text: String) -> String {
    var result = ""
    for scalar in text.unicodeScalars {
        if scalar == "\n" { result += "↵" } else if scalar == "\t" { result += " " } else if scalar.value < 0x20 || scalar.value == 0x7F || (0x80...0x9F).contains(scalar.value)
                    || isBidiControl(scalar) {
            result += "?"  // bidi controls too: they would reorder the rest of the line on screen
        } else { result.unicodeScalars.append(scalar) }
    }
    return result
}

/// Terminal columns a character takes: 2 for East Asian wide and fullwidth characters and
/// emoji, 0 for combining marks and format characters (their base carries them), else 1.
func displayWidth(_ character: Character) -> Int {
    var width = 0
    for scalar in character.unicodeScalars {
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: continue
        default: break
        }
        let value = scalar.value
        let wide = scalar.properties.isEmojiPresentation
            || (0x1100...0x115F).contains(value) || (0x2E80...0x303E).contains(value) || (0x3041...0x33FF).contains(value)
            || (0x3400...0x4DBF).contains(value) || (0x4E00...0x9FFF).contains(value) || (0xA000...0xA4CF).contains(value)
            || (0xAC00...0xD7A3).contains(value) || (0xF900...0xFAFF).contains(value) || (0xFE30...0xFE4F).contains(value)
            || (0xFF00...0xFF60).contains(value) || (0xFFE0...0xFFE6).contains(value) || (0x20000...0x3FFFD).contains(value)
        width = max(width, wide ? 2 : 1)  // a cluster (flag, emoji with modifiers) takes the width of its widest part
    }
    return width
}

/// Display width of a string in terminal columns.
func displayWidth(_ text: String) -> Int { text.reduce(0) { $0 + displayWidth($1) } }

/// The longest start of `text` that fits in `width` columns.
func prefix(_ text: String, fitting width: Int) -> String {
    var used = 0, result = ""
    for character in text {
        let next = displayWidth(character)
        if used + next > width { break }
        used += next
        result.append(character)
    }
    return result
}

/// The longest end of `text` that fits in `width` columns.
func suffix(_ text: String, fitting width: Int) -> String {
    String(prefix(String(text.reversed()), fitting: width).reversed())
}

/// `line` in at most `width` terminal columns, for a line written over in place (one that wraps
/// breaks the redraw: "\r" and erase reach its last row only). When it is wider, `part` (a file
/// name in it) is shortened first by its middle ("long-fol…copy.db", at least 9 columns kept), so
/// that what follows it stays; then the line's end is cut ("…").
public func fittedLine(_ line: String, width: Int, shortening part: String? = nil) -> String {
    let excess = displayWidth(line) - max(width, 1)
    guard excess > 0 else { return line }
    var line = line
    if let part, let range = line.range(of: part) {
        let keep = max(displayWidth(part) - excess - 1, 8)
        if keep < displayWidth(part) - 1 {
            line.replaceSubrange(range, with: prefix(part, fitting: (keep + 1) / 2) + "…" + suffix(part, fitting: keep / 2))
        }
    }
    return displayWidth(line) <= width ? line : prefix(line, fitting: max(0, width - 1)) + "…"
}
