// `report best`, `report grid` and the pivot behind the dashboard's heatmap on a sweep of 3,000 runs
// (made cheaply: queued in one transaction, their results set by UPDATE): the same answer as ranking
// every run (RunRanking, as runner's summary and the old `best` did), on both stores, while the rows
// they read (`SlopeStore.rowsRead`, of a store made to count them) stay bounded by what the answer needs, not by the sweep's runs.
import Foundation
import XCTest
@testable import Reporting
@testable import Store
import TestSupport

final class LargeSweepReportTests: XCTestCase {
    static let runCount = 3000

    /// Each run's status and value (best_train_loss; best_val_loss is twice it): ties (values on a
    /// grid of 1/64), +inf, -inf and NULL among them; failed and diverged runs hold the lowest
    /// values, which must never win.
    static let results: [(status: RunStatus, value: Double?)] = {
        var generator = TestRandom(seed: 21)
        return (0..<runCount).map { index in
            switch index % 41 {
            case 0: return (.failed, -5)
            case 1: return (.diverged, -4)
            case 2: return (.completed, .infinity)
            case 3: return (.completed, -.infinity)
            case 4: return (.queued, nil)
            case 5: return (.running, 0.5)
            case 6: return (.pruned, Double(generator.below(400)) / 64)
            default: return (.completed, Double(generator.below(400)) / 64)
            }
        }
    }()

    /// The sweep (id 1): each run its own learning rate (a random search), batch sizes 1 to 7.
    static func record(_ store: SlopeStore) throws {
        var generator = TestRandom(seed: 20)
        let runs = (0..<runCount).map { index in
            SlopeStore.NewRun.example(learningRate: exp(generator.uniform(log(0.001), 0)), batchSize: 1 + index % 7, seed: UInt64(index))
        }
        let (_, runIDs) = try store.createSweep(name: "large", specJSON: "{}", runs: runs)
        try store.write { c in
            for (id, result) in zip(runIDs, results) {
                try c.execute("UPDATE runs SET status = ?, best_train_loss = ?, best_val_loss = ? WHERE id = ?",
                              [result.status.rawValue, result.value, result.value.map { $0 * 2 }, id])
            }
        }
        try store.close()
    }

    /// The best run as every run ranked by RunRanking says (what `best` answered by reading them all).
    static func expectedBest(_ queries: RunQueries, filter: String?, column: RunColumn, goal: Goal) throws -> Int64? {
        let runs = try queries.runSummaries(sweepID: 1, filter: try filter.map(RunFilterParser.parse))
        let ranked = RunRanking.ranked(runs.filter { $0.status != .failed && $0.status != .diverged }, goal: goal) { $0.number(column) }
        return ranked.first.flatMap { run in run.number(column).map { $0.isFinite ? run.id : nil } ?? nil }
    }

    /// `body`'s result and the rows it read from `store`.
    static func counting<T>(_ store: SlopeStore, _ body: () throws -> T) throws -> (T, rows: Int) {
        let rowsRead = try XCTUnwrap(store.rowsRead, "a store that counts the rows it reads (countingRowsRead())")
        let before = rowsRead.total
        let result = try body()
        return (result, rowsRead.total - before)
    }

    /// The outputs of `assertReportsReadOnlyWhatTheyShow` on a new SQLite database of the sweep.
    private func sqliteOutputs() throws -> [String] {
        let directory = try TemporaryDirectory(prefix: "slope-large-sweep")
        defer { directory.remove() }
        let path = directory.path("large.db")
        try Self.record(try SlopeStore(path: path))
        let store = try SlopeStore(path: path, mode: .readOnly)
        defer { try? store.close() }
        return try assertReportsReadOnlyWhatTheyShow(store)
    }

    func testSQLiteReportsReadOnlyWhatTheyShow() throws {
        _ = try sqliteOutputs()
    }

    func testPostgreSQLReportsReadOnlyWhatTheyShowAsSQLiteDoes() throws {
        try withPostgresDatabase(prefix: "slope_large_", recording: Self.record) { store in
            let outputs = try assertReportsReadOnlyWhatTheyShow(store)
            // Byte for byte, but the runs' created_at (each store's clock when they were queued).
            func timeless(_ texts: [String]) -> [String] {
                texts.map { $0.replacingOccurrences(of: "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z", with: "<time>", options: .regularExpression) }
            }
            let expected = timeless(try sqliteOutputs())
            XCTAssertEqual(timeless(outputs).count, expected.count)
            for (index, (output, sqlite)) in zip(timeless(outputs), expected).enumerated() where output != sqlite {
                XCTFail("output \(index) differs from SQLite's: \(output.prefix(300)) instead of \(sqlite.prefix(300))")
            }
        }
    }

    /// Asserts `best` (several metrics, goals and filters), `grid` without axes and the pivot on the
    /// store's 3,000-run sweep; returns their outputs.
    private func assertReportsReadOnlyWhatTheyShow(_ store: SlopeStore) throws -> [String] {
        let store = store.countingRowsRead()
        let reporter = Reporter(queries: store.queries, style: TerminalStyle(width: 200, usesColor: false))
        var outputs: [String] = []
        for (metric, goal, filter) in [("best_train_loss", Goal.min, nil), ("best_train_loss", .max, nil), ("best_val_loss", .min, "batch_size = 3"),
                                       ("best_train_loss", .min, "id > 2000 and status != 'completed'"), ("learning_rate", .max, "batch_size < 3")] as [(String, Goal, String?)] {
            let what = "\(metric) \(goal) where \(filter ?? "-")"
            let expected = try XCTUnwrap(try Self.expectedBest(store.queries, filter: filter, column: try XCTUnwrap(RunColumn(rawValue: metric)), goal: goal), what)
            let (table, rows) = try Self.counting(store) { try reporter.best(sweepID: 1, metric: metric, goal: goal, filter: filter) }
            XCTAssertTrue(table.hasPrefix("best run of sweep 1 by \(metric) (\(goal.rawValue)): run \(expected) "), "\(what): \(table.prefix(120))")
            // The winner's own text, as `best` of it alone shows it.
            XCTAssertEqual(table, try reporter.best(sweepID: 1, metric: metric, goal: goal, filter: "id = \(expected)"), what)
            XCTAssertLessThanOrEqual(rows, 8, "\(what): rows read")
            let (csv, csvRows) = try Self.counting(store) { try reporter.best(sweepID: 1, metric: metric, goal: goal, filter: filter, format: .csv) }
            XCTAssertEqual(csv, try reporter.best(sweepID: 1, metric: metric, goal: goal, filter: "id = \(expected)", format: .csv), what)
            XCTAssertLessThanOrEqual(csvRows, 8, "\(what): rows read")
            outputs += [table, csv]
        }
        // Without --metric: the sweep's runs validate, so best_val_loss (a count says so, no run is read).
        let (byDefault, defaultRows) = try Self.counting(store) { try reporter.best(sweepID: 1) }
        XCTAssertTrue(byDefault.hasPrefix("best run of sweep 1 by best_val_loss (min): run "), byDefault)
        XCTAssertEqual(byDefault, try reporter.best(sweepID: 1, metric: "best_val_loss"))
        XCTAssertLessThanOrEqual(defaultRows, 8)
        outputs.append(byDefault)

        // No run can be best: the messages' counts come from one aggregate.
        let (refusal, refusalRows) = try Self.counting(store) {
            Result { try reporter.best(sweepID: 1, metric: "best_train_loss", filter: "status = 'failed' or status = 'diverged'") }
        }
        XCTAssertEqual(try? refusal.get(), nil)
        let failedOrDiverged = Self.results.filter { $0.status == .failed || $0.status == .diverged }.count
        XCTAssertEqual(refusal.failureText, "no run of sweep 1 matching --where can be best: all \(failedOrDiverged) failed or diverged "
                       + "(report runs --sweep 1 shows why)")
        XCTAssertLessThanOrEqual(refusalRows, 8)

        // The grid without --rows/--cols: its axes (learning_rate x batch_size) from counts of distinct
        // values, and refused as crowded before any run is read; csv lists the cells, one row read per run.
        let (crowded, crowdedRows) = try Self.counting(store) { Result { try reporter.grid(sweepID: 1) } }
        XCTAssertTrue(crowded.failureText?.hasPrefix("sweep 1: learning_rate has 3000 distinct values, too many for a table") ?? false,
                      crowded.failureText ?? "")
        XCTAssertLessThanOrEqual(crowdedRows, 8)
        let (cells, cellRows) = try Self.counting(store) { try reporter.grid(sweepID: 1, format: .csv) }
        XCTAssertEqual(cells, try reporter.grid(sweepID: 1, rows: "learning_rate", columns: "batch_size", format: .csv))
        XCTAssertEqual(cells.split(separator: "\n").count, 1 + Self.runCount)
        XCTAssertLessThanOrEqual(cellRows, Self.runCount + 8, "the pivot reads one row per run, and the axes and counts a few")
        outputs.append(cells)

        // The pivot of axes that fit: one row per run (its cell statistics), and a few counts.
        let (pivot, pivotRows) = try Self.counting(store) {
            try reporter.pivot(sweepID: 1, rows: "batch_size", columns: "status", metric: "best_train_loss", goal: nil)
        }
        XCTAssertEqual(pivot.prunedCount, Self.results.filter { $0.status == .pruned }.count)
        XCTAssertEqual(pivot.rowValues, (1...7).map { .integer(Int64($0)) })
        XCTAssertLessThanOrEqual(pivotRows, Self.runCount + 8)
        outputs.append(try reporter.grid(sweepID: 1, rows: "batch_size", columns: "status", metric: "best_train_loss"))
        return outputs
    }
}

private extension Result {
    /// The error's text; nil for a success.
    var failureText: String? {
        if case .failure(let error) = self { return "\(error)" }
        return nil
    }
}
