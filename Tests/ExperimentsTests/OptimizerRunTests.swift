// Optimizers through the worker: their state stored as tensors wherever weights are, a killed
// (Ctrl-C) adam / adamw / rmsprop run resuming bit for bit, and the settings in sweeps.
import GRDB
import NeuralNet
import Store
import TestSupport
import XCTest
@testable import Experiments

final class OptimizerRunTests: XCTestCase {
    private var directory: TemporaryDirectory!

    override func setUpWithError() throws { directory = try TemporaryDirectory(prefix: "slope-optimizer-runs") }
    override func tearDown() { directory.remove() }

    private func settings(_ optimizer: Optimizer, momentum: Double = 0, precision: Precision = .float32) -> RunSettings {
        var settings = RunSettings()
        settings.dataset = "blobs:rows=60:features=3:classes=3:seed=2"
        settings.hidden = [5]
        settings.epochs = 6
        settings.batchSize = 7
        settings.learningRate = 0.01
        settings.optimizer = optimizer
        settings.momentum = momentum
        settings.precision = precision
        settings.weightDecay = optimizer == .adamw ? 0.05 : 0
        settings.tensorLogging = .everyN(4)
        return settings
    }

    private func runSingle(_ settings: RunSettings, in store: SlopeStore, stop: StopSignal = StopSignal(),
                           onEvent: @escaping @Sendable (WorkerEvent) -> Void = { _ in }) throws -> (Int64, RunOutcome) {
        let runID = try store.createRun(try RunConfiguration.make(settings).newRun())
        return (runID, try Worker(store: store, stop: stop, onEvent: onEvent).runQueued(runID: runID))
    }

    func testStateIsStoredWithTheWeightsAndAnInterruptedRunResumesBitForBit() throws {
        let cases: [(Optimizer, Double, Precision, Set<String>)] = [
            (.adam, 0, .float32, ["weight_adam_m", "bias_adam_m", "weight_adam_v", "bias_adam_v", "step"]),
            (.adamw, 0, .float64, ["weight_adam_m", "bias_adam_m", "weight_adam_v", "bias_adam_v", "step"]),
            (.rmsprop, 0, .float32, ["weight_rms", "bias_rms"]),
            (.rmsprop, 0.9, .float32, ["weight_rms", "bias_rms", "weight_velocity", "bias_velocity"]),
        ]
        for (optimizer, momentum, precision, stateKinds) in cases {
            let name = "\(optimizer.rawValue) momentum \(momentum) \(precision.rawValue)"
            let settings = settings(optimizer, momentum: momentum, precision: precision)
            let reference = try SlopeStore(path: directory.path("reference-\(name).db"))
            let (referenceID, referenceOutcome) = try runSingle(settings, in: reference)
            XCTAssertEqual(referenceOutcome, .finished(.completed, reason: "completed all epochs"), name)
            // The settings are typed run columns (migration 0004), for sqlite3, pandas and report --where.
            let check = try DatabaseQueue(path: reference.path)
            let row = try check.read { try Row.fetchOne($0, sql: "SELECT optimizer, beta1, rho FROM run_summary WHERE run_id = ?", arguments: [referenceID]) }
            try check.close()
            XCTAssertEqual(row?["optimizer"] as String?, optimizer.rawValue, name)
            XCTAssertEqual(row?["beta1"] as Double?, optimizer == .rmsprop ? nil : 0.9, name)  // NULL where unused
            XCTAssertEqual(row?["rho"] as Double?, optimizer == .rmsprop ? 0.99 : nil, name)
            // Weights are stored at epochs 0, 4 and 6 (every 4, and the last): the optimizer's state with them.
            for epoch in [0, 4, 6] {
                let kinds = Set(try reference.tensors(runID: referenceID, epoch: epoch).map(\.tensor.kind.rawValue))
                let expected = stateKinds.union(["weight", "bias"]).union(epoch > 0 ? ["weight_grad", "bias_grad"] : [])
                XCTAssertEqual(kinds, expected, "\(name) epoch \(epoch)")
            }
            if stateKinds.contains("step") {
                // 48 training rows (60 less the 0.2 validation split) in batches of 7: 7 steps per epoch.
                let step = try XCTUnwrap(try reference.tensors(runID: referenceID, epoch: 4, kind: .step).first?.tensor)
                XCTAssertEqual([step.rows, step.cols, step.layer], [1, 1, 1])
                XCTAssertEqual(step.dtype, .float64)
                XCTAssertEqual(try TensorRecords.tensor(step, runID: referenceID).doubles, [28])
            }

            let store = try SlopeStore(path: directory.path("interrupted-\(name).db"))
            let stop = StopSignal()
            let (runID, outcome) = try runSingle(settings, in: store, stop: stop) { event in
                if case let .epochFinished(_, epoch, _, _, _) = event, epoch == 5 { stop.request() }  // Ctrl-C during epoch 5
            }
            XCTAssertEqual(outcome, .interrupted(epoch: 5), name)
            // Epoch 5 is the last one trained, so it stored its tensors (and the state) to resume from.
            XCTAssertEqual(Set(try store.tensors(runID: runID, epoch: 5).map(\.tensor.kind.rawValue)),
                           stateKinds.union(["weight", "bias", "weight_grad", "bias_grad"]), name)
            let summary = try Worker(store: store).resume(sweepID: nil, runID: runID, jobs: 1, staleAfter: 60)
            XCTAssertEqual(summary.outcomes[runID], .finished(.completed, reason: "completed all epochs"), name)
            XCTAssertEqual(try store.epochs(runID: runID).map { $0.trainLoss!.bitPattern },
                           try reference.epochs(runID: referenceID).map { $0.trainLoss!.bitPattern }, name)
            XCTAssertEqual(try store.tensors(runID: runID, epoch: 6).map(\.tensor), try reference.tensors(runID: referenceID, epoch: 6).map(\.tensor),
                           "\(name): final weights, gradients and optimizer state bit-identical")
        }
    }

    func testAResumePointWithoutTheAdamStateFailsTheRunWithAClearError() throws {
        let store = try SlopeStore(path: directory.path("broken.db"))
        let stop = StopSignal()
        let (runID, outcome) = try runSingle(settings(.adam), in: store, stop: stop) { event in
            if case let .epochFinished(_, epoch, _, _, _) = event, epoch == 2 { stop.request() }
        }
        XCTAssertEqual(outcome, .interrupted(epoch: 2))
        let queue = try DatabaseQueue(path: store.path)
        try queue.write { try $0.execute(sql: "DELETE FROM tensors WHERE run_id = ? AND epoch = 2 AND kind = 'step'", arguments: [runID]) }
        try queue.close()
        let summary = try Worker(store: store).resume(sweepID: nil, runID: runID, jobs: 1, staleAfter: 60)
        XCTAssertEqual(summary.outcomes[runID], .failed("cannot resume: the adam optimizer needs the step count, but the epoch-2 state has none"))
    }

    func testOptimizerSettingsAreSweepableAndCheckedByName() throws {
        let spec = try SweepSpec.parse(yaml: """
            fixed:
              dataset: "blobs:rows=60:features=3:classes=3:seed=2"
              epochs: 1
            parameters:
              optimizer:
                values: [sgd, adam, rmsprop]
              beta2:
                values: [0.99, 0.999]
            """, file: "test.yaml")
        XCTAssertEqual(spec.variedSettings, [.optimizer, .beta2])
        let points = try spec.expand()
        XCTAssertEqual(points.count, 6)
        XCTAssertEqual(Set(points.map { "\($0.settings.optimizer.rawValue) \($0.settings.beta2)" }),
                       ["sgd 0.99", "sgd 0.999", "adam 0.99", "adam 0.999", "rmsprop 0.99", "rmsprop 0.999"])
        let adam = try XCTUnwrap(points.first { $0.settings.optimizer == .adam && $0.settings.beta2 == 0.99 })
        let configuration = try RunConfiguration.make(adam.settings)
        XCTAssertEqual(configuration.label(showing: spec.variedSettings).contains(configuration.training.optimizer.rawValue), true)
        XCTAssertEqual(configuration.training.beta2, 0.99)
        // sgd with beta2 off its default would train exactly as sgd without it: refused, naming the flag.
        let sgd = try XCTUnwrap(points.first { $0.settings.optimizer == .sgd && $0.settings.beta2 == 0.99 })
        XCTAssertThrowsError(try RunConfiguration.make(sgd.settings)) { error in
            XCTAssertTrue("\(error)".contains("--beta2"), "\(error)")
            XCTAssertTrue("\(error)".contains("sgd does not use beta2"), "\(error)")
        }

        var settings = RunSettings()
        for (setting, text, message) in [
            (Setting.optimizer, "lbfgs", "'lbfgs' is not accepted; expected one of sgd, adam, adamw, rmsprop"),
            (.beta1, "1", "'1' is not accepted; expected a number in [0, 1), e.g. 0.9"),
            (.beta2, "-0.1", "'-0.1' is not accepted; expected a number in [0, 1), e.g. 0.999"),
            (.epsilon, "0", "'0' is not accepted; expected a number > 0, e.g. 1e-8"),
            (.rho, "abc", "'abc' is not accepted; expected a number in [0, 1), e.g. 0.99"),
        ] {
            XCTAssertThrowsError(try settings.apply(setting, .string(text), field: setting.flag)) { error in
                XCTAssertEqual("\(error)".hasSuffix(message), true, "\(error)")
                XCTAssertTrue("\(error)".contains(setting.flag), "\(error)")
            }
        }
        // Momentum with adam is refused when the run is made, naming the flag.
        settings = self.settings(.adam, momentum: 0.9)
        XCTAssertThrowsError(try RunConfiguration.make(settings)) { error in
            XCTAssertTrue("\(error)".contains("--momentum"), "\(error)")
            XCTAssertTrue("\(error)".contains("beta1"), "\(error)")
        }
    }
}
