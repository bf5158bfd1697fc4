// Statistics stored next to each tensor (l2, mean, std, min, max): the type, and how they are
// computed from the little-endian bytes in one pass, without building an array of values.
import Foundation

/// `tensors.l2/mean/std/min/max`: nil where the value is not finite.
public struct TensorStatistics: Sendable, Equatable {
    public var l2: Double?
    public var mean: Double?
    /// Population standard deviation (numpy's default, ddof = 0).
    public var std: Double?
    public var min: Double?
    public var max: Double?

    public init(l2: Double?, mean: Double?, std: Double?, min: Double?, max: Double?) {
        self.l2 = l2
        self.mean = mean
        self.std = std
        self.min = min
        self.max = max
    }
}

extension TensorStatistics {
    /// Statistics of `count` little-endian values of `dtype` in `bytes`.
    /// Sums run in Double; mean and variance use the first value as a shift, which keeps
    /// the one-pass variance accurate when the mean is large next to the spread.
    /// Any NaN makes every statistic nil; otherwise each is nil when it is not finite.
    /// - Complexity: O(count), one pass (a second one only when a NaN or infinity shows up).
    static func compute(bytes: UnsafeRawBufferPointer, count: Int, dtype: SlopeStore.DType) -> TensorStatistics {
        guard count > 0 else { return TensorStatistics(l2: nil, mean: nil, std: nil, min: nil, max: nil) }
        var sums: Accumulator
        switch dtype {
        case .float32: sums = sums32(bytes, count: count)
        case .float64: sums = sums64(bytes, count: count)
        }
        if sums.sumOfShifted.isNaN || sums.sumOfSquares.isNaN {
            let hasNaN = (0..<count).contains { index in
                dtype == .float32 ? value32(bytes, index).isNaN : value64(bytes, index).isNaN
            }
            if hasNaN { return TensorStatistics(l2: nil, mean: nil, std: nil, min: nil, max: nil) }
        }
        // Finite values whose squares overflow (about 1e154 or more): the one-pass sums are
        // infinite and the shifted sum cancels (mean 0.5 for [0.5, 1e308, -1e308]). A second pass,
        // as the pivot's statistics: a compensated mean, deviations and l2 scaled before squaring.
        if sums.minimum.isFinite && sums.maximum.isFinite && !(sums.sumOfSquares.isFinite && sums.sumOfShiftedSquares.isFinite) {
            let values = (0..<count).map { dtype == .float32 ? Double(value32(bytes, $0)) : value64(bytes, $0) }
            let statistics = CellStatistics(values)
            // The sum of squares is the sum of squared deviations from 0, scaled (the returned scale includes the 2).
            let squares = CellStatistics.scaledSquaredDeviations(values, around: 0)
            return TensorStatistics(
                l2: finite(squares.sum.squareRoot() * squares.scale),
                mean: statistics.flatMap { finite($0.mean) },
                std: statistics?.standardDeviation.flatMap(finite),
                min: finite(sums.minimum),
                max: finite(sums.maximum))
        }
        let n = Double(count)
        let meanOfShifted = sums.sumOfShifted / n
        let rawVariance = sums.sumOfShiftedSquares / n - meanOfShifted * meanOfShifted
        let variance = rawVariance < 0 ? 0 : rawVariance  // rounding can dip below 0; NaN stays NaN
        return TensorStatistics(
            l2: finite(sums.sumOfSquares.squareRoot()),
            mean: finite(sums.shift + meanOfShifted),
            std: finite(variance.squareRoot()),
            min: finite(sums.minimum),
            max: finite(sums.maximum))
    }

    private struct Accumulator {
        let shift: Double
        var sumOfSquares = 0.0, sumOfShifted = 0.0, sumOfShiftedSquares = 0.0
        var minimum = Double.infinity, maximum = -Double.infinity

        init(shift: Double) { self.shift = shift.isFinite ? shift : 0 }

        @inline(__always) mutating func add(_ value: Double) {
            sumOfSquares += value * value
            let shifted = value - shift
            sumOfShifted += shifted
            sumOfShiftedSquares += shifted * shifted
            minimum = value < minimum ? value : minimum
            maximum = value > maximum ? value : maximum
        }
    }

    // The two loops below sum in four SIMD lanes (vector code and four independent
    // dependency chains), then add the last count % 4 values one by one. Minimum and
    // maximum use `replacing(with:where:)`: `pointwiseMin` does not vectorize here and made
    // the loop ten times slower.

    private static func sums32(_ bytes: UnsafeRawBufferPointer, count: Int) -> Accumulator {
        var sums = Accumulator(shift: Double(value32(bytes, 0)))
        var index = 0
        #if _endian(little)  // vector loads read the bytes as host values
        var squares = SIMD4<Double>.zero, shifted = SIMD4<Double>.zero, shiftedSquares = SIMD4<Double>.zero
        var lowest = SIMD4<Float>(repeating: .infinity), highest = SIMD4<Float>(repeating: -.infinity)
        let shifts = SIMD4<Double>(repeating: sums.shift)
        while index + 4 <= count {
            let floats = bytes.loadUnaligned(fromByteOffset: index &* 4, as: SIMD4<Float>.self)
            let values = SIMD4<Double>(Double(floats[0]), Double(floats[1]), Double(floats[2]), Double(floats[3]))
            squares += values * values
            let offsets = values - shifts
            shifted += offsets
            shiftedSquares += offsets * offsets
            lowest = lowest.replacing(with: floats, where: floats .< lowest)
            highest = highest.replacing(with: floats, where: floats .> highest)
            index += 4
        }
        sums.sumOfSquares = squares.sum()
        sums.sumOfShifted = shifted.sum()
        sums.sumOfShiftedSquares = shiftedSquares.sum()
        sums.minimum = Double(lowest.min())
        sums.maximum = Double(highest.max())
        #endif
        while index < count {
            sums.add(Double(value32(bytes, index)))
            index += 1
        }
        return sums
    }

    private static func sums64(_ bytes: UnsafeRawBufferPointer, count: Int) -> Accumulator {
        var sums = Accumulator(shift: value64(bytes, 0))
        var index = 0
        #if _endian(little)
        var squares = SIMD4<Double>.zero, shifted = SIMD4<Double>.zero, shiftedSquares = SIMD4<Double>.zero
        var lowest = SIMD4<Double>(repeating: .infinity), highest = SIMD4<Double>(repeating: -.infinity)
        let shifts = SIMD4<Double>(repeating: sums.shift)
        while index + 4 <= count {
            let values = bytes.loadUnaligned(fromByteOffset: index &* 8, as: SIMD4<Double>.self)
            squares += values * values
            let offsets = values - shifts
            shifted += offsets
            shiftedSquares += offsets * offsets
            lowest = lowest.replacing(with: values, where: values .< lowest)
            highest = highest.replacing(with: values, where: values .> highest)
            index += 4
        }
        sums.sumOfSquares = squares.sum()
        sums.sumOfShifted = shifted.sum()
        sums.sumOfShiftedSquares = shiftedSquares.sum()
        sums.minimum = lowest.min()
        sums.maximum = highest.max()
        #endif
        while index < count {
            sums.add(value64(bytes, index))
            index += 1
        }
        return sums
    }

    @inline(__always) private static func value32(_ bytes: UnsafeRawBufferPointer, _ index: Int) -> Float {
        Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: index &* 4, as: UInt32.self)))
    }

    @inline(__always) private static func value64(_ bytes: UnsafeRawBufferPointer, _ index: Int) -> Double {
        Double(bitPattern: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: index &* 8, as: UInt64.self)))
    }

    /// nil when not finite; -0.0 as 0.0 (`+ 0`), as SQLite's REAL columns store it, so that both
    /// stores hold and export the same statistics (the max of a gradient that is all <= 0, say).
    private static func finite(_ value: Double) -> Double? { value.isFinite ? value + 0 : nil }
}
