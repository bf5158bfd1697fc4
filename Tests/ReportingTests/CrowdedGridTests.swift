// A pivot over settings with many distinct values (a random or TPE search samples a new number per
// run): its cells are found in one pass over the cells, not by a lookup for every (row, column)
// pair, with the same statistics to the bit; `report grid` refuses to draw a table of more than 50
// values per axis and `report html` leaves its heatmap out with a note; on hand-made runs.
import Foundation
import XCTest
@testable import Reporting
@testable import Store
import TestSupport

final class CrowdedGridTests: XCTestCase {
    private var directory: TemporaryDirectory!
    private var reporter: Reporter!
    /// Each run's (learning rate, batch size, best_train_loss, status), in run id order.
    private var runs: [(learningRate: Double, batchSize: Int, loss: Double, status: RunStatus)] = []

    /// 360 runs over 60 learning rates x 4 batch sizes (each pair 1 or 2 runs), seeded random losses,
    /// every 23rd run diverged and every 31st failed (left out of their cells' statistics).
    override func setUpWithError() throws {
        directory = try TemporaryDirectory(prefix: "slope-crowded-grid")
        let path = directory.path("crowded.db")
        var generator = TestRandom(seed: 12)
        runs = (0..<360).map { index in
            (0.001 * Double(index % 60 + 1), [8, 16, 32, 64][(index / 7) % 4], generator.uniform(0.1, 2),
             index % 23 == 0 ? .diverged : index % 31 == 0 ? .failed : .completed)
        }
        let store = try SlopeStore(path: path)
        _ = try store.recordSweep(name: "crowded", runs.map { HandMadeRun($0.learningRate, $0.batchSize, $0.loss, $0.status) })
        try store.close()
        reporter = Reporter(queries: try SlopeStore(path: path, mode: .readOnly).queries, style: TerminalStyle(width: 200, usesColor: false))
    }

    override func tearDown() { directory.remove() }

    func testCellsOfManyValuesAreThoseOfEveryRowAndColumnPairWithTheSameBits() throws {
        let pivot = try reporter.pivot(sweepID: 1, rows: "learning_rate", columns: "batch_size", metric: "best_train_loss", goal: nil)
        XCTAssertEqual(pivot.rowValues, (1...60).map { .real(0.001 * Double($0)) })
        XCTAssertEqual(pivot.columnValues, [.integer(8), .integer(16), .integer(32), .integer(64)])
        // The cells in the order a loop over every (row, column) pair finds them.
        let everyPair = pivot.rowValues.flatMap { row in pivot.columnValues.compactMap { pivot.cell(row, $0) } }
        XCTAssertEqual(pivot.orderedCells, everyPair)
        // Each cell's statistics, computed here from the runs grouped by hand in id order.
        var groups: [String: (runs: Int, values: [Double], diverged: Int, failed: Int)] = [:]
        for run in runs {
            var group = groups["\(run.learningRate)|\(run.batchSize)", default: (0, [], 0, 0)]
            group.runs += 1
            switch run.status {
            case .diverged: group.diverged += 1
            case .failed: group.failed += 1
            default: group.values.append(run.loss)
            }
            groups["\(run.learningRate)|\(run.batchSize)"] = group
        }
        XCTAssertEqual(pivot.orderedCells.count, groups.count)
        for cell in pivot.orderedCells {
            guard case .real(let learningRate) = cell.rowValue, case .integer(let batchSize) = cell.columnValue else {
                return XCTFail("cell \(cell)")
            }
            let group = try XCTUnwrap(groups["\(learningRate)|\(batchSize)"])
            let expected = CellStatistics(group.values)
            XCTAssertEqual([cell.runCount, cell.valueCount, cell.divergedCount, cell.failedCount],
                           [group.runs, group.values.count, group.diverged, group.failed], "\(learningRate) x \(batchSize)")
            XCTAssertEqual(cell.mean?.bitPattern, expected?.mean.bitPattern, "\(learningRate) x \(batchSize)")
            XCTAssertEqual(cell.standardDeviation?.bitPattern, expected?.standardDeviation?.bitPattern, "\(learningRate) x \(batchSize)")
            XCTAssertEqual(cell.minimum, expected?.minimum)
            XCTAssertEqual(cell.maximum, expected?.maximum)
        }
        // csv lists the same cells in the same order, one record each, whatever the count of values.
        let csv = try reporter.grid(sweepID: 1, rows: "learning_rate", columns: "batch_size", metric: "best_train_loss", format: .csv)
        let records = csv.split(separator: "\n").dropFirst().map { $0.split(separator: ",").prefix(3).map(String.init) }
        XCTAssertEqual(records, pivot.orderedCells.map { cell -> [String] in
            guard case .real(let learningRate) = cell.rowValue, case .integer(let batchSize) = cell.columnValue else { return [] }
            return [Reporter.cell(.real(learningRate)).exact, "\(batchSize)", "\(cell.runCount)"]
        })
    }

    func testGridRefusesATableOfMoreThanFiftyValuesPerAxis() throws {
        XCTAssertThrowsError(try reporter.grid(sweepID: 1, rows: "learning_rate", columns: "batch_size")) { error in
            XCTAssertEqual(error as? ReportError, .invalidArgument(
                "sweep 1: learning_rate has 60 distinct values, too many for a table (at most 50 per axis; a random or TPE search "
                + "samples a new one per run): see which settings matter with `report importance --sweep 1`, choose other "
                + "--rows/--cols, narrow the runs with --where, or list the cells with --format csv"))
            XCTAssertTrue((error as? ReportError)?.isUsageError ?? false)
        }
        // Both axes named when both are crowded (seed: one per run).
        XCTAssertThrowsError(try reporter.grid(sweepID: 1, rows: "seed", columns: "learning_rate")) { error in
            XCTAssertTrue("\(error)".hasPrefix("sweep 1: seed has 360 distinct values and learning_rate has 60 distinct values, too many"), "\(error)")
        }
        // Narrowed to 50 learning rates by --where: the table is drawn.
        let table = try reporter.grid(sweepID: 1, rows: "learning_rate", columns: "batch_size", filter: "learning_rate < 0.0505")
        XCTAssertEqual(table.split(separator: "\n").filter { $0.hasPrefix("0.0") }.count, 50, table)
    }

    /// The refusal decided from a count before any run is read is the pivot's, word for word; a
    /// wrong argument is still reported as before, not hidden by the refusal.
    func testRefusalFromACountIsThePivotsAndArgumentErrorsComeFirst() throws {
        let remedies = "choose other axes"
        for (rows, columns, filter) in [("learning_rate", "batch_size", nil), ("seed", "learning_rate", nil),
                                        ("learning_rate", "batch_size", "learning_rate < 0.0505"), ("batch_size", "status", "status = 'failed'")] {
            let pivot = try reporter.pivot(sweepID: 1, rows: rows, columns: columns, metric: nil, goal: nil, filter: filter)
            XCTAssertEqual(try reporter.crowdedAxesRefusal(sweepID: 1, rows: rows, columns: columns, metric: nil, filter: filter, remedies: remedies),
                           pivot.crowdedAxesRefusal(sweepID: 1, remedies: remedies), "\(rows) x \(columns) where \(filter ?? "-")")
        }
        XCTAssertEqual(try reporter.crowdedAxesRefusal(sweepID: 1, rows: "learning_rate", columns: "batch_size", metric: nil, filter: nil,
                                                       remedies: remedies),
                       "sweep 1: learning_rate has 60 distinct values, too many for a table (at most 50 per axis; a random or TPE search "
                       + "samples a new one per run): choose other axes")
        XCTAssertThrowsError(try reporter.grid(sweepID: 1, rows: "learning_rate", columns: "batch_size", metric: "nosuch")) { error in
            XCTAssertFalse("\(error)".contains("too many for a table"), "\(error)")
        }
        XCTAssertThrowsError(try reporter.grid(sweepID: 1, rows: "seed", columns: "seed")) { error in
            XCTAssertEqual(error as? ReportError, .invalidArgument(Reporter.sameAxesMessage(.seed)))
        }
        XCTAssertThrowsError(try reporter.grid(sweepID: 7, rows: "seed", columns: "learning_rate")) { error in
            XCTAssertEqual(error as? ReportError, .unknownSweep(7))
        }
    }

    func testHTMLLeavesTheHeatmapOutWithANote() throws {
        let html = try reporter.html(sweepID: 1)
        XCTAssertFalse(html.contains("<table class=\"heatmap\">"))
        XCTAssertTrue(html.contains("<p class=\"note\">No heatmap: learning_rate has 60 distinct values, more than 50 per axis (a random "
                                    + "or TPE search samples a new one per run): the table would be nearly empty. <code>report importance "
                                    + "--sweep 1</code> shows which settings matter (numbers in quantile bins).</p>"), html)
        // With 50 learning rates, the heatmap is back.
        XCTAssertTrue(try reporter.html(sweepID: 1, filter: "learning_rate < 0.0505").contains("<table class=\"heatmap\">"))
    }
}
