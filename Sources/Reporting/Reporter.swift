// The `report` commands as functions from query results to text. Each returns the whole output,
// so that tests compare it and the executable only prints it. `runs`, `show` and `best` live here.
import Foundation
import Store

/// Which way a metric is better.
public enum Goal: String, CaseIterable, Sendable {
    case min, max

    /// Accuracies are maximised, everything else (losses) minimised (`SlopeStore.isMaximizedByDefault`).
    public static func natural(for metricName: String) -> Goal { SlopeStore.isMaximizedByDefault(metricName) ? .max : .min }

    func isBetter(_ candidate: Double, than current: Double) -> Bool {
        self == .min ? candidate < current : candidate > current
    }
}

/// A per-epoch curve of a run: Store's per-epoch metrics (the ones a sweep's search ranks by).
public typealias CurveMetric = SlopeStore.TrialMetric

extension CurveMetric {
    func value(_ row: EpochRow) -> Double? { value(in: row.record) }

    var goal: Goal { Goal.natural(for: rawValue) }
}

public struct Reporter: Sendable {
    public private(set) var queries: RunQueries
    public var style: TerminalStyle

    public init(queries: RunQueries, style: TerminalStyle = .plain) {
        self.queries = queries
        self.style = style
    }

    /// Runs a command on one database snapshot, so that its several queries agree with each other
    /// while a sweep keeps writing. Every public command starts with this.
    func snapshot<T>(_ body: (Reporter) throws -> T) throws -> T {
        try queries.snapshot { snapshotQueries in
            var reporter = self
            reporter.queries = snapshotQueries
            return try body(reporter)
        }
    }

    // MARK: lookups shared by the commands

    func run(_ id: Int64) throws -> SlopeStore.RunRecord {
        guard let run = try queries.runSummary(id: id) else {
            if try queries.runCount(sweepID: nil) == 0 { throw ReportError.emptyDatabase }
            throw ReportError.unknownRun(id)
        }
        return run
    }

    /// The runs of a sweep (those matching `filter`, a `--where` expression, when given).
    func sweepRuns(_ sweepID: Int64, filter: String? = nil) throws -> [SlopeStore.RunRecord] {
        let parsedFilter = try filter.map(RunFilterParser.parse)
        guard let sweep = try queries.sweepSummary(id: sweepID) else { throw ReportError.unknownSweep(sweepID) }
        let runs = try queries.runSummaries(sweepID: sweepID, filter: parsedFilter)
        guard !runs.isEmpty else {
            throw ReportError.noRuns(in: sweep, filtered: filter != nil)
        }
        return runs
    }

    /// A numeric run column for metrics (`--metric`, `--rows`, `--sort`).
    func numericColumn(_ name: String, purpose: String) throws -> RunColumn {
        let column = try RunFilterParser.column(named: name)
        guard column.isNumeric else {
            let numeric = RunColumn.allCases.filter(\.isNumeric).map(\.rawValue).sorted()
            throw ReportError.invalidArgument("\(purpose) must be a numeric column, not '\(column.rawValue)'; numeric columns: \(numeric.joined(separator: ", "))")
        }
        return column
    }

    /// The settings (RunColumn's registry) whose values differ between `runs`, in registry order.
    /// `besideLayers`: for a view that shows `layers` too, `hidden` is left out when `layers` differs
    /// (it says the same, with the data's widths).
    public static func differingSettings(_ runs: [SlopeStore.RunRecord], besideLayers: Bool = true) -> [RunColumn] {
        let differs = { (column: RunColumn) in Set(runs.map { $0[column] }).count > 1 }
        return RunColumn.settings.filter { column in differs(column) && !(besideLayers && column == .hidden && differs(.layers)) }
    }

    /// A run column's value for people: true/false columns as words, the rest as stored.
    static func cell(_ run: SlopeStore.RunRecord, _ column: RunColumn) -> Cell {
        if let flag = column.boolean(run[column]) { return .text(flag ? "true" : "false") }
        return cell(run[column])
    }

    /// A run's label: its name, else its learning rate and batch size, then its values of `settings`
    /// (the others that differ between the runs drawn together: `weight_decay=0.01 nesterov=true`),
    /// so that the curves of a sweep over any setting can be told apart.
    static func runLabel(_ run: SlopeStore.RunRecord, showing settings: [RunColumn] = []) -> String {
        if let name = run.name, !name.isEmpty { return "run \(run.id) \(name)" }
        var label = "run \(run.id) lr=\(formatNumber(run.learningRate)) bs=\(run.batchSize)"
        for setting in settings where setting != .learning_rate && setting != .batch_size {
            label += " \(setting.rawValue)=\(cell(run, setting).display)"
        }
        return label
    }

    // MARK: runs

    /// The key columns of a run table, dropping those that are empty for every run shown. In the
    /// terminal, the `stalled` runs (running, worker gone) show the status `stalled`.
    static func runTable(_ runs: [SlopeStore.RunRecord], format: OutputFormat, stalled: Set<Int64> = []) -> DataTable {
        if format != .table {
            let columns = RunColumn.allCases.map { DataTable.Column($0.rawValue) }
            let rows = runs.map { run in RunColumn.allCases.map { cell(run[$0]) } }
            return DataTable(columns: columns, rows: rows)
        }
        var columns: [(DataTable.Column, (SlopeStore.RunRecord) -> Cell)] = [
            (.init("id"), { .integer($0.id) }),
            (.init("sweep_id", title: "sweep"), { cell($0[.sweep_id]) }),
            (.init("name"), { cell($0[.name]) }),
            (.init("status", isShortenable: false), { .text(stalled.contains($0.id) ? "stalled" : $0.status.rawValue) }),
            (.init("learning_rate", title: "lr"), { cell($0[.learning_rate]) }),
            (.init("batch_size", title: "batch"), { cell($0[.batch_size]) }),
            (.init("momentum", title: "mom"), { cell($0[.momentum]) }),
        ]
        // Any other setting that differs between the runs shown (weight_decay, activation, ...): those
        // a sweep varies next to the learning rate; those that differ only between sweeps or single
        // runs after the results, where a narrow terminal drops them first.
        let listed: Set<RunColumn> = [.learning_rate, .batch_size, .momentum, .epochs, .seed]
        let differing = differingSettings(runs).filter { !listed.contains($0) }
        let sweeps = Dictionary(grouping: runs.filter { $0.sweepID != nil }, by: \.sweepID).values
        let swept = differing.filter { setting in sweeps.contains { Set($0.map { $0[setting] }).count > 1 } }
        func settingColumns(_ settings: [RunColumn]) -> [(DataTable.Column, (SlopeStore.RunRecord) -> Cell)] {
            settings.map { setting in (DataTable.Column(setting.rawValue), { Self.cell($0, setting) }) }
        }
        columns += settingColumns(swept)
        columns += [
            (.init("layers"), { cell($0[.layers]) }),
            (.init("epochs_done", title: "epochs"), { .text("\($0.epochsDone)/\($0.integer(.epochs) ?? 0)") }),
            (.init("final_train_loss", title: "train_loss"), { cell($0[.final_train_loss]) }),
            (.init("final_val_loss", title: "val_loss"), { cell($0[.final_val_loss]) }),
            (.init("best_train_loss", title: "best_train"), { cell($0[.best_train_loss]) }),
            (.init("best_val_loss", title: "best_val"), { cell($0[.best_val_loss]) }),
            (.init("best_epoch", title: "best_ep"), { cell($0[.best_epoch]) }),
            (.init("final_val_accuracy", title: "val_acc"), { cell($0[.final_val_accuracy]) }),
            (.init("final_train_accuracy", title: "train_acc"), { cell($0[.final_train_accuracy]) }),
        ]
        columns += settingColumns(differing.filter { !swept.contains($0) })
        columns.append((.init("seed"), { cell($0[.seed]) }))  // last: results first when the width runs out
        let optional: Set<String> = ["sweep_id", "name", "momentum", "final_val_loss", "best_val_loss", "final_val_accuracy"]
        // The best training loss only when no run shown has validation data (else best_val says more).
        let hasValidation = runs.contains { $0[.best_val_loss] != .null }
        columns.removeAll { column in
            if column.0.key == "best_train_loss" { return hasValidation }
            if column.0.key == "final_train_accuracy" {  // only for classification runs without validation data
                return runs.contains { $0[.final_val_accuracy] != .null } || runs.allSatisfy { $0[.final_train_accuracy] == .null }
            }
            if column.0.key == "seed" { return Set(runs.map { $0[.seed] }).count <= 1 }  // only when runs differ by it
            guard optional.contains(column.0.key) else { return false }
            return runs.allSatisfy { run in
                let value = column.1(run)
                if column.0.key == "momentum" { return value == .null || value == .real(0) || value == .integer(0) }
                return value == .null || value == .text("")
            }
        }
        // Sweep and layers shared by every run shown say little per row: `sharedColumnsNote` names them
        // once, by the same rule (one value over every run shown).
        if runs.count > 1 {
            columns.removeAll { column in
                ["sweep_id", "layers"].contains(column.0.key) && Set(runs.map { column.1($0) }).count == 1
            }
        }
        // Hyperparameters that differ but would read the same at 4 digits (0.10001, 0.10002) in full.
        columns = columns.map { column, value in
            guard let setting = RunColumn(rawValue: column.key), setting.isSetting, setting.valueKind == .real else { return (column, value) }
            let cells = runs.map(value)
            guard Set(cells.map(\.display)).count < Set(cells.map(\.exact)).count else { return (column, value) }
            var aligned = column
            aligned.alignsRight = true  // still numbers
            return (aligned, { run in let cell = value(run); return cell == .null ? .null : .text(cell.exact) })
        }
        return DataTable(columns: columns.map(\.0), rows: runs.map { run in columns.map { $0.1(run) } })
    }

    /// "sweep 1, layers 64-16-10" when all runs shown share them (the table then leaves them out).
    static func sharedColumnsNote(_ runs: [SlopeStore.RunRecord]) -> String? {
        guard runs.count > 1 else { return nil }
        var parts: [String] = []
        if Set(runs.map { $0[.sweep_id] }).count == 1 {
            parts.append(runs[0].sweepID.map { "sweep \($0)" } ?? "single runs (no sweep)")
        }
        if Set(runs.map { $0[.layers] }).count == 1 { parts.append("layers \(terminalSafe(runs[0].layers))") }
        return parts.isEmpty ? nil : "all runs: " + parts.joined(separator: ", ")
    }

    static func cell(_ value: RunValue) -> Cell {
        switch value {
        case .integer(let v): return .integer(v)
        case .real(let v): return .real(v)
        case .text(let v): return .text(v)
        case .null: return .null
        }
    }

    /// `report runs`: runs matching sweep/filter, sorted, limited.
    public func runs(sweepID: Int64? = nil, filter: String? = nil, sort: String? = nil, limit: Int? = nil,
                     format: OutputFormat = .table) throws -> String {
        if !queries.isSnapshot { return try snapshot { try $0.runs(sweepID: sweepID, filter: filter, sort: sort, limit: limit, format: format) } }
        let parsedFilter = try filter.map(RunFilterParser.parse)
        let parsedSort = try sort.map(RunFilterParser.parseSort)
        if let limit, limit < 1 { throw ReportError.invalidArgument("--limit must be at least 1, got \(limit)") }
        var sweep: SlopeStore.SweepRecord? = nil
        if let sweepID {
            guard let found = try queries.sweepSummary(id: sweepID) else { throw ReportError.unknownSweep(sweepID) }
            sweep = found
        }
        let runs = try queries.runSummaries(sweepID: sweepID, filter: parsedFilter, sort: parsedSort, limit: limit)
        if runs.isEmpty {
            let databaseIsEmpty = try queries.runCount(sweepID: nil) == 0
            if let sweep, sweep.storedRunCount == 0, databaseIsEmpty || format == .table {
                throw ReportError.noRuns(in: sweep, filtered: false)
            }
            if databaseIsEmpty {
                throw ReportError.emptyDatabase
            }
            if format == .table { return "no runs match\n" }
        }
        // In the terminal: which running runs shown lost their worker (one query, only when some run shown is running).
        var shown: [StalledRun] = []
        if format == .table && runs.contains(where: { $0.status == .running }) {
            let ids = Set(runs.map(\.id))
            shown = try queries.stalledRuns(sweepID: sweepID).filter { ids.contains($0.runID) }
        }
        let table = Self.runTable(runs, format: format, stalled: Set(shown.map(\.runID))).render(format, style: style)
        guard format == .table else { return table }
        let notes = [Self.sharedColumnsNote(runs).map(style.dim), try Self.stalledNote(shown, readOnlyRole: queries.readOnlyRoleName)].compactMap { $0 }
        return table + notes.map { $0 + "\n" }.joined()
    }

    // MARK: stalled runs

    /// "45 s", "12 min", "3.5 h", "2.0 days": how long ago a heartbeat was.
    static func describeAge(_ seconds: Double?) -> String {
        guard let seconds else { return "never" }
        if seconds < 120 { return "\(Int(seconds.rounded())) s" }
        if seconds < 7200 { return "\(Int((seconds / 60).rounded())) min" }
        return seconds < 172_800 ? String(format: "%.1f h", seconds / 3600) : String(format: "%.1f days", seconds / 86400)
    }

    /// Under a table: which `running` runs lost their worker (the take-over rule of `runner resume`), and what to do.
    /// `readOnlyRole`: the connected role when it may only read (the command then goes without its --db).
    static func stalledNote(_ stalled: [StalledRun], readOnlyRole: () throws -> String?) rethrows -> String? {
        guard let latest = stalled.max(by: { ($0.heartbeatAt ?? "") < ($1.heartbeatAt ?? "") }) else { return nil }
        let readOnly = try readOnlyRole()
        // Their sweep when they share one (as the dashboard's sweep notice says it), else the one run (hostile16b G2).
        let sweeps = Set(stalled.map(\.sweepID))
        let scope = sweeps.count == 1 && sweeps.first! != nil ? " --sweep \(sweeps.first!!)" : stalled.count == 1 ? " --run \(latest.runID)" : ""
        let ids = stalled.map { String($0.runID) }.joined(separator: ", ")
        let heartbeat = latest.heartbeatAt == nil ? "no heartbeat recorded" : "last heartbeat \(describeAge(latest.heartbeatAge)) ago"
        return "stalled: run\(stalled.count == 1 ? "" : "s") \(ids) \(stalled.count == 1 ? "is" : "are") `running` without a worker "
            + "(\(heartbeat)); continue with `\(readOnly == nil ? CommandHint.command("runner resume" + scope) : "runner resume" + scope)`"
            + (readOnly.map { " " + CommandHint.readOnlyNote(role: $0) } ?? "")
    }

    // MARK: sweeps

    /// `report sweeps`: every sweep with its status, its total of runs (a tpe sweep's `count`, its
    /// trials not sampled yet included) and how many of its runs are in each state.
    public func sweeps(format: OutputFormat = .table) throws -> String {
        if !queries.isSnapshot { return try snapshot { try $0.sweeps(format: format) } }
        let sweeps = try queries.sweepSummaries()
        if sweeps.isEmpty {
            if try queries.runCount(sweepID: nil) == 0 {
                throw ReportError.emptyDatabase
            }
            if format == .table { return "no sweeps (only single runs: see `\(CommandHint.command("report runs"))`)\n" }
        }
        let counts = try queries.runStatusCounts()
        let tensorBytes = try queries.tensorBytesBySweep()
        let stalledRuns = try queries.stalledRuns()
        let stalled = Dictionary(grouping: stalledRuns.filter { $0.sweepID != nil }, by: { $0.sweepID! })
        let statuses = ["queued", "running", "completed", "pruned", "diverged", "failed"]
        var columns: [DataTable.Column] = [.init("id"), .init("name"), .init("status"), .init("created_at", title: "created"), .init("runs")]
        columns += statuses.map { DataTable.Column($0) }
        // Bytes of tensor values (csv/json: a whole number; the terminal: "188.0 MB").
        columns.append(DataTable.Column("tensor_bytes", title: "tensors", alignsRight: true))
        // Running runs whose worker is gone (the take-over rule of `runner resume`); last, so that positions stay.
        columns.append(DataTable.Column("stalled"))
        // Trials of a tpe sweep not sampled yet: `runs` counts them, the states do not.
        columns.append(DataTable.Column("not_sampled", title: "unsampled"))
        var table = DataTable(columns: columns, rows: sweeps.map { sweep in
            let bytes = tensorBytes[sweep.id] ?? 0
            let stalledCount = stalled[sweep.id]?.count ?? 0
            // In the terminal, a sweep whose running runs all lost their worker is `stalled`, not running.
            let status = format == .table && stalledCount > 0 && stalledCount == counts[sweep.id]?["running"] ? "stalled" : sweep.status.rawValue
            return [.integer(sweep.id), .text(sweep.name), .text(status), .text(sweep.createdAt), .integer(Int64(sweep.runCount))]
                + statuses.map { .integer(Int64(counts[sweep.id]?[$0] ?? 0)) }
                + [format == .table ? .text(SlopeStore.describeBytes(bytes)) : .integer(bytes), .integer(Int64(stalledCount)),
                   .integer(Int64(sweep.unsampledCount))]
        })
        if format == .table {
            // States no sweep has are noise in a terminal table.
            var empty = Set(statuses.indices.filter { index in table.rows.allSatisfy { $0[5 + index] == .integer(0) } }.map { $0 + 5 })
            if stalled.isEmpty { empty.insert(columns.count - 2) }
            if sweeps.allSatisfy({ $0.unsampledCount == 0 }) { empty.insert(columns.count - 1) }
            table.columns = table.columns.enumerated().filter { !empty.contains($0.offset) }.map(\.element)
            table.rows = table.rows.map { row in row.enumerated().filter { !empty.contains($0.offset) }.map(\.element) }
            if let note = try Self.stalledNote(stalledRuns.filter { $0.sweepID != nil }, readOnlyRole: queries.readOnlyRoleName) { return table.render(format, style: style) + note + "\n" }
        }
        return table.render(format, style: style)
    }

    // MARK: show

    /// `report show RUN`: configuration, status, the per-epoch table and a plot of the losses.
    public func show(runID: Int64, format: OutputFormat = .table) throws -> String {
        if !queries.isSnapshot { return try snapshot { try $0.show(runID: runID, format: format) } }
        let run = try run(runID)
        let epochs = try queries.epochRows(runIDs: [runID])
        let table = Self.epochTable(epochs)
        switch format {
        case .csv: return table.renderCSV()
        case .json:
            let runFields = RunColumn.allCases.map { "\(jsonStringLiteral($0.rawValue)): \(Self.cell(run[$0]).json)" }
            let config = run.configJSON.isEmpty ? "null" : run.configJSON
            let diagnoses = try Self.diagnoses(run, queries: queries)
            return "{\n  \"run\": {" + runFields.joined(separator: ", ") + "},\n  \"error\": \(Cell.text(run.error).json),\n  \"config\": \(config),\n  \"epochs\": "
                + table.renderJSON().replacingOccurrences(of: "\n", with: "\n  ").trimmingCharacters(in: .whitespacesAndNewlines)
                + ",\n  \"diagnosis\": [" + diagnoses.map(\.json).joined(separator: ", ") + "]\n}\n"
        case .table:
            var out = style.bold(terminalSafe(Self.runLabel(run))) + (run.sweepID.map { "  (sweep \($0))" } ?? "") + "\n"
            let stop = run.text(.stop_reason).map { " (\(terminalSafe($0)))" } ?? ""
            out += "status:     \(run.status)\(stop), \(run.epochsDone) of \(run.integer(.epochs) ?? 0) epochs\n"
            if run.status == .running, let note = try Self.stalledNote(queries.stalledRuns(sweepID: run.sweepID).filter { $0.runID == runID }, readOnlyRole: queries.readOnlyRoleName) {
                out += "            \(note)\n"
            }
            if let error = run.error { out += "error:      \(terminalSafe(error))\n" }
            // Without a hidden layer (2-1) the hidden activation is stored but used by no layer: not shown.
            let hiddenActivation = run.layers.split(separator: "-").count > 2 ? (run.text(.activation) ?? "") + "/" : ""
            out += "model:      \(run.layers)  \(hiddenActivation)\(run.text(.output_activation) ?? "")  loss \(run.text(.loss) ?? "")  \(run.text(.precision) ?? "")\n"
            out += "training:   learning_rate \(formatNumber(run.learningRate))  batch_size \(run.batchSize)  momentum \(formatNumber(run.number(.momentum) ?? 0))  seed \(Self.cell(run[.seed]).display)\n"
            out += "data:       \(terminalSafe(run.dataset))  validation_fraction \(formatNumber(run.number(.validation_fraction) ?? 0))\n"
            // The other settings (the columns of 0003), those the run has.
            let others = RunColumn.settings.filter { if case .derived = $0.source { return run[$0] != .null }; return false }
            if !others.isEmpty {
                out += "settings:   " + others.map { "\($0.rawValue) \(terminalSafe(Self.cell(run, $0).display))" }.joined(separator: "  ") + "\n"
            }
            if let best = run.integer(.best_epoch) {
                let bestLoss = run.number(.best_val_loss) ?? run.number(.best_train_loss)
                out += "best:       epoch \(best)\(bestLoss.map { ", loss \(formatNumber($0))" } ?? "")\n"
            }
            let times = [("started", run.text(.started_at)), ("finished", run.text(.finished_at)), ("worker", run.text(.worker))]
                .compactMap { name, value in value.map { "\(name) \(terminalSafe($0))" } }
            if !times.isEmpty { out += "times:      \(times.joined(separator: "  "))\n" }
            out += "config:     \(terminalSafe(Self.compactJSON(run.configJSON)))\n\n"
            if epochs.isEmpty { return out + "no epochs recorded yet\n" }
            out += table.renderTable(style: style) + "\n"
            var series = [PlotSeries(label: "train_loss", points: epochs.compactMap { row in row.trainLoss.map { PlotPoint(x: Double(row.epoch), y: $0) } })]
            if epochs.contains(where: { $0.validationLoss != nil }) {
                series.append(PlotSeries(label: "val_loss", points: epochs.compactMap { row in row.validationLoss.map { PlotPoint(x: Double(row.epoch), y: $0) } }))
            }
            out += TerminalPlot.render(series, title: "loss", style: style)
            // Classification runs: the accuracies too.
            let accuracies = [CurveMetric.train_accuracy, .val_accuracy].compactMap { metric -> PlotSeries? in
                let points = epochs.compactMap { row in metric.value(row).map { PlotPoint(x: Double(row.epoch), y: $0) } }
                return points.isEmpty ? nil : PlotSeries(label: metric.rawValue, points: points)
            }
            if !accuracies.isEmpty { out += "\n" + TerminalPlot.render(accuracies, title: "accuracy", style: style) }
            out += Self.diagnosisText(try Self.diagnoses(run, queries: queries), style: style)
            return out
        }
    }

    /// `report show`'s findings: a diverged run's first (its advice), then what its stored epochs show.
    static func diagnoses(_ run: SlopeStore.RunRecord, queries: RunQueries) throws -> [TrainingDiagnosis] {
        (Diagnostics.divergence(run).map { [$0] } ?? [])
            + (try Diagnostics.diagnose(runID: run.id, layers: run.layers, hiddenActivation: run.text(.activation), optimizer: Diagnostics.optimizer(of: run), queries: queries))
    }

    static func epochTable(_ epochs: [EpochRow]) -> DataTable {
        var columns: [(DataTable.Column, (EpochRow) -> Cell)] = [
            (.init("epoch"), { .integer(Int64($0.epoch)) }),
            (.init("train_loss"), { .number($0.trainLoss) }),
            (.init("val_loss"), { .number($0.validationLoss) }),
            (.init("train_accuracy"), { .number($0.trainAccuracy) }),
            (.init("val_accuracy"), { .number($0.validationAccuracy) }),
            (.init("seconds"), { .real($0.seconds) }),
        ]
        columns.removeAll { column in
            ["val_loss", "train_accuracy", "val_accuracy"].contains(column.0.key) && epochs.allSatisfy { column.1($0) == .null }
        }
        return DataTable(columns: columns.map(\.0), rows: epochs.map { row in columns.map { $0.1(row) } })
    }

    /// The configuration JSON on one line with sorted keys (as stored when it does not parse).
    static func compactJSON(_ text: String) -> String {
        guard let data = text.data(using: .utf8),
              let object = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]),
              let compact = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes]),
              let result = String(data: compact, encoding: .utf8) else { return text }
        return result
    }

    // MARK: best

    /// `report best --sweep ID`: the run with the best value of the metric; when runs differ only by
    /// their seed (and not `perRun`), the configuration with the best mean over its seeds first.
    public func best(sweepID: Int64, metric: String? = nil, goal: Goal? = nil, filter: String? = nil,
                     perRun: Bool = false, format: OutputFormat = .table) throws -> String {
        if !queries.isSnapshot {
            return try snapshot { try $0.best(sweepID: sweepID, metric: metric, goal: goal, filter: filter, perRun: perRun, format: format) }
        }
        let parsedFilter = try filter.map(RunFilterParser.parse)
        guard let sweep = try queries.sweepSummary(id: sweepID) else { throw ReportError.unknownSweep(sweepID) }
        let (column, chosenGoal) = try rankingMetric(sweepID, validates: metric == nil && validates(sweepID, filter: parsedFilter),
                                                     metric: metric, goal: goal)
        // The seed grouping reads every run, so only when two runs share their settings but the seed (SQL
        // says so at once: a random search's runs each sample new values, and none is read for it).
        if !perRun, try queries.hasRunsSharingValues(sweepID: sweepID, filter: parsedFilter, columns: Self.settingsButSeed) {
            let sweepRuns = try queries.runSummaries(sweepID: sweepID, filter: parsedFilter)
            let settingsKeys = sweepRuns.map(Self.settingsKey)  // once per run, for both steps
            if Self.mayRepeatConfigurations(settingsKeys: settingsKeys) {
                let groups = Self.seedGroups(sweepRuns, settingsKeys: settingsKeys, column: column, goal: chosenGoal)
                if SeedRanking.hasRepeatedConfigurations(groups), groups.first?.bestRunID != nil {
                    return try bestConfiguration(groups, runs: sweepRuns, sweepID: sweepID, column: column, goal: chosenGoal, format: format)
                }
            }
        }
        // A failed or diverged run keeps the last finite loss it had; like runner, never call it best,
        // not even when there is nothing else. Ranked as runner ranks (RunRanking: a finite value, then
        // ties to the lower id), in SQL: one run is read, not the sweep's.
        guard let winner = try queries.bestRun(sweepID: sweepID, filter: parsedFilter, column: column, descending: chosenGoal == .max),
              let value = winner.number(column), value.isFinite else {
            let counts = try queries.rankingCounts(sweepID: sweepID, filter: parsedFilter, column: column)
            if counts.ranked == 0 {
                if counts.runs == 0 { throw ReportError.noRuns(in: sweep, filtered: filter != nil) }
                throw ReportError.noData("no run of sweep \(sweepID)\(filter != nil ? " matching --where" : "") can be best: all \(counts.runs) failed or diverged "
                                         + "(\(CommandHint.command("report runs --sweep \(sweepID)")) shows why)")
            }
            // Infinity is no result to rank (as a diverged run's loss): say that it is all there is.
            let positive = counts.positiveInfinite, negative = counts.negativeInfinite, infinite = positive + negative
            guard infinite > 0 else {
                // "yet" only while a run may still get one: every run has ended without it (a metric
                // the runs cannot have, as val_* without a validation split) waits for nothing.
                guard counts.unfinished == 0 else {
                    throw ReportError.noData("no run of sweep \(sweepID) has a value for \(column.rawValue) yet")
                }
                throw ReportError.noData("no run of sweep \(sweepID)\(filter != nil ? " matching --where" : "") has a value for \(column.rawValue): "
                                         + "all \(counts.ranked) ended without one (choose another with --metric)")
            }
            let infinities = [(positive, "inf"), (negative, "-inf")].filter { $0.0 > 0 }.map { "\($0.0) \($0.1)" }.joined(separator: ", ")
            let without = counts.ranked - infinite
            throw ReportError.noData("no run of sweep \(sweepID)\(filter != nil ? " matching --where" : "") can be best by \(column.rawValue): "
                                     + (without > 0 ? "the runs with a value all have an infinite one (\(infinities); \(without) run\(without == 1 ? " has" : "s have") none yet)"
                                                    : "every run's value is infinite (\(infinities))")
                                     + ", and infinity is no result to rank (\(CommandHint.command("report runs --sweep \(sweepID)")) shows them)")
        }
        switch format {
        case .csv, .json: return Self.runTable([winner], format: format).render(format, style: style)
        case .table:
            var out = "best run of sweep \(sweepID) by \(column.rawValue) (\(chosenGoal.rawValue)): \(style.good(terminalSafe(Self.runLabel(winner)))), \(column.rawValue) = \(formatNumber(value))\n\n"
            // One run: its columns as rows, so that none has to be cut to fit.
            var table = DataTable(columns: [.init("column"), .init("value", alignsRight: false)])
            for runColumn in RunColumn.allCases where winner[runColumn] != .null {
                table.rows.append([.text(runColumn.rawValue), .text(Self.cell(winner, runColumn).display)])
                if runColumn == column { table.highlightedRows.insert(table.rows.count - 1) }
            }
            out += table.renderTable(style: style)
            out += "config: \(terminalSafe(Self.compactJSON(winner.configJSON)))\n"
            return out
        }
    }

    /// The sweep's runs grouped by configuration (all but the seed), ranked by the mean of `column`;
    /// failed and diverged runs have no value (their configuration ranks after complete ones).
    static func seedGroups(_ runs: [SlopeStore.RunRecord], settingsKeys: [String]? = nil, column: RunColumn, goal: Goal) -> [SeedGroup] {
        SeedRanking.rank(seedEntries(runs, settingsKeys: settingsKeys) { run in
            run.status == .failed || run.status == .diverged ? nil : run.number(column)
        }, goal: goal)
    }

    /// Runs as the seed ranking sees them: the same configuration when every setting column but the
    /// seed and the stored configuration but its seed are equal.
    /// The configuration JSON is parsed once per configuration, not per run (`SeedRanking.ConfigurationKeys`).
    /// `settingsKeys`: each run's `settingsKey`, when already made.
    static func seedEntries(_ runs: [SlopeStore.RunRecord], settingsKeys: [String]? = nil,
                            value: (SlopeStore.RunRecord) -> Double?) -> [SeedRanking.Entry] {
        var keys = SeedRanking.ConfigurationKeys()
        return runs.indices.map { index in
            let run = runs[index]
            return SeedRanking.Entry(id: run.id, configuration: (settingsKeys?[index] ?? settingsKey(run)) + " " + keys.key(configJSON: run.configJSON),
                                     value: value(run), seed: Int64(bitPattern: run.settings.seed))
        }
    }

    /// Every setting column but the seed: what makes two runs one configuration, with the stored configuration.
    static let settingsButSeed = RunColumn.settings.filter { $0 != .seed }

    /// Every setting column but the seed, as `seedEntries` starts a run's configuration.
    static func settingsKey(_ run: SlopeStore.RunRecord) -> String {
        settingsButSeed.map { "\($0.rawValue)=\(cell(run[$0]).exact)" }.joined(separator: " ")
    }

    /// False when no two runs have the same settings but the seed (`settingsKey`), so that no two are
    /// one configuration (`seedEntries`) and the seed ranking has nothing to group: a random search's
    /// runs each sample new values, and 100,000 of them are not each parsed as JSON for nothing.
    static func mayRepeatConfigurations(_ runs: [SlopeStore.RunRecord]) -> Bool {
        mayRepeatConfigurations(settingsKeys: runs.map(settingsKey))
    }

    static func mayRepeatConfigurations(settingsKeys: [String]) -> Bool {
        var seen = Set<String>()
        return settingsKeys.contains { !seen.insert($0).inserted }
    }

    /// `report best` when configurations repeat over seeds: the configurations by mean (± standard
    /// deviation, n), best first, then the best configuration's best run in full.
    private func bestConfiguration(_ groups: [SeedGroup], runs: [SlopeStore.RunRecord], sweepID: Int64, column: RunColumn, goal: Goal,
                                   format: OutputFormat) throws -> String {
        let byID = Dictionary(uniqueKeysWithValues: runs.map { ($0.id, $0) })
        let varied = Self.variedSettings(runs)  // once, not once per configuration (2,500 of 100,000 runs)
        var table = DataTable(columns: [.init("rank"), .init("best_run"), .init("mean"), .init("std"), .init("n"),
                                        .init("missing"), .init("runs", alignsRight: false), .init("configuration", alignsRight: false)])
        for (index, group) in groups.enumerated() {
            let representative = byID[group.bestRunID ?? group.runIDs[0]]!
            table.rows.append([.integer(Int64(index + 1)), group.bestRunID.map { .integer($0) } ?? .text("-"),
                               .number(group.mean.isNaN ? nil : group.mean), .number(group.standardDeviation), .integer(Int64(group.count)),
                               .integer(Int64(group.missing)), .text(group.runIDs.map(String.init).joined(separator: " ")),
                               .text(Self.configurationLabel(representative, varied: varied))])
        }
        if format != .table { return table.render(format, style: style) }
        let winner = groups[0]
        let bestRun = byID[winner.bestRunID!]!
        var out = "best configuration of sweep \(sweepID) by \(column.rawValue) (\(goal.rawValue)), mean over \(SeedRanking.meanOver(groups)): "
            + style.good(terminalSafe(Self.configurationLabel(bestRun, varied: varied))) + ", \(column.rawValue) = \(formatNumber(winner.mean))"
            + (winner.standardDeviation.map { " ± " + formatNumber($0) } ?? "") + " (n=\(winner.count))\n"  // as the table's std
        out += "runs that differ only by seed are one configuration; --per-run ranks single runs\n"
        // As grid says it: a pruned run's value is from the epoch it stopped at (hostile15 F14).
        let pruned = groups.reduce(0) { count, group in count + group.runIDs.filter { byID[$0]?.status == .pruned }.count }
        if pruned > 0 { out += Self.prunedNote(pruned, in: "the means") + "\n" }
        out += "\n"
        table.rows = Array(table.rows.prefix(10))
        table.highlightedRows = [0]
        out += table.renderTable(style: style)
        if groups.count > 10 { out += "(\(groups.count - 10) more configurations; --format csv lists all)\n" }
        out += "\nits best run: " + (try best(sweepID: sweepID, metric: column.rawValue, goal: goal, filter: "id = \(bestRun.id)", perRun: true, format: .table))
        return out
    }

    /// The settings a configuration's label shows (`configurationLabel`): those but the seed whose
    /// values differ between `runs`, else the learning rate and batch size.
    static func variedSettings(_ runs: [SlopeStore.RunRecord]) -> [RunColumn] {
        // Some run's text differs from the first run's (as two distinct texts among them): a value equal
        // to the first's has its text, so only other values are written out, and the scan stops at the first difference.
        let varied = RunColumn.settings.filter { column in
            guard column != .seed, let first = runs.first?[column] else { return false }
            let firstText = cell(first).exact
            return runs.contains { run in
                let value = run[column]
                return value != first && cell(value).exact != firstText
            }
        }
        return varied.isEmpty ? [.learning_rate, .batch_size] : varied
    }

    /// A configuration's settings that differ between the given runs (never the seed), e.g.
    /// `learning_rate=0.1 batch_size=16`; the learning rate and batch size when none differ.
    /// A setting the run does not have (beta1 of an sgd run: NULL) is left out, not shown as `beta1=-`.
    /// `varied`: the settings that differ between the runs ranked (`variedSettings`), found once for all labels.
    static func configurationLabel(_ run: SlopeStore.RunRecord, varied: [RunColumn]) -> String {
        varied.filter { run[$0] != .null }.map { "\($0.rawValue)=\(cell(run[$0]).display)" }.joined(separator: " ")
    }
}
