// Read-only queries behind `report`: run summaries (filtered, sorted), epochs, layer
// statistics, tensors, pivots. Column names come from `RunColumn`; values are bound arguments.
import Foundation
import GRDB

/// One value of a run column, as stored.
public enum RunValue: Hashable, Sendable {
    case integer(Int64), real(Double), text(String), null

    init(_ value: DatabaseValue) {
        switch value.storage {
        case .int64(let v): self = .integer(v)
        case .double(let v): self = .real(v)
        case .string(let v): self = .text(v)
        case .blob, .null: self = .null
        }
    }

    public var double: Double? {
        switch self {
        case .integer(let v): return Double(v)
        case .real(let v): return v
        case .text, .null: return nil
        }
    }
}

/// A run's hyperparameters, status and summary metrics (a row of `runs` without tensors).
public struct RunSummary: Equatable, Sendable {
    /// Every `RunColumn` of the row.
    public var values: [RunColumn: RunValue]
    /// The run's configuration JSON (enough to rebuild the run).
    public var configJSON: String
    public var error: String?

    public subscript(_ column: RunColumn) -> RunValue { values[column] ?? .null }

    public var id: Int64 { if case .integer(let v) = self[.id] { return v }; return 0 }
    public var sweepID: Int64? { if case .integer(let v) = self[.sweep_id] { return v }; return nil }
    public var name: String? { text(.name) }
    public var status: String { text(.status) ?? "" }
    public var learningRate: Double { self[.learning_rate].double ?? 0 }
    public var batchSize: Int { integer(.batch_size) ?? 0 }
    public var layers: String { text(.layers) ?? "" }
    public var dataset: String { text(.dataset) ?? "" }
    public var epochsDone: Int { integer(.epochs_done) ?? 0 }
    public func text(_ column: RunColumn) -> String? { if case .text(let v) = self[column] { return v }; return nil }
    public func number(_ column: RunColumn) -> Double? { self[column].double }
    /// A whole-number column as an Int (nil for NULL, text, or a real that is not a whole Int).
    public func integer(_ column: RunColumn) -> Int? {
        switch self[column] {
        case .integer(let v): return Int(v)
        case .real(let v): return Int(exactly: v)
        case .text, .null: return nil
        }
    }

    public init(values: [RunColumn: RunValue], configJSON: String = "{}", error: String? = nil) {
        self.values = values
        self.configJSON = configJSON
        self.error = error
    }

    static let selectList = (RunColumn.allCases.map(\.sqlExpression) + ["runs.config", "runs.error"])
        .joined(separator: ", ")

    init(row: Row) {
        var values: [RunColumn: RunValue] = [:]
        for (index, column) in RunColumn.allCases.enumerated() {
            values[column] = RunValue(row[index] as DatabaseValue)
        }
        self.values = values
        configJSON = row[RunColumn.allCases.count] ?? "{}"
        error = row[RunColumn.allCases.count + 1]
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

    init(row: Row) {
        runID = row["run_id"]
        record = SlopeStore.EpochRecord(row: row)
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

/// One stored tensor with its write-time statistics.
public struct TensorRow: Equatable, Sendable {
    public var runID: Int64
    public var epoch: Int
    public var layer: Int
    public var kind: String
    public var rows: Int
    public var cols: Int
    public var dtype: String
    /// rows x cols little-endian IEEE-754 values, row-major.
    public var data: [UInt8]
    public var l2, mean, std, min, max: Double?

    public init(runID: Int64, epoch: Int, layer: Int, kind: String, rows: Int, cols: Int, dtype: String,
                data: [UInt8], l2: Double? = nil, mean: Double? = nil, std: Double? = nil,
                min: Double? = nil, max: Double? = nil) {
        self.runID = runID; self.epoch = epoch; self.layer = layer; self.kind = kind
        self.rows = rows; self.cols = cols; self.dtype = dtype; self.data = data
        self.l2 = l2; self.mean = mean; self.std = std; self.min = min; self.max = max
    }

    /// The values widened to Double (row-major).
    public var doubles: [Double] {
        let count = rows * cols
        var result = [Double](repeating: 0, count: count)
        data.withUnsafeBytes { raw in
            if dtype == "float64" {
                guard raw.count >= count * 8 else { return }
                for i in 0..<count {
                    result[i] = Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)))
                }
            } else {
                guard raw.count >= count * 4 else { return }
                for i in 0..<count {
                    result[i] = Double(Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))))
                }
            }
        }
        return result
    }

    static let selectList = "run_id, epoch, layer, kind, rows, cols, dtype, data, l2, mean, std, min, max"

    init(row: Row) {
        let blob: Data = row[7] ?? Data()
        self.init(runID: row[0], epoch: row[1], layer: row[2], kind: row[3], rows: row[4], cols: row[5],
                  dtype: row[6], data: [UInt8](blob), l2: row[8], mean: row[9], std: row[10],
                  min: row[11], max: row[12])
    }
}

/// A sweep with its run count.
public struct SweepSummary: Equatable, Sendable {
    public var id: Int64
    public var name: String
    public var status: String
    public var createdAt: String
    public var runCount: Int
    public var specJSON: String
}

/// One cell of a pivot: the runs sharing a (row, column) value pair.
public struct PivotCell: Equatable, Sendable {
    public var rowValue: RunValue
    public var columnValue: RunValue
    /// Runs in the cell, and how many of them have a value for the metric.
    public var runCount: Int
    public var valueCount: Int
    public var mean: Double?
    public var minimum: Double?
    public var maximum: Double?
    /// Population standard deviation of the metric over the cell's runs.
    public var standardDeviation: Double?
}

/// The read-only queries `report` runs, over any GRDB reader (Store opens it read-only).
public struct RunQueries: @unchecked Sendable {  // `snapshotDatabase` never leaves `snapshot(_:)`
    let reader: any DatabaseReader
    let path: String
    let busyTimeout: TimeInterval
    /// The store that owns `reader`: kept alive here, because it closes the pool when it goes away.
    private let store: SlopeStore
    /// Inside `snapshot(_:)`: the one read transaction every query of the snapshot uses.
    private let snapshotDatabase: Database?

    init(store: SlopeStore, reader: any DatabaseReader, snapshotDatabase: Database? = nil) {
        self.store = store
        self.reader = reader
        self.path = store.path
        self.busyTimeout = store.busyTimeout
        self.snapshotDatabase = snapshotDatabase
    }

    /// Whether these queries all read one snapshot.
    public var isSnapshot: Bool { snapshotDatabase != nil }

    /// Runs `body` with queries that all read the same WAL snapshot (one read transaction), so
    /// that a report made of several queries is consistent while a sweep keeps writing.
    public func snapshot<T>(_ body: (RunQueries) throws -> T) throws -> T {
        if isSnapshot { return try body(self) }
        return try read { db in
            try body(RunQueries(store: store, reader: reader, snapshotDatabase: db))
        }
    }

    /// One read transaction (a WAL snapshot: a sweep may keep writing), errors mapped to StoreError.
    func read<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            if let snapshotDatabase { return try body(snapshotDatabase) }
            return try reader.read(body)
        } catch let error as DatabaseError {
            throw StoreError.wrap(error, path: path, busyTimeout: busyTimeout)
        }
    }

    /// Runs matching the optional sweep and filter, sorted (missing values last), at most `limit`
    /// after skipping the first `offset` (a page of a long table).
    /// - Complexity: with a sort on an indexed column and no filter, reads about `offset + limit` rows.
    public func runSummaries(sweepID: Int64? = nil, filter: RunFilter? = nil, sort: RunSort? = nil,
                             limit: Int? = nil, offset: Int = 0) throws -> [RunSummary] {
        let (conditions, arguments) = Self.runConditions(sweepID: sweepID, filter: filter)
        return try read { db in
            func query(_ extraCondition: String?) -> (sql: String, arguments: [DatabaseValue]) {
                let all = conditions + (extraCondition.map { [$0] } ?? [])
                var sql = "FROM runs"
                if !all.isEmpty { sql += " WHERE " + all.joined(separator: " AND ") }
                return (sql, arguments)
            }
            func fetch(_ extraCondition: String?, order: String, limit: Int?, offset: Int) throws -> [RunSummary] {
                var (sql, bound) = query(extraCondition)
                sql = "SELECT \(RunSummary.selectList) \(sql) ORDER BY \(order)"
                if limit != nil || offset > 0 {
                    sql += " LIMIT ? OFFSET ?"
                    bound += [(limit ?? -1).databaseValue, offset.databaseValue]
                }
                return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(bound)).map(RunSummary.init(row:))
            }
            guard let sort else { return try fetch(nil, order: "runs.id", limit: limit, offset: offset) }
            // Two passes keep an index usable for the ordered part and put missing values last; ties
            // go by id in the same direction, so the index order is the whole order (no sort step).
            let column = sort.column.sqlExpression
            let direction = sort.descending ? "DESC" : "ASC"
            var result = try fetch("\(column) IS NOT NULL", order: "\(column) \(direction), runs.id \(direction)",
                                   limit: limit, offset: offset)
            let remaining = limit.map { $0 - result.count }
            if remaining == nil || remaining! > 0 {
                // The page may start inside the missing values: skip those the first pass did not reach.
                var nullOffset = 0
                if offset > 0 && result.isEmpty {
                    let (countSQL, bound) = query("\(column) IS NOT NULL")
                    let valued = try Int.fetchOne(db, sql: "SELECT count(*) \(countSQL)", arguments: StatementArguments(bound)) ?? 0
                    nullOffset = max(0, offset - valued)
                }
                result += try fetch("\(column) IS NULL", order: "runs.id", limit: remaining, offset: nullOffset)
            }
            return result
        }
    }

    public func runSummary(id: Int64) throws -> RunSummary? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT \(RunSummary.selectList) FROM runs WHERE runs.id = ?",
                             arguments: [id]).map(RunSummary.init(row:))
        }
    }

    public func runCount() throws -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM runs") ?? 0 }
    }

    /// Epoch rows of the given runs, ordered by run then epoch.
    public func epochRows(runIDs: [Int64]) throws -> [EpochRow] {
        guard !runIDs.isEmpty else { return [] }
        let marks = Array(repeating: "?", count: runIDs.count).joined(separator: ", ")
        return try read { db in
            try Row.fetchAll(db, sql: "SELECT \(EpochRow.selectList) FROM epochs WHERE run_id IN (\(marks)) ORDER BY run_id, epoch",
                             arguments: StatementArguments(runIDs)).map(EpochRow.init(row:))
        }
    }

    /// Calls `body` with each epoch row of the runs of a sweep (all runs when nil), streaming.
    public func forEachEpochRow(sweepID: Int64?, filter: RunFilter? = nil, _ body: (EpochRow) throws -> Void) throws {
        let (condition, arguments) = Self.runSelection(sweepID: sweepID, filter: filter)
        try read { db in
            let sql = "SELECT \(EpochRow.selectList) FROM epochs\(condition) ORDER BY run_id, epoch"
            let cursor = try Row.fetchCursor(db, sql: sql, arguments: StatementArguments(arguments))
            while let row = try cursor.next() { try body(EpochRow(row: row)) }
        }
    }

    /// The conditions on `runs` that choose the runs of a sweep and/or matching a filter, with their
    /// bound arguments (the filter's SQL names only whitelisted columns).
    static func runConditions(sweepID: Int64?, filter: RunFilter?) -> (conditions: [String], arguments: [DatabaseValue]) {
        var conditions: [String] = []
        var arguments: [DatabaseValue] = []
        if let sweepID {
            conditions.append("runs.sweep_id = ?")
            arguments.append(sweepID.databaseValue)
        }
        if let filter {
            let (text, filterArguments) = filter.sql()
            conditions.append(text)
            arguments += filterArguments
        }
        return (conditions, arguments)
    }

    /// " WHERE run_id IN (SELECT ...)" choosing the runs of a sweep and/or matching a filter ("" for all).
    static func runSelection(sweepID: Int64?, filter: RunFilter?) -> (sql: String, arguments: [DatabaseValue]) {
        let (conditions, arguments) = runConditions(sweepID: sweepID, filter: filter)
        guard !conditions.isEmpty else { return ("", []) }
        return (" WHERE run_id IN (SELECT runs.id FROM runs WHERE \(conditions.joined(separator: " AND ")))", arguments)
    }

    /// Per epoch and layer: weight and gradient L2 norms and the update-to-weight ratio.
    public func layerStatistics(runID: Int64) throws -> [LayerStatisticsRow] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT epoch, layer, weight_l2, gradient_l2, update_to_weight_ratio
                FROM layer_stats WHERE run_id = ? ORDER BY epoch, layer
                """, arguments: [runID]).map {
                LayerStatisticsRow(epoch: $0[0], layer: $0[1], weightL2: $0[2], gradientL2: $0[3],
                                   updateToWeightRatio: $0[4])
            }
        }
    }

    /// Tensors of one run and epoch, optionally one layer and/or kind, ordered by layer then kind.
    public func storedTensors(runID: Int64, epoch: Int, layer: Int? = nil, kind: String? = nil) throws -> [TensorRow] {
        var sql = "SELECT \(TensorRow.selectList) FROM tensors WHERE run_id = ? AND epoch = ?"
        var arguments: [DatabaseValue] = [runID.databaseValue, epoch.databaseValue]
        if let layer { sql += " AND layer = ?"; arguments.append(layer.databaseValue) }
        if let kind { sql += " AND kind = ?"; arguments.append(kind.databaseValue) }
        sql += " ORDER BY layer, kind"
        return try read { db in
            try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map(TensorRow.init(row:))
        }
    }

    /// Epochs of a run that hold weights, ascending.
    public func tensorEpochs(runID: Int64) throws -> [Int] {
        try read { db in
            try Int.fetchAll(db, sql: "SELECT DISTINCT epoch FROM tensors WHERE run_id = ? AND kind = 'weight' ORDER BY epoch",
                             arguments: [runID])
        }
    }

    /// Calls `body` with every tensor of a sweep's runs (all runs when nil), streaming.
    public func forEachTensor(sweepID: Int64?, filter: RunFilter? = nil, runID: Int64? = nil, _ body: (TensorRow) throws -> Void) throws {
        try read { db in
            var sql = "SELECT \(TensorRow.selectList) FROM tensors"
            var arguments: [DatabaseValue] = []
            if let runID {
                sql += " WHERE run_id = ?"; arguments.append(runID.databaseValue)
            } else {
                let (condition, selectionArguments) = Self.runSelection(sweepID: sweepID, filter: filter)
                sql += condition
                arguments += selectionArguments
            }
            sql += " ORDER BY run_id, epoch, layer, kind"
            let cursor = try Row.fetchCursor(db, sql: sql, arguments: StatementArguments(arguments))
            while let row = try cursor.next() { try body(TensorRow(row: row)) }
        }
    }

    /// Run counts by status for every sweep: sweep id -> status -> count.
    /// - Complexity: one pass over the (sweep_id, status) index.
    public func runStatusCounts() throws -> [Int64: [String: Int]] {
        try read { db in
            var counts: [Int64: [String: Int]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT sweep_id, status, count(*) FROM runs WHERE sweep_id IS NOT NULL GROUP BY 1, 2") {
                counts[row[0], default: [:]][row[1]] = row[2]
            }
            return counts
        }
    }

    public func sweepSummaries() throws -> [SweepSummary] {
        try read { db in try Row.fetchAll(db, sql: Self.sweepSQL + " ORDER BY s.id").map(Self.sweep(row:)) }
    }

    public func sweepSummary(id: Int64) throws -> SweepSummary? {
        try read { db in
            try Row.fetchOne(db, sql: Self.sweepSQL + " WHERE s.id = ?", arguments: [id]).map(Self.sweep(row:))
        }
    }

    static let sweepSQL = """
        SELECT s.id, s.name, s.status, s.created_at, (SELECT count(*) FROM runs WHERE sweep_id = s.id), s.spec
        FROM sweeps AS s
        """

    static func sweep(row: Row) -> SweepSummary {
        SweepSummary(id: row[0], name: row[1], status: row[2], createdAt: row[3], runCount: row[4], specJSON: row[5])
    }

    /// Groups a sweep's runs by (rows, columns) and aggregates `metric` in SQL.
    /// - Complexity: reads the sweep's runs (through the sweep index), not the whole table.
    public func pivot(sweepID: Int64, rows: RunColumn, columns: RunColumn, metric: RunColumn,
                      filter: RunFilter? = nil) throws -> [PivotCell] {
        let r = rows.sqlExpression, c = columns.sqlExpression, m = metric.sqlExpression
        let (conditions, arguments) = Self.runConditions(sweepID: sweepID, filter: filter)
        let sql = """
            SELECT \(r), \(c), count(*), count(\(m)), avg(\(m)), min(\(m)), max(\(m)), avg(\(m) * \(m))
            FROM runs WHERE \(conditions.joined(separator: " AND ")) GROUP BY 1, 2 ORDER BY 1, 2
            """
        return try read { db in
            try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map { row in
                let mean: Double? = row[4]
                let meanOfSquares: Double? = row[7]
                var deviation: Double?
                if let mean, let meanOfSquares { deviation = (Swift.max(0, meanOfSquares - mean * mean)).squareRoot() }
                return PivotCell(rowValue: RunValue(row[0] as DatabaseValue), columnValue: RunValue(row[1] as DatabaseValue),
                                 runCount: row[2], valueCount: row[3], mean: mean, minimum: row[5], maximum: row[6],
                                 standardDeviation: deviation)
            }
        }
    }
}

extension SlopeStore {
    /// The report queries over this store's connection (read-only when opened `.readOnly`).
    public var queries: RunQueries { RunQueries(store: self, reader: pool) }
}
