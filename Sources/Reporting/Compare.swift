// `report compare` (runs side by side, only what differs) and `report grid` (the pivot of a
// learning-rate x batch-size study: mean over the other parameters with spread, best cell marked).
import Foundation
import Store

extension Reporter {
    /// Hyperparameters compared between runs: every setting of the registry (RunColumn), and the
    /// network's layer sizes; then the configuration's own keys that no column holds.
    static let hyperparameterColumns: [RunColumn] = RunColumn.allCases.filter { $0.isSetting || $0 == .layers }

    /// Scalar leaves of the configuration JSON as "a.b" -> text, for keys not already typed columns.
    static func configurationLeaves(_ json: String) -> [String: String] {
        guard let data = json.data(using: .utf8),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [:] }
        // The configuration keys of the setting columns, and what is not a setting (name, data hash).
        let typed = Set(RunColumn.settings.compactMap(\.configKey))
        let skipped = Set(hyperparameterColumns.map { normalizedKey($0.rawValue) } + ["name", "epochsdone", "sha256"])
        var leaves: [String: String] = [:]
        func visit(_ value: Any, path: String) {
            if let dictionary = value as? [String: Any] {
                for (key, inner) in dictionary { visit(inner, path: path.isEmpty ? key : "\(path).\(key)") }
            } else if typed.contains(path) || skipped.contains(normalizedKey(path))
                        || skipped.contains(normalizedKey(String(path.split(separator: ".").last ?? ""))) {
                return
            } else if let array = value as? [Any] {
                // As the JSON list it is (a TPE trial's internal values): joined by "-", a value read as a minus sign.
                leaves[path] = "[" + array.map { "\($0)" }.joined(separator: ",") + "]"
            } else if value is NSNull {
                leaves[path] = "null"
            } else if isBoolean(value), let flag = value as? Bool {
                leaves[path] = flag ? "true" : "false"
            } else if let number = value as? NSNumber {
                leaves[path] = formatNumber(number.doubleValue)
            } else {
                leaves[path] = "\(value)"
            }
        }
        visit(object, path: "")
        return leaves
    }

    /// JSONSerialization gives Bool on Linux and a boolean NSNumber on Darwin.
    static func isBoolean(_ value: Any) -> Bool {
        type(of: value) == Bool.self || String(describing: type(of: value)).contains("Boolean")
    }

    static func normalizedKey(_ key: String) -> String {
        key.lowercased().filter { $0.isLetter || $0.isNumber }
    }

    /// Resolves `compare`/`curves` targets: explicit run ids, or the runs of a sweep (matching `filter`).
    func targetRuns(runIDs: [Int64], sweepID: Int64?, filter: String? = nil) throws -> [SlopeStore.RunRecord] {
        if let sweepID {
            guard runIDs.isEmpty else { throw ReportError.invalidArgument("give run ids or --sweep, not both") }
            return try sweepRuns(sweepID, filter: filter)
        }
        guard filter == nil else { throw ReportError.invalidArgument("--where selects runs of a --sweep; with run ids, list the ones you want") }
        guard !runIDs.isEmpty else { throw ReportError.invalidArgument("give at least one run id, or --sweep ID") }
        var seen = Set<Int64>()
        return try runIDs.filter { seen.insert($0).inserted }.map { try run($0) }
    }

    /// The metric to plot when none is given: validation loss when any run holds out validation
    /// rows (decided by the runs, so a sweep still queued is shown as it will be), else training loss.
    public static func defaultCurveMetric(_ runs: [SlopeStore.RunRecord]) -> CurveMetric {
        validates(runs) ? .val_loss : .train_loss
    }

    /// Whether any of the runs holds out validation rows (`RunRecord.validates`).
    static func validates(_ runs: [SlopeStore.RunRecord]) -> Bool {
        runs.contains { $0.validates }
    }

    /// Whether any of the sweep's runs matching `filter` holds out validation rows (`validates(_:)`),
    /// from a count: no run is read.
    func validates(_ sweepID: Int64, filter: RunFilter?) throws -> Bool {
        try queries.validates(sweepID: sweepID, filter: filter)
    }

    /// How many of the sweep's runs match `filter` and `condition`.
    func runCount(_ sweepID: Int64, filter: RunFilter?, and condition: RunFilter) throws -> Int {
        try queries.runCount(sweepID: sweepID, filter: filter.map { .and($0, condition) } ?? condition)
    }

    /// `report compare RUN... | --sweep ID`.
    public func compare(runIDs: [Int64] = [], sweepID: Int64? = nil, filter: String? = nil, all: Bool = false,
                        threshold: Double? = nil, metric: CurveMetric? = nil, format: OutputFormat = .table) throws -> String {
        if !queries.isSnapshot {
            return try snapshot { try $0.compare(runIDs: runIDs, sweepID: sweepID, filter: filter, all: all, threshold: threshold, metric: metric, format: format) }
        }
        let runs = try targetRuns(runIDs: runIDs, sweepID: sweepID, filter: filter)
        // A sweep's epochs chosen in SQL, not by a list of its (maybe 100,000) run ids.
        let epochs = try sweepID.map { try queries.epochRows(sweepID: $0, filter: try filter.map(RunFilterParser.parse)) }
            ?? queries.epochRows(runIDs: runs.map(\.id))
        let byRun = Dictionary(grouping: epochs, by: \.runID)
        let metric = metric ?? Self.defaultCurveMetric(runs)

        // Hyperparameters: typed columns, then configuration leaves; only differing ones unless `all`.
        var parameterColumns: [(String, (SlopeStore.RunRecord) -> Cell)] = Self.hyperparameterColumns.map { column in
            (column.rawValue, { Self.cell($0, column) })
        }
        let leaves = Dictionary(uniqueKeysWithValues: runs.map { ($0.id, Self.configurationLeaves($0.configJSON)) })
        for key in Set(leaves.values.flatMap(\.keys)).sorted() {
            parameterColumns.append(("config.\(key)", { run in Cell.text(leaves[run.id]?[key]) }))
        }
        if !all {  // one run: all of its settings go to the note below the table, leaving room for the results
            parameterColumns.removeAll { _, value in Set(runs.map { value($0).exact }).count == 1 }
            // A TPE trial's internal values (category indices, numbers before their log scale) say what
            // the setting columns beside them say, unreadably: only with --all.
            parameterColumns.removeAll { $0.0 == "config.trial" }
            // `hidden` says what `layers` says, when both differ.
            if parameterColumns.contains(where: { $0.0 == RunColumn.layers.rawValue }) { parameterColumns.removeAll { $0.0 == RunColumn.hidden.rawValue } }
        }
        // Values that differ but would read the same when shortened (0.1 and 0.1000001) are shown in full.
        parameterColumns = parameterColumns.map { name, value in
            let cells = runs.map(value)
            guard Set(cells.map(\.display)).count < Set(cells.map(\.exact)).count else { return (name, value) }
            return (name, { Cell.text(value($0).exact) })
        }

        // Results before settings: when the terminal is too narrow, trailing columns are dropped.
        var columns: [DataTable.Column] = [.init("id"), .init("name")]
        columns += [.init("status"), .init("epochs_done", title: "done"),
                    .init("final_\(metric.rawValue)", title: "final"), .init("best_\(metric.rawValue)", title: "best"),
                    .init("best_epoch", title: "best_ep")]
        if threshold != nil { columns.append(.init("epochs_to_threshold", title: "reach")) }
        columns += parameterColumns.map { DataTable.Column($0.0, title: String($0.0.split(separator: ".").last ?? "")) }

        var rows: [[Cell]] = []
        var bestIndex: Int?
        var bestValue: Double?
        var bestID: Int64 = 0
        for (index, run) in runs.enumerated() {
            let curve = (byRun[run.id] ?? []).compactMap { row in metric.value(row).map { (row.epoch, $0) } }
            // The best value as the store keeps it (best_train_loss of `report runs`), an infinite one
            // included; the run highlighted is ranked as `best` ranks (a finite value only).
            var best: (Int, Double)?
            for point in curve where !point.1.isNaN && (best == nil || metric.goal.isBetter(point.1, than: best!.1)) { best = point }
            var row: [Cell] = [.integer(run.id), .text(run.name)]
            row += [.text(run.status.rawValue), .integer(Int64(run.epochsDone)), .number(curve.last?.1),
                    .number(best?.1), .integer(best?.0)]
            if let threshold {
                let reached = curve.first { metric.goal == .min ? $0.1 <= threshold : $0.1 >= threshold }
                row.append(.integer(reached?.0))
            }
            row += parameterColumns.map { $0.1(run) }
            rows.append(row)
            // As `best` and runner's summary: a failed or diverged run is never the one highlighted.
            if run.status != .failed, run.status != .diverged, let value = best?.1, value.isFinite,
               bestValue == nil || RunRanking.ranksBefore((run.id, value), (bestID, bestValue), goal: metric.goal) {
                bestValue = value
                bestIndex = index
                bestID = run.id
            }
        }
        var table = DataTable(columns: columns, rows: rows)
        if let bestIndex { table.highlightedRows = [bestIndex] }
        if !rows.contains(where: { $0[1] != .null }) {
            table.columns.remove(at: 1)
            table.rows = table.rows.map { Array($0[0..<1] + $0[2...]) }
        }
        guard format == .table else { return table.render(format, style: style) }

        var out = "\(metric.rawValue) of \(runs.count) run\(runs.count == 1 ? "" : "s"): final and best value, epoch of the best"
            + (threshold.map { ", first epoch reaching \(formatNumber($0)) (reach)" } ?? "") + "\n\n"
        out += table.renderTable(style: style)
        if !all {
            // Settings no run has (NULL: no early stopping, no target) are left out of the note.
            let same = Self.hyperparameterColumns.filter { column in
                Set(runs.map { Self.cell($0[column]).exact }).count == 1 && runs[0][column] != .null
            }
            if !same.isEmpty {
                out += style.dim((runs.count > 1 ? "same for all: " : "settings: ") + same.map { "\($0.rawValue)=\(terminalSafe(Self.cell(runs[0], $0).faithful))" }.joined(separator: "  ")) + "\n"
            }
        }
        let (series, missing) = Self.plottable(Self.series(runs: runs, byRun: byRun, metric: metric), metric: metric)
        out += "\n" + TerminalPlot.render(series, title: metric.rawValue, style: style) + missing
        return out
    }

    /// The series that have points, and a note naming the runs left out for having none.
    static func plottable(_ series: [PlotSeries], metric: CurveMetric) -> ([PlotSeries], String) {
        // A curve of infinite values draws nothing either.
        func isEmpty(_ curve: PlotSeries) -> Bool { !curve.points.contains { $0.y.isFinite } }
        let empty = series.filter(isEmpty)
        guard !empty.isEmpty else { return (series, "") }
        return (series.filter { !isEmpty($0) },
                "no \(metric.rawValue) to plot for: " + empty.map { terminalSafe($0.label) }.joined(separator: ", ") + "\n")
    }

    static func series(runs: [SlopeStore.RunRecord], byRun: [Int64: [EpochRow]], metric: CurveMetric) -> [PlotSeries] {
        let differing = differingSettings(runs)
        return runs.map { run in
            PlotSeries(label: runLabel(run, showing: differing), points: (byRun[run.id] ?? []).compactMap { row in
                metric.value(row).map { PlotPoint(x: Double(row.epoch), y: $0) }
            })
        }
    }

    // MARK: grid

    /// The note of `grid` and `importance` (and of their HTML and dashboard forms) on the values of
    /// runs the search stopped early, which are mixed with those of runs that trained to the end.
    static func prunedNote(_ prunedCount: Int, in subject: String) -> String {
        "\(subject) include runs that stopped early (\(prunedCount) pruned), with their values when they stopped; "
            + "--where \"status = 'completed'\" leaves them out"
    }

    /// The pivot of a sweep with its best cell, shared by `grid`, the HTML heatmap and the dashboard's.
    public struct Pivot: Sendable {
        public internal(set) var rowColumn: RunColumn, columnColumn: RunColumn, metric: RunColumn, goal: Goal
        public internal(set) var rowValues: [RunValue], columnValues: [RunValue]
        var cells: [String: PivotCell]   // key: "\(row)|\(column)" of exact values
        /// The cells that hold runs, row by row in `rowValues` order and within a row in `columnValues`
        /// order: what a loop over every (row, column) pair finds, in O(cells) rather than O(rows x cols)
        /// (a random sweep's 2,000 runs are 2,000 cells of 4,000,000 pairs).
        public internal(set) var orderedCells: [PivotCell] = []
        public internal(set) var best: PivotCell?
        /// Runs of the cells stopped early by the search (counted with their values then), and runs left
        /// out of the cells' statistics (they diverged or failed).
        var prunedCount = 0, divergedCount = 0, failedCount = 0

        /// What a reader needs to read the cells (`grid`, the HTML and the dashboard's heatmaps): the
        /// pruned runs they include, the diverged and failed ones they leave out and what that does to
        /// the best cell. Empty when every run ran its course.
        public var notes: [String] {
            var notes: [String] = []
            if prunedCount > 0 {
                notes.append(Reporter.prunedNote(prunedCount, in: "the cells"))
            }
            if best == nil, cells.values.contains(where: { $0.mean != nil }) {
                notes.append("no cell is marked best: no cell's mean is a number to rank (inf or -inf: a run's value is infinite; "
                             + "nan: a cell holds both)")
            } else if best == nil, !cells.isEmpty {
                notes.append("no cell is marked best: no run in the cells has a value of \(metric.rawValue) to rank"
                             + (divergedCount + failedCount > 0 ? " (runs that diverged or failed have no result)" : ""))
            }
            if let leftOut = PivotCell.leftOutText(diverged: divergedCount, failed: failedCount) {
                notes.append("left out of the means: \(leftOut) (no result: report best never names such a run); "
                             + "a cell with runs left out ranks after the cells without, as in report best")
            }
            return notes
        }

        /// The most distinct values an axis of a drawn grid (`report grid`'s table, the HTML heatmap)
        /// may have: a random or TPE search samples a new number per run, and 2,000 runs over two such
        /// settings would draw a 2,000 x 2,000 table with one value per row.
        public static let axisValueLimit = 50

        /// "learning_rate has 2000 distinct values": the axes beyond `axisValueLimit`; nil when both fit.
        public var crowdedAxesText: String? {
            Self.crowdedAxesText([(rowColumn, rowValues.count), (columnColumn, columnValues.count)])  // two different columns (`pivot`)
        }

        /// `crowdedAxesText` of axes with these numbers of distinct values.
        static func crowdedAxesText(_ axes: [(RunColumn, Int)]) -> String? {
            let crowded = axes.filter { $0.1 > axisValueLimit }.map { "\($0.0.rawValue) has \($0.1) distinct values" }
            return crowded.isEmpty ? nil : crowded.joined(separator: " and ")
        }

        /// The refusal of a grid with an axis beyond `axisValueLimit`, as `report grid` and the
        /// dashboard's heatmap API say it, with `remedies` (what the caller offers instead); nil when both fit.
        public func crowdedAxesRefusal(sweepID: Int64, remedies: String) -> String? {
            crowdedAxesText.map { Self.refusal(sweepID: sweepID, crowded: $0, remedies: remedies) }
        }

        static func refusal(sweepID: Int64, crowded: String, remedies: String) -> String {
            "sweep \(sweepID): \(crowded), too many for a table (at most \(axisValueLimit) per axis; a random or TPE "
                + "search samples a new one per run): \(remedies)"
        }

        public func cell(_ row: RunValue, _ column: RunValue) -> PivotCell? { cells[Pivot.key(row, column)] }
        static func key(_ row: RunValue, _ column: RunValue) -> String { "\(Reporter.cell(row).exact)|\(Reporter.cell(column).exact)" }
    }

    /// `Pivot.crowdedAxesRefusal` of the pivot `pivot(sweepID:rows:columns:metric:goal:filter:)` would
    /// make, decided from a count of distinct values per axis (`RunQueries.distinctValueCounts`) before
    /// any run is read: a 100,000-run random sweep is refused at once, not after reading every run.
    /// Nil when both axes fit, and when an argument is wrong (`pivot` then says what is wrong, as before).
    public func crowdedAxesRefusal(sweepID: Int64, rows: String, columns: String, metric: String?,
                                   filter: String?, remedies: String) throws -> String? {
        var parsedFilter: RunFilter?
        if let filter { guard let parsed = try? RunFilterParser.parse(filter) else { return nil }; parsedFilter = parsed }
        guard let rowColumn = try? RunFilterParser.column(named: rows),
              let columnColumn = try? RunFilterParser.column(named: columns), rowColumn != columnColumn else { return nil }
        if let metric, (try? numericColumn(metric, purpose: "--metric")) == nil { return nil }
        let counts = try queries.distinctValueCounts(sweepID: sweepID, columns: [rowColumn, columnColumn], filter: parsedFilter)
        return Pivot.crowdedAxesText([(rowColumn, counts[0]), (columnColumn, counts[1])]).map {
            Pivot.refusal(sweepID: sweepID, crowded: $0, remedies: remedies)
        }
    }

    /// A cell's text in `grid` and the HTML heatmap: the mean, ` ±` the standard deviation with several
    /// values (`deviationSeparator` between), and the counts in parentheses ("(3)", "(2, 1 diverged)");
    /// with no value, the runs left out ("3 diverged") or "-".
    static func cellText(_ cell: PivotCell, deviationSeparator: String) -> String {
        guard let mean = cell.mean else { return cell.leftOutText ?? "-" }
        var text = formatNumber(mean)
        if cell.valueCount > 1, let deviation = cell.standardDeviation { text += " ±" + deviationSeparator + formatNumber(deviation, digits: 2) }
        let counts = (cell.valueCount > 1 || cell.leftOutCount > 0 ? ["\(cell.valueCount)"] : []) + (cell.leftOutText.map { [$0] } ?? [])
        return counts.isEmpty ? text : text + " (" + counts.joined(separator: ", ") + ")"
    }

    /// Why a pivot of a column against itself is refused (`report grid` and the dashboard's heatmap, which
    /// names its parameters `rows` and `cols`).
    public static func sameAxesMessage(_ column: RunColumn, rows: String = "--rows", cols: String = "--cols") -> String {
        "\(rows) and \(cols) are both \(column.rawValue): give two different columns (one against itself is only a diagonal)"
    }

    /// The pivot of a sweep: `metric` (default: the sweep's own metric, else the best validation or
    /// training loss) aggregated over the runs sharing each (rows, columns) pair of values.
    public func pivot(sweepID: Int64, rows: String, columns: String, metric: String?, goal: Goal?, filter: String? = nil) throws -> Pivot {
        if !queries.isSnapshot { return try snapshot { try $0.pivot(sweepID: sweepID, rows: rows, columns: columns, metric: metric, goal: goal, filter: filter) } }
        let parsedFilter = try filter.map(RunFilterParser.parse)
        guard let sweep = try queries.sweepSummary(id: sweepID) else { throw ReportError.unknownSweep(sweepID) }
        let rowColumn = try RunFilterParser.column(named: rows)
        let columnColumn = try RunFilterParser.column(named: columns)
        if rowColumn == columnColumn { throw ReportError.invalidArgument(Self.sameAxesMessage(rowColumn)) }
        // Of the runs the pivot needs two counts (does one validate, how many were pruned), not every run.
        let (metricColumn, chosenGoal) = try rankingMetric(sweepID, validates: metric == nil && validates(sweepID, filter: parsedFilter),
                                                           metric: metric, goal: goal)
        let cells = try queries.pivot(sweepID: sweepID, rows: rowColumn, columns: columnColumn, metric: metricColumn, filter: parsedFilter)
        guard !cells.isEmpty else {
            throw ReportError.noRuns(in: sweep, filtered: filter != nil)
        }
        let goal = chosenGoal
        // Both axes in value order; text by the numbers in it (hidden: 4, 4,4, 16, 128, none), not
        // SQLite's byte order (128, 16, 4).
        let rowValues = Set(cells.map(\.rowValue)).sorted { Self.ordered($0, $1) }
        let columnValues = Set(cells.map(\.columnValue)).sorted { Self.ordered($0, $1) }
        let rowPosition = Dictionary(uniqueKeysWithValues: rowValues.enumerated().map { ($1, $0) })
        let columnPosition = Dictionary(uniqueKeysWithValues: columnValues.enumerated().map { ($1, $0) })
        let cellsByKey = Dictionary(cells.map { (Pivot.key($0.rowValue, $0.columnValue), $0) }, uniquingKeysWith: { a, _ in a })
        // As `best` ranks a configuration with a diverged or failed run after every one whose runs all
        // have a value, a cell with such a run is best only when every cell with a value has one.
        // Equal means: the cell of the run queued first, as runs tie (RunRanking).
        var best: PivotCell?
        for cell in cells {
            guard let mean = cell.mean, mean.isFinite else { continue }
            guard let current = best else { best = cell; continue }
            let isWhole = cell.leftOutCount == 0, currentIsWhole = current.leftOutCount == 0
            if isWhole != currentIsWhole ? isWhole
                : RunRanking.ranksBefore((cell.firstRunID, mean), (current.firstRunID, current.mean), goal: goal) { best = cell }
        }
        var pivot = Pivot(rowColumn: rowColumn, columnColumn: columnColumn, metric: metricColumn, goal: goal,
                     rowValues: rowValues, columnValues: columnValues,
                     cells: cellsByKey, best: best)
        pivot.orderedCells = cellsByKey.values.sorted {
            (rowPosition[$0.rowValue]!, columnPosition[$0.columnValue]!) < (rowPosition[$1.rowValue]!, columnPosition[$1.columnValue]!)
        }
        pivot.prunedCount = try runCount(sweepID, filter: parsedFilter, and: .isIn(.status, [.text(RunStatus.pruned.rawValue)]))
        pivot.divergedCount = cells.reduce(0) { $0 + $1.divergedCount }
        pivot.failedCount = cells.reduce(0) { $0 + $1.failedCount }
        return pivot
    }

    /// Numbers first, in order; then text, comparing runs of digits as numbers ("4,4" < "16" < "128"),
    /// as `report runs --sort` does.
    static func ordered(_ a: RunValue, _ b: RunValue) -> Bool {
        switch (a.double, b.double) {
        case let (x?, y?): return x < y
        case (nil, _?): return false
        case (_?, nil): return true
        default: return RunColumn.compareNumbersInText(cell(a).exact, cell(b).exact) < 0
        }
    }

    /// `report grid --sweep ID --rows R --cols C --metric M`.
    /// Without `rows` or `columns`: the settings the sweep's runs vary (as the HTML heatmap picks them).
    public func grid(sweepID: Int64, rows: String? = nil, columns: String? = nil,
                     metric: String? = nil, goal: Goal? = nil, filter: String? = nil, format: OutputFormat = .table) throws -> String {
        if !queries.isSnapshot { return try snapshot { try $0.grid(sweepID: sweepID, rows: rows, columns: columns, metric: metric, goal: goal, filter: filter, format: format) } }
        let (rows, columns) = try gridAxes(sweepID: sweepID, rows: rows, columns: columns, filter: filter)
        let remedies = "see which settings matter with "
            + "`\(CommandHint.command("report importance --sweep \(sweepID)"))`, choose other --rows/--cols, narrow the runs with --where, "
            + "or list the cells with --format csv"
        // Refused from a count before any run is read (the table's refusal; csv and json list the cells).
        if format == .table, let refusal = try crowdedAxesRefusal(sweepID: sweepID, rows: rows, columns: columns, metric: metric,
                                                                   filter: filter, remedies: remedies) {
            throw ReportError.invalidArgument(refusal)
        }
        let pivot = try pivot(sweepID: sweepID, rows: rows, columns: columns, metric: metric, goal: goal, filter: filter)
        if format != .table {
            var table = DataTable(columns: [.init(pivot.rowColumn.rawValue), .init(pivot.columnColumn.rawValue), .init("runs"),
                                            .init("values"), .init("mean"), .init("std"), .init("min"), .init("max"), .init("best"),
                                            .init("diverged"), .init("failed")])
            for cell in pivot.orderedCells {
                table.rows.append([Self.cell(cell.rowValue), Self.cell(cell.columnValue), .integer(Int64(cell.runCount)), .integer(Int64(cell.valueCount)),
                                   .number(cell.mean), .number(cell.standardDeviation), .number(cell.minimum), .number(cell.maximum),
                                   .integer(cell == pivot.best ? 1 : 0), .integer(Int64(cell.divergedCount)), .integer(Int64(cell.failedCount))])
            }
            return table.render(format, style: style)
        }
        if let refusal = pivot.crowdedAxesRefusal(sweepID: sweepID, remedies: remedies) {
            throw ReportError.invalidArgument(refusal)
        }
        let corner = "\(pivot.rowColumn.rawValue) \\ \(pivot.columnColumn.rawValue)"
        let rowLabel = Self.labels(pivot.rowValues, of: pivot.rowColumn), columnLabel = Self.labels(pivot.columnValues, of: pivot.columnColumn)
        var table = DataTable(columns: [.init(corner)] + pivot.columnValues.map { .init(columnLabel($0), alignsRight: true) })
        for row in pivot.rowValues {
            var cells: [Cell] = [.text(rowLabel(row))]
            for column in pivot.columnValues {
                guard let cell = pivot.cell(row, column) else { cells.append(.text("-")); continue }
                cells.append(.text((cell == pivot.best ? "*" : "") + Self.cellText(cell, deviationSeparator: "")))
            }
            table.rows.append(cells)
            if let best = pivot.best, best.rowValue == row { table.highlightedRows.insert(table.rows.count - 1) }
        }
        var out = "\(pivot.metric.rawValue) of sweep \(sweepID): mean over the other parameters ± standard deviation (runs); * best (\(pivot.goal.rawValue))\n"
        if let filter { out += "runs where \(terminalSafe(filter))\n" }
        out += "\n"
        out += table.renderTable(style: style)
        if let best = pivot.best, let mean = best.mean {
            out += "\nbest: \(pivot.rowColumn.rawValue)=\(terminalSafe(rowLabel(best.rowValue))) \(pivot.columnColumn.rawValue)=\(terminalSafe(columnLabel(best.columnValue))): \(formatNumber(mean))\n"
        }
        out += pivot.notes.map { $0 + "\n" }.joined()
        return out
    }

    /// `--rows` and `--cols` as given; the one missing (or both) from the settings the sweep's runs
    /// vary (`heatmapAxes`: seed last), else learning_rate and batch_size.
    func gridAxes(sweepID: Int64, rows: String?, columns: String?, filter: String?) throws -> (rows: String, columns: String) {
        if let rows, let columns { return (rows, columns) }
        // Which settings vary, from a count of each one's distinct values: no run is read.
        let differing = try queries.sweptSettings(sweepID: sweepID, filter: try filter.map(RunFilterParser.parse))
        var axes = Self.heatmapAxes(differing: differing).map { [$0.0, $0.1] } ?? [.learning_rate, .batch_size]
        // Compared as columns, not as typed: `--rows VALIDATION` is validation_fraction, never paired with itself.
        if let rows {
            let given = try RunFilterParser.column(named: rows)
            axes = [given] + axes.filter { $0 != given }
        }
        if let columns {
            let given = try RunFilterParser.column(named: columns)
            axes = Array(axes.filter { $0 != given }.prefix(1)) + [given]
        }
        return (axes[0].rawValue, axes[1].rawValue)
    }

    /// The metric a sweep was queued with (`metric:` of its spec, as stored), as the run column of
    /// its final value: what `runner` ranked the sweep's runs by. Nil without a readable spec. A
    /// validation metric falls back to the training one when no run holds out validation rows.
    static func sweepMetric(specJSON text: String?, validates: Bool) -> (column: RunColumn, goal: Goal)? {
        guard let text, let metric = SlopeStore.SweepRecord.Head(specJSON: text).metric else { return nil }
        var name = metric.name
        if name.hasPrefix("val_") && !validates { name = "train_" + name.dropFirst(4) }
        guard let column = RunColumn(rawValue: "final_" + name) else { return nil }
        return (column, metric.maximize ? .max : .min)
    }

    /// The metric and goal a sweep's report ranks by: `metric` (with `goal`, else its natural one)
    /// when given, else the sweep's own (`sweepMetric(specJSON:validates:)`), else the best validation loss when a run
    /// holds out validation rows, else the best training loss. `report grid`, `best`, `importance`,
    /// `html` and the dashboard all start from this one choice.
    /// `validates`: whether any of the sweep's runs holds out validation rows (`validates(_:)`).
    func rankingMetric(_ sweepID: Int64, validates: Bool, metric: String? = nil, goal: Goal? = nil) throws -> (column: RunColumn, goal: Goal) {
        if let metric {
            let column = try numericColumn(metric, purpose: "--metric")
            return (column, goal ?? Goal.natural(for: column.rawValue))
        }
        let hasRuns = try validates || queries.runCount(sweepID: sweepID, filter: nil) > 0
        let chosen = Self.defaultMetric(specJSON: try queries.sweepSummary(id: sweepID)?.specJSON, validates: validates, hasRuns: hasRuns)
        return (chosen.column, goal ?? chosen.goal)
    }

    /// `rankingMetric` without a `metric` given, from the sweep's stored spec: its own metric, else
    /// best_val_loss when a run validates, else best_train_loss (for many sweeps at once: the
    /// dashboard's list of sweeps reads every spec in one query). `hasRuns` false: the sweep has no
    /// run yet (a tpe sweep before its first trial), so no run can say whether it validates, and its
    /// own metric is taken as its spec names it (planning refuses a tpe sweep whose `val_` metric no
    /// run would have), not as the training metric that a sweep of runs without validation falls back to.
    public static func defaultMetric(specJSON: String?, validates: Bool, hasRuns: Bool = true) -> (column: RunColumn, goal: Goal) {
        if let own = sweepMetric(specJSON: specJSON, validates: validates || !hasRuns) { return own }
        let column: RunColumn = validates ? .best_val_loss : .best_train_loss
        return (column, Goal.natural(for: column.rawValue))
    }

    /// The metric and goal a sweep's reports use when none is given (`rankingMetric` over all its runs).
    public func defaultMetric(sweepID: Int64) throws -> (column: RunColumn, goal: Goal) {
        if !queries.isSnapshot { return try snapshot { try $0.defaultMetric(sweepID: sweepID) } }
        // Of the runs the choice needs only whether one validates: a count, not every run (the dashboard asks on each sweep page).
        return try rankingMetric(sweepID, validates: validates(sweepID, filter: nil))
    }

    /// Labels for a set of values: short (4 significant digits) unless two different values would
    /// read the same (0.1 and 0.1000001), then every value in full.
    static func labels(_ values: [RunValue], of column: RunColumn? = nil) -> (RunValue) -> String {
        let short = Set(values.map { cell($0).display }).count == Set(values).count
        return { value in
            if let flag = column?.boolean(value) { return flag ? "true" : "false" }
            return short ? cell(value).display : cell(value).exact
        }
    }
}

extension PivotCell {
    /// Runs of the cell left out of its statistics (they diverged or failed).
    var leftOutCount: Int { divergedCount + failedCount }

    /// "2 diverged, 1 failed": the cell's runs left out of its statistics; nil when none.
    var leftOutText: String? { Self.leftOutText(diverged: divergedCount, failed: failedCount) }

    static func leftOutText(diverged: Int, failed: Int) -> String? {
        let parts = [(diverged, RunStatus.diverged), (failed, .failed)].filter { $0.0 > 0 }.map { "\($0.0) \($0.1)" }
        return parts.isEmpty ? nil : parts.joined(separator: ", ")
    }
}
