// A test case that runs the same assertions on both stores: an SQLite file in a temporary folder
// and a PostgreSQL database of its own on the test server, both removed at the end.
import Foundation
import TestSupport
import XCTest
@testable import Store

class BothStoresTestCase: XCTestCase {
    private(set) var directory: TemporaryDirectory!
    private var database: TestDatabase?

    override func setUpWithError() throws { directory = try TemporaryDirectory(prefix: "slope-bothstores") }

    override func tearDown() {
        database?.drop()
        directory.remove()
    }

    func sqliteStore() throws -> SlopeStore { try SlopeStore(path: directory.path("slope.db")) }

    func postgresStore() throws -> SlopeStore {
        let database = try PostgresTestCluster.makeDatabase()
        self.database = database
        return try SlopeStore(location: database.url)
    }
}
