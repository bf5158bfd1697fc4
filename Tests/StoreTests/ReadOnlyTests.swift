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
        // A folder and file this process can write: the usual open (it may create -wal and -shm).
        XCTAssertEqual(SQLiteBackend.readOnlyOpenPath(path), path)
        XCTAssertEqual(chmod(path, 0o444), 0)
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

    /// Read as immutable (here: a folder this process cannot write), a database that another
    /// process changes meanwhile is not answered from: the read fails with `.changedWhileRead`,
    /// and a new open reads the change. With a -wal beside it (in use), the usual open.
    func testAnImmutableReadThatFindsTheFileChangedFails() throws {
        let directory = try TemporaryDirectory(prefix: "slope-readonly-changed")
        defer { directory.remove() }
        let folder = directory.path("shared")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        let path = folder + "/c.db"
        let writer = try SlopeStore(path: path)
        let first = try writer.createRun(.example(name: "first"))
        try writer.close()
        guard let undo = Unwritable.make(folder) else {
            throw XCTSkip("cannot make a folder unwritable here (root without CAP_LINUX_IMMUTABLE, or no chattr)")
        }
        XCTAssertTrue(SQLiteBackend.readOnlyOpenPath(path).hasSuffix("?immutable=1"))
        let reader = try SlopeStore(path: path, mode: .readOnly)
        undo()
        XCTAssertEqual(try reader.runs(sweepID: nil).map(\.id), [first])
        XCTAssertNil(reader.queries.fileChange())
        let again = try SlopeStore(path: path)
        let second = try again.createRun(.example(name: "second"))
        XCTAssertEqual(SQLiteBackend.readOnlyOpenPath(path), path, "in use: a -wal beside it")
        try again.close()  // checkpoints into the file: the reader's snapshot is gone
        // The dashboard asks before each request, and opens the file again (CurrentDatabase).
        XCTAssertEqual(reader.queries.fileChange(), "\(path) was changed by another process")
        XCTAssertThrowsError(try reader.runs(sweepID: nil)) { error in
            XCTAssertEqual(error as? StoreError, .changedWhileRead(path: path))
            XCTAssertEqual("\(error)", "\(path) was changed by another process while this one read it (without SQLite's locks, as it "
                           + "reads another user's database or one it cannot write: docs/schema.md): run the command again.")
        }
        try reader.close()
        guard let undoAgain = Unwritable.make(folder) else { return XCTFail("could make it unwritable before") }
        defer { undoAgain() }
        let rereader = try SlopeStore(path: path, mode: .readOnly)
        XCTAssertEqual(try rereader.runs(sweepID: nil).map(\.id), [first, second])
        try rereader.close()
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder), ["c.db"], "no -wal or -shm")
    }

    /// What the dashboard asks of an open file before each request (`fileChange`, one stat) and to
    /// know whether to answer again (`changeToken`: the file's inode, size and time, and its -wal's),
    /// through a write to the same file, a copy renamed over it and its deletion.
    func testFileChangeAndChangeTokenFollowTheFileAtThePath() throws {
        let directory = try TemporaryDirectory(prefix: "slope-file-change")
        defer { directory.remove() }
        let path = directory.path("d.db")
        let writer = try SlopeStore(path: path)
        _ = try writer.createRun(.example(name: "first"))
        let reader = try SlopeStore(path: path, mode: .readOnly)
        func token(_ file: String) -> String {
            var info = stat()
            guard stat(file, &info) == 0 else { return "-" }
            return "\(info.st_size).\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)"
        }
        func inode() -> String {
            var info = stat()
            return stat(path, &info) == 0 ? "\(info.st_ino):" : ""
        }
        XCTAssertNil(reader.queries.fileChange())
        let first = try reader.queries.changeToken()
        XCTAssertEqual(first, inode() + token(path) + "/" + token(path + "-wal"))
        XCTAssertNotEqual(token(path + "-wal"), "-", "in use: a -wal beside it")
        _ = try writer.createRun(.example(name: "second"))
        XCTAssertNil(reader.queries.fileChange(), "written, still the same file")
        XCTAssertNotEqual(try reader.queries.changeToken(), first)
        try writer.close()

        let copy = directory.path("copy.db")
        try FileManager.default.copyItem(atPath: path, toPath: copy)
        XCTAssertEqual(rename(copy, path), 0)
        XCTAssertEqual(reader.queries.fileChange(), "\(path) was replaced by another file")
        XCTAssertEqual(try reader.queries.changeToken(), inode() + token(path) + "/" + token(path + "-wal"))
        XCTAssertEqual(unlink(path), 0)
        XCTAssertEqual(reader.queries.fileChange(), "\(path) was deleted")
        XCTAssertEqual(try reader.queries.changeToken(), "-/" + token(path + "-wal"))
        try reader.close()
    }

    /// Another user's database (here read by root, who could write it) is read as immutable too:
    /// -wal and -shm files of root's would stop the owner's next write.
    func testAnotherUsersDatabaseIsReadCreatingNothing() throws {
        try XCTSkipUnless(geteuid() == 0, "gives the file to another user: needs root")
        let directory = try TemporaryDirectory(prefix: "slope-readonly-owner")
        defer { directory.remove() }
        let path = directory.path("theirs.db")
        let writer = try SlopeStore(path: path)
        let runID = try writer.createRun(.example(name: "theirs"))
        try writer.close()
        XCTAssertEqual(SQLiteBackend.readOnlyOpenPath(path), path, "this user's own: the usual open")
        XCTAssertEqual(chown(path, 1, 1), 0)
        XCTAssertTrue(SQLiteBackend.readOnlyOpenPath(path).hasSuffix("?immutable=1"))
        let reader = try SlopeStore(path: path, mode: .readOnly)
        XCTAssertEqual(try reader.run(id: runID).settings.name, "theirs")
        try reader.close()
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path("")), ["theirs.db"], "no -wal or -shm")
    }

    /// A -wal without its -shm in a folder nobody may write: SQLite cannot read it there, and the
    /// error says to copy the database with its -wal somewhere writable (and the copy reads).
    func testAWALWithoutItsSHMInAReadOnlyFolderSaysToCopyBoth() throws {
        let directory = try TemporaryDirectory(prefix: "slope-readonly-wal")
        defer { directory.remove() }
        let folder = directory.path("sealed")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        let writer = try SlopeStore(path: directory.path("w.db"))
        let runID = try writer.createRun(.example(name: "in the wal"))
        // While the writer is open its commits are in the -wal: copy the two files, not the -shm.
        for suffix in ["", "-wal"] { try FileManager.default.copyItem(atPath: directory.path("w.db" + suffix), toPath: folder + "/w.db" + suffix) }
        try writer.close()
        guard let undo = Unwritable.make(folder) else {
            throw XCTSkip("cannot make a folder unwritable here (root without CAP_LINUX_IMMUTABLE, or no chattr)")
        }
        defer { undo() }
        XCTAssertThrowsError(try SlopeStore(path: folder + "/w.db", mode: .readOnly)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("it has a -wal file but no -shm file"), message)
            XCTAssertTrue(message.contains("copy the database and its -wal file together to a writable folder"), message)
            XCTAssertFalse(message.contains("\n"), message)
        }
        undo()
        let copy = directory.path("copy")
        try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: false)
        for suffix in ["", "-wal"] { try FileManager.default.copyItem(atPath: folder + "/w.db" + suffix, toPath: copy + "/w.db" + suffix) }
        let reader = try SlopeStore(path: copy + "/w.db", mode: .readOnly)
        XCTAssertEqual(try reader.run(id: runID).settings.name, "in the wal")
        try reader.close()
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
