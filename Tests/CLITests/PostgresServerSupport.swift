// The PostgreSQL server of the CLI tests: scripts/postgres-test-cluster (started by .ci/run)
// exports a superuser URL in SLOPE_TEST_POSTGRES_URL. Without it these tests are skipped, or
// fail when CI is set. Each test gets databases (and roles) of its own, dropped at its end.
import Foundation
@testable import Store
import TestSupport
import XCTest

enum PostgresServer {
    struct Missing: Error, CustomStringConvertible {
        var description: String {
            "SLOPE_TEST_POSTGRES_URL is not set but CI is: .ci/run must start the PostgreSQL test cluster (scripts/postgres-test-cluster start)"
        }
    }

    /// The superuser's settings.
    static func admin() throws -> PostgresSettings {
        let environment = ProcessInfo.processInfo.environment
        guard let url = environment["SLOPE_TEST_POSTGRES_URL"], !url.isEmpty else {
            if environment["CI"] != nil { throw Missing() }
            throw XCTSkip("no PostgreSQL test server: SLOPE_TEST_POSTGRES_URL is not set (start one with: eval \"$(scripts/postgres-test-cluster start)\")")
        }
        return try PostgresSettings(url: url, environment: [:])
    }

    /// The superuser's password (no output may show it).
    static func adminPassword() throws -> String { try admin().password?.value ?? "" }

    /// A URL of the test server (percent-encoding is left to the caller).
    static func url(user: String, password: String?, database: String, port: Int? = nil) throws -> String {
        let admin = try admin()
        let secret = password.map { ":" + $0 } ?? ""
        return "postgresql://\(user)\(secret)@\(admin.host):\(port ?? admin.port)/\(database)?sslmode=disable"
    }

    /// Runs SQL as the superuser in `database` (the server's own when nil).
    static func execute(_ script: String, in database: String? = nil) throws {
        let admin = try admin()
        let settings = try database.map { try PostgresSettings(url: url(user: admin.user, password: admin.password?.value, database: $0), environment: [:]) } ?? admin
        let session = try PostgresSession(settings: settings)
        defer { session.close() }
        try session.execute(script: script)
    }

    /// A new empty database; `drop()` removes it (and the roles made for it).
    static func makeDatabase() throws -> ServerDatabase {
        let name = "slope_cli_" + UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: "")
        try execute("CREATE DATABASE \(name)")
        let admin = try admin()
        return ServerDatabase(name: name, url: try url(user: admin.user, password: admin.password?.value, database: name))
    }
}

/// A database of the test server that a test owns.
final class ServerDatabase {
    let name: String
    /// The superuser's URL for it, with the password (for test code only).
    let url: String
    private var roles: [String] = []

    init(name: String, url: String) {
        self.name = name
        self.url = url
    }

    /// A login role that can only read Slope's tables (docs/distributed.md's slope_reader); its URL.
    func makeReader() throws -> String {
        let role = name + "_reader", password = "reader-" + UUID().uuidString.prefix(8)
        try PostgresServer.execute("CREATE ROLE \(role) LOGIN PASSWORD '\(password)'")
        roles.append(role)
        try PostgresServer.execute("""
            GRANT USAGE ON SCHEMA public TO \(role);
            GRANT SELECT ON ALL TABLES IN SCHEMA public TO \(role)
            """, in: name)
        return try PostgresServer.url(user: role, password: password, database: name)
    }

    func drop() {
        _ = try? PostgresServer.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        for role in roles { _ = try? PostgresServer.execute("DROP ROLE IF EXISTS \(role)") }
    }
}
