// The VFS that writes each transaction's WAL frames with one call (Sources/CWALBuffer): it
// really does, frames of a rolled-back transaction never reach the file after the writer lock
// is released, and a commit whose write fails is rolled back whole.
import CWALBuffer
import Foundation
import GRDB
import GRDBSQLite
@testable import Store
import TestSupport
import XCTest

final class WALBufferTests: XCTestCase {
    private let worker = WorkerIdentity.current(label: "wal buffer test")

    private func epoch(_ number: Int, floats: Int) -> (SlopeStore.EpochRecord, [SlopeStore.TensorRecord]) {
        let values = (0..<floats).map { Float(bitPattern: UInt32(truncatingIfNeeded: ($0 + 7 * number) &* 2_654_435_761)) }
        return (SlopeStore.EpochRecord(epoch: number, trainLoss: 1.0 / Double(number + 1), validationLoss: nil,
                                       trainAccuracy: nil, validationAccuracy: nil, seconds: 0.01),
                [.float32(layer: 1, kind: .weight, rows: 1, cols: floats, values)])
    }

    private func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
    }

    /// A new store at `path` with a run claimed by `worker` and its small epoch 0 written; the
    /// store, the run and its holder.
    private func storeWithFirstEpoch(at path: String) throws -> (SlopeStore, Int64, RunHolder) {
        let store = try SlopeStore(path: path)
        let runID = try store.createRun(.example(epochs: 2))
        let holder = RunHolder(worker: worker, claimToken: try XCTUnwrap(store.claimRun(runID: runID, worker: worker)).claimToken)
        let (first, firstTensors) = epoch(0, floats: 16)
        try store.writeEpoch(runID: runID, first, tensors: firstTensors, holder: holder)
        return (store, runID, holder)
    }

    func testAnEpochOfManyFramesIsOneWriteCall() throws {
        let directory = try TemporaryDirectory(prefix: "slope-walbuffer")
        defer { directory.remove() }
        let path = directory.path("one-call.db")
        let (store, runID, holder) = try storeWithFirstEpoch(at: path)

        let walBefore = fileSize(path + "-wal")
        let callsBefore = slope_wal_buffer_write_calls()
        let (second, secondTensors) = epoch(1, floats: 12_000)  // 48 KB: 6 overflow pages and more
        try store.writeEpoch(runID: runID, second, tensors: secondTensors, holder: holder)
        let frames = (fileSize(path + "-wal") - walBefore) / (SQLiteBackend.pageSize + 24)
        XCTAssertGreaterThanOrEqual(frames, 7, "the epoch spans many WAL frames")
        XCTAssertEqual(slope_wal_buffer_write_calls() - callsBefore, 1, "\(frames) frames, one write call")

        try store.close()
        let reopened = try SlopeStore(path: path, mode: .readOnly)
        XCTAssertEqual(try reopened.tensors(runID: runID, epoch: 1).first?.tensor, secondTensors[0])
    }

    func testFramesOfARolledBackTransactionNeverOverwriteAnotherWritersCommit() throws {
        _ = slope_wal_buffer_register()
        let directory = try TemporaryDirectory(prefix: "slope-walbuffer")
        defer { directory.remove() }
        let path = directory.path("rollback.db")
        func blob(_ seed: Int) -> Data {
            Data((0..<8_000).map { UInt8(truncatingIfNeeded: ($0 &+ seed) &* 2_654_435_761 >> 13) })
        }
        let first = try DatabaseQueue(path: path)
        try first.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA journal_mode = WAL")
            try db.execute(sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, data BLOB NOT NULL)")
            try db.execute(sql: "PRAGMA cache_size = 4")  // a large transaction spills frames into the WAL
        }
        // A transaction that spills frames into the WAL, then rolls back. (SQLite reads the WAL
        // back while rolling back, which writes out the buffer under the lock; dropping what is
        // still buffered at the unlock is checked call by call in WALBufferVFSTests.)
        try first.writeWithoutTransaction { db in
            try db.execute(sql: "BEGIN IMMEDIATE")
            for id in 1...40 { try db.execute(sql: "INSERT INTO t VALUES (?, ?)", arguments: [1_000 + id, blob(-id)]) }
            try db.execute(sql: "ROLLBACK")
        }
        // Another connection commits frames at the same WAL offsets...
        let second = try DatabaseQueue(path: path)
        try second.write { db in
            for id in 1...5 { try db.execute(sql: "INSERT INTO t VALUES (?, ?)", arguments: [id, blob(id)]) }
        }
        // ... and the first commits again: nothing of its rolled-back transaction may land now.
        try first.write { db in try db.execute(sql: "INSERT INTO t VALUES (?, ?)", arguments: [6, blob(6)]) }
        try first.close()
        try second.close()

        let check = try DatabaseQueue(path: path)
        try check.read { db in
            XCTAssertEqual(try String.fetchOne(db, sql: "PRAGMA integrity_check"), "ok")
            let rows = try Row.fetchAll(db, sql: "SELECT id, data FROM t ORDER BY id")
            XCTAssertEqual(rows.map { $0["id"] as Int }, [1, 2, 3, 4, 5, 6])
            for row in rows { XCTAssertEqual(row["data"] as Data, blob(row["id"])) }
        }
    }

    /// A write that fails at commit (here: the process's file size limit) fails the epoch whole,
    /// before its frames are published; the database stays sound and takes the epoch later.
    func testACommitWhoseWALWriteFailsIsRolledBackWhole() throws {
        let directory = try TemporaryDirectory(prefix: "slope-walbuffer")
        defer { directory.remove() }
        let path = directory.path("efbig.db")
        let (store, runID, holder) = try storeWithFirstEpoch(at: path)
        let (second, secondTensors) = epoch(1, floats: 16_000)  // 64 KB: buffered whole, written at commit

        var saved = rlimit()
        getrlimit(Int32(RLIMIT_FSIZE.rawValue), &saved)
        let previousHandler = signal(SIGXFSZ, SIG_IGN)
        var limit = saved
        limit.rlim_cur = rlim_t(max(fileSize(path + "-wal"), fileSize(path)) + 16_384)
        XCTAssertEqual(setrlimit(Int32(RLIMIT_FSIZE.rawValue), &limit), 0)
        let callsBefore = slope_wal_buffer_write_calls()
        XCTAssertThrowsError(try store.writeEpoch(runID: runID, second, tensors: secondTensors, holder: holder))
        let failedCalls = slope_wal_buffer_write_calls() - callsBefore
        setrlimit(Int32(RLIMIT_FSIZE.rawValue), &saved)
        signal(SIGXFSZ, previousHandler)
        XCTAssertEqual(failedCalls, 1, "the failure came from the one write at commit")

        XCTAssertEqual(try store.epochs(runID: runID).map(\.epoch), [0], "no half-written epoch")
        XCTAssertEqual(try store.run(id: runID).epochsDone, 0)
        try store.writeEpoch(runID: runID, second, tensors: secondTensors, holder: holder)
        try store.close()

        let reopened = try SlopeStore(path: path, mode: .readOnly)
        XCTAssertEqual(try reopened.epochs(runID: runID).map(\.epoch), [0, 1])
        XCTAssertEqual(try reopened.tensors(runID: runID, epoch: 1).first?.tensor, secondTensors[0])
        try reopened.sqlite!.pool.read { db in XCTAssertEqual(try String.fetchOne(db, sql: "PRAGMA integrity_check"), "ok") }
    }
}

/// The VFS's rules one call at a time, on files opened through it directly: what is buffered,
/// what writes it out, and that frames buffered when the writer lock is taken or released are
/// dropped rather than written (after the release, another writer may use those offsets).
final class WALBufferVFSTests: XCTestCase {
    private var directory: TemporaryDirectory!
    private var vfs: UnsafeMutablePointer<sqlite3_vfs>!
    private var filename: sqlite3_filename!
    private var database: UnsafeMutablePointer<sqlite3_file>!
    private var wal: UnsafeMutablePointer<sqlite3_file>!
    private let page = [UInt8](repeating: 0xAB, count: 4096)

    override func setUpWithError() throws {
        XCTAssertEqual(slope_wal_buffer_register(), SQLITE_OK)
        vfs = try XCTUnwrap(sqlite3_vfs_find("slope-wal-buffer"))
        directory = try TemporaryDirectory(prefix: "slope-walvfs")
        let path = directory.path("raw.db")
        filename = sqlite3_create_filename(path, path + "-journal", path + "-wal", 0, nil)
        database = try open(filename, flags: SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_CREATE | SQLITE_OPEN_READWRITE)
        wal = try open(sqlite3_filename_wal(filename), flags: SQLITE_OPEN_WAL | SQLITE_OPEN_CREATE | SQLITE_OPEN_READWRITE)
        var memory: UnsafeMutableRawPointer? = nil
        XCTAssertEqual(database.pointee.pMethods.pointee.xShmMap(database, 0, 32_768, 1, &memory), SQLITE_OK)
    }

    override func tearDown() {
        _ = database.pointee.pMethods.pointee.xShmUnmap(database, 1)
        for file in [wal, database] {
            _ = file!.pointee.pMethods.pointee.xClose(file)
            file!.deallocate()
        }
        sqlite3_free_filename(filename)
        directory.remove()
    }

    private func open(_ name: sqlite3_filename?, flags: Int32) throws -> UnsafeMutablePointer<sqlite3_file> {
        let file = UnsafeMutableRawPointer.allocate(byteCount: Int(vfs.pointee.szOsFile), alignment: 16)
            .bindMemory(to: sqlite3_file.self, capacity: 1)
        var outFlags: Int32 = 0
        XCTAssertEqual(vfs.pointee.xOpen(vfs, name, file, flags, &outFlags), SQLITE_OK)
        return file
    }

    /// A frame header with its page number and the commit field (database size after a commit, or 0).
    private func writeFrame(_ index: Int, commitSize: UInt32) {
        var header = [UInt8](repeating: 0, count: 24)
        header[3] = UInt8(index + 1)
        withUnsafeBytes(of: commitSize.bigEndian) { header.replaceSubrange(4..<8, with: $0) }
        let offset = Int64(32 + index * (24 + page.count))
        XCTAssertEqual(wal.pointee.pMethods.pointee.xWrite(wal, header, 24, offset), SQLITE_OK)
        XCTAssertEqual(wal.pointee.pMethods.pointee.xWrite(wal, page, Int32(page.count), offset + 24), SQLITE_OK)
    }

    private var walBytesOnDisk: Int {
        let path = String(cString: sqlite3_filename_wal(filename))
        return ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? -1
    }

    private func writerLock(_ flags: Int32) {
        XCTAssertEqual(database.pointee.pMethods.pointee.xShmLock(database, 0, 1, flags | SQLITE_SHM_EXCLUSIVE), SQLITE_OK)
    }

    func testFramesWaitForTheCommitFrameThenGoOutInOneWrite() {
        writerLock(SQLITE_SHM_LOCK)
        let calls = slope_wal_buffer_write_calls()
        XCTAssertEqual(wal.pointee.pMethods.pointee.xWrite(wal, [UInt8](repeating: 1, count: 32), 32, 0), SQLITE_OK)
        writeFrame(0, commitSize: 0)
        writeFrame(1, commitSize: 0)
        XCTAssertEqual(walBytesOnDisk, 0, "nothing written before the commit frame")
        writeFrame(2, commitSize: 3)
        XCTAssertEqual(walBytesOnDisk, 32 + 3 * (24 + page.count), "the commit frame's page writes everything")
        XCTAssertEqual(slope_wal_buffer_write_calls() - calls, 1)
        writerLock(SQLITE_SHM_UNLOCK)
    }

    /// After the commit frame, what SQLite writes (checksums rewritten in place) goes straight to
    /// the file, so its errors come back from that write; the next writer-lock holder buffers again.
    func testWritesAfterTheCommitFramePassThroughUntilTheLockChanges() throws {
        writerLock(SQLITE_SHM_LOCK)
        writeFrame(0, commitSize: 0)
        writeFrame(1, commitSize: 2)
        XCTAssertEqual(walBytesOnDisk, 32 + 2 * (24 + page.count))
        let calls = slope_wal_buffer_write_calls()
        let rewritten = [UInt8](repeating: 0x5A, count: 24)
        XCTAssertEqual(wal.pointee.pMethods.pointee.xWrite(wal, rewritten, 24, 32), SQLITE_OK)
        XCTAssertEqual(slope_wal_buffer_write_calls() - calls, 1, "written at once, not buffered")
        let onDisk = try Data(contentsOf: URL(fileURLWithPath: String(cString: sqlite3_filename_wal(filename))))
        XCTAssertEqual(Array(onDisk[32..<56]), rewritten)
        writerLock(SQLITE_SHM_UNLOCK)

        writerLock(SQLITE_SHM_LOCK)
        writeFrame(2, commitSize: 0)
        XCTAssertEqual(walBytesOnDisk, 32 + 2 * (24 + page.count), "buffered again in the next transaction")
        writerLock(SQLITE_SHM_UNLOCK)
    }

    func testABarrierWritesOutWhatThisThreadBuffered() {
        writerLock(SQLITE_SHM_LOCK)
        writeFrame(0, commitSize: 0)
        XCTAssertEqual(walBytesOnDisk, 0)
        database.pointee.pMethods.pointee.xShmBarrier(database)
        XCTAssertEqual(walBytesOnDisk, 32 + 24 + page.count)
        writerLock(SQLITE_SHM_UNLOCK)
    }

    func testReadsSyncsAndSizeQueriesSeeBufferedFrames() {
        writerLock(SQLITE_SHM_LOCK)
        writeFrame(0, commitSize: 0)
        var back = [UInt8](repeating: 0, count: page.count)
        XCTAssertEqual(wal.pointee.pMethods.pointee.xRead(wal, &back, Int32(back.count), 32 + 24), SQLITE_OK)
        XCTAssertEqual(back, page, "a read writes out the buffer first")
        writeFrame(1, commitSize: 0)
        var size: sqlite3_int64 = 0
        XCTAssertEqual(wal.pointee.pMethods.pointee.xFileSize(wal, &size), SQLITE_OK)
        XCTAssertEqual(Int(size), 32 + 2 * (24 + page.count))
        writerLock(SQLITE_SHM_UNLOCK)
    }

    func testFramesStillBufferedWhenTheWriterLockIsReleasedAreDropped() {
        writerLock(SQLITE_SHM_LOCK)
        writeFrame(0, commitSize: 0)  // spilled by a transaction that then rolls back
        writerLock(SQLITE_SHM_UNLOCK)
        XCTAssertEqual(wal.pointee.pMethods.pointee.xSync(wal, SQLITE_SYNC_NORMAL), SQLITE_OK)
        XCTAssertEqual(walBytesOnDisk, 0, "never written, not even by a later sync")

        writerLock(SQLITE_SHM_LOCK)
        writeFrame(0, commitSize: 1)
        XCTAssertEqual(walBytesOnDisk, 32 + 24 + page.count)
        writerLock(SQLITE_SHM_UNLOCK)
    }
}

/// Write failures injected below the VFS (SQLite's unix VFS takes a replacement `pwrite64`): the
/// commit frame's header rewritten in place after a cache spill (walRewriteChecksums) fails, and
/// the commit must fail and roll back, never report success over a WAL that recovery rejects.
final class WALBufferFailureTests: XCTestCase {
    private typealias PWrite = @convention(c) (Int32, UnsafeRawPointer?, Int, Int64) -> Int

    func testACommitWhoseInPlaceChecksumRewriteFailsIsRolledBack() throws {
        XCTAssertEqual(slope_wal_buffer_register(), SQLITE_OK)
        let directory = try TemporaryDirectory(prefix: "slope-walfail")
        defer { directory.remove() }
        let path = directory.path("rewrite.db")
        var db: OpaquePointer?
        XCTAssertEqual(sqlite3_open(path, &db), SQLITE_OK)
        func execute(_ sql: String) -> Int32 { sqlite3_exec(db, sql, nil, nil, nil) }
        func rows(_ connection: OpaquePointer?) -> Int32 {
            var statement: OpaquePointer?
            defer { sqlite3_finalize(statement) }
            guard sqlite3_prepare_v2(connection, "SELECT count(*) FROM t", -1, &statement, nil) == SQLITE_OK,
                  sqlite3_step(statement) == SQLITE_ROW else { return -1 }
            return sqlite3_column_int(statement, 0)
        }
        XCTAssertEqual(execute("""
            PRAGMA page_size = 4096; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
            CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB); INSERT INTO t VALUES (1, zeroblob(100));
            PRAGMA cache_size = 5;
            """), SQLITE_OK)

        let unix = try XCTUnwrap(sqlite3_vfs_find("unix"))
        let original = try XCTUnwrap(unix.pointee.xGetSystemCall(unix, "pwrite64"))
        FailingWrite.real = unsafeBitCast(original, to: PWrite.self)
        FailingWrite.reset(armed: true)
        XCTAssertEqual(unix.pointee.xSetSystemCall(unix, "pwrite64", unsafeBitCast(FailingWrite.hook, to: sqlite3_syscall_ptr.self)), SQLITE_OK)
        defer { _ = unix.pointee.xSetSystemCall(unix, "pwrite64", original) }

        // A transaction larger than the cache (frames spill into the WAL), whose later updates
        // touch spilled pages again: at commit SQLite rewrites frame checksums in place.
        XCTAssertEqual(execute("""
            BEGIN;
            WITH RECURSIVE c(x) AS (SELECT 2 UNION ALL SELECT x + 1 FROM c WHERE x < 400)
                INSERT INTO t SELECT x, randomblob(300) FROM c;
            UPDATE t SET v = randomblob(300) WHERE id % 7 = 0;
            """), SQLITE_OK)
        let commit = execute("COMMIT")
        FailingWrite.reset(armed: false)
        XCTAssertEqual(FailingWrite.failures, 1, "the in-place rewrite of the commit frame's header was attempted and failed")
        XCTAssertNotEqual(commit, SQLITE_OK, "the failure reached SQLite")
        XCTAssertEqual(rows(db), 1, "rolled back")
        XCTAssertEqual(execute("INSERT INTO t VALUES (2, zeroblob(10))"), SQLITE_OK, "the database takes writes again")
        XCTAssertEqual(rows(db), 2)

        // What a crash would leave: the database and WAL files without the shared memory.
        let copy = directory.path("copy.db")
        try FileManager.default.copyItem(atPath: path, toPath: copy)
        try FileManager.default.copyItem(atPath: path + "-wal", toPath: copy + "-wal")
        sqlite3_close(db)
        var recovered: OpaquePointer?
        XCTAssertEqual(sqlite3_open(copy, &recovered), SQLITE_OK)
        defer { sqlite3_close(recovered) }
        XCTAssertEqual(rows(recovered), 2, "recovery from the WAL file alone agrees with what was committed")
    }
}

/// The replacement pwrite64: fails (EIO) a 24-byte write at the header offset of the last frame
/// written so far (page size 4096), i.e. the commit frame's header rewritten in place.
private enum FailingWrite {
    static var real: (@convention(c) (Int32, UnsafeRawPointer?, Int, Int64) -> Int)?
    static var armed = false
    static var highestEnd: Int64 = 0
    static var failures = 0

    static func reset(armed: Bool) {
        self.armed = armed
        if armed { highestEnd = 0; failures = 0 }
    }

    static let hook: @convention(c) (Int32, UnsafeRawPointer?, Int, Int64) -> Int = { descriptor, buffer, count, offset in
        if FailingWrite.armed && count == 24 && offset + 24 + 4096 == FailingWrite.highestEnd {
            FailingWrite.failures += 1
            errno = EIO
            return -1
        }
        let written = FailingWrite.real!(descriptor, buffer, count, offset)
        if FailingWrite.armed && count > 24 { FailingWrite.highestEnd = max(FailingWrite.highestEnd, offset + Int64(count)) }
        return written
    }
}
