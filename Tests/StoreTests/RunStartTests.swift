// `started_at` on both stores alike: set by a run's first claim; NULL again when the run goes back
// to the queue before it stored an epoch (it has not started); kept by a requeue and by the next
// claim once it has epochs; set anew by a take-over of a run that stored nothing.
import Foundation
import TestSupport
import XCTest
@testable import Store

final class RunStartTests: BothStoresTestCase {
    func testSQLiteRequeueBeforeTheFirstEpochClearsTheStart() throws { try assertRequeueBeforeTheFirstEpochClearsTheStart(try sqliteStore()) }

    func testPostgreSQLRequeueBeforeTheFirstEpochClearsTheStart() throws { try assertRequeueBeforeTheFirstEpochClearsTheStart(try postgresStore()) }

    func testSQLiteRequeueAfterAnEpochKeepsTheStart() throws { try assertRequeueAfterAnEpochKeepsTheStart(try sqliteStore()) }

    func testPostgreSQLRequeueAfterAnEpochKeepsTheStart() throws { try assertRequeueAfterAnEpochKeepsTheStart(try postgresStore()) }

    func testSQLiteTakeOverOfARunWithoutEpochsStartsItAgain() throws { try assertTakeOverStartsARunWithoutEpochs(try sqliteStore()) }

    func testPostgreSQLTakeOverOfARunWithoutEpochsStartsItAgain() throws { try assertTakeOverStartsARunWithoutEpochs(try postgresStore()) }

    private let worker = WorkerIdentity(host: "box", pid: 42, label: "runner 42@box", bootID: "boot", startTime: 1000)

    /// A start long before the test, written straight into the row: what a later statement keeps
    /// or replaces is then told apart from any time it could write itself.
    private static let longAgo = "2020-01-02T03:04:05.678Z"

    private func setStart(_ store: SlopeStore, _ runID: Int64, _ value: String) throws {
        try store.write { c in XCTAssertEqual(try c.execute("UPDATE runs SET started_at = ? WHERE id = ?", [value, runID]), 1) }
    }

    /// Every requeue of a claim that stored nothing (Ctrl-C right after the claim, the run that a
    /// finish claimed and Ctrl-C put back, a failed write, a requeue without a holder): queued and
    /// not started; the next claim starts it, at the claim's own time (that of its heartbeat).
    private func assertRequeueBeforeTheFirstEpochClearsTheStart(_ store: SlopeStore) throws {
        defer { try? store.close() }
        let runs = (0..<2).map { SlopeStore.NewRun.example(name: "run \($0)", layers: "2-3-1") }
        let (sweepID, runIDs) = try store.createSweep(name: "grid", specJSON: #"{"method": "grid"}"#, runs: runs)
        XCTAssertNil(try store.run(id: runIDs[0]).startedAt, "queued, never claimed")

        let first = try XCTUnwrap(store.claimNextRun(sweepID: sweepID, worker: worker))
        let claimedAt = try XCTUnwrap(first.run.startedAt)
        XCTAssertEqual(first.run.heartbeatAt, claimedAt, "the claim's time")
        try store.requeueRun(runID: first.id, reason: "interrupted before its first epoch", holder: RunHolder(worker: worker, claimToken: first.claimToken))
        var run = try store.run(id: first.id)
        XCTAssertEqual(run.status, .queued)
        XCTAssertEqual(run.stopReason, "interrupted before its first epoch")
        XCTAssertNil(run.startedAt, "put back before any epoch: not started")
        XCTAssertNil(run.heartbeatAt)

        // Claimed again and given a start of long ago: the requeue of a failed write (no holder
        // here, as an operator's) clears it just the same.
        let again = try XCTUnwrap(store.claimRun(runID: first.id, worker: worker))
        XCTAssertEqual(again.run.startedAt, again.run.heartbeatAt, "started by this claim")
        try setStart(store, first.id, Self.longAgo)
        try store.requeueRun(runID: first.id, reason: "stopped after epoch 0 by a database write that failed: disk full")
        XCTAssertNil(try store.run(id: first.id).startedAt)

        // The finish-and-claim path: the next run, claimed with the finish, then put back by Ctrl-C.
        let current = try XCTUnwrap(store.claimRun(runID: first.id, worker: worker))
        let next = try XCTUnwrap(store.finishRun(runID: current.id, status: .completed, stopReason: "completed all epochs",
                                                 holder: RunHolder(worker: worker, claimToken: current.claimToken),
                                                 claimingNextOf: sweepID, worker: worker))
        XCTAssertEqual(next.id, runIDs[1])
        XCTAssertEqual(next.run.startedAt, next.run.heartbeatAt)
        try store.requeueRun(runID: next.id, reason: "interrupted before its first epoch", holder: RunHolder(worker: worker, claimToken: next.claimToken))
        run = try store.run(id: next.id)
        XCTAssertEqual(run.status, .queued)
        XCTAssertNil(run.startedAt)
        XCTAssertNotNil(try store.run(id: first.id).startedAt, "the finished run keeps its start")
    }

    /// Once an epoch is stored the run has started: a requeue keeps its start, and so do the claim
    /// that continues it and a take-over.
    private func assertRequeueAfterAnEpochKeepsTheStart(_ store: SlopeStore) throws {
        defer { try? store.close() }
        let runID = try store.createRun(.example(layers: "2-3-1"))
        let first = try XCTUnwrap(store.claimRun(runID: runID, worker: worker))
        try setStart(store, runID, Self.longAgo)
        try store.writeEpoch(runID: runID, .init(epoch: 0, trainLoss: 1), tensors: [], holder: RunHolder(worker: worker, claimToken: first.claimToken))
        try store.requeueRun(runID: runID, reason: "interrupted at epoch 0", holder: RunHolder(worker: worker, claimToken: first.claimToken))
        let run = try store.run(id: runID)
        XCTAssertEqual(run.status, .queued)
        XCTAssertEqual(run.startedAt, Self.longAgo, "an epoch is stored: started")

        let again = try XCTUnwrap(store.claimRun(runID: runID, worker: worker))
        XCTAssertEqual(again.run.startedAt, Self.longAgo, "the claim that continues it keeps the start")
        XCTAssertNotEqual(again.run.heartbeatAt, Self.longAgo)
        let other = WorkerIdentity(host: "elsewhere", pid: 7, label: "runner 7@elsewhere", startTime: 5)
        let taken = try store.reclaimInterruptedRuns(sweepID: nil, runID: runID, worker: other, staleAfter: -1)
        XCTAssertEqual(taken.map(\.id), [runID])
        XCTAssertEqual(taken.first?.run.startedAt, Self.longAgo, "taken over with its epochs: the same start")
    }

    /// `runner resume` takes over a run whose worker died before storing an epoch: it trains from
    /// scratch, so it starts at the take-over (its time is that of the new heartbeat).
    private func assertTakeOverStartsARunWithoutEpochs(_ store: SlopeStore) throws {
        defer { try? store.close() }
        let runID = try store.createRun(.example(layers: "2-3-1"))
        _ = try XCTUnwrap(store.claimRun(runID: runID, worker: worker))
        try setStart(store, runID, Self.longAgo)
        let other = WorkerIdentity(host: "elsewhere", pid: 7, label: "runner 7@elsewhere", startTime: 5)
        let taken = try XCTUnwrap(store.reclaimInterruptedRuns(sweepID: nil, runID: runID, worker: other, staleAfter: -1).first)
        XCTAssertEqual(taken.run.status, .running)
        XCTAssertEqual(taken.run.worker, "runner 7@elsewhere")
        let startedAt = try XCTUnwrap(taken.run.startedAt)
        XCTAssertNotEqual(startedAt, Self.longAgo)
        XCTAssertEqual(startedAt, taken.run.heartbeatAt, "started by the take-over")
        XCTAssertEqual(try store.run(id: runID).startedAt, startedAt)
    }
}
