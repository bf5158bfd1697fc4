// The PostgreSQL server of the tests: scripts/postgres-test-cluster (started by .ci/run) exports
// a superuser URL in SLOPE_TEST_POSTGRES_URL. Without it these tests are skipped, or fail when
// CI is set. Each test works in a database of its own, dropped at its end.
import Foundation
import PostgresNIO
import XCTest
@testable import Store

enum PostgresTestCluster {
    struct Missing: Error, CustomStringConvertible {
        var description: String {
            "SLOPE_TEST_POSTGRES_URL is not set but CI is: .ci/run must start the PostgreSQL test cluster (scripts/postgres-test-cluster start)"
        }
    }

    /// The superuser settings of the test server.
    static func admin() throws -> PostgresSettings {
        let environment = ProcessInfo.processInfo.environment
        guard let url = environment["SLOPE_TEST_POSTGRES_URL"], !url.isEmpty else {
            if environment["CI"] != nil { throw Missing() }
            throw XCTSkip("no PostgreSQL test server: SLOPE_TEST_POSTGRES_URL is not set (start one with: eval \"$(scripts/postgres-test-cluster start)\")")
        }
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
