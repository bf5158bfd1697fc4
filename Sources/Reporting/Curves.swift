// `report curves`: a terminal, SVG or HTML chart of one metric over epochs for several runs.
import Foundation
import Store

public enum ChartOutput: String, Sendable {
    case svg, html
}

extension Reporter {
    /// `report curves (RUN... | --sweep ID)`: a terminal plot, or with `chart` an SVG/HTML document.
    public func curves(runIDs: [Int64] = [], sweepID: Int64? = nil, filter: String? = nil, metric: CurveMetric? = nil,
                       logY: Bool = false, chart: ChartOutput? = nil) throws -> String {
        if !queries.isSnapshot {
            return try snapshot { try $0.curves(runIDs: runIDs, sweepID: sweepID, filter: filter, metric: metric, logY: logY, chart: chart) }
        }
        let runs = try targetRuns(runIDs: runIDs, sweepID: sweepID, filter: filter)
        let epochs = try queries.epochRows(runIDs: runs.map(\.id))
        let metric = metric ?? Self.defaultCurveMetric(runs)
        let (series, missing) = Self.plottable(Self.series(runs: runs, byRun: Dictionary(grouping: epochs, by: \.runID), metric: metric),
                                               metric: metric)
        let title = sweepID.map { "\(metric.rawValue), sweep \($0)" } ?? metric.rawValue
        switch chart {
        case nil:
            return TerminalPlot.render(series, title: title, logY: logY, style: style) + missing
        case .svg?:
            return SVGChart.document(series, title: title, xLabel: "epoch", yLabel: metric.rawValue, logY: logY)
        case .html?:
            return HTMLPage.document(title: "Slope: \(title)", body: "<h1>\(xmlEscaped(title))</h1>\n<figure>"
                + SVGChart.lineChart(series, title: title, xLabel: "epoch", yLabel: metric.rawValue, logY: logY) + "</figure>\n")
        }
    }
}
