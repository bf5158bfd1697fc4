// The background checkpoint's connection (Sources/Store/Checkpointer.swift) opens the database the
// store opened, and never makes a new one: a database deleted while a sweep trains came back as an
// empty file at its path when the first background checkpoint opened its connection after the
// `rm` (RunnerProcessTests.testADatabaseDeletedDuringASweepStopsItWithOneLine, under load: the
// workers then said the file was "replaced by another file", and a file was left at the path).
import Foundation
import GRDB
@testable import Store
import TestSupport
import XCTest

final class CheckpointerTests: XCTestCase {
    func testTheBackgroundConnectionNeverCreatesADatabase() throws {
        let directory = try TemporaryDirectory(prefix: "slope-checkpointer")
        defer { directory.remove() }
        let gone = directory.path("gone.db")
        XCTAssertNil(Checkpointer.openExisting(path: gone, configuration: Configuration()))
        XCTAssertFalse(FileManager.default.fileExists(atPath: gone))

        // A store's database, then deleted with its -wal and -shm while the store is open.
        let path = directory.path("odd name?#%.db")
        let store = try SlopeStore(path: path)
        let runID = try store.createRun(.example(epochs: 2))
        let connection = try XCTUnwrap(Checkpointer.openExisting(path: path, configuration: Configuration()))
        XCTAssertEqual(try connection.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM runs WHERE id = ?", arguments: [runID]) }, 1,
                       "the same database, through its percent-encoded name")
        try connection.close()
        for suffix in ["", "-wal", "-shm"] { try FileManager.default.removeItem(atPath: path + suffix) }
        XCTAssertNil(Checkpointer.openExisting(path: path, configuration: Configuration()))
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
        try? store.close()
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
    }

    func testARelativePathIsTheFileInTheCurrentFolder() throws {
        let directory = try TemporaryDirectory(prefix: "slope-checkpointer")
        defer { directory.remove() }
        let store = try SlopeStore(path: directory.path("here.db"))
        defer { try? store.close() }
        let previous = FileManager.default.currentDirectoryPath
        defer { FileManager.default.changeCurrentDirectoryPath(previous) }
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(directory.url.path))
        let connection = try XCTUnwrap(Checkpointer.openExisting(path: "here.db", configuration: Configuration()))
        XCTAssertEqual(try connection.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM runs") }, 0)
        try connection.close()
        XCTAssertNil(Checkpointer.openExisting(path: "nowhere.db", configuration: Configuration()))
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.path("nowhere.db")))
    }
}
