// What a claim hands the worker, on both stores alike: the run as stored after the claim (the
// claim's own statement returns it), the new claim token, the last stored epoch (nil only when
// none is stored), and its sweep moved from queued to running, never from any other status.
import Foundation
import TestSupport
import XCTest
@testable import Store

final class ClaimResultTests: XCTestCase {
    private var directory: TemporaryDirectory!
    private var database: TestDatabase?

    override func setUpWithError() throws { directory = try TemporaryDirectory(prefix: "slope-claimresult") }

    override func tearDown() {
        database?.drop()
        directory.remove()
    }

    func testSQLiteClaimReturnsTheRunAsStored() throws {
        try assertClaimsReturnTheRunAsStored(try SlopeStore(path: directory.path("slope.db")))
    }

    func testPostgreSQLClaimReturnsTheRunAsStored() throws {
        let database = try PostgresTestCluster.makeDatabase()
        self.database = database
        try assertClaimsReturnTheRunAsStored(try SlopeStore(location: database.url))
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
