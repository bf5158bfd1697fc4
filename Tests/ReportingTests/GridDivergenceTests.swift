// `report grid` (and the heatmaps that share its pivot) treat diverged and failed runs as `report
// best` does: no result, left out of the cell's statistics and counted, a cell of only such runs
// named as such, and a cell with one ranked after the cells without; on hand-made runs.
import Foundation
import XCTest
@testable import Reporting
@testable import Store
import TestSupport

final class GridDivergenceTests: XCTestCase {
    private var directory: TemporaryDirectory!
    private var reporter: Reporter!

    /// best_train_loss of the 12 runs, 3 seeds per (learning_rate, batch_size) cell:
    /// (0.1, 8): 0.30, 0.32, 0.34, all completed: mean 0.32, std sqrt(0.0008 / 3);
    /// (0.1, 16): 0.20, 0.22 completed and 0.01 diverged (its loss before it blew up): mean 0.21 of 2,
    ///   where averaging all three (0.1433) made it the best cell;
    /// (1, 8): 5e11, 7e11, 9e11, all diverged: no value;
    /// (1, 16): 0.25, 0.27 completed and 0.05 failed: mean 0.26 of 2.
    override func setUpWithError() throws {
        directory = try TemporaryDirectory(prefix: "slope-grid-divergence")
        let path = directory.path("grid.db")
        try Self.record(into: try SlopeStore(path: path))
        reporter = Reporter(queries: try SlopeStore(path: path, mode: .readOnly).queries, style: TerminalStyle(width: 200, usesColor: false))
    }

    /// The 12 runs above, one epoch each, ended as listed; `store` closed at the end.
    static func record(into store: SlopeStore) throws {
        defer { try? store.close() }
        let cells: [(Double, Int, [(Double, RunStatus)])] = [
            (0.1, 8, [(0.30, .completed), (0.32, .completed), (0.34, .completed)]),
            (0.1, 16, [(0.20, .completed), (0.22, .completed), (0.01, .diverged)]),
            (1, 8, [(5e11, .diverged), (7e11, .diverged), (9e11, .diverged)]),
            (1, 16, [(0.25, .completed), (0.27, .completed), (0.05, .failed)]),
        ]
        let runs = cells.flatMap { learningRate, batchSize, values in
            values.indices.map { seed -> SlopeStore.NewRun in
                var run = SlopeStore.NewRun.example(learningRate: learningRate, batchSize: batchSize, seed: UInt64(seed))
                run.validationFraction = 0  // no validation data: the heatmap's metric is best_train_loss
                return run
            }
        }
        let (_, runIDs) = try store.createSweep(name: "divergence", specJSON: "{}", runs: runs)
        let worker = WorkerIdentity(host: "test-host", pid: 1, label: "test")
        for (runID, (loss, status)) in zip(runIDs, cells.flatMap(\.2)) {
            let claim = try XCTUnwrap(try store.claimRun(runID: runID, worker: worker))
            try store.writeEpoch(runID: runID, SlopeStore.EpochRecord(epoch: 0, trainLoss: loss, validationLoss: nil, seconds: 0.1),
                                 tensors: [], holder: RunHolder(worker: worker, claimToken: claim.claimToken))
            try store.finishRun(runID: runID, status: status, stopReason: status.rawValue,
                                error: status == .failed ? "out of memory" : nil)
        }
    }

    override func tearDown() { directory.remove() }

    /// Every run has ended, none with a validation loss (no validation split): `best` says so, without
    /// the "yet" that would have the user wait for values that will never come.
    func testBestOfAMetricNoFinishedRunHasSaysSoWithoutYet() throws {
        XCTAssertThrowsError(try reporter.best(sweepID: 1, metric: "best_val_loss")) { error in
            XCTAssertEqual(error as? ReportError, .noData("no run of sweep 1 has a value for best_val_loss: all 7 ended without one "
                                                          + "(choose another with --metric)"))
        }
    }

    func testDivergedAndFailedRunsAreLeftOutOfTheCellsAndCounted() throws {
        let csv = try reporter.grid(sweepID: 1, rows: "learning_rate", columns: "batch_size", metric: "best_train_loss", format: .csv)
        let lines = csv.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        XCTAssertEqual(lines[0], ["learning_rate", "batch_size", "runs", "values", "mean", "std", "min", "max", "best", "diverged", "failed"])
        let rows = lines.dropFirst().map { line in Dictionary(uniqueKeysWithValues: zip(lines[0], line)) }
        XCTAssertEqual(rows.map { [$0["learning_rate"]!, $0["batch_size"]!, $0["runs"]!, $0["values"]!, $0["best"]!, $0["diverged"]!, $0["failed"]!] },
                       [["0.1", "8", "3", "3", "1", "0", "0"], ["0.1", "16", "3", "2", "0", "1", "0"],
                        ["1.0", "8", "3", "0", "0", "3", "0"], ["1.0", "16", "3", "2", "0", "0", "1"]])
        func number(_ row: Int, _ key: String) -> Double? { Double(rows[row][key]!) }
        XCTAssertEqual(try XCTUnwrap(number(0, "mean")), 0.32, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(number(0, "std")), (0.0008 / 3).squareRoot(), accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(number(1, "mean")), 0.21, accuracy: 1e-12, "the diverged run's 0.01 is not averaged in")
        XCTAssertEqual(try XCTUnwrap(number(1, "min")), 0.20, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(number(1, "max")), 0.22, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(number(1, "std")), 0.01, accuracy: 1e-9)
        XCTAssertEqual(rows[2]["mean"], "", "no mean of 5e11, 7e11 and 9e11")
        XCTAssertEqual(rows[2]["min"], "")
        XCTAssertEqual(try XCTUnwrap(number(3, "mean")), 0.26, accuracy: 1e-12, "the failed run's 0.05 is not averaged in")

        // The table: counts after the mean, a cell of diverged runs says so, the best cell is the one without.
        let table = try reporter.grid(sweepID: 1, rows: "learning_rate", columns: "batch_size", metric: "best_train_loss")
        XCTAssertEqual(table, """
            best_train_loss of sweep 1: mean over the other parameters ± standard deviation (runs); * best (min)

            learning_rate \\ batch_size                 8                          16
            ────────────────────────────────────────────────────────────────────────
            0.1                         *0.32 ±0.016 (3)  0.21 ±0.01 (2, 1 diverged)
            1                                 3 diverged    0.26 ±0.01 (2, 1 failed)

            best: learning_rate=0.1 batch_size=8: 0.32
            left out of the means: 4 diverged, 1 failed (no result: report best never names such a run); \
            a cell with runs left out ranks after the cells without, as in report best

            """)
        XCTAssertFalse(table.contains("e+11"), table)

        // When every cell with a value has a run left out, the best of them.
        let filtered = try reporter.grid(sweepID: 1, rows: "learning_rate", columns: "batch_size", metric: "best_train_loss",
                                         filter: "batch_size = 16", format: .csv)
        XCTAssertEqual(filtered.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false)[8] }, ["best", "1", "0"])
        // Only completed runs: no note.
        XCTAssertFalse(try reporter.grid(sweepID: 1, metric: "best_train_loss", filter: "status = 'completed'").contains("left out"))
    }

    /// The HTML heatmap shows the same cells and note; `best` agrees on what is never best.
    func testTheHTMLHeatmapAndBestAgree() throws {
        let html = try reporter.html(sweepID: 1)
        XCTAssertNotNil(XMLCollector.parse(html))
        XCTAssertTrue(html.contains("<td style=\"background:#eeeeee\">3 diverged</td>"), html)
        XCTAssertTrue(html.contains("0.21 ± 0.01 (2, 1 diverged)</td>"), html)
        XCTAssertTrue(html.contains("★ 0.32 ± 0.016 (3)</td>"), html)
        XCTAssertTrue(html.contains("<p class=\"note\">left out of the means: 4 diverged, 1 failed (no result: "), html)
        // best, per run: 0.20 (run 4); the diverged 0.01 (run 6) and failed 0.05 (run 12) are never named.
        XCTAssertTrue(try reporter.best(sweepID: 1, metric: "best_train_loss", perRun: true, format: .csv).contains("\n4,"))
    }

    /// The same runs in a database of the PostgreSQL test server (SLOPE_TEST_POSTGRES_URL; skipped
    /// without it, failing under CI): the same grid, bit for bit, from the same SQL in its dialect.
    func testPostgreSQLGivesTheSameGrid() throws {
        try withPostgresDatabase(prefix: "slope_grid_", recording: Self.record) { store in
            let onPostgres = Reporter(queries: store.queries, style: TerminalStyle(width: 200, usesColor: false))
            for format in [OutputFormat.table, .csv] {
                XCTAssertEqual(try onPostgres.grid(sweepID: 1, rows: "learning_rate", columns: "batch_size", metric: "best_train_loss", format: format),
                               try reporter.grid(sweepID: 1, rows: "learning_rate", columns: "batch_size", metric: "best_train_loss", format: format))
            }
        }
    }
}
