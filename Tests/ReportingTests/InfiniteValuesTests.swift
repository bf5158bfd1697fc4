// Runs whose metric is infinite (hand-made: a completed run that stored an inf or -inf loss):
// `report best` says that every value is infinite rather than that there is none, and `grid`
// shows the infinite means and why no cell is best, as the HTML heatmap does.
import Foundation
import XCTest
@testable import Reporting
@testable import Store
import TestSupport

final class InfiniteValuesTests: XCTestCase {
    private var directory: TemporaryDirectory!
    private var reporter: Reporter!
    private var path: String!

    /// best_train_loss of the runs, by (learning_rate, batch_size) cell:
    /// (0.1, 8): inf, inf; (0.1, 16): -inf; (1, 8): inf, -inf (no mean: nan); (1, 16): 0.5 failed, and a
    /// run left queued (no value).
    override func setUpWithError() throws {
        directory = try TemporaryDirectory(prefix: "slope-infinite")
        path = directory.path("infinite.db")
        let store = try SlopeStore(path: path)
        _ = try store.recordSweep(name: "infinite", [
            HandMadeRun(0.1, 8, .infinity, .completed), HandMadeRun(0.1, 8, .infinity, .completed), HandMadeRun(0.1, 16, -.infinity, .completed),
            HandMadeRun(1, 8, .infinity, .completed), HandMadeRun(1, 8, -.infinity, .completed), HandMadeRun(1, 16, 0.5, .failed),
            HandMadeRun(1, 16, nil, .queued),
        ])
        try store.close()
        reporter = Reporter(queries: try SlopeStore(path: path, mode: .readOnly).queries, style: TerminalStyle(width: 200, usesColor: false))
    }

    override func tearDown() { directory.remove() }

    func testBestSaysEveryValueIsInfinite() throws {
        for perRun in [false, true] {
            XCTAssertThrowsError(try reporter.best(sweepID: 1, metric: "best_train_loss", perRun: perRun)) { error in
                XCTAssertEqual(error as? ReportError, .noData("no run of sweep 1 can be best by best_train_loss: the runs with a value all "
                                                              + "have an infinite one (3 inf, 2 -inf; 1 run has none yet), and infinity is no "
                                                              + "result to rank (report runs --sweep 1 shows them)"))
            }
        }
        XCTAssertThrowsError(try reporter.best(sweepID: 1, metric: "best_train_loss", filter: "status = 'completed'")) { error in
            XCTAssertEqual(error as? ReportError, .noData("no run of sweep 1 matching --where can be best by best_train_loss: every run's "
                                                          + "value is infinite (3 inf, 2 -inf), and infinity is no result to rank "
                                                          + "(report runs --sweep 1 shows them)"))
        }
        // Without any value at all, as before.
        XCTAssertThrowsError(try reporter.best(sweepID: 1, metric: "best_train_loss", filter: "status = 'queued'")) { error in
            XCTAssertEqual(error as? ReportError, .noData("no run of sweep 1 has a value for best_train_loss yet"))
        }
    }

    func testGridShowsTheInfiniteMeansAndWhyNoCellIsBest() throws {
        let table = try reporter.grid(sweepID: 1, rows: "learning_rate", columns: "batch_size", metric: "best_train_loss")
        XCTAssertEqual(table, """
            best_train_loss of sweep 1: mean over the other parameters ± standard deviation (runs); * best (min)

            learning_rate \\ batch_size        8        16
            ─────────────────────────────────────────────
            0.1                         inf (2)      -inf
            1                           nan (2)  1 failed
            no cell is marked best: no cell's mean is a number to rank (inf or -inf: a run's value is infinite; nan: a cell holds both)
            left out of the means: 1 failed (no result: report best never names such a run); \
            a cell with runs left out ranks after the cells without, as in report best

            """)
        let csv = try reporter.grid(sweepID: 1, rows: "learning_rate", columns: "batch_size", metric: "best_train_loss", format: .csv)
        XCTAssertEqual(csv, """
            learning_rate,batch_size,runs,values,mean,std,min,max,best,diverged,failed
            0.1,8,2,2,inf,,inf,inf,0,0,0
            0.1,16,1,1,-inf,,-inf,-inf,0,0,0
            1.0,8,2,2,nan,,-inf,inf,0,0,0
            1.0,16,2,0,,,,,0,0,1

            """)
        // JSON has no infinity or NaN: they are null there (docs/cli-report.md, Output), the values still counted.
        let json = try reporter.grid(sweepID: 1, rows: "learning_rate", columns: "batch_size", metric: "best_train_loss", format: .json)
        let cells = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
        XCTAssertEqual(cells.count, 4)
        for (cell, values) in zip(cells.prefix(3), [2, 1, 2]) {
            XCTAssertEqual(cell["values"] as? Int, values, "\(cell)")
            for key in ["mean", "std", "min", "max"] { XCTAssertTrue(cell[key] is NSNull, "\(key) of \(cell)") }
        }
        // The HTML heatmap says the same.
        XCTAssertTrue(try reporter.html(sweepID: 1).contains("<p class=\"note\">no cell is marked best: no cell&#39;s mean is a number to rank"))
        // Cells without any value (a failed and a queued run) have no mean to rank: the note says that
        // instead (hostile15 F22: no cell was marked and nothing said why, as the docs promise).
        let filtered = try reporter.grid(sweepID: 1, rows: "learning_rate", columns: "batch_size", metric: "best_train_loss",
                                         filter: "id >= 6")
        XCTAssertFalse(filtered.contains("no cell's mean is a number to rank"), filtered)
        XCTAssertTrue(filtered.contains("\nno cell is marked best: no run in the cells has a value of best_train_loss to rank "
                                        + "(runs that diverged or failed have no result)\n"), filtered)
    }

    /// `compare`'s best column is the best value as stored (`report runs`' best_train), infinite
    /// included; no run is highlighted for one; a curve of infinite values is named as not plotted.
    func testCompareShowsTheStoredBestAndHighlightsNoInfiniteRun() throws {
        let compared = try reporter.compare(runIDs: [1, 3, 6])
        XCTAssertTrue(compared.hasPrefix("""
            train_loss of 3 runs: final and best value, epoch of the best

            id  status     done  final  best  best_ep  learning_rate  batch_size  seed
            ──────────────────────────────────────────────────────────────────────────
             1  completed     0    inf   inf        0            0.1           8     0
             3  completed     0   -inf  -inf        0            0.1          16     2
             6  failed        0    0.5   0.5        0              1          16     5

            """), compared)
        XCTAssertTrue(compared.contains("no train_loss to plot for: run 1 lr=0.1 bs=8 seed=0, run 3 lr=0.1 bs=16 seed=2\n"), compared)
        // In colour, only a highlighted row is green (32): none of these (the failed run never is).
        let colored = Reporter(queries: try SlopeStore(path: path, mode: .readOnly).queries, style: TerminalStyle(width: 200, usesColor: true))
        XCTAssertFalse(try colored.compare(runIDs: [1, 3, 6]).contains("\u{1B}[32m"))
        XCTAssertTrue(try colored.compare(runIDs: [1, 2, 4]).split(separator: "\n").filter { $0.contains("\u{1B}[32m") }.isEmpty)
        let runs = try reporter.runs(sweepID: 1, filter: "id = 1 or id = 3", format: .csv)
        XCTAssertTrue(runs.contains(",inf,") && runs.contains(",-inf,"), runs)
    }
}
