// Read-only queries behind `report`, the dashboard, the runner's summaries and the worker: the one
// read API over the tables (Reads.swift only wraps a few of them). Run summaries (filtered, sorted)
// and counts, epochs, layer statistics, tensors, pivots. Column names come from `RunColumn`; values are bound arguments.
import Foundation

/// One value of a run column, as stored.
public enum RunValue: Hashable, Sendable {
    case integer(Int64), real(Double), text(String), null

    init(_ value: SQLValue) {
        switch value {
        case .integer(let v): self = .integer(v)
        case .real(let v): self = .real(v)
        case .text(let v): self = .text(v)
        case .blob, .null: self = .null
        }
    }

    /// A typed property's value as the store holds it (NaN, which it cannot hold, as NULL).
    init(_ value: Double?) { self = value.map { $0.isNaN ? .null : .real($0) } ?? .null }
    init(_ value: Int?) { self = value.map { .integer(Int64($0)) } ?? .null }
    init(_ value: Int64?) { self = value.map { .integer($0) } ?? .null }
    init(_ value: String?) { self = value.map { .text($0) } ?? .null }

    public var double: Double? {
        switch self {
        case .integer(let v): return Double(v)
        case .real(let v): return v
        case .text, .null: return nil
        }
    }
}

/// One row of `epochs` with its run: the run id next to the stored epoch (`row.trainLoss` and the
/// other fields read through to `record`).
@dynamicMemberLookup
public struct EpochRow: Equatable, Sendable {
    public var runID: Int64
    public var record: SlopeStore.EpochRecord

    public subscript<Value>(dynamicMember field: KeyPath<SlopeStore.EpochRecord, Value>) -> Value { record[keyPath: field] }

    static let selectList = "run_id, " + SlopeStore.EpochRecord.selectList

    init(row: SQLRow) throws {
        runID = try row.required("run_id")
        record = try SlopeStore.EpochRecord(row: row)
    }
}

/// One row of the `layer_stats` view.
public struct LayerStatisticsRow: Equatable, Sendable {
    public var epoch: Int
    public var layer: Int
    public var weightL2: Double?
    public var gradientL2: Double?
    public var updateToWeightRatio: Double?

    public init(epoch: Int, layer: Int, weightL2: Double?, gradientL2: Double?, updateToWeightRatio: Double?) {
        self.epoch = epoch; self.layer = layer; self.weightL2 = weightL2
        self.gradientL2 = gradientL2; self.updateToWeightRatio = updateToWeightRatio
    }
}

/// The read-only queries `report` runs, over the store's backend (opened read-only by `report`).
public struct RunQueries: @unchecked Sendable {  // `snapshotConnection` never leaves `snapshot(_:)`
    /// The store whose backend runs the queries (kept alive here: it closes the database when it goes away).
    let store: SlopeStore
    /// Inside `snapshot(_:)`: the one read transaction every query of the snapshot uses.
    private let snapshotConnection: (any SQLConnection)?
    /// Called once a read transaction of these queries has begun (the database answered).
    private let readBegun: (@Sendable () -> Void)?

    init(store: SlopeStore, snapshotConnection: (any SQLConnection)? = nil, readBegun: (@Sendable () -> Void)? = nil) {
        self.store = store
        self.snapshotConnection = snapshotConnection
        self.readBegun = readBegun
    }

    /// These queries, calling `observer` whenever one of their read transactions has begun: the
    /// dashboard tells a request that reads for long (too much asked) from a database that does
    /// not answer (a server down, a file locked), which never begins one.
    public func observingReads(_ observer: @escaping @Sendable () -> Void) -> RunQueries {
        RunQueries(store: store, snapshotConnection: snapshotConnection, readBegun: observer)
    }

    var path: String { store.path }

    /// Whether these queries all read one snapshot.
    public var isSnapshot: Bool { snapshotConnection != nil }

    /// Runs `body` with queries that all read the same snapshot (one read transaction), so
    /// that a report made of several queries is consistent while a sweep keeps writing. `body`
    /// may take its time between queries (on PostgreSQL the idle-in-transaction timeout is off
    /// for it). It runs again after a connection lost and found again (PostgreSQL): what it did
    /// outside the database the first time is done twice unless it checks.
    public func snapshot<T>(_ body: (RunQueries) throws -> T) throws -> T {
        if isSnapshot { return try body(self) }
        return try read { c in
            if let statement = dialect.pausableSnapshotStatement { try c.execute(statement, []) }
            return try body(RunQueries(store: store, snapshotConnection: c, readBegun: readBegun))
        }
    }

    /// One read transaction (a snapshot: a sweep may keep writing); errors leave as StoreError.
    /// With an observer (`observingReads`), the read is said to have begun only once `readProbe`
    /// has returned: a connection handed over (on PostgreSQL, after BEGIN) is not yet an answer,
    /// since a statement may then wait for another session's lock (a migration, `ALTER TABLE`,
    /// `VACUUM FULL`, `TRUNCATE`), and that wait is the database not answering, not a request
    /// that reads too much.
    func read<T>(_ body: (any SQLConnection) throws -> T) throws -> T {
        if let snapshotConnection { return try body(snapshotConnection) }
        return try store.read { connection in
            if let readBegun {
                _ = try connection.rows(Self.readProbe, [])
                readBegun()
            }
            return try body(connection)
        }
    }

    /// A statement that takes the locks a read takes on every table the reads use (on PostgreSQL,
    /// ACCESS SHARE: it waits behind an exclusive lock) and reads no row (LIMIT 0: no table is scanned).
    static let readProbe = "SELECT 1 FROM sweeps, runs, epochs, tensors LIMIT 0"

    /// The dialect of the store's backend.
    var dialect: SQLDialect { store.backend.dialect }

    /// Runs matching the optional sweep and filter, sorted (missing values last), at most `limit`
    /// after skipping the first `offset` (a page of a long table).
    /// - Complexity: with a sort on an indexed column and no filter, reads about `offset + limit` rows.
    public func runSummaries(sweepID: Int64? = nil, filter: RunFilter? = nil, sort: RunSort? = nil,
                             limit: Int? = nil, offset: Int = 0) throws -> [SlopeStore.RunRecord] {
        let (conditions, arguments) = Self.runConditions(sweepID: sweepID, filter: filter, dialect)
        return try read { c in
            func query(_ extraCondition: String?) -> (sql: String, arguments: [SQLValue]) {
                let all = conditions + (extraCondition.map { [$0] } ?? [])
                var sql = "FROM runs"
                if !all.isEmpty { sql += " WHERE " + all.joined(separator: " AND ") }
                return (sql, arguments)
            }
            func fetch(_ extraCondition: String?, order: String, limit: Int?, offset: Int) throws -> [SlopeStore.RunRecord] {
                var (sql, bound) = query(extraCondition)
                sql = "SELECT \(SlopeStore.RunRecord.selectList) \(sql) ORDER BY \(order)"
                if limit != nil || offset > 0 {
                    sql += " LIMIT ? OFFSET ?"
                    bound += [limit.map { .integer(Int64($0)) } ?? c.dialect.noLimit, .integer(Int64(offset))]
                }
                return try c.rows(sql, bound).map(SlopeStore.RunRecord.init(row:))
            }
            guard let sort else { return try fetch(nil, order: "runs.id", limit: limit, offset: offset) }
            if sort.column.holdsNumbersAsText {
                return try Self.sortedByNumbersInText(sort, query(nil), limit: limit, offset: offset, c)
            }
            // Two passes keep an index usable for the ordered part and put missing values last; ties
            // go by id in the same direction, so the index order is the whole order (no sort step).
            let column = sort.column.orderedExpression(c.dialect)
            let direction = sort.descending ? "DESC" : "ASC"
            // (Missing: NULL, or a NaN on PostgreSQL, which SQLite cannot hold: `missingCondition`.)
            var result = try fetch(sort.column.valuedCondition(c.dialect), order: "\(column) \(direction), runs.id \(direction)",
                                   limit: limit, offset: offset)
            let remaining = limit.map { $0 - result.count }
            if remaining == nil || remaining! > 0 {
                // The page may start inside the missing values: skip those the first pass did not reach.
                var nullOffset = 0
                if offset > 0 && result.isEmpty {
                    let (countSQL, bound) = query(sort.column.valuedCondition(c.dialect))
                    let valued = try c.value("SELECT count(*) \(countSQL)", bound, as: Int.self) ?? 0
                    nullOffset = max(0, offset - valued)
                }
                result += try fetch(sort.column.missingCondition(c.dialect), order: "runs.id", limit: remaining, offset: nullOffset)
            }
            return result
        }
    }

    /// `runSummaries` sorted by a column of numbers held as text (`hidden` "32" before "128"), which
    /// SQL would order by bytes: the matching runs' ids and values are read and ordered here (missing
    /// values last, ties by id in the same direction), then the page's records are read.
    /// - Complexity: reads the id and value of every matching run, and the records of one page.
    private static func sortedByNumbersInText(_ sort: RunSort, _ query: (sql: String, arguments: [SQLValue]), limit: Int?, offset: Int,
                                              _ c: any SQLConnection) throws -> [SlopeStore.RunRecord] {
        let keys = try c.rows("SELECT runs.id, \(sort.column.sqlExpression) \(query.sql)", query.arguments).map { row in
            (id: Int64(sqlValue: row[0]) ?? 0, value: RunValue(String(sqlValue: row[1])))
        }
        let ordered = sort.ordered(keys, id: \.id, value: \.value).map(\.id)
        let page = Array(ordered.dropFirst(offset).prefix(limit ?? ordered.count))
        var records: [Int64: SlopeStore.RunRecord] = [:]
        for start in stride(from: 0, to: page.count, by: 500) {  // well below both servers' limits on bound values
            let ids = Array(page[start..<min(start + 500, page.count)])
            let marks = Array(repeating: "?", count: ids.count).joined(separator: ", ")
            for row in try c.rows("SELECT \(SlopeStore.RunRecord.selectList) FROM runs WHERE runs.id IN (\(marks))", ids) {
                let record = try SlopeStore.RunRecord(row: row)
                records[record.id] = record
            }
        }
        return page.compactMap { records[$0] }
    }

    public func runSummary(id: Int64) throws -> SlopeStore.RunRecord? {
        try read { c in
            try c.rows("SELECT \(SlopeStore.RunRecord.selectList) FROM runs WHERE runs.id = ?", [id]).first.map(SlopeStore.RunRecord.init(row:))
        }
    }

    /// How many runs match the optional sweep (every run when nil) and filter: the one count of
    /// runs, for the worker, the runner, report and the dashboard.
    public func runCount(sweepID: Int64?, filter: RunFilter? = nil) throws -> Int {
        let (conditions, arguments) = Self.runConditions(sweepID: sweepID, filter: filter, dialect)
        var sql = "SELECT count(*) FROM runs"
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        return try read { c in try c.value(sql, arguments, as: Int.self) ?? 0 }
    }

    /// Whether any run of the sweep (every run when nil) matching `filter` holds out validation
    /// rows (`RunFilter.validating`), from a count: no run is read.
    public func validates(sweepID: Int64?, filter: RunFilter? = nil) throws -> Bool {
        try runCount(sweepID: sweepID, filter: filter.map { .and($0, .validating) } ?? .validating) > 0
    }

    /// Epoch rows of the given runs, ordered by run then epoch.
    public func epochRows(runIDs: [Int64]) throws -> [EpochRow] {
        guard !runIDs.isEmpty else { return [] }
        let marks = Array(repeating: "?", count: runIDs.count).joined(separator: ", ")
        return try read { c in
            try c.rows("SELECT \(EpochRow.selectList) FROM epochs WHERE run_id IN (\(marks)) ORDER BY run_id, epoch", runIDs)
                .map(EpochRow.init(row:))
        }
    }

    /// How many epochs of a run are stored.
    public func epochCount(runID: Int64) throws -> Int {
        try read { c in try c.value("SELECT count(*) FROM epochs WHERE run_id = ?", [runID], as: Int.self) ?? 0 }
    }

    /// A page of a run's epochs in epoch order: at most `limit` after skipping the first `offset`.
    /// - Complexity: reads about `offset + limit` rows of the (run_id, epoch) key.
    public func epochRows(runID: Int64, offset: Int, limit: Int) throws -> [EpochRow] {
        try read { c in
            try c.rows("SELECT \(EpochRow.selectList) FROM epochs WHERE run_id = ? ORDER BY epoch LIMIT ? OFFSET ?",
                       [runID, Int64(limit), Int64(offset)]).map(EpochRow.init(row:))
        }
    }

    /// A run's epochs thinned out for a chart: those whose number is a multiple of `step`, and the
    /// last `latest` stored, in epoch order (each once): `EpochThinning`'s rule, in one statement.
    /// - Complexity: reads the run's epochs' keys; returns about count / `step` + `latest` rows.
    public func epochRows(runID: Int64, every step: Int, latest: Int) throws -> [EpochRow] {
        let thinning = EpochThinning(step: step, latest: latest, epochs: "SELECT epoch FROM epochs WHERE run_id = ?", runID: runID)
        return try read { c in
            try c.rows("SELECT \(EpochRow.selectList) FROM epochs WHERE run_id = ? AND \(thinning.condition) ORDER BY epoch",
                       [SQLValue.integer(runID)] + thinning.arguments).map(EpochRow.init(row:))
        }
    }

    /// The epoch rows of a sweep's runs matching `filter`, ordered by run then epoch: `epochRows(runIDs:)`
    /// of those runs, chosen in SQL rather than by a list of ids (which PostgreSQL limits to 65,535).
    public func epochRows(sweepID: Int64, filter: RunFilter? = nil) throws -> [EpochRow] {
        let (condition, arguments) = Self.runSelection(sweepID: sweepID, filter: filter, dialect)
        return try read { c in
            try c.rows("SELECT \(EpochRow.selectList) FROM epochs\(condition) ORDER BY run_id, epoch", arguments).map(EpochRow.init(row:))
        }
    }

    /// Calls `body` with each epoch row of the runs of a sweep (all runs when nil), streaming.
    public func forEachEpochRow(sweepID: Int64?, filter: RunFilter? = nil, _ body: (EpochRow) throws -> Void) throws {
        let (condition, arguments) = Self.runSelection(sweepID: sweepID, filter: filter, dialect)
        try read { c in
            try c.forEachRow("SELECT \(EpochRow.selectList) FROM epochs\(condition) ORDER BY run_id, epoch", arguments) { row in
                try body(EpochRow(row: row))
            }
        }
    }

    /// The conditions on `runs` that choose the runs of a sweep and/or matching a filter, with their
    /// bound arguments (the filter's SQL names only whitelisted columns).
    static func runConditions(sweepID: Int64?, filter: RunFilter?, _ dialect: SQLDialect) -> (conditions: [String], arguments: [SQLValue]) {
        var conditions: [String] = []
        var arguments: [SQLValue] = []
        if let sweepID {
            conditions.append("runs.sweep_id = ?")
            arguments.append(.integer(sweepID))
        }
        if let filter {
            let (text, filterArguments) = filter.sql(dialect)
            conditions.append(text)
            arguments += filterArguments
        }
        return (conditions, arguments)
    }

    /// " WHERE run_id IN (SELECT ...)" choosing the runs of a sweep and/or matching a filter ("" for all).
    static func runSelection(sweepID: Int64?, filter: RunFilter?, _ dialect: SQLDialect) -> (sql: String, arguments: [SQLValue]) {
        let (conditions, arguments) = runConditions(sweepID: sweepID, filter: filter, dialect)
        guard !conditions.isEmpty else { return ("", []) }
        return (" WHERE run_id IN (SELECT runs.id FROM runs WHERE \(conditions.joined(separator: " AND ")))", arguments)
    }

    /// `layerStatistics(runID:)` of every run of a sweep matching `filter`, by run id, in one statement
    /// (runs without any are left out).
    public func layerStatistics(sweepID: Int64, filter: RunFilter? = nil) throws -> [Int64: [LayerStatisticsRow]] {
        let (condition, arguments) = Self.runSelection(sweepID: sweepID, filter: filter, dialect)
        return try read { c in
            var result: [Int64: [LayerStatisticsRow]] = [:]
            for row in try c.rows("""
                SELECT run_id, epoch, layer, weight_l2, gradient_l2, update_to_weight_ratio
                FROM layer_stats\(condition) ORDER BY run_id, epoch, layer
                """, arguments) {
                result[Int64(sqlValue: row[0]) ?? 0, default: []].append(
                    LayerStatisticsRow(epoch: Int(sqlValue: row[1]) ?? 0, layer: Int(sqlValue: row[2]) ?? 0, weightL2: Double(sqlValue: row[3]),
                                       gradientL2: Double(sqlValue: row[4]), updateToWeightRatio: Double(sqlValue: row[5])))
            }
            return result
        }
    }

    /// Per epoch and layer: weight and gradient L2 norms and the update-to-weight ratio.
    public func layerStatistics(runID: Int64) throws -> [LayerStatisticsRow] {
        try layerStatistics(runID: runID, condition: "", [])
    }

    /// `layerStatistics(runID:)` of the tensor epochs `tensorEpochs(runID:every:latest:)` keeps (the
    /// same rule as a long run's epochs: `EpochThinning`), every layer of each.
    /// - Complexity: returns about (tensor epochs / `step` + `latest`) x layers rows.
    public func layerStatistics(runID: Int64, every step: Int, latest: Int) throws -> [LayerStatisticsRow] {
        let thinning = EpochThinning(step: step, latest: latest, epochs: Self.tensorEpochsSQL, runID: runID)
        return try layerStatistics(runID: runID, condition: " AND " + thinning.condition, thinning.arguments)
    }

    /// `layerStatistics(runID:)` of a page of the run's tensor epochs (`tensorEpochs(runID:offset:limit:)`),
    /// every layer of each, exact.
    /// - Complexity: reads about `offset + limit` tensor epochs' keys; returns `limit` x layers rows at most.
    public func layerStatistics(runID: Int64, offset: Int, limit: Int) throws -> [LayerStatisticsRow] {
        try read { c in
            // The page's first and last tensor epoch (one row), then the rows between them: the epochs of
            // the page are consecutive tensor epochs. (PostgreSQL plans `epoch IN (page)` on the view badly.)
            let bounds = try c.rows("SELECT min(epoch), max(epoch) FROM (\(Self.tensorEpochsSQL) ORDER BY epoch LIMIT ? OFFSET ?) AS page",
                                    [runID, Int64(max(0, limit)), Int64(max(0, offset))]).first
            guard let first = bounds.flatMap({ Int64(sqlValue: $0[0]) }), let last = bounds.flatMap({ Int64(sqlValue: $0[1]) }) else { return [] }
            return try Self.layerStatistics(c, runID: runID, condition: " AND epoch BETWEEN ? AND ?", [.integer(first), .integer(last)])
        }
    }

    private func layerStatistics(runID: Int64, condition: String, _ arguments: [SQLValue]) throws -> [LayerStatisticsRow] {
        try read { c in try Self.layerStatistics(c, runID: runID, condition: condition, arguments) }
    }

    /// One run's rows of the `layer_stats` view (its one definition, migration 0006: the gradient
    /// looked up by its whole key, so PostgreSQL's plan is an index scan of the run's weights and one
    /// primary-key probe per row, statistics or not), `condition` on `epoch` added.
    private static func layerStatistics(_ c: any SQLConnection, runID: Int64, condition: String, _ arguments: [SQLValue]) throws -> [LayerStatisticsRow] {
        try c.rows("""
            SELECT epoch, layer, weight_l2, gradient_l2, update_to_weight_ratio
            FROM layer_stats WHERE run_id = ?\(condition) ORDER BY epoch, layer
            """, [SQLValue.integer(runID)] + arguments).map {
            LayerStatisticsRow(epoch: Int(sqlValue: $0[0]) ?? 0, layer: Int(sqlValue: $0[1]) ?? 0, weightL2: Double(sqlValue: $0[2]),
                               gradientL2: Double(sqlValue: $0[3]), updateToWeightRatio: Double(sqlValue: $0[4]))
        }
    }

    /// Tensors of a run, filtered by epoch, layer and kind when given; ordered by epoch, layer, kind.
    public func storedTensors(runID: Int64, epoch: Int? = nil, layer: Int? = nil,
                              kind: SlopeStore.TensorKind? = nil) throws -> [SlopeStore.StoredTensor] {
        var sql = "SELECT \(SlopeStore.StoredTensor.selectList) FROM tensors WHERE run_id = ?"
        var arguments: [SQLValue] = [.integer(runID)]
        if let epoch { sql += " AND epoch = ?"; arguments.append(.integer(Int64(epoch))) }
        if let layer { sql += " AND layer = ?"; arguments.append(.integer(Int64(layer))) }
        if let kind { sql += " AND kind = ?"; arguments.append(.text(kind.rawValue)) }
        sql += " ORDER BY epoch, layer, kind"
        return try read { c in try c.rows(sql, arguments).map(SlopeStore.StoredTensor.init(row:)) }
    }

    /// Epochs of a run that hold weights, ascending.
    public func tensorEpochs(runID: Int64) throws -> [Int] {
        try read { c in try c.values(Self.tensorEpochsSQL + " ORDER BY epoch", [runID], as: Int.self) }
    }

    /// The epochs of a run that hold weights (one row each), the run's id bound to its `?`; also the
    /// epochs of its `layer_stats` rows, which are made from the weights.
    static let tensorEpochsSQL = "SELECT DISTINCT epoch FROM tensors WHERE run_id = ? AND kind = 'weight'"

    /// The last epoch of a run that holds weights (nil when none does).
    public func latestTensorEpoch(runID: Int64) throws -> Int? {
        try read { c in try c.value("SELECT max(epoch) FROM tensors WHERE run_id = ? AND kind = 'weight'", [runID], as: Int.self) }
    }

    /// How many epochs of a run hold weights.
    public func tensorEpochCount(runID: Int64) throws -> Int {
        try read { c in try c.value("SELECT count(*) FROM (\(Self.tensorEpochsSQL)) AS held", [runID], as: Int.self) ?? 0 }
    }

    /// `tensorEpochs(runID:)` thinned as a long run's epochs are (`EpochThinning`): those whose number
    /// is a multiple of `step`, and the last `latest`, ascending.
    public func tensorEpochs(runID: Int64, every step: Int, latest: Int) throws -> [Int] {
        let thinning = EpochThinning(step: step, latest: latest, epochs: Self.tensorEpochsSQL, runID: runID)
        return try read { c in
            try c.values("SELECT epoch FROM (\(Self.tensorEpochsSQL)) AS held WHERE \(thinning.condition) ORDER BY epoch",
                         [SQLValue.integer(runID)] + thinning.arguments, as: Int.self)
        }
    }

    /// Calls `body` with every tensor of a sweep's runs (all runs when nil), streaming.
    public func forEachTensor(sweepID: Int64?, filter: RunFilter? = nil, runID: Int64? = nil,
                              _ body: (SlopeStore.StoredTensor) throws -> Void) throws {
        var sql = "SELECT \(SlopeStore.StoredTensor.selectList) FROM tensors"
        var arguments: [SQLValue] = []
        if let runID {
            sql += " WHERE run_id = ?"; arguments.append(.integer(runID))
        } else {
            let (condition, selectionArguments) = Self.runSelection(sweepID: sweepID, filter: filter, dialect)
            sql += condition
            arguments += selectionArguments
        }
        sql += " ORDER BY run_id, epoch, layer, kind"
        try read { c in try c.forEachRow(sql, arguments) { try body(SlopeStore.StoredTensor(row: $0)) } }
    }

    /// Run counts by status for every sweep (or only `sweepID`): sweep id -> status -> count.
    /// - Complexity: one pass over the (sweep_id, status) index.
    public func runStatusCounts(sweepID: Int64? = nil) throws -> [Int64: [String: Int]] {
        try read { c in
            var counts: [Int64: [String: Int]] = [:]
            let sql = "SELECT sweep_id, status, count(*) FROM runs WHERE " + (sweepID == nil ? "sweep_id IS NOT NULL" : "sweep_id = ?") + " GROUP BY 1, 2"
            for row in try c.rows(sql, sweepID.map { [$0] } ?? []) {
                guard let sweepID = Int64(sqlValue: row[0]), let status = String(sqlValue: row[1]) else { continue }
                counts[sweepID, default: [:]][status] = Int(sqlValue: row[2]) ?? 0
            }
            return counts
        }
    }

    /// The sweep's finished runs (`RunStatus.isFinished`) and how many of them `worker` (a process:
    /// host, pid and start time) holds, read in one statement, so the two agree: a progress line tells
    /// this process's runs from other workers' by them, whatever its other threads commit meanwhile
    /// (two counts read apart differ when another of its runs finishes between them).
    public func finishedRunCounts(sweepID: Int64, worker: WorkerIdentity) throws -> (all: Int, byWorker: Int) {
        try read { c in
            let finished = RunStatus.allCases.filter(\.isFinished).map { "'\($0.rawValue)'" }.joined(separator: ", ")
            var arguments: [any SQLValueConvertible] = [worker.host, worker.pid]
            var held = "host = ? AND pid = ?"
            if let startTime = worker.startTime { held += " AND process_start = ?"; arguments.append(startTime) }
            let row = try c.rows("""
                SELECT count(*), sum(CASE WHEN \(held) THEN 1 ELSE 0 END) FROM runs
                WHERE sweep_id = ? AND status IN (\(finished))
                """, arguments + [sweepID]).first
            return (row.flatMap { Int(sqlValue: $0[0]) } ?? 0, row.flatMap { Int(sqlValue: $0[1]) } ?? 0)
        }
    }

    /// Every sweep with its run count, by id.
    public func sweepSummaries() throws -> [SlopeStore.SweepRecord] {
        try read { c in try c.rows(SlopeStore.SweepRecord.selectSQL + " ORDER BY s.id", []).map(SlopeStore.SweepRecord.init(row:)) }
    }

    /// The sweep with its run count; nil when there is no such sweep.
    public func sweepSummary(id: Int64) throws -> SlopeStore.SweepRecord? {
        try read { c in try c.rows(SlopeStore.SweepRecord.selectSQL + " WHERE s.id = ?", [id]).first.map(SlopeStore.SweepRecord.init(row:)) }
    }

    /// How many distinct values each of `columns` has over the sweep's runs matching `filter`, a
    /// missing value (NULL) counting as one, as `pivot` tells its rows and columns apart: what
    /// `report grid` and the dashboard's heatmap refuse a crowded axis by before reading any run, and
    /// (`sweptSettings`) which settings a sweep varies. The one count of distinct values, one rule:
    /// a run without a setting (beta1 of an sgd run) differs from one with it.
    /// - Complexity: one aggregate over the sweep's runs; no run is returned.
    public func distinctValueCounts(sweepID: Int64, columns: [RunColumn], filter: RunFilter? = nil) throws -> [Int] {
        guard !columns.isEmpty else { return [] }
        let (conditions, arguments) = Self.runConditions(sweepID: sweepID, filter: filter, dialect)
        let counts = columns.map { column in
            "count(DISTINCT \(column.sqlExpression)) + max(CASE WHEN \(column.sqlExpression) IS NULL THEN 1 ELSE 0 END)"
        }
        let sql = "SELECT \(counts.joined(separator: ", ")) FROM runs WHERE \(conditions.joined(separator: " AND "))"
        return try read { c in
            let row = try c.rows(sql, arguments).first
            return columns.indices.map { index in row.flatMap { Int(sqlValue: $0[index]) } ?? 0 }
        }
    }

    /// The settings (`RunColumn.settings`, in that order) that take more than one value among the
    /// sweep's runs matching `filter` (`distinctValueCounts`: NULL is a value): what the dashboard
    /// calls swept and `report grid` picks its default axes from.
    public func sweptSettings(sweepID: Int64, filter: RunFilter? = nil) throws -> [RunColumn] {
        Self.swept(RunColumn.settings, counts: try distinctValueCounts(sweepID: sweepID, columns: RunColumn.settings, filter: filter))
    }

    /// The columns whose count (`distinctValueCounts`, in the same order) is more than one.
    public static func swept(_ columns: [RunColumn], counts: [Int]) -> [RunColumn] {
        zip(columns, counts).filter { $0.1 > 1 }.map(\.0)
    }

    /// Groups a sweep's runs by (rows, columns) and aggregates `metric` over the runs that neither
    /// diverged nor failed (`PivotCell`), counting those apart. SQL groups and orders the cells (as
    /// `GROUP BY rows, columns ORDER BY rows, columns` would); the statistics are computed here, over
    /// the cell's values in run id order, so that both stores give the same bits (`CellStatistics`).
    /// - Complexity: reads the sweep's runs (through the sweep index), not the whole table.
    public func pivot(sweepID: Int64, rows: RunColumn, columns: RunColumn, metric: RunColumn,
                      filter: RunFilter? = nil) throws -> [PivotCell] {
        let r = rows.sqlExpression, c = columns.sqlExpression
        let (conditions, arguments) = Self.runConditions(sweepID: sweepID, filter: filter, dialect)
        // dense_rank numbers the (row, column) pairs as GROUP BY would tell them apart, in their order.
        let sql = """
            SELECT dense_rank() OVER (ORDER BY \(r), \(c)), \(r), \(c), runs.id,
                   CASE runs.status WHEN '\(RunStatus.diverged.rawValue)' THEN 1 WHEN '\(RunStatus.failed.rawValue)' THEN 2 ELSE 0 END,
                   \(dialect.real(metric.sqlExpression))
            FROM runs WHERE \(conditions.joined(separator: " AND ")) ORDER BY 1, runs.id
            """
        return try read { connection in
            var cells: [PivotCell] = []
            var cellNumber: Int64?, values: [Double] = []
            try connection.forEachRow(sql, arguments) { row in
                let number = Int64(sqlValue: row[0]) ?? 0
                if number != cellNumber {
                    if !cells.isEmpty { cells[cells.count - 1].setStatistics(values) }
                    cellNumber = number; values = []
                    // The runs come in id order: the cell's first is its lowest id.
                    cells.append(PivotCell(rowValue: RunValue(row[1]), columnValue: RunValue(row[2]), runCount: 0, valueCount: 0,
                                           firstRunID: Int64(sqlValue: row[3]) ?? 0))
                }
                cells[cells.count - 1].runCount += 1
                switch Int64(sqlValue: row[4]) {  // the status, as a number: no text per run
                case 1: cells[cells.count - 1].divergedCount += 1
                case 2: cells[cells.count - 1].failedCount += 1
                default:
                    // NaN (which SQLite cannot hold, and Slope never writes) is no value, as NULL is.
                    if let value = Double(sqlValue: row[5]), !value.isNaN { values.append(value) }
                }
            }
            if !cells.isEmpty { cells[cells.count - 1].setStatistics(values) }
            return cells
        }
    }
}

/// How a long run's epochs are thinned for a chart (the dashboard's run page, curves and layer
/// diagnostics): an epoch is kept when its number is a multiple of `step`, or when it is among the
/// `latest` last of the run's epochs. One rule for the epochs, the tensor epochs and the layer
/// statistics, as an SQL condition on `epoch`.
struct EpochThinning {
    /// The condition (`epoch` of the rows it filters) and its bound arguments.
    let condition: String
    let arguments: [SQLValue]

    /// `epochs`: a query of the run's epochs (one row each) with one `?`, bound to `runID`.
    init(step: Int, latest: Int, epochs: String, runID: Int64) {
        guard latest > 0 else {
            condition = "epoch % ? = 0"
            arguments = [.integer(Int64(max(1, step)))]
            return
        }
        // The latest-th epoch from the end (none when there are fewer: every epoch is then among the last).
        condition = "(epoch % ? = 0 OR epoch >= coalesce((SELECT epoch FROM (\(epochs)) AS kept ORDER BY epoch DESC LIMIT 1 OFFSET ?), 0))"
        arguments = [.integer(Int64(max(1, step))), .integer(runID), .integer(Int64(max(0, latest - 1)))]
    }
}

extension SlopeStore {
    /// The report queries over this store's backend (read-only when opened `.readOnly`).
    public var queries: RunQueries { RunQueries(store: self) }
}
