// PostgreSQL's schema migrations: the files of migrations/postgres/ (embedded at build time),
// applied in name order, each in its own transaction, recorded by name in slope_migrations,
// under an advisory lock so that processes opening a new database at once do not race.
import Foundation
import PostgresNIO

enum PostgresMigrations {
    /// (file name, SQL text) of every embedded PostgreSQL migration, in file-name order.
    static let files: [(name: String, sql: String)] = EmbeddedFiles.base64
        .filter { $0.name.hasPrefix(folder) && $0.name.hasSuffix(".sql") }
        .sorted { $0.name < $1.name }
        .map { file in
            let bytes = Data(base64Encoded: file.base64) ?? Data()
            return (String(file.name.dropFirst(folder.count)), String(decoding: bytes, as: UTF8.self))
        }
    private static let folder = "postgres/"

    /// The advisory lock held while migrating: (0x536C6F70 'Slop', 1). A session-level lock, so
    /// the server releases it if the process dies; other Slope locks will take other second keys.
    static let lockKeys: (Int32, Int32) = (Int32(bitPattern: SlopeStore.applicationID), 1)

    /// The tables written with the first migration, before its file runs: the marker that tells
    /// a Slope database from another application's (SQLite's `PRAGMA application_id`), and the
    /// record of applied migrations (SQLite's `grdb_migrations`).
    static let bookkeeping = """
        CREATE TABLE slope_database (
            application_id BIGINT NOT NULL PRIMARY KEY CHECK (application_id = \(SlopeStore.applicationID)),
            created_at     TEXT NOT NULL
        );
        CREATE TABLE slope_migrations (
            name       TEXT NOT NULL PRIMARY KEY,   -- the file name, e.g. '0001_initial.sql'
            applied_at TEXT NOT NULL
        );
        """

    /// What is in the connection's schema (`current_schema()`).
    enum Contents: Equatable {
        case empty
        case slope(applied: [String])
        /// Tables or views of another application (some of their names).
        case foreign(names: [String])
    }

    /// Two round trips: the schema's relations (and which of the two bookkeeping tables the role
    /// may not read), then (in a Slope database) its marker and applied migrations.
    /// - Throws: `.postgres` when the role may not read the bookkeeping tables (naming the GRANT).
    static func contents(_ session: PostgresSession) throws -> Contents {
        let schemaRows = try session.query("""
            SELECT current_schema(), array(
                SELECT c.relname::text FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
                WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'v', 'm', 'p', 'f')
                ORDER BY c.relname), array(
                SELECT c.relname::text FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
                WHERE n.nspname = current_schema() AND c.relname IN ('slope_database', 'slope_migrations')
                  AND NOT has_table_privilege(c.oid, 'SELECT')
                ORDER BY c.relname)
            """)
        let (schema, names, unreadable) = try schemaRows.first?.decode((String?, [String], [String]).self) ?? (nil, [], [])
        guard let schema else {
            throw StoreError.postgres(server: session.settings.description, message: "the search_path names no schema that exists, so Slope has nowhere to create its tables: create one (CREATE SCHEMA) or fix search_path for user \(session.settings.user)")
        }
        if names.isEmpty { return .empty }
        guard names.contains("slope_database"), names.contains("slope_migrations") else {
            return .foreign(names: Array(names.prefix(5)))
        }
        // Read, they would fail as "permission denied", which the marker query below cannot tell
        // from another application's tables of the same names.
        if !unreadable.isEmpty {
            throw StoreError.postgres(server: session.settings.description,
                                      message: PostgresErrors.bookkeepingPrivilegeAdvice(unreadable: unreadable, schema: schema, settings: session.settings))
        }
        do {
            let row = try session.query("""
                SELECT (SELECT array_agg(application_id) FROM slope_database),
                       (SELECT array_agg(name ORDER BY name) FROM slope_migrations)
                """).first
            guard let (marks, applied) = try? row?.decode(([Int64]?, [String]?).self),
                  marks == [Int64(SlopeStore.applicationID)] else { return .foreign(names: Array(names.prefix(5))) }
            return .slope(applied: applied ?? [])
        } catch let error as StoreError {
            guard case .postgres = error else { throw error }
            return .foreign(names: Array(names.prefix(5)))  // tables with Slope's names but not its columns
        }
    }

    /// Brings the database up to this build's schema and returns the names of the migrations this
    /// call applied (none when another process did it first). A database already up to date costs
    /// two queries and no lock; otherwise waits up to `lockTimeout` seconds for another process
    /// that is migrating the same database, and checks again under the lock.
    /// `creatingTables: false` refuses a database without Slope's tables (`.noDatabase`) rather
    /// than create them, and still brings an older Slope database up to date.
    static func migrate(_ session: PostgresSession, lockTimeout: TimeInterval, creatingTables: Bool = true) throws -> [String] {
        let server = session.settings.description
        if try pendingMigrations(session, creatingTables: creatingTables).isEmpty { return [] }
        try session.query("SELECT set_config('lock_timeout', \("\(Int(lockTimeout * 1000))ms"), false)")
        do {
            try session.query("SELECT pg_advisory_lock(\(lockKeys.0), \(lockKeys.1))")
        } catch StoreError.timedOut(_, "lock_timeout", _) {
            throw StoreError.busy(path: server, timeout: lockTimeout)
        }
        defer {
            _ = try? session.query("SELECT pg_advisory_unlock(\(lockKeys.0), \(lockKeys.1))")
            _ = try? session.query("RESET lock_timeout")  // the session's own (PostgresSettings.lockTimeout)
        }
        let pending = try pendingMigrations(session, creatingTables: creatingTables)  // another process may have applied them meanwhile
        var appliedNow: [String] = []
        for file in pending {
            try session.transaction {
                if appliedNow.isEmpty && pending.count == files.count {  // an empty database: nothing applied yet
                    try session.execute(script: bookkeeping)
                    try session.query("INSERT INTO slope_database (application_id, created_at) VALUES (\(Int64(SlopeStore.applicationID)), \(Timestamp.now()))")
                }
                try session.execute(script: file.sql)
                try session.query("INSERT INTO slope_migrations (name, applied_at) VALUES (\(file.name), \(Timestamp.now()))")
            }
            appliedNow.append(file.name)
        }
        return appliedNow
    }

    /// The embedded migrations the database has not applied yet, in order (all of them for an
    /// empty database, with `creatingTables`).
    /// - Throws: `.newerSchema`, `.postgres` (another application's database), `.noDatabase`
    ///   (empty, without `creatingTables`).
    private static func pendingMigrations(_ session: PostgresSession, creatingTables: Bool) throws -> [(name: String, sql: String)] {
        let server = session.settings.description
        let applied: [String]
        switch try contents(session) {
        case let .foreign(names):
            throw foreignDatabase(server: server, names: names)
        case .empty:
            guard creatingTables else { throw noTables(server: server) }
            applied = []
        case let .slope(names):
            applied = names
        }
        let known = files.map(\.name)
        let unknown = applied.filter { !known.contains($0) }
        if !unknown.isEmpty { throw StoreError.newerSchema(path: server, unknown: unknown) }
        return files.filter { !applied.contains($0.name) }
    }

    /// For read-only use: the database must hold exactly this build's migrations (never migrates).
    static func verify(_ session: PostgresSession) throws {
        let server = session.settings.description
        switch try contents(session) {
        case let .foreign(names):
            throw foreignDatabase(server: server, names: names)
        case .empty:
            throw noTables(server: server)
        case let .slope(applied):
            let known = files.map(\.name)
            let unknown = applied.filter { !known.contains($0) }
            if !unknown.isEmpty { throw StoreError.newerSchema(path: server, unknown: unknown) }
            let missing = known.filter { !applied.contains($0) }
            if !missing.isEmpty { throw StoreError.olderSchema(path: server, missing: missing) }
        }
    }

    static func noTables(server: String) -> StoreError {
        .noDatabase(path: server, reason: "it has no Slope tables yet: run `runner` on it once as the database owner to create them (docs/distributed.md, Roles)")
    }

    static func foreignDatabase(server: String, names: [String]) -> StoreError {
        .postgres(server: server, message: "this database belongs to another application (it has tables such as \(names.joined(separator: ", ")) and no Slope marker): Slope never writes into it. Give an empty database (CREATE DATABASE slope) or one made by Slope")
    }
}

extension PostgresSession {
    /// The names of this build's PostgreSQL migrations, in order.
    public static var schemaVersions: [String] { PostgresMigrations.files.map(\.name) }

    /// Creates Slope's tables in an empty database, or applies the migrations an older Slope
    /// left out; safe when several processes (on several machines) do it at once.
    /// `creatingTables: false`: a database without Slope's tables is refused rather than created
    /// (for workers, which would find nothing to do in it).
    /// - Returns: the migrations this call applied (empty when the schema was already current).
    /// - Throws: `StoreError.newerSchema` (a newer Slope's database), `.postgres` (another
    ///   application's database), `.busy` (another process migrating for longer than `lockTimeout`),
    ///   `.noDatabase` (no Slope tables, without `creatingTables`).
    @discardableResult
    public func migrate(lockTimeout: TimeInterval = 60, creatingTables: Bool = true) throws -> [String] {
        try PostgresMigrations.migrate(self, lockTimeout: lockTimeout, creatingTables: creatingTables)
    }

    /// Checks, without writing, that the database holds exactly this build's schema.
    /// - Throws: `StoreError.newerSchema`, `.olderSchema`, `.noDatabase` or `.postgres`.
    public func verifySchema() throws {
        try PostgresMigrations.verify(self)
    }
}
