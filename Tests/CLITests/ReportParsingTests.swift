// `report` argument parsing in process: options land where they should, and validate() rejects
// bad expressions, columns and combinations before anything opens the database.
import ArgumentParser
import XCTest
@testable import Report
@testable import Reporting

final class ReportParsingTests: XCTestCase {
    private func parse<Command: ParsableCommand>(_ arguments: [String], as type: Command.Type,
                                                 file: StaticString = #filePath, line: UInt = #line) throws -> Command {
        let command = try Report.parseAsRoot(arguments)
        return try XCTUnwrap(command as? Command, "parsed as \(Swift.type(of: command))", file: file, line: line)
    }

    private func assertRejected(_ arguments: [String], mentions fragment: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try Report.parseAsRoot(arguments), file: file, line: line) { error in
            XCTAssertTrue(Report.message(for: error).contains(fragment), "'\(Report.message(for: error))' lacks '\(fragment)'",
                          file: file, line: line)
            XCTAssertEqual(Report.exitCode(for: error), .validationFailure, file: file, line: line)
        }
    }

    /// Each example in `report <command> --help` is a line of its own at 80 columns, and parses.
    func testHelpExamplesAreWholeLinesThatParse() {
        let examples = HelpExamples.check(Report.self, tool: "report")
        for command in ["runs", "compare", "grid", "importance", "explain", "export", "evaluate", "serve"] {
            XCTAssertFalse(examples[command, default: []].isEmpty, "report \(command) --help has an example")
        }
    }

    func testOptionsAreParsed() throws {
        let runs = try parse(["runs", "--db", "x.db", "--sweep", "3", "--where", "seed = 1", "--sort", "-best_val_loss",
                              "--limit", "5", "--format", "json"], as: Runs.self)
        XCTAssertEqual(runs.database.databaseLocation, "x.db")
        XCTAssertEqual(runs.sweep, 3)
        XCTAssertEqual(runs.filter, "seed = 1")
        XCTAssertEqual(runs.sort, "-best_val_loss")
        XCTAssertEqual(runs.limit, 5)
        XCTAssertEqual(runs.output.format, .json)

        let explain = try parse(["explain", "4", "--epoch", "2", "--layer", "1", "--weight", "3,0", "--row", "7"], as: Explain.self)
        XCTAssertEqual([explain.runID, Int64(explain.epoch ?? -1), Int64(explain.layer), Int64(explain.weight.from),
                        Int64(explain.weight.to), Int64(explain.row ?? -1)], [4, 2, 1, 3, 0, 7])

        let curves = try parse(["curves", "1", "2", "--metric", "val_accuracy", "--log-y", "--out", "c.svg"], as: Curves.self)
        XCTAssertEqual(curves.runs, [1, 2])
        XCTAssertEqual(curves.metric, .val_accuracy)
        XCTAssertTrue(curves.logY)

        let grid = try parse(["grid", "--sweep", "1"], as: Grid.self)
        XCTAssertEqual([grid.rows, grid.cols], [nil, nil], "the sweep's varied settings, chosen when the runs are read")
        let gridAxes = try parse(["grid", "--sweep", "1", "--rows", "weight_decay", "--cols", "hidden"], as: Grid.self)
        XCTAssertEqual([gridAxes.rows, gridAxes.cols], ["weight_decay", "hidden"])
        XCTAssertNil(grid.ranking.metric)

        let tensors = try parse(["tensors", "9", "--kind", "weight_grad", "--format", "npy"], as: Tensors.self)
        XCTAssertEqual(tensors.format, .npy)
        XCTAssertEqual(try parse(["export", "--what", "epochs", "--format", "json"], as: Export.self).what, .epochs)
    }

    func testValidationRejectsBadInputBeforeRunning() {
        assertRejected(["runs", "--where", "rate < 1"], mentions: "unknown column 'rate'")
        assertRejected(["runs", "--where", "seed = 1; DROP TABLE runs"], mentions: "unexpected character ';'")
        assertRejected(["runs", "--sort", "-nope"], mentions: "unknown column 'nope'")
        assertRejected(["runs", "--limit", "0"], mentions: "--limit: '0' is not accepted; expected a whole number from 1 up")
        assertRejected(["grid", "--sweep", "1", "--cols", "bs"], mentions: "unknown column 'bs'")
        assertRejected(["compare"], mentions: "give run ids or --sweep ID")
        assertRejected(["compare", "1", "--sweep", "2"], mentions: "give run ids or --sweep ID")
        assertRejected(["curves", "--sweep", "1", "--out", "x.png"], mentions: "--out must end in .svg or .html")
        assertRejected(["explain", "1", "--layer", "0", "--weight", "0,0"], mentions: "--layer: '0' is not accepted; expected a whole number from 1 up")
        assertRejected(["explain", "1", "--layer", "1", "--weight", "0"], mentions: "--weight")
        assertRejected(["runs", "--db", ""], mentions: "--db: give a file path")
        assertRejected(["runs", "--format", "xml"], mentions: "--format")
    }

    /// --help says what the docs say: evaluate takes table or json, and `-` is standard output for --out/--predictions.
    func testHelpNamesStandardOutputAndEvaluatesFormats() {
        let evaluate = Evaluate.helpMessage(columns: 200)
        XCTAssertTrue(evaluate.contains("--format: table or json (the CSV is\nwritten with --predictions)."), evaluate)
        XCTAssertTrue(evaluate.contains("to this CSV file (- for standard output)"), evaluate)
        XCTAssertTrue(HTML.helpMessage(columns: 200).contains("The HTML file to write (- for standard output)"))
        XCTAssertTrue(Tensors.helpMessage(columns: 200).contains("instead of standard output (- is standard output)"))
        // The choices listed are the ones it takes (csv is refused, with where the CSV goes).
        XCTAssertTrue(evaluate.contains("--format <format>       Output format. (values: table, json; default: table)"), evaluate)
        XCTAssertTrue(try Evaluate.parse(["1", "--data", "x.csv", "--format", "json"]).format.format == .json)
    }

    /// The exit statuses --help lists: export exits 130 and 143 on Ctrl-C and SIGTERM; serve, a
    /// server, stops cleanly on either (newuser16 N7).
    func testHelpListsEveryExitStatus() {
        XCTAssertTrue(Report.configuration.discussion.contains("Exit status: 0 success, 1 runtime error, 2 usage error (bad arguments\n"
                                                               + "or expression), 130 interrupted (Ctrl-C), 143 terminated (SIGTERM);\n"
                                                               + "`report serve` stopped by either ends with 0."),
                      Report.configuration.discussion)
    }

    /// serve's help names every change to the SQLite file that the dashboard notices (CurrentDatabase,
    /// `fileChange()`, tested in DashboardServerTests): a `cp` over it in place too, not only a
    /// file deleted or moved over it.
    func testServeHelpSaysAFileCopiedOverInPlaceIsOpenedAgain() {
        let help = Serve.helpMessage(columns: 80).split(whereSeparator: \.isWhitespace).joined(separator: " ")
        XCTAssertTrue(help.contains("A database file deleted, replaced or copied over in place (`cp new.db served.db`) while it serves "
                                    + "is opened again at its path (until then, requests get a 503 saying so)."), help)
    }

    /// export, html and serve refuse --columns, so their help does not offer it; the other commands' does.
    func testHelpListsColumnsOnlyWhereItIsTaken() {
        for command: ParsableCommand.Type in [Export.self, HTML.self, Serve.self] {
            XCTAssertFalse(command.helpMessage(columns: 200).contains("--columns"), "\(command)")
            XCTAssertTrue(command.helpMessage(columns: 200).contains("--db <path-or-url>"), "\(command)")
        }
        for command: ParsableCommand.Type in [Runs.self, Grid.self, Evaluate.self] {
            XCTAssertTrue(command.helpMessage(columns: 200).contains("--columns <n>"), "\(command)")
        }
    }

    /// The help of an option that takes a number says what it takes in the words of its refusal.
    func testHelpSaysWhatTheNumericOptionsTake() {
        let expected: [(command: ParsableCommand.Type, text: String)] = [
            (Serve.self, "The port to listen on: a whole number from 0 to 65535 (0: any free port). Default: 8080."),
            (Explain.self, "The layer of the weight: a whole number from 1 up (1 = the first weight matrix)."),
            (Explain.self, "A training row, a whole number from 0 up (the data's rows in their order, without the validation rows); without it"),
            (Tensors.self, "Only this layer: a whole number from 1 up (1 = the first weight matrix)."),
            (Runs.self, "Fit tables and plots to this many characters, a whole number from 20 up (default:"),
        ]
        for (command, text) in expected {
            let help = command.helpMessage(columns: 1000)
            XCTAssertTrue(help.contains(text), "\(command): \(help)")
        }
    }
}
