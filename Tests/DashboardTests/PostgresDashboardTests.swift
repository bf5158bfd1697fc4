// Every route test of DashboardTests again on the PostgreSQL store (a database of the test server
// per fixture: SLOPE_TEST_POSTGRES_URL; skipped without it, failing under CI), and here: the same
// JSON from both stores for every route, and the dashboard served to a role that may only read.
import Foundation
import Hummingbird
import HummingbirdTesting
@testable import Store
import TestSupport
import XCTest
@testable import Dashboard

final class PostgresDashboardTests: DashboardTests {
    /// The test server's superuser settings (skips the test without a server, fails it under CI).
    static func admin() throws -> PostgresSettings {
        guard let url = try PostgresTestServer.adminURL() else { throw XCTSkip(PostgresTestServer.skipReason) }
        return try PostgresSettings(url: url, environment: [:])
    }

    /// Runs `script` as the superuser, in `database` (the server's own when nil).
    static func execute(_ script: String, in database: String? = nil) throws {
        let session = try PostgresSession(settings: PostgresSettings(url: try url(database: database ?? admin().database), environment: [:]))
        defer { session.close() }
        try session.execute(script: script)
    }

    /// A URL of the test server for `database`, as the superuser or as `user` with `password`.
    static func url(user: String? = nil, password: String? = nil, database: String) throws -> String {
        let admin = try admin()
        return "postgresql://\(user ?? admin.user):\(password ?? admin.password?.value ?? "")@\(admin.host):\(admin.port)/\(database)?sslmode=disable"
    }

    /// A new database of the test server, dropped when the class ends.
    override class func makeDatabase() throws -> String {
        let name = "slope_dashboard_" + UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: "")
        try execute("CREATE DATABASE \(name)")
        cleanups.append { _ = try? execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)") }
        return try url(database: name)
    }

    /// Every API request of the pages (and its errors), on the fixture.
    static let everyRoute = [
        "/api/sweeps", "/api/sweeps/1", "/api/sweeps/1/runs?sort=-best_val_loss&offset=2&limit=3",
        "/api/sweeps/1/runs?where=batch_size+%3D+16&columns=name,status,best_val_loss", "/api/sweeps/1/runs?sort=final_val_accuracy",
        "/api/runs?where=sweep_id+is+null&sort=-id", "/api/runs?limit=3&offset=8",
        "/api/sweeps/1/heatmap?rows=learning_rate&cols=batch_size", "/api/sweeps/1/heatmap?rows=seed&cols=learning_rate&metric=final_train_loss",
        "/api/sweeps/1/importance", "/api/sweeps/1/importance?where=learning_rate+%3D+0.1&metric=final_train_loss",
        "/api/sweeps/1/parallel", "/api/sweeps/1/parallel?limit=2&metric=final_train_loss",
        "/api/curves?runs=1,9&metric=train_loss", "/api/curves?runs=2,10", "/api/compare?runs=1,9,10",
        "/api/runs/9", "/api/runs/10", "/api/runs/8", "/api/runs/1/layers", "/api/runs/10/layers", "/api/runs/1/tensors?epoch=1",
        "/api/runs/10/tensors", "/api/runs/1/histogram?epoch=0&layer=1&kind=weight&bins=4", "/api/runs/10/histogram?epoch=2&layer=1&kind=weight_grad",
        "/api/runs/1/tensor.npy?epoch=0&layer=1&kind=weight", "/api/runs/10/tensor.npy?epoch=1&layer=2&kind=bias",
        "/api/sweeps/7", "/api/sweeps/1/runs?where=learning_rate+%3C", "/api/runs/404", "/api/curves?runs=1&metric=speed",
        "/api/runs/1/tensors?epoch=99",
    ]

    /// Answers with their times masked: the two fixtures were written at different moments.
    static func masked(_ reply: Reply) -> String {
        reply.text.replacingOccurrences(of: #"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z"#, with: "<time>", options: .regularExpression)
    }

    /// A request whose statements wait behind another session's exclusive lock (a migration of an
    /// upgrading runner, ALTER TABLE, VACUUM FULL) is the database not answering: its 503 says so,
    /// not that the request reads too much (its read transaction had begun, but no statement had
    /// returned). Once the lock is gone the same server answers.
    func testARequestWaitingForAnotherSessionsLockSaysTheDatabaseDoesNotAnswer() async throws {
        let locker = try PostgresSession(settings: PostgresSettings(url: databasePath, environment: [:]))
        defer { locker.close() }
        let store = try SlopeStore(location: databasePath, mode: .readOnly)
        defer { try? store.close() }
        let server = try DashboardServer(queries: store.queries, answerWithin: .milliseconds(500))
        try locker.execute(script: "BEGIN; LOCK TABLE runs IN ACCESS EXCLUSIVE MODE")
        let blocked: Reply
        do {
            defer { try? locker.execute(script: "ROLLBACK") }
            blocked = try await Self.fetch(["/api/sweeps"], from: server)[0]
        }
        XCTAssertEqual(blocked.status, .serviceUnavailable)
        let message = blocked.json["error"] as? String ?? ""
        XCTAssertTrue(message.hasPrefix("cannot read the database: no answer within 0.5 s (a PostgreSQL server that is down or does not "
                                        + "answer, a file locked by another process, or a slow query"), message)
        XCTAssertFalse(message.contains("reads more of it"), message)
        let answered = try await Self.fetch(["/api/sweeps"], from: server)[0]
        XCTAssertEqual(answered.status, .ok)
        XCTAssertEqual((answered.json["sweeps"] as? [Any])?.count, 1)
    }

    /// The fixture written through the same Store API into SQLite and into PostgreSQL: every route
    /// answers the same status and the same JSON (and the same .npy bytes), times aside.
    func testEveryRouteAnswersAsOnSQLite() async throws {
        let directory = try TemporaryDirectory(prefix: "slope-dashboard-both")
        defer { directory.remove() }
        try ReportFixture.build(at: directory.path("fixture.db"))
        let onSQLite = try await fetch(Self.everyRoute, database: directory.path("fixture.db"))
        let onPostgres = try await fetch(Self.everyRoute)
        for (path, (sqlite, postgres)) in zip(Self.everyRoute, zip(onSQLite, onPostgres)) {
            XCTAssertEqual(postgres.status, sqlite.status, path)
            XCTAssertEqual(postgres.headers[.contentType], sqlite.headers[.contentType], path)
            XCTAssertEqual(Self.masked(postgres), Self.masked(sqlite), path)
        }
        XCTAssertEqual(onPostgres.filter { $0.status == .ok }.count, Self.everyRoute.count - 5)
    }

    /// docs/distributed.md's reader role (USAGE on the schema, SELECT on the tables, nothing else)
    /// gets the same answers as the owner: the dashboard never writes, and its change token is readable.
    func testServesARoleThatMayOnlySelect() async throws {
        let database = try XCTUnwrap(URLComponents(string: databasePath)?.path.dropFirst()).description
        let role = database + "_reader", password = "reader-" + UUID().uuidString.prefix(8)
        try Self.execute("CREATE ROLE \(role) LOGIN PASSWORD '\(password)'")
        defer {
            _ = try? Self.execute("DROP OWNED BY \(role)", in: database)
            _ = try? Self.execute("DROP ROLE IF EXISTS \(role)")
        }
        try Self.execute("GRANT USAGE ON SCHEMA public TO \(role); GRANT SELECT ON ALL TABLES IN SCHEMA public TO \(role)", in: database)
        let reader = try Self.url(user: role, password: password, database: database)
        let paths = ["/api/changes"] + Self.everyRoute
        let asReader = try await fetch(paths, database: reader)
        let asOwner = try await fetch(paths)
        XCTAssertEqual(asReader[0].status, .ok)
        XCTAssertFalse((asReader[0].json["token"] as? String ?? "").isEmpty)
        for (path, (read, owned)) in zip(paths.dropFirst(), zip(asReader.dropFirst(), asOwner.dropFirst())) {
            XCTAssertEqual(read.status, owned.status, path)
            XCTAssertEqual(read.body, owned.body, path)
        }
        // Known as such (the stalled notices' commands go without its URL); the owner may write.
        XCTAssertEqual(try SlopeStore(location: reader, mode: .readOnly).queries.readOnlyRoleName(), role)
        XCTAssertNil(try SlopeStore(location: databasePath, mode: .readOnly).queries.readOnlyRoleName())
        // The role really may not write (opening to write, or writing, fails): nothing above could have.
        XCTAssertThrowsError(try SlopeStore(location: reader).createRun(.example()))
    }

    /// The served database dropped and made again empty (its connections ended; the store
    /// reconnects to the new one) gave PostgreSQL's raw `relation "runs" does not exist
    /// [SQLSTATE 42P01]`; now every API route says what `report` says of that database.
    func testADatabaseMadeAgainEmptyWhileServedIsSaidAsTheCommandsSayIt() async throws {
        let location = try makeFixture()
        let name = try XCTUnwrap(URLComponents(string: location)?.path.dropFirst()).description
        let server = try DashboardServer(queries: try SlopeStore(location: location, mode: .readOnly).queries)
        let before = try await Self.fetch(["/api/sweeps"], from: server)
        XCTAssertEqual(before[0].json["single_runs"] as? Int, 2)

        try Self.execute("DROP DATABASE \(name) WITH (FORCE)")
        try Self.execute("CREATE DATABASE \(name)")
        var opening = ""
        XCTAssertThrowsError(try SlopeStore(location: location, mode: .readOnly)) { opening = "\($0)" }
        XCTAssertTrue(opening.contains("has no Slope tables yet: run `runner` on it once as the database owner"), opening)
        let after = try await Self.fetch(["/api/sweeps", "/api/sweeps/1/runs", "/api/runs/1", "/api/runs/1/tensor.npy?epoch=0&layer=1&kind=weight"],
                                         from: server)
        for reply in after {
            XCTAssertEqual(reply.status, .serviceUnavailable, reply.text)
            XCTAssertEqual(reply.json["error"] as? String, "cannot read the database: " + opening)
        }
    }
}
