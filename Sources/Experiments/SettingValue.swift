// A setting's value as written by the user: in a sweep file (YAML scalars and
// lists) or on the command line (text). Settings parse them with their own rules. Also where each
// setting of a spec was given in its file (SettingSources), for messages.
import Foundation
import Store

public enum SettingValue: Hashable, Sendable, Codable, CustomStringConvertible {
    case int(Int)
    /// A number; `written`: its text as a sweep file writes it (`1e-1`, `1.0`), for messages only
    /// (as `SweepSpec.Bound`): two values that differ only in it are equal, and it is not stored.
    case double(Double, written: String? = nil)
    case bool(Bool)
    case string(String)
    case list([SettingValue])

    public var description: String {
        switch self {
        case let .int(value): return String(value)
        case let .double(value, written): return written ?? shortDescription(value)
        case let .bool(value): return String(value)
        case let .string(value): return value
        case let .list(values): return "[" + values.map(\.description).joined(separator: ", ") + "]"
        }
    }

    var asDouble: Double? {
        switch self {
        case let .int(value): return Double(value)
        case let .double(value, _): return value
        case let .string(text): return Self.decimalNumber(text)
        default: return nil
        }
    }

    /// The number `text` holds when it is written as a decimal number, as a CSV cell is (spaces
    /// around it aside): `0x10` is not 16, as strtod (Swift's `Double(_:)`) would read it. What
    /// every numeric flag takes (`AcceptedValues.number` too).
    static func decimalNumber(_ text: String) -> Double? {
        DecimalNumber.value(of: text.trimmingCharacters(in: .whitespaces))
    }

    var asInt: Int? {
        switch self {
        case let .int(value): return value
        // A whole number written as a float (YAML's 1e3, 1e18): any that an Int holds, as 1e3 is,
        // so a seed of 1e18 is not refused where a batch size of 1e3 is taken.
        case let .double(value, _): return Int(exactly: value)
        case let .string(text): return Int(text.trimmingCharacters(in: .whitespaces))
        default: return nil
        }
    }

    var asBool: Bool? {
        switch self {
        case let .bool(value): return value
        case let .string(text):  // "true" quoted in a file; not "yes", "on" or "1" (docs/sweeps.md: true / false)
            switch text.lowercased() {
            case "true": return true
            case "false": return false
            default: return nil
            }
        default: return nil
        }
    }

    var asString: String? {
        switch self {
        case .list: return nil
        case let .string(text): return text
        default: return description
        }
    }

    /// The text the user wrote: a flag's value, or a sweep file's number as written; nil for the rest.
    var writtenText: String? {
        switch self {
        case let .string(text): return text
        case let .double(_, written): return written
        default: return nil
        }
    }

    public static func == (left: SettingValue, right: SettingValue) -> Bool {
        switch (left, right) {
        case let (.int(a), .int(b)): return a == b
        case let (.double(a, _), .double(b, _)): return a == b
        case let (.bool(a), .bool(b)): return a == b
        case let (.string(a), .string(b)): return a == b
        case let (.list(a), .list(b)): return a == b
        default: return false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case let .int(value): hasher.combine(0); hasher.combine(value)
        case let .double(value, _): hasher.combine(1); hasher.combine(value)
        case let .bool(value): hasher.combine(2); hasher.combine(value)
        case let .string(value): hasher.combine(3); hasher.combine(value)
        case let .list(values): hasher.combine(4); hasher.combine(values)
        }
    }

    // JSON form: plain JSON scalars and arrays (the sweep spec is stored as JSON).
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Int.self) { self = .int(value) }
        else if let value = try? container.decode(Double.self) { self = .double(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else { self = .list(try container.decode([SettingValue].self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case let .int(value): try container.encode(value)
        case let .double(value, _): try container.encode(value)
        case let .bool(value): try container.encode(value)
        case let .string(value): try container.encode(value)
        case let .list(values): try container.encode(values)
        }
    }
}

/// `0.01` rather than `0.010000000000000002` where the shortest form round-trips.
extension Double {
    /// Rounded by `rule` to a whole number, as the nearest Int when beyond Int's range (NaN is 0).
    func clampedToInt(_ rule: FloatingPointRoundingRule) -> Int {
        let number = rounded(rule)
        if number.isNaN { return 0 }
        if number >= 0x1p63 { return .max }
        return number < -0x1p63 ? .min : Int(number)
    }
}

func shortDescription(_ value: Double) -> String {
    if value.rounded() == value && abs(value) < 1e15 { return String(Int(value)) }
    return "\(value)"
}

/// Where each setting of a spec was given in its file (`fixed.dataset`, `parameters.dataset.values`),
/// so that a problem found later (a missing data file) is named where the user wrote it. Only for
/// messages: two specs that differ only in it are equal, and it is not stored.
public struct SettingSources: Hashable, Sendable, Codable {
    var fields: [Setting: String] = [:]
    /// The file says `metric:` (a default `val_loss` is not checked against runs without validation:
    /// it falls back to `train_loss` in summaries and reports).
    var metricGiven = false

    public init() {}
    public init(from decoder: Decoder) throws { self.init() }
    public func encode(to encoder: Encoder) throws {}
    public static func == (lhs: SettingSources, rhs: SettingSources) -> Bool { true }
    public func hash(into hasher: inout Hasher) {}
}

// SweepSpec's synthesized Codable: specs stored before `sources` existed have no such key.
extension KeyedDecodingContainer {
    func decode(_ type: SettingSources.Type, forKey key: Key) throws -> SettingSources { SettingSources() }
}

extension KeyedEncodingContainer {
    mutating func encode(_ value: SettingSources, forKey key: Key) throws {}
}
