// The parts of a `postgresql://` URL as libpq reads them, percent-decoded, with one-line errors
// that say how to write the URL (and never quote the password).
import Foundation

/// The pieces of a `postgresql://` URL, percent-decoded.
struct PostgresURL {
    var user: String?
    var password: String?
    var host: String?
    var port: Int?
    var database: String?
    var query: [String: String] = [:]

    private static let example = "postgresql://USER@HOST:5432/DATABASE?sslmode=require"

    /// The password part of `url` as written (still percent-encoded), for redacting messages.
    /// The user part ends at the last '@' before the first '/' (as libpq reads it; a '?' or '#'
    /// before that '@' is part of the password).
    static func rawPassword(in url: String) -> Substring? {
        guard let schemeEnd = url.range(of: "://") else { return nil }
        var authority = url[schemeEnd.upperBound...]
        if let slash = authority.firstIndex(of: "/") { authority = authority[..<slash] }
        guard let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") else { return nil }
        return authority[authority.index(after: colon)..<at]
    }

    /// What a message may not quote of `text`: everything between its "://" (or ":/") and its last
    /// '@', where a password is or may be (typed with a '/' that ends the user part early); without
    /// such a separator before that '@' (`postgresql:u:pw@h`), everything before it.
    static func secretRange(in text: String) -> Range<String.Index>? {
        guard let at = text.lastIndex(of: "@") else { return nil }
        let head = text[..<at]
        guard let separator = head.range(of: "://") ?? head.range(of: ":/") else { return text.startIndex..<at }
        return separator.upperBound..<at
    }

    /// `text` with its `secretRange` shown as "***" (and without the marks of `quoted`).
    static func redacted(_ text: String) -> String {
        let text = text.filter { $0 != quoteStart && $0 != quoteEnd }
        guard let secret = secretRange(in: text) else { return text }
        return text.replacingCharacters(in: secret, with: "***")
    }

    // A piece of the URL (or of PGOPTIONS) that a message quotes is marked, so that the password
    // is hidden inside such pieces and only there: hiding it in Slope's own words as well
    // ("sslmode 'x' is not supported: use one of disable, prefer, ***, verify-full" for the
    // password "require") would tell the password by where the stars fall.
    private static let quoteStart: Character = "\u{E000}", quoteEnd: Character = "\u{E001}"

    /// How a message quotes `text`, a piece of what the user wrote: 'text', marked for `unquoting`.
    static func quoted(_ text: some StringProtocol) -> String {
        String(quoteStart) + text.filter { $0 != quoteStart && $0 != quoteEnd } + String(quoteEnd)
    }

    /// `message` with every piece marked by `quoted` shown in single quotes, each of `secrets`
    /// (the password as written and as decoded) in them replaced by "***".
    static func unquoting(_ message: String, hiding secrets: [String]) -> String {
        var result = "", piece: String? = nil
        for character in message {
            if character == quoteStart {
                piece = ""
            } else if character == quoteEnd, let text = piece {
                result += "'" + secrets.filter { !$0.isEmpty }.reduce(text) { $0.replacingOccurrences(of: $1, with: "***") } + "'"
                piece = nil
            } else if piece != nil {
                piece!.append(character)
            } else {
                result.append(character)
            }
        }
        if piece != nil { result += "'***'" }  // never left open by `quoted`; shown hidden rather than dropped
        return result
    }

    /// Parses `url`. When it does not parse and holds an '@' after the end of its user part (a
    /// password typed with a '/'), the message quotes no part of it: any could be the password.
    init(_ url: String) throws {
        let lowered = url.lowercased()
        guard let scheme = ["postgresql://", "postgres://"].first(where: { lowered.hasPrefix($0) }) else {
            throw StoreError.invalidDatabaseURL("a database URL starts with postgresql:// or postgres://, e.g. \(Self.example)")
        }
        if url.utf8.contains(0) { throw StoreError.invalidDatabaseURL("the URL has a NUL byte: remove it") }
        var userEnd: String.Index?
        do {
            try parse(Substring(url.dropFirst(scheme.count)), userEnd: &userEnd)
        } catch StoreError.invalidDatabaseURL(let message) {
            guard let lastAt = url.lastIndex(of: "@"), lastAt != userEnd else { throw StoreError.invalidDatabaseURL(message) }
            throw StoreError.invalidDatabaseURL("cannot read \(Self.redacted(url)) (*** hides what may be a password): write a '/' in the user "
                                                + "name or password as %2F, '@' as %40, e.g. postgresql://USER:PASSWORD@HOST:5432/DATABASE")
        }
    }

    private mutating func parse(_ text: Substring, userEnd: inout String.Index?) throws {
        var rest = text
        // The user part ends at the last '@' before the first '/' (a password may hold an unencoded
        // '@', '?' or '#'), as libpq reads it.
        if let at = rest[..<(rest.firstIndex(of: "/") ?? rest.endIndex)].lastIndex(of: "@") {
            userEnd = at
            let userInfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = userInfo.firstIndex(of: ":") {
                user = try Self.decode(userInfo[..<colon], what: "the user name")
                password = try Self.decode(userInfo[userInfo.index(after: colon)...], what: "the password")
            } else {
                user = try Self.decode(userInfo, what: "the user name")
            }
            if user?.isEmpty == true { user = nil }
        }
        if let mark = rest.firstIndex(of: "?") {
            query = try Self.parseQuery(rest[rest.index(after: mark)...])
            rest = rest[..<mark]
        }
        if let fragment = rest.firstIndex(of: "#") { rest = rest[..<fragment] }
        var authority = rest
        if let slash = rest.firstIndex(of: "/") {
            authority = rest[..<slash]
            let path = rest[rest.index(after: slash)...]
            let name = try Self.decode(path, what: "the database name")
            if path.contains("/") {  // a '/' written as %2F is part of the name
                throw StoreError.invalidDatabaseURL("the database name \(Self.quoted(name)) has a '/': write it as %2F, or check the URL (\(Self.example))")
            }
            database = name.isEmpty ? nil : name
        }
        try parseHostAndPort(authority)
        // libpq also takes these as parameters; one place for each keeps the URL unambiguous.
        for name in ["user", "password", "host", "hostaddr", "port", "dbname"] where query[name] != nil {
            throw StoreError.invalidDatabaseURL("write the \(name == "dbname" ? "database" : name) in the URL itself, not as ?\(name)=: \(Self.example)")
        }
        if let unknown = query.keys.sorted().first(where: { !PostgresSettings.knownParameters.contains($0) }) {
            throw StoreError.invalidDatabaseURL("unknown URL parameter \(Self.quoted(unknown)): Slope knows \(PostgresSettings.knownParameters.joined(separator: ", "))")
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
                throw StoreError.invalidDatabaseURL("\(Self.quoted(address)) in brackets is not an IPv6 address: write e.g. [::1] or [2001:db8::5]")
            }
            host = address
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() }
            else if !after.isEmpty {
                throw StoreError.invalidDatabaseURL("unexpected \(Self.quoted(after)) after the IPv6 address: write postgresql://USER@[::1]:5432/DATABASE")
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
                throw StoreError.invalidDatabaseURL("the port \(Self.quoted(portText)) is not a number from 1 to 65535: write e.g. postgresql://USER@HOST:5432/DATABASE")
            }
            port = number
        }
    }

    private static func parseQuery(_ text: Substring) throws -> [String: String] {
        var result: [String: String] = [:]
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            guard let equals = pair.firstIndex(of: "=") else {
                throw StoreError.invalidDatabaseURL("the URL parameter \(quoted(pair)) has no value: write NAME=VALUE, e.g. ?sslmode=require")
            }
            let name = try decode(pair[..<equals], what: "a parameter name")
            if name == "password" {  // never echo it, whatever else is wrong
                throw StoreError.invalidDatabaseURL("write the password in the URL's user part (postgresql://USER:PASSWORD@HOST/DATABASE), in PGPASSWORD or in ~/.pgpass, not as ?password=")
            }
            let value = try decode(pair[pair.index(after: equals)...], what: "the value of \(quoted(name))")
            guard result[name] == nil else {
                throw StoreError.invalidDatabaseURL("the URL parameter \(quoted(name)) is given twice: keep one")
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
        // PostgreSQL's names, passwords and settings are C strings: a NUL would cut or garble them.
        if bytes.contains(0) { throw StoreError.invalidDatabaseURL("\(what) in the URL has a NUL byte (%00): remove it") }
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
