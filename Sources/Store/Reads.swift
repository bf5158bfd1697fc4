// Reads used by the runner (resume, pruning, summaries) and by tests: runs, epochs, tensors and
// sweeps. Each function is one read transaction on a WAL snapshot. (report reads through Queries*.swift.)
import Foundation
import GRDB

extension SlopeStore {
    public func run(id: Int64) throws -> RunRecord {
        try read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM runs WHERE id = ?", arguments: [id]) else {
                throw StoreError.notFound("run \(id)")
            }
            return try RunRecord(row: row)
        }
    }

    /// The runs of a sweep (every run when nil), by id.
    public func runs(sweepID: Int64?) throws -> [RunRecord] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM runs WHERE (:sweep IS NULL OR sweep_id = :sweep) ORDER BY id",
                             arguments: ["sweep": sweepID]).map(RunRecord.init(row:))
        }
    }

    /// The epochs of a run, in order (epoch 0 = initial state).
    public func epochs(runID: Int64) throws -> [EpochRecord] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT \(EpochRecord.selectList) FROM epochs WHERE run_id = ? ORDER BY epoch",
                             arguments: [runID]).map(EpochRecord.init(row:))
        }
    }

    /// Stored tensors of a run, filtered by epoch, layer and kind when given; ordered by epoch, layer, kind.
    public func tensors(runID: Int64, epoch: Int? = nil, layer: Int? = nil, kind: TensorKind? = nil) throws -> [StoredTensor] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT epoch, layer, kind, rows, cols, dtype, data, l2, mean, std, min, max FROM tensors
                WHERE run_id = :run AND (:epoch IS NULL OR epoch = :epoch)
                  AND (:layer IS NULL OR layer = :layer) AND (:kind IS NULL OR kind = :kind)
                ORDER BY epoch, layer, kind
                """, arguments: ["run": runID, "epoch": epoch, "layer": layer, "kind": kind?.rawValue])
                .map(StoredTensor.init(row:))
        }
    }

    /// The last epoch holding the run's weights, with every tensor stored at that epoch
    /// (weights, biases, velocities, gradients). Nil when the run stored no weights.
    public func resumePoint(runID: Int64) throws -> (epoch: Int, tensors: [TensorRecord])? {
        try read { db in
            // Walks the primary key (run_id, epoch, ...) backwards: no BLOB is read.
            guard let epoch = try Int.fetchOne(db, sql: """
                SELECT epoch FROM tensors WHERE run_id = ? AND kind = 'weight' ORDER BY epoch DESC LIMIT 1
                """, arguments: [runID]) else { return nil }
            let tensors = try Row.fetchAll(db, sql: """
                SELECT epoch, layer, kind, rows, cols, dtype, data, l2, mean, std, min, max FROM tensors
                WHERE run_id = ? AND epoch = ? ORDER BY layer, kind
                """, arguments: [runID, epoch]).map { try StoredTensor(row: $0).tensor }
            return (epoch, tensors)
        }
    }

    public func sweeps() throws -> [SweepRecord] {
        try read { db in try Row.fetchAll(db, sql: "SELECT * FROM sweeps ORDER BY id").map(SweepRecord.init(row:)) }
    }

    public func sweep(id: Int64) throws -> SweepRecord {
        try read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM sweeps WHERE id = ?", arguments: [id]) else {
                throw StoreError.notFound("sweep \(id)")
            }
            return try SweepRecord(row: row)
        }
    }

    /// Median validation loss at `epoch` over the sweep's other runs (for median pruning);
    /// nil when no other run has a validation loss at that epoch.
    public func medianValidationLoss(sweepID: Int64, epoch: Int, excluding runID: Int64?) throws -> Double? {
        let losses = try read { db in
            try Double.fetchAll(db, sql: """
                SELECT e.val_loss FROM epochs AS e JOIN runs AS r ON r.id = e.run_id
                WHERE r.sweep_id = ? AND e.epoch = ? AND e.val_loss IS NOT NULL AND (? IS NULL OR r.id <> ?)
                ORDER BY e.val_loss
                """, arguments: [sweepID, epoch, runID, runID])
        }
        guard !losses.isEmpty else { return nil }
        let middle = losses.count / 2
        return losses.count % 2 == 1 ? losses[middle] : (losses[middle - 1] + losses[middle]) / 2
    }
}

// MARK: - Decoding rows (internal: the Queries*.swift files reuse them)

extension SlopeStore.RunRecord {
    init(row: Row) throws {
        guard let status = RunStatus(rawValue: row["status"]),
              let precision = SlopeStore.DType(rawValue: row["precision"]) else {
            throw StoreError.corrupt(path: "database", detail: "run \(row["id"] as Int64) has an unknown status or precision")
        }
        let seed: Int64 = row["seed"]
        self.init(
            id: row["id"], sweepID: row["sweep_id"], status: status, stopReason: row["stop_reason"],
            settings: SlopeStore.NewRun(
                name: row["name"], learningRate: row["learning_rate"], batchSize: row["batch_size"],
                momentum: row["momentum"], epochs: row["epochs"], seed: UInt64(bitPattern: seed),
                layers: row["layers"], activation: row["activation"], outputActivation: row["output_activation"],
                loss: row["loss"], precision: precision, dataset: row["dataset"], datasetSHA256: row["dataset_sha256"],
                validationFraction: row["validation_fraction"], configJSON: row["config"], slopeVersion: row["slope_version"]),
            createdAt: row["created_at"], startedAt: row["started_at"], finishedAt: row["finished_at"],
            heartbeatAt: row["heartbeat_at"], worker: row["worker"], host: row["host"], pid: row["pid"],
            error: row["error"], epochsDone: row["epochs_done"],
            finalTrainLoss: row["final_train_loss"], finalValidationLoss: row["final_val_loss"],
            finalTrainAccuracy: row["final_train_accuracy"], finalValidationAccuracy: row["final_val_accuracy"],
            bestTrainLoss: row["best_train_loss"], bestValidationLoss: row["best_val_loss"], bestEpoch: row["best_epoch"])
    }
}

extension SlopeStore.SweepRecord {
    init(row: Row) throws {
        guard let status = SweepStatus(rawValue: row["status"]) else {
            throw StoreError.corrupt(path: "database", detail: "sweep \(row["id"] as Int64) has an unknown status")
        }
        self.init(id: row["id"], name: row["name"], specJSON: row["spec"], createdAt: row["created_at"], status: status)
    }
}

extension SlopeStore.StoredTensor {
    init(row: Row) throws {
        guard let kind = SlopeStore.TensorKind(rawValue: row["kind"]),
              let dtype = SlopeStore.DType(rawValue: row["dtype"]) else {
            throw StoreError.corrupt(path: "database", detail: "a tensor has an unknown kind or dtype")
        }
        let data: Data = row["data"]
        self.init(
            epoch: row["epoch"],
            tensor: SlopeStore.TensorRecord(layer: row["layer"], kind: kind, rows: row["rows"], cols: row["cols"],
                                            dtype: dtype, data: [UInt8](data)),
            statistics: TensorStatistics(l2: row["l2"], mean: row["mean"], std: row["std"], min: row["min"], max: row["max"]))
    }
}
