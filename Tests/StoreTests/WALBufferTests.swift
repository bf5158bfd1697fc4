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

    /// A new store at `path` with a run claimed by `worker` and its small epoch 0 written.
    private func storeWithFirstEpoch(at path: String) throws -> (SlopeStore, Int64) {
        let store = try SlopeStore(path: path)
        let runID = try store.createRun(.example(epochs: 2))
        _ = try store.claimRun(runID: runID, worker: worker)
        let (first, firstTensors) = epoch(0, floats: 16)
        try store.writeEpoch(runID: runID, first, tensors: firstTensors, worker: worker)
        return (store, runID)
    }

    func testAnEpochOfManyFramesIsOneWriteCall() throws {
        let directory = try TemporaryDirectory(prefix: "slope-walbuffer")
        defer { directory.remove() }
        let path = directory.path("one-call.db")
        let (store, runID) = try storeWithFirstEpoch(at: path)

        let walBefore = fileSize(path + "-wal")
        let callsBefore = slope_wal_buffer_write_calls()
        let (second, secondTensors) = epoch(1, floats: 12_000)  // 48 KB: 6 overflow pages and more
        try store.writeEpoch(runID: runID, second, tensors: secondTensors, worker: worker)
        let frames = (fileSize(path + "-wal") - walBefore) / (SlopeStore.pageSize + 24)
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
        // A transaction that spills frames into the WAL (some written, some maybe still buffered),
        // then rolls back.
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
        let (store, runID) = try storeWithFirstEpoch(at: path)
        let (second, secondTensors) = epoch(1, floats: 16_000)  // 64 KB: buffered whole, written at commit

        var saved = rlimit()
        getrlimit(Int32(RLIMIT_FSIZE.rawValue), &saved)
        let previousHandler = signal(SIGXFSZ, SIG_IGN)
        var limit = saved
        limit.rlim_cur = rlim_t(max(fileSize(path + "-wal"), fileSize(path)) + 16_384)
        XCTAssertEqual(setrlimit(Int32(RLIMIT_FSIZE.rawValue), &limit), 0)
        let callsBefore = slope_wal_buffer_write_calls()
        XCTAssertThrowsError(try store.writeEpoch(runID: runID, second, tensors: secondTensors, worker: worker))
        let failedCalls = slope_wal_buffer_write_calls() - callsBefore
        setrlimit(Int32(RLIMIT_FSIZE.rawValue), &saved)
        signal(SIGXFSZ, previousHandler)
        XCTAssertEqual(failedCalls, 1, "the failure came from the one write at commit")

        XCTAssertEqual(try store.epochs(runID: runID).map(\.epoch), [0], "no half-written epoch")
        XCTAssertEqual(try store.run(id: runID).epochsDone, 0)
        try store.writeEpoch(runID: runID, second, tensors: secondTensors, worker: worker)
        try store.close()

        let reopened = try SlopeStore(path: path, mode: .readOnly)
        XCTAssertEqual(try reopened.epochs(runID: runID).map(\.epoch), [0, 1])
        XCTAssertEqual(try reopened.tensors(runID: runID, epoch: 1).first?.tensor, secondTensors[0])
        try reopened.read { db in XCTAssertEqual(try String.fetchOne(db, sql: "PRAGMA integrity_check"), "ok") }
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
