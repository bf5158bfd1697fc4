// Opening the database a `--db` or SLOPE_DB names: a `postgresql://` (or `postgres://`) URL is a
// PostgreSQL server, anything else an SQLite file's path.
import Foundation

extension SlopeStore {
    /// Opens the database `location` names: a PostgreSQL server for a `postgresql://` URL (with
    /// `reconnection` for a connection lost later), else the SQLite file at that path (waiting for
    /// other processes' locks as `busyTimeout` and `lockWaiting` say). A server's database is
    /// migrated on a read-write open; `creatingServerTables: false` refuses one without Slope's
    /// tables (`.noDatabase`) instead of creating them, in the same connection and queries.
    /// `location` is one `checkLocation` accepted: both executables check `--db` and SLOPE_DB there,
    /// once, in their `validate()`, a usage error before anything is opened. Here, text that is no
    /// `postgresql://` URL is a file's path, even `mysql://...`.
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

    /// Checks what `--db` or SLOPE_DB names before anything is opened (the executables' `validate()`;
    /// `init(location:)` does not check again): a PostgreSQL URL must parse,
    /// and a file path must not look like a URL (`mysql://...`, `postgres:/...` with one slash, a
    /// URL with a space before it), which would otherwise be taken as a file name and shown whole,
    /// password included. Messages show such text with its user and password part as "***".
    /// - Throws: `StoreError.invalidDatabaseURL`.
    public static func checkLocation(_ location: String) throws {
        if PostgresSettings.isPostgresURL(location) {
            _ = try PostgresSettings(url: location)
            return
        }
        let trimmed = location.trimmingCharacters(in: .whitespacesAndNewlines)
        let shown = PostgresURL.redacted(trimmed)
        if trimmed != location && PostgresSettings.isPostgresURL(trimmed) {
            throw StoreError.invalidDatabaseURL("'\(shown)' has spaces around it: remove them")
        }
        guard let scheme = trimmed.range(of: #"^[A-Za-z][A-Za-z0-9+.-]*:/"#, options: .regularExpression) else { return }
        let name = trimmed[scheme].dropLast(2).lowercased()
        guard trimmed.contains("://") || trimmed.contains("@") || name.hasPrefix("postgres") else { return }
        throw StoreError.invalidDatabaseURL("'\(shown)' is not a PostgreSQL URL nor a file path: Slope stores in an SQLite file "
                                            + "(a path) or a PostgreSQL server, written as postgresql://USER@HOST:5432/DATABASE")
    }
}
