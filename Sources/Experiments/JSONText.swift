// The JSON writer of sweeps.spec (`SweepSpec.json()`): keys in the order given and numbers that
// YAML reads back as numbers.
import Store

/// JSON with its objects' keys in the order given (JSONEncoder sorts or scrambles them), and
/// strings that YAML reads back the same (`jsonStringLiteral`).
enum JSONText {
    case string(String), integer(Int), number(Double), bool(Bool)
    case array([JSONText]), object([(String, JSONText)])

    init(_ value: SettingValue) {
        switch value {
        case let .int(number): self = .integer(number)
        case let .double(number, _): self = .number(number)
        case let .bool(flag): self = .bool(flag)
        case let .string(text): self = .string(text)
        case let .list(values): self = .array(values.map(JSONText.init))
        }
    }

    var text: String {
        switch self {
        case let .string(value): return Self.quoted(value)
        case let .integer(value): return String(value)
        case let .number(value):
            // Shortest round-trip digits ("0.001", "100.0"), with a point before any exponent
            // ("1.0e-05"): YAML 1.1 reads "1e-05" as text.
            guard value.isFinite else { return "null" }  // never in a validated spec
            let digits = "\(value)"
            guard let exponent = digits.firstIndex(of: "e"), !digits[..<exponent].contains(".") else { return digits }
            return digits[..<exponent] + ".0" + digits[exponent...]
        case let .bool(value): return value ? "true" : "false"
        case let .array(items): return "[" + items.map(\.text).joined(separator: ",") + "]"
        case let .object(members): return "{" + members.map { Self.quoted($0.0) + ":" + $0.1.text }.joined(separator: ",") + "}"
        }
    }

    static func quoted(_ value: String) -> String { jsonStringLiteral(value) }
}
