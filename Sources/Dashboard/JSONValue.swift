// The dashboard's JSON: a small value tree and its serialisation. Every string is escaped,
// including <, >, & and ' (so a response can never be read as markup), and non-finite numbers
// (a diverged run's loss) become null, since JSON has no NaN or infinity.
import Store

enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    /// Keys in the order given (responses read in a stable order).
    case object([(String, JSONValue)])

    static func == (a: JSONValue, b: JSONValue) -> Bool { a.serialized() == b.serialized() }

    init(_ value: RunValue) {
        switch value {
        case .integer(let v): self = .integer(v)
        case .real(let v): self = .number(v)
        case .text(let v): self = .string(v)
        case .null: self = .null
        }
    }

    init(_ value: Double?) { self = value.map(JSONValue.number) ?? .null }
    init(_ value: Int?) { self = value.map { .integer(Int64($0)) } ?? .null }
    init(_ value: String?) { self = value.map(JSONValue.string) ?? .null }

    func serialized() -> String {
        var out = ""
        write(to: &out)
        return out
    }

    func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let value): out += value ? "true" : "false"
        case .integer(let value): out += String(value)
        case .number(let value):
            guard value.isFinite else { out += "null"; return }
            // Whole numbers print without ".0"; others in Swift's shortest round-trip form.
            if value == value.rounded(), abs(value) < 1e15 { out += String(Int64(value)) } else { out += "\(value)" }
        case .string(let value): Self.writeString(value, to: &out)
        case .array(let values):
            out += "["
            for (index, value) in values.enumerated() {
                if index > 0 { out += "," }
                value.write(to: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (index, (key, value)) in members.enumerated() {
                if index > 0 { out += "," }
                Self.writeString(key, to: &out)
                out += ":"
                value.write(to: &out)
            }
            out += "}"
        }
    }

    /// Store's JSON string literal, with <, >, & and ' escaped as well.
    static func writeString(_ text: String, to out: inout String) {
        let literal = jsonStringLiteral(text)
        guard literal.contains(where: { "<>&'".contains($0) }) else { out += literal; return }
        for character in literal {
            switch character {
            case "<": out += "\\u003c"
            case ">": out += "\\u003e"
            case "&": out += "\\u0026"
            case "'": out += "\\u0027"
            default: out.append(character)
            }
        }
    }
}
