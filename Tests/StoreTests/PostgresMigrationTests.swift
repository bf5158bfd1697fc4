// The PostgreSQL schema against the real test server: a fresh database migrated, four processes
// migrating at once, newer and foreign databases refused, the same tables, columns, constraints
// and views as SQLite's (every migration), the same values backfilled, and tensors bit-identical
// to SQLite's BLOBs.
import Foundation
import GRDB
import PostgresNIO
import TestSupport
import XCTest
@testable import Store

final class PostgresMigrationTests: XCTestCase {
    private var database: TestDatabase!

    override func setUpWithError() throws { database = try PostgresTestCluster.makeDatabase() }

    override func tearDown() { database?.drop() }

    private func tableNames(_ session: PostgresSession) throws -> [String] {
        try session.query("""
            SELECT table_name::text FROM information_schema.tables
            WHERE table_schema = current_schema() ORDER BY 1
            """).map { try $0.decode(String.self) }
    }

    private func appliedMigrations(_ session: PostgresSession) throws -> [String] {
        try session.query("SELECT name FROM slope_migrations ORDER BY name").map { try $0.decode(String.self) }
    }

    func testMigratesAFreshDatabaseOnce() throws {
        XCTAssertEqual(PostgresSession.schemaVersions.first, "0001_initial.sql")
        let session = try database.session()
        defer { session.close() }
        XCTAssertThrowsError(try session.verifySchema()) { error in
            guard case StoreError.noDatabase = error else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(try session.migrate(), PostgresSession.schemaVersions)
        XCTAssertEqual(try tableNames(session), [
            "epochs", "layer_stats", "run_summary", "runs", "slope_database", "slope_migrations", "sweeps", "tensors",
        ])
        XCTAssertEqual(try appliedMigrations(session), PostgresSession.schemaVersions)
        let (applicationID, createdAt) = try XCTUnwrap(session.query("SELECT application_id, created_at FROM slope_database").first)
            .decode((Int64, String).self)
        XCTAssertEqual(applicationID, 0x536C_6F70)
        XCTAssertEqual(createdAt.count, "2026-11-29T12:34:56.789Z".count)
        XCTAssertTrue(createdAt.hasSuffix("Z"), createdAt)
        // Again, from another connection: nothing to do, and the schema checks out.
        let again = try database.session()
        XCTAssertEqual(try again.migrate(), [])
        XCTAssertNoThrow(try again.verifySchema())
        again.close()
        XCTAssertEqual(try appliedMigrations(session), PostgresSession.schemaVersions)
        // The migration lock is released: another session can take it at once.
        XCTAssertEqual(try XCTUnwrap(session.query("SELECT pg_try_advisory_lock(\(PostgresMigrations.lockKeys.0), \(PostgresMigrations.lockKeys.1))").first)
                        .decode(Bool.self), true)
    }

    /// Four processes open the new database at the same moment: each migration is applied by
    /// exactly one of them, and all four end with the full schema.
    func testFourProcessesMigrateTheSameNewDatabaseOnce() throws {
        var environment = ProcessInfo.processInfo.environment
        environment["SLOPE_PROBE_POSTGRES_URL"] = database.url  // not in the arguments, which ps shows
        let start = String(Date().timeIntervalSince1970 + 2)
        let probes = try (0..<4).map { _ in
            try Probe(["migrate", start], executable: Probe.built("PostgresProbe"), environment: environment)
        }
        let results = probes.map { $0.finish() }
        for (index, result) in results.enumerated() {
            XCTAssertEqual(result.status, 0, "probe \(index): \(result.lines)")
            XCTAssertEqual(result.lines.last, "done", "probe \(index): \(result.lines)")
        }
        let applied = results.flatMap { $0.lines.filter { $0.hasPrefix("applied ") } }.map { String($0.dropFirst("applied ".count)) }
        XCTAssertEqual(applied.sorted(), PostgresSession.schemaVersions, "each migration applied once in all: \(results.map(\.lines))")
        let session = try database.session()
        defer { session.close() }
        XCTAssertEqual(try appliedMigrations(session), PostgresSession.schemaVersions)
        XCTAssertEqual(try XCTUnwrap(session.query("SELECT count(*) FROM slope_database").first).decode(Int.self), 1)
        XCTAssertNoThrow(try session.verifySchema())
    }

    func testRefusesADatabaseOfANewerSlope() throws {
        let session = try database.session()
        defer { session.close() }
        try session.migrate()
        try session.query("INSERT INTO slope_migrations (name, applied_at) VALUES ('9999_from_the_future.sql', '2027-01-01T00:00:00.000Z')")
        let server = try database.settings().description
        XCTAssertFalse(server.contains(PostgresTestCluster.adminPassword))
        for attempt in [{ _ = try session.migrate() }, { try session.verifySchema() }] {
            XCTAssertThrowsError(try attempt()) { error in
                XCTAssertEqual(error as? StoreError, .newerSchema(path: server, unknown: ["9999_from_the_future.sql"]))
                XCTAssertEqual(String(describing: error),
                               "\(server) was written by a newer Slope (unknown migrations: 9999_from_the_future.sql): upgrade Slope to use it.")
            }
        }
        XCTAssertEqual(try appliedMigrations(session), PostgresSession.schemaVersions + ["9999_from_the_future.sql"], "nothing changed")
    }

    func testVerifyRefusesAnOlderSchema() throws {
        let session = try database.session()
        defer { session.close() }
        try session.migrate()
        try session.query("DELETE FROM slope_migrations WHERE name = \(PostgresSession.schemaVersions.last!)")
        XCTAssertThrowsError(try session.verifySchema()) { error in
            XCTAssertEqual(error as? StoreError, .olderSchema(path: (try? database.settings().description) ?? "",
                                                              missing: [PostgresSession.schemaVersions.last!]))
        }
    }

    func testRefusesADatabaseOfAnotherApplication() throws {
        let session = try database.session()
        defer { session.close() }
        try session.execute(script: "CREATE TABLE users (id BIGINT PRIMARY KEY); CREATE VIEW active_users AS SELECT id FROM users;")
        for attempt in [{ _ = try session.migrate() }, { try session.verifySchema() }] {
            XCTAssertThrowsError(try attempt()) { error in
                XCTAssertEqual(String(describing: error), "PostgreSQL error on \((try? self.database.settings().description) ?? ""): this database belongs to another application (it has tables such as active_users, users and no Slope marker): Slope never writes into it. Give an empty database (CREATE DATABASE slope) or one made by Slope")
            }
        }
        XCTAssertEqual(try tableNames(session), ["active_users", "users"], "nothing was written")

        // Tables named like Slope's bookkeeping but not Slope's: refused too.
        try session.execute(script: """
            DROP VIEW active_users; DROP TABLE users;
            CREATE TABLE slope_database (application_id BIGINT); INSERT INTO slope_database VALUES (42);
            CREATE TABLE slope_migrations (name TEXT);
            """)
        XCTAssertThrowsError(try session.migrate()) { error in
            XCTAssertTrue(String(describing: error).contains("belongs to another application"), "\(error)")
        }
        try session.execute(script: "DROP TABLE slope_database; CREATE TABLE slope_database (other TEXT);")
        XCTAssertThrowsError(try session.migrate()) { error in
            XCTAssertTrue(String(describing: error).contains("belongs to another application"), "\(error)")
        }
        XCTAssertEqual(try tableNames(session), ["slope_database", "slope_migrations"])
    }

    func testWaitsForAnotherMigratorAndGivesUpAfterTheLockTimeout() throws {
        let holder = try database.session()
        defer { holder.close() }
        try holder.query("SELECT pg_advisory_lock(\(PostgresMigrations.lockKeys.0), \(PostgresMigrations.lockKeys.1))")
        let session = try database.session()
        defer { session.close() }
        XCTAssertThrowsError(try session.migrate(lockTimeout: 0.2)) { error in
            XCTAssertEqual(error as? StoreError, .busy(path: (try? database.settings().description) ?? "", timeout: 0.2))
        }
        XCTAssertEqual(try tableNames(session), [], "nothing was written")
        try holder.query("SELECT pg_advisory_unlock(\(PostgresMigrations.lockKeys.0), \(PostgresMigrations.lockKeys.1))")
        XCTAssertEqual(try session.migrate(lockTimeout: 0.2), PostgresSession.schemaVersions)
    }

    /// Opening a database that is up to date takes no lock: a process holding the migration lock
    /// (another Slope migrating some other way, or stuck) does not hold up workers.
    func testACurrentDatabaseOpensWithoutTheMigrationLock() throws {
        let session = try database.session()
        defer { session.close() }
        XCTAssertEqual(try session.migrate(), PostgresSession.schemaVersions)
        let holder = try database.session()
        defer { holder.close() }
        try holder.query("SELECT pg_advisory_lock(\(PostgresMigrations.lockKeys.0), \(PostgresMigrations.lockKeys.1))")
        let opener = try database.session()
        defer { opener.close() }
        XCTAssertEqual(try opener.migrate(lockTimeout: 0.2), [], "up to date: no lock asked for, so no .busy")
        // One migration short: that needs the lock, and waits for it.
        try session.query("DELETE FROM slope_migrations WHERE name = \(PostgresSession.schemaVersions.last!)")
        XCTAssertThrowsError(try opener.migrate(lockTimeout: 0.2)) { error in
            XCTAssertEqual(error as? StoreError, .busy(path: (try? database.settings().description) ?? "", timeout: 0.2))
        }
    }

    /// `creatingTables: false` (workers): an empty database is refused and left empty, an older
    /// Slope database is still brought up to date, another application's is refused as always.
    func testWithoutCreatingTablesAnEmptyDatabaseIsRefusedAndAnOlderOneMigrated() throws {
        let session = try database.session()
        defer { session.close() }
        let server = try database.settings().description
        XCTAssertThrowsError(try session.migrate(creatingTables: false)) { error in
            XCTAssertEqual(error as? StoreError, .noDatabase(path: server, reason: "it has no Slope tables yet: run `runner` on it once as the database owner to create them (docs/distributed.md, Roles)"))
        }
        XCTAssertEqual(try tableNames(session), [], "nothing was written")
        let firstThree = Array(PostgresSession.schemaVersions.prefix(3))
        try session.execute(script: PostgresMigrations.bookkeeping)
        try session.query("INSERT INTO slope_database (application_id, created_at) VALUES (\(Int64(SlopeStore.applicationID)), '2026-01-01T00:00:00.000Z')")
        for file in PostgresMigrations.files.prefix(3) {
            try session.execute(script: file.sql)
            try session.query("INSERT INTO slope_migrations (name, applied_at) VALUES (\(file.name), '2026-01-01T00:00:00.000Z')")
        }
        XCTAssertEqual(try appliedMigrations(session), firstThree)
        XCTAssertEqual(try session.migrate(creatingTables: false), Array(PostgresSession.schemaVersions.dropFirst(3)))
        XCTAssertEqual(try appliedMigrations(session), PostgresSession.schemaVersions)
        XCTAssertNoThrow(try session.verifySchema())

        let foreign = try PostgresTestCluster.makeDatabase()
        defer { foreign.drop() }
        let other = try foreign.session()
        defer { other.close() }
        try other.query("CREATE TABLE users (id BIGINT PRIMARY KEY)")
        XCTAssertThrowsError(try other.migrate(creatingTables: false)) { error in
            XCTAssertTrue(String(describing: error).contains("belongs to another application (it has tables such as users"), "\(error)")
        }
    }

    // MARK: - The same schema as SQLite's

    /// SQLite's schema: the SQLite migrations up to `last` (all of them by default).
    private func sqliteSchema(through last: String? = nil) throws -> DatabaseQueue {
        let queue = try DatabaseQueue()
        for file in Migrations.files where last.map({ file.name <= $0 }) ?? true {
            try queue.write { try $0.execute(sql: file.sql) }
        }
        return queue
    }

    /// ... and PostgreSQL has 0006 alone (its view's plan; SQLite plans 0001's view so already).
    func testEverySQLiteMigrationHasAPostgreSQLVersionOfTheSameName() {
        XCTAssertEqual(Array(PostgresSession.schemaVersions.prefix(SlopeStore.schemaVersions.count)), SlopeStore.schemaVersions)
        XCTAssertEqual(PostgresSession.schemaVersions, ["0001_initial.sql", "0002_worker_liveness.sql",
                                                        "0003_run_settings.sql", "0004_optimizer_state.sql", "0005_claim_token.sql",
                                                        "0006_layer_stats_lookup.sql"])
    }

    func testSameTablesColumnsTypesAndIndexesAsSQLite() throws {
        let sqlite = try sqliteSchema()
        let session = try database.session()
        defer { session.close() }
        try session.migrate()

        let sqliteObjects = try sqlite.read { db in
            try Row.fetchAll(db, sql: "SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name")
                .map { ($0["type"] as String, $0["name"] as String) }
        }
        let sqliteTables = sqliteObjects.filter { $0.0 == "table" || $0.0 == "view" }.map(\.1)
        XCTAssertEqual(try tableNames(session).filter { !$0.hasPrefix("slope_") }, sqliteTables)
        XCTAssertEqual(sqliteTables, ["epochs", "layer_stats", "run_summary", "runs", "sweeps", "tensors"])

        let postgresType = ["INTEGER": "bigint", "REAL": "double precision", "TEXT": "text", "BLOB": "bytea"]
        for table in sqliteTables {
            let sqliteColumns = try sqlite.read { db in
                try Row.fetchAll(db, sql: "SELECT name, type, \"notnull\", pk FROM pragma_table_info(?) ORDER BY cid", arguments: [table])
            }
            let postgresColumns = try session.query("""
                SELECT column_name::text, data_type::text, is_nullable::text FROM information_schema.columns
                WHERE table_schema = current_schema() AND table_name = \(table) ORDER BY ordinal_position
                """).map { try $0.decode((String, String, String).self) }
            XCTAssertEqual(postgresColumns.map(\.0), sqliteColumns.map { $0["name"] as String }, table)
            let isView = sqliteObjects.contains { $0 == ("view", table) }
            for (sqliteColumn, postgresColumn) in zip(sqliteColumns, postgresColumns) where !isView {
                let name: String = sqliteColumn["name"]
                XCTAssertEqual(postgresColumn.1, postgresType[sqliteColumn["type"] as String], "\(table).\(name)")
                // SQLite lets a (non-rowid) primary key column be NULL unless declared NOT NULL; PostgreSQL never does.
                let sqliteNotNull = (sqliteColumn["notnull"] as Int) == 1 || (sqliteColumn["pk"] as Int) > 0
                XCTAssertEqual(postgresColumn.2 == "NO", sqliteNotNull, "\(table).\(name) NOT NULL")
            }
            if isView {
                // The same view columns, of the same kinds of values.
                let postgresTypes = postgresColumns.map(\.1)
                XCTAssertFalse(postgresTypes.contains("unknown"), "\(table): \(postgresTypes)")
            }
        }
        let sqliteIndexes = sqliteObjects.filter { $0.0 == "index" }.map(\.1)
        let postgresIndexes = try session.query("""
            SELECT indexname::text FROM pg_indexes WHERE schemaname = current_schema()
            AND indexname NOT LIKE '%_pkey' ORDER BY 1
            """).map { try $0.decode(String.self) }
        XCTAssertEqual(postgresIndexes, sqliteIndexes)
    }

    /// Each statement is refused (or accepted) by both stores alike: the same constraints.
    func testSameConstraintsAsSQLite() throws {
        let sqlite = try sqliteSchema()
        let session = try database.session()
        defer { session.close() }
        try session.migrate()
        let run = """
            INSERT INTO runs (id, sweep_id, learning_rate, batch_size, epochs, seed, layers, activation, output_activation,
                              loss, precision, dataset, created_at, slope_version, config)
            VALUES (%@)
            """
        func runValues(_ replacing: [String: String] = [:]) -> String {
            let values: [(String, String)] = [
                ("id", "1"), ("sweep_id", "1"), ("learning_rate", "0.1"), ("batch_size", "32"), ("epochs", "3"),
                ("seed", "9223372036854775807"), ("layers", "'2-3-1'"), ("activation", "'relu'"), ("output_activation", "'sigmoid'"),
                ("loss", "'mse'"), ("precision", "'float32'"), ("dataset", "'xor'"), ("created_at", "'2026-11-29T12:34:56.789Z'"),
                ("slope_version", "'test'"), ("config", "'{\"a\": 1}'"),
            ]
            return run.replacingOccurrences(of: "%@", with: values.map { replacing[$0.0] ?? $0.1 }.joined(separator: ", "))
        }
        let statements: [(sql: String, accepted: Bool)] = [
            ("INSERT INTO sweeps (id, name, spec, created_at) VALUES (1, 's', '{\"fixed\": {}}', '2026-11-29T12:34:56.789Z')", true),
            ("INSERT INTO sweeps (id, name, spec, created_at) VALUES (2, 's', 'not json', '2026-11-29T12:34:56.789Z')", false),
            ("INSERT INTO sweeps (id, name, spec, created_at, status) VALUES (3, 's', '{}', 'x', 'paused')", false),
            ("INSERT INTO sweeps (id, spec, created_at) VALUES (4, '{}', 'x')", false),
            (runValues(), true),
            (runValues(["id": "2", "learning_rate": "0"]), false),
            (runValues(["id": "3", "batch_size": "0"]), false),
            (runValues(["id": "4", "epochs": "-1"]), false),
            (runValues(["id": "5", "activation": "'gelu'"]), false),
            (runValues(["id": "6", "output_activation": "'gelu'"]), false),
            (runValues(["id": "7", "loss": "'hinge'"]), false),
            (runValues(["id": "8", "precision": "'float16'"]), false),
            (runValues(["id": "9", "config": "'{'"]), false),
            (runValues(["id": "10", "sweep_id": "99"]), false),  // no such sweep
            (runValues(["id": "11", "sweep_id": "NULL"]), true),  // a single run
            ("UPDATE runs SET momentum = 1 WHERE id = 1", false),
            ("UPDATE runs SET validation_fraction = -0.5 WHERE id = 1", false),
            ("UPDATE runs SET status = 'lost' WHERE id = 1", false),
            ("UPDATE runs SET status = 'running', worker = '1@h', heartbeat_at = '2026-11-29T12:34:57.000Z' WHERE id = 1", true),
            ("INSERT INTO epochs (run_id, epoch, train_loss) VALUES (1, 0, 0.5)", true),
            ("INSERT INTO epochs (run_id, epoch, train_loss) VALUES (1, 0, 0.4)", false),  // the same epoch twice
            ("INSERT INTO epochs (run_id, epoch) VALUES (1, -1)", false),
            ("INSERT INTO epochs (run_id, epoch) VALUES (42, 0)", false),  // no such run
            ("INSERT INTO tensors (run_id, epoch, layer, kind, rows, cols, dtype, data) VALUES (1, 0, 1, 'weight', 1, 1, 'float32', %blob4)", true),
            ("INSERT INTO tensors (run_id, epoch, layer, kind, rows, cols, dtype, data) VALUES (1, 0, 1, 'bias', 1, 1, 'float64', %blob4)", false),
            ("INSERT INTO tensors (run_id, epoch, layer, kind, rows, cols, dtype, data) VALUES (1, 0, 1, 'bias', 1, 2, 'float32', %blob4)", false),
            ("INSERT INTO tensors (run_id, epoch, layer, kind, rows, cols, dtype, data) VALUES (1, 0, 1, 'activation', 1, 1, 'float32', %blob4)", false),
            ("INSERT INTO tensors (run_id, epoch, layer, kind, rows, cols, dtype, data) VALUES (1, 0, 0, 'bias', 1, 1, 'float32', %blob4)", false),
            ("INSERT INTO tensors (run_id, epoch, layer, kind, rows, cols, dtype, data) VALUES (1, 0, 1, 'bias', 0, 1, 'float32', %blob0)", false),
            ("INSERT INTO tensors (run_id, epoch, layer, kind, rows, cols, dtype, data) VALUES (1, 7, 1, 'bias', 1, 1, 'float32', %blob4)", false),  // no such epoch
            ("INSERT INTO tensors (run_id, epoch, layer, kind, rows, cols, dtype, data) VALUES (1, 0, 1, 'weight_grad', 1, 1, 'float32', %blob4)", true),
            // 0004: the optimizers' state kinds.
            ("INSERT INTO tensors (run_id, epoch, layer, kind, rows, cols, dtype, data) VALUES (1, 0, 1, 'weight_adam_m', 1, 1, 'float32', %blob4)", true),
            ("INSERT INTO tensors (run_id, epoch, layer, kind, rows, cols, dtype, data) VALUES (1, 0, 1, 'bias_rms', 1, 1, 'float32', %blob4)", true),
            ("INSERT INTO tensors (run_id, epoch, layer, kind, rows, cols, dtype, data) VALUES (1, 0, 1, 'step', 1, 1, 'float32', %blob4)", true),
            ("INSERT INTO tensors (run_id, epoch, layer, kind, rows, cols, dtype, data) VALUES (1, 0, 1, 'weight_momentum', 1, 1, 'float32', %blob4)", false),
            // 0002-0004: the columns' checks.
            ("UPDATE runs SET boot_id = 'b', process_start = 123, pid_namespace = 'pid:[1]' WHERE id = 1", true),
            ("UPDATE runs SET nesterov = 1, bias = 0, standardize = 1, weight_decay = 0.5 WHERE id = 1", true),
            ("UPDATE runs SET nesterov = 2 WHERE id = 1", false),
            ("UPDATE runs SET nesterov = NULL WHERE id = 1", false),
            ("UPDATE runs SET bias = -1 WHERE id = 1", false),
            ("UPDATE runs SET standardize = 3 WHERE id = 1", false),
            ("UPDATE runs SET weight_decay = -0.1 WHERE id = 1", false),
            ("UPDATE runs SET optimizer = 'adamw', beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8 WHERE id = 1", true),
            ("UPDATE runs SET optimizer = 'lion' WHERE id = 1", false),
            ("UPDATE runs SET optimizer = NULL WHERE id = 1", false),
            ("UPDATE runs SET beta1 = 1 WHERE id = 1", false),
            ("UPDATE runs SET beta2 = -0.5 WHERE id = 1", false),
            ("UPDATE runs SET epsilon = 0 WHERE id = 1", false),
            ("UPDATE runs SET rho = 1 WHERE id = 1", false),
            ("UPDATE runs SET rho = 0.99 WHERE id = 1", true),
            // 0005: the claim token.
            ("UPDATE runs SET claim_token = claim_token + 1 WHERE id = 1", true),
            ("UPDATE runs SET claim_token = -1 WHERE id = 1", false),
            ("UPDATE runs SET claim_token = NULL WHERE id = 1", false),
        ]
        for (sql, accepted) in statements {
            let sqliteSQL = sql.replacingOccurrences(of: "%blob4", with: "X'0000803F'").replacingOccurrences(of: "%blob0", with: "X''")
            let postgresSQL = sql.replacingOccurrences(of: "%blob4", with: "'\\x0000803f'::bytea").replacingOccurrences(of: "%blob0", with: "''::bytea")
            let sqliteAccepted = (try? sqlite.write { try $0.execute(sql: sqliteSQL) }) != nil  // GRDB turns foreign keys on
            let postgresAccepted = (try? session.query(PostgresQuery(unsafeSQL: postgresSQL))) != nil
            XCTAssertEqual(sqliteAccepted, accepted, "SQLite: \(sql)")
            XCTAssertEqual(postgresAccepted, accepted, "PostgreSQL: \(sql)")
        }
        // The views read alike: run_summary's row and layer_stats' ratio (learning_rate x |g| / |w|, both 1 here).
        let sqliteSummary = try sqlite.read { try Row.fetchOne($0, sql: "SELECT run_id, status, worker, seed FROM run_summary WHERE run_id = 1") }
        let (runID, status, worker, seed) = try XCTUnwrap(session.query("SELECT run_id, status, worker, seed FROM run_summary WHERE run_id = 1").first)
            .decode((Int64, String, String, Int64).self)
        let summary = try XCTUnwrap(sqliteSummary)
        XCTAssertEqual(summary["run_id"] as Int64, runID)
        XCTAssertEqual(summary["status"] as String, status)
        XCTAssertEqual(summary["worker"] as String, worker)
        XCTAssertEqual(summary["seed"] as Int64, seed)
        XCTAssertEqual(seed, Int64.max)
        try sqlite.write { try $0.execute(sql: "UPDATE tensors SET l2 = 1") }
        try session.query("UPDATE tensors SET l2 = 1")
        let sqliteRatio = try sqlite.read { try Double.fetchOne($0, sql: "SELECT update_to_weight_ratio FROM layer_stats") }
        let postgresRatio = try XCTUnwrap(session.query("SELECT update_to_weight_ratio FROM layer_stats").first).decode(Double.self)
        XCTAssertEqual(sqliteRatio, 0.1)
        XCTAssertEqual(postgresRatio, 0.1)
        // Deleting a sweep deletes its runs, their epochs and tensors (ON DELETE CASCADE), in both.
        try sqlite.write { try $0.execute(sql: "DELETE FROM sweeps WHERE id = 1") }
        try session.query("DELETE FROM sweeps WHERE id = 1")
        for table in ["runs", "epochs", "tensors"] {
            let sqliteCount = try sqlite.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM \(table)") }
            let postgresCount = try XCTUnwrap(session.query(PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(table)")).first).decode(Int.self)
            XCTAssertEqual(sqliteCount, postgresCount, table)
        }
        XCTAssertEqual(try XCTUnwrap(session.query("SELECT count(*) FROM runs").first).decode(Int.self), 1, "the single run stays")
    }

    /// A database made before 0002 gets its new columns filled from `config` and `layers` by the
    /// PostgreSQL migrations exactly as SQLite's migrations fill them.
    func testMigrationsBackfillTheSameValuesAsSQLite() throws {
        let configs = [
            #"{"training": {"weightDecay": 0.01, "nesterov": true, "usesBias": false, "initialization": "he-normal", "optimizer": "adam", "beta1": 0.8, "earlyStopping": {"patience": 3, "monitor": "val_loss", "minDelta": 0.001}}, "data": {"standardize": false, "splitSeed": 9223372036854775807, "target": "y", "taskOverride": "regression"}, "tensorLogging": 5, "initialWeightsFile": "w.json"}"#,
            #"{"training": {"optimizer": "rmsprop", "rho": 0.9}, "data": {"standardize": true}, "tensorLogging": "every"}"#,
            #"{"training": {"optimizer": "adamw", "epsilon": 1e-6}, "data": {"target": null}}"#,
            #"{}"#,
        ]
        let layers = ["64-32-16-10", "2-1", "5-7-1", "3-3"]
        let insert = """
            INSERT INTO runs (id, learning_rate, batch_size, epochs, seed, layers, activation, output_activation, loss,
                              precision, dataset, created_at, slope_version, config)
            VALUES (%d, 0.1, 32, 3, 1, '%@', 'relu', 'sigmoid', 'mse', 'float32', 'xor', 'x', 'v', '%@')
            """
        func insertions() -> [String] {
            zip(layers, configs).enumerated().map { index, pair in
                insert.replacingOccurrences(of: "%d", with: String(index + 1))
                    .replacingOccurrences(of: "'%@', 'relu'", with: "'\(pair.0)', 'relu'")
                    .replacingOccurrences(of: "'%@')", with: "'\(pair.1)')")
            }
        }
        let sqlite = try sqliteSchema(through: "0001_initial.sql")
        try sqlite.write { db in
            for statement in insertions() { try db.execute(sql: statement) }
            for file in Migrations.files where file.name > "0001_initial.sql" { try db.execute(sql: file.sql) }
        }

        let session = try database.session()
        defer { session.close() }
        try session.transaction {
            try session.execute(script: PostgresMigrations.bookkeeping)
            try session.query("INSERT INTO slope_database (application_id, created_at) VALUES (\(Int64(SlopeStore.applicationID)), 'x')")
            try session.execute(script: try XCTUnwrap(PostgresMigrations.files.first).sql)
            try session.query("INSERT INTO slope_migrations (name, applied_at) VALUES ('0001_initial.sql', 'x')")
            for statement in insertions() { try session.query(PostgresQuery(unsafeSQL: statement)) }
        }
        XCTAssertEqual(try session.migrate(), Array(PostgresSession.schemaVersions.dropFirst()))

        let columns = ["weight_decay", "nesterov", "hidden", "init", "bias", "early_stopping_patience", "early_stopping_monitor",
                       "min_delta", "target", "task", "standardize", "split_seed", "log_tensors", "init_weights",
                       "optimizer", "beta1", "beta2", "epsilon", "rho"]
        let select = "SELECT run_id, \(columns.joined(separator: ", ")) FROM run_summary ORDER BY run_id"
        let sqliteRows = try sqlite.read { db in
            try Row.fetchAll(db, sql: select).map { row in Array(row.databaseValues).map(SQLValue.init) }
        }
        let postgresRows = try PostgresSQLConnection(session: session).rows(select, []).map(\.values)
        XCTAssertEqual(postgresRows.count, 4)
        XCTAssertEqual(postgresRows, sqliteRows)
        // Hand-checked values of the first run, whatever both stores do.
        XCTAssertEqual(postgresRows.first, [
            .integer(1), .real(0.01), .integer(1), .text("32,16"), .text("he-normal"), .integer(0), .integer(3), .text("val_loss"),
            .real(0.001), .text("y"), .text("regression"), .integer(0), .integer(Int64.max), .text("5"), .text("w.json"),
            .text("adam"), .real(0.8), .real(0.999), .real(1e-8), .null,
        ])
    }

    // MARK: - Tensors: the same bytes

    /// A tensor written through the SQLite store and the same values bound as bytea read back
    /// bit-identical, float32 and float64, with values at the edges of each format.
    func testTensorBytesAreIdenticalToSQLiteBlobs() throws {
        let floats: [Float] = [0, -0.0, 1, -1.5, .pi, .leastNonzeroMagnitude, -.leastNormalMagnitude,
                               .greatestFiniteMagnitude, .leastNormalMagnitude / 3, Float(bitPattern: 0x3F80_0001)]
        let doubles: [Double] = [0, -0.0, 1, .pi, .leastNonzeroMagnitude, -.greatestFiniteMagnitude, .leastNormalMagnitude / 7, 0.1]
        let tensors: [SlopeStore.TensorRecord] = [
            .float32(layer: 1, kind: .weight, rows: 2, cols: 5, floats),
            .float64(layer: 1, kind: .bias, rows: 1, cols: 8, doubles),
        ]
        // SQLite, through the store.
        let directory = try TemporaryDirectory(prefix: "slope-pgtensors")
        defer { directory.remove() }
        let path = directory.path("slope.db")
        let store = try SlopeStore(path: path)
        let runID = try store.createRun(.example(layers: "5-5"))
        let worker = WorkerIdentity.current(label: "test")
        let claimToken = try XCTUnwrap(store.claimRun(runID: runID, worker: worker)).claimToken
        try store.writeEpoch(runID: runID, .init(epoch: 0, trainLoss: 0.5), tensors: tensors, holder: RunHolder(worker: worker, claimToken: claimToken))
        try store.close()
        let sqliteBlobs = try DatabaseQueue(path: path).read { db in
            try Row.fetchAll(db, sql: "SELECT kind, data, created_at FROM tensors JOIN runs ON runs.id = run_id ORDER BY kind DESC")
                .map { ($0["kind"] as String, [UInt8]($0["data"] as Data), $0["created_at"] as String) }
        }
        XCTAssertEqual(sqliteBlobs.map(\.0), ["weight", "bias"])

        // PostgreSQL: the same values bound as bytea.
        let session = try database.session()
        defer { session.close() }
        try session.migrate()
        try session.transaction {
            try session.query("""
                INSERT INTO runs (id, learning_rate, batch_size, epochs, seed, layers, activation, output_activation,
                                  loss, precision, dataset, created_at, slope_version, config)
                VALUES (1, 0.05, 32, 3, 0, '5-5', 'relu', 'softmax', 'cross-entropy', 'float32', 'digits',
                        \(sqliteBlobs[0].2), 'test', '{}')
                """)
            try session.query("INSERT INTO epochs (run_id, epoch, train_loss) VALUES (1, 0, 0.5)")
            for tensor in tensors {
                try session.query("""
                    INSERT INTO tensors (run_id, epoch, layer, kind, rows, cols, dtype, data)
                    VALUES (1, 0, \(tensor.layer), \(tensor.kind.rawValue), \(tensor.rows), \(tensor.cols),
                            \(tensor.dtype.rawValue), \(ByteBuffer(bytes: tensor.data)))
                    """)
            }
        }
        let postgresBlobs = try session.query("""
            SELECT t.kind, t.data, r.created_at FROM tensors AS t JOIN runs AS r ON r.id = t.run_id ORDER BY t.kind DESC
            """).map { row -> (String, [UInt8], String) in
            let (kind, data, createdAt) = try row.decode((String, ByteBuffer, String).self)
            return (kind, Array(data.readableBytesView), createdAt)
        }
        XCTAssertEqual(postgresBlobs.count, 2)
        for (sqliteRow, postgresRow) in zip(sqliteBlobs, postgresBlobs) {
            XCTAssertEqual(postgresRow.0, sqliteRow.0)
            XCTAssertEqual(postgresRow.1, sqliteRow.1, "\(sqliteRow.0): the same bytes")
            XCTAssertEqual(postgresRow.2, sqliteRow.2, "the same timestamp text")
        }
        // And they decode to the values written, bit for bit.
        let weight = postgresBlobs[0].1.withUnsafeBytes { raw in
            (0..<floats.count).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
        XCTAssertEqual(weight.map(\.bitPattern), floats.map(\.bitPattern))
        let bias = postgresBlobs[1].1.withUnsafeBytes { raw in
            (0..<doubles.count).map { Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self))) }
        }
        XCTAssertEqual(bias.map(\.bitPattern), doubles.map(\.bitPattern))
        XCTAssertEqual(try XCTUnwrap(session.query("SELECT length(data) FROM tensors WHERE kind = 'weight'").first).decode(Int.self), 40)
    }
}
