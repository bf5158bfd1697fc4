// The `report` subcommands: each declares its options, validates them, and prints what Reporting returns.
import ArgumentParser
import CLISupport
import Foundation
import Reporting
import Store

/// A `--where` expression must parse, and (outside `runs`) comes with --sweep.
func validateFilter(_ filter: String?, sweep: Int64?) throws {
    guard let filter else { return }
    guard sweep != nil else { throw ValidationError("--where selects runs of a --sweep; with run ids, list the ones you want") }
    do { _ = try RunFilterParser.parse(filter) } catch let error as ReportError { throw ValidationError(error.description) }
}

struct Sweeps: ParsableCommand, ReadsDatabase {
    static let configuration = CommandConfiguration(
        abstract: "List sweeps: name, status, creation time and their runs by status.")

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var output: FormatOptions

    func run() throws {
        Output.write(try database.reporter().sweeps(format: output.format))
    }
}

struct Runs: ParsableCommand, ReadsDatabase {
    static let configuration = CommandConfiguration(
        abstract: "List runs: status, key hyperparameters, epochs, final and best losses, accuracy.",
        discussion: """
            Examples:
              report runs --sweep 1 --sort best_val_loss --limit 10
              report runs --where "learning_rate < 0.1 and best_val_loss < 0.2"
              report runs --where "status = 'completed' and layers like '64-%'"
              report runs --sweep 2 --where "weight_decay > 0 and nesterov = true"
            --where takes =, !=, <, <=, >, >=, in (...), like, is [not] null,
            and, or, not, parentheses, numbers, 'quoted strings' ('' for a
            quote inside) and true/false over the run columns, every setting
            included by its sweep-file name (weight_decay, hidden, init...).
            """)

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var output: FormatOptions
    @Option(parsing: .unconditional, help: ArgumentHelp("Only the runs of this sweep.", valueName: "id"), transform: Accepted.sweep.parse) var sweep: Int64?
    @Option(name: .customLong("where"), help: ArgumentHelp("A filter expression over run columns.", valueName: "expression"))
    var filter: String?
    // .unconditional: "-best_val_loss" is a value (descending), not an option.
    @Option(parsing: .unconditional,
            help: ArgumentHelp("Sort by this column; prefix - for descending (e.g. -final_val_accuracy).", valueName: "column"))
    var sort: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Show at most this many runs.", valueName: "n"), transform: Accepted.limit.parse) var limit: Int?

    func validate() throws {
        do {
            _ = try filter.map(RunFilterParser.parse)
            _ = try sort.map(RunFilterParser.parseSort)
        } catch let error as ReportError {
            throw ValidationError(error.description)
        }
    }

    func run() throws {
        Output.write(try database.reporter().runs(sweepID: sweep, filter: filter, sort: sort, limit: limit, format: output.format))
    }
}

struct Show: ParsableCommand, ReadsDatabase {
    static let configuration = CommandConfiguration(
        abstract: "One run: configuration, status and stop reason, the per-epoch table and a plot of its losses.")

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var output: FormatOptions
    @Argument(help: ArgumentHelp("The run id.", valueName: "run"), transform: Accepted.run.parse) var runID: Int64

    func run() throws {
        Output.write(try database.reporter().show(runID: runID, format: output.format))
    }
}

struct Compare: ParsableCommand, ReadsDatabase {
    static let configuration = CommandConfiguration(
        abstract: "Runs side by side: the hyperparameters that differ, final and best values, curves overlaid.",
        discussion: """
            Examples:
              report compare 3 7 12 --threshold 0.2
              report compare --sweep 1 --all
            """)

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var output: FormatOptions
    @Argument(help: ArgumentHelp("Run ids to compare (or use --sweep).", valueName: "run"), transform: Accepted.run.parse) var runs: [Int64] = []
    @Option(parsing: .unconditional, help: ArgumentHelp("Compare all runs of this sweep.", valueName: "id"), transform: Accepted.sweep.parse) var sweep: Int64?
    @Option(name: .customLong("where"), help: ArgumentHelp("With --sweep: only runs matching this filter expression.", valueName: "expression"))
    var filter: String?
    @Flag(help: "Show every hyperparameter, not only those that differ, and a TPE trial's internal values (config.trial).") var all = false
    @Option(parsing: .unconditional, help: ArgumentHelp("Also show the first epoch whose metric reaches this value.", valueName: "value"),
            transform: Accepted.threshold.parse)
    var threshold: Double?
    @Option(help: ArgumentHelp("The per-epoch metric (default: val_loss when recorded, else train_loss).", valueName: "metric"))
    var metric: CurveMetric?

    func validate() throws {
        if runs.isEmpty == (sweep == nil) { throw ValidationError("give run ids or --sweep ID (one of the two)") }
        try validateFilter(filter, sweep: sweep)
    }

    func run() throws {
        Output.write(try database.reporter().compare(runIDs: runs, sweepID: sweep, filter: filter, all: all, threshold: threshold,
                                                     metric: metric, format: output.format))
    }
}

struct Grid: ParsableCommand, ReadsDatabase {
    static let configuration = CommandConfiguration(
        abstract: "Pivot a sweep: mean of a metric over the other parameters, with spread, best cell marked.",
        discussion: """
            Examples:
              report grid --sweep 1 --rows learning_rate --cols batch_size
              report grid --sweep 1 --metric best_val_loss
            """)

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var output: FormatOptions
    @Option(parsing: .unconditional, help: ArgumentHelp("The sweep.", valueName: "id"), transform: Accepted.sweep.parse) var sweep: Int64
    @Option(help: ArgumentHelp("Run column for the rows: any setting (weight_decay, hidden, activation...) or result (default: the first setting the sweep varies, seed last).", valueName: "column"))
    var rows: String?
    @Option(help: ArgumentHelp("Run column for the columns (default: the second setting the sweep varies; with one, seed when it varies, else learning_rate, or batch_size for the learning rate itself).", valueName: "column"))
    var cols: String?
    @OptionGroup var ranking: RankingOptions
    @Option(name: .customLong("where"), help: ArgumentHelp("Only runs matching this filter expression (as in `report runs`).", valueName: "expression"))
    var filter: String?

    func validate() throws {
        do {
            _ = try filter.map(RunFilterParser.parse)
            let rowColumn = try rows.map(RunFilterParser.column(named:)), columnColumn = try cols.map(RunFilterParser.column(named:))
            if let rowColumn, rowColumn == columnColumn {
                throw ValidationError(Reporter.sameAxesMessage(rowColumn))
            }
        } catch let error as ReportError {
            throw ValidationError(error.description)
        }
    }

    func run() throws {
        Output.write(try database.reporter().grid(sweepID: sweep, rows: rows, columns: cols, metric: ranking.metric, goal: ranking.goal,
                                                  filter: filter, format: output.format))
    }
}

/// `--metric` and `--goal` of `grid` and `best`: which run column ranks the sweep's runs, and which way.
struct RankingOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Numeric run column to rank by (default: the sweep's metric, as runner ranked it; else best_val_loss, or best_train_loss).", valueName: "column"))
    var metric: String?
    @Option(help: ArgumentHelp("Whether lower or higher is better (minimize and maximize, the sweep files' words, are taken too; default: the sweep metric's goal with the default metric, else max for accuracies, else min).", valueName: "goal"))
    var goal: Goal?

    func validate() throws {
        do { _ = try metric.map(RunFilterParser.column(named:)) } catch let error as ReportError {
            throw ValidationError(error.description)
        }
    }
}

/// `--sweep`, `--metric`, `--goal` and `--where` of `best` and `importance`: the runs of one sweep, ranked.
struct RankedSweepOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: ArgumentHelp("The sweep.", valueName: "id"), transform: Accepted.sweep.parse) var sweep: Int64
    @OptionGroup var ranking: RankingOptions
    @Option(name: .customLong("where"), help: ArgumentHelp("Only runs matching this filter expression.", valueName: "expression"))
    var filter: String?

    func validate() throws {
        try validateFilter(filter, sweep: sweep)
    }
}

struct Best: ParsableCommand, ReadsDatabase {
    static let configuration = CommandConfiguration(abstract: "The best configuration (mean over seeds) and run of a sweep by a metric.")

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var output: FormatOptions
    @OptionGroup var selection: RankedSweepOptions
    @Flag(help: "Rank single runs, even when runs differ only by seed (by default such runs are one configuration, ranked by its mean over the seeds).")
    var perRun = false

    func run() throws {
        Output.write(try database.reporter().best(sweepID: selection.sweep, metric: selection.ranking.metric, goal: selection.ranking.goal,
                                                  filter: selection.filter, perRun: perRun, format: output.format))
    }
}

struct Importance: ParsableCommand, ReadsDatabase {
    static let configuration = CommandConfiguration(
        abstract: "How much of a sweep's metric each swept setting explains (share of variance of its main effect).",
        discussion: """
            Example:
              report importance --sweep 1 --metric final_val_loss
            """)

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var output: FormatOptions
    @OptionGroup var selection: RankedSweepOptions

    func run() throws {
        Output.write(try database.reporter().importance(sweepID: selection.sweep, metric: selection.ranking.metric,
                                                        goal: selection.ranking.goal, filter: selection.filter, format: output.format))
    }
}

struct Layers: ParsableCommand, ReadsDatabase {
    static let configuration = CommandConfiguration(
        abstract: "Per layer and epoch: weight and gradient norms, update-to-weight ratio, dead ReLU fraction; flags problems.",
        discussion: "Dead ReLU fractions are recomputed on the run's training data, rebuilt from its stored configuration.")

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var output: FormatOptions
    @Argument(help: ArgumentHelp("The run id.", valueName: "run"), transform: Accepted.run.parse) var runID: Int64
    @Option(parsing: .unconditional, help: ArgumentHelp("Only this epoch.", valueName: "epoch"), transform: Accepted.epoch.parse) var epoch: Int?

    func run() throws {
        Output.write(try database.reporter().layers(runID: runID, epoch: epoch, loader: RunLoaders.inspectionLoader(databasePath: database.databaseFile), format: output.format))
    }
}

struct Tensors: ParsableCommand, ReadsDatabase {
    static let configuration = CommandConfiguration(
        abstract: "A run's stored matrices at an epoch, with shapes and statistics, or exported.",
        discussion: """
            --format json writes the weights file that
            `runner train --init-weights FILE.json` reads. --format npy writes
            one array (choose it with --layer and --kind); use --out for a file.
            """)

    @OptionGroup var database: DatabaseOptions
    @Argument(help: ArgumentHelp("The run id.", valueName: "run"), transform: Accepted.run.parse) var runID: Int64
    @Option(parsing: .unconditional, help: ArgumentHelp("The epoch (default: the last one with stored tensors).", valueName: "epoch"), transform: Accepted.epoch.parse) var epoch: Int?
    @Option(parsing: .unconditional, help: ArgumentHelp("Only this layer: \(Accepted.layer.expected).", valueName: "layer"), transform: Accepted.layer.parse) var layer: Int?
    @Option(help: ArgumentHelp("Only this kind: weight, bias, weight_grad, bias_grad, weight_velocity, bias_velocity, weight_adam_m, bias_adam_m, weight_adam_v, bias_adam_v, weight_rms, bias_rms or step.", valueName: "kind"))
    var kind: String?
    @Option(help: ArgumentHelp("Output format.", valueName: "format")) var format: TensorExportFormat = .table
    @Option(help: ArgumentHelp("Write to this file instead of standard output (- is standard output).", valueName: "file")) var out: String?

    func run() throws {
        if format == .npy, out == nil, isatty(STDOUT_FILENO) == 1 {
            throw ValidationError("npy is binary: write it with --out FILE.npy or redirect standard output")
        }
        let data = try database.reporter().tensors(runID: runID, epoch: epoch, layer: layer, kind: kind, format: format)
        try Output.write(data, to: out, protecting: database.databaseFile)
    }
}

struct Explain: ParsableCommand, ReadsDatabase {
    static let configuration = CommandConfiguration(
        abstract: "The slope of the loss w.r.t. one weight, as the chain rule's three factors, from the stored weights.",
        discussion: """
            For training row N: the value of node I feeding the weight x the slope
            of the activation at node J x the slope of the loss w.r.t. node J's
            output. N counts the training rows from 0: the data's rows in their
            order, without those held out for validation (the output names the row
            of the data and its target). Without --row: the full-training-set
            gradient at those weights (for a full-batch run it equals the gradient
            stored for epoch E+1).
            Example:
              report explain 4 --epoch 0 --layer 2 --weight 0,1 --row 3
            """)

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var output: FormatOptions
    @Argument(help: ArgumentHelp("The run id.", valueName: "run"), transform: Accepted.run.parse) var runID: Int64
    @Option(parsing: .unconditional, help: ArgumentHelp("Use the weights stored after this epoch (default: the last).", valueName: "epoch"), transform: Accepted.epoch.parse) var epoch: Int?
    @Option(parsing: .unconditional, help: ArgumentHelp("The layer of the weight: \(Accepted.layer.expected).", valueName: "layer"), transform: Accepted.layer.parse) var layer: Int
    @Option(parsing: .unconditional, help: ArgumentHelp("The weight's entry: \(Accepted.weight.expected).", valueName: "i,j"), transform: Accepted.weight.parse) var weight: WeightIndex
    @Option(parsing: .unconditional, help: ArgumentHelp("A training row, \(Accepted.row.expected) (the data's rows in their order, without the validation rows); without it, the full-training-set gradient.", valueName: "n"), transform: Accepted.row.parse) var row: Int?

    func run() throws {
        Output.write(try database.reporter().explain(runID: runID, epoch: epoch, layer: layer, from: weight.from, to: weight.to,
                                                     row: row, loader: RunLoaders.inspectionLoader(databasePath: database.databaseFile), format: output.format))
    }
}

struct Curves: ParsableCommand, ReadsDatabase {
    static let configuration = CommandConfiguration(
        abstract: "Per-epoch curves of runs: a terminal plot, or an SVG or HTML chart with --out.")

    @OptionGroup var database: DatabaseOptions
    @Argument(help: ArgumentHelp("Run ids (or use --sweep).", valueName: "run"), transform: Accepted.run.parse) var runs: [Int64] = []
    @Option(parsing: .unconditional, help: ArgumentHelp("All runs of this sweep.", valueName: "id"), transform: Accepted.sweep.parse) var sweep: Int64?
    @Option(name: .customLong("where"), help: ArgumentHelp("With --sweep: only runs matching this filter expression.", valueName: "expression"))
    var filter: String?
    @Option(help: ArgumentHelp("The metric (default: val_loss when recorded, else train_loss).", valueName: "metric"))
    var metric: CurveMetric?
    @Flag(name: .customLong("log-y"), help: "Logarithmic y axis.") var logY = false
    @Option(help: ArgumentHelp("Write an SVG or HTML chart to this file (by its extension).", valueName: "file.svg|file.html"))
    var out: String?

    func validate() throws {
        if runs.isEmpty == (sweep == nil) { throw ValidationError("give run ids or --sweep ID (one of the two)") }
        try validateFilter(filter, sweep: sweep)
        if let out, !(out.lowercased().hasSuffix(".svg") || out.lowercased().hasSuffix(".html")) {
            throw ValidationError("--out must end in .svg or .html")
        }
    }

    func run() throws {
        let chart: ChartOutput? = out.map { $0.lowercased().hasSuffix(".svg") ? .svg : .html }
        let text = try database.reporter().curves(runIDs: runs, sweepID: sweep, filter: filter, metric: metric, logY: logY, chart: chart)
        try Output.write(Data(text.utf8), to: out, protecting: database.databaseFile)
    }
}

struct HTML: ParsableCommand, ReadsDatabase {
    static let configuration = CommandConfiguration(
        commandName: "html",
        abstract: "One self-contained HTML page for a sweep: runs table, heatmap, loss curves, gradient norms.")

    @OptionGroup var database: DatabaseOptionsOf<ColumnsHidden>
    @Option(parsing: .unconditional, help: ArgumentHelp("The sweep.", valueName: "id"), transform: Accepted.sweep.parse) var sweep: Int64
    @Option(help: ArgumentHelp("The HTML file to write (- for standard output).", valueName: "file.html")) var out: String
    @Option(name: .customLong("where"), help: ArgumentHelp("Only runs matching this filter expression.", valueName: "expression"))
    var filter: String?

    func validate() throws {
        try database.refuseColumns("html", because: "writes a page that the browser lays out")
        try validateFilter(filter, sweep: sweep)
    }

    func run() throws {
        try Output.write(Data(try database.reporter().html(sweepID: sweep, filter: filter).utf8), to: out, protecting: database.databaseFile)
    }
}

struct Export: ParsableCommand, ReadsDatabase {
    static let configuration = CommandConfiguration(
        abstract: "Full-resolution runs, epochs or tensors as CSV or JSON (for pandas), or whole sweeps as a Slope SQLite file.",
        discussion: """
            --format sqlite --out FILE copies the sweep (without --sweep: every sweep
            and single run) with its runs, epochs and tensors, every column and id,
            into a new Slope database file: from PostgreSQL, a copy to open offline
            with sqlite3, pandas or report. FILE must not exist yet.
            Example:
              report export --sweep 1 --format sqlite --out sweep1.db
            """)

    @OptionGroup var database: DatabaseOptionsOf<ColumnsHidden>
    @Option(parsing: .unconditional, help: ArgumentHelp("Only this sweep's runs.", valueName: "id"), transform: Accepted.sweep.parse) var sweep: Int64?
    @Option(name: .customLong("where"), help: ArgumentHelp("Only runs matching this filter expression (csv and json).", valueName: "expression"))
    var filter: String?
    @Option(help: ArgumentHelp("What to export as csv or json (default: runs).", valueName: "what")) var what: ExportSubject?
    @Option(help: ArgumentHelp("Output format.", valueName: "format")) var format: ExportFormat = .csv
    @Option(help: ArgumentHelp("With --format sqlite: the new database file to write.", valueName: "file.db")) var out: String?

    func validate() throws {
        try database.refuseColumns("export", because: "writes CSV, JSON or SQLite with every column in full")
        do { _ = try filter.map(RunFilterParser.parse) } catch let error as ReportError { throw ValidationError(error.description) }
        guard format == .sqlite else {
            if out != nil { throw ValidationError("--out goes with --format sqlite; csv and json go to standard output (redirect it to a file)") }
            return
        }
        guard let out, !out.isEmpty else { throw ValidationError("--format sqlite writes a database file: give its name with --out FILE.db") }
        if out == "-" { throw ValidationError("--out -: --format sqlite writes a database file, not standard output: give a file path with --out FILE.db") }
        // A database's -wal (-shm, -journal) as --out is refused by exportSQLite (SlopeStore.sqliteDatabase(owning:)).
        if filter != nil { throw ValidationError("--where does not go with --format sqlite, which copies whole sweeps: choose one with --sweep") }
        if what != nil { throw ValidationError("--what does not go with --format sqlite, which copies runs, epochs and tensors together") }
    }

    func run() throws {
        guard format == .sqlite, let out else {
            // How far it has got, on a terminal's stderr only: one line at most twice a second, erased at the end.
            let progress = StatusLine(interval: 0.5), label = "exporting \((what ?? .runs).rawValue)"
            defer { progress.finish() }
            return try database.reporter().export(sweepID: sweep, filter: filter, what: what ?? .runs, format: format.outputFormat, onProgress: {
                progress.show("report: \(label): \($0.rows) rows, \(SlopeStore.describeBytes(Int64($0.bytes))) so far")
            }) { Output.write($0) }
        }
        // Ctrl-C and SIGTERM stop the copy and remove its temporary files.
        let signals = Output.stopOnSignals {
            SlopeStore.removeTemporaryExportFiles(for: out)
            if StatusLine.movesCursor() { StandardStream.error.write("\r\u{1B}[K") }  // the progress line, below: the last line in its place
        }
        defer { withExtendedLifetime(signals) {} }  // until the process ends (Output.end): a late signal's end waits for it
        // How far it has got, on a terminal's stderr only (as csv and json say it), erased at the end.
        let progress = StatusLine(interval: 0.5), shownOut = terminalSafe(SlopeStore.shownPath(out))
        let copied: SlopeStore.SQLiteExport
        do {
            defer { progress.finish() }
            // The end is the command's from just before the file is moved into place: a signal's
            // grace end must not say that nothing was written once it is (nor take it away then).
            copied = try database.openStore().exportSQLite(sweepID: sweep, to: out, shouldStop: { Output.stop.isRequested },
                                                           mayPublish: { Output.stop.mayEnd(.work) }) { done in
                // Not after a signal: its end erases the line (and says why), which must stay the last.
                guard !Output.stop.isRequested else { return }
                progress.show("report: exporting to \(shownOut): \(done.runsDone) of \(done.runs) runs, \(done.epochs) epochs, \(done.tensors) tensors so far",
                              shortening: shownOut)
            }
        }
        Output.stop.claimEnd()
        let detail = "\(copied.sweeps) sweep\(copied.sweeps == 1 ? "" : "s"), \(copied.runs) run\(copied.runs == 1 ? "" : "s"), "
            + "\(copied.epochs) epochs, \(copied.tensors) tensors"
        Output.write((OutputFile.wroteLine(out, detail: detail) ?? "exported \(detail) to \(SlopeStore.shownPath(out))") + "\n")
    }
}

struct Evaluate: ParsableCommand, ReadsDatabase {
    static let configuration = CommandConfiguration(
        abstract: "Apply a run's stored weights to a CSV file: loss, accuracy, confusion matrix, predictions.",
        discussion: """
            The file is read with the same checks as training data; its columns are matched
            by name (the run's features, and its target when present: without it, only
            predictions). Features are standardized with the run's own training statistics,
            classes put in the run's class order. --format: table or json (the CSV is
            written with --predictions).
            Example:
              report evaluate 12 --data test.csv --epoch 10 --predictions predicted.csv
            """)
    @OptionGroup var database: DatabaseOptions
    @Option(name: .long, help: ArgumentHelp("Output format.", valueName: "format")) var format = EvaluateFormat(.table)
    @Argument(help: ArgumentHelp("The run id.", valueName: "run"), transform: Accepted.run.parse) var runID: Int64
    @Option(help: ArgumentHelp("The CSV file to score (header row; the run's feature columns, and its target column for loss and accuracy).", valueName: "file.csv"))
    var data: String
    @Option(parsing: .unconditional, help: ArgumentHelp("Use the weights stored after this epoch (default: the last stored).", valueName: "epoch"),
            transform: Accepted.epoch.parse)
    var epoch: Int?
    @Option(help: ArgumentHelp("Write one line per row (predicted class or value, the target, class probabilities) to this CSV file (- for standard output).", valueName: "file.csv"))
    var predictions: String?
    func validate() throws {
        if data.isEmpty { throw ValidationError("--data: give a CSV file") }
        if let predictions, predictions.isEmpty { throw ValidationError("--predictions: give a file name (or - for standard output)") }
        if predictions == "-" && format.format == .json {
            throw ValidationError("--predictions - with --format json would mix CSV and JSON on standard output: write the predictions to a file")
        }
        if let predictions, predictions != "-", OutputFile.isSameFile(predictions, data) {
            throw ValidationError("--predictions \(predictions) is the --data file: give another file name (it would be overwritten)")
        }
    }
    func run() throws {
        let evaluation = try database.reporter().evaluate(runID: runID, epoch: epoch, loader: RunLoaders.evaluationLoader(file: data, databasePath: database.databaseFile),
                                                          format: format.format)
        if let predictions { try OutputFile.write(Data(evaluation.predictionsCSV.utf8), to: predictions, protecting: database.databaseFile, option: "--predictions") }
        let written = predictions.flatMap { format.format == .table ? OutputFile.wroteLine($0).map { $0 + "\n" } : nil } ?? ""
        Output.write(evaluation.text + written)
    }
}
