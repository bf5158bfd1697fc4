// Line plots in the terminal with Unicode braille (2 x 4 dots per character), one or several
// curves, a legend, optional log-scale y. Without colour, each curve's last point carries its marker.
import Foundation
import Store

/// A named curve: (x, y) points in x order.
public struct PlotSeries: Equatable, Sendable {
    public var label: String
    public var points: [PlotPoint]
    public init(label: String, points: [PlotPoint]) {
        self.label = label
        self.points = points
    }
}

public struct PlotPoint: Equatable, Sendable {
    public var x: Double
    public var y: Double
    public init(x: Double, y: Double) { self.x = x; self.y = y }
}

/// Axis ranges shared by the terminal, SVG and HTML plots.
struct PlotRange {
    var xMin: Double, xMax: Double, yMin: Double, yMax: Double
    let logY: Bool
    /// Every point has the same x (a run with only epoch 0): the x range is widened by 0.5 each
    /// side, whose ends (-0.5, 0.5) are no epochs to label.
    var isSingleX = false

    /// The finite points (positive ones only on a log scale) of all series; nil when there are none.
    init?(series: [PlotSeries], logY: Bool) {
        let points = series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite && (!logY || $0.y > 0) }
        guard !points.isEmpty else { return nil }
        self.logY = logY
        xMin = points.map(\.x).min()!; xMax = points.map(\.x).max()!
        let ys = points.map { logY ? log10($0.y) : $0.y }
        yMin = ys.min()!; yMax = ys.max()!
        if xMax == xMin { xMin -= 0.5; xMax += 0.5; isSingleX = true }
        if yMax == yMin { yMin -= 0.5; yMax += 0.5 }
    }

    /// The y value on the plot's scale (log10 on a log scale), nil when not plottable.
    func scaled(_ y: Double) -> Double? {
        guard y.isFinite else { return nil }
        if logY { return y > 0 ? log10(y) : nil }
        return y
    }

    /// A y-axis label for a scaled value.
    func label(scaled value: Double) -> String {
        formatNumber(logY ? pow(10, value) : value, digits: 3)
    }
}

public enum TerminalPlot {
    static let markers: [Character] = ["●", "■", "▲", "◆", "○", "□", "△", "◇", "+", "x"]

    /// Renders the curves as text lines: a y axis with labels, the braille canvas, an x axis
    /// (epochs), and a legend. Returns a one-line note when there is nothing to plot.
    public static func render(_ series: [PlotSeries], title: String, xLabel: String = "epoch",
                              logY: Bool = false, style: TerminalStyle = .plain, height: Int = 12) -> String {
        guard let range = PlotRange(series: series, logY: logY) else {
            return style.wrapped("\(terminalSafe(title)): no values to plot\(logY ? " (log scale needs positive values)" : "")").joined(separator: "\n") + "\n"
        }
        let labelWidth = 9
        let width = max(7, min(style.width, 120) - labelWidth - 2)  // --columns 20 (the least) leaves 9
        let dotsWide = width * 2, dotsHigh = height * 4
        // Per character cell: the braille dot bits, and the series that drew there last.
        var bits = [[UInt8]](repeating: [UInt8](repeating: 0, count: width), count: height)
        var owner = [[Int]](repeating: [Int](repeating: -1, count: width), count: height)
        var markerCells: [(row: Int, column: Int, series: Int)] = []

        func dot(_ x: Int, _ y: Int, _ seriesIndex: Int) {
            guard x >= 0, x < dotsWide, y >= 0, y < dotsHigh else { return }
            let column = x / 2, row = y / 4
            let bitTable: [[UInt8]] = [[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]]
            bits[row][column] |= bitTable[y % 4][x % 2]
            owner[row][column] = seriesIndex
        }
        func position(_ point: PlotPoint) -> (Int, Int)? {
            guard point.x.isFinite, let y = range.scaled(point.y) else { return nil }
            let fx = ((point.x - range.xMin) / (range.xMax - range.xMin) * Double(dotsWide - 1)).rounded()
            let fy = ((range.yMax - y) / (range.yMax - range.yMin) * Double(dotsHigh - 1)).rounded()
            guard fx.isFinite, fy.isFinite else { return nil }  // ranges beyond Double (1e308 spans)
            return (Int(min(max(fx, -1), Double(dotsWide))), Int(min(max(fy, -1), Double(dotsHigh))))
        }
        for (index, curve) in series.enumerated() {
            var previous: (Int, Int)?
            for point in curve.points {
                guard let current = position(point) else { previous = nil; continue }
                if let start = previous { line(from: start, to: current) { dot($0, $1, index) } } else { dot(current.0, current.1, index) }
                previous = current
            }
            if let last = curve.points.last(where: { position($0) != nil }), let (x, y) = position(last) {
                markerCells.append((y / 4, min(width - 1, x / 2), index))
            }
        }

        var lines: [String] = [style.bold(style.fitted(terminalSafe(title)))]
        for row in 0..<height {
            var text = ""
            for column in 0..<width {
                if series.count > 1, !style.usesColor, let mark = markerCells.last(where: { $0.row == row && $0.column == column }) {
                    text.append(markers[mark.series % markers.count])
                    continue
                }
                let value = bits[row][column]
                let glyph = value == 0 ? " " : String(UnicodeScalar(0x2800 + UInt32(value))!)
                text += owner[row][column] >= 0 ? seriesColor(glyph, owner[row][column], style) : glyph
            }
            let fraction = Double(row) / Double(height - 1)
            let axisLabel: String
            if row == 0 || row == height - 1 || row == height / 2 {
                axisLabel = range.label(scaled: range.yMax - fraction * (range.yMax - range.yMin))
            } else { axisLabel = "" }
            let padded = String(repeating: " ", count: max(0, labelWidth - axisLabel.count)) + axisLabel
            lines.append(padded + " ┤" + text)
        }
        lines.append(String(repeating: " ", count: labelWidth) + " └" + String(repeating: "─", count: width))
        // x labels at both ends and in the middle (where it fits).
        var axis = [Character](repeating: " ", count: width)
        func place(_ text: String, at start: Int) {
            for (offset, character) in text.enumerated() where start + offset >= 0 && start + offset < width {
                axis[start + offset] = character
            }
        }
        // One epoch: its number under the point, in the middle, and no made-up ends.
        let left = range.isSingleX ? "" : formatNumber(range.xMin), right = range.isSingleX ? "" : formatNumber(range.xMax)
        let middle = formatNumber((range.xMin + range.xMax) / 2)
        place(left, at: 0)
        place(right, at: width - right.count)
        let middleStart = width / 2 - middle.count / 2
        if middleStart > left.count + 1, middleStart + middle.count < width - right.count - 1 { place(middle, at: middleStart) }
        lines.append(String(repeating: " ", count: labelWidth + 2) + String(axis))
        lines.append(style.fitted(String(repeating: " ", count: labelWidth + 2) + xLabel + (logY ? ", log-scale y" : "")))
        if series.count > 1 || !(series.first?.label.isEmpty ?? true) {
            let legendLimit = 30
            for (index, curve) in series.prefix(legendLimit).enumerated() {
                let plainMarker = style.usesColor ? "━━" : String(markers[index % markers.count])
                let marker = style.usesColor ? seriesColor(plainMarker, index, style) : plainMarker
                lines.append("  \(marker) " + style.fitted(terminalSafe(curve.label), to: style.width - 3 - displayWidth(plainMarker)))
            }
            if series.count > legendLimit { lines.append("  … and \(series.count - legendLimit) more") }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func seriesColor(_ text: String, _ index: Int, _ style: TerminalStyle) -> String {
        style.colored(text, TerminalStyle.seriesColors[index % TerminalStyle.seriesColors.count])
    }

    /// Bresenham's line between two dot positions.
    static func line(from start: (Int, Int), to end: (Int, Int), _ plot: (Int, Int) -> Void) {
        var (x0, y0) = start
        let (x1, y1) = end
        let dx = abs(x1 - x0), dy = -abs(y1 - y0)
        let sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1
        var error = dx + dy
        while true {
            plot(x0, y0)
            if x0 == x1 && y0 == y1 { break }
            let doubled = 2 * error
            if doubled >= dy { error += dy; x0 += sx }
            if doubled <= dx { error += dx; y0 += sy }
        }
    }
}
