// Asynchronous successive halving (ASHA, Li et al. 2018), as Optuna's SuccessiveHalvingPruner:
// at rungs min_epochs x factor^k a run goes on only if it is among the best of the runs that got there.
import Foundation

public struct SuccessiveHalving: Hashable, Sendable {
    public var minEpochs: Int
    public var reductionFactor: Int

    public init(minEpochs: Int, reductionFactor: Int) {
        self.minEpochs = minEpochs
        self.reductionFactor = reductionFactor
    }

    /// The rung index of `epoch` (0 for min_epochs, 1 for min_epochs x factor, ...), nil between rungs.
    public func rung(atEpoch epoch: Int) -> Int? {
        guard minEpochs >= 1, reductionFactor >= 2, epoch >= minEpochs else { return nil }
        var rungEpoch = minEpochs, index = 0
        while rungEpoch < epoch {
            let (next, overflow) = rungEpoch.multipliedReportingOverflow(by: reductionFactor)
            if overflow { return nil }
            rungEpoch = next
            index += 1
        }
        return rungEpoch == epoch ? index : nil
    }

    /// Whether a run whose metric at a rung is `value` goes on, given the values at that rung of the
    /// other runs that reached it: it must be among the best max(1, floor(n / factor)) of the n runs
    /// there, itself included (Optuna's rule; the first run at a rung always goes on). A NaN is worst.
    public func continues(value: Double, others: [Double], goal: SweepSpec.Goal) -> Bool {
        guard !value.isNaN else { return false }
        let all = (others + [value]).map { $0.isNaN ? (goal == .minimize ? Double.infinity : -.infinity) : $0 }
        let sorted = goal == .minimize ? all.sorted() : all.sorted(by: >)
        let kept = max(1, all.count / reductionFactor)
        let threshold = sorted[kept - 1]
        return goal == .minimize ? value <= threshold : value >= threshold
    }
}
