// Options shared by every `report` command (--db, --columns, --format) and what the options that
// take values accept. How the executable prints its results is in Output.swift.
import ArgumentParser
import CLISupport
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
        let reconnection = ConnectionNotices.reconnection(server: displayedLocation, giveUpAfter: Self.reconnectionSeconds,
                                                          whileDown: whileDown, write: { Output.notice($0) },
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
