// The `options` of a PostgreSQL URL (or PGOPTIONS), read as libpq passes them to the server:
// `-c name=value` settings separated by spaces (`--name=value` and `-cname=value` too). The three
// timeouts Slope relies on are read into seconds, for its messages and its own deadline; every
// setting goes to the server as a startup parameter, which checks the names and other values.
import Foundation

struct PostgresServerOptions {
    var statementTimeout: TimeInterval?
    var lockTimeout: TimeInterval?
    var idleInTransactionTimeout: TimeInterval?
    /// The other settings, in the order given.
    var others: [PostgresSettings.ServerSetting] = []

    static let example = "options=-c%20statement_timeout%3D10min"

    /// - Parameters:
    ///   - text: the value (percent-decoded), e.g. `-c statement_timeout=10min -c lock_timeout=30s`.
    ///   - source: what messages call it (`the URL's options`, `PGOPTIONS`).
    /// - Throws: `StoreError.invalidDatabaseURL` for a switch other than `-c`, a setting without a
    ///   value, one given twice, or a timeout that is not a duration.
    init(_ text: String, source: String) throws {
        var settings: [PostgresSettings.ServerSetting] = []
        var tokens = Self.tokens(text)[...]
        while let token = tokens.popFirst() {
            let assignment: String
            if token == "-c" {
                guard let next = tokens.popFirst() else {
                    throw StoreError.invalidDatabaseURL("\(source) end with -c and no setting: write -c name=value, e.g. \(Self.example)")
                }
                assignment = next
            } else if token.hasPrefix("--") {
                assignment = String(token.dropFirst(2))
            } else if token.hasPrefix("-c") {
                assignment = String(token.dropFirst(2))
            } else {
                throw StoreError.invalidDatabaseURL("\(source) hold \(PostgresURL.quoted(token)): Slope passes only server settings, -c name=value, e.g. \(Self.example)")
            }
            guard let equals = assignment.firstIndex(of: "="), equals != assignment.startIndex,
                  assignment.index(after: equals) != assignment.endIndex else {
                throw StoreError.invalidDatabaseURL("\(source) hold \(PostgresURL.quoted(assignment)), not a setting: write -c name=value, e.g. \(Self.example)")
            }
            // The server takes - for _ in names given as switches (--lock-timeout=1s).
            let name = assignment[..<equals].replacingOccurrences(of: "-", with: "_").lowercased()
            let value = String(assignment[assignment.index(after: equals)...])
            guard !settings.contains(where: { $0.name == name }) else {
                throw StoreError.invalidDatabaseURL("\(source) set \(PostgresURL.quoted(name)) twice: keep one")
            }
            settings.append(.init(name: name, value: value))
        }
        for setting in settings {
            switch setting.name {
            case "statement_timeout": statementTimeout = try Self.duration(setting, source: source)
            case "lock_timeout": lockTimeout = try Self.duration(setting, source: source)
            case "idle_in_transaction_session_timeout": idleInTransactionTimeout = try Self.duration(setting, source: source)
            case "client_encoding":
                // Slope (postgres-nio) sends and reads UTF-8: the server would take those bytes as the
                // other encoding and convert them, storing every text written double-encoded.
                let spelled = setting.value.lowercased().filter { $0 != "-" && $0 != "_" }
                guard spelled == "utf8" || spelled == "unicode" else {
                    throw StoreError.invalidDatabaseURL("client_encoding \(PostgresURL.quoted(setting.value)) in \(source): Slope reads and writes text as UTF-8 only, "
                                                        + "and the server would store it converted (garbled): remove the setting (or write client_encoding=UTF8)")
                }
                others.append(setting)
            default: others.append(setting)
            }
        }
    }

    /// Space-separated words; a backslash keeps the next character (a space in a value), as libpq's.
    static func tokens(_ text: String) -> [String] {
        var tokens: [String] = [], current = "", escaped = false, inToken = false
        for character in text {
            if escaped {
                current.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
                inToken = true
            } else if character.isWhitespace {
                if inToken { tokens.append(current) }
                current = ""
                inToken = false
            } else {
                current.append(character)
                inToken = true
            }
        }
        if inToken { tokens.append(current) }
        return tokens
    }

    /// Units as the server reads them; a bare number is milliseconds.
    private static let units: [(suffix: String, seconds: Double)] = [("us", 1e-6), ("ms", 1e-3), ("min", 60), ("s", 1), ("h", 3600), ("d", 86400)]

    /// A timeout's value in seconds: a non-negative number, bare (milliseconds) or with a unit.
    static func duration(_ setting: PostgresSettings.ServerSetting, source: String) throws -> TimeInterval {
        let text = setting.value.trimmingCharacters(in: .whitespaces)
        var number = Substring(text), scale = 1e-3
        if let unit = units.first(where: { text.hasSuffix($0.suffix) }) {
            number = text.dropLast(unit.suffix.count)
            scale = unit.seconds
        }
        let trimmed = number.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, trimmed.allSatisfy({ $0.isNumber || $0 == "." }), let value = Double(trimmed), value.isFinite else {
            throw StoreError.invalidDatabaseURL("\(setting.name) \(PostgresURL.quoted(setting.value)) in \(source) is not a duration: write e.g. -c \(setting.name)=10min "
                                                + "(units ms, s, min, h, d; a bare number is milliseconds; 0 turns it off)")
        }
        let seconds = value * scale
        guard (seconds * 1000).rounded() <= Double(maximumMilliseconds) else {
            throw StoreError.invalidDatabaseURL("\(setting.name) \(PostgresURL.quoted(setting.value)) in \(source) is too large: the server takes at most "
                                                + "\(maximumMilliseconds) ms (about 24.8 days); write e.g. -c \(setting.name)=10min, or 0 to turn it off")
        }
        return seconds
    }

    /// The server's largest value for each of the three timeouts (INT_MAX milliseconds).
    static let maximumMilliseconds = Int64(Int32.max)

    /// Seconds as the server's setting: whole milliseconds (at least 1 for a positive limit).
    static func milliseconds(_ seconds: TimeInterval) -> String {
        let milliseconds = (seconds * 1000).rounded()
        // `duration` keeps a timeout within the server's limit; the clamp keeps any other value
        // from trapping in the conversion.
        let whole = milliseconds.isFinite ? Int64(min(milliseconds, Double(maximumMilliseconds))) : maximumMilliseconds
        return "\(seconds > 0 ? max(1, whole) : 0)ms"
    }

    /// Seconds for a message: `200 ms`, `30 s`, `5 min`, `1.5 h`.
    static func describe(_ seconds: TimeInterval) -> String {
        func number(_ value: Double) -> String { value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(format: "%.3g", value) }
        switch seconds {
        case ..<1: return "\(number(seconds * 1000)) ms"
        case ..<120: return "\(number(seconds)) s"
        case ..<7200: return "\(number(seconds / 60)) min"
        default: return "\(number(seconds / 3600)) h"
        }
    }
}
