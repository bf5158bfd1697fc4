// Opening databases: migration from empty, pragmas, refusal of newer / foreign / garbage
// files, read-only opens, and several processes creating the same database at once.
import Foundation
import GRDB
import Store
import TestSupport
import XCTest

final class MigrationTests: XCTestCase {
    var directory: TemporaryDirectory!

    override func setUpWithError() throws { directory = try TemporaryDirectory(prefix: "slope-migrations") }
    override func tearDown() { directory.remove() }

    func testMigratesEmptyDatabaseAndSetsPragmas() throws {
        let path = directory.path("new.db")
        _ = try SlopeStore(path: path)
        let queue = try DatabaseQueue(path: path)
        try queue.read { db in
            XCTAssertEqual(try Int64.fetchOne(db, sql: "PRAGMA application_id"), 0x536C_6F70)
            XCTAssertEqual(try String.fetchOne(db, sql: "PRAGMA journal_mode"), "wal")
            XCTAssertEqual(try Int.fetchOne(db, sql: "PRAGMA page_size"), 8192)
            XCTAssertEqual(try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY 1"), SlopeStore.schemaVersions)
            let objects = try String.fetchSet(db, sql: "SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
            for name in ["sweeps", "runs", "epochs", "tensors", "run_summary", "layer_stats",
                         "runs_by_sweep_status", "runs_by_status"] {
                XCTAssertTrue(objects.contains(name), "missing \(name)")
            }
        }
        try queue.close()
        XCTAssertEqual(SlopeStore.schemaVersions, ["0001_initial.sql", "0002_worker_liveness.sql", "0003_run_settings.sql", "0004_optimizer_state.sql",
                                                   "0005_claim_token.sql"])
        // A second open is a no-op that still works.
        let store = try SlopeStore(path: path)
        XCTAssertEqual(try store.runs(sweepID: nil), [])
        try store.close()
        try store.close()
        XCTAssertFalse(FileManager.default.fileExists(atPath: path + "-wal"), "closing removes the WAL")
        XCTAssertThrowsError(try store.runs(sweepID: nil))
    }

    /// Every earlier schema version (the first k migration files applied, as an older Slope
    /// left them) is brought up to date on open, keeping its rows. With one migration so far
    /// this is the empty database; each new migration adds a step here automatically.
    func testMigratesFromEveryEarlierSchemaVersion() throws {
        let migrations = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("migrations")
        let versions = SlopeStore.schemaVersions
        XCTAssertEqual(versions, try FileManager.default.contentsOfDirectory(atPath: migrations.path)
                        .filter { $0.hasSuffix(".sql") }.sorted(), "every migration file is embedded")
        for applied in 0..<versions.count {
            let path = directory.path("version\(applied).db")
            let queue = try DatabaseQueue(path: path)
            try queue.write { db in
                try db.execute(sql: "CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)")
                for name in versions.prefix(applied) {
                    try db.execute(sql: try String(contentsOf: migrations.appendingPathComponent(name), encoding: .utf8))
                    try db.execute(sql: "INSERT INTO grdb_migrations VALUES (?)", arguments: [name])
                }
                if applied >= 1 {  // a sweep as version 0001 stores it
                    try db.execute(sql: """
                        INSERT INTO sweeps (id, name, spec, created_at) VALUES (7, 'old', '{}', '2026-01-01T00:00:00.000Z')
                        """)
                }
            }
            try queue.close()
            if applied >= 1 {
                XCTAssertThrowsError(try SlopeStore(path: path, mode: .readOnly), "version \(applied)")
            }
            let store = try SlopeStore(path: path)
            let check = try DatabaseQueue(path: path)
            XCTAssertEqual(try check.read { try String.fetchAll($0, sql: "SELECT identifier FROM grdb_migrations ORDER BY 1") },
                           versions, "version \(applied)")
            if applied >= 1 {
                XCTAssertEqual(try store.sweep(id: 7).name, "old", "version \(applied)")
            }
        }
    }

    func testRefusesDatabaseWithUnknownMigration() throws {
        let path = directory.path("future.db")
        _ = try SlopeStore(path: path)
        let queue = try DatabaseQueue(path: path)
        try queue.write { try $0.execute(sql: "INSERT INTO grdb_migrations VALUES ('0002_from_the_future.sql')") }
        try queue.close()
        for mode in [SlopeStore.Mode.readWrite, .readOnly] {
            XCTAssertThrowsError(try SlopeStore(path: path, mode: mode)) { error in
                XCTAssertEqual(error as? StoreError, .newerSchema(path: path, unknown: ["0002_from_the_future.sql"]))
                XCTAssertTrue("\(error)".contains("upgrade Slope"), "\(error)")
            }
        }
    }

    func testRefusesOtherProgramsSQLiteFileWithoutTouchingIt() throws {
        let path = directory.path("other.db")
        let queue = try DatabaseQueue(path: path)
        try queue.write { try $0.execute(sql: "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)") }
        try queue.close()
        XCTAssertThrowsError(try SlopeStore(path: path)) { error in
            guard case let .notASlopeDatabase(_, reason)? = error as? StoreError else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("customers"), reason)
        }
        let check = try DatabaseQueue(path: path)
        try check.read { db in
            XCTAssertEqual(try String.fetchOne(db, sql: "PRAGMA journal_mode"), "delete")  // not switched to WAL
            XCTAssertNil(try String.fetchOne(db, sql: "SELECT name FROM sqlite_master WHERE name = 'runs'"))
        }
    }

    func testRefusesOtherApplicationID() throws {
        let path = directory.path("tagged.db")
        let queue = try DatabaseQueue(path: path)
        try queue.write { try $0.execute(sql: "PRAGMA application_id = 42; CREATE TABLE t (x)") }
        try queue.close()
        XCTAssertThrowsError(try SlopeStore(path: path)) { error in
            guard case let .notASlopeDatabase(_, reason)? = error as? StoreError else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("42"), reason)
        }
    }

    func testRefusesGarbageBytes() throws {
        let path = directory.path("garbage.db")
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<5000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        for mode in [SlopeStore.Mode.readWrite, .readOnly] {
            XCTAssertThrowsError(try SlopeStore(path: path, mode: mode)) { error in
                XCTAssertEqual(error as? StoreError, .notASlopeDatabase(path: path, reason: "not an SQLite file"))
                XCTAssertTrue("\(error)".contains("is not a Slope database"))
            }
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), Data(bytes))  // untouched
    }

    /// A directory, or a path in a folder that does not exist, is said to be just that.
    func testDirectoriesAndMissingFoldersAreNamed() throws {
        let folder = directory.path("a-folder.db")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        for mode in [SlopeStore.Mode.readWrite, .readOnly] {
            XCTAssertThrowsError(try SlopeStore(path: folder, mode: mode)) { error in
                XCTAssertEqual("\(error)", "\(folder) is a directory: give the path of a database file (e.g. \(folder)/slope.db)")
            }
        }
        let fifo = directory.path("pipe.db")
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        for mode in [SlopeStore.Mode.readWrite, .readOnly] {  // refused at once: reading it would wait for a writer
            XCTAssertThrowsError(try SlopeStore(path: fifo, mode: mode)) { error in
                XCTAssertEqual("\(error)", "\(fifo) is not a regular file (a pipe, socket or device): give the path of a database file")
            }
        }
        let inMissingFolder = directory.path("missing/slope.db")
        XCTAssertThrowsError(try SlopeStore(path: inMissingFolder)) { error in
            XCTAssertEqual("\(error)", "cannot create the database \(inMissingFolder): the folder \(directory.path("missing")) does not exist (create it first)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.path("missing")))
    }

    func testReadOnlyNeverCreatesOrMigrates() throws {
        let missing = directory.path("missing.db")
        XCTAssertThrowsError(try SlopeStore(path: missing, mode: .readOnly)) { error in
            guard case .noDatabase? = error as? StoreError else { return XCTFail("\(error)") }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: missing))

        // A Slope database from "before 0001" (tagged, no migration applied): older schema.
        let older = directory.path("older.db")
        let queue = try DatabaseQueue(path: older)
        try queue.write { db in
            try db.execute(sql: "PRAGMA application_id = 1399615344")
            try db.execute(sql: "CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)")
        }
        try queue.close()
        XCTAssertThrowsError(try SlopeStore(path: older, mode: .readOnly)) { error in
            XCTAssertEqual(error as? StoreError, .olderSchema(path: older, missing: SlopeStore.schemaVersions))
            XCTAssertTrue("\(error)".contains("run `runner` once"))
        }

        let path = directory.path("current.db")
        let writer = try SlopeStore(path: path)
        let runID = try writer.createRun(.example())
        let reader = try SlopeStore(path: path, mode: .readOnly)
        XCTAssertEqual(try reader.run(id: runID).status, .queued)
        XCTAssertThrowsError(try reader.createRun(.example())) { error in
            XCTAssertEqual(error as? StoreError, .readOnly(path: path))
        }
    }

    func testDamagedPageIsReportedAsCorrupt() throws {
        let path = directory.path("damaged.db")
        var store: SlopeStore? = try SlopeStore(path: path)
        let runID = try store!.createRun(.example())
        let worker = WorkerIdentity.current(label: "test")
        let claimToken = try XCTUnwrap(store!.claimRun(runID: runID, worker: worker)).claimToken
        try store!.writeEpoch(runID: runID, .init(epoch: 0, trainLoss: 1),
                              tensors: [.float32(layer: 1, kind: .weight, rows: 1, cols: 2, [1, 2])], holder: RunHolder(worker: worker, claimToken: claimToken))
        store = nil   // the last connection checkpoints the WAL into the file and removes it
        let queue = try DatabaseQueue(path: path)
        let (rootPage, pageSize) = try queue.read { db in
            (try Int.fetchOne(db, sql: "SELECT rootpage FROM sqlite_master WHERE name = 'tensors'")!,
             try Int.fetchOne(db, sql: "PRAGMA page_size")!)
        }
        try queue.close()
        XCTAssertFalse(FileManager.default.fileExists(atPath: path + "-wal"))
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: path))
        try handle.seek(toOffset: UInt64((rootPage - 1) * pageSize))
        try handle.write(contentsOf: Data([0xFF]))   // not a valid b-tree page type
        try handle.close()

        let reopened = try SlopeStore(path: path)
        XCTAssertThrowsError(try reopened.tensors(runID: runID)) { error in
            guard case .corrupt? = error as? StoreError else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("is damaged"), "\(error)")
        }
    }

    func testConcurrentFirstOpensFromSeveralProcesses() throws {
        for attempt in 0..<4 {
            let path = directory.path("race\(attempt).db")
            let start = Date().timeIntervalSince1970 + 0.8
            let probes = try (0..<6).map { _ in try Probe(["open", path, String(start)]) }
            for probe in probes {
                let (status, lines) = probe.finish()
                XCTAssertEqual(status, 0, "attempt \(attempt): \(lines)")
                XCTAssertEqual(lines, ["opened"], "attempt \(attempt)")
            }
            let queue = try DatabaseQueue(path: path)
            try queue.read { db in
                XCTAssertEqual(try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY 1"), SlopeStore.schemaVersions)
                XCTAssertEqual(try String.fetchAll(db, sql: "PRAGMA integrity_check"), ["ok"])
            }
        }
    }
}
