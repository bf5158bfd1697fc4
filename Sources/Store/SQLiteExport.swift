// `report export --format sqlite`: whole sweeps (their sweeps, runs, epochs and tensors rows,
// every column, ids kept) copied from any store into a new Slope SQLite file, so that the
// sqlite3 shell and pandas work on a PostgreSQL sweep offline. The file appears whole or not at all.
import Foundation

extension SlopeStore {
    /// What an export copied.
    public struct SQLiteExport: Sendable, Equatable {
        public var sweeps = 0
        public var runs = 0
        public var epochs = 0
        public var tensors = 0
        /// The size of the new file.
        public var bytes: Int64 = 0
    }

    /// How far an export has got, for a progress line: the runs copied whole of those to copy,
    /// and the epochs and tensors copied so far.
    public struct SQLiteExportProgress: Sendable, Equatable {
        public var runsDone = 0
        public var runs = 0
        public var epochs = 0
        public var tensors = 0
    }

    /// The tables an export copies, parents first (each row's foreign keys are already there).
    static let exportedTables = ["sweeps", "runs", "epochs", "tensors"]

    /// Epochs whose tensors are read in one query: bounds the memory a long run's tensors take
    /// (PostgreSQL's answers arrive whole) without a round trip per epoch.
    static let exportEpochBatch = 32

    /// Copies sweep `sweepID` (nil: every sweep and every single run) into a new SQLite database
    /// at `path`, created with this build's schema, from one consistent snapshot of this store.
    /// The file is written beside `path` under a temporary name (`.NAME.PID.partial`) and moved
    /// into place at the end, so that it appears whole or not at all; an existing `path` is never
    /// replaced. Temporary files that an export killed before it could clean up left beside `path`
    /// (their process is gone) are removed first. When the connection to a PostgreSQL server is
    /// lost and comes back, the copy starts again in a fresh temporary file.
    /// - Parameters:
    ///   - shouldStop: asked between rows and once more just before the file is moved into
    ///     place; true stops the export (`.interrupted`), leaving nothing.
    ///   - mayPublish: asked once, after `shouldStop`'s last question, just before the file is
    ///     moved into place: false stops the export the same way. The caller may take its process's
    ///     end there, so that nothing else ends it saying that nothing was written once the file is.
    ///   - onProgress: told after each run copied whole and every 64 tensors (from the start again
    ///     when the copy starts over after a lost connection).
    /// - Throws: `.invalidValue` when something exists at `path` or its folder does not,
    ///   `.notFound` for an unknown sweep, `.interrupted`, and the errors of either database.
    public func exportSQLite(sweepID: Int64?, to path: String, shouldStop: @escaping () -> Bool = { false },
                             mayPublish: () -> Bool = { true },
                             onProgress: (SQLiteExportProgress) -> Void = { _ in }) throws -> SQLiteExport {
        let folderPath = URL(fileURLWithPath: path).deletingLastPathComponent().path
        let folder = Self.shownPath(folderPath), shownPath = Self.shownPath(path)
        var info = stat()
        if lstat(path, &info) == 0 {
            throw StoreError.invalidValue("\(shownPath) already exists: give a new file name (export never replaces a file)")
        }
        // SQLite takes NAME-wal, NAME-shm and NAME-journal as NAME's own files: an export there would
        // be deleted (or, a valid log, applied to NAME) by the next open of NAME; and a new database
        // at NAME would take a leftover NAME-wal or NAME-journal as its own.
        if let database = Self.sqliteDatabase(owning: path), database != path {
            throw StoreError.invalidValue("\(shownPath) is where the SQLite database \(Self.shownPath(database)) keeps its \(path.dropFirst(database.count)) file: "
                                          + "give another file name (export never writes a database's own files)")
        }
        for suffix in ["-wal", "-journal"] where lstat(path + suffix, &info) == 0 {
            throw StoreError.invalidValue("\(Self.shownPath(path + suffix)) exists (left by an earlier database at \(shownPath)), and SQLite would take it "
                                          + "as the new database's own: give another file name, or remove it first")
        }
        if let problem = Self.folderProblem(of: path) { throw StoreError.invalidValue("cannot create \(shownPath): \(problem)") }
        guard access(folderPath, W_OK | X_OK) == 0 else {
            throw StoreError.invalidValue("cannot create \(shownPath): the folder \(folder) is not writable (give a path in a folder you can write)")
        }
        let name = URL(fileURLWithPath: path).lastPathComponent
        Self.removeStalePartialFiles(folder: folderPath, name: name)
        let temporary = Self.temporaryExportPath(for: path)
        var summary = SQLiteExport()
        do {
            try read { source in
                // Writing the copy may pause between reads as long as a report may (no idle-in-transaction limit).
                if let statement = source.dialect.pausableSnapshotStatement { try source.execute(statement, []) }
                // Run again after a lost connection came back: start over in a fresh file.
                Self.removeDatabaseFiles(temporary)
                let target: SlopeStore
                do {
                    target = try SlopeStore(path: temporary, mode: .readWrite)
                } catch StoreError.readOnly, StoreError.folderNotWritable {  // a read-only file system, which access() does not see
                    throw StoreError.invalidValue("cannot create \(shownPath): the folder \(folder) is not writable (give a path in a folder you can write)")
                }
                do {
                    summary = try Self.copy(from: source, sweepID: sweepID, into: target, shouldStop: shouldStop, onProgress: onProgress)
                    try target.close()
                } catch {
                    try? target.close()
                    throw error
                }
            }
            // A stop asked for while the copy ended (after its last question) still leaves nothing.
            if shouldStop() || !mayPublish() { throw StoreError.interrupted("export stopped: nothing was written") }
            // link() fails when a file appeared at `path` meanwhile: never replaced, even then.
            if link(temporary, path) != 0 {
                let reason = errno
                if reason == EEXIST { throw StoreError.invalidValue("\(shownPath) already exists: give a new file name (export never replaces a file)") }
                // A file system without hard links: renaming is as atomic, `path` was checked above.
                guard rename(temporary, path) == 0 else {
                    throw StoreError.invalidValue("cannot create \(shownPath): \(String(cString: strerror(errno)))")
                }
            }
            Self.removeDatabaseFiles(temporary)
        } catch {
            Self.removeDatabaseFiles(temporary)
            // The copy's file (named after --out, not the temporary one; not "resume the run").
            switch error {
            case let StoreError.diskFull(path) where path.hasPrefix(temporary):
                throw StoreError.invalidValue("cannot write \(shownPath): the disk holding it is full; nothing was written "
                                              + "(free some space, or export to another disk)")
            case let StoreError.sqlite(path, message) where path.hasPrefix(temporary):
                // A place SQLite cannot create a file in that access() passes (/proc): named as given.
                var reason = message
                if reason.hasPrefix("cannot open it (") && reason.hasSuffix(")") { reason = String(reason.dropFirst("cannot open it (".count).dropLast()) }
                throw StoreError.invalidValue("cannot create \(shownPath): \(reason); nothing was written (give a path in a folder you can write)")
            case let StoreError.ioError(path, message) where path.hasPrefix(temporary):
                throw StoreError.invalidValue("cannot write \(shownPath) (\(message)); nothing was written (check the disk and the file system)")
            default:
                throw error
            }
        }
        summary.bytes = Int64((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0)
        return summary
    }

    /// Copies the rows into `target` inside one read transaction of this store (one snapshot,
    /// while workers may go on writing); one write transaction of `target` per run.
    private static func copy(from source: any SQLConnection, sweepID: Int64?, into target: SlopeStore,
                             shouldStop: () -> Bool, onProgress: (SQLiteExportProgress) -> Void) throws -> SQLiteExport {
        func checkStop() throws {
            if shouldStop() { throw StoreError.interrupted("export stopped: nothing was written") }
        }
        let columns = try target.read { connection in
            try Dictionary(uniqueKeysWithValues: Self.exportedTables.map { table in
                (table, try connection.values("SELECT name FROM pragma_table_info(?) ORDER BY cid", [table], as: String.self))
            })
        }
        func select(_ table: String) -> String {
            "SELECT " + columns[table]!.map { sqlIdentifier($0) }.joined(separator: ", ") + " FROM \(table)"
        }
        func insert(_ table: String) -> String {
            let names = columns[table]!
            return "INSERT INTO \(table) (" + names.map { sqlIdentifier($0) }.joined(separator: ", ") + ") VALUES ("
                + Array(repeating: "?", count: names.count).joined(separator: ", ") + ")"
        }
        var summary = SQLiteExport()
        let sweeps = try sweepID.map { id in try source.rows(select("sweeps") + " WHERE id = ?", [id]) }
            ?? source.rows(select("sweeps") + " ORDER BY id", [])
        if let sweepID, sweeps.isEmpty { throw StoreError.notFound("sweep \(sweepID)") }
        let runs = try sweepID.map { id in try source.rows(select("runs") + " WHERE sweep_id = ? ORDER BY id", [id]) }
            ?? source.rows(select("runs") + " ORDER BY id", [])
        try target.write { destination in
            for sweep in sweeps { try destination.execute(insert("sweeps"), sweep.values) }
            for run in runs { try destination.execute(insert("runs"), run.values) }
        }
        summary.sweeps = sweeps.count
        summary.runs = runs.count
        var progress = SQLiteExportProgress(runs: runs.count)
        for run in runs {
            try checkStop()
            let runID: Int64 = try run.required("id")
            try target.write { destination in
                let epochs = try source.rows(select("epochs") + " WHERE run_id = ? ORDER BY epoch", [runID])
                for epoch in epochs { try destination.execute(insert("epochs"), epoch.values) }
                try checkStop()
                summary.epochs += epochs.count
                let numbers: [Int64] = epochs.compactMap { $0.get("epoch") }
                for start in stride(from: 0, to: numbers.count, by: Self.exportEpochBatch) {
                    let batch = numbers[start..<min(start + Self.exportEpochBatch, numbers.count)]
                    try source.forEachRow(select("tensors") + " WHERE run_id = ? AND epoch >= ? AND epoch <= ? ORDER BY epoch, layer, kind",
                                          [runID, batch.first!, batch.last!]) { tensor in
                        // A row changed outside Slope is refused, not copied (as every read of tensors refuses it).
                        _ = try SlopeStore.StoredTensor.checked(runID: runID, epoch: tensor.get("epoch"), layer: tensor["layer"], kind: tensor["kind"],
                                                                rows: tensor["rows"], cols: tensor["cols"], dtype: tensor["dtype"], data: tensor["data"])
                        try destination.execute(insert("tensors"), tensor.values)
                        summary.tensors += 1
                        if summary.tensors % 64 == 0 {
                            try checkStop()
                            progress.epochs = summary.epochs
                            progress.tensors = summary.tensors
                            onProgress(progress)
                        }
                    }
                }
            }
            progress.runsDone += 1
            progress.epochs = summary.epochs
            progress.tensors = summary.tensors
            onProgress(progress)
        }
        return summary
    }

    /// Removes this process's temporary files of an export to `path` (for a process that must end
    /// at once, e.g. on a signal, before the export could clean up itself).
    public static func removeTemporaryExportFiles(for path: String) {
        removeDatabaseFiles(temporaryExportPath(for: path))
    }

    /// Removes the temporary files of earlier exports to `folder/name` whose process is gone (killed
    /// before it could clean up: `.NAME.PID.partial` and its -wal, -shm and -journal files).
    private static func removeStalePartialFiles(folder: String, name: String) {
        let prefix = ".\(name).", suffixes = ["-wal", "-shm", "-journal", ""]
        for file in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] where file.hasPrefix(prefix) {
            var rest = String(file.dropFirst(prefix.count))
            guard let suffix = suffixes.first(where: { rest.hasSuffix(".partial" + $0) }) else { continue }
            rest.removeLast(".partial".count + suffix.count)
            guard let pid = pid_t(rest), pid > 0, pid != getpid(), kill(pid, 0) != 0, errno == ESRCH else { continue }
            unlink(URL(fileURLWithPath: folder).appendingPathComponent(file).path)
        }
    }

    /// Removes a database file and its -wal, -shm and -journal files (an export's temporary file).
    private static func removeDatabaseFiles(_ path: String) {
        for suffix in ["", "-wal", "-shm", "-journal"] { unlink(path + suffix) }
    }
}
