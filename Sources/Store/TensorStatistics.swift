// Statistics stored next to each tensor (l2, mean, std, min, max), computed from the
// little-endian bytes in one pass, without building an array of values.
import Foundation

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
        case .float32:
            sums = Accumulator(shift: Double(value32(bytes, 0)))
            sums.addAll(count: count) { SIMD4<Double>(load4Float(bytes, $0)) } scalar: { Double(value32(bytes, $0)) }
        case .float64:
            sums = Accumulator(shift: value64(bytes, 0))
            sums.addAll(count: count) { load4Double(bytes, $0) } scalar: { value64(bytes, $0) }
        }
        if sums.sumOfShifted.isNaN || sums.sumOfSquares.isNaN {
            let hasNaN = (0..<count).contains { index in
                dtype == .float32 ? value32(bytes, index).isNaN : value64(bytes, index).isNaN
            }
            if hasNaN { return TensorStatistics(l2: nil, mean: nil, std: nil, min: nil, max: nil) }
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

    /// Sums in four lanes of SIMD4<Double> (vector code, and four independent dependency chains).
    private struct Accumulator {
        let shift: Double
        var sumOfSquares = 0.0, sumOfShifted = 0.0, sumOfShiftedSquares = 0.0
        var minimum = Double.infinity, maximum = -Double.infinity

        init(shift: Double) { self.shift = shift.isFinite ? shift : 0 }

        /// Adds values 0..<count: `vector(i)` gives values i..<i+4, `scalar(i)` value i.
        @inline(__always) mutating func addAll(count: Int, vector: (Int) -> SIMD4<Double>, scalar: (Int) -> Double) {
            var squares = SIMD4<Double>.zero, shifted = SIMD4<Double>.zero, shiftedSquares = SIMD4<Double>.zero
            var lowest = SIMD4<Double>(repeating: .infinity), highest = SIMD4<Double>(repeating: -.infinity)
            let shifts = SIMD4<Double>(repeating: shift)
            var index = 0
            #if _endian(little)  // the vector loads read the bytes as host values
            while index + 4 <= count {
                let values = vector(index)
                squares += values * values
                let offsets = values - shifts
                shifted += offsets
                shiftedSquares += offsets * offsets
                lowest = pointwiseMin(lowest, values)
                highest = pointwiseMax(highest, values)
                index += 4
            }
            #endif
            sumOfSquares = squares.sum()
            sumOfShifted = shifted.sum()
            sumOfShiftedSquares = shiftedSquares.sum()
            minimum = lowest.min()
            maximum = highest.max()
            while index < count {
                add(scalar(index))
                index += 1
            }
        }

        @inline(__always) mutating func add(_ value: Double) {
            sumOfSquares += value * value
            let shifted = value - shift
            sumOfShifted += shifted
            sumOfShiftedSquares += shifted * shifted
            minimum = value < minimum ? value : minimum
            maximum = value > maximum ? value : maximum
        }
    }

    @inline(__always) private static func load4Float(_ bytes: UnsafeRawBufferPointer, _ index: Int) -> SIMD4<Float> {
        bytes.loadUnaligned(fromByteOffset: index &* 4, as: SIMD4<Float>.self)
    }

    @inline(__always) private static func load4Double(_ bytes: UnsafeRawBufferPointer, _ index: Int) -> SIMD4<Double> {
        bytes.loadUnaligned(fromByteOffset: index &* 8, as: SIMD4<Double>.self)
    }

    @inline(__always) private static func value32(_ bytes: UnsafeRawBufferPointer, _ index: Int) -> Float {
        Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: index &* 4, as: UInt32.self)))
    }

    @inline(__always) private static func value64(_ bytes: UnsafeRawBufferPointer, _ index: Int) -> Double {
        Double(bitPattern: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: index &* 8, as: UInt64.self)))
    }

    private static func finite(_ value: Double) -> Double? { value.isFinite ? value : nil }
}
