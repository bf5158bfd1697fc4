// Options shared by every `report` command, and how the executable opens the database, prints
// results and rebuilds a run's training data for inspection (through Experiments).
import ArgumentParser
import Experiments
import Foundation
import Reporting
import Store

extension OutputFormat: ExpressibleByArgument {}
extension TensorExportFormat: ExpressibleByArgument {}
extension Goal: ExpressibleByArgument {}
extension CurveMetric: ExpressibleByArgument {}
extension ExportSubject: ExpressibleByArgument {}

/// `export --format`: the machine-readable formats only.
enum ExportFormat: String, CaseIterable, ExpressibleByArgument {
    case csv, json
    var outputFormat: OutputFormat { self == .csv ? .csv : .json }
}

struct DatabaseOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The Slope database to read (default: $SLOPE_DB, else ./slope.db).", valueName: "path"))
    var db: String?

    var databasePath: String { SlopeStore.databasePath(given: db) }

    func validate() throws {
        if let db, db.isEmpty { throw ValidationError("--db: give a file path") }
    }

    /// The reporter over the database opened read-only (never migrated, never written).
    func reporter() throws -> Reporter {
        let store = try SlopeStore(path: databasePath, mode: .readOnly, busyTimeout: 5)
        return Reporter(queries: store.queries, style: TerminalStyle.detect())
    }
}

struct FormatOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Output format.", valueName: "format"))
    var format: OutputFormat = .table
}

enum Output {
    static func write(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    /// Writes `data` to `path`, or to standard output when `path` is nil. A file is replaced whole
    /// (written beside it, then renamed: never half-written); through a symbolic link, the file it
    /// points to, so the link stays. Devices, pipes and sockets (`/dev/stdout`, a named pipe) are
    /// written into, never replaced.
    static func write(_ data: Data, to path: String?) throws {
        guard let path else {
            FileHandle.standardOutput.write(data)
            return
        }
        do {
            var info = stat()
            let exists = stat(path, &info) == 0
            let kind = info.st_mode & S_IFMT
            if exists && kind == S_IFDIR { throw ReportError.output("\(path) is a directory: give a file name") }
            if exists && kind != S_IFREG {
                guard let handle = FileHandle(forWritingAtPath: path) else {
                    throw ReportError.output("\(path): cannot open it for writing (\(String(cString: strerror(errno))))")
                }
                defer { try? handle.close() }
                try handle.write(contentsOf: data)
                return
            }
            try data.write(to: URL(fileURLWithPath: path).resolvingSymlinksInPath(), options: .atomic)
        } catch let error as ReportError {
            throw error
        } catch {
            throw ReportError.output("\(path): \(error.localizedDescription)")
        }
    }

    /// Rebuilds a run's configuration and training split from its stored configuration JSON.
    static let inspectionLoader: InspectionLoader = { run in
        let configuration = try RunConfiguration.decode(json: run.configJSON, runID: run.id)
        let (training, _) = try DataCatalog.prepare(configuration.data)
        return InspectionInputs(configuration: configuration.training, training: training)
    }
}

/// Parses "I,J" for --weight.
struct WeightIndex: ExpressibleByArgument {
    var from: Int
    var to: Int
    init?(argument: String) {
        let parts = argument.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 2, let from = parts[0], let to = parts[1], from >= 0, to >= 0 else { return nil }
        self.from = from
        self.to = to
    }
}
