// SlopeStore: Slope's database, whichever backend holds it (SQLite by default, PostgreSQL for
// many machines). Every public function is written once against `SQLConnection` and runs as one
// transaction of the backend (`read`, `write`); only the epoch write has a fast path per backend.
import Foundation

public final class SlopeStore: @unchecked Sendable {  // the backend is thread-safe; the rest is immutable
    public enum Mode: Sendable { case readWrite, readOnly }

    /// 0x536C6F70, 'Slop': `PRAGMA application_id` of every Slope database (set by 0001_initial.sql).
    public static let applicationID: UInt32 = 0x536C_6F70

    /// Where the database is, as messages name it: the SQLite file's path, or the PostgreSQL
    /// server without its password.
    public let path: String
    public let mode: Mode
    public let busyTimeout: TimeInterval
    let backend: any StoreBackend
    /// Result rows this store's reads (`read`) have returned, for tests that bound a report's work:
    /// nil, and every read goes straight to the backend, unless made by `countingRowsRead()`.
    let rowsRead: RowsRead?

    /// Opens (creating and migrating in `.readWrite` mode) the SQLite database at `path`.
    /// `.readOnly` never migrates or writes: it refuses a database that needs migrating.
    /// - Throws: `StoreError` (`.notASlopeDatabase`, `.newerSchema`, `.olderSchema`, `.notFound`, ...),
    /// `.invalidDatabaseURL` for text that is a mistyped server URL, not a path (`checkFilePath`):
    /// refused before a file named after it (its password included) is created.
    /// With `lockWaiting`, writes wait for another process's lock for as long as it takes (saying
    /// so after `noticeAfter` seconds) instead of giving up after `busyTimeout`.
    public convenience init(path: String, mode: Mode = .readWrite, busyTimeout: TimeInterval = 30, lockWaiting: LockWaiting? = nil) throws {
        try Self.checkFilePath(path)
        let backend = try SQLiteBackend(path: path, mode: mode, busyTimeout: busyTimeout, lockWaiting: lockWaiting)
        self.init(backend: backend, mode: mode, busyTimeout: busyTimeout)
    }

    /// A store over an open backend (`mode` and `busyTimeout` as the backend was opened with).
    init(backend: any StoreBackend, mode: Mode = .readWrite, busyTimeout: TimeInterval = 30, rowsRead: RowsRead? = nil) {
        self.backend = backend
        self.path = backend.location
        self.mode = mode
        self.busyTimeout = busyTimeout
        self.rowsRead = rowsRead
    }

    /// This store (the same backend: closing either closes both) with the result rows of every read
    /// counted in `rowsRead`, from zero: test instrumentation, never made by a command.
    func countingRowsRead() -> SlopeStore {
        SlopeStore(backend: backend, mode: mode, busyTimeout: busyTimeout, rowsRead: RowsRead())
    }

    /// The SQLite backend, for what only SQLite has (its file, VACUUM, the WAL); nil on PostgreSQL.
    var sqlite: SQLiteBackend? { backend as? SQLiteBackend }

    /// Closes the database (SQLite: the last connection to close copies the WAL into the file and
    /// removes the `-wal` and `-shm` files). Later calls do nothing; any other use afterwards throws.
    public func close() throws {
        try backend.close()
    }

    /// Throws `.databaseGone` when the SQLite file was deleted or another file took its path since
    /// this store opened it (what was written since is not in any file at the path). One `stat`.
    public func checkFileStillThere() throws {
        if let gone = backend.fileGone() { throw gone }
    }

    /// One write transaction of the backend; errors leave as `StoreError`.
    func write<T>(_ body: (any SQLConnection) throws -> T) throws -> T {
        try backend.write(body)
    }

    /// One read transaction on one consistent snapshot; errors leave as `StoreError`.
    func read<T>(_ body: (any SQLConnection) throws -> T) throws -> T {
        guard let rowsRead else { return try backend.read(body) }
        return try backend.read { connection in try body(RowCountingConnection(connection, counting: rowsRead)) }
    }

    /// The database the CLIs use: `--db` when given, else `$SLOPE_DB` when set, else `./slope.db`.
    public static func databasePath(given flag: String?) -> String {
        if let flag { return flag }
        if let environment = ProcessInfo.processInfo.environment["SLOPE_DB"], !environment.isEmpty { return environment }
        return "slope.db"
    }

    /// The migration file names this build knows (and the database holds), in order.
    public static var schemaVersions: [String] { Migrations.knownIdentifiers }
}
