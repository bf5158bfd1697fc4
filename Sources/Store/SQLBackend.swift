// The two stores behind SlopeStore: SQLite (GRDB, the embedded default) and PostgreSQL
// (postgres-nio, for many machines). Store's queries are written once, with `?` placeholders,
// against `SQLConnection`; what differs between the dialects is in `SQLDialect`; what each
// backend does its own way (opening, migrating, the epoch write's fast path) is in
// `StoreBackend`. Nothing outside Store knows which backend it talks to.
import Foundation

/// A value bound to a statement or read from a row: SQLite's storage classes, onto which
/// PostgreSQL's column types map (BIGINT -> integer, DOUBLE PRECISION -> real, TEXT -> text,
/// BYTEA -> blob with the same bytes; BOOLEAN reads as integer 0/1).
enum SQLValue: Hashable, Sendable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob(Data)
}

/// A Swift value that binds to, and reads back from, an `SQLValue`.
protocol SQLValueConvertible {
    var sqlValue: SQLValue { get }
    /// Nil when the stored value is NULL or of another type (an integer reads as a Double too).
    init?(sqlValue: SQLValue)
}

extension SQLValue: SQLValueConvertible {
    var sqlValue: SQLValue { self }
    init?(sqlValue: SQLValue) { self = sqlValue }
}

extension Int64: SQLValueConvertible {
    var sqlValue: SQLValue { .integer(self) }
    init?(sqlValue: SQLValue) {
        guard case .integer(let value) = sqlValue else { return nil }
        self = value
    }
}

extension Int: SQLValueConvertible {
    var sqlValue: SQLValue { .integer(Int64(self)) }
    init?(sqlValue: SQLValue) {
        guard case .integer(let value) = sqlValue else { return nil }
        self.init(value)
    }
}

extension Int32: SQLValueConvertible {
    var sqlValue: SQLValue { .integer(Int64(self)) }
    init?(sqlValue: SQLValue) {
        guard case .integer(let value) = sqlValue, let narrow = Int32(exactly: value) else { return nil }
        self = narrow
    }
}

extension Double: SQLValueConvertible {
    /// NaN binds as NULL, as GRDB and SQLite do.
    var sqlValue: SQLValue { isNaN ? .null : .real(self) }
    init?(sqlValue: SQLValue) {
        switch sqlValue {
        case .real(let value): self = value
        case .integer(let value): self = Double(value)
        default: return nil
        }
    }
}

extension Bool: SQLValueConvertible {
    var sqlValue: SQLValue { .integer(self ? 1 : 0) }
    init?(sqlValue: SQLValue) {
        guard case .integer(let value) = sqlValue else { return nil }
        self = value != 0
    }
}

extension String: SQLValueConvertible {
    var sqlValue: SQLValue { .text(self) }
    init?(sqlValue: SQLValue) {
        guard case .text(let value) = sqlValue else { return nil }
        self = value
    }
}

extension Data: SQLValueConvertible {
    var sqlValue: SQLValue { .blob(self) }
    init?(sqlValue: SQLValue) {
        guard case .blob(let value) = sqlValue else { return nil }
        self = value
    }
}

extension Optional: SQLValueConvertible where Wrapped: SQLValueConvertible {
    var sqlValue: SQLValue { self?.sqlValue ?? .null }
    init?(sqlValue: SQLValue) {
        if case .null = sqlValue { self = .none; return }
        guard let value = Wrapped(sqlValue: sqlValue) else { return nil }
        self = .some(value)
    }
}

/// One result row: its values by column name or position.
struct SQLRow: Sendable {
    /// The statement's column names, shared by all its rows.
    let columns: [String]
    let values: [SQLValue]

    subscript(_ index: Int) -> SQLValue { values[index] }

    /// The value of the first column with this name (NULL when the statement has no such column).
    subscript(_ name: String) -> SQLValue {
        guard let index = columns.firstIndex(of: name) else { return .null }
        return values[index]
    }

    /// The value as `T`; nil when it is NULL or not of that type.
    func get<T: SQLValueConvertible>(_ name: String, as type: T.Type = T.self) -> T? { T(sqlValue: self[name]) }

    /// The value as `T`. Throws `StoreError.corrupt`-style errors naming the column when it is
    /// NULL or of another type (a database written by something else than Slope).
    func required<T: SQLValueConvertible>(_ name: String, as type: T.Type = T.self) throws -> T {
        guard let value = T(sqlValue: self[name]) else {
            throw StoreError.invalidValue("column \(name) holds \(self[name]), not a \(T.self)")
        }
        return value
    }
}

/// The SQL spoken by a backend, where SQLite's and PostgreSQL's differ. Store's statements
/// are written in the common subset and call these for the rest.
enum SQLDialect: Sendable {
    case sqlite, postgres
}

/// One transaction on one connection. Statements use `?` placeholders only (no named or
/// numbered ones: the PostgreSQL backend rewrites `?` to `$1, $2, ...`), and never `?` inside
/// a string literal.
protocol SQLConnection: AnyObject {
    var dialect: SQLDialect { get }
    /// Every row of a statement.
    func rows(_ sql: String, _ arguments: [any SQLValueConvertible]) throws -> [SQLRow]
    /// Each row of a statement in turn, without holding them all (large reads: tensors, epochs).
    func forEachRow(_ sql: String, _ arguments: [any SQLValueConvertible], _ body: (SQLRow) throws -> Void) throws
    /// Runs a statement; returns how many rows it changed.
    @discardableResult
    func execute(_ sql: String, _ arguments: [any SQLValueConvertible]) throws -> Int
}

extension SQLConnection {
    /// The first column of the first row (nil when there is no row, or it is NULL).
    func value<T: SQLValueConvertible>(_ sql: String, _ arguments: [any SQLValueConvertible] = [], as type: T.Type = T.self) throws -> T? {
        try rows(sql, arguments).first.flatMap { $0.values.first.flatMap(T.init(sqlValue:)) }
    }

    /// The first column of every row (rows whose value is NULL or of another type are left out).
    func values<T: SQLValueConvertible>(_ sql: String, _ arguments: [any SQLValueConvertible] = [], as type: T.Type = T.self) throws -> [T] {
        try rows(sql, arguments).compactMap { $0.values.first.flatMap(T.init(sqlValue:)) }
    }
}

extension StoreBackend {
    func fileChange() -> String? { nil }
    func fileGone() -> StoreError? { nil }
}

/// What each backend does its own way: opening (checks, migrations), transactions, and the
/// epoch write, which is the hot path (SQLite: cached statements stepped through the C API;
/// PostgreSQL: one prepared statement for one or several epochs, tensors bound in binary). SlopeStore holds one and runs every query through it.
protocol StoreBackend: AnyObject, Sendable {
    var dialect: SQLDialect { get }
    /// What messages call the database: the SQLite file's path, or the server without its password.
    var location: String { get }
    /// One read transaction on one consistent snapshot (SQLite: a WAL snapshot; PostgreSQL:
    /// REPEATABLE READ, READ ONLY), so that a report made of several queries is consistent while
    /// a sweep keeps writing.
    func read<T>(_ body: (any SQLConnection) throws -> T) throws -> T
    /// One write transaction (SQLite: BEGIN IMMEDIATE). Errors leave as `StoreError`.
    func write<T>(_ body: (any SQLConnection) throws -> T) throws -> T
    /// Stores one epoch (its `epochs` row, its tensors with their statistics, the run's heartbeat
    /// and summary columns) in one transaction; writes nothing and throws `.runNotHeld` unless
    /// `holder` (its worker, under its claim token) still holds the run. The tensors are already checked for size.
    func writeEpoch(runID: Int64, _ epoch: SlopeStore.EpochRecord, tensors: [SlopeStore.TensorRecord],
                    holder: RunHolder) throws
    /// Stores several epochs of a run (in increasing order; each whole; an EpochWriter's waiting
    /// epochs): SQLite, one transaction each, stopping at the first failure; PostgreSQL, one
    /// statement and transaction for all of them, all or nothing.
    func writeEpochs(runID: Int64, _ epochs: [SlopeStore.PendingEpoch], holder: RunHolder) throws
    /// Starts storing epochs of a run that come after those of `previous` (an EpochWriter's last
    /// write, which may still be on its way). SQLite: waits for `previous`, then writes them
    /// (`writeEpochs`). PostgreSQL: sends their statement on the connection of `previous` while
    /// that one's answer is awaited, guarded so that it stores nothing unless `previous` committed.
    func startEpochs(runID: Int64, _ epochs: [SlopeStore.PendingEpoch], holder: RunHolder,
                     after previous: EpochsInFlight?) throws -> EpochsInFlight
    /// A token that changes whenever a commit reaches the database (equal tokens: nothing was
    /// committed between them), cheap enough for a dashboard to poll often. Throws when the
    /// database cannot be read (a PostgreSQL server that is down), like any read.
    func changeToken() throws -> String
    /// What became of the database file since it was opened (deleted, replaced, written over), nil
    /// while it is the same file, unchanged, or when there is no file (PostgreSQL).
    func fileChange() -> String?
    /// `.databaseGone` when the database file was deleted or another file took its path since it
    /// was opened (a writer's own changes are no such thing); nil otherwise, and for PostgreSQL.
    func fileGone() -> StoreError?
    /// Closes every connection. Later calls do nothing; any other use afterwards throws.
    func close() throws
}
