// How both executables word the usage errors ArgumentParser leaves vague: a value that does not
// parse ("The value 'abc' is invalid for '--jobs <n>'") says what the option takes, as a bad
// setting does, and a word that is no command says so, with the nearest command's name.
import Foundation

public enum UsageMessages {
    /// ArgumentParser's message for a value that did not parse, reworded with what the option (or
    /// the argument `<name>`) takes: "--jobs: 'abc' is not accepted; expected a whole number from
    /// 1 to 256". `expectations` maps an option name ("--epochs") or an argument ("<run>") to what
    /// it takes; nil when `message` is another error or its option is not in `expectations`.
    public static func invalidValue(_ message: String, expectations: [String: String]) -> String? {
        let pattern = #"^The value '(.*)' is invalid for '(--[A-Za-z0-9-]+ )?<([^>]*)>'"#
        guard let match = message.range(of: pattern, options: .regularExpression) else { return nil }
        let matched = String(message[match])
        // The value may hold quotes: it is whatever lies between the first "'" and the last "' is invalid for '".
        guard let valueStart = matched.range(of: "'"), let valueEnd = matched.range(of: "' is invalid for '", options: .backwards) else { return nil }
        let value = String(matched[valueStart.upperBound..<valueEnd.lowerBound])
        let target = String(matched[valueEnd.upperBound...].dropLast())  // "--epochs <n>" or "<run>"
        let option = target.hasPrefix("--") ? String(target.prefix { $0 != " " }) : target
        guard let expected = expectations[option] else { return nil }
        return notAccepted(value, by: option, expected: expected)
    }

    /// "--epochs: '1.5' is not accepted; expected ...", as Experiments words a bad setting; for an
    /// argument of ids (`<run>`), "the run id '-1' is not accepted; expected ...".
    public static func notAccepted(_ value: String, by option: String, expected: String) -> String {
        let shown = CSVTable.shown(value)
        guard option.hasPrefix("<") else { return "\(option): '\(shown)' is not accepted; expected \(expected)" }
        let name = option.dropFirst().dropLast()
        return "the \(name)\(name.hasSuffix("id") ? "" : " id") '\(shown)' is not accepted; expected \(expected)"
    }

    /// For a first argument that is no command (`report inspect 1`, `runner trian`): "unknown
    /// command 'inspect': `report --help` lists the commands", with " (did you mean 'train'?)"
    /// when one is near. Nil when `arguments` starts with a command, `help`, or an option.
    public static func unknownCommand(_ arguments: [String], tool: String, commands: [String]) -> String? {
        guard let first = arguments.first, !first.hasPrefix("-"), first != "help", !commands.contains(first) else { return nil }
        let suggestion = NameSuggestion.closest(to: first, among: commands).map { " (did you mean '\($0)'?)" } ?? ""
        return "unknown command '\(CSVTable.shown(first))': `\(tool) --help` lists the commands\(suggestion)"
    }
}
