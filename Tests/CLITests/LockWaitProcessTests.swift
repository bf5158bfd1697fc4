// The built `runner` while another process (the sqlite3 shell inside BEGIN IMMEDIATE) holds the
// database's write lock for longer than the runner's notice delay: a new `runner train` and a
// worker in the middle of a run wait, say for whom on stderr, and finish normally once it is released.
import Foundation
import Store
import TestSupport
import XCTest

final class LockWaitProcessTests: XCTestCase {
    private var directory: TemporaryDirectory!
    private let runner = builtExecutable("runner")
    private let sqlite3 = URL(fileURLWithPath: "/usr/bin/sqlite3")

    override func setUpWithError() throws {
        directory = try TemporaryDirectory(prefix: "slope-lock-wait")
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: sqlite3.path), "needs the sqlite3 shell")
    }
    override func tearDown() { directory.remove() }

    /// A sqlite3 shell holding the write lock of `db` (BEGIN IMMEDIATE) until `release()`.
    private final class LockHolder {
        let process = Process()
        private let input = Pipe()

        init(_ sqlite3: URL, db: String) throws {
            process.executableURL = sqlite3
            process.arguments = [db]
            process.standardInput = input
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            input.fileHandleForWriting.write(Data("BEGIN IMMEDIATE;\n".utf8))
        }

        /// Whether the shell holds the lock yet.
        func holdsLock(db: String) -> Bool { LockWaitProcessTests.holdsWriteLock(pid: process.processIdentifier, db: db) }

        func release() {
            input.fileHandleForWriting.write(Data("COMMIT;\n".utf8))
            try? input.fileHandleForWriting.close()
            process.waitUntilExit()
        }
    }

    /// Polls (bounded: 300 s at most) until `condition` holds or `process` ends.
    private func wait(for process: ChildProcess, _ what: String, until condition: () -> Bool) throws {
        for _ in 0..<30_000 where process.process.isRunning {
            if condition() { return }
            usleep(10_000)
        }
        XCTFail("never \(what): \(process.errorSoFar)")
    }

    func testTrainAndAWorkerWaitForTheLockAndSaySo() throws {
        #if !os(Linux)
        throw XCTSkip("reads /proc/locks")
        #endif
        let flags = ["--dataset", "blobs:rows=3000:features=8:classes=3", "--hidden", "16", "--epochs", "8",
                     "--batch-size", "4", "--learning-rate", "0.05", "--seed", "0", "--quiet"]
        let reference = directory.path("reference.db"), db = directory.path("locked.db")
        XCTAssertEqual(try ChildProcess.run(runner, ["sweep"] + flags + ["--db", reference]).status, 0)
        XCTAssertEqual(try ChildProcess.run(runner, ["sweep"] + flags + ["--queue-only", "--db", db]).status, 0)

        // A worker mid-run: the lock is taken after its epoch 2 is stored.
        let worker = try ChildProcess(runner, ["work", "--db", db])
        defer { if worker.process.isRunning { kill(worker.pid, SIGKILL) } }
        try wait(for: worker, "reached epoch 2") {
            ((try? SlopeStore(path: db, mode: .readOnly).run(id: 1).epochsDone) ?? 0) >= 2
        }
        var holder = try LockHolder(sqlite3, db: db)
        try wait(for: worker, "saw the shell take the lock") { holder.holdsLock(db: db) }
        try wait(for: worker, "said it waits") { worker.errorSoFar.contains("waiting for the database lock") }
        XCTAssertTrue(worker.errorSoFar.contains("waiting for the database lock held by pid \(holder.process.processIdentifier)@"),
                      worker.errorSoFar)
        XCTAssertTrue(worker.process.isRunning)
        holder.release()
        let worked = worker.finish()
        XCTAssertEqual(worked.status, 0, worked.error)
        let store = try SlopeStore(path: db, mode: .readOnly), expected = try SlopeStore(path: reference, mode: .readOnly)
        XCTAssertEqual(try store.run(id: 1).status, .completed)
        XCTAssertEqual(try store.epochs(runID: 1).map { $0.trainLoss?.bitPattern }, try expected.epochs(runID: 1).map { $0.trainLoss?.bitPattern })
        XCTAssertEqual(try store.tensors(runID: 1, epoch: 8).map(\.tensor), try expected.tensors(runID: 1, epoch: 8).map(\.tensor))

        // A new `runner train` while the lock is held: it waits, says so, then trains.
        holder = try LockHolder(sqlite3, db: db)
        for _ in 0..<30_000 where !holder.holdsLock(db: db) { usleep(10_000) }
        let train = try ChildProcess(runner, ["train", "--dataset", "xor", "--hidden", "4", "--epochs", "3", "--validation", "0", "--db", db])
        defer { if train.process.isRunning { kill(train.pid, SIGKILL) } }
        try wait(for: train, "said it waits") { train.errorSoFar.contains("waiting for the database lock held by pid") }
        holder.release()
        let trained = train.finish()
        XCTAssertEqual(trained.status, 0, trained.error)
        XCTAssertEqual(try SlopeStore(path: db, mode: .readOnly).run(id: 2).status, .completed)
    }

    /// A writer stopped with SIGSTOP inside a write transaction holds the lock until it is continued
    /// or killed: a new `runner train` waits for it, names it, and trains once it is killed.
    func testAWriterStoppedInsideAWriteIsWaitedFor() throws {
        #if !os(Linux)
        throw XCTSkip("reads /proc/locks")
        #endif
        let db = directory.path("stopped.db")
        let store = try SlopeStore(path: db)
        let runID = try store.createRun(.example())
        try store.close()
        // Back-to-back 1 MB epochs: the writer holds the lock most of the time.
        let writer = try ChildProcess(builtExecutable("StoreProbe"), ["write-forever", db, String(runID), "256", "256"])
        defer { if writer.process.isRunning { kill(writer.pid, SIGKILL) } }
        try wait(for: writer, "wrote an epoch") { writer.process.isRunning && FileManager.default.fileExists(atPath: db + "-shm") }
        var stoppedInsideAWrite = false
        for _ in 0..<500 where writer.process.isRunning {  // stop it until it is caught holding the lock
            kill(writer.pid, SIGSTOP)
            usleep(20_000)
            if Self.holdsWriteLock(pid: writer.pid, db: db) { stoppedInsideAWrite = true; break }
            kill(writer.pid, SIGCONT)
            usleep(useconds_t.random(in: 1_000...5_000))
        }
        try XCTSkipUnless(stoppedInsideAWrite, "never caught the writer inside a transaction")
        let train = try ChildProcess(runner, ["train", "--dataset", "xor", "--hidden", "4", "--epochs", "3", "--validation", "0", "--db", db])
        defer { if train.process.isRunning { kill(train.pid, SIGKILL) } }
        try wait(for: train, "said it waits") { train.errorSoFar.contains("waiting for the database lock") }
        XCTAssertTrue(train.errorSoFar.contains("held by pid \(writer.pid)@"), train.errorSoFar)
        kill(writer.pid, SIGKILL)  // stopping the process that holds the lock, as the message suggests
        _ = writer.finish()
        let trained = train.finish()
        XCTAssertEqual(trained.status, 0, trained.error)
        XCTAssertEqual(try SlopeStore(path: db, mode: .readOnly).run(id: runID + 1).status, .completed)
    }

    /// Whether `pid` holds SQLite's WAL write lock on `db` (a POSIX write lock on byte 120 of the -shm file).
    static func holdsWriteLock(pid: Int32, db: String) -> Bool {
        var info = stat()
        guard stat(db + "-shm", &info) == 0, let locks = try? String(contentsOfFile: "/proc/locks", encoding: .utf8) else { return false }
        return locks.split(separator: "\n").contains { line in
            let fields = line.split(separator: " ")
            return fields.count >= 8 && !line.contains("->") && fields[3] == "WRITE" && fields[4] == Substring(String(pid))
                && fields[5].hasSuffix(":\(info.st_ino)") && fields[6] == "120"
        }
    }

    /// Ctrl-C while waiting for the lock ends the wait: exit 130, and the run resumes afterwards.
    func testCtrlCWhileWaitingForTheLock() throws {
        #if !os(Linux)
        throw XCTSkip("reads /proc/locks")
        #endif
        let db = directory.path("ctrl-c.db")
        XCTAssertEqual(try ChildProcess.run(runner, ["sweep", "--dataset", "blobs:rows=3000:features=8:classes=3", "--hidden", "16",
                                                     "--epochs", "6", "--batch-size", "4", "--seed", "0", "--quiet", "--queue-only",
                                                     "--db", db]).status, 0)
        let worker = try ChildProcess(runner, ["work", "--db", db])
        defer { if worker.process.isRunning { kill(worker.pid, SIGKILL) } }
        try wait(for: worker, "reached epoch 1") {
            ((try? SlopeStore(path: db, mode: .readOnly).run(id: 1).epochsDone) ?? 0) >= 1
        }
        let holder = try LockHolder(sqlite3, db: db)
        try wait(for: worker, "said it waits") { worker.errorSoFar.contains("waiting for the database lock") }
        kill(worker.pid, SIGINT)
        let result = worker.finish()
        holder.release()
        XCTAssertEqual(result.status, 130, result.error)
        XCTAssertTrue(result.error.contains("runner resume"), result.error)
        let resumed = try ChildProcess.run(runner, ["resume", "--db", db])
        XCTAssertEqual(resumed.status, 0, resumed.error)
        XCTAssertEqual(try SlopeStore(path: db, mode: .readOnly).run(id: 1).status, .completed)
    }
}
