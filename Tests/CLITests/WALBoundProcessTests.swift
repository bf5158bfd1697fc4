// The WAL stays bounded while 8 `runner work` processes write one database, and a `sqlite3`
// reader running back to back meanwhile never sees an error, through every worker's close (a
// smaller scripts/check-wal).
import Foundation
import Store
import TestSupport
import XCTest

final class WALBoundProcessTests: XCTestCase {
    private var directory: TemporaryDirectory!
    private let runner = builtExecutable("runner")
    private let sqlite3 = URL(fileURLWithPath: "/usr/bin/sqlite3")

    override func setUpWithError() throws { directory = try TemporaryDirectory(prefix: "slope-wal-bound") }
    override func tearDown() { directory.remove() }

    final class Counters: @unchecked Sendable {
        let lock = NSLock()
        var largestWAL = 0, queries = 0, errors: [String] = [], workersDone = false
    }

    /// 16 runs x 30 epochs of digits 64-256-10 (~150 KB of tensors an epoch, ~70 MB in all) by 8
    /// processes: the -wal file, sampled every 0.2 s, stays under 64 MiB (it reset at 32 MiB).
    func testEightWorkersKeepTheWALBoundedAndReadersNeverFail() throws {
        let db = directory.path("wal.db")
        let queued = try ChildProcess.run(runner, ["sweep", "--dataset", "digits", "--hidden", "256", "--epochs", "30", "--batch-size", "64",
                                                   "--seed", (0..<16).map(String.init).joined(separator: ","), "--queue-only", "--quiet", "--db", db])
        XCTAssertEqual(queued.status, 0, queued.error)
        let workers = try (0..<8).map { _ in try ChildProcess(runner, ["work", "--jobs", "1", "--quiet", "--db", db]) }
        defer { for worker in workers where worker.process.isRunning { kill(worker.pid, SIGKILL) } }
        // The sampler is a thread; the reader is one shell loop (Foundation's Process is not safe to
        // start from several threads at once, so the test starts every process from this one).
        let counters = Counters(), done = DispatchGroup()
        DispatchQueue.global().async(group: done) {
            while !counters.lock.withLock({ counters.workersDone }) {
                let size = ((try? FileManager.default.attributesOfItem(atPath: db + "-wal"))?[.size] as? NSNumber)?.intValue ?? 0
                counters.lock.withLock { counters.largestWAL = max(counters.largestWAL, size) }
                usleep(200_000)
            }
        }
        // The reader starts once a worker has written: the first open of a WAL database runs
        // SQLite's recovery, and a reader without a busy timeout that opens during it gets
        // SQLITE_BUSY_RECOVERY ("database is locked") whatever the writers do. From then on, through
        // every worker's close, no read may fail.
        let started = Date()
        while (((try? FileManager.default.attributesOfItem(atPath: db + "-wal"))?[.size] as? NSNumber)?.intValue ?? 0) == 0,
              Date().timeIntervalSince(started) < 120 {
            usleep(20_000)
        }
        XCTAssertGreaterThan(((try? FileManager.default.attributesOfItem(atPath: db + "-wal"))?[.size] as? NSNumber)?.intValue ?? 0, 0,
                             "no worker wrote within 120 s")
        let stop = directory.path("stop"), errors = directory.path("reader-errors"), queries = directory.path("reader-queries")
        // A sqlite3 shell keeps the database open until the reader is done, as a user's shell
        // would: the workers' closes are what this test is about, and none of them is then the
        // last. The very last close of a database (whoever makes it) takes an exclusive lock for
        // the instant SQLite removes the -wal file, and a reader without a busy timeout that opens
        // in that instant gets "database is locked"; docs/schema.md says so and what to do.
        let holderStop = directory.path("holder-stop")
        let holder = FileManager.default.isExecutableFile(atPath: sqlite3.path) ? try ChildProcess(URL(fileURLWithPath: "/bin/sh"), ["-c", """
            { echo 'SELECT count(*) FROM sqlite_master;'; while [ ! -e '\(holderStop)' ]; do sleep 0.05; done; } | '\(sqlite3.path)' -cmd '.timeout 30000' '\(db)'
            """]) : nil
        defer { if let holder, holder.process.isRunning { kill(holder.pid, SIGKILL) } }
        while let holder, holder.outputSoFar.isEmpty, holder.process.isRunning, Date().timeIntervalSince(started) < 180 { usleep(20_000) }
        let reader = holder != nil ? try ChildProcess(URL(fileURLWithPath: "/bin/sh"), ["-c", """
            while [ ! -e '\(stop)' ]; do
                '\(sqlite3.path)' '\(db)' 'SELECT count(*) FROM tensors' > /dev/null 2>> '\(errors)' || echo failed >> '\(errors)'
                echo >> '\(queries)'
            done
            """]) : nil
        defer { if let reader, reader.process.isRunning { kill(reader.pid, SIGKILL) } }
        let statuses = workers.map { $0.finish() }
        counters.lock.withLock { counters.workersDone = true }
        done.wait()
        FileManager.default.createFile(atPath: stop, contents: Data())
        _ = reader?.finish()
        FileManager.default.createFile(atPath: holderStop, contents: Data())
        if let holder {
            let held = holder.finish()
            XCTAssertEqual(held.status, 0, "the sqlite3 shell holding the database open: \(held.error)")
            XCTAssertNotEqual(Int(held.output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0, 0, "the sqlite3 shell read the schema")
        }
        counters.queries = ((try? String(contentsOfFile: queries, encoding: .utf8)) ?? "").split(separator: "\n", omittingEmptySubsequences: false).count - 1
        counters.errors = ((try? String(contentsOfFile: errors, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        XCTAssertEqual(statuses.map(\.status), Array(repeating: 0, count: 8), statuses.map(\.error).joined())
        XCTAssertEqual(try SlopeStore(path: db, mode: .readOnly).runs(sweepID: 1).filter { $0.status == .completed }.count, 16)
        counters.lock.withLock {
            XCTAssertGreaterThan(counters.largestWAL, 0)
            XCTAssertLessThan(counters.largestWAL, 64 << 20, "the -wal file reached \(counters.largestWAL) bytes")
            XCTAssertEqual(counters.errors, [], "\(counters.errors.count) of \(counters.queries) sqlite3 reads failed")
            if reader != nil { XCTAssertGreaterThan(counters.queries, 10, "the reader ran all along") }
        }
    }
}
