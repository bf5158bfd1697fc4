// The claim token fences off every earlier claim of a run, on both stores alike: each claim
// (of a queued run, a take-over, a claim again by the same process) adds 1; an epoch write,
// heartbeat, finish or requeue with an older token is refused and writes nothing; the current
// one succeeds. The identity alone cannot tell these apart when the same process claims again.
import Foundation
import GRDB
import TestSupport
import XCTest
@testable import Store

final class ClaimTokenTests: BothStoresTestCase {
    func testSQLiteRefusesStaleClaims() throws { try assertStaleClaimsAreRefused(try sqliteStore()) }

    func testPostgreSQLRefusesStaleClaims() throws { try assertStaleClaimsAreRefused(try postgresStore()) }

    func testSQLiteSameProcessClaimingAgainMakesItsOldTokenStale() throws { try assertReclaimMakesTokenStale(try sqliteStore()) }

    func testPostgreSQLSameProcessClaimingAgainMakesItsOldTokenStale() throws { try assertReclaimMakesTokenStale(try postgresStore()) }

    /// The run's row, epochs and tensors as they are: what a refused write must leave unchanged.
    private func snapshot(_ store: SlopeStore, _ runID: Int64) throws -> [[SQLValue]] {
        try store.read { c in
            try c.rows("SELECT status, worker, heartbeat_at, epochs_done, final_train_loss, stop_reason, claim_token FROM runs WHERE id = ?", [runID]).map(\.values)
                + c.rows("SELECT epoch, train_loss FROM epochs WHERE run_id = ? ORDER BY epoch", [runID]).map(\.values)
                + c.rows("SELECT epoch, layer, kind, data FROM tensors WHERE run_id = ? ORDER BY epoch, layer, kind", [runID]).map(\.values)
        }
    }

    private func assertNotHeld(_ expected: String, _ runID: Int64, _ body: () throws -> Void,
                               file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            XCTAssertEqual(error as? StoreError, .runNotHeld(runID: runID, detail: expected), file: file, line: line)
        }
    }

    /// A worker cut off past the stale timeout comes back after another took its run over: its
    /// epoch write, heartbeat, finish and requeue are refused and change nothing; the new holder's go through.
    private func assertStaleClaimsAreRefused(_ store: SlopeStore) throws {
        defer { try? store.close() }
        let runID = try store.createRun(.example())
        let away = WorkerIdentity(host: "host-a", pid: 4242, label: "runner 4242@host-a", bootID: "a", startTime: 7)
        let taker = WorkerIdentity(host: "host-b", pid: 77, label: "runner 77@host-b", bootID: "b", startTime: 9)
        let first = try XCTUnwrap(store.claimRun(runID: runID, worker: away))
        XCTAssertEqual(first.claimToken, 1, "a new run starts at 0; its first claim makes it 1")
        let tensor = SlopeStore.TensorRecord.float32(layer: 1, kind: .weight, rows: 1, cols: 2, [1, 2])
        try store.writeEpoch(runID: runID, .init(epoch: 0, trainLoss: 1), tensors: [tensor], holder: RunHolder(worker: away, claimToken: 1))

        // host-a is cut off; host-b's `runner resume` takes the run over (its heartbeat is stale).
        let taken = try store.reclaimInterruptedRuns(sweepID: nil, runID: runID, worker: taker, staleAfter: -1)
        XCTAssertEqual(taken.map(\.id), [runID])
        XCTAssertEqual(taken.map(\.claimToken), [2])
        XCTAssertEqual(taken.map(\.lastStoredEpoch), [0])
        let before = try snapshot(store, runID)

        let stale = "it is held by runner 77@host-b under claim 2; this worker's claim 1 is stale"
        let late = SlopeStore.TensorRecord.float32(layer: 1, kind: .weight, rows: 1, cols: 2, [3, 4])
        assertNotHeld(stale, runID) { try store.writeEpoch(runID: runID, .init(epoch: 1, trainLoss: 0.5), tensors: [late], holder: RunHolder(worker: away, claimToken: 1)) }
        assertNotHeld(stale, runID) { try store.heartbeat(runID: runID, holder: RunHolder(worker: away, claimToken: 1)) }
        assertNotHeld(stale, runID) {
            try store.finishRun(runID: runID, status: .completed, stopReason: "completed all epochs", holder: RunHolder(worker: away, claimToken: 1))
        }
        assertNotHeld(stale, runID) { try store.requeueRun(runID: runID, reason: "interrupted at epoch 1", holder: RunHolder(worker: away, claimToken: 1)) }
        // The current token with the wrong worker is refused too (a token is no password, but no slip either).
        assertNotHeld("it is held by runner 77@host-b under claim 2", runID) { try store.heartbeat(runID: runID, holder: RunHolder(worker: away, claimToken: 2)) }
        XCTAssertEqual(try snapshot(store, runID), before, "nothing written")

        // The holder's claim writes.
        try store.writeEpoch(runID: runID, .init(epoch: 1, trainLoss: 0.25), tensors: [late], holder: RunHolder(worker: taker, claimToken: 2))
        try store.heartbeat(runID: runID, holder: RunHolder(worker: taker, claimToken: 2))
        XCTAssertEqual(try store.epochs(runID: runID).map(\.epoch), [0, 1])
        XCTAssertEqual(try store.epochs(runID: runID).map(\.trainLoss), [1, 0.25])
        XCTAssertEqual(try store.tensors(runID: runID, epoch: 1).map(\.tensor), [late])
        try store.finishRun(runID: runID, status: .completed, stopReason: "completed all epochs", holder: RunHolder(worker: taker, claimToken: 2))
        let run = try store.run(id: runID)
        XCTAssertEqual(run.status, .completed)
        XCTAssertEqual(run.worker, "runner 77@host-b")
        XCTAssertEqual(run.epochsDone, 1)
        // Once it has ended, every claim's writes are refused.
        assertNotHeld("it is completed now (last held by runner 77@host-b)", runID) {
            try store.writeEpoch(runID: runID, .init(epoch: 2, trainLoss: 0.1), tensors: [], holder: RunHolder(worker: taker, claimToken: 2))
        }
    }

    /// The same process requeues its run (Ctrl-C, a full disk) and claims it again: the identity is
    /// the same, the token is not, and writes of the first claim (a write-behind epoch still in
    /// flight) are refused.
    private func assertReclaimMakesTokenStale(_ store: SlopeStore) throws {
        defer { try? store.close() }
        let worker = WorkerIdentity(host: "box", pid: 42, label: "runner 42@box", bootID: "b", startTime: 1000)
        let (_, runIDs) = try store.createSweep(name: "s", specJSON: "{}", runs: [.example()])
        let runID = runIDs[0]
        let first = try XCTUnwrap(store.claimNextRun(sweepID: nil, worker: worker))
        XCTAssertEqual(first.claimToken, 1)
        try store.writeEpoch(runID: runID, .init(epoch: 0, trainLoss: 1), tensors: [], holder: RunHolder(worker: worker, claimToken: first.claimToken))
        try store.requeueRun(runID: runID, reason: "interrupted at epoch 0", holder: RunHolder(worker: worker, claimToken: first.claimToken))
        let queued = try snapshot(store, runID)
        XCTAssertEqual(queued.first?[6], .integer(1), "a requeue keeps the token")
        assertNotHeld("it is queued now", runID) {
            try store.writeEpoch(runID: runID, .init(epoch: 1, trainLoss: 0.5), tensors: [], holder: RunHolder(worker: worker, claimToken: first.claimToken))
        }

        let second = try XCTUnwrap(store.claimRun(runID: runID, worker: worker))
        XCTAssertEqual(second.claimToken, 2)
        XCTAssertEqual(second.lastStoredEpoch, 0)
        let before = try snapshot(store, runID)
        let stale = "it is held by runner 42@box under claim 2; this worker's claim 1 is stale"
        assertNotHeld(stale, runID) {
            try store.writeEpoch(runID: runID, .init(epoch: 1, trainLoss: 0.5), tensors: [], holder: RunHolder(worker: worker, claimToken: first.claimToken))
        }
        assertNotHeld(stale, runID) { try store.heartbeat(runID: runID, holder: RunHolder(worker: worker, claimToken: first.claimToken)) }
        assertNotHeld(stale, runID) {
            try store.finishRun(runID: runID, status: .failed, stopReason: "error", error: "boom", holder: RunHolder(worker: worker, claimToken: first.claimToken))
        }
        XCTAssertEqual(try snapshot(store, runID), before, "nothing written")
        try store.writeEpoch(runID: runID, .init(epoch: 1, trainLoss: 0.5), tensors: [], holder: RunHolder(worker: worker, claimToken: second.claimToken))
        XCTAssertEqual(try store.run(id: runID).epochsDone, 1)

        // A take-over by another worker counts too: 3.
        let other = WorkerIdentity(host: "elsewhere", pid: 43, label: "runner 43@elsewhere", bootID: "e", startTime: 2000)
        XCTAssertEqual(try store.reclaimInterruptedRuns(sweepID: nil, runID: nil, worker: other, staleAfter: -1).map(\.claimToken), [3])
    }

    /// A database from before 0005 with a run `running` under an older Slope: the run gets token 0,
    /// and taking it over makes it 1, so the old worker (which has no token) can write nothing.
    func testRunsFromBefore0005StartAtZero() throws {
        let path = directory.path("old.db")
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)")
            for file in Migrations.files where file.name < "0005" {
                try db.execute(sql: file.sql)
                try db.execute(sql: "INSERT INTO grdb_migrations VALUES (?)", arguments: [file.name])
            }
            try db.execute(sql: """
                INSERT INTO runs (id, learning_rate, batch_size, epochs, seed, layers, activation, output_activation, loss,
                                  precision, dataset, slope_version, config, created_at, status, worker, host, pid, heartbeat_at)
                VALUES (1, 0.1, 4, 2, 0, '1-2', 'relu', 'identity', 'mse', 'float32', 'xor', '0.1.0', '{}', '2026-01-01T00:00:00.000Z',
                        'running', 'old', 'old-host', 12, '2026-01-01T00:00:00.000Z')
                """)
        }
        try queue.close()
        let store = try SlopeStore(path: path)
        defer { try? store.close() }
        XCTAssertEqual(try store.read { try $0.value("SELECT claim_token FROM runs WHERE id = 1", as: Int64.self) }, 0)
        let taker = WorkerIdentity(host: "new-host", pid: 77, label: "runner 77@new-host")
        let taken = try store.reclaimInterruptedRuns(sweepID: nil, runID: nil, worker: taker, staleAfter: 600)
        XCTAssertEqual(taken.map(\.claimToken), [1])
    }
}
