// A store failure from outside the run (here a full disk, simulated with SQLite's max_page_count
// on the writer connection) leaves the run to resume, never `failed`; once there is room again,
// `resume` continues it from its last stored epoch to the same bits as an uninterrupted run.
import Foundation
import GRDB
import NeuralNet
@testable import Store
import TestSupport
import XCTest
@testable import Experiments

final class TransientFailureTests: XCTestCase {
    private var directory: TemporaryDirectory!

    override func setUpWithError() throws { directory = try TemporaryDirectory(prefix: "slope-transient") }
    override func tearDown() { directory.remove() }

    /// digits 64-24-10 with momentum: every epoch's weights, gradients and velocities are ~25 KB,
    /// a few new 8 KiB pages per epoch.
    static func settings() -> RunSettings {
        var settings = RunSettings()
        settings.dataset = "digits"
        settings.hidden = [24]
        settings.epochs = 8
        settings.batchSize = 64
        settings.learningRate = 0.05
        settings.momentum = 0.9
        return settings
    }

    /// Allows the database no more pages than it has now (plus `extra`).
    private func limitPages(_ store: SlopeStore, extra: Int) throws {
        try store.sqlite!.pool.writeWithoutTransaction { db in
            let pages = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0
            try db.execute(sql: "PRAGMA max_page_count = \(pages + extra)")
        }
    }

    /// The run's losses and every epoch's tensors (0...8) are the reference run's, bit for bit.
    static func assertSameBits(_ store: SlopeStore, _ runID: Int64, as reference: SlopeStore, _ referenceID: Int64,
                               file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(try store.epochs(runID: runID).map { $0.trainLoss!.bitPattern },
                       try reference.epochs(runID: referenceID).map { $0.trainLoss!.bitPattern }, file: file, line: line)
        XCTAssertEqual(try store.epochs(runID: runID).map { $0.validationLoss!.bitPattern },
                       try reference.epochs(runID: referenceID).map { $0.validationLoss!.bitPattern }, file: file, line: line)
        for epoch in 0...8 {
            XCTAssertEqual(try store.tensors(runID: runID, epoch: epoch).map(\.tensor),
                           try reference.tensors(runID: referenceID, epoch: epoch).map(\.tensor), "epoch \(epoch)", file: file, line: line)
        }
    }

    func testAFullDiskRequeuesTheRunAndResumeIsBitIdentical() throws {
        let reference = try SlopeStore(path: directory.path("reference.db"))
        let referenceID = try reference.createRun(try RunConfiguration.make(Self.settings()).newRun())
        XCTAssertEqual(try Worker(store: reference).runQueued(runID: referenceID), .finished(.completed, reason: "completed all epochs"))

        let store = try SlopeStore(path: directory.path("full.db"))
        let runID = try store.createRun(try RunConfiguration.make(Self.settings()).newRun())
        let worker = Worker(store: store, onEvent: { [store] event in
            if case let .epochFinished(_, epoch, _, _, _) = event, epoch == 3 { try? self.limitPages(store, extra: 0) }
        })
        let outcome = try worker.runQueued(runID: runID)
        guard case let .suspended(reason, requeued) = outcome else { return XCTFail("\(outcome)") }
        XCTAssertTrue(requeued)
        XCTAssertEqual(reason, StoreError.diskFull(path: store.path).description)
        let stopped = try store.run(id: runID)
        XCTAssertEqual(stopped.status, .queued, "resumable, not failed")
        XCTAssertNil(stopped.error)
        let stored = try store.epochs(runID: runID).map(\.epoch)
        XCTAssertEqual(stored, Array(0..<stored.count), "whole epochs only")
        XCTAssertTrue((1..<8).contains(stored.count - 1), "stopped mid-run, after epoch \(stored.count - 1)")
        XCTAssertEqual(stopped.stopReason, "stopped after epoch \(stored.count - 1) by a database write that failed: \(reason)")

        // Room again: resume continues from the last stored epoch.
        try store.sqlite!.pool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA max_page_count = 1073741823") }
        let summary = try Worker(store: store).resume(sweepID: nil, runID: runID, jobs: 1, staleAfter: 60)
        XCTAssertEqual(summary.outcomes[runID], .finished(.completed, reason: "completed all epochs"))
        try Self.assertSameBits(store, runID, as: reference, referenceID)
        XCTAssertEqual(try store.tensors(runID: runID, epoch: 8).count, 12)
        XCTAssertEqual(try store.run(id: runID).stopReason, "completed all epochs")
    }

    /// In a sweep, the worker thread that met the full disk stops claiming (the next queued run
    /// would meet it too); the sweep is `interrupted`, and every run resumes to completion.
    func testAFullDiskInASweepLeavesEveryRunResumable() throws {
        let store = try SlopeStore(path: directory.path("sweep.db"))
        let spec = try SweepSpec.parse(yaml: """
            fixed: {dataset: digits, hidden: [24], epochs: 4, batch_size: 64, momentum: 0.9}
            parameters: {seed: {values: [0, 1, 2]}}
            """, file: "test.yaml")
        let (sweepID, runIDs) = try SweepPlan(spec: spec).enqueue(in: store)
        let worker = Worker(store: store, onEvent: { [store] event in
            if case let .epochFinished(runID, epoch, _, _, _) = event, runID == runIDs[1], epoch == 2 { try? self.limitPages(store, extra: 0) }
        })
        let summary = try worker.work(sweepID: sweepID, jobs: 1)
        XCTAssertEqual(summary.outcomes[runIDs[0]], .finished(.completed, reason: "completed all epochs"))
        XCTAssertTrue(summary.outcomes[runIDs[1]]?.isSuspended ?? false, "\(summary.outcomes)")
        XCTAssertNil(summary.outcomes[runIDs[2]], "not claimed after the failure")
        XCTAssertEqual(try store.runs(sweepID: sweepID).map(\.status), [.completed, .queued, .queued])
        XCTAssertEqual(try store.sweep(id: sweepID).status, .interrupted)

        try store.sqlite!.pool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA max_page_count = 1073741823") }
        let resumed = try Worker(store: store).resume(sweepID: sweepID, runID: nil, jobs: 1, staleAfter: 60)
        XCTAssertEqual(resumed.runIDs, Array(runIDs[1...]))
        XCTAssertEqual(try store.runs(sweepID: sweepID).map(\.status), [.completed, .completed, .completed])
        XCTAssertEqual(try store.sweep(id: sweepID).status, .completed)
    }
}
