// Writes: queueing sweeps and runs, claiming and reclaiming them, logging epochs, and
// ending runs. Each public function is exactly one transaction, written once for both backends
// (the epoch write's fast path is each backend's own: StoreBackend.writeEpoch). The worker logs
// its epochs through `epochWriter` (EpochWriter.swift), not `writeEpoch`.
import Foundation

extension SlopeStore {
    // MARK: - Queueing

    /// Queues a sweep and all its runs in one transaction. `shouldStop` (Ctrl-C) is asked before
    /// each run and before the commit: when it says so, the transaction is undone whole and
    /// `.interrupted` thrown (`nothingQueuedMessage`). `committing` is called after its last
    /// answer, as the transaction's last step before its COMMIT (again if a lost PostgreSQL
    /// connection makes it run again): from then on, until this returns or throws, whether the
    /// sweep is queued is the commit's to say, so a caller that must tell it (a second Ctrl-C that
    /// ends the process) waits for the outcome instead of guessing.
    public func createSweep(name: String, specJSON: String, runs: [NewRun],
                            shouldStop: () -> Bool = { false }, committing: () -> Void = {}) throws -> (sweepID: Int64, runIDs: [Int64]) {
        let stopped = StoreError.interrupted(StoreError.nothingQueuedMessage)
        return try write { c in
            guard let sweepID = try c.value("INSERT INTO sweeps (name, spec, created_at, status) VALUES (?, ?, ?, 'queued') RETURNING id",
                                            [name, specJSON, Timestamp.now()], as: Int64.self) else {
                throw StoreError.invalidValue("the database returned no id for the new sweep")
            }
            let runIDs = try runs.map { run in
                if shouldStop() { throw stopped }
                return try insertRun(run, sweepID: sweepID, fillingDerivedSettings: false, c)
            }
            // One statement for the runs' derived setting columns, not one per run (100,000 in the largest grid).
            try c.execute(RunColumn.fillDerivedSettingsSQL(c.dialect, condition: "sweep_id = ?"), [sweepID])
            if shouldStop() { throw stopped }
            committing()
            return (sweepID, runIDs)
        }
    }

    /// Queues a single run (no sweep).
    public func createRun(_ run: NewRun) throws -> Int64 {
        try write { c in try insertRun(run, sweepID: nil, c) }
    }

    /// `fillingDerivedSettings: false` leaves the derived setting columns to the caller (one
    /// statement for many runs).
    func insertRun(_ run: NewRun, sweepID: Int64?, fillingDerivedSettings: Bool = true, _ c: any SQLConnection) throws -> Int64 {
        guard let runID = try c.value("""
            INSERT INTO runs (sweep_id, name, status, learning_rate, batch_size, momentum, epochs, seed,
                              layers, activation, output_activation, loss, precision, dataset, dataset_sha256,
                              validation_fraction, created_at, slope_version, config)
            VALUES (?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            RETURNING id
            """, [
                sweepID, run.name, run.learningRate, run.batchSize, run.momentum, run.epochs,
                Int64(bitPattern: run.seed), run.layers, run.activation, run.outputActivation, run.loss,
                run.precision.rawValue, run.dataset, run.datasetSHA256, run.validationFraction,
                Timestamp.now(), run.slopeVersion, run.configJSON,
            ], as: Int64.self) else {
            throw StoreError.invalidValue("the database returned no id for the new run")
        }
        // The setting columns that are read from the configuration (RunColumns.swift).
        if fillingDerivedSettings { try c.execute(RunColumn.fillDerivedSettingsSQL(c.dialect), [runID]) }
        return runID
    }

    /// Sets a sweep's status (`queued`, `running`, `completed`, `interrupted`, `failed`).
    public func setSweepStatus(sweepID: Int64, _ status: SweepStatus) throws {
        try write { c in
            if try c.execute("UPDATE sweeps SET status = ? WHERE id = ?", [status.rawValue, sweepID]) == 0 {
                throw StoreError.notFound("sweep \(sweepID)")
            }
        }
    }

    // MARK: - Claiming

    /// Atomically moves the oldest queued run (of the sweep, or of any sweep when nil) to
    /// `running`, held by `worker`, but none of `excluded` (the runs this worker set aside: too
    /// large for its memory). N processes calling this never get the same run.
    /// Returns nil when no run is queued (none but the excluded ones).
    public func claimNextRun(sweepID: Int64?, worker: WorkerIdentity, excluding excluded: Set<Int64> = []) throws -> ClaimedRun? {
        try write { c in try claimOldestQueued(sweepID: sweepID, excluding: excluded, worker: worker, c) }
    }

    /// Claims the oldest queued run of the sweep (of any sweep when nil) but `excluded`, inside the caller's transaction.
    private func claimOldestQueued(sweepID: Int64?, excluding excluded: Set<Int64>, worker: WorkerIdentity,
                                   _ c: any SQLConnection) throws -> ClaimedRun? {
        let oldest = Self.oldestQueued(sweepID: sweepID, excluding: excluded, c.dialect)
        return try claim(where: oldest.condition, oldest.arguments, worker: worker, c)
    }

    /// The condition choosing the oldest queued run of the sweep (of any sweep when nil) that is
    /// none of `excluded`, and its arguments (the sweep id, then the excluded ids as one value).
    static func oldestQueued(sweepID: Int64?, excluding excluded: Set<Int64> = [],
                             _ dialect: SQLDialect) -> (condition: String, arguments: [any SQLValueConvertible]) {
        let exclusion = dialect.excluding("id", excluded)
        return ("id = (SELECT id FROM runs WHERE status = 'queued'\(sweepID == nil ? "" : " AND sweep_id = ?")\(exclusion.condition) "
                + "ORDER BY id LIMIT 1\(dialect.skipLocked))", (sweepID.map { [$0] } ?? []) + exclusion.arguments)
    }

    /// Claims one specific queued run (e.g. a single run just created). Nil when it is not queued.
    public func claimRun(runID: Int64, worker: WorkerIdentity) throws -> ClaimedRun? {
        try write { c in
            try claim(where: "id = ? AND status = 'queued'", [runID], worker: worker, c)
        }
    }

    /// The one claim statement: the queued run matching `condition` (whose arguments are
    /// `arguments`) becomes `running`, held by `worker`.
    func claim(where condition: String, _ arguments: [any SQLValueConvertible],
               worker: WorkerIdentity, _ c: any SQLConnection) throws -> ClaimedRun? {
        let now = c.dialect.currentTimestamp
        guard let row = try c.rows("""
            UPDATE runs SET status = 'running', worker = ?, host = ?, pid = ?,
                            boot_id = ?, process_start = ?, pid_namespace = ?, claim_token = claim_token + 1,
                            started_at = coalesce(started_at, \(now)), heartbeat_at = \(now), finished_at = NULL
            WHERE \(condition)
            RETURNING id, \(Self.sweepStatus)
            """, [worker.label, worker.host, worker.pid, worker.bootID, worker.startTime, worker.pidNamespace] + arguments).first
        else { return nil }
        return try claimedRun(try row.required("id"), sweepMayBeQueued: row.get("sweep_status", as: String.self) == SweepStatus.queued.rawValue, c)
    }

    /// Takes over `running` runs whose worker is gone: on this host, its process no longer exists
    /// (`WorkerLiveness`: the pid, and where recorded the boot id, start time and PID namespace; a
    /// live process keeps its runs, also those still waiting for a thread, which get no heartbeat);
    /// on other hosts, or when this host cannot tell (a worker in another container), its heartbeat
    /// is older than `staleAfter` seconds (by the database's clock). Scope: one run (`runID`), one
    /// sweep (`sweepID`), or every run when both are nil. The runs stay `running`, now held by
    /// `worker` under a new claim token (the old holder's writes are refused from now on); continue
    /// each from `resumePoint(runID:)` after `deleteEpochs(runID:after:)`. A run taken over before
    /// its first stored epoch starts now (`started_at`): its first holder trained nothing that is kept.
    public func reclaimInterruptedRuns(sweepID: Int64?, runID: Int64?, worker: WorkerIdentity,
                                       staleAfter: TimeInterval) throws -> [ClaimedRun] {
        try write { c in
            var sql = """
                SELECT id, host, pid, boot_id, process_start, pid_namespace, \(WorkerLiveness.staleHeartbeatSQL(c.dialect)) AS stale
                FROM runs WHERE status = 'running'
                """
            var arguments: [any SQLValueConvertible] = [staleAfter]
            if let sweepID { sql += " AND sweep_id = ?"; arguments.append(sweepID) }
            if let runID { sql += " AND id = ?"; arguments.append(runID) }
            var reclaimed: [ClaimedRun] = []
            for row in try c.rows(sql + " ORDER BY id", arguments) {
                let id: Int64 = try row.required("id")
                let holder = WorkerLiveness.Holder(row: row)
                if worker.isSameProcess(host: holder.host, pid: holder.pid, bootID: holder.bootID, startTime: holder.startTime) { continue }  // ours
                guard WorkerLiveness.isGone(holder, heartbeatIsStale: row.get("stale", as: Int64.self) == 1, observer: worker) else { continue }
                try c.execute("""
                    UPDATE runs SET worker = ?, host = ?, pid = ?, boot_id = ?, process_start = ?, pid_namespace = ?,
                                    claim_token = claim_token + 1, heartbeat_at = \(c.dialect.currentTimestamp),
                                    \(Self.startedAt(withoutEpochs: c.dialect.currentTimestamp))
                    WHERE id = ?
                    """, [worker.label, worker.host, worker.pid, worker.bootID, worker.startTime, worker.pidNamespace, id])
                reclaimed.append(try claimedRun(id, sweepMayBeQueued: true, c))
            }
            return reclaimed
        }
    }

    /// The claimed run's sweep status, returned by the claim's UPDATE: only a `queued` sweep needs
    /// the update to `running` (a sweep never goes back to `queued`), one round trip fewer otherwise.
    private static let sweepStatus = "(SELECT status FROM sweeps WHERE sweeps.id = runs.sweep_id) AS sweep_status"

    /// The run as claimed, its token and last stored epoch in one statement, which SQLite caches
    /// (preparing the select of the 40-column runs table costs ~800K instructions, as much as
    /// writing five digits-sized epochs). A statement of its own, after the claim's: on PostgreSQL
    /// (READ COMMITTED) it sees every epoch committed before the claim took the run's row lock,
    /// which the claim's own snapshot may not; fenced by the new token, no earlier holder adds one
    /// after it. (Not the claim's RETURNING: SQLite returns a REAL column's whole numbers as integers there.)
    /// Its sweep, when `queued` (`sweepMayBeQueued`: the claim did not see it past that), becomes `running`.
    private func claimedRun(_ runID: Int64, sweepMayBeQueued: Bool, _ c: any SQLConnection) throws -> ClaimedRun {
        guard let row = try c.rows("""
            SELECT \(RunRecord.selectList), runs.claim_token, (SELECT max(epoch) FROM epochs WHERE run_id = runs.id) AS last_epoch
            FROM runs WHERE runs.id = ?
            """, [runID]).first else {
            throw StoreError.notFound("run \(runID)")
        }
        let run = try RunRecord(row: row)
        if let sweepID = run.sweepID, sweepMayBeQueued {
            try c.execute("UPDATE sweeps SET status = 'running' WHERE id = ? AND status = 'queued'", [sweepID])
        }
        return ClaimedRun(run: run, lastStoredEpoch: row.get("last_epoch"), claimToken: try row.required("claim_token"))
    }

    // MARK: - Logging epochs

    /// Stores one epoch in ONE transaction: its `epochs` row, its tensors (with l2, mean, std,
    /// min and max computed here), and the run's heartbeat and summary columns. After a crash
    /// a run holds whole epochs only. Throws `.runNotHeld` (writing nothing) unless `holder` still
    /// holds the run (its worker, under its claim's `ClaimedRun.claimToken`: a later claim of the
    /// run, by another worker or by this one, makes it stale), and `.invalidValue` for a tensor
    /// whose size does not match.
    /// - Complexity: one pass over each tensor's bytes, which SQLite reads in place (no copy).
    /// For tests and tools (BenchSearch): the worker writes through `epochWriter`, behind training
    /// (Experiments' EpochLog maps that chain).
    public func writeEpoch(runID: Int64, _ epoch: EpochRecord, tensors: [TensorRecord], holder: RunHolder) throws {
        try Self.checkSizes(of: tensors, runID: runID, epoch: epoch.epoch)
        try backend.writeEpoch(runID: runID, epoch, tensors: tensors, holder: holder)
    }

    // MARK: - Heartbeat, ending, resuming

    /// Marks the run alive without logging an epoch (for epochs longer than the stale timeout).
    /// Throws `.runNotHeld` (changing nothing) unless `holder` still holds the run.
    public func heartbeat(runID: Int64, holder: RunHolder) throws {
        try write { c in
            let held = Self.heldBy(holder, c.dialect)
            let changed = try c.execute("UPDATE runs SET heartbeat_at = \(c.dialect.currentTimestamp) WHERE id = ?\(held.condition)",
                                        [runID] + held.arguments)
            if changed == 0 { throw try Self.notHeld(runID, claimToken: holder.claimToken, c) }
        }
    }

    /// Ends a run for good: `completed`, `pruned`, `diverged` or `failed` (with `error`).
    /// With `holder` (a worker's claim: what the worker always passes), only while that claim
    /// holds the run (else `.runNotHeld`, nothing changed): a worker whose run was taken over must
    /// not end it under its new holder. Without, whoever holds it.
    /// With `lastEpoch` (the last epoch its worker stored), only if that epoch is still the run's
    /// last stored one (else `.previousEpochNotStored`, nothing changed: a PostgreSQL server with
    /// synchronous_commit=off that crashed lost epochs it had confirmed, and the run must train
    /// them again rather than end without them).
    public func finishRun(runID: Int64, status: RunStatus, stopReason: String?, error: String? = nil,
                          holder: RunHolder? = nil, lastEpoch: Int? = nil) throws {
        try Self.checkFinal(status)
        try write { c in try finish(runID, status: status, stopReason: stopReason, error: error, holder: holder, lastEpoch: lastEpoch, c) }
    }

    /// `finishRun` and then `claimNextRun` (but `excluded`) in ONE transaction, so that a worker going
    /// from one run to the next commits (and waits for the server's WAL flush) once, not twice. When the
    /// finish is refused (`.runNotHeld`) or fails, nothing is claimed either. Nil when no run is queued.
    public func finishRun(runID: Int64, status: RunStatus, stopReason: String?, error: String? = nil, holder: RunHolder,
                          lastEpoch: Int? = nil, claimingNextOf sweepID: Int64?, excluding excluded: Set<Int64> = [],
                          worker: WorkerIdentity) throws -> ClaimedRun? {
        try Self.checkFinal(status)
        return try write { c in
            try finish(runID, status: status, stopReason: stopReason, error: error, holder: holder, lastEpoch: lastEpoch, c)
            return try claimOldestQueued(sweepID: sweepID, excluding: excluded, worker: worker, c)
        }
    }

    private static func checkFinal(_ status: RunStatus) throws {
        guard status.isFinished else {
            throw StoreError.invalidValue("finishRun takes a final status (completed, pruned, diverged, failed), not \(status.rawValue)")
        }
    }

    /// The finish statement (guarded by `holder` and `lastEpoch` when given).
    private func finish(_ runID: Int64, status: RunStatus, stopReason: String?, error: String?, holder: RunHolder?,
                        lastEpoch: Int?, _ c: any SQLConnection) throws {
        let now = c.dialect.currentTimestamp, held = Self.heldBy(holder, c.dialect)
        let stored: (condition: String, arguments: [any SQLValueConvertible]) = lastEpoch.map { epoch in
            (" AND epochs_done = ? AND EXISTS (SELECT 1 FROM epochs WHERE run_id = ? AND epoch = ?)", [epoch, runID, epoch])
        } ?? ("", [])
        let changed = try c.execute("""
            UPDATE runs SET status = ?, stop_reason = ?, error = ?, finished_at = \(now), heartbeat_at = \(now)
            WHERE id = ?\(held.condition)\(stored.condition)
            """, [status.rawValue, stopReason, error, runID] + held.arguments + stored.arguments)
        guard changed == 0 else { return }
        if let lastEpoch, let holder, let row = try c.rows("""
            SELECT claim_token, (SELECT max(epoch) FROM epochs WHERE run_id = ?) AS last_epoch FROM runs WHERE id = ? AND status = 'running'
            """, [runID, runID]).first, try row.required("claim_token") == holder.claimToken {
            let lastStored: Int64? = row.get("last_epoch")
            throw StoreError.previousEpochNotStored(runID: runID, epoch: nil, previous: lastEpoch, lastStored: lastStored.map { Int($0) })
        }
        throw try Self.notHeld(runID, claimToken: holder?.claimToken, c)
    }

    /// Puts a run back in the queue (Ctrl-C, a failed write): its stored epochs stay, so it resumes
    /// later, and so does its `started_at`; without a stored epoch it has not started (`started_at`
    /// NULL, as before its claim). With `holder`, only while that claim holds the run (else
    /// `.runNotHeld`); the run keeps its claim token, which the next claim increases.
    public func requeueRun(runID: Int64, reason: String, holder: RunHolder? = nil) throws {
        try write { c in
            let held = Self.heldBy(holder, c.dialect)
            let changed = try c.execute("""
                UPDATE runs SET status = 'queued', stop_reason = ?, worker = NULL, host = NULL, pid = NULL,
                                boot_id = NULL, process_start = NULL, pid_namespace = NULL,
                                heartbeat_at = NULL, finished_at = NULL, \(Self.startedAt(withoutEpochs: "NULL"))
                WHERE id = ?\(held.condition)
                """, [reason, runID] + held.arguments)
            if changed == 0 { throw try Self.notHeld(runID, claimToken: holder?.claimToken, c) }
        }
    }

    /// The SET clause of `started_at` for a run whose claim ends unfinished (a requeue) or is taken
    /// over: kept once the run has a stored epoch (the training those epochs continue began then),
    /// else `value` (SQL text): a claim that stored nothing did not start the run.
    private static func startedAt(withoutEpochs value: String) -> String {
        "started_at = CASE WHEN EXISTS (SELECT 1 FROM epochs WHERE epochs.run_id = runs.id) THEN started_at ELSE \(value) END"
    }

    /// " AND <held by this claim>" and its arguments ("" and none without a holder): the claim
    /// token fences off every earlier claim; the identity is checked too, against a token passed
    /// by another process.
    private static func heldBy(_ holder: RunHolder?, _ dialect: SQLDialect)
        -> (condition: String, arguments: [any SQLValueConvertible]) {
        guard let holder else { return ("", []) }
        return (" AND status = 'running' AND claim_token = ? AND host = ? AND pid = ? AND process_start \(dialect.isNotDistinctFrom) ?",
                [holder.claimToken, holder.worker.host, holder.worker.pid, holder.worker.startTime])
    }

    /// Why a write guarded by the run's claim changed nothing: the run is gone, or held under
    /// another claim (`claimToken`: the writer's, when it gave one). The one copy: the epoch writes
    /// of both backends call it too, on an SQLConnection over their own connection.
    static func notHeld(_ runID: Int64, claimToken: Int64?, _ c: any SQLConnection) throws -> StoreError {
        guard let row = try c.rows("SELECT status, worker, claim_token FROM runs WHERE id = ?", [runID]).first else {
            return .notFound("run \(runID)")
        }
        return .runNotHeld(runID: runID, detail: notHeldDetail(status: try row.required("status"), holder: row.get("worker"),
                                                               currentToken: try row.required("claim_token"), claimToken: claimToken))
    }

    /// The state of a run that a guarded write found not held by its writer, as one clause:
    /// `it is held by runner 77@b under claim 3; this worker's claim 2 is stale`.
    private static func notHeldDetail(status: String, holder: String?, currentToken: Int64, claimToken: Int64?) -> String {
        guard status == RunStatus.running.rawValue else {
            return "it is \(status) now" + (holder.map { " (last held by \($0))" } ?? "")
        }
        let held = "it is held by \(holder ?? "an unnamed worker") under claim \(currentToken)"
        guard let claimToken, claimToken != currentToken else { return held }
        return held + "; this worker's claim \(claimToken) " + (claimToken < currentToken ? "is stale" : "was never made")
    }

    /// Deletes the epochs (and their tensors) after `epoch`, and recomputes the run's summary
    /// columns from what remains. Call before re-running epochs after a resume point.
    public func deleteEpochs(runID: Int64, after epoch: Int) throws {
        try write { c in
            try c.execute("DELETE FROM tensors WHERE run_id = ? AND epoch > ?", [runID, epoch])
            try c.execute("DELETE FROM epochs WHERE run_id = ? AND epoch > ?", [runID, epoch])
            let changed = try c.execute("""
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
                """, [runID])
            if changed == 0 { throw StoreError.notFound("run \(runID)") }
        }
    }
}
