// Text order and comparison are the same on both stores: a PostgreSQL database created with an
// ICU en-US collation sorts and compares Slope's text columns by their bytes (as SQLite's BINARY
// does), and `like` folds ASCII letters only, with no escape character, as SQLite's LIKE.
import Foundation
import PostgresNIO
import TestSupport
import XCTest
@testable import Store

final class PostgresTextOrderTests: XCTestCase {
    private var directory: TemporaryDirectory!
    private var databaseName: String?

    override func setUpWithError() throws { directory = try TemporaryDirectory(prefix: "slope-text-order") }

    override func tearDown() {
        if let databaseName, let admin = try? PostgresSession(settings: PostgresTestCluster.admin()) {
            _ = try? admin.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(databaseName) WITH (FORCE)"))
            admin.close()
        }
        directory.remove()
    }

    static let names = ["Zeta", "apple", "_x", "a-c", "Banana", "a b", "émile", "Émile", "a_b", "a\\b"]

    /// A PostgreSQL database whose default collation is ICU's en-US (not bytewise), with the runs.
    private func icuStore() throws -> SlopeStore {
        let name = "slope_test_icu_" + UUID().uuidString.prefix(8).lowercased()
        let admin = try PostgresSession(settings: PostgresTestCluster.admin())
        defer { admin.close() }
        try admin.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name) TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'en-US'"))
        databaseName = name
        let store = try SlopeStore(location: try PostgresTestCluster.url(database: name), mode: .readWrite)
        // The server sorts as the finding saw it: en-US puts `_x` first and `Banana` after `apple`.
        let serverOrder = try store.read { c in
            try c.values("SELECT x FROM unnest(ARRAY['Zeta', 'apple', '_x', 'Banana']) AS x ORDER BY x", as: String.self)
        }
        XCTAssertEqual(serverOrder, ["_x", "apple", "Banana", "Zeta"], "the database's collation is not en-US")
        return store
    }

    private func names(_ store: SlopeStore, filter: RunFilter? = nil, descending: Bool = false) throws -> [String] {
        try store.queries.runSummaries(filter: filter, sort: RunSort(column: .name, descending: descending)).map { $0.name ?? "-" }
    }

    func testTextSortsAndComparesBytewiseAndLikeFoldsASCIIOnlyOnBothStores() throws {
        let sqlite = try SlopeStore(path: directory.path("copy.db"))
        let postgres = try icuStore()
        defer { try? postgres.close() }
        for store in [sqlite, postgres] {
            for name in Self.names { _ = try store.createRun(.example(name: name)) }
        }
        // By code point: capitals, then `_`, then lower case, then é and É (U+00C9 < U+00E9).
        let bytewise = ["Banana", "Zeta", "_x", "a b", "a-c", "a\\b", "a_b", "apple", "Émile", "émile"]
        let cases: [(String, RunFilter?, [String])] = [
            ("every run", nil, bytewise),
            ("name < 'a'", .comparison(.name, .less, .text("a")), ["Banana", "Zeta", "_x"]),
            ("name >= 'É'", .comparison(.name, .greaterOrEqual, .text("É")), ["Émile", "émile"]),
            ("name like 'É%'", .like(.name, pattern: "É%"), ["Émile"]),
            ("name like 'BAN%'", .like(.name, pattern: "BAN%"), ["Banana"]),
            ("name like 'a_b'", .like(.name, pattern: "a_b"), ["a b", "a\\b", "a_b"]),
            ("name like 'a\\b'", .like(.name, pattern: "a\\b"), ["a\\b"]),
        ]
        for (what, filter, expected) in cases {
            XCTAssertEqual(try names(sqlite, filter: filter), expected, "SQLite: \(what)")
            XCTAssertEqual(try names(postgres, filter: filter), expected, "PostgreSQL: \(what)")
        }
        XCTAssertEqual(try names(postgres, descending: true), bytewise.reversed())
    }
}
