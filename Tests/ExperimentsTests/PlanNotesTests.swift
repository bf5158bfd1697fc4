// The notes runner prints before training (PlanNotes): adamw without weight decay is plain adam,
// said exactly when it is true. TPE and ASHA left on the default val_loss with validation 0 rank on
// nothing: refused (SweepPlan), and why is checked by training such a sweep.
import NeuralNet
@testable import Store
import TestSupport
import XCTest
@testable import Experiments

final class PlanNotesTests: XCTestCase {
    private var directory: TemporaryDirectory!

    override func setUpWithError() throws { directory = try TemporaryDirectory(prefix: "slope-notes") }
    override func tearDown() { directory.remove() }

    private func plan(_ yaml: String) throws -> SweepPlan {
        try SweepPlan(spec: try SweepSpec.parse(yaml: yaml, file: "n.yaml"), source: "n.yaml")
    }

    private let plainAdamNote = "--optimizer adamw with weight decay 0 (the default) trains as plain adam: adamw differs only by its "
        + "decoupled weight decay; give --weight-decay above 0 (e.g. 0.01), or use --optimizer adam"
    private let plainAdamSweepNote = "runs with optimizer adamw and weight_decay 0 (the default) train as plain adam: adamw differs only "
        + "by its decoupled weight decay; give weight_decay above 0 (e.g. 0.01) to use it"

    func testAdamWWithoutWeightDecayIsNoted() throws {
        var settings = RunSettings()
        settings.dataset = "xor"
        settings.optimizer = .adamw
        XCTAssertEqual(PlanNotes.notes(run: try RunConfiguration.make(settings)), [plainAdamNote])
        settings.weightDecay = 0.01
        XCTAssertEqual(PlanNotes.notes(run: try RunConfiguration.make(settings)), [])
        settings.optimizer = .adam
        settings.weightDecay = 0
        XCTAssertEqual(PlanNotes.notes(run: try RunConfiguration.make(settings)), [])

        // A sweep: noted when some run is adamw with weight_decay 0, not refused.
        let fixed = "fixed: {dataset: xor, epochs: 1}\n"
        XCTAssertEqual(PlanNotes.notes(plan: try plan(fixed + "parameters: {optimizer: {values: [adam, adamw]}, weight_decay: {values: [0, 0.01]}}")),
                       [plainAdamSweepNote])
        XCTAssertEqual(PlanNotes.notes(plan: try plan(fixed + "parameters: {optimizer: {values: [adam, adamw]}, weight_decay: {values: [0.001, 0.01]}}")), [])
        XCTAssertEqual(PlanNotes.notes(plan: try plan(fixed + "parameters: {optimizer: {values: [sgd, adam]}}")), [])
        XCTAssertEqual(PlanNotes.notes(plan: try plan("fixed: {dataset: xor, epochs: 1, optimizer: adamw}")), [plainAdamSweepNote])
        // TPE samples its trials later: what they may be is read from the spec.
        let tpe = "method: tpe\ncount: 4\n" + fixed
        XCTAssertEqual(PlanNotes.notes(plan: try plan(tpe + "parameters: {optimizer: {values: [adam, adamw]}, learning_rate: {distribution: log_uniform, min: 0.001, max: 0.1}}")),
                       [plainAdamSweepNote], "weight_decay left at 0")
        XCTAssertEqual(PlanNotes.notes(plan: try plan(tpe + "parameters: {optimizer: {values: [adam, adamw]}, weight_decay: {distribution: uniform, min: 0, max: 0.1}}")),
                       [], "a continuous draw is never exactly 0")
        XCTAssertEqual(PlanNotes.notes(plan: try plan(tpe + "parameters: {optimizer: {values: [sgd, adamw]}, weight_decay: {values: [0, 0.1]}}")),
                       [plainAdamSweepNote])
        XCTAssertEqual(PlanNotes.notes(plan: try plan(tpe + "parameters: {optimizer: {values: [sgd, adam]}, weight_decay: {values: [0, 0.1]}}")), [])
    }

    /// adamw with weight decay 0 trains to the bit as adam (what the note says).
    func testAdamWWithoutWeightDecayTrainsAsAdam() throws {
        var settings = RunSettings()
        settings.dataset = "blobs:rows=60:features=3:classes=3:seed=2"
        settings.hidden = [5]
        settings.epochs = 3
        settings.batchSize = 7
        var results: [[Double]] = []
        for optimizer in [Optimizer.adam, .adamw] {
            settings.optimizer = optimizer
            let configuration = try RunConfiguration.make(settings)
            let (training, validation) = try DataCatalog.prepare(configuration.data)
            var losses: [Double] = []
            _ = try Trainer(configuration: configuration.training, training: training, validation: validation).run { result in
                losses.append(result.trainLoss)
                losses += result.parameters.flatMap { $0.weight.doubles + ($0.bias?.doubles ?? []) }
                return .proceed
            }
            results.append(losses)
        }
        XCTAssertGreaterThan(results[0].count, 4 * 3)
        XCTAssertEqual(results[0], results[1])
    }

    /// A random (or tpe) search whose parameters each have one value draws nothing: its `count` runs
    /// were queued as one run repeated, byte-identical configurations (newuser15 N8). Refused when
    /// planned, with the fixes; one run, or anything to draw, is accepted, and the draws differ.
    func testASearchWithNothingToDrawIsRefused() throws {
        let fixed = "fixed: {dataset: xor, epochs: 1}\n"
        let fixes = "; give a parameter a distribution (e.g. learning_rate: {distribution: log_uniform, min: 0.001, max: 0.1}) or several values, "
            + "or use method: grid (or count: 1) for the one run"
        for (yaml, message) in [
            ("method: random\ncount: 3\n" + fixed + "parameters:\n  learning_rate: {values: [0.1]}\n  seed: {value: 4}\n",
             "n.yaml: parameters: method: random draws nothing here: every setting has one value (no distribution whose min and max differ, no list of several values), so its 3 runs would be the same run "
                + "(same settings, same seed) 3 times" + fixes),
            ("method: random\ncount: 2\n" + fixed, "n.yaml: parameters: method: random draws nothing here: every setting has one value (no distribution whose min and max differ, no list of several values), "
                + "so its 2 runs would be the same run (same settings, same seed) 2 times" + fixes),
            // A distribution whose min equals its max has one value too (hostile16 F8).
            ("method: random\ncount: 3\n" + fixed + "parameters: {batch_size: {distribution: int_uniform, min: 4, max: 4}, learning_rate: {distribution: uniform, min: 0.1, max: 0.1}}\n",
             "n.yaml: parameters: method: random draws nothing here: every setting has one value (no distribution whose min and max differ, no list of several values), so its 3 runs would be the same run "
                + "(same settings, same seed) 3 times" + fixes),
            ("method: tpe\ncount: 5\n" + fixed + "parameters: {learning_rate: {values: [0.1]}}\n",
             "n.yaml: parameters: method: tpe samples nothing here: every setting has one value (no distribution whose min and max differ, no list of several values), so its 5 runs would be the same run "
                + "(same settings, same seed) 5 times" + fixes),
        ] {
            XCTAssertThrowsError(try plan(yaml), yaml) { error in
                XCTAssertEqual("\(error)", message)
                XCTAssertEqual((error as? ExperimentsError)?.isUsageError, true, "exit 2")
            }
        }
        // Before: three byte-identical runs. Now one run of it, or a draw, is accepted.
        XCTAssertEqual(try plan("method: random\ncount: 1\n" + fixed + "parameters: {learning_rate: {values: [0.1]}}\n").configurations.count, 1)
        let drawn = try plan("method: random\ncount: 3\nrandom_seed: 2\n" + fixed
                             + "parameters: {learning_rate: {values: [0.1]}, seed: {distribution: int_uniform, min: 0, max: 1000000}}\n")
        XCTAssertEqual(Set(drawn.configurations.map(\.training.seed)).count, 3, "each run draws its own seed")
        XCTAssertEqual(Set(drawn.configurations.map(\.training.learningRate)), [0.1])
        XCTAssertEqual(try plan("method: random\ncount: 4\n" + fixed + "parameters: {seed: {values: [0, 1]}}\n").configurations.count, 4,
                       "repeats among several values are ordinary sampling")
    }

    /// A search of more runs than its space has distinct ones repeats some bit for bit: said before
    /// anything trains (hostile16 F1: 10 TPE trials over 4 points trained one run 5 times, silently).
    func testASearchOfMoreRunsThanItsSpaceHoldsIsNoted() throws {
        let fixed = "fixed: {dataset: xor, epochs: 1}\n"
        let small = try plan("method: tpe\ncount: 10\n" + fixed + "parameters: {learning_rate: {values: [0.01, 0.1]}, batch_size: {distribution: int_uniform, min: 4, max: 5}}\n")
        XCTAssertEqual(small.spec.distinctPoints, 4)
        XCTAssertEqual(PlanNotes.notes(plan: small), ["the search space holds 4 distinct runs (settings and seed), fewer than count: 10: some runs "
            + "will repeat others bit for bit; use method: grid for all 4, or widen the space (seed: {values: [...]} makes repeats of a setting differ)"])
        // As many points as runs, or a continuous draw: nothing to say.
        for yaml in ["method: random\ncount: 4\n" + fixed + "parameters: {learning_rate: {values: [0.01, 0.1]}, seed: {values: [0, 1]}}\n",
                     "method: random\ncount: 40\n" + fixed + "parameters: {learning_rate: {distribution: log_uniform, min: 0.01, max: 0.1}, seed: {values: [0, 1]}}\n"] {
            XCTAssertEqual(PlanNotes.notes(plan: try plan(yaml)), [], yaml)
        }
        XCTAssertNil(try plan("method: random\ncount: 4\n" + fixed + "parameters: {learning_rate: {distribution: uniform, min: 0.01, max: 0.1}}\n").spec.distinctPoints)
    }

    /// TPE and ASHA left on the default val_loss with validation 0 searched blind, with only a
    /// note saying so on stderr: refused now, as a val_loss named in the spec is.
    func testSearchOnTheDefaultMetricWithoutValidationIsRefused() throws {
        let tpe = "method: tpe\ncount: 3\nparameters: {learning_rate: {distribution: log_uniform, min: 0.01, max: 0.5}}\n"
        let asha = "early_terminate: {type: asha, min_epochs: 1, reduction_factor: 2}\n"
        let fixed = "fixed: {dataset: xor, epochs: 4, validation: 0}\n"
        let fix = ": add metric: {name: train_loss} to search on the training loss, or set fixed.validation above 0"
        for (yaml, message) in [
            (tpe + fixed, "n.yaml: method: tpe ranks runs on the sweep's metric, val_loss (the default), which no run has with fixed.validation 0, "
                + "so TPE would learn nothing from the finished trials (each counts as +inf)" + fix),
            (tpe + asha + fixed, "n.yaml: method: tpe and type: asha rank runs on the sweep's metric, val_loss (the default), which no run has with "
                + "fixed.validation 0, so TPE would learn nothing from the finished trials (each counts as +inf) and ASHA would prune no run" + fix),
            (asha + fixed + "parameters: {seed: {values: [0, 1]}}", "n.yaml: early_terminate: type: asha ranks runs on the sweep's metric, val_loss "
                + "(the default), which no run has with fixed.validation 0, so ASHA would prune no run" + fix),
        ] {
            XCTAssertThrowsError(try plan(yaml), yaml) { error in
                XCTAssertEqual("\(error)", message)
                XCTAssertEqual((error as? ExperimentsError)?.isUsageError, true, "exit 2")
            }
        }
        // Accepted, with no note: a grid without ASHA (only the summary ranks, on train_loss), a metric given, validation above 0 (the default).
        XCTAssertEqual(PlanNotes.notes(plan: try plan(fixed + "parameters: {seed: {values: [0, 1]}}")), [])
        XCTAssertEqual(PlanNotes.notes(plan: try plan(tpe + fixed + "metric: {name: train_loss}")), [])
        XCTAssertEqual(PlanNotes.notes(plan: try plan(tpe + asha + fixed + "metric: {name: train_loss}")), [])
        XCTAssertEqual(PlanNotes.notes(plan: try plan(tpe + "fixed: {dataset: xor, epochs: 4}")), [])
        XCTAssertEqual(PlanNotes.notes(plan: try plan(tpe + "fixed: {dataset: xor, epochs: 4, validation: 0.25}")), [])
        XCTAssertEqual(PlanNotes.notes(plan: try plan("method: tpe\ncount: 3\nfixed: {dataset: xor, epochs: 4}\n"
                                                      + "parameters: {validation: {distribution: uniform, min: 0, max: 0.3}}")), [], "validation drawn above 0")
        XCTAssertEqual(PlanNotes.notes(plan: try plan(asha + "fixed: {dataset: xor, epochs: 4}\nparameters: {validation: {values: [0, 0.25]}}")), [],
                       "some runs validate")
    }

    /// Why it is refused, checked on such a sweep queued as it was before (straight into the
    /// store, as an older runner did): trained with validation 0, every trial's val_loss is NULL,
    /// so TPE sees each finished one as +inf (as a diverged one), and ASHA prunes none of them,
    /// although their training losses differ.
    func testTheDefaultMetricWithoutValidationLeavesTheSearchBlind() throws {
        let store = try SlopeStore(path: directory.path("blind.db"))
        let spec = try SweepSpec.parse(yaml: """
            method: tpe
            count: 6
            n_startup_trials: 2
            early_terminate: {type: asha, min_epochs: 1, reduction_factor: 2}
            fixed: {dataset: xor, epochs: 4, validation: 0}
            parameters: {learning_rate: {distribution: log_uniform, min: 0.001, max: 1}}
            """, file: "n.yaml")
        XCTAssertThrowsError(try SweepPlan(spec: spec))
        let (sweepID, _) = try store.createSweep(name: spec.name, specJSON: spec.json(), runs: [])
        _ = try Worker(store: store).work(sweepID: sweepID, jobs: 1)
        let runs = try store.runs(sweepID: sweepID)
        XCTAssertEqual(runs.count, 6)
        XCTAssertEqual(runs.map(\.status), Array(repeating: .completed, count: 6), "ASHA pruned none")
        XCTAssertTrue(runs.allSatisfy { $0.finalValidationLoss == nil })
        XCTAssertEqual(Set(runs.compactMap(\.finalTrainLoss)).count, 6, "the training losses differ")
        let maker = TrialMaker(spec: spec)
        XCTAssertEqual(maker.metric, .val_loss)
        for run in runs {
            let trial = try XCTUnwrap(RunConfiguration.decode(json: run.settings.configJSON, runID: run.id).trial)
            let record = SlopeStore.TrialRecord(id: run.id, status: .completed, trialJSON: "\(trial)", epochsDone: 4, value: run.finalValidationLoss)
            XCTAssertEqual(maker.tpeTrial(record), TPETrial(values: trial, state: .complete(.infinity)))
        }
    }
}
