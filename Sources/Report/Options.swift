// Options shared by every `report` command, and how the executable opens the database, prints
// results and rebuilds a run's training data for inspection (through Experiments).
import ArgumentParser
import Experiments
import Foundation
import Reporting
import Store

extension OutputFormat: ExpressibleByArgument {}
extension TensorExportFormat: ExpressibleByArgument {}
extension Goal: ExpressibleByArgument {
    /// `min` or `max`, and the sweep files' words for them, `minimize` and `maximize`.
    public init?(argument: String) {
        switch argument {
        case "minimize": self = .min
        case "maximize": self = .max
        default: self.init(rawValue: argument)
        }
    }
}
extension CurveMetric: ExpressibleByArgument {}
extension ExportSubject: ExpressibleByArgument {}

/// `export --format`: the machine-readable formats, and a Slope SQLite file of whole sweeps.
enum ExportFormat: String, CaseIterable, ExpressibleByArgument {
    case csv, json, sqlite
    var outputFormat: OutputFormat { self == .csv ? .csv : .json }
}

/// Whether a command's help lists `--columns`: `export`, `html` and `serve` fit nothing to a width and
/// refuse it (`refuseColumns`), so their help leaves it out.
protocol ColumnsVisibility { static var visibility: ArgumentVisibility { get } }
enum ColumnsShown: ColumnsVisibility { static var visibility: ArgumentVisibility { .default } }
enum ColumnsHidden: ColumnsVisibility { static var visibility: ArgumentVisibility { .hidden } }

/// A command that reads the database given by `--db`: what the commands its messages suggest add
/// (`CommandHint.databaseArgument`, set by `Report.main` once parsed).
protocol ReadsDatabase {
    associatedtype Columns: ColumnsVisibility
    var database: DatabaseOptionsOf<Columns> { get }
}

extension ReadsDatabase {
    var databaseArgument: String { CommandHint.databaseArgument(given: database.db) }
}

/// `--db` and `--columns` of every command; `export`, `html` and `serve` take `DatabaseOptionsOf<ColumnsHidden>`.
typealias DatabaseOptions = DatabaseOptionsOf<ColumnsShown>

struct DatabaseOptionsOf<Columns: ColumnsVisibility>: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The Slope database to read: a file, or a PostgreSQL server as postgresql://USER@HOST:PORT/DATABASE (password from PGPASSWORD or ~/.pgpass; see docs/distributed.md). Default: $SLOPE_DB, else ./slope.db.", valueName: "path-or-url"))
    var db: String?

    @Option(parsing: .unconditional,
            help: ArgumentHelp("Fit tables and plots to this many characters, \(Accepted.columns.expected) (default: $COLUMNS, else the terminal's width; to a pipe or file, tables keep every column).", valueName: "n",
                               visibility: Columns.visibility),
            transform: Accepted.columns.parse)
    var columns: Int?

    /// What --db or $SLOPE_DB names, as given: a file path or a `postgresql://` URL (with any password).
    var databaseLocation: String { SlopeStore.databasePath(given: db) }

    /// The database file, for what lies beside it (relative CSV paths) and what must never be
    /// written over; nil for a PostgreSQL server.
    var databaseFile: String? { PostgresSettings.isPostgresURL(databaseLocation) ? nil : databaseLocation }

    /// The database as messages name it: the file's path, or the URL without its password.
    var displayedLocation: String { PostgresSettings.displayedLocation(databaseLocation) }

    /// `export`, `html` and `serve` take `--columns` from here but fit nothing to a width: refused, not ignored.
    func refuseColumns(_ command: String, because reason: String) throws {
        if columns != nil { throw ValidationError("--columns: report \(command) \(reason); leave --columns out") }
    }

    func validate() throws {
        if let db, db.isEmpty { throw ValidationError("--db: give a file path or a postgresql:// URL") }
        // A URL that cannot work (or a mistyped one) is a usage error (exit 2), found before anything is opened.
        do { try SlopeStore.checkLocation(databaseLocation) } catch let error as StoreError {
            throw ValidationError((db == nil ? "SLOPE_DB: " : "--db: ") + error.description)
        }
    }

    /// Seconds a read waits for a lost PostgreSQL server to come back before it fails: `report`
    /// answers (an error, or the dashboard's 503) within seconds, unlike a worker, which waits.
    static var reconnectionSeconds: TimeInterval { 3 }

    /// The database opened read-only (never migrated, never written). A lost PostgreSQL server is
    /// waited for `reconnectionSeconds` and said once on stderr (`whileDown`: what happens meanwhile).
    func openStore(whileDown: String = "retrying for a few seconds") throws -> SlopeStore {
        let server = displayedLocation
        let reconnection = SlopeStore.PostgresReconnection(
            giveUpAfter: Self.reconnectionSeconds,
            onLost: { reason in Output.notice("lost the connection to \(server) (\(reason)); \(whileDown)") },
            onReconnected: { seconds in Output.notice(String(format: "reconnected to \(server) after %.1f s", seconds)) },
            shouldGiveUp: { Output.stop.isRequested })
        return try SlopeStore(location: databaseLocation, mode: .readOnly, busyTimeout: 5, reconnection: reconnection)
    }

    /// The reporter over the database opened read-only.
    func reporter() throws -> Reporter {
        Reporter(queries: try openStore().queries, style: TerminalStyle.detect(columns: columns))
    }
}

struct FormatOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Output format.", valueName: "format"))
    var format: OutputFormat = .table
}

/// `evaluate --format`: a table or json (its CSV is the predictions file). `csv` still parses, so
/// that its refusal can say where the CSV goes (Reporting's `evaluate`); help lists only the two.
struct EvaluateFormat: ExpressibleByArgument {
    var format: OutputFormat
    init(_ format: OutputFormat) { self.format = format }
    init?(argument: String) {
        guard let format = OutputFormat(rawValue: argument) else { return nil }
        self.format = format
    }
    static var allValueStrings: [String] { [OutputFormat.table, .json].map(\.rawValue) }
    var defaultValueDescription: String { format.rawValue }
}

enum Output {
    static func write(_ text: String) {
        StandardStream.output.write(text)
    }

    /// Writes `data` to `out` (standard output without it, or `-`); a file written is said in one
    /// line, `wrote FILE (SIZE)` (`OutputFile.wroteLine`).
    static func write(_ data: Data, to out: String?, protecting database: String?) throws {
        guard try !OutputFile.write(data, to: out, protecting: database), let out, let line = OutputFile.wroteLine(out) else { return }
        write(line + "\n")
    }

    /// One line on stderr that is not an error (the command goes on).
    static func notice(_ line: String) {
        StandardStream.error.write("report: \(line)\n")
    }

    /// Set by Ctrl-C or SIGTERM where a command stops on them (`stopOnSignals`); `stop.signal` is
    /// the signal that did. It also says who ends the process, once (`end(status:_:)`).
    static let stop = StopSignal()

    /// Seconds a command has to stop by itself after Ctrl-C or SIGTERM (`stopOnSignals`).
    static let stopGraceSeconds = 2.0

    /// From now on Ctrl-C and SIGTERM set `stop` instead of ending the process at once, so that
    /// a long command (`export --format sqlite`) stops cleanly. When it has not within
    /// `stopGraceSeconds` (a query waiting for the server), or at a second signal (not the first
    /// delivered twice: `StopSignal.request(signal:at:)`), `cleanUp` runs and the process ends
    /// (status 128 + the signal that ended it), unless the command's own end came first. The handlers
    /// must live as long as the command.
    static func stopOnSignals(cleanUp: @escaping @Sendable () -> Void) -> StopSignalHandlers {
        let end: @Sendable (_ number: Int32, _ why: String) -> Void = { number, why in
            guard stop.mayEnd(.signal) else { return }  // the command is ending by itself: its end is the one
            cleanUp()
            notice("stopped: \(number == SIGINT ? "interrupted" : "terminated")\(why); nothing was written")
            _exit(128 + number)
        }
        return StopSignalHandlers(stop, onFirst: { number in
            DispatchQueue.global().asyncAfter(deadline: .now() + stopGraceSeconds) {
                end(number, ", and the command had not stopped \(Int(stopGraceSeconds)) s later")
            }
        }, onSecond: { number in
            end(number, " (a second request)")
            // The end was taken already, by the command (its last line may be stuck on a full pipe)
            // or by the grace end (its message stuck on a stopped stderr): a second request still
            // ends the process at once.
            _exit(128 + number)
        })
    }

    /// Ends the process with `status` after `last` (its last words), unless a signal's end
    /// (`stopOnSignals`) has begun: then that one ends it, and this waits for it, so that the
    /// process writes one last line and leaves nothing behind.
    static func end(status: Int32, _ last: () -> Void = {}) -> Never {
        claimEnd()
        last()
        Foundation.exit(status)
    }

    /// Takes the process's end for the command (what it writes next is its last word), or waits
    /// for a signal's end that began first (`stopOnSignals`), which calls _exit.
    static func claimEnd() {
        guard stop.mayEnd(.work) else {
            while true { pause() }
        }
    }

    /// Rebuilds a run's configuration and training split from its stored configuration JSON (a
    /// relative CSV path is looked for next to the database file too; `databasePath`: nil for a server).
    static func inspectionLoader(databasePath: String?) -> InspectionLoader {
        { run in
            let configuration = try RunConfiguration.decode(json: run.configJSON, runID: run.id)
            let (training, dataRows, classNames) = try DataCatalog.prepareTraining(configuration.data, databasePath: databasePath)
            return InspectionInputs(configuration: configuration.training, training: training, parameters: { stored in
                try TensorRecords.parameters(stored, configuration: configuration.training, runID: run.id)
            }, dataRows: dataRows, classNames: classNames)
        }
    }
}

extension Output {
    /// Reads `file` for a run: its stored configuration rebuilt, the run's own data checked and
    /// used for standardization and class order (see `DataCatalog.evaluationData`).
    static func evaluationLoader(file: String, databasePath: String?) -> EvaluationLoader {
        { run in
            let configuration = try RunConfiguration.decode(json: run.configJSON, runID: run.id)
            let prepared = try DataCatalog.evaluationData(for: configuration, file: file, databasePath: databasePath)
            return EvaluationInputs(configuration: prepared.configuration, parameters: { stored in
                                        try TensorRecords.parameters(stored, configuration: prepared.configuration, runID: run.id)
                                    }, data: prepared.data, hasTargets: prepared.hasTargets,
                                    classNames: prepared.classNames, targetName: prepared.targetName, file: file)
        }
    }
}

/// What `report`'s options and arguments that take numbers accept, each said once: their
/// `transform:` refuses anything else with this one message, and their help says the same.
enum Accepted {
    static let run = AcceptedValues<Int64>.runID("<run>")
    static let sweep = AcceptedValues<Int64>.sweepID("--sweep")
    static let limit = AcceptedValues<Int>.wholeNumber("--limit", 1 ... .max)
    static let columns = AcceptedValues<Int>.wholeNumber("--columns", 20 ... .max)
    static let threshold = AcceptedValues<Double>.number("--threshold", -.greatestFiniteMagnitude ... .greatestFiniteMagnitude,
                                                         expected: "a finite number, e.g. 0.1")
    static let epoch = AcceptedValues<Int>.wholeNumber("--epoch", 0 ... .max)
    static let layer = AcceptedValues<Int>.wholeNumber("--layer", 1 ... .max, note: "1 = the first weight matrix")
    static let weight = AcceptedValues<WeightIndex>("--weight", expected: "two whole numbers from 0 up separated by a comma, I,J (from node I of the layer below to node J)",
                                                    read: { WeightIndex(text: $0) })
    static let row = AcceptedValues<Int>.wholeNumber("--row", 0 ... .max)
    static let port = AcceptedValues<Int>.wholeNumber("--port", 0...65535, note: "0: any free port")
}

/// "I,J" of --weight.
struct WeightIndex {
    var from: Int
    var to: Int
    init?(text: String) {
        let parts = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 2, let from = parts[0], let to = parts[1], from >= 0, to >= 0 else { return nil }
        self.from = from
        self.to = to
    }
}
