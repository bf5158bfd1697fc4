// A database Slope refuses (written by a newer Slope, or another program's file) is left exactly
// as it was: same bytes, and no -wal or -shm file created beside it.
import Foundation
import GRDB
import Store
import TestSupport
import XCTest

final class RefusedDatabaseTests: XCTestCase {
    private var directory: TemporaryDirectory!

    override func setUpWithError() throws { directory = try TemporaryDirectory(prefix: "slope-refused") }
    override func tearDown() { directory.remove() }

    private func assertRefusedUnchanged(_ path: String, expect: (StoreError) -> Bool, file: StaticString = #filePath, line: UInt = #line) throws {
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        for mode in [SlopeStore.Mode.readWrite, .readOnly] {
            XCTAssertThrowsError(try SlopeStore(path: path, mode: mode), file: file, line: line) { error in
                XCTAssertTrue((error as? StoreError).map(expect) ?? false, "\(error)", file: file, line: line)
            }
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), before, "\(mode): the file changed", file: file, line: line)
            for suffix in ["-wal", "-shm", "-journal"] {
                XCTAssertFalse(FileManager.default.fileExists(atPath: path + suffix), "\(mode) left \(suffix)", file: file, line: line)
            }
        }
    }

    func testNewerSchemaIsLeftByteForByteUnchanged() throws {
        let path = directory.path("future.db")
        let store = try SlopeStore(path: path)
        _ = try store.createRun(.example())
        try store.close()
        let queue = try DatabaseQueue(path: path)
        try queue.write { try $0.execute(sql: "INSERT INTO grdb_migrations VALUES ('9999_from_the_future.sql')") }
        try queue.close()
        try assertRefusedUnchanged(path) { $0 == .newerSchema(path: path, unknown: ["9999_from_the_future.sql"]) }
    }

    /// `grdb_migrations` is GRDB's own table: another GRDB application's database with only that table
    /// (its migrations none of Slope's) is another program's for runner (read-write) and report
    /// (read-only) alike, not "a newer Slope" nor one with "no Slope tables yet".
    func testAnotherGRDBApplicationsMigrationsAreAnotherProgramsDatabase() throws {
        let path = directory.path("grdb-app.db")
        let queue = try DatabaseQueue(path: path)
        try queue.write {
            try $0.execute(sql: "CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY); INSERT INTO grdb_migrations VALUES ('createPlayers')")
        }
        try queue.close()
        try assertRefusedUnchanged(path) { $0 == .notASlopeDatabase(path: path, reason: "its grdb_migrations table lists another program's migrations: 'createPlayers'") }
        XCTAssertEqual("\(StoreError.notASlopeDatabase(path: path, reason: "its grdb_migrations table lists another program's migrations: 'createPlayers'"))",
                       "\(path) is not a Slope database (its grdb_migrations table lists another program's migrations: 'createPlayers'). "
                       + "Give the path of a database written by Slope, or a new file name.")
    }

    func testForeignApplicationIDIsLeftByteForByteUnchanged() throws {
        let path = directory.path("tagged.db")
        let queue = try DatabaseQueue(path: path)
        try queue.write { try $0.execute(sql: "PRAGMA application_id = 42; CREATE TABLE t (x); INSERT INTO t VALUES (1)") }
        try queue.close()
        try assertRefusedUnchanged(path) {
            if case let .notASlopeDatabase(_, reason) = $0 { return reason.contains("42") }
            return false
        }
    }

    /// The same in WAL mode, as another program may leave its database.
    func testForeignWALDatabaseIsLeftByteForByteUnchanged() throws {
        let path = directory.path("foreign-wal.db")
        var configuration = Configuration()
        configuration.journalMode = .wal
        let pool = try DatabasePool(path: path, configuration: configuration)
        try pool.write { try $0.execute(sql: "PRAGMA application_id = 7; CREATE TABLE t (x); INSERT INTO t VALUES (1)") }
        try pool.close()
        try assertRefusedUnchanged(path) {
            if case let .notASlopeDatabase(_, reason) = $0 { return reason.contains("7") }
            return false
        }
    }
}
