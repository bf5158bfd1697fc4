// Another user's SQLite database, through the built `runner` and `report` run as that other
// user (root only: setpriv): read-only commands read it creating no files, also in a shared
// folder (mode 1777), so its owner's next write works; -wal and -shm files that the owner cannot
// write are named in the owner's error, with their owner and what to do.
import Foundation
import TestSupport
import XCTest

final class ReadOnlyDatabaseCLITests: CLITestCase {
    /// Runs `tool arguments...` in the test's folder as user `user` (uid:gid).
    private func run(as user: (uid: Int, gid: Int), _ tool: String, _ arguments: [String]) throws -> (status: Int32, output: String, error: String) {
        try ChildProcess.run(URL(fileURLWithPath: "/usr/bin/setpriv"),
                             ["--reuid=\(user.uid)", "--regid=\(user.gid)", "--clear-groups", builtExecutable(tool).path] + arguments,
                             currentDirectory: directory.url)
    }

    private let nobody = (uid: 65534, gid: 65534), daemon = (uid: 1, gid: 1)

    override func setUpWithError() throws {
        try super.setUpWithError()
        try XCTSkipUnless(getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"),
                          "runs the tools as other users: needs root and setpriv")
        XCTAssertEqual(chmod(directory.url.path, 0o755), 0)
    }

    private func files() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: directory.path("")).sorted() }

    /// A root-owned 0644 file in a 0755 folder, read by nobody: `report runs` and
    /// `runner compact --dry-run` work and create nothing; a write says the file is read-only.
    func testAnotherUsersDatabaseInAFolderThisUserCannotWriteIsRead() throws {
        try run("runner", ["sweep", "--dataset", "xor", "--hidden", "2", "--learning-rate", "0.1,0.2", "--epochs", "3", "--validation", "0", "--quiet"])
        let before = try Data(contentsOf: URL(fileURLWithPath: directory.path("slope.db")))
        let runs = try run(as: nobody, "report", ["runs", "--format", "csv", "--db", "slope.db"])
        XCTAssertEqual(runs.status, 0, runs.error)
        XCTAssertEqual(runs.output.split(separator: "\n").count, 3, runs.output)
        let dryRun = try run(as: nobody, "runner", ["compact", "--sweep", "1", "--keep-every", "2", "--dry-run", "--db", "slope.db"])
        XCTAssertEqual(dryRun.status, 0, dryRun.error)
        XCTAssertTrue(dryRun.output.hasPrefix("dry run: would delete the tensors of "), dryRun.output)
        let write = try run(as: nobody, "runner", ["compact", "--sweep", "1", "--keep-every", "2", "--db", "slope.db"])
        XCTAssertEqual(write.status, 1)
        XCTAssertEqual(write.error, "error: cannot write slope.db: the file or its folder is read-only. Check permissions, or copy the database somewhere writable.\n")
        // Refused before the growth estimate is said (it was printed first, then the refusal).
        let train = try run(as: nobody, "runner", ["train", "--dataset", "xor", "--epochs", "1", "--db", "slope.db"])
        XCTAssertEqual(train.status, 1)
        XCTAssertEqual(train.output, "", "no estimate for a database this user cannot write")
        XCTAssertEqual(train.error, write.error)
        XCTAssertEqual(try files(), ["slope.db"], "no -wal or -shm left")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: directory.path("slope.db"))), before)
        XCTAssertEqual(runs.output, try run("report", ["runs", "--format", "csv"]).output, "the same answer as the owner's")

        // While the owner's -wal and -shm are there (left by the owner's own read just now; so
        // while a runner writes), nobody reads through them, still writing nothing.
        XCTAssertEqual(try files(), ["slope.db", "slope.db-shm", "slope.db-wal"])
        let shm = try Data(contentsOf: URL(fileURLWithPath: directory.path("slope.db-shm")))
        let through = try run(as: nobody, "report", ["runs", "--format", "csv", "--db", "slope.db"])
        XCTAssertEqual(through.status, 0, through.error)
        XCTAssertEqual(through.output, runs.output)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: directory.path("slope.db-shm"))), shm)
    }

    /// A shared folder (1777): nobody reading daemon's database leaves no files, so daemon's next
    /// run works; stray -wal and -shm of nobody's (from an older Slope, or sqlite3) stop daemon's
    /// write with a message that names them, their owner and the fix, and touch nothing.
    func testAReaderInASharedFolderLeavesNothingThatStopsTheOwner() throws {
        XCTAssertEqual(chmod(directory.url.path, 0o1777), 0)
        let train = ["train", "--dataset", "xor", "--hidden", "2", "--epochs", "2", "--validation", "0", "--quiet", "--db", "d.db"]
        let first = try run(as: daemon, "runner", train)
        XCTAssertEqual(first.status, 0, first.error)
        let read = try run(as: nobody, "report", ["runs", "--format", "csv", "--db", "d.db"])
        XCTAssertEqual(read.status, 0, read.error)
        XCTAssertEqual(read.output.split(separator: "\n").count, 2, read.output)
        XCTAssertEqual(try files(), ["d.db"])
        let second = try run(as: daemon, "runner", train)
        XCTAssertEqual(second.status, 0, second.error)

        // What an older reader left: an empty -wal and a -shm, nobody's, that daemon cannot write.
        let before = try Data(contentsOf: URL(fileURLWithPath: directory.path("d.db")))
        for name in ["d.db-wal", "d.db-shm"] {
            XCTAssertTrue(FileManager.default.createFile(atPath: directory.path(name), contents: Data(), attributes: [.posixPermissions: 0o644]))
            XCTAssertEqual(chown(directory.path(name), uid_t(nobody.uid), gid_t(nobody.gid)), 0)
        }
        let wal = directory.path("d.db-wal"), shm = directory.path("d.db-shm")
        let stopped = try run(as: daemon, "runner", train)
        XCTAssertEqual(stopped.status, 1)
        XCTAssertEqual(stopped.error, "error: cannot write d.db: \(wal) and \(shm) belong to user nobody and this user (daemon) cannot write them "
                       + "(left by that user reading the database, e.g. in a shared folder); with no process using the database, remove them "
                       + "(they hold no data: rm \(wal) \(shm)), then retry.\n")
        // A -wal with content may hold commits: give the files to the owner instead of removing them.
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: wal))
        XCTAssertEqual(chown(wal, uid_t(nobody.uid), gid_t(nobody.gid)), 0)
        let holding = try run(as: daemon, "runner", train)
        XCTAssertEqual(holding.status, 1)
        XCTAssertEqual(holding.error, "error: cannot write d.db: \(wal) and \(shm) belong to user nobody and this user (daemon) cannot write them "
                       + "(left by that user reading the database, e.g. in a shared folder); \(wal) holds commits not yet in the database file: "
                       + "have its owner or root give them to this user (chown daemon \(wal) \(shm)), then retry.\n")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: directory.path("d.db"))), before, "the database is unchanged")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: wal)), Data([1, 2, 3]))
    }
}
