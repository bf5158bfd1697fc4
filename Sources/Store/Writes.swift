// Writes: queueing sweeps and runs, claiming and reclaiming them, logging epochs, and
// ending runs. Each public function is exactly one transaction.
import Foundation
import GRDB
import GRDBSQLite

extension SlopeStore {
    // MARK: - Queueing

    /// Queues a sweep and all its runs in one transaction.
    public func createSweep(name: String, specJSON: String, runs: [NewRun]) throws -> (sweepID: Int64, runIDs: [Int64]) {
        try write { db in
            try db.execute(
                sql: "INSERT INTO sweeps (name, spec, created_at, status) VALUES (?, ?, ?, 'queued')",
                arguments: [name, specJSON, Timestamp.now()])
            let sweepID = db.lastInsertedRowID
            let runIDs = try runs.map { try insertRun($0, sweepID: sweepID, db: db) }
            return (sweepID, runIDs)
        }
    }

    /// Queues a single run (no sweep).
    public func createRun(_ run: NewRun) throws -> Int64 {
        try write { db in try insertRun(run, sweepID: nil, db: db) }
    }

    func insertRun(_ run: NewRun, sweepID: Int64?, db: Database) throws -> Int64 {
        let statement = try db.cachedStatement(sql: """
            INSERT INTO runs (sweep_id, name, status, learning_rate, batch_size, momentum, epochs, seed,
                              layers, activation, output_activation, loss, precision, dataset, dataset_sha256,
                              validation_fraction, created_at, slope_version, config)
            VALUES (?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        try statement.execute(arguments: [
            sweepID, run.name, run.learningRate, run.batchSize, run.momentum, run.epochs,
            Int64(bitPattern: run.seed), run.layers, run.activation, run.outputActivation, run.loss,
            run.precision.rawValue, run.dataset, run.datasetSHA256, run.validationFraction,
            Timestamp.now(), run.slopeVersion, run.configJSON,
        ])
        let runID = db.lastInsertedRowID
        // The setting columns that are read from the configuration (RunColumns.swift).
        try db.cachedStatement(sql: RunColumn.fillDerivedSettingsSQL).execute(arguments: [runID])
        return runID
    }

    /// Sets a sweep's status (`queued`, `running`, `completed`, `interrupted`, `failed`).
    public func setSweepStatus(sweepID: Int64, _ status: SweepStatus) throws {
        try write { db in
            try db.execute(sql: "UPDATE sweeps SET status = ? WHERE id = ?", arguments: [status.rawValue, sweepID])
            if db.changesCount == 0 { throw StoreError.notFound("sweep \(sweepID)") }
        }
    }

    // MARK: - Claiming

    /// Atomically moves the oldest queued run (of the sweep, or of any sweep when nil) to
    /// `running`, held by `worker`. N processes calling this never get the same run.
    /// Returns nil when no run is queued.
    public func claimNextRun(sweepID: Int64?, worker: WorkerIdentity) throws -> ClaimedRun? {
        try write { db in
            try claim(where: """
                id = (SELECT id FROM runs WHERE status = 'queued' AND (:sweep IS NULL OR sweep_id = :sweep)
                      ORDER BY id LIMIT 1)
                """, ["sweep": sweepID], worker: worker, db: db)
        }
    }

    /// Claims one specific queued run (e.g. a single run just created). Nil when it is not queued.
    public func claimRun(runID: Int64, worker: WorkerIdentity) throws -> ClaimedRun? {
        try write { db in
            try claim(where: "id = :run AND status = 'queued'", ["run": runID], worker: worker, db: db)
        }
    }

    /// The one claim statement: the queued run matching `condition` becomes `running`, held by `worker`.
    func claim(where condition: String, _ arguments: [String: (any DatabaseValueConvertible)?],
                       worker: WorkerIdentity, db: Database) throws -> ClaimedRun? {
        let statement = try db.cachedStatement(sql: """
            UPDATE runs SET status = 'running', worker = :label, host = :host, pid = :pid,
                            boot_id = :boot, process_start = :start, pid_namespace = :namespace,
                            started_at = coalesce(started_at, :now), heartbeat_at = :now, finished_at = NULL
            WHERE \(condition)
            RETURNING id
            """)
        var values = arguments
        values["label"] = worker.label
        values["host"] = worker.host
        values["pid"] = worker.pid
        // updateValue: a subscript assignment of nil would drop the key rather than bind NULL.
        values.updateValue(worker.bootID, forKey: "boot")
        values.updateValue(worker.startTime, forKey: "start")
        values.updateValue(worker.pidNamespace, forKey: "namespace")
        values["now"] = Timestamp.now()
        guard let runID = try Int64.fetchOne(statement, arguments: StatementArguments(values)) else { return nil }
        return try claimedRun(runID, db: db)
    }

    /// Takes over `running` runs whose worker is gone: on this host, its process no longer exists
    /// (`WorkerLiveness`: the pid, and where recorded the boot id, start time and PID namespace; a
    /// live process keeps its runs, also those still waiting for a thread, which get no heartbeat);
    /// on other hosts, or when this host cannot tell (a worker in another container), its heartbeat
    /// is older than `staleAfter` seconds. Scope: one run (`runID`), one sweep (`sweepID`), or every
    /// run when both are nil. The runs stay `running`, now held by `worker`; continue each from
    /// `resumePoint(runID:)` after `deleteEpochs(runID:after:)`.
    public func reclaimInterruptedRuns(sweepID: Int64?, runID: Int64?, worker: WorkerIdentity,
                                       staleAfter: TimeInterval) throws -> [ClaimedRun] {
        try write { db in
            let now = Date()
            let staleBefore = Timestamp.format(now.addingTimeInterval(-staleAfter))
            let rows = try Row.fetchAll(db, sql: """
                SELECT id, host, pid, boot_id, process_start, pid_namespace, heartbeat_at FROM runs
                WHERE status = 'running' AND (:sweep IS NULL OR sweep_id = :sweep) AND (:run IS NULL OR id = :run)
                ORDER BY id
                """, arguments: ["sweep": sweepID, "run": runID])
            var reclaimed: [ClaimedRun] = []
            for row in rows {
                let id: Int64 = row["id"]
                let holder = WorkerLiveness.Holder(host: row["host"], pid: row["pid"], bootID: row["boot_id"],
                                                   startTime: row["process_start"], pidNamespace: row["pid_namespace"])
                if worker.isSameProcess(host: holder.host, pid: holder.pid, bootID: holder.bootID, startTime: holder.startTime) { continue }  // ours
                let heartbeat: String? = row["heartbeat_at"]
                switch WorkerLiveness.verdict(for: holder, observer: worker) {
                case .alive: continue
                case .gone: break
                case .unknown: guard heartbeat.map({ $0 < staleBefore }) ?? true else { continue }
                }
                try db.execute(sql: """
                    UPDATE runs SET worker = ?, host = ?, pid = ?, boot_id = ?, process_start = ?, pid_namespace = ?,
                                    heartbeat_at = ?
                    WHERE id = ?
                    """, arguments: [worker.label, worker.host, worker.pid, worker.bootID, worker.startTime,
                                     worker.pidNamespace, Timestamp.format(now), id])
                reclaimed.append(try claimedRun(id, db: db))
            }
            return reclaimed
        }
    }

    /// Cached statements: preparing `SELECT *` of the 40-column runs table costs ~800K instructions,
    /// as much as writing five digits-sized epochs.
    private func claimedRun(_ runID: Int64, db: Database) throws -> ClaimedRun {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM runs WHERE id = ?"), arguments: [runID]) else {
            throw StoreError.notFound("run \(runID)")
        }
        let lastEpoch = try Int.fetchOne(db.cachedStatement(sql: "SELECT max(epoch) FROM epochs WHERE run_id = ?"), arguments: [runID])
        if let sweepID: Int64 = row["sweep_id"] {
            try db.cachedStatement(sql: "UPDATE sweeps SET status = 'running' WHERE id = ? AND status = 'queued'")
                .execute(arguments: [sweepID])
        }
        return ClaimedRun(run: try RunRecord(row: row), lastStoredEpoch: lastEpoch)
    }

    // MARK: - Logging epochs

    /// Stores one epoch in ONE transaction: its `epochs` row, its tensors (with l2, mean, std,
    /// min and max computed here), and the run's heartbeat and summary columns. After a crash
    /// a run holds whole epochs only. Throws `.runNotHeld` (writing nothing) when `worker`
    /// no longer holds the run, and `.invalidValue` for a tensor whose size does not match.
    /// - Complexity: one pass over each tensor's bytes, which SQLite reads in place (no copy).
    public func writeEpoch(runID: Int64, _ epoch: EpochRecord, tensors: [TensorRecord], worker: WorkerIdentity) throws {
        for tensor in tensors {
            guard tensor.rows > 0, tensor.cols > 0, tensor.layer >= 1,
                  tensor.data.count == tensor.rows * tensor.cols * tensor.dtype.byteCount else {
                throw StoreError.invalidValue(
                    "tensor \(tensor.kind.rawValue) of layer \(tensor.layer) (run \(runID), epoch \(epoch.epoch)): "
                    + "\(tensor.data.count) bytes for \(tensor.rows) x \(tensor.cols) \(tensor.dtype.rawValue); "
                    + "expected \(tensor.rows * tensor.cols * tensor.dtype.byteCount), layer >= 1, rows and cols > 0")
            }
        }
        try writeOnCachedStatements { db in
            try updateRunSummary(runID: runID, epoch, worker: worker, db: db)
            let insertEpoch = try db.cachedStatement(sql: """
                INSERT INTO epochs (run_id, epoch, train_loss, val_loss, train_accuracy, val_accuracy, seconds)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """)
            let code = Self.step(insertEpoch, [
                .integer(runID), .integer(Int64(epoch.epoch)), .real(Self.finite(epoch.trainLoss)),
                .real(Self.finite(epoch.validationLoss)), .real(Self.finite(epoch.trainAccuracy)),
                .real(Self.finite(epoch.validationAccuracy)), .real(epoch.seconds),
            ])
            if code == 1555 /* SQLITE_CONSTRAINT_PRIMARYKEY */ {
                throw StoreError.invalidValue(
                    "epoch \(epoch.epoch) of run \(runID) is already stored: call deleteEpochs(runID:after:) before re-running it")
            }
            try Self.check(code, db: db)
            let statement = try db.cachedStatement(sql: """
                INSERT INTO tensors (run_id, epoch, layer, kind, rows, cols, dtype, data, l2, mean, std, min, max)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            try Self.insertTensors(tensors, runID: runID, epoch: epoch.epoch, statement: statement, db: db)
        }
    }

    /// One write transaction, like `write`, whose BEGIN IMMEDIATE and COMMIT are cached statements
    /// stepped through SQLite's C API: GRDB's `write` prepares both from their text every time
    /// (~40K instructions, 7% of writing a digits-sized epoch). Any error rolls back.
    private func writeOnCachedStatements(_ body: (Database) throws -> Void) throws {
        guard mode == .readWrite else { throw StoreError.readOnly(path: path) }
        do {
            try pool.writeWithoutTransaction { db in
                try Self.check(Self.step(try db.cachedStatement(sql: "BEGIN IMMEDIATE TRANSACTION"), []), db: db)
                do {
                    try body(db)
                    try Self.check(Self.step(try db.cachedStatement(sql: "COMMIT TRANSACTION"), []), db: db)
                } catch {
                    if sqlite3_get_autocommit(db.sqliteConnection) == 0 { try? db.execute(sql: "ROLLBACK TRANSACTION") }
                    throw error
                }
            }
        } catch {
            throw StoreError.wrap(error, path: path, busyTimeout: busyTimeout)
        }
    }

    /// Heartbeat + summary columns, guarded so only the worker holding the run writes it.
    private func updateRunSummary(runID: Int64, _ epoch: EpochRecord, worker: WorkerIdentity, db: Database) throws {
        // ?6 train loss, ?7 validation loss: the CASEs keep the best values and their epoch.
        let statement = try db.cachedStatement(sql: """
            UPDATE runs SET
                heartbeat_at = ?1,
                epochs_done = ?2,
                final_train_loss = ?6, final_val_loss = ?7,
                final_train_accuracy = ?8, final_val_accuracy = ?9,
                best_train_loss = CASE WHEN ?6 IS NOT NULL AND (best_train_loss IS NULL OR ?6 < best_train_loss)
                                       THEN ?6 ELSE best_train_loss END,
                best_val_loss = CASE WHEN ?7 IS NOT NULL AND (best_val_loss IS NULL OR ?7 < best_val_loss)
                                     THEN ?7 ELSE best_val_loss END,
                best_epoch = CASE
                    WHEN ?7 IS NOT NULL THEN
                        CASE WHEN best_val_loss IS NULL OR ?7 < best_val_loss THEN ?2 ELSE best_epoch END
                    WHEN ?6 IS NOT NULL AND best_val_loss IS NULL THEN
                        CASE WHEN best_train_loss IS NULL OR ?6 < best_train_loss THEN ?2 ELSE best_epoch END
                    ELSE best_epoch END
            WHERE id = ?3 AND status = 'running' AND host = ?4 AND pid = ?5 AND process_start IS ?10
            """)
        try Self.check(Self.step(statement, [
            .text(Timestamp.now()), .integer(Int64(epoch.epoch)), .integer(runID), .text(worker.host),
            .integer(Int64(worker.pid)), .real(Self.finite(epoch.trainLoss)), .real(Self.finite(epoch.validationLoss)),
            .real(Self.finite(epoch.trainAccuracy)), .real(Self.finite(epoch.validationAccuracy)),
            worker.startTime.map { Bound.integer($0) } ?? .real(nil),
        ]), db: db)
        if db.changesCount == 0 { throw try notHeld(runID, db: db) }
    }

    /// A value bound by `step`.
    private enum Bound {
        case integer(Int64), real(Double?), text(String)
    }

    /// Binds values to a cached statement and runs it once, straight through SQLite's C API
    /// (GRDB's argument arrays box every value). Returns SQLite's extended result code.
    private static func step(_ statement: Statement, _ values: [Bound]) -> Int32 {
        let handle = statement.sqliteStatement
        sqlite3_reset(handle)
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            switch value {
            case let .integer(number): sqlite3_bind_int64(handle, index, number)
            case let .real(number?): sqlite3_bind_double(handle, index, number)
            case .real(nil): sqlite3_bind_null(handle, index)
            case let .text(text): bindText(handle, index, text)
            }
        }
        let code = sqlite3_step(handle)
        sqlite3_reset(handle)
        return code == SQLITE_DONE ? SQLITE_DONE : sqlite3_extended_errcode(sqlite3_db_handle(handle))
    }

    private static func check(_ code: Int32, db: Database) throws {
        guard code != SQLITE_DONE else { return }
        throw DatabaseError(resultCode: ResultCode(rawValue: code),
                            message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
    }

    private func notHeld(_ runID: Int64, db: Database) throws -> StoreError {
        guard let row = try Row.fetchOne(db, sql: "SELECT status, worker FROM runs WHERE id = ?", arguments: [runID]) else {
            return .notFound("run \(runID)")
        }
        let status: String = row["status"]
        let holder: String? = row["worker"]
        return .runNotHeld(runID: runID, detail: "its status is \(status)" + (holder.map { ", held by \($0)" } ?? ""))
    }

    /// NaN is stored as NULL by SQLite anyway; saying so explicitly keeps the CASEs above simple.
    static func finite(_ value: Double?) -> Double? {
        guard let value, !value.isNaN else { return nil }
        return value
    }

    /// The hot loop: binds each tensor's bytes in place (SQLITE_STATIC) and steps the cached
    /// statement, without GRDB's per-argument boxing or a copy of the BLOB.
    private static func insertTensors(_ tensors: [TensorRecord], runID: Int64, epoch: Int,
                                      statement: Statement, db: Database) throws {
        let handle = statement.sqliteStatement
        defer {
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)  // drop the pointers into the callers' arrays
        }
        for tensor in tensors {
            let count = tensor.rows * tensor.cols
            let code: Int32 = tensor.data.withUnsafeBytes { bytes in
                let statistics = TensorStatistics.compute(bytes: bytes, count: count, dtype: tensor.dtype)
                sqlite3_reset(handle)
                sqlite3_bind_int64(handle, 1, runID)
                sqlite3_bind_int64(handle, 2, Int64(epoch))
                sqlite3_bind_int64(handle, 3, Int64(tensor.layer))
                bindStaticText(handle, 4, tensor.kind.sqlText)
                sqlite3_bind_int64(handle, 5, Int64(tensor.rows))
                sqlite3_bind_int64(handle, 6, Int64(tensor.cols))
                bindStaticText(handle, 7, tensor.dtype.sqlText)
                sqlite3_bind_blob(handle, 8, bytes.baseAddress, Int32(bytes.count), nil)  // nil = SQLITE_STATIC
                bindDouble(handle, 9, statistics.l2)
                bindDouble(handle, 10, statistics.mean)
                bindDouble(handle, 11, statistics.std)
                bindDouble(handle, 12, statistics.min)
                bindDouble(handle, 13, statistics.max)
                return sqlite3_step(handle)
            }
            guard code == SQLITE_DONE else {
                let message = String(cString: sqlite3_errmsg(db.sqliteConnection))
                let extended = sqlite3_extended_errcode(db.sqliteConnection)
                if extended == 1555 /* SQLITE_CONSTRAINT_PRIMARYKEY */ {
                    throw StoreError.invalidValue(
                        "tensor \(tensor.kind.rawValue) of layer \(tensor.layer) appears twice in epoch \(epoch) of run \(runID)")
                }
                throw DatabaseError(resultCode: ResultCode(rawValue: extended), message: message)
            }
        }
    }

    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    /// Binds text that lives for the whole program (SQLITE_STATIC: SQLite neither copies nor frees it).
    @inline(__always) private static func bindStaticText(_ handle: OpaquePointer, _ index: Int32, _ text: StaticString) {
        text.withUTF8Buffer { utf8 in
            _ = utf8.withMemoryRebound(to: CChar.self) { characters in
                sqlite3_bind_text(handle, index, characters.baseAddress, Int32(characters.count), nil)
            }
        }
    }

    @inline(__always) private static func bindDouble(_ handle: OpaquePointer, _ index: Int32, _ value: Double?) {
        if let value { sqlite3_bind_double(handle, index, value) } else { sqlite3_bind_null(handle, index) }
    }

    @inline(__always) private static func bindText(_ handle: OpaquePointer, _ index: Int32, _ text: String) {
        var text = text
        text.withUTF8 { utf8 in
            _ = utf8.withMemoryRebound(to: CChar.self) { characters in
                sqlite3_bind_text(handle, index, characters.baseAddress, Int32(characters.count), transient)
            }
        }
    }

    // MARK: - Heartbeat, ending, resuming

    /// Marks the run alive without logging an epoch (for epochs longer than the stale timeout).
    public func heartbeat(runID: Int64, worker: WorkerIdentity) throws {
        try write { db in
            try db.execute(sql: """
                UPDATE runs SET heartbeat_at = ?
                WHERE id = ? AND status = 'running' AND host = ? AND pid = ? AND process_start IS ?
                """, arguments: [Timestamp.now(), runID, worker.host, worker.pid, worker.startTime])
            if db.changesCount == 0 { throw try notHeld(runID, db: db) }
        }
    }

    /// Ends a run for good: `completed`, `pruned`, `diverged` or `failed` (with `error`).
    /// With `worker`, only while that worker holds the run (else `.runNotHeld`, nothing changed):
    /// a worker whose run was taken over must not end it under its new holder.
    public func finishRun(runID: Int64, status: RunStatus, stopReason: String?, error: String? = nil,
                          worker: WorkerIdentity? = nil) throws {
        guard status.isFinished else {
            throw StoreError.invalidValue("finishRun takes a final status (completed, pruned, diverged, failed), not \(status.rawValue)")
        }
        try write { db in
            let now = Timestamp.now()
            try db.cachedStatement(sql: """
                UPDATE runs SET status = ?, stop_reason = ?, error = ?, finished_at = ?, heartbeat_at = ? WHERE id = ? AND \(Self.heldBy)
                """).execute(arguments: [status.rawValue, stopReason, error, now, now, runID] + Self.holderArguments(worker))
            if db.changesCount == 0 { throw try notHeld(runID, db: db) }
        }
    }

    /// Puts a run back in the queue (Ctrl-C, a failed write): its stored epochs stay, so it resumes
    /// later. With `worker`, only while that worker holds the run (else `.runNotHeld`).
    public func requeueRun(runID: Int64, reason: String, worker: WorkerIdentity? = nil) throws {
        try write { db in
            try db.execute(sql: """
                UPDATE runs SET status = 'queued', stop_reason = ?, worker = NULL, host = NULL, pid = NULL,
                                boot_id = NULL, process_start = NULL, pid_namespace = NULL,
                                heartbeat_at = NULL, finished_at = NULL
                WHERE id = ? AND \(Self.heldBy)
                """, arguments: [reason, runID] + Self.holderArguments(worker))
            if db.changesCount == 0 { throw try notHeld(runID, db: db) }
        }
    }

    /// The condition "held by the worker of `holderArguments`, or no worker given" (its four arguments last).
    private static let heldBy = "(? IS NULL OR (status = 'running' AND host = ? AND pid = ? AND process_start IS ?))"

    private static func holderArguments(_ worker: WorkerIdentity?) -> StatementArguments {
        [worker?.host, worker?.host, worker?.pid, worker?.startTime]
    }

    /// Deletes the epochs (and their tensors) after `epoch`, and recomputes the run's summary
    /// columns from what remains. Call before re-running epochs after a resume point.
    public func deleteEpochs(runID: Int64, after epoch: Int) throws {
        try write { db in
            try db.execute(sql: "DELETE FROM tensors WHERE run_id = ? AND epoch > ?", arguments: [runID, epoch])
            try db.execute(sql: "DELETE FROM epochs WHERE run_id = ? AND epoch > ?", arguments: [runID, epoch])
            try db.execute(sql: """
                UPDATE runs SET
                    epochs_done = coalesce((SELECT max(epoch) FROM epochs WHERE run_id = runs.id), 0),
                    final_train_loss = (SELECT train_loss FROM epochs WHERE run_id = runs.id ORDER BY epoch DESC LIMIT 1),
                    final_val_loss = (SELECT val_loss FROM epochs WHERE run_id = runs.id ORDER BY epoch DESC LIMIT 1),
                    final_train_accuracy = (SELECT train_accuracy FROM epochs WHERE run_id = runs.id ORDER BY epoch DESC LIMIT 1),
                    final_val_accuracy = (SELECT val_accuracy FROM epochs WHERE run_id = runs.id ORDER BY epoch DESC LIMIT 1),
                    best_train_loss = (SELECT min(train_loss) FROM epochs WHERE run_id = runs.id),
                    best_val_loss = (SELECT min(val_loss) FROM epochs WHERE run_id = runs.id),
                    best_epoch = coalesce(
                        (SELECT epoch FROM epochs WHERE run_id = runs.id AND val_loss IS NOT NULL ORDER BY val_loss, epoch LIMIT 1),
                        (SELECT epoch FROM epochs WHERE run_id = runs.id AND train_loss IS NOT NULL ORDER BY train_loss, epoch LIMIT 1))
                WHERE id = ?
                """, arguments: [runID])
            if db.changesCount == 0 { throw StoreError.notFound("run \(runID)") }
        }
    }
}
