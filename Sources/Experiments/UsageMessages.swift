// How both executables word the usage errors ArgumentParser leaves vague: each option that takes
// a number says once what it takes (`AcceptedValues`, its `transform:`), and a value that is no
// number or out of range gets that one message; a word that is no command says so, with the
// nearest command's name.
import Foundation
import Store

/// What an option or argument of the executables takes, said once: its `parse` is the option's
/// `transform:`, which refuses a value that does not parse and one out of range with the same
/// one-line message ("--jobs: 'abc' is not accepted; expected a whole number from 1 to 256"),
/// worded as a bad setting is. The executables strip ArgumentParser's own prefix from it
/// (`UsageMessages.refusal(in:)`).
public struct AcceptedValues<Value>: Sendable {
    /// The option ("--jobs"), or the argument in angle brackets ("<run>").
    public let name: String
    /// What it takes: "a whole number from 1 to 256".
    public let expected: String
    private let read: @Sendable (String) -> Value?
    /// What it takes, said for a text it refuses (`expected` unless a wording for that text is
    /// clearer: the largest number for a whole number beyond "from 1 up").
    private let expectedFor: @Sendable (String) -> String?

    /// `read` returns the value of a text it accepts, nil for any other.
    public init(_ name: String, expected: String, expectedFor: @escaping @Sendable (String) -> String? = { _ in nil },
                read: @escaping @Sendable (String) -> Value?) {
        self.name = name
        self.expected = expected
        self.expectedFor = expectedFor
        self.read = read
    }

    /// The value `text` stands for; `.valueNotAccepted` (the message above) when it stands for none.
    public func parse(_ text: String) throws -> Value {
        guard let value = read(text) else {
            let refusal = ExperimentsError.valueNotAccepted(option: name, value: text, expected: expectedFor(text) ?? expected)
            UsageMessages.lastRefusal.update { $0 = refusal.description }
            throw refusal
        }
        return value
    }

    /// The message for `text` when ArgumentParser does not get as far as `parse` (it takes
    /// `report show -1` for an option).
    public func refusal(of text: String) -> String {
        ExperimentsError.valueNotAccepted(option: name, value: text, expected: expected).description
    }
}

extension AcceptedValues where Value: FixedWidthInteger & Sendable {
    /// The whole numbers in `range` (written as digits, with an optional sign): "a whole number
    /// from 1 to 256" ("from 1 up" when the range has no upper end), after `thing` ("a sweep id, ")
    /// and before `note` in parentheses.
    public static func wholeNumber(_ name: String, _ range: ClosedRange<Value>, thing: String? = nil, note: String? = nil) -> Self {
        func expected(_ bounds: String) -> String { (thing.map { "\($0), " } ?? "") + "a whole number \(bounds)" + (note.map { " (\($0))" } ?? "") }
        let full = "from \(range.lowerBound) to \(range.upperBound)", largest = expected(full)
        // A whole number beyond "up" (99999999999999999999): the largest is said.
        let beyond: @Sendable (String) -> String? = { text in
            let digits = text.hasPrefix("+") ? text.dropFirst() : Substring(text)
            return range.upperBound == .max && !digits.isEmpty && digits.allSatisfy(\.isASCII) && digits.allSatisfy(\.isNumber) && Value(text) == nil
                ? largest : nil
        }
        return Self(name, expected: expected(range.upperBound == .max ? "from \(range.lowerBound) up" : full), expectedFor: beyond) { text in
            Value(text).flatMap { range.contains($0) ? $0 : nil }
        }
    }

    /// A sweep id: `--sweep` of both executables.
    public static func sweepID(_ name: String) -> Self {
        wholeNumber(name, 1 ... .max, thing: "a sweep id", note: "`report sweeps` lists the sweeps")
    }

    /// A run id: `runner resume --run`, and the `<run>` arguments of `report` (whose message
    /// already says "the run id").
    public static func runID(_ name: String) -> Self {
        wholeNumber(name, 1 ... .max, thing: name.hasPrefix("<") ? nil : "a run id", note: "`report runs` lists the runs")
    }
}

extension AcceptedValues where Value == Double {
    /// The numbers in `range` (a finite range: NaN and the infinities are refused), written in
    /// decimal as the settings' are ("0.1", "1e9"; not "0x10", which `Double` reads as 16);
    /// `expected` says what they are. A number that a Double rounds to 0 (`1e-400`) is refused,
    /// saying so, as `--where` refuses it: it would quietly be 0.
    public static func number(_ name: String, _ range: ClosedRange<Double>, expected: String) -> Self {
        Self(name, expected: expected, expectedFor: { text in
            DecimalNumber.roundsToZero(text) ? expected + " ('\(shownText(text))' rounds to 0 as a 64-bit float)" : nil
        }) { text in
            DecimalNumber.roundsToZero(text) ? nil : SettingValue.decimalNumber(text).flatMap { range.contains($0) ? $0 : nil }
        }
    }
}

public enum UsageMessages {
    /// The refusal the last failed `AcceptedValues.parse` made (parsing runs on one thread; the
    /// lock is for the compiler).
    static let lastRefusal = Locked<String?>(nil)

    /// ArgumentParser's message for a value an `AcceptedValues` refused ("The value 'abc' is
    /// invalid for '--jobs <n>': --jobs: 'abc' is not accepted; expected ...") without
    /// ArgumentParser's prefix, which says it again less clearly; nil for any other message.
    public static func refusal(in message: String) -> String? {
        guard let refusal = lastRefusal.value, message.hasPrefix("The value '"), message.hasSuffix("': " + refusal) else { return nil }
        return refusal
    }

    /// ArgumentParser's message for a word an option of choices does not take ("The value 'minimize'
    /// is invalid for '--goal <goal>'. Please provide one of 'min' and 'max'.", or its choices as a
    /// bulleted list when there are six or more) in the house wording: "--goal: 'minimize' is not
    /// accepted; expected min or max". Nil for any other message.
    public static func choiceRefusal(in message: String) -> String? {
        let start = "The value '", middle = "' is invalid for '", choices = "'. Please provide one of "
        guard message.hasPrefix(start), let valueEnd = message.range(of: middle),
              let listStart = message.range(of: choices, range: valueEnd.upperBound..<message.endIndex) else { return nil }
        let value = String(message[message.index(message.startIndex, offsetBy: start.count)..<valueEnd.lowerBound])
        // "--goal <goal>": the option's name; an argument ("<metric>") is left as ArgumentParser says it.
        guard let option = message[valueEnd.upperBound..<listStart.lowerBound].split(separator: " ").first,
              option.hasPrefix("-") else { return nil }
        let list = message[listStart.upperBound...]
        let words: [String]
        if list.hasPrefix("the following:") {
            words = list.split(separator: "\n").dropFirst().map { String($0.trimmingCharacters(in: .whitespaces).dropFirst(2)) }
        } else {
            // 'a', 'b' or 'c'.  /  'min' and 'max'.
            words = list.split(separator: "'").enumerated().filter { $0.offset % 2 == 0 }.map { String($0.element) }
        }
        guard !words.isEmpty else { return nil }
        let expected = words.count == 1 ? words[0] : words.dropLast().joined(separator: ", ") + " or " + words.last!
        return ExperimentsError.valueNotAccepted(option: String(option), value: value, expected: expected).description
    }

    /// ArgumentParser's own parse errors ("Unknown option '--bogus'", "Missing value for '--limit <n>'",
    /// "Missing expected argument '--sweep <id>'", "Unexpected argument 'x'") in the house style: one
    /// line, lower case, and the way forward, "unknown option '--bogus': `report runs --help` lists
    /// its options", with ArgumentParser's suggestion as `unknownCommand` gives one ("(did you mean
    /// '--nesterov'?)"). An option that another command of the tool takes (`runner train
    /// --queue-only`) says which does. `command` is the command given (nil: none); `commands` the
    /// tool's commands with their `--help` text (read only for an unknown option). Nil for any other message.
    public static func parseError(_ message: String, tool: String, command: String?,
                                  commands: [(name: String, help: () -> String)] = []) -> String? {
        let kinds = ["Unknown option '", "Missing value for '", "Missing expected argument '", "Missing one of: '", "Unexpected argument '"]
        guard kinds.contains(where: message.hasPrefix) || message.range(of: #"^[0-9]+ unexpected arguments: '"#, options: .regularExpression) != nil
        else { return nil }
        var text = message.split(separator: "\n").joined(separator: " ")
        var suggestion = ""
        if let range = text.range(of: ". Did you mean ") {
            suggestion = " (did you mean " + text[range.upperBound...].trimmingCharacters(in: .whitespaces) + ")"
            text = String(text[..<range.lowerBound])
        }
        text = text.prefix(1).lowercased() + text.dropFirst()
        let scope = command.map { "\(tool) \($0)" } ?? tool
        let help = command == nil ? "`\(tool) --help` lists the commands" : "`\(scope) --help` lists its options"
        if message.hasPrefix("Unknown option '"), let command, let option = message.dropFirst("Unknown option '".count).split(separator: "'").first {
            let takers = commands.filter { $0.name != command && options(inHelp: $0.help()).contains(String(option)) }.map { "`\(tool) \($0.name)`" }
            if !takers.isEmpty {
                return "\(text): `\(scope)` takes no \(option); \(takers.joined(separator: " and ")) \(takers.count == 1 ? "does" : "do") (\(help))"
            }
            // Ours, not ArgumentParser's edit distance alone: `--lr` means --learning-rate, not --db.
            if let own = commands.first(where: { $0.name == command }),
               let meant = NameSuggestion.closest(to: String(option), among: optionList(inHelp: own.help()).filter { $0.hasPrefix("--") }) {
                suggestion = " (did you mean '\(meant)'?)"
            }
        }
        return "\(text): \(help)\(suggestion)"
    }

    /// For an option given before the command (`report --db x.db grid`, `runner --db x.db train`),
    /// which the tool itself does not take: ArgumentParser's `message` in the house style, with where
    /// the option goes: "unknown option '--db' (options go after the command: report grid --db ...)".
    /// Nil when the first argument is no option (or is --help or --version), or no command follows.
    public static func misplacedOption(_ message: String, arguments: [String], tool: String, commands: [String]) -> String? {
        guard let first = arguments.first, first.hasPrefix("--"), first != "--help", first != "--version",
              let command = arguments.dropFirst().first(where: commands.contains) else { return nil }
        let option = first.split(separator: "=").first.map(String.init) ?? first
        let text = message.split(separator: "\n").joined(separator: " ")
        return text.prefix(1).lowercased() + text.dropFirst() + " (options go after the command: \(tool) \(command) \(option) ...)"
    }

    /// The options a command's `--help` lists: the names at the start of its option lines
    /// ("  -h, --help   Show help information." gives -h and --help).
    static func options(inHelp help: String) -> Set<String> { Set(optionList(inHelp: help)) }

    /// The same, in the order the help lists them.
    static func optionList(inHelp help: String) -> [String] {
        var names: [String] = []
        for line in help.split(separator: "\n") {
            let trimmed = line.drop { $0 == " " }
            guard trimmed.hasPrefix("-"), let head = trimmed.components(separatedBy: "  ").first else { continue }
            for word in head.split(whereSeparator: { $0 == " " || $0 == "," }) where word.hasPrefix("-") && !names.contains(String(word)) {
                names.append(String(word))
            }
        }
        return names
    }

    /// For a first argument that is no command (`report inspect 1`, `runner trian`): "unknown
    /// command 'inspect': `report --help` lists the commands", with " (did you mean 'train'?)"
    /// when one is near. Nil when `arguments` starts with a command, `help`, or an option.
    /// Also `help NAME` for a NAME that is no command, which ArgumentParser answers with the general
    /// help and exit 0.
    public static func unknownCommand(_ arguments: [String], tool: String, commands: [String]) -> String? {
        if arguments.count >= 2, arguments[0] == "help", !arguments[1].hasPrefix("-"), arguments[1] != "help" {
            return unknownCommand(Array(arguments.dropFirst()), tool: tool, commands: commands)
        }
        guard let first = arguments.first, !first.hasPrefix("-"), first != "help", !commands.contains(first) else { return nil }
        let suggestion = NameSuggestion.closest(to: first, among: commands).map { " (did you mean '\($0)'?)" } ?? ""
        return "unknown command '\(shownText(first))': `\(tool) --help` lists the commands\(suggestion)"
    }
}
