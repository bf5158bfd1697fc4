// Where SQLite's SQL and PostgreSQL's differ, the text each one takes: Store's shared queries
// (Writes, Reads, RunQueries, Trials, RunColumns) call these instead of writing either dialect.
import Foundation

extension SQLDialect {
    /// The current time as stored (ISO-8601 UTC text with milliseconds, see Timestamp.swift), by
    /// the database's clock: on PostgreSQL the server's, the one clock every worker shares.
    var currentTimestamp: String {
        switch self {
        case .sqlite: return "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
        case .postgres: return #"to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"#
        }
    }

    /// The time `seconds` seconds before now (a negative number: after), formatted as stored;
    /// `seconds` is SQL text, typically a `?` bound to a Double.
    func timestamp(secondsAgo seconds: String) -> String {
        switch self {
        case .sqlite: return "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', printf('%+.3f seconds', -(\(seconds))))"
        case .postgres:
            return #"to_char((now() - make_interval(secs => \#(seconds))) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"#
        }
    }

    /// Seconds from the stored timestamp `column` (SQL text, see Timestamp.swift) to now, by the
    /// database's clock, as a double (NULL when the column is NULL).
    func secondsSince(_ column: String) -> String {
        switch self {
        case .sqlite: return "(julianday('now') - julianday(\(column))) * 86400.0"
        case .postgres: return "extract(epoch FROM (now() - CAST(\(column) AS timestamptz)))::double precision"
        }
    }

    /// Said first in a snapshot (`RunQueries.snapshot`), which may pause between its queries (a
    /// report formatting rows, an export writing into a slow pipe): PostgreSQL's
    /// `idle_in_transaction_session_timeout`, which would end the session, is off for this
    /// read-only transaction, as pg_dump turns it off for its own; it holds no row locks. nil for SQLite.
    var pausableSnapshotStatement: String? {
        switch self {
        case .sqlite: return nil
        case .postgres: return "SET LOCAL idle_in_transaction_session_timeout = 0"
        }
    }

    /// `a <this> b` is true when both are equal or both NULL.
    var isNotDistinctFrom: String {
        switch self {
        case .sqlite: return "IS"
        case .postgres: return "IS NOT DISTINCT FROM"
        }
    }

    /// Appended to the subquery that picks a queued run to claim: PostgreSQL's workers skip a
    /// row another one is claiming instead of waiting for it (SQLite's writer is alone anyway).
    var skipLocked: String {
        switch self {
        case .sqlite: return ""
        case .postgres: return " FOR UPDATE SKIP LOCKED"
        }
    }

    /// ` AND <column> is none of ids` and its one argument, all the ids in one text (so any number
    /// of them is one bound value, under SQLite's and PostgreSQL's limits on parameters): a JSON
    /// array read by SQLite's `json_each`, an array literal cast to BIGINT[] on PostgreSQL. ""
    /// and no argument when `ids` is empty, so the statement is the one without the exclusion.
    func excluding(_ column: String, _ ids: Set<Int64>) -> (condition: String, arguments: [any SQLValueConvertible]) {
        guard !ids.isEmpty else { return ("", []) }
        let list = ids.sorted().map(String.init).joined(separator: ",")
        switch self {
        case .sqlite: return (" AND \(column) NOT IN (SELECT value FROM json_each(?))", ["[" + list + "]"])
        case .postgres: return (" AND \(column) <> ALL (CAST(? AS BIGINT[]))", ["{" + list + "}"])
        }
    }

    /// Appended to a SELECT of rows a write transaction must hold until it commits: PostgreSQL
    /// locks them, so another worker's transaction doing the same waits (SQLite's writer is alone).
    var forUpdate: String {
        switch self {
        case .sqlite: return ""
        case .postgres: return " FOR UPDATE"
        }
    }

    /// The value of `LIMIT ?` that means no limit (with an OFFSET).
    var noLimit: SQLValue {
        switch self {
        case .sqlite: return .integer(-1)
        case .postgres: return .null
        }
    }

    /// `expression LIKE ?` as SQLite's LIKE matches: ASCII letters case-insensitively, every other
    /// character (É and é) exactly, `%` and `_` as wildcards and no escape character. PostgreSQL's
    /// ILIKE would fold every letter by the database's locale, and its LIKE escapes with `\`.
    func like(_ expression: String) -> String {
        switch self {
        case .sqlite: return "\(expression) LIKE ?"
        case .postgres:
            func asciiLowercased(_ text: String) -> String {
                "translate(\(text), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz') COLLATE \"C\""
            }
            return "\(asciiLowercased(expression)) LIKE \(asciiLowercased("CAST(? AS text)")) ESCAPE ''"
        }
    }

    /// A text expression that compares and sorts by its bytes (by code point, for UTF-8), as
    /// SQLite's BINARY collation does, whatever the PostgreSQL database's collation (en-US would
    /// put `_x` and `apple` before `Banana`): the same order and comparisons on both stores.
    func bytewise(_ expression: String) -> String {
        switch self {
        case .sqlite: return expression
        case .postgres: return "\(expression) COLLATE \"C\""
        }
    }

    /// The position (1-based, 0 when absent) of `needle` in `text`, both SQL expressions.
    func position(of needle: String, in text: String) -> String {
        switch self {
        case .sqlite: return "instr(\(text), \(needle))"
        case .postgres: return "strpos(\(text), \(needle))"
        }
    }

    /// The value at `path` (keys, outermost first) of the JSON text in `column`, typed as `kind`
    /// (NULL when absent). A boolean reads as 0 or 1; an object or array as its JSON text.
    func jsonValue(_ column: String, _ path: [String], as kind: JSONValueKind) -> String {
        switch self {
        case .sqlite:
            return "json_extract(\(column), '$.\(path.joined(separator: "."))')"
        case .postgres:
            let text = "(\(column)::jsonb #>> '{\(path.joined(separator: ","))}')"
            switch kind {
            case .text: return text
            case .real: return "\(text)::double precision"
            case .integer: return "\(text)::bigint"
            case .boolean: return "\(text)::boolean::int"
            }
        }
    }

    enum JSONValueKind { case integer, real, text, boolean }
}

extension SQLDialect {
    /// `expression` as a double-precision number for aggregates: PostgreSQL's avg of a BIGINT is
    /// NUMERIC, SQLite's is already a real (and SQLite's min/max keep the column's own type).
    func real(_ expression: String) -> String {
        switch self {
        case .sqlite: return expression
        case .postgres: return "CAST(\(expression) AS double precision)"
        }
    }
}
