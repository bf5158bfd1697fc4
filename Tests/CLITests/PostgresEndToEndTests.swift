// One small sweep run through the built binaries on SQLite and on PostgreSQL: the same bits
// (tensors bit-identical, equal losses), every `report` command with the same output on both
// (timestamps, workers and locations masked), also as a role that may only read; and
// `report export --format sqlite` copying every row and column into a file sqlite3 reads.
import Foundation
@testable import Store
import TestSupport
import XCTest

final class PostgresEndToEndTests: XCTestCase {
    private var directory: TemporaryDirectory!
    private var server: ServerDatabase!

    override func setUpWithError() throws {
        directory = try TemporaryDirectory(prefix: "slope-pg-e2e")
        server = try PostgresServer.makeDatabase()
    }
    override func tearDown() {
        server?.drop()
        directory?.remove()
    }

    /// Runs a built tool in the test's folder (relative paths, the CSV file, are found there).
    private func run(_ tool: String, _ arguments: [String], environment: [String: String] = [:],
                     file: StaticString = #filePath, line: UInt = #line) throws -> ReportProcess.Result {
        let result = try ReportProcess.run(tool, arguments, environment: environment, currentDirectory: directory.url)
        XCTAssertEqual(result.status, 0, "\(tool) \(arguments.joined(separator: " ")): \(result.error)", file: file, line: line)
        return result
    }

    /// 48 rows, two features, two classes: a relative CSV path, looked for in the current folder
    /// (next to an SQLite database too; a server has no folder).
    private func writeData() throws {
        var text = "x1,x2,label\n"
        for row in 0..<48 {
            let x1 = Double(row % 7) / 7, x2 = Double(row % 5) / 5
            text += "\(x1),\(x2),\(x1 + x2 > 0.9 ? 1 : 0)\n"
        }
        try text.write(toFile: directory.path("data.csv"), atomically: true, encoding: .utf8)
    }

    private let sweep = ["sweep", "--dataset", "data.csv", "--hidden", "4", "--epochs", "3", "--learning-rate", "0.1,0.3",
                         "--batch-size", "4,16", "--validation", "0.25", "--optimizer", "sgd", "--momentum", "0.9", "--jobs", "2", "--quiet"]

    /// Every report command on sweep 1 (runs 1 to 4); files written by --out are read back into the output.
    private let reportCommands: [[String]] = [
        ["sweeps"], ["sweeps", "--format", "json"], ["runs"], ["runs", "--sweep", "1", "--format", "csv"], ["show", "1"], ["show", "2", "--format", "json"],
        ["best", "--sweep", "1"], ["best", "--sweep", "1", "--per-run"], ["grid", "--sweep", "1"], ["compare", "1", "2"], ["compare", "--sweep", "1"],
        ["importance", "--sweep", "1"], ["layers", "1"], ["tensors", "3"], ["tensors", "3", "--epoch", "1", "--format", "json"],
        ["explain", "2", "--layer", "1", "--weight", "0,1", "--row", "3"], ["explain", "2", "--layer", "2", "--weight", "1,0"],
        ["curves", "1", "2"], ["curves", "--sweep", "1", "--out", "curves.svg"], ["html", "--sweep", "1", "--out", "page.html"],
        ["export", "--sweep", "1"], ["export", "--what", "epochs", "--format", "json"], ["export", "--what", "tensors"],
        ["evaluate", "4", "--data", "data.csv"],
    ]

    /// Each report command's output (and --out file), with what differs between two databases by
    /// nature masked: timestamps, durations, the worker (pid@host), the database's name.
    private func reportOutputs(_ environment: [String: String], location: String) throws -> [String] {
        try reportCommands.map { command in
            let result = try run("report", command, environment: environment)
            var text = result.output
            if let out = command.firstIndex(of: "--out").map({ command[$0 + 1] }) {
                text += try String(contentsOfFile: directory.path(out), encoding: .utf8)
                try FileManager.default.removeItem(atPath: directory.path(out))
            }
            if command == ["show", "1"] {
                // Its per-epoch table ends with the epoch's seconds, whose width sets the column's
                // padding and the rule's length: mask the value, the padding before it and the rule.
                text = text.replacingOccurrences(of: #"(?m)^(\s+\d+\s.*?)\s+\S+$"#, with: "$1 <seconds>", options: .regularExpression)
                text = text.replacingOccurrences(of: #"─+"#, with: "─", options: .regularExpression)
                text = text.replacingOccurrences(of: #"(?m)\s+seconds$"#, with: " seconds", options: .regularExpression)
            }
            return Self.masked(text, location: location)
        }
    }

    static func masked(_ text: String, location: String) -> String {
        var text = text.replacingOccurrences(of: location, with: "<db>")
        let patterns = [
            (#"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z?"#, "<time>"),
            (#"\b\d+@[A-Za-z0-9._-]+"#, "<worker>"),
            (#"("seconds"\s*:\s*)[0-9.e+-]+"#, "$1<s>"),
            (#"\b\d+(\.\d+)?(e-?\d+)? ?(s|ms|µs)\b"#, "<duration>"),
        ]
        for (pattern, template) in patterns {
            text = text.replacingOccurrences(of: pattern, with: template, options: .regularExpression)
        }
        return text
    }

    /// Every row of a table, by column name, in primary-key order.
    private func rows(_ store: SlopeStore, _ table: String, orderBy: String) throws -> [[String: SQLValue]] {
        try store.read { connection in
            try connection.rows("SELECT * FROM \(table) ORDER BY \(orderBy)", []).map { row in
                Dictionary(uniqueKeysWithValues: zip(row.columns, row.values))
            }
        }
    }

    private static let tables = [("sweeps", "id"), ("runs", "id"), ("epochs", "run_id, epoch"), ("tensors", "run_id, epoch, layer, kind")]

    func testOneSweepOnSQLiteAndPostgreSQLGivesTheSameBitsAndTheSameReports() throws {
        try writeData()
        let password = try PostgresServer.adminPassword()
        _ = try run("runner", sweep + ["--db", "local.db"])
        _ = try run("runner", sweep + ["--db", server.url])

        // The same bits: tensors (every column but none of the run's bookkeeping) and losses.
        let local = try SlopeStore(path: directory.path("local.db"), mode: .readOnly)
        let remote = try SlopeStore(location: server.url, mode: .readOnly)
        defer { try? local.close(); try? remote.close() }
        let localTensors = try rows(local, "tensors", orderBy: "run_id, epoch, layer, kind")
        XCTAssertEqual(Set(localTensors.map { $0["epoch"] }), [.integer(0), .integer(1), .integer(2), .integer(3)])
        XCTAssertEqual(Set(localTensors.map { $0["kind"] }), Set(["weight", "bias", "weight_grad", "bias_grad", "weight_velocity", "bias_velocity"].map(SQLValue.text)))
        XCTAssertEqual(try rows(remote, "tensors", orderBy: "run_id, epoch, layer, kind"), localTensors)
        let losses = ["run_id", "epoch", "train_loss", "val_loss", "train_accuracy", "val_accuracy"]
        let localEpochs = try rows(local, "epochs", orderBy: "run_id, epoch").map { $0.filter { losses.contains($0.key) } }
        XCTAssertEqual(localEpochs.count, 16)
        XCTAssertEqual(try rows(remote, "epochs", orderBy: "run_id, epoch").map { $0.filter { losses.contains($0.key) } }, localEpochs)

        // Every report command: the same output on both stores, and as a role that may only read.
        let reader = try server.makeReader()
        let onSQLite = try reportOutputs(["SLOPE_DB": "local.db"], location: "local.db")
        let onServer = try reportOutputs(["SLOPE_DB": server.url], location: PostgresSettings.displayedLocation(server.url))
        let asReader = try reportOutputs(["SLOPE_DB": reader], location: PostgresSettings.displayedLocation(reader))
        for (index, command) in reportCommands.enumerated() {
            XCTAssertEqual(onServer[index], onSQLite[index], "report \(command.joined(separator: " "))")
            XCTAssertEqual(asReader[index], onSQLite[index], "report \(command.joined(separator: " ")) as the read-only role")
            XCTAssertFalse(onServer[index].contains(password), "report \(command.joined(separator: " ")) shows the password")
        }
        XCTAssertTrue(onSQLite[reportCommands.firstIndex(of: ["evaluate", "4", "--data", "data.csv"])!].contains("accuracy"))

        // A server has no folder: a relative CSV path is read from the current folder only.
        let elsewhere = directory.url.appendingPathComponent("elsewhere")
        try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: false)
        let away = try ReportProcess.run("report", ["explain", "1", "--layer", "1", "--weight", "0,0", "--db", server.url], currentDirectory: elsewhere)
        XCTAssertEqual(away.status, 1, away.error)
        XCTAssertEqual(away.error, "report: error: cannot inspect the run: data.csv: no such file in the current folder "
                       + "(the run was queued with this path relative to the folder it was started from)\n")
    }

    /// A reader that went away (`report ... | head`) ends the command the way SIGPIPE does, with no
    /// message, on both stores (SwiftNIO ignores SIGPIPE, so on PostgreSQL the write fails instead,
    /// which used to crash in Foundation's FileHandle.write with a backtrace). `runner train` goes
    /// on without its output and says so once.
    func testAReaderThatWentAwayEndsTheCommandQuietlyOnBothStores() throws {
        try writeData()
        _ = try run("runner", sweep + ["--db", "local.db"])
        _ = try run("runner", sweep + ["--db", server.url])
        for db in ["local.db", server.url] {
            for (tool, arguments) in [("report", ["tensors", "3", "--epoch", "1", "--format", "json"]), ("report", ["runs"]),
                                      ("runner", ["train", "--dataset", "xor", "--hidden", "3", "--epochs", "2"])] {
                let (reason, status, message) = try ChildProcess.runWithoutReader(ReportProcess.executable(tool), arguments + ["--db", db],
                                                                                  currentDirectory: directory.url)
                let what = "\(tool) \(arguments.joined(separator: " ")) on \(db == server.url ? "PostgreSQL" : "SQLite")"
                if tool == "runner" {
                    XCTAssertEqual(reason, .exit, what)
                    XCTAssertEqual(status, 0, what)
                    XCTAssertEqual(message, "standard output was closed (its reader went away): the runner goes on without it "
                                   + "(Ctrl-C stops training after the current epoch)\n", what)
                    continue
                }
                XCTAssertEqual(reason, .uncaughtSignal, what)
                XCTAssertEqual(status, SIGPIPE, what)
                XCTAssertEqual(message, "", what)
            }
        }
    }

    func testExportToSQLiteCopiesEveryRowAndColumnOfPostgreSQLAndOfSQLite() throws {
        try writeData()
        _ = try run("runner", sweep + ["--db", server.url])
        _ = try run("runner", ["train", "--dataset", "xor", "--hidden", "3", "--epochs", "2", "--quiet", "--db", server.url])  // a single run
        _ = try run("runner", sweep + ["--name", "second", "--db", server.url])  // sweep 2, runs 6 to 9
        let reader = try server.makeReader()

        let remote = try SlopeStore(location: server.url, mode: .readOnly)
        let epochs = try rows(remote, "epochs", orderBy: "run_id, epoch"), tensors = try rows(remote, "tensors", orderBy: "run_id, epoch, layer, kind")
        let inSweep2 = { (row: [String: SQLValue]) in (6...9).contains(Int64(sqlValue: row["run_id"]!) ?? 0) }

        // One sweep, as the read-only role.
        let exported = try run("report", ["export", "--sweep", "2", "--format", "sqlite", "--out", "sweep2.db", "--db", reader])
        XCTAssertEqual(exported.output, "wrote sweep2.db (\(try size("sweep2.db"))): 1 sweep, 4 runs, \(epochs.filter(inSweep2).count) epochs, "
                       + "\(tensors.filter(inSweep2).count) tensors\n")
        // Everything, then that copy copied again (SQLite to SQLite).
        let everything = try run("report", ["export", "--format", "sqlite", "--out", "all.db", "--db", server.url])
        XCTAssertEqual(everything.output, "wrote all.db (\(try size("all.db"))): 2 sweeps, 9 runs, \(epochs.count) epochs, \(tensors.count) tensors\n")
        let again = try run("report", ["export", "--format", "sqlite", "--out", "again.db", "--db", "all.db"])
        XCTAssertEqual(again.output, "wrote again.db (\(try size("again.db"))): 2 sweeps, 9 runs, \(epochs.count) epochs, \(tensors.count) tensors\n")

        let all = try SlopeStore(path: directory.path("all.db"), mode: .readOnly)
        let copy = try SlopeStore(path: directory.path("again.db"), mode: .readOnly)
        let sweep2 = try SlopeStore(path: directory.path("sweep2.db"), mode: .readOnly)
        defer { for store in [remote, all, copy, sweep2] { try? store.close() } }
        for (table, order) in Self.tables {
            let original = try rows(remote, table, orderBy: order)
            XCTAssertFalse(original.isEmpty, table)
            XCTAssertEqual(try rows(all, table, orderBy: order), original, "\(table): every row and column, tensors bit-identical")
            XCTAssertEqual(try rows(copy, table, orderBy: order), original, "\(table) after SQLite to SQLite")
            let ofSweep2 = original.filter { row in
                switch table {
                case "sweeps": return row["id"] == .integer(2)
                case "runs": return row["sweep_id"] == .integer(2)
                default: return inSweep2(row)
                }
            }
            XCTAssertEqual(try rows(sweep2, table, orderBy: order), ofSweep2, "\(table) of sweep 2")
        }

        // sqlite3 reads it as docs/schema.md says, and report works on it offline.
        let shell = try ChildProcess.run(URL(fileURLWithPath: "/usr/bin/sqlite3"), [directory.path("sweep2.db"),
            "PRAGMA integrity_check; PRAGMA application_id; SELECT count(*), sum(length(data)) FROM tensors WHERE kind = 'weight'; SELECT name FROM sweeps"])
        XCTAssertEqual(shell.status, 0, shell.error)
        let lines = shell.output.split(separator: "\n")
        XCTAssertEqual(lines.first, "ok")
        XCTAssertEqual(lines.dropFirst().first, "\(SlopeStore.applicationID)")
        XCTAssertEqual(lines.dropFirst(3).first, "second")
        XCTAssertEqual(try run("report", ["best", "--sweep", "2", "--db", "sweep2.db"]).output,
                       try run("report", ["best", "--sweep", "2", "--db", server.url]).output)

        // An existing file is never replaced, a bad --sweep or --where is refused; nothing is left behind.
        let before = try Data(contentsOf: URL(fileURLWithPath: directory.path("sweep2.db")))
        for (arguments, status, message) in [
            (["--sweep", "2", "--out", "sweep2.db"], Int32(1), "sweep2.db already exists: give a new file name"),
            (["--sweep", "7", "--out", "none.db"], 1, "sweep 7 not found (`report sweeps --db "),
            (["--sweep", "2", "--out", "missing/x.db"], 1, "the folder"),
            (["--sweep", "2"], 2, "give its name with --out FILE.db"),
            (["--sweep", "2", "--out", "x.db", "--where", "seed = 0"], 2, "--where does not go with --format sqlite"),
            (["--sweep", "2", "--out", "x.db", "--what", "tensors"], 2, "--what does not go with --format sqlite"),
        ] {
            let result = try ReportProcess.run("report", ["export", "--format", "sqlite"] + arguments + ["--db", server.url],
                                               currentDirectory: directory.url)
            XCTAssertEqual(result.status, status, "\(arguments): \(result.error)")
            XCTAssertTrue(result.error.contains(message), "\(arguments): \(result.error)")
            XCTAssertEqual(result.error.split(separator: "\n").count, 1, result.error)
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: directory.path("sweep2.db"))), before)
        let left = try FileManager.default.contentsOfDirectory(atPath: directory.url.path).filter { $0.hasSuffix(".partial") || $0.contains(".partial-") || $0 == "none.db" || $0 == "x.db" }
        XCTAssertEqual(left, [], "no temporary or half-written file")
        let csv = try ReportProcess.run("report", ["export", "--out", "x.csv", "--db", server.url], currentDirectory: directory.url)
        XCTAssertEqual(csv.status, 2, csv.error)
    }

    private func size(_ name: String) throws -> String {
        let bytes = try FileManager.default.attributesOfItem(atPath: directory.path(name))[.size] as? Int ?? 0
        return SlopeStore.describeBytes(Int64(bytes))
    }
}
