// Turns postgres-nio's and NIO's errors into StoreErrors that say, in one line, what went wrong
// and what to do: never the password (what comes from outside, a server's message or a TLS
// library's, passes through the settings' redaction before Slope's words are put around it).
import Foundation
import PostgresNIO

enum PostgresErrors {
    /// An error while connecting and authenticating.
    static func connecting(_ error: Error, settings: PostgresSettings) -> StoreError {
        if let storeError = error as? StoreError { return storeError }
        let server = settings.description
        func cannotConnect(_ reason: String) -> StoreError { .cannotConnect(server: server, reason: reason) }
        guard let psqlError = error as? PSQLError else {
            return cannotConnect(networkReason(error, settings: settings))
        }
        switch psqlError.code {
        case .server:
            let state = psqlError.serverInfo?[.sqlState] ?? ""
            let message = settings.redacting(psqlError.serverInfo?[.message] ?? "no message")
            switch state {
            case "28P01":
                return cannotConnect("the server refused the password of user \(settings.user) (\(passwordOrigin(settings))): check it")
            case "3D000":
                // Not owned by the role connecting: it may be a worker or reader role, which must never own it.
                return cannotConnect("database \(settings.database) does not exist: as a superuser, create it owned by the role that creates Slope's tables "
                    + "(CREATE DATABASE \(quoted(settings.database)) OWNER slope_owner; docs/distributed.md, Roles), or fix the database name in the URL")
            case "28000":
                return cannotConnect("\(message): ask the server's administrator to allow this user and host (pg_hba.conf), or check user, database and sslmode in the URL")
            case "53300":
                return cannotConnect("the server has too many connections (\(message)): retry later, or raise max_connections")
            case "57P03":
                return cannotConnect("the server is starting up or shutting down (\(message)): retry in a moment")
            default:
                return cannotConnect("\(message) (SQLSTATE \(state))")
            }
        case .authMechanismRequiresPassword:
            var reason = "the server asks for the password of user \(settings.user) and none was given: put it in PGPASSWORD, in ~/.pgpass (mode 0600) or in the URL"
            if let note = settings.passwordFileNote { reason += " (\(note))" }
            return cannotConnect(reason)
        case .sslUnsupported:
            return cannotConnect("the server does not offer TLS but sslmode=\(settings.sslMode.rawValue) requires it: turn on ssl in the server's configuration, or use sslmode=prefer on a network you trust")
        case .unsupportedAuthMechanism:
            return cannotConnect("the server asks for an authentication method Slope does not support: use password, md5 or scram-sha-256 for this user in pg_hba.conf")
        case .saslError:
            return cannotConnect("the password exchange with the server failed (SCRAM): check the password of user \(settings.user) (\(passwordOrigin(settings)))")
        case .connectionError, .failedToAddSSLHandler:
            return cannotConnect(networkReason(psqlError.underlying ?? psqlError, settings: settings))
        case .serverClosedConnection, .uncleanShutdown:
            return cannotConnect("the server closed the connection while it was being set up: check that \(settings.host):\(settings.port) is a PostgreSQL server and look in its log")
        default:
            return cannotConnect("\(psqlError.code) (\(networkReason(psqlError.underlying ?? psqlError, settings: settings)))")
        }
    }

    /// An error while running a statement on an open connection.
    static func querying(_ error: Error, settings: PostgresSettings) -> StoreError {
        if let storeError = error as? StoreError { return storeError }
        let server = settings.description
        let lost = StoreError.cannotConnect(server: server, reason: "the connection to the server was lost: check that the server is running and reachable, then retry")
        if error is PostgresSession.ConnectionClosed || (error as? ChannelError) == .ioOnClosedChannel { return lost }
        if let noAnswer = error as? PostgresSession.NoAnswer {
            return .cannotConnect(server: server, reason: "no answer within \(PostgresServerOptions.describe(noAnswer.seconds)) "
                + "(twice statement_timeout, plus 5 s): the server may be hung or cut off; check it (statement_timeout is set in the URL's options)")
        }
        guard let psqlError = error as? PSQLError else {
            return .postgres(server: server, message: settings.redacting(String(describing: error)))
        }
        switch psqlError.code {
        case .server:
            let state = psqlError.serverInfo?[.sqlState] ?? ""
            var message = settings.redacting(psqlError.serverInfo?[.message] ?? "no message")
            // FATAL (57P01 administrator command, 57P02 crash, a shutdown...): the server ended the connection.
            if psqlError.serverInfo?[.severity] == "FATAL" || psqlError.serverInfo?[.severity] == "PANIC" || state.hasPrefix("57P") {
                return .cannotConnect(server: server, reason: "the server ended the connection (\(message)): check that the server is running, then retry")
            }
            if state == "42501" {  // insufficient privilege: say which role Slope's roles would be
                return .postgres(server: server, message: privilegeAdvice(message, settings: settings))
            }
            // The session's limits (PostgresSettings): said with the limit and how to change it.
            if state == "57014" && message.contains("statement timeout") {
                return .timedOut(server: server, setting: "statement_timeout", seconds: settings.statementTimeout)
            }
            if state == "57014" && message.contains("user request") {
                return .cancelled(server: server, statementTimeout: settings.statementTimeout)
            }
            if state == "55P03" && message.contains("lock timeout") {
                return .timedOut(server: server, setting: "lock_timeout", seconds: settings.lockTimeout)
            }
            if let detail = psqlError.serverInfo?[.detail] { message += " (\(settings.redacting(detail)))" }
            return .postgres(server: server, message: "\(message) [SQLSTATE \(state)]")
        case .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .connectionError:
            return lost
        case .unexpectedBackendMessage:
            // postgres-nio closes the connection on it (and fails what waits on it), e.g. on the
            // error of a commit that failed after its statement completed: whether that committed
            // is not known, as after any lost connection.
            return lost
        default:
            return .postgres(server: server, message: settings.redacting("\(psqlError.code)"))
        }
    }

    /// Why the network or TLS part of a connection failed, from NIO's and BoringSSL's errors.
    static func networkReason(_ error: Error, settings: PostgresSettings) -> String {
        let address = "\(settings.host.contains(":") ? "[\(settings.host)]" : settings.host):\(settings.port)"
        let text = settings.redacting(String(reflecting: error))
        if let channelError = error as? ChannelError, case .connectTimeout = channelError {
            return "no answer from \(address) within \(Int(settings.connectTimeout)) s: check the host, the port and any firewall between"
        }
        if error is NIOSSLExtraError, text.contains("failedToValidateHostname") {
            return "the server's certificate is not for \(settings.host) (sslmode=verify-full checks the name): connect by the name in its certificate"
        }
        if error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError {
            if text.contains("CERTIFICATE_VERIFY_FAILED") || text.contains("certificate verify failed") {
                return "the server's certificate is not signed by the authority in sslrootcert (\(settings.sslRootCertificate ?? "none")): give the certificate of the authority that signed it"
            }
            return "the TLS handshake failed (\(text))"
        }
        if let connectionError = error as? NIOConnectionError {
            if connectionError.dnsAError != nil || connectionError.dnsAAAAError != nil,
               connectionError.connectionErrors.isEmpty {
                return "cannot resolve the host name \(settings.host): check it"
            }
            if let first = connectionError.connectionErrors.first {
                return networkReason(first.error, settings: settings)
            }
        }
        if let ioError = error as? IOError {
            switch ioError.errnoCode {
            case ECONNREFUSED:
                return "nothing accepts connections at \(address) (connection refused): check the host and port, and that the server is running and listening there (listen_addresses)"
            case EHOSTUNREACH, ENETUNREACH:
                return "\(address) cannot be reached (no route): check the host and the network"
            case ETIMEDOUT:
                return "no answer from \(address): check the host, the port and any firewall between"
            default:
                return "\(address): \(settings.redacting(ioError.description))"
            }
        }
        if let channelError = error as? ChannelError {
            return "\(address): \(settings.redacting("\(channelError)"))"
        }
        return text
    }

    /// What to do about a privilege the role lacks (SQLSTATE 42501), as docs/distributed.md sets the roles up.
    static func privilegeAdvice(_ message: String, settings: PostgresSettings) -> String {
        if message.contains("for schema") {
            return "role \(settings.user) may not create Slope's tables in database \(settings.database) (\(message)): the first command on a new database must run as the database owner, which creates them (docs/distributed.md, Roles)"
        }
        return "role \(settings.user) may not do this to Slope's tables (\(message)): writing (runner) needs a worker role with SELECT, INSERT, UPDATE and DELETE, reading (report) at least SELECT (docs/distributed.md, Roles)"
    }

    /// A role that may not read `unreadable` (of slope_database, slope_migrations): every command
    /// reads them to check the schema, so say the GRANT the database owner runs.
    static func bookkeepingPrivilegeAdvice(unreadable: [String], schema: String, settings: PostgresSettings) -> String {
        let tables = unreadable.joined(separator: ", ")
        return "role \(settings.user) may not read Slope's tables in database \(settings.database) (no SELECT on \(tables), which every "
            + "command reads to check the schema): as the database owner, run GRANT SELECT ON ALL TABLES IN SCHEMA \(quoted(schema)) TO "
            + "\(quoted(settings.user)) (a worker needs INSERT, UPDATE and DELETE too: docs/distributed.md, Roles)"
    }

    private static func passwordOrigin(_ settings: PostgresSettings) -> String {
        switch settings.passwordSource {
        case .none: return "no password was given"
        case .url: return "the password in the URL"
        case .environment: return "the password in PGPASSWORD"
        case let .passwordFile(path): return "the password from \(path)"
        }
    }

    /// An identifier as SQL writes it, for the hint in a message.
    private static func quoted(_ identifier: String) -> String { sqlIdentifier(identifier, bareWhenPlain: true) }
}
