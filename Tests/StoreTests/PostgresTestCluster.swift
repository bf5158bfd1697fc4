// The PostgreSQL server of the tests: scripts/postgres-test-cluster (started by .ci/run) exports
// a superuser URL in SLOPE_TEST_POSTGRES_URL. Without it these tests are skipped, or fail when
// CI is set. Each test works in a database of its own, dropped at its end.
import Foundation
import GRDB
import PostgresNIO
import XCTest
@testable import Store
import TestSupport

enum PostgresTestCluster {
    typealias Missing = PostgresTestServer.Missing

    /// The superuser settings of the test server.
    static func admin() throws -> PostgresSettings {
        guard let url = try PostgresTestServer.adminURL() else { throw XCTSkip(PostgresTestServer.skipReason) }
        return try PostgresSettings(url: url, environment: [:])
    }

    /// The superuser's password (tests check that no message shows it).
    static var adminPassword: String { (try? admin().password?.value) ?? "" }

    /// The certificate authority that signed the test server's certificate (made by the script).
    static func certificateAuthority() throws -> String {
        let environment = ProcessInfo.processInfo.environment
        guard let folder = environment["SLOPE_TEST_POSTGRES_DIR"],
              FileManager.default.fileExists(atPath: folder + "/ca.crt") else {
            if environment["CI"] != nil { throw Missing() }
            throw XCTSkip("SLOPE_TEST_POSTGRES_DIR (with the test server's ca.crt) is not set: start the server with scripts/postgres-test-cluster")
        }
        return folder + "/ca.crt"
    }

    /// A URL for the test server with the given parts (nil: the admin's).
    static func url(user: String? = nil, password: String? = nil, host: String? = nil, port: Int? = nil,
                    database: String, query: String = "") throws -> String {
        let admin = try admin()
        let name = user ?? admin.user
        let secret = password ?? admin.password?.value ?? ""
        let address = host ?? admin.host
        let hostPart = address.contains(":") ? "[\(address)]" : address
        return "postgresql://\(name):\(secret)@\(hostPart):\(port ?? admin.port)/\(database)" + (query.isEmpty ? "" : "?" + query)
    }

    /// A new empty database on the test server.
    static func makeDatabase() throws -> TestDatabase {
        let name = "slope_test_" + UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: "")
        let session = try PostgresSession(settings: try admin())
        defer { session.close() }
        try session.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"))
        return TestDatabase(name: name, url: try url(database: name))
    }
}

/// A database of the test server that a test owns; `drop()` removes it.
final class TestDatabase {
    let name: String
    /// The superuser's URL for it (with the password: for test code only).
    let url: String

    init(name: String, url: String) {
        self.name = name
        self.url = url
    }

    func settings() throws -> PostgresSettings { try PostgresSettings(url: url, environment: [:]) }

    func session() throws -> PostgresSession { try PostgresSession(settings: try settings()) }

    /// Drops the database, ending any connection still open to it.
    func drop() {
        guard let admin = try? PostgresSession(settings: PostgresTestCluster.admin()) else { return }
        defer { admin.close() }
        _ = try? admin.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"))
    }
}

extension SQLValue {
    /// A value read by GRDB (from SQLite), to compare with what the PostgreSQL backend reads.
    init(_ value: DatabaseValue) {
        switch value.storage {
        case .null: self = .null
        case let .int64(number): self = .integer(number)
        case let .double(number): self = .real(number)
        case let .string(text): self = .text(text)
        case let .blob(bytes): self = .blob(bytes)
        }
    }
}

extension PostgresTestCluster {
    /// Restarts the test server (`pg_ctl restart`, fast: open connections are ended) and returns
    /// once it accepts connections again, on the same port.
    static func restartServer() throws {
        let environment = ProcessInfo.processInfo.environment
        guard let folder = environment["SLOPE_TEST_POSTGRES_DIR"] else {
            if environment["CI"] != nil { throw Missing() }
            throw XCTSkip("SLOPE_TEST_POSTGRES_DIR is not set: start the server with scripts/postgres-test-cluster")
        }
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        let candidates = versions.sorted { $0.compare($1, options: .numeric) == .orderedDescending }
            .map { "/usr/lib/postgresql/\($0)/bin/pg_ctl" }
        guard let pgctl = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw XCTSkip("no pg_ctl under /usr/lib/postgresql")
        }
        var arguments = [pgctl, "-D", folder + "/data", "-m", "fast", "-w", "-t", "60", "-l", folder + "/server.log", "restart"]
        if getuid() == 0 { arguments = ["/usr/sbin/runuser", "-u", "postgres", "--"] + arguments }  // the script's owner when root
        // posix_spawn and waitpid, not Foundation's Process: the server that pg_ctl starts would
        // inherit Process's termination socket, and waitUntilExit would wait for the server to end.
        // The shell closes every descriptor above 2 first, so the server keeps none of this process's.
        let closeAndRun = #"for fd in $(ls /proc/$$/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done; exec "$@""#
        arguments = ["/bin/bash", "-c", closeAndRun, "bash"] + arguments
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for descriptor in Int32(0)...2 {
            posix_spawn_file_actions_addopen(&actions, descriptor, "/dev/null", descriptor == 0 ? O_RDONLY : O_WRONLY, 0)
        }
        var pid: pid_t = 0
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let spawned = posix_spawn(&pid, arguments[0], &actions, nil, argv, environ)
        var status: Int32 = 0, waited: pid_t = -1
        repeat { waited = spawned == 0 ? waitpid(pid, &status, 0) : -1 } while waited == -1 && errno == EINTR
        guard spawned == 0, waited == pid, status == 0 else {
            throw NSError(domain: "PostgresTestCluster", code: Int(spawned),
                          userInfo: [NSLocalizedDescriptionKey: "pg_ctl restart failed (see \(folder)/server.log)"])
        }
    }
}
