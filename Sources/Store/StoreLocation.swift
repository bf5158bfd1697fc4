// Opening the database a `--db` or SLOPE_DB names: a `postgresql://` (or `postgres://`) URL is a
// PostgreSQL server, anything else an SQLite file's path.
import Foundation

extension SlopeStore {
    /// Opens the database `location` names: a PostgreSQL server for a `postgresql://` URL (with
    /// `reconnection` for a connection lost later), else the SQLite file at that path (waiting for
    /// other processes' locks as `busyTimeout` and `lockWaiting` say). A server's database is
    /// migrated on a read-write open; `creatingServerTables: false` refuses one without Slope's
    /// tables (`.noDatabase`) instead of creating them, in the same connection and queries.
    /// `location` is checked as `checkLocation` checks it (a URL by its parse, a path by
    /// `checkFilePath` in `init(path:)`), so that a caller that skipped `checkLocation` still never
    /// opens a mistyped URL as a file; the executables check `--db` and SLOPE_DB in their
    /// `validate()` too, to name the option in a usage error before any work.
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
    /// opening checks the same again, `init(location:)`): a PostgreSQL URL must parse, and a file
    /// path must pass `checkFilePath`.
    /// - Throws: `StoreError.invalidDatabaseURL`.
    public static func checkLocation(_ location: String) throws {
        if PostgresSettings.isPostgresURL(location) {
            _ = try PostgresSettings(url: location)
            return
        }
        try checkFilePath(location)
    }

    /// A file path must not look like a mistyped server URL (`looksLikeServerURL`), which would
    /// otherwise be taken as a file name (a file created with the password in its name) and shown
    /// whole. Messages show such text with its user and password part as "***".
    /// - Throws: `StoreError.invalidDatabaseURL`.
    static func checkFilePath(_ location: String) throws {
        let trimmed = location.trimmingCharacters(in: .whitespacesAndNewlines)
        let shown = PostgresURL.redacted(trimmed)
        if trimmed != location && PostgresSettings.isPostgresURL(trimmed) {
            throw StoreError.invalidDatabaseURL("'\(shown)' has spaces around it: remove them")
        }
        guard looksLikeServerURL(trimmed) else { return }
        throw StoreError.invalidDatabaseURL("'\(shown)' is not a PostgreSQL URL nor a file path: Slope stores in an SQLite file "
                                            + "(a path) or a PostgreSQL server, written as postgresql://USER@HOST:5432/DATABASE")
    }

    /// Text no one types as a file's path but easily as a server URL gone wrong: anything with
    /// "://" (`mysql://`, `postgres ql://`); a scheme and one slash with an '@' or a postgres scheme
    /// (`postgres:/u@h`); "postgres", "postgresql" or "pg" (any case) followed by ':' or "//", or by
    /// a space in text with an '@' (`postgresql:u:pw@h`, `postgresql//u@h`); `USER:PASSWORD@HOST`
    /// (a ':' before the last '@' and no '/' before it, which a path there would have: `./a:b@c.db`
    /// is a file).
    static func looksLikeServerURL(_ text: String) -> Bool {
        if text.contains("://") { return true }
        if let scheme = text.range(of: #"^[A-Za-z][A-Za-z0-9+.-]*:/"#, options: .regularExpression),
           text.contains("@") || text[scheme].lowercased().hasPrefix("postgres") {
            return true
        }
        if text.range(of: #"^(postgres|postgresql|pg)(:|//)"#, options: [.regularExpression, .caseInsensitive]) != nil
            || (text.range(of: #"^(postgres|postgresql|pg)\s"#, options: [.regularExpression, .caseInsensitive]) != nil && text.contains("@")) {
            return true
        }
        guard let at = text.lastIndex(of: "@") else { return false }
        return text[..<at].contains(":") && !text[..<at].contains("/")
    }
}
