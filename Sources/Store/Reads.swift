// The worker's reads that RunQueries (`store.queries`, the one read API) does not have: where a run
// resumes and the median for pruning, each one read transaction on a snapshot; and a few wrappers
// of RunQueries: `run(id:)` and `sweep(id:)` (which throw `.notFound`), a run's epochs and their count.
// Reads only tests use (every run, a run's tensors, every sweep) are in TestSupport's StoreReads.swift.
import Foundation

extension SlopeStore {
    public func run(id: Int64) throws -> RunRecord {
        guard let run = try queries.runSummary(id: id) else { throw StoreError.notFound("run \(id)") }
        return run
    }

    /// The epochs of a run, in order (epoch 0 = initial state).
    public func epochs(runID: Int64) throws -> [EpochRecord] {
        try queries.epochRows(runIDs: [runID]).map(\.record)
    }

    /// How many epochs of the run are stored (0 for a run stopped before its first).
    public func storedEpochCount(runID: Int64) throws -> Int {
        try queries.epochCount(runID: runID)
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
