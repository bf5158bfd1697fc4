// The WAL stays bounded while 8 `runner work` processes write one database, and a `sqlite3`
// reader running back to back meanwhile never sees an error (a smaller scripts/check-wal).
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
        var largestWAL = 0, queries = 0, errors: [String] = []
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
        let counters = Counters(), done = DispatchGroup()
        let running = { workers.contains { $0.process.isRunning } }
        DispatchQueue.global().async(group: done) {
            while running() {
                let size = ((try? FileManager.default.attributesOfItem(atPath: db + "-wal"))?[.size] as? NSNumber)?.intValue ?? 0
                counters.lock.withLock { counters.largestWAL = max(counters.largestWAL, size) }
                usleep(200_000)
            }
        }
        if FileManager.default.isExecutableFile(atPath: sqlite3.path) {
            DispatchQueue.global().async(group: done) { [sqlite3] in
                while running() {
                    guard let result = try? ChildProcess.run(sqlite3, [db, "SELECT count(*) FROM tensors"]) else { continue }
                    counters.lock.withLock {
                        counters.queries += 1
                        if result.status != 0 || !result.error.isEmpty { counters.errors.append(result.error) }
                    }
                }
            }
        }
        let statuses = workers.map { $0.finish() }
        done.wait()
        XCTAssertEqual(statuses.map(\.status), Array(repeating: 0, count: 8), statuses.map(\.error).joined())
        XCTAssertEqual(try SlopeStore(path: db, mode: .readOnly).runs(sweepID: 1).filter { $0.status == .completed }.count, 16)
        counters.lock.withLock {
            XCTAssertGreaterThan(counters.largestWAL, 0)
            XCTAssertLessThan(counters.largestWAL, 64 << 20, "the -wal file reached \(counters.largestWAL) bytes")
            XCTAssertEqual(counters.errors, [], "\(counters.errors.count) of \(counters.queries) sqlite3 reads failed")
        }
    }
}
