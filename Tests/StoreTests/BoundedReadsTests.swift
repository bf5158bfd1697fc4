// The queries that let reports and the dashboard answer for a large sweep or a long run without
// reading all of it, on both stores: the best run and the ranking's counts (one row), whether two
// runs share their settings (one grouping), a run's epochs paged and thinned; and the rows a store's
// reads return (`rowsRead`, on a store made to count them: `countingRowsRead()`) and the read-began
// callback the dashboard tells a slow request by.
import Foundation
import TestSupport
import XCTest
@testable import Store

final class BoundedReadsTests: BothStoresTestCase {
    func testSQLiteRankingQueries() throws { try assertRankingQueries(try sqliteStore()) }
    func testPostgreSQLRankingQueries() throws { try assertRankingQueries(try postgresStore()) }
    func testSQLiteEpochPages() throws { try assertEpochPages(try sqliteStore()) }
    func testPostgreSQLEpochPages() throws { try assertEpochPages(try postgresStore()) }
    func testSQLiteTensorEpochPages() throws { try assertTensorEpochPages(try sqliteStore()) }
    func testPostgreSQLTensorEpochPages() throws { try assertTensorEpochPages(try postgresStore()) }

    /// Hand-made runs: ids 1-8 of sweep 1 with these (lr, bs, loss, status), run 9 in another sweep.
    private func assertRankingQueries(_ store: SlopeStore) throws {
        defer { try? store.close() }
        // Counting is test instrumentation: a store opened as the commands open one reads uncounted.
        XCTAssertNil(store.rowsRead)
        let store = store.countingRowsRead()
        let rowsRead = try XCTUnwrap(store.rowsRead)
        _ = try store.recordSweep(name: "ranked", [
            HandMadeRun(0.1, 8, 0.5, .completed), HandMadeRun(0.2, 8, 0.25, .completed), HandMadeRun(0.3, 8, 0.125, .failed),
            HandMadeRun(0.4, 8, 0.0625, .diverged), HandMadeRun(0.5, 8, 0.25, .completed), HandMadeRun(0.6, 8, .infinity, .completed),
            HandMadeRun(0.7, 8, nil, .queued), HandMadeRun(0.8, 8, -.infinity, .pruned),
        ])
        _ = try store.recordSweep(name: "other", [HandMadeRun(0.1, 8, 0.01, .completed)])
        let queries = store.queries
        func best(_ filter: RunFilter? = nil, descending: Bool = false) throws -> Int64? {
            try queries.bestRun(sweepID: 1, filter: filter, column: .best_train_loss, descending: descending)?.id
        }
        // The least finite value among runs that neither failed nor diverged; a tie (0.25) to the lower id.
        XCTAssertEqual(try best(), 2)
        XCTAssertEqual(try best(descending: true), 1)
        XCTAssertEqual(try best(.comparison(.id, .greater, .integer(2))), 5)
        XCTAssertNil(try best(.isIn(.id, [.integer(3), .integer(4), .integer(6), .integer(7), .integer(8)])))  // failed, diverged, inf, none, -inf
        let before = rowsRead.total
        _ = try best()
        XCTAssertEqual(rowsRead.total - before, 1)

        XCTAssertEqual(try queries.rankingCounts(sweepID: 1, filter: nil, column: .best_train_loss),
                       RankingCounts(runs: 8, ranked: 6, positiveInfinite: 1, negativeInfinite: 1, unfinished: 1))
        XCTAssertEqual(try queries.rankingCounts(sweepID: 1, filter: .isIn(.status, [.text("failed"), .text("diverged")]), column: .best_train_loss),
                       RankingCounts(runs: 2, ranked: 0, positiveInfinite: 0, negativeInfinite: 0, unfinished: 0))
        XCTAssertEqual(try queries.rankingCounts(sweepID: 7, filter: nil, column: .best_train_loss),
                       RankingCounts(runs: 0, ranked: 0, positiveInfinite: 0, negativeInfinite: 0, unfinished: 0))

        // Every run has its own learning rate; batch size and the rest they share.
        let allButSeed = RunColumn.settings.filter { $0 != .seed }
        XCTAssertFalse(try queries.hasRunsSharingValues(sweepID: 1, filter: nil, columns: allButSeed))
        XCTAssertTrue(try queries.hasRunsSharingValues(sweepID: 1, filter: nil, columns: [.batch_size]))
        XCTAssertFalse(try queries.hasRunsSharingValues(sweepID: 1, filter: .comparison(.id, .equal, .integer(1)), columns: [.batch_size]))
        // A missing value is one value, as the seed grouping's text of it is (beta1 of these sgd runs).
        XCTAssertTrue(try queries.hasRunsSharingValues(sweepID: 1, filter: nil, columns: [try XCTUnwrap(RunColumn(rawValue: "beta1"))]))
        let rowsBefore = rowsRead.total
        _ = try queries.hasRunsSharingValues(sweepID: 1, filter: nil, columns: [.batch_size])
        XCTAssertEqual(rowsRead.total - rowsBefore, 1)

        // The read-began callback: once per read transaction (a snapshot's queries share one).
        let began = Counter()
        let observed = queries.observingReads { began.add() }
        _ = try observed.runCount(sweepID: nil)
        _ = try observed.runSummaries(sweepID: 1)
        XCTAssertEqual(began.value, 2)
        _ = try observed.snapshot { snapshot in try snapshot.runCount(sweepID: nil) + snapshot.runSummaries(sweepID: 1).count }
        XCTAssertEqual(began.value, 3)
        _ = try queries.runCount(sweepID: nil)
        XCTAssertEqual(began.value, 3)
    }

    /// A run of 2,500 epochs (stored by SQL in one transaction): pages of it, and every 7th with the last 10.
    private func assertEpochPages(_ store: SlopeStore) throws {
        defer { try? store.close() }
        let store = store.countingRowsRead()
        let rowsRead = try XCTUnwrap(store.rowsRead)
        let (_, runIDs) = try store.createSweep(name: "long", specJSON: "{}", runs: [.example(epochs: 2500), .example()])
        try store.write { c in
            for epoch in 0..<2500 {
                try c.execute("INSERT INTO epochs (run_id, epoch, train_loss, seconds) VALUES (?, ?, ?, ?)", [runIDs[0], epoch, Double(epoch) / 4, 0.5])
            }
            try c.execute("INSERT INTO epochs (run_id, epoch, train_loss, seconds) VALUES (?, ?, ?, ?)", [runIDs[1], 0, 9.0, 0.5])
        }
        let queries = store.queries
        XCTAssertEqual(try queries.epochCount(runID: runIDs[0]), 2500)
        XCTAssertEqual(try queries.epochCount(runID: runIDs[1]), 1)
        XCTAssertEqual(try queries.epochCount(runID: 99), 0)

        let page = try queries.epochRows(runID: runIDs[0], offset: 2495, limit: 10)
        XCTAssertEqual(page.map(\.epoch), Array(2495..<2500))
        XCTAssertEqual(page.map(\.trainLoss), (2495..<2500).map { Double($0) / 4 })
        XCTAssertEqual(page.map(\.runID), Array(repeating: runIDs[0], count: 5))
        XCTAssertEqual(try queries.epochRows(runID: runIDs[0], offset: 0, limit: 3).map(\.epoch), [0, 1, 2])

        let before = rowsRead.total
        let thinned = try queries.epochRows(runID: runIDs[0], every: 7, latest: 10)
        let expected = Array(stride(from: 0, to: 2490, by: 7)) + Array(2490..<2500)
        XCTAssertEqual(thinned.map(\.epoch), expected)
        XCTAssertEqual(thinned.map(\.trainLoss), expected.map { Double($0) / 4 })
        XCTAssertEqual(rowsRead.total - before, 356 + 10)  // 0, 7, ..., 2485 (356 epochs) and the last 10, each once: one statement
        XCTAssertEqual(try queries.epochRows(runID: runIDs[1], every: 7, latest: 10).map(\.trainLoss), [9])
        XCTAssertEqual(try queries.epochRows(runID: runIDs[0], every: 1000, latest: 0).map(\.epoch), [0, 1000, 2000])
    }

    /// A run whose weights (2 layers, with their gradients) are stored at every 2nd of 5,000 epochs
    /// (2,500 tensor epochs, stored by SQL): its tensor epochs and layer statistics, thinned as its
    /// epochs are (every 7th tensor epoch by number, and the last 10) and paged, reading only those rows.
    private func assertTensorEpochPages(_ store: SlopeStore) throws {
        defer { try? store.close() }
        let store = store.countingRowsRead()
        let rowsRead = try XCTUnwrap(store.rowsRead)
        let (_, runIDs) = try store.createSweep(name: "long", specJSON: "{}", runs: [.example(epochs: 5000), .example()])
        let tensorEpochs = Array(stride(from: 0, to: 5000, by: 2))
        func weightL2(_ epoch: Int, _ layer: Int) -> Double { Double(epoch) + Double(layer) / 4 }
        try store.write { c in
            for epoch in 0..<5000 {
                try c.execute("INSERT INTO epochs (run_id, epoch, train_loss, seconds) VALUES (?, ?, ?, ?)", [runIDs[0], epoch, 1.0, 0.5])
            }
            for epoch in tensorEpochs {
                for layer in 1...2 {
                    for (kind, l2) in [("weight", weightL2(epoch, layer)), ("weight_grad", 0.5)] {
                        try c.execute("INSERT INTO tensors (run_id, epoch, layer, kind, rows, cols, dtype, data, l2) VALUES (?, ?, ?, ?, 1, 1, 'float32', ?, ?)",
                                      [runIDs[0], epoch, layer, kind, Data(count: 4), l2])
                    }
                }
            }
        }
        let queries = store.queries
        XCTAssertEqual(try queries.tensorEpochCount(runID: runIDs[0]), 2500)
        XCTAssertEqual(try queries.tensorEpochCount(runID: runIDs[1]), 0)
        XCTAssertEqual(try queries.latestTensorEpoch(runID: runIDs[0]), 4998)
        XCTAssertNil(try queries.latestTensorEpoch(runID: runIDs[1]))
        XCTAssertEqual(try queries.tensorEpochs(runID: runIDs[0]), tensorEpochs)

        // Multiples of 7 among the even epochs (multiples of 14) below the 10th last tensor epoch (4980), then 4980-4998.
        let kept = Array(stride(from: 0, to: 4980, by: 14)) + Array(stride(from: 4980, to: 5000, by: 2))
        var before = rowsRead.total
        XCTAssertEqual(try queries.tensorEpochs(runID: runIDs[0], every: 7, latest: 10), kept)
        XCTAssertEqual(rowsRead.total - before, kept.count)
        before = rowsRead.total
        let thinned = try queries.layerStatistics(runID: runIDs[0], every: 7, latest: 10)
        XCTAssertEqual(rowsRead.total - before, 2 * kept.count)
        XCTAssertEqual(thinned.map(\.epoch), kept.flatMap { [$0, $0] })
        XCTAssertEqual(thinned.map(\.layer), kept.flatMap { _ in [1, 2] })
        XCTAssertEqual(thinned.map(\.weightL2), kept.flatMap { [weightL2($0, 1), weightL2($0, 2)] })
        XCTAssertEqual(thinned.map(\.gradientL2), Array(repeating: 0.5, count: 2 * kept.count))
        XCTAssertEqual(try queries.tensorEpochs(runID: runIDs[1], every: 7, latest: 10), [])

        before = rowsRead.total
        let page = try queries.layerStatistics(runID: runIDs[0], offset: 2497, limit: 10)
        XCTAssertEqual(rowsRead.total - before, 1 + 6)  // the page's first and last epoch, then the last 3 tensor epochs, 2 layers each
        XCTAssertEqual(page.map(\.epoch), [4994, 4994, 4996, 4996, 4998, 4998])
        XCTAssertEqual(page.map(\.weightL2), [4994, 4996, 4998].flatMap { [weightL2($0, 1), weightL2($0, 2)] })
        XCTAssertEqual(try queries.layerStatistics(runID: runIDs[0], offset: 0, limit: 2).map(\.epoch), [0, 0, 2, 2])
        XCTAssertEqual(try queries.layerStatistics(runID: runIDs[0], offset: 2500, limit: 10), [])
    }
}

/// A count that closures on any thread add to.
private final class Counter: @unchecked Sendable {  // `count` is guarded by `lock`
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.withLock { count } }
    func add() { lock.withLock { count += 1 } }
}
