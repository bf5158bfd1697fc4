// What a claim hands the worker, on both stores alike: the run as stored after the claim, the new
// claim token, the last stored epoch (nil only when none is stored), and its sweep moved from
// queued to running, never from any other status; and a finish that claims the next run in its
// own transaction, or nothing when the finish is refused; claims that skip the runs a worker set aside.
import Foundation
import TestSupport
import XCTest
@testable import Store

final class ClaimResultTests: BothStoresTestCase {
    func testSQLiteClaimReturnsTheRunAsStored() throws { try assertClaimsReturnTheRunAsStored(try sqliteStore()) }

    func testPostgreSQLClaimReturnsTheRunAsStored() throws { try assertClaimsReturnTheRunAsStored(try postgresStore()) }

    func testSQLiteFinishClaimsTheNextRunOrNothing() throws { try assertFinishClaimsTheNextRunOrNothing(try sqliteStore()) }

    func testPostgreSQLFinishClaimsTheNextRunOrNothing() throws { try assertFinishClaimsTheNextRunOrNothing(try postgresStore()) }

    func testSQLiteClaimsSkipTheRunsAWorkerSetAside() throws { try assertClaimsSkipExcludedRuns(try sqliteStore()) }

    func testPostgreSQLClaimsSkipTheRunsAWorkerSetAside() throws { try assertClaimsSkipExcludedRuns(try postgresStore()) }

    /// The statement a claim picks its run with: the exclusion is one bound value in either dialect
    /// (any number of ids), and PostgreSQL's workers still skip a row another one is claiming.
    func testTheOldestQueuedConditionExcludesByOneValue() {
        let sqlite = SlopeStore.oldestQueued(sweepID: 4, excluding: [9, 2], .sqlite)
        XCTAssertEqual(sqlite.condition, "id = (SELECT id FROM runs WHERE status = 'queued' AND sweep_id = ? AND id NOT IN (SELECT value FROM json_each(?)) "
                       + "ORDER BY id LIMIT 1)")
        XCTAssertEqual(sqlite.arguments.map(\.sqlValue), [.integer(4), .text("[2,9]")])
        let postgres = SlopeStore.oldestQueued(sweepID: nil, excluding: [9, 2], .postgres)
        XCTAssertEqual(postgres.condition, "id = (SELECT id FROM runs WHERE status = 'queued' AND id <> ALL (CAST(? AS BIGINT[])) "
                       + "ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)")
        XCTAssertEqual(postgres.arguments.map(\.sqlValue), [.text("{2,9}")])
        // Nothing excluded: the statement as it always was.
        let plain = SlopeStore.oldestQueued(sweepID: nil, excluding: [], .postgres)
        XCTAssertEqual(plain.condition, "id = (SELECT id FROM runs WHERE status = 'queued' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)")
        XCTAssertTrue(plain.arguments.isEmpty)
    }

    /// A worker's claims skip the runs it set aside (too large for its memory), which stay queued
    /// for another worker: the claim of the next run, the finish that claims the next, and a TPE
    /// sweep's claim, which makes a new trial instead of taking the excluded queued one.
    private func assertClaimsSkipExcludedRuns(_ store: SlopeStore) throws {
        defer { try? store.close() }
        let worker = WorkerIdentity(host: "box", pid: 42, label: "runner 42@box", bootID: "boot", startTime: 1000)
        let runs = (0..<4).map { SlopeStore.NewRun.example(name: "run \($0)", layers: "2-3-1") }
        let (sweepID, runIDs) = try store.createSweep(name: "grid", specJSON: #"{"method": "grid"}"#, runs: runs)
        let single = try store.createRun(.example(name: "single", layers: "2-3-1"))
        // 40,000 ids (more than SQLite's 32,766 parameters) among them the sweep's first and third run.
        let setAside = Set([runIDs[0], runIDs[2]]).union((1...40_000).map { Int64(1_000_000 + $0) })

        let first = try XCTUnwrap(store.claimNextRun(sweepID: sweepID, worker: worker, excluding: setAside))
        XCTAssertEqual(first.id, runIDs[1])
        XCTAssertEqual(first.claimToken, 1)
        let second = try XCTUnwrap(store.finishRun(runID: first.id, status: .completed, stopReason: "completed all epochs",
                                                   holder: RunHolder(worker: worker, claimToken: first.claimToken),
                                                   claimingNextOf: sweepID, excluding: setAside, worker: worker))
        XCTAssertEqual(second.id, runIDs[3])
        XCTAssertNil(try store.finishRun(runID: second.id, status: .completed, stopReason: "completed all epochs",
                                         holder: RunHolder(worker: worker, claimToken: second.claimToken),
                                         claimingNextOf: sweepID, excluding: setAside, worker: worker), "only excluded runs are left in the sweep")
        XCTAssertNil(try store.claimNextRun(sweepID: sweepID, worker: worker, excluding: setAside))
        XCTAssertEqual(try store.runs(sweepID: sweepID).map(\.status), [.queued, .completed, .queued, .completed])
        XCTAssertEqual(try store.sweep(id: sweepID).status, .running)
        // Any sweep: the single run is the one left to this worker; another worker (no exclusion) takes the oldest.
        XCTAssertEqual(try store.claimNextRun(sweepID: nil, worker: worker, excluding: setAside)?.id, single)
        XCTAssertNil(try store.claimNextRun(sweepID: nil, worker: worker, excluding: setAside))
        XCTAssertEqual(try store.claimNextRun(sweepID: nil, worker: .current())?.id, runIDs[0])
        XCTAssertEqual(try store.claimNextRun(sweepID: sweepID, worker: .current())?.id, runIDs[2])

        // A TPE sweep whose one queued trial this worker set aside: it makes the next trial instead.
        let (tpeID, _) = try store.createSweep(name: "tpe", specJSON: #"{"method": "tpe"}"#, runs: [])
        func claimTrial(excluding excluded: Set<Int64>) throws -> SlopeStore.ClaimedRun? {
            try store.claimNextTrial(sweepID: tpeID, trialCount: 3, metric: .val_loss, worker: worker, excluding: excluded) { runCount, _ in
                .example(name: "trial \(runCount)", layers: "2-3-1")
            }
        }
        let trial = try XCTUnwrap(claimTrial(excluding: []))
        try store.requeueRun(runID: trial.id, reason: "this worker cannot train it", holder: RunHolder(worker: worker, claimToken: trial.claimToken))
        XCTAssertEqual(try claimTrial(excluding: [trial.id])?.run.name, "trial 1", "a new trial, not the one set aside")
        XCTAssertEqual(try claimTrial(excluding: [])?.id, trial.id, "without the exclusion: the queued trial")
    }

    private func assertFinishClaimsTheNextRunOrNothing(_ store: SlopeStore) throws {
        defer { try? store.close() }
        let worker = WorkerIdentity(host: "box", pid: 42, label: "runner 42@box", bootID: "boot", startTime: 1000)
        let runs = (0..<3).map { SlopeStore.NewRun.example(name: "run \($0)", layers: "2-3-1") }
        let (sweepID, runIDs) = try store.createSweep(name: "grid", specJSON: #"{"method": "grid"}"#, runs: runs)
        let other = try store.createRun(.example(name: "single", layers: "2-3-1"))
        let first = try XCTUnwrap(store.claimNextRun(sweepID: sweepID, worker: worker))
        let holder = RunHolder(worker: worker, claimToken: first.claimToken)

        // Refused (a stale token): the finish changes nothing and nothing is claimed.
        let stale = RunHolder(worker: worker, claimToken: first.claimToken - 1)
        XCTAssertThrowsError(try store.finishRun(runID: first.id, status: .completed, stopReason: "done", holder: stale,
                                                 claimingNextOf: sweepID, worker: worker)) { error in
            XCTAssertEqual(error as? StoreError, .runNotHeld(runID: first.id, detail: "it is held by runner 42@box under claim 1; this worker's claim 0 is stale"))
        }
        XCTAssertEqual(try store.runs(sweepID: sweepID).map(\.status), [.running, .queued, .queued])

        let second = try XCTUnwrap(store.finishRun(runID: first.id, status: .completed, stopReason: "completed all epochs",
                                                   holder: holder, claimingNextOf: sweepID, worker: worker))
        XCTAssertEqual(second.id, runIDs[1])
        XCTAssertEqual(second.run, try store.run(id: second.id))
        XCTAssertEqual(second.claimToken, 1)
        XCTAssertEqual(try store.run(id: first.id).status, .completed)
        XCTAssertEqual(try store.run(id: first.id).stopReason, "completed all epochs")
        XCTAssertNotNil(try store.run(id: first.id).finishedAt)
        let third = try XCTUnwrap(store.finishRun(runID: second.id, status: .pruned, stopReason: "pruned at epoch 1",
                                                  holder: RunHolder(worker: worker, claimToken: second.claimToken),
                                                  claimingNextOf: sweepID, worker: worker))
        XCTAssertEqual(third.id, runIDs[2])
        // The sweep's last run: nothing left in it (the single run is not of this sweep).
        XCTAssertNil(try store.finishRun(runID: third.id, status: .diverged, stopReason: "diverged at epoch 1",
                                         holder: RunHolder(worker: worker, claimToken: third.claimToken),
                                         claimingNextOf: sweepID, worker: worker))
        XCTAssertEqual(try store.runs(sweepID: sweepID).map(\.status), [.completed, .pruned, .diverged])
        XCTAssertEqual(try store.run(id: other).status, .queued)
    }

    private func assertClaimsReturnTheRunAsStored(_ store: SlopeStore) throws {
        defer { try? store.close() }
        let worker = WorkerIdentity(host: "box", pid: 42, label: "runner 42@box", bootID: "boot", startTime: 1000, pidNamespace: "pid:[1]")
        let runs = (0..<3).map { SlopeStore.NewRun.example(name: "run \($0)", learningRate: 0.1 * Double($0 + 1), epochs: 3, layers: "2-3-1") }
        let (sweepID, runIDs) = try store.createSweep(name: "grid", specJSON: #"{"method": "grid"}"#, runs: runs)
        XCTAssertEqual(try store.sweep(id: sweepID).status, .queued)

        let first = try XCTUnwrap(store.claimNextRun(sweepID: sweepID, worker: worker))
        XCTAssertEqual(first.id, runIDs[0])
        XCTAssertEqual(first.run, try store.run(id: first.id), "the claim's returned row is the stored row")
        XCTAssertEqual(first.run.status, .running)
        XCTAssertEqual(first.run.worker, "runner 42@box")
        XCTAssertEqual(first.run.settings, runs[0])
        XCTAssertEqual(first.claimToken, 1)
        XCTAssertNil(first.lastStoredEpoch)
        XCTAssertEqual(try store.sweep(id: sweepID).status, .running, "the first claim starts the sweep")

        // Epochs 0 and 1 stored, then requeued (Ctrl-C) and claimed again: it resumes after epoch 1.
        let epochs = PostgresEpochWriteTests.epochs(seed: 5, count: 2)
        for (epoch, tensors) in epochs {
            try store.writeEpoch(runID: first.id, epoch, tensors: tensors, holder: RunHolder(worker: worker, claimToken: first.claimToken))
        }
        try store.requeueRun(runID: first.id, reason: "interrupted at epoch 1", holder: RunHolder(worker: worker, claimToken: first.claimToken))
        // An interrupted sweep stays interrupted when a worker claims its runs (`runner resume` decides).
        try store.setSweepStatus(sweepID: sweepID, .interrupted)
        let again = try XCTUnwrap(store.claimNextRun(sweepID: sweepID, worker: worker))
        XCTAssertEqual(again.id, first.id)
        XCTAssertEqual(again.run, try store.run(id: again.id))
        XCTAssertEqual(again.run.epochsDone, 1)
        XCTAssertEqual(again.claimToken, 2)
        XCTAssertEqual(again.lastStoredEpoch, 1)
        XCTAssertEqual(try store.sweep(id: sweepID).status, .interrupted)

        // A single run (no sweep) and a take-over return the same.
        let single = try store.createRun(.example(name: "single", layers: "2-3-1"))
        let claimedSingle = try XCTUnwrap(store.claimRun(runID: single, worker: worker))
        XCTAssertEqual(claimedSingle.run, try store.run(id: single))
        XCTAssertNil(claimedSingle.run.sweepID)
        XCTAssertNil(claimedSingle.lastStoredEpoch)
        let taker = WorkerIdentity(host: "elsewhere", pid: 7, label: "runner 7@elsewhere", startTime: 5)
        let taken = try store.reclaimInterruptedRuns(sweepID: sweepID, runID: nil, worker: taker, staleAfter: -1)
        XCTAssertEqual(taken.map(\.id), [first.id])
        XCTAssertEqual(taken.first?.run, try store.run(id: first.id))
        XCTAssertEqual(taken.first?.run.worker, "runner 7@elsewhere")
        XCTAssertEqual(taken.first?.claimToken, 3)
        XCTAssertEqual(taken.first?.lastStoredEpoch, 1)
    }
}
