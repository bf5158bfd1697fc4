// A pivot cell's statistics are the same bits on SQLite and PostgreSQL: computed over the runs'
// values in id order (compensated sum, two-pass deviation), not by each store's avg(), which adds
// in the order the rows come (SQLite 3.40's and PostgreSQL's avg(0.1, 0.2, 0.3) is
// 0.20000000000000004 in that order, 0.19999999999999998 in the other) and whose E[x²] - E[x]²
// gave a deviation of 0 for values near 1e8.
import Foundation
import TestSupport
import XCTest
@testable import Store

final class PivotStatisticsTests: BothStoresTestCase {
    func testSQLitePivotCellsAreComputedInRunIDOrder() throws { try assertPivotCells(try sqliteStore()) }

    func testPostgreSQLPivotCellsAreComputedInRunIDOrder() throws { try assertPivotCells(try postgresStore()) }

    /// The expected bits, from Neumaier's sum in id order divided by the count, and the square root of
    /// the mean squared difference from that mean (worked out with Python's floats, the same doubles):
    /// 0.1, 0.2, 0.3 -> mean 0.19999999999999998 (0.6 / 3; 0.1 + 0.2 + 0.3 left to right is 0.6000000000000001),
    ///   std 0.0816496580927726 (sqrt(0.02 / 3) = 0.08164965809277261);
    /// 0.3, 0.2, 0.1 -> the same bits (right to left, the plain sum is 0.6);
    /// 1e8 + 0.1, 1e8 + 0.2, 1e8 + 0.3 -> mean 100000000.2, std 0.08164965930944755 (the doubles
    /// nearest those values are 1.49e-8 apart from them; avg(m * m) - avg(m)^2 gave 0).
    private func assertPivotCells(_ store: SlopeStore) throws {
        defer { try? store.close() }
        // The cells' runs interleaved, so that a cell's runs are not neighbours in id order.
        let runIDs = try store.recordSweep(name: "pivot", [
            HandMadeRun(0.1, 8, 0.1, .completed), HandMadeRun(0.1, 16, 0.3, .completed), HandMadeRun(1, 8, 1e8 + 0.1, .completed),
            HandMadeRun(0.1, 8, 0.2, .completed), HandMadeRun(0.1, 16, 0.2, .completed), HandMadeRun(1, 8, 1e8 + 0.2, .completed),
            HandMadeRun(0.1, 8, 0.3, .completed), HandMadeRun(0.1, 16, 0.1, .completed), HandMadeRun(1, 8, 1e8 + 0.3, .completed),
            HandMadeRun(1, 8, 0.01, .failed), HandMadeRun(1, 8, 0.02, .diverged), HandMadeRun(1, 8, nil, .queued),
        ], layers: "2-3-1")
        let sweepID = try XCTUnwrap(try store.run(id: runIDs[0]).sweepID)

        let cells = try store.queries.pivot(sweepID: sweepID, rows: .learning_rate, columns: .batch_size, metric: .best_train_loss)
        var expected = [
            PivotCell(rowValue: .real(0.1), columnValue: .integer(8), runCount: 3, valueCount: 3, mean: 0.19999999999999998,
                      minimum: 0.1, maximum: 0.3, standardDeviation: 0.0816496580927726, firstRunID: runIDs[0]),
            PivotCell(rowValue: .real(0.1), columnValue: .integer(16), runCount: 3, valueCount: 3, mean: 0.19999999999999998,
                      minimum: 0.1, maximum: 0.3, standardDeviation: 0.0816496580927726, firstRunID: runIDs[1]),
            PivotCell(rowValue: .real(1), columnValue: .integer(8), runCount: 6, valueCount: 3, mean: 100000000.2,
                      minimum: 1e8 + 0.1, maximum: 1e8 + 0.3, standardDeviation: 0.08164965930944755,
                      divergedCount: 1, failedCount: 1, firstRunID: runIDs[2]),
        ]
        XCTAssertEqual(cells, expected)
        // Bit for bit, not only ==.
        XCTAssertEqual(cells.map { $0.mean?.bitPattern }, expected.map { $0.mean?.bitPattern })
        XCTAssertEqual(cells.map { $0.standardDeviation?.bitPattern }, expected.map { $0.standardDeviation?.bitPattern })

        // Filtered to the failed and diverged runs only: a cell of runs, none with a value.
        let leftOut = try store.queries.pivot(sweepID: sweepID, rows: .learning_rate, columns: .batch_size, metric: .best_train_loss,
                                              filter: .isIn(.status, [.text("failed"), .text("diverged")]))
        expected = [PivotCell(rowValue: .real(1), columnValue: .integer(8), runCount: 2, valueCount: 0, mean: nil, minimum: nil,
                              maximum: nil, standardDeviation: nil, divergedCount: 1, failedCount: 1, firstRunID: runIDs[9])]
        XCTAssertEqual(leftOut, expected)
    }

    func testSQLiteDistinctValueCountsCountAsThePivotTellsValuesApart() throws { try assertDistinctValueCounts(try sqliteStore()) }

    func testPostgreSQLDistinctValueCountsCountAsThePivotTellsValuesApart() throws { try assertDistinctValueCounts(try postgresStore()) }

    /// `distinctValueCounts` (what `report grid` refuses a crowded axis by, before reading runs): the
    /// distinct values of each column over the sweep's runs matching the filter, NULL counting as one
    /// value as the pivot's rows do; the same numbers as the pivot's axes.
    private func assertDistinctValueCounts(_ store: SlopeStore) throws {
        defer { try? store.close() }
        let runIDs = try store.recordSweep(name: "distinct", [
            HandMadeRun(0.1, 8, 0.1, .completed), HandMadeRun(0.1, 16, 0.3, .completed), HandMadeRun(1, 8, 0.3, .completed),
            HandMadeRun(0.01, 8, 0.2, .failed), HandMadeRun(1, 32, nil, .queued),
        ], layers: "2-3-1")
        let sweepID = try XCTUnwrap(try store.run(id: runIDs[0]).sweepID)
        // Another sweep's runs are not counted.
        _ = try store.recordSweep(name: "other", [HandMadeRun(0.5, 64, 0.9, .completed)], layers: "2-3-1")

        let queries = store.queries
        // learning_rate 0.1, 1, 0.01; batch_size 8, 16, 32; best_train_loss 0.1, 0.3, 0.2 and NULL (the queued run).
        XCTAssertEqual(try queries.distinctValueCounts(sweepID: sweepID, columns: [.learning_rate, .batch_size, .best_train_loss]),
                       [3, 3, 4])
        XCTAssertEqual(try queries.distinctValueCounts(sweepID: sweepID, columns: [.batch_size],
                                                       filter: .isIn(.status, [.text("completed")])), [2])
        XCTAssertEqual(try queries.distinctValueCounts(sweepID: sweepID, columns: [.learning_rate, .batch_size],
                                                       filter: .isIn(.status, [.text("diverged")])), [0, 0])
        XCTAssertEqual(try queries.distinctValueCounts(sweepID: 999, columns: [.learning_rate]), [0])
        // The pivot's axes agree.
        let cells = try queries.pivot(sweepID: sweepID, rows: .learning_rate, columns: .best_train_loss, metric: .best_train_loss)
        XCTAssertEqual(Set(cells.map(\.rowValue)).count, 3)
        XCTAssertEqual(Set(cells.map(\.columnValue)).count, 4)
    }

    /// The statistics alone: infinities, overflow, one value.
    /// CellStatistics in plain loops gives the bits of the generic formulas it replaced (reduce for the
    /// extremes, compensatedSum over a lazy map for the spread), on values of every scale, signs, ties,
    /// infinities and sums that overflow.
    func testCellStatisticsAreTheBitsOfTheGenericFormulas() throws {
        func reference(_ values: [Double]) -> (Double, Double, Double, Double?)? {
            guard let first = values.first else { return nil }
            let count = Double(values.count)
            let minimum = values.reduce(first) { Swift.min($0, $1) }, maximum = values.reduce(first) { Swift.max($0, $1) }
            guard values.allSatisfy(\.isFinite) else {
                return (minimum == -.infinity && maximum == .infinity ? .nan : (maximum == .infinity ? .infinity : -.infinity), minimum, maximum, nil)
            }
            let mean = CellStatistics.mean(values)
            let scale = CellStatistics.deviationScale(values, around: mean)
            let sum = CellStatistics.compensatedSum(values.map { value in
                let deviation = CellStatistics.scaledDeviation(value, from: mean, scale: scale)
                return deviation * deviation
            })
            return (mean, minimum, maximum, (sum / count).squareRoot() * 2 * scale)
        }
        var generator = SystemRandomNumberGenerator()
        var samples: [[Double]] = [[], [1], [0.1, 0.2, 0.3], [1e308, 1e308, -1e308], [.infinity, 1], [-.infinity, .infinity], [5, 5, 5]]
        for _ in 0..<2000 {
            let exponent = Double.random(in: -300...300, using: &generator)
            samples.append((0..<Int.random(in: 1...50, using: &generator)).map { _ in
                Double.random(in: -1...1, using: &generator) * pow(10, exponent) + (Bool.random(using: &generator) ? 1e8 : 0)
            })
        }
        for values in samples {
            let statistics = CellStatistics(values)
            guard let expected = reference(values) else { XCTAssertNil(statistics); continue }
            let got = try XCTUnwrap(statistics)
            XCTAssertEqual(got.mean.bitPattern, expected.0.bitPattern, "\(values)")
            XCTAssertEqual(got.minimum.bitPattern, expected.1.bitPattern, "\(values)")
            XCTAssertEqual(got.maximum.bitPattern, expected.2.bitPattern, "\(values)")
            XCTAssertEqual(got.standardDeviation?.bitPattern, expected.3?.bitPattern, "\(values)")
        }
    }

    func testCellStatisticsOfInfinitiesOverflowAndOneValue() throws {
        XCTAssertNil(CellStatistics([]))
        XCTAssertEqual(CellStatistics([0.5]), CellStatistics(mean: 0.5, minimum: 0.5, maximum: 0.5, standardDeviation: 0))
        XCTAssertEqual(CellStatistics([1, .infinity]), CellStatistics(mean: .infinity, minimum: 1, maximum: .infinity, standardDeviation: nil))
        XCTAssertEqual(CellStatistics([-.infinity, 1]), CellStatistics(mean: -.infinity, minimum: -.infinity, maximum: 1, standardDeviation: nil))
        let both = try XCTUnwrap(CellStatistics([.infinity, -.infinity]))
        XCTAssertTrue(both.mean.isNaN, "the mean of +inf and -inf is undefined")
        XCTAssertNil(both.standardDeviation)
        // 1.5e308 twice overflows a plain sum; the mean is still 1.5e308 (and no spread).
        XCTAssertEqual(CellStatistics([1.5e308, 1.5e308]), CellStatistics(mean: 1.5e308, minimum: 1.5e308, maximum: 1.5e308, standardDeviation: 0))
        // A compensated sum: 1 + 1e100 + 1 - 1e100 is 2, where left to right gives 0.
        XCTAssertEqual(CellStatistics.compensatedSum([1, 1e100, 1, -1e100]), 2)
    }

    /// Values of 1e154 or more square to infinity: the spread was NaN (`±nan`, json null) for three
    /// finite values of about 4e200 (hostile14 F6). Scaled before squaring, it is their spread.
    func testStandardDeviationOfHugeFiniteValues() throws {
        let huge = try XCTUnwrap(CellStatistics([3.872e200, 4.796e200, 4.743e200]))
        XCTAssertEqual(huge.mean, 4.470333333333333e200, accuracy: 1e186)
        XCTAssertEqual(try XCTUnwrap(huge.standardDeviation), 4.23638472704682e199, accuracy: 1e186)
        // Values spanning more than Double's range: their deviations (2e308) overflowed too.
        let spanning = try XCTUnwrap(CellStatistics([1e308, -1e308]))
        XCTAssertEqual(spanning.mean, 0)
        XCTAssertEqual(spanning.standardDeviation, 1e308)
        XCTAssertEqual(CellStatistics([.greatestFiniteMagnitude, .greatestFiniteMagnitude])?.standardDeviation, 0)
        // Ordinary values: the same bits as the plain two-pass formula (the scale is a power of two).
        let values = [0.1, 0.7, 0.3, 1.9, 2.2]
        let mean = CellStatistics.compensatedSum(values) / 5
        let plain = (CellStatistics.compensatedSum(values.map { ($0 - mean) * ($0 - mean) }) / 5).squareRoot()
        XCTAssertEqual(CellStatistics(values)?.standardDeviation, plain)
        XCTAssertEqual(CellStatistics([1, 2, 3, 4])?.standardDeviation, 1.25.squareRoot())
    }
}
