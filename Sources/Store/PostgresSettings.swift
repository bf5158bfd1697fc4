// How to reach a PostgreSQL database: a `postgresql://` URL parsed the way libpq reads it,
// with the password from the URL, PGPASSWORD or the password file, and a description that
// never shows the password.
import Foundation

public struct PostgresSettings: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// How the connection uses TLS (libpq's `sslmode`, less `allow` and `verify-ca`).
    public enum SSLMode: String, Sendable, CaseIterable {
        /// Plain TCP, never TLS.
        case disable
        /// TLS when the server offers it, plain TCP otherwise; the certificate is not checked.
        case prefer
        /// TLS or no connection. The certificate is checked against `sslrootcert` only when one is given.
        case require
        /// TLS, with the server's certificate checked against the root certificate and the host name.
        case verifyFull = "verify-full"
    }

    /// Where the password came from (said in error messages, without the password).
    public enum PasswordSource: Sendable, Equatable {
        case none
        case url
        case environment  // PGPASSWORD
        case passwordFile(path: String)
    }

    public let host: String
    public let port: Int
    public let user: String
    public let database: String
    public let sslMode: SSLMode
    /// The certificate (PEM) of the authority that signs the server's certificate, or
    /// "system" for the system's trusted authorities; nil when not given.
    public let sslRootCertificate: String?
    public let connectTimeout: TimeInterval
    /// The server cancels a statement that runs longer (`statement_timeout`), seconds; 0: never.
    public let statementTimeout: TimeInterval
    /// The server cancels a statement that waits longer for a lock (`lock_timeout`), seconds; 0: never.
    public let lockTimeout: TimeInterval
    /// The server ends a session left idle inside a transaction longer
    /// (`idle_in_transaction_session_timeout`), seconds; 0: never.
    public let idleInTransactionTimeout: TimeInterval
    /// The server settings each session starts with (name, value as the server reads it): the
    /// three timeouts, then any other `-c name=value` of the `options` parameter or PGOPTIONS.
    let serverSettings: [ServerSetting]
    public let passwordSource: PasswordSource
    /// Why no password was taken from the password file: it has a matching line but its mode lets
    /// others read it, or its lines for this host, port and user are for other databases (a
    /// mistyped name); for the message when the server then asks for one.
    public let passwordFileNote: String?
    let password: Secret?

    /// How long a session waits for the answer to a statement before it takes the connection as
    /// lost (nil: for ever, when statement_timeout is off): twice statement_timeout, plus 5 s. The
    /// server cancels a statement at statement_timeout and says so; one that has not answered long
    /// after is hung or cut off.
    var answerDeadline: TimeInterval? {
        statementTimeout > 0 ? 2 * statementTimeout + 5 : nil
    }

    /// The sslmode a URL without one gets (libpq's default).
    public static let defaultSSLMode = SSLMode.prefer
    public static let defaultPort = 5432
    public static let defaultConnectTimeout: TimeInterval = 10
    /// Long enough for any statement of Slope on a busy server (an epoch of 100 MB of tensors, a
    /// report over millions of epochs); short enough that a hung statement ends.
    public static let defaultStatementTimeout: TimeInterval = 300
    /// Slope's transactions hold row locks for milliseconds: a minute is something stuck.
    public static let defaultLockTimeout: TimeInterval = 60
    /// Slope never pauses inside a transaction: a session idle in one for a minute belongs to a
    /// process that froze or a machine that vanished, and its locks are released.
    public static let defaultIdleInTransactionTimeout: TimeInterval = 60
    static let knownParameters = ["sslmode", "sslrootcert", "connect_timeout", "options"]

    /// A server setting sent when the session starts (a startup parameter, as libpq sends `options`).
    struct ServerSetting: Sendable, Equatable {
        var name: String
        var value: String
    }

    /// True when `text` is meant as a PostgreSQL URL rather than a database file's path.
    public static func isPostgresURL(_ text: String) -> Bool {
        let lowered = text.lowercased()
        return lowered.hasPrefix("postgresql://") || lowered.hasPrefix("postgres://")
    }

    /// `url` as written, less its password (`postgresql://slope@db.lab/slope` for
    /// `postgresql://slope:secret@db.lab/slope`): for commands shown to the user, which must not
    /// show the password, and which then take it from PGPASSWORD or the password file.
    public static func removingPassword(from url: String) -> String {
        guard isPostgresURL(url), let password = PostgresURL.rawPassword(in: url) else { return url }
        // The ':' before the password goes too.
        return String(url[..<url.index(before: password.startIndex)] + url[password.endIndex...])
    }

    /// How messages name a database (`--db`, `SLOPE_DB`): a file's path as it is; a URL as the
    /// server and database without the password (when it cannot be parsed, everything between
    /// "://" and its last '@' as "***"). Text that `SlopeStore.checkLocation` refuses as a mistyped
    /// URL is shown that way too.
    public static func displayedLocation(_ location: String) -> String {
        guard isPostgresURL(location) else { return (try? SlopeStore.checkLocation(location)) == nil ? PostgresURL.redacted(location) : location }
        return (try? PostgresSettings(url: location).description) ?? PostgresURL.redacted(location)
    }

    /// Parses `url` (`postgresql://[user[:password]@][host][:port][/database][?sslmode=...&sslrootcert=...]`).
    /// Without a password in the URL it is taken from `PGPASSWORD`, then from the password file
    /// (`PGPASSFILE`, or `.pgpass` in the home folder) as libpq does. Server settings come from
    /// `options` (`?options=-c%20statement_timeout%3D10min`), else from `PGOPTIONS`, as libpq's.
    /// - Parameters:
    ///   - environment: the variables to read (PGPASSWORD, PGPASSFILE, PGOPTIONS, HOME); the process's by default.
    /// - Throws: `StoreError.invalidDatabaseURL` saying what is wrong and how to write it.
    public init(url: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        do {
            try self.init(parsing: url, environment: environment)
        } catch let StoreError.invalidDatabaseURL(message) {
            // A message may quote a part of the URL: never the password in it, even one typed in the wrong place.
            let password = PostgresURL.rawPassword(in: url).map(String.init)
            throw StoreError.invalidDatabaseURL(PostgresURL.unquoting(message, hiding: [password, password?.removingPercentEncoding].compactMap { $0 }))
        }
    }

    private init(parsing url: String, environment: [String: String]) throws {
        let parts = try PostgresURL(url)
        host = parts.host ?? "localhost"
        port = parts.port ?? Self.defaultPort
        user = try parts.user ?? Self.loginName(environment)
        database = parts.database ?? user

        let query = parts.query
        if let mode = query["sslmode"] {
            guard let parsed = SSLMode(rawValue: mode) else {
                throw StoreError.invalidDatabaseURL("sslmode \(PostgresURL.quoted(mode)) is not supported: use one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            sslMode = parsed
        } else {
            sslMode = Self.defaultSSLMode
        }
        if let path = query["sslrootcert"] {
            guard !path.isEmpty else { throw StoreError.invalidDatabaseURL("sslrootcert is empty: give the path of the PEM file of the authority that signs the server's certificate, or system") }
            sslRootCertificate = path
        } else if sslMode == .verifyFull, let home = Self.homeDirectory(environment),
                  FileManager.default.fileExists(atPath: home + "/.postgresql/root.crt") {
            sslRootCertificate = home + "/.postgresql/root.crt"  // libpq's default root certificate
        } else {
            sslRootCertificate = nil
        }
        if sslMode == .verifyFull && sslRootCertificate == nil {
            throw StoreError.invalidDatabaseURL("sslmode=verify-full needs the certificate of the authority that signs the server's: add sslrootcert=PATH (a PEM file) or sslrootcert=system, or put it in ~/.postgresql/root.crt")
        }
        if sslMode == .disable && query["sslrootcert"] != nil {
            throw StoreError.invalidDatabaseURL("sslrootcert is given but sslmode=disable turns TLS off: remove one of them")
        }
        if let timeout = query["connect_timeout"] {
            let tooLarge = StoreError.invalidDatabaseURL("connect_timeout \(PostgresURL.quoted(timeout)) is too large: write at most \(Int32.max) seconds, e.g. connect_timeout=10 (0 waits the default \(Int(Self.defaultConnectTimeout)) s)")
            // Digits only, beyond Int64: a whole number still, too large.
            if Int(timeout) == nil, !timeout.isEmpty, timeout.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) { throw tooLarge }
            guard let seconds = Int(timeout), seconds >= 0 else {
                throw StoreError.invalidDatabaseURL("connect_timeout \(PostgresURL.quoted(timeout)) is not a whole number of seconds: write e.g. connect_timeout=10 (0 waits the default \(Int(Self.defaultConnectTimeout)) s)")
            }
            // libpq reads it as an int; the wait is then set in milliseconds, which must not overflow.
            guard seconds <= Int(Int32.max) else { throw tooLarge }
            connectTimeout = seconds == 0 ? Self.defaultConnectTimeout : TimeInterval(seconds)
        } else {
            connectTimeout = Self.defaultConnectTimeout
        }
        let options = try PostgresServerOptions(query["options"] ?? environment["PGOPTIONS"] ?? "",
                                                source: query["options"] != nil ? "the URL's options" : "the options in PGOPTIONS")
        statementTimeout = options.statementTimeout ?? Self.defaultStatementTimeout
        lockTimeout = options.lockTimeout ?? Self.defaultLockTimeout
        idleInTransactionTimeout = options.idleInTransactionTimeout ?? Self.defaultIdleInTransactionTimeout
        serverSettings = [
            ServerSetting(name: "statement_timeout", value: PostgresServerOptions.milliseconds(statementTimeout)),
            ServerSetting(name: "lock_timeout", value: PostgresServerOptions.milliseconds(lockTimeout)),
            ServerSetting(name: "idle_in_transaction_session_timeout", value: PostgresServerOptions.milliseconds(idleInTransactionTimeout)),
        ] + options.others

        var note: String? = nil
        if let password = parts.password {
            self.password = Secret(password)
            passwordSource = .url
        } else if let password = environment["PGPASSWORD"], !password.isEmpty {
            self.password = Secret(password)
            passwordSource = .environment
        } else if let file = Self.passwordFilePath(environment) {
            let lookup = PostgresPasswordFile.lookup(path: file, host: host, port: port, database: database, user: user)
            self.password = lookup.password.map(Secret.init)
            passwordSource = lookup.password == nil ? .none : .passwordFile(path: file)
            note = lookup.note
        } else {
            password = nil
            passwordSource = .none
        }
        passwordFileNote = note
    }

    /// The URL without its password: `postgresql://slope@db.lab:5432/slope?sslmode=require`.
    public var description: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        // A '/' in the user or the database is %2F: pasted back as --db, a bare one is refused.
        var text = "postgresql://\(Self.encode(user, keepingSlash: false))@\(hostPart):\(port)/\(Self.encode(database, keepingSlash: false))"
        var parameters: [String] = []
        if sslMode != Self.defaultSSLMode { parameters.append("sslmode=\(sslMode.rawValue)") }
        if let root = sslRootCertificate { parameters.append("sslrootcert=\(Self.encode(root))") }
        if !parameters.isEmpty { text += "?" + parameters.joined(separator: "&") }
        return text
    }

    public var debugDescription: String { description }

    /// Reflection (`dump`, the debugger) shows the fields without the password.
    public var customMirror: Mirror {
        Mirror(self, children: ["description": description, "passwordSource": passwordSource], displayStyle: .struct)
    }

    public static func == (left: PostgresSettings, right: PostgresSettings) -> Bool {
        left.description == right.description && left.password == right.password
            && left.connectTimeout == right.connectTimeout && left.passwordSource == right.passwordSource
            && left.serverSettings == right.serverSettings
    }

    /// `text` with the password, where it appears in it, replaced by `***`: applied to every
    /// message that comes from outside Slope (the server, the TLS library) before it is shown,
    /// and before Slope adds words of its own. Inside double quotes (where PostgreSQL names what
    /// it was given) every occurrence goes; outside them only one that stands as a word of its own, not
    /// joined to letters or digits: stars inside the server's own words ("aut*** failed" for the
    /// password "h") would tell the password by where they fall.
    func redacting(_ text: String) -> String {
        guard let password = password?.value, !password.isEmpty else { return text }
        var result = Self.hiding(password, in: text)
        if let encoded = password.addingPercentEncoding(withAllowedCharacters: .alphanumerics), encoded != password {
            result = Self.hiding(encoded, in: result)
        }
        return result
    }

    private static func hiding(_ secret: String, in text: String) -> String {
        var result = "", rest = text[...], quote: Character? = nil
        func joined(_ character: Character?) -> Bool { character.map { $0.isLetter || $0.isNumber } ?? false }
        while !rest.isEmpty {
            if rest.hasPrefix(secret) && (quote != nil || (!joined(result.last) && !joined(rest.dropFirst(secret.count).first))) {
                result += "***"
                rest = rest.dropFirst(secret.count)
                continue
            }
            let character = rest.removeFirst()
            if character == "\"" { quote = quote == nil ? character : nil }
            result.append(character)
        }
        return result
    }

    // MARK: - Helpers

    private static func encode(_ text: String, keepingSlash: Bool = true) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: keepingSlash ? "-._~/" : "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    private static func homeDirectory(_ environment: [String: String]) -> String? {
        if let home = environment["HOME"], !home.isEmpty { return home }
        guard let entry = getpwuid(geteuid()), let directory = entry.pointee.pw_dir else { return nil }
        return String(cString: directory)
    }

    /// libpq's default user: the operating-system user name.
    private static func loginName(_ environment: [String: String]) throws -> String {
        if let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name { return String(cString: name) }
        if let name = environment["USER"], !name.isEmpty { return name }
        throw StoreError.invalidDatabaseURL("the URL names no user and the system user name is unknown: write postgresql://USER@HOST/DATABASE")
    }

    private static func passwordFilePath(_ environment: [String: String]) -> String? {
        if let path = environment["PGPASSFILE"], !path.isEmpty { return path }
        return homeDirectory(environment).map { $0 + "/.pgpass" }
    }
}

/// A password: its description, debug description and reflection never show it.
struct Secret: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    let value: String
    init(_ value: String) { self.value = value }
    var description: String { "***" }
    var debugDescription: String { "***" }
    var customMirror: Mirror { Mirror(self, children: [:]) }
}
