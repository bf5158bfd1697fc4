// The PostgreSQL store behind SlopeStore: opening (connect, migrate or verify, refuse foreign and
// newer databases), reads and writes as transactions on pooled connections, and riding out a lost
// connection: reconnect with backoff, run an interrupted transaction again, and check one whose
// COMMIT's answer was lost instead of guessing. The epoch write is in PostgresEpochWrites.swift.
import Foundation
import PostgresNIO

final class PostgresBackend: StoreBackend, @unchecked Sendable {  // the pool is thread-safe; the rest is immutable
    let dialect: SQLDialect = .postgres
    let settings: PostgresSettings
    let mode: SlopeStore.Mode
    let reconnection: SlopeStore.PostgresReconnection
    let pool: PostgresSessionPool
    /// The outage the caller was told about, shared by every thread of the process.
    private let outage = Outage()

    /// The server and database, without the password.
    var location: String { settings.description }

    /// Connects, then migrates (`.readWrite`) or checks that the schema is exactly this build's
    /// (`.readOnly`, which never writes). Fails at once when the server cannot be reached: only a
    /// connection lost later is waited for.
    /// - Parameters:
    ///   - maximumConnections: connections open at most (one per thread in a transaction).
    ///   - lockTimeout: seconds to wait for another process migrating the same database.
    ///   - creatingTables: `.readWrite` only: false refuses a database without Slope's tables
    ///     (`.noDatabase`) instead of creating them.
    /// - Throws: `.cannotConnect`, `.invalidDatabaseURL`, `.newerSchema`, `.olderSchema`,
    ///   `.noDatabase` (read-only or not `creatingTables`, no Slope tables), `.postgres` (another
    ///   application's database), `.busy`.
    init(settings: PostgresSettings, mode: SlopeStore.Mode, maximumConnections: Int = 4, lockTimeout: TimeInterval = 60,
         creatingTables: Bool = true, reconnection: SlopeStore.PostgresReconnection = .init()) throws {
        self.settings = settings
        self.mode = mode
        self.reconnection = reconnection
        let first = try PostgresSession(settings: settings)
        do {
            switch mode {
            case .readWrite: try first.migrate(lockTimeout: lockTimeout, creatingTables: creatingTables)
            case .readOnly: try first.verifySchema()
            }
        } catch {
            first.close()
            throw error
        }
        pool = PostgresSessionPool(settings: settings, maximumCount: maximumConnections, first: first) {
            try PostgresSession(settings: settings)
        }
    }

    deinit {
        pool.close()
    }

    /// The server's current snapshot (xmin:xmax:running transactions): a write transaction that
    /// starts or ends anywhere on the server moves it, read-only ones do not. A failed query gives
    /// a token of its own, so that nothing is taken as unchanged.
    func changeToken() throws -> String {
        guard let snapshot = try read({ c in try c.value("SELECT pg_current_snapshot()::text", as: String.self) }) else {
            throw StoreError.postgres(server: location, message: "pg_current_snapshot() returned nothing")
        }
        return snapshot
    }

    func close() throws {
        pool.close()
    }

    // MARK: - Transactions

    func read<T>(_ body: (any SQLConnection) throws -> T) throws -> T {
        try withSession { session in
            try session.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            return try Self.finishing(session) {
                let result = try body(PostgresSQLConnection(session: session))
                try session.query("COMMIT")
                return result
            }
        }
    }

    /// A READ COMMITTED transaction. `body` may run more than once: again after a connection lost
    /// before the COMMIT (the server rolled the first one back), so it must do nothing but SQL.
    func write<T>(_ body: (any SQLConnection) throws -> T) throws -> T {
        guard mode == .readWrite else { throw StoreError.readOnly(path: location) }
        // The transaction whose COMMIT was sent but not answered, and what its body returned.
        var unanswered: (transactionID: Int64, result: T)? = nil
        return try withSession { session in
            if let (transactionID, result) = unanswered {
                switch try Self.status(ofTransaction: transactionID, session) {
                case .committed: return result
                case .inProgress: throw Retry()
                case .notCommitted: unanswered = nil  // rolled back: do it again
                }
            }
            try session.query("BEGIN ISOLATION LEVEL READ COMMITTED")
            return try Self.finishing(session) {
                let transactionID = try Self.transactionID(session)
                let result = try body(PostgresSQLConnection(session: session))
                do {
                    try session.query("COMMIT")
                } catch let error where Self.isConnectionLoss(error) {
                    unanswered = (transactionID, result)
                    throw error
                }
                return result
            }
        }
    }

    /// Rolls the open transaction back when `body` throws (unless the connection is gone).
    static func finishing<T>(_ session: PostgresSession, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            if !isConnectionLoss(error) { _ = try? session.query("ROLLBACK") }
            throw error
        }
    }

    // MARK: - Lost connections

    /// Thrown by an attempt that must wait and run again on a new session (a transaction whose
    /// outcome the server does not know yet).
    struct Retry: Error {}

    /// Whether `error` means the connection is gone (the server restarted or ended it, the
    /// network failed), rather than a refusal of the statement.
    static func isConnectionLoss(_ error: Error) -> Bool {
        if error is Retry { return true }
        if case StoreError.cannotConnect = error { return true }
        return false
    }

    /// Whether the server rolled the transaction back for a reason that running it again cures:
    /// a deadlock with another worker (40P01) or a serialization failure (40001).
    static func isTransientConflict(_ error: Error) -> Bool {
        guard case let StoreError.postgres(_, message) = error else { return false }
        return message.hasSuffix("[SQLSTATE 40P01]") || message.hasSuffix("[SQLSTATE 40001]")
    }

    /// Runs `attempt` on a pooled session. When the connection is lost (at checkout or during the
    /// attempt), the session is dropped and `attempt` runs again on a new one, reconnecting with
    /// backoff for up to `reconnection.giveUpAfter` seconds and telling `reconnection` once per outage.
    /// - Parameter lost: a lost connection met before (on a session of the caller's): the outage
    ///   starts with it.
    func withSession<T>(afterLosing lost: Error? = nil, _ attempt: (PostgresSession) throws -> T) throws -> T {
        var outageStart: Date? = nil
        var failures = 0
        if let lost { try wait(after: lost, failures: &failures, outageStart: &outageStart) }
        while true {
            let session: PostgresSession
            do {
                session = try pool.checkout()
            } catch let error where Self.isConnectionLoss(error) {
                try wait(after: error, failures: &failures, outageStart: &outageStart)
                continue
            }
            do {
                let result = try attempt(session)
                pool.checkin(session)
                if let seconds = outage.end() { reconnection.onReconnected(seconds) }
                return result
            } catch let error where Self.isConnectionLoss(error) {
                if error is Retry { pool.checkin(session) } else { pool.discard(session) }
                try wait(after: error, failures: &failures, outageStart: &outageStart)
            } catch let error where Self.isTransientConflict(error) && failures < 20 {
                pool.checkin(session)
                failures += 1
                Thread.sleep(forTimeInterval: SlopeStore.PostgresReconnection.backoff(attempt: failures))
            } catch {
                pool.checkin(session)
                throw error
            }
        }
    }

    /// Pauses before the next attempt; throws `error` once the outage has lasted too long or the
    /// caller gives up.
    private func wait(after error: Error, failures: inout Int, outageStart: inout Date?) throws {
        let now = Date()
        if outageStart == nil {
            outageStart = now
            if !(error is Retry), outage.begin(at: now) { reconnection.onLost(Self.reason(error)) }
        }
        let remaining = outageStart.map { reconnection.giveUpAfter - now.timeIntervalSince($0) } ?? 0
        guard remaining > 0, !reconnection.shouldGiveUp() else {
            throw error is Retry ? StoreError.cannotConnect(server: location, reason: "the server did not say whether a transaction was committed: check it, then retry") : error
        }
        // Never past the deadline: the last attempt is made when it comes (`report` answers within it).
        Thread.sleep(forTimeInterval: min(SlopeStore.PostgresReconnection.backoff(attempt: failures), remaining))
        failures += 1
    }

    /// One outage per process, not per transaction: threads (a worker's, the dashboard's
    /// requests) that meet the same lost server tell the caller once, and the first transaction
    /// that succeeds afterwards tells it that the server is back (even when the transactions that
    /// met the outage gave up meanwhile).
    final class Outage: @unchecked Sendable {  // guarded by its lock
        private let lock = NSLock()
        private var start: Date?

        /// Whether this starts an outage (false while one is already on).
        func begin(at now: Date) -> Bool {
            lock.lock()
            defer { lock.unlock() }
            guard start == nil else { return false }
            start = now
            return true
        }

        /// The seconds the outage lasted, when one was on; it is over.
        func end() -> TimeInterval? {
            lock.lock()
            defer { lock.unlock() }
            guard let start else { return nil }
            self.start = nil
            return Date().timeIntervalSince(start)
        }
    }

    private static func reason(_ error: Error) -> String {
        if case let StoreError.cannotConnect(_, reason) = error { return reason }
        return String(describing: error)
    }

    // MARK: - Transaction outcomes

    enum TransactionStatus { case committed, inProgress, notCommitted }

    /// The id of the open transaction (assigning one), to ask later whether it committed.
    static func transactionID(_ session: PostgresSession) throws -> Int64 {
        guard let row = try session.query("SELECT txid_current()").first else {
            throw StoreError.postgres(server: session.settings.description, message: "txid_current() returned no row")
        }
        return try row.decode(Int64.self)
    }

    /// What became of a transaction whose COMMIT was sent but not answered (`txid_status`).
    static func status(ofTransaction id: Int64, _ session: PostgresSession) throws -> TransactionStatus {
        let status = try session.query("SELECT txid_status(\(id))").first.flatMap { try $0.decode(String?.self) }
        switch status {
        case "committed": return .committed
        case "in progress": return .inProgress
        default: return .notCommitted  // aborted, or nil: so old that it cannot be ours
        }
    }
}
