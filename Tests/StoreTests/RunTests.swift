// The life of a run in one process: queueing, claiming, the summary columns and views kept
// by writeEpoch, finishing, requeueing, resuming, and reclaiming runs whose worker is gone.
import Foundation
import GRDB
@testable import Store
import TestSupport
import XCTest

final class RunTests: XCTestCase {
    var directory: TemporaryDirectory!
    var store: SlopeStore!
    let worker = WorkerIdentity.current(label: "run tests")

    override func setUpWithError() throws {
        directory = try TemporaryDirectory(prefix: "slope-runs")
        store = try SlopeStore(path: directory.path("runs.db"))
    }
    override func tearDown() { store = nil; directory.remove() }

    /// The busy handler looks again every 0.25-1.25 ms and gives up once `timeout` seconds
    /// (of the clock, not a count of looks) have passed since its first look.
    func testBusyHandlerLooksOftenUntilItsTimeout() {
        final class Clock: @unchecked Sendable { var now = 100.0; var pauses: [useconds_t] = [] }
        let clock = Clock()
        let handler = SQLiteBackend.busyHandler(timeout: 0.01, now: { clock.now }, sleep: { pause in
            clock.pauses.append(pause)
            clock.now += Double(pause) * 3e-6  // a loaded machine: each pause takes three times as long
        })
        var tries = 0
        while handler(tries) { tries += 1 }
        XCTAssertTrue(clock.pauses.allSatisfy { (250...1250).contains($0) }, "\(clock.pauses)")
        XCTAssertGreaterThan(clock.now - 100, 0.01)
        XCTAssertLessThan(clock.now - 100, 0.01 + 3 * 1250e-6 + 1e-9, "stops at the first look past the timeout")
        XCTAssertGreaterThanOrEqual(tries, 2)
        clock.now = 500  // a new wait starts its own clock
        XCTAssertTrue(handler(0))
        clock.now = 900  // so does a count that does not follow on (SQLite did not start again from 0)
        XCTAssertTrue(handler(7))
        XCTAssertTrue(handler(8))
        clock.now += 0.02
        XCTAssertFalse(handler(9), "the wait that began at try 7 is over")
        XCTAssertTrue(SQLiteBackend.busyHandler(timeout: .infinity, sleep: { _ in })(1_000_000))
    }

    /// A write waits for another connection's write lock and gives up with `.busy` after its
    /// timeout; once the lock is free it goes through.
    func testWritesWaitForTheLockThenTimeOut() throws {
        let path = directory.path("runs.db")
        var unsafe = Configuration()
        unsafe.allowsUnsafeTransactions = true  // the lock stays held between the two accesses
        let holder = try DatabaseQueue(path: path, configuration: unsafe)
        try holder.writeWithoutTransaction { db in try db.execute(sql: "BEGIN IMMEDIATE") }
        let impatient = try SlopeStore(path: path, busyTimeout: 0.3)
        let start = Date()
        XCTAssertThrowsError(try impatient.createRun(.example())) { error in
            XCTAssertEqual(error as? StoreError, .busy(path: path, timeout: 0.3), "\(error)")
        }
        let waited = Date().timeIntervalSince(start)
        XCTAssertTrue((0.2...3).contains(waited), "waited \(waited) s for a 0.3 s timeout")
        // Released while a writer waits: the writer gets it at its next look.
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.1) {
            try? holder.writeWithoutTransaction { db in try db.execute(sql: "COMMIT") }
        }
        let patient = try SlopeStore(path: path, busyTimeout: 5)
        XCTAssertNoThrow(try patient.createRun(.example()))
    }

    func testSweepQueuesRunsInOrderAndClaimsThemOnce() throws {
        let runs = (0..<3).map { SlopeStore.NewRun.example(name: "run \($0)", learningRate: 0.1 * Double($0 + 1)) }
        let (sweepID, runIDs) = try store.createSweep(name: "grid", specJSON: #"{"grid": 1}"#, runs: runs)
        let other = try store.createRun(.example(name: "single"))
        XCTAssertEqual(try store.sweep(id: sweepID).status, .queued)
        XCTAssertEqual(try store.runs(sweepID: sweepID).map(\.id), runIDs)
        XCTAssertEqual(try store.runs(sweepID: sweepID).map(\.settings), runs)

        var claimed: [Int64] = []
        while let run = try store.claimNextRun(sweepID: sweepID, worker: worker) {
            XCTAssertEqual(run.run.status, .running)
            XCTAssertEqual(run.run.host, worker.host)
            XCTAssertEqual(run.run.pid, worker.pid)
            XCTAssertEqual(run.run.worker, "run tests")
            XCTAssertNotNil(run.run.startedAt)
            XCTAssertNil(run.lastStoredEpoch)
            claimed.append(run.id)
        }
        XCTAssertEqual(claimed, runIDs)
        XCTAssertEqual(try store.sweep(id: sweepID).status, .running)
        XCTAssertEqual(try store.run(id: other).status, .queued)   // other sweeps untouched
        XCTAssertEqual(try store.claimNextRun(sweepID: nil, worker: worker)?.id, other)
        XCTAssertNil(try store.claimRun(runID: other, worker: worker))  // no longer queued
        try store.setSweepStatus(sweepID: sweepID, .completed)
        XCTAssertEqual(try store.sweeps().map(\.status), [.completed])
    }

    /// A sweep's finished runs and those a worker process finished, read together (a worker's
    /// progress line tells its own runs from others' by them): another process on the same host,
    /// or one with the same pid that started at another time, is not this one.
    func testFinishedRunCountsTellAWorkersRunsFromOthers() throws {
        let runs = (0..<6).map { SlopeStore.NewRun.example(name: "run \($0)", learningRate: 0.1 * Double($0 + 1)) }
        let (sweepID, runIDs) = try store.createSweep(name: "grid", specJSON: #"{"grid": 1}"#, runs: runs)
        _ = try store.createRun(.example(name: "single"))  // in no sweep
        let me = WorkerIdentity(host: "box", pid: 42, label: "42@box", startTime: 1000)
        let sibling = WorkerIdentity(host: "box", pid: 43, label: "43@box", startTime: 1000)
        let earlier = WorkerIdentity(host: "box", pid: 42, label: "42@box", startTime: 10)
        let elsewhere = WorkerIdentity(host: "far", pid: 42, label: "42@far", startTime: 1000)
        XCTAssertEqual(try store.queries.finishedRunCounts(sweepID: sweepID, worker: me).all, 0)
        XCTAssertEqual(try store.queries.finishedRunCounts(sweepID: sweepID, worker: me).byWorker, 0)
        for (worker, status) in [(me, RunStatus.completed), (me, .pruned), (sibling, .diverged), (earlier, .failed), (elsewhere, .completed)] {
            let claimed = try XCTUnwrap(store.claimNextRun(sweepID: sweepID, worker: worker))
            try store.finishRun(runID: claimed.id, status: status, stopReason: "test", holder: RunHolder(worker: worker, claimToken: claimed.claimToken))
        }
        _ = try XCTUnwrap(store.claimNextRun(sweepID: sweepID, worker: me))  // running: not finished
        XCTAssertEqual(try store.run(id: runIDs[5]).status, .running)
        let counts = try store.queries.finishedRunCounts(sweepID: sweepID, worker: me)
        XCTAssertEqual([counts.all, counts.byWorker], [5, 2])
        let siblings = try store.queries.finishedRunCounts(sweepID: sweepID, worker: sibling)
        XCTAssertEqual([siblings.all, siblings.byWorker], [5, 1])
        // Where the start time is not known, host and pid decide.
        let unknownStart = try store.queries.finishedRunCounts(sweepID: sweepID, worker: WorkerIdentity(host: "box", pid: 42, label: "x"))
        XCTAssertEqual([unknownStart.all, unknownStart.byWorker], [5, 3])
        let none = try store.queries.finishedRunCounts(sweepID: sweepID + 1, worker: me)
        XCTAssertEqual([none.all, none.byWorker], [0, 0])
    }

    func testRejectsInvalidHyperparametersAndJSON() throws {
        var bad = SlopeStore.NewRun.example()
        bad.learningRate = -1
        XCTAssertThrowsError(try store.createRun(bad)) { guard case .invalidValue? = $0 as? StoreError else { return XCTFail("\($0)") } }
        bad = .example()
        bad.configJSON = "{not json"
        XCTAssertThrowsError(try store.createSweep(name: "s", specJSON: "{}", runs: [.example(), bad]))
        XCTAssertEqual(try store.sweeps(), [])   // the whole sweep rolled back
        XCTAssertEqual(try store.runs(sweepID: nil), [])
    }

    /// Weights [1 x 2] and gradient [1 x 2] per layer; returns what layer_stats should say.
    func writeEpochs(_ runID: Int64, claimToken: Int64, losses: [(train: Double, val: Double?)]) throws {
        for (epoch, loss) in losses.enumerated() {
            let scale = Float(epoch + 1)
            let tensors: [SlopeStore.TensorRecord] = [
                .float32(layer: 1, kind: .weight, rows: 1, cols: 2, [3 * scale, 4 * scale]),  // l2 = 5 scale
                .float32(layer: 1, kind: .bias, rows: 1, cols: 2, [0, 0]),
                .float32(layer: 1, kind: .weightGradient, rows: 1, cols: 2, [0.6, 0.8]),      // l2 = 1
            ]
            try store.writeEpoch(runID: runID, .init(epoch: epoch, trainLoss: loss.train, validationLoss: loss.val,
                                                     trainAccuracy: 0.5 + Double(epoch) / 10,
                                                     validationAccuracy: 0.4 + Double(epoch) / 10, seconds: 0.25),
                                 tensors: tensors, holder: RunHolder(worker: worker, claimToken: claimToken))
        }
    }

    func testSummaryColumnsAndViewsFollowEveryEpoch() throws {
        let runID = try store.createRun(.example(learningRate: 0.5))
        let claimToken = try XCTUnwrap(store.claimRun(runID: runID, worker: worker)).claimToken
        try writeEpochs(runID, claimToken: claimToken, losses: [(2.0, 2.1), (1.0, 1.5), (0.5, 1.7), (0.4, 1.6)])

        let run = try store.run(id: runID)
        XCTAssertEqual(run.epochsDone, 3)
        XCTAssertEqual(run.finalTrainLoss, 0.4)
        XCTAssertEqual(run.finalValidationLoss, 1.6)
        XCTAssertEqual(run.bestTrainLoss, 0.4)
        XCTAssertEqual(run.bestValidationLoss, 1.5)
        XCTAssertEqual(run.bestEpoch, 1)              // epoch of the best validation loss
        XCTAssertEqual(run.finalTrainAccuracy!, 0.8, accuracy: 1e-12)
        XCTAssertEqual(run.finalValidationAccuracy!, 0.7, accuracy: 1e-12)
        // ISO-8601 UTC with milliseconds ('2026-11-29T12:34:56.789Z'), written just now.
        let heartbeat = try XCTUnwrap(run.heartbeatAt)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let heartbeatDate = try XCTUnwrap(formatter.date(from: heartbeat), heartbeat)
        XCTAssertEqual(formatter.string(from: heartbeatDate), heartbeat)
        XCTAssertLessThan(abs(heartbeatDate.timeIntervalSinceNow), 60, heartbeat)

        let queue = try DatabaseQueue(path: store.path)
        let summary = try queue.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM run_summary WHERE run_id = ?", arguments: [runID])!
        }
        XCTAssertEqual(summary["epochs_done"], 3)
        XCTAssertEqual(summary["best_val_loss"], 1.5)
        XCTAssertEqual(summary["best_epoch"], 1)
        XCTAssertEqual(summary["final_train_loss"], 0.4)
        XCTAssertEqual(summary["status"], "running")
        XCTAssertEqual(summary["learning_rate"], 0.5)

        let stats = try store.queries.layerStatistics(runID: runID)   // the layer_stats view, as report reads it
        XCTAssertEqual(stats.map(\.epoch), [0, 1, 2, 3])
        for stat in stats {
            let weightL2 = 5.0 * Double(stat.epoch + 1)
            XCTAssertEqual(stat.layer, 1)
            XCTAssertEqual(stat.weightL2!, weightL2, accuracy: 1e-5)
            XCTAssertEqual(stat.gradientL2!, 1, accuracy: 1e-6)
            XCTAssertEqual(stat.updateToWeightRatio!, 0.5 * 1 / weightL2, accuracy: 1e-6)
        }

        // Without validation, best_epoch follows the train loss.
        let noValidation = try store.createRun(.example())
        let plainClaim = try XCTUnwrap(store.claimRun(runID: noValidation, worker: worker)).claimToken
        try writeEpochs(noValidation, claimToken: plainClaim, losses: [(3, nil), (1, nil), (2, nil)])
        let plain = try store.run(id: noValidation)
        XCTAssertEqual(plain.bestEpoch, 1)
        XCTAssertEqual(plain.bestTrainLoss, 1)
        XCTAssertNil(plain.bestValidationLoss)
    }

    func testFinishRequeueResumeAndDeleteEpochs() throws {
        let runID = try store.createRun(.example())
        let firstClaim = try XCTUnwrap(store.claimRun(runID: runID, worker: worker)).claimToken
        try writeEpochs(runID, claimToken: firstClaim, losses: [(2.0, 2.1), (1.0, 1.5), (0.5, 1.2), (0.4, 1.6)])
        // Only epoch 0 and 2 keep weights (a "log every 2 epochs" policy): drop the others' tensors.
        let queue = try DatabaseQueue(path: store.path)
        try queue.write { try $0.execute(sql: "DELETE FROM tensors WHERE run_id = ? AND epoch IN (1, 3)", arguments: [runID]) }

        try store.requeueRun(runID: runID, reason: "interrupted")
        var run = try store.run(id: runID)
        XCTAssertEqual(run.status, .queued)
        XCTAssertNil(run.worker)
        XCTAssertEqual(run.stopReason, "interrupted")
        XCTAssertThrowsError(try store.writeEpoch(runID: runID, .init(epoch: 4, trainLoss: 1), tensors: [], holder: RunHolder(worker: worker, claimToken: firstClaim))) {
            guard case .runNotHeld? = $0 as? StoreError else { return XCTFail("\($0)") }
        }

        let claimed = try XCTUnwrap(try store.claimNextRun(sweepID: nil, worker: worker))
        XCTAssertEqual(claimed.lastStoredEpoch, 3)
        let resume = try XCTUnwrap(try store.resumePoint(runID: runID))
        XCTAssertEqual(resume.epoch, 2)
        XCTAssertEqual(resume.tensors.map(\.kind), [.bias, .weight, .weightGradient])
        XCTAssertEqual(resume.tensors.first { $0.kind == .weight },
                       .float32(layer: 1, kind: .weight, rows: 1, cols: 2, [9, 12]))
        try store.deleteEpochs(runID: runID, after: resume.epoch)
        run = try store.run(id: runID)
        XCTAssertEqual(try store.epochs(runID: runID).map(\.epoch), [0, 1, 2])
        XCTAssertEqual(run.epochsDone, 2)
        XCTAssertEqual(run.finalTrainLoss, 0.5)
        XCTAssertEqual(run.bestValidationLoss, 1.2)
        XCTAssertEqual(run.bestEpoch, 2)
        XCTAssertThrowsError(try store.writeEpoch(runID: runID, .init(epoch: 2, trainLoss: 1), tensors: [], holder: RunHolder(worker: worker, claimToken: claimed.claimToken))) {
            guard case let .invalidValue(message)? = $0 as? StoreError else { return XCTFail("\($0)") }
            XCTAssertTrue(message.contains("deleteEpochs"), message)
        }
        try store.writeEpoch(runID: runID, .init(epoch: 3, trainLoss: 0.3, validationLoss: 1.0), tensors: [], holder: RunHolder(worker: worker, claimToken: claimed.claimToken))
        XCTAssertEqual(try store.run(id: runID).bestEpoch, 3)

        try store.finishRun(runID: runID, status: .completed, stopReason: "completed all epochs")
        run = try store.run(id: runID)
        XCTAssertEqual(run.status, .completed)
        XCTAssertNotNil(run.finishedAt)
        XCTAssertThrowsError(try store.finishRun(runID: runID, status: .running, stopReason: nil))
        XCTAssertThrowsError(try store.heartbeat(runID: runID, holder: RunHolder(worker: worker, claimToken: claimed.claimToken))) {
            guard case .runNotHeld? = $0 as? StoreError else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try store.run(id: 999)) { XCTAssertEqual($0 as? StoreError, .notFound("run 999")) }
    }

    func testMedianValidationLossForPruning() throws {
        let runs = (0..<4).map { _ in SlopeStore.NewRun.example() }
        let (sweepID, runIDs) = try store.createSweep(name: "prune", specJSON: "{}", runs: runs)
        for (index, runID) in runIDs.enumerated() {
            let claimToken = try XCTUnwrap(store.claimRun(runID: runID, worker: worker)).claimToken
            try store.writeEpoch(runID: runID, .init(epoch: 0, trainLoss: 1, validationLoss: Double(index + 1)),
                                 tensors: [], holder: RunHolder(worker: worker, claimToken: claimToken))
        }
        XCTAssertEqual(try store.medianValidationLoss(sweepID: sweepID, epoch: 0, excluding: nil), 2.5)
        XCTAssertEqual(try store.medianValidationLoss(sweepID: sweepID, epoch: 0, excluding: runIDs[3]), 2)
        XCTAssertNil(try store.medianValidationLoss(sweepID: sweepID, epoch: 1, excluding: nil))
    }

    func testReclaimsRunsWhoseWorkerIsGone() throws {
        let ids = try (0..<4).map { _ in try store.createRun(.example()) }
        // A live process on this host (pid 1 always exists) with a fresh heartbeat: kept.
        let alive = WorkerIdentity(host: worker.host, pid: 1, label: "init")
        _ = try store.claimRun(runID: ids[0], worker: alive)
        // Another host, fresh heartbeat: kept. Another host, no heartbeat for an hour: reclaimed.
        let elsewhere = WorkerIdentity(host: "elsewhere.example", pid: 4242, label: "remote")
        _ = try store.claimRun(runID: ids[1], worker: elsewhere)
        let staleClaim = try XCTUnwrap(store.claimRun(runID: ids[2], worker: elsewhere)).claimToken
        let queue = try DatabaseQueue(path: store.path)
        try queue.write {
            try $0.execute(sql: "UPDATE runs SET heartbeat_at = '2020-01-01T00:00:00.000Z' WHERE id = ?", arguments: [ids[2]])
        }
        // A dead process on this host (probe claims, writes epoch 0, exits): reclaimed at once.
        let probe = try Probe(["claim-and-exit", store.path, String(ids[3])])
        let (status, lines) = probe.finish()
        XCTAssertEqual(status, 0, "\(lines)")
        XCTAssertEqual(try store.run(id: ids[3]).pid, probe.process.processIdentifier)

        let reclaimed = try store.reclaimInterruptedRuns(sweepID: nil, runID: nil, worker: worker, staleAfter: 600)
        XCTAssertEqual(reclaimed.map(\.id), [ids[2], ids[3]])
        XCTAssertEqual(reclaimed.map(\.lastStoredEpoch), [nil, 0])
        XCTAssertEqual(try store.run(id: ids[3]).pid, worker.pid)
        XCTAssertEqual(try store.run(id: ids[0]).pid, 1)
        // The new holder can write; the old one could not.
        try store.writeEpoch(runID: ids[3], .init(epoch: 1, trainLoss: 1), tensors: [], holder: RunHolder(worker: worker, claimToken: reclaimed[1].claimToken))
        XCTAssertThrowsError(try store.writeEpoch(runID: ids[2], .init(epoch: 0, trainLoss: 1), tensors: [], holder: RunHolder(worker: elsewhere, claimToken: staleClaim)))
        // Our own runs are never "interrupted", nor is a live process's on this host, however old its
        // heartbeat (--stale-after is for other hosts); another host's is, once its heartbeat is older.
        let fiveMinutesAgo = Timestamp.format(Date().addingTimeInterval(-300))
        try queue.write {
            try $0.execute(sql: "UPDATE runs SET heartbeat_at = ? WHERE id IN (?, ?)", arguments: [fiveMinutesAgo, ids[0], ids[1]])
        }
        XCTAssertEqual(try store.reclaimInterruptedRuns(sweepID: nil, runID: nil, worker: worker, staleAfter: 0).map(\.id), [ids[1]])
        XCTAssertEqual(try store.run(id: ids[0]).pid, 1)
        // ... however old: its runs waiting for a thread get no heartbeat.
        try queue.write {
            try $0.execute(sql: "UPDATE runs SET heartbeat_at = '2020-01-01T00:00:00.000Z' WHERE id = ?", arguments: [ids[0]])
        }
        XCTAssertEqual(try store.reclaimInterruptedRuns(sweepID: nil, runID: nil, worker: worker, staleAfter: 0).map(\.id), [])
    }

    func testWALStaysBoundedWhileCheckpointsRunInTheBackground() throws {
        let runID = try store.createRun(.example())
        let claimToken = try XCTUnwrap(store.claimRun(runID: runID, worker: worker)).claimToken
        let values = (0..<(512 * 512)).map { Float($0 % 1000) / 1000 }   // 1 MiB per tensor
        let weight = SlopeStore.TensorRecord.float32(layer: 1, kind: .weight, rows: 512, cols: 512, values)
        var largestWAL = 0
        for epoch in 0..<100 {
            try store.writeEpoch(runID: runID, .init(epoch: epoch, trainLoss: 1), tensors: [weight], holder: RunHolder(worker: worker, claimToken: claimToken))
            let size = (try? FileManager.default.attributesOfItem(atPath: store.path + "-wal")[.size] as? NSNumber)??.intValue ?? 0
            largestWAL = max(largestWAL, size)
        }
        // 100 MiB went through a WAL that is checkpointed and reused: it never exceeds the
        // writer's hard limit (64 MiB) by more than one epoch and the frame headers.
        XCTAssertLessThan(largestWAL, 68 << 20)
        XCTAssertGreaterThan(largestWAL, 0)
        XCTAssertEqual(try store.epochs(runID: runID).count, 100)
        XCTAssertEqual(try store.tensors(runID: runID, epoch: 99).first?.tensor, weight)
        let queue = try DatabaseQueue(path: store.path)
        try queue.read { db in
            XCTAssertEqual(try String.fetchAll(db, sql: "PRAGMA integrity_check"), ["ok"])
            XCTAssertEqual(try Int.fetchOne(db, sql: "SELECT count(*) FROM tensors"), 100)
        }
    }
}
