// The roles of docs/distributed.md, set up with the SQL printed there (read from the page, so
// the page stays true): the owner migrates, the worker reads and writes Slope's tables but cannot
// change the schema, the reader only reads.
import Foundation
import PostgresNIO
import XCTest
@testable import Store

final class PostgresRolesTests: XCTestCase {
    /// The ```sql blocks of docs/distributed.md: the roles and database (as the superuser, on the
    /// server and then, after its `\connect slope` line, in the new database), and what the owner
    /// runs after the first migration.
    private func documentedSQL() throws -> (server: String, database: String, afterMigrating: String) {
        let page = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/distributed.md")
        let blocks = try String(contentsOf: page, encoding: .utf8).components(separatedBy: "```sql\n").dropFirst()
            .map { $0.components(separatedBy: "```")[0] }
        XCTAssertGreaterThanOrEqual(blocks.count, 2, "docs/distributed.md sets up the roles in two sql blocks")
        let parts = (blocks.first ?? "").components(separatedBy: "\\connect slope\n")
        XCTAssertEqual(parts.count, 2, "the first block connects to the new database once")
        return (parts[0], parts.count > 1 ? parts[1] : "", blocks.count > 1 ? blocks[1] : "")
    }

    func testDocumentedRolesCanDoWhatTheDocsSay() throws {
        let admin = try PostgresSession(settings: PostgresTestCluster.admin())
        defer { admin.close() }
        // Roles belong to the whole server: unique names, so that runs of the tests never meet.
        let suffix = "_" + UUID().uuidString.prefix(8).lowercased()
        let database = "slope" + suffix
        let names = ["slope_owner", "slope_worker", "slope_reader"]
        func rename(_ sql: String) -> String {
            var result = sql
            for name in names { result = result.replacingOccurrences(of: name, with: name + suffix) }
            return result.replacingOccurrences(of: "CREATE DATABASE slope ", with: "CREATE DATABASE \(database) ")
                .replacingOccurrences(of: "'choose-one'", with: "'owner-pw'")
                .replacingOccurrences(of: "'choose-another'", with: "'worker-pw'")
                .replacingOccurrences(of: "'and-a-third'", with: "'reader-pw'")
        }
        let (serverSQL, databaseSQL, afterMigratingSQL) = try documentedSQL()
        defer {
            _ = try? admin.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(database) WITH (FORCE)"))
            for name in names { _ = try? admin.query(PostgresQuery(unsafeSQL: "DROP ROLE IF EXISTS \(name + suffix)")) }
        }
        try admin.execute(script: rename(serverSQL))
        let superuser = try PostgresSession(settings: PostgresSettings(url: PostgresTestCluster.url(database: database), environment: [:]))
        try superuser.execute(script: rename(databaseSQL))
        superuser.close()

        func session(_ role: String, _ password: String) throws -> PostgresSession {
            try PostgresSession(settings: PostgresSettings(
                url: PostgresTestCluster.url(user: role + suffix, password: password, database: database), environment: [:]))
        }
        func refused(_ session: PostgresSession, _ sql: String, file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertThrowsError(try session.query(PostgresQuery(unsafeSQL: sql)), sql, file: file, line: line) { error in
                // SQLSTATE 42501 (insufficient privilege) is said as what the role may not do (PostgresErrors.privilegeAdvice).
                XCTAssertTrue(String(describing: error).contains("may not") && String(describing: error).contains("docs/distributed.md, Roles"),
                              "permission denied: \(error)", file: file, line: line)
            }
        }

        // The owner creates the schema on first connect.
        let owner = try session("slope_owner", "owner-pw")
        XCTAssertEqual(try owner.migrate(), PostgresSession.schemaVersions)
        try owner.execute(script: rename(afterMigratingSQL))
        owner.close()

        // The worker writes runs (identity ids included) and reads them, and nothing else.
        let worker = try session("slope_worker", "worker-pw")
        XCTAssertEqual(try worker.migrate(), [], "an up-to-date database needs nothing from the worker")
        let sweepID = try XCTUnwrap(worker.query("""
            INSERT INTO sweeps (name, spec, created_at) VALUES ('s', '{}', '2026-11-29T12:34:56.789Z') RETURNING id
            """).first).decode(Int64.self)
        try worker.query("UPDATE sweeps SET status = 'running' WHERE id = \(sweepID)")
        try worker.query("""
            INSERT INTO runs (sweep_id, learning_rate, batch_size, epochs, seed, layers, activation, output_activation,
                              loss, precision, dataset, created_at, slope_version, config)
            VALUES (\(sweepID), 0.1, 8, 1, 0, '2-1', 'relu', 'sigmoid', 'mse', 'float32', 'xor', '2026-11-29T12:34:56.789Z', 'test', '{}')
            """)
        XCTAssertEqual(try XCTUnwrap(worker.query("SELECT count(*) FROM run_summary").first).decode(Int.self), 1)
        refused(worker, "CREATE TABLE extra (x BIGINT)")
        refused(worker, "DROP TABLE tensors")
        refused(worker, "ALTER TABLE runs ADD COLUMN extra TEXT")
        refused(worker, "DELETE FROM slope_migrations")
        refused(worker, "UPDATE slope_database SET created_at = 'x'")
        XCTAssertEqual(try XCTUnwrap(worker.query("SELECT count(*) FROM slope_migrations").first).decode(Int.self),
                       PostgresSession.schemaVersions.count, "but it reads them (to check the schema)")
        worker.close()

        // The reader reads and checks the schema, and writes nothing.
        let reader = try session("slope_reader", "reader-pw")
        XCTAssertNoThrow(try reader.verifySchema())
        XCTAssertEqual(try XCTUnwrap(reader.query("SELECT count(*) FROM runs").first).decode(Int.self), 1)
        refused(reader, "INSERT INTO sweeps (name, spec, created_at) VALUES ('s', '{}', 'x')")
        refused(reader, "UPDATE runs SET status = 'failed'")
        refused(reader, "CREATE TABLE extra (x BIGINT)")
        reader.close()
    }
}
