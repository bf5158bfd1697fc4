// The worker's part in sampled sweeps and early termination: claiming a run or making the next
// TPE trial, and the pruning rules (median, ASHA) checked after each epoch.
import Foundation
import NeuralNet
import Store

extension Worker {
    /// The next run to train: for a TPE sweep, its next queued run or a new trial (sampled inside the
    /// claim's transaction); otherwise the oldest queued run, and when `sweepID` is nil and none is
    /// queued, a new trial of any open TPE sweep. Never one this worker set aside (`unclaimableRuns`).
    func claimNext(sweepID: Int64?) throws -> SlopeStore.ClaimedRun? {
        if let sweepID, case let spec = try sweepSpec(sweepID), spec.method == .tpe {
            return try claimTrial(sweepID: sweepID, spec: spec)
        }
        if let claimed = try store.claimNextRun(sweepID: sweepID, worker: identity, excluding: unclaimableRuns.value) { return claimed }
        guard sweepID == nil else { return nil }
        for sweep in try store.openSweepIDs(method: SweepSpec.Method.tpe.rawValue) {
            let spec = try sweepSpec(sweep)
            guard spec.method == .tpe else { continue }
            if let claimed = try claimTrial(sweepID: sweep, spec: spec) { return claimed }
        }
        return nil
    }

    private func claimTrial(sweepID: Int64, spec: SweepSpec) throws -> SlopeStore.ClaimedRun? {
        let maker = try trialMaker(sweepID: sweepID, spec: spec)
        return try maker.claimNextTrial(in: store, sweepID: sweepID, worker: identity, excluding: unclaimableRuns.value)
    }

    /// One maker per sweep and process, its data loaded before the first claim.
    private func trialMaker(sweepID: Int64, spec: SweepSpec) throws -> TrialMaker {
        if let maker = trialMakers.value[sweepID] { return maker }
        let maker = TrialMaker(spec: spec)
        try maker.preload()
        trialMakers.update { $0[sweepID] = $0[sweepID] ?? maker }
        return trialMakers.value[sweepID]!
    }

    /// Why the run stops after `epoch` (its epoch `epoch.epoch` of `epochs`, just trained or the
    /// stored one a resumed run continues after), or nil to go on.
    /// Median: from epoch warmup + 1, a validation loss above the other runs' median at that epoch.
    /// ASHA: at a rung epoch, a metric value not among the best 1/factor of the runs that reached it.
    /// The last epoch is never pruned (the run ends there anyway).
    func pruneReason(_ rule: SweepSpec.EarlyTerminate, sweepID: Int64, runID: Int64, epoch result: SlopeStore.EpochRecord,
                     epochs: Int) throws -> String? {
        guard result.epoch < epochs else { return nil }
        switch rule.kind {
        case .median:
            guard result.epoch > rule.warmupEpochs, let loss = result.validationLoss,
                  let median = try store.medianValidationLoss(sweepID: sweepID, epoch: result.epoch, excluding: runID),
                  loss > median else { return nil }
            return "pruned at epoch \(result.epoch): val_loss \(formatNumber(loss)) > median \(formatNumber(median))"
        case .asha:
            guard let halving = rule.successiveHalving, let rung = halving.rung(atEpoch: result.epoch) else { return nil }
            let spec = try sweepSpec(sweepID)
            let metric = SlopeStore.TrialMetric(rawValue: spec.metric.name.rawValue) ?? .val_loss
            guard let value = metric.value(in: result) else { return nil }
            let others = try store.epochValues(sweepID: sweepID, epoch: result.epoch, metric: metric, excluding: runID)
            if halving.continues(value: value, others: others, goal: spec.metric.goal) { return nil }
            let kept = max(1, (others.count + 1) / halving.reductionFactor)
            return "pruned at epoch \(result.epoch) (ASHA rung \(rung)): \(metric.rawValue) \(formatNumber(value)) "
                + "not in the best \(kept) of the \(others.count + 1) runs there"
        }
    }

    /// The TPE sweeps this worker may make trials for (`sweepID`, or every open one when nil) that
    /// have fewer runs than their `count`.
    func unsampledTrials(sweepID: Int64?) throws -> [UnsampledTrials] {
        try (sweepID.map { [$0] } ?? store.openSweepIDs(method: SweepSpec.Method.tpe.rawValue)).compactMap { sweep in
            let spec = try sweepSpec(sweep)
            let left = try Self.unsampledTrialCount(spec, sweepID: sweep, store)
            guard left > 0, let count = spec.count else { return nil }
            return UnsampledTrials(sweepID: sweep, left: left, count: count)
        }
    }

    /// How many trials a TPE sweep has not sampled yet: its `count` less the runs it has; 0 for
    /// other methods.
    static func unsampledTrialCount(_ spec: SweepSpec, sweepID: Int64, _ store: SlopeStore) throws -> Int {
        guard spec.method == .tpe, let count = spec.count else { return 0 }
        return max(0, count - (try store.queries.runCount(sweepID: sweepID)))
    }

    /// What is left to train in a scope: the one rule behind the runner's progress total, how it
    /// says to continue a run and its note that a sweep is not finished. `runID`: that run alone (1
    /// unless it is finished). Else the unfinished runs of `sweepID` (`StoreError.notFound` when
    /// there is no such sweep), or of every sweep and single run when nil, plus the trials of the
    /// TPE sweeps in the scope (every open one when nil) not sampled yet. Counts: no run is read.
    public static func pendingRuns(in store: SlopeStore, sweepID: Int64?, runID: Int64?) throws -> Int {
        if let runID { return try store.run(id: runID).status.isFinished ? 0 : 1 }
        if let sweepID { _ = try store.sweep(id: sweepID) }
        let unfinished = RunStatus.allCases.filter { !$0.isFinished }.map { FilterValue.text($0.rawValue) }
        let pending = try store.queries.runCount(sweepID: sweepID, filter: .isIn(.status, unfinished))
        let unsampled = try (sweepID.map { [$0] } ?? store.openSweepIDs(method: SweepSpec.Method.tpe.rawValue)).reduce(0) { total, sweep in
            // A spec that does not read back (damaged) has no trials to count: the worker refuses it.
            guard let spec = SweepSpec.stored(in: store, sweepID: sweep) else { return total }
            return total + (try unsampledTrialCount(spec, sweepID: sweep, store))
        }
        return pending + unsampled
    }

    /// A sweep is complete once each of its runs has ended (`statusCounts`: its runs' counts by
    /// status, `runStatusCounts`); a TPE sweep, once it also has all its trials.
    func sweepIsComplete(_ sweepID: Int64, statusCounts: [String: Int]) throws -> Bool {
        guard statusCounts.keys.allSatisfy({ RunStatus(rawValue: $0)?.isFinished ?? false }) else { return false }
        let spec = try sweepSpec(sweepID)
        guard spec.method == .tpe else { return true }
        return statusCounts.values.reduce(0, +) >= (spec.count ?? 0)
    }
}
