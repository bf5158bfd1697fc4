// Runs with exactly the same metric value: runner's summary, `report best` (per run and by
// configuration), `compare`'s highlighted run and `grid`'s best cell all name the run queued
// first, on SQLite and PostgreSQL.
import Foundation
import XCTest
@testable import Reporting
@testable import Store
import TestSupport

final class TieRankingTests: XCTestCase {
    private var directory: TemporaryDirectory!

    override func setUpWithError() throws { directory = try TemporaryDirectory(prefix: "slope-ties") }
    override func tearDown() { directory.remove() }

    /// final_val_accuracy of runs 1 to 4 (learning rates 0.1, 0.2, 0.3, 0.4; one seed each): runs 1
    /// and 4 tie at 13/15 = 0.8666666666666667 (spirals, as a user found), in a sweep whose metric
    /// is val_accuracy (maximize).
    static let accuracies = [13.0 / 15, 0.5, 0.7, 13.0 / 15]

    static func record(into store: SlopeStore) throws {
        defer { try? store.close() }
        let runs = accuracies.indices.map { SlopeStore.NewRun.example(learningRate: 0.1 * Double($0 + 1), batchSize: 16) }
        let (_, runIDs) = try store.createSweep(name: "ties", specJSON: #"{"metric": {"name": "val_accuracy", "goal": "maximize"}}"#, runs: runs)
        let worker = WorkerIdentity(host: "test-host", pid: 1, label: "test")
        for (runID, accuracy) in zip(runIDs, accuracies) {
            let claim = try XCTUnwrap(try store.claimRun(runID: runID, worker: worker))
            try store.writeEpoch(runID: runID, SlopeStore.EpochRecord(epoch: 0, trainLoss: 0.5, validationLoss: 0.5, validationAccuracy: accuracy),
                                 tensors: [], holder: RunHolder(worker: worker, claimToken: claim.claimToken))
            try store.finishRun(runID: runID, status: .completed, stopReason: "completed")
        }
    }

    private func assertTheFirstRunIsBest(_ store: SlopeStore, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(13.0 / 15, 0.8666666666666667, file: file, line: line)
        let reporter = Reporter(queries: store.queries, style: TerminalStyle(width: 200, usesColor: false))
        for perRun in [false, true] {
            let best = try reporter.best(sweepID: 1, perRun: perRun, format: .csv)
            let lines = best.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
            let row = Dictionary(uniqueKeysWithValues: zip(lines[0], lines[1]))
            XCTAssertEqual(row["id"], "1", "report best\(perRun ? " --per-run" : ""): \(best)", file: file, line: line)
            XCTAssertEqual(row["final_val_accuracy"], "0.8666666666666667", file: file, line: line)
        }
        XCTAssertTrue(try reporter.best(sweepID: 1).hasPrefix("best run of sweep 1 by final_val_accuracy (max): run 1 lr="), file: file, line: line)

        let grid = try reporter.grid(sweepID: 1, rows: "learning_rate", columns: "batch_size", format: .csv)
        let lines = grid.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let cells = lines.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(lines[0], $0)) }
        XCTAssertEqual(cells.map { $0["learning_rate"]! }, ["0.1", "0.2", "0.30000000000000004", "0.4"], grid, file: file, line: line)
        XCTAssertEqual(cells.map { $0["best"]! }, ["1", "0", "0", "0"], "the cell of run 1, not of run 4: \(grid)", file: file, line: line)

        let summary = ProgressSummary.render(runs: try store.queries.runSummaries(sweepID: 1), metric: "val_accuracy", maximize: true,
                                             sweepID: 1, databaseArgument: "")
        XCTAssertTrue(summary.contains("* best run: 1 (highest final val_accuracy)"), summary, file: file, line: line)
        let marked = summary.split(separator: "\n").filter { $0.hasPrefix("*") && !$0.hasPrefix("* best") }
        XCTAssertEqual(marked.count, 1, summary, file: file, line: line)
        XCTAssertTrue(marked.first?.split(separator: " ").dropFirst().first == "1", summary, file: file, line: line)
    }

    func testTiesGoToTheRunQueuedFirstEverywhere() throws {
        let path = directory.path("ties.db")
        try Self.record(into: try SlopeStore(path: path))
        let store = try SlopeStore(path: path, mode: .readOnly)
        defer { try? store.close() }
        try assertTheFirstRunIsBest(store)
        // The rule itself: a finite value first, then the better one, then the lower id.
        XCTAssertTrue(RunRanking.ranksBefore((1, 0.5), (4, 0.5), goal: .max))
        XCTAssertFalse(RunRanking.ranksBefore((4, 0.5), (1, 0.5), goal: .min))
        XCTAssertTrue(RunRanking.ranksBefore((4, 0.6), (1, 0.5), goal: .max))
        XCTAssertTrue(RunRanking.ranksBefore((4, 0.4), (1, 0.5), goal: .min))
        XCTAssertTrue(RunRanking.ranksBefore((9, 0.9), (1, nil), goal: .min))
        XCTAssertTrue(RunRanking.ranksBefore((9, 0.9), (1, .nan), goal: .min))
        XCTAssertTrue(RunRanking.ranksBefore((1, nil), (2, nil), goal: .min))
    }

    func testTiesGoToTheRunQueuedFirstOnPostgreSQL() throws {
        try withPostgresDatabase(prefix: "slope_ties_", recording: Self.record) { store in try assertTheFirstRunIsBest(store) }
    }
}
