// `--db` / SLOPE_DB with a postgresql:// URL, through the built `runner` and `report`: bad URLs
// are usage errors (exit 2), a wrong password, an unreachable server, another application's
// database and a database without Slope's tables are one line (exit 1); no output, message or
// suggested command ever shows the password.
import Foundation
import TestSupport
import XCTest

final class PostgresURLCLITests: XCTestCase {
    private var directory: TemporaryDirectory!
    private var databases: [ServerDatabase] = []

    override func setUpWithError() throws { directory = try TemporaryDirectory(prefix: "slope-pg-url-cli") }
    override func tearDown() {
        for database in databases { database.drop() }
        directory.remove()
    }

    private func database() throws -> ServerDatabase {
        let database = try PostgresServer.makeDatabase()
        databases.append(database)
        return database
    }

    /// Runs `tool arguments...` in the test's folder; the environment adds `environment` (SLOPE_DB unset).
    private func run(_ tool: String, _ arguments: [String], environment: [String: String] = [:]) throws -> ReportProcess.Result {
        try ReportProcess.run(tool, arguments, environment: environment, currentDirectory: directory.url)
    }

    /// A failure: the status, one line on stderr that contains `expected`, nothing on stdout, no secret.
    private func assertFails(_ result: ReportProcess.Result, status: Int32, containing expected: String, secrets: [String],
                             _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(result.status, status, "\(what): \(result.error)", file: file, line: line)
        XCTAssertEqual(result.error.split(separator: "\n").count, 1, "\(what): \(result.error)", file: file, line: line)
        XCTAssertTrue(result.error.contains(expected), "\(what): expected '\(expected)' in: \(result.error)", file: file, line: line)
        XCTAssertFalse(result.error.contains("Fatal error") || result.error.contains("Backtrac"), result.error, file: file, line: line)
        for secret in secrets where !secret.isEmpty {
            XCTAssertFalse(result.error.contains(secret) || result.output.contains(secret), "\(what) shows the password: \(result.error)",
                           file: file, line: line)
        }
    }

    private let sweepFlags = ["sweep", "--dataset", "xor", "--hidden", "4", "--epochs", "2", "--learning-rate", "0.1,0.5", "--quiet"]

    func testBadURLsAreUsageErrorsThatNeverShowThePassword() throws {
        let secret = "Pa55-w0rd-XYZ"
        let cases: [(url: String, expected: String)] = [
            ("postgresql://slope:\(secret)@db.lab:99999/slope", "the port '99999' is not a number from 1 to 65535"),
            ("postgresql://slope:\(secret)@db.lab/slope?sslmode=sometimes", "sslmode 'sometimes' is not supported"),
            ("postgresql://slope:\(secret)@db.lab/slope?colour=blue", "unknown URL parameter 'colour'"),
            ("postgres://slope@db.lab/slope?password=\(secret)", "not as ?password="),
            ("postgresql://slope:\(secret)@db.lab/slope?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem", "cannot read sslrootcert"),
        ]
        for (url, expected) in cases {
            // sslrootcert is read when connecting, the others are refused by validation: all the user's input (2).
            let status: Int32 = 2
            assertFails(try run("runner", sweepFlags + ["--db", url]), status: status, containing: expected, secrets: [secret], "runner sweep \(url)")
            assertFails(try run("runner", ["work", "--db", url]), status: status, containing: expected, secrets: [secret], "runner work \(url)")
            assertFails(try run("report", ["runs", "--db", url]), status: status, containing: expected, secrets: [secret], "report runs \(url)")
            assertFails(try run("report", ["sweeps"], environment: ["SLOPE_DB": url]), status: status, containing: expected, secrets: [secret],
                        "SLOPE_DB=\(url) report sweeps")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.path("slope.db")), "no file is made for a URL")
    }

    /// The hostile tester's URLs: a password with '?' or '/', a mistyped scheme, another database's
    /// URL, a leading space. None shows the password, each is a usage error (no server needed:
    /// refused before connecting), and no file is made.
    func testMistypedURLsNeverShowThePassword() throws {
        let hidden = "cannot read postgresql://***@db.lab/slope (*** hides what may be a password)"
        let notPostgres = "is not a PostgreSQL URL nor a file path"
        let cases: [(url: String, expected: String, secrets: [String])] = [
            ("postgresql://u:Xy7?kP2q@db.lab:5432/slope?colour=blue", "unknown URL parameter 'colour'", ["Xy7", "kP2q"]),
            ("postgresql://u:Xy7?kP2q=9@db.lab/slope?sslmode=sometimes", "sslmode 'sometimes' is not supported", ["Xy7", "kP2q"]),
            ("postgresql://u:Xy7/kP2q@db.lab/slope", hidden, ["Xy7", "kP2q"]),
            ("postgres:/u:Xy7kP2q@db.lab/slope", "'postgres:/***@db.lab/slope' " + notPostgres, ["Xy7kP2q"]),
            ("mysql://u:pw4mysql@h/db", "'mysql://***@h/db' " + notPostgres, ["pw4mysql"]),
            (" postgresql://u:Xy7kP2q@db.lab/slope", "'postgresql://***@db.lab/slope' has spaces around it: remove them", ["Xy7kP2q"]),
            ("postgresql:slope_worker:S3cr3tPW@db.lab", "'***@db.lab' " + notPostgres, ["S3cr3tPW", "slope_worker"]),
            ("postgresql:slope_worker:S3cr3tPW@127.0.0.1/slope", "'***@127.0.0.1/slope' " + notPostgres, ["S3cr3tPW", "slope_worker"]),
            ("postgresql//slope_worker:S3cr3tPW@127.0.0.1:5432/slope", "'***@127.0.0.1:5432/slope' " + notPostgres, ["S3cr3tPW", "slope_worker"]),
            ("postgres ql://u:S3cr3tPW@h/db", "'postgres ql://***@h/db' " + notPostgres, ["S3cr3tPW"]),
        ]
        for (url, expected, secrets) in cases {
            assertFails(try run("runner", ["train", "--dataset", "xor", "--epochs", "1", "--db", url]), status: 2, containing: expected,
                        secrets: secrets, "runner train \(url)")
            assertFails(try run("runner", ["work", "--db", url]), status: 2, containing: expected, secrets: secrets, "runner work \(url)")
            assertFails(try run("report", ["runs", "--db", url]), status: 2, containing: expected, secrets: secrets, "report runs \(url)")
            assertFails(try run("report", ["runs"], environment: ["SLOPE_DB": url]), status: 2, containing: "SLOPE_DB: bad database URL: " + expected,
                        secrets: secrets, "SLOPE_DB=\(url) report runs")
        }
        let train = try run("runner", ["train", "--dataset", "xor", "--epochs", "1", "--db", "postgres:/u:Xy7kP2q@db.lab/slope"])
        XCTAssertEqual(train.error, "error: --db: bad database URL: 'postgres:/***@db.lab/slope' is not a PostgreSQL URL nor a file path: "
                       + "Slope stores in an SQLite file (a path) or a PostgreSQL server, written as postgresql://USER@HOST:5432/DATABASE\n")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path("")), [], "no file or folder is made")
    }

    func testWrongPasswordUnreachableServerAndForeignDatabaseAreOneLine() throws {
        let database = try database()
        let admin = try PostgresServer.admin(), adminPassword = try PostgresServer.adminPassword()
        let wrongPassword = "not-the-password-42"
        let wrong = try PostgresServer.url(user: admin.user, password: wrongPassword, database: database.name)
        for arguments in [sweepFlags, ["work"], ["resume"]] {
            assertFails(try run("runner", arguments + ["--db", wrong]), status: 1, containing: "password", secrets: [wrongPassword, adminPassword],
                        "runner \(arguments[0]) with a wrong password")
        }
        assertFails(try run("report", ["runs", "--db", wrong]), status: 1, containing: "password", secrets: [wrongPassword, adminPassword],
                    "report runs with a wrong password")

        // A port nobody listens on (this test's own, just closed).
        let closedPort = try freePort()
        let unreachable = try PostgresServer.url(user: admin.user, password: adminPassword, database: database.name, port: closedPort)
        assertFails(try run("runner", ["work", "--db", unreachable]), status: 1, containing: "nothing accepts connections", secrets: [adminPassword],
                    "runner work on a closed port")
        assertFails(try run("report", ["sweeps", "--db", unreachable]), status: 1, containing: "nothing accepts connections", secrets: [adminPassword],
                    "report sweeps on a closed port")

        // Another application's database: its tables are left alone.
        try PostgresServer.execute("CREATE TABLE invoices (id BIGINT PRIMARY KEY, total DOUBLE PRECISION)", in: database.name)
        assertFails(try run("runner", sweepFlags + ["--db", database.url]), status: 1, containing: "belongs to another application", secrets: [adminPassword],
                    "runner sweep on another application's database")
        assertFails(try run("report", ["runs", "--db", database.url]), status: 1, containing: "belongs to another application", secrets: [adminPassword],
                    "report runs on another application's database")
    }

    func testWorkAndReportOnADatabaseWithoutSlopeTablesSayWhatToDo() throws {
        let database = try database()
        let password = try PostgresServer.adminPassword()
        assertFails(try run("runner", ["work", "--db", database.url]), status: 1,
                    containing: "queue runs first with `runner sweep ... --queue-only` as the database owner (docs/distributed.md, Roles)", secrets: [password],
                    "runner work on an empty database")
        assertFails(try run("report", ["runs", "--db", database.url]), status: 1,
                    containing: "run `runner` on it once as the database owner to create them (docs/distributed.md, Roles)", secrets: [password],
                    "report runs on an empty database")
        // Neither created Slope's tables.
        assertFails(try run("report", ["runs", "--db", database.url]), status: 1, containing: "no Slope database at", secrets: [password],
                    "report runs after runner work")
    }

    func testSuggestedCommandsAndMessagesShowTheURLWithoutItsPassword() throws {
        let database = try database()
        let password = try PostgresServer.adminPassword()
        let queued = try run("runner", ["sweep", "--dataset", "xor", "--hidden", "4", "--epochs", "2", "--learning-rate", "0.1,0.5",
                                        "--queue-only", "--db", database.url])
        XCTAssertEqual(queued.status, 0, queued.error)
        let admin = try PostgresServer.admin()
        let withoutPassword = "postgresql://\(admin.user)@\(admin.host):\(admin.port)/\(database.name)?sslmode=disable"
        XCTAssertTrue(queued.output.hasSuffix("\nsweep 1 (sweep): 2 runs queued; train them with: runner work --sweep 1 --db '\(withoutPassword)'"
                                              + " (or with the worker role's URL: docs/distributed.md, Roles)\n"), queued.output)
        XCTAssertFalse(queued.output.contains(password) || queued.error.contains(password))

        // The password from PGPASSWORD: the suggested command works as printed.
        let worked = try run("runner", ["work", "--sweep", "1", "--db", withoutPassword], environment: ["PGPASSWORD": password])
        XCTAssertEqual(worked.status, 0, worked.error)
        XCTAssertTrue(worked.output.contains("--db '\(withoutPassword)'"), worked.output)
        XCTAssertFalse(worked.output.contains(password) || worked.error.contains(password), worked.output + worked.error)
        let runs = try run("report", ["runs", "--format", "csv"], environment: ["SLOPE_DB": withoutPassword, "PGPASSWORD": password])
        XCTAssertEqual(runs.status, 0, runs.error)
        XCTAssertEqual(runs.output.split(separator: "\n").count, 3, runs.output)

        // compact: a server has no file to shrink, and runner says so.
        let compacted = try run("runner", ["compact", "--sweep", "1", "--keep-every", "2", "--db", withoutPassword], environment: ["PGPASSWORD": password])
        XCTAssertEqual(compacted.status, 0, compacted.error)
        XCTAssertTrue(compacted.output.hasPrefix("deleted the tensors of 2 epochs ("), compacted.output)
        XCTAssertTrue(compacted.output.hasSuffix("from 2 finished runs of sweep 1; kept epoch 0, the multiples of 2 and each run's last (4 epochs)\n"
                                                 + "the server reuses the freed space for new rows (its autovacuum); there is no file to shrink\n"), compacted.output)

        // Queued as the worker role: no hint to use the role it already is; the sweep's name as without --queue-only.
        let workerURL = try database.makeWorker()
        let byWorker = try run("runner", ["sweep", "--dataset", "xor", "--hidden", "4", "--epochs", "2", "--learning-rate", "0.1",
                                          "--name", "by-worker", "--queue-only", "--db", workerURL])
        XCTAssertEqual(byWorker.status, 0, byWorker.error)
        XCTAssertTrue(byWorker.output.contains("\nsweep 2 (by-worker): 1 run queued; train it with: runner work --sweep 2 --db '"), byWorker.output)
        XCTAssertTrue(byWorker.output.hasSuffix("'\n"), byWorker.output)
        XCTAssertFalse(byWorker.output.contains("worker role"), byWorker.output)
    }

    /// A TCP port of 127.0.0.1 that was free a moment ago (bound, then closed).
    private func freePort() throws -> Int {
        let socketDescriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socketDescriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socketDescriptor, $0, length) == 0 && getsockname(socketDescriptor, $0, &length) == 0 }
        }
        XCTAssertTrue(bound)
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
