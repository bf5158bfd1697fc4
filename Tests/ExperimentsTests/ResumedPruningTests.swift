// Pruning across an interruption: a sweep stopped by Ctrl-C at the epoch a run is pruned at, or
// killed after that epoch's commit, then resumed, ends as the uninterrupted sweep did (ASHA, median).
import GRDB
import Store
import TestSupport
import XCTest
@testable import Experiments

final class ResumedPruningTests: XCTestCase {
    private var directory: TemporaryDirectory!

    override func setUpWithError() throws { directory = try TemporaryDirectory(prefix: "slope-resumed-pruning") }
    override func tearDown() { directory.remove() }

    /// A run as the sweep's outcome compares it: every epoch's losses as bits.
    private struct RunResult: Equatable {
        var id: Int64
        var status: RunStatus
        var stopReason: String?
        var epochsDone: Int
        var losses: [[UInt64?]]
    }

    private func results(_ store: SlopeStore) throws -> [RunResult] {
        try store.runs(sweepID: nil).map { run in
            RunResult(id: run.id, status: run.status, stopReason: run.stopReason, epochsDone: run.epochsDone,
                      losses: try store.epochs(runID: run.id).map { [$0.trainLoss?.bitPattern, $0.validationLoss?.bitPattern] })
        }
    }

    /// The hostile tester's sweep: four learning rates on digits, one run at a time.
    private func spec(pruning: String) throws -> SweepSpec {
        try SweepSpec.parse(yaml: """
            fixed: {dataset: digits, epochs: 6, hidden: [32], batch_size: 64}
            parameters: {learning_rate: {values: [0.3, 0.01, 0.2, 0.003]}}
            early_terminate: \(pruning)
            """, file: "a.yaml")
    }

    func testAnInterruptedSweepPrunesAsTheUninterruptedOne() throws {
        for (name, pruning) in [("asha", "{type: asha, min_epochs: 1, reduction_factor: 2}"),
                                ("median", "{type: median, warmup_epochs: 1}")] {
            let spec = try spec(pruning: pruning)
            let reference = try SlopeStore(path: directory.path("\(name)-reference.db"))
            let (sweepID, _) = try SweepPlan(spec: spec).enqueue(in: reference)
            _ = try Worker(store: reference).work(sweepID: sweepID, jobs: 1)
            let expected = try results(reference)
            // A run pruned before its last epoch, with a run after it: the case worth interrupting.
            let pruned = try XCTUnwrap(expected.dropLast().first { $0.status == .pruned && $0.epochsDone < 6 }, "\(name): \(expected)")

            // Ctrl-C during the epoch the run is pruned at: the rule still judges that epoch.
            let stoppedPath = directory.path("\(name)-stopped.db")
            var stopped = try SlopeStore(path: stoppedPath)
            _ = try SweepPlan(spec: spec).enqueue(in: stopped)
            let stop = StopSignal()
            let summary = try Worker(store: stopped, stop: stop, onEvent: { event in
                if case let .epochFinished(runID, epoch, _, _, _) = event, runID == pruned.id, epoch == pruned.epochsDone { stop.request() }
            }).work(sweepID: sweepID, jobs: 1)
            XCTAssertEqual(summary.outcomes[pruned.id], .finished(.pruned, reason: pruned.stopReason ?? ""), name)
            XCTAssertTrue(summary.wasInterrupted, "\(name): the runs after it are left queued")
            try stopped.close()

            // Killed after that epoch's commit, before the run was ended (also what Ctrl-C left
            // before the rule judged interrupted epochs): the resume judges the stored epoch first.
            let crashedPath = directory.path("\(name)-crashed.db")
            try FileManager.default.copyItem(atPath: stoppedPath, toPath: crashedPath)
            let queue = try DatabaseQueue(path: crashedPath)
            try queue.write { db in
                try db.execute(sql: """
                    UPDATE runs SET status = 'queued', stop_reason = 'interrupted at epoch \(pruned.epochsDone)', finished_at = NULL
                    WHERE id = ?
                    """, arguments: [pruned.id])
                try db.execute(sql: "UPDATE sweeps SET status = 'interrupted'")
            }
            try queue.close()
            let crashed = try SlopeStore(path: crashedPath)
            let resumed = try Worker(store: crashed).resume(sweepID: nil, runID: nil, jobs: 1, staleAfter: 60)
            XCTAssertEqual(resumed.outcomes[pruned.id], .finished(.pruned, reason: pruned.stopReason ?? ""), name)
            XCTAssertEqual(try results(crashed), expected, "\(name): resumed after a crash")
            XCTAssertEqual(try crashed.sweep(id: sweepID).status, .completed, name)

            stopped = try SlopeStore(path: stoppedPath)
            _ = try Worker(store: stopped).resume(sweepID: nil, runID: nil, jobs: 1, staleAfter: 60)
            XCTAssertEqual(try results(stopped), expected, "\(name): resumed after Ctrl-C")
            XCTAssertEqual(try stopped.sweep(id: sweepID).status, .completed, name)
        }
    }
}
