// The `report --where` / `--sort` vocabulary: a filter AST over the `RunColumn` whitelist
// (RunColumns.swift) that Store compiles to SQL. User text only ever reaches SQLite as a bound argument.
import Foundation

/// A literal in a filter expression.
public enum FilterValue: Equatable, Sendable {
    case number(Double)
    /// A whole-number literal, kept exact (seeds go up to 2^63 - 1, beyond a Double's 2^53).
    case integer(Int64)
    case text(String)

    var sqlValue: SQLValue {
        switch self {
        case .number(let value):
            // Integral literals bind as integers so that `seed = 7` matches INTEGER columns exactly.
            if value.rounded() == value, abs(value) < 9.0e15 { return .integer(Int64(value)) }
            return value.sqlValue
        case .integer(let value): return .integer(value)
        case .text(let text): return .text(text)
        }
    }
}

public enum ComparisonOperator: String, CaseIterable, Sendable {
    case equal = "=", notEqual = "!=", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="
}

/// A parsed `--where` expression. Reporting parses user text into this; Store turns it into SQL.
public indirect enum RunFilter: Equatable, Sendable {
    /// A run that holds out validation rows (`validation_fraction > 0`): the one definition of
    /// "validates" (`RunQueries.validates`, `sweepBests`, `RunRecord.validates` in memory), which
    /// decides val_ or train_ metrics everywhere.
    public static let validating: RunFilter = .comparison(.validation_fraction, .greater, .number(0))

    case comparison(RunColumn, ComparisonOperator, FilterValue)
    case isIn(RunColumn, [FilterValue])
    case like(RunColumn, pattern: String)
    /// The column has no value (e.g. `best_val_loss` of a run without a validation split).
    case isNull(RunColumn)
    case and(RunFilter, RunFilter)
    case or(RunFilter, RunFilter)
    case not(RunFilter)

    /// SQL text in `dialect` (column names from the whitelist, `?` placeholders) and its arguments.
    func sql(_ dialect: SQLDialect) -> (text: String, arguments: [SQLValue]) {
        switch self {
        case .comparison(let column, let comparison, let value):
            // Order by bytes on both stores; equality is bytewise already (and keeps the indexes usable).
            let expression = comparison == .equal || comparison == .notEqual ? column.sqlExpression : column.orderedExpression(dialect)
            return (column.comparingValues("\(expression) \(comparison.rawValue) ?", dialect), [value.sqlValue])
        case .isIn(let column, let values):
            if values.isEmpty { return ("FALSE", []) }
            let marks = Array(repeating: "?", count: values.count).joined(separator: ", ")
            return (column.comparingValues("\(column.sqlExpression) IN (\(marks))", dialect), values.map(\.sqlValue))
        case .like(let column, let pattern):
            return (dialect.like(column.sqlExpression), [.text(pattern)])
        case .isNull(let column):
            return (column.missingCondition(dialect), [])
        case .and(let left, let right):
            let (l, la) = left.sql(dialect), (r, ra) = right.sql(dialect)
            return ("(\(l) AND \(r))", la + ra)
        case .or(let left, let right):
            let (l, la) = left.sql(dialect), (r, ra) = right.sql(dialect)
            return ("(\(l) OR \(r))", la + ra)
        case .not(let inner):
            let (i, ia) = inner.sql(dialect)
            // NOT over NULL is NULL: treat a comparison with a missing value as false first.
            return ("NOT coalesce(\(i), FALSE)", ia)
        }
    }
}

/// A `--sort` order: a whitelisted column, ascending unless `descending`. Missing values sort last.
public struct RunSort: Equatable, Sendable {
    public var column: RunColumn
    public var descending: Bool
    public init(column: RunColumn, descending: Bool = false) {
        self.column = column
        self.descending = descending
    }

    /// `items` in the order `RunQueries.runSummaries(sort: self)` returns their runs: those with a
    /// value by `column.compareValues` in this direction, ties by id in the same direction, then
    /// those without one (NULL) by id. Descending is thus ascending reversed, missing values aside.
    /// - Complexity: O(n log n) comparisons.
    public func ordered<Item>(_ items: [Item], id: (Item) -> Int64, value: (Item) -> RunValue) -> [Item] {
        let keyed = items.map { (id: id($0), value: value($0), item: $0) }
        let valued = keyed.filter { $0.value != .null }.sorted { a, b in
            let order = column.compareValues(a.value, b.value)
            if order != 0 { return descending ? order > 0 : order < 0 }
            return descending ? a.id > b.id : a.id < b.id
        }
        let missing = keyed.filter { $0.value == .null }.sorted { $0.id < $1.id }
        return (valued + missing).map(\.item)
    }
}
