// A database file that cannot be written: writing says so (StoreError.readOnly, with what to
// do), the file is left exactly as it was, and reading it still works.
import Foundation
@testable import Store
import TestSupport
import XCTest

final class ReadOnlyTests: XCTestCase {
    private func makeUnwritable(_ path: String) throws -> (() -> Void)? { Unwritable.make(path) }

    /// A database in a folder nobody can write (read-only media): report reads it, creating nothing.
    func testADatabaseInAReadOnlyFolderIsReadable() throws {
        let directory = try TemporaryDirectory(prefix: "slope-readonly-folder")
        defer { directory.remove() }
        let folder = directory.path("a folder?#%")  // characters a URI must encode
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        let path = folder + "/sealed.db"
        let writable = try SlopeStore(path: path)
        let runID = try writable.createRun(.example(name: "sealed"))
        try writable.close()
        // While someone could still write the file, the usual open is kept (it fails clearly here).
        guard let undoFolder = try makeUnwritable(folder) else {
            throw XCTSkip("cannot make a folder unwritable here (root without CAP_LINUX_IMMUTABLE, or no chattr)")
        }
        XCTAssertEqual(SQLiteBackend.readOnlyOpenPath(path), path)
        undoFolder()
        XCTAssertEqual(chmod(path, 0o444), 0)  // nobody may write it: immutable then
        defer { chmod(path, 0o644) }
        guard let undo = try makeUnwritable(folder) else {
            throw XCTSkip("cannot make a folder unwritable here (root without CAP_LINUX_IMMUTABLE, or no chattr)")
        }
        defer { undo() }
        XCTAssertNotEqual(access(folder, W_OK), 0)
        XCTAssertTrue(SQLiteBackend.readOnlyOpenPath(path).hasPrefix("file:") && SQLiteBackend.readOnlyOpenPath(path).hasSuffix("?immutable=1"))
        // Through a link, the real file's folder and -wal count.
        let link = directory.path("link.db")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: path)
        XCTAssertEqual(SQLiteBackend.readOnlyOpenPath(link), SQLiteBackend.readOnlyOpenPath(path))
        let reader = try SlopeStore(path: path, mode: .readOnly)
        XCTAssertEqual(try reader.run(id: runID).settings.name, "sealed")
        try reader.close()
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder), ["sealed.db"], "no -wal or -shm")
    }

    func testWritingAReadOnlyFileFailsClearlyAndChangesNothing() throws {
        let directory = try TemporaryDirectory(prefix: "slope-readonly")
        defer { directory.remove() }
        let path = directory.path("locked.db")
        let writable = try SlopeStore(path: path)
        let runID = try writable.createRun(.example(name: "before"))
        try writable.close()
        let before = try Data(contentsOf: URL(fileURLWithPath: path))

        guard let undo = try makeUnwritable(path) else {
            throw XCTSkip("cannot make a file unwritable here (root without CAP_LINUX_IMMUTABLE, or no chattr)")
        }
        defer { undo() }
        func assertReadOnlyError(_ error: Error) {
            XCTAssertEqual(error as? StoreError, .readOnly(path: path), "\(error)")
            XCTAssertTrue("\(error)".contains("read-only"), "\(error)")
        }
        XCTAssertThrowsError(try SlopeStore(path: path), "refused at open", assertReadOnlyError)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), before, "the file is unchanged")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path("")).sorted(), ["locked.db"], "no -wal or -shm left")

        let reader = try SlopeStore(path: path, mode: .readOnly)
        XCTAssertEqual(try reader.runs(sweepID: nil).map(\.id), [runID])
        XCTAssertEqual(try reader.run(id: runID).settings.name, "before")
    }
}
