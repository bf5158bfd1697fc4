// SVG and HTML are well-formed XML with hostile names escaped; tables fit the width; colour rules;
// the JSON weights file and .npy export round-trip the stored bits.
#if canImport(FoundationXML)
import FoundationXML
#endif
import Foundation
@testable import Reporting
import Store
import TestSupport
import XCTest

/// Parses a document as XML and collects its decoded text and attribute values.
final class XMLCollector: NSObject, XMLParserDelegate {
    var text = ""
    var attributes: [String] = []
    var elements: [String] = []

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
                attributes attributeDict: [String: String] = [:]) {
        elements.append(elementName)
        attributes += attributeDict.values
    }
    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }
    var errors: [Error] = []
    func parser(_ parser: XMLParser, parseErrorOccurred parseError: Error) { errors.append(parseError) }
    func parser(_ parser: XMLParser, foundCDATA CDATABlock: Data) { text += String(decoding: CDATABlock, as: UTF8.self) }

    /// The collected document, or nil when it is not well-formed XML.
    static func wellFormed(_ document: String) -> XMLCollector? {
        let collector = XMLCollector()
        let parser = XMLParser(data: Data(document.utf8))
        parser.delegate = collector
        // On Linux parse() can return true after libxml2 reported an error: check parserError too.
        guard parser.parse(), parser.parserError == nil, collector.errors.isEmpty else { return nil }
        return collector
    }

    static func parse(_ document: String, file: StaticString = #filePath, line: UInt = #line) -> XMLCollector? {
        guard let collector = wellFormed(document) else {
            XCTFail("not well-formed XML", file: file, line: line)
            return nil
        }
        return collector
    }
}

/// Terminal columns of a line as a terminal draws it (wide characters 2, combining marks 0).
func displayWidthForTests(_ text: String) -> Int {
    text.unicodeScalars.reduce(0) { width, scalar in
        if scalar.properties.generalCategory == .nonspacingMark { return width }
        let value = scalar.value
        return width + ((0x3000...0x9FFF).contains(value) || (0x1F300...0x1F6FF).contains(value) ? 2 : 1)
    }
}

final class RenderingTests: ReportTestCase {
    func testSVGChartIsWellFormedAndEscapesHostileNames() throws {
        let svg = try reporter().curves(runIDs: [9, 1], metric: .train_loss, logY: true, chart: .svg)
        XCTAssertTrue(svg.hasPrefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\""))
        XCTAssertFalse(svg.contains("<b>"))
        XCTAssertTrue(svg.contains("run 9 &lt;b&gt;evil &amp; &quot;co&quot;&lt;/b&gt;&#10;&#39;; DROP TABLE runs; --"))
        let parsed = try XCTUnwrap(XMLCollector.parse(svg))
        XCTAssertTrue(parsed.text.contains("run 9 " + ReportFixture.hostileName), "the legend shows the name exactly")
        XCTAssertEqual(parsed.elements.filter { $0 == "polyline" }.count, 2)
        XCTAssertTrue(parsed.text.contains("epoch") && parsed.text.contains("train_loss (log scale)"), "axis labels")
        XCTAssertFalse(parsed.elements.contains("script"))
    }

    /// Curves keep a margin inside the frame: the lowest point (0.099, just under the 0.1 tick of
    /// a log scale) is drawn above the x axis, not on it.
    func testCurvesKeepAMarginInsideTheFrame() throws {
        let series = PlotSeries(label: "run 1", points: [PlotPoint(x: 0, y: 1), PlotPoint(x: 1, y: 0.3), PlotPoint(x: 2, y: 0.099)])
        let svg = SVGChart.lineChart([series], title: "t", xLabel: "epoch", yLabel: "val_loss", logY: true)
        let points = try XCTUnwrap(svg.range(of: "<polyline points=\"").map { svg[$0.upperBound...].prefix { $0 != "\"" } })
        let ys = points.split(separator: " ").compactMap { Double($0.split(separator: ",")[1]) }
        let bottom = 420.0 - 50, top = try XCTUnwrap(ys.min())
        XCTAssertEqual(ys.count, 3)
        XCTAssertLessThan(try XCTUnwrap(ys.max()), bottom - 5, "\(ys)")
        XCTAssertGreaterThan(top, 5)
    }

    func testHTMLPageIsSelfContainedWellFormedAndEscaped() throws {
        let html = try reporter().html(sweepID: 1)
        let parsed = try XCTUnwrap(XMLCollector.parse(html))
        XCTAssertTrue(parsed.text.contains("Sweep 1: lr x bs <study>"))
        XCTAssertFalse(html.contains("<study>"))
        // No network: no external scripts, stylesheets, images or fonts.
        XCTAssertFalse(html.contains("http://") && html.replacingOccurrences(of: "http://www.w3.org/", with: "").contains("http://"))
        XCTAssertFalse(html.contains("https://"))
        XCTAssertFalse(html.contains("src="))
        XCTAssertFalse(parsed.elements.contains("link"))
        // The sortable table (8 runs), the heatmap with its best cell, the importance of the 4 varying
        // settings in 3 rows (weight_decay follows from seed: testHTMLPageShowsImportance), curves and gradient plots.
        XCTAssertEqual(parsed.elements.filter { $0 == "table" }.count, 3)
        XCTAssertEqual(parsed.elements.filter { $0 == "tr" }.count, 1 + 8 + 1 + 2 + 1 + 3)
        XCTAssertTrue(parsed.attributes.contains("sortable"))
        XCTAssertTrue(parsed.text.contains("★ 0.1354 ± 0.004 (2)"))
        XCTAssertEqual(parsed.elements.filter { $0 == "svg" }.count, 2 + 2, "val and train loss, and two layers of gradient norms")
        XCTAssertTrue(parsed.text.contains("layer 2: L2 norm of the epoch's mean gradient"))
        XCTAssertTrue(parsed.text.contains("addEventListener('click'"))

        // --where: only the matching runs, and the filter shown (escaped).
        let filtered = try XCTUnwrap(XMLCollector.parse(try reporter().html(sweepID: 1, filter: "seed = 1 and name like '%<%' or seed = 1")))
        XCTAssertEqual(filtered.elements.filter { $0 == "tr" }.count, 1 + 4 + 1 + 2 + 1 + 2)
        XCTAssertTrue(filtered.text.contains("runs where seed = 1 and name like '%<%' or seed = 1"))

        let page = try reporter().curves(runIDs: [9], chart: .html)
        let hostile = try XCTUnwrap(XMLCollector.parse(page))
        XCTAssertTrue(hostile.text.contains(ReportFixture.hostileName))
        XCTAssertFalse(page.contains("<b>evil"))
    }

    /// The page shows `report importance` when two or more settings are swept. Sweep 1's 7 finished
    /// runs have best_val_loss 1 / (1 + 3 r) + 0.0625 with r = 2, 2.5, 1, 1.5 (lr 0.01) and 4, 4.5, 3
    /// (lr 0.1); by hand (eta squared: between-group over total sum of squares): learning_rate 0.5755
    /// (best 0.1: mean 0.14446), batch_size 0.3969 (best 16: 0.16410), seed 0.02672 (best 2: 0.18531),
    /// and weight_decay, which goes with the seed in the fixture (the same two groups), merged into the
    /// seed's row and named in a note (hostile finding 6). Bars are 200 px for a share of 1.
    func testHTMLPageShowsImportance() throws {
        let html = try reporter().html(sweepID: 1)
        XCTAssertNotNil(XMLCollector.parse(html))
        XCTAssertTrue(html.contains("<h2>Importance</h2>\n<p class=\"meta\">best_val_loss (min) over 7 finished runs:"), html)
        let rows = html.components(separatedBy: "<table class=\"importance\">")[1].components(separatedBy: "</table>")[0]
            .split(separator: "\n").filter { $0.hasPrefix("<tr><td") }
        XCTAssertEqual(rows, [
            #"<tr><td class="text">learning_rate</td><td class="text"><span class="bar" style="width:115px"></span> 0.575</td><td>2</td><td class="text">0.1</td><td>0.1445</td><td class="text"></td></tr>"#,
            #"<tr><td class="text">batch_size</td><td class="text"><span class="bar" style="width:79px"></span> 0.397</td><td>2</td><td class="text">16</td><td>0.1641</td><td class="text"></td></tr>"#,
            #"<tr><td class="text">seed</td><td class="text"><span class="bar" style="width:5px"></span> 0.0267</td><td>2</td><td class="text">2</td><td>0.1853</td><td class="text">weight_decay</td></tr>"#,
        ])
        XCTAssertTrue(html.contains("<p class=\"meta\">weight_decay follows from seed: not ranked apart, seed&#39;s share is theirs too</p>\n<table class=\"importance\">"), html)
        // One swept setting among the runs shown (seed 1, batch size 16: only the learning rate differs): no section.
        let single = try reporter().html(sweepID: 1, filter: "seed = 1 and batch_size = 16")
        XCTAssertFalse(single.contains("Importance"))
    }

    /// `report importance --format json`'s `merged` is a list, as the dashboard's API gives it (before:
    /// `"merged": ""`, and the names joined by spaces); CSV keeps one field, the names separated by spaces.
    func testImportanceJSONListsTheMergedSettings() throws {
        let json = try reporter().importance(sweepID: 1, format: .json)
        let rows = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
        XCTAssertEqual(rows.map { $0["setting"] as? String }, ["learning_rate", "batch_size", "seed"])
        XCTAssertEqual(rows.map { $0["merged"] as? [String] }, [[], [], ["weight_decay"]])
        XCTAssertTrue(json.contains(#""merged": []}"#) && json.contains(#""merged": ["weight_decay"]}"#), json)
        let csv = try reporter().importance(sweepID: 1, format: .csv).split(separator: "\n")
        XCTAssertEqual(csv.first, "setting,importance,groups,best_group,best_mean,merged")
        XCTAssertTrue(csv[1].hasSuffix(",") && csv[3].hasSuffix(",weight_decay"), "\(csv)")
    }

    /// `report importance` ranks settings on the values of pruned runs too (taken when they stopped): it
    /// says so as `grid` does, in grid's words, and so do the HTML page and the dashboard (its `notes`).
    func testImportanceSaysItIncludesPrunedRuns() throws {
        let directory = try TemporaryDirectory(prefix: "slope-importance-pruned")
        defer { directory.remove() }
        let path = directory.path("pruned.db")
        let store = try SlopeStore(path: path)
        _ = try store.recordSweep(name: "asha", [
            HandMadeRun(0.1, 8, 0.5, .completed), HandMadeRun(0.1, 16, 0.4, .completed), HandMadeRun(1, 8, 0.9, .pruned),
            HandMadeRun(1, 16, 0.8, .completed), HandMadeRun(0.1, 8, 0.45, .completed), HandMadeRun(1, 16, 0.85, .pruned),
        ])
        try store.close()
        let reporter = Reporter(queries: try SlopeStore(path: path, mode: .readOnly).queries, style: TerminalStyle(width: 200, usesColor: false))
        let note = "the finished runs include runs that stopped early (2 pruned), with their values when they stopped; "
            + "--where \"status = 'completed'\" leaves them out"
        let text = try reporter.importance(sweepID: 1)
        XCTAssertTrue(text.contains("in sweep 1, 6 finished runs:\n"), text)
        XCTAssertTrue(text.contains("\n" + note + "\n"), text)
        XCTAssertEqual(Reporter.importanceNotes(try reporter.importanceOfSettings(sweepID: 1)).first, note)
        // grid's note on the same runs: the same words but for what holds the values.
        XCTAssertTrue(try reporter.grid(sweepID: 1, rows: "learning_rate", columns: "batch_size")
                        .contains("the cells include runs that stopped early (2 pruned), with their values when they stopped; "), "grid")
        // best's configuration means too (hostile15 F14: an epoch-1 value averaged with finished ones, without a word).
        let best = try reporter.best(sweepID: 1)
        XCTAssertTrue(best.contains("\nthe means include runs that stopped early (2 pruned), with their values when they stopped; "
                                    + "--where \"status = 'completed'\" leaves them out\n"), best)
        XCTAssertFalse(try reporter.best(sweepID: 1, filter: "status = 'completed'").contains("stopped early"))
        // And runner's summary line of the best configuration, when its group has a pruned run (review15 F15).
        let summaryPath = directory.path("summary.db")
        let summaryStore = try SlopeStore(path: summaryPath)
        _ = try summaryStore.recordSweep(name: "asha", [
            HandMadeRun(0.1, 8, 0.3, .completed), HandMadeRun(0.1, 8, 0.35, .pruned), HandMadeRun(1, 8, 0.9, .completed), HandMadeRun(1, 8, 0.95, .completed),
        ])
        let summary = ProgressSummary.render(runs: try summaryStore.queries.runSummaries(sweepID: 1), metric: "val_loss", maximize: false,
                                             sweepID: 1, databaseArgument: "")
        XCTAssertTrue(summary.contains("* best configuration (mean over seeds): runs 1, 2: 0.325 ± 0.025 (n=2, 1 pruned: their values when they stopped)\n"),
                      summary)
        try summaryStore.close()
        let html = try reporter.html(sweepID: 1)
        XCTAssertTrue(html.contains("<p class=\"meta\">\(xmlEscaped(note))</p>"), html)
        // Without the pruned runs, no note.
        let completed = try reporter.importance(sweepID: 1, filter: "status = 'completed'")
        XCTAssertTrue(completed.contains("in sweep 1, 4 finished runs:\n"), completed)
        XCTAssertFalse(completed.contains("stopped early"), completed)
    }

    /// A TPE sweep's runs store their trial's internal values (`"trial": [...]` in the config): compare
    /// showed them as a `trial` column of numbers joined by '-' (a minus sign to the reader). Now left
    /// out unless --all, and then the JSON list.
    func testCompareLeavesOutATPETrialUnlessAll() throws {
        let directory = try TemporaryDirectory(prefix: "slope-compare-trial")
        defer { directory.remove() }
        let path = directory.path("tpe.db")
        let store = try SlopeStore(path: path)
        let runs = [(0.01, 64, "[0.4243300054534058,3]"), (0.1, 16, "[-1.5,1]")].map { learningRate, batchSize, trial -> SlopeStore.NewRun in
            var run = SlopeStore.NewRun.example(learningRate: learningRate, batchSize: batchSize)
            run.configJSON = #"{"learningRate": \#(learningRate), "batchSize": \#(batchSize), "trial": \#(trial)}"#
            return run
        }
        _ = try store.createSweep(name: "tpe", specJSON: "{}", runs: runs)
        try store.close()
        let reporter = Reporter(queries: try SlopeStore(path: path, mode: .readOnly).queries, style: TerminalStyle(width: 200, usesColor: false))
        for format in [OutputFormat.table, .csv, .json] {
            let text = try reporter.compare(sweepID: 1, format: format)
            XCTAssertFalse(text.contains("trial"), "\(format): \(text)")
            XCTAssertTrue(text.contains("learning_rate"), "\(format): \(text)")
        }
        let csv = try reporter.compare(sweepID: 1, all: true, format: .csv).split(separator: "\n").map(String.init)
        let header = csv[0].split(separator: ",").map(String.init)
        let trialIndex = try XCTUnwrap(header.firstIndex(of: "config.trial"), csv[0])
        XCTAssertEqual(header.last, "config.trial", csv[0])
        XCTAssertEqual(trialIndex, header.count - 1)
        XCTAssertTrue(csv[1].hasSuffix(",\"[0.4243300054534058,3]\""), csv[1])
        XCTAssertTrue(csv[2].hasSuffix(",\"[-1.5,1]\""), csv[2])
        let json = try reporter.compare(sweepID: 1, all: true, format: .json)
        XCTAssertTrue(json.contains(#""config.trial": "[-1.5,1]""#), json)
    }

    func testTablesFitTheWidthAndCSVQuotes() {
        var table = DataTable(columns: [.init("id"), .init("name"), .init("loss")])
        table.rows = [[.integer(1), .text("a rather long run name that will not fit"), .real(0.123456)],
                      [.integer(22), .text("x,\"y\"\nz"), .null]]
        XCTAssertEqual(table.renderTable(style: TerminalStyle(width: 24, usesColor: false)), """
            id  name            loss
            ────────────────────────
             1  a rather lo…  0.1235
            22  x,"y"↵z            -

            """)
        XCTAssertEqual(table.renderCSV(), "id,name,loss\n1,a rather long run name that will not fit,0.123456\n22,\"x,\"\"y\"\"\nz\",\n")
        XCTAssertEqual(table.renderJSON(), """
            [
              {"id": 1, "name": "a rather long run name that will not fit", "loss": 0.123456},
              {"id": 22, "name": "x,\\"y\\"\\nz", "loss": null}
            ]

            """)
        // Too narrow even after truncation: trailing columns are dropped and named, the note wrapped to the width.
        XCTAssertEqual(table.renderTable(style: TerminalStyle(width: 16, usesColor: false)), """
            id  name
            ────────────
             1  a rathe…
            22  x,"y"↵z
            (1 columns
            hidden: loss;
            widen the
            terminal or use
            --format csv)

            """)
    }

    /// `--columns 20`, the least: a plot's every line (title, canvas, axes, legend) fits, as does a
    /// table's note of hidden columns, which still names each of them.
    func testTheNarrowestWidthFitsPlotsAndNotes() {
        let style = TerminalStyle(width: 20, usesColor: false)
        let curves = [PlotSeries(label: "run 12 lr=0.3 batch_size=64 a long name", points: (0...6).map { PlotPoint(x: Double($0), y: 1 / Double($0 + 1)) }),
                      PlotSeries(label: "b", points: (0...6).map { PlotPoint(x: Double($0), y: 0.5) })]
        let plot = TerminalPlot.render(curves, title: "validation loss of the runs of sweep 3", logY: true, style: style)
        let lines = plot.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.map(\.count).max(), 20, plot)
        XCTAssertEqual(lines.first, "validation loss of …")
        XCTAssertTrue(lines.contains("  ● run 12 lr=0.3 b…"), plot)
        XCTAssertTrue(lines.contains("  ■ b"), plot)
        XCTAssertTrue(lines.contains("           epoch, l…"), plot)

        let names = (1...23).map { "setting_\($0)" }
        var table = DataTable(columns: [.init("id")] + names.map { .init($0) })
        table.rows = [[.integer(1)] + names.map { _ in .real(0.5) }]
        let rendered = table.renderTable(style: style)
        let tableLines = rendered.split(separator: "\n").map(String.init)
        XCTAssertLessThanOrEqual(tableLines.map(\.count).max() ?? 0, 20, rendered)
        XCTAssertTrue(tableLines.joined(separator: " ").contains("(22 columns hidden: " + names.dropFirst(1).joined(separator: ", ") + ";"), rendered)
    }

    /// Wide characters (CJK, emoji) take two columns and combining marks none, so tables stay
    /// aligned and within the width; bidi overrides cannot reorder the line.
    func testWideCharactersKeepTablesAlignedAndBidiControlsAreDefused() {
        var table = DataTable(columns: [.init("id"), .init("name"), .init("loss")])
        table.rows = [[.integer(1), .text("日本語の名前テスト"), .real(0.5)],
                      [.integer(2), .text("e🙂x"), .real(0.25)],
                      [.integer(3), .text("cafe\u{301}"), .real(0.125)],
                      [.integer(4), .text("a\u{202E}bc"), .real(1)]]
        let wide = table.renderTable(style: TerminalStyle(width: 40, usesColor: false))
        XCTAssertEqual(wide, """
            id  name                 loss
            ─────────────────────────────
             1  日本語の名前テスト    0.5
             2  e🙂x                 0.25
             3  café                0.125
             4  a?bc                    1

            """)
        let narrow = table.renderTable(style: TerminalStyle(width: 22, usesColor: false))
        for line in narrow.split(separator: "\n") { XCTAssertLessThanOrEqual(displayWidthForTests(String(line)), 22, "\(line)") }
        XCTAssertTrue(narrow.contains(" 1  日本語の名…"), narrow)
    }

    func testColourOnlyOnATerminalAndNeverWithNoColor() {
        // Tests run with standard output on a pipe or file: no colour whatever the environment says.
        XCTAssertFalse(TerminalStyle.detect(environment: ["TERM": "xterm-256color"]).usesColor)
        // On a terminal: colour by the live display's rule (review16 R8: TERM unset got the plain progress but colour escapes).
        XCTAssertTrue(TerminalStyle.detect(environment: ["TERM": "xterm-256color"], isTerminal: true).usesColor)
        for environment in [[:], ["TERM": ""], ["TERM": "dumb"], ["TERM": "xterm", "NO_COLOR": "1"]] {
            XCTAssertFalse(TerminalStyle.detect(environment: environment, isTerminal: true).usesColor, "\(environment)")
        }
        XCTAssertEqual(TerminalStyle.detect(environment: ["COLUMNS": "132"]).width, 132)
        XCTAssertEqual(TerminalStyle.detect(environment: [:]).width, 100)
        let colored = TerminalStyle(width: 80, usesColor: true)
        var table = DataTable(columns: [.init("a")], rows: [[.integer(1)]])
        table.highlightedRows = [0]
        XCTAssertTrue(table.renderTable(style: colored).contains("\u{1B}["))
        XCTAssertFalse(table.renderTable(style: .plain).contains("\u{1B}["))
        // Hostile names cannot smuggle escape sequences into a terminal.
        let hostile = DataTable(columns: [.init("name")], rows: [[.text("\u{1B}[31mred\u{7}")]])
        XCTAssertEqual(hostile.renderTable(style: .plain), "name\n─────────\n?[31mred?\n")
    }

    func testTerminalPlotDrawsEachCurveWithItsMarkerAndLegend() {
        let rising = PlotSeries(label: "up", points: (0...4).map { PlotPoint(x: Double($0), y: Double($0)) })
        let falling = PlotSeries(label: "down", points: (0...4).map { PlotPoint(x: Double($0), y: Double(4 - $0)) })
        let plot = TerminalPlot.render([rising, falling], title: "t", style: TerminalStyle(width: 30, usesColor: false), height: 4)
        let trimmed = plot.split(separator: "\n", omittingEmptySubsequences: false)
            .map { String($0.reversed().drop { $0 == " " }.reversed()) }.joined(separator: "\n")
        XCTAssertEqual(trimmed, """
            t
                    4 ┤⠉⠒⠤⣀           ⣀⠤⠒●
                      ┤    ⠉⠑⠢⠤⣀ ⢀⡠⠔⠊⠉
                 1.33 ┤    ⣀⡠⠤⠒⠒⠉⠑⠒⠤⢄⣀
                    0 ┤⣀⠤⠒⠉           ⠉⠒⠤■
                      └───────────────────
                       0        2        4
                       epoch
              ● up
              ■ down

            """)
        XCTAssertEqual(TerminalPlot.render([PlotSeries(label: "x", points: [PlotPoint(x: 0, y: -1)])], title: "loss", logY: true),
                       "loss: no values to plot (log scale needs positive values)\n")
    }

    func testJSONWeightsFileAndNPYRoundTripTheStoredBits() throws {
        let reporter = try reporter()
        let json = try reporter.tensors(runID: 1, epoch: 3, format: .json)
        let file = try WeightsFile.decode(json)
        XCTAssertEqual(file.runID, 1)
        XCTAssertEqual(file.epoch, 3)
        XCTAssertEqual(file.tensors.map { "\($0.layer) \($0.kind)" },
                       ["1 bias", "1 bias_grad", "1 weight", "1 weight_grad", "2 bias", "2 bias_grad", "2 weight", "2 weight_grad"])
        let store = try SlopeStore(path: Self.databasePath, mode: .readOnly)
        let stored = try store.queries.storedTensors(runID: 1, epoch: 3)
        for (entry, tensor) in zip(file.tensors, stored) {
            XCTAssertEqual(entry.storedBytes(), tensor.data, "\(entry.layer) \(entry.kind)")
        }
        // The XOR run is float64: its bits survive too.
        let xor = try WeightsFile.decode(try reporter.tensors(runID: 10, epoch: 2, format: .json))
        let xorStored = try store.queries.storedTensors(runID: 10, epoch: 2)
        XCTAssertEqual(xor.tensors.map { $0.storedBytes() }, xorStored.map(\.data))

        let npy = try reporter.tensors(runID: 1, epoch: 3, layer: 1, kind: "weight", format: .npy)
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
        XCTAssertEqual(Array(npy.prefix(8)), [0x93] + Array("NUMPY".utf8) + [1, 0])
        let headerLength = Int(npy[8]) | Int(npy[9]) << 8
        XCTAssertEqual((10 + headerLength) % 64, 0)
        XCTAssertEqual(String(decoding: npy[10..<(10 + headerLength)], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines), header)
        XCTAssertEqual(Array(npy.suffix(24)), stored.first { $0.layer == 1 && $0.kind == .weight }!.data)
        XCTAssertThrowsError(try reporter.tensors(runID: 1, epoch: 3, format: .npy)) { error in
            XCTAssertEqual("\(error)", "npy holds one array: choose one with --layer and --kind (epoch 3 has 8 tensors)")
        }
    }

    func testExplainFactorsMatchAHandComputation() throws {
        // Row 3 is (1, 1) with label 0. Layer 1: z = (1*1 + 1*0.5 + 0, 1*-1 + 1*2 - 0.5) = (1.5, 0.5), relu keeps both.
        // Output z = 1.5*1 + 0.5*-1 + 0.25 = 1.25, s = sigmoid(1.25); BCE slope w.r.t. s = (1 - y)/(1 - s) for y = 0.
        let s = 1 / (1 + exp(-1.25))
        let csv = try reporter().explain(runID: 10, epoch: 0, layer: 2, from: 0, to: 0, row: 3, loader: xorLoader, format: .csv)
        let fields = csv.split(separator: "\n")[1].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(Double(fields[6]), 1)                              // the weight itself
        XCTAssertEqual(Double(fields[7])!, 1.5, accuracy: 1e-12)          // node value
        XCTAssertEqual(Double(fields[8])!, s * (1 - s), accuracy: 1e-12)  // sigmoid slope
        XCTAssertEqual(Double(fields[9])!, 1 / (1 - s), accuracy: 1e-9)   // loss slope
        XCTAssertEqual(Double(fields[10])!, 1.5 * s * (1 - s) / (1 - s), accuracy: 1e-9)
        // A hidden weight, input 0 -> hidden node 1 (weight -1): node value x0 = 1, relu slope at z = 0.5 is 1,
        // loss slope w.r.t. that node's output = (1 / (1 - s)) * s(1 - s) * (its output weight -1) = -s.
        let hidden = try reporter().explain(runID: 10, epoch: 0, layer: 1, from: 0, to: 1, row: 3, loader: xorLoader, format: .csv)
            .split(separator: "\n")[1].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(Double(hidden[6]), -1)
        XCTAssertEqual(Double(hidden[7]), 1)
        XCTAssertEqual(Double(hidden[8]), 1)
        XCTAssertEqual(Double(hidden[9])!, -s, accuracy: 1e-9)
        XCTAssertEqual(Double(hidden[10])!, -s, accuracy: 1e-9)
        // Full batch: the full-data gradient at epoch E's weights is the gradient stored for epoch E + 1.
        for (layer, i, j) in [(1, 0, 0), (1, 1, 1), (2, 1, 0)] {
            let line = try reporter().explain(runID: 10, epoch: 1, layer: layer, from: i, to: j, row: nil, loader: xorLoader, format: .csv)
                .split(separator: "\n")[1].split(separator: ",", omittingEmptySubsequences: false)
            XCTAssertEqual(Double(line[12])!, 0, "no weight decay in this run")
            XCTAssertEqual(Double(line[11])!, Double(line[13])!, accuracy: 1e-12, "layer \(layer) (\(i), \(j))")
        }
    }

    /// explain writes all its numbers one way (C's %g, 6 significant digits): a step of 0.000936
    /// is not written -9.35999e-04 next to a gradient of 0.001872.
    func testExplainWritesItsNumbersInOneNotation() throws {
        XCTAssertEqual(formatSignificant(-0.000935999, digits: 6), "-0.000935999")
        XCTAssertEqual(formatSignificant(0.001872, digits: 6), "0.001872")
        XCTAssertEqual(formatSignificant(-1.930304e-4, digits: 6), "-0.00019303")
        XCTAssertEqual(formatSignificant(2.5e-7, digits: 6), "2.5e-07")
        XCTAssertEqual(formatSignificant(1.1659512, digits: 6), "1.16595")
        XCTAssertEqual(formatSignificant(1, digits: 6), "1")
        XCTAssertEqual(formatSignificant(0, digits: 6), "0")
        XCTAssertEqual(formatSignificant(-.infinity, digits: 6), "-inf")
        XCTAssertEqual(formatNumber(-0.000935999, digits: 6), "-9.35999e-04", "the tables' notation, which explain no longer uses")
    }

    /// The epochs an error lists stay one short line however long the run (hostile16 F4: a
    /// 4,500-epoch run's 2,251 tensor epochs made a 13 KB error), with the nearest to the one asked.
    func testEpochListsAreRangesEvenStepsAndAtMostEightPieces() {
        XCTAssertEqual(Reporter.epochRanges([4]), "epoch 4")
        XCTAssertEqual(Reporter.epochRanges([1, 2, 3, 7]), "epochs 1-3, 7")
        XCTAssertEqual(Reporter.epochRanges([0, 2, 4]), "epochs 0, 2, 4", "three evenly spaced ones are listed")
        XCTAssertEqual(Reporter.epochRanges([0, 5, 10, 15]), "epochs 0, 5, 10, 15", "and four")
        XCTAssertEqual(Reporter.epochRanges([0, 5, 10, 15, 20]), "epochs 0, 5, ..., 20")
        XCTAssertEqual(Reporter.epochRanges(Array(stride(from: 0, through: 4500, by: 2)), near: 3),
                       "epochs 0, 2, ..., 4500; the nearest to 3: 2 and 4")
        XCTAssertEqual(Reporter.epochRanges(Array(0...10) + Array(stride(from: 20, through: 100, by: 10)) + [101], near: 1000),
                       "epochs 0-10, 20, 30, ..., 100, 101; the nearest to 1000: 101")
        XCTAssertEqual(Reporter.epochRanges([0, 1, 3, 6, 10, 15, 21, 28, 36, 45, 55], near: -1),
                       "epochs 0-1, 3, 6, 10, 15, 21, ... (11 epochs in all), 45, 55; the nearest to -1: 0")
    }

    /// A stalled note's command carries the --db given, unless the role connected may only read:
    /// then it goes without, saying where it works (newuser16 N1).
    func testTheStalledNoteOfAReadOnlyRoleSaysToUseTheWorkerRole() {
        let stalled = [StalledRun(runID: 25, sweepID: 3, heartbeatAt: nil, heartbeatAge: nil)]
        XCTAssertEqual(Reporter.stalledNote(stalled, readOnlyRole: { "slope_reader" }),
                       "stalled: run 25 is `running` without a worker (no heartbeat recorded); continue with `runner resume --sweep 3` "
                       + "with the worker role's URL in SLOPE_DB or --db (role slope_reader may only read; docs/distributed.md, Roles)")
        XCTAssertEqual(Reporter.stalledNote(stalled, readOnlyRole: { nil }),
                       "stalled: run 25 is `running` without a worker (no heartbeat recorded); continue with `\(CommandHint.command("runner resume --sweep 3"))`")
        // A run of no sweep: that run.
        XCTAssertEqual(Reporter.stalledNote([StalledRun(runID: 4, sweepID: nil, heartbeatAt: nil, heartbeatAge: nil)], readOnlyRole: { nil }),
                       "stalled: run 4 is `running` without a worker (no heartbeat recorded); continue with `\(CommandHint.command("runner resume --run 4"))`")
    }

    func testBadInputGivesOneLineErrors() throws {
        let reporter = try reporter()
        func message(_ body: () throws -> Any) -> String {
            do { _ = try body(); return "no error" } catch { return "\(error)" }
        }
        XCTAssertEqual(message { try reporter.show(runID: 99) }, "no run with id 99 in this database (list them with `report runs`)")
        XCTAssertEqual(message { try reporter.grid(sweepID: 5) }, "no sweep with id 5 in this database (list them with `report sweeps`)")
        XCTAssertEqual(message { try reporter.runs(sweepID: 5) }, "no sweep with id 5 in this database (list them with `report sweeps`)")
        XCTAssertEqual(message { try reporter.grid(sweepID: 1, metric: "status") },
                       "--metric must be a numeric column, not 'status'; numeric columns: " + RunColumn.allCases.filter(\.isNumeric).map(\.rawValue).sorted().joined(separator: ", "))
        XCTAssertEqual(message { try reporter.tensors(runID: 1, epoch: 7) }, "run 1 has no tensors for epoch 7; stored: epochs 0-3; the nearest to 7: 3")
        XCTAssertEqual(message { try reporter.layers(runID: 1, epoch: 7) }, "run 1 has no weights stored for epoch 7; stored: epochs 0-3; the nearest to 7: 3")
        XCTAssertEqual(message { try reporter.tensors(runID: 1, epoch: 1, layer: 5) }, "run 1 epoch 1 has no tensor for layer 5; layers: 1, 2")
        // layers csv/json have the same columns for every run (dead_relu_fraction null without the data).
        XCTAssertEqual(try reporter.layers(runID: 9, format: .csv).split(separator: "\n").first,
                       "epoch,layer,weight_l2,gradient_l2,update_to_weight_ratio,dead_relu_fraction,flags")
        XCTAssertEqual(message { try reporter.tensors(runID: 1, kind: "weight_velocity") },
                       "run 1 has no weight_velocity: it was trained without momentum (velocities are stored only with --momentum)")
        XCTAssertEqual(message { try reporter.tensors(runID: 1, kind: "weights") },
                       "unknown tensor kind 'weights'; kinds: weight, bias, weight_grad, bias_grad, weight_velocity, bias_velocity, "
                       + "weight_adam_m, bias_adam_m, weight_adam_v, bias_adam_v, weight_rms, bias_rms, step")
        XCTAssertEqual(message { try reporter.explain(runID: 10, epoch: 0, layer: 3, from: 0, to: 0, row: nil, loader: self.xorLoader) },
                       "--layer: 3 is not in run 10: layers are numbered 1 to 2")
        XCTAssertEqual(message { try reporter.explain(runID: 10, epoch: 0, layer: 1, from: 2, to: 0, row: nil, loader: self.xorLoader) },
                       "--weight (its first number): 2 is not in run 10: layer 1 has 2 inputs, numbered 0 to 1")
        XCTAssertEqual(message { try reporter.explain(runID: 10, epoch: 0, layer: 1, from: 0, to: 0, row: 4, loader: self.xorLoader) },
                       "--row: 4 is not in run 10: the training data has 4 rows, numbered 0 to 3")
        XCTAssertThrowsError(try reporter.explain(runID: 10, epoch: 0, layer: 1, from: 0, to: 9, row: nil, loader: self.xorLoader)) { error in
            XCTAssertEqual(error as? ReportError, .invalidArgument("--weight (its second number): 9 is not in run 10: layer 1 has 2 units, numbered 0 to 1"))
        }
        XCTAssertEqual(message { try reporter.compare() }, "give at least one run id, or --sweep ID")
        XCTAssertEqual(try reporter.compare(runIDs: [2, 1, 2], format: .csv).split(separator: "\n").count, 3, "repeated ids count once")
        // grid --where: only the matching runs are averaged (seed 1: one run per cell).
        XCTAssertEqual(try reporter.grid(sweepID: 1, filter: "seed = 1", format: .csv), """
            learning_rate,batch_size,runs,values,mean,std,min,max,best,diverged,failed
            0.01,16,1,1,0.20535714285714285,0.0,0.20535714285714285,0.20535714285714285,0,0,0
            0.01,32,1,1,0.3125,0.0,0.3125,0.3125,0,0,0
            0.1,16,1,1,0.13942307692307693,0.0,0.13942307692307693,0.13942307692307693,1,0,0
            0.1,32,1,1,0.1625,0.0,0.1625,0.1625,0,0,0

            """)
        XCTAssertEqual(message { try reporter.grid(sweepID: 1, filter: "seed = 9") }, "no run of sweep 1 matches the filter")
        XCTAssertTrue(try reporter.best(sweepID: 1, filter: "batch_size = 32", format: .csv).contains("\n7,1,lr0.1-bs32-s1,"))
        XCTAssertEqual(try reporter.compare(sweepID: 1, filter: "learning_rate = 0.1 and batch_size = 16", format: .csv)
                        .split(separator: "\n").map { $0.prefix(2) }, ["id", "5,", "6,"])
        XCTAssertTrue(try reporter.curves(sweepID: 1, filter: "seed = 2").contains("run 8 lr0.1-bs32-s2"))
        XCTAssertFalse(try reporter.curves(sweepID: 1, filter: "seed = 2").contains("run 7 "))
        XCTAssertEqual(message { try reporter.compare(runIDs: [1], filter: "seed = 1") },
                       "--where selects runs of a --sweep; with run ids, list the ones you want")
        XCTAssertThrowsError(try reporter.grid(sweepID: 1, filter: "seed = 1; DROP TABLE runs"))

        // An empty (but valid) database.
        let emptyPath = Self.directory.appendingPathComponent("empty.db").path
        _ = try SlopeStore(path: emptyPath)
        let empty = Reporter(queries: try SlopeStore(path: emptyPath, mode: .readOnly).queries)
        XCTAssertEqual(message { try empty.runs() }, "the database has no runs yet (start one with `runner train` or `runner sweep`)")
        XCTAssertEqual(message { try empty.show(runID: 1) }, "the database has no runs yet (start one with `runner train` or `runner sweep`)")
    }
}

/// Whole-number columns are read and compared as integers: seeds up to 2^63 - 1 (past a
/// Double's 2^53) filter exactly, and a run planned for Int.max epochs prints without trapping.
final class LargeIntegerTests: XCTestCase {
    func testLargeIntegersFilterAndPrintExactly() throws {
        let directory = try TemporaryDirectory(prefix: "slope-extreme")
        defer { directory.remove() }
        let path = directory.path("extreme.db")
        let store = try SlopeStore(path: path)
        let big = try store.createRun(.example(name: "big", epochs: Int.max, seed: UInt64(Int64.max)))
        let near = try store.createRun(.example(name: "near", seed: 9_007_199_254_740_993))
        let other = try store.createRun(.example(name: "other", seed: 9_007_199_254_740_992))
        _ = try store.createRun(.example(name: nil, seed: 5))  // a missing name: no comparison selects it
        try store.close()
        let reporter = Reporter(queries: try SlopeStore(path: path, mode: .readOnly).queries, style: TerminalStyle(width: 200, usesColor: false))
        func ids(_ filter: String) throws -> [Substring] {
            try reporter.runs(filter: filter, format: .csv).split(separator: "\n").dropFirst().map { $0.prefix { $0 != "," } }
        }
        XCTAssertEqual(try ids("seed = 9223372036854775807"), ["\(big)"])
        XCTAssertEqual(try ids("seed = 9007199254740993"), ["\(near)"])
        XCTAssertEqual(try ids("seed > 9007199254740992"), ["\(big)", "\(near)"])
        XCTAssertEqual(try ids("seed in (9007199254740993, 1)"), ["\(near)"])
        XCTAssertEqual(try ids("name != 'big'"), ["\(near)", "\(other)"])
        XCTAssertEqual(try ids("name not in ('big')"), try ids("name != 'big'"))
        XCTAssertEqual(try ids("name not like 'b%'"), try ids("name != 'big'"))
        XCTAssertEqual(try ids("not name in ('big')"), ["\(near)", "\(other)", "4"], "not (...) is true where its inside is false")
        XCTAssertTrue(try reporter.show(runID: big).contains("0 of 9223372036854775807 epochs"))
        XCTAssertTrue(try reporter.runs().contains("0/9223372036854775807"))
    }

    /// Values that differ only past the 4 digits of a table are shown in full, not as twins.
    func testCloseValuesAreNotShownAsTheSameLabel() throws {
        let directory = try TemporaryDirectory(prefix: "slope-close")
        defer { directory.remove() }
        let path = directory.path("close.db")
        let store = try SlopeStore(path: path)
        let (sweepID, _) = try store.createSweep(name: "close", specJSON: "{}", runs: [0.1, 0.1000001, 0.2].map { .example(learningRate: $0) })
        try store.close()
        let reporter = Reporter(queries: try SlopeStore(path: path, mode: .readOnly).queries, style: TerminalStyle(width: 200, usesColor: false))
        // A grid over runs that stopped early says so.
        let worker = WorkerIdentity.current(label: "test")
        let writer = try SlopeStore(path: path)
        _ = try writer.claimRun(runID: 3, worker: worker)
        try writer.finishRun(runID: 3, status: .pruned, stopReason: "pruned at epoch 1")
        try writer.close()
        let pruned = Reporter(queries: try SlopeStore(path: path, mode: .readOnly).queries, style: TerminalStyle(width: 200, usesColor: false))
        XCTAssertTrue(try pruned.grid(sweepID: sweepID, metric: "learning_rate")
                        .contains("the cells include runs that stopped early (1 pruned), with their values when they stopped"))
        // best never names a diverged or failed run, however good its last value.
        let diverging = try SlopeStore(path: path)
        _ = try diverging.claimRun(runID: 1, worker: worker)
        try diverging.finishRun(runID: 1, status: .diverged, stopReason: "diverged at epoch 1: loss is NaN or infinite")
        try diverging.close()
        let afterDivergence = Reporter(queries: try SlopeStore(path: path, mode: .readOnly).queries)
        XCTAssertFalse(try afterDivergence.best(sweepID: sweepID, metric: "learning_rate", format: .csv).contains("\n1,"))
        // Runs without points are named below the plot, not left in its legend.
        let curves = try reporter.curves(sweepID: sweepID)
        XCTAssertTrue(curves.contains("no val_loss to plot for: run 1"), curves)
        XCTAssertFalse(curves.contains("● run 1"), curves)
        // Still queued, with a validation split: the default metric is already the validation loss.
        XCTAssertTrue(try reporter.grid(sweepID: sweepID).hasPrefix("best_val_loss of sweep \(sweepID)"))
        XCTAssertThrowsError(try reporter.best(sweepID: sweepID)) { error in
            XCTAssertEqual("\(error)", "no run of sweep \(sweepID) has a value for best_val_loss yet")
        }
        let grid = try reporter.grid(sweepID: sweepID, rows: "learning_rate", columns: "batch_size", metric: "learning_rate")
        let labels = grid.split(separator: "\n").dropFirst(3).prefix(3).map { String($0.prefix { $0 != " " }) }
        XCTAssertEqual(labels, ["0.1", "0.1000001", "0.2"], grid)
        XCTAssertTrue(try reporter.compare(runIDs: [1, 2]).contains("0.1000001"))
        XCTAssertTrue(try reporter.runs(sweepID: sweepID).contains("0.1000001"))
        // Values that read differently stay short.
        // One run: its settings go below the table, which keeps the results.
        let single = try reporter.compare(runIDs: [2])
        XCTAssertTrue(single.hasPrefix("val_loss of 1 run: ") || single.hasPrefix("train_loss of 1 run: "), single)
        XCTAssertTrue(single.contains("settings: learning_rate=0.1000001  batch_size=32"), single)
        XCTAssertTrue(single.contains("id  status"), single)
        let different = try reporter.compare(runIDs: [1, 3])
        let cells = different.split(whereSeparator: { $0 == " " || $0 == "\n" })
        XCTAssertTrue(cells.contains("0.1") && cells.contains("0.2") && !different.contains("0.1000001"), different)
    }
}

final class ExportTests: ReportTestCase {
    func testTensorAndEpochExportsCarryFullResolutionValues() throws {
        let reporter = try reporter()
        var csv = ""
        try reporter.export(sweepID: nil, what: .tensors, format: .csv) { csv += $0 }
        let lines = csv.split(separator: "\n")
        XCTAssertEqual(lines[0], "run_id,epoch,layer,kind,rows,cols,dtype,l2,mean,std,min,max,values")
        // Run 10 (XOR, float64) epoch 0 layer 1 weight: the hand-picked initial weights.
        XCTAssertTrue(lines.contains("10,0,1,weight,2,2,float64,2.5,0.625,1.0825317547305484,-1.0,2.0,\"[1.0,-1.0,0.5,2.0]\""), csv)
        // Every tensor of the fixture: sweep runs 1-7 store 4 + 3 x 8 tensors, run 8 stops an epoch
        // early (4 + 2 x 8), the hostile-name run and the XOR run store 4 + 2 x 8 each.
        XCTAssertEqual(lines.count - 1, 7 * 28 + 20 + 20 + 20)

        var json = ""
        try reporter.export(sweepID: 1, what: .epochs, format: .json) { json += $0 }
        let rows = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
        XCTAssertEqual(rows.count, 31)
        XCTAssertEqual(rows[5]["train_loss"] as? Double, ReportFixture.trainLoss(lrIndex: 0, batchIndex: 0, seed: 2, epoch: 1))
        XCTAssertTrue(rows[5]["val_accuracy"] is NSNull)

        var filtered = ""
        try reporter.export(filter: "status = 'diverged'", what: .epochs, format: .csv) { filtered += $0 }
        XCTAssertEqual(filtered, """
            run_id,epoch,train_loss,val_loss,train_accuracy,val_accuracy,seconds
            9,0,0.75,,,,0.25
            9,1,12.5,,,,0.25
            9,2,4096.0,,,,0.25

            """)
        var tensors = ""
        try reporter.export(sweepID: 1, filter: "seed = 1 and learning_rate = 0.1 and batch_size = 16", what: .tensors, format: .csv) { tensors += $0 }
        XCTAssertEqual(Set(tensors.split(separator: "\n").dropFirst().map { $0.prefix(2) }), ["5,"])
        XCTAssertThrowsError(try reporter.export(filter: "1 = 1", what: .runs, format: .csv) { _ in })
    }

    /// The progress a long export reports (report shows it on a terminal): after each chunk, the rows
    /// and bytes handed out so far; the last says every row and byte of the output.
    func testExportTellsItsProgressAfterEachChunk() throws {
        var heard: [ExportProgress] = [], csv = ""
        try reporter().export(sweepID: nil, what: .tensors, format: .csv, onProgress: { heard.append($0) }) { csv += $0 }
        XCTAssertEqual(heard.last, ExportProgress(rows: 7 * 28 + 20 + 20 + 20, bytes: csv.utf8.count))

        // Rows of 1,000 bytes: a chunk is handed out once past 64 KB (at the 66th row), then the rest.
        var stream: [ExportProgress] = [], text = ""
        let rows = RowStream(columns: ["x"], format: .csv, onProgress: { stream.append($0) })
        for _ in 0..<100 { if let chunk = rows.add([.text(String(repeating: "a", count: 999))]) { text += chunk } }
        text += rows.finish()
        XCTAssertEqual(stream, [ExportProgress(rows: 66, bytes: 2 + 66 * 1_000), ExportProgress(rows: 100, bytes: 2 + 100 * 1_000)])
        XCTAssertEqual(text.utf8.count, 2 + 100 * 1_000)
    }
}

final class ExtremeValueTests: XCTestCase {
    func testPlotsSurviveExtremeAndNonFiniteValues() {
        let wild = PlotSeries(label: "wild", points: [PlotPoint(x: 0, y: -1e308), PlotPoint(x: 1, y: 1e308), PlotPoint(x: 2, y: .nan),
                                                      PlotPoint(x: 3, y: .infinity), PlotPoint(x: 4, y: 0.5)])
        let flat = PlotSeries(label: "flat", points: [PlotPoint(x: 0, y: 1e16), PlotPoint(x: 1e17, y: 1e16 + 2)])
        for logY in [false, true] {
            XCTAssertTrue(SVGChart.document([flat], title: "t", xLabel: "epoch", yLabel: "loss", logY: logY).hasSuffix("</svg>\n"))
            XCTAssertTrue(TerminalPlot.render([wild], title: "t", logY: logY).hasPrefix("t\n"))
            XCTAssertTrue(SVGChart.document([wild], title: "t", xLabel: "epoch", yLabel: "loss", logY: logY).hasSuffix("</svg>\n"))
        }
    }
}

final class XMLCheckTests: XCTestCase {
    /// The XML check itself must reject what is not well-formed, or the SVG/HTML tests prove nothing.
    func testTheXMLCheckRejectsMalformedDocuments() {
        for document in ["<a></b>", "<a><b></a></b>", "<p>x</p></div>", "<html><body><p>x</p></div></body></html>",
                         "<a>&</a>", "<a x=\"<\"/>"] {
            XCTAssertNil(XMLCollector.wellFormed(document), document)
        }
        XCTAssertNotNil(XMLCollector.wellFormed("<a><b>&amp;</b></a>"))
    }
}
