// The SQLite store (GRDB, the embedded default): checks a file is a Slope database before
// opening it, migrates it, keeps it in WAL mode with the background Checkpointer and the busy
// handler that waits for other processes' locks, and closes it so that readers in other
// processes never meet "database is locked". Its SQLConnection runs Store's shared queries on
// GRDB's cached statements; the epoch write's fast path is in SQLiteEpochWrite.swift.
import CWALBuffer
import Foundation
import GRDB

final class SQLiteBackend: StoreBackend, @unchecked Sendable {  // DatabasePool is thread-safe; the rest is immutable or behind closeLock
    /// Page size of new databases. Measured on log-digits / log-wide: 4 KiB pages make megabyte
    /// BLOBs long overflow chains (many WAL frames and syscalls), 64 KiB pages make every small
    /// epoch rewrite several 64 KiB b-tree pages; 8 KiB is the best compromise for both.
    static let pageSize = 8192
    typealias Mode = SlopeStore.Mode
    typealias LockWaiting = SlopeStore.LockWaiting

    let path: String
    let mode: SlopeStore.Mode
    let busyTimeout: TimeInterval
    let pool: DatabasePool
    private let checkpointer: Checkpointer?
    /// The file at `path` as it was just before it was opened (when the open created it, just
    /// after; nil if it was gone by then): its device and inode tell when another file takes its
    /// path. Taken before, not after, so that a file put in its place during the open is seen as a
    /// replacement (and opened again by the dashboard) rather than taken for the one opened.
    private let openedFile: FileState?
    /// Whether the database is read as immutable (`readOnlyOpenPath`). SQLite then takes no locks,
    /// so a read that ends to find the file changed since `openedFile` (its size or time too) fails
    /// (`.changedWhileRead`) rather than answer from pages of two versions.
    private let isImmutable: Bool

    var dialect: SQLDialect { .sqlite }
    var location: String { path }

    /// Opens (creating and migrating in `.readWrite` mode) the database at `path`.
    /// `.readOnly` never migrates or writes: it refuses a database that needs migrating.
    /// With `lockWaiting`, writes wait for another process's lock for as long as it takes (saying
    /// so after `noticeAfter` seconds) instead of giving up after `busyTimeout`.
    /// - Throws: `StoreError` (`.notASlopeDatabase`, `.newerSchema`, `.olderSchema`, `.notFound`, ...).
    init(path: String, mode: SlopeStore.Mode, busyTimeout: TimeInterval, lockWaiting: SlopeStore.LockWaiting?) throws {
        self.path = path
        self.mode = mode
        self.busyTimeout = busyTimeout
        // Every connection of the process, from here on, writes a transaction's WAL frames in one
        // call (CWALBuffer). If it cannot be registered, SQLite's default VFS works the same, slower.
        _ = slope_wal_buffer_register()
        let checkpointer = mode == .readWrite ? Checkpointer(path: path) : nil
        self.checkpointer = checkpointer
        do {
            (pool, openedFile, isImmutable) = try Self.openPool(path: path, mode: mode, busyTimeout: busyTimeout,
                                                                lockWaiting: lockWaiting, checkpointer: checkpointer)
        } catch {
            throw StoreError.wrap(error, path: path, busyTimeout: busyTimeout)
        }
    }

    /// What became of the file at `path` since it was opened, as `fate()` tells it.
    private enum FileFate {
        /// The same file, unchanged (or it cannot be looked at, or was not there when opened).
        case unchanged
        /// No file at the path any more.
        case deleted
        /// Another file (another device or inode) has the path.
        case replaced
        /// The same file, written in place: its size or modification time changed.
        case changed
    }

    /// One `stat` of the path against the file as it was opened (`openedFile`).
    private func fate() -> FileFate {
        guard let openedFile else { return .unchanged }
        guard let now = FileState(path) else { return errno == ENOENT ? .deleted : .unchanged }
        if !now.isSameFile(as: openedFile) { return .replaced }
        return now == openedFile ? .unchanged : .changed
    }

    /// What became of the file at `path` since it was opened: nil while it is the same file,
    /// unchanged (or cannot be looked at), else "PATH was deleted", "PATH was replaced by another
    /// file" or "PATH was changed by another process". The open connections keep reading the file
    /// they opened, whatever now has its path. A file written in place is changed too (its size or
    /// modification time): another database copied over it (`cp`) leaves the WAL index as it was,
    /// so the open connections would mix their cached pages with the new file's (stale rows, or
    /// "malformed"); a file read as immutable (`readOnlyOpenPath`) would fail (`.changedWhileRead`).
    /// A writer's checkpoint changes it as well: a new open then reads the same data. One `stat`.
    func fileChange() -> String? {
        switch fate() {
        case .unchanged: return nil
        case .deleted: return "\(path) was deleted"
        case .replaced: return "\(path) was replaced by another file"
        case .changed: return "\(path) was changed by another process"
        }
    }

    /// `StoreBackend.fileGone`: deleted or replaced (a file written in place is still the one the
    /// writes go to). One `stat`.
    func fileGone() -> StoreError? {
        switch fate() {
        case .deleted: return .databaseGone(path: path, replaced: false)
        case .replaced: return .databaseGone(path: path, replaced: true)
        case .unchanged, .changed: return nil
        }
    }

    deinit {
        try? close()
    }

    private let closeLock = NSLock()
    private var isClosed = false

    /// The inode, size and modification time (nanoseconds) of the database file, and the size and
    /// time of its write-ahead log: one `stat` of each.
    func changeToken() -> String {
        func part(_ state: FileState?) -> String {
            state.map { "\($0.size).\($0.seconds).\($0.nanoseconds)" } ?? "-"
        }
        // The inode too: another file put in its place, even of the same size and time, is a change.
        let database = FileState(path)
        return (database.map { "\($0.inode):" } ?? "") + part(database) + "/" + part(FileState(path + "-wal"))
    }

    /// Closes the database: the last connection to close copies the WAL into the file and
    /// removes the `-wal` and `-shm` files. Later calls do nothing; any other use afterwards throws.
    func close() throws {
        closeLock.lock()
        defer { closeLock.unlock() }
        guard !isClosed else { return }
        isClosed = true
        if let checkpointer {
            pool.writeWithoutTransaction { Checkpointer.uninstall(from: $0) }
            checkpointer.close()
            // Empty the WAL now, while other processes can still read: the last connection to
            // close copies what is left under an exclusive lock, which readers (a sqlite3 shell
            // without a busy timeout) meet as "database is locked".
            pool.writeWithoutTransaction { db in db.sqliteConnection.map { Checkpointer.truncate($0) } }
            // While another process has the database open this one is not the last to close, and
            // SQLite's attempt to checkpoint on close would take the database file's pending lock,
            // which a reader without a busy timeout meets as "database is locked". Only the last
            // process to close checkpoints and removes the -wal and -shm files.
            if SlopeStore.otherProcessesHaveOpen(path: path) {
                pool.writeWithoutTransaction { db in _ = db.sqliteConnection.map { slope_no_checkpoint_on_close($0) } }
            }
        }
        do {
            // GRDB closes the writer before the readers, and a read-only connection that closes
            // last cannot remove the WAL: close the idle readers first.
            pool.releaseMemory()
            try pool.close()
        } catch {
            throw StoreError.wrap(error, path: path, busyTimeout: busyTimeout)
        }
    }

    /// Checks, opens and migrates (or verifies). While a new database is being set up by several
    /// processes, SQLite can answer SQLITE_BUSY (or SQLITE_PROTOCOL) without waiting (a deferred
    /// transaction whose snapshot went stale, the switch to WAL): those attempts are retried until
    /// the busy timeout.
    /// Returns the pool, the file as it was before the pool opened it and whether it is read as immutable.
    private static func openPool(path: String, mode: Mode, busyTimeout: TimeInterval, lockWaiting: LockWaiting?,
                                 checkpointer: Checkpointer?) throws -> (DatabasePool, openedFile: FileState?, isImmutable: Bool) {
        let started = Date(), deadline = started.addingTimeInterval(busyTimeout)
        var noticed = false
        while true {
            do {
                try checkIsSlopeDatabase(path: path, mode: mode, busyTimeout: busyTimeout)
                let openPath = mode == .readOnly ? readOnlyOpenPath(path) : path
                let openedFile = FileState(path)
                let configuration = Self.configuration(mode: mode, busyTimeout: busyTimeout, lockWaiting: lockWaiting,
                                                  path: path, checkpointer: checkpointer)
                let pool = try DatabasePool(path: openPath, configuration: configuration)
                switch mode {
                case .readWrite: try Migrations.migrate(pool, path: path)
                case .readOnly: try Migrations.verify(pool, path: path)
                }
                let isImmutable = openPath != path
                if isImmutable, FileState(path) != openedFile {
                    try? pool.close()
                    throw StoreError.changedWhileRead(path: path)
                }
                return (pool, openedFile ?? FileState(path), isImmutable)
            } catch let error as DatabaseError
                        where [.SQLITE_BUSY, .SQLITE_LOCKED, .SQLITE_PROTOCOL].contains(error.resultCode)
                              && (Date() < deadline || lockWaiting.map { !$0.shouldGiveUp() } ?? false) {
                // A writer stopped inside a write (SIGSTOP) keeps every opener here: say so, and
                // for whom, as a write waiting for the lock does.
                if let lockWaiting, !noticed, Date().timeIntervalSince(started) >= lockWaiting.noticeAfter {
                    noticed = true
                    lockWaiting.onWait(SlopeStore.writeLockHolder(path: path))
                }
                usleep(useconds_t.random(in: 2_000...20_000))
            }
        }
    }

    /// The name to open a database read-only by. With no `-wal` beside it nobody has the
    /// database open (a WAL database has one while it is), and SQLite would create the `-wal` and
    /// `-shm` files to read it: impossible in a folder this process cannot write, and harmful
    /// when the database is another user's or one this process cannot write (in a shared folder,
    /// files of this user that the owner could not write would stop the owner's next write;
    /// root's too). It is then opened as immutable:
    /// SQLite reads the file alone, creates nothing and takes no locks; `FileState` finds a change
    /// by another process (`.changedWhileRead`). Otherwise (the database is in use, or this
    /// process could write it anyway) the open goes on as usual: with the owner's `-shm` beside
    /// the `-wal`, SQLite reads through it without writing anything.
    static func readOnlyOpenPath(_ path: String) -> String {
        let file = URL(fileURLWithPath: path).resolvingSymlinksInPath().path  // -wal and -shm sit beside the real file
        let folder = URL(fileURLWithPath: file).deletingLastPathComponent().path
        var info = stat()
        guard !FileManager.default.fileExists(atPath: file + "-wal"), stat(file, &info) == 0,
              access(folder, W_OK) != 0 || access(file, W_OK) != 0 || info.st_uid != geteuid(),
              let encoded = file.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) else { return path }
        return "file:\(encoded)?immutable=1"
    }

    /// A file's identity, size and modification time: equal before and after a read when no
    /// process changed the file meanwhile.
    struct FileState: Equatable {
        var device: UInt64, inode: UInt64, size: Int64, seconds: Int, nanoseconds: Int

        /// The state of the file `path` leads to (nil when it is gone: `errno` says why).
        init?(_ path: String) {
            var info = stat()
            guard stat(path, &info) == 0 else { return nil }
            device = UInt64(info.st_dev)
            inode = UInt64(info.st_ino)
            size = Int64(info.st_size)
            seconds = info.st_mtim.tv_sec
            nanoseconds = info.st_mtim.tv_nsec
        }

        /// Whether both are states of one file (its device and inode), changed or not.
        func isSameFile(as other: FileState) -> Bool { device == other.device && inode == other.inode }
    }

    /// Waits for another process's write lock by looking again every 0.25-1.25 ms (at random)
    /// until `timeout` seconds have passed since the first look. SQLite's own handler sleeps up to
    /// 100 ms between looks, so a process that commits back to back (a worker whose epochs are
    /// written faster than the other looks) could hold the lock at nearly every look and keep the
    /// other waiting past its timeout. With `waiting`, there is no timeout: after `noticeAfter`
    /// seconds it calls `onWait` (once per wait, with `holder()`), looks every 10 ms or so from
    /// then on, and stops only when `shouldGiveUp` says so. `now` and `sleep` are the clock and the
    /// pause (tests pass their own).
    static func busyHandler(timeout: TimeInterval, waiting: LockWaiting? = nil,
                            holder: @escaping @Sendable () -> Int32? = { nil },
                            now: @escaping @Sendable () -> TimeInterval = { ProcessInfo.processInfo.systemUptime },
                            sleep: @escaping @Sendable (useconds_t) -> Void = { _ = usleep($0) }) -> Database.BusyCallback {
        // A connection is used by one thread at a time, and SQLite calls the handler on it. A wait
        // is the run of calls with tries 0, 1, 2...: any other count starts a new one (SQLite does
        // not always start again from 0, for example while it loads the schema).
        let startKey = "Slope.busyHandler.start", triesKey = "Slope.busyHandler.tries", noticedKey = "Slope.busyHandler.noticed"
        return { tries in
            let dictionary = Thread.current.threadDictionary
            let previous = dictionary[triesKey] as? Int
            if tries == 0 || previous != tries - 1 || dictionary[startKey] == nil {
                dictionary[startKey] = now()
                dictionary[noticedKey] = false
            }
            dictionary[triesKey] = tries
            let start = dictionary[startKey] as? TimeInterval ?? now()
            let waited = now() - start
            let shortWait = dictionary[shortWaitKey] as? TimeInterval
            guard let waiting, shortWait == nil else {
                let timeout = shortWait ?? timeout
                guard waited < timeout else { return false }
                sleep(useconds_t.random(in: 250...1250))
                return true
            }
            if waiting.shouldGiveUp() { return false }
            if waited >= waiting.noticeAfter {
                if dictionary[noticedKey] as? Bool != true {
                    dictionary[noticedKey] = true
                    waiting.onWait(holder())
                }
                sleep(useconds_t.random(in: 5_000...15_000))  // a long wait: look less often
            } else {
                sleep(useconds_t.random(in: 250...1250))
            }
            return true
        }
    }

    private static let shortWaitKey = "Slope.busyHandler.shortWait"

    /// Runs `body` (SQLite calls on this thread) with the busy handler giving up after `seconds`,
    /// whatever the store's timeout or lock waiting: for work that may be skipped and done later.
    static func withShortBusyWait<T>(_ seconds: TimeInterval, _ body: () -> T) -> T {
        let dictionary = Thread.current.threadDictionary
        dictionary[shortWaitKey] = seconds
        defer { dictionary.removeObject(forKey: shortWaitKey) }
        return body()
    }

    static func configuration(mode: Mode, busyTimeout: TimeInterval, lockWaiting: LockWaiting?, path: String,
                              checkpointer: Checkpointer?) -> Configuration {
        var configuration = Configuration()
        configuration.label = "Slope.Store"
        configuration.readonly = mode == .readOnly
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .callback(Self.busyHandler(timeout: busyTimeout, waiting: lockWaiting,
                                                            holder: { SlopeStore.writeLockHolder(path: path) }))
        configuration.maximumReaderCount = 4
        configuration.prepareDatabase { db in
            // Readers never checkpoint on close: the writer closes after them (see close()).
            guard !db.configuration.readonly else { _ = db.sqliteConnection.map { slope_no_checkpoint_on_close($0) }; return }
            // page_size only takes effect before the first table exists (it is ignored later);
            // GRDB then switches the file to WAL. synchronous=NORMAL: see docs/schema.md.
            try db.execute(sql: """
                PRAGMA page_size = \(SQLiteBackend.pageSize);
                PRAGMA synchronous = NORMAL;
                PRAGMA cache_size = -32768;
                """)
            try checkpointer?.install(on: db)
        }
        return configuration
    }

    /// Refuses garbage files and other programs' SQLite databases before anything touches them
    /// (opening a pool would switch the file to WAL).
    static func checkIsSlopeDatabase(path: String, mode: Mode, busyTimeout: TimeInterval) throws {
        // Said as what they are, not "does not exist" (report) or SQLite's "unable to open" (runner).
        var pathInfo = stat()
        if stat(path, &pathInfo) != 0 {
            if errno == ELOOP {
                throw StoreError.invalidValue("\(path) is a symbolic link that loops (too many levels of symbolic links): point it at a database file, or give another path")
            }
            if errno == ENAMETOOLONG {
                throw StoreError.invalidValue("\(shownText(path, limit: 60)) is too long a file name (at most \(NAME_MAX) bytes a name, \(PATH_MAX) a path): give a shorter one")
            }
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            if mode == .readOnly { throw StoreError.noDatabase(path: path, reason: "the file does not exist (create one with `runner train` or `runner sweep`, or give --db PATH)") }
            return
        }
        if isDirectory.boolValue { throw StoreError.isADirectory(path) }
        var info = stat()
        if stat(path, &info) == 0, info.st_mode & S_IFMT != S_IFREG {  // reading a named pipe would wait forever
            throw StoreError.invalidValue("\(path) is not a regular file (a pipe, socket or device): give the path of a database file")
        }
        // A file this process cannot write (mode, read-only mount, immutable): refused before
        // SQLite switches it to WAL, which would leave empty -wal and -shm files behind.
        if mode == .readWrite && access(path, W_OK) != 0 { throw StoreError.readOnly(path: path) }
        if mode == .readWrite, let error = unwritableCompanionFiles(path: path) { throw error }
        guard let handle = FileHandle(forReadingAtPath: path) else { throw StoreError.readOnly(path: path) }
        let header = [UInt8]((try? handle.read(upToCount: 100)) ?? Data())
        try? handle.close()
        if header.isEmpty {  // a new file that a concurrent opener has just created
            if mode == .readOnly { throw StoreError.noDatabase(path: path, reason: "the file is empty (create one with `runner train` or `runner sweep`, or give --db PATH)") }
            return
        }
        guard header.count == 100, header.starts(with: Array("SQLite format 3\u{0}".utf8)) else {
            throw StoreError.notASlopeDatabase(path: path, reason: "not an SQLite file")
        }
        let headerID = header[68..<72].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        if headerID != 0 && headerID != SlopeStore.applicationID {
            throw StoreError.notASlopeDatabase(
                path: path, reason: "its application_id is \(headerID), not Slope's \(SlopeStore.applicationID)")
        }
        // The header may lag the WAL (a concurrent opener's first migration not checkpointed yet),
        // and a newer Slope's database must be refused before a pool opens it (opening writes:
        // GRDB makes sure a -wal file exists by creating and dropping a table). Ask SQLite,
        // without writing anything.
        let (id, tables, migrations) = try readSchemaFacts(path: path, busyTimeout: busyTimeout)
        if UInt32(truncatingIfNeeded: id) == SlopeStore.applicationID {
            let unknown = Set(migrations).subtracting(Migrations.knownIdentifiers).sorted()
            if !unknown.isEmpty { throw StoreError.newerSchema(path: path, unknown: unknown) }
            return
        }
        if id != 0 {
            throw StoreError.notASlopeDatabase(
                path: path, reason: "its application_id is \(id), not Slope's \(SlopeStore.applicationID)")
        }
        // `grdb_migrations` is GRDB's own table name: any GRDB application's database has it. Its
        // migrations, none of them Slope's, make it that program's, not a newer Slope's (a Slope
        // database carries Slope's application id, and its first migration is always Slope's).
        if !migrations.isEmpty && Set(migrations).isDisjoint(with: Migrations.knownIdentifiers) {
            let names = migrations.prefix(5).map { "'\($0)'" }.joined(separator: ", ") + (migrations.count > 5 ? ", ..." : "")
            throw StoreError.notASlopeDatabase(path: path, reason: "its grdb_migrations table lists another program's migrations: \(names)")
        }
        let foreign = tables.filter { $0 != "grdb_migrations" }
        if !foreign.isEmpty {
            throw StoreError.notASlopeDatabase(
                path: path, reason: "it holds another program's tables: \(foreign.prefix(5).joined(separator: ", "))")
        }
        if mode == .readOnly { throw StoreError.noDatabase(path: path, reason: "it has no Slope tables yet (create them with `runner train` or `runner sweep`)") }
    }

    /// The -wal and -shm files beside the database that exist but that this process cannot write
    /// (another user's, left by that user reading the database in a shared folder): SQLite would
    /// fail every write with "attempt to write a readonly database". Nil when there are none.
    static func unwritableCompanionFiles(path: String) -> StoreError? {
        let file = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        var details: [(path: String, info: stat)] = []
        for companion in [file + "-wal", file + "-shm"] {
            var info = stat()
            if lstat(companion, &info) == 0 && access(companion, W_OK) != 0 { details.append((companion, info)) }
        }
        guard !details.isEmpty else { return nil }
        func userName(_ id: uid_t) -> String { getpwuid(id).map { String(cString: $0.pointee.pw_name) } ?? "uid \(id)" }
        let owners = Set(details.map { userName($0.info.st_uid) }).sorted().joined(separator: " and ")
        let names = details.map(\.path).joined(separator: " and ")
        let one = details.count == 1
        var walInfo = stat()
        let walHoldsCommits = stat(file + "-wal", &walInfo) == 0 && walInfo.st_size > 0
        let fix = walHoldsCommits
            ? "\(file)-wal holds commits not yet in the database file: have its owner or root give \(one ? "it" : "them") to this user "
                + "(chown \(userName(geteuid())) \(details.map(\.path).joined(separator: " "))), then retry"
            : "with no process using the database, remove \(one ? "it" : "them") (they hold no data: rm \(details.map(\.path).joined(separator: " "))), then retry"
        return .unwritableCompanionFiles(path: path, detail: "\(names) belong\(one ? "s" : "") to user \(owners) and this user "
            + "(\(userName(geteuid()))) cannot write \(one ? "it" : "them") (left by that user reading the database, e.g. in a shared "
            + "folder); \(fix).")
    }

    /// The application id, table names and applied migrations of an existing SQLite file, read
    /// without changing a byte of it: immutable when no -wal file lies beside it (SQLite then
    /// creates no -shm either), else through a read-only connection.
    private static func readSchemaFacts(path: String, busyTimeout: TimeInterval) throws
        -> (applicationID: Int64, tables: [String], migrations: [String]) {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .callback(busyHandler(timeout: busyTimeout))
        func read(_ openPath: String) throws -> (applicationID: Int64, tables: [String], migrations: [String]) {
            let queue = try DatabaseQueue(path: openPath, configuration: configuration)
            defer { try? queue.close() }
            return try queue.read { db in
                let tables = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
                let migrations = tables.contains("grdb_migrations")
                    ? try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations") : []
                return (try Int64.fetchOne(db, sql: "PRAGMA application_id") ?? 0, tables, migrations)
            }
        }
        let file = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        if !FileManager.default.fileExists(atPath: file + "-wal"),
           let encoded = file.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed),
           let facts = try? read("file:\(encoded)?immutable=1") {
            return facts
        }
        // A -wal file (the database is in use), or a writer started meanwhile: read it as SQLite
        // readers do (this never writes the database file).
        return try read(path)
    }

    // MARK: - Transactions with errors mapped to StoreError

    /// One write transaction (BEGIN IMMEDIATE: waits up to the busy timeout for the write lock).
    /// SQLite's errors leave as `StoreError`; `body`'s own errors (a `ReportError`...) as they are.
    func write<T>(_ body: (any SQLConnection) throws -> T) throws -> T {
        guard mode == .readWrite else { throw StoreError.readOnly(path: path) }
        do {
            return try pool.write { db in try body(SQLiteConnection(db)) }
        } catch let error as DatabaseError {
            throw StoreError.wrap(error, path: path, busyTimeout: busyTimeout)
        }
    }

    /// One read transaction on a WAL snapshot: never blocks writers, never blocked by them.
    func read<T>(_ body: (any SQLConnection) throws -> T) throws -> T {
        do {
            let result = try pool.read { db in try body(SQLiteConnection(db)) }
            if isImmutable, FileState(path) != openedFile { throw StoreError.changedWhileRead(path: path) }
            return result
        } catch let error as DatabaseError {
            if isImmutable, FileState(path) != openedFile { throw StoreError.changedWhileRead(path: path) }
            throw StoreError.wrap(error, path: path, busyTimeout: busyTimeout)
        }
    }
}

/// Store's shared queries on one GRDB `Database` (inside one of the pool's transactions), on
/// cached statements: the same SQL text is prepared once per connection.
final class SQLiteConnection: SQLConnection {
    private let db: Database

    init(_ db: Database) { self.db = db }

    var dialect: SQLDialect { .sqlite }

    func rows(_ sql: String, _ arguments: [any SQLValueConvertible]) throws -> [SQLRow] {
        var result: [SQLRow] = []
        try forEachRow(sql, arguments) { result.append($0) }
        return result
    }

    func forEachRow(_ sql: String, _ arguments: [any SQLValueConvertible], _ body: (SQLRow) throws -> Void) throws {
        let statement = try prepared(sql, arguments)
        let columns = statement.columnNames
        let cursor = try Row.fetchCursor(statement)
        // Each value read from the statement the cursor steps, as GRDB reads a row's value, without
        // its generic decoding per value (most of a 100,000-row read's time in a debug build).
        let handle = statement.sqliteStatement, count = CInt(columns.count)
        while try cursor.next() != nil {
            var values: [SQLValue] = []
            values.reserveCapacity(columns.count)
            var index: CInt = 0
            while index < count {
                values.append(SQLValue(DatabaseValue(sqliteStatement: handle, index: index)))
                index += 1
            }
            try body(SQLRow(columns: columns, values: values))
        }
    }

    @discardableResult
    func execute(_ sql: String, _ arguments: [any SQLValueConvertible]) throws -> Int {
        try prepared(sql, arguments).execute()
        return db.changesCount
    }

    private func prepared(_ sql: String, _ arguments: [any SQLValueConvertible]) throws -> Statement {
        let statement = try db.cachedStatement(sql: sql)
        statement.arguments = StatementArguments(arguments.map { $0.sqlValue.databaseValue })
        return statement
    }
}

extension SQLValue {
    /// GRDB's value for this one (the same storage class).
    var databaseValue: DatabaseValue {
        switch self {
        case .null: return .null
        case .integer(let value): return value.databaseValue
        case .real(let value): return value.databaseValue
        case .text(let value): return value.databaseValue
        case .blob(let value): return value.databaseValue
        }
    }

    init(_ value: DatabaseValue) {
        switch value.storage {
        case .null: self = .null
        case .int64(let value): self = .integer(value)
        case .double(let value): self = .real(value)
        case .string(let value): self = .text(value)
        case .blob(let value): self = .blob(value)
        }
    }
}

extension StoreError {
    /// Why SQLite could not open `path`, said in terms of the file system where it can tell.
    static func cannotOpen(path: String, message: String) -> StoreError {
        var isDirectory: ObjCBool = false
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue { return isADirectory(path) }
        if let problem = SlopeStore.folderProblem(of: path) { return .invalidValue("cannot create the database \(path): \(problem)") }
        if !FileManager.default.fileExists(atPath: path) && !FileManager.default.isWritableFile(atPath: directory) {
            return .folderNotWritable(path: path, folder: SlopeStore.shownPath(directory))  // no database to copy anywhere: the folder is the matter
        }
        // A WAL database read from a folder nobody may write here: SQLite must create the -shm
        // file beside a -wal to read the -wal's commits, and cannot.
        let file = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        let folder = URL(fileURLWithPath: file).deletingLastPathComponent().path
        if FileManager.default.fileExists(atPath: file + "-wal") && !FileManager.default.fileExists(atPath: file + "-shm")
            && access(folder, W_OK) != 0 {
            return .sqlite(path: path, message: "cannot open it (\(message)): it has a -wal file but no -shm file, and SQLite cannot "
                + "create one in \(folder), which this user cannot write; copy the database and its -wal file together to a "
                + "writable folder and read the copy")
        }
        return .sqlite(path: path, message: "cannot open it (\(message))")
    }

    /// Maps any error thrown while talking to SQLite into a StoreError.
    static func wrap(_ error: Error, path: String, busyTimeout: TimeInterval) -> StoreError {
        if let storeError = error as? StoreError { return storeError }
        guard let databaseError = error as? DatabaseError else {
            return .sqlite(path: path, message: String(describing: error))
        }
        let message = databaseError.message ?? databaseError.description
        switch databaseError.resultCode {
        case .SQLITE_FULL: return .diskFull(path: path)
        case .SQLITE_IOERR: return .ioError(path: path, message: message)
        case .SQLITE_READONLY: return SQLiteBackend.unwritableCompanionFiles(path: path) ?? .readOnly(path: path)
        case .SQLITE_CORRUPT: return .corrupt(path: path, detail: message)
        case .SQLITE_NOTADB: return .notASlopeDatabase(path: path, reason: "not an SQLite file")
        // SQLITE_PROTOCOL: a WAL lock race (another connection changed the wal-index while this
        // one tried to read or write it) that SQLite already retried; transient like BUSY.
        case .SQLITE_BUSY, .SQLITE_LOCKED, .SQLITE_PROTOCOL: return .busy(path: path, timeout: busyTimeout)
        case .SQLITE_CONSTRAINT: return .invalidValue("the database refused a value: \(message)")
        case .SQLITE_CANTOPEN: return cannotOpen(path: path, message: message)
        default: return .sqlite(path: path, message: message)
        }
    }
}

// MARK: - SQLite-only maintenance (runner compact, storage sizes)

extension SQLiteBackend {
    /// Size of the database file and its -wal file, in bytes.
    func fileBytes() -> Int64 {
        [path, path + "-wal"].reduce(Int64(0)) { sum, file in
            var info = stat()
            return sum + (stat(file, &info) == 0 ? Int64(info.st_size) : 0)
        }
    }

    /// Pages of the file that hold nothing (deleted rows' space, until VACUUM gives it back).
    func freePageCount() throws -> Int {
        do {
            return try pool.read { db in try Int.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0 }
        } catch {
            throw StoreError.wrap(error, path: path, busyTimeout: busyTimeout)
        }
    }

    /// Rewrites the database without its free pages (SQLite's VACUUM), then truncates the WAL, so
    /// the file shrinks by the space deleted rows left. VACUUM needs free disk space for a full
    /// copy of the database (the new content goes through the WAL) and waits, up to the busy
    /// timeout, for other processes' writes; readers may go on meanwhile.
    func vacuum() throws {
        guard mode == .readWrite else { throw StoreError.readOnly(path: path) }
        do {
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: "VACUUM")
                // The commit may have started a background checkpoint (Checkpointer), and SQLite
                // runs one checkpoint at a time: a TRUNCATE that meets it answers busy (a result
                // row, not an error) and leaves the WAL as large as the database. Retry until
                // it truncates, for up to the busy timeout.
                let deadline = Date().addingTimeInterval(min(busyTimeout, 600))
                while let busy = try Int.fetchOne(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)"), busy != 0, Date() < deadline {
                    usleep(5_000)
                }
            }
        } catch {
            throw StoreError.wrap(error, path: path, busyTimeout: busyTimeout)
        }
    }
}
