// Storage: what a tensor costs in the file (for runner's estimate before a sweep), the bytes a
// sweep's tensors take, and `runner compact`, which deletes the tensors of intermediate epochs of
// finished runs and gives the space back to the file system (VACUUM).
import Foundation
import GRDB

extension SlopeStore {
    /// Bytes one logged epoch's `tensors` rows take in the file, given each row's data size in the
    /// order they are written. Each record (the values, the key, kind, shape, dtype and five
    /// statistics, ~75 bytes) is laid out as SQLite does on 8 KiB pages: up to 8,157 bytes in a
    /// b-tree page, else ~1 KB there and the rest in overflow pages of 8,188 bytes (the last one
    /// partly empty). Rows are appended in key order, so a b-tree page takes cells until the next
    /// one does not fit and a new page starts (a 7.7 KB cell after a 1.3 KB one opens a page); the
    /// packing is simulated over a few epochs. Plus each row's primary-key index entry (~32 bytes).
    public static func estimatedEpochTensorBytes(dataBytes: [Int]) -> Int {
        let usable = pageSize, capacity = usable - 8
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

    /// "188.0 MB", "2.3 GB", "512 KB", "0 bytes" (powers of 1000, as `ls -h --si`): how runner and
    /// report show sizes.
    public static func describeBytes(_ bytes: Int64) -> String {
        let value = Double(bytes)
        if value >= 1e9 { return String(format: "%.1f GB", value / 1e9) }
        if value >= 1e6 { return String(format: "%.1f MB", value / 1e6) }
        if value >= 1e3 { return String(format: "%.0f KB", value / 1e3) }
        return "\(bytes) bytes"
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
        try read { db in try Self.tensorBytesBySweep(db) }
    }

    static func tensorBytesBySweep(_ db: Database) throws -> [Int64: Int64] {
        let rows = try Row.fetchAll(db, sql: """
            SELECT r.sweep_id, SUM(t.rows * t.cols * CASE t.dtype WHEN 'float64' THEN 8 ELSE 4 END)
            FROM tensors AS t JOIN runs AS r ON r.id = t.run_id
            WHERE r.sweep_id IS NOT NULL GROUP BY r.sweep_id
            """)
        return Dictionary(uniqueKeysWithValues: rows.map { ($0[0] as Int64, $0[1] as Int64? ?? 0) })
    }

    /// Deletes, in one transaction, the tensors of every epoch of the sweep's finished runs except
    /// epoch 0, the multiples of `keepEvery` and the run's last stored epoch (its weights: what
    /// `report` inspects and `--init-weights` starts from). The `epochs` rows (losses, accuracies)
    /// stay. Runs that could still be resumed (queued, which includes interrupted runs, and
    /// running) are left alone and listed as skipped. With `dryRun`, nothing is written.
    /// - Throws: `StoreError.notFound` for an unknown sweep, `.invalidValue` for `keepEvery` < 1.
    public func compactTensors(sweepID: Int64, keepEvery: Int, dryRun: Bool) throws -> [RunCompaction] {
        guard keepEvery >= 1 else { throw StoreError.invalidValue("--keep-every must be at least 1 (1 keeps every epoch)") }
        let body: (Database) throws -> [RunCompaction] = { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM sweeps WHERE id = ?", arguments: [sweepID]) != nil else {
                throw StoreError.notFound("sweep \(sweepID)")
            }
            let runs = try Row.fetchAll(db, sql: "SELECT id, status FROM runs WHERE sweep_id = ? ORDER BY id", arguments: [sweepID])
            return try runs.map { row in
                let runID: Int64 = row[0]
                let status = RunStatus(rawValue: row[1]) ?? .running
                guard status.isFinished else {
                    return RunCompaction(runID: runID, status: status, deletedEpochs: 0, deletedBytes: 0, keptEpochs: 0, skipped: true)
                }
                // The condition on the epochs whose tensors go: not 0, not a multiple of K, not the last.
                let condition = """
                    run_id = :run AND epoch <> 0 AND epoch % :keep <> 0
                    AND epoch <> (SELECT MAX(epoch) FROM tensors WHERE run_id = :run AND kind = 'weight')
                    """
                let arguments: StatementArguments = ["run": runID, "keep": keepEvery]
                let counts = try Row.fetchOne(db, sql: """
                    SELECT COUNT(DISTINCT epoch), COALESCE(SUM(rows * cols * CASE dtype WHEN 'float64' THEN 8 ELSE 4 END), 0)
                    FROM tensors WHERE \(condition)
                    """, arguments: arguments)!
                let total = try Int.fetchOne(db, sql: "SELECT COUNT(DISTINCT epoch) FROM tensors WHERE run_id = ?", arguments: [runID]) ?? 0
                if !dryRun { try db.execute(sql: "DELETE FROM tensors WHERE \(condition)", arguments: arguments) }
                let deleted: Int = counts[0]
                return RunCompaction(runID: runID, status: status, deletedEpochs: deleted, deletedBytes: counts[1],
                                     keptEpochs: total - deleted, skipped: false)
            }
        }
        return dryRun ? try read(body) : try write(body)
    }

    /// What `compact` did: each run's compaction, and the file's size before and after VACUUM
    /// (equal for a dry run, which changes nothing).
    public struct Compaction: Equatable, Sendable {
        public var sweepID: Int64
        public var keepEvery: Int
        public var isDryRun: Bool
        public var runs: [RunCompaction]
        public var bytesBefore: Int64
        public var bytesAfter: Int64
    }

    /// `runner compact`: `compactTensors`, then (unless `dryRun`) `vacuum`, measuring the file
    /// before anything is written and after the WAL is copied back and truncated.
    /// - Throws: `StoreError.compactionFailed` when the disk is full or the database stays locked,
    ///   saying whether the tensors were deleted (then only the shrinking is left to do).
    public func compact(sweepID: Int64, keepEvery: Int, dryRun: Bool) throws -> Compaction {
        let before = fileBytes()
        let runs: [RunCompaction]
        do {
            runs = try compactTensors(sweepID: sweepID, keepEvery: keepEvery, dryRun: dryRun)
        } catch let error as StoreError {
            throw Self.compactionError(error, path: path, deleted: false, databaseBytes: before)
        }
        if !dryRun {
            do {
                try vacuum()
            } catch let error as StoreError {
                let deleted = runs.contains { $0.deletedEpochs > 0 }
                throw Self.compactionError(error, path: path, deleted: deleted, databaseBytes: before)
            }
        }
        return Compaction(sweepID: sweepID, keepEvery: keepEvery, isDryRun: dryRun, runs: runs,
                          bytesBefore: before, bytesAfter: fileBytes())
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

    /// Size of the database file and its -wal file, in bytes.
    public func fileBytes() -> Int64 {
        [path, path + "-wal"].reduce(Int64(0)) { sum, file in
            var info = stat()
            return sum + (stat(file, &info) == 0 ? Int64(info.st_size) : 0)
        }
    }

    /// Rewrites the database without its free pages (SQLite's VACUUM), then truncates the WAL, so
    /// the file shrinks by the space deleted rows left. VACUUM needs free disk space for a full
    /// copy of the database (the new content goes through the WAL) and waits, up to the busy
    /// timeout, for other processes' writes; readers may go on meanwhile.
    public func vacuum() throws {
        guard mode == .readWrite else { throw StoreError.readOnly(path: path) }
        do {
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: "VACUUM")
                // The commit may have started a background checkpoint (Checkpointer), and SQLite
                // runs one checkpoint at a time: a TRUNCATE that meets it answers busy (a result
                // row, not an error) and leaves the WAL as large as the database. Retry until
                // it truncates, for up to the busy timeout.
                let deadline = Date().addingTimeInterval(min(busyTimeout, 600))
                while let busy = try Int.fetchOne(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)"), busy != 0, Date() < deadline {
                    usleep(5_000)
                }
            }
        } catch {
            throw StoreError.wrap(error, path: path, busyTimeout: busyTimeout)
        }
    }
}

extension RunQueries {
    /// Tensor bytes stored by each sweep's runs (see `SlopeStore.tensorBytesBySweep`).
    /// - Complexity: one pass over the `tensors` b-tree (its BLOBs' overflow pages are not read).
    public func tensorBytesBySweep() throws -> [Int64: Int64] {
        try read { db in try SlopeStore.tensorBytesBySweep(db) }
    }
}
