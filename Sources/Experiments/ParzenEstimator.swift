// The Parzen estimator of TPE (Bergstra et al. 2011) with Optuna's rules: one kernel per
// observation plus a prior kernel, truncated normals for numbers, smoothed one-hots for categories.
import Foundation
import NeuralNet

/// One dimension of a search space, in TPE's internal representation.
public enum SearchDimension: Hashable, Sendable {
    /// `count` choices, observed and sampled as their index 0..<count.
    case categorical(count: Int)
    /// A number in [low, high]; `isLog`: the estimator works on log(value); `step` (1 for whole
    /// numbers on a linear scale): values lie on low, low + step, ... high.
    case numeric(low: Double, high: Double, isLog: Bool, step: Double?)
}

/// The mixture density l(x) or g(x) of TPE over a whole search space (or one dimension of it):
/// kernel k has weight `weights[k]` and, in every dimension, a truncated normal or a categorical.
/// Observations are internal values (numbers as they are, categories as indices); the densities are
/// over the transformed space (log for log-scale dimensions), where Optuna computes them too.
struct ParzenEstimator {
    /// The kernels of one numeric dimension, in the transformed space (log for log-scale dimensions;
    /// bounds widened by half a step for stepped ones): `low` ... `high` bound the truncated normals.
    struct NumericKernels {
        var mus: [Double]
        var sigmas: [Double]
        var low: Double, high: Double
        var dimension: SearchDimension
        /// Per kernel, the log of what its density is divided by: the mass inside [low, high]
        /// (times sigma sqrt(2 pi) for a continuous dimension). Computed once: it does not depend on x.
        var logNormalizers: [Double] = []
    }
    enum Kernels {
        case numeric(NumericKernels)
        /// log probabilities[k][c]
        case categorical([[Double]])
    }

    let weights: [Double]
    let logWeights: [Double]
    let dimensions: [Kernels]

    /// Optuna's default prior weight; magic clip on, endpoints not considered.
    static let priorWeight = 1.0

    /// - Parameter observations: one row per trial (in trial order), one internal value per dimension.
    ///   With `space` of several dimensions every kernel is a product over them (multivariate TPE).
    init(observations: [[Double]], space: [SearchDimension]) {
        var weights = Self.defaultWeights(observations.count)
        weights.append(observations.isEmpty ? 1 : Self.priorWeight)
        let total = weights.reduce(0, +)
        self.weights = weights.map { $0 / total }
        logWeights = self.weights.map { log($0) }
        dimensions = space.enumerated().map { index, dimension in
            let column = observations.map { $0[index] }
            switch dimension {
            case let .categorical(count):
                return .categorical(Self.categoricalKernels(column, count: count).map { $0.map { log($0) } })
            case .numeric:
                return .numeric(Self.numericKernels(column, dimension: dimension))
            }
        }
    }

    /// Optuna's `default_weights`: equal for the last 25 observations, older ones ramped down.
    static func defaultWeights(_ count: Int) -> [Double] {
        guard count >= 25 else { return Array(repeating: 1, count: count) }
        let rampCount = count - 25
        let ramp: [Double] = (0..<rampCount).map { index in
            rampCount == 1 ? 1 / Double(count) : 1 / Double(count) + (1 - 1 / Double(count)) * Double(index) / Double(rampCount - 1)
        }
        return ramp + Array(repeating: 1, count: 25)
    }

    /// Each observed choice's kernel: prior weight / kernels on every choice plus 1 on its own, normalized;
    /// the prior's kernel is uniform.
    static func categoricalKernels(_ observed: [Double], count: Int) -> [[Double]] {
        let kernelCount = observed.count + 1
        var rows = [[Double]](repeating: [Double](repeating: priorWeight / Double(kernelCount), count: count), count: kernelCount)
        for (kernel, value) in observed.enumerated() { rows[kernel][Int(value)] += 1 }
        return rows.map { row in let sum = row.reduce(0, +); return row.map { $0 / sum } }
    }

    /// Means are the (transformed) observations, plus the prior's in the middle. Each bandwidth is the
    /// larger gap to its sorted neighbours (the bounds count as neighbours, except that the lowest and
    /// highest observations use their inner gap), clipped to [width / min(100, kernels + 1), width];
    /// the prior's is the width.
    static func numericKernels(_ observed: [Double], dimension: SearchDimension) -> NumericKernels {
        guard case let .numeric(rawLow, rawHigh, isLog, step) = dimension else { preconditionFailure("not numeric") }
        let transform: (Double) -> Double = isLog ? { log($0) } : { $0 }
        let low = transform(rawLow - (step ?? 0) / 2), high = transform(rawHigh + (step ?? 0) / 2)
        let mus = observed.map(transform)
        let width = high - low
        let order = mus.indices.sorted { mus[$0] < mus[$1] }  // stable, as argsort
        let points = [low] + order.map { mus[$0] } + [high]
        var sorted: [Double] = []
        for index in 1..<(points.count - 1) {
            let left: Double = points[index] - points[index - 1]
            let right: Double = points[index + 1] - points[index]
            sorted.append(max(left, right))
        }
        if points.count >= 4 {  // consider_endpoints = False
            sorted[0] = points[2] - points[1]
            sorted[sorted.count - 1] = points[points.count - 2] - points[points.count - 3]
        }
        var sigmas = [Double](repeating: 0, count: mus.count)
        let minimumSigma = width / min(100, 1 + Double(mus.count + 1))  // magic clip
        for (rank, index) in order.enumerated() { sigmas[index] = min(max(sorted[rank], minimumSigma), width) }
        var kernels = NumericKernels(mus: mus + [0.5 * (low + high)], sigmas: sigmas + [width], low: low, high: high, dimension: dimension)
        kernels.logNormalizers = zip(kernels.mus, kernels.sigmas).map { mu, sigma in
            let logMass = log(max(normalCDF((high - mu) / sigma) - normalCDF((low - mu) / sigma), 1e-300))
            return step != nil ? logMass : logMass + log(sigma) + 0.5 * log(2 * Double.pi)
        }
        return kernels
    }

    // MARK: - Densities

    /// log of the mixture density at `point` (internal values, one per dimension).
    /// - Complexity: O(kernels x dimensions), one exp per kernel (and two erfc for a stepped dimension).
    func logDensity(_ point: [Double]) -> Double {
        var terms = logWeights
        for (index, kernels) in dimensions.enumerated() {
            switch kernels {
            case let .categorical(logProbabilities):
                let choice = Int(point[index])
                for kernel in terms.indices { terms[kernel] += logProbabilities[kernel][choice] }
            case let .numeric(numeric):
                numeric.addLogDensities(point[index], to: &terms)
            }
        }
        let largest = terms.max() ?? -.infinity
        guard largest.isFinite else { return largest }
        return largest + log(terms.reduce(0) { $0 + exp($1 - largest) })
    }

    // MARK: - Sampling

    /// `count` points drawn from the mixture: a kernel by weight, then each dimension from that kernel.
    func sample(count: Int, using generator: inout NeuralNet.SplitMix64) -> [[Double]] {
        (0..<count).map { _ in
            let kernel = Self.pick(weights, unit: generator.nextUnit())
            return dimensions.map { kernels in
                switch kernels {
                case let .categorical(logProbabilities):
                    return Double(Self.pick(logProbabilities[kernel].map { exp($0) }, unit: generator.nextUnit()))
                case let .numeric(numeric):
                    return numeric.sample(kernel: kernel, using: &generator)
                }
            }
        }
    }

    /// The index whose cumulative weight first exceeds `unit` (weights sum to 1).
    static func pick(_ weights: [Double], unit: Double) -> Int {
        var cumulative = 0.0
        for (index, weight) in weights.enumerated() {
            cumulative += weight
            if unit < cumulative { return index }
        }
        return weights.count - 1
    }
}

extension ParzenEstimator.NumericKernels {
    private var isLog: Bool { if case let .numeric(_, _, isLog, _) = dimension { return isLog } else { return false } }
    private var step: Double? { if case let .numeric(_, _, _, step) = dimension { return step } else { return nil } }

    /// Adds each kernel's log density at x (an internal value) to `terms`: a normal truncated to
    /// [low, high] in the transformed space, or for a stepped dimension the mass of x's cell
    /// [x - step/2, x + step/2].
    func addLogDensities(_ x: Double, to terms: inout [Double]) {
        let transform: (Double) -> Double = isLog ? { log($0) } : { $0 }
        if let step {
            let (left, right) = (transform(x - step / 2), transform(x + step / 2))
            for kernel in terms.indices {
                let mu = mus[kernel], sigma = sigmas[kernel]
                let cell = normalCDF((right - mu) / sigma) - normalCDF((left - mu) / sigma)
                terms[kernel] += log(max(cell, 1e-300)) - logNormalizers[kernel]
            }
            return
        }
        let value = transform(x)
        for kernel in terms.indices {
            let z = (value - mus[kernel]) / sigmas[kernel]
            terms[kernel] += -0.5 * z * z - logNormalizers[kernel]
        }
    }


    /// A draw from kernel `kernel`, as an internal value: by rejection from the untruncated normal (the
    /// means lie inside the bounds and sigma is at most their width, so over 1/3 of draws are kept),
    /// back from log space, rounded to the step.
    func sample(kernel: Int, using generator: inout NeuralNet.SplitMix64) -> Double {
        guard case let .numeric(rawLow, rawHigh, _, step) = dimension else { return 0 }
        let mu = mus[kernel], sigma = sigmas[kernel]
        var value = mu
        for _ in 0..<1000 {
            var u1 = generator.nextUnit()
            while u1 == 0 { u1 = generator.nextUnit() }
            let u2 = generator.nextUnit()
            let draw = mu + sigma * (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
            if draw >= low && draw <= high { value = draw; break }
        }
        if isLog { value = exp(value) }
        if let step { value = rawLow + ((value - rawLow) / step).rounded() * step }
        return min(max(value, rawLow), rawHigh)
    }
}

/// Φ(z), the standard normal's cumulative distribution.
func normalCDF(_ z: Double) -> Double { 0.5 * erfc(-z / 2.0.squareRoot()) }
