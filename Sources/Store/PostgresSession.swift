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
        configuration.options.additionalStartupParameters = [("application_name", "slope")]
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

    /// Runs one statement with bound arguments and returns all its rows.
    @discardableResult
    func query(_ query: PostgresQuery) throws -> [PostgresRow] {
        do {
            return Array(try connection.query(query, logger: logger).wait())
        } catch {
            throw PostgresErrors.querying(error, settings: settings)
        }
    }

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

/// Splits a SQL script into statements at the `;` that end them, skipping those inside
/// quotes, comments and dollar-quoted bodies.
enum SQLScript {
    static func statements(_ script: String) -> [String] {
        let text = Array(script.utf8)
        var statements: [String] = []
        var start = 0, index = 0
        func peek(_ offset: Int) -> UInt8? { index + offset < text.count ? text[index + offset] : nil }
        while index < text.count {
            switch text[index] {
            case UInt8(ascii: "-") where peek(1) == UInt8(ascii: "-"):
                while index < text.count && text[index] != UInt8(ascii: "\n") { index += 1 }
            case UInt8(ascii: "/") where peek(1) == UInt8(ascii: "*"):
                index += 2
                while index < text.count && !(text[index] == UInt8(ascii: "*") && peek(1) == UInt8(ascii: "/")) { index += 1 }
                index += 2
            case UInt8(ascii: "'"), UInt8(ascii: "\""):
                let quote = text[index]
                index += 1
                while index < text.count {
                    if text[index] == quote {
                        if peek(1) == quote { index += 2; continue }  // a doubled quote inside
                        break
                    }
                    index += 1
                }
                index += 1
            case UInt8(ascii: "$"):
                // $tag$ ... $tag$ (tag: letters, digits, underscores, possibly empty)
                var end = index + 1
                while end < text.count, text[end] == UInt8(ascii: "_") || (text[end] < 128 && isalnum(Int32(text[end])) != 0) { end += 1 }
                if end < text.count, text[end] == UInt8(ascii: "$") {
                    let tag = Array(text[index...end])
                    index = end + 1
                    while index < text.count && !text[index...].starts(with: tag) { index += 1 }
                    index += tag.count
                } else {
                    index += 1
                }
            case UInt8(ascii: ";"):
                if let statement = meaningfulStatement(text[start..<index]) { statements.append(statement) }
                index += 1
                start = index
            default:
                index += 1
            }
        }
        if start < text.count, let statement = meaningfulStatement(text[start..<min(index, text.count)]) {
            statements.append(statement)
        }
        return statements
    }

    /// The statement in `bytes`, or nil when they hold only comments and blanks.
    private static func meaningfulStatement(_ bytes: ArraySlice<UInt8>) -> String? {
        let statement = String(decoding: bytes, as: UTF8.self)
        let meaningful = statement.split(separator: "\n").contains { line in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            return !trimmed.isEmpty && !trimmed.hasPrefix("--")
        }
        return meaningful ? statement.trimmingCharacters(in: .whitespacesAndNewlines) : nil
    }
}
