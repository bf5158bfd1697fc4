// `report`: query, compare, plot and inspect past runs. Parses and validates arguments, opens the
// database read-only and hands over to Reporting; errors become one line and an exit status.
import ArgumentParser
import CLISupport
import Dashboard
import Experiments
import Foundation
import Reporting
import Store

@main
struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Query, compare, plot and inspect the runs in a Slope database.",
        discussion: """
            Reads the database given by --db (a file or a postgresql:// URL; else
            $SLOPE_DB, else ./slope.db) without ever writing or migrating it, so it
            is safe while a sweep is running.
            Exit status: 0 success, 1 runtime error, 2 usage error (bad arguments
            or expression), 130 interrupted (Ctrl-C), 143 terminated (SIGTERM);
            `report serve` stopped by either ends with 0.
            """,
        version: SlopeVersion.current,
        subcommands: [Sweeps.self, Runs.self, Show.self, Compare.self, Grid.self, Best.self, Importance.self, Layers.self, Tensors.self,
                      Explain.self, Curves.self, HTML.self, Export.self, Evaluate.self, Serve.self]
    )

    /// Parse errors and `validate()` failures exit with 2 (not ArgumentParser's 64), runtime errors
    /// with 1; bad expressions and arguments found while running also exit with 2. Never a stack trace.
    static func main() {
        StandardStream.errorPrefix = "report: error: "
        MallocArenas.fitToLimits()  // before any thread: under `ulimit -v` threads must still start
        // A reader that went away (`report runs | head`) shows as a failed write, which ends the
        // command quietly (StandardStream), on either store and wherever the write happens.
        signal(SIGPIPE, SIG_IGN)
        let arguments = Array(CommandLine.arguments.dropFirst())
        let names: [String] = configuration.subcommands.map { command in command._commandName }
        if let unknown = UsageMessages.unknownCommand(arguments, tool: "report", commands: names) { fail(unknown, status: 2) }
        var command: ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                Output.write(fullMessage(for: error) + "\n")
                Foundation.exit(0)
            }
            // `report --db x.db grid`: options belong to the command, after its name.
            if let misplaced = UsageMessages.misplacedOption(message(for: error), arguments: arguments, tool: "report", commands: names) {
                fail(misplaced, status: 2)
            }
            fail(usageMessage(message(for: error), arguments: arguments), status: 2)
        }
        CommandHint.databaseArgument = (command as? any ReadsDatabase)?.databaseArgument ?? ""
        do {
            try command.run()
            Output.end(status: 0)  // or a signal's end, when it began first (`Output.stopOnSignals`)
        } catch let error as ReportError {
            fail(error.description, status: error.isUsageError ? 2 : 1)
        } catch let error as StoreError {
            if error.isUsageError { fail(error.description, status: 2) }  // found on connecting (sslrootcert): bad input
            if case .interrupted = error { fail(error.description, status: 128 + (Output.stop.signal ?? SIGINT)) }
            // report only reads: a new file name, which runner would take, is no way out here.
            if case let .notASlopeDatabase(path, reason) = error {
                fail("\(path) is not a Slope database (\(reason)). Give the path of a database written by Slope.", status: 1)
            }
            fail(error.description, status: 1)
        } catch let error as ExperimentsError {
            fail(error.description, status: error.isUsageError ? 2 : 1)
        } catch let error as DashboardError {
            if case .badParameter = error { fail(error.description, status: 2) }  // --host: no address of this machine
            fail(error.description, status: 1)
        } catch {
            // --help and --version arrive here as ArgumentParser errors that mean success.
            switch exitCode(for: error) {
            case .success:
                Output.write(fullMessage(for: error) + "\n")
                Foundation.exit(0)
            case .validationFailure: fail(message(for: error), status: 2)
            default: fail(message(for: error).isEmpty ? "\(error)" : message(for: error), status: 1)
            }
        }
    }

    /// ArgumentParser's message, reworded where it is vague: a value an option's `transform:`
    /// refused is that refusal alone (`Accepted`); a negative run id (`report show -1`, which it
    /// takes for an option) gets the refusal of a run id; its own parse errors in the house style
    /// (`UsageMessages.parseError`).
    static func usageMessage(_ message: String, arguments: [String]) -> String {
        if let refusal = UsageMessages.refusal(in: message) ?? UsageMessages.choiceRefusal(in: message) { return refusal }
        // `report export --run 10`: runs are chosen with --where (ArgumentParser would suggest --out).
        if message.hasPrefix("Unknown option '--run'"), let command = arguments.first, ["export", "runs"].contains(command) {
            let given = arguments.drop { $0 != "--run" }.dropFirst().first.flatMap { Int64($0) }.map(String.init) ?? "N"
            return "report \(command) takes no --run: choose runs with --where \"id = \(given)\""
        }
        if message.hasPrefix("Missing expected argument '<run>'") || message.hasPrefix("Unknown option '-"),
           let negative = arguments.first(where: { $0.range(of: #"^-[0-9]+$"#, options: .regularExpression) != nil }) {
            return Accepted.run.refusal(of: negative)
        }
        let command = arguments.first.flatMap { name in configuration.subcommands.contains { $0._commandName == name } ? name : nil }
        let commands = configuration.subcommands.map { subcommand in (name: subcommand._commandName, help: { subcommand.helpMessage(columns: 200) }) }
        return UsageMessages.parseError(message, tool: "report", command: command, commands: commands) ?? message
    }

    static func fail(_ message: String, status: Int32) -> Never {
        let line = message.split(separator: "\n").joined(separator: " ")
        Output.end(status: status) { StandardStream.error.write("report: error: \(line)\n") }
    }
}
