// The Tree-structured Parzen Estimator sampler (Bergstra et al. 2011), as Optuna's TPESampler:
// random trials first, then the good/bad split by gamma and the best of n_ei_candidates by l(x)/g(x).
import Foundation
import NeuralNet

/// A trial TPE learns from: its internal values (one per dimension) and how it stands.
public struct TPETrial: Hashable, Sendable {
    public enum State: Hashable, Sendable {
        /// Finished with this objective value (lower is better; +inf for a diverged run).
        case complete(Double)
        /// Stopped early at `epoch` with that epoch's value.
        case pruned(epoch: Int, value: Double)
        /// Still training: counted in the bad group ("constant liar"), so parallel workers spread out.
        case running
    }
    public var values: [Double]
    public var state: State
    public init(values: [Double], state: State) { self.values = values; self.state = state }
}

public struct TPESampler: Sendable {
    /// How the first `startupTrials` trials are placed: independent random draws (Optuna's
    /// RandomSampler), or one point each of a randomized Latin hypercube of that many points.
    public enum StartupDesign: String, CaseIterable, Hashable, Sendable, Codable {
        case random
        case lhs
    }

    public var space: [SearchDimension]
    public var startupTrials = 10
    /// Random as Optuna's; a sweep's default is the Latin hypercube (`SweepSpec.TPEOptions`).
    public var startup = StartupDesign.random
    /// Seeds the Latin hypercube's pairing of strata (the sweep's `random_seed`): the same for every
    /// trial of a sweep, where `sample`'s seed differs per trial.
    public var designSeed: UInt64 = 0
    public var candidateCount = 24
    public var multivariate = false
    /// The number of good trials among n; Optuna's default min(ceil(0.1 n), 25).
    public var gamma: @Sendable (Int) -> Int = { min(Int((0.1 * Double($0)).rounded(.up)), 25) }

    public init(space: [SearchDimension]) { self.space = space }

    /// The next point (internal values) after `trials` (in trial order), drawn from `seed`; `index`
    /// is the trial's (0, 1, ...). Until `startupTrials` trials have finished the point is a startup
    /// one: random, or with `startup == .lhs` the Latin hypercube's point `index` (trials past the
    /// design that parallel workers start before the design's trials finish are random).
    /// - Complexity: O(d * c * n) for d dimensions, c candidates and n trials, plus sorting the trials.
    public func sample(after trials: [TPETrial], seed: UInt64, index: Int) -> [Double] {
        var generator = NeuralNet.SplitMix64(seed: seed)
        let finished = trials.filter { $0.state != .running }
        if finished.count < startupTrials {
            if startup == .lhs && (0..<startupTrials).contains(index) {
                return LatinHypercube(space: space, size: startupTrials, seed: designSeed).point(index, using: &generator)
            }
            return randomPoint(using: &generator)
        }
        let (below, above) = split(trials)
        if multivariate {
            return bestCandidate(below: below.map(\.values), above: above.map(\.values), space: space, using: &generator)
        }
        return space.indices.map { index in
            bestCandidate(below: below.map { [$0.values[index]] }, above: above.map { [$0.values[index]] },
                          space: [space[index]], using: &generator)[0]
        }
    }

    /// Uniform over the space (log-uniform on log dimensions), as Optuna's RandomSampler.
    public func randomPoint(using generator: inout NeuralNet.SplitMix64) -> [Double] {
        space.map { dimension in
            switch dimension {
            case let .categorical(count):
                return Double(Int(generator.next() % UInt64(count)))
            case let .numeric(low, high, isLog, step):
                return Self.numericValue(unit: generator.nextUnit(), low: low, high: high, isLog: isLog, step: step)
            }
        }
    }

    /// A numeric dimension's value at `unit` (in [0, 1)) of its range: as Optuna's RandomSampler,
    /// uniform over the bounds widened by half a step (and on a log scale for log dimensions), then
    /// rounded to the step; a stepped linear dimension by its cells.
    static func numericValue(unit: Double, low: Double, high: Double, isLog: Bool, step: Double?) -> Double {
        if let step, !isLog {
            // In Doubles: 2^63 cells (a seed's whole range) are beyond Int.
            let cells = ((high - low) / step).rounded() + 1
            return low + min((unit * cells).rounded(.down), cells - 1) * step
        }
        let half = (step ?? 0) / 2
        let (from, to) = isLog ? (log(low - half), log(high + half)) : (low - half, high + half)
        var value = from + unit * (to - from)
        if isLog { value = exp(value) }
        if let step { value = low + ((value - low) / step).rounded() * step }
        return min(max(value, low), high)
    }

    /// Optuna's split: the best gamma(n) trials are good; complete trials rank by value, then pruned
    /// ones by the later epoch and then the value; running trials are always bad. Both keep trial order.
    func split(_ trials: [TPETrial]) -> (below: [TPETrial], above: [TPETrial]) {
        let goodCount = gamma(trials.filter { $0.state != .running }.count)  // Optuna: running trials not counted
        func rank(_ state: TPETrial.State) -> (Int, Double, Double) {
            switch state {
            case let .complete(value): return (0, 0, value.isNaN ? .infinity : value)
            case let .pruned(epoch, value): return (1, -Double(epoch), value.isNaN ? .infinity : value)
            case .running: return (2, 0, 0)
            }
        }
        let order = trials.indices.sorted { left, right in
            let (a, b) = (rank(trials[left].state), rank(trials[right].state))
            return a != b ? a < b : left < right
        }
        let good = Set(order.prefix(goodCount).filter { trials[$0].state != .running })
        return (trials.indices.filter { good.contains($0) }.map { trials[$0] },
                trials.indices.filter { !good.contains($0) }.map { trials[$0] })
    }

    /// Draws candidates from l (the good trials' estimator) and keeps the one with the largest l/g.
    private func bestCandidate(below: [[Double]], above: [[Double]], space: [SearchDimension],
                               using generator: inout NeuralNet.SplitMix64) -> [Double] {
        let good = ParzenEstimator(observations: below, space: space)
        let bad = ParzenEstimator(observations: above, space: space)
        let candidates = good.sample(count: candidateCount, using: &generator)
        var best = candidates[0], bestScore = -Double.infinity
        for candidate in candidates {
            let score = good.logDensity(candidate) - bad.logDensity(candidate)
            if score > bestScore { best = candidate; bestScore = score }
        }
        return best
    }
}
