// Several `runner work` processes on one PostgreSQL sweep (claims with FOR UPDATE SKIP LOCKED):
// each run is trained by exactly one of them, every epoch 0..N is stored exactly once, and the
// bits are those of the same sweep run by one process on SQLite.
import Foundation
@testable import Store
import TestSupport
import XCTest

final class PostgresWorkersCLITests: XCTestCase {
    private var directory: TemporaryDirectory!
    private var server: ServerDatabase!

    override func setUpWithError() throws {
        directory = try TemporaryDirectory(prefix: "slope-pg-workers")
        server = try PostgresServer.makeDatabase()
    }
    override func tearDown() {
        server?.drop()
        directory?.remove()
    }

    private let epochs = 3
    private let sweep = ["sweep", "--dataset", "spirals:rows=120", "--hidden", "6", "--epochs", "3", "--batch-size", "8",
                         "--learning-rate", "0.01,0.03,0.1,0.3", "--seed", "0,1", "--quiet"]

    func testTwoWorkers() throws { try checkWorkers(2) }
    func testFourWorkers() throws { try checkWorkers(4) }

    private func checkWorkers(_ count: Int) throws {
        let runner = builtExecutable("runner")
        let reference = directory.path("reference.db")
        XCTAssertEqual(try ChildProcess.run(runner, sweep + ["--db", reference]).status, 0)
        let queued = try ChildProcess.run(runner, sweep + ["--queue-only", "--db", server.url])
        XCTAssertEqual(queued.status, 0, queued.error)

        let workers = try (0..<count).map { _ in try ChildProcess(runner, ["work", "--sweep", "1", "--jobs", "1", "--db", server.url]) }
        defer { for worker in workers where worker.process.isRunning { kill(worker.pid, SIGKILL) } }
        var finishedBy: [Int64: Int] = [:]
        for (index, worker) in workers.enumerated() {
            let result = worker.finish()
            XCTAssertEqual(result.status, 0, "worker \(index): \(result.error)")
            // Plain output (not a terminal): one line per run the worker finished.
            for line in result.output.split(separator: "\n") where line.hasPrefix("run ") && line.contains(" completed") {
                let runID = try XCTUnwrap(Int64(line.split(separator: " ")[1]), String(line))
                XCTAssertNil(finishedBy[runID], "run \(runID) finished by workers \(finishedBy[runID] ?? -1) and \(index)")
                finishedBy[runID] = index
            }
        }
        XCTAssertEqual(finishedBy.keys.sorted(), Array(1...8), "each of the 8 runs finished by one worker: \(finishedBy)")

        let store = try SlopeStore(location: server.url, mode: .readOnly)
        let expected = try SlopeStore(path: reference, mode: .readOnly)
        defer { try? store.close(); try? expected.close() }
        for runID in Int64(1)...8 {
            XCTAssertEqual(try store.run(id: runID).status, .completed)
            let stored = try store.epochs(runID: runID)
            XCTAssertEqual(stored.map(\.epoch), Array(0...epochs), "run \(runID): every epoch exactly once")
            XCTAssertEqual(stored.map { $0.trainLoss?.bitPattern }, try expected.epochs(runID: runID).map { $0.trainLoss?.bitPattern }, "run \(runID)")
        }
        let tensors = { (store: SlopeStore) in
            try store.read { try $0.rows("SELECT run_id, epoch, layer, kind, data FROM tensors ORDER BY run_id, epoch, layer, kind", []).map(\.values) }
        }
        let expectedTensors = try tensors(expected)
        XCTAssertFalse(expectedTensors.isEmpty)
        XCTAssertEqual(try tensors(store), expectedTensors, "tensors bit-identical to one process on SQLite")
    }

    /// Under an address-space limit (`ulimit -v`, a batch scheduler's h_vmem) a worker's threads still
    /// start: glibc reserved 64 MB of address space per thread arena, a dozen threads (NIO's, Dispatch's,
    /// the epoch writer, training) used up 0.5 GB, and the worker hung with two runs `running`, deaf to
    /// Ctrl-C (store16's note). Now malloc's arenas fit the limit: the sweep ends, every run completed.
    /// Bounded: killed after 120 s (it took under a second).
    func testAWorkerUnderAnAddressSpaceLimitFinishes() throws {
        let runner = builtExecutable("runner")
        let queued = try ChildProcess.run(runner, sweep + ["--queue-only", "--db", server.url])
        XCTAssertEqual(queued.status, 0, queued.error)
        let worker = try ChildProcess(URL(fileURLWithPath: "/bin/sh"),
                                      ["-c", #"ulimit -v 500000 && exec "$0" "$@""#, runner.path, "work", "--sweep", "1", "--jobs", "2", "--db", server.url])
        let deadline = Date().addingTimeInterval(120)
        while worker.process.isRunning && Date() < deadline { usleep(100_000) }
        let hung = worker.process.isRunning
        if hung { kill(worker.pid, SIGKILL) }
        let result = worker.finish()
        XCTAssertFalse(hung, "the worker did not end within 120 s under ulimit -v 500000: \(result.error)")
        XCTAssertEqual(result.status, 0, result.error)
        let store = try SlopeStore(location: server.url, mode: .readOnly)
        defer { try? store.close() }
        XCTAssertEqual(try store.runs(sweepID: 1).map(\.status), Array(repeating: .completed, count: 8))
        for runID in Int64(1)...8 { XCTAssertEqual(try store.epochs(runID: runID).map(\.epoch), Array(0...epochs), "run \(runID)") }
    }
}
