// The queries behind `report best` on a sweep of any size: the best run ranked in SQL (one row
// read, not every run), the counts its messages need when there is none, and whether any two runs
// share their settings (the seed ranking's question), each one statement on both stores.
import Foundation

/// What `report best` says when no run can be best: counts over the sweep's runs matching its filter.
public struct RankingCounts: Equatable, Sendable {
    /// The runs matching the filter.
    public var runs: Int
    /// Of those, the runs that neither failed nor diverged (the ones ranked).
    public var ranked: Int
    /// Of the ranked runs, those whose value is +inf and -inf.
    public var positiveInfinite: Int
    public var negativeInfinite: Int
    /// Of the ranked runs, those still queued or running (that may still get a value).
    public var unfinished: Int

    public init(runs: Int, ranked: Int, positiveInfinite: Int, negativeInfinite: Int, unfinished: Int) {
        self.runs = runs; self.ranked = ranked; self.positiveInfinite = positiveInfinite
        self.negativeInfinite = negativeInfinite; self.unfinished = unfinished
    }
}

extension RunQueries {
    /// A run that ranks: neither failed nor diverged (a run that ended so keeps its last finite loss).
    static let rankedCondition = "runs.status NOT IN ('failed', 'diverged')"

    /// `column` as the Double that ranking compares (Reporting's `RunRanking` reads every value as
    /// a Double: two integers beyond 2^53 that read alike tie, and go by id).
    static func rankedValue(_ column: RunColumn, _ dialect: SQLDialect) -> String {
        switch dialect {
        case .sqlite: return "CAST(\(column.sqlExpression) AS REAL)"
        case .postgres: return "CAST(\(column.sqlExpression) AS double precision)"
        }
    }

    /// The best of the sweep's runs matching `filter` by `column`, as Reporting's `RunRanking` ranks
    /// them: among the runs that neither failed nor diverged, the least finite value (`descending`:
    /// the greatest), a tie to the lower id. Nil when none of them has a finite value.
    /// - Complexity: one statement over the sweep's runs (through the sweep index); one row read.
    public func bestRun(sweepID: Int64, filter: RunFilter?, column: RunColumn, descending: Bool) throws -> SlopeStore.RunRecord? {
        var (conditions, arguments) = Self.runConditions(sweepID: sweepID, filter: filter, dialect)
        let value = Self.rankedValue(column, dialect)
        conditions += [Self.rankedCondition, "abs(\(value)) <= ?"]  // finite: NULL, inf and -inf fail it
        arguments.append(.real(.greatestFiniteMagnitude))
        let sql = "SELECT \(SlopeStore.RunRecord.selectList) FROM runs WHERE \(conditions.joined(separator: " AND ")) "
            + "ORDER BY \(value) \(descending ? "DESC" : "ASC"), runs.id ASC LIMIT 1"
        return try read { c in try c.rows(sql, arguments).first.map(SlopeStore.RunRecord.init(row:)) }
    }

    /// The counts `report best` explains an empty ranking by (`RankingCounts`), for `column`.
    /// - Complexity: one aggregate over the sweep's runs; one row read.
    public func rankingCounts(sweepID: Int64, filter: RunFilter?, column: RunColumn) throws -> RankingCounts {
        let (conditions, arguments) = Self.runConditions(sweepID: sweepID, filter: filter, dialect)
        let value = Self.rankedValue(column, dialect), ranked = Self.rankedCondition
        let sql = """
            SELECT count(*), coalesce(sum(CASE WHEN \(ranked) THEN 1 ELSE 0 END), 0),
                   coalesce(sum(CASE WHEN \(ranked) AND \(value) > ? THEN 1 ELSE 0 END), 0),
                   coalesce(sum(CASE WHEN \(ranked) AND \(value) < ? THEN 1 ELSE 0 END), 0),
                   coalesce(sum(CASE WHEN \(ranked) AND runs.status IN ('queued', 'running') THEN 1 ELSE 0 END), 0)
            FROM runs WHERE \(conditions.joined(separator: " AND "))
            """
        let bounds: [SQLValue] = [.real(.greatestFiniteMagnitude), .real(-.greatestFiniteMagnitude)]
        return try read { c in
            let row = try c.rows(sql, bounds + arguments).first
            func count(_ index: Int) -> Int { row.flatMap { Int(sqlValue: $0[index]) } ?? 0 }
            return RankingCounts(runs: count(0), ranked: count(1), positiveInfinite: count(2), negativeInfinite: count(3), unfinished: count(4))
        }
    }

    /// Whether two of the sweep's runs matching `filter` hold the same values (a missing one equal to
    /// a missing one) in every one of `columns`: SQL's grouping, which tells values apart no finer
    /// than their text does (so when it finds no two, no text comparison would either).
    /// - Complexity: one grouping over the sweep's runs, stopped at the first group of two; at most one row read.
    public func hasRunsSharingValues(sweepID: Int64, filter: RunFilter?, columns: [RunColumn]) throws -> Bool {
        guard !columns.isEmpty else { return try runCount(sweepID: sweepID, filter: filter) > 1 }
        let (conditions, arguments) = Self.runConditions(sweepID: sweepID, filter: filter, dialect)
        let sql = "SELECT 1 FROM runs WHERE \(conditions.joined(separator: " AND ")) "
            + "GROUP BY \(columns.map(\.sqlExpression).joined(separator: ", ")) HAVING count(*) > 1 LIMIT 1"
        return try read { c in try !c.rows(sql, arguments).isEmpty }
    }
}
