// `report html --sweep ID`: one self-contained page (inline CSS and JS, inline SVG, no network):
// the sortable runs table, the learning-rate x batch-size heatmap, the swept settings' importance, overlaid loss curves and
// per-layer gradient-norm plots. The page is well-formed XHTML-compatible markup, so it parses as XML.
import Foundation
import Store

enum HTMLPage {
    static let style = """
        body { font-family: system-ui, sans-serif; margin: 24px; color: #222; max-width: 1100px; }
        h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #ddd; }
        table { border-collapse: collapse; font-size: 13px; }
        th, td { padding: 3px 8px; border-bottom: 1px solid #eee; text-align: right; white-space: nowrap; }
        th { background: #f4f4f4; cursor: pointer; user-select: none; position: sticky; top: 0; }
        th.sorted-asc::after { content: " \\25B2"; } th.sorted-desc::after { content: " \\25BC"; }
        td.text { text-align: left; }
        table.heatmap td { min-width: 90px; text-align: center; border: 1px solid #fff; }
        table.heatmap td.best { outline: 3px solid #000; font-weight: bold; }
        .meta { color: #555; } .note { color: #777; font-size: 12px; }
        figure { margin: 12px 0; } svg { max-width: 100%; height: auto; }
        .scroll { overflow-x: auto; max-width: 100%; }
        table.importance .bar { display: inline-block; height: 10px; background: #4a7bd0; vertical-align: middle; }
        """

    /// Sorts a table when a header cell is clicked (again: the other way) by the integers its cells
    /// carry: `data-rank`, the cell's place in its column's ascending order, computed in Swift at
    /// render time (`table`). The script compares no values itself: descending is ascending
    /// reversed, and cells without a rank (missing values) stay last in the page's order, both ways.
    static let script = """
        document.querySelectorAll('table.sortable').forEach(function (table) {
          var body = table.tBodies[0];
          var rows = Array.prototype.slice.call(body.rows);  // the page's order, kept for the missing values
          table.querySelectorAll('th').forEach(function (header, column) {
            header.addEventListener('click', function () {
              var ascending = !header.classList.contains('sorted-asc');
              table.querySelectorAll('th').forEach(function (h) { h.classList.remove('sorted-asc', 'sorted-desc'); });
              header.classList.add(ascending ? 'sorted-asc' : 'sorted-desc');
              function rank(row) { return Number(row.cells[column].getAttribute('data-rank')); }
              function hasRank(row) { return row.cells[column].hasAttribute('data-rank'); }
              var ranked = rows.filter(hasRank).sort(function (a, b) { return ascending ? rank(a) - rank(b) : rank(b) - rank(a); });
              ranked.concat(rows.filter(function (row) { return !hasRank(row); })).forEach(function (row) { body.appendChild(row); });
            });
          });
        });
        """

    static func document(title: String, body: String) -> String {
        """
        <!DOCTYPE html>
        <html xmlns="http://www.w3.org/1999/xhtml" lang="en">
        <head>
        <meta charset="utf-8"/>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <title>\(xmlEscaped(title))</title>
        <style>
        \(style)
        </style>
        </head>
        <body>
        \(body)
        <script>
        //<![CDATA[
        \(script)
        //]]>
        </script>
        </body>
        </html>

        """
    }

    /// A sortable HTML table of a `DataTable`: each cell carries its exact value (`data-v`) and, when
    /// it has a value, its rank (`data-rank`, `ranks[row][column]`: its place in the column's
    /// ascending order, no two alike), which is all `script` sorts by.
    static func table(_ table: DataTable, id: String, ranks: [[Int?]]) -> String {
        var html = "<div class=\"scroll\"><table class=\"sortable\" id=\"\(id)\">\n<thead><tr>"
        html += table.columns.map { "<th>\(xmlEscaped($0.title))</th>" }.joined()
        html += "</tr></thead>\n<tbody>\n"
        for (row, rowRanks) in zip(table.rows, ranks) {
            html += "<tr>" + zip(row, rowRanks).map { cell, rank in
                let kind = cell.isNumeric || cell == .null ? "" : " class=\"text\""
                let rankAttribute = rank.map { " data-rank=\"\($0)\"" } ?? ""
                return "<td\(kind) data-v=\"\(xmlEscaped(cell.exact))\"\(rankAttribute)>\(xmlEscaped(cell.display))</td>"
            }.joined() + "</tr>\n"
        }
        return html + "</tbody>\n</table></div>\n"
    }

    /// Each run's rank in `column`: its place among the runs with a value in `report runs --sort
    /// column`'s order (`RunSort.ordered`: ties by id), nil for a missing value (which --sort puts last
    /// by id either way). Ascending by rank is `--sort column`, descending `--sort -column`.
    static func ranks(_ runs: [SlopeStore.RunRecord], by column: RunColumn) -> [Int?] {
        let ascending = RunSort(column: column).ordered(Array(runs.indices), id: { runs[$0].id }, value: { runs[$0][column] })
        var ranks = [Int?](repeating: nil, count: runs.count)
        for (rank, index) in ascending.enumerated() where runs[index][column] != .null { ranks[index] = rank }
        return ranks
    }
}

extension Reporter {
    /// `report html --sweep ID`: the whole page as a string.
    public func html(sweepID: Int64, filter: String? = nil) throws -> String {
        if !queries.isSnapshot { return try snapshot { try $0.html(sweepID: sweepID, filter: filter) } }
        guard let sweep = try queries.sweepSummary(id: sweepID) else { throw ReportError.unknownSweep(sweepID) }
        let runs = try sweepRuns(sweepID, filter: filter)
        // The runs' epochs and layer statistics each in one statement over the sweep (not one per run,
        // nor a list of 100,000 ids).
        let parsedFilter = try filter.map(RunFilterParser.parse)
        let epochs = try queries.epochRows(sweepID: sweepID, filter: parsedFilter)
        let byRun = Dictionary(grouping: epochs, by: \.runID)

        var body = "<h1>Sweep \(sweepID): \(xmlEscaped(sweep.name))</h1>\n"
        let statuses = Dictionary(grouping: runs, by: \.status).map { "\($0.value.count) \($0.key)" }.sorted()
        if let filter { body += "<p class=\"meta\">runs where <code>\(xmlEscaped(filter))</code></p>\n" }
        body += "<p class=\"meta\">status \(xmlEscaped(sweep.status.rawValue)), created \(xmlEscaped(sweep.createdAt)), \(runs.count) runs (\(xmlEscaped(statuses.joined(separator: ", "))))</p>\n"

        // Runs table: the hyperparameters and results (no width limit here), empty columns left out.
        // Every setting that differs between the runs comes after the key ones (weight_decay, activation...).
        var keys: [RunColumn] = [.id, .name, .status, .stop_reason, .learning_rate, .batch_size, .momentum, .seed]
        keys += Self.differingSettings(runs).filter { !keys.contains($0) }
        keys += [.layers, .epochs_done, .final_train_loss, .final_val_loss, .best_train_loss, .best_val_loss, .best_epoch,
                 .final_train_accuracy, .final_val_accuracy]
        let shown = keys.filter { key in runs.contains { $0[key] != .null && $0[key] != .text("") } }
        let runTable = DataTable(columns: shown.map { DataTable.Column($0.rawValue) },
                                 rows: runs.map { run in shown.map { Self.cell(run, $0) } })
        let ranksByColumn = shown.map { HTMLPage.ranks(runs, by: $0) }
        body += "<h2>Runs</h2>\n<p class=\"note\">Click a column header to sort (again to reverse), as <code>report runs --sort</code> does.</p>\n"
            + HTMLPage.table(runTable, id: "runs", ranks: runs.indices.map { row in ranksByColumn.map { $0[row] } })

        // Heatmap over the two settings the sweep varies (seeds last: the cells average over them).
        if let (rows, columns) = Self.heatmapAxes(runs) {
            body += "<h2>\(xmlEscaped(rows.rawValue)) × \(xmlEscaped(columns.rawValue))</h2>\n"
            // The sweep and filter were checked above, so an error here is the database's: let it out.
            let pivot = try pivot(sweepID: sweepID, rows: rows.rawValue, columns: columns.rawValue, metric: nil, goal: nil, filter: filter)
            if let crowded = pivot.crowdedAxesText {
                body += "<p class=\"note\">No heatmap: \(xmlEscaped(crowded)), more than \(Pivot.axisValueLimit) per axis (a random "
                    + "or TPE search samples a new one per run): the table would be nearly empty. "
                    + "<code>report importance --sweep \(sweepID)</code> shows which settings matter (numbers in quantile bins).</p>\n"
            } else {
                body += heatmap(pivot)
            }
        } else {
            body += "<h2>Heatmap</h2>\n<p>No setting differs between these runs.</p>\n"
        }

        // Importance: with two or more swept settings, the share of the metric's spread each explains.
        // (With fewer than 2 finished runs there is nothing to compare yet: no settings, no section.)
        let importance = try sweepImportance(sweepID: sweepID, runs: runs)
        if importance.settings.count >= 2 { body += importanceSection(importance) }

        // Loss curves.
        let metric = Self.defaultCurveMetric(runs)
        body += "<h2>Loss curves</h2>\n"
        for curveMetric in metric == .val_loss ? [CurveMetric.val_loss, .train_loss] : [.train_loss] {
            let series = Self.plottable(Self.series(runs: runs, byRun: byRun, metric: curveMetric), metric: curveMetric).0
            body += "<figure>" + SVGChart.lineChart(series, title: curveMetric.rawValue, xLabel: "epoch", yLabel: curveMetric.rawValue,
                                                    logY: Self.spansDecades(series)) + "</figure>\n"
        }

        // Per-layer gradient norms.
        body += "<h2>Gradient norms per layer</h2>\n"
        var byLayer: [Int: [PlotSeries]] = [:]
        let differing = Self.differingSettings(runs)
        let statisticsByRun = try queries.layerStatistics(sweepID: sweepID, filter: parsedFilter)
        for run in runs {
            let statistics = statisticsByRun[run.id] ?? []
            for (layer, rows) in Dictionary(grouping: statistics, by: \.layer) {
                let points = rows.sorted { $0.epoch < $1.epoch }.compactMap { row in row.gradientL2.map { PlotPoint(x: Double(row.epoch), y: $0) } }
                if !points.isEmpty { byLayer[layer, default: []].append(PlotSeries(label: Self.runLabel(run, showing: differing), points: points)) }
            }
        }
        if byLayer.isEmpty { body += "<p>No gradients stored (tensor logging off, or no epoch finished yet).</p>\n" }
        for layer in byLayer.keys.sorted() {
            body += "<figure>" + SVGChart.lineChart(byLayer[layer]!, title: "layer \(layer): L2 norm of the epoch's mean gradient",
                                                    xLabel: "epoch", yLabel: "gradient L2", logY: true) + "</figure>\n"
        }
        body += "<p class=\"note\">Generated by <code>report html</code> from the Slope database; self-contained, no network access needed.</p>\n"
        return HTMLPage.document(title: "Slope sweep \(sweepID): \(sweep.name)", body: body)
    }

    /// The heatmap's rows and columns: the first two settings that differ between the runs (registry
    /// order, so learning_rate x batch_size when both vary; seed only when needed); with a single one,
    /// that against seed, else against learning_rate (one column). Nil when nothing differs.
    public static func heatmapAxes(_ runs: [SlopeStore.RunRecord]) -> (RunColumn, RunColumn)? {
        heatmapAxes(differing: differingSettings(runs, besideLayers: false))
    }

    /// `heatmapAxes(_:)` of the runs whose differing settings (`differingSettings(_:besideLayers: false)`,
    /// in registry order) are `differing`.
    static func heatmapAxes(differing: [RunColumn]) -> (RunColumn, RunColumn)? {
        let axes = differing.filter { $0 != .seed } + differing.filter { $0 == .seed }
        guard let first = axes.first else { return nil }
        if axes.count >= 2 { return (first, axes[1]) }
        return (first, first == .learning_rate ? .batch_size : .learning_rate)
    }

    static func spansDecades(_ series: [PlotSeries]) -> Bool {
        let values = series.flatMap(\.points).map(\.y).filter { $0.isFinite && $0 > 0 }
        guard let low = values.min(), let high = values.max() else { return false }
        return high / low > 100
    }

    /// `report importance` as a table with a bar per setting (its share of the variance).
    func importanceSection(_ importance: SweepImportance) -> String {
        var html = "<h2>Importance</h2>\n<p class=\"meta\">\(xmlEscaped(importance.metric.rawValue)) (\(importance.goal.rawValue)) over "
        html += "\(importance.runCount) finished runs: the share of its variance each setting's main effect explains "
        html += "(eta squared; numbers with many values in 5 quantile bins), as <code>report importance</code></p>\n"
        for note in Self.importanceNotes(importance) { html += "<p class=\"meta\">\(xmlEscaped(note))</p>\n" }
        html += "<table class=\"importance\">\n<thead><tr><th>setting</th><th>importance</th><th>groups</th><th>best group</th><th>best mean</th><th>merged</th></tr></thead>\n<tbody>\n"
        for item in importance.settings {
            // A share is in [0, 1]; a non-finite one (never expected) draws no bar rather than trap.
            let width = item.share.isFinite ? Int((min(1, max(0, item.share)) * 200).rounded()) : 0
            html += "<tr><td class=\"text\">\(xmlEscaped(item.setting))</td>"
            html += "<td class=\"text\"><span class=\"bar\" style=\"width:\(width)px\"></span> \(xmlEscaped(formatNumber(item.share, digits: 3)))</td>"
            html += "<td>\(item.groupCount)</td><td class=\"text\">\(xmlEscaped(item.bestGroup))</td><td>\(xmlEscaped(formatNumber(item.bestMean)))</td>"
            html += "<td class=\"text\">\(xmlEscaped(item.merged.joined(separator: " ")))</td></tr>\n"
        }
        return html + "</tbody>\n</table>\n"
    }

    /// The pivot as a coloured table: green best, red worst, best cell outlined and starred.
    func heatmap(_ pivot: Pivot) -> String {
        let means = pivot.cells.values.compactMap(\.mean).filter(\.isFinite)
        let low = means.min() ?? 0, high = means.max() ?? 1
        var html = "<p class=\"meta\">\(xmlEscaped(pivot.metric.rawValue)): mean over the other parameters ± standard deviation (runs); ★ best (\(pivot.goal.rawValue))</p>\n"
        html += "<table class=\"heatmap\">\n<thead><tr><th>\(xmlEscaped(pivot.rowColumn.rawValue)) \\ \(xmlEscaped(pivot.columnColumn.rawValue))</th>"
        let rowLabel = Self.labels(pivot.rowValues, of: pivot.rowColumn), columnLabel = Self.labels(pivot.columnValues, of: pivot.columnColumn)
        html += pivot.columnValues.map { "<th>\(xmlEscaped(columnLabel($0)))</th>" }.joined() + "</tr></thead>\n<tbody>\n"
        for row in pivot.rowValues {
            html += "<tr><th>\(xmlEscaped(rowLabel(row)))</th>"
            for column in pivot.columnValues {
                guard let cell = pivot.cell(row, column), let mean = cell.mean, mean.isFinite else {
                    html += "<td style=\"background:#eeeeee\">\(xmlEscaped(pivot.cell(row, column)?.leftOutText ?? "-"))</td>"
                    continue
                }
                var goodness = high > low ? (mean - low) / (high - low) : 0
                if pivot.goal == .min { goodness = 1 - goodness }
                // Red (bad) to green (good) through yellow.
                let red = Int(goodness < 0.5 ? 230 : 230 - (goodness - 0.5) * 2 * 130)
                let green = Int(goodness < 0.5 ? 90 + goodness * 2 * 130 : 220)
                let isBest = cell == pivot.best
                let text = Self.cellText(cell, deviationSeparator: " ")
                html += "<td\(isBest ? " class=\"best\"" : "") style=\"background:rgb(\(red),\(green),110)\" title=\"\(cell.runCount) runs\">\(isBest ? "★ " : "")\(xmlEscaped(text))</td>"
            }
            html += "</tr>\n"
        }
        html += "</tbody>\n</table>\n"
        return html + pivot.notes.map { "<p class=\"note\">\(xmlEscaped($0))</p>\n" }.joined()
    }
}
