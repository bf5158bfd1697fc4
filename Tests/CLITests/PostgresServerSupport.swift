// The PostgreSQL server of the CLI tests (found through TestSupport's PostgresTestServer): each
// test gets databases (and roles) of its own, dropped at its end.
import Foundation
@testable import Store
import TestSupport
import XCTest

enum PostgresServer {
    /// The superuser's settings.
    static func admin() throws -> PostgresSettings {
        guard let url = try PostgresTestServer.adminURL() else { throw XCTSkip(PostgresTestServer.skipReason) }
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
        try makeRole("reader", privileges: ["SELECT ON ALL TABLES"])
    }

    /// A login role that reads and writes Slope's tables but owns nothing (docs/distributed.md's
    /// slope_worker); its URL. Made after the tables, so granted on them directly.
    func makeWorker() throws -> String {
        try makeRole("worker", privileges: ["SELECT, INSERT, UPDATE, DELETE ON ALL TABLES", "USAGE, SELECT ON ALL SEQUENCES"])
    }

    /// A login role NAME_`kind` with USAGE on the schema and each of `privileges` ("SELECT ON ALL
    /// TABLES") in it; its URL.
    private func makeRole(_ kind: String, privileges: [String]) throws -> String {
        let role = name + "_" + kind, password = kind + "-" + UUID().uuidString.prefix(8)
        try PostgresServer.execute("CREATE ROLE \(role) LOGIN PASSWORD '\(password)'")
        roles.append(role)
        let grants = ["GRANT USAGE ON SCHEMA public TO \(role)"] + privileges.map { "GRANT \($0) IN SCHEMA public TO \(role)" }
        try PostgresServer.execute(grants.joined(separator: ";\n"), in: name)
        return try PostgresServer.url(user: role, password: password, database: name)
    }

    func drop() {
        _ = try? PostgresServer.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        for role in roles { _ = try? PostgresServer.execute("DROP ROLE IF EXISTS \(role)") }
    }
}
