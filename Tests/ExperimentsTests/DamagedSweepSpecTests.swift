// A sweep whose stored spec (sweeps.spec) was damaged by hand: a worker refuses to start on it
// with one error naming the sweep and the field, claims nothing and makes no trial, instead of
// finding "nothing to do" (a TPE sweep's trials would vanish) or training without its pruning.
import Foundation
@testable import Store
import TestSupport
import XCTest
@testable import Experiments

final class DamagedSweepSpecTests: XCTestCase {
    private var directory: TemporaryDirectory!

    override func setUpWithError() throws { directory = try TemporaryDirectory(prefix: "slope-damaged-spec") }
    override func tearDown() { directory.remove() }

    /// A database with one sweep from `yaml` whose stored spec then has `original` replaced by `damaged`.
    private func damagedSweep(_ yaml: String, replacing original: String, with damaged: String, name: String) throws -> SlopeStore {
        let store = try SlopeStore(path: directory.path("\(name).db"))
        let spec = try SweepSpec.parse(yaml: yaml, file: "s.yaml")
        let (sweepID, _) = try SweepPlan(spec: spec).enqueue(in: store)
        XCTAssertEqual(sweepID, 1)
        let text = try store.sweep(id: sweepID).specJSON
        XCTAssertTrue(text.contains(original), text)
        try store.write { c in _ = try c.execute("UPDATE sweeps SET spec = ? WHERE id = 1", [text.replacingOccurrences(of: original, with: damaged)]) }
        return store
    }

    static let tpe = """
        method: tpe
        count: 4
        metric: {name: train_loss}
        fixed: {dataset: xor, hidden: [4], epochs: 1, validation: 0}
        parameters:
          learning_rate: {distribution: log_uniform, min: 0.01, max: 1}
        """

    func testAWorkerRefusesADamagedTPESpecNamingTheSweepAndTheField() throws {
        let cases: [(original: String, damaged: String, reason: String)] = [
            (#""count":4"#, #""count":-5"#, "sweeps.spec: count: expected a whole number from 1 to 100000 (runs to draw)"),
            (#""method":"tpe""#, #""method":"bayes""#, "sweeps.spec: method: expected one of grid, random, tpe"),
            (#""gamma":0.1"#, #""gamma":0"#, "sweeps.spec: gamma: expected a fraction in (0, 1], e.g. 0.1 (the share of trials TPE counts as good)"),
            (#""min":0.01"#, #""min":-1"#, "sweeps.spec: parameters.learning_rate.min: log_uniform needs min > 0"),
        ]
        for (index, item) in cases.enumerated() {
            let store = try damagedSweep(Self.tpe, replacing: item.original, with: item.damaged, name: "tpe\(index)")
            defer { try? store.close() }
            let expected = "sweep 1 cannot be used: its stored spec is not valid: \(item.reason); correct it in the database "
                + "(docs/sweeps.md, How it is stored) or queue the sweep again"
            let attempts: [(String, (Worker) throws -> WorkSummary)] = [
                ("work --sweep 1", { try $0.work(sweepID: 1, jobs: 1) }),
                ("work", { try $0.work(sweepID: nil, jobs: 1) }),
                ("resume --sweep 1", { try $0.resume(sweepID: 1, runID: nil, jobs: 1, staleAfter: 300) }),
                ("resume", { try $0.resume(sweepID: nil, runID: nil, jobs: 1, staleAfter: 300) }),
            ]
            for (command, attempt) in attempts {
                XCTAssertThrowsError(try attempt(Worker(store: store)), "\(command), \(item.damaged)") { error in
                    XCTAssertEqual(error as? ExperimentsError, .corruptSweep(sweepID: 1, reason: item.reason), command)
                    XCTAssertEqual("\(error)", expected, command)
                    XCTAssertEqual((error as? ExperimentsError)?.isUsageError, false, "exit 1, as for a damaged runs.config")
                }
            }
            XCTAssertEqual(try store.runs(sweepID: 1).count, 0, "no trial made")
            XCTAssertEqual(try store.sweep(id: 1).status, .queued)
        }
    }

    /// A grid sweep's queued runs are not claimed (they would train without the sweep's pruning), and `--run` refuses too.
    /// (With a validation split: median pruning compares val_loss, and is refused without one.)
    func testAWorkerRefusesADamagedGridSpecAndLeavesItsRunsQueued() throws {
        let store = try damagedSweep("""
            fixed: {dataset: xor, hidden: [4], epochs: 4, validation: 0.5}
            parameters:
              learning_rate: {values: [0.1, 0.2]}
            early_terminate: {type: median, warmup_epochs: 1}
            """, replacing: #""warmup_epochs":1"#, with: #""warmup_epochs":-1"#, name: "grid")
        defer { try? store.close() }
        let reason = "sweeps.spec: early_terminate.warmup_epochs: expected a whole number from 0 to 1000000000"
        XCTAssertThrowsError(try Worker(store: store).work(sweepID: nil, jobs: 2)) { error in
            XCTAssertEqual(error as? ExperimentsError, .corruptSweep(sweepID: 1, reason: reason))
        }
        XCTAssertThrowsError(try Worker(store: store).resume(sweepID: nil, runID: 2, jobs: 1, staleAfter: 300)) { error in
            XCTAssertEqual(error as? ExperimentsError, .corruptSweep(sweepID: 1, reason: reason))
        }
        XCTAssertEqual(try store.runs(sweepID: 1).map(\.status), [.queued, .queued])
    }

    /// A sound spec still works: the guard costs nothing to a good sweep.
    func testASoundTPESpecIsTrained() throws {
        let store = try damagedSweep(Self.tpe, replacing: #""count":4"#, with: #""count":2"#, name: "sound")
        defer { try? store.close() }
        let summary = try Worker(store: store).work(sweepID: nil, jobs: 1)
        XCTAssertEqual(summary.outcomes.count, 2)
        XCTAssertEqual(try store.runs(sweepID: 1).map(\.status), [.completed, .completed])
        XCTAssertEqual(try store.sweep(id: 1).status, .completed)
    }
}
