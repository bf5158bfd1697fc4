// Read-only queries behind the live dashboard (`report serve`): a cheap change token, what became
// of the file, the schema behind a failed read, epochs done, and each sweep's best values (how many distinct values each setting takes is
// `RunQueries.distinctValueCounts`, the one count `report grid` uses too).
import Foundation

/// A sweep's lowest and highest stored values of some result columns over its runs that did not
/// fail or diverge (a column is missing while no such run has a value), and whether any run validates.
public struct SweepBest: Equatable, Sendable {
    public var minimums: [RunColumn: Double] = [:]
    public var maximums: [RunColumn: Double] = [:]
    public var validates = false

    public init(minimums: [RunColumn: Double] = [:], maximums: [RunColumn: Double] = [:], validates: Bool = false) {
        self.minimums = minimums
        self.maximums = maximums
        self.validates = validates
    }
}

extension RunQueries {
    /// A token that changes whenever a commit reaches the database (SQLite: the size and
    /// modification time of the file and its write-ahead log, two `stat` calls and no SQL;
    /// PostgreSQL: the server's current snapshot, which moves with every write transaction that
    /// starts or ends). Clients may poll it often; equal tokens mean nothing was committed between them.
    /// - Throws: the store's errors when the database cannot be read (a PostgreSQL server that is down).
    public func changeToken() throws -> String { try store.backend.changeToken() }

    /// What became of the SQLite file since it was opened ("PATH was deleted", "PATH was replaced by
    /// another file", "PATH was changed by another process": written over in place, or checkpointed):
    /// these queries go on reading the file they opened, or its pages cached before a copy over it,
    /// so a dashboard opens the one now at the path (`reopened()`). nil while it is the same file,
    /// unchanged, and always for PostgreSQL.
    public func fileChange() -> String? { store.backend.fileChange() }

    /// The queries of the file now at the path, opened read-only with the same busy timeout.
    /// - Throws: `StoreError` as opening it does (no such file, not a Slope database ...).
    public func reopened() throws -> RunQueries {
        RunQueries(store: try SlopeStore(path: path, mode: .readOnly, busyTimeout: store.busyTimeout))
    }

    /// When `error` is a read that met no such table or column (a PostgreSQL database dropped and
    /// made again empty while a dashboard reads it, or emptied), the error opening the database
    /// now gives, as every command says it: `.noDatabase` (no Slope tables yet: run `runner` on it
    /// once as the database owner), `.olderSchema`, another application's database. nil for any
    /// other error, or when the schema checks out (the table came back). An SQLite file changed
    /// under its reader is opened again instead (`fileChange()`).
    public func schemaError(explaining error: Error) -> StoreError? {
        guard case let StoreError.postgres(_, message) = error,
              message.hasSuffix("[SQLSTATE 42P01]") || message.hasSuffix("[SQLSTATE 42703]"),  // undefined table, column
              let backend = store.backend as? PostgresBackend else { return nil }
        do {
            try backend.withSession { session in try PostgresMigrations.verify(session) }
            return nil
        } catch {
            return error as? StoreError
        }
    }

    /// The sum of `epochs_done` over a sweep's runs: grows by one with every epoch a worker stores.
    public func epochsDone(sweepID: Int64) throws -> Int {
        try read { c in
            Int(SlopeStore.integer(try c.rows("SELECT coalesce(sum(epochs_done), 0) FROM runs WHERE sweep_id = ?", [sweepID]).first?[0] ?? .null) ?? 0)
        }
    }

    /// Per sweep: the lowest and highest value of each of `columns` (numeric run columns) over its
    /// runs that did not fail or diverge (never best, whatever their last value), and whether any
    /// run holds out validation rows: what a list of sweeps needs to show each one's best value of
    /// its own metric.
    /// - Complexity: one pass over the runs that belong to sweeps.
    public func sweepBests(columns: [RunColumn]) throws -> [Int64: SweepBest] {
        let ranked = "status NOT IN ('\(RunStatus.failed.rawValue)', '\(RunStatus.diverged.rawValue)')"
        // A NaN (PostgreSQL holds it; SQLite stores NULL) is no value: max() would return it.
        let extremes = columns.map { column in
            let valued = "\(ranked) AND \(column.valuedCondition(dialect))"
            return "min(CASE WHEN \(valued) THEN \(column.sqlExpression) END), max(CASE WHEN \(valued) THEN \(column.sqlExpression) END)"
        }
        let validating = RunFilter.validating.sql(dialect)
        return try read { c in
            var result: [Int64: SweepBest] = [:]
            for row in try c.rows("""
                SELECT sweep_id, max(CASE WHEN \(validating.text) THEN 1 ELSE 0 END)\(extremes.map { ", " + $0 }.joined())
                FROM runs WHERE sweep_id IS NOT NULL GROUP BY sweep_id
                """, validating.arguments) {
                guard let sweepID = Int64(sqlValue: row[0]) else { continue }
                var best = SweepBest(validates: Int64(sqlValue: row[1]) == 1)
                for (index, column) in columns.enumerated() {
                    best.minimums[column] = Double(sqlValue: row[2 + 2 * index])
                    best.maximums[column] = Double(sqlValue: row[3 + 2 * index])
                }
                result[sweepID] = best
            }
            return result
        }
    }
}
