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

/// `export --format`: the machine-readable formats, and a Slope SQLite file of whole sweeps.
enum ExportFormat: String, CaseIterable, ExpressibleByArgument {
    case csv, json, sqlite
    var outputFormat: OutputFormat { self == .csv ? .csv : .json }
}

struct DatabaseOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The Slope database to read: a file, or a PostgreSQL server as postgresql://USER@HOST:PORT/DATABASE (password from PGPASSWORD or ~/.pgpass; see docs/distributed.md). Default: $SLOPE_DB, else ./slope.db.", valueName: "path-or-url"))
    var db: String?

    @Option(parsing: .unconditional,
            help: ArgumentHelp("Fit tables and plots to this many characters, \(Accepted.columns.expected) (default: $COLUMNS, else the terminal's width; to a pipe or file, tables keep every column).", valueName: "n"),
            transform: Accepted.columns.parse)
    var columns: Int?

    /// What --db or $SLOPE_DB names, as given: a file path or a `postgresql://` URL (with any password).
    var databaseLocation: String { SlopeStore.databasePath(given: db) }

    /// The database file, for what lies beside it (relative CSV paths) and what must never be
    /// written over; nil for a PostgreSQL server.
    var databaseFile: String? { PostgresSettings.isPostgresURL(databaseLocation) ? nil : databaseLocation }

    /// The database as messages name it: the file's path, or the URL without its password.
    var displayedLocation: String { PostgresSettings.displayedLocation(databaseLocation) }

    func validate() throws {
        if let db, db.isEmpty { throw ValidationError("--db: give a file path or a postgresql:// URL") }
        // A URL that cannot work is a usage error (exit 2), found before anything is opened.
        if databaseFile == nil {
            do { _ = try PostgresSettings(url: databaseLocation) } catch let error as StoreError {
                throw ValidationError((db == nil ? "SLOPE_DB: " : "--db: ") + error.description)
            }
        }
    }

    /// Seconds a read waits for a lost PostgreSQL server to come back before it fails: `report`
    /// answers (an error, or the dashboard's 503) within seconds, unlike a worker, which waits.
    static let reconnectionSeconds: TimeInterval = 3

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

enum Output {
    static func write(_ text: String) {
        StandardStream.output.write(text)
    }

    /// One line on stderr that is not an error (the command goes on).
    static func notice(_ line: String) {
        StandardStream.error.write("report: \(line)\n")
    }

    /// Set by Ctrl-C or SIGTERM where a command stops on them (`stopOnSignals`).
    static let stop = StopSignal()

    /// The signal that set `stop` (SIGINT or SIGTERM), 0 before one came.
    nonisolated(unsafe) static var stopSignal: Int32 = 0

    /// Seconds a command has to stop by itself after Ctrl-C or SIGTERM (`stopOnSignals`).
    static let stopGraceSeconds = 2.0

    /// From now on Ctrl-C and SIGTERM set `stop` instead of ending the process at once, so that
    /// a long command (`export --format sqlite`) stops cleanly. When it has not within
    /// `stopGraceSeconds` (a query waiting for the server), or at a second signal, `cleanUp`
    /// runs and the process ends (status 128 + the signal). The sources must live as long as the command.
    static func stopOnSignals(cleanUp: @escaping @Sendable () -> Void) -> [DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                let end: @Sendable () -> Never = {
                    cleanUp()
                    notice("stopped: \(number == SIGINT ? "interrupted" : "terminated"); nothing was written")
                    _exit(128 + number)
                }
                if stop.isRequested { end() }
                stopSignal = number
                stop.request()
                DispatchQueue.global().asyncAfter(deadline: .now() + stopGraceSeconds) { end() }
            }
            source.resume()
            return source
        }
    }

    /// Writes `data` to `path`, or to standard output when `path` is nil or "-". A file is replaced
    /// whole (written beside it, then renamed: never half-written); through a symbolic link (even
    /// one whose file does not exist yet), the file it points to, so the link stays. Devices,
    /// pipes and sockets (`/dev/stdout`, a named pipe) are written into, never replaced. The
    /// database file being read (or its -wal and -shm files) is never a target (`database`: nil
    /// for a PostgreSQL server).
    static func write(_ data: Data, to path: String?, database: String?, option: String = "--out") throws {
        guard let path, path != "-" else {
            StandardStream.output.write(data)
            return
        }
        guard !path.isEmpty else { throw ReportError.invalidArgument("\(option): give a file name (or - for standard output)") }
        // This process's own streams (`/dev/stdout`, `/dev/fd/N`): written through the descriptor, so
        // a redirection's position and append mode are kept (resolving them would replace the file).
        // SQLite names -wal and -shm after the file a database link points to.
        let realDatabase = database.map(resolvedTarget)
        let databaseFiles = realDatabase.map { [$0, $0 + "-wal", $0 + "-shm"] } ?? []
        let refusal = ReportError.invalidArgument("\(option) \(path) is the database being read (\(database ?? "")): give another file name")
        if let descriptor = streamDescriptor(path) {
            var info = stat()
            if fstat(descriptor, &info) == 0, databaseFiles.contains(where: { isFile($0, info) }) { throw refusal }
            do {
                try FileHandle(fileDescriptor: descriptor, closeOnDealloc: false).write(contentsOf: data)
            } catch {
                throw ReportError.output("\(path): \(error.localizedDescription)")
            }
            return
        }
        let target = resolvedTarget(path)
        let protected = (databaseFiles + (database.map { [$0] } ?? [])).map { canonical($0) }
        var info = stat()
        if protected.contains(canonical(target)) || (stat(target, &info) == 0 && databaseFiles.contains { isFile($0, info) }) {
            throw refusal
        }
        do {
            var info = stat()
            let exists = stat(target, &info) == 0
            let kind = info.st_mode & S_IFMT
            if exists && kind == S_IFDIR { throw ReportError.output("\(path) is a directory: give a file name") }
            if exists && kind != S_IFREG {
                guard let handle = FileHandle(forWritingAtPath: target) else {
                    throw ReportError.output("\(path): cannot open it for writing (\(String(cString: strerror(errno))))")
                }
                defer { try? handle.close() }
                try handle.write(contentsOf: data)
                return
            }
            let folder = URL(fileURLWithPath: target).deletingLastPathComponent().path
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
                throw ReportError.output("\(path): the folder \(folder) does not exist (create it first)")
            }
            try data.write(to: URL(fileURLWithPath: target), options: .atomic)
        } catch let error as ReportError {
            throw error
        } catch {
            throw ReportError.output("\(path): \(error.localizedDescription)")
        }
    }

    /// The file a path writes to: itself, or where its chain of symbolic links ends (a link's
    /// destination is relative to the link's folder), whether or not that file exists yet.
    static func resolvedTarget(_ path: String) -> String {
        var current = path
        for _ in 0..<32 {  // a loop of links ends here; the write then fails with the system's error
            guard let destination = try? FileManager.default.destinationOfSymbolicLink(atPath: current) else { return current }
            current = destination.hasPrefix("/") ? destination
                : URL(fileURLWithPath: current).deletingLastPathComponent().appendingPathComponent(destination).path
        }
        return current
    }

    /// The descriptor of this process that `path` names: /dev/stdout, /dev/stderr, /dev/fd/N,
    /// /proc/self/fd/N or /proc/PID/fd/N (this PID), however spelled (`//dev/./stdout`) and
    /// whether given directly or reached through symbolic links.
    static func streamDescriptor(_ path: String) -> Int32? {
        var current = path
        for _ in 0..<32 {
            let normal = URL(fileURLWithPath: current).standardized.path
            switch normal {
            case "/dev/stdout": return STDOUT_FILENO
            case "/dev/stderr": return STDERR_FILENO
            case "/dev/stdin": return nil
            default:
                for prefix in ["/dev/fd/", "/proc/self/fd/", "/proc/\(getpid())/fd/", "/proc/thread-self/fd/"] where normal.hasPrefix(prefix) {
                    return Int32(normal.dropFirst(prefix.count))
                }
            }
            guard let destination = try? FileManager.default.destinationOfSymbolicLink(atPath: normal) else { return nil }
            current = destination.hasPrefix("/") ? destination
                : URL(fileURLWithPath: normal).deletingLastPathComponent().appendingPathComponent(destination).path
        }
        return nil
    }

    /// Whether `path` names the file `info` describes (device and inode: also through hard links).
    static func isFile(_ path: String, _ info: stat) -> Bool {
        var other = stat()
        return stat(path, &other) == 0 && other.st_dev == info.st_dev && other.st_ino == info.st_ino
    }

    /// Whether two paths name the same existing file (hard and symbolic links included).
    static func isSameFile(_ first: String, _ second: String) -> Bool {
        var info = stat()
        return stat(second, &info) == 0 && isFile(first, info)
    }

    /// An absolute path with links in its folders resolved, for comparing two paths.
    static func canonical(_ path: String) -> String {
        let url = URL(fileURLWithPath: path)
        return url.deletingLastPathComponent().resolvingSymlinksInPath().appendingPathComponent(url.lastPathComponent).path
    }

    /// Rebuilds a run's configuration and training split from its stored configuration JSON (a
    /// relative CSV path is looked for next to the database file too; `databasePath`: nil for a server).
    static func inspectionLoader(databasePath: String?) -> InspectionLoader {
        { run in
            let configuration = try RunConfiguration.decode(json: run.configJSON, runID: run.id)
            let (training, _) = try DataCatalog.prepare(configuration.data, databasePath: databasePath)
            return InspectionInputs(configuration: configuration.training, training: training, parameters: { stored in
                try TensorRecords.parameters(stored, configuration: configuration.training, runID: run.id)
            })
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
