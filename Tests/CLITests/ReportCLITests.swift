// The built `report` binary: help, exit statuses (0/1/2), one-line errors for bad input and bad
// files, a database left byte-for-byte unchanged, and weights that round-trip through `runner`.
import Foundation
import Store
import TestSupport
import XCTest

final class ReportCLITests: XCTestCase {
    static var directory: URL!
    static var fixture: String { directory.appendingPathComponent("fixture.db").path }

    override class func setUp() {
        super.setUp()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("slope-report-cli-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try! ReportFixture.build(at: fixture)
    }

    override class func tearDown() {
        try? FileManager.default.removeItem(at: directory)
        super.tearDown()
    }

    func path(_ name: String) -> String { Self.directory.appendingPathComponent(name).path }

    @discardableResult
    func report(_ arguments: [String], expect status: Int32, environment: [String: String] = [:],
                file: StaticString = #filePath, line: UInt = #line) throws -> ReportProcess.Result {
        let result = try ReportProcess.run("report", arguments, environment: environment, currentDirectory: Self.directory)
        XCTAssertEqual(result.status, status, "report \(arguments.joined(separator: " ")): \(result.error)", file: file, line: line)
        XCTAssertFalse(result.error.contains("Fatal error") || result.error.contains("Backtrace"), result.error, file: file, line: line)
        if status != 0 {
            XCTAssertTrue(result.error.hasPrefix("report: error: "), result.error, file: file, line: line)
            XCTAssertEqual(result.error.filter { $0 == "\n" }.count, 1, "one line: \(result.error)", file: file, line: line)
            XCTAssertEqual(result.output, "", file: file, line: line)
        }
        return result
    }

    func testHelpListsEveryCommandAndOption() throws {
        let help = try report(["--help"], expect: 0).output
        for command in ["sweeps", "runs", "show", "compare", "grid", "best", "layers", "tensors", "explain", "curves", "html", "export", "evaluate", "serve"] {
            XCTAssertTrue(help.contains("  \(command) "), command)
        }
        let runs = try report(["runs", "--help"], expect: 0).output
        for option in ["--db <path-or-url>", "--format <format>", "--sweep <id>", "--where <expression>", "--sort <column>", "--limit <n>"] {
            XCTAssertTrue(runs.contains(option), option)
        }
        XCTAssertTrue(runs.contains("(values: table, csv, json;"))
        XCTAssertTrue(try report(["tensors", "--help"], expect: 0).output.contains("(values: table, json, csv, npy;"))
    }

    func testOutputMatchesTheLibraryAndDatabaseComesFromFlagEnvironmentOrDefault() throws {
        let byFlag = try report(["runs", "--db", Self.fixture, "--format", "csv"], expect: 0).output
        XCTAssertTrue(byFlag.hasPrefix("id,sweep_id,name,status,"))
        XCTAssertEqual(byFlag.split(separator: "\n").count, 1 + 10 + 1)  // run 9's name holds a newline
        XCTAssertEqual(try report(["runs", "--format", "csv"], expect: 0, environment: ["SLOPE_DB": Self.fixture]).output, byFlag)
        try FileManager.default.copyItem(atPath: Self.fixture, toPath: path("slope.db"))
        defer { try? FileManager.default.removeItem(atPath: path("slope.db")) }
        XCTAssertEqual(try report(["runs", "--format", "csv"], expect: 0).output, byFlag)

        let grid = try report(["grid", "--db", Self.fixture, "--sweep", "1"], expect: 0).output
        XCTAssertEqual(grid, """
            best_val_loss of sweep 1: mean over the other parameters ± standard deviation (runs); * best (min)

            learning_rate \\ batch_size                  16                 32
            ─────────────────────────────────────────────────────────────────
            0.01                         0.1928 ±0.013 (2)  0.2784 ±0.034 (2)
            0.1                         *0.1354 ±0.004 (2)   0.175 ±0.012 (2)

            best: learning_rate=0.1 batch_size=16: 0.1354

            """)
        XCTAssertFalse(grid.contains("\u{1B}["), "no colour on a pipe")
        let descending = try report(["runs", "--db", Self.fixture, "--sweep", "1", "--sort", "-best_val_loss", "--limit", "2",
                                     "--format", "csv"], expect: 0).output
        XCTAssertEqual(descending.split(separator: "\n").map { $0.prefix(2) }, ["id", "3,", "4,"])
        let best = try report(["best", "--db", Self.fixture, "--sweep", "1", "--metric", "final_val_loss", "--format", "json"], expect: 0).output
        XCTAssertTrue(best.contains("\"id\": 6,"))
    }

    func testUsageErrorsExitWithTwo() throws {
        let db = ["--db", Self.fixture]
        XCTAssertTrue(try report(["runs", "--where", "rate < 0.1"] + db, expect: 2).error.contains("unknown column 'rate'; valid columns: activation, batch_size,"))
        try report(["runs", "--where", "'; DROP TABLE runs; --"] + db, expect: 2)
        try report(["runs", "--where", "seed = 1; DROP TABLE runs"] + db, expect: 2)
        try report(["runs", "--sort", "id; DROP TABLE runs"] + db, expect: 2)
        try report(["runs", "--limit", "0"] + db, expect: 2)
        try report(["grid", "--rows", "nope"] + db, expect: 2)
        try report(["grid", "--sweep", "1", "--metric", "status"] + db, expect: 2)
        try report(["frobnicate"] + db, expect: 2)
        XCTAssertEqual(try report(["help", "frobnicate"], expect: 2).error, "report: error: unknown command 'frobnicate': `report --help` lists the commands\n")
        try report(["compare"] + db, expect: 2)
        try report(["explain", "10", "--layer", "1", "--weight", "a,b"] + db, expect: 2)
        try report(["curves", "1", "--out", "plot.png"] + db, expect: 2)
        try report(["export", "--format", "table"] + db, expect: 2)
        // Negative numbers are values: checked like any other, not taken for options.
        XCTAssertEqual(try report(["runs", "--limit", "-1"] + db, expect: 2).error,
                       "report: error: --limit: '-1' is not accepted; expected a whole number from 1 up\n")
        XCTAssertEqual(try report(["compare", "1", "--threshold", "nan"] + db, expect: 2).error,
                       "report: error: --threshold: 'nan' is not accepted; expected a finite number, e.g. 0.1\n")
        XCTAssertTrue(try report(["compare", "1", "2", "--threshold", "-0.5"] + db, expect: 0).output.contains("-0.5"))
        XCTAssertEqual(try report(["grid", "--sweep", "-1"] + db, expect: 2).error,
                       "report: error: --sweep: '-1' is not accepted; expected a sweep id, a whole number from 1 up (`report sweeps` lists the sweeps)\n")
    }

    func testBadDatabasesAndUnknownIdsExitWithOneAndChangeNothing() throws {
        let before = try Data(contentsOf: URL(fileURLWithPath: Self.fixture))
        let db = ["--db", Self.fixture]
        XCTAssertEqual(try report(["show", "42"] + db, expect: 1).error,
                       "report: error: no run with id 42 in this database (list them with `report runs --db \(CommandHint.shellQuoted(Self.fixture))`)\n")
        try report(["grid", "--sweep", "9"] + db, expect: 1)
        try report(["compare", "--sweep", "9"] + db, expect: 1)
        try report(["tensors", "1", "--epoch", "99"] + db, expect: 1)
        try report(["html", "--sweep", "3", "--out", path("x.html")] + db, expect: 1)
        // Quoted hostile text is a value: nothing matches, nothing runs.
        XCTAssertEqual(try report(["runs", "--where", "name = '''; DROP TABLE runs; --'"] + db, expect: 0).output, "no runs match\n")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: Self.fixture)), before, "the database file is unchanged")

        // Missing, empty, garbage, another program's, truncated and corrupted files.
        let missing = try report(["runs", "--db", path("missing.db")], expect: 1).error
        XCTAssertTrue(missing.contains("missing.db"), missing)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("missing.db")), "report never creates a database")
        _ = FileManager.default.createFile(atPath: path("empty.db"), contents: Data())
        try report(["runs", "--db", path("empty.db")], expect: 1)
        _ = FileManager.default.createFile(atPath: path("garbage.db"), contents: Data(repeating: 0x41, count: 5000))
        XCTAssertTrue(try report(["runs", "--db", path("garbage.db")], expect: 1).error.contains("is not a Slope database"))
        try ReportFixture.makeForeignDatabase(at: path("foreign.db"))
        let foreign = try Data(contentsOf: URL(fileURLWithPath: path("foreign.db")))
        XCTAssertTrue(try report(["runs", "--db", path("foreign.db")], expect: 1).error.contains("is not a Slope database"))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path("foreign.db"))), foreign)
        let truncated = before.prefix(before.count / 3)
        _ = FileManager.default.createFile(atPath: path("truncated.db"), contents: truncated)
        try report(["runs", "--db", path("truncated.db")], expect: 1)
        try report(["show", "10", "--db", path("truncated.db")], expect: 1)
        var corrupted = before
        for index in stride(from: corrupted.count / 4, to: corrupted.count * 3 / 4, by: 7) { corrupted[index] = 0xFF }
        _ = FileManager.default.createFile(atPath: path("corrupted.db"), contents: corrupted)
        try report(["export", "--what", "tensors", "--db", path("corrupted.db")], expect: 1)

        // A database written by a newer Slope is refused, not migrated or misread.
        try FileManager.default.copyItem(atPath: Self.fixture, toPath: path("newer.db"))
        try ReportFixture.addUnknownMigration(at: path("newer.db"))
        let newer = try Data(contentsOf: URL(fileURLWithPath: path("newer.db")))
        XCTAssertTrue(try report(["runs", "--db", path("newer.db")], expect: 1).error.contains("was written by a newer Slope"))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path("newer.db"))), newer)

        // An empty Slope database: a clear message, not an empty table.
        _ = try SlopeStore(path: path("new.db"))
        XCTAssertEqual(try report(["runs", "--db", path("new.db")], expect: 1).error,
                       "report: error: the database has no runs yet (start one with `runner train` or `runner sweep`)\n")
    }

    func testFilesWrittenWithOutAreSVGAndHTML() throws {
        try report(["curves", "--sweep", "1", "--log-y", "--out", path("curves.svg"), "--db", Self.fixture], expect: 0)
        let svg = try String(contentsOfFile: path("curves.svg"), encoding: .utf8)
        XCTAssertTrue(svg.hasPrefix("<?xml") && svg.contains("</svg>"))
        try report(["html", "--sweep", "1", "--out", path("sweep.html"), "--db", Self.fixture], expect: 0)
        let html = try String(contentsOfFile: path("sweep.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("<table class=\"sortable\" id=\"runs\">") && html.contains("lr x bs &lt;study&gt;"))
    }

    /// --out replaces a file whole, but writes through a symbolic link (the link stays) and into a
    /// named pipe (never replaced by a file): `--out /dev/stdout` must not replace the device.
    func testOutWritesThroughLinksAndIntoPipes() throws {
        let target = path("linked.csv"), link = path("link.csv")
        try "old".write(toFile: target, atomically: false, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        try report(["tensors", "1", "--format", "csv", "--out", link, "--db", Self.fixture], expect: 0)
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link), target)
        let csv = try String(contentsOfFile: target, encoding: .utf8)
        XCTAssertEqual(csv, try report(["tensors", "1", "--format", "csv", "--db", Self.fixture], expect: 0).output)

        let fifo = path("pipe")
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let reader = open(fifo, O_RDONLY | O_NONBLOCK)  // a reader first, so the writer's open does not wait
        XCTAssertGreaterThanOrEqual(reader, 0)
        defer { close(reader) }
        try report(["tensors", "1", "--format", "csv", "--out", fifo, "--db", Self.fixture], expect: 0)
        var info = stat()
        XCTAssertEqual(lstat(fifo, &info), 0)
        XCTAssertEqual(info.st_mode & S_IFMT, S_IFIFO, "the pipe was replaced")
        var received = Data(), buffer = [UInt8](repeating: 0, count: 65536)
        while case let count = read(reader, &buffer, buffer.count), count > 0 { received.append(contentsOf: buffer[..<count]) }
        XCTAssertEqual(String(decoding: received, as: UTF8.self), csv)

        // A link to a file that does not exist yet creates that file and stays a link.
        let dangling = path("dangling.csv")
        try FileManager.default.createSymbolicLink(atPath: dangling, withDestinationPath: "made-through-link.csv")
        try report(["tensors", "1", "--format", "csv", "--out", dangling, "--db", Self.fixture], expect: 0)
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: dangling), "made-through-link.csv")
        XCTAssertEqual(try String(contentsOfFile: path("made-through-link.csv"), encoding: .utf8), csv)
        // "-" is standard output; the database being read (also through a link) is never overwritten.
        XCTAssertEqual(try report(["tensors", "1", "--format", "csv", "--out", "-", "--db", Self.fixture], expect: 0).output, csv)
        let before = try Data(contentsOf: URL(fileURLWithPath: Self.fixture))
        XCTAssertEqual(try report(["tensors", "1", "--format", "json", "--out", Self.fixture, "--db", Self.fixture], expect: 2).error,
                       "report: error: --out \(Self.fixture) is the database being read (\(Self.fixture)): give another file name\n")
        try FileManager.default.createSymbolicLink(atPath: path("db-link.svg"), withDestinationPath: Self.fixture)
        try report(["curves", "1", "--out", path("db-link.svg"), "--db", Self.fixture], expect: 2)
        try report(["curves", "1", "--out", Self.fixture + "-wal", "--db", Self.fixture], expect: 2)
        // Through a link given as --db: neither the link, nor the file it points to, nor its -wal.
        let copy = path("copy.db"), linkToCopy = path("link-to-copy.db")
        try FileManager.default.copyItem(atPath: Self.fixture, toPath: copy)
        try FileManager.default.createSymbolicLink(atPath: linkToCopy, withDestinationPath: copy)
        for out in [linkToCopy, copy, copy + "-wal"] {
            try report(["tensors", "1", "--format", "csv", "--out", out, "--db", linkToCopy], expect: 2)
        }
        try FileManager.default.linkItem(atPath: copy, toPath: path("hard-link.db"))
        try report(["tensors", "1", "--format", "csv", "--out", path("hard-link.db"), "--db", copy], expect: 2)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: copy)), before)
        // /dev/stdout is this process's standard output, appended to as redirected, never replaced.
        let log = path("log.txt")
        try "PREVIOUS\n".write(toFile: log, atomically: false, encoding: .utf8)
        let appended = try ChildProcess.run(URL(fileURLWithPath: "/bin/sh"), [
            "-c", "\"$0\" tensors 1 --format csv --out /dev/stdout --db \"$1\" >> \"$2\"",
            ReportProcess.executable("report").path, Self.fixture, log])
        XCTAssertEqual(appended.status, 0, appended.error)
        XCTAssertEqual(try String(contentsOfFile: log, encoding: .utf8), "PREVIOUS\n" + csv)
        // Other spellings and links to it are the same stream; a descriptor open on the database is refused.
        try FileManager.default.createSymbolicLink(atPath: path("to-stdout"), withDestinationPath: "/dev/stdout")
        for out in ["//dev/./stdout", path("to-stdout")] {
            let more = try ChildProcess.run(URL(fileURLWithPath: "/bin/sh"), [
                "-c", "\"$0\" tensors 1 --format csv --out \"$3\" --db \"$1\" >> \"$2\"",
                ReportProcess.executable("report").path, Self.fixture, log, out])
            XCTAssertEqual(more.status, 0, more.error)
        }
        XCTAssertEqual(try String(contentsOfFile: log, encoding: .utf8), "PREVIOUS\n" + csv + csv + csv)
        let intoDatabase = try ChildProcess.run(URL(fileURLWithPath: "/bin/sh"), [
            "-c", "\"$0\" tensors 1 --format csv --out /dev/fd/5 --db \"$1\" 5<>\"$1\"", ReportProcess.executable("report").path, copy])
        XCTAssertEqual(intoDatabase.status, 2, intoDatabase.error)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: copy)), before)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: Self.fixture)), before)
        try report(["html", "--sweep", "1", "--out", "", "--db", Self.fixture], expect: 2)
        XCTAssertEqual(try report(["html", "--sweep", "1", "--out", path("no/such/x.html"), "--db", Self.fixture], expect: 1).error,
                       "report: error: cannot write output: \(path("no/such/x.html")): the folder \(path("no/such")) does not exist (create it first)\n")

        try FileManager.default.createDirectory(atPath: path("a-directory"), withIntermediateDirectories: true)
        XCTAssertEqual(try report(["tensors", "1", "--out", path("a-directory"), "--db", Self.fixture], expect: 1).error,
                       "report: error: cannot write output: \(path("a-directory")) is a directory: give a file name\n")
    }

    func testWeightsExportRoundTripsThroughRunnerInitWeights() throws {
        // Train a real XOR run with the runner, export its epoch-2 weights, start a new run from them.
        let source = path("source.db"), target = path("target.db")
        // float32, the default precision. (float64 values are written exactly too, see RenderingTests, but the
        // runner's JSONSerialization-based reader rounds long decimals on Linux: reported to the runner side.)
        let train = ["train", "--dataset", "xor", "--hidden", "3", "--loss", "binary-cross-entropy", "--precision", "float32",
                     "--validation", "0", "--batch-size", "4", "--learning-rate", "0.5", "--quiet"]
        let first = try ReportProcess.run("runner", train + ["--epochs", "2", "--db", source])
        XCTAssertEqual(first.status, 0, first.error)
        try report(["tensors", "1", "--epoch", "2", "--format", "json", "--out", path("weights.json"), "--db", source], expect: 0)
        let second = try ReportProcess.run("runner", train + ["--epochs", "0", "--init-weights", path("weights.json"), "--db", target])
        XCTAssertEqual(second.status, 0, second.error)
        let exported = try WeightsFile.decode(Data(contentsOf: URL(fileURLWithPath: path("weights.json"))))
        let restarted = try WeightsFile.decode(try report(["tensors", "1", "--epoch", "0", "--format", "json", "--db", target], expect: 0).outputData)
        let parameters = exported.tensors.filter { $0.kind == "weight" || $0.kind == "bias" }
        XCTAssertEqual(parameters.count, 4)
        XCTAssertEqual(restarted.tensors.map(\.kind), parameters.map(\.kind))
        XCTAssertEqual(restarted.tensors.map { $0.storedBytes() }, parameters.map { $0.storedBytes() }, "bit-identical weights")

        // layers and explain rebuild the run's data from its stored configuration (through Experiments).
        let layers = try report(["layers", "1", "--db", source], expect: 0).output
        XCTAssertTrue(layers.contains("dead_relu"), layers)
        let explain = try report(["explain", "1", "--epoch", "1", "--layer", "2", "--weight", "0,0", "--db", source, "--format", "csv"], expect: 0).output
        let fields = explain.split(separator: "\n")[1].split(separator: ",", omittingEmptySubsequences: false)
        XCTAssertEqual(explain.split(separator: "\n")[0].split(separator: ",")[11...13], ["gradient", "weight_decay_term", "stored_gradient_next_epoch"])
        XCTAssertEqual(Double(fields[12])!, 0, "no weight decay")
        XCTAssertEqual(Double(fields[11])!, Double(fields[13])!, accuracy: 1e-12, "full-batch: the gradient stored for epoch 2")

        // With weight decay the stored gradient is the loss's slope plus decay x weight, and explain says so.
        let decayed = path("decay.db")
        let third = try ReportProcess.run("runner", train + ["--epochs", "2", "--weight-decay", "0.1", "--db", decayed])
        XCTAssertEqual(third.status, 0, third.error)
        let row = try report(["explain", "1", "--epoch", "1", "--layer", "2", "--weight", "0,0", "--db", decayed, "--format", "csv"], expect: 0)
            .output.split(separator: "\n")[1].split(separator: ",", omittingEmptySubsequences: false).map { Double($0) }
        let (weight, gradient, decayTerm, stored) = (row[6]!, row[11]!, row[12]!, row[13]!)
        XCTAssertEqual(decayTerm, 0.1 * weight, accuracy: 1e-12)
        XCTAssertNotEqual(decayTerm, 0)
        XCTAssertEqual(gradient + decayTerm, stored, accuracy: 1e-6 * max(1, abs(stored)), "float32 gradients")
        let text = try report(["explain", "1", "--epoch", "1", "--layer", "2", "--weight", "0,0", "--db", decayed], expect: 0).output
        XCTAssertTrue(text.contains("+ weight decay 0.1 × the weight = "), text)
        XCTAssertTrue(text.contains("= the gradient of the update: "), text)
    }

    /// On a softmax output, explain --row says why the activation's factor is 1: softmax and
    /// cross-entropy are folded into the loss slope p_j - y_j (docs/cli-report.md); a hidden node's
    /// line has no such note.
    func testExplainSaysWhyASoftmaxOutputsSlopeIsOne() throws {
        let db = path("softmax.db")
        let trained = try ReportProcess.run("runner", ["train", "--dataset", "xor", "--hidden", "3", "--activation", "tanh", "--validation", "0",
                                                       "--epochs", "1", "--quiet", "--db", db])
        XCTAssertEqual(trained.status, 0, trained.error)
        let output = try report(["explain", "1", "--layer", "2", "--weight", "1,1", "--row", "2", "--db", db], expect: 0).output
        let activation = try XCTUnwrap(output.split(separator: "\n").first { $0.hasPrefix("× slope of the activation at node 1") }, output)
        XCTAssertTrue(activation.hasSuffix("  1  (softmax + cross-entropy: folded into the loss slope p_1 - y_1)"), output)
        // Its numbers in one notation: none between 1e-4 and 1e-3 in exponent form.
        XCTAssertNil(output.range(of: #"e-0[0-3]\b"#, options: .regularExpression), output)
        let hidden = try report(["explain", "1", "--layer", "1", "--weight", "0,1", "--row", "2", "--db", db], expect: 0).output
        XCTAssertTrue(hidden.contains("× slope of the activation at node 1"), hidden)
        XCTAssertFalse(hidden.contains("folded"), hidden)
    }

    /// A run queued with a relative CSV path is inspected from another folder: the file is looked
    /// for next to the database; when it is in neither place the error says where it looked.
    func testRelativeDataPathsAreFoundNextToTheDatabase() throws {
        let project = Self.directory.appendingPathComponent("project")
        try FileManager.default.createDirectory(at: project, withIntermediateDirectories: true)
        try "x,y\n0,0\n1,1\n2,0\n3,1\n4,0\n5,1\n".write(to: project.appendingPathComponent("data.csv"), atomically: true, encoding: .utf8)
        let train = try ReportProcess.run("runner", ["train", "--dataset", "data.csv", "--hidden", "2", "--epochs", "1", "--validation", "0",
                                                     "--quiet", "--db", "runs.db"], currentDirectory: project)
        XCTAssertEqual(train.status, 0, train.error)
        let db = project.appendingPathComponent("runs.db").path
        XCTAssertTrue(try report(["layers", "1", "--db", db], expect: 0).output.contains("dead_relu"))  // from the parent folder
        XCTAssertTrue(try report(["explain", "1", "--layer", "1", "--weight", "0,0", "--db", db], expect: 0).output.contains("full training set (6 rows)"))
        // So is a relative --init-weights file, for a worker started elsewhere.
        try report(["tensors", "1", "--epoch", "0", "--format", "json", "--out", project.appendingPathComponent("w.json").path, "--db", db], expect: 0)
        let queued = try ReportProcess.run("runner", ["sweep", "--dataset", "data.csv", "--hidden", "2", "--epochs", "1", "--validation", "0",
                                                      "--init-weights", "w.json", "--seed", "0,1", "--queue-only", "--quiet", "--db", "runs.db"],
                                           currentDirectory: project)
        XCTAssertEqual(queued.status, 0, queued.error)
        // From the parent folder, where a different w.json is: the one whose sha256 matches is used.
        try "{\"tensors\": []}".write(to: Self.directory.appendingPathComponent("w.json"), atomically: true, encoding: .utf8)
        let elsewhere = try ReportProcess.run("runner", ["work", "--quiet", "--db", db], currentDirectory: Self.directory)
        XCTAssertEqual(elsewhere.status, 0, elsewhere.error)
        try FileManager.default.removeItem(at: Self.directory.appendingPathComponent("w.json"))
        // Built-in names are never looked up as files next to the database.
        let builtIn = try ReportProcess.run("runner", ["train", "--dataset", "xor", "--hidden", "2", "--epochs", "1", "--validation", "0",
                                                       "--quiet", "--db", "runs.db"], currentDirectory: project)
        XCTAssertEqual(builtIn.status, 0, builtIn.error)
        try "not the xor data".write(to: project.appendingPathComponent("xor"), atomically: true, encoding: .utf8)
        XCTAssertTrue(try report(["explain", "4", "--layer", "1", "--weight", "0,0", "--db", db], expect: 0).output.contains("full training set (4 rows)"))
        // ... nor from the folder where such a file shadows the name: the data whose sha256 matches is used.
        let shadowed = try ReportProcess.run("report", ["explain", "4", "--layer", "1", "--weight", "0,0", "--db", "runs.db"], currentDirectory: project)
        XCTAssertEqual(shadowed.status, 0, shadowed.error)
        XCTAssertTrue(shadowed.output.contains("full training set (4 rows)"), shadowed.output)
        // A CSV that a run trained on under a built-in's name is found next to the database.
        try "a,b,y\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n2,2,0\n".write(to: project.appendingPathComponent("moons"), atomically: true, encoding: .utf8)
        let moonsCSV = try ReportProcess.run("runner", ["train", "--dataset", "moons", "--hidden", "2", "--epochs", "1", "--validation", "0",
                                                        "--quiet", "--db", "runs.db"], currentDirectory: project)
        XCTAssertEqual(moonsCSV.status, 0, moonsCSV.error)
        XCTAssertTrue(try report(["explain", "5", "--layer", "1", "--weight", "0,0", "--db", db], expect: 0).output.contains("full training set (5 rows)"))
        try FileManager.default.moveItem(at: project.appendingPathComponent("data.csv"), to: project.appendingPathComponent("moved.csv"))
        XCTAssertEqual(try report(["explain", "1", "--layer", "1", "--weight", "0,0", "--db", db], expect: 1).error, """
            report: error: cannot inspect the run: data.csv: no such file in the current folder or the database's folder \
            (the run was queued with this path relative to the folder it was started from)

            """)
    }

    func testDocsDescribeEveryCommandAndOption() throws {
        let docsPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/cli-report.md").path
        let docs = try String(contentsOfFile: docsPath, encoding: .utf8)
        for command in ["sweeps", "runs", "show", "compare", "grid", "best", "layers", "tensors", "explain", "curves", "html", "export", "evaluate", "serve"] {
            XCTAssertTrue(docs.contains("### `report \(command)"), command)
            let help = try report([command, "--help"], expect: 0).output
            let options = Set(help.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "[" || $0 == "]" })
                .filter { $0.hasPrefix("--") && $0.count > 2 }.map { String($0.prefix { $0.isLetter || $0 == "-" }) })
            for option in options where option != "--help" && option != "--version" {
                XCTAssertTrue(docs.contains("`\(option)"), "\(command) \(option) is not in docs/cli-report.md")
            }
        }
    }

    func testReportsWhileARunnerProcessWritesASweep() throws {
        let db = path("live.db")
        let runner = Process()
        runner.executableURL = ReportProcess.executable("runner")
        runner.arguments = ["sweep", "--db", db, "--dataset", "xor", "--hidden", "4", "--learning-rate", "0.1,0.5",
                            "--batch-size", "2,4", "--epochs", "2000", "--validation", "0", "--jobs", "1", "--quiet"]
        runner.standardOutput = FileHandle.nullDevice
        runner.standardError = FileHandle.nullDevice
        try runner.run()
        var successes = 0
        var epochsSeen: [Int] = []
        while runner.isRunning || successes == 0 {
            let result = try ReportProcess.run("report", ["runs", "--db", db, "--format", "csv"])
            if result.status == 0 {
                successes += 1
                // Once the sweep is recorded, every later read succeeds and sees at least as many epochs.
                let done = result.output.split(separator: "\n").dropFirst().compactMap { line in
                    Int(line.split(separator: ",", omittingEmptySubsequences: false)[17])
                }
                epochsSeen.append(done.reduce(0, +))
                let grid = try ReportProcess.run("report", ["grid", "--sweep", "1", "--db", db])
                XCTAssertEqual(grid.status, 0, grid.error)
            } else {
                XCTAssertEqual(successes, 0, "a read failed after the sweep was recorded: \(result.error)")
            }
            if !runner.isRunning && successes == 0 { break }
        }
        runner.waitUntilExit()
        XCTAssertEqual(runner.terminationStatus, 0)
        XCTAssertGreaterThan(successes, 0)
        print("report runs succeeded \(successes) times while the sweep ran; epochs seen: \(epochsSeen)")
        XCTAssertEqual(epochsSeen, epochsSeen.sorted(), "epochs only accumulate")
        XCTAssertTrue(epochsSeen.contains { $0 > 0 && $0 < 4 * 2000 }, "a read saw the sweep half-way: \(epochsSeen)")
        let final = try ReportProcess.run("report", ["runs", "--db", db, "--format", "csv"]).output
        XCTAssertEqual(final.components(separatedBy: ",completed,").count - 1, 4)
    }
}
