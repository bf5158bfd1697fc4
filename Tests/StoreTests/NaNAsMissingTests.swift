// A NaN written by hand into a PostgreSQL database (Slope never stores one; SQLite cannot, it
// stores NULL for it) is a missing value there too, so that both stores answer alike (hostile15
// F4: PostgreSQL's NaN is greater than every number, so `--where x > 100` matched it, `--sort -x`
// put it first, and csv showed it empty as a value): `is null` matches it, no comparison does,
// the sort puts it with the missing values last, and it reads as NULL.
import Foundation
import TestSupport
import XCTest
@testable import Store

final class NaNAsMissingTests: BothStoresTestCase {
    func testSQLiteNaNIsAMissingValue() throws { try assertNaNIsMissing(try sqliteStore()) }

    func testPostgreSQLNaNIsAMissingValueAsInSQLite() throws { try assertNaNIsMissing(try postgresStore()) }

    private func assertNaNIsMissing(_ store: SlopeStore) throws {
        defer { try? store.close() }
        let ids = try store.recordSweep(name: "nan", [HandMadeRun(0.1, 8, 1, .completed), HandMadeRun(0.2, 8, 1, .completed),
                                                      HandMadeRun(0.3, 8, 1, .completed), HandMadeRun(0.4, 8, 1, .completed)])
        // best_train_loss 0.5, NaN, 0.75, 0.1 (bound as a double: SQLite keeps NULL, PostgreSQL NaN).
        try store.write { c in
            for (id, value) in zip(ids, [0.5, Double.nan, 0.75, 0.1]) {
                try c.execute("UPDATE runs SET best_train_loss = ? WHERE id = ?", [value, id])
            }
        }
        let queries = store.queries, loss = RunColumn.best_train_loss
        func matching(_ filter: RunFilter) throws -> [Int64] { try queries.runSummaries(filter: filter).map(\.id) }
        XCTAssertEqual(try matching(.comparison(loss, .greater, .number(0.3))), [ids[0], ids[2]])
        XCTAssertEqual(try matching(.comparison(loss, .notEqual, .number(0.5))), [ids[2], ids[3]])
        XCTAssertEqual(try matching(.isIn(loss, [.number(0.5), .number(0.1)])), [ids[0], ids[3]])
        XCTAssertEqual(try matching(.isNull(loss)), [ids[1]])
        XCTAssertEqual(try matching(.not(.comparison(loss, .greater, .number(0.3)))), [ids[1], ids[3]])
        XCTAssertEqual(try matching(.not(.isNull(loss))), [ids[0], ids[2], ids[3]])
        XCTAssertEqual(try queries.runCount(sweepID: nil, filter: .isNull(loss)), 1)
        // Missing values last, both ways; a page that starts among them.
        XCTAssertEqual(try queries.runSummaries(sort: RunSort(column: loss, descending: true)).map(\.id), [ids[2], ids[0], ids[3], ids[1]])
        XCTAssertEqual(try queries.runSummaries(sort: RunSort(column: loss)).map(\.id), [ids[3], ids[0], ids[2], ids[1]])
        XCTAssertEqual(try queries.runSummaries(sort: RunSort(column: loss, descending: true), limit: 2, offset: 3).map(\.id), [ids[1]])
        // Read as missing: NULL, never NaN.
        XCTAssertEqual(try queries.runSummary(id: ids[1])?[loss], .null)
        XCTAssertEqual(try queries.runSummary(id: ids[2])?[loss], .real(0.75))
        // The dashboard's sweep list: the lowest and highest values leave the NaN out (max() returned it on PostgreSQL: review15 F4).
        let bests = try XCTUnwrap(try queries.sweepBests(columns: [loss]).values.first)
        XCTAssertEqual(bests.minimums[loss], 0.1)
        XCTAssertEqual(bests.maximums[loss], 0.75)
    }
}
