// A statement that the server ran but whose answer never reached the store, against the real
// test server behind a loopback proxy that cuts the connection right after the server answered
// (LoopbackProxy): a transaction's COMMIT, the one-statement epoch write, and a statement inside
// a transaction before its COMMIT. Each write reports success and is stored exactly once: the
// committed ones are found on the server (txid_status, the epoch's row), the other is run again.
import Foundation
import PostgresNIO
import TestSupport
import XCTest
@testable import Store

final class PostgresLostAnswerTests: XCTestCase {
    private var database: TestDatabase!
    private var proxy: LoopbackProxy!
    private var notices: PostgresReconnectionTests.Notices!
    private var store: SlopeStore!

    override func setUpWithError() throws {
        database = try PostgresTestCluster.makeDatabase()
        proxy = try LoopbackProxy(targetPort: try PostgresTestCluster.admin().port)
        notices = PostgresReconnectionTests.Notices()
        // Plain TCP, so that the proxy sees the statements.
        let url = try PostgresTestCluster.url(host: "127.0.0.1", port: proxy.port, database: database.name, query: "sslmode=disable")
        store = try SlopeStore(location: url, reconnection: notices.reconnection)
    }

    override func tearDown() {
        try? store?.close()
        proxy?.close()
        database?.drop()
    }

    /// Said once that the connection was lost, and once that it is back.
    private func assertOneOutage(file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(notices.lost.count, 1, "\(notices.lost)", file: file, line: line)
        XCTAssertTrue(notices.lost.first?.contains("the connection to the server was lost") ?? false, "\(notices.lost)", file: file, line: line)
        XCTAssertEqual(notices.reconnected, 1, file: file, line: line)
    }

    func testACommittedTransactionWhoseAnswerIsLostIsNotRunTwice() throws {
        let before = try store.runs(sweepID: nil)
        XCTAssertEqual(before, [])
        proxy.arm(.dropAnswerAndCut, after: "COMMIT\0")
        let (sweepID, runIDs) = try store.createSweep(name: "once", specJSON: "{}", runs: [.example(name: "a"), .example(name: "b")])
        XCTAssertEqual(proxy.faults, [.dropAnswerAndCut])
        assertOneOutage()
        XCTAssertEqual(try store.sweeps().map(\.id), [sweepID], "one sweep")
        XCTAssertEqual(try store.runs(sweepID: nil).map(\.id), runIDs, "its two runs, once")
        XCTAssertEqual(try store.runs(sweepID: nil).map(\.settings.name), ["a", "b"])
    }

    func testAnEpochWhoseAnswerIsLostIsStoredOnce() throws {
        let worker = WorkerIdentity(host: "box", pid: 42, label: "runner 42@box", startTime: 1)
        let runID = try store.createRun(.example())
        let holder = RunHolder(worker: worker, claimToken: try XCTUnwrap(store.claimRun(runID: runID, worker: worker)).claimToken)
        let epochs = PostgresEpochWriteTests.epochs(seed: 8, count: 3)
        try store.writeEpoch(runID: runID, epochs[0].0, tensors: epochs[0].1, holder: holder)
        // The epoch statement is prepared by the first epoch; later ones send only its name (Bind).
        proxy.arm(.dropAnswerAndCut, after: EpochStatement.name + "\0")
        try store.writeEpoch(runID: runID, epochs[1].0, tensors: epochs[1].1, holder: holder)
        XCTAssertEqual(proxy.faults, [.dropAnswerAndCut])
        assertOneOutage()
        try store.writeEpoch(runID: runID, epochs[2].0, tensors: epochs[2].1, holder: holder)

        XCTAssertEqual(try store.epochs(runID: runID).map(\.epoch), [0, 1, 2], "every epoch once")
        XCTAssertEqual(try store.epochs(runID: runID).map(\.trainLoss), epochs.map(\.0.trainLoss))
        for (epoch, tensors) in epochs {
            let stored = try store.tensors(runID: runID, epoch: epoch.epoch).map(\.tensor)
            XCTAssertEqual(stored.sorted { ($0.layer, $0.kind.rawValue) < ($1.layer, $1.kind.rawValue) },
                           tensors.sorted { ($0.layer, $0.kind.rawValue) < ($1.layer, $1.kind.rawValue) }, "epoch \(epoch.epoch), bit for bit")
        }
        XCTAssertEqual(try store.run(id: runID).epochsDone, 2)
    }

    /// The connection is cut after a statement inside the transaction, before its COMMIT: the
    /// server rolls it back, and the store runs the whole transaction again.
    func testATransactionCutBeforeItsCommitIsRunAgain() throws {
        proxy.arm(.dropAnswerAndCut, after: "INSERT INTO runs")
        let runID = try store.createRun(.example(name: "again"))
        XCTAssertEqual(proxy.faults, [.dropAnswerAndCut])
        assertOneOutage()
        XCTAssertEqual(try store.runs(sweepID: nil).map(\.id), [runID], "one run")
        XCTAssertEqual(try store.run(id: runID).settings.name, "again")
    }
}
