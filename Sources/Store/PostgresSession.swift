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
        connection.closeFuture.whenComplete { [pendingAnswer] _ in pendingAnswer.take()?(ConnectionClosed()) }
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
    /// prepares it anew.
    ///
    /// postgres-nio remembers a failed preparation for the life of its connection and fails
    /// every later call of that statement with the same error, so after any failure that is not
    /// a lost connection the connection is closed (the pool replaces it): the next call prepares
    /// on a fresh one.
    func rows<Statement: PostgresPreparedStatement>(of statement: Statement) throws -> [Statement.Row]
    where Statement.Row: Sendable {
        do {
            return try answer { [connection, logger] answer in
                answer.completeWithTask {
                    var rows: [Statement.Row] = []
                    for try await row in try await connection.execute(statement, logger: logger) { rows.append(row) }
                    return rows
                }
            }
        } catch let error where !PostgresBackend.isConnectionLoss(error) {
            close()
            throw error
        }
    }

    /// Sends a request with `send` and waits for its answer on the calling thread.
    /// postgres-nio never answers a request written to a connection that has just closed (the
    /// server ended it, or the network did): the close, whichever comes first, ends the wait. A
    /// server that cancels nothing (hung, stopped, cut off without a reset) never answers: past
    /// `settings.answerDeadline` the connection is closed, which the caller takes as a lost connection.
    private func answer<Value: Sendable>(_ send: (EventLoopPromise<Value>) -> Void) throws -> Value {
        let answer = connection.eventLoop.makePromise(of: Value.self)
        pendingAnswer.set { answer.fail($0) }
        defer { pendingAnswer.set(nil) }
        if connection.isClosed { pendingAnswer.take()?(ConnectionClosed()) }
        let deadline = settings.answerDeadline.map { seconds in
            connection.eventLoop.scheduleTask(in: .milliseconds(Int64(seconds * 1000))) { [pendingAnswer, connection] in
                pendingAnswer.take()?(NoAnswer(seconds: seconds))
                let _: EventLoopFuture<Void> = connection.close()
            }
        }
        defer { deadline?.cancel() }
        send(answer)
        do {
            return try answer.futureResult.wait()
        } catch {
            throw PostgresErrors.querying(error, settings: settings)
        }
    }

    /// The error a query fails with when the server did not answer by `PostgresSettings.answerDeadline`.
    struct NoAnswer: Error {
        let seconds: TimeInterval
    }

    /// Fails the answer being waited for (when the connection closes).
    private let pendingAnswer = PendingAnswer()

    final class PendingAnswer: @unchecked Sendable {  // guarded by its lock
        private let lock = NSLock()
        private var fail: (@Sendable (Error) -> Void)?
        func set(_ fail: (@Sendable (Error) -> Void)?) {
            lock.lock()
            self.fail = fail
            lock.unlock()
        }
        func take() -> (@Sendable (Error) -> Void)? {
            lock.lock()
            defer { lock.unlock() }
            let taken = fail
            fail = nil
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
