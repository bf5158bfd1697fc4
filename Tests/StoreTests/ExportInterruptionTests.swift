// `exportSQLite` when it cannot finish: asked to stop (Ctrl-C), the connection to the PostgreSQL
// server lost and back (the copy starts over in a fresh file: every row once), the server gone
// (one error, nothing left), and the temporary files of an export that was killed.
import Foundation
import GRDB
import PostgresNIO
import TestSupport
import XCTest
@testable import Store

final class ExportInterruptionTests: XCTestCase {
    private var directory: TemporaryDirectory!
    private var database: TestDatabase?

    override func setUpWithError() throws { directory = try TemporaryDirectory(prefix: "slope-export-stop") }
    override func tearDown() {
        if let database {
            // The test may have left the database refusing connections: allow them again, then drop it.
            if let admin = try? PostgresSession(settings: PostgresTestCluster.admin()) {
                _ = try? admin.query(PostgresQuery(unsafeSQL: "ALTER DATABASE \(database.name) ALLOW_CONNECTIONS true"))
                admin.close()
            }
            database.drop()
        }
        directory.remove()
    }

    /// Two runs of 5 epochs with 6 tensors each, written as a worker writes them.
    private func fill(_ store: SlopeStore) throws {
        let worker = WorkerIdentity.current(label: "export test")
        for seed in [UInt64(3), 4] {
            let run = try store.createRun(.example(name: "run \(seed)", seed: seed, layers: "2-3-1"))
            let claim = try XCTUnwrap(try store.claimRun(runID: run, worker: worker))
            for (epoch, tensors) in PostgresEpochWriteTests.epochs(seed: seed) {
                try store.writeEpoch(runID: run, epoch, tensors: tensors, holder: RunHolder(worker: worker, claimToken: claim.claimToken))
            }
        }
    }

    /// The files in the test's folder other than `keep`, sorted.
    private func files(except keep: Set<String>) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.url.path).filter { !keep.contains($0) }.sorted()
    }

    private func rowCounts(_ path: String) throws -> [Int] {
        try DatabaseQueue(path: path).read { db in
            try ["runs", "epochs", "tensors"].map { try Int.fetchOne(db, sql: "SELECT count(*) FROM \($0)") ?? -1 }
        }
    }

    /// An export to another database's -wal (-shm, -journal) was written and then deleted by the next
    /// open of that database (hostile14 F3); one beside a leftover -wal or -journal would take it as
    /// its own; a place SQLite cannot create a file in was named by its temporary file (F4).
    func testTargetsSQLiteWouldTakeAsADatabasesOwnFilesAreRefused() throws {
        let source = directory.path("source.db")
        let store = try SlopeStore(path: source)
        try fill(store)
        let other = directory.path("other.db")
        try SlopeStore(path: other).close()
        for suffix in ["-wal", "-shm", "-journal"] {
            XCTAssertThrowsError(try store.exportSQLite(sweepID: nil, to: other + suffix)) { error in
                XCTAssertEqual(error as? StoreError, .invalidValue("\(other + suffix) is where the SQLite database \(other) keeps its \(suffix) file: "
                                                                   + "give another file name (export never writes a database's own files)"))
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: other + suffix))
        }
        let leftover = directory.path("fresh.db")
        _ = FileManager.default.createFile(atPath: leftover + "-journal", contents: Data("old".utf8))
        XCTAssertThrowsError(try store.exportSQLite(sweepID: nil, to: leftover)) { error in
            XCTAssertEqual(error as? StoreError, .invalidValue("\(leftover)-journal exists (left by an earlier database at \(leftover)), and SQLite would take it "
                                                               + "as the new database's own: give another file name, or remove it first"))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: leftover))
        // A -wal beside a file that is not a database is a file name like any other.
        _ = FileManager.default.createFile(atPath: directory.path("notes.txt"), contents: Data("text".utf8))
        XCTAssertEqual(try store.exportSQLite(sweepID: nil, to: directory.path("notes.txt-wal")).runs, 2)
        // /proc passes access(W_OK) for root, but no file can be created there.
        if getuid() == 0 {
            XCTAssertThrowsError(try store.exportSQLite(sweepID: nil, to: "/proc/slope-export-test.db")) { error in
                let message = (error as? StoreError)?.description ?? "\(error)"
                XCTAssertTrue(message.hasPrefix("cannot create /proc/slope-export-test.db: "), message)
                XCTAssertFalse(message.contains("partial"), message)
            }
        }
        try store.close()
    }

    func testStoppingLeavesNothingAndStaleTemporaryFilesOfDeadExportsGo() throws {
        let source = directory.path("source.db")
        let store = try SlopeStore(path: source)
        try fill(store)
        let sourceFiles = Set(try files(except: []))

        // Stopped at the third question (inside the first run's tensors): nothing stays.
        var asked = 0
        XCTAssertThrowsError(try store.exportSQLite(sweepID: nil, to: directory.path("copy.db"), shouldStop: { asked += 1; return asked >= 3 })) { error in
            XCTAssertEqual(error as? StoreError, .interrupted("export stopped: nothing was written"))
        }
        XCTAssertEqual(asked, 3)
        XCTAssertEqual(try files(except: sourceFiles), [])

        // A killed export's files (its pid is gone) are removed; a live process's are not.
        let finished = Process()
        finished.executableURL = URL(fileURLWithPath: "/bin/true")
        try finished.run()
        finished.waitUntilExit()
        let dead = finished.processIdentifier
        let stale = [".copy.db.\(dead).partial", ".copy.db.\(dead).partial-wal", ".copy.db.\(dead).partial-shm"]
        let others = [".copy.db.1.partial", ".other.db.\(dead).partial", ".copy.db.x.partial"]
        for name in stale + others { FileManager.default.createFile(atPath: directory.path(name), contents: Data("junk".utf8)) }
        var questions = 0
        let copied = try store.exportSQLite(sweepID: nil, to: directory.path("copy.db"), shouldStop: { questions += 1; return false })
        XCTAssertEqual([copied.runs, copied.epochs, copied.tensors], [2, 10, 60])
        XCTAssertEqual(try files(except: sourceFiles), (["copy.db"] + others).sorted())
        XCTAssertEqual(try rowCounts(directory.path("copy.db")), [2, 10, 60])

        // Stopped at the last question, once every row is copied (a signal as the copy ends, whose
        // grace period would end the process saying that nothing was written): nothing is.
        asked = 0
        XCTAssertThrowsError(try store.exportSQLite(sweepID: nil, to: directory.path("late.db"), shouldStop: { asked += 1; return asked == questions })) { error in
            XCTAssertEqual(error as? StoreError, .interrupted("export stopped: nothing was written"))
        }
        XCTAssertEqual(asked, questions)
        XCTAssertEqual(try files(except: sourceFiles), (["copy.db"] + others).sorted())

        // Refused the file's publishing (a signal's end began as the copy ended): nothing either;
        // asked once, after the last question of shouldStop.
        var published = 0
        asked = 0
        XCTAssertThrowsError(try store.exportSQLite(sweepID: nil, to: directory.path("late.db"), shouldStop: { asked += 1; return false },
                                                    mayPublish: { published += 1; XCTAssertEqual(asked, questions); return false })) { error in
            XCTAssertEqual(error as? StoreError, .interrupted("export stopped: nothing was written"))
        }
        XCTAssertEqual(published, 1)
        XCTAssertEqual(try files(except: sourceFiles), (["copy.db"] + others).sorted())
    }

    /// What the store told its caller about lost connections.
    final class Notices: @unchecked Sendable {
        private let lock = NSLock()
        private var counts = (lost: 0, reconnected: 0)
        var lost: Int { lock.lock(); defer { lock.unlock() }; return counts.lost }
        var reconnected: Int { lock.lock(); defer { lock.unlock() }; return counts.reconnected }
        func reconnection(giveUpAfter: TimeInterval) -> SlopeStore.PostgresReconnection {
            .init(giveUpAfter: giveUpAfter, onLost: { [self] _ in lock.lock(); counts.lost += 1; lock.unlock() },
                  onReconnected: { [self] _ in lock.lock(); counts.reconnected += 1; lock.unlock() })
        }
    }

    /// Ends the store's connections to the test database (application_name 'slope'); with
    /// `refusing`, the database takes no new ones until allowed again (the server is "down").
    private func cut(_ database: TestDatabase, refusing: Bool) throws {
        let admin = try PostgresSession(settings: PostgresTestCluster.admin())
        defer { admin.close() }
        if refusing { try admin.query(PostgresQuery(unsafeSQL: "ALTER DATABASE \(database.name) ALLOW_CONNECTIONS false")) }
        try admin.query("""
            SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE datname = \(database.name) AND application_name = 'slope'
            """)
    }

    func testALostConnectionStartsTheCopyOverAndAServerThatStaysDownFailsCleanly() throws {
        let database = try PostgresTestCluster.makeDatabase()
        self.database = database
        try fill(try SlopeStore(location: database.url, mode: .readWrite))

        // Lost in the middle (after the runs were copied) and back at once: every row once.
        let notices = Notices()
        let store = try SlopeStore(location: database.url, mode: .readOnly, reconnection: notices.reconnection(giveUpAfter: 60))
        var asked = 0
        let copied = try store.exportSQLite(sweepID: nil, to: directory.path("copy.db"), shouldStop: {
            asked += 1
            if asked == 2 { try? self.cut(database, refusing: false) }
            return false
        })
        XCTAssertGreaterThan(asked, 3, "the copy started over")
        XCTAssertEqual([copied.runs, copied.epochs, copied.tensors], [2, 10, 60])
        XCTAssertEqual(try rowCounts(directory.path("copy.db")), [2, 10, 60])
        XCTAssertEqual([notices.lost, notices.reconnected], [1, 1])
        XCTAssertEqual(try files(except: []), ["copy.db"])

        // Down for longer than the store waits: one error, no file.
        let patient = Notices()
        let other = try SlopeStore(location: database.url, mode: .readOnly, reconnection: patient.reconnection(giveUpAfter: 1))
        asked = 0
        XCTAssertThrowsError(try other.exportSQLite(sweepID: nil, to: directory.path("second.db"), shouldStop: {
            asked += 1
            if asked == 2 { try? self.cut(database, refusing: true) }
            return false
        })) { error in
            guard case let StoreError.cannotConnect(_, reason) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("not currently accepting connections"), reason)
        }
        XCTAssertEqual([patient.lost, patient.reconnected], [1, 0])
        XCTAssertEqual(try files(except: []), ["copy.db"])
    }

    /// The copy may pause between its reads longer than the session's idle-in-transaction limit
    /// (a slow disk under the new file): it turns the limit off for its read, as a report's snapshot does.
    func testACopyMayPauseLongerThanTheIdleInTransactionTimeout() throws {
        let database = try PostgresTestCluster.makeDatabase()
        self.database = database
        try fill(try SlopeStore(location: database.url, mode: .readWrite))
        let notices = Notices()
        let store = try SlopeStore(location: database.url + "?options=-c%20idle_in_transaction_session_timeout%3D1s", mode: .readOnly,
                                   reconnection: notices.reconnection(giveUpAfter: 60))
        var asked = 0
        let copied = try store.exportSQLite(sweepID: nil, to: directory.path("slow.db"), shouldStop: {
            asked += 1
            if asked == 2 { Thread.sleep(forTimeInterval: 2.5) }
            return false
        })
        XCTAssertEqual([copied.runs, copied.epochs, copied.tensors], [2, 10, 60])
        XCTAssertEqual(notices.lost, 0, "the read was not cut off and started over")
    }
}
