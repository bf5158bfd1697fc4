// One connection to a PostgreSQL server (postgres-nio), used synchronously: Store's API is
// synchronous, so each call blocks the calling thread until the server has answered. Every
// error leaves as a StoreError whose message names the server without the password.
import Foundation
import PostgresNIO

public final class PostgresSession: @unchecked Sendable {  // one caller at a time; postgres-nio's connection is thread-safe
    public let settings: PostgresSettings
    private let connection: PostgresConnection
    private let logger: Logger

    private static let connectionCount = NSLock()
    nonisolated(unsafe) private static var connectionsMade = 0

    /// Connects and authenticates, with TLS as `settings.sslMode` asks.
    /// Must not be called on one of NIO's event loop threads (it waits for them).
    /// - Throws: `StoreError.cannotConnect` (unreachable, refused, wrong password, no such
    ///   database, TLS or certificate failure) or `.invalidDatabaseURL` (an unreadable sslrootcert).
    public init(settings: PostgresSettings) throws {
        self.settings = settings
        // postgres-nio logs at debug and trace; nothing of it reaches the terminal (libraries never print).
        var logger = Logger(label: "slope.store.postgres")
        logger.logLevel = .critical
        self.logger = logger

        var configuration = PostgresConnection.Configuration(
            host: settings.host, port: settings.port, username: settings.user,
            password: settings.password?.value, database: settings.database, tls: try Self.tls(for: settings))
        configuration.options.connectTimeout = .milliseconds(Int64(settings.connectTimeout * 1000))
        // The server settings (timeouts, `options`) as startup parameters: each session starts with
        // them, and RESET returns to them.
        configuration.options.additionalStartupParameters = [("application_name", "slope")]
            + settings.serverSettings.map { ($0.name, $0.value) }
        Self.connectionCount.lock()
        Self.connectionsMade += 1
        let id = Self.connectionsMade
        Self.connectionCount.unlock()
        do {
            connection = try PostgresConnection.connect(
                on: PostgresConnection.defaultEventLoopGroup.any(), configuration: configuration, id: id, logger: logger
            ).wait()
        } catch {
            throw PostgresErrors.connecting(error, settings: settings)
        }
        connection.closeFuture.whenComplete { [pendingAnswers] _ in
            for fail in pendingAnswers.takeAll() { fail(ConnectionClosed()) }
        }
    }

    deinit {
        close()
    }

    /// Closes the connection (the server then ends its transaction and releases its session's
    /// advisory locks). Later calls do nothing.
    public func close() {
        guard !connection.isClosed else { return }
        try? connection.close().wait()
    }

    /// Whether the connection has closed (closed here, or ended by the server or the network).
    var isClosed: Bool { connection.isClosed }

    /// Runs one statement with bound arguments and returns all its rows.
    @discardableResult
    func query(_ query: PostgresQuery) throws -> [PostgresRow] {
        try result(of: query).rows
    }

    /// Runs one statement with bound arguments: its rows, and its command tag (rows changed).
    func result(of query: PostgresQuery) throws -> PostgresQueryResult {
        try answer { [connection, logger] answer in connection.query(query, logger: logger).cascade(to: answer) }
    }

    /// Runs a named prepared statement: postgres-nio prepares it on this connection the first
    /// time (Parse and Describe, one round trip more), later calls only bind and execute it, so
    /// the server neither parses nor plans it again. A new connection (after a reconnect)
    /// prepares it anew. Returns once its transaction is committed (see `send`).
    func rows<Statement: PostgresPreparedStatement>(of statement: Statement) throws -> [Statement.Row]
    where Statement.Row: Sendable {
        try rows(answering: send(statement))
    }

    /// Sends a named prepared statement and returns at once, with the answer to wait for
    /// (`rows(answering:)`): so the statements sent one after the other are written on the
    /// connection in that order, and the server starts each as soon as it has answered the one
    /// before (postgres-nio sends a request when the last is answered; the next is then ready, its
    /// arguments encoded). Its arguments are encoded (`makeBindings`) before this returns.
    /// Send a statement ahead of the answer of another only when `hasPrepared` it: while
    /// postgres-nio prepares a statement on a connection, it holds back that statement's
    /// executions and lets later requests overtake them.
    ///
    /// The statement is its own transaction, which the server commits only after it has sent
    /// the statement's rows and completion, and postgres-nio ends the statement with that
    /// completion: a commit that then fails (the connection cut, the disk full) would go unseen.
    /// So a `SELECT 1` is sent behind it: the server answers it only after the commit, and a
    /// commit that failed closes the connection (postgres-nio takes an error after a complete
    /// statement as the connection's), which fails the `SELECT 1` as a lost connection.
    /// The first time a statement runs on a connection, postgres-nio prepares it first and
    /// queues its execution only once the preparation is answered, so a `SELECT 1` sent at once
    /// would overtake it and vouch for nothing: then it is sent only once the rows are in.
    func send<Statement: PostgresPreparedStatement>(_ statement: Statement) -> Sent<[Statement.Row]>
    where Statement.Row: Sendable {
        let isPrepared = prepared.contains(Statement.name)
        let rows: Answer<[Statement.Row]> = ask(statementName: Statement.name) { [connection, logger] answer in
            // Task.immediate runs on this thread up to the first suspension: execute encodes the
            // arguments and hands the request to the connection before `send` returns.
            Task.immediate {
                do {
                    var rows: [Statement.Row] = []
                    for try await row in try await connection.execute(statement, logger: logger) { rows.append(row) }
                    answer.succeed(rows)
                } catch {
                    answer.fail(error)
                }
            }
        }
        let committed: Answer<PostgresQueryResult> = ask { [connection, logger] answer in
            if isPrepared {
                connection.query("SELECT 1", logger: logger).cascade(to: answer)
            } else {
                rows.promise.futureResult.flatMap { _ in connection.query("SELECT 1", logger: logger) }.cascade(to: answer)
            }
        }
        return Sent(rows: rows, committed: committed)
    }

    /// A statement sent by `send`: its rows, and the answer that tells that it committed.
    struct Sent<Rows: Sendable> {
        fileprivate let rows: Answer<Rows>
        fileprivate let committed: Answer<PostgresQueryResult>
    }

    /// Waits for the rows of a statement sent by `send`, and for its commit.
    ///
    /// postgres-nio remembers a failed preparation for the life of its connection and fails
    /// every later call of that statement with the same error, so after any failure that is not
    /// a lost connection the connection is closed (the pool replaces it): the next call prepares
    /// on a fresh one.
    func rows<Row: Sendable>(answering sent: Sent<[Row]>) throws -> [Row] {
        let rows = Result { try take(sent.rows) }
        let committed = Result { try take(sent.committed) }
        do {
            let value = try rows.get()
            _ = try committed.get()
            if let name = sent.rows.statementName { prepared.insert(name) }
            return value
        } catch let error where !PostgresBackend.isConnectionLoss(error) {
            close()
            throw error
        }
    }

    /// Whether a statement of this name was executed on this connection, so is prepared on it.
    func hasPrepared<Statement: PostgresPreparedStatement>(_ statement: Statement.Type) -> Bool {
        prepared.contains(Statement.name)
    }

    /// The names of the prepared statements executed on this connection.
    private var prepared = Set<String>()

    /// An answer on its way: waited for by `take`.
    struct Answer<Value: Sendable> {
        fileprivate let promise: EventLoopPromise<Value>
        fileprivate let id: Int
        fileprivate let deadline: Scheduled<Void>?
        /// The prepared statement asked to run, if any.
        fileprivate let statementName: String?
    }

    /// Sends a request with `send` and waits for its answer on the calling thread.
    private func answer<Value: Sendable>(_ send: (EventLoopPromise<Value>) -> Void) throws -> Value {
        try take(ask(send))
    }

    /// Sends a request with `send`; its answer is then waited for with `take`.
    /// postgres-nio never answers a request written to a connection that has just closed (the
    /// server ended it, or the network did): the close, whichever comes first, ends the wait. A
    /// server that cancels nothing (hung, stopped, cut off without a reset) never answers: past
    /// `settings.answerDeadline` the connection is closed, which the caller takes as a lost connection.
    private func ask<Value: Sendable>(statementName: String? = nil, _ send: (EventLoopPromise<Value>) -> Void) -> Answer<Value> {
        let promise = connection.eventLoop.makePromise(of: Value.self)
        let id = pendingAnswers.add { promise.fail($0) }
        if connection.isClosed { pendingAnswers.take(id)?(ConnectionClosed()) }
        let deadline = settings.answerDeadline.map { seconds in
            connection.eventLoop.scheduleTask(in: .milliseconds(Int64(seconds * 1000))) { [pendingAnswers, connection] in
                pendingAnswers.take(id)?(NoAnswer(seconds: seconds))
                let _: EventLoopFuture<Void> = connection.close()
            }
        }
        send(promise)
        return Answer(promise: promise, id: id, deadline: deadline, statementName: statementName)
    }

    /// Waits for an answer asked for by `ask`.
    private func take<Value: Sendable>(_ answer: Answer<Value>) throws -> Value {
        defer {
            answer.deadline?.cancel()
            _ = pendingAnswers.take(answer.id)
        }
        do {
            return try answer.promise.futureResult.wait()
        } catch {
            throw PostgresErrors.querying(error, settings: settings)
        }
    }

    /// The error a query fails with when the server did not answer by `PostgresSettings.answerDeadline`.
    struct NoAnswer: Error {
        let seconds: TimeInterval
    }

    /// Fails the answers being waited for (when the connection closes).
    private let pendingAnswers = PendingAnswers()

    final class PendingAnswers: @unchecked Sendable {  // guarded by its lock
        private let lock = NSLock()
        private var nextID = 0
        private var fails: [Int: @Sendable (Error) -> Void] = [:]
        /// Registers how to fail an answer; returns its id.
        func add(_ fail: @escaping @Sendable (Error) -> Void) -> Int {
            lock.lock()
            defer { lock.unlock() }
            nextID += 1
            fails[nextID] = fail
            return nextID
        }
        /// How to fail the answer `id`, once (nil when it was taken already).
        func take(_ id: Int) -> (@Sendable (Error) -> Void)? {
            lock.lock()
            defer { lock.unlock() }
            return fails.removeValue(forKey: id)
        }
        /// How to fail every answer still waited for.
        func takeAll() -> [@Sendable (Error) -> Void] {
            lock.lock()
            defer { lock.unlock() }
            let taken = Array(fails.values)
            fails = [:]
            return taken
        }
    }

    /// The error a query fails with when the connection closed under it.
    struct ConnectionClosed: Error {}

    /// Runs a script of statements separated by `;` (a migration file), one statement at a time:
    /// postgres-nio speaks the extended protocol, which takes one statement per query.
    func execute(script: String) throws {
        for statement in SQLScript.statements(script) {
            try query(PostgresQuery(unsafeSQL: statement))
        }
    }

    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws.
    @discardableResult
    func transaction<Result>(_ body: () throws -> Result) throws -> Result {
        try query("BEGIN")
        do {
            let result = try body()
            try query("COMMIT")
            return result
        } catch {
            _ = try? query("ROLLBACK")
            throw error
        }
    }

    /// The TLS setting of the connection: none, or a context whose checks follow sslmode.
    static func tls(for settings: PostgresSettings) throws -> PostgresConnection.Configuration.TLS {
        if settings.sslMode == .disable { return .disable }
        var tls = TLSConfiguration.makeClientConfiguration()
        switch (settings.sslMode, settings.sslRootCertificate) {
        case (.verifyFull, _):
            tls.certificateVerification = .fullVerification
        case (.require, .some):
            tls.certificateVerification = .noHostnameVerification  // libpq: require with a root certificate checks the chain
        default:
            tls.certificateVerification = .none
        }
        if tls.certificateVerification != .none, let root = settings.sslRootCertificate, root != "system" {
            guard FileManager.default.isReadableFile(atPath: root) else {
                throw StoreError.invalidDatabaseURL("cannot read sslrootcert \(root): give the path of a readable PEM file, or sslrootcert=system")
            }
            do {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(root))
            } catch {
                throw StoreError.invalidDatabaseURL("sslrootcert \(root) holds no PEM certificate: give the PEM file of the authority that signs the server's certificate")
            }
        }
        do {
            let context = try NIOSSLContext(configuration: tls)
            return settings.sslMode == .prefer ? .prefer(context) : .require(context)
        } catch {
            throw StoreError.cannotConnect(server: settings.description, reason: "cannot set up TLS (\(settings.redacting(String(describing: error))))")
        }
    }
}
