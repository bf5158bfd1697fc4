// Issue 10 items 12 and 16 through the built binaries: a sweep over any setting shows it, by
// its snake_case name, in runner's summary and every report view; tables sent to a pipe keep
// every column unless --columns or COLUMNS says otherwise.
import Experiments
import Foundation
import Reporting
import Store
import TestSupport
import XCTest

final class SettingsVisibilityTests: XCTestCase {
    private var directory: TemporaryDirectory!

    override func setUpWithError() throws { directory = try TemporaryDirectory(prefix: "slope-settings-cli") }
    override func tearDown() { directory.remove() }

    @discardableResult
    private func run(_ tool: String, _ arguments: [String], environment: [String: String] = [:], unset: [String] = [],
                     expect status: Int32 = 0, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let result = try ReportProcess.run(tool, arguments, environment: environment, unset: unset, currentDirectory: directory.url)
        XCTAssertEqual(result.status, status, "\(tool) \(arguments.joined(separator: " ")): \(result.error)", file: file, line: line)
        return result.output
    }

    /// Lines of a table whose first cell is a run id, split into cells.
    private func rows(_ table: String) -> [[String]] {
        table.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }.filter { Int($0.first ?? "") != nil }
    }

    /// A 2 x 2 sweep over weight decay and activation (XOR, a second): every view names both.
    func testASweepOverWeightDecayAndActivationIsVisibleEverywhere() throws {
        let summary = try run("runner", ["sweep", "--dataset", "xor", "--hidden", "4", "--validation", "0", "--batch-size", "4",
                                         "--learning-rate", "0.5", "--epochs", "3", "--weight-decay", "0,0.01",
                                         "--activation", "relu,tanh", "--db", "s.db"])
        // runner's summary: both swept settings, with their values per run.
        let header = try XCTUnwrap(summary.split(separator: "\n").first { $0.contains("run status") })
        XCTAssertTrue(header.contains("activation") && header.contains("weight_decay"), String(header))
        let summaryRows = summary.split(separator: "\n").filter { $0.range(of: #"^[* ] [0-9]+ +completed"#, options: .regularExpression) != nil }
        XCTAssertEqual(summaryRows.count, 4, summary)
        XCTAssertEqual(Set(summaryRows.map { $0.contains(" 0.01 ") }), [true, false], summary)
        let hint = try XCTUnwrap(summary.split(separator: "\n").first { $0.contains("report grid --sweep 1 --rows") }, summary)
        XCTAssertTrue(hint.contains("activation") && hint.contains("weight_decay"), String(hint))

        // report runs: the runs are no longer identical rows.
        let runs = try run("report", ["runs", "--sweep", "1", "--db", "s.db"], unset: ["COLUMNS"])
        let titles = runs.split(separator: "\n")[0].split(separator: " ").map(String.init)
        let decay = try XCTUnwrap(titles.firstIndex(of: "weight_decay"), runs)
        let activation = try XCTUnwrap(titles.firstIndex(of: "activation"), runs)
        XCTAssertEqual(Set(rows(runs).map { "\($0[activation]) \($0[decay])" }), ["relu 0", "relu 0.01", "tanh 0", "tanh 0.01"], runs)

        // --where and --sort by the new columns, and the sweep-file name `validation` for validation_fraction.
        let filtered = try run("report", ["runs", "--where", "weight_decay > 0 and activation = 'tanh' and validation = 0",
                                          "--format", "csv", "--db", "s.db"])
        XCTAssertEqual(filtered.split(separator: "\n").count, 2, filtered)
        let sorted = try run("report", ["runs", "--sort", "-weight_decay", "--format", "csv", "--db", "s.db"])
        let header2 = sorted.split(separator: "\n")[0].split(separator: ",").map(String.init)
        let column = try XCTUnwrap(header2.firstIndex(of: "weight_decay"))
        XCTAssertEqual(sorted.split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false)[column] },
                       ["0.01", "0.01", "0.0", "0.0"])
        XCTAssertEqual(try run("report", ["runs", "--where", "nesterov = true", "--db", "s.db"]), "no runs match\n")

        // grid by any setting.
        let grid = try run("report", ["grid", "--sweep", "1", "--rows", "weight_decay", "--cols", "activation", "--db", "s.db"])
        XCTAssertTrue(grid.contains("weight_decay \\ activation"), grid)
        XCTAssertTrue(grid.split(separator: "\n").contains { $0.hasPrefix("0 ") }, grid)
        XCTAssertTrue(grid.split(separator: "\n").contains { $0.hasPrefix("0.01 ") }, grid)
        // Without --rows/--cols: the settings the sweep varies, not learning_rate x batch_size.
        let swept = try run("report", ["grid", "--sweep", "1", "--db", "s.db"])
        XCTAssertTrue(swept.contains("activation \\ weight_decay"), swept)
        let rowsOnly = try run("report", ["grid", "--sweep", "1", "--rows", "weight_decay", "--db", "s.db"])
        XCTAssertTrue(rowsOnly.contains("weight_decay \\ activation"), rowsOnly)

        // compare labels them by their column names, never by the configuration's keys.
        let compare = try run("report", ["compare", "--sweep", "1", "--db", "s.db"])
        XCTAssertTrue(compare.contains("weight_decay") && compare.contains("activation"), compare)
        XCTAssertFalse(compare.contains("weightDecay") || compare.contains("hiddenActivation"), compare)
        // The curves' legends tell the runs apart by the settings that differ, not only lr and batch (the same for all).
        let legends = { (text: String) in
            text.split(separator: "\n").filter { $0.range(of: #"run [0-9]+ lr=0.5 bs=4 activation=(relu|tanh) weight_decay=(0|0.01)$"#,
                                                              options: .regularExpression) != nil }.count
        }
        XCTAssertEqual(legends(compare), 4, compare)
        let curves = try run("report", ["curves", "--sweep", "1", "--metric", "train_loss", "--db", "s.db"])
        XCTAssertEqual(legends(curves), 4, curves)

        // best lists every setting of the winner.
        let best = try run("report", ["best", "--sweep", "1", "--db", "s.db"])
        XCTAssertTrue(best.contains("\nweight_decay ") && best.contains("\nnesterov ") && best.contains("\nhidden "), best)

        // The HTML page: the settings in its runs table, and a heatmap over the two swept settings.
        _ = try run("report", ["html", "--sweep", "1", "--out", "page.html", "--db", "s.db"])
        let page = try String(contentsOfFile: directory.path("page.html"), encoding: .utf8)
        XCTAssertTrue(page.contains("<th>weight_decay</th>") && page.contains("<th>activation</th>"), page)
        XCTAssertTrue(page.contains("<h2>activation × weight_decay</h2>"), page)
        XCTAssertFalse(page.contains("Learning rate × batch size"), page)
        // Its charts' legends name them too: the loss curves and the gradient norms of each layer (2 layers).
        XCTAssertGreaterThanOrEqual(page.components(separatedBy: "lr=0.5 bs=4 activation=tanh weight_decay=0.01<").count - 1, 3, page)
    }

    /// A sweep over network shapes: grid rows by `hidden` go by the widths (4, 4,4, 16, 128, none
    /// last), not by SQLite's text order (128, 16, 4, 4,4, none), in the table, csv and the HTML heatmap.
    func testGridOverHiddenIsInWidthOrder() throws {
        try run("runner", ["sweep", "--dataset", "xor", "--hidden", "128/none/16/4,4/4", "--validation", "0", "--batch-size", "4",
                           "--learning-rate", "0.1,0.5", "--epochs", "1", "--quiet", "--db", "s.db"])
        let order = ["4", "4,4", "16", "128", "none"]
        let csv = try run("report", ["grid", "--sweep", "1", "--rows", "hidden", "--cols", "learning_rate", "--format", "csv", "--db", "s.db"])
        let csvRows = csv.split(separator: "\n").dropFirst().map { line -> String in
            line.hasPrefix("\"") ? String(line.dropFirst().prefix { $0 != "\"" }) : String(line.prefix { $0 != "," })
        }
        XCTAssertEqual(csvRows, order.flatMap { [$0, $0] }, csv)  // two learning rates per shape
        let table = try run("report", ["grid", "--sweep", "1", "--rows", "hidden", "--cols", "learning_rate", "--db", "s.db"])
        let labels = table.split(separator: "\n").compactMap { line in order.first { line.hasPrefix($0 + " ") } }
        XCTAssertEqual(labels, order, table)
        // As columns too (they were sorted before, by text when not numbers).
        let transposed = try run("report", ["grid", "--sweep", "1", "--rows", "learning_rate", "--cols", "hidden", "--db", "s.db"])
        let header = try XCTUnwrap(transposed.split(separator: "\n").first { $0.hasPrefix("learning_rate \\ hidden") }, transposed)
        XCTAssertEqual(header.split(separator: " ").dropFirst(3).map(String.init), order, transposed)
        _ = try run("report", ["html", "--sweep", "1", "--out", "page.html", "--db", "s.db"])
        let page = try String(contentsOfFile: directory.path("page.html"), encoding: .utf8)
        // The heatmap takes learning_rate x hidden (the columns' order): hidden across, in width order.
        let heading = try XCTUnwrap(page.range(of: "<th>learning_rate \\ hidden</th>"), page)
        let heatmapHeader = page[heading.upperBound...].prefix { $0 != "\n" }
        XCTAssertEqual(heatmapHeader, order.map { "<th>\($0)</th>" }.joined() + "</tr></thead>", page)
    }

    /// `--rows` or `--cols` alone, spelled otherwise than the column (upper case, the sweep-file name
    /// `validation`): the other axis is still another setting, never the same column twice.
    func testGridWithOneAxisGivenInAnotherSpelling() throws {
        try run("runner", ["sweep", "--dataset", "xor", "--validation", "0.25,0.5", "--batch-size", "4",
                           "--learning-rate", "0.1,0.5", "--epochs", "1", "--quiet", "--db", "s.db"])
        func corner(_ arguments: [String]) throws -> String {
            let grid = try run("report", ["grid", "--sweep", "1", "--db", "s.db"] + arguments)
            return String(try XCTUnwrap(grid.split(separator: "\n").first { $0.contains(" \\ ") }, grid).split(separator: " ").prefix(3).joined(separator: " "))
        }
        XCTAssertEqual(try corner([]), "learning_rate \\ validation_fraction")
        XCTAssertEqual(try corner(["--rows", "LEARNING_RATE"]), "learning_rate \\ validation_fraction")
        XCTAssertEqual(try corner(["--rows", "validation"]), "validation_fraction \\ learning_rate")
        XCTAssertEqual(try corner(["--cols", "Learning_Rate"]), "validation_fraction \\ learning_rate")
        XCTAssertEqual(try corner(["--cols", "validation"]), "learning_rate \\ validation_fraction")
    }

    /// The example random search draws momentum: runner's summary has its column, with the drawn values.
    func testRandomSearchSummaryShowsMomentum() throws {
        let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("examples")
        let spec = try SweepSpec.load(path: examples.appendingPathComponent("random-search.yaml").path)
        let store = try SlopeStore(path: directory.path("r.db"))
        let (sweepID, runIDs) = try SweepPlan(spec: spec).enqueue(in: store)
        let worker = WorkerIdentity.current()
        for (index, runID) in runIDs.enumerated() {
            let claimToken = try XCTUnwrap(store.claimRun(runID: runID, worker: worker)).claimToken
            try store.writeEpoch(runID: runID, .init(epoch: 0, trainLoss: 1, validationLoss: 1 + Double(index), seconds: 0),
                                 tensors: [], holder: RunHolder(worker: worker, claimToken: claimToken))
            try store.finishRun(runID: runID, status: .completed, stopReason: nil)
        }
        let runs = try store.queries.runSummaries(sweepID: sweepID)
        let table = ProgressSummary.render(runs: runs, metric: "val_loss", maximize: false, sweepID: sweepID,
                                           databaseArgument: "", variedColumns: spec.variedColumns)
        let lines = table.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        XCTAssertEqual(Array(lines[0].prefix(5)), ["run", "status", "learning_rate", "batch_size", "momentum"], table)
        // Rows sorted by val_loss = run order here; each shows its own drawn momentum.
        for (line, run) in zip(lines.dropFirst(), runs) {
            let cells = line.first == "*" ? Array(line.dropFirst()) : line
            XCTAssertEqual(cells[0], String(run.id))
            XCTAssertEqual(cells[4], formatNumber(try XCTUnwrap(run.number(.momentum))), table)  // as report runs shows it
        }
        XCTAssertEqual(Set(runs.map { $0.number(.momentum) }).count, runs.count, "the momenta are drawn")
    }

    /// Item 16: a table sent to a pipe is printed whole; COLUMNS or --columns still fit it.
    func testTablesToAPipeKeepEveryColumn() throws {
        try ReportFixture.build(at: directory.path("f.db"))
        let whole = try run("report", ["runs", "--db", "f.db"], unset: ["COLUMNS"])
        XCTAssertFalse(whole.contains("hidden:"), whole)
        let header = whole.split(separator: "\n")[0]
        for title in ["weight_decay", "best_val", "best_ep", "train_acc", "activation", "dataset", "seed"] {
            XCTAssertTrue(header.contains(title), "\(title) missing from \(header)")
        }
        XCTAssertTrue(whole.contains("<b>evil & \"co\"</b>↵'; DROP TABLE runs; --"), "names are not shortened either")

        let columns = try run("report", ["runs", "--db", "f.db"], environment: ["COLUMNS": "80"])
        XCTAssertTrue(columns.contains("columns hidden:"), columns)
        XCTAssertTrue(columns.split(separator: "\n").allSatisfy { $0.count <= 80 }, columns)
        let option = try run("report", ["runs", "--columns", "60", "--db", "f.db"], unset: ["COLUMNS"])
        XCTAssertTrue(option.contains("columns hidden:"), option)
        XCTAssertTrue(option.split(separator: "\n").allSatisfy { $0.count <= 60 }, option)
        let tooNarrow = try ReportProcess.run("report", ["runs", "--columns", "5", "--db", "f.db"], currentDirectory: directory.url)
        XCTAssertEqual(tooNarrow.status, 2)
        XCTAssertEqual(tooNarrow.error, "report: error: --columns: '5' is not accepted; expected a whole number from 20 up\n")
    }
}
