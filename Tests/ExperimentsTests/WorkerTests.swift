// The worker loop end to end, in process: a small sweep into a temporary database checked
// row by row, the logging policies, Ctrl-C then resume (bit-identical), pruning, divergence,
// failures and initial weights.
import GRDB
import NeuralNet
@testable import Store
import TestSupport
import XCTest
@testable import Experiments

final class WorkerTests: XCTestCase {
    private var directory: TemporaryDirectory!

    override func setUpWithError() throws { directory = try TemporaryDirectory(prefix: "slope-worker") }
    override func tearDown() { directory.remove() }

    private func store(_ name: String = "slope.db") throws -> SlopeStore { try SlopeStore(path: directory.path(name)) }

    private func spec(_ yaml: String) throws -> SweepSpec { try SweepSpec.parse(yaml: yaml, file: "test.yaml") }

    private let smallData = "blobs:rows=60:features=3:classes=3:seed=2"

    /// A --jobs far above the number of runs starts a thread per run claimed, plus at most one
    /// that finds the queue empty: not thousands of idle threads.
    func testLargeJobsStartsOneThreadPerRun() throws {
        let store = try store()
        let plan = try SweepPlan(spec: try spec("""
            fixed: {dataset: "\(smallData)", hidden: [4], epochs: 1, validation: 0}
            parameters: {seed: {values: [0, 1]}}
            """))
        let (_, runIDs) = try plan.enqueue(in: store)
        let summary = try Worker(store: store).work(sweepID: nil, jobs: 5000)
        XCTAssertEqual(summary.runIDs, runIDs)
        XCTAssertTrue((2...3).contains(summary.threads), "\(summary.threads) threads for 2 runs")
        XCTAssertEqual(try store.runs(sweepID: nil).map(\.status), [.completed, .completed])
        XCTAssertEqual(try Worker(store: store).work(sweepID: nil, jobs: 5000).threads, 1)  // nothing queued
    }

    func testSmallSweepRowByRow() throws {
        let store = try store()
        let spec = try spec("""
            name: small
            fixed: {dataset: "\(smallData)", hidden: [4], epochs: 3, validation: 0.25, batch_size: 8}
            parameters:
              learning_rate: {values: [0.05, 0.2]}
              seed: {values: [0, 1]}
            """)
        let plan = try SweepPlan(spec: spec)
        let (sweepID, runIDs) = try plan.enqueue(in: store)
        XCTAssertEqual(runIDs.count, 4)
        let events = Locked<[WorkerEvent]>([])
        let worker = Worker(store: store, onEvent: { event in events.update { $0.append(event) } })
        let summary = try worker.work(sweepID: sweepID, jobs: 2)
        XCTAssertEqual(summary.runIDs, runIDs)
        XCTAssertEqual(summary.threads, 2)
        XCTAssertFalse(summary.wasInterrupted)

        let sweep = try store.sweep(id: sweepID)
        XCTAssertEqual(sweep.name, "small")
        XCTAssertEqual(sweep.status, .completed)
        XCTAssertEqual(sweep.specJSON, spec.json())
        XCTAssertEqual(SweepSpec.stored(in: store, sweepID: sweepID), spec)

        let runs = try store.runs(sweepID: sweepID)
        XCTAssertEqual(runs.map(\.id), runIDs)
        for (run, configuration) in zip(runs, plan.configurations) {
            XCTAssertEqual(run.status, .completed)
            XCTAssertEqual(run.stopReason, "completed all epochs")
            XCTAssertNil(run.error)
            XCTAssertEqual(run.epochsDone, 3)
            XCTAssertEqual(run.settings.learningRate, configuration.training.learningRate)
            XCTAssertEqual(run.settings.batchSize, 8)
            XCTAssertEqual(run.settings.seed, configuration.training.seed)
            XCTAssertEqual(run.settings.layers, "3-4-3")
            XCTAssertEqual(run.settings.activation, "relu")
            XCTAssertEqual(run.settings.outputActivation, "softmax")
            XCTAssertEqual(run.settings.loss, "cross-entropy")
            XCTAssertEqual(run.settings.precision, .float32)
            XCTAssertEqual(run.settings.dataset, "blobs:rows=60:features=3:seed=2")  // stored canonically: classes=3 is blobs' default
            XCTAssertEqual(run.settings.datasetSHA256, try DataCatalog.loadBuiltIn(smallData, target: nil, task: .auto).sha256,
                           "recomputed outside the cache")
            XCTAssertEqual(run.settings.datasetSHA256?.count, 64)
            XCTAssertEqual(run.settings.validationFraction, 0.25)
            XCTAssertEqual(run.settings.slopeVersion, SlopeVersion.current)
            XCTAssertEqual(run.host, ProcessInfo.processInfo.hostName)
            XCTAssertEqual(run.pid, getpid())
            let started = try XCTUnwrap(run.startedAt), finished = try XCTUnwrap(run.finishedAt)
            XCTAssertLessThanOrEqual(started, finished)
            XCTAssertEqual(try RunConfiguration.decode(json: run.settings.configJSON, runID: run.id), configuration)

            let epochs = try store.epochs(runID: run.id)
            XCTAssertEqual(epochs.map(\.epoch), [0, 1, 2, 3])
            XCTAssertTrue(epochs.allSatisfy { ($0.trainLoss ?? .nan).isFinite && ($0.validationLoss ?? .nan).isFinite && $0.validationAccuracy != nil })
            XCTAssertEqual(run.finalValidationLoss, epochs.last?.validationLoss)

            let tensors = try store.tensors(runID: run.id)
            XCTAssertEqual(tensors.filter { $0.epoch == 0 }.map { "\($0.tensor.layer)\($0.tensor.kind.rawValue)" }.sorted(),
                           ["1bias", "1weight", "2bias", "2weight"])
            for epoch in 1...3 {
                XCTAssertEqual(tensors.filter { $0.epoch == epoch }.count, 8, "weights, biases and their gradients at epoch \(epoch)")
            }
            // The stored run is exactly what the engine gives for the stored configuration.
            let (training, validation) = try DataCatalog.prepare(configuration.data)
            let trainer = try Trainer(configuration: configuration.training, training: training, validation: validation)
            var last: EpochResult?
            var losses: [Double] = []
            _ = try trainer.run { result in last = result; losses.append(result.trainLoss); return .proceed }
            XCTAssertEqual(epochs.map { $0.trainLoss! }, losses)
            for (index, layer) in try XCTUnwrap(last).parameters.enumerated() {
                let stored = try store.tensors(runID: run.id, epoch: 3, layer: index + 1, kind: .weight)
                XCTAssertEqual(stored.first?.tensor.data, layer.weight.littleEndianBytes())
            }
        }
        let finished = events.value.compactMap { event -> Int64? in
            if case let .runFinished(runID, _, .finished(.completed, _)) = event { return runID }
            return nil
        }
        XCTAssertEqual(finished.sorted(), runIDs)
    }

    func testParallelRunsGiveTheSameBitsAsSerialOnes() throws {
        let spec = try spec("""
            fixed: {dataset: "\(smallData)", hidden: [6], epochs: 4, batch_size: 5, momentum: 0.5}
            parameters: {learning_rate: {values: [0.02, 0.1, 0.3]}, seed: {values: [3, 4]}}
            """)
        var finals: [[[SlopeStore.TensorRecord]]] = []
        for jobs in [1, 2] {
            let store = try store("jobs-\(jobs).db")
            let (sweepID, runIDs) = try SweepPlan(spec: spec).enqueue(in: store)
            _ = try Worker(store: store).work(sweepID: sweepID, jobs: jobs)
            finals.append(try runIDs.map { try store.tensors(runID: $0, epoch: 4).map(\.tensor) })
        }
        XCTAssertEqual(finals[0].count, 6)
        XCTAssertTrue(finals[0].allSatisfy { $0.count == 12 })
        XCTAssertEqual(finals[0], finals[1])
    }

    private func runSingle(_ settings: RunSettings, in store: SlopeStore, stop: StopSignal = StopSignal(),
                           onEvent: @escaping @Sendable (WorkerEvent) -> Void = { _ in }) throws -> (Int64, RunOutcome) {
        let runID = try store.createRun(try RunConfiguration.make(settings).newRun())
        let outcome = try Worker(store: store, stop: stop, onEvent: onEvent).runQueued(runID: runID)
        return (runID, outcome)
    }

    private func settings(epochs: Int, momentum: Double = 0, logTensors: TensorLogging = .every) -> RunSettings {
        var settings = RunSettings()
        settings.dataset = smallData
        settings.hidden = [5]
        settings.epochs = epochs
        settings.batchSize = 7
        settings.learningRate = 0.1
        settings.momentum = momentum
        settings.tensorLogging = logTensors
        return settings
    }

    func testLoggingPolicies() throws {
        let store = try store()
        func epochsWithWeights(_ runID: Int64) throws -> [Int] {
            Array(Set(try store.tensors(runID: runID, kind: .weight).map(\.epoch))).sorted()
        }
        let (finalOnly, _) = try runSingle(settings(epochs: 4, logTensors: .final), in: store)
        XCTAssertEqual(try epochsWithWeights(finalOnly), [0, 4])
        XCTAssertEqual(try store.epochs(runID: finalOnly).map(\.epoch), [0, 1, 2, 3, 4], "losses every epoch")
        let (everyTwo, _) = try runSingle(settings(epochs: 5, logTensors: .everyN(2)), in: store)
        XCTAssertEqual(try epochsWithWeights(everyTwo), [0, 2, 4, 5])
        XCTAssertEqual(Set(try store.tensors(runID: everyTwo, kind: .weightGradient).map(\.epoch)), [2, 4, 5])
        let (withMomentum, _) = try runSingle(settings(epochs: 3, momentum: 0.9, logTensors: .everyN(2)), in: store)
        XCTAssertEqual(Set(try store.tensors(runID: withMomentum, kind: .weightVelocity).map(\.epoch)), [0, 2, 3],
                       "velocities wherever weights are stored")
        XCTAssertEqual(Set(try store.tensors(runID: withMomentum, kind: .biasVelocity).map(\.epoch)), [0, 2, 3])
        XCTAssertTrue(try store.tensors(runID: finalOnly, kind: .weightVelocity).isEmpty)
    }

    /// A run queued by an older build with sgd, nesterov true and momentum 0 (new input refuses it
    /// since): a worker trains it as the plain sgd run it is, bit for bit, rather than failing it.
    func testStoredNesterovWithoutMomentumTrainsAsPlainSGD() throws {
        let store = try store()
        let plain = try RunConfiguration.make(settings(epochs: 3))
        var nesterov = plain
        nesterov.training.nesterov = true
        XCTAssertTrue(nesterov.json().contains("\"nesterov\":true"), nesterov.json())
        var withFlag = settings(epochs: 3)
        withFlag.nesterov = true
        XCTAssertThrowsError(try RunConfiguration.make(withFlag), "new input is still refused") { error in
            XCTAssertEqual("\(error)", "--nesterov: needs a momentum above 0 (sgd with momentum 0 is plain sgd, which Nesterov does not change): "
                           + "set a momentum, e.g. 0.9, or leave nesterov out")
        }
        var runs: [Int64] = []
        for configuration in [plain, nesterov] {
            let runID = try store.createRun(configuration.newRun())
            let outcome = try Worker(store: store).runQueued(runID: runID)
            guard case .finished(.completed, _) = outcome else { return XCTFail("run \(runID): \(outcome)") }
            runs.append(runID)
        }
        XCTAssertEqual(try store.runs(sweepID: nil).map(\.status), [.completed, .completed])
        let losses = try runs.map { try store.epochs(runID: $0).map(\.trainLoss) }
        XCTAssertEqual(losses[0].count, 4)
        XCTAssertEqual(losses[0], losses[1])
        let tensors = try runs.map { try store.tensors(runID: $0).map(\.tensor) }
        XCTAssertEqual(tensors[0].count, 4 + 3 * 8, "weights and biases at epoch 0, with their gradients after")
        XCTAssertEqual(tensors[0], tensors[1])
    }

    /// Epochs are stored behind training (EpochWriter): when the progress event of epoch k arrives,
    /// the stored epochs are 0...j for some j no more than the writer's capacity (2) behind the
    /// epochs submitted so far: k with tensors logged every epoch, k - 1 when epoch k logs no
    /// tensors (it waits for the next: it might be the last). When the run ends, all are stored.
    func testEpochsReachTheDatabaseAtMostTwoEpochsBehindTraining() throws {
        let store = try store()
        for (policy, lag) in [(TensorLogging.every, 0), (.final, 1)] {
            // Events arrive on the training thread (runSingle waits for it): a locked box keeps Swift 6 happy.
            final class Observed: @unchecked Sendable {
                private let lock = NSLock()
                private var epochsStored: [Int: [Int]] = [:]
                subscript(epoch: Int) -> [Int]? {
                    get { lock.withLock { epochsStored[epoch] } }
                    set { lock.withLock { epochsStored[epoch] = newValue } }
                }
            }
            let storedAtEvent = Observed()
            let (runID, _) = try runSingle(settings(epochs: 3, logTensors: policy), in: store) { event in
                if case let .epochFinished(runID, epoch, _, _, _) = event {
                    storedAtEvent[epoch] = (try? store.epochs(runID: runID).map(\.epoch)) ?? []
                }
            }
            for epoch in 1...3 {
                let submitted = epoch - lag
                let stored = try XCTUnwrap(storedAtEvent[epoch], "\(policy) at epoch \(epoch)")
                XCTAssertEqual(stored, Array(0..<stored.count), "whole epochs in order: \(policy) at epoch \(epoch)")
                XCTAssertTrue((submitted - 2...submitted).contains(stored.count - 1),
                              "\(policy) at epoch \(epoch): stored \(stored), submitted 0...\(submitted)")
            }
            XCTAssertEqual(try store.epochs(runID: runID).map(\.epoch), [0, 1, 2, 3], "\(policy)")
        }
    }

    /// `runner resume` takes over at its start the runs whose worker is gone, and again once its queue
    /// is done: a worker on another host that died while this one trained (a Kubernetes pod) is not
    /// left `running` when the sweep's other runs are done (newuser16 N10). Here run 1's worker,
    /// alive when resume starts, stops its heartbeat while run 2 trains.
    func testResumeTakesOverARunWhoseWorkerDiedWhileItTrained() throws {
        let store = try store()
        let plan = try SweepPlan(spec: try spec("""
            fixed: {dataset: "\(smallData)", hidden: [4], epochs: 2, validation: 0}
            parameters: {seed: {values: [0, 1]}}
            """))
        let (_, runIDs) = try plan.enqueue(in: store)
        let other = WorkerIdentity(host: "elsewhere.example", pid: Int32.max - 7, label: "other worker")
        XCTAssertEqual(try store.claimNextRun(sweepID: nil, worker: other)?.id, runIDs[0])
        let worker = Worker(store: store, onEvent: { [store] event in
            guard case let .runStarted(runID, _, _, _) = event, runID == runIDs[1] else { return }
            _ = try? store.backend.write { c in
                try c.execute("UPDATE runs SET heartbeat_at = '2000-01-01T00:00:00.000Z' WHERE id = ?", [runIDs[0]])
            }
        })
        let summary = try worker.resume(sweepID: nil, runID: nil, jobs: 1, staleAfter: 300)
        XCTAssertEqual(summary.runIDs, [runIDs[1], runIDs[0]].sorted())
        XCTAssertEqual(try store.runs(sweepID: nil).map(\.status), [.completed, .completed])
        XCTAssertEqual(try store.run(id: runIDs[0]).host, WorkerIdentity.current().host, "taken over by this worker")
        // `runner work` takes nothing over: a run held by another host stays with it.
        let (_, more) = try plan.enqueue(in: store)
        XCTAssertEqual(try store.claimNextRun(sweepID: nil, worker: other)?.id, more[0])
        _ = try store.backend.write { c in try c.execute("UPDATE runs SET heartbeat_at = '2000-01-01T00:00:00.000Z' WHERE id = ?", [more[0]]) }
        XCTAssertEqual(try Worker(store: store).work(sweepID: nil, jobs: 1).runIDs, [more[1]])
        XCTAssertEqual(try store.run(id: more[0]).status, .running)
    }

    /// `runner resume` takes over three runs of a dead worker on one thread; Ctrl-C during the first:
    /// the two it held but never started go back to the queue (they were left `running`, held by the
    /// ended process, until another `runner resume`: review16 R9), and a resume then ends the sweep.
    func testCtrlCDuringResumePutsTheTakenOverRunsItNeverStartedBack() throws {
        let store = try store()
        let plan = try SweepPlan(spec: try spec("""
            fixed: {dataset: "\(smallData)", hidden: [4], epochs: 2, validation: 0}
            parameters: {seed: {values: [0, 1, 2]}}
            """))
        let (sweepID, runIDs) = try plan.enqueue(in: store)
        let other = WorkerIdentity(host: "elsewhere.example", pid: Int32.max - 7, label: "other worker")
        for runID in runIDs { XCTAssertEqual(try store.claimNextRun(sweepID: nil, worker: other)?.id, runID) }
        _ = try store.backend.write { c in try c.execute("UPDATE runs SET heartbeat_at = ?", ["2000-01-01T00:00:00.000Z"]) }
        let stop = StopSignal()
        let worker = Worker(store: store, stop: stop, onEvent: { event in
            if case .runStarted = event { stop.request() }
        })
        let summary = try worker.resume(sweepID: nil, runID: nil, jobs: 1, staleAfter: 300)
        XCTAssertEqual(summary.runIDs, [runIDs[0]], "one run started")
        XCTAssertTrue(summary.wasInterrupted)
        let runs = try store.runs(sweepID: sweepID)
        XCTAssertEqual(runs.map(\.status), [.queued, .queued, .queued], "the started one requeued by Ctrl-C, the other two put back")
        XCTAssertEqual(runs[1].stopReason, "interrupted before its first epoch")
        XCTAssertEqual(runs[2].stopReason, "interrupted before its first epoch")
        XCTAssertNil(runs[1].worker)
        XCTAssertNil(runs[2].worker)

        let resumed = try Worker(store: store).resume(sweepID: nil, runID: nil, jobs: 1, staleAfter: 300)
        XCTAssertEqual(resumed.runIDs, runIDs)
        XCTAssertEqual(try store.runs(sweepID: sweepID).map(\.status), [.completed, .completed, .completed])
        for runID in runIDs { XCTAssertEqual(try store.epochs(runID: runID).map(\.epoch), [0, 1, 2], "run \(runID)") }
    }

    /// Ctrl-C while a run's data is read (seconds for a large CSV) is acted on once it is read: the
    /// run goes back to the queue with no epoch trained (hostile17 H4: an epoch was trained and stored
    /// first). Here the request is there before the claim, as after such a read; a resume then trains it whole.
    func testCtrlCDuringTheDataReadTrainsNoEpoch() throws {
        let store = try store()
        let runID = try store.createRun(try RunConfiguration.make(settings(epochs: 3)).newRun())
        let stop = StopSignal()
        stop.request()
        let outcome = try Worker(store: store, stop: stop).runQueued(runID: runID)
        XCTAssertEqual(outcome, .interrupted(epoch: nil))
        XCTAssertEqual(outcome.detail, "requeued before its first epoch")
        let run = try store.run(id: runID)
        XCTAssertEqual(run.status, .queued)
        XCTAssertEqual(run.stopReason, "interrupted before its first epoch")
        XCTAssertEqual(try store.epochs(runID: runID).count, 0, "no epoch trained")
        XCTAssertEqual(try Worker(store: store).resume(sweepID: nil, runID: runID, jobs: 1, staleAfter: 60).outcomes[runID],
                       .finished(.completed, reason: "completed all epochs"))
        XCTAssertEqual(try store.epochs(runID: runID).map(\.epoch), [0, 1, 2, 3])
    }

    /// Another worker takes the run over mid-run (its heartbeat looked stale): this worker's next
    /// write fails, behind training, and the run ends here as lost, with nothing written after the
    /// takeover and the run left to its new holder.
    func testARunTakenOverByAnotherWorkerEndsAsLost() throws {
        let store = try store()
        // On another host (a live process on this one keeps its run): its heartbeat decides.
        let other = WorkerIdentity(host: "elsewhere.example", pid: Int32.max - 7, label: "other worker")
        let takenAt = Observed()
        let (runID, outcome) = try runSingle(settings(epochs: 8), in: store) { event in
            if case let .epochFinished(runID, epoch, _, _, _) = event, epoch == 2 {
                let taken = (try? store.reclaimInterruptedRuns(sweepID: nil, runID: runID, worker: other, staleAfter: -60)) ?? []
                takenAt.value = taken.map { _ in epoch }.first
            }
        }
        XCTAssertEqual(takenAt.value, 2, "the other worker reclaimed the run after epoch 2")
        guard case let .lost(message) = outcome else { return XCTFail("\(outcome)") }
        XCTAssertTrue(message.contains("held by other worker"), message)
        XCTAssertLessThanOrEqual(try store.epochs(runID: runID).map(\.epoch).max() ?? -1, 2, "nothing written after the takeover")
        let run = try store.run(id: runID)
        XCTAssertEqual(run.status, .running)
        XCTAssertEqual(run.worker, "other worker")
    }

    /// A run's finish claims the next queued run in the same transaction. Ctrl-C right after that
    /// finish, before the claimed run's first epoch, puts the claimed run back: queued, nothing
    /// stored, the sweep interrupted; resume then trains the rest, each run once.
    func testCtrlCAfterAFinishThatClaimedTheNextRunRequeuesIt() throws {
        let store = try store()
        let plan = try SweepPlan(spec: try spec("""
            fixed: {dataset: "\(smallData)", hidden: [4], epochs: 2, validation: 0}
            parameters: {seed: {values: [0, 1, 2]}}
            """))
        let (sweepID, runIDs) = try plan.enqueue(in: store)
        let stop = StopSignal()
        let worker = Worker(store: store, stop: stop, onEvent: { event in
            if case .runFinished = event { stop.request() }  // the first run's finish has claimed the second
        })
        let summary = try worker.work(sweepID: nil, jobs: 1)
        XCTAssertEqual(summary.outcomes, [runIDs[0]: .finished(.completed, reason: "completed all epochs")])
        XCTAssertTrue(summary.wasInterrupted)
        let runs = try store.runs(sweepID: sweepID)
        XCTAssertEqual(runs.map(\.status), [.completed, .queued, .queued])
        XCTAssertEqual(runs[1].stopReason, "interrupted before its first epoch", "claimed by the finish, then put back")
        XCTAssertNil(runs[1].worker)
        XCTAssertNil(runs[1].startedAt, "put back before its first epoch: not started")
        XCTAssertNotNil(runs[0].startedAt)
        XCTAssertNil(runs[2].stopReason, "never claimed")
        XCTAssertEqual(try store.epochs(runID: runIDs[1]).count, 0)
        XCTAssertEqual(try store.sweep(id: sweepID).status, .interrupted)

        let resumed = try Worker(store: store).resume(sweepID: nil, runID: nil, jobs: 1, staleAfter: 60)
        XCTAssertEqual(resumed.runIDs, [runIDs[1], runIDs[2]])
        XCTAssertFalse(resumed.wasInterrupted)
        XCTAssertEqual(try store.runs(sweepID: sweepID).map(\.status), [.completed, .completed, .completed])
        XCTAssertTrue(try store.runs(sweepID: sweepID).allSatisfy { $0.startedAt != nil })
        for runID in runIDs { XCTAssertEqual(try store.epochs(runID: runID).map(\.epoch), [0, 1, 2], "run \(runID)") }
        XCTAssertEqual(try store.sweep(id: sweepID).status, .completed)
    }

    /// The finish of a run claims the next in one transaction; when the claim's half fails (here
    /// the next run's row cannot be read: a precision Slope does not know), the finished run is
    /// still finished, alone, and the failure is the next claim's, as it would be on its own.
    func testAFailedClaimOfTheNextRunLeavesTheFinishedRunFinished() throws {
        let store = try store()
        let plan = try SweepPlan(spec: try spec("""
            fixed: {dataset: "\(smallData)", hidden: [4], epochs: 2, validation: 0}
            parameters: {seed: {values: [0, 1]}}
            """))
        let (sweepID, runIDs) = try plan.enqueue(in: store)
        let database = try DatabaseQueue(path: directory.path("slope.db"))
        try database.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA ignore_check_constraints = ON")
            try db.execute(sql: "UPDATE runs SET precision = 'float16' WHERE id = ?", arguments: [runIDs[1]])
        }
        try database.close()
        let worker = Worker(store: store)
        XCTAssertThrowsError(try worker.work(sweepID: sweepID, jobs: 1)) { error in
            XCTAssertTrue("\(error)".contains("run \(runIDs[1]) has an unknown status or precision"), "\(error)")
        }
        let first = try store.run(id: runIDs[0])
        XCTAssertEqual(first.status, .completed, "not failed with the next run's error")
        XCTAssertEqual(first.stopReason, "completed all epochs")
        XCTAssertEqual(try store.epochs(runID: runIDs[0]).map(\.epoch), [0, 1, 2])
    }

    func testInterruptThenResumeIsBitIdentical() throws {
        for (momentum, precision) in [(0.0, Precision.float32), (0.9, .float32), (0.9, .float64)] {
            var settings = settings(epochs: 6, momentum: momentum, logTensors: .everyN(4))
            settings.precision = precision
            let reference = try store("reference-\(momentum)-\(precision).db")
            let (referenceID, referenceOutcome) = try runSingle(settings, in: reference)
            XCTAssertEqual(referenceOutcome, .finished(.completed, reason: "completed all epochs"))

            let store = try store("interrupted-\(momentum)-\(precision).db")
            let stop = StopSignal()
            let (runID, outcome) = try runSingle(settings, in: store, stop: stop) { event in
                if case let .epochFinished(_, epoch, _, _, _) = event, epoch == 3 { stop.request() }  // Ctrl-C during epoch 3
            }
            XCTAssertEqual(outcome, .interrupted(epoch: 3))
            let requeued = try store.run(id: runID)
            XCTAssertEqual(requeued.status, .queued)
            XCTAssertEqual(requeued.stopReason, "interrupted at epoch 3")
            XCTAssertEqual(try store.epochs(runID: runID).map(\.epoch), [0, 1, 2, 3], "the epoch in progress was finished")

            let summary = try Worker(store: store).resume(sweepID: nil, runID: runID, jobs: 1, staleAfter: 60)
            XCTAssertEqual(summary.outcomes[runID], .finished(.completed, reason: "completed all epochs"))
            XCTAssertEqual(try store.epochs(runID: runID).map { $0.trainLoss!.bitPattern },
                           try reference.epochs(runID: referenceID).map { $0.trainLoss!.bitPattern })
            XCTAssertEqual(try store.tensors(runID: runID, epoch: 6).map(\.tensor), try reference.tensors(runID: referenceID, epoch: 6).map(\.tensor),
                           "final weights, gradients (and velocities) bit-identical, momentum \(momentum)")
        }
    }

    /// A run that early stopping ends before its 10 epochs (no improvement can exceed min_delta 10,
    /// so it stops after `patience` epochs), trained uninterrupted into reference.db.
    private func earlyStoppingReference() throws
        -> (settings: RunSettings, store: SlopeStore, runID: Int64, outcome: RunOutcome, reason: String)
    {
        var settings = settings(epochs: 10)
        settings.earlyStoppingPatience = 3
        settings.minDelta = 10
        let reference = try store("reference.db")
        let (runID, outcome) = try runSingle(settings, in: reference)
        guard case let .finished(.completed, reason) = outcome, reason.hasPrefix("early stopping at epoch"),
              reason != "early stopping at epoch 10" else {
            struct UnexpectedOutcome: Error { let outcome: RunOutcome }
            throw UnexpectedOutcome(outcome: outcome)  // fails the test that asked
        }
        return (settings, reference, runID, outcome, reason)
    }

    func testEarlyStoppingSurvivesAnInterruption() throws {
        // Interrupted before early stopping fires, the resumed run must remember the losses it already saw.
        let (settings, reference, referenceID, referenceOutcome, reason) = try earlyStoppingReference()

        let store = try store("interrupted.db")
        let stop = StopSignal()
        let (runID, outcome) = try runSingle(settings, in: store, stop: stop) { event in
            if case let .epochFinished(_, epoch, _, _, _) = event, epoch == 2 { stop.request() }
        }
        XCTAssertEqual(outcome, .interrupted(epoch: 2))
        let summary = try Worker(store: store).resume(sweepID: nil, runID: nil, jobs: 1, staleAfter: 60)
        XCTAssertEqual(summary.outcomes[runID], referenceOutcome)
        XCTAssertEqual(try store.run(id: runID).stopReason, reason)
        XCTAssertEqual(try store.epochs(runID: runID).map { $0.validationLoss?.bitPattern },
                       try reference.epochs(runID: referenceID).map { $0.validationLoss?.bitPattern })
    }

    /// Ctrl-C on the epoch that ends the run anyway (its last, or the one early stopping fires at)
    /// ends it as the uninterrupted run ends, and a run whose process died after such an epoch was
    /// stored but before the run was ended is ended at that epoch by resume, not trained further.
    func testAnEpochThatEndsTheRunEndsItDespiteCtrlCOrACrash() throws {
        let (settings, reference, referenceID, referenceOutcome, _) = try earlyStoppingReference()
        let lastEpoch = try reference.run(id: referenceID).epochsDone
        let referenceEpochs = try reference.epochs(runID: referenceID).count
        try reference.close()  // the WAL into the file, which is copied below

        let interrupted = try store("interrupted.db")
        let stop = StopSignal()
        let (_, outcome) = try runSingle(settings, in: interrupted, stop: stop) { event in
            if case let .epochFinished(_, epoch, _, _, _) = event, epoch == lastEpoch { stop.request() }
        }
        XCTAssertEqual(outcome, referenceOutcome, "Ctrl-C at the early-stopping epoch")

        var short = self.settings(epochs: 2)
        short.earlyStoppingPatience = nil
        let stopAtEnd = StopSignal()
        let (_, shortOutcome) = try runSingle(short, in: try store("short.db"), stop: stopAtEnd) { event in
            if case let .epochFinished(_, epoch, _, _, _) = event, epoch == 2 { stopAtEnd.request() }
        }
        XCTAssertEqual(shortOutcome, .finished(.completed, reason: "completed all epochs"), "Ctrl-C at the last epoch")
        // A worker whose only run ended so has nothing left behind: not "interrupted" (no exit 130).
        let workStore = try store("work.db")
        _ = try workStore.createRun(try RunConfiguration.make(short).newRun())
        let workStop = StopSignal()
        let worked = try Worker(store: workStore, stop: workStop, onEvent: { event in
            if case let .epochFinished(_, epoch, _, _, _) = event, epoch == 2 { workStop.request() }
        }).work(sweepID: nil, jobs: 1)
        XCTAssertEqual(worked.outcomes.values.first, .finished(.completed, reason: "completed all epochs"))
        XCTAssertFalse(worked.wasInterrupted)

        // The crash: the run's epochs are all stored, but it was never ended.
        let crashedPath = directory.path("crashed.db")
        try FileManager.default.copyItem(atPath: directory.path("reference.db"), toPath: crashedPath)
        let queue = try DatabaseQueue(path: crashedPath)
        try queue.write { db in
            try db.execute(sql: "UPDATE runs SET status = 'queued', stop_reason = NULL, finished_at = NULL, worker = NULL WHERE id = ?",
                           arguments: [referenceID])
        }
        try queue.close()
        let crashed = try SlopeStore(path: crashedPath)
        let summary = try Worker(store: crashed).resume(sweepID: nil, runID: nil, jobs: 1, staleAfter: 60)
        XCTAssertEqual(summary.outcomes[referenceID], referenceOutcome)
        XCTAssertEqual(try crashed.run(id: referenceID).epochsDone, lastEpoch, "no epoch trained after the stop")
        XCTAssertEqual(try crashed.epochs(runID: referenceID).count, referenceEpochs)
    }

    func testMedianPruning() throws {
        let store = try store()
        let spec = try spec("""
            fixed: {dataset: "\(smallData)", hidden: [4], epochs: 6, batch_size: 8, validation: 0.25}
            early_terminate: {type: median, warmup_epochs: 2}
            parameters: {learning_rate: {values: [0.3, 0.0001]}}
            """)
        let (sweepID, runIDs) = try SweepPlan(spec: spec).enqueue(in: store)
        _ = try Worker(store: store).work(sweepID: sweepID, jobs: 1)
        let good = try store.run(id: runIDs[0]), bad = try store.run(id: runIDs[1])
        XCTAssertEqual(good.status, .completed)
        XCTAssertEqual(bad.status, .pruned)
        XCTAssertEqual(bad.epochsDone, 3, "first epoch after the warm-up")
        XCTAssertTrue(bad.stopReason?.hasPrefix("pruned at epoch 3: val_loss ") ?? false, bad.stopReason ?? "nil")
        XCTAssertEqual(try store.sweep(id: sweepID).status, .completed)
        XCTAssertEqual(Set(try store.tensors(runID: bad.id, kind: .weight).map(\.epoch)), [0, 1, 2, 3], "the pruned run's last epoch keeps its weights")
    }

    /// Pruning reasons show numbers as report's tables do: an accuracy of 0.9999999999999999 is not 1.
    func testPruningReasonNumbersNeverShowAFractionAsOne() {
        XCTAssertEqual(formatNumber(0.9999999999999999), "0.9999999999999999")
        XCTAssertEqual(formatNumber(0.25), "0.25")
        XCTAssertEqual(formatNumber(2.302585), "2.303")
    }

    func testDivergedRun() throws {
        let store = try store()
        var settings = RunSettings()
        settings.dataset = "linear:rows=40"
        settings.hidden = []
        settings.learningRate = 50
        settings.batchSize = 40
        settings.epochs = 200
        settings.validationFraction = 0
        let (runID, outcome) = try runSingle(settings, in: store)
        guard case let .finished(.diverged, reason) = outcome else { return XCTFail("\(outcome)") }
        let run = try store.run(id: runID)
        XCTAssertEqual(run.status, .diverged)
        XCTAssertEqual(run.stopReason, reason)
        XCTAssertTrue(try store.epochs(runID: runID).allSatisfy { $0.trainLoss?.isFinite ?? false }, "every epoch before the divergence is kept")
    }

    /// A data file missing or changed when a worker claims or resumes a run is a condition of the
    /// worker (started in another folder, a file moved or edited), not of the run: the run goes back
    /// to the queue with its stored epochs, the worker stops, and once the file is back the run
    /// ends bit-identical to an uninterrupted one (before: `failed` for good, with no way back).
    func testAMissingOrChangedDataFileStopsTheWorkerAndTheRunGoesOnOnceItIsBack() throws {
        let path = directory.path("points.csv")
        let original = "a,b,label\n" + (0..<40).map { "\(Double($0) / 40),\(Double(($0 * 7) % 40) / 40),\($0 % 2)" }.joined(separator: "\n") + "\n"
        try original.write(toFile: path, atomically: true, encoding: .utf8)
        var settings = settings(epochs: 6)
        settings.dataset = path
        let reference = try store("reference.db")
        let (referenceID, referenceOutcome) = try runSingle(settings, in: reference)
        XCTAssertEqual(referenceOutcome, .finished(.completed, reason: "completed all epochs"))

        let store = try store()
        let stop = StopSignal()
        let (halfID, halfOutcome) = try runSingle(settings, in: store, stop: stop) { event in
            if case let .epochFinished(_, epoch, _, _, _) = event, epoch == 3 { stop.request() }
        }
        XCTAssertEqual(halfOutcome, .interrupted(epoch: 3))
        let queuedID = try store.createRun(try RunConfiguration.make(settings).newRun())
        let fix = "; start the worker in the folder the runs were queued from, or put the file back as it was queued."

        func assertSetAside(_ summary: WorkSummary, _ runID: Int64, _ reason: String, epochs: [Int],
                            file: StaticString = #filePath, line: UInt = #line) throws {
            XCTAssertEqual(summary.outcomes, [runID: .suspended(reason: reason, requeued: true)], "the worker stops at the first such run", file: file, line: line)
            let run = try store.run(id: runID)
            XCTAssertEqual(run.status, .queued, file: file, line: line)
            XCTAssertEqual(run.stopReason, reason, file: file, line: line)
            XCTAssertNil(run.error, file: file, line: line)
            XCTAssertEqual(try store.epochs(runID: runID).map(\.epoch), epochs, "stored epochs kept", file: file, line: line)
        }
        // Missing: the half-trained run (claimed first, the oldest queued), then the queued one.
        try FileManager.default.moveItem(atPath: path, toPath: path + ".away")
        let missing = "\(path): no such file" + fix
        try assertSetAside(try Worker(store: store).work(sweepID: nil, jobs: 1), halfID, missing, epochs: [0, 1, 2, 3])
        try assertSetAside(try Worker(store: store).resume(sweepID: nil, runID: queuedID, jobs: 1, staleAfter: 60), queuedID, missing, epochs: [])
        // Changed: another file at the same path.
        try "a,b,label\n0,0,0\n1,1,1\n0,1,1\n1,0,0\n0.5,0.5,0\n".write(toFile: path, atomically: true, encoding: .utf8)
        let expected = SHA256.hexDigest(Data(original.utf8)).prefix(12)
        let actual = SHA256.hexDigest(try Data(contentsOf: URL(fileURLWithPath: path))).prefix(12)
        let changed = "\(path): the data changed since the run was queued (sha256 \(actual)..., expected \(expected)...)" + fix
        try assertSetAside(try Worker(store: store).work(sweepID: nil, jobs: 1), halfID, changed, epochs: [0, 1, 2, 3])
        try assertSetAside(try Worker(store: store).resume(sweepID: nil, runID: queuedID, jobs: 1, staleAfter: 60), queuedID, changed, epochs: [])

        // The file back as it was queued: both runs end as the uninterrupted one did, bit for bit.
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.moveItem(atPath: path + ".away", toPath: path)
        let summary = try Worker(store: store).resume(sweepID: nil, runID: nil, jobs: 1, staleAfter: 60)
        XCTAssertEqual(summary.outcomes, [halfID: .finished(.completed, reason: "completed all epochs"),
                                          queuedID: .finished(.completed, reason: "completed all epochs")])
        for runID in [halfID, queuedID] {
            XCTAssertEqual(try store.epochs(runID: runID).map { $0.trainLoss!.bitPattern },
                           try reference.epochs(runID: referenceID).map { $0.trainLoss!.bitPattern })
            XCTAssertEqual(try store.epochs(runID: runID).map { $0.validationLoss!.bitPattern },
                           try reference.epochs(runID: referenceID).map { $0.validationLoss!.bitPattern })
            for epoch in 0...6 {
                XCTAssertEqual(try store.tensors(runID: runID, epoch: epoch).map(\.tensor), try reference.tensors(runID: referenceID, epoch: epoch).map(\.tensor),
                               "run \(runID), epoch \(epoch)")
            }
        }
    }

    /// A worker of two threads whose one thread meets a missing data file claims no more runs (newuser16
    /// N6): its other thread ends the run it trains without claiming the next one in the same
    /// transaction, which was the run just put back (claimed again, its claim token bumped, and
    /// put back again, said twice). Run 1 waits in its first epoch until run 2 is put back.
    func testAWorkerThatMetAMissingFileClaimsNoMoreRunsFromItsOtherThread() throws {
        let store = try store()
        let path = directory.path("points.csv")
        try ("a,b,label\n" + (0..<40).map { "\(Double($0) / 40),\(Double(($0 * 7) % 40) / 40),\($0 % 2)" }.joined(separator: "\n") + "\n")
            .write(toFile: path, atomically: true, encoding: .utf8)
        var missing = settings(epochs: 2)
        missing.dataset = path
        let good = try store.createRun(try RunConfiguration.make(settings(epochs: 3)).newRun())
        let away = try store.createRun(try RunConfiguration.make(missing).newRun())
        let untouched = try store.createRun(try RunConfiguration.make(settings(epochs: 1)).newRun())
        try FileManager.default.removeItem(atPath: path)

        let putBack = DispatchSemaphore(value: 0)
        let finished = Locked<[Int64]>([])
        let waited = Locked(false)
        let worker = Worker(store: store, onEvent: { event in
            switch event {
            case let .runFinished(runID, _, _):
                finished.update { $0.append(runID) }
                if runID == away { putBack.signal() }
            case let .epochFinished(runID, epoch, _, _, _) where runID == good && epoch == 1:
                waited.update { $0 = putBack.wait(timeout: .now() + 60) == .success }
            default: break
            }
        })
        let summary = try worker.work(sweepID: nil, jobs: 2)
        XCTAssertTrue(waited.value, "run \(away) was put back while run \(good) trained")
        XCTAssertEqual(summary.outcomes[good], .finished(.completed, reason: "completed all epochs"))
        XCTAssertEqual(summary.outcomes[away], .suspended(reason: "\(path): no such file; start the worker in the folder the runs were queued from, "
                                                               + "or put the file back as it was queued.", requeued: true))
        XCTAssertEqual(summary.runIDs, [good, away], "run \(untouched) not claimed")
        XCTAssertEqual(finished.value.filter { $0 == away }.count, 1, "run \(away) said once: \(finished.value)")
        let tokens = try DatabaseQueue(path: directory.path("slope.db")).read { db in
            try Int64.fetchAll(db, sql: "SELECT claim_token FROM runs ORDER BY id")
        }
        XCTAssertEqual(tokens, [1, 1, 0], "run \(away) claimed once, run \(untouched) never")
        XCTAssertEqual(try [good, away, untouched].map { try store.run(id: $0).status }, [.completed, .queued, .queued])
    }

    /// A different file at the path a run was queued with: the run is put back in the queue (not
    /// failed) with the reason, and the worker stops.
    func testRunWhoseFileChangedGoesBackToTheQueueWithItsReason() throws {
        let store = try store()
        let path = directory.path("points.csv")
        try ("x,y\n" + (0..<20).map { "\($0),\($0 % 2)" }.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        var settings = RunSettings()
        settings.dataset = path
        settings.epochs = 1
        let configuration = try RunConfiguration.make(settings)
        XCTAssertEqual(configuration.data.sha256, SHA256.hexDigest(try Data(contentsOf: URL(fileURLWithPath: path))))
        // A different file at the same path: the stored sha256 no longer matches.
        try "x,y\n1,0\n2,1\n3,0\n4,1\n5,0\n6,1\n".write(toFile: path, atomically: true, encoding: .utf8)
        let runID = try store.createRun(configuration.newRun())
        let outcome = try Worker(store: store).runQueued(runID: runID)
        guard case let .suspended(message, requeued) = outcome else { return XCTFail("\(outcome)") }
        XCTAssertTrue(requeued)
        XCTAssertTrue(message.contains("changed since the run was queued"), message)
        let run = try store.run(id: runID)
        XCTAssertEqual(run.status, .queued)
        XCTAssertEqual(run.stopReason, message)
    }

    func testInitialWeightsFromJSON() throws {
        let store = try store()
        let path = directory.path("weights.json")
        // 3 inputs -> 2 hidden -> 3 classes; layer 1 as nested rows, layer 2 flat.
        try """
            {"tensors": [
              {"layer": 1, "kind": "weight", "rows": 3, "cols": 2, "values": [[0.5, -0.5], [0.25, 0.125], [1, 2]]},
              {"layer": 1, "kind": "bias", "rows": 1, "cols": 2, "values": [0.1, 0.2]},
              {"layer": 1, "kind": "weight_grad", "rows": 3, "cols": 2, "values": [0, 0, 0, 0, 0, 0]},
              {"layer": 2, "kind": "weight", "rows": 2, "cols": 3, "values": [1, 0, -1, 0.5, 0.5, 0.5]},
              {"layer": 2, "kind": "bias", "rows": 1, "cols": 3, "values": [0, 0, 0]}
            ]}
            """.write(toFile: path, atomically: true, encoding: .utf8)
        var settings = self.settings(epochs: 1)
        settings.hidden = [2]
        settings.initialWeightsFile = path
        let (runID, _) = try runSingle(settings, in: store)
        let initial = try store.tensors(runID: runID, epoch: 0, layer: 1, kind: .weight)
        XCTAssertEqual(initial.first?.tensor.data, Tensor(rows: 3, cols: 2, float32: [0.5, -0.5, 0.25, 0.125, 1, 2]).littleEndianBytes())
        let bias = try store.tensors(runID: runID, epoch: 0, layer: 2, kind: .bias)
        XCTAssertEqual(bias.first?.tensor.data, Tensor(rows: 1, cols: 3, float32: [0, 0, 0]).littleEndianBytes())

        settings.hidden = [3]
        XCTAssertThrowsError(try RunConfiguration.make(settings)) { error in
            XCTAssertEqual("\(error)", "\(path): layer 1 weight is 3 x 2; the network 3-3-3 needs 3 x 3")
        }

        // A bare list of tensors is a weights file too (docs/cli-runner.md).
        settings.hidden = [2]
        let text = try String(contentsOfFile: path, encoding: .utf8)
        try """
            [{"layer": 1, "kind": "weight", "rows": 3, "cols": 2, "values": [0.5, -0.5, 0.25, 0.125, 1, 2]},
             {"layer": 1, "kind": "bias", "values": [0.1, 0.2]},
             {"layer": 2, "kind": "weight", "rows": 2, "cols": 3, "values": [1, 0, -1, 0.5, 0.5, 0.5]},
             {"layer": 2, "kind": "bias", "values": [0, 0, 0]}]
            """.write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertEqual(try RunConfiguration.make(settings).initialWeightsFile, path)

        // Wrong JSON types are named by where they are; values that are not finite in the run's
        // precision are refused (they would only make a diverged run).
        let cases: [(String, String)] = [
            ("42", "not a Slope weights file: it begins with '4' at line 1, column 1; a weights file is a JSON object {...} or list [...]"),
            ("\u{FEFF}\n  label,x0\n1,2\n", "not a Slope weights file: it begins with 'l' at line 2, column 3; a weights file is a JSON object {...} or list [...]"),
            ("\0\0\0", "not a Slope weights file: it begins with the byte 0x00 at line 1, column 1; a weights file is a JSON object {...} or list [...]"),
            ("\"tensors\"", "not a Slope weights file: it begins with '\"' at line 1, column 1"),
            ("{\"tensors\": [{\"layer\": 1.5, \"kind\": \"weight\", \"values\": [1]}]}", "not a Slope weights file: bad value at .tensors[0].layer"),
            ("{\"tensors\": [{\"kind\": \"weight\", \"values\": [1]}]}", "not a Slope weights file: no \"layer\" field in .tensors[0]"),
            ("{\"tensors\": [", "not a Slope weights file: not valid JSON"),
            ("{\"tensors\": [{\"layer\": 0, \"kind\": \"weight\", \"values\": [1]}]}", "layer 0 weight: layers are numbered from 1"),
            (text.replacingOccurrences(of: "0.125", with: "1e39"), "layer 1 weight [1][1] is 1e+39, not a finite float32"),
            (text.replacingOccurrences(of: "0.125", with: "\"nan\""), "layer 1 weight [1][1] is nan, not a finite float32"),
            // The same layer and kind twice (the second one used to win silently).
            (text.replacingOccurrences(of: "{\"layer\": 2, \"kind\": \"bias\"", with: "{\"layer\": 1, \"kind\": \"bias\""),
             "layer 1 bias is given twice; give each layer's weight and bias once (report tensors RUN --epoch N --format json writes one epoch)"),
            (text.replacingOccurrences(of: "{\"layer\": 2, \"kind\": \"weight\"", with: "{\"layer\": 1, \"kind\": \"weight\""),
             "layer 1 weight is given twice"),
        ]
        for (json, message) in cases {
            try json.write(toFile: path, atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try RunConfiguration.make(settings), json) { error in
                XCTAssertTrue("\(error)".hasPrefix("\(path): \(message)"), "\(error) lacks \(message)")
                XCTAssertTrue((error as? ExperimentsError)?.isUsageError ?? false)
            }
        }

        // A network without biases: the file's non-zero bias is refused, not dropped (the run would
        // not start from the model the file describes); zero biases are the same network and pass.
        settings.usesBias = false
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try RunConfiguration.make(settings)) { error in
            XCTAssertEqual("\(error)", "\(path): layer 1 has a bias that is not zero, but the network has none (--no-bias): "
                           + "train with biases, or remove the file's bias entries")
        }
        try text.replacingOccurrences(of: "[0.1, 0.2]", with: "[0, -0.0]").write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertEqual(try RunConfiguration.make(settings).initialWeightsFile, path)
        settings.usesBias = true
        // A bias of a layer the network lacks is named as an extra weight is; one layer is "1 layer".
        try text.replacingOccurrences(of: "{\"layer\": 2, \"kind\": \"bias\"",
                                      with: "{\"layer\": 3, \"kind\": \"bias\", \"values\": [1]},\n {\"layer\": 2, \"kind\": \"bias\"")
            .write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try RunConfiguration.make(settings)) { error in
            XCTAssertTrue("\(error)".hasPrefix("\(path): "), "\(error)")
            XCTAssertTrue("\(error)".contains("layer 3 is not in the network 3-2-3"), "\(error)")
        }
        settings.hidden = []
        try "[]".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try RunConfiguration.make(settings)) { error in
            XCTAssertEqual("\(error)", "\(path): no weight for layer 1 (the network 3-3 has 1 layer)")
        }
        settings.hidden = [2]
    }

    /// Float64 initial weights survive the JSON file bit for bit (numbers whose shortest decimal
    /// form has 16-17 digits are where an inexact parser loses the last bits).
    func testFloat64InitialWeightsAreExact() throws {
        let store = try store()
        // Values an NSDecimalNumber-based parser (JSONSerialization on Linux) got wrong in the last bits.
        let weight1 = [-0.6964551663186842, -0.4044983694626767, -0.3579629473193595,
                       0.28761689146119007, -0.4747040827087077, -0.4947360317589362]
        let weight2 = [0.2242907863295338, -0.8237850521161649, -0.0923265762767509,
                       -0.9331274289445397, 0.9541751797245321, 0.6359040643128884]
        func entry(_ layer: Int, _ rows: Int, _ cols: Int, _ values: [Double]) -> WeightsFile.Entry {
            WeightsFile.Entry(layer: layer, kind: "weight", rows: rows, cols: cols, dtype: "float64",
                              values: (0..<rows).map { Array(values[($0 * cols)..<(($0 + 1) * cols)]) })
        }
        let path = directory.path("float64.json")
        try WeightsFile(runID: nil, epoch: nil, tensors: [entry(1, 3, 2, weight1), entry(2, 2, 3, weight2)])
            .encoded().write(to: URL(fileURLWithPath: path))
        var settings = self.settings(epochs: 1)
        settings.hidden = [2]
        settings.usesBias = false
        settings.precision = .float64
        settings.initialWeightsFile = path
        let (runID, _) = try runSingle(settings, in: store)
        XCTAssertEqual(try store.tensors(runID: runID, epoch: 0, layer: 1, kind: .weight).first?.tensor.data,
                       Tensor(rows: 3, cols: 2, float64: weight1).littleEndianBytes(), "weights \(weight1)")
        XCTAssertEqual(try store.tensors(runID: runID, epoch: 0, layer: 2, kind: .weight).first?.tensor.data,
                       Tensor(rows: 2, cols: 3, float64: weight2).littleEndianBytes(), "weights \(weight2)")
    }

    func testConfigurationRoundTripsAndDefaultsFollowTheData() throws {
        var settings = RunSettings()
        settings.dataset = "linear:rows=30"
        settings.hidden = [3, 2]
        settings.earlyStoppingPatience = 2
        settings.tensorLogging = .everyN(3)
        let regression = try RunConfiguration.make(settings)
        XCTAssertEqual(regression.training.layerSizes, [2, 3, 2, 1])
        XCTAssertEqual(regression.training.outputActivation, .identity)
        XCTAssertEqual(regression.training.loss, .meanSquaredError)
        XCTAssertEqual(regression.training.earlyStopping, EarlyStopping(monitor: .validationLoss, patience: 2, minDelta: 0))
        XCTAssertEqual(try RunConfiguration.decode(json: regression.json(), runID: 1), regression)
        XCTAssertTrue(regression.json().contains("\"tensorLogging\":\"3\""))

        settings.dataset = "xor"
        settings.validationFraction = 0
        settings.earlyStoppingPatience = nil
        settings.loss = .binaryCrossEntropy
        let binary = try RunConfiguration.make(settings)
        XCTAssertEqual(binary.training.outputActivation, .sigmoid)
        XCTAssertEqual(binary.training.layerSizes.last, 1)

        settings.loss = .meanSquaredError
        settings.outputActivation = .softmax
        XCTAssertThrowsError(try RunConfiguration.make(settings)) { error in
            XCTAssertEqual("\(error)", "--output-activation: 'softmax' is not accepted: softmax goes with the cross-entropy loss")
        }
    }

    /// What would fail or mean nothing once training started is refused while planning, naming
    /// the flag: losses that do not fit the targets, networks too large for memory or for Int.
    func testConfigurationsThatCannotTrainAreRefusedUpFront() throws {
        var settings = RunSettings()
        settings.dataset = "linear"  // regression: y = 3 x1 + 2 x2 + noise
        settings.loss = .crossEntropy
        XCTAssertThrowsError(try RunConfiguration.make(settings)) { error in
            XCTAssertTrue("\(error)".hasPrefix("--loss: cross-entropy (with softmax) needs class labels, and the target of linear holds values"), "\(error)")
            XCTAssertTrue((error as? ExperimentsError)?.isUsageError ?? false)
        }
        settings.loss = nil
        settings.outputActivation = .softmax
        XCTAssertThrowsError(try RunConfiguration.make(settings)) { error in
            XCTAssertTrue("\(error)".hasPrefix("--loss: cross-entropy (with softmax) needs class labels"), "\(error)")
        }
        settings.outputActivation = nil
        settings.loss = .binaryCrossEntropy
        XCTAssertThrowsError(try RunConfiguration.make(settings)) { error in
            XCTAssertTrue("\(error)".hasPrefix("--loss: binary cross-entropy needs targets between 0 and 1, and the target of linear holds "), "\(error)")
        }
        settings.loss = nil
        settings.hidden = [120_000, 120_000]  // 1,152 GB
        XCTAssertThrowsError(try RunConfiguration.make(settings)) { error in
            XCTAssertTrue("\(error)".hasPrefix("--hidden: a 2-120000-120000-1 network (14400600001 parameters) on "), "\(error)")
            XCTAssertTrue("\(error)".contains(" rows of data needs about 1152.1 GB"), "\(error)")
            XCTAssertTrue("\(error)".contains("GB of memory to train; this machine has "), "\(error)")
        }
        settings.hidden = [1_000_000, 1_000_000]
        XCTAssertThrowsError(try RunConfiguration.make(settings)) { error in
            XCTAssertEqual("\(error)", "--hidden: '1000000,1000000' is not accepted: 1000005000001 parameters; at most 17179869184")
        }
        settings.hidden = [1 << 25]
        XCTAssertThrowsError(try RunConfiguration.make(settings)) { error in
            XCTAssertEqual("\(error)", "--hidden: '33554432' is not accepted: a layer has at most 16777216 units (found 33554432)")
        }
        settings.hidden = [Int.max / 2, Int.max / 2]  // no overflow on the way to the error
        XCTAssertThrowsError(try RunConfiguration.make(settings))
        settings.hidden = [4]
        XCTAssertEqual(try RunConfiguration.make(settings).training.layerSizes, [2, 4, 1])
    }
}

/// A value set from callbacks on other threads.
private final class Observed: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Int?
    var value: Int? {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}
