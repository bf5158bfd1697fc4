// How `report html`'s runs table sorts: each cell carries its rank in its column (computed in Swift
// with `RunSort.ordered`, the order of `report runs --sort`), and the page's script only sorts rows
// by those integers. Here the ranks of real rows give, both ways, exactly the order `report runs
// --sort` prints; scripts/check-html clicks the headers in Chromium.
import XCTest
@testable import Reporting
import Store
import TestSupport

final class HTMLSortingTests: ReportTestCase {
    private var directory: TemporaryDirectory!

    override func setUpWithError() throws { directory = try TemporaryDirectory(prefix: "slope-html-sorting") }
    override func tearDown() { directory.remove() }

    /// Seven runs made to sort badly: numbers in names ("run 9", "run 10"), names beyond ASCII,
    /// layers whose numbers and bytes disagree, negative seeds (above 2^63), negative and infinite
    /// losses, ties in every column, and missing values (a queued run, runs without validation).
    private func awkwardSweep() throws -> SlopeStore {
        let store = try SlopeStore(path: directory.path("awkward.db"))
        // (name, learning rate, batch size, momentum, seed, layers, tensor logging, train losses, val loss, status)
        let runs: [(String?, Double, Int, Double, UInt64, String, String, [Double], Double?, RunStatus)] = [
            ("run 9", 0.1, 32, 0.9, 3, "64-8-10", "10", [0.5, -0.25], 0.5, .completed),
            ("run 10", 0.1, 8, 0.5, UInt64.max, "64-128-10", "every", [2, 1.5], nil, .completed),
            ("Zeta", 0.01, 32, 0, 7, "64-64-32-10", "final", [0.75, -3], 0.25, .diverged),
            (nil, 0.5, 16, 0.9, UInt64.max - 9, "64-8-10", "5", [], nil, .queued),
            ("run 10", 0.1, 32, 0, 3, "64-10", "final", [1.5, 1.5], 0.5, .running),
            ("éclair", 0.01, 8, 0.5, 0, "64-128-10", "100", [-0.25], nil, .completed),
            ("run 2", 0.5, 8, 0.9, 12, "64-8-10", "20", [1, .infinity], 2, .diverged),
        ]
        let newRuns = runs.map { run -> SlopeStore.NewRun in
            var new = SlopeStore.NewRun.example(name: run.0, learningRate: run.1, batchSize: run.2, momentum: run.3, seed: run.4, layers: run.5)
            new.configJSON = #"{"tensorLogging": "\#(run.6)"}"#
            return new
        }
        let (_, ids) = try store.createSweep(name: "awkward", specJSON: "{}", runs: newRuns)
        let worker = WorkerIdentity(host: "test-host", pid: 1, label: "test")
        for (id, run) in zip(ids, runs) where run.9 != .queued {
            let token = try XCTUnwrap(try store.claimRun(runID: id, worker: worker)?.claimToken)
            for (epoch, loss) in run.7.enumerated() {
                try store.writeEpoch(runID: id, SlopeStore.EpochRecord(epoch: epoch, trainLoss: loss, validationLoss: run.8, seconds: 0.5),
                                     tensors: [], holder: RunHolder(worker: worker, claimToken: token))
            }
            if run.9 != .running { try store.finishRun(runID: id, status: run.9, stopReason: "test") }
        }
        return store
    }

    /// The runs table of a page: its column names, and per row the run's id and each cell's rank.
    private func runsTable(_ page: String) throws -> (columns: [String], rows: [(id: Int64, ranks: [Int?])]) {
        let table = try XCTUnwrap(page.components(separatedBy: #"<table class="sortable" id="runs">"#).dropFirst().first?
            .components(separatedBy: "</table>").first)
        let parts = table.components(separatedBy: "</thead>")
        let columns = parts[0].components(separatedBy: "<th>").dropFirst().map { String($0.prefix { $0 != "<" }) }
        let rows = try parts[1].components(separatedBy: "<tr>").dropFirst().map { row -> (id: Int64, ranks: [Int?]) in
            let cells = row.components(separatedBy: "<td").dropFirst()
            XCTAssertEqual(cells.count, columns.count, row)
            func attribute(_ name: String, _ cell: String) -> String? {
                cell.prefix { $0 != ">" }.components(separatedBy: " \(name)=\"").dropFirst().first.map { String($0.prefix { $0 != "\"" }) }
            }
            let id = try XCTUnwrap(attribute("data-v", try XCTUnwrap(cells.first)).flatMap { Int64($0) }, row)
            return (id, cells.map { attribute("data-rank", $0).flatMap { Int($0) } })
        }
        return (columns, rows)
    }

    /// The ids in the order the page's script puts the rows when `column`'s header is clicked: those
    /// with a rank by rank (that way), then those without in the page's order.
    private func clickedOrder(_ rows: [(id: Int64, ranks: [Int?])], column: Int, descending: Bool) -> [Int64] {
        let ranked = rows.filter { $0.ranks[column] != nil }.sorted { a, b in
            descending ? a.ranks[column]! > b.ranks[column]! : a.ranks[column]! < b.ranks[column]!
        }
        return (ranked + rows.filter { $0.ranks[column] == nil }).map(\.id)
    }

    /// The ids in the order `report runs --sweep ID --sort [-]column --format csv` prints them.
    private func printedOrder(_ reporter: Reporter, sweepID: Int64, column: String, descending: Bool) throws -> [Int64] {
        let csv = try reporter.runs(sweepID: sweepID, sort: (descending ? "-" : "") + column, format: .csv)
        return csv.split(separator: "\n").dropFirst().map { line in Int64(line.prefix { $0 != "," }) ?? -1 }
    }

    /// Every column of the page's runs table, both ways, sorts as `report runs --sort` prints; the
    /// ranks of a column are 0, 1, 2... (no two alike: the script needs no tie-break).
    private func assertPageSortsAsReportRuns(_ reporter: Reporter, sweepID: Int64, file: StaticString = #filePath,
                                             line: UInt = #line) throws -> [String: [Int64]] {
        let (columns, rows) = try runsTable(try reporter.html(sweepID: sweepID))
        XCTAssertEqual(rows.map(\.id), rows.map(\.id).sorted(), "the page lists the runs by id", file: file, line: line)
        var ascending: [String: [Int64]] = [:]
        for (index, column) in columns.enumerated() {
            let ranks = rows.compactMap { $0.ranks[index] }
            XCTAssertEqual(ranks.sorted(), Array(0..<ranks.count), column, file: file, line: line)
            for descending in [false, true] {
                XCTAssertEqual(clickedOrder(rows, column: index, descending: descending),
                               try printedOrder(reporter, sweepID: sweepID, column: column, descending: descending),
                               "\(descending ? "-" : "")\(column)", file: file, line: line)
            }
            ascending[column] = clickedOrder(rows, column: index, descending: false)
        }
        return ascending
    }

    func testRanksSortEveryColumnAsReportRunsSortBothWays() throws {
        let store = try awkwardSweep()
        defer { try? store.close() }
        let reporter = Reporter(queries: store.queries, style: TerminalStyle(width: 100, usesColor: false))
        let ascending = try assertPageSortsAsReportRuns(reporter, sweepID: 1)
        XCTAssertEqual(Set(ascending.keys), ["id", "name", "status", "stop_reason", "learning_rate", "batch_size", "momentum", "seed",
                                            "log_tensors", "layers", "epochs_done", "final_train_loss", "final_val_loss",
                                            "best_train_loss", "best_val_loss", "best_epoch"])
        // By hand. Names by their bytes, as --sort does ("run 10" before "run 9", "Zeta" first, "é"
        // last), ties by id, the queued run's missing name last.
        XCTAssertEqual(ascending["name"], [3, 2, 5, 7, 1, 6, 4])
        // Layers by their numbers: 8 before 10 before 64 before 128 (by bytes: 64-10, 64-128-10, 64-64-32-10, 64-8-10).
        XCTAssertEqual(ascending["layers"], [1, 4, 7, 5, 3, 2, 6])
        XCTAssertEqual(ascending["log_tensors"], [4, 1, 7, 6, 2, 3, 5])
        // Seeds above 2^63 are stored (and sorted) as negative integers: UInt64.max - 9 is -10.
        XCTAssertEqual(ascending["seed"], [4, 2, 6, 1, 5, 3, 7])
        XCTAssertEqual(ascending["momentum"], [3, 5, 2, 6, 1, 4, 7])
        // Negative losses first, ties (-0.25, 1.5) by id, infinity after every number, missing last.
        XCTAssertEqual(ascending["final_train_loss"], [3, 1, 6, 2, 5, 7, 4])
        XCTAssertEqual(ascending["final_val_loss"], [3, 1, 5, 7, 2, 4, 6])
        // Descending reverses the runs with a value; the missing ones stay last, by id.
        let (columns, rows) = try runsTable(try reporter.html(sweepID: 1))
        XCTAssertEqual(clickedOrder(rows, column: try XCTUnwrap(columns.firstIndex(of: "final_val_loss")), descending: true), [7, 5, 1, 3, 2, 4, 6])
        XCTAssertEqual(clickedOrder(rows, column: try XCTUnwrap(columns.firstIndex(of: "name")), descending: true), [6, 1, 7, 5, 2, 3, 4])
    }

    func testFixturePageSortsAsReportRuns() throws {
        let ascending = try assertPageSortsAsReportRuns(try reporter(), sweepID: 1)
        XCTAssertEqual(ascending["learning_rate"], [1, 2, 3, 4, 5, 6, 7, 8])
        XCTAssertEqual(ascending["final_val_loss"]?.count, 8)
    }

    /// The page sorts with ranks only: no comparison of values left in its script.
    func testTheScriptSortsByRanksOnly() throws {
        let page = try reporter().html(sweepID: 1)
        XCTAssertTrue(page.contains("getAttribute('data-rank')"))
        XCTAssertFalse(page.contains("compareNumbersInText"))
        XCTAssertFalse(page.contains("data-sort"))
        XCTAssertFalse(page.contains("charCodeAt"))
    }
}
