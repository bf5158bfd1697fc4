// SVG charts (overlaid line curves with labelled axes and a legend), standalone or inline in HTML.
// All user text goes through `xmlEscaped`, so names with <, &, quotes or newlines stay inert.
import Foundation
import Store

/// Text safe inside XML/HTML element content and quoted attributes. Characters XML 1.0 forbids
/// (control characters) become U+FFFD; newlines become a character reference.
func xmlEscaped(_ text: String) -> String {
    var result = ""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "&": result += "&amp;"
        case "<": result += "&lt;"
        case ">": result += "&gt;"
        case "\"": result += "&quot;"
        case "'": result += "&#39;"
        case "\n": result += "&#10;"
        case "\r": result += "&#13;"
        case "\t": result += "&#9;"
        default:
            if scalar.value < 0x20 || scalar.value == 0x7F || scalar.value == 0xFFFE || scalar.value == 0xFFFF {
                result += "\u{FFFD}"
            } else { result.unicodeScalars.append(scalar) }
        }
    }
    return result
}

public enum SVGChart {
    /// Colours of the curves, in order (colour-blind friendly Okabe-Ito palette first).
    static let palette = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
                          "#000000", "#8c564b", "#7f7f7f", "#bcbd22", "#17becf"]

    /// A standalone SVG document.
    public static func document(_ series: [PlotSeries], title: String, xLabel: String, yLabel: String,
                                logY: Bool = false) -> String {
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" +
            lineChart(series, title: title, xLabel: xLabel, yLabel: yLabel, logY: logY) + "\n"
    }

    /// An `<svg>` element: the curves over shared axes with ticks, axis labels, a title and a legend.
    public static func lineChart(_ series: [PlotSeries], title: String, xLabel: String, yLabel: String,
                                 logY: Bool = false, width: Int = 760, height: Int = 420) -> String {
        let legendRows = series.count
        let legendHeight = min(legendRows, 24) * 16 + (legendRows > 24 ? 16 : 0)
        let plotLeft = 70.0, plotTop = 36.0, plotRight = Double(width) - 20
        let plotBottom = Double(height) - 50
        let totalHeight = height + legendHeight + 8
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(totalHeight)" viewBox="0 0 \(width) \(totalHeight)" font-family="sans-serif" font-size="12">
            <title>\(xmlEscaped(title))</title>
            <rect x="0" y="0" width="\(width)" height="\(totalHeight)" fill="#ffffff"/>
            <text x="\(width / 2)" y="20" text-anchor="middle" font-size="15" font-weight="bold">\(xmlEscaped(title))</text>

            """
        guard var range = PlotRange(series: series, logY: logY) else {
            svg += "<text x=\"\(width / 2)\" y=\"\(height / 2)\" text-anchor=\"middle\">no values to plot</text>\n</svg>"
            return svg
        }
        // A margin above and below, so the lowest and highest curves do not lie on the frame
        // (where a minimum just under a tick, 0.099 under 0.1, looked cut off).
        let margin = (range.yMax - range.yMin) * 0.04
        range.yMin -= margin
        range.yMax += margin
        func px(_ x: Double) -> Double { plotLeft + (x - range.xMin) / (range.xMax - range.xMin) * (plotRight - plotLeft) }
        func py(_ scaledY: Double) -> Double { plotBottom - (scaledY - range.yMin) / (range.yMax - range.yMin) * (plotBottom - plotTop) }
        func f(_ value: Double) -> String { String(format: "%.1f", value) }

        // Axes, grid and ticks.
        svg += "<g stroke=\"#cccccc\" stroke-width=\"1\">\n"
        let yTicks = logY ? logTicks(range.yMin, range.yMax) : niceTicks(range.yMin, range.yMax)
        for tick in yTicks { svg += "<line x1=\"\(f(plotLeft))\" y1=\"\(f(py(tick)))\" x2=\"\(f(plotRight))\" y2=\"\(f(py(tick)))\"/>\n" }
        svg += "</g>\n<g stroke=\"#333333\" stroke-width=\"1\">\n"
        svg += "<line x1=\"\(f(plotLeft))\" y1=\"\(f(plotBottom))\" x2=\"\(f(plotRight))\" y2=\"\(f(plotBottom))\"/>\n"
        svg += "<line x1=\"\(f(plotLeft))\" y1=\"\(f(plotTop))\" x2=\"\(f(plotLeft))\" y2=\"\(f(plotBottom))\"/>\n</g>\n"
        svg += "<g fill=\"#333333\">\n"
        for tick in yTicks {
            svg += "<text x=\"\(f(plotLeft - 6))\" y=\"\(f(py(tick) + 4))\" text-anchor=\"end\">\(xmlEscaped(range.label(scaled: tick)))</text>\n"
        }
        for tick in niceTicks(range.xMin, range.xMax, minimumStep: 1) {  // epochs are whole numbers
            svg += "<text x=\"\(f(px(tick)))\" y=\"\(f(plotBottom + 18))\" text-anchor=\"middle\">\(xmlEscaped(formatNumber(tick)))</text>\n"
        }
        svg += "<text x=\"\(f((plotLeft + plotRight) / 2))\" y=\"\(f(plotBottom + 38))\" text-anchor=\"middle\">\(xmlEscaped(xLabel))</text>\n"
        let yTitle = yLabel + (logY ? " (log scale)" : "")
        svg += "<text x=\"16\" y=\"\(f((plotTop + plotBottom) / 2))\" text-anchor=\"middle\" transform=\"rotate(-90 16 \(f((plotTop + plotBottom) / 2)))\">\(xmlEscaped(yTitle))</text>\n</g>\n"

        // Curves: one polyline per unbroken stretch of plottable points.
        for (index, curve) in series.enumerated() {
            let color = palette[index % palette.count]
            var stretches: [[String]] = [[]]
            for point in curve.points {
                if point.x.isFinite, let y = range.scaled(point.y) {
                    stretches[stretches.count - 1].append("\(f(px(point.x))),\(f(py(y)))")
                } else if !stretches[stretches.count - 1].isEmpty { stretches.append([]) }
            }
            svg += "<g class=\"series\" stroke=\"\(color)\" fill=\"none\" stroke-width=\"1.8\"><title>\(xmlEscaped(curve.label))</title>\n"
            for stretch in stretches where !stretch.isEmpty {
                if stretch.count == 1 {
                    let xy = stretch[0].split(separator: ",")
                    svg += "<circle cx=\"\(xy[0])\" cy=\"\(xy[1])\" r=\"2.5\" fill=\"\(color)\"/>\n"
                } else {
                    svg += "<polyline points=\"\(stretch.joined(separator: " "))\"/>\n"
                }
            }
            svg += "</g>\n"
        }

        // Legend below the plot.
        svg += "<g class=\"legend\">\n"
        for (index, curve) in series.prefix(24).enumerated() {
            let y = Double(height) + Double(index) * 16
            let color = palette[index % palette.count]
            svg += "<line x1=\"\(f(plotLeft))\" y1=\"\(f(y - 4))\" x2=\"\(f(plotLeft + 24))\" y2=\"\(f(y - 4))\" stroke=\"\(color)\" stroke-width=\"3\"/>"
            svg += "<text x=\"\(f(plotLeft + 30))\" y=\"\(f(y))\">\(xmlEscaped(curve.label))</text>\n"
        }
        if series.count > 24 {
            svg += "<text x=\"\(f(plotLeft))\" y=\"\(height + 24 * 16)\">… and \(series.count - 24) more</text>\n"
        }
        svg += "</g>\n</svg>"
        return svg
    }

    /// About five round-numbered ticks covering [low, high].
    static func niceTicks(_ low: Double, _ high: Double, minimumStep: Double = 0) -> [Double] {
        let span = high - low
        guard span > 0, span.isFinite else { return [low] }
        let rough = span / 5
        let magnitude = pow(10, floor(log10(rough)))
        let step = max(minimumStep, [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= rough } ?? rough)
        var ticks: [Double] = []
        var tick = ceil(low / step) * step
        // At most a dozen ticks, and stop if adding the step no longer moves (values near 1e16 and up).
        while tick <= high + step * 1e-9, ticks.count < 12 {
            ticks.append(abs(tick) < step * 1e-9 ? 0 : tick)
            let next = tick + step
            if next <= tick { break }
            tick = next
        }
        return ticks
    }

    /// Ticks at whole decades of a log10 range (quarter decades when the range is narrow).
    static func logTicks(_ low: Double, _ high: Double) -> [Double] {
        let step = high - low > 2 ? 1.0 : 0.25
        var ticks: [Double] = []
        var tick = ceil(low / step) * step
        while tick <= high + 1e-9, ticks.count < 40 {
            ticks.append(tick)
            tick += step
        }
        return ticks
    }
}
