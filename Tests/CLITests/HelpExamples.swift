// The examples in the commands' --help texts: each on a line of its own, indented, whole at 80
// columns (so that a copied line runs what it says), and each one a command that parses.
import ArgumentParser
import XCTest

enum HelpExamples {
    /// The examples of `command`'s discussion: its lines indented by two spaces that start with
    /// `tool`, without a trailing `# comment`.
    static func examples(of command: ParsableCommand.Type, tool: String) -> [String] {
        command.configuration.discussion.split(separator: "\n").map(String.init).filter { $0.hasPrefix("  \(tool) ") }
    }

    /// A line's words as a shell splits them (single and double quotes; `#` starts a comment).
    static func words(_ line: String) -> [String] {
        var words: [String] = [], word = "", inWord = false, quote: Character?
        for character in line {
            if let open = quote {
                if character == open { quote = nil } else { word.append(character) }
            } else if character == "'" || character == "\"" {
                quote = character
                inWord = true
            } else if character == " " {
                if inWord { words.append(word) }
                word = ""
                inWord = false
            } else if character == "#" && !inWord {
                break
            } else {
                word.append(character)
                inWord = true
            }
        }
        if inWord { words.append(word) }
        return words
    }

    /// Checks every subcommand of `root`: no example run into its text (`Example: report ...`),
    /// every example a whole line of the help at 80 columns and parsed by `root`. Returns the
    /// subcommands' names with their examples.
    @discardableResult
    static func check(_ root: ParsableCommand.Type, tool: String, file: StaticString = #filePath, line: UInt = #line) -> [String: [String]] {
        var found: [String: [String]] = [:]
        for command in root.configuration.subcommands {
            let name = command._commandName
            let discussion = command.configuration.discussion
            XCTAssertNil(discussion.range(of: #"Examples?: *\S"#, options: .regularExpression),
                         "\(tool) \(name): an example must start a line of its own: \(discussion)", file: file, line: line)
            // The overview and discussion, above the usage line (which ArgumentParser never wraps).
            let help = Array(root.helpMessage(for: command, columns: 80).split(separator: "\n").map(String.init).prefix { !$0.hasPrefix("USAGE:") })
            XCTAssertTrue(help.allSatisfy { $0.count <= 80 }, "\(tool) \(name) --help is wider than 80 columns", file: file, line: line)
            let examples = examples(of: command, tool: tool)
            found[name] = examples
            for example in examples {
                XCTAssertTrue(help.contains(example), "\(tool) \(name) --help at 80 columns breaks '\(example)'", file: file, line: line)
                let arguments = Array(words(example).dropFirst())
                XCTAssertEqual(arguments.first, name, example, file: file, line: line)
                XCTAssertNoThrow(try root.parseAsRoot(arguments), "\(tool) \(name): '\(example)' does not parse", file: file, line: line)
            }
        }
        return found
    }
}
