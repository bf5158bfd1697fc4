// The built binaries with the optimizers: runner's flags and their one-line errors, report
// explain naming the update rule with its terms, and report tensors listing the new kinds.
import Foundation
import NeuralNet
import Store
import TestSupport
import XCTest

final class OptimizerCLITests: XCTestCase {
    private var directory: TemporaryDirectory!

    override func setUpWithError() throws { directory = try TemporaryDirectory(prefix: "slope-optimizer-cli") }
    override func tearDown() { directory.remove() }

    private func run(_ tool: String, _ arguments: [String], expect status: Int32,
                     file: StaticString = #filePath, line: UInt = #line) throws -> ReportProcess.Result {
        let result = try ReportProcess.run(tool, arguments)
        XCTAssertEqual(result.status, status, "\(tool) \(arguments.joined(separator: " ")): \(result.error)", file: file, line: line)
        if status != 0 {
            XCTAssertEqual(result.error.filter { $0 == "\n" }.count, 1, "one line: \(result.error)", file: file, line: line)
        }
        return result
    }

    func testAdamRunIsExplainedByItsUpdateRule() throws {
        let db = directory.path("adam.db")
        _ = try run("runner", ["train", "--dataset", "xor", "--hidden", "3", "--activation", "tanh", "--validation", "0", "--batch-size", "4",
                               "--learning-rate", "0.05", "--epochs", "3", "--optimizer", "adam", "--beta2", "0.99", "--quiet", "--db", db], expect: 0)
        let explain = try run("report", ["explain", "1", "--epoch", "2", "--layer", "2", "--weight", "1,0", "--db", db], expect: 0).output
        XCTAssertTrue(explain.contains("update rule: adam (Kingma & Ba 2015); its next step from the state stored after epoch 2 (2 steps taken)"), explain)
        for term in ["m = beta1 × m + (1 - beta1) × g = ", "v = beta2 × v + (1 - beta2) × g² = ", "m̂ = m / (1 - beta1^3) = ",
                     "Δw = -learning_rate × m̂ / (√v̂ + epsilon) = ", "the step changes the weight by "] {
            XCTAssertTrue(explain.contains(term), "\(term) in \(explain)")
        }
        // The explained step is the step the run took: epoch 3 is one full-batch step from epoch 2.
        func weight(_ epoch: Int) throws -> Double {
            let file = try WeightsFile.decode(try run("report", ["tensors", "1", "--epoch", "\(epoch)", "--layer", "2", "--kind", "weight",
                                                                  "--format", "json", "--db", db], expect: 0).outputData)
            return file.tensors[0].values[1][0]
        }
        let change = try XCTUnwrap(explain.split(separator: "\n").last { $0.hasPrefix("the step changes the weight by ") }
            .flatMap { Double($0.split(separator: " ").last!) })
        XCTAssertEqual(try weight(3) - weight(2), change, accuracy: 1e-5)

        let kinds = try run("report", ["tensors", "1", "--epoch", "3", "--format", "csv", "--db", db], expect: 0).output
        for kind in ["weight_adam_m", "bias_adam_v", "step"] { XCTAssertTrue(kinds.contains(",\(kind),"), kind) }
        let step = try run("report", ["tensors", "1", "--epoch", "3", "--kind", "step", "--format", "csv", "--db", db], expect: 0).output
        XCTAssertEqual(step, "run_id,epoch,layer,kind,row,col,value\n1,3,1,step,0,0,3.0\n")
        _ = try run("report", ["tensors", "1", "--kind", "weight_rms", "--db", db], expect: 1)
    }

    /// sgd with momentum (and Nesterov) is explained by its velocity, not as plain SGD (hostile15 F10):
    /// explain's terms are OptimizerStep's, which from the stored velocity of epoch 2 and the stored
    /// gradient of epoch 3 (one full-batch float64 step) give epoch 3's stored velocity and weight bit
    /// for bit; the printed step is that change to its 6 digits.
    func testMomentumRunIsExplainedByItsVelocity() throws {
        for nesterov in [false, true] {
            let db = directory.path(nesterov ? "nesterov.db" : "momentum.db")
            _ = try run("runner", ["train", "--dataset", "xor", "--hidden", "3", "--activation", "tanh", "--validation", "0", "--batch-size", "4",
                                   "--learning-rate", "0.3", "--momentum", "0.8", "--precision", "float64", "--epochs", "3", "--quiet", "--db", db]
                        + (nesterov ? ["--nesterov"] : []), expect: 0)
            let explain = try run("report", ["explain", "1", "--epoch", "2", "--layer", "2", "--weight", "1,0", "--db", db], expect: 0).output
            let rule = nesterov ? "sgd with Nesterov momentum (Keras)" : "sgd with momentum (Keras)"
            XCTAssertTrue(explain.contains("update rule: \(rule); its next step from the state stored after epoch 2, with this gradient g:\n"), explain)
            XCTAssertTrue(explain.contains("  v = momentum × v - learning_rate × g = "), explain)
            XCTAssertTrue(explain.contains(nesterov ? "  Δw = momentum × v - learning_rate × g = " : "  Δw = v = "), explain)
            XCTAssertFalse(explain.contains("plain SGD"), explain)
            XCTAssertFalse(explain.contains("a step of learning_rate"), explain)

            let queries = try SlopeStore(path: db, mode: .readOnly).queries
            func stored(_ epoch: Int, _ kind: SlopeStore.TensorKind) throws -> Double {
                let tensor = try XCTUnwrap(queries.storedTensors(runID: 1, epoch: epoch, layer: 2, kind: kind).first, "\(kind) of epoch \(epoch)")
                return tensor.doubles[1 * tensor.cols + 0]
            }
            let configuration = TrainingConfiguration(layerSizes: [2, 3, 1], learningRate: 0.3, momentum: 0.8, nesterov: nesterov, precision: .float64)
            let step = OptimizerStep.next(configuration: configuration, parameter: try stored(2, .weight), gradient: try stored(3, .weightGradient),
                                          isWeight: true, state: [.velocity: try stored(2, .weightVelocity)], step: 2)
            XCTAssertEqual(step.rule, rule)
            XCTAssertEqual(step.terms.first { $0.name == "v" }?.value, try stored(3, .weightVelocity), "the velocity the run stored, bit for bit")
            XCTAssertEqual(try stored(2, .weight) + step.change, try stored(3, .weight), "the weight the run stored, bit for bit")
            XCTAssertNotEqual(step.change, -0.3 * (try stored(3, .weightGradient)), "momentum moves the step off plain SGD's")

            let printed = try XCTUnwrap(explain.split(separator: "\n").last { $0.hasPrefix("the step changes the weight by ") }
                .flatMap { Double($0.split(separator: " ").last!) })
            XCTAssertEqual(printed, try stored(3, .weight) - stored(2, .weight), accuracy: abs(printed) * 1e-5)
        }
    }

    /// Accepted, but said once on stderr before training: adamw without weight decay is plain adam.
    /// --quiet says nothing. A TPE sweep left on the default val_loss with validation 0, which has
    /// nothing to rank on, was only noted so: it is refused now (exit 2, one line, nothing queued).
    func testNotesBeforeTrainingSayWhatASettingReallyDoes() throws {
        let db = directory.path("notes.db")
        let adamw = try run("runner", ["train", "--dataset", "xor", "--epochs", "1", "--optimizer", "adamw", "--db", db], expect: 0)
        XCTAssertEqual(adamw.error, "note: --optimizer adamw with weight decay 0 (the default) trains as plain adam: adamw differs only by its "
                       + "decoupled weight decay; give --weight-decay above 0 (e.g. 0.01), or use --optimizer adam\n")
        XCTAssertTrue(adamw.output.contains("estimated database growth"), adamw.output)
        for flags in [["--weight-decay", "0.01"], ["--quiet"]] {
            XCTAssertEqual(try run("runner", ["train", "--dataset", "xor", "--epochs", "1", "--optimizer", "adamw", "--db", db] + flags, expect: 0).error, "")
        }
        let spec = directory.path("tpe.yaml")
        try """
            method: tpe
            count: 2
            fixed: {dataset: xor, epochs: 1, validation: 0}
            parameters: {learning_rate: {distribution: log_uniform, min: 0.01, max: 0.5}}
            """.write(toFile: spec, atomically: true, encoding: .utf8)
        let sweepsBefore = try SlopeStore(path: db, mode: .readOnly).sweeps().count
        let tpe = try run("runner", ["sweep", spec, "--db", db], expect: 2)
        XCTAssertEqual(tpe.error, "error: \(spec): method: tpe ranks runs on the sweep's metric, val_loss (the default), which no run has with "
                       + "fixed.validation 0, so TPE would learn nothing from the finished trials (each counts as +inf): add metric: {name: train_loss} "
                       + "to search on the training loss, or set fixed.validation above 0\n")
        XCTAssertEqual(try SlopeStore(path: db, mode: .readOnly).sweeps().count, sweepsBefore, "nothing queued")
        XCTAssertEqual(try run("runner", ["sweep", spec, "--validation", "0.25", "--db", db], expect: 0).error, "")
    }

    func testBadOptimizerFlagsAreOneLineUsageErrors() throws {
        let db = directory.path("bad.db")
        for (flags, message) in [
            (["--optimizer", "lbfgs"], "lbfgs"),
            (["--optimizer", "adam", "--momentum", "0.9"], "--momentum: '0.9' is not accepted: adam has no momentum setting"),
            (["--optimizer", "rmsprop", "--rho", "1"], "--rho: '1' is not accepted; expected a number in [0, 1), e.g. 0.99"),
            (["--epsilon", "0"], "--epsilon: '0' is not accepted; expected a number > 0, e.g. 1e-8"),
            (["--optimizer", "sgd", "--beta1", "0.5"], "sgd does not use beta1 (only adam and adamw do)"),
            (["--optimizer", "rmsprop", "--beta2", "0.9"], "rmsprop does not use beta2"),
            (["--optimizer", "adam", "--rho", "0.5"], "adam does not use rho (only rmsprop does)"),
            // Accepted and ignored before (momentum 0 is plain sgd): refused.
            (["--nesterov"], "error: --nesterov: needs a momentum above 0 (sgd with momentum 0 is plain sgd, which Nesterov does not change): set a momentum, e.g. 0.9, or leave nesterov out\n"),
        ] {
            let result = try run("runner", ["train", "--dataset", "xor", "--epochs", "1", "--db", db] + flags, expect: 2)
            XCTAssertTrue(result.error.contains(message), result.error)
        }
        if FileManager.default.fileExists(atPath: db) {
            XCTAssertEqual(try SlopeStore(path: db, mode: .readOnly).runs(sweepID: nil), [], "nothing queued")
        }
        let help = try run("runner", ["train", "--help"], expect: 0).output
        for flag in ["--optimizer <optimizer>", "--beta1 <b>", "--beta2 <b>", "--epsilon <eps>", "--rho <r>", "sgd, adam, adamw, rmsprop"] {
            XCTAssertTrue(help.contains(flag), flag)
        }
    }

    /// A float32 run uses Float(epsilon) and Float(learning rate): below about 1.4e-45 that is 0, and
    /// adam or rmsprop divided 0 by 0 ("diverged at epoch 1"), sgd trained nothing. Refused up front
    /// (flags and sweep files); the same values in float64, and a float32 subnormal, still train.
    func testSettingsThatAreZeroInFloat32AreRefused() throws {
        let db = directory.path("zero.db")
        let reason = "is not accepted: it is 0 in float32 (the smallest is about 1.4e-45): use a larger value, or precision float64\n"
        let infinite = "is not accepted: it is infinite in float32 (the largest is about 3.4e38): use a smaller value, or precision float64\n"
        for (flags, message) in [
            (["--optimizer", "adam", "--epsilon", "1e-50"], "error: --epsilon: '1e-50' " + reason),
            (["--optimizer", "rmsprop", "--epsilon", "1e-46"], "error: --epsilon: '1e-46' " + reason),
            (["--learning-rate", "1e-46"], "error: --learning-rate: '1e-46' " + reason),
            // Above float32's largest: infinity, a run that diverged at epoch 1 (hostile14 F8).
            (["--learning-rate", "1e39"], "error: --learning-rate: '1e39' " + infinite),  // quoted as typed (hostile15 F22)
            (["--optimizer", "adam", "--epsilon", "4e38"], "error: --epsilon: '4e38' " + infinite),
            (["--weight-decay", "1e39"], "error: --weight-decay: '1e39' " + infinite),
        ] {
            let result = try run("runner", ["train", "--dataset", "xor", "--epochs", "1", "--db", db] + flags, expect: 2)
            XCTAssertEqual(result.error, message)
        }
        let spec = directory.path("epsilon.yaml")
        try "method: grid\nfixed: {dataset: xor, epochs: 1, optimizer: rmsprop}\nparameters:\n  epsilon: {values: [1e-8, 1e-46]}\n"
            .write(toFile: spec, atomically: true, encoding: .utf8)
        let sweep = try run("runner", ["sweep", spec, "--db", db], expect: 2)
        XCTAssertEqual(sweep.error, "error: \(spec): the run with epsilon=1e-46: parameters.epsilon.values: '1e-46' " + reason)
        XCTAssertFalse(FileManager.default.fileExists(atPath: db), "nothing written")
        _ = try run("runner", ["train", "--dataset", "xor", "--epochs", "1", "--optimizer", "adam", "--epsilon", "1e-50",
                               "--precision", "float64", "--quiet", "--db", db], expect: 0)
        _ = try run("runner", ["train", "--dataset", "xor", "--epochs", "1", "--optimizer", "adam", "--epsilon", "1e-40", "--quiet", "--db", db], expect: 0)
        let runs = try SlopeStore(path: db, mode: .readOnly).runs(sweepID: nil)
        XCTAssertEqual(runs.map(\.status), [.completed, .completed])
    }
}
