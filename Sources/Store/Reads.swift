// Reads used by the worker (resume, pruning), the runner's lookups of one run or sweep, and tests: runs,
// epochs, tensors and sweeps. Each function is one read transaction on a snapshot. The runner's
// summaries and report read through RunQueries.swift (`store.queries`); `runs(sweepID:)`, `tensors(...)` and `sweeps()` here have no
// caller but tests. Both decode runs, sweeps and tensors rows with the one decoder of each, in Records.swift.
import Foundation

extension SlopeStore {
    public func run(id: Int64) throws -> RunRecord {
        guard let run = try queries.runSummary(id: id) else { throw StoreError.notFound("run \(id)") }
        return run
    }

    /// The runs of a sweep (every run when nil), by id.
    public func runs(sweepID: Int64?) throws -> [RunRecord] {
        try queries.runSummaries(sweepID: sweepID)
    }

    /// The epochs of a run, in order (epoch 0 = initial state).
    public func epochs(runID: Int64) throws -> [EpochRecord] {
        try read { c in
            try c.rows("SELECT \(EpochRecord.selectList) FROM epochs WHERE run_id = ? ORDER BY epoch", [runID])
                .map(EpochRecord.init(row:))
        }
    }

    /// How many epochs of the run are stored (0 for a run stopped before its first).
    public func storedEpochCount(runID: Int64) throws -> Int {
        try queries.epochCount(runID: runID)
    }

    /// Stored tensors of a run, filtered by epoch, layer and kind when given; ordered by epoch, layer, kind.
    public func tensors(runID: Int64, epoch: Int? = nil, layer: Int? = nil, kind: TensorKind? = nil) throws -> [StoredTensor] {
        try queries.storedTensors(runID: runID, epoch: epoch, layer: layer, kind: kind)
    }

    /// The last epoch holding the run's weights, with every tensor stored at that epoch
    /// (weights, biases, velocities, gradients). Nil when the run stored no weights.
    public func resumePoint(runID: Int64) throws -> (epoch: Int, tensors: [TensorRecord])? {
        try read { c in
            // Walks the primary key (run_id, epoch, ...) backwards: no BLOB is read.
            guard let epoch = try c.value("""
                SELECT epoch FROM tensors WHERE run_id = ? AND kind = 'weight' ORDER BY epoch DESC LIMIT 1
                """, [runID], as: Int.self) else { return nil }
            let tensors = try c.rows("""
                SELECT \(StoredTensor.selectList) FROM tensors WHERE run_id = ? AND epoch = ? ORDER BY layer, kind
                """, [runID, epoch]).map { try StoredTensor(row: $0).tensor }
            return (epoch, tensors)
        }
    }

    public func sweeps() throws -> [SweepRecord] {
        try queries.sweepSummaries()
    }

    public func sweep(id: Int64) throws -> SweepRecord {
        guard let sweep = try queries.sweepSummary(id: id) else { throw StoreError.notFound("sweep \(id)") }
        return sweep
    }

    /// Median validation loss at `epoch` over the sweep's other runs (for median pruning);
    /// nil when no other run has a validation loss at that epoch.
    public func medianValidationLoss(sweepID: Int64, epoch: Int, excluding runID: Int64?) throws -> Double? {
        let losses = try read { c in
            try c.values("""
                SELECT e.val_loss FROM epochs AS e JOIN runs AS r ON r.id = e.run_id
                WHERE r.sweep_id = ? AND e.epoch = ? AND e.val_loss IS NOT NULL\(runID == nil ? "" : " AND r.id <> ?")
                ORDER BY e.val_loss
                """, [sweepID, epoch] + (runID.map { [$0] } ?? []), as: Double.self)
        }
        guard !losses.isEmpty else { return nil }
        let middle = losses.count / 2
        return losses.count % 2 == 1 ? losses[middle] : (losses[middle - 1] + losses[middle]) / 2
    }
}
