// TPE's startup trials as a randomized Latin hypercube (McKay, Beckman and Conover 1979): each
// parameter's range cut into as many strata as there are startup trials, one trial per stratum.
import NeuralNet

/// A randomized Latin hypercube of `size` points over a search space. Dimension d's strata are
/// paired with point indices by a permutation seeded by (`seed`, d); a point's place inside its
/// stratum is drawn from the point's own generator. So point i is a pure function of (`seed`, i, the
/// space): workers sampling trials of one sweep, or a resumed sweep, make the same points without
/// coordinating, and a point is never made twice.
struct LatinHypercube {
    let space: [SearchDimension]
    let size: Int
    let seed: UInt64

    /// Tags the permutations' streams apart from the trials' own (`SweepSpec.trialSeed` mixes the
    /// sweep's seed with small trial indices).
    private static let streamTag: UInt64 = 0x6C68_7364_6573_6967  // "lhsdesig"

    /// Point `index` (0..<size), in TPE's internal values: a number is its stratum's share of the
    /// range, offset by a uniform draw, mapped as `TPESampler.numericValue` maps random draws (log
    /// scale for log dimensions; whole numbers rounded, over bounds widened by half a step); a
    /// category is stratum mod count through a seeded relabelling, so each category is taken
    /// floor(size / count) or ceil(size / count) times, and `size` <= count gives distinct ones.
    /// `generator` is the point's own stream: one draw per numeric dimension, in space order.
    /// - Complexity: O(d * (size + categories)) for d dimensions (the permutations are rebuilt).
    func point(_ index: Int, using generator: inout NeuralNet.SplitMix64) -> [Double] {
        precondition((0..<size).contains(index), "Latin hypercube point \(index) of \(size)")
        return space.indices.map { dimensionIndex in
            var permutations = NeuralNet.SplitMix64(seed: NeuralNet.SplitMix64.mix(
                NeuralNet.SplitMix64.mix(seed, Self.streamTag), UInt64(dimensionIndex)))
            let stratum = Self.permutation(size, using: &permutations)[index]
            switch space[dimensionIndex] {
            case let .categorical(count):
                return Double(Self.permutation(count, using: &permutations)[stratum % count])
            case let .numeric(low, high, isLog, step):
                let unit = (Double(stratum) + generator.nextUnit()) / Double(size)
                return TPESampler.numericValue(unit: unit, low: low, high: high, isLog: isLog, step: step)
            }
        }
    }

    /// 0..<count in a seeded order (Fisher-Yates).
    static func permutation(_ count: Int, using generator: inout NeuralNet.SplitMix64) -> [Int] {
        var order = Array(0..<count)
        var last = count - 1
        while last > 0 {
            order.swapAt(last, Int(generator.next() % UInt64(last + 1)))
            last -= 1
        }
        return order
    }
}
