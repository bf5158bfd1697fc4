// A lost connection to the PostgreSQL server, against the real test server: connections ended by
// the server (pg_terminate_backend) and a server restart (pg_ctl restart) in the middle of
// writes. The store reconnects, says so, runs an interrupted transaction again, checks one whose
// COMMIT's answer was lost, and ends with every epoch stored exactly once, bit for bit.
import Foundation
import PostgresNIO
import TestSupport
import XCTest
@testable import Store

final class PostgresReconnectionTests: XCTestCase {
    private var database: TestDatabase!

    override func setUpWithError() throws { database = try PostgresTestCluster.makeDatabase() }

    override func tearDown() { database?.drop() }

    /// What the store told its caller.
    final class Notices: @unchecked Sendable {
        private let lock = NSLock()
        private var lostReasons: [String] = []
        private var reconnections = 0
        var lost: [String] { lock.lock(); defer { lock.unlock() }; return lostReasons }
        var reconnected: Int { lock.lock(); defer { lock.unlock() }; return reconnections }

        var reconnection: SlopeStore.PostgresReconnection {
            SlopeStore.PostgresReconnection(giveUpAfter: 120, onLost: { [self] reason in
                lock.lock(); lostReasons.append(reason); lock.unlock()
            }, onReconnected: { [self] _ in
                lock.lock(); reconnections += 1; lock.unlock()
            })
        }
    }

    /// Ends every connection of the store (application_name 'slope') to the test database.
    private func terminateStoreConnections(_ admin: PostgresSession) throws -> Int {
        try admin.query("""
            SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE datname = \(database.name) AND application_name = 'slope' AND pid <> pg_backend_pid()
            """).count
    }

    func testEndedConnectionsAreReplacedAndTheWriteGoesThrough() throws {
        let notices = Notices()
        let backend = try PostgresBackend(settings: try database.settings(), mode: .readWrite, reconnection: notices.reconnection)
        defer { try? backend.close() }
        _ = try backend.write { try $0.execute("CREATE TABLE t (x BIGINT)", []) }
        let admin = try PostgresSession(settings: PostgresTestCluster.admin())
        defer { admin.close() }
        for round in 1...3 {
            XCTAssertGreaterThanOrEqual(try terminateStoreConnections(admin), 1, "round \(round): the pool's idle connection")
            _ = try backend.write { try $0.execute("INSERT INTO t VALUES (?)", [round]) }
        }
        XCTAssertEqual(try backend.read { try $0.values("SELECT x FROM t ORDER BY x", as: Int64.self) }, [1, 2, 3])
        // An idle connection found closed is replaced quietly; one lost under a statement is said.
        XCTAssertEqual(notices.lost.count, notices.reconnected)
        for reason in notices.lost {
            XCTAssertFalse(reason.contains("\n") || reason.contains(PostgresTestCluster.adminPassword), reason)
        }
    }

    /// The server ends the connection while it runs the COMMIT (a deferred trigger kills its own
    /// backend the first time): the store asks the server what became of the transaction
    /// (rolled back), says it lost the connection, and runs the transaction again: one row.
    func testACommitWhoseAnswerIsLostIsCheckedThenRunAgain() throws {
        let notices = Notices()
        let backend = try PostgresBackend(settings: try database.settings(), mode: .readWrite, reconnection: notices.reconnection)
        defer { try? backend.close() }
        let session = try database.session()
        try session.execute(script: """
            CREATE TABLE t (x BIGINT);
            CREATE SEQUENCE kills;
            CREATE FUNCTION kill_once() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF nextval('kills') = 1 THEN
                    PERFORM pg_terminate_backend(pg_backend_pid());
                    PERFORM pg_sleep(30);  -- the termination interrupts it
                END IF;
                RETURN NULL;
            END $$;
            CREATE CONSTRAINT TRIGGER kill_at_commit AFTER INSERT ON t DEFERRABLE INITIALLY DEFERRED
                FOR EACH ROW EXECUTE FUNCTION kill_once();
            """)
        session.close()
        var runs = 0
        let result = try backend.write { connection -> Int in
            runs += 1
            try connection.execute("INSERT INTO t VALUES (?)", [7])
            return runs
        }
        XCTAssertEqual(runs, 2, "run again once the server said the first one was rolled back")
        XCTAssertEqual(result, 2)
        XCTAssertEqual(try backend.read { try $0.values("SELECT x FROM t", as: Int64.self) }, [7])
        XCTAssertEqual(notices.lost.count, 1)
        XCTAssertTrue(notices.lost.first?.contains("ended the connection") ?? false, "\(notices.lost)")
        XCTAssertEqual(notices.reconnected, 1)
    }

    /// What the server says of a committed, a rolled back and an open transaction.
    func testTheServerTellsWhatBecameOfATransaction() throws {
        let session = try database.session()
        defer { session.close() }
        let other = try database.session()
        defer { other.close() }
        try session.query("CREATE TABLE t (x BIGINT)")
        try session.query("BEGIN")
        let committed = try PostgresBackend.transactionID(session)
        try session.query("INSERT INTO t VALUES (1)")
        try session.query("COMMIT")
        try session.query("BEGIN")
        let rolledBack = try PostgresBackend.transactionID(session)
        try session.query("ROLLBACK")
        try other.query("BEGIN")
        let open = try PostgresBackend.transactionID(other)
        XCTAssertEqual(try PostgresBackend.status(ofTransaction: committed, session), .committed)
        XCTAssertEqual(try PostgresBackend.status(ofTransaction: rolledBack, session), .notCommitted)
        XCTAssertEqual(try PostgresBackend.status(ofTransaction: open, session), .inProgress)
        try other.query("COMMIT")
        XCTAssertEqual(try PostgresBackend.status(ofTransaction: open, session), .committed)
    }

    /// Writes `count` epochs from another thread while `disturb` runs on this one, until the
    /// writer is done; then checks that every epoch is stored once with its exact tensors.
    /// `together`: four epochs at a time in one transaction (`writeEpochs`, as an EpochWriter
    /// does with epochs that queued up), pausing after each four.
    private func writeEpochsWhile(count: Int, pause: TimeInterval, together: Bool = false,
                                  _ disturb: (_ written: () -> Int, _ done: () -> Bool) throws -> Void) throws -> Notices {
        let notices = Notices()
        let backend = try PostgresBackend(settings: try database.settings(), mode: .readWrite, maximumConnections: 2,
                                          reconnection: notices.reconnection)
        defer { try? backend.close() }
        let worker = WorkerIdentity.current(label: "test worker")
        let run = try PostgresEpochWriteTests.insertHeldRun(backend, worker: worker)
        let epochs = PostgresEpochWriteTests.epochs(seed: 5, count: 7)
        let progress = WriterProgress()
        let errors = ErrorList()
        let finished = DispatchSemaphore(value: 0)
        let holder = RunHolder(worker: worker, claimToken: PostgresEpochWriteTests.heldClaim)
        let size = together ? 4 : 1
        Thread.detachNewThread {
            defer { progress.finish(); finished.signal() }
            for start in stride(from: 0, to: count, by: size) {
                let batch = (start..<min(start + size, count)).map { index -> SlopeStore.PendingEpoch in
                    var epoch = epochs[index % epochs.count].0
                    epoch.epoch = index
                    return (epoch, epochs[index % epochs.count].1)
                }
                do {
                    if together {
                        try backend.writeEpochs(runID: run, batch, holder: holder)
                    } else {
                        try backend.writeEpoch(runID: run, batch[0].record, tensors: batch[0].tensors, holder: holder)
                    }
                } catch {
                    errors.append(error)
                    return
                }
                for _ in batch { progress.advance() }
                Thread.sleep(forTimeInterval: pause)
            }
        }
        try disturb({ progress.written }, { progress.isDone })
        XCTAssertEqual(finished.wait(timeout: .now() + 600), .success, "the writer finishes")
        XCTAssertEqual(errors.all.map { "\($0)" }, [])
        let stored = try backend.read { try $0.values("SELECT epoch FROM epochs WHERE run_id = ? ORDER BY epoch", [run], as: Int64.self) }
        XCTAssertEqual(stored, (0..<Int64(count)).map { $0 }, "every epoch once")
        let tensors = try backend.read { connection in
            try connection.rows("SELECT epoch, layer, kind, data FROM tensors WHERE run_id = ? ORDER BY epoch, layer, kind", [run])
        }
        let expected = (0..<count).flatMap { index in
            epochs[index % epochs.count].1.sorted { ($0.layer, $0.kind.rawValue) < ($1.layer, $1.kind.rawValue) }
                .map { [SQLValue.integer(Int64(index)), .integer(Int64($0.layer)), .text($0.kind.rawValue), .blob(Data($0.data))] }
        }
        XCTAssertEqual(tensors.map(\.values), expected, "every tensor once, bit for bit")
        XCTAssertEqual(try backend.read { try $0.value("SELECT epochs_done FROM runs WHERE id = ?", [run], as: Int64.self) },
                       Int64(count - 1))
        return notices
    }

    func testEpochsSurviveConnectionsEndedAtRandom() throws {
        try epochsSurviveConnectionsEndedAtRandom(together: false)
    }

    func testEpochsCommittedTogetherSurviveConnectionsEndedAtRandom() throws {
        try epochsSurviveConnectionsEndedAtRandom(together: true)
    }

    private func epochsSurviveConnectionsEndedAtRandom(together: Bool) throws {
        let admin = try PostgresSession(settings: PostgresTestCluster.admin())
        defer { admin.close() }
        var random = TestRandom(seed: 2026)
        var terminations = 0
        let notices = try writeEpochsWhile(count: together ? 48 : 24, pause: 0.002, together: together) { _, done in
            var rounds = 0
            while !done() && rounds < 2000 {
                rounds += 1
                terminations += try terminateStoreConnections(admin)
                Thread.sleep(forTimeInterval: random.uniform(0.005, 0.05))
            }
        }
        XCTAssertGreaterThan(terminations, 0)
        XCTAssertEqual(notices.lost.count, notices.reconnected)
    }

    func testEpochsSurviveAServerRestart() throws {
        try epochsSurviveAServerRestart(together: false)
    }

    func testEpochsCommittedTogetherSurviveAServerRestart() throws {
        try epochsSurviveAServerRestart(together: true)
    }

    private func epochsSurviveAServerRestart(together: Bool) throws {
        let notices = try writeEpochsWhile(count: together ? 80 : 40, pause: 0.02, together: together) { written, done in
            var waits = 0
            while written() < 5 && !done() && waits < 6000 {
                waits += 1
                Thread.sleep(forTimeInterval: 0.01)
            }
            XCTAssertFalse(done(), "the restart comes in the middle of the writes")
            try PostgresTestCluster.restartServer()
        }
        XCTAssertGreaterThanOrEqual(notices.lost.count, 1, "the store said it lost the connection")
        XCTAssertEqual(notices.lost.count, notices.reconnected)
    }
}

/// How many epochs a writer thread has stored, and whether it has stopped.
final class WriterProgress: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    private var done = false
    func advance() { lock.lock(); count += 1; lock.unlock() }
    func finish() { lock.lock(); done = true; lock.unlock() }
    var written: Int { lock.lock(); defer { lock.unlock() }; return count }
    var isDone: Bool { lock.lock(); defer { lock.unlock() }; return done }
}
