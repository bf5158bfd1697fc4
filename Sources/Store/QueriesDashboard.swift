// Read-only queries behind the live dashboard (`report serve`): a cheap change token, run counts
// and pages of runs, each sweep's best values, and how many distinct values each setting takes.
import Foundation
import GRDB

/// A sweep's best stored losses (nil when no run has one yet) and whether any run validates.
public struct SweepBest: Equatable, Sendable {
    public var bestValidationLoss: Double?
    public var bestTrainLoss: Double?
    public var validates: Bool
}

extension RunQueries {
    /// A token that changes whenever a commit reaches the database: the size and modification
    /// time (nanoseconds) of the database file and of its write-ahead log. Costs two `stat` calls
    /// and no SQL, so clients may poll it often; equal tokens mean nothing was committed between them.
    public func changeToken() -> String {
        func part(_ file: String) -> String {
            var info = stat()
            guard stat(file, &info) == 0 else { return "-" }
            return "\(info.st_size).\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)"
        }
        return part(path) + "/" + part(path + "-wal")
    }

    /// How many runs match the optional sweep and filter.
    public func runCount(sweepID: Int64?, filter: RunFilter?) throws -> Int {
        let (conditions, arguments) = Self.runConditions(sweepID: sweepID, filter: filter)
        var sql = "SELECT count(*) FROM runs"
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        return try read { db in try Int.fetchOne(db, sql: sql, arguments: StatementArguments(arguments)) ?? 0 }
    }

    /// The sum of `epochs_done` over a sweep's runs: grows by one with every epoch a worker stores.
    public func epochsDone(sweepID: Int64) throws -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT total(epochs_done) FROM runs WHERE sweep_id = ?", arguments: [sweepID]) ?? 0 }
    }

    /// Per sweep: the lowest best validation and training losses, and whether any run holds out validation rows.
    /// - Complexity: one pass over the runs that belong to sweeps.
    public func sweepBests() throws -> [Int64: SweepBest] {
        try read { db in
            var result: [Int64: SweepBest] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT sweep_id, min(best_val_loss), min(best_train_loss), max(validation_fraction > 0)
                FROM runs WHERE sweep_id IS NOT NULL GROUP BY sweep_id
                """) {
                result[row[0]] = SweepBest(bestValidationLoss: row[1], bestTrainLoss: row[2], validates: (row[3] as Int?) == 1)
            }
            return result
        }
    }

    /// How many distinct non-null values each of `columns` takes among a sweep's runs (one query).
    public func distinctValueCounts(sweepID: Int64, columns: [RunColumn]) throws -> [RunColumn: Int] {
        guard !columns.isEmpty else { return [:] }
        let list = columns.map { "count(DISTINCT \($0.sqlExpression))" }.joined(separator: ", ")
        return try read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT \(list) FROM runs WHERE runs.sweep_id = ?", arguments: [sweepID]) else { return [:] }
            var result: [RunColumn: Int] = [:]
            for (index, column) in columns.enumerated() { result[column] = row[index] }
            return result
        }
    }
}
