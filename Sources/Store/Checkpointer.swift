// WAL checkpoints off the writer's thread. SQLite's automatic checkpoint runs inside the
// commit that crosses the threshold, so that epoch's write waits for the copy into the
// database file and two fsyncs. Here the writer's WAL hook only signals a background
// connection, which runs a PASSIVE checkpoint (it never blocks writers or readers) while
// training goes on. Durability is unchanged: synchronous=NORMAL syncs the WAL at checkpoints
// either way. PASSIVE copies alone never let the WAL restart while other processes keep
// committing (a restart needs every frame copied and no reader on an older snapshot at the
// moment a write begins), so the writer whose commit takes the WAL past 32 MiB runs a TRUNCATE
// checkpoint: it holds the write lock, waits briefly for readers of older snapshots, copies
// what is left and empties the file. Several processes each do so when they cross the mark.
import Foundation
import CWALBuffer
import GRDB
import GRDBSQLite

final class Checkpointer: @unchecked Sendable {  // state behind `condition`; `connection` only on `queue`
    let path: String
    /// WAL bytes not yet copied that start a background checkpoint (1 MiB: a short run's WAL is
    /// then mostly copied while it trains, not by close() at the end: `runner train` on digits
    /// with every epoch's tensors closed in ~4 ms instead of ~8 ms); WAL size at which the writer
    /// runs a TRUNCATE checkpoint itself, after this process's background one.
    static let backgroundThreshold = 1 << 20, writerThreshold = 32 << 20
    /// How long a TRUNCATE checkpoint waits for the write lock and for readers of older snapshots
    /// (it blocks other writers meanwhile); if that is not enough it copies what it can, and the
    /// next commit past the mark tries again.
    static let truncateWait: TimeInterval = 0.5
    private let condition = NSCondition()
    private var isRunning = false
    private var pageSize = 4096
    /// Frames of the current WAL already copied by the background checkpoint, and the WAL's
    /// size at the last commit (a smaller size means the WAL restarted from the beginning).
    private var backfilledFrames = 0, lastFrames = 0
    private var connection: DatabaseQueue?
    private let queue = DispatchQueue(label: "Slope.Store.checkpoint", qos: .utility)

    init(path: String) { self.path = path }

    /// Installs the hook on the writer connection (replaces SQLite's automatic checkpoint).
    func install(on db: Database) throws {
        pageSize = try Int.fetchOne(db, sql: "PRAGMA page_size") ?? 4096
        sqlite3_wal_hook(db.sqliteConnection, { context, connection, _, frames in
            guard let context, let connection else { return SQLITE_OK }
            Unmanaged<Checkpointer>.fromOpaque(context).takeUnretainedValue().didCommit(connection, frames: frames)
            return SQLITE_OK
        }, Unmanaged.passUnretained(self).toOpaque())
    }

    static func uninstall(from db: Database) {
        sqlite3_wal_hook(db.sqliteConnection, nil, nil)
    }

    /// Called by SQLite after each commit with the number of frames in the WAL.
    private func didCommit(_ connection: OpaquePointer, frames: Int32) {
        let walBytes = Int(frames) * pageSize
        if walBytes >= Self.writerThreshold {
            condition.lock()
            while isRunning { condition.wait() }  // it holds the checkpoint lock
            condition.unlock()
            Self.truncate(connection)
            condition.lock()
            backfilledFrames = 0
            lastFrames = 0
            condition.unlock()
            return
        }
        condition.lock()
        defer { condition.unlock() }
        if Int(frames) < lastFrames { backfilledFrames = 0 }
        lastFrames = Int(frames)
        guard !isRunning, (Int(frames) - backfilledFrames) * pageSize >= Self.backgroundThreshold else { return }
        isRunning = true
        queue.async { self.checkpointInBackground() }
    }

    private func checkpointInBackground() {
        if connection == nil {
            var configuration = Configuration()
            configuration.label = "Slope.Store.checkpoint"
            configuration.busyMode = .timeout(1)
            // Closed while the store's writer is still open, so never the last connection: its
            // checkpoint on close would only take a lock that readers meet as "database is locked".
            configuration.prepareDatabase { db in _ = db.sqliteConnection.map { slope_no_checkpoint_on_close($0) } }
            connection = Self.openExisting(path: path, configuration: configuration)
        }
        var logFrames: Int32 = 0, copiedFrames: Int32 = 0
        // SQLITE_BUSY (another process is checkpointing) leaves the work for later.
        try? connection?.writeWithoutTransaction { db in
            _ = sqlite3_wal_checkpoint_v2(db.sqliteConnection, nil, SQLITE_CHECKPOINT_PASSIVE, &logFrames, &copiedFrames)
        }
        condition.lock()
        if logFrames > 0 { backfilledFrames = Int(copiedFrames) }  // as of now; a later restart resets it
        isRunning = false
        condition.broadcast()
        condition.unlock()
    }

    /// A TRUNCATE checkpoint on `connection` (not in a transaction) with the store's busy handler
    /// limited to `truncateWait` seconds. Returns SQLite's result code (SQLITE_BUSY: not all of it
    /// could be done; what could be copied was).
    @discardableResult
    static func truncate(_ connection: OpaquePointer) -> Int32 {
        SQLiteBackend.withShortBusyWait(truncateWait) {
            sqlite3_wal_checkpoint_v2(connection, nil, SQLITE_CHECKPOINT_TRUNCATE, nil, nil)
        }
    }

    /// The background connection to the database at `path`, opened read-write but never created
    /// (SQLite's `mode=rw`): a database deleted after the store opened it (`rm slope.db*` while a
    /// sweep trains) must not come back as a new empty file at its path, which the workers would
    /// then take for another file put in its place. Nil when there is no such file (no checkpoint).
    static func openExisting(path: String, configuration: Configuration) -> DatabaseQueue? {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        guard let encoded = absolute.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) else { return nil }
        return try? DatabaseQueue(path: "file://\(encoded)?mode=rw", configuration: configuration)
    }

    /// Waits for a running checkpoint and closes the background connection.
    func close() {
        queue.sync { connection = nil }
    }
}
