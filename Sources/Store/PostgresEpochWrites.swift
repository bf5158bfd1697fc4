// The epoch write on PostgreSQL, the hot path: ONE statement, so one round trip and its own
// transaction. Its first part updates the run's heartbeat (the server's clock) and summary,
// guarded by the claim (its token and worker) like SQLite's; the epoch row and the tensors are
// inserted only from the row that update returned, so a worker that no longer holds the run
// writes nothing. The tensors go as arrays, one per column, that the statement unnests into
// rows: so its text is the same whatever the number of tensors, and it is a named prepared
// statement, parsed and planned once per connection instead of on every epoch. The tensor bytes
// are bound in binary (bytea: the bytes as they are); postgres-nio's COPY speaks only the text
// format, which would send every tensor hex-encoded, twice its size.
import Foundation
import PostgresNIO

extension PostgresBackend {
    func writeEpoch(runID: Int64, _ epoch: SlopeStore.EpochRecord, tensors: [SlopeStore.TensorRecord],
                    holder: RunHolder) throws {
        try write(EpochStatement(checking: runID, epoch, tensors: tensors, holder: holder, mode: mode, location: location),
                  maybeSent: false)
    }

    /// Runs the statement on a pooled session, riding out lost connections (`withSession`).
    /// `maybeSent`: it was sent before and its answer lost, so it may be committed already:
    /// checked first, never written twice.
    func write(_ statement: EpochStatement, maybeSent: Bool) throws {
        var sent = maybeSent
        try withSession { session in
            if sent, try Self.isStored(runID: statement.runID, epoch: statement.epoch.epoch, session) {
                return  // the statement committed before its answer was lost
            }
            sent = true
            let held: [Int64]
            do {
                held = try session.rows(of: statement)
            } catch {
                throw statement.refusal(error)
            }
            guard held.first == 1 else {
                throw try Self.notHeld(statement.runID, claimToken: statement.holder.claimToken, session)
            }
        }
    }

    /// Stores several epochs of one run in ONE transaction, in order (an EpochWriter's waiting
    /// epochs): one commit, so one wait for the server's disk, for all of them. BEGIN, the epoch
    /// statements and COMMIT are queued on the connection back to back (after the first epoch's
    /// answer), so the server does not wait for this side between them. The transaction is all or nothing: a refused epoch (a full
    /// disk, an epoch already stored) leaves none of them stored; a run no longer held gets none.
    /// A lost connection is ridden out as for one epoch: after a lost answer the first epoch's row
    /// tells whether the transaction committed, and it is sent again if not.
    func writeEpochs(runID: Int64, _ epochs: [EpochSink.Epoch], holder: RunHolder) throws {
        let statements = try epochs.map {
            try EpochStatement(checking: runID, $0.record, tensors: $0.tensors, holder: holder, mode: mode, location: location)
        }
        guard let first = statements.first else { return }
        guard statements.count > 1 else { return try write(first, maybeSent: false) }
        var sent = false
        try withSession { session in
            if sent, try Self.isStored(runID: runID, epoch: first.epoch.epoch, session) {
                return  // the transaction committed before its answer was lost
            }
            sent = true
            // BEGIN and the first epoch go out together; the other epochs and COMMIT only once
            // the first has answered. On a connection that has not prepared the statement yet,
            // postgres-nio prepares it first and runs the executions that arrived meanwhile after
            // the preparation, behind anything else queued: a COMMIT queued with them would run
            // before them, and each epoch would commit alone.
            let begin = session.send("BEGIN"), firstAnswer = session.send(first)
            var results: [(statement: EpochStatement?, result: Result<[Int64], Error>)] =
                [(nil, wait(for: begin, session).map { [] }), (first, wait(for: firstAnswer, session))]
            if results.allSatisfy({ $0.result.failure == nil }) {
                let answers = statements.dropFirst().map { ($0, session.send($0)) }
                let commit = session.send("COMMIT")
                // Every answer is awaited before deciding (nothing is left in flight on the session).
                results += answers.map { ($0.0, wait(for: $0.1, session)) } + [(nil, wait(for: commit, session).map { [] })]
            }
            let failures = results.compactMap { entry in entry.result.failure.map { (entry.statement, $0) } }
            if let (_, lost) = failures.first(where: { Self.isConnectionLoss($0.1) }) { throw lost }
            if let (statement, error) = failures.first {
                // The server rolled the transaction back. postgres-nio remembers a failed
                // preparation for the life of its connection (see PostgresSession.rows(of:)):
                // closed here, the pool replaces it.
                session.close()
                throw statement?.refusal(error) ?? error
            }
            // Under one claim the run's row stays locked from the first update to the commit, so
            // the statements all held the run or none did.
            guard case let .success(held) = results[1].result, held.first == 1 else {
                throw try Self.notHeld(runID, claimToken: holder.claimToken, session)
            }
        }
    }

    /// The answer to a statement sent on `session`; after `answerDeadline` without one (the server
    /// hung or cut off) the connection is closed, which fails it, and those after it, as lost.
    private func wait<Value>(for answer: SentStatement<Value>, _ session: PostgresSession) -> Result<Value, Error> {
        if let answered = answer.wait(seconds: settings.answerDeadline) { return answered }
        session.abandon()
        return answer.wait(seconds: nil)!
    }

    /// Whether the epoch is stored (after a lost answer: its row and its tensors were written in
    /// one statement, so the row alone tells).
    static func isStored(runID: Int64, epoch: Int, _ session: PostgresSession) throws -> Bool {
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

    /// The server's clock as stored: every worker's heartbeat on the one clock they share.
    static let serverNow = #"to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"#
}

/// The epoch statement and its arguments: $1 run, $2 epoch, $3 host, $4 pid, $5 process start,
/// $6-$9 the losses and accuracies (NaN bound as NULL), $10 seconds, $11 claim token, then one
/// array per tensor column ($12 layer ... $22 max; a statistic that is not finite is a NULL
/// element). Its one row is the number of runs the claim held: 1, or 0 when it wrote nothing.
struct EpochStatement: PostgresPreparedStatement {
    typealias Row = Int64
    static let name = "slope_write_epoch"

    let runID: Int64
    let epoch: SlopeStore.EpochRecord
    let tensors: [SlopeStore.TensorRecord]
    let holder: RunHolder

    init(runID: Int64, epoch: SlopeStore.EpochRecord, tensors: [SlopeStore.TensorRecord], holder: RunHolder) {
        self.runID = runID
        self.epoch = epoch
        self.tensors = tensors
        self.holder = holder
    }

    /// The statement of an epoch, refused before anything is sent when the store is read-only or
    /// a tensor appears twice (the server would refuse it only after the epoch row).
    init(checking runID: Int64, _ epoch: SlopeStore.EpochRecord, tensors: [SlopeStore.TensorRecord], holder: RunHolder,
         mode: SlopeStore.Mode, location: String) throws {
        guard mode == .readWrite else { throw StoreError.readOnly(path: location) }
        var seen = Set<String>()
        for tensor in tensors where !seen.insert("\(tensor.layer) \(tensor.kind.rawValue)").inserted {
            throw StoreError.invalidValue(
                "tensor \(tensor.kind.rawValue) of layer \(tensor.layer) appears twice in epoch \(epoch.epoch) of run \(runID)")
        }
        self.init(runID: runID, epoch: epoch, tensors: tensors, holder: holder)
    }

    /// The error to throw for the statement's failure: an epoch already stored is said as such.
    func refusal(_ error: Error) -> Error {
        if case let StoreError.postgres(_, message) = error, message.contains("epochs_pkey"), message.hasSuffix("[SQLSTATE 23505]") {
            return StoreError.invalidValue(
                "epoch \(epoch.epoch) of run \(runID) is already stored: call deleteEpochs(runID:after:) before re-running it")
        }
        return error
    }

    func makeBindings() -> PostgresBindings {
        let worker = holder.worker
        var bindings = PostgresBindings(capacity: 22)
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
        // The same statistics as SQLite's, from the same code and the same bytes.
        let statistics = tensors.map { tensor in
            tensor.data.withUnsafeBytes { bytes in
                TensorStatistics.compute(bytes: bytes, count: tensor.rows * tensor.cols, dtype: tensor.dtype)
            }
        }
        bindings.append(tensors.map { Int64($0.layer) })
        bindings.append(tensors.map(\.kind.rawValue))
        bindings.append(tensors.map { Int64($0.rows) })
        bindings.append(tensors.map { Int64($0.cols) })
        bindings.append(tensors.map(\.dtype.rawValue))
        bindings.append(ByteaArray(elements: tensors.map(\.data)))
        for statistic in [\TensorStatistics.l2, \.mean, \.std, \.min, \.max] {
            bindings.append(NullableFloat8Array(elements: statistics.map { $0[keyPath: statistic] }))
        }
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Int64 {
        try row.decode(Int64.self)
    }

    // The CASEs keep the best losses and their epoch, as SQLite's updateRunSummary does; every
    // SET expression reads the row as it was before the update.
    static let sql = """
        WITH held AS (
            UPDATE runs SET
                heartbeat_at = \(PostgresBackend.serverNow),
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
        ), tensor AS (
            INSERT INTO tensors (run_id, epoch, layer, kind, rows, cols, dtype, data, l2, mean, std, min, max)
            SELECT epoch.run_id, $2, t.layer, t.kind, t.rows, t.cols, t.dtype, t.data, t.l2, t.mean, t.std, t.min, t.max
            FROM epoch, unnest($12::int8[], $13::text[], $14::int8[], $15::int8[], $16::text[], $17::bytea[],
                               $18::float8[], $19::float8[], $20::float8[], $21::float8[], $22::float8[])
                        AS t (layer, kind, rows, cols, dtype, data, l2, mean, std, min, max)
            RETURNING 1
        )
        SELECT count(*) AS held FROM held
        """
}

/// A one-dimensional `bytea[]` parameter in binary: each element's bytes copied once, straight
/// into the bind message's buffer (an array of ByteBuffers would copy them twice).
struct ByteaArray: PostgresNonThrowingEncodable, PostgresDynamicTypeEncodable {
    let elements: [[UInt8]]
    static var psqlType: PostgresDataType { .byteaArray }
    static var psqlFormat: PostgresFormat { .binary }

    func encode<JSONEncoder: PostgresJSONEncoder>(into buffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        buffer.reserveCapacity(minimumWritableBytes: 20 + elements.reduce(0) { $0 + 4 + $1.count })
        PostgresArrayHeader.write(count: elements.count, hasNull: false, elementType: .bytea, into: &buffer)
        for element in elements {
            buffer.writeInteger(Int32(element.count))
            buffer.writeBytes(element)
        }
    }
}

/// A one-dimensional `float8[]` parameter in binary whose nil elements are NULL (postgres-nio's
/// arrays have no NULL elements).
struct NullableFloat8Array: PostgresNonThrowingEncodable, PostgresDynamicTypeEncodable {
    let elements: [Double?]
    static var psqlType: PostgresDataType { .float8Array }
    static var psqlFormat: PostgresFormat { .binary }

    func encode<JSONEncoder: PostgresJSONEncoder>(into buffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        PostgresArrayHeader.write(count: elements.count, hasNull: elements.contains(nil), elementType: .float8, into: &buffer)
        for element in elements {
            if let element {
                buffer.writeInteger(Int32(8))
                buffer.writeInteger(element.bitPattern)
            } else {
                buffer.writeInteger(Int32(-1))
            }
        }
    }
}

/// The header of a one-dimensional array in PostgreSQL's binary format (array_recv): dimensions
/// (0 for an empty array), whether any element is NULL, the element type, then the length and
/// lower bound (1) of the one dimension.
enum PostgresArrayHeader {
    static func write(count: Int, hasNull: Bool, elementType: PostgresDataType, into buffer: inout ByteBuffer) {
        buffer.writeInteger(Int32(count == 0 ? 0 : 1))
        buffer.writeInteger(Int32(hasNull ? 1 : 0))
        buffer.writeInteger(elementType.rawValue)
        guard count > 0 else { return }
        buffer.writeInteger(Int32(count))
        buffer.writeInteger(Int32(1))
    }
}

private extension Result {
    /// The error, when this is a failure.
    var failure: Failure? {
        if case let .failure(error) = self { return error }
        return nil
    }
}
