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
    public let passwordSource: PasswordSource
    /// Why no password was taken from the password file even though it has a matching line
    /// (its mode lets others read it), for the message when the server then asks for one.
    public let passwordFileNote: String?
    let password: Secret?

    /// The sslmode a URL without one gets (libpq's default).
    public static let defaultSSLMode = SSLMode.prefer
    public static let defaultPort = 5432
    public static let defaultConnectTimeout: TimeInterval = 10
    static let knownParameters = ["sslmode", "sslrootcert", "connect_timeout"]

    /// True when `text` is meant as a PostgreSQL URL rather than a database file's path.
    public static func isPostgresURL(_ text: String) -> Bool {
        let lowered = text.lowercased()
        return lowered.hasPrefix("postgresql://") || lowered.hasPrefix("postgres://")
    }

    /// Parses `url` (`postgresql://[user[:password]@][host][:port][/database][?sslmode=...&sslrootcert=...]`).
    /// Without a password in the URL it is taken from `PGPASSWORD`, then from the password file
    /// (`PGPASSFILE`, or `.pgpass` in the home folder) as libpq does.
    /// - Parameters:
    ///   - environment: the variables to read (PGPASSWORD, PGPASSFILE, HOME); the process's by default.
    /// - Throws: `StoreError.invalidDatabaseURL` saying what is wrong and how to write it.
    public init(url: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        do {
            try self.init(parsing: url, environment: environment)
        } catch let StoreError.invalidDatabaseURL(message) {
            // A message may quote a part of the URL: never the password, even one typed in the wrong place.
            var redacted = message
            if let password = URLParts.rawPassword(in: url), !password.isEmpty {
                redacted = redacted.replacingOccurrences(of: password, with: "***")
                if let decoded = password.removingPercentEncoding, !decoded.isEmpty {
                    redacted = redacted.replacingOccurrences(of: decoded, with: "***")
                }
            }
            throw StoreError.invalidDatabaseURL(redacted)
        }
    }

    private init(parsing url: String, environment: [String: String]) throws {
        let parts = try URLParts(url)
        host = parts.host ?? "localhost"
        port = parts.port ?? Self.defaultPort
        user = try parts.user ?? Self.loginName(environment)
        database = parts.database ?? user

        let query = parts.query
        if let mode = query["sslmode"] {
            guard let parsed = SSLMode(rawValue: mode) else {
                throw StoreError.invalidDatabaseURL("sslmode '\(mode)' is not supported: use one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))")
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
            guard let seconds = Int(timeout), seconds >= 0 else {
                throw StoreError.invalidDatabaseURL("connect_timeout '\(timeout)' is not a whole number of seconds: write e.g. connect_timeout=10 (0 waits the default \(Int(Self.defaultConnectTimeout)) s)")
            }
            connectTimeout = seconds == 0 ? Self.defaultConnectTimeout : TimeInterval(seconds)
        } else {
            connectTimeout = Self.defaultConnectTimeout
        }

        var note: String? = nil
        if let password = parts.password {
            self.password = Secret(password)
            passwordSource = .url
        } else if let password = environment["PGPASSWORD"], !password.isEmpty {
            self.password = Secret(password)
            passwordSource = .environment
        } else if let file = Self.passwordFilePath(environment) {
            let lookup = PasswordFile.lookup(path: file, host: host, port: port, database: database, user: user)
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
        var text = "postgresql://\(Self.encode(user))@\(hostPart):\(port)/\(Self.encode(database))"
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
    }

    /// `text` with the password, if it appears in it, replaced by `***`: applied to every
    /// message that comes from outside Slope (the server, the TLS library) before it is shown.
    func redacting(_ text: String) -> String {
        guard let password = password?.value, !password.isEmpty else { return text }
        var result = text.replacingOccurrences(of: password, with: "***")
        if let encoded = password.addingPercentEncoding(withAllowedCharacters: .alphanumerics), encoded != password {
            result = result.replacingOccurrences(of: encoded, with: "***")
        }
        return result
    }

    // MARK: - Helpers

    private static func encode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~/")
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

/// The pieces of a `postgresql://` URL, percent-decoded.
struct URLParts {
    var user: String?
    var password: String?
    var host: String?
    var port: Int?
    var database: String?
    var query: [String: String] = [:]

    private static let example = "postgresql://USER@HOST:5432/DATABASE?sslmode=require"

    /// The password part of `url` as written (still percent-encoded), for redacting messages.
    static func rawPassword(in url: String) -> Substring? {
        guard let schemeEnd = url.range(of: "://") else { return nil }
        var authority = url[schemeEnd.upperBound...]
        if let end = authority.firstIndex(where: { $0 == "/" || $0 == "?" }) { authority = authority[..<end] }
        guard let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") else { return nil }
        return authority[authority.index(after: colon)..<at]
    }

    init(_ url: String) throws {
        let lowered = url.lowercased()
        guard let scheme = ["postgresql://", "postgres://"].first(where: { lowered.hasPrefix($0) }) else {
            throw StoreError.invalidDatabaseURL("a database URL starts with postgresql:// or postgres://, e.g. \(Self.example)")
        }
        var rest = Substring(url.dropFirst(scheme.count))
        if let mark = rest.firstIndex(of: "?") {
            query = try Self.parseQuery(rest[rest.index(after: mark)...])
            rest = rest[..<mark]
        }
        if let fragment = rest.firstIndex(of: "#") { rest = rest[..<fragment] }
        var authority = rest
        if let slash = rest.firstIndex(of: "/") {
            authority = rest[..<slash]
            let name = try Self.decode(rest[rest.index(after: slash)...], what: "the database name")
            if name.contains("/") {
                throw StoreError.invalidDatabaseURL("the database name '\(name)' has a '/': write it as %2F, or check the URL (\(Self.example))")
            }
            database = name.isEmpty ? nil : name
        }
        // The user part ends at the last '@' (a password may hold an unencoded '@').
        if let at = authority.lastIndex(of: "@") {
            let userInfo = authority[..<at]
            authority = authority[authority.index(after: at)...]
            if let colon = userInfo.firstIndex(of: ":") {
                user = try Self.decode(userInfo[..<colon], what: "the user name")
                password = try Self.decode(userInfo[userInfo.index(after: colon)...], what: "the password")
            } else {
                user = try Self.decode(userInfo, what: "the user name")
            }
            if user?.isEmpty == true { user = nil }
        }
        try parseHostAndPort(authority)
        // libpq also takes these as parameters; one place for each keeps the URL unambiguous.
        for name in ["user", "password", "host", "hostaddr", "port", "dbname"] where query[name] != nil {
            throw StoreError.invalidDatabaseURL("write the \(name == "dbname" ? "database" : name) in the URL itself, not as ?\(name)=: \(Self.example)")
        }
        if let unknown = query.keys.sorted().first(where: { !PostgresSettings.knownParameters.contains($0) }) {
            throw StoreError.invalidDatabaseURL("unknown URL parameter '\(unknown)': Slope knows \(PostgresSettings.knownParameters.joined(separator: ", "))")
        }
    }

    private mutating func parseHostAndPort(_ authority: Substring) throws {
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                throw StoreError.invalidDatabaseURL("an IPv6 address in the URL lacks its closing ']': write it as postgresql://USER@[::1]:5432/DATABASE")
            }
            let address = try Self.decode(authority[authority.index(after: authority.startIndex)..<close], what: "the host")
            guard Self.isIPv6(address) else {
                throw StoreError.invalidDatabaseURL("'\(address)' in brackets is not an IPv6 address: write e.g. [::1] or [2001:db8::5]")
            }
            host = address
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() }
            else if !after.isEmpty {
                throw StoreError.invalidDatabaseURL("unexpected '\(after)' after the IPv6 address: write postgresql://USER@[::1]:5432/DATABASE")
            }
        } else {
            var hostText = authority
            if let colon = authority.firstIndex(of: ":") {
                hostText = authority[..<colon]
                portText = authority[authority.index(after: colon)...]
                if portText?.contains(":") == true {
                    throw StoreError.invalidDatabaseURL("write an IPv6 address in brackets, e.g. postgresql://USER@[::1]:5432/DATABASE")
                }
            }
            if hostText.contains(",") {
                throw StoreError.invalidDatabaseURL("the URL names several hosts: Slope connects to one server, give one host")
            }
            let name = try Self.decode(hostText, what: "the host")
            if name.hasPrefix("/") {
                throw StoreError.invalidDatabaseURL("Unix-domain sockets are not supported yet: connect over TCP, e.g. postgresql://USER@localhost:5432/DATABASE")
            }
            host = name.isEmpty ? nil : name
        }
        if let portText, !portText.isEmpty {
            guard portText.allSatisfy(\.isASCII), let number = Int(portText), (1...65535).contains(number) else {
                throw StoreError.invalidDatabaseURL("the port '\(portText)' is not a number from 1 to 65535: write e.g. postgresql://USER@HOST:5432/DATABASE")
            }
            port = number
        }
    }

    private static func parseQuery(_ text: Substring) throws -> [String: String] {
        var result: [String: String] = [:]
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            guard let equals = pair.firstIndex(of: "=") else {
                throw StoreError.invalidDatabaseURL("the URL parameter '\(pair)' has no value: write NAME=VALUE, e.g. ?sslmode=require")
            }
            let name = try decode(pair[..<equals], what: "a parameter name")
            if name == "password" {  // never echo it, whatever else is wrong
                throw StoreError.invalidDatabaseURL("write the password in the URL's user part (postgresql://USER:PASSWORD@HOST/DATABASE), in PGPASSWORD or in ~/.pgpass, not as ?password=")
            }
            let value = try decode(pair[pair.index(after: equals)...], what: "the value of \(name)")
            guard result[name] == nil else {
                throw StoreError.invalidDatabaseURL("the URL parameter \(name) is given twice: keep one")
            }
            result[name] = value
        }
        return result
    }

    /// Percent-decoding; `what` names the part for the message (never its text: it may be the password).
    private static func decode(_ text: Substring, what: String) throws -> String {
        guard text.contains("%") else { return String(text) }
        var bytes: [UInt8] = []
        var index = text.utf8.startIndex
        let utf8 = text.utf8
        while index < utf8.endIndex {
            let byte = utf8[index]
            if byte == UInt8(ascii: "%") {
                let first = utf8.index(after: index)
                guard first < utf8.endIndex, utf8.index(after: first) < utf8.endIndex,
                      let high = hexValue(utf8[first]), let low = hexValue(utf8[utf8.index(after: first)]) else {
                    throw StoreError.invalidDatabaseURL("\(what) in the URL has a '%' that is not followed by two hex digits: write a literal % as %25")
                }
                bytes.append(high << 4 | low)
                index = utf8.index(first, offsetBy: 2)
            } else {
                bytes.append(byte)
                index = utf8.index(after: index)
            }
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else {
            throw StoreError.invalidDatabaseURL("\(what) in the URL decodes to bytes that are not UTF-8: check its %-escapes")
        }
        return decoded
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    private static func isIPv6(_ text: String) -> Bool {
        var address = in6_addr()
        return inet_pton(AF_INET6, text, &address) == 1
    }
}

/// libpq's password file: lines `host:port:database:user:password`, `*` matching anything,
/// `\:` and `\\` escaping, `#` starting a comment; the first matching line wins. The file is
/// ignored when its mode lets the group or others read it (it must be 0600 or stricter).
enum PasswordFile {
    static func lookup(path: String, host: String, port: Int, database: String, user: String) -> (password: String?, note: String?) {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return (nil, nil) }
        guard let data = FileManager.default.contents(atPath: path) else { return (nil, nil) }
        let wanted = [host, String(port), database, user]
        var found: String?
        for line in String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline) {
            if line.hasPrefix("#") { continue }
            let fields = split(String(line))
            guard fields.count == 5 else { continue }
            if zip(fields.prefix(4), wanted).allSatisfy({ $0 == "*" || $0 == $1 }) {
                found = fields[4]
                break
            }
        }
        guard let found else { return (nil, nil) }
        if info.st_mode & 0o077 != 0 {
            let mode = String(Int(info.st_mode & 0o777), radix: 8)
            return (nil, "\(path) has a password for this connection but was ignored: its mode \(mode) lets others read it (run chmod 600 \(path))")
        }
        return (found, nil)
    }

    /// The five fields of a line, unescaped; a line with more or fewer separators gives another count.
    static func split(_ line: String) -> [String] {
        var fields: [String] = [], current = ""
        var escaped = false
        for character in line {
            if escaped { current.append(character); escaped = false }
            else if character == "\\" { escaped = true }
            else if character == ":" && fields.count < 4 { fields.append(current); current = "" }
            else { current.append(character) }
        }
        fields.append(current)
        return fields
    }
}
