// Sampled sweeps (TPE): a trial is a row of `runs`, made when a worker asks for one, inside the
// claim's write transaction, so parallel workers never make or run the same trial; and the
// per-epoch values that successive halving compares at its rungs.
import Foundation

extension SlopeStore {
    /// A trial of a sampled sweep as the sampler sees it: a narrow projection of a `runs` row, on
    /// purpose beside `RunRecord` (the one read model of a run), since with 1,000 trials decoding
    /// whole runs would cost more than the sampling (see `claimNextTrial`).
    public struct TrialRecord: Equatable, Sendable {
        public var id: Int64
        public var status: RunStatus
        /// The `trial` array of the run's `config` (the sampler's internal values) as JSON text.
        public var trialJSON: String?
        /// The last stored epoch.
        public var epochsDone: Int
        /// The run's final value of the sweep's metric (nil before its first epoch).
        public var value: Double?
    }

    /// The per-epoch metrics: what a sampler or pruner ranks by, and report's curves (Reporting's
    /// `CurveMetric`). The final values in `runs` and the per-epoch values in `epochs` have the same names.
    public enum TrialMetric: String, CaseIterable, Sendable {
        case train_loss, val_loss, train_accuracy, val_accuracy
        var finalColumn: String { "final_" + rawValue }

        /// This metric's value in a stored epoch (nil when the epoch has none: no validation rows).
        public func value(in epoch: EpochRecord) -> Double? {
            switch self {
            case .train_loss: return epoch.trainLoss
            case .val_loss: return epoch.validationLoss
            case .train_accuracy: return epoch.trainAccuracy
            case .val_accuracy: return epoch.validationAccuracy
            }
        }
    }

    /// Whether a metric is better higher when no goal is given: accuracies are maximised, everything
    /// else (losses) minimised. The one rule for a sweep file's `metric:` without `goal:` and for
    /// report's `--metric` (metric names such as `val_accuracy`, and columns such as `final_val_accuracy`).
    public static func isMaximizedByDefault(_ metricName: String) -> Bool { metricName.hasSuffix("accuracy") }

    /// Claims the oldest queued run of the sweep but `excluded` (a trial requeued by Ctrl-C continues,
    /// it is not sampled again; one this worker set aside, too large for its memory, waits for
    /// another worker); when none is queued and the sweep has fewer than `trialCount` runs, makes one:
    /// `makeTrial` gets the sweep's number of runs and its runs with an id of at least `fromRunID`
    /// (in id order, running ones included: all of them with the default 0; a sampler that keeps
    /// the finished ones it saw asks only for the rest) and returns the new run, which is inserted
    /// and claimed in the same transaction. Nil when the sweep has all its trials. N processes
    /// calling this never get the same run and never make more than `trialCount`.
    public func claimNextTrial(sweepID: Int64, trialCount: Int, metric: TrialMetric, worker: WorkerIdentity, fromRunID: Int64 = 0,
                               excluding excluded: Set<Int64> = [], makeTrial: (_ runCount: Int, _ records: [TrialRecord]) throws -> NewRun) throws -> ClaimedRun? {
        try write { c in
            // One trial maker per sweep at a time: on PostgreSQL two workers' transactions would
            // otherwise both count the runs, sample from the same history and insert two trials (the
            // same point, or one over `trialCount`). With the sweep's row locked first, the second
            // waits, and its statements (READ COMMITTED) then see the first one's trial.
            _ = try c.rows("SELECT id FROM sweeps WHERE id = ?" + c.dialect.forUpdate, [sweepID])
            let oldest = Self.oldestQueued(sweepID: sweepID, excluding: excluded, c.dialect)
            if let queued = try claim(where: oldest.condition, oldest.arguments, worker: worker, c) {
                return queued
            }
            let runCount = try c.value("SELECT count(*) FROM runs WHERE sweep_id = ?", [sweepID], as: Int.self) ?? 0
            guard runCount < trialCount else { return nil }
            // Columns by position: looking them up by name costs more than the sampling with 1,000 trials.
            let rows = try c.rows("""
                SELECT id, status, \(c.dialect.jsonValue("config", ["trial"], as: .text)), epochs_done, \(metric.finalColumn)
                FROM runs WHERE sweep_id = ? AND id >= ? ORDER BY id
                """, [sweepID, fromRunID])
            let trials = try rows.map { row -> TrialRecord in
                let id = Int64(sqlValue: row[0]) ?? 0
                guard let status = String(sqlValue: row[1]).flatMap(RunStatus.init(rawValue:)) else {
                    throw StoreError.corrupt(path: path, detail: "run \(id) has an unknown status")
                }
                return TrialRecord(id: id, status: status, trialJSON: String(sqlValue: row[2]),
                                   epochsDone: Int(sqlValue: row[3]) ?? 0, value: Double(sqlValue: row[4]))
            }
            let runID = try insertRun(try makeTrial(runCount, trials), sweepID: sweepID, c)
            return try claim(where: "id = ? AND status = 'queued'", [runID], worker: worker, c)
        }
    }

    /// The ids of sweeps that are not completed or failed, and whose stored spec has `method: <method>`
    /// when one is given: the sampled sweeps a `runner work` without --sweep may make trials for,
    /// or (nil) every sweep it may claim runs of.
    public func openSweepIDs(method: String?) throws -> [Int64] {
        try read { c in
            let open = "status NOT IN ('completed', 'failed')"
            guard let method else { return try c.values("SELECT id FROM sweeps WHERE \(open) ORDER BY id", [], as: Int64.self) }
            return try c.values("""
                SELECT id FROM sweeps WHERE \(c.dialect.jsonValue("spec", ["method"], as: .text)) = ?
                AND \(open) ORDER BY id
                """, [method], as: Int64.self)
        }
    }

    /// The values of `metric` at `epoch` of the sweep's runs (but `runID`), in no order; NaN for a
    /// stored epoch without that value (a diverged one).
    public func epochValues(sweepID: Int64, epoch: Int, metric: TrialMetric, excluding runID: Int64) throws -> [Double] {
        try read { c in
            try c.rows("""
                SELECT e.\(metric.rawValue) AS value FROM epochs AS e JOIN runs AS r ON r.id = e.run_id
                WHERE r.sweep_id = ? AND e.epoch = ? AND r.id <> ?
                """, [sweepID, epoch, runID]).map { Double(sqlValue: $0[0]) ?? .nan }
        }
    }
}
