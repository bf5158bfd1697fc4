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

    /// The tables an export copies, parents first (each row's foreign keys are already there).
    static let exportedTables = ["sweeps", "runs", "epochs", "tensors"]

    /// Epochs whose tensors are read in one query: bounds the memory a long run's tensors take
    /// (PostgreSQL's answers arrive whole) without a round trip per epoch.
    static let exportEpochBatch = 32

    /// Copies sweep `sweepID` (nil: every sweep and every single run) into a new SQLite database
    /// at `path`, created with this build's schema, from one consistent snapshot of this store.
    /// The file is written beside `path` under a temporary name and moved into place at the end,
    /// so that it appears whole or not at all; an existing `path` is never replaced.
    /// - Throws: `.invalidValue` when something exists at `path` or its folder does not,
    ///   `.notFound` for an unknown sweep, and the errors of either database.
    public func exportSQLite(sweepID: Int64?, to path: String) throws -> SQLiteExport {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var info = stat(), isFolder: ObjCBool = false
        if lstat(path, &info) == 0 {
            throw StoreError.invalidValue("\(path) already exists: give a new file name (export never replaces a file)")
        }
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
            throw StoreError.invalidValue("cannot create \(path): the folder \(folder) does not exist (create it first)")
        }
        let name = URL(fileURLWithPath: path).lastPathComponent
        let temporary = URL(fileURLWithPath: folder).appendingPathComponent(".\(name).\(getpid()).partial").path
        Self.removeDatabaseFiles(temporary)
        var summary = SQLiteExport()
        do {
            let target = try SlopeStore(path: temporary, mode: .readWrite)
            do {
                summary = try copy(sweepID: sweepID, into: target)
                try target.close()
            } catch {
                try? target.close()
                throw error
            }
            // link() fails when a file appeared at `path` meanwhile: never replaced, even then.
            if link(temporary, path) != 0 {
                let reason = errno
                if reason == EEXIST { throw StoreError.invalidValue("\(path) already exists: give a new file name (export never replaces a file)") }
                // A file system without hard links: renaming is as atomic, `path` was checked above.
                guard rename(temporary, path) == 0 else {
                    throw StoreError.invalidValue("cannot create \(path): \(String(cString: strerror(errno)))")
                }
            }
            Self.removeDatabaseFiles(temporary)
        } catch {
            Self.removeDatabaseFiles(temporary)
            throw error
        }
        summary.bytes = Int64((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0)
        return summary
    }

    /// Copies the rows into `target` inside one read transaction of this store (one snapshot,
    /// while workers may go on writing); one write transaction of `target` per run.
    private func copy(sweepID: Int64?, into target: SlopeStore) throws -> SQLiteExport {
        let columns = try target.read { connection in
            try Dictionary(uniqueKeysWithValues: Self.exportedTables.map { table in
                (table, try connection.values("SELECT name FROM pragma_table_info(?) ORDER BY cid", [table], as: String.self))
            })
        }
        func select(_ table: String) -> String {
            "SELECT " + columns[table]!.map { "\"\($0)\"" }.joined(separator: ", ") + " FROM \(table)"
        }
        func insert(_ table: String) -> String {
            let names = columns[table]!
            return "INSERT INTO \(table) (" + names.map { "\"\($0)\"" }.joined(separator: ", ") + ") VALUES ("
                + Array(repeating: "?", count: names.count).joined(separator: ", ") + ")"
        }
        var summary = SQLiteExport()
        try read { source in
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
            for run in runs {
                let runID: Int64 = try run.required("id")
                try target.write { destination in
                    let epochs = try source.rows(select("epochs") + " WHERE run_id = ? ORDER BY epoch", [runID])
                    for epoch in epochs { try destination.execute(insert("epochs"), epoch.values) }
                    summary.epochs += epochs.count
                    let numbers: [Int64] = epochs.compactMap { $0.get("epoch") }
                    for start in stride(from: 0, to: numbers.count, by: Self.exportEpochBatch) {
                        let batch = numbers[start..<min(start + Self.exportEpochBatch, numbers.count)]
                        try source.forEachRow(select("tensors") + " WHERE run_id = ? AND epoch >= ? AND epoch <= ? ORDER BY epoch, layer, kind",
                                              [runID, batch.first!, batch.last!]) { tensor in
                            try destination.execute(insert("tensors"), tensor.values)
                            summary.tensors += 1
                        }
                    }
                }
            }
        }
        return summary
    }

    /// Removes a database file and its -wal, -shm and -journal files (an export's temporary file).
    private static func removeDatabaseFiles(_ path: String) {
        for suffix in ["", "-wal", "-shm", "-journal"] { unlink(path + suffix) }
    }
}
