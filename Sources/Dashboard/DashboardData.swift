// The JSON behind every dashboard page, read from the store (one snapshot per request, so the
// several queries of a response agree while a sweep keeps writing). Parameters arrive as text
// from the URL and are checked here; each function returns the response's JSON value.
import Foundation
import Reporting
import Store

struct DashboardData: Sendable {
    /// Replaced when the database file was (see `CurrentDatabase`).
    var queries: RunQueries
    /// Seconds without a heartbeat after which a running run counts as stalled (`runner resume --stale-after`).
    var staleAfter: TimeInterval = SlopeStore.defaultStaleAfter
    /// This process, which judges whether a worker on its own host still exists (the take-over rule).
    var observer: WorkerIdentity = .current()
    /// "--db X" as `report serve` was given it (`CommandHint.databaseArgument`: a URL without its
    /// password), "" without --db: what the `runner resume` command of a stalled notice adds, so that
    /// it resumes the database served, as `report`'s hints do.
    var databaseArgument = ""
    /// The served role's name when it may only read (`RunQueries.readOnlyRoleName`): the resume
    /// commands then go without that --db, with a note saying where they work (newuser16 N1).
    var readOnlyRole: String? = nil

    /// Run states that mean a run is over.
    static let finishedStatuses: Set<String> = ["completed", "pruned", "diverged", "failed"]
    static let statuses = ["queued", "running", "completed", "pruned", "diverged", "failed"]
    /// Rows per page of the runs table unless `limit` says otherwise, and the most a page may hold.
    static let defaultPageSize = 50, maximumPageSize = 500
    /// The most runs one curves or comparison request may name.
    static let maximumCurveRuns = 50
    /// The most runs the parallel-coordinates plot draws (the best ones by the metric).
    static let defaultParallelRuns = 1000, maximumParallelRuns = 10_000

    // MARK: parameters

    static func integer(_ text: String?, name: String, default value: Int? = nil, range: ClosedRange<Int>) throws -> Int? {
        guard let text else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw DashboardError.badParameter("\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound), not \(quoted(text))")
        }
        return number
    }

    static func identifier(_ text: String?, name: String) throws -> Int64 {
        guard let text, let id = Int64(text), id > 0 else {
            throw DashboardError.badParameter("\(name) must be a positive whole number (an id), not \(quoted(text ?? ""))")
        }
        return id
    }

    /// A comma-separated list of run ids: `runs=3,7,12`.
    static func runIDs(_ text: String?) throws -> [Int64] {
        guard let text, !text.isEmpty else { throw DashboardError.badParameter("runs: give run ids separated by commas, e.g. runs=3,7,12") }
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count <= maximumCurveRuns else {
            throw DashboardError.badParameter("runs: at most \(maximumCurveRuns) runs at a time, not \(parts.count)")
        }
        var seen = Set<Int64>()
        return try parts.map { try identifier(String($0), name: "runs") }.filter { seen.insert($0).inserted }
    }

    static func filter(_ text: String?) throws -> RunFilter? {
        guard let text, !text.trimmingCharacters(in: .whitespaces).isEmpty else { return nil }
        do { return try RunFilterParser.parse(text) } catch let error as ReportError { throw DashboardError.badParameter("where: \(error.description)") }
    }

    static func column(_ text: String, name: String, numeric: Bool = false) throws -> RunColumn {
        let column: RunColumn
        do { column = try RunFilterParser.column(named: text) } catch let error as ReportError { throw DashboardError.badParameter("\(name): \(error.description)") }
        if numeric && !column.isNumeric {
            throw DashboardError.badParameter("\(name) must be a numeric column, not \(quoted(column.rawValue)); numeric columns: \(numericColumns.map(\.rawValue).joined(separator: ", "))")
        }
        return column
    }

    static let numericColumns = RunColumn.allCases.filter(\.isNumeric).sorted { $0.rawValue < $1.rawValue }

    /// Text for a message: quoted, at most 80 characters, control and bidi characters shown as escapes (`shownText`).
    static func quoted(_ text: String) -> String { shownText(text, limit: 80, quote: "'") }

    // MARK: shapes shared by several responses

    /// A run's columns; with its status, also `stalled`: null, or when it is `running` but its
    /// worker is gone, its last heartbeat, that heartbeat's age in seconds and the command that resumes it.
    static func runObject(_ run: SlopeStore.RunRecord, columns: [RunColumn] = RunColumn.allCases, stalled: [Int64: StalledRun],
                          databaseArgument: String, readOnlyRole: String? = nil) -> JSONValue {
        var fields = columns.map { ($0.rawValue, value(run, $0)) }
        if columns.contains(.status) {
            let heartbeat = stalled[run.id].map {
                JSONValue.object([("heartbeat_at", JSONValue($0.heartbeatAt)), ("heartbeat_age", JSONValue($0.heartbeatAge)),
                                  ("resume", .string(resumeCommand("--run \(run.id)", databaseArgument: databaseArgument, readOnlyRole: readOnlyRole))),
                                  ("resume_note", JSONValue(readOnlyRole.map(CommandHint.readOnlyNote)))])
            }
            fields.append(("stalled", heartbeat ?? JSONValue.null))
        }
        return .object(fields)
    }

    /// A run's column as JSON: a boolean setting (nesterov, bias, standardize; 0 or 1 in SQL) as
    /// true/false, as every `report` table prints it.
    static func value(_ run: SlopeStore.RunRecord, _ column: RunColumn) -> JSONValue {
        let value = run[column]
        if let flag = column.boolean(value) { return .bool(flag) }
        return JSONValue(value)
    }

    /// `runner resume --sweep 1 --db st.db`: the command a stalled notice suggests, with the served
    /// database's --db when it was given one (not when its role may only read: `resume_note` says
    /// where the command works then).
    static func resumeCommand(_ target: String, databaseArgument: String, readOnlyRole: String? = nil) -> String {
        "runner resume \(target)" + (databaseArgument.isEmpty || readOnlyRole != nil ? "" : " \(databaseArgument)")
    }

    /// The stalled runs (running, worker gone: `RunQueries.stalledRuns`) of a sweep, or of the whole
    /// database when nil, by run id; no query when `among` is given and none of those runs is running.
    func stalledRuns(_ queries: RunQueries, sweepID: Int64? = nil, among runs: [SlopeStore.RunRecord]? = nil) throws -> [Int64: StalledRun] {
        if let runs, !runs.contains(where: { $0.status == .running }) { return [:] }
        let stalled = try queries.stalledRuns(sweepID: sweepID, staleAfter: staleAfter, observer: observer)
        return Dictionary(uniqueKeysWithValues: stalled.map { ($0.runID, $0) })
    }

    /// A sweep as `/api/sweeps` and `/api/sweeps/ID` show it. Live: some run trains, held by a
    /// worker that is not gone; `stalled`: null, or how many running runs lost their worker and the
    /// latest heartbeat among them (they have been stalled since at most then), and the command that resumes them.
    static func sweepFields(_ sweep: SlopeStore.SweepRecord, counts: [String: Int], stalled: [StalledRun],
                            databaseArgument: String, readOnlyRole: String? = nil) -> [(String, JSONValue)] {
        let done = counts.filter { finishedStatuses.contains($0.key) }.values.reduce(0, +)
        let latest = stalled.max { ($0.heartbeatAt ?? "") < ($1.heartbeatAt ?? "") }
        let stalledObject = latest.map { run in
            JSONValue.object([("runs", .integer(Int64(stalled.count))), ("heartbeat_at", JSONValue(run.heartbeatAt)),
                              ("heartbeat_age", JSONValue(run.heartbeatAge)),
                              ("resume", .string(resumeCommand("--sweep \(sweep.id)", databaseArgument: databaseArgument, readOnlyRole: readOnlyRole))),
                              ("resume_note", JSONValue(readOnlyRole.map(CommandHint.readOnlyNote)))])
        }
        return [
            ("id", .integer(sweep.id)), ("name", .string(sweep.name)), ("status", .string(sweep.status.rawValue)),
            ("created_at", .string(sweep.createdAt)), ("runs", .integer(Int64(sweep.runCount))),
            ("done", .integer(Int64(done))), ("counts", countsObject(counts)),
            ("live", .bool((counts["running"] ?? 0) > stalled.count)),
            ("stalled", stalledObject ?? .null),
        ]
    }

    /// `columns=id,name,...`: the run columns an answer should carry (`id` always, first), in the
    /// order given; nil (every column) when not given.
    static func runColumns(_ text: String?) throws -> [RunColumn]? {
        guard let text, !text.isEmpty else { return nil }
        var chosen: [RunColumn] = [.id]
        for name in text.split(separator: ",", omittingEmptySubsequences: false) {
            let column = try column(String(name).trimmingCharacters(in: .whitespaces), name: "columns")
            if !chosen.contains(column) { chosen.append(column) }
        }
        return chosen
    }

    static func countsObject(_ counts: [String: Int]) -> JSONValue {
        .object(statuses.map { ($0, .integer(Int64(counts[$0] ?? 0))) })
    }

    /// The metrics a sweep's heatmap and plots offer: its numeric results, validation ones only when it validates.
    static let resultColumns: [RunColumn] = [.best_val_loss, .final_val_loss, .best_train_loss, .final_train_loss,
                                             .final_val_accuracy, .final_train_accuracy, .best_epoch, .epochs_done]

    // MARK: responses

    /// `/api/changes`: the change token (see `RunQueries.changeToken`).
    func changes() throws -> JSONValue {
        .object([("token", .string(try queries.changeToken()))])
    }

    /// `/api/sweeps`: every sweep with its runs by status, best value and whether it is live.
    func sweeps() throws -> JSONValue {
        try queries.snapshot { queries in
            let counts = try queries.runStatusCounts()
            // The best value of each sweep's own metric (its page's and `report grid`'s): one query for all.
            let bests = try queries.sweepBests(columns: Self.resultColumns)
            let stalled = try Dictionary(grouping: stalledRuns(queries).values.filter { $0.sweepID != nil }, by: { $0.sweepID! })
            let sweeps = try queries.sweepSummaries().map { sweep -> JSONValue in
                let best = bests[sweep.id] ?? SweepBest()
                let (metric, goal) = Reporter.defaultMetric(specJSON: sweep.specJSON, validates: best.validates,
                                                            hasRuns: !(counts[sweep.id] ?? [:]).values.allSatisfy { $0 == 0 })
                let value = goal == .max ? best.maximums[metric] : best.minimums[metric]
                return .object(Self.sweepFields(sweep, counts: counts[sweep.id] ?? [:], stalled: stalled[sweep.id] ?? [],
                                                databaseArgument: databaseArgument, readOnlyRole: readOnlyRole)
                               + [("metric", .string(metric.rawValue)), ("best", JSONValue(value))])
            }
            return .object([("sweeps", .array(sweeps)), ("single_runs", .integer(Int64(try queries.runCount(sweepID: nil, filter: .isNull(.sweep_id)))))])
        }
    }

    /// `/api/sweeps/ID`: the sweep, its swept settings (those with more than one value) and metrics;
    /// `metric` is the one `report grid` uses (the sweep's own), where the page's menu starts.
    func sweep(id: Int64) throws -> JSONValue {
        try queries.snapshot { queries in
            guard let sweep = try queries.sweepSummary(id: id) else { throw DashboardError.notFound("no sweep with id \(id) in this database") }
            let counts = try queries.runStatusCounts()[id] ?? [:]
            // A run without a setting (NULL: beta1 of an sgd run) differs from one with it, as in `report grid`.
            let distinct = try queries.distinctValueCounts(sweepID: id, columns: RunColumn.settings)
            let settings = zip(RunColumn.settings, distinct).map { column, values -> JSONValue in
                .object([("name", .string(column.rawValue)), ("numeric", .bool(column.isNumeric)), ("values", .integer(Int64(values)))])
            }
            let swept = RunQueries.swept(RunColumn.settings, counts: distinct)
            // Before its first run (a tpe sweep), the validation metrics stay listed: the sweep's own may be one.
            let validates = try queries.validates(sweepID: id) || counts.values.allSatisfy { $0 == 0 }
            let metrics = Self.resultColumns.filter { validates || !$0.rawValue.contains("val_") }
            let stalled = try Array(stalledRuns(queries, sweepID: id).values)
            return .object([
                ("sweep", .object(Self.sweepFields(sweep, counts: counts, stalled: stalled, databaseArgument: databaseArgument, readOnlyRole: readOnlyRole)
                                  + [("epochs_done", .integer(Int64(try queries.epochsDone(sweepID: id))))])),
                ("settings", .array(settings)),
                ("swept", .array(swept.map { .string($0.rawValue) })),
                ("metrics", .array(metrics.map { .string($0.rawValue) })),
                ("metric", .string(try Reporter(queries: queries).defaultMetric(sweepID: id).column.rawValue)),
                ("curve_metric", .string(validates ? "val_loss" : "train_loss")),
                ("columns", .array(RunColumn.allCases.map { .string($0.rawValue) })),
            ])
        }
    }

    /// `/api/sweeps/ID/runs`: one page of the sweep's runs, filtered by `where` and sorted by `sort`
    /// (a column, `-` first for descending; missing values last), with the total that match; each run
    /// with the `columns` asked for (the table's), else every column.
    /// `/api/runs`: the same over every run of the database (`where=sweep_id is null`: the single runs).
    func runs(sweepID: Int64?, filter filterText: String?, sort sortText: String?, offset offsetText: String?,
              limit limitText: String?, columns columnsText: String? = nil) throws -> JSONValue {
        let filter = try Self.filter(filterText)
        let columns = try Self.runColumns(columnsText) ?? RunColumn.allCases
        var sort: RunSort?
        if let sortText, !sortText.isEmpty {
            do { sort = try RunFilterParser.parseSort(sortText) } catch let error as ReportError { throw DashboardError.badParameter("sort: \(error.description)") }
        }
        let offset = try Self.integer(offsetText, name: "offset", default: 0, range: 0...Int(Int32.max))!
        let limit = try Self.integer(limitText, name: "limit", default: Self.defaultPageSize, range: 1...Self.maximumPageSize)!
        return try queries.snapshot { queries in
            if let sweepID, try queries.sweepSummary(id: sweepID) == nil {
                throw DashboardError.notFound("no sweep with id \(sweepID) in this database")
            }
            let total = try queries.runCount(sweepID: sweepID, filter: filter)
            let runs = try queries.runSummaries(sweepID: sweepID, filter: filter, sort: sort, limit: limit, offset: offset)
            let stalled = try columns.contains(.status) ? stalledRuns(queries, sweepID: sweepID, among: runs) : [:]
            return .object([
                ("total", .integer(Int64(total))), ("offset", .integer(Int64(offset))), ("limit", .integer(Int64(limit))),
                ("sort", JSONValue(sortText)), ("where", JSONValue(filterText)),
                ("runs", .array(runs.map { Self.runObject($0, columns: columns, stalled: stalled, databaseArgument: databaseArgument, readOnlyRole: readOnlyRole) })),
            ])
        }
    }

    /// `/api/sweeps/ID/heatmap`: `metric` aggregated over the runs sharing each (rows, cols) pair.
    func heatmap(sweepID: Int64, rows: String?, columns: String?, metric: String?, filter: String?) throws -> JSONValue {
        let rowColumn = try Self.column(rows ?? "learning_rate", name: "rows")
        let columnColumn = try Self.column(columns ?? "batch_size", name: "cols")
        let metricColumn = try metric.map { try Self.column($0, name: "metric", numeric: true) }
        _ = try Self.filter(filter)
        // Named as this request names them (newuser17 D2); report grid says --rows and --cols.
        if rowColumn == columnColumn { throw DashboardError.badParameter(Reporter.sameAxesMessage(rowColumn, rows: "rows", cols: "cols")) }
        let reporter = Reporter(queries: queries)
        // As `report grid` refuses it (a random or TPE search's 2,000 values per axis): the page shows the message.
        // Decided from a count first, so that a 100,000-run sweep is refused without reading its runs.
        let remedies = "see which settings matter under Importance, choose other rows or columns, or narrow the runs with the filter"
        if let refusal = try reporter.crowdedAxesRefusal(sweepID: sweepID, rows: rowColumn.rawValue, columns: columnColumn.rawValue,
                                                         metric: metricColumn?.rawValue, filter: filter, remedies: remedies) {
            throw DashboardError.badParameter(refusal)
        }
        let pivot: Reporter.Pivot
        do {
            pivot = try reporter.pivot(sweepID: sweepID, rows: rowColumn.rawValue, columns: columnColumn.rawValue,
                                       metric: metricColumn?.rawValue, goal: nil, filter: filter)
        } catch ReportError.noRuns(_) {  // no run matches the filter (or none yet): an empty map, not an error
            guard try queries.sweepSummary(id: sweepID) != nil else { throw DashboardError.notFound("no sweep with id \(sweepID) in this database") }
            let (column, goal) = try metricColumn.map { ($0, Goal.natural(for: $0.rawValue)) } ?? reporter.defaultMetric(sweepID: sweepID)
            return .object([("rows", .string(rowColumn.rawValue)), ("cols", .string(columnColumn.rawValue)),
                            ("metric", .string(column.rawValue)), ("goal", .string(goal.rawValue)),
                            ("row_values", .array([])), ("column_values", .array([])), ("cells", .array([])),
                            ("best", .null), ("note", .null)])
        } catch let error as ReportError { throw DashboardError.from(error) }
        if let refusal = pivot.crowdedAxesRefusal(sweepID: sweepID, remedies: remedies) {
            throw DashboardError.badParameter(refusal)
        }
        var cells: [JSONValue] = []
        for cell in pivot.orderedCells {
            cells.append(.object([
                ("row", JSONValue(cell.rowValue)), ("col", JSONValue(cell.columnValue)), ("runs", .integer(Int64(cell.runCount))),
                ("values", .integer(Int64(cell.valueCount))), ("mean", JSONValue(cell.mean)), ("min", JSONValue(cell.minimum)),
                ("max", JSONValue(cell.maximum)), ("std", JSONValue(cell.standardDeviation)),
                ("best", .bool(cell == pivot.best)), ("diverged", .integer(Int64(cell.divergedCount))),
                ("failed", .integer(Int64(cell.failedCount))),
            ]))
        }
        return .object([
            ("rows", .string(pivot.rowColumn.rawValue)), ("cols", .string(pivot.columnColumn.rawValue)),
            ("metric", .string(pivot.metric.rawValue)), ("goal", .string(pivot.goal.rawValue)),
            ("row_values", .array(pivot.rowValues.map(JSONValue.init))), ("column_values", .array(pivot.columnValues.map(JSONValue.init))),
            ("cells", .array(cells)),
            ("best", pivot.best.map { .object([("row", JSONValue($0.rowValue)), ("col", JSONValue($0.columnValue)), ("mean", JSONValue($0.mean))]) } ?? .null),
            ("note", pivot.notes.isEmpty ? .null : .string(pivot.notes.joined(separator: "; "))),
        ])
    }

    /// `/api/sweeps/ID/parallel`: each run's swept settings and metric, the best `limit` runs by the metric.
    func parallel(sweepID: Int64, metric metricText: String?, filter filterText: String?, limit limitText: String?) throws -> JSONValue {
        let filter = try Self.filter(filterText)
        let limit = try Self.integer(limitText, name: "limit", default: Self.defaultParallelRuns, range: 1...Self.maximumParallelRuns)!
        let requested = try metricText.map { try Self.column($0, name: "metric", numeric: true) }
        return try queries.snapshot { queries in
            guard try queries.sweepSummary(id: sweepID) != nil else { throw DashboardError.notFound("no sweep with id \(sweepID) in this database") }
            let swept = try queries.sweptSettings(sweepID: sweepID)
            let (metric, goal) = try requested.map { ($0, Goal.natural(for: $0.rawValue)) } ?? Reporter(queries: queries).defaultMetric(sweepID: sweepID)
            let total = try queries.runCount(sweepID: sweepID, filter: filter)
            let runs = try queries.runSummaries(sweepID: sweepID, filter: filter, sort: RunSort(column: metric, descending: goal == .max), limit: limit)
            return .object([
                ("settings", .array(swept.map { .string($0.rawValue) })), ("metric", .string(metric.rawValue)),
                ("goal", .string(goal.rawValue)), ("total", .integer(Int64(total))),
                ("runs", .array(runs.map { run in
                    .object([("id", .integer(run.id)), ("status", .string(run.status.rawValue)),
                             ("values", .array(swept.map { JSONValue(run[$0]) })), ("metric", JSONValue(run[metric]))])
                })),
            ])
        }
    }

    /// `/api/sweeps/ID/importance?metric=&where=`: how much of the metric's variance each setting's
    /// main effect explains among the finished runs (`report importance`'s numbers), most first.
    func importance(sweepID: Int64, metric metricText: String?, filter filterText: String?) throws -> JSONValue {
        let requested = try metricText.map { try Self.column($0, name: "metric", numeric: true) }
        _ = try Self.filter(filterText)  // a bad filter is a 400 naming the parameter
        let result: SweepImportance
        do {
            result = try Reporter(queries: queries).importanceOfSettings(sweepID: sweepID, metric: requested?.rawValue, filter: filterText)
        } catch ReportError.noRuns(let message) {  // no run yet, or none matches the filter: nothing to explain, not an error
            guard try queries.sweepSummary(id: sweepID) != nil else { throw DashboardError.notFound("no sweep with id \(sweepID) in this database") }
            // The metric it would rank on, and `report importance`'s message for the same case as the note.
            let (column, goal) = try requested.map { ($0, Goal.natural(for: $0.rawValue)) } ?? Reporter(queries: queries).defaultMetric(sweepID: sweepID)
            return .object([("metric", .string(column.rawValue)), ("goal", .string(goal.rawValue)),
                            ("runs", .integer(0)), ("settings", .array([])), ("note", .string(message)),
                            ("notes", .array([]))])
        } catch ReportError.unknownSweep {
            throw DashboardError.notFound("no sweep with id \(sweepID) in this database")
        } catch let error as ReportError { throw DashboardError.from(error) }
        let note: String?
        if result.runCount < 2 {
            note = "importance needs at least 2 finished runs with a value of \(result.metric.rawValue); \(result.runCount) so far"
        } else {
            note = Reporter.noImportanceNote(result)  // a seed per run varies, but explains nothing: said as `report importance` says it
        }
        return .object([
            ("metric", .string(result.metric.rawValue)), ("goal", .string(result.goal.rawValue)), ("runs", .integer(Int64(result.runCount))),
            ("settings", .array(result.settings.map { item in
                .object([("setting", .string(item.setting)), ("importance", .number(item.share)), ("groups", .integer(Int64(item.groupCount))),
                         ("best_group", .string(item.bestGroup)), ("best_mean", .number(item.bestMean)),
                         ("merged", .array(item.merged.map { .string($0) }))])
            })),
            ("note", JSONValue(note)),
            // What `report importance` prints above its table: the settings merged into another, shares that overlap.
            ("notes", .array(Reporter.importanceNotes(result).map { .string($0) })),
        ])
    }

    /// `/api/curves?runs=...&metric=...`: per-epoch values of the runs, one series each.
    func curves(runs runsText: String?, metric metricText: String?) throws -> JSONValue {
        let runIDs = try Self.runIDs(runsText)
        var metric: CurveMetric?
        if let metricText {
            guard let parsed = CurveMetric(rawValue: metricText) else {
                throw DashboardError.badParameter("metric must be one of \(CurveMetric.allCases.map(\.rawValue).joined(separator: ", ")), not \(Self.quoted(metricText))")
            }
            metric = parsed
        }
        return try queries.snapshot { queries in
            var runs: [SlopeStore.RunRecord] = []
            for id in runIDs {
                guard let run = try queries.runSummary(id: id) else { throw DashboardError.notFound("no run with id \(id) in this database") }
                runs.append(run)
            }
            let chosen = metric ?? Reporter.defaultCurveMetric(runs)
            // A long run's curve is thinned as its page's is (`run(id:)`): every step-th epoch and the latest.
            let steps = Dictionary(uniqueKeysWithValues: try runs.map { run in
                (run.id, try Self.epochStep(stored: run.epochsDone > Self.allEpochsUpTo ? queries.epochCount(runID: run.id) : run.epochsDone))
            })
            var byRun = Dictionary(grouping: try queries.epochRows(runIDs: runIDs.filter { steps[$0] == 1 }), by: \.runID)
            for run in runs where steps[run.id]! > 1 {
                byRun[run.id] = try queries.epochRows(runID: run.id, every: steps[run.id]!, latest: Self.latestEpochs)
            }
            let series = runs.map { run -> JSONValue in
                let points = (byRun[run.id] ?? []).compactMap { row -> JSONValue? in
                    guard let value = chosen.value(in: row.record) else { return nil }
                    return .array([.integer(Int64(row.epoch)), .number(value)])
                }
                return .object([("run_id", .integer(run.id)), ("name", JSONValue(run.name)), ("status", .string(run.status.rawValue)),
                                ("points", .array(points)), ("epoch_step", .integer(Int64(steps[run.id]!)))])
            }
            return .object([("metric", .string(chosen.rawValue)), ("series", .array(series))])
        }
    }

    /// A run's page shows every epoch up to this many; beyond, its curves get about `chartEpochs`
    /// epochs (every step-th) and its table the `latestEpochs` last, so that the page of a
    /// 100,000-epoch run stays small. `/api/runs/ID/epochs` pages through every epoch, exactly.
    static let allEpochsUpTo = 2000, chartEpochs = 1000, latestEpochs = 100
    /// Epochs per page of `/api/runs/ID/epochs` unless `limit` says otherwise, and the most a page may hold.
    static let defaultEpochPageSize = 1000, maximumEpochPageSize = 10_000

    /// 1 (every epoch) for a run of at most `allEpochsUpTo` stored epochs, else the step that leaves about `chartEpochs`.
    static func epochStep(stored: Int) -> Int {
        stored <= allEpochsUpTo ? 1 : (stored + chartEpochs - 1) / chartEpochs
    }

    static func epochObject(_ row: EpochRow) -> JSONValue {
        .object([("epoch", .integer(Int64(row.epoch))), ("train_loss", JSONValue(row.trainLoss)),
                 ("val_loss", JSONValue(row.validationLoss)), ("train_accuracy", JSONValue(row.trainAccuracy)),
                 ("val_accuracy", JSONValue(row.validationAccuracy)), ("seconds", .number(row.seconds))])
    }

    /// `/api/runs/ID`: the run's columns, configuration, per-epoch table (every epoch up to
    /// `allEpochsUpTo`, else every `epochs_step`-th and the `latestEpochs` last) and the epochs that
    /// hold tensors, thinned by the same rule (`tensor_epochs_step`; every one: `/api/runs/ID/layers?offset=&limit=`).
    func run(id: Int64) throws -> JSONValue {
        try queries.snapshot { queries in
            guard let run = try queries.runSummary(id: id) else { throw DashboardError.notFound("no run with id \(id) in this database") }
            let stored = try queries.epochCount(runID: id)
            let step = Self.epochStep(stored: stored)
            let rows = step == 1 ? try queries.epochRows(runIDs: [id])
                                 : try queries.epochRows(runID: id, every: step, latest: Self.latestEpochs)
            let tensorStored = try queries.tensorEpochCount(runID: id)
            let tensorStep = Self.epochStep(stored: tensorStored)
            let tensorEpochs = tensorStep == 1 ? try queries.tensorEpochs(runID: id)
                                               : try queries.tensorEpochs(runID: id, every: tensorStep, latest: Self.latestEpochs)
            let stalled = try stalledRuns(queries, sweepID: run.sweepID, among: [run])
            return .object([
                ("run", Self.runObject(run, stalled: stalled, databaseArgument: databaseArgument, readOnlyRole: readOnlyRole)), ("config_json", .string(run.configJSON)),
                ("error", JSONValue(run.error)),
                ("settings", .array(RunColumn.settings.map { .string($0.rawValue) })),
                ("epochs", .array(rows.map(Self.epochObject))),
                ("epochs_stored", .integer(Int64(stored))), ("epochs_step", .integer(Int64(step))),
                ("tensor_epochs", .array(tensorEpochs.map { .integer(Int64($0)) })),
                ("tensor_epochs_stored", .integer(Int64(tensorStored))), ("tensor_epochs_step", .integer(Int64(tensorStep))),
            ])
        }
    }

    /// `/api/runs/ID/epochs?offset=&limit=`: a page of the run's epochs, every one exact, with the total stored.
    func epochs(runID: Int64, offset offsetText: String?, limit limitText: String?) throws -> JSONValue {
        let offset = try Self.integer(offsetText, name: "offset", default: 0, range: 0...Int(Int32.max))!
        let limit = try Self.integer(limitText, name: "limit", default: Self.defaultEpochPageSize, range: 1...Self.maximumEpochPageSize)!
        return try queries.snapshot { queries in
            guard try queries.runSummary(id: runID) != nil else { throw DashboardError.notFound("no run with id \(runID) in this database") }
            return .object([
                ("run_id", .integer(runID)), ("total", .integer(Int64(try queries.epochCount(runID: runID)))),
                ("offset", .integer(Int64(offset))), ("limit", .integer(Int64(limit))),
                ("epochs", .array(try queries.epochRows(runID: runID, offset: offset, limit: limit).map(Self.epochObject))),
            ])
        }
    }

    /// `/api/runs/ID/layers`: per epoch and layer, weight and gradient norms and the update-to-weight
    /// ratio, of the tensor epochs `/api/runs/ID` lists (every one up to `allEpochsUpTo`, else
    /// thinned as its epochs are: `epochs_step`). With `offset` or `limit`: a page of the tensor
    /// epochs (default 1,000, at most 10,000), every layer of each, exact, with the total stored.
    func layers(runID: Int64, offset offsetText: String? = nil, limit limitText: String? = nil) throws -> JSONValue {
        let paged = offsetText != nil || limitText != nil
        let offset = try Self.integer(offsetText, name: "offset", default: 0, range: 0...Int(Int32.max))!
        let limit = try Self.integer(limitText, name: "limit", default: Self.defaultEpochPageSize, range: 1...Self.maximumEpochPageSize)!
        return try queries.snapshot { queries in
            guard try queries.runSummary(id: runID) != nil else { throw DashboardError.notFound("no run with id \(runID) in this database") }
            let stored = try queries.tensorEpochCount(runID: runID)
            let step = paged ? 1 : Self.epochStep(stored: stored)
            let rows = paged ? try queries.layerStatistics(runID: runID, offset: offset, limit: limit)
                             : step == 1 ? try queries.layerStatistics(runID: runID)
                                         : try queries.layerStatistics(runID: runID, every: step, latest: Self.latestEpochs)
            var fields: [(String, JSONValue)] = [("layers", .array(rows.map { row in
                .object([("epoch", .integer(Int64(row.epoch))), ("layer", .integer(Int64(row.layer))),
                         ("weight_l2", JSONValue(row.weightL2)), ("gradient_l2", JSONValue(row.gradientL2)),
                         ("update_to_weight_ratio", JSONValue(row.updateToWeightRatio))])
            }))]
            fields += paged ? [("total", .integer(Int64(stored))), ("offset", .integer(Int64(offset))), ("limit", .integer(Int64(limit)))]
                            : [("epochs_stored", .integer(Int64(stored))), ("epochs_step", .integer(Int64(step)))]
            return .object(fields)
        }
    }

    /// `/api/runs/ID/tensors?epoch=E`: the tensors stored at an epoch (shapes and statistics, no values).
    func tensors(runID: Int64, epoch epochText: String?) throws -> JSONValue {
        let epoch = try Self.integer(epochText, name: "epoch", range: 0...Int(Int32.max))
        return try queries.snapshot { queries in
            guard try queries.runSummary(id: runID) != nil else { throw DashboardError.notFound("no run with id \(runID) in this database") }
            // The latest by default: one row read, not the list of a long run's tensor epochs (read for a message only).
            guard let chosen = try epoch ?? queries.latestTensorEpoch(runID: runID) else { return .object([("epoch", .null), ("tensors", .array([]))]) }
            let tensors = try queries.storedTensors(runID: runID, epoch: chosen)
            guard !tensors.isEmpty else {
                throw DashboardError.notFound("run \(runID) has no tensors for epoch \(chosen); stored: \(Reporter.epochRanges(try queries.tensorEpochs(runID: runID), near: chosen))")
            }
            return .object([("epoch", .integer(Int64(chosen))), ("tensors", .array(tensors.map { tensor in
                .object([("layer", .integer(Int64(tensor.layer))), ("kind", .string(tensor.kind.rawValue)), ("rows", .integer(Int64(tensor.rows))),
                         ("cols", .integer(Int64(tensor.cols))), ("dtype", .string(tensor.dtype.rawValue)), ("l2", JSONValue(tensor.l2)),
                         ("mean", JSONValue(tensor.mean)), ("std", JSONValue(tensor.std)), ("min", JSONValue(tensor.min)),
                         ("max", JSONValue(tensor.max))])
            }))])
        }
    }


    /// The one tensor a histogram or download names (all three parameters required).
    func tensor(runID: Int64, epoch epochText: String?, layer layerText: String?, kind kindText: String?) throws -> SlopeStore.StoredTensor {
        guard let epoch = try Self.integer(epochText, name: "epoch", range: 0...Int(Int32.max)) else { throw DashboardError.badParameter("epoch: give the epoch, e.g. epoch=3") }
        guard let layer = try Self.integer(layerText, name: "layer", range: 1...Int(Int32.max)) else { throw DashboardError.badParameter("layer: give the layer, e.g. layer=1") }
        let kinds = SlopeStore.TensorKind.allCases.map(\.rawValue)  // every kind a run stores, optimizer state too
        guard let kindText, let kind = SlopeStore.TensorKind(rawValue: kindText) else {
            throw DashboardError.badParameter("kind must be one of \(kinds.joined(separator: ", ")), not \(Self.quoted(kindText ?? ""))")
        }
        return try queries.snapshot { queries in
            guard try queries.runSummary(id: runID) != nil else { throw DashboardError.notFound("no run with id \(runID) in this database") }
            guard let tensor = try queries.storedTensors(runID: runID, epoch: epoch, layer: layer, kind: kind).first else {
                throw DashboardError.notFound("run \(runID) has no \(kindText) of layer \(layer) at epoch \(epoch)")
            }
            return tensor
        }
    }

    /// `/api/runs/ID/histogram`: the tensor's values counted in `bins` equal-width bins from min to max.
    func histogram(runID: Int64, epoch: String?, layer: String?, kind: String?, bins binsText: String?) throws -> JSONValue {
        let binCount = try Self.integer(binsText, name: "bins", default: 30, range: 1...1000)!
        let tensor = try tensor(runID: runID, epoch: epoch, layer: layer, kind: kind)
        let values = tensor.doubles
        let finite = values.filter(\.isFinite)
        let low = finite.min() ?? 0, high = finite.max() ?? 0
        let bins = Self.histogramBins(finite, count: binCount).map { bin -> JSONValue in
            .object([("low", .number(bin.low)), ("high", .number(bin.high)), ("count", .integer(Int64(bin.count)))])
        }
        return .object([
            ("epoch", .integer(Int64(tensor.epoch))), ("layer", .integer(Int64(tensor.layer))), ("kind", .string(tensor.kind.rawValue)),
            ("rows", .integer(Int64(tensor.rows))), ("cols", .integer(Int64(tensor.cols))), ("count", .integer(Int64(values.count))),
            ("non_finite", .integer(Int64(values.count - finite.count))), ("min", .number(low)), ("max", .number(high)),
            ("bins", .array(bins)),
        ])
    }

    /// `count` equal-width bins from the smallest to the largest of `finite` (finite values), each
    /// with its value count. Computed on the values divided by a power of two near the largest
    /// |value| (exact), so that the width cannot overflow for values spanning more than Double's
    /// range (1e308 and -1e308); no index conversion can meet an infinite or NaN position.
    static func histogramBins(_ finite: [Double], count binCount: Int) -> [(low: Double, high: Double, count: Int)] {
        let low = finite.min() ?? 0, high = finite.max() ?? 0
        let largest = max(abs(low), abs(high))
        let scale = largest > 0 ? Double(sign: .plus, exponent: largest.exponent, significand: 1) : 1
        let scaledLow = low / scale, scaledHigh = high / scale
        var counts = [Int](repeating: 0, count: binCount)
        let width = (scaledHigh - scaledLow) / Double(binCount)
        for value in finite {
            let position = width > 0 ? (value / scale - scaledLow) / width : 0
            let index = position.isFinite ? min(binCount - 1, max(0, Int(position))) : binCount - 1
            counts[index] += 1
        }
        return counts.enumerated().map { index, count in
            let binLow = scale * (scaledLow + Double(index) * width)
            let binHigh = index == binCount - 1 ? high : scale * (scaledLow + Double(index + 1) * width)
            return (binLow, binHigh, count)
        }
    }

    /// `/api/runs/ID/tensor.npy`: the tensor as a NumPy file and its download name.
    func npy(runID: Int64, epoch: String?, layer: String?, kind: String?) throws -> (name: String, data: Data) {
        let tensor = try tensor(runID: runID, epoch: epoch, layer: layer, kind: kind)
        let data: Data
        do {
            data = try Reporter(queries: queries).tensors(runID: runID, epoch: tensor.epoch, layer: tensor.layer, kind: tensor.kind.rawValue, format: .npy)
        } catch let error as ReportError { throw DashboardError.from(error) }
        return ("run\(runID)-epoch\(tensor.epoch)-layer\(tensor.layer)-\(tensor.kind.rawValue).npy", data)
    }

    /// `/api/compare?runs=...`: the runs side by side and which settings differ between them.
    func compare(runs runsText: String?) throws -> JSONValue {
        let runIDs = try Self.runIDs(runsText)
        return try queries.snapshot { queries in
            let runs = try runIDs.map { id -> SlopeStore.RunRecord in
                guard let run = try queries.runSummary(id: id) else { throw DashboardError.notFound("no run with id \(id) in this database") }
                return run
            }
            let differing = RunColumn.settings.filter { column in Set(runs.map { $0[column] }).count > 1 }
            let stalled = try stalledRuns(queries, among: runs)
            return .object([
                ("runs", .array(runs.map { run in
                    .object([("run", Self.runObject(run, stalled: stalled, databaseArgument: databaseArgument, readOnlyRole: readOnlyRole)),
                             ("config_json", .string(run.configJSON))])
                })),
                ("differing", .array(differing.map { .string($0.rawValue) })),
                ("settings", .array(RunColumn.settings.map { .string($0.rawValue) })),
            ])
        }
    }
}
