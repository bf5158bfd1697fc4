// Opening the database a `--db` or SLOPE_DB names: a `postgresql://` (or `postgres://`) URL is a
// PostgreSQL server, anything else an SQLite file's path.
import Foundation

extension SlopeStore {
    /// Opens the database `location` names: a PostgreSQL server for a `postgresql://` URL (with
    /// `reconnection` for a connection lost later), else the SQLite file at that path (waiting for
    /// other processes' locks as `busyTimeout` and `lockWaiting` say). A server's database is
    /// migrated on a read-write open; `creatingServerTables: false` refuses one without Slope's
    /// tables (`.noDatabase`) instead of creating them, in the same connection and queries.
    /// - Throws: `StoreError` (`.invalidDatabaseURL`, `.cannotConnect`, `.notASlopeDatabase`, ...).
    public convenience init(location: String, mode: Mode = .readWrite, busyTimeout: TimeInterval = 30,
                            lockWaiting: LockWaiting? = nil, creatingServerTables: Bool = true,
                            reconnection: PostgresReconnection = .init()) throws {
        guard PostgresSettings.isPostgresURL(location) else {
            try self.init(path: location, mode: mode, busyTimeout: busyTimeout, lockWaiting: lockWaiting)
            return
        }
        let backend = try PostgresBackend(settings: PostgresSettings(url: location), mode: mode,
                                          creatingTables: creatingServerTables, reconnection: reconnection)
        self.init(backend: backend, mode: mode, busyTimeout: busyTimeout)
    }
}
