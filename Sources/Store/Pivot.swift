// A pivot of a sweep's runs (`RunQueries.pivot`): its cells and their statistics, computed the same
// way on every store.
import Foundation

/// One cell of a pivot: the runs sharing a (row, column) value pair.
public struct PivotCell: Equatable, Sendable {
    public var rowValue: RunValue
    public var columnValue: RunValue
    /// Runs in the cell, and how many of them have a value for the metric. A run that diverged or
    /// failed has none, whatever it stored before it stopped (as `report best` never names one):
    /// it counts in `runCount` and in `divergedCount` or `failedCount`, never in the statistics.
    public var runCount: Int
    public var valueCount: Int
    public var mean: Double?
    public var minimum: Double?
    public var maximum: Double?
    /// Population standard deviation of the metric over the cell's runs that have a value.
    public var standardDeviation: Double?
    public var divergedCount: Int = 0
    public var failedCount: Int = 0
    /// The lowest run id in the cell (the run queued first): what breaks a tie between cells.
    public var firstRunID: Int64 = 0
}

extension PivotCell {
    init(rowValue: RunValue, columnValue: RunValue, runCount: Int, valueCount: Int, firstRunID: Int64) {
        self.rowValue = rowValue; self.columnValue = columnValue
        self.runCount = runCount; self.valueCount = valueCount; self.firstRunID = firstRunID
    }

    /// The cell's statistics of `values` (its runs' values in id order).
    mutating func setStatistics(_ values: [Double]) {
        valueCount = values.count
        guard let statistics = CellStatistics(values) else { return }
        mean = statistics.mean; minimum = statistics.minimum; maximum = statistics.maximum
        standardDeviation = statistics.standardDeviation
    }
}

/// The mean, extremes and population standard deviation (divided by n, numpy's `ddof=0`) of a pivot
/// cell's values, computed in Swift in the order given so that every store gives the same bits: SQL's
/// avg() adds in whatever order the rows come, and SQLite (Neumaier's compensated sum since 3.43,
/// plain before) and PostgreSQL (plain) add differently, which could change a printed digit or which
/// cell ties for best. Reporting's seed ranking (`report best`, runner's summary) uses it too, so
/// every `±` Slope prints is the same spread.
public struct CellStatistics: Equatable, Sendable {
    public var mean: Double
    public var minimum: Double
    public var maximum: Double
    /// Nil when the mean is not finite (an infinite value makes the spread meaningless).
    public var standardDeviation: Double?
}

extension CellStatistics {
    /// Nil for no values. An infinite value makes the mean that infinity (NaN with both signs).
    public init?(_ values: [Double]) {
        guard let first = values.first else { return nil }
        let count = Double(values.count)
        // One plain loop (as reduce and allSatisfy would, in the same order): a pivot computes this
        // for each of 2,500 cells of 40 runs, and generic closures cost much in a debug build.
        var minimum = first, maximum = first, allFinite = true
        for value in values {
            minimum = Swift.min(minimum, value)
            maximum = Swift.max(maximum, value)
            if !value.isFinite { allFinite = false }
        }
        self.minimum = minimum
        self.maximum = maximum
        guard allFinite else {
            mean = minimum == -.infinity && maximum == .infinity ? .nan : (maximum == .infinity ? .infinity : -.infinity)
            standardDeviation = nil
            return
        }
        mean = Self.mean(values)
        // Two passes: the spread around the mean, not E[x²] - E[x]² (which cancels to noise, or below
        // zero, when the values are close together and far from zero).
        let mean = mean
        let spread = Self.scaledSquaredDeviations(values, around: mean)
        standardDeviation = (spread.sum / count).squareRoot() * spread.scale
    }

    /// The mean of `values` (NaN for none), summed with Neumaier's compensation; finite values whose
    /// sum overflows (beyond ±1.8e308) still have one (each divided first). With an infinity or a NaN
    /// among them, the plain sum's mean (that infinity, or NaN). The one mean of a group of runs:
    /// the pivot's cells, the seed table's, and `report importance`'s groups.
    public static func mean(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return .nan }
        let count = Double(values.count)
        var allFinite = true
        for value in values where !value.isFinite { allFinite = false; break }
        guard allFinite else { return values.reduce(0, +) / count }
        let mean = compensatedSum(values) / count
        let result = mean.isFinite ? mean : compensatedSum(values.map { $0 / count })
        // The division rounds: nine equal values could have a mean an ulp off them (and a spread of
        // 2.8e-17). A mean is never outside the values.
        return Swift.min(Swift.max(result, values.min()!), values.max()!)
    }

    /// A power of two that the deviations of `values` from `mean` are divided by before they are
    /// squared: near half the largest |value - mean| (1 when there is none). Squares of values
    /// about 1e154 or more overflow to infinity (and a difference of values spanning more than
    /// 1.8e308 does): scaled, they cannot. A power of two changes no bit of an ordinary result.
    public static func deviationScale(_ values: [Double], around mean: Double) -> Double {
        var largest = 0.0  // a plain loop over the array: the pivot calls it per cell of 100,000 runs
        for value in values { largest = Swift.max(largest, abs(value / 2 - mean / 2)) }
        return largest > 0 && largest.isFinite ? Double(sign: .plus, exponent: largest.exponent, significand: 1) : 1
    }

    /// (value - mean) / (2 scale), computed without overflow for finite values.
    public static func scaledDeviation(_ value: Double, from mean: Double, scale: Double) -> Double {
        (value / 2 - mean / 2) / scale
    }

    /// The sum of squared deviations from `mean` as `sum * scale * scale` (with the scale chosen by
    /// `deviationScale`, times 2): finite for any finite values, whose plain sum of squares may not be.
    public static func scaledSquaredDeviations(_ values: [Double], around mean: Double) -> (sum: Double, scale: Double) {
        let scale = deviationScale(values, around: mean)
        var sum = CompensatedSum()
        for value in values {
            let deviation = scaledDeviation(value, from: mean, scale: scale)
            sum.add(deviation * deviation)
        }
        return (sum.total, 2 * scale)
    }

    /// The sum of finite values with Neumaier's compensation (`CompensatedSum`).
    static func compensatedSum(_ values: [Double]) -> Double {
        var sum = CompensatedSum()
        for value in values { sum.add(value) }
        return sum.total
    }
}

/// A sum with Neumaier's compensation: each addition's rounding error is kept and added back at the
/// end, so the result hardly depends on the order. The one summation of a group's values.
struct CompensatedSum {
    private var sum = 0.0, compensation = 0.0

    mutating func add(_ value: Double) {
        let next = sum + value
        compensation += abs(sum) >= abs(value) ? (sum - next) + value : (value - next) + sum
        sum = next
    }

    var total: Double { sum + compensation }
}
