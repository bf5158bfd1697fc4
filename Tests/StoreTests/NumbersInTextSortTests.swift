// `--sort` by a text column of numbers (`hidden`, `layers`, `log_tensors`) compares the numbers as
// numbers ("32" before "128"), on both stores alike, with paging, descending order and missing
// values last as for every other sort; the comparison itself on hand-picked pairs.
import Foundation
import TestSupport
import XCTest
@testable import Store

final class NumbersInTextSortTests: XCTestCase {
    private var directory: TemporaryDirectory!
    private var database: TestDatabase?

    override func setUpWithError() throws { directory = try TemporaryDirectory(prefix: "slope-numbers-sort") }

    override func tearDown() {
        database?.drop()
        directory.remove()
    }

    func testNumbersInTextCompareAsNumbers() {
        let ascending = ["", "5", "007", "8", "10", "32", "64", "64,32", "64,128", "128", "128,4", "every", "final", "none"]
        for (index, a) in ascending.enumerated() {
            for b in ascending[(index + 1)...] {
                XCTAssertLessThan(RunColumn.compareNumbersInText(a, b), 0, "\(a) < \(b)")
                XCTAssertGreaterThan(RunColumn.compareNumbersInText(b, a), 0, "\(b) > \(a)")
            }
            XCTAssertEqual(RunColumn.compareNumbersInText(a, a), 0, a)
        }
        XCTAssertEqual(RunColumn.compareNumbersInText("7", "007"), 0, "leading zeros do not count")
        XCTAssertLessThan(RunColumn.compareNumbersInText("2-64-10", "2-128-10"), 0)
        XCTAssertLessThan(RunColumn.compareNumbersInText("99999999999999999999998", "99999999999999999999999"), 0, "beyond Int64")
        XCTAssertEqual(RunColumn.validNames.filter { RunColumn(rawValue: $0)!.holdsNumbersAsText }, ["hidden", "layers", "log_tensors"])
    }

    func testSQLiteSortsNumbersInTextAsNumbers() throws {
        try assertNumbersInTextSort(try SlopeStore(path: directory.path("slope.db")))
    }

    func testPostgreSQLSortsNumbersInTextAsNumbers() throws {
        let database = try PostgresTestCluster.makeDatabase()
        self.database = database
        try assertNumbersInTextSort(try SlopeStore(location: database.url))
    }

    private func assertNumbersInTextSort(_ store: SlopeStore) throws {
        defer { try? store.close() }
        // (layers, log_tensors) of runs 1...7; hidden is layers without the input and output widths.
        let runs: [(String, String?)] = [("2-128-10", "10"), ("2-32-10", "5"), ("2-10", "every"), ("2-64-32-10", nil),
                                         ("2-8-10", "100"), ("2-64-10", "final"), ("2-64-128-10", "20")]
        for (layers, logging) in runs {
            var run = SlopeStore.NewRun.example(layers: layers)
            if let logging { run.configJSON = #"{"tensorLogging": "\#(logging)"}"# }
            _ = try store.createRun(run)
        }
        let queries = store.queries
        func ids(_ column: RunColumn, descending: Bool = false, limit: Int? = nil, offset: Int = 0) throws -> [Int64] {
            try queries.runSummaries(sort: RunSort(column: column, descending: descending), limit: limit, offset: offset).map(\.id)
        }
        XCTAssertEqual(try queries.runSummaries().map { $0[.hidden] },
                       ["128", "32", "none", "64,32", "8", "64", "64,128"].map { RunValue.text($0) })
        // 8, 32, 64, 64,32, 64,128, 128, none (no hidden layer); by bytes it was 128, 32, 64, ... .
        XCTAssertEqual(try ids(.hidden), [5, 2, 6, 4, 7, 1, 3])
        XCTAssertEqual(try ids(.hidden, descending: true), [3, 1, 7, 4, 6, 2, 5])
        XCTAssertEqual(try ids(.hidden, limit: 3, offset: 2), [6, 4, 7])
        XCTAssertEqual(try ids(.layers), [5, 3, 2, 6, 4, 7, 1])  // 2-8-10 before 2-10: 8 < 10
        // 5, 10, 20, 100, every, final; run 4 stores no setting (NULL): last either way.
        XCTAssertEqual(try ids(.init(rawValue: "log_tensors")!), [2, 1, 7, 5, 3, 6, 4])
        XCTAssertEqual(try ids(.init(rawValue: "log_tensors")!, descending: true), [6, 3, 5, 7, 1, 2, 4])
        XCTAssertEqual(try ids(.init(rawValue: "log_tensors")!, limit: 3, offset: 5), [6, 4])
        // With a filter: only the matching runs, in the same order.
        let filtered = try queries.runSummaries(filter: .comparison(.hidden, .notEqual, .text("none")), sort: RunSort(column: .hidden))
        XCTAssertEqual(filtered.map(\.id), [5, 2, 6, 4, 7, 1])
        // Ties (two runs with the same value) go by id, in the sort's direction.
        _ = try store.createRun(.example(layers: "2-32-10"))
        XCTAssertEqual(try ids(.hidden, limit: 3), [5, 2, 8])
        XCTAssertEqual(try ids(.hidden, descending: true).suffix(3), [8, 2, 5])
    }
}
