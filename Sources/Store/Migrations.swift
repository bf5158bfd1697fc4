// Schema migrations: the numbered SQL files of migrations/ (embedded at build time by the
// EmbedFiles plugin), registered with GRDB's DatabaseMigrator under their file names.
import Foundation
import GRDB

enum Migrations {
    /// (file name, SQL text) of every embedded migration, in file-name order.
    static let files: [(name: String, sql: String)] = EmbeddedFiles.base64
        .filter { $0.name.hasSuffix(".sql") && !$0.name.contains("/") }  // postgres/*.sql: PostgresMigrations
        .sorted { $0.name < $1.name }
        .map { file in
            let bytes = Data(base64Encoded: file.base64) ?? Data()
            return (file.name, String(decoding: bytes, as: UTF8.self))
        }

    static var knownIdentifiers: [String] { files.map(\.name) }

    /// Thrown inside a migration's transaction when another process applied it first.
    private struct AppliedByAnotherProcess: Error {}

    static let migrator: DatabaseMigrator = {
        var migrator = DatabaseMigrator()
        for file in files {
            migrator.registerMigration(file.name) { db in
                // GRDB reads the applied list before its IMMEDIATE transaction starts, so
                // another process may have applied this migration in between. Under the
                // write lock the check is exact; the caller retries with a fresh list.
                let alreadyApplied = try Bool.fetchOne(
                    db, sql: "SELECT EXISTS (SELECT 1 FROM grdb_migrations WHERE identifier = ?)",
                    arguments: [file.name]) ?? false
                if alreadyApplied { throw AppliedByAnotherProcess() }
                try db.execute(sql: file.sql)
            }
        }
        return migrator
    }()

    /// Identifiers applied in the database that this build does not know, and known ones not applied yet.
    static func compare(_ db: Database) throws -> (unknown: [String], missing: [String]) {
        let applied = try migrator.appliedIdentifiers(db)
        let known = Set(knownIdentifiers)
        return (applied.subtracting(known).sorted(), knownIdentifiers.filter { !applied.contains($0) })
    }

    /// Brings the database up to this build's schema; safe when several processes do it at once.
    static func migrate(_ pool: DatabasePool, path: String) throws {
        while true {
            let (unknown, missing) = try pool.read { try compare($0) }
            if !unknown.isEmpty { throw StoreError.newerSchema(path: path, unknown: unknown) }
            if missing.isEmpty { return }
            do {
                try migrator.migrate(pool)
                return
            } catch is AppliedByAnotherProcess {
                continue  // someone else migrated: look again (it can only have moved forward)
            }
        }
    }

    /// Read-only opens never migrate: they only verify the schema is exactly this build's.
    static func verify(_ pool: DatabasePool, path: String) throws {
        let (unknown, missing) = try pool.read { try compare($0) }
        if !unknown.isEmpty { throw StoreError.newerSchema(path: path, unknown: unknown) }
        if !missing.isEmpty { throw StoreError.olderSchema(path: path, missing: missing) }
    }
}
