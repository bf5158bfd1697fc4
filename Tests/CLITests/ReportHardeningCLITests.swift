// What a hostile tester found in `report` over PostgreSQL, through the built binaries: the
// dashboard answers 503 (and says so once) while the server is down and recovers; an export
// stops on Ctrl-C and SIGTERM leaving nothing; privileges a role lacks and NUL bytes are one line.
import Experiments
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import PostgresNIO
@testable import Store
import TestSupport
import XCTest

final class ReportHardeningCLITests: XCTestCase {
    private var directory: TemporaryDirectory!
    private var server: ServerDatabase?

    override func setUpWithError() throws { directory = try TemporaryDirectory(prefix: "slope-report-hardening") }
    override func tearDown() {
        if let server {
            _ = try? PostgresServer.execute("ALTER DATABASE \(server.name) ALLOW_CONNECTIONS true")
            server.drop()
        }
        directory.remove()
    }

    private func run(_ tool: String, _ arguments: [String]) throws -> ReportProcess.Result {
        try ReportProcess.run(tool, arguments, currentDirectory: directory.url)
    }

    /// A server database with one trained sweep (two runs of xor, 2 epochs, every tensor).
    private func trainedDatabase() throws -> ServerDatabase {
        let server = try PostgresServer.makeDatabase()
        self.server = server
        let trained = try run("runner", ["sweep", "--dataset", "xor", "--hidden", "4", "--epochs", "2", "--learning-rate", "0.1,0.5",
                                         "--quiet", "--db", server.url])
        XCTAssertEqual(trained.status, 0, trained.error)
        return server
    }

    /// A GET within `timeout` seconds: its status (0: no answer) and body.
    private func get(_ url: String, timeout: TimeInterval = 30) -> (status: Int, body: String) {
        final class Reply: @unchecked Sendable { var status = 0; var body = Data() }
        let reply = Reply()
        let done = DispatchSemaphore(value: 0)
        URLSession.shared.dataTask(with: URLRequest(url: URL(string: url)!, timeoutInterval: timeout)) { data, response, _ in
            reply.status = (response as? HTTPURLResponse)?.statusCode ?? 0
            reply.body = data ?? Data()
            done.signal()
        }.resume()
        _ = done.wait(timeout: .now() + timeout + 5)
        return (reply.status, String(decoding: reply.body, as: UTF8.self))
    }

    /// Waits (at most 30 s) until `condition` holds.
    private func waitUntil(_ condition: () -> Bool) -> Bool {
        for _ in 0..<300 {
            if condition() { return true }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return condition()
    }

    func testServeAnswers503WhileTheServerIsDownSaysSoOnceAndRecovers() throws {
        let server = try trainedDatabase()
        let child = try ChildProcess(ReportProcess.executable("report"), ["serve", "--db", server.url, "--port", "0"])
        defer {
            if child.process.isRunning { kill(child.pid, SIGKILL) }
            _ = child.finish()
        }
        var base: String?
        XCTAssertTrue(waitUntil {
            base = child.outputSoFar.range(of: "http://127.0.0.1:[0-9]+/", options: .regularExpression).map { String(child.outputSoFar[$0]) }
            return base != nil
        }, child.errorSoFar)
        let address = try XCTUnwrap(base)
        XCTAssertEqual(get(address + "api/sweeps/1").status, 200)

        // The database refuses connections and the dashboard's are ended: the server is down for it.
        try PostgresServer.execute("""
            ALTER DATABASE \(server.name) ALLOW_CONNECTIONS false;
            SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '\(server.name)'
            """)
        for path in ["api/sweeps/1", "api/runs", "api/changes", "api/sweeps/1"] {
            let reply = get(address + path)
            XCTAssertEqual(reply.status, 503, path)
            XCTAssertTrue(reply.body.hasPrefix("{\"error\":\"cannot read the database: cannot connect to postgresql:"), reply.body)
        }
        XCTAssertEqual(get(address).status, 200, "the page itself needs no database")
        let lost = child.errorSoFar.split(separator: "\n")
        XCTAssertEqual(lost.count, 1, child.errorSoFar)
        XCTAssertTrue(lost.first?.hasPrefix("report: lost the connection to postgresql://") ?? false, child.errorSoFar)
        XCTAssertTrue(lost.first?.hasSuffix("; the dashboard answers 503 until it is back") ?? false, child.errorSoFar)
        XCTAssertFalse(child.errorSoFar.contains(try PostgresServer.adminPassword()))

        try PostgresServer.execute("ALTER DATABASE \(server.name) ALLOW_CONNECTIONS true")
        let back = get(address + "api/sweeps/1")
        XCTAssertEqual(back.status, 200, back.body)
        let lines = child.errorSoFar.split(separator: "\n")
        XCTAssertEqual(lines.count, 2, child.errorSoFar)
        XCTAssertTrue(lines.last?.hasPrefix("report: reconnected to postgresql://") ?? false, child.errorSoFar)

        kill(child.pid, SIGTERM)
        XCTAssertEqual(child.finish().status, 0)
    }

    /// `report export --format sqlite` stopped by `signal` while it waits for a locked table:
    /// the status, its stderr and the files left in the folder. The signal is sent once the server
    /// shows the export's query waiting for the lock (its temporary file written, the copy under
    /// way), not as soon as the file appears: then, on a loaded machine, it could land while the
    /// export was still setting up.
    private func interruptedExport(_ server: ServerDatabase, signal: Int32) throws -> (status: Int32, error: String, files: [String]) {
        try interruptedExport(server) { kill($0, signal) }
    }

    /// As above, with the signals `send` sends to the export's process (its id given).
    private func interruptedExport(_ server: ServerDatabase, send: (pid_t) -> Void) throws -> (status: Int32, error: String, files: [String]) {
        let admin = try PostgresSession(settings: try PostgresSettings(url: server.url, environment: [:]))
        defer { admin.close() }
        try admin.query("BEGIN")
        try admin.query("LOCK TABLE tensors IN ACCESS EXCLUSIVE MODE")
        let child = try ChildProcess(ReportProcess.executable("report"), ["export", "--format", "sqlite", "--out", "copy.db", "--db", server.url],
                                     currentDirectory: directory.url)
        defer { if child.process.isRunning { kill(child.pid, SIGKILL) } }
        let partial = ".copy.db.\(child.pid).partial"
        func waitsForTheLock() throws -> Bool {
            let rows = try admin.query("""
                SELECT count(*) FROM pg_locks WHERE relation = 'tensors'::regclass AND NOT granted
                    AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
                """)
            return try rows.first?.decode(Int64.self) ?? 0 > 0
        }
        XCTAssertTrue(waitUntil { (try? waitsForTheLock()) == true }, child.errorSoFar)
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory.path(partial)), child.errorSoFar)
        send(child.pid)
        let result = child.finish()
        try admin.query("ROLLBACK")
        return (result.status, result.error, try FileManager.default.contentsOfDirectory(atPath: directory.url.path).sorted())
    }

    func testExportStopsOnCtrlCAndSIGTERMLeavingNothing() throws {
        let server = try trainedDatabase()
        for (signal, status) in [(SIGINT, Int32(130)), (SIGTERM, 143)] {
            let result = try interruptedExport(server, signal: signal)
            XCTAssertEqual(result.status, status, result.error)
            XCTAssertEqual(result.error.split(separator: "\n").count, 1, result.error)
            XCTAssertTrue(result.error.hasPrefix("report: "), result.error)
            XCTAssertEqual(result.files, [], "signal \(signal)")
        }
        // Unlocked, the same export goes through.
        let copied = try run("report", ["export", "--format", "sqlite", "--out", "copy.db", "--db", server.url])
        XCTAssertEqual(copied.status, 0, copied.error)
        XCTAssertTrue(copied.output.hasPrefix("wrote copy.db ("), copied.output)
        XCTAssertTrue(copied.output.contains("): 1 sweep, 2 runs, "), copied.output)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.url.path), ["copy.db"])
    }

    /// GNU `timeout` signals the process and then its process group: the same signal twice within
    /// half a second is one request, so the export blocked on the lock ends after its grace period,
    /// not at the second copy, and says so in one line. A second request (SIGINT 0.6 s after
    /// SIGTERM) ends it at once, with that signal's status.
    func testExportTakesTheSignalToItsGroupAsOneRequestAndASecondOneAsSecond() throws {
        let server = try trainedDatabase()
        for (signal, status) in [(SIGINT, Int32(130)), (SIGTERM, 143)] {
            let result = try interruptedExport(server) { pid in
                // Foundation starts the child in a process group of its own, as `timeout` does.
                guard getpgid(pid) == pid else { return XCTFail("report does not lead its own process group: not signalling the group") }
                kill(pid, signal)
                kill(-pid, signal)
            }
            XCTAssertEqual(result.status, status, result.error)
            XCTAssertEqual(result.error, "report: stopped: \(signal == SIGINT ? "interrupted" : "terminated"), and the command had not stopped "
                           + "2 s later; nothing was written\n")
            XCTAssertEqual(result.files, [], "signal \(signal)")
        }
        let result = try interruptedExport(server) { pid in
            kill(pid, SIGTERM)
            usleep(useconds_t(StopSignal.repeatSeconds * 1_000_000) + 100_000)
            kill(pid, SIGINT)
        }
        XCTAssertEqual(result.status, 130, result.error)
        XCTAssertEqual(result.error, "report: stopped: interrupted (a second request); nothing was written\n")
        XCTAssertEqual(result.files, [])
    }

    func testExportOutputPathsAreCheckedWithOneLine() throws {
        let server = try trainedDatabase()
        try Data("a log\n".utf8).write(to: directory.url.appendingPathComponent("w1.log"))
        try Data("SQLite format 3\u{0}".utf8 + [UInt8](repeating: 0, count: 84)).write(to: directory.url.appendingPathComponent("old.db"))
        let folder = directory.url.path
        let cases: [([String], Int32, String)] = [
            (["--out", "-"], 2, "--out -: --format sqlite writes a database file, not standard output: give a file path"),
            (["--out", "old.db-wal"], 1, "old.db-wal is where the SQLite database old.db keeps its -wal file: give another file name "
                                          + "(export never writes a database's own files)"),
            (["--out", "w1.log/x.db"], 1, "cannot create w1.log/x.db: \(folder)/w1.log is a file, not a folder"),
            (["--out", "missing/x.db"], 1, "cannot create missing/x.db: the folder \(folder)/missing does not exist"),
            (["--out", "new\nline/x.db"], 1, #"cannot create "new\nline/x.db": the folder ""# + folder + #"/new\nline" does not exist"#),
        ]
        for (arguments, status, expected) in cases {
            let result = try run("report", ["export", "--format", "sqlite", "--db", server.url] + arguments)
            XCTAssertEqual(result.status, status, result.error)
            XCTAssertEqual(result.error.split(separator: "\n").count, 1, result.error)
            XCTAssertTrue(result.error.contains(expected), "expected '\(expected)' in: \(result.error)")
        }
        let readOnly = directory.path("ro")
        try FileManager.default.createDirectory(atPath: readOnly, withIntermediateDirectories: false)
        guard let undo = Unwritable.make(readOnly) else { throw XCTSkip("cannot make a folder unwritable here") }
        defer { undo() }
        let result = try run("report", ["export", "--format", "sqlite", "--db", server.url, "--out", "ro/y.db"])
        XCTAssertEqual(result.status, 1, result.error)
        XCTAssertTrue(result.error.hasSuffix("cannot create ro/y.db: the folder \(readOnly) is not writable (give a path in a folder you can write)\n"), result.error)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: readOnly), [])
    }

    /// A role that may not read Slope's bookkeeping tables (a new database made without default
    /// privileges) is told the GRANT to run, not that the database belongs to another application;
    /// once the owner runs it, the same command works.
    func testARoleThatMayNotReadTheBookkeepingIsToldTheGrant() throws {
        let server = try trainedDatabase()
        let role = server.name + "_noselect", password = "noselect-" + UUID().uuidString.prefix(8)
        try PostgresServer.execute("CREATE ROLE \(role) LOGIN PASSWORD '\(password)'")
        defer { _ = try? PostgresServer.execute("DROP OWNED BY \(role); DROP ROLE IF EXISTS \(role)", in: server.name) }
        try PostgresServer.execute("GRANT USAGE ON SCHEMA public TO \(role)", in: server.name)
        let url = try PostgresServer.url(user: role, password: password, database: server.name)

        let grant = "GRANT SELECT ON ALL TABLES IN SCHEMA public TO \(role)"
        for (tool, arguments) in [("report", ["sweeps"]), ("runner", ["work"])] {
            let refused = try run(tool, arguments + ["--db", url])
            XCTAssertEqual(refused.status, 1, refused.error)
            XCTAssertEqual(refused.error.split(separator: "\n").count, 1, refused.error)
            XCTAssertTrue(refused.error.contains("role \(role) may not read Slope's tables in database \(server.name) (no SELECT on "
                                                 + "slope_database, slope_migrations, which every command reads to check the schema): "
                                                 + "as the database owner, run \(grant) (a worker needs INSERT, UPDATE and DELETE too: "
                                                 + "docs/distributed.md, Roles)"), "\(tool): \(refused.error)")
            XCTAssertFalse(refused.error.contains("another application") || refused.error.contains(password), refused.error)
        }

        try PostgresServer.execute(grant, in: server.name)
        let read = try run("report", ["sweeps", "--format", "csv", "--db", url])
        XCTAssertEqual(read.status, 0, read.error)
        XCTAssertEqual(read.output.split(separator: "\n").count, 2, "the header and the one sweep: \(read.output)")
    }

    func testRolesWithoutPrivilegesAndNULBytesAreOneLine() throws {
        let server = try PostgresServer.makeDatabase()
        self.server = server
        let password = "worker-" + UUID().uuidString.prefix(8)
        let worker = server.name + "_worker"
        try PostgresServer.execute("CREATE ROLE \(worker) LOGIN PASSWORD '\(password)'")
        defer { _ = try? PostgresServer.execute("DROP OWNED BY \(worker); DROP ROLE IF EXISTS \(worker)", in: server.name) }
        try PostgresServer.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC", in: server.name)
        let workerURL = try PostgresServer.url(user: worker, password: password, database: server.name)
        let sweep = ["sweep", "--dataset", "xor", "--hidden", "4", "--epochs", "2", "--learning-rate", "0.1,0.5", "--quiet"]

        let first = try run("runner", sweep + ["--queue-only", "--db", workerURL])
        XCTAssertEqual(first.status, 1, first.error)
        XCTAssertEqual(first.error.split(separator: "\n").count, 1, first.error)
        XCTAssertTrue(first.error.contains("role \(worker) may not create Slope's tables in database \(server.name) (permission denied for schema public): the first command on a new database must run as the database owner"), first.error)

        XCTAssertEqual(try run("runner", sweep + ["--queue-only", "--db", server.url]).status, 0)
        let reader = try server.makeReader()
        let written = try run("runner", sweep + ["--db", reader])
        XCTAssertEqual(written.status, 1, written.error)
        XCTAssertEqual(written.error.split(separator: "\n").count, 1, written.error)
        XCTAssertTrue(written.error.contains("may not do this to Slope's tables (permission denied for table"), written.error)
        XCTAssertTrue(written.error.contains("writing (runner) needs a worker role"), written.error)
        XCTAssertFalse(written.error.contains("SQLSTATE"), written.error)

        // A NUL in a sweep file's name is refused on both stores before anything is written.
        try "name: \"bad\\0name\"\ndataset: xor\n".write(to: directory.url.appendingPathComponent("nul.yaml"), atomically: true, encoding: .utf8)
        for database in [server.url, directory.path("nul.db")] {
            let refused = try run("runner", ["sweep", "nul.yaml", "--queue-only", "--db", database])
            XCTAssertEqual(refused.status, 2, refused.error)
            XCTAssertEqual(refused.error.split(separator: "\n").count, 1, refused.error)
            XCTAssertTrue(refused.error.contains("nul.yaml, line 1, column ") && refused.error.contains("a text holds a NUL character (\\0)"), refused.error)
        }
        XCTAssertEqual(try run("report", ["sweeps", "--format", "csv", "--db", server.url]).output.split(separator: "\n").count, 2, "only the first sweep")
        if FileManager.default.fileExists(atPath: directory.path("nul.db")) {
            XCTAssertEqual(try run("report", ["sweeps", "--format", "csv", "--db", directory.path("nul.db")]).output.split(separator: "\n").count, 1)
        }

        // A NUL in a URL is a bad URL (exit 2), for both tools.
        let nulURL = server.url.replacingOccurrences(of: "/\(server.name)?", with: "/\(server.name)%00x?")
        for (tool, arguments) in [("runner", ["work"]), ("report", ["sweeps"])] {
            let result = try run(tool, arguments + ["--db", nulURL])
            XCTAssertEqual(result.status, 2, result.error)
            XCTAssertTrue(result.error.contains("has a NUL byte (%00): remove it"), result.error)
        }
    }
}
