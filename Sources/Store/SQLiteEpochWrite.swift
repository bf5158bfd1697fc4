// The SQLite backend's epoch write, the hot path of training: cached statements bound and
// stepped straight through SQLite's C API, each tensor's bytes bound in place (no copy).
import Foundation
import GRDB
import GRDBSQLite

extension SQLiteBackend {
    /// `StoreBackend.startEpochs`: waits for `previous` (an EpochWriter's last write), then writes
    /// the epochs (`writeEpochs`); nothing is left in flight (SQLite's commits are cheap: no pipelining).
    func startEpochs(runID: Int64, _ epochs: [SlopeStore.PendingEpoch], holder: RunHolder,
                     after previous: EpochsInFlight?) throws -> EpochsInFlight {
        try previous?.wait()
        try writeEpochs(runID: runID, epochs, holder: holder)
        return WrittenEpochs()
    }

    /// `StoreBackend.writeEpochs`: one transaction per epoch (SQLite's commits do not wait for the
    /// disk, so several epochs gain little from sharing one), stopping at the first failure.
    func writeEpochs(runID: Int64, _ epochs: [SlopeStore.PendingEpoch], holder: RunHolder) throws {
        for (epoch, tensors) in epochs { try writeEpoch(runID: runID, epoch, tensors: tensors, holder: holder) }
    }

    /// `StoreBackend.writeEpoch`: the tensors are already checked for size (SlopeStore.writeEpoch).
    /// - Complexity: one pass over each tensor's bytes, which SQLite reads in place (no copy).
    func writeEpoch(runID: Int64, _ epoch: SlopeStore.EpochRecord, tensors: [SlopeStore.TensorRecord],
                    holder: RunHolder) throws {
        // A worker whose database was deleted (`rm slope.db*` to start afresh, the worker forgotten)
        // would go on training into the unlinked file and end "completed": one `stat` per epoch stops it.
        if let gone = fileGone() { throw gone }
        try writeOnCachedStatements { db in
            try updateRunSummary(runID: runID, epoch, holder: holder, db: db)
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

    /// Heartbeat + summary columns, guarded so only the claim holding the run (its token and worker) writes it.
    private func updateRunSummary(runID: Int64, _ epoch: SlopeStore.EpochRecord, holder: RunHolder, db: Database) throws {
        let worker = holder.worker
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
            WHERE id = ?3 AND status = 'running' AND claim_token = ?11 AND host = ?4 AND pid = ?5 AND process_start IS ?10
            """)
        try Self.check(Self.step(statement, [
            .text(Timestamp.now()), .integer(Int64(epoch.epoch)), .integer(runID), .text(worker.host),
            .integer(Int64(worker.pid)), .real(Self.finite(epoch.trainLoss)), .real(Self.finite(epoch.validationLoss)),
            .real(Self.finite(epoch.trainAccuracy)), .real(Self.finite(epoch.validationAccuracy)),
            worker.startTime.map { Bound.integer($0) } ?? .real(nil), .integer(holder.claimToken),
        ]), db: db)
        if db.changesCount == 0 { throw try SlopeStore.notHeld(runID, claimToken: holder.claimToken, SQLiteConnection(db)) }
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

    /// NaN is stored as NULL by SQLite anyway; saying so explicitly keeps the CASEs above simple.
    static func finite(_ value: Double?) -> Double? {
        guard let value, !value.isNaN else { return nil }
        return value
    }

    /// The hot loop: binds each tensor's bytes in place (SQLITE_STATIC) and steps the cached
    /// statement, without GRDB's per-argument boxing or a copy of the BLOB.
    private static func insertTensors(_ tensors: [SlopeStore.TensorRecord], runID: Int64, epoch: Int,
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
}
