// Reads used by the runner (resume, pruning, summaries) and by tests: runs, epochs, tensors and
// sweeps. Each function is one read transaction on a snapshot. (report reads through RunQueries.swift.)
import Foundation

extension SlopeStore {
    public func run(id: Int64) throws -> RunRecord {
        try read { c in
            guard let row = try c.rows("SELECT * FROM runs WHERE id = ?", [id]).first else {
                throw StoreError.notFound("run \(id)")
            }
            return try RunRecord(row: row)
        }
    }

    /// The runs of a sweep (every run when nil), by id.
    public func runs(sweepID: Int64?) throws -> [RunRecord] {
        try read { c in
            let rows = try sweepID.map { try c.rows("SELECT * FROM runs WHERE sweep_id = ? ORDER BY id", [$0]) }
                ?? c.rows("SELECT * FROM runs ORDER BY id", [])
            return try rows.map(RunRecord.init(row:))
        }
    }

    /// The epochs of a run, in order (epoch 0 = initial state).
    public func epochs(runID: Int64) throws -> [EpochRecord] {
        try read { c in
            try c.rows("SELECT \(EpochRecord.selectList) FROM epochs WHERE run_id = ? ORDER BY epoch", [runID])
                .map(EpochRecord.init(row:))
        }
    }

    /// Stored tensors of a run, filtered by epoch, layer and kind when given; ordered by epoch, layer, kind.
    public func tensors(runID: Int64, epoch: Int? = nil, layer: Int? = nil, kind: TensorKind? = nil) throws -> [StoredTensor] {
        var sql = "SELECT epoch, layer, kind, rows, cols, dtype, data, l2, mean, std, min, max FROM tensors WHERE run_id = ?"
        var arguments: [any SQLValueConvertible] = [runID]
        if let epoch { sql += " AND epoch = ?"; arguments.append(epoch) }
        if let layer { sql += " AND layer = ?"; arguments.append(layer) }
        if let kind { sql += " AND kind = ?"; arguments.append(kind.rawValue) }
        return try read { c in
            try c.rows(sql + " ORDER BY epoch, layer, kind", arguments).map(StoredTensor.init(row:))
        }
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
                SELECT epoch, layer, kind, rows, cols, dtype, data, l2, mean, std, min, max FROM tensors
                WHERE run_id = ? AND epoch = ? ORDER BY layer, kind
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

// MARK: - Decoding rows (internal: the query files reuse them)

extension SlopeStore.RunRecord {
    init(row: SQLRow) throws {
        let id: Int64 = try row.required("id")
        guard let status = row.get("status", as: String.self).flatMap(RunStatus.init(rawValue:)),
              let precision = row.get("precision", as: String.self).flatMap(SlopeStore.DType.init(rawValue:)) else {
            throw StoreError.corrupt(path: "database", detail: "run \(id) has an unknown status or precision")
        }
        let seed: Int64 = try row.required("seed")
        self.init(
            id: id, sweepID: row.get("sweep_id"), status: status, stopReason: row.get("stop_reason"),
            settings: SlopeStore.NewRun(
                name: row.get("name"), learningRate: try row.required("learning_rate"), batchSize: try row.required("batch_size"),
                momentum: try row.required("momentum"), epochs: try row.required("epochs"), seed: UInt64(bitPattern: seed),
                layers: try row.required("layers"), activation: try row.required("activation"),
                outputActivation: try row.required("output_activation"), loss: try row.required("loss"), precision: precision,
                dataset: try row.required("dataset"), datasetSHA256: row.get("dataset_sha256"),
                validationFraction: try row.required("validation_fraction"), configJSON: try row.required("config"),
                slopeVersion: try row.required("slope_version")),
            createdAt: try row.required("created_at"), startedAt: row.get("started_at"), finishedAt: row.get("finished_at"),
            heartbeatAt: row.get("heartbeat_at"), worker: row.get("worker"), host: row.get("host"), pid: row.get("pid"),
            error: row.get("error"), epochsDone: try row.required("epochs_done"),
            finalTrainLoss: row.get("final_train_loss"), finalValidationLoss: row.get("final_val_loss"),
            finalTrainAccuracy: row.get("final_train_accuracy"), finalValidationAccuracy: row.get("final_val_accuracy"),
            bestTrainLoss: row.get("best_train_loss"), bestValidationLoss: row.get("best_val_loss"), bestEpoch: row.get("best_epoch"))
    }
}

extension SlopeStore.SweepRecord {
    init(row: SQLRow) throws {
        let id: Int64 = try row.required("id")
        guard let status = row.get("status", as: String.self).flatMap(SweepStatus.init(rawValue:)) else {
            throw StoreError.corrupt(path: "database", detail: "sweep \(id) has an unknown status")
        }
        self.init(id: id, name: try row.required("name"), specJSON: try row.required("spec"),
                  createdAt: try row.required("created_at"), status: status, runCount: try row.required("run_count"))
    }
}

extension SlopeStore.StoredTensor {
    init(row: SQLRow) throws {
        guard let kind = row.get("kind", as: String.self).flatMap(SlopeStore.TensorKind.init(rawValue:)),
              let dtype = row.get("dtype", as: String.self).flatMap(SlopeStore.DType.init(rawValue:)) else {
            throw StoreError.corrupt(path: "database", detail: "a tensor has an unknown kind or dtype")
        }
        let data: Data = row.get("data") ?? Data()
        self.init(
            epoch: try row.required("epoch"),
            tensor: SlopeStore.TensorRecord(layer: try row.required("layer"), kind: kind, rows: try row.required("rows"),
                                            cols: try row.required("cols"), dtype: dtype, data: [UInt8](data)),
            statistics: TensorStatistics(l2: row.get("l2"), mean: row.get("mean"), std: row.get("std"),
                                         min: row.get("min"), max: row.get("max")))
    }
}
