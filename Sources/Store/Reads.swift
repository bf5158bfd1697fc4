// Reads used by the runner (resume, pruning, summaries) and by tests: runs, epochs, tensors and
// sweeps. Each function is one read transaction on a snapshot. (report reads through RunQueries.swift;
// both decode runs, sweeps and tensors rows with the one decoder of each, at the end of this file.)
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

// MARK: - Decoding rows (internal: the query files reuse them)

extension SlopeStore.RunRecord {
    /// The columns `init(row:)` reads: every `RunColumn` (qualified, as filters and sorts name them),
    /// then those only the typed properties hold.
    private static let columnNames = RunColumn.allCases.map(\.rawValue)
        + ["config", "error", "dataset_sha256", "slope_version", "heartbeat_at", "host", "pid"]
    static let selectList = columnNames.map { "runs.\($0)" }.joined(separator: ", ")
    /// Each column's position in `selectList`: rows are read by position, not searched by name.
    private static let positions = Dictionary(uniqueKeysWithValues: columnNames.enumerated().map { ($1, $0) })
    /// The `RunColumn`s read into `derivedSettings` (those without a typed property), with their positions.
    private static let derivedColumns = RunColumn.allCases.enumerated().filter { typedColumns[$1] == nil }

    /// From a row of `selectList`; throws for a status or precision Slope does not know, or a
    /// required column that is NULL (a database written by something else).
    init(row: SQLRow) throws {
        func value(_ name: String) -> SQLValue { row[Self.positions[name]!] }
        func get<T: SQLValueConvertible>(_ name: String) -> T? { T(sqlValue: value(name)) }
        func required<T: SQLValueConvertible>(_ name: String) throws -> T {
            guard let typed = T(sqlValue: value(name)) else {
                throw StoreError.invalidValue("column \(name) holds \(value(name)), not a \(T.self)")
            }
            return typed
        }
        let id: Int64 = try required("id")
        guard let status = (get("status") as String?).flatMap(RunStatus.init(rawValue:)),
              let precision = (get("precision") as String?).flatMap(SlopeStore.DType.init(rawValue:)) else {
            throw StoreError.corrupt(path: "database", detail: "run \(id) has an unknown status or precision")
        }
        let seed: Int64 = try required("seed")
        var derivedSettings: [RunColumn: RunValue] = [:]
        for (position, column) in Self.derivedColumns { derivedSettings[column] = RunValue(row[position]) }
        self.init(
            id: id, sweepID: get("sweep_id"), status: status, stopReason: get("stop_reason"),
            settings: SlopeStore.NewRun(
                name: get("name"), learningRate: try required("learning_rate"), batchSize: try required("batch_size"),
                momentum: try required("momentum"), epochs: try required("epochs"), seed: UInt64(bitPattern: seed),
                layers: try required("layers"), activation: try required("activation"),
                outputActivation: try required("output_activation"), loss: try required("loss"), precision: precision,
                dataset: try required("dataset"), datasetSHA256: get("dataset_sha256"),
                validationFraction: try required("validation_fraction"), configJSON: try required("config"),
                slopeVersion: try required("slope_version")),
            createdAt: try required("created_at"), startedAt: get("started_at"), finishedAt: get("finished_at"),
            heartbeatAt: get("heartbeat_at"), worker: get("worker"), host: get("host"), pid: get("pid"),
            error: get("error"), epochsDone: try required("epochs_done"),
            finalTrainLoss: get("final_train_loss"), finalValidationLoss: get("final_val_loss"),
            finalTrainAccuracy: get("final_train_accuracy"), finalValidationAccuracy: get("final_val_accuracy"),
            bestTrainLoss: get("best_train_loss"), bestValidationLoss: get("best_val_loss"), bestEpoch: get("best_epoch"),
            derivedSettings: derivedSettings)
    }
}

extension SlopeStore.SweepRecord {
    init(row: SQLRow) throws {
        let id: Int64 = try row.required("id")
        guard let status = row.get("status", as: String.self).flatMap(SweepStatus.init(rawValue:)) else {
            throw StoreError.corrupt(path: "database", detail: "sweep \(id) has an unknown status")
        }
        let specJSON: String = try row.required("spec"), storedRuns: Int = try row.required("run_count")
        let unsampled = Self.unsampledTrials(specJSON: specJSON, storedRuns: storedRuns)
        self.init(id: id, name: try row.required("name"), specJSON: specJSON, createdAt: try row.required("created_at"),
                  status: status, runCount: storedRuns + unsampled, unsampledCount: unsampled)
    }
}

extension SlopeStore.StoredTensor {
    /// The columns `init(row:)` reads, in its order.
    static let selectList = "run_id, epoch, layer, kind, rows, cols, dtype, data, l2, mean, std, min, max"

    /// From a row of `selectList`; throws `.corrupt` for a kind or dtype Slope does not know, or
    /// data that does not hold rows x cols values of the dtype (a database written by something else).
    init(row: SQLRow) throws {
        let runID = Int64(sqlValue: row[0]), epoch = Int(sqlValue: row[1]), layer = Int(sqlValue: row[2])
        let rows = Int(sqlValue: row[4]), cols = Int(sqlValue: row[5])
        guard let runID, let epoch, let layer, let rows, let cols,
              let kind = String(sqlValue: row[3]).flatMap(SlopeStore.TensorKind.init(rawValue:)),
              let dtype = String(sqlValue: row[6]).flatMap(SlopeStore.DType.init(rawValue:)) else {
            throw StoreError.corrupt(path: "database", detail: "a tensor has an unknown kind or dtype")
        }
        let tensor = SlopeStore.TensorRecord(layer: layer, kind: kind, rows: rows, cols: cols, dtype: dtype,
                                             data: [UInt8](Data(sqlValue: row[7]) ?? Data()))
        guard rows > 0, cols > 0, tensor.data.count == tensor.expectedByteCount else {
            throw StoreError.corrupt(path: "database", detail: "the \(kind) of layer \(layer) (run \(runID), epoch \(epoch)) holds "
                                     + "\(tensor.data.count) bytes for \(rows) x \(cols) \(dtype), not \(tensor.expectedByteCount)")
        }
        self.init(runID: runID, epoch: epoch, tensor: tensor,
                  statistics: TensorStatistics(l2: Double(sqlValue: row[8]), mean: Double(sqlValue: row[9]),
                                               std: Double(sqlValue: row[10]), min: Double(sqlValue: row[11]),
                                               max: Double(sqlValue: row[12])))
    }
}
