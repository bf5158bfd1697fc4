// PostgresBackend against the real test server: placeholders, values bound and read back, read
// snapshots, write transactions, the connection pool, opening (migrate, verify, refuse), and the
// epoch write (the same rows, statistics and bytes as SQLite's; guarded by the holder).
import Foundation
import GRDB
import PostgresNIO
import TestSupport
import XCTest
@testable import Store

final class PostgresBackendTests: XCTestCase {
    private var database: TestDatabase!

    override func setUpWithError() throws { database = try PostgresTestCluster.makeDatabase() }

    override func tearDown() { database?.drop() }

    private func backend(_ mode: SlopeStore.Mode = .readWrite, maximumConnections: Int = 4,
                         reconnection: SlopeStore.PostgresReconnection = .init()) throws -> PostgresBackend {
        try PostgresBackend(settings: try database.settings(), mode: mode, maximumConnections: maximumConnections,
                            reconnection: reconnection)
    }

    // MARK: - Statements and values

    func testNumbersPlaceholdersOutsideLiteralsAndComments() {
        let (sql, count) = SQLScript.numberedPlaceholders("""
            SELECT ?, '?', 'it''s ?', "a?b", $$ ? $$, $tag$ ? $tag$, ? -- ?
            FROM t /* ? */ WHERE x = ? AND y = $1
            """)
        XCTAssertEqual(sql, """
            SELECT $1, '?', 'it''s ?', "a?b", $$ ? $$, $tag$ ? $tag$, $2 -- ?
            FROM t /* ? */ WHERE x = $3 AND y = $1
            """)
        XCTAssertEqual(count, 3)
        XCTAssertEqual(SQLScript.numberedPlaceholders("SELECT 1").sql, "SELECT 1")
        XCTAssertEqual(SQLScript.numberedPlaceholders("SELECT 1").count, 0)
    }

    func testBindsAndReadsBackEveryKindOfValue() throws {
        let backend = try backend()
        defer { try? backend.close() }
        let integers: [Int64] = [0, -1, Int64.min, Int64.max, 1 << 40]
        let reals: [Double] = [0, -0.0, .pi, -.greatestFiniteMagnitude, .leastNonzeroMagnitude, .infinity, 1e-300]
        let texts = ["", "plain", "it's \"quoted\" ? $1", "ünïcödé ✓", String(repeating: "x", count: 10_000)]
        let blobs = [Data(), Data([0, 1, 2, 255]), Data((0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })]
        try backend.write { connection in
            try connection.execute("CREATE TABLE v (id BIGINT PRIMARY KEY, i BIGINT, r DOUBLE PRECISION, t TEXT, b BYTEA)", [])
            var id: Int64 = 0
            for value in integers { id += 1; XCTAssertEqual(try connection.execute("INSERT INTO v (id, i) VALUES (?, ?)", [id, value]), 1) }
            for value in reals { id += 1; try connection.execute("INSERT INTO v (id, r) VALUES (?, ?)", [id, value]) }
            for value in texts { id += 1; try connection.execute("INSERT INTO v (id, t) VALUES (?, ?)", [id, value]) }
            for value in blobs { id += 1; try connection.execute("INSERT INTO v (id, b) VALUES (?, ?)", [id, value]) }
            id += 1
            try connection.execute("INSERT INTO v (id, i, r, t, b) VALUES (?, ?, ?, ?, ?)", [id, SQLValue.null, Double.nan, String?.none, Data?.none])
        }
        let rows = try backend.read { try $0.rows("SELECT id, i, r, t, b FROM v ORDER BY id", []) }
        XCTAssertEqual(rows.count, integers.count + reals.count + texts.count + blobs.count + 1)
        XCTAssertEqual(rows.first?.columns, ["id", "i", "r", "t", "b"])
        XCTAssertEqual(rows.prefix(integers.count).map { $0["i"] }, integers.map(SQLValue.integer))
        let readReals = rows.dropFirst(integers.count).prefix(reals.count).map { $0.get("r", as: Double.self) }
        XCTAssertEqual(readReals.map { $0?.bitPattern }, reals.map(\.bitPattern), "bit for bit, -0.0 and infinity included")
        XCTAssertEqual(rows.dropFirst(integers.count + reals.count).prefix(texts.count).map { $0["t"] }, texts.map(SQLValue.text))
        XCTAssertEqual(rows.dropFirst(integers.count + reals.count + texts.count).prefix(blobs.count).map { $0["b"] },
                       blobs.map(SQLValue.blob))
        XCTAssertEqual(rows.last?.values, [.integer(Int64(rows.count)), .null, .null, .null, .null], "NULLs, and NaN bound as NULL")

        // The other column types map onto the same kinds.
        let mapped = try backend.read { connection in
            try connection.rows("""
                SELECT 7::int2 AS small, 8::int4 AS medium, 1.5::float4 AS single, 12.25::numeric AS exact, true AS yes, false AS no,
                       'v'::varchar AS chars, '{"a": 1}'::json AS json, '{"b": [1, 2]}'::jsonb AS jsonb, 'lit' AS literal,
                       count(*) AS counted, sum(1) AS summed
                FROM generate_series(1, 3)
                """, [])
        }
        XCTAssertEqual(mapped.first?.values, [
            .integer(7), .integer(8), .real(1.5), .real(12.25), .integer(1), .integer(0), .text("v"), .text(#"{"a": 1}"#),
            .text(#"{"b": [1, 2]}"#), .text("lit"), .integer(3), .integer(3),
        ])
        // Rows one at a time, and the affected row count of an UPDATE.
        var seen: [Int64] = []
        try backend.read { connection in
            try connection.forEachRow("SELECT id FROM v WHERE id <= ? ORDER BY id", [3]) { seen.append($0.get("id")!) }
        }
        XCTAssertEqual(seen, [1, 2, 3])
        XCTAssertEqual(try backend.write { try $0.execute("UPDATE v SET t = ? WHERE id > ?", ["later", 10]) }, rows.count - 10)
    }

    func testAStatementWithTheWrongNumberOfArgumentsIsRefused() throws {
        let backend = try backend()
        defer { try? backend.close() }
        XCTAssertThrowsError(try backend.read { try $0.rows("SELECT ?::int8, ?::int8", [1]) }) { error in
            XCTAssertEqual(error as? StoreError, .invalidValue("a statement has 2 placeholders but 1 arguments: SELECT ?::int8, ?::int8"))
        }
    }

    // MARK: - Transactions

    func testAReadSeesOneSnapshotAndCannotWrite() throws {
        let backend = try backend()
        defer { try? backend.close() }
        _ = try backend.write { try $0.execute("CREATE TABLE c (x BIGINT)", []) }
        _ = try backend.write { try $0.execute("INSERT INTO c VALUES (1)", []) }
        let counts: [Int64] = try backend.read { connection in
            let before: Int64 = try connection.value("SELECT count(*) FROM c") ?? -1
            // Another connection commits a row meanwhile: this read does not see it.
            _ = try backend.write { try $0.execute("INSERT INTO c VALUES (2)", []) }
            let after: Int64 = try connection.value("SELECT count(*) FROM c") ?? -1
            return [before, after]
        }
        XCTAssertEqual(counts, [1, 1])
        XCTAssertEqual(try backend.read { try $0.value("SELECT count(*) FROM c", as: Int64.self) }, 2)
        XCTAssertThrowsError(try backend.read { try $0.execute("INSERT INTO c VALUES (3)", []) }) { error in
            XCTAssertTrue(String(describing: error).contains("read-only transaction"), "\(error)")
        }
    }

    /// The dashboard's change token on a server: every commit moves it (also one made through
    /// another connection); reads do not. (A background write of the server, e.g. autovacuum's
    /// analyze, may move it too: an unchanged token is looked for in a few tries.)
    func testTheChangeTokenMovesWithEveryCommitAndNotWithReads() throws {
        let backend = try backend()
        defer { try? backend.close() }
        _ = try backend.write { try $0.execute("CREATE TABLE c (x BIGINT)", []) }
        var tokens = [try backend.changeToken()]
        for value in 1...5 {
            _ = try backend.write { try $0.execute("INSERT INTO c VALUES (?)", [Int64(value)]) }
            tokens.append(try backend.changeToken())
            XCTAssertNotEqual(tokens[tokens.count - 1], tokens[tokens.count - 2], "commit \(value) did not move the token")
        }
        XCTAssertEqual(Set(tokens).count, tokens.count)
        var unchangedByReads = false
        for _ in 0..<5 where !unchangedByReads {
            let before = try backend.changeToken()
            XCTAssertEqual(try backend.read { try $0.value("SELECT count(*) FROM c", as: Int64.self) }, 5)
            unchangedByReads = try backend.changeToken() == before
        }
        XCTAssertTrue(unchangedByReads, "a read moved the change token")
        // Through the Store's API, as the dashboard asks it.
        let store = SlopeStore(backend: backend, mode: .readWrite, busyTimeout: 5)
        let before = try store.queries.changeToken()
        _ = try backend.write { try $0.execute("INSERT INTO c VALUES (6)", []) }
        XCTAssertNotEqual(try store.queries.changeToken(), before)
    }

    func testAWriteThatThrowsLeavesNothing() throws {
        let backend = try backend()
        defer { try? backend.close() }
        _ = try backend.write { try $0.execute("CREATE TABLE c (x BIGINT PRIMARY KEY)", []) }
        struct Stop: Error {}
        XCTAssertThrowsError(try backend.write { connection in
            try connection.execute("INSERT INTO c VALUES (1)", [])
            throw Stop()
        }) { XCTAssertTrue($0 is Stop) }
        XCTAssertThrowsError(try backend.write { connection in
            try connection.execute("INSERT INTO c VALUES (2)", [])
            try connection.execute("INSERT INTO c VALUES (2)", [])
        }) { error in
            XCTAssertTrue(String(describing: error).contains("23505"), "\(error)")
        }
        XCTAssertEqual(try backend.read { try $0.values("SELECT x FROM c", as: Int64.self) }, [])
        // The connection is usable again afterwards.
        _ = try backend.write { try $0.execute("INSERT INTO c VALUES (3)", []) }
        XCTAssertEqual(try backend.read { try $0.values("SELECT x FROM c", as: Int64.self) }, [3])
    }

    /// Eight threads share three connections: every increment lands, and no more than three
    /// connections are ever open.
    func testThreadsShareASmallPool() throws {
        let backend = try backend(maximumConnections: 3)
        defer { try? backend.close() }
        _ = try backend.write { try $0.execute("CREATE TABLE counter (n BIGINT NOT NULL)", []) }
        _ = try backend.write { try $0.execute("INSERT INTO counter VALUES (0)", []) }
        let errors = ErrorList()
        let group = DispatchGroup()
        for _ in 0..<8 {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                for _ in 0..<25 {
                    do {
                        _ = try backend.write { try $0.execute("UPDATE counter SET n = n + 1", []) }
                        _ = try backend.read { try $0.value("SELECT n FROM counter", as: Int64.self) }
                    } catch {
                        errors.append(error)
                    }
                }
            }
        }
        XCTAssertEqual(group.wait(timeout: .now() + 300), .success, "the threads finish")
        XCTAssertEqual(errors.all.map { "\($0)" }, [])
        XCTAssertEqual(try backend.read { try $0.value("SELECT n FROM counter", as: Int64.self) }, 200)
        let admin = try database.session()
        defer { admin.close() }
        let open = try XCTUnwrap(admin.query("""
            SELECT count(*) FROM pg_stat_activity WHERE datname = \(database.name) AND application_name = 'slope' AND pid <> pg_backend_pid()
            """).first).decode(Int.self)
        XCTAssertLessThanOrEqual(open, 3)
        XCTAssertGreaterThanOrEqual(open, 1)
    }

    // MARK: - Opening

    func testOpeningMigratesOrVerifiesAndRefusesOthersDatabases() throws {
        let server = try database.settings().description
        XCTAssertThrowsError(try backend(.readOnly)) { error in
            guard case StoreError.noDatabase = error else { return XCTFail("\(error)") }
        }
        let writer = try backend()
        XCTAssertEqual(writer.location, server)
        XCTAssertFalse(writer.location.contains(PostgresTestCluster.adminPassword))
        XCTAssertEqual(try writer.read { try $0.values("SELECT name FROM slope_migrations ORDER BY name", as: String.self) },
                       PostgresSession.schemaVersions)
        try writer.close()
        XCTAssertThrowsError(try writer.read { _ in 1 }, "closed")

        let reader = try backend(.readOnly)
        defer { try? reader.close() }
        XCTAssertEqual(try reader.read { try $0.value("SELECT count(*) FROM runs", as: Int.self) }, 0)
        XCTAssertThrowsError(try reader.write { _ in 1 }) { error in
            XCTAssertEqual(error as? StoreError, .readOnly(path: server))
        }
        let worker = WorkerIdentity(host: "h", pid: 1, label: "w")
        XCTAssertThrowsError(try reader.writeEpoch(runID: 1, .init(epoch: 0, trainLoss: 1), tensors: [], holder: RunHolder(worker: worker, claimToken: 1))) { error in
            XCTAssertEqual(error as? StoreError, .readOnly(path: server))
        }

        // A newer Slope's database, and another application's, are refused in both modes.
        let session = try database.session()
        defer { session.close() }
        try session.query("INSERT INTO slope_migrations (name, applied_at) VALUES ('9999_later.sql', 'x')")
        for mode in [SlopeStore.Mode.readWrite, .readOnly] {
            XCTAssertThrowsError(try backend(mode)) { error in
                XCTAssertEqual(error as? StoreError, .newerSchema(path: server, unknown: ["9999_later.sql"]))
            }
        }
        let other = try PostgresTestCluster.makeDatabase()
        defer { other.drop() }
        let otherSession = try other.session()
        try otherSession.query("CREATE TABLE users (id BIGINT)")
        otherSession.close()
        for mode in [SlopeStore.Mode.readWrite, .readOnly] {
            XCTAssertThrowsError(try PostgresBackend(settings: try other.settings(), mode: mode)) { error in
                XCTAssertTrue(String(describing: error).contains("belongs to another application"), "\(error)")
            }
        }
    }

    func testAnUnreachableServerFailsAtOnceWithOneLine() throws {
        let settings = try PostgresSettings(url: try PostgresTestCluster.url(port: 1, database: database.name), environment: [:])
        XCTAssertThrowsError(try PostgresBackend(settings: settings, mode: .readWrite)) { error in
            guard case StoreError.cannotConnect = error else { return XCTFail("\(error)") }
            let message = String(describing: error)
            XCTAssertFalse(message.contains("\n"), message)
            XCTAssertFalse(message.contains(PostgresTestCluster.adminPassword), message)
        }
    }
}

/// Errors collected from several threads.
final class ErrorList: @unchecked Sendable {
    private let lock = NSLock()
    private var errors: [Error] = []
    func append(_ error: Error) {
        lock.lock()
        errors.append(error)
        lock.unlock()
    }
    var all: [Error] {
        lock.lock()
        defer { lock.unlock() }
        return errors
    }
}
