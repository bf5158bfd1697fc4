// `runner`: train one run or a sweep into the Slope database, work off queued runs,
// resume interrupted ones. Parsing and validation here; the logic is in Experiments.
import ArgumentParser
import CLISupport
import Experiments
import Foundation
import Reporting
import Store

@main
struct Runner: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runner",
        abstract: "Train neural networks and hyperparameter sweeps into a Slope database.",
        discussion: """
            Every epoch's losses, weights and gradients go into the database: an SQLite file \
            (--db PATH, or $SLOPE_DB, or ./slope.db) or a PostgreSQL server shared by many \
            machines (--db postgresql://USER@HOST/DB, docs/distributed.md). Look at the results \
            with `report`.
            Exit status: 0 success, 1 runtime error, 2 bad input, 130 interrupted (Ctrl-C), \
            143 terminated (SIGTERM).
            """,
        version: SlopeVersion.current,
        subcommands: [Train.self, Sweep.self, Work.self, Resume.self, Compact.self, Datasets.self]
    )

    /// Parse errors and `validate()` failures exit with 2 (not ArgumentParser's 64), runtime errors
    /// with 1 (2 for bad input found while running), and never print a stack trace.
    static func main() {
        // A reader of standard output that went away shows as a failed write (StandardStream):
        // commands that train go on without their output (closedOutputNotice), the others end quietly.
        MallocArenas.fitToLimits()  // before any thread: under `ulimit -v` threads must still start
        signal(SIGPIPE, SIG_IGN)
        let names = configuration.subcommands.map { $0._commandName }
        if let unknown = UsageMessages.unknownCommand(Array(CommandLine.arguments.dropFirst()), tool: "runner", commands: names) {
            Console.writeError("error: " + unknown)
            Foundation.exit(2)
        }
        var command: ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            if exitCode(for: error) == .success {
                Console.say(fullMessage(for: error))
                Foundation.exit(0)
            }
            // One line, like every other error, with the way forward ("error: unknown option '--bogus':
            // `runner train --help` lists its options"); --help has the usage.
            let text = message(for: error)
            // `runner --db x.db train`: options belong to the command, after its name (as report says).
            if let misplaced = UsageMessages.misplacedOption(text, arguments: Array(CommandLine.arguments.dropFirst()), tool: "runner", commands: names) {
                Console.writeError("error: " + misplaced)
                Foundation.exit(2)
            }
            let command = CommandLine.arguments.dropFirst().first.flatMap { names.contains($0) ? $0 : nil }
            let commands = configuration.subcommands.map { subcommand in (name: subcommand._commandName, help: { subcommand.helpMessage(columns: 200) }) }
            let line = UsageMessages.refusal(in: text) ?? UsageMessages.choiceRefusal(in: text)
                ?? UsageMessages.parseError(text, tool: "runner", command: command, commands: commands) ?? text
            Console.writeError("error: " + line.split(separator: "\n").joined(separator: " "))
            Foundation.exit(2)
        }
        CommandHint.databaseArgument = (command as? UsesDatabase)?.global.databaseArgument ?? ""
        // Commands that train: their output, not their training, ends with the reader (from the first line on).
        if command is Train || command is Sweep || command is Work || command is Resume {
            StandardStream.closedOutputNotice = Console.closedOutputNotice
        }
        do {
            try command.run()
        } catch {
            Foundation.exit(Console.exitStatus(for: error))
        }
    }
}
