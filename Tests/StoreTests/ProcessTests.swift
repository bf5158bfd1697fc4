// Several real processes on one database: workers claiming runs while a reader reads,
// and a writer killed with SIGKILL in the middle of big epochs.
import Foundation
import GRDB
import Store
import TestSupport
import XCTest

final class ProcessTests: XCTestCase {
    var directory: TemporaryDirectory!

    override func setUpWithError() throws { directory = try TemporaryDirectory(prefix: "slope-processes") }
    override func tearDown() { directory.remove() }

    func testFourWorkerProcessesRunEveryQueuedRunExactlyOnceWhileReadersRead() throws {
        let path = directory.path("claims.db")
        let store = try SlopeStore(path: path)
        let (sweepID, runIDs) = try store.createSweep(
            name: "claims", specJSON: "{}", runs: (0..<40).map { SlopeStore.NewRun.example(seed: UInt64($0)) })
        let workers = try (0..<4).map { _ in try Probe(["work", path, String(sweepID), "2"]) }
        let readerProcess = try Probe(["read", path, String(sweepID)])

        // A read-only store in this process and a reader process read all along; no read may fail.
        let reader = try SlopeStore(path: path, mode: .readOnly)
        var reads = 0
        while workers.contains(where: { $0.process.isRunning }) {
            let runs = try reader.runs(sweepID: sweepID)
            XCTAssertEqual(runs.count, 40)
            for run in runs where run.status == .completed {
                XCTAssertEqual(try reader.epochs(runID: run.id).map(\.epoch), [0, 1, 2])
            }
            reads += 1
        }
        XCTAssertGreaterThan(reads, 0)

        var claims: [Int64] = []
        for worker in workers {
            let (status, lines) = worker.finish()
            XCTAssertEqual(status, 0, "\(lines)")
            XCTAssertEqual(lines.last, "done", "\(lines)")
            claims += lines.filter { $0.hasPrefix("claimed ") }.map { Int64($0.dropFirst(8))! }
        }
        XCTAssertEqual(claims.sorted(), runIDs, "every run claimed exactly once")
        let (readerStatus, readerLines) = readerProcess.finish()
        XCTAssertEqual(readerStatus, 0, "\(readerLines)")
        XCTAssertTrue(readerLines.last?.hasPrefix("reads ") ?? false, "\(readerLines)")
        for run in try store.runs(sweepID: sweepID) {
            XCTAssertEqual(run.status, .completed)
            XCTAssertEqual(run.epochsDone, 2)
            XCTAssertEqual(try store.tensors(runID: run.id).count, 12)
        }
    }

    func testWriterKilledMidEpochLeavesOnlyWholeEpochs() throws {
        var generator = TestRandom(seed: UInt64(Date().timeIntervalSince1970))
        for attempt in 0..<5 {
            let path = directory.path("killed\(attempt).db")
            let store = try SlopeStore(path: path)
            let runID = try store.createRun(.example())
            let writer = try Probe(["write-forever", path, String(runID), "256", "512"])   // 4 tensors, 1 MB/epoch
            let target = Int.random(in: 1...4, using: &generator)
            XCTAssertTrue(writer.wait { $0.contains("epoch \(target)") }, "attempt \(attempt): \(writer.lines)")
            usleep(useconds_t.random(in: 0...60_000, using: &generator))   // land anywhere inside an epoch
            kill(writer.process.processIdentifier, SIGKILL)
            _ = writer.finish()
            XCTAssertEqual(writer.process.terminationReason, .uncaughtSignal)

            let queue = try DatabaseQueue(path: path)
            try queue.read { db in
                XCTAssertEqual(try String.fetchAll(db, sql: "PRAGMA integrity_check"), ["ok"], "attempt \(attempt)")
                XCTAssertEqual(try Row.fetchAll(db, sql: "PRAGMA foreign_key_check"), [])
                let epochs = try Int.fetchAll(db, sql: "SELECT epoch FROM epochs WHERE run_id = ? ORDER BY epoch", arguments: [runID])
                XCTAssertGreaterThan(epochs.count, target, "attempt \(attempt)")
                XCTAssertEqual(epochs, Array(0..<epochs.count))
                let tensorCounts = try Int.fetchAll(db, sql: """
                    SELECT (SELECT count(*) FROM tensors AS t WHERE t.run_id = e.run_id AND t.epoch = e.epoch)
                    FROM epochs AS e WHERE e.run_id = ?
                    """, arguments: [runID])
                XCTAssertEqual(tensorCounts, Array(repeating: 4, count: epochs.count), "attempt \(attempt)")
                XCTAssertEqual(try Int.fetchOne(db, sql: "SELECT epochs_done FROM runs WHERE id = ?", arguments: [runID]),
                               epochs.count - 1, "summary written in the same transaction")
            }
            try queue.close()
            // The killed worker's run is reclaimed at once (same host, dead pid) and resumes from its last epoch.
            let worker = WorkerIdentity.current(label: "test")
            let reclaimed = try store.reclaimInterruptedRuns(sweepID: nil, runID: runID, worker: worker, staleAfter: 3600)
            XCTAssertEqual(reclaimed.map(\.id), [runID])
            XCTAssertEqual(try store.resumePoint(runID: runID)?.epoch, reclaimed.first?.lastStoredEpoch)
        }
    }

    /// Two writers at once, each far enough that background checkpoints are running when
    /// both are killed: the file is intact and both runs hold whole epochs only.
    func testTwoWritersKilledDuringCheckpointsLeaveAnIntactDatabase() throws {
        var generator = TestRandom(seed: UInt64(Date().timeIntervalSince1970))
        let path = directory.path("two-killed.db")
        let store = try SlopeStore(path: path)
        let runIDs = try (0..<2).map { _ in try store.createRun(.example()) }
        // 2 MB/epoch, back to back: each holds the write lock nearly all the time, and both must get on
        // (the store's busy handler looks every millisecond or so, not every 100 ms like SQLite's).
        let writers = try runIDs.map { try Probe(["write-forever", path, String($0), "512", "512"]) }
        for writer in writers {
            XCTAssertTrue(writer.wait { $0.contains("epoch 8") }, "\(writer.lines)")   // > 32 MB through the WAL
        }
        usleep(useconds_t.random(in: 0...100_000, using: &generator))
        for writer in writers { kill(writer.process.processIdentifier, SIGKILL) }
        for writer in writers { _ = writer.finish() }

        let queue = try DatabaseQueue(path: path)
        try queue.read { db in
            XCTAssertEqual(try String.fetchAll(db, sql: "PRAGMA integrity_check"), ["ok"])
            for runID in runIDs {
                let counts = try Int.fetchAll(db, sql: """
                    SELECT (SELECT count(*) FROM tensors AS t WHERE t.run_id = e.run_id AND t.epoch = e.epoch)
                    FROM epochs AS e WHERE e.run_id = ? ORDER BY e.epoch
                    """, arguments: [runID])
                XCTAssertGreaterThan(counts.count, 8)
                XCTAssertEqual(counts, Array(repeating: 4, count: counts.count), "run \(runID)")
            }
        }
    }
}
