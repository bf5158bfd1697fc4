// The PostgreSQL sessions' limits against the real test server: every session starts with
// statement_timeout, lock_timeout and idle_in_transaction_session_timeout (the documented defaults,
// or the URL's options); a statement past statement_timeout (pg_sleep) and a write waiting past
// lock_timeout for a row another session holds end in one-line errors that name the limit and
// how to change it, writing nothing; a server that never answers is taken as a lost connection.
import Foundation
import PostgresNIO
import TestSupport
import XCTest
@testable import Store

final class PostgresTimeoutTests: XCTestCase {
    private var database: TestDatabase!

    override func setUpWithError() throws { database = try PostgresTestCluster.makeDatabase() }

    override func tearDown() { database?.drop() }

    private func store(options: String? = nil, reconnection: SlopeStore.PostgresReconnection = .init()) throws -> SlopeStore {
        try SlopeStore(location: database.url + (options.map { "?options=" + $0 } ?? ""), reconnection: reconnection)
    }

    private func show(_ setting: String, _ store: SlopeStore) throws -> String? {
        try store.read { try $0.value("SHOW \(setting)", as: String.self) }
    }

    func testSessionsStartWithTheLimits() throws {
        let plain = try store()
        defer { try? plain.close() }
        XCTAssertEqual(try show("statement_timeout", plain), "5min")
        XCTAssertEqual(try show("lock_timeout", plain), "1min")
        XCTAssertEqual(try show("idle_in_transaction_session_timeout", plain), "1min")

        let given = try store(options: "-c%20statement_timeout%3D1500ms%20--lock-timeout=2s%20-c%20work_mem%3D8MB")
        defer { try? given.close() }
        XCTAssertEqual(try show("statement_timeout", given), "1500ms")
        XCTAssertEqual(try show("lock_timeout", given), "2s")
        XCTAssertEqual(try show("idle_in_transaction_session_timeout", given), "1min")
        XCTAssertEqual(try show("work_mem", given), "8MB")

        // A setting the server does not know is refused when connecting, in one line.
        XCTAssertThrowsError(try store(options: "-c%20no_such_setting%3D1")) { error in
            guard case StoreError.cannotConnect = error else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("no_such_setting"), "\(error)")
            XCTAssertFalse("\(error)".contains("\n"), "\(error)")
        }
    }

    func testAStatementPastStatementTimeoutIsCancelled() throws {
        let store = try store(options: "-c%20statement_timeout%3D200ms")
        defer { try? store.close() }
        XCTAssertThrowsError(try store.read { try $0.value("SELECT 1 FROM pg_sleep(30)", as: Int64.self) }) { error in
            XCTAssertEqual(error as? StoreError, .timedOut(server: store.path, setting: "statement_timeout", seconds: 0.2))
            let message = "\(error)"
            XCTAssertEqual(message, "\(store.path) cancelled a statement that ran longer than statement_timeout (200 ms): the server is "
                           + "overloaded or waits for something; retry, or to allow longer add ?options=-c%20statement_timeout%3D10min to "
                           + "the database URL (or set PGOPTIONS='-c statement_timeout=10min'; 0 turns it off).")
            XCTAssertTrue((error as? StoreError)?.isTransient ?? false, "a worker requeues the run rather than failing it")
        }
        // The session is fine afterwards.
        XCTAssertEqual(try store.read { try $0.value("SELECT 7::int8", as: Int64.self) }, 7)
    }

    /// A statement another session cancels (pg_cancel_backend: the server says "due to user
    /// request", as it does when statement_timeout fires between two statements; hostile15 F5 met
    /// it so once in ~30 with a 1 ms timeout) is said as such in one line, not as the server's raw
    /// text: what it can be (Slope cancels none) and what to do; transient, so a worker requeues its run.
    func testAStatementCancelledByAnotherSessionIsSaidInOneLine() throws {
        let store = try store()
        defer { try? store.close() }
        let failed = DispatchSemaphore(value: 0)
        final class Box: @unchecked Sendable { var error: Error? }
        let box = Box()
        Thread {
            do { _ = try store.read { try $0.value("SELECT 1 FROM pg_sleep(60)", as: Int64.self) } } catch { box.error = error }
            failed.signal()
        }.start()
        let canceller = try database.session()
        defer { canceller.close() }
        let deadline = Date().addingTimeInterval(50)  // a safety net, not a timing assertion
        while failed.wait(timeout: .now() + 0.05) == .timedOut && Date() < deadline {
            try canceller.query("SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()")
        }
        let error = try XCTUnwrap(box.error)
        XCTAssertEqual(error as? StoreError, .cancelled(server: store.path, statementTimeout: 300))
        XCTAssertEqual("\(error)", "\(store.path) cancelled a statement ('canceling statement due to user request'): Slope cancels none itself, "
                       + "so another session cancelled it (pg_cancel_backend) or statement_timeout (5 min) ran out as it began (PostgreSQL "
                       + "says 'user request' then too; to allow longer add ?options=-c%20statement_timeout%3D10min to the database URL); retry.")
        XCTAssertTrue((error as? StoreError)?.isTransient ?? false)
        XCTAssertEqual(try store.read { try $0.value("SELECT 7::int8", as: Int64.self) }, 7, "the session is fine afterwards")
        // statement_timeout off (0): only another session can have cancelled it.
        XCTAssertEqual("\(StoreError.cancelled(server: "S", statementTimeout: 0))",
                       "S cancelled a statement ('canceling statement due to user request'): Slope cancels none itself, so another session "
                       + "cancelled it (pg_cancel_backend); retry.")
    }

    /// Another session holds the run's row (a stuck transaction): the heartbeat and the epoch write
    /// give up at lock_timeout, write nothing, and go through once the lock is released.
    func testAWriteWaitingPastLockTimeoutGivesUp() throws {
        let store = try store(options: "-c%20lock_timeout%3D200ms")
        defer { try? store.close() }
        let worker = WorkerIdentity(host: "box", pid: 42, label: "runner 42@box", startTime: 1)
        let runID = try store.createRun(.example())
        let holder = RunHolder(worker: worker, claimToken: try XCTUnwrap(store.claimRun(runID: runID, worker: worker)).claimToken)

        let lockHolder = try database.session()
        defer { lockHolder.close() }
        try lockHolder.query("BEGIN")
        try lockHolder.query("SELECT id FROM runs WHERE id = \(runID) FOR UPDATE")
        let expected = StoreError.timedOut(server: store.path, setting: "lock_timeout", seconds: 0.2)
        XCTAssertThrowsError(try store.heartbeat(runID: runID, holder: holder)) { error in
            XCTAssertEqual(error as? StoreError, expected)
            XCTAssertTrue("\(error)".hasPrefix("\(store.path) gave up waiting for a lock after lock_timeout (200 ms): another session holds it"), "\(error)")
        }
        let tensor = SlopeStore.TensorRecord.float32(layer: 1, kind: .weight, rows: 1, cols: 2, [1, 2])
        XCTAssertThrowsError(try store.writeEpoch(runID: runID, .init(epoch: 0, trainLoss: 1), tensors: [tensor], holder: holder)) { error in
            XCTAssertEqual(error as? StoreError, expected)
        }
        try lockHolder.query("ROLLBACK")
        XCTAssertEqual(try store.epochs(runID: runID), [], "nothing written")

        try store.heartbeat(runID: runID, holder: holder)
        try store.writeEpoch(runID: runID, .init(epoch: 0, trainLoss: 1), tensors: [tensor], holder: holder)
        XCTAssertEqual(try store.epochs(runID: runID).map(\.epoch), [0])
    }

    /// The server takes the statement but its answer never comes (a hung server; here a proxy that
    /// withholds it): past twice statement_timeout plus 5 s the connection counts as lost, and the
    /// read runs again on a new one.
    func testAServerThatNeverAnswersIsTakenAsALostConnection() throws {
        let admin = try PostgresTestCluster.admin()
        let proxy = try LoopbackProxy(targetPort: admin.port)
        defer { proxy.close() }
        let notices = PostgresReconnectionTests.Notices()
        let url = try PostgresTestCluster.url(host: "127.0.0.1", port: proxy.port, database: database.name,
                                              query: "sslmode=disable&options=-c%20statement_timeout%3D200ms")
        let store = try SlopeStore(location: url, reconnection: notices.reconnection)
        defer { try? store.close() }
        proxy.arm(.withholdAnswers, after: "AS withheld")
        XCTAssertEqual(try store.read { try $0.value("SELECT 42::int8 AS withheld", as: Int64.self) }, 42)
        XCTAssertEqual(proxy.faults, [.withholdAnswers])
        XCTAssertEqual(notices.lost.count, 1)
        XCTAssertTrue(notices.lost.first?.hasPrefix("no answer within 5.4 s (twice statement_timeout, plus 5 s)") ?? false, "\(notices.lost)")
        XCTAssertEqual(notices.reconnected, 1)
    }
}
