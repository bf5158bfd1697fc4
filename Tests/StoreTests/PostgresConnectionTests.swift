// The synchronous PostgreSQL connection against the real test server: queries, TLS per sslmode,
// and one-line errors (unreachable, wrong password, missing database, wrong certificate) that
// never show the password.
import Foundation
import PostgresNIO
import TestSupport
import XCTest
@testable import Store

final class PostgresConnectionTests: XCTestCase {
    private var database: TestDatabase!
    private var directory: TemporaryDirectory!

    override func setUpWithError() throws {
        database = try PostgresTestCluster.makeDatabase()
        directory = try TemporaryDirectory(prefix: "slope-pgconnection")
    }

    override func tearDown() {
        database?.drop()
        directory?.remove()
    }

    /// The StoreError connecting with `url` fails with; checks it is one line without `secrets`.
    private func connectionError(_ url: String, environment: [String: String] = [:], hiding secrets: [String] = [],
                                 file: StaticString = #filePath, line: UInt = #line) -> StoreError? {
        do {
            let session = try PostgresSession(settings: try PostgresSettings(url: url, environment: environment))
            session.close()
            XCTFail("connected with \(url)", file: file, line: line)
            return nil
        } catch let error as StoreError {
            let message = error.description
            XCTAssertFalse(message.contains("\n"), "one line: \(message)", file: file, line: line)
            for secret in secrets + [PostgresTestCluster.adminPassword] where !secret.isEmpty {
                XCTAssertFalse(message.contains(secret), "the password is in: \(message)", file: file, line: line)
            }
            return error
        } catch {
            XCTFail("not a StoreError: \(error)", file: file, line: line)
            return nil
        }
    }

    private func isTLS(_ session: PostgresSession) throws -> Bool {
        try XCTUnwrap(session.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").first).decode(Bool.self)
    }

    func testRunsQueriesWithBoundArguments() throws {
        let session = try database.session()
        defer { session.close() }
        let rows = try session.query("SELECT \(40) + \(2), \("it's") || 'ok', current_database()::text")
        let (sum, text, name) = try XCTUnwrap(rows.first).decode((Int, String, String).self)
        XCTAssertEqual(sum, 42)
        XCTAssertEqual(text, "it'sok")
        XCTAssertEqual(name, database.name)
        let applicationName = try XCTUnwrap(session.query("SELECT current_setting('application_name')").first).decode(String.self)
        XCTAssertEqual(applicationName, "slope")
    }

    func testTransactionsCommitOrRollBack() throws {
        let session = try database.session()
        defer { session.close() }
        try session.query("CREATE TABLE t (x BIGINT PRIMARY KEY)")
        try session.transaction { try session.query("INSERT INTO t VALUES (1)") }
        XCTAssertThrowsError(try session.transaction {
            try session.query("INSERT INTO t VALUES (2)")
            try session.query("INSERT INTO t VALUES (1)")  // duplicate: the whole transaction goes
        }) { error in
            let message = String(describing: error)
            XCTAssertTrue(message.contains("duplicate key") && message.contains("23505"), message)
        }
        XCTAssertEqual(try session.query("SELECT x FROM t ORDER BY x").map { try $0.decode(Int.self) }, [1])
    }

    func testScriptsRunStatementByStatement() throws {
        XCTAssertEqual(SQLScript.statements("""
            -- a comment; with a semicolon
            CREATE TABLE a (x TEXT DEFAULT 'a;b');  /* block; comment */
            CREATE TABLE "b;c" (y TEXT);
            CREATE FUNCTION f() RETURNS TEXT AS $body$ SELECT 'x;y'; $body$ LANGUAGE sql;
            SELECT 'it''s;';
            -- only a comment at the end;
            """), [
                "-- a comment; with a semicolon\nCREATE TABLE a (x TEXT DEFAULT 'a;b')",
                "/* block; comment */\nCREATE TABLE \"b;c\" (y TEXT)",
                "CREATE FUNCTION f() RETURNS TEXT AS $body$ SELECT 'x;y'; $body$ LANGUAGE sql",
                "SELECT 'it''s;'",
            ])
        let session = try database.session()
        defer { session.close() }
        try session.execute(script: "CREATE TABLE s (v TEXT); INSERT INTO s VALUES ('1;2'); INSERT INTO s VALUES ($$3;4$$);")
        XCTAssertEqual(try session.query("SELECT v FROM s ORDER BY v").map { try $0.decode(String.self) }, ["1;2", "3;4"])
    }

    func testTLSFollowsSSLMode() throws {
        let authority = try PostgresTestCluster.certificateAuthority()
        let expectations: [(query: String, tls: Bool)] = [
            ("sslmode=disable", false),
            ("sslmode=prefer", true),
            ("sslmode=require", true),
            ("sslmode=require&sslrootcert=\(authority)", true),
            ("sslmode=verify-full&sslrootcert=\(authority)", true),
        ]
        for (query, tls) in expectations {
            let session = try PostgresSession(settings: PostgresSettings(
                url: try PostgresTestCluster.url(database: database.name, query: query), environment: [:]))
            XCTAssertEqual(try isTLS(session), tls, query)
            session.close()
        }
    }

    func testVerifyFullRefusesACertificateOfAnotherAuthority() throws {
        _ = try PostgresTestCluster.certificateAuthority()  // the server has TLS
        let otherAuthority = directory.path("other-ca.crt")
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        openssl.arguments = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=Another CA",
                             "-keyout", directory.path("other-ca.key"), "-out", otherAuthority]
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        XCTAssertEqual(openssl.terminationStatus, 0)
        for mode in ["verify-full", "require"] {  // require with a root certificate checks the chain too
            let url = try PostgresTestCluster.url(database: database.name, query: "sslmode=\(mode)&sslrootcert=\(otherAuthority)")
            let error = try XCTUnwrap(connectionError(url))
            guard case let .cannotConnect(server, reason) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(server, "postgresql://postgres@127.0.0.1:\(try PostgresTestCluster.admin().port)/\(database.name)?sslmode=\(mode)&sslrootcert=\(otherAuthority)")
            XCTAssertEqual(reason, "the server's certificate is not signed by the authority in sslrootcert (\(otherAuthority)): give the certificate of the authority that signed it")
        }
        // Not a certificate at all, and no file.
        XCTAssertTrue(FileManager.default.createFile(atPath: directory.path("garbage.pem"), contents: Data("not a certificate".utf8)))
        let garbage = try XCTUnwrap(connectionError(try PostgresTestCluster.url(
            database: database.name, query: "sslmode=verify-full&sslrootcert=\(directory.path("garbage.pem"))")))
        XCTAssertTrue(garbage.description.contains("holds no PEM certificate"), garbage.description)
        let missing = try XCTUnwrap(connectionError(try PostgresTestCluster.url(
            database: database.name, query: "sslmode=verify-full&sslrootcert=\(directory.path("missing.pem"))")))
        XCTAssertTrue(missing.description.contains("cannot read sslrootcert"), missing.description)
    }

    func testWrongPasswordIsOneLineWithoutThePassword() throws {
        let wrong = "NotThePassword123"
        let error = try XCTUnwrap(connectionError(try PostgresTestCluster.url(password: wrong, database: database.name), hiding: [wrong]))
        XCTAssertEqual(error, .cannotConnect(
            server: "postgresql://postgres@127.0.0.1:\(try PostgresTestCluster.admin().port)/\(database.name)",
            reason: "the server refused the password of user postgres (the password in the URL): check it"))
        // From PGPASSWORD: the message says where the password came from.
        let fromEnvironment = try XCTUnwrap(connectionError(
            "postgresql://postgres@127.0.0.1:\(try PostgresTestCluster.admin().port)/\(database.name)",
            environment: ["PGPASSWORD": wrong], hiding: [wrong]))
        XCTAssertTrue(fromEnvironment.description.hasSuffix("(the password in PGPASSWORD): check it"), fromEnvironment.description)
    }

    func testMissingPasswordSaysWhereToPutIt() throws {
        let port = try PostgresTestCluster.admin().port
        let pgpass = directory.path("pgpass")
        XCTAssertTrue(FileManager.default.createFile(atPath: pgpass, contents: Data("*:*:*:postgres:\(PostgresTestCluster.adminPassword)\n".utf8)))
        XCTAssertEqual(chmod(pgpass, 0o644), 0)  // readable by others: ignored, and the message says so
        let error = try XCTUnwrap(connectionError("postgresql://postgres@127.0.0.1:\(port)/\(database.name)",
                                                  environment: ["PGPASSFILE": pgpass, "HOME": directory.url.path]))
        XCTAssertEqual(error.description, "cannot connect to postgresql://postgres@127.0.0.1:\(port)/\(database.name): the server asks for the password of user postgres and none was given: put it in PGPASSWORD, in ~/.pgpass (mode 0600) or in the URL (\(pgpass) has a password for this connection but was ignored: its mode 644 lets others read it (run chmod 600 \(pgpass)))")
        // With mode 0600 the same file is used.
        XCTAssertEqual(chmod(pgpass, 0o600), 0)
        let session = try PostgresSession(settings: PostgresSettings(
            url: "postgresql://postgres@127.0.0.1:\(port)/\(database.name)", environment: ["PGPASSFILE": pgpass]))
        XCTAssertEqual(session.settings.passwordSource, .passwordFile(path: pgpass))
        XCTAssertEqual(try XCTUnwrap(session.query("SELECT 1").first).decode(Int.self), 1)
        session.close()
    }

    /// A mistyped database name while ~/.pgpass has the password for the right one: the server asks
    /// for a password (the file has none for that name), and the message says to check the name.
    func testMistypedDatabaseWithAPasswordFileSaysToCheckTheName() throws {
        let port = try PostgresTestCluster.admin().port
        let pgpass = directory.path("pgpass")
        let line = "127.0.0.1:\(port):\(database.name):postgres:\(PostgresTestCluster.adminPassword)\n"
        XCTAssertTrue(FileManager.default.createFile(atPath: pgpass, contents: Data(line.utf8)))
        XCTAssertEqual(chmod(pgpass, 0o600), 0)
        let typo = database.name + "x"
        let error = try XCTUnwrap(connectionError("postgresql://postgres@127.0.0.1:\(port)/\(typo)",
                                                  environment: ["PGPASSFILE": pgpass, "HOME": directory.url.path],
                                                  hiding: [PostgresTestCluster.adminPassword]))
        XCTAssertEqual(error.description, "cannot connect to postgresql://postgres@127.0.0.1:\(port)/\(typo): the server asks for the password of user "
                       + "postgres and none was given: put it in PGPASSWORD, in ~/.pgpass (mode 0600) or in the URL (\(pgpass) has no line for "
                       + "127.0.0.1:\(port):\(typo):postgres; it has lines for database \(database.name): check the database name)")
    }

    func testMissingDatabaseSaysHowToCreateIt() throws {
        let error = try XCTUnwrap(connectionError(try PostgresTestCluster.url(database: "no_such_database")))
        XCTAssertEqual(error, .cannotConnect(
            server: "postgresql://postgres@127.0.0.1:\(try PostgresTestCluster.admin().port)/no_such_database",
            reason: "database no_such_database does not exist: as a superuser, create it owned by the role that creates Slope's tables "
                + "(CREATE DATABASE no_such_database OWNER slope_owner; docs/distributed.md, Roles), or fix the database name in the URL"))
        // Never the role connecting as the owner: a worker or reader role (docs/distributed.md, Roles) must not own it.
        XCTAssertFalse(error.description.contains("OWNER postgres"), error.description)
    }

    func testUnreachableServer() throws {
        // Port 1 on loopback: nothing listens there, the connection is refused at once.
        let error = try XCTUnwrap(connectionError(try PostgresTestCluster.url(host: "127.0.0.1", port: 1, database: "slope")))
        XCTAssertEqual(error, .cannotConnect(
            server: "postgresql://postgres@127.0.0.1:1/slope",
            reason: "nothing accepts connections at 127.0.0.1:1 (connection refused): check the host and port, and that the server is running and listening there (listen_addresses)"))
        let ipv6 = try XCTUnwrap(connectionError(try PostgresTestCluster.url(host: "::1", port: 1, database: "slope")))
        XCTAssertTrue(ipv6.description.hasPrefix("cannot connect to postgresql://postgres@[::1]:1/slope: "), ipv6.description)
    }

    func testUnknownRoleAndServerErrors() throws {
        let error = try XCTUnwrap(connectionError(try PostgresTestCluster.url(user: "nobody_here", password: "x", database: database.name)))
        XCTAssertTrue(error.description.contains("nobody_here"), error.description)
        let session = try database.session()
        defer { session.close() }
        XCTAssertThrowsError(try session.query("SELEC 1")) { error in
            guard case let StoreError.postgres(server, message) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(server, "postgresql://postgres@127.0.0.1:\((try? PostgresTestCluster.admin().port) ?? 0)/\(database.name)")
            XCTAssertEqual(message, "syntax error at or near \"SELEC\" [SQLSTATE 42601]")
        }
        // A lost connection (the server ends it) says so.
        let victim = try database.session()
        let pid = try XCTUnwrap(victim.query("SELECT pg_backend_pid()").first).decode(Int32.self)
        try session.query("SELECT pg_terminate_backend(\(pid))")
        // Whether the query meets the server's last message or the closed socket, it ends with
        // the connection lost (postgres-nio alone would leave a query written to a closed
        // connection waiting forever); so does every query after it.
        for _ in 0..<3 {
            XCTAssertThrowsError(try victim.query("SELECT 1")) { error in
                guard case let StoreError.cannotConnect(_, reason) = error else { return XCTFail("\(error)") }
                XCTAssertTrue(reason.hasPrefix("the server ended the connection (terminating connection due to administrator command)")
                              || reason.hasPrefix("the connection to the server was lost"), reason)
            }
        }
        victim.close()
    }
}
