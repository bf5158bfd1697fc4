// A database of its own on the test PostgreSQL server for one test, dropped at its end:
// for the Experiments tests that run a worker against PostgreSQL.
import Foundation
import PostgresNIO
import TestSupport
import XCTest
@testable import Store

final class ScratchPostgresDatabase {
    private let adminURL: String
    let name: String
    /// The URL of the new database (the server's superuser: test code only).
    let url: String

    /// Creates it, or skips the test when no test server is configured.
    init(prefix: String) throws {
        guard let adminURL = try PostgresTestServer.adminURL() else { throw XCTSkip(PostgresTestServer.skipReason) }
        guard let slash = adminURL.range(of: "/", options: .backwards) else { throw XCTSkip("no database in \(adminURL)") }
        self.adminURL = adminURL
        name = prefix + UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: "")
        url = String(adminURL[..<slash.lowerBound]) + "/" + name
        try Self.execute(adminURL, "CREATE DATABASE \(name)")
    }

    /// Drops it, ending any connection still open to it.
    func drop() { try? Self.execute(adminURL, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)") }

    private static func execute(_ url: String, _ sql: String) throws {
        let session = try PostgresSession(settings: try PostgresSettings(url: url, environment: [:]))
        defer { session.close() }
        try session.query(PostgresQuery(unsafeSQL: sql))
    }
}
