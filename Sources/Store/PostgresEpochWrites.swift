// The epoch write on PostgreSQL, the hot path: ONE statement, so one round trip and its own
// transaction. Its first part updates the run's heartbeat (the server's clock) and summary,
// guarded by the claim (its token and worker) like SQLite's; the epoch row and the tensors are
// inserted only from the row that update returned, so a worker that no longer holds the run
// writes nothing. Tensors go
// as one multi-row INSERT with binary binds (bytea: the bytes as they are); postgres-nio's COPY
// speaks only the text format, which would send every tensor hex-encoded, twice its size.
import Foundation
import PostgresNIO

extension PostgresBackend {
    func writeEpoch(runID: Int64, _ epoch: SlopeStore.EpochRecord, tensors: [SlopeStore.TensorRecord],
                    holder: RunHolder) throws {
        guard mode == .readWrite else { throw StoreError.readOnly(path: location) }
        var seen = Set<String>()
        for tensor in tensors where !seen.insert("\(tensor.layer) \(tensor.kind.rawValue)").inserted {
            throw StoreError.invalidValue(
                "tensor \(tensor.kind.rawValue) of layer \(tensor.layer) appears twice in epoch \(epoch.epoch) of run \(runID)")
        }
        let query = Self.epochQuery(runID: runID, epoch, tensors: tensors, holder: holder)
        var sent = false
        try withSession { session in
            if sent, try Self.isStored(runID: runID, epoch: epoch.epoch, session) {
                return  // the statement committed before its answer was lost
            }
            sent = true
            let result: PostgresQueryResult
            do {
                result = try session.result(of: query)
            } catch let StoreError.postgres(_, message) where message.contains("epochs_pkey") && message.hasSuffix("[SQLSTATE 23505]") {
                throw StoreError.invalidValue(
                    "epoch \(epoch.epoch) of run \(runID) is already stored: call deleteEpochs(runID:after:) before re-running it")
            }
            guard let held = try result.rows.first?.decode(Int64.self), held == 1 else {
                throw try Self.notHeld(runID, claimToken: holder.claimToken, session)
            }
        }
    }

    /// Whether the epoch is stored (after a lost answer: its row and its tensors were written in
    /// one statement, so the row alone tells).
    private static func isStored(runID: Int64, epoch: Int, _ session: PostgresSession) throws -> Bool {
        try !session.query("SELECT 1 FROM epochs WHERE run_id = \(runID) AND epoch = \(Int64(epoch))").isEmpty
    }

    static func notHeld(_ runID: Int64, claimToken: Int64, _ session: PostgresSession) throws -> StoreError {
        guard let row = try session.query("SELECT status, worker, claim_token FROM runs WHERE id = \(runID)").first else {
            return .notFound("run \(runID)")
        }
        let (status, holder, currentToken) = try row.decode((String, String?, Int64).self)
        return .runNotHeld(runID: runID, detail: SlopeStore.notHeldDetail(status: status, holder: holder,
                                                                          currentToken: currentToken, claimToken: claimToken))
    }

    /// The statement and its arguments: $1 run, $2 epoch, $3 host, $4 pid, $5 process start, $6-$9
    /// the losses and accuracies (NaN bound as NULL), $10 seconds, $11 claim token, then 11 per tensor.
    static func epochQuery(runID: Int64, _ epoch: SlopeStore.EpochRecord, tensors: [SlopeStore.TensorRecord],
                           holder: RunHolder) -> PostgresQuery {
        let worker = holder.worker
        var bindings = PostgresBindings(capacity: 11 + 11 * tensors.count)
        bindings.append(runID)
        bindings.append(Int64(epoch.epoch))
        bindings.append(worker.host)
        bindings.append(Int64(worker.pid))
        bindings.append(worker.startTime)
        for value in [epoch.trainLoss, epoch.validationLoss, epoch.trainAccuracy, epoch.validationAccuracy] {
            bindings.append(value.flatMap { $0.isNaN ? nil : $0 })
        }
        bindings.append(epoch.seconds)
        bindings.append(holder.claimToken)
        for tensor in tensors {
            // The same statistics as SQLite's, from the same code and the same bytes.
            let statistics = tensor.data.withUnsafeBytes { bytes in
                TensorStatistics.compute(bytes: bytes, count: tensor.rows * tensor.cols, dtype: tensor.dtype)
            }
            bindings.append(Int64(tensor.layer))
            bindings.append(tensor.kind.rawValue)
            bindings.append(Int64(tensor.rows))
            bindings.append(Int64(tensor.cols))
            bindings.append(tensor.dtype.rawValue)
            bindings.append(ByteBuffer(bytes: tensor.data))
            for value in [statistics.l2, statistics.mean, statistics.std, statistics.min, statistics.max] {
                bindings.append(value)
            }
        }
        return PostgresQuery(unsafeSQL: epochSQL(tensorCount: tensors.count), binds: bindings)
    }

    /// The server's clock as stored: every worker's heartbeat on the one clock they share.
    static let serverNow = #"to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"#

    private static let cacheLock = NSLock()
    nonisolated(unsafe) private static var epochSQLCache: [Int: String] = [:]

    /// The epoch statement for `tensorCount` tensors (remembered: a run logs the same count every epoch).
    static func epochSQL(tensorCount: Int) -> String {
        cacheLock.lock()
        defer { cacheLock.unlock() }
        if let sql = epochSQLCache[tensorCount] { return sql }
        // The CASEs keep the best losses and their epoch, as SQLite's updateRunSummary does; every
        // SET expression reads the row as it was before the update.
        var sql = """
            WITH held AS (
                UPDATE runs SET
                    heartbeat_at = \(serverNow),
                    epochs_done = $2,
                    final_train_loss = $6::float8, final_val_loss = $7::float8,
                    final_train_accuracy = $8::float8, final_val_accuracy = $9::float8,
                    best_train_loss = CASE WHEN $6::float8 IS NOT NULL AND (best_train_loss IS NULL OR $6::float8 < best_train_loss)
                                           THEN $6::float8 ELSE best_train_loss END,
                    best_val_loss = CASE WHEN $7::float8 IS NOT NULL AND (best_val_loss IS NULL OR $7::float8 < best_val_loss)
                                         THEN $7::float8 ELSE best_val_loss END,
                    best_epoch = CASE
                        WHEN $7::float8 IS NOT NULL THEN
                            CASE WHEN best_val_loss IS NULL OR $7::float8 < best_val_loss THEN $2 ELSE best_epoch END
                        WHEN $6::float8 IS NOT NULL AND best_val_loss IS NULL THEN
                            CASE WHEN best_train_loss IS NULL OR $6::float8 < best_train_loss THEN $2 ELSE best_epoch END
                        ELSE best_epoch END
                WHERE id = $1 AND status = 'running' AND claim_token = $11::int8 AND host = $3::text AND pid = $4::int8
                      AND process_start IS NOT DISTINCT FROM $5::int8
                RETURNING id
            ), epoch AS (
                INSERT INTO epochs (run_id, epoch, train_loss, val_loss, train_accuracy, val_accuracy, seconds)
                SELECT id, $2, $6::float8, $7::float8, $8::float8, $9::float8, $10::float8 FROM held
                RETURNING run_id
            )
            """
        if tensorCount > 0 {
            let rows = (0..<tensorCount).map { index in
                let base = 12 + 11 * index
                return "($\(base)::int8, $\(base + 1)::text, $\(base + 2)::int8, $\(base + 3)::int8, $\(base + 4)::text, "
                    + "$\(base + 5)::bytea, $\(base + 6)::float8, $\(base + 7)::float8, $\(base + 8)::float8, "
                    + "$\(base + 9)::float8, $\(base + 10)::float8)"
            }
            sql += """
                , tensor AS (
                    INSERT INTO tensors (run_id, epoch, layer, kind, rows, cols, dtype, data, l2, mean, std, min, max)
                    SELECT epoch.run_id, $2, t.layer, t.kind, t.rows, t.cols, t.dtype, t.data, t.l2, t.mean, t.std, t.min, t.max
                    FROM epoch, (VALUES \(rows.joined(separator: ",\n        "))) AS t (layer, kind, rows, cols, dtype, data, l2, mean, std, min, max)
                    RETURNING 1
                )
                """
        }
        sql += "\nSELECT count(*) AS held FROM held"
        epochSQLCache[tensorCount] = sql
        return sql
    }
}
