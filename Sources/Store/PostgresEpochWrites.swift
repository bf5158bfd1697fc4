// The epoch write on PostgreSQL, the hot path: ONE statement for one epoch or for several epochs
// of a run (the epochs that queued up in an EpochWriter behind the last commit), so one round trip
// and one transaction: all or nothing. Its first part updates the run's heartbeat (the server's
// clock) and summary once, guarded by the claim (its token and worker) like SQLite's; the epoch
// rows and the tensors are inserted only from the row that update returned, so a worker that no
// longer holds the run writes nothing. The epochs and the tensors go as arrays, one per column,
// that the statement unnests into rows, except the first tensors' bytes, which go as parameters of
// their own (`EpochStatement.tensorParameters`; NULL when unused): so its text is the same whatever
// the number of epochs and tensors, and it is a named prepared statement, parsed and planned once
// per connection. The
// server's work per statement (planning the check constraints, the update of the run's row and
// its indexes, the commit's wait for the disk) is then shared by the epochs of a batch. The
// tensor bytes are bound in binary (bytea: the bytes as they are); postgres-nio's COPY speaks only
// the text format, which would send every tensor hex-encoded, twice its size.
import Foundation
import PostgresNIO

extension PostgresBackend {
    func writeEpoch(runID: Int64, _ epoch: SlopeStore.EpochRecord, tensors: [SlopeStore.TensorRecord],
                    holder: RunHolder) throws {
        try writeEpochs(runID: runID, [(epoch, tensors)], holder: holder)
    }

    func writeEpochs(runID: Int64, _ epochs: [SlopeStore.PendingEpoch], holder: RunHolder) throws {
        try writeEpochs(runID: runID, epochs, holder: holder, after: nil)
    }

    /// Stores the epochs (in order, numbers increasing) in ONE statement and transaction: all of
    /// them or, when one is refused (a full disk, an epoch already stored) or the run is no longer
    /// held, none. A lost connection is ridden out (`withSession`); after a lost answer the first
    /// epoch's row tells whether the statement committed, and it is sent again if not.
    /// - Parameters:
    ///   - previousEpoch: stores nothing (and throws) unless the run's last stored epoch is this
    ///     one: the epochs sent before these were committed.
    ///   - answerLost: the statement was sent already (on a session of the caller's) and its
    ///     answer lost: look first.
    ///   - lostConnection: how that session was lost, when no write before this one met it (the
    ///     outage starts with it).
    func writeEpochs(runID: Int64, _ epochs: [SlopeStore.PendingEpoch], holder: RunHolder,
                     after previousEpoch: Int?, answerLost: Bool = false, lostConnection: Error? = nil) throws {
        guard !epochs.isEmpty else { return }
        let statement = try EpochStatement(checking: runID, epochs, holder: holder, after: previousEpoch, mode: mode, location: location)
        var sent = answerLost
        try withSession(afterLosing: lostConnection) { session in
            let isStored = { try Self.isStored(runID: runID, epoch: epochs[0].record.epoch, session) }
            let resent = sent
            if resent, try isStored() { return }  // the statement committed before its answer was lost
            sent = true
            let held: [Int64]
            do {
                held = try session.rows(of: statement)
            } catch {
                // Sent again after a lost answer, the statement may have met the first one, which
                // the server was still running: stored by it, not refused.
                if resent, !PostgresBackend.isConnectionLoss(error), try isStored() { return }
                throw statement.refusal(error)
            }
            if held.first != 1 {
                if resent, try isStored() { return }
                throw try statement.notStored(session)
            }
        }
    }

    /// Sends the epochs' statement (see `writeEpochs`) without waiting for its answer: on the
    /// connection of `previous` when that one is still on its way there (its statement prepared
    /// on it), guarded so that these epochs are stored only if those of `previous` were; otherwise
    /// once `previous` is over, on a pooled connection. What goes wrong on the way (a lost
    /// connection, a refusal of `previous` that leaves the guard unmet) is met in `wait`.
    func startEpochs(runID: Int64, _ epochs: [SlopeStore.PendingEpoch], holder: RunHolder,
                     after previous: EpochsInFlight?) throws -> EpochsInFlight {
        let previousWrite = previous as? PostgresEpochsInFlight  // only this backend's writes come back to it
        // A writer's epochs follow each other, so every write but a run's epoch 0 is guarded by
        // the epoch before it (the last of `previous`, when there is one): also when that one's
        // commit was confirmed long ago, since a server with synchronous_commit=off loses the
        // last confirmed commits when it crashes.
        let first = epochs.first?.record.epoch ?? 0
        let statement = try EpochStatement(checking: runID, epochs, holder: holder, after: first > 0 ? first - 1 : nil,
                                           mode: mode, location: location)
        if let previousWrite, let lease = previousWrite.handOver() {
            return PostgresEpochsInFlight(backend: self, statement: statement, lease: lease, answer: lease.session.send(statement),
                                          wentBehind: true)
        }
        try previous?.wait()
        guard let session = try? pool.checkout() else {  // the server is out of reach: `wait` rides it out
            return PostgresEpochsInFlight(backend: self, statement: statement, lease: nil, answer: nil, wentBehind: false)
        }
        return PostgresEpochsInFlight(backend: self, statement: statement, lease: SessionLease(session, pool: pool),
                                      answer: session.send(statement), wentBehind: false)
    }

    /// Whether the epoch is stored (after a lost answer: the epochs' rows and their tensors were
    /// written in one statement, so one row tells).
    static func isStored(runID: Int64, epoch: Int, _ session: PostgresSession) throws -> Bool {
        try !session.query("SELECT 1 FROM epochs WHERE run_id = \(runID) AND epoch = \(Int64(epoch))").isEmpty
    }

    /// The server's clock as stored: every worker's heartbeat on the one clock they share.
    static let serverNow = #"to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"#
}

/// Epochs whose statement is on its way to the server (`PostgresBackend.startEpochs`). The
/// connection it went on is lent to the next write sent behind it, and goes back to the pool
/// once, when the last of them is over or as soon as one finds it lost (so that a write that must
/// reconnect never waits for a pool place its own dead connection holds). A write that lost it
/// (or never had one) is stored by `writeEpochs`, which reconnects and looks whether the
/// statement committed before sending it again.
final class PostgresEpochsInFlight: EpochsInFlight {
    private let backend: PostgresBackend
    private let statement: EpochStatement
    private let lease: SessionLease?
    private let answer: PostgresSession.Sent<[Int64]>?
    /// Whether the connection was lent to a write sent behind this one (which then returns it).
    private var isLent = false
    private var outcome: Result<Void, Error>?
    /// Whether the statement was sent behind another still on its way on the same connection.
    let wentBehind: Bool

    init(backend: PostgresBackend, statement: EpochStatement, lease: SessionLease?, answer: PostgresSession.Sent<[Int64]>?,
         wentBehind: Bool) {
        self.backend = backend
        self.statement = statement
        self.lease = lease
        self.answer = answer
        self.wentBehind = wentBehind
    }

    /// The connection, for a statement sent behind this one, while this one's answer is awaited
    /// and the connection has this statement prepared (see `PostgresSession.send`); nil otherwise.
    func handOver() -> SessionLease? {
        guard outcome == nil, !isLent, let lease, !lease.isReturned, !lease.session.isClosed,
              lease.session.hasPrepared(EpochStatement.self) else { return nil }
        isLent = true
        return lease
    }

    func wait() throws {
        if outcome == nil {
            outcome = Result { try store() }
            if !isLent { lease?.giveBack() }
        }
        try outcome!.get()
    }

    /// Ends the write after the one before it failed: what reached the server stores nothing
    /// (its guard), so its connection is closed rather than its answer awaited or a lost
    /// connection ridden out.
    func abandon() {
        if outcome == nil {
            if let lease, let answer {
                lease.session.close()
                _ = try? lease.session.rows(answering: answer)  // failed by the close: its deadline is cancelled
            }
            outcome = .failure(StoreError.invalidValue(
                "epoch \(statement.epochs[0].record.epoch) of run \(statement.runID) was not stored: a write before it failed"))
            if !isLent { lease?.giveBack() }
        }
    }

    private func store() throws {
        let (runID, epochs, holder) = (statement.runID, statement.epochs, statement.holder)
        guard let lease, let answer else {
            return try backend.writeEpochs(runID: runID, epochs, holder: holder, after: statement.previousEpoch)
        }
        let held: [Int64]
        do {
            held = try lease.session.rows(answering: answer)
        } catch let error where PostgresBackend.isConnectionLoss(error) {
            lease.giveBack()
            // A write sent behind another lost its connection with that one, whose wait (first) told of it.
            return try backend.writeEpochs(runID: runID, epochs, holder: holder, after: statement.previousEpoch, answerLost: true,
                                           lostConnection: wentBehind ? nil : error)
        } catch {
            throw statement.refusal(error)
        }
        guard held.first != 1 else { return }
        // Why: asked on this connection while it lasts (the write before this one, refused
        // after this one's answer came, may have closed it), else on a pooled one.
        if !lease.session.isClosed, let why = try? statement.notStored(lease.session) { throw why }
        lease.giveBack()
        throw try backend.withSession { try statement.notStored($0) }
    }
}

/// A pooled session lent from one write to the next sent behind it: returned to the pool once.
final class SessionLease {
    let session: PostgresSession
    private let pool: PostgresSessionPool
    private(set) var isReturned = false

    init(_ session: PostgresSession, pool: PostgresSessionPool) {
        self.session = session
        self.pool = pool
    }

    /// Returns the session to the pool (which drops it when its connection is closed); later calls do nothing.
    func giveBack() {
        guard !isReturned else { return }
        isReturned = true
        pool.checkin(session)
    }
}

/// The epoch statement and its arguments: $1 run, $2 the epochs' numbers, $3 host, $4 pid, $5
/// process start, $6-$9 the epochs' losses and accuracies (NaN bound as NULL), $10 their seconds,
/// $11 claim token, then one array per tensor column ($12 epoch, $13 layer ... $17 dtype, $19 l2
/// ... $23 max; a statistic that is not finite is a NULL element), $18 the run's last stored
/// epoch required, or NULL, and the tensors' bytes: the first `tensorParameters` tensors' as
/// parameters of their own ($25 on, NULL past the last tensor), the others' in one array ($24).
/// Its one row is the number of runs the claim held: 1, or 0 when it wrote nothing.
struct EpochStatement: PostgresPreparedStatement {
    typealias Row = Int64
    static let name = "slope_write_epochs"

    let runID: Int64
    let epochs: [SlopeStore.PendingEpoch]
    let holder: RunHolder
    /// The run's last stored epoch that the statement requires (the epochs sent before it), if any.
    let previousEpoch: Int?

    /// The statement of the epochs, refused before anything is sent when the store is read-only,
    /// the epochs' numbers do not increase, or a tensor appears twice in an epoch (the server
    /// would refuse it only after the epoch rows).
    init(checking runID: Int64, _ epochs: [SlopeStore.PendingEpoch], holder: RunHolder, after previousEpoch: Int?,
         mode: SlopeStore.Mode, location: String) throws {
        guard mode == .readWrite else { throw StoreError.readOnly(path: location) }
        for (earlier, later) in zip(epochs, epochs.dropFirst()) where later.record.epoch <= earlier.record.epoch {
            throw StoreError.invalidValue("epochs of run \(runID) written together must be in increasing order, not \(earlier.record.epoch) then \(later.record.epoch)")
        }
        for (epoch, tensors) in epochs {
            var seen = Set<String>()
            for tensor in tensors where !seen.insert("\(tensor.layer) \(tensor.kind.rawValue)").inserted {
                throw StoreError.invalidValue(
                    "tensor \(tensor.kind.rawValue) of layer \(tensor.layer) appears twice in epoch \(epoch.epoch) of run \(runID)")
            }
        }
        self.runID = runID
        self.epochs = epochs
        self.holder = holder
        self.previousEpoch = previousEpoch
    }

    /// The error to throw for the statement's failure: an epoch already stored is said as such.
    /// Whichever insert meets it first (the server runs the statement's parts in no set order)
    /// names it in its detail: `Key (run_id, epoch)=(7, 2) already exists`, or the same with
    /// `layer, kind` for one of its tensors (never twice in one epoch: checked before sending).
    func refusal(_ error: Error) -> Error {
        guard case let StoreError.postgres(_, message) = error, message.contains("epochs_pkey") || message.contains("tensors_pkey"),
              message.hasSuffix("[SQLSTATE 23505]") else {
            return error
        }
        let named = message.firstMatch(of: #/\(run_id, epoch(, layer, kind)?\)=\(\d+, (\d+)/#).flatMap { Int($0.2) }
        return StoreError.invalidValue(
            "epoch \(named ?? epochs[0].record.epoch) of run \(runID) is already stored: call deleteEpochs(runID:after:) before re-running it")
    }

    /// Why the statement stored nothing although the server took it: the run is no longer held,
    /// or the epochs sent before it were not stored (then the run's last epoch is not `previousEpoch`).
    func notStored(_ session: PostgresSession) throws -> StoreError {
        if let previousEpoch, let row = try session.query("""
            SELECT claim_token, epochs_done::int8 = \(Int64(previousEpoch))
                   AND EXISTS (SELECT 1 FROM epochs WHERE run_id = \(runID) AND epoch = \(Int64(previousEpoch))),
                   (SELECT max(epoch) FROM epochs WHERE run_id = \(runID))::int8
            FROM runs WHERE id = \(runID) AND status = 'running'
            """).first {
            let (claimToken, previousIsStored, lastStored) = try row.decode((Int64, Bool, Int64?).self)
            if claimToken == holder.claimToken && !previousIsStored {
                return .previousEpochNotStored(runID: runID, epoch: epochs[0].record.epoch, previous: previousEpoch, lastStored: lastStored.map { Int($0) })
            }
        }
        return try SlopeStore.notHeld(runID, claimToken: holder.claimToken, PostgresSQLConnection(session: session))
    }

    /// How many tensors' bytes go as parameters of their own ($25 on); the rest go in one
    /// `bytea[]` ($24). The server copies an array parameter's elements out of the message, into
    /// the array, and once more as `unnest`'s rows, where a parameter of its own is copied once:
    /// for large tensors (3.2 MB an epoch on log-wide) those copies were a tenth of its time.
    static let tensorParameters = 32

    func makeBindings() -> PostgresBindings {
        let worker = holder.worker
        var bindings = PostgresBindings(capacity: 24)
        bindings.append(runID)
        bindings.append(epochs.map { Int64($0.record.epoch) })
        bindings.append(worker.host)
        bindings.append(Int64(worker.pid))
        bindings.append(worker.startTime)
        for value in [\SlopeStore.EpochRecord.trainLoss, \.validationLoss, \.trainAccuracy, \.validationAccuracy] {
            bindings.append(NullableFloat8Array(elements: epochs.map { $0.record[keyPath: value].flatMap { $0.isNaN ? nil : $0 } }))
        }
        bindings.append(epochs.map(\.record.seconds))
        bindings.append(holder.claimToken)
        let tensors = epochs.flatMap { epoch in epoch.tensors.map { (epoch: Int64(epoch.record.epoch), tensor: $0) } }
        // The same statistics as SQLite's, from the same code and the same bytes.
        let statistics = tensors.map { entry in
            entry.tensor.data.withUnsafeBytes { bytes in
                TensorStatistics.compute(bytes: bytes, count: entry.tensor.rows * entry.tensor.cols, dtype: entry.tensor.dtype)
            }
        }
        bindings.append(tensors.map(\.epoch))
        bindings.append(tensors.map { Int64($0.tensor.layer) })
        bindings.append(tensors.map(\.tensor.kind.rawValue))
        bindings.append(tensors.map { Int64($0.tensor.rows) })
        bindings.append(tensors.map { Int64($0.tensor.cols) })
        bindings.append(tensors.map(\.tensor.dtype.rawValue))
        bindings.append(previousEpoch.map { Int64($0) })
        for statistic in [\TensorStatistics.l2, \.mean, \.std, \.min, \.max] {
            bindings.append(NullableFloat8Array(elements: statistics.map { $0[keyPath: statistic] }))
        }
        // The array goes first: it makes room in the bind buffer for the parameters after it too, at once.
        bindings.append(ByteaArray(elements: tensors.dropFirst(Self.tensorParameters).map(\.tensor.data),
                                   reserving: tensors.prefix(Self.tensorParameters).reduce(0) { $0 + 4 + $1.tensor.data.count }))
        for index in 0..<Self.tensorParameters {
            bindings.append(index < tensors.count ? Bytea(bytes: tensors[index].tensor.data) : nil)
        }
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Int64 {
        try row.decode(Int64.self)
    }

    // The summary as SQLite's updateRunSummary leaves it after the epochs one by one: the last
    // epoch's losses; the best losses; and the best epoch, which follows the validation loss once
    // there is one (the first epoch of the lowest, replaced only by a strictly lower one) and the
    // training loss before that. So the batch's first epoch of its lowest validation loss (or,
    // when neither the batch nor the run has a validation loss, of its lowest training loss) is
    // the best epoch if it beats the run's best. Every SET expression reads the run's row as it
    // was before the update.
    static let sql = """
        WITH batch AS (
            SELECT * FROM unnest($2::int8[], $6::float8[], $7::float8[], $8::float8[], $9::float8[], $10::float8[])
                WITH ORDINALITY AS b (epoch, train_loss, val_loss, train_accuracy, val_accuracy, seconds, n)
        ), last AS (
            SELECT * FROM batch ORDER BY n DESC LIMIT 1
        ), best AS (
            SELECT (SELECT val_loss FROM batch WHERE val_loss IS NOT NULL ORDER BY val_loss, n LIMIT 1) AS val_loss,
                   (SELECT epoch FROM batch WHERE val_loss IS NOT NULL ORDER BY val_loss, n LIMIT 1) AS val_epoch,
                   (SELECT train_loss FROM batch WHERE train_loss IS NOT NULL ORDER BY train_loss, n LIMIT 1) AS train_loss,
                   (SELECT epoch FROM batch WHERE train_loss IS NOT NULL ORDER BY train_loss, n LIMIT 1) AS train_epoch
        ), held AS (
            UPDATE runs SET
                heartbeat_at = \(PostgresBackend.serverNow),
                epochs_done = last.epoch,
                final_train_loss = last.train_loss, final_val_loss = last.val_loss,
                final_train_accuracy = last.train_accuracy, final_val_accuracy = last.val_accuracy,
                best_train_loss = CASE WHEN best.train_loss IS NOT NULL AND (runs.best_train_loss IS NULL OR best.train_loss < runs.best_train_loss)
                                       THEN best.train_loss ELSE runs.best_train_loss END,
                best_val_loss = CASE WHEN best.val_loss IS NOT NULL AND (runs.best_val_loss IS NULL OR best.val_loss < runs.best_val_loss)
                                     THEN best.val_loss ELSE runs.best_val_loss END,
                best_epoch = CASE
                    WHEN best.val_loss IS NOT NULL THEN
                        CASE WHEN runs.best_val_loss IS NULL OR best.val_loss < runs.best_val_loss THEN best.val_epoch ELSE runs.best_epoch END
                    WHEN best.train_loss IS NOT NULL AND runs.best_val_loss IS NULL THEN
                        CASE WHEN runs.best_train_loss IS NULL OR best.train_loss < runs.best_train_loss THEN best.train_epoch ELSE runs.best_epoch END
                    ELSE runs.best_epoch END
            FROM last, best
            WHERE runs.id = $1 AND runs.status = 'running' AND runs.claim_token = $11::int8 AND runs.host = $3::text
                  AND runs.pid = $4::int8 AND runs.process_start IS NOT DISTINCT FROM $5::int8
                  AND ($18::int8 IS NULL OR (runs.epochs_done = $18::int8
                                             AND EXISTS (SELECT 1 FROM epochs e WHERE e.run_id = $1 AND e.epoch = $18::int8)))
            RETURNING runs.id
        ), epoch AS (
            INSERT INTO epochs (run_id, epoch, train_loss, val_loss, train_accuracy, val_accuracy, seconds)
            SELECT held.id, b.epoch, b.train_loss, b.val_loss, b.train_accuracy, b.val_accuracy, b.seconds FROM held, batch b
            RETURNING 1
        ), tensor AS (
            INSERT INTO tensors (run_id, epoch, layer, kind, rows, cols, dtype, data, l2, mean, std, min, max)
            SELECT held.id, t.epoch, t.layer, t.kind, t.rows, t.cols, t.dtype, \(tensorData), t.l2, t.mean, t.std, t.min, t.max
            FROM held, unnest($12::int8[], $13::int8[], $14::text[], $15::int8[], $16::int8[], $17::text[],
                              $19::float8[], $20::float8[], $21::float8[], $22::float8[], $23::float8[])
                        WITH ORDINALITY AS t (epoch, layer, kind, rows, cols, dtype, l2, mean, std, min, max, n)
            RETURNING 1
        )
        SELECT count(*) AS held FROM held
        """

    /// A tensor's bytes in the statement: the parameter of its own of the first
    /// `tensorParameters` tensors, the element of the array ($24) of the others.
    private static let tensorData = "CASE WHEN t.n > \(tensorParameters) THEN ($24::bytea[])[t.n - \(tensorParameters)] ELSE CASE t.n "
        + (1...tensorParameters).map { "WHEN \($0) THEN $\(24 + $0)::bytea" }.joined(separator: " ") + " END END"
}

/// A `bytea` parameter in binary: the bytes copied once, into the bind message's buffer.
struct Bytea: PostgresNonThrowingEncodable {
    let bytes: [UInt8]
    static var psqlType: PostgresDataType { .bytea }
    static var psqlFormat: PostgresFormat { .binary }

    func encode<JSONEncoder: PostgresJSONEncoder>(into buffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        buffer.writeBytes(bytes)
    }
}

/// A one-dimensional `bytea[]` parameter in binary: each element's bytes copied once, straight
/// into the bind message's buffer (an array of ByteBuffers would copy them twice).
struct ByteaArray: PostgresNonThrowingEncodable, PostgresDynamicTypeEncodable {
    let elements: [[UInt8]]
    /// Bytes to make room for in the buffer beyond the array's own (the parameters that follow it).
    var reserving = 0
    static var psqlType: PostgresDataType { .byteaArray }
    static var psqlFormat: PostgresFormat { .binary }

    func encode<JSONEncoder: PostgresJSONEncoder>(into buffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        buffer.reserveCapacity(minimumWritableBytes: 20 + elements.reduce(0) { $0 + 4 + $1.count } + reserving)
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
