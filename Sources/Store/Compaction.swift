// `runner compact`, which deletes the tensors of intermediate epochs of finished runs and gives the
// space back to the file system (VACUUM), and what it weighs: what a tensor costs in the file (for
// runner's estimate before a sweep) and the bytes a sweep's tensors take.
import Foundation

extension SlopeStore {
    /// Bytes one logged epoch's `tensors` rows take in the file, given each row's data size in the
    /// order they are written. Each record (the values, the key, kind, shape, dtype and five
    /// statistics, ~75 bytes) is laid out as SQLite does on 8 KiB pages: up to 8,157 bytes in a
    /// b-tree page, else ~1 KB there and the rest in overflow pages of 8,188 bytes (the last one
    /// partly empty). Rows are appended in key order, so a b-tree page takes cells until the next
    /// one does not fit and a new page starts (a 7.7 KB cell after a 1.3 KB one opens a page); the
    /// packing is simulated over a few epochs. Plus each row's primary-key index entry (~32 bytes).
    public static func estimatedEpochTensorBytes(dataBytes: [Int]) -> Int {
        let usable = SQLiteBackend.pageSize, capacity = usable - 8
        let maxLocal = usable - 35, minLocal = (usable - 12) * 32 / 255 - 23, overflowCapacity = usable - 4
        let epochs = 4, index = 32
        var pages = 0, used = 0, overflowPages = 0
        for _ in 0..<epochs {
            for size in dataBytes {
                let payload = size + 75
                var cell = payload + 12  // 2-byte pointer, lengths and rowid
                if payload > maxLocal {
                    let candidate = minLocal + (payload - minLocal) % overflowCapacity
                    let local = candidate <= maxLocal ? candidate : minLocal
                    overflowPages += (payload - local + overflowCapacity - 1) / overflowCapacity
                    cell = local + 16
                }
                if used + cell > capacity { pages += 1; used = 0 }
                used += cell
            }
        }
        let treeBytes = Double(pages * usable) + Double(used) / Double(capacity) * Double(usable)
        return Int(treeBytes / Double(epochs)) + overflowPages * usable / epochs + index * dataBytes.count
    }

    /// Bytes one `epochs` row takes (key, four losses and accuracies, seconds, b-tree overhead).
    public static let estimatedEpochRowBytes = 64

    /// Bytes one `runs` row takes besides its configuration JSON.
    public static let estimatedRunRowBytes = 600

    /// What `compactTensors` did (or, with `dryRun`, would do) to one run.
    public struct RunCompaction: Equatable, Sendable {
        public var runID: Int64
        public var status: RunStatus
        /// Epochs whose tensors are (or would be) deleted.
        public var deletedEpochs: Int
        /// Tensor bytes (rows x cols x 4 or 8) in them.
        public var deletedBytes: Int64
        /// Epochs that keep their tensors.
        public var keptEpochs: Int
        /// True for a run left alone because it could still be resumed (queued or running).
        public var skipped: Bool
    }

    /// Tensor bytes (rows x cols x 4 or 8, what `length(data)` gives) stored by each sweep's runs.
    /// Reads no BLOB: the sizes come from `rows`, `cols` and `dtype`.
    public func tensorBytesBySweep() throws -> [Int64: Int64] {
        try read { c in try Self.tensorBytesBySweep(c) }
    }

    static func tensorBytesBySweep(_ c: any SQLConnection) throws -> [Int64: Int64] {
        let rows = try c.rows("""
            SELECT r.sweep_id, SUM(t.rows * t.cols * CASE t.dtype WHEN 'float64' THEN 8 ELSE 4 END)
            FROM tensors AS t JOIN runs AS r ON r.id = t.run_id
            WHERE r.sweep_id IS NOT NULL GROUP BY r.sweep_id
            """, [])
        return Dictionary(uniqueKeysWithValues: rows.map { (Int64(sqlValue: $0[0]) ?? 0, Self.integer($0[1]) ?? 0) })
    }

    /// A whole number read back from an aggregate: PostgreSQL's SUM of BIGINTs is NUMERIC, which
    /// its backend may hand over as a real.
    static func integer(_ value: SQLValue) -> Int64? {
        switch value {
        case .integer(let number): return number
        case .real(let number): return Int64(exactly: number)
        default: return nil
        }
    }

    /// Deletes, in one transaction, the tensors of every epoch of the sweep's finished runs except
    /// epoch 0, the multiples of `keepEvery` and the run's last stored epoch (its weights: what
    /// `report` inspects and `--init-weights` starts from). The `epochs` rows (losses, accuracies)
    /// stay. Runs that could still be resumed (queued, which includes interrupted runs, and
    /// running) are left alone and listed as skipped. With `dryRun`, nothing is written.
    /// `committing` is called as the deletion's last step before its COMMIT (as `createSweep`'s):
    /// from then on until this returns, whether the tensors are deleted is the commit's to say.
    /// - Throws: `StoreError.notFound` for an unknown sweep, `.invalidValue` for `keepEvery` < 1.
    public func compactTensors(sweepID: Int64, keepEvery: Int, dryRun: Bool, committing: () -> Void = {}) throws -> [RunCompaction] {
        guard keepEvery >= 1 else { throw StoreError.invalidValue("--keep-every must be at least 1 (1 keeps every epoch)") }
        let body: (any SQLConnection) throws -> [RunCompaction] = { c in
            guard try c.value("SELECT 1 FROM sweeps WHERE id = ?", [sweepID], as: Int64.self) != nil else {
                throw StoreError.notFound("sweep \(sweepID)")
            }
            let runs = try c.rows("SELECT id, status FROM runs WHERE sweep_id = ? ORDER BY id", [sweepID])
            return try runs.map { row in
                let runID = Int64(sqlValue: row[0]) ?? 0
                let status = String(sqlValue: row[1]).flatMap(RunStatus.init(rawValue:)) ?? .running
                guard status.isFinished else {
                    return RunCompaction(runID: runID, status: status, deletedEpochs: 0, deletedBytes: 0, keptEpochs: 0, skipped: true)
                }
                // The condition on the epochs whose tensors go: not 0, not a multiple of K, not the last.
                let condition = """
                    run_id = ? AND epoch <> 0 AND epoch % ? <> 0
                    AND epoch <> (SELECT MAX(epoch) FROM tensors WHERE run_id = ? AND kind = 'weight')
                    """
                let arguments: [any SQLValueConvertible] = [runID, keepEvery, runID]
                guard let counts = try c.rows("""
                    SELECT COUNT(DISTINCT epoch), COALESCE(SUM(rows * cols * CASE dtype WHEN 'float64' THEN 8 ELSE 4 END), 0)
                    FROM tensors WHERE \(condition)
                    """, arguments).first else { throw StoreError.invalidValue("counting the tensors of run \(runID) returned no row") }
                let total = try c.value("SELECT COUNT(DISTINCT epoch) FROM tensors WHERE run_id = ?", [runID], as: Int.self) ?? 0
                if !dryRun { try c.execute("DELETE FROM tensors WHERE \(condition)", arguments) }
                let deleted = Int(Self.integer(counts[0]) ?? 0)
                return RunCompaction(runID: runID, status: status, deletedEpochs: deleted, deletedBytes: Self.integer(counts[1]) ?? 0,
                                     keptEpochs: total - deleted, skipped: false)
            }
        }
        guard !dryRun else { return try read(body) }
        return try write { c in
            let compactions = try body(c)
            committing()
            return compactions
        }
    }

    /// What `compact` did: each run's compaction, and the file's size before and after VACUUM
    /// (equal for a dry run, which changes nothing, and when VACUUM was skipped).
    public struct Compaction: Equatable, Sendable {
        public var sweepID: Int64
        public var keepEvery: Int
        public var isDryRun: Bool
        public var runs: [RunCompaction]
        public var bytesBefore: Int64
        public var bytesAfter: Int64
        /// Whether VACUUM ran (for a dry run: would run): not on PostgreSQL, and not when nothing was
        /// deleted and the file had too little free space to be worth rewriting (`worthVacuuming`):
        /// then nothing was written at all.
        public var vacuumed: Bool

        /// Whether the compaction writes anything (for a dry run: would): deletes tensors or VACUUMs.
        public var writes: Bool { vacuumed || runs.contains { $0.deletedEpochs > 0 } }
    }

    /// Where `compact` is, for a caller that must say what an interruption leaves (`runner compact`
    /// on Ctrl-C): each step is reported as it begins.
    public enum CompactionStep: Equatable, Sendable {
        /// The deletion's transaction is committing: until `deleted`, the tensors may or may not be deleted.
        case committing
        /// The deletion has committed (`epochs`: the epochs whose tensors went, 0 when there were
        /// none), and VACUUM begins next when `vacuuming` (SQLite only; a VACUUM cut short is
        /// undone whole, leaving the file as large as it was).
        case deleted(epochs: Int, vacuuming: Bool)
        /// VACUUM has finished: the compaction is done.
        case vacuumed
    }

    /// `runner compact`: `compactTensors`, then `vacuum` when that deleted anything or the file has
    /// free space worth giving back (`worthVacuuming`: left by a compaction whose VACUUM failed, say),
    /// measuring the file before anything is written and after the WAL is copied back and truncated.
    /// With nothing to delete and little free space, or with `dryRun`, it only reads.
    /// - Throws: `StoreError.compactionFailed` when the disk is full or the database stays locked,
    ///   saying whether the tensors were deleted (then only the shrinking is left to do); whatever
    ///   `step` throws (it is called as each step of a real compaction begins: `CompactionStep`).
    public func compact(sweepID: Int64, keepEvery: Int, dryRun: Bool,
                        step: (CompactionStep) throws -> Void = { _ in }) throws -> Compaction {
        let before = fileBytes()
        var runs: [RunCompaction]
        do {
            // Counted first, so that a sweep with nothing left to delete is not written to.
            runs = try compactTensors(sweepID: sweepID, keepEvery: keepEvery, dryRun: true)
            if !dryRun && runs.contains(where: { $0.deletedEpochs > 0 }) {
                runs = try compactTensors(sweepID: sweepID, keepEvery: keepEvery, dryRun: false, committing: { try? step(.committing) })
            }
        } catch let error as StoreError {
            throw Self.compactionError(error, path: path, deleted: false, databaseBytes: before)
        }
        let deleted = runs.contains { $0.deletedEpochs > 0 }
        var vacuumed = false
        if let sqlite {
            do {
                vacuumed = try deleted || Self.worthVacuuming(freePages: sqlite.freePageCount(), fileBytes: before)
            } catch let error as StoreError {
                throw Self.compactionError(error, path: path, deleted: deleted && !dryRun, databaseBytes: before)
            }
        }
        if !dryRun {
            try step(.deleted(epochs: runs.reduce(0) { $0 + $1.deletedEpochs }, vacuuming: vacuumed))
            if vacuumed {
                do {
                    try vacuum()
                } catch let error as StoreError {
                    throw Self.compactionError(error, path: path, deleted: deleted, databaseBytes: before)
                }
                try step(.vacuumed)
            }
        }
        return Compaction(sweepID: sweepID, keepEvery: keepEvery, isDryRun: dryRun, runs: runs,
                          bytesBefore: before, bytesAfter: fileBytes(), vacuumed: vacuumed)
    }

    /// Whether free pages are worth a VACUUM, which rewrites the whole file: at least 1 MB and 1% of
    /// the file. A new database has a few (its migrations dropped a table), not worth rewriting.
    static func worthVacuuming(freePages: Int, fileBytes: Int64) -> Bool {
        let freeBytes = Int64(freePages) * Int64(SQLiteBackend.pageSize)
        return freeBytes >= 1_000_000 && freeBytes * 100 >= fileBytes
    }

    /// A full disk or a lock held too long, said in terms of compaction (not "resume the run").
    static func compactionError(_ error: StoreError, path: String, deleted: Bool, databaseBytes: Int64) -> StoreError {
        let reason: String
        switch error {
        case .diskFull:
            reason = "the disk holding it is full (VACUUM needs free space for a copy of the database, about \(describeBytes(databaseBytes)))"
        case let .busy(_, timeout):
            reason = "another process held the write lock" + (timeout.isFinite ? String(format: " for more than %.0f s", timeout) : "")
        default:
            return error
        }
        return .compactionFailed(path: path, reason: reason, tensorsDeleted: deleted)
    }

    /// Size of the database file and its -wal file, in bytes (SQLite only: 0 on PostgreSQL).
    public func fileBytes() -> Int64 {
        sqlite?.fileBytes() ?? 0
    }

    /// Rewrites the database without its free pages and truncates the WAL (SQLite only: see
    /// `SQLiteBackend.vacuum`); on PostgreSQL the server's autovacuum does this.
    public func vacuum() throws {
        try sqlite?.vacuum()
    }
}

extension RunQueries {
    /// Tensor bytes stored by each sweep's runs (see `SlopeStore.tensorBytesBySweep`).
    /// - Complexity: one pass over the `tensors` b-tree (its BLOBs' overflow pages are not read).
    public func tensorBytesBySweep() throws -> [Int64: Int64] {
        try read { c in try SlopeStore.tensorBytesBySweep(c) }
    }
}
