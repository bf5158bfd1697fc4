// Several epochs of a run committed together on PostgreSQL (PostgresBackend.writeEpochs, what an
// EpochWriter does with the epochs that queued up), against the real test server: the same rows,
// bytes and summary as one writeEpoch per epoch; all or nothing (a refused epoch leaves none of
// the batch stored, a run taken over gets none); a lost connection before or after the COMMIT
// ends with every epoch stored once, bit for bit.
import Foundation
import PostgresNIO
import TestSupport
import XCTest
@testable import Store

final class PostgresEpochBatchTests: XCTestCase {
    private var database: TestDatabase!

    override func setUpWithError() throws { database = try PostgresTestCluster.makeDatabase() }

    override func tearDown() { database?.drop() }

    private let worker = WorkerIdentity.current(label: "test worker")
    private var holder: RunHolder { RunHolder(worker: worker, claimToken: PostgresEpochWriteTests.heldClaim) }

    private func storedEpochs(_ backend: PostgresBackend, _ runID: Int64) throws -> [Int64] {
        try backend.read { try $0.values("SELECT epoch FROM epochs WHERE run_id = ? ORDER BY epoch", [runID], as: Int64.self) }
    }

    /// The rows of a run that the comparisons cover: epochs, tensors, summary columns.
    private func rows(_ backend: PostgresBackend, _ runID: Int64) throws -> [[SQLValue]] {
        try backend.read { c in
            try c.rows("SELECT epoch, train_loss, val_loss, train_accuracy, val_accuracy, seconds FROM epochs WHERE run_id = ? ORDER BY epoch", [runID]).map(\.values)
            + c.rows("SELECT epoch, layer, kind, rows, cols, dtype, data, l2, mean, std, min, max FROM tensors WHERE run_id = ? ORDER BY epoch, layer, kind", [runID]).map(\.values)
            + c.rows("""
                SELECT epochs_done, final_train_loss, final_val_loss, final_train_accuracy, final_val_accuracy,
                       best_train_loss, best_val_loss, best_epoch FROM runs WHERE id = ?
                """, [runID]).map(\.values)
        }
    }

    private func batch(_ epochs: [(SlopeStore.EpochRecord, [SlopeStore.TensorRecord])]) -> [EpochSink.Epoch] {
        epochs.map { (record: $0.0, tensors: $0.1) }
    }

    func testEpochsCommittedTogetherAreStoredAsOneByOne() throws {
        let backend = try PostgresBackend(settings: try database.settings(), mode: .readWrite)
        defer { try? backend.close() }
        let together = try PostgresEpochWriteTests.insertHeldRun(backend, worker: worker)
        let oneByOne = try PostgresEpochWriteTests.insertHeldRun(backend, worker: worker)
        let epochs = PostgresEpochWriteTests.epochs(seed: 4, count: 7)  // the best epoch moves within a batch
        for (epoch, tensors) in epochs { try backend.writeEpoch(runID: oneByOne, epoch, tensors: tensors, holder: holder) }
        try backend.writeEpochs(runID: together, batch(Array(epochs[0..<1])), holder: holder)
        try backend.writeEpochs(runID: together, batch(Array(epochs[1..<4])), holder: holder)
        try backend.writeEpochs(runID: together, batch(Array(epochs[4...])), holder: holder)
        XCTAssertEqual(try storedEpochs(backend, together), [0, 1, 2, 3, 4, 5, 6])
        XCTAssertEqual(try rows(backend, together), try rows(backend, oneByOne), "the same rows, bytes and summary as writeEpoch's")
    }

    /// A batch whose third epoch is refused (already stored) is rolled back whole: none of its
    /// epochs is stored, and the error says which epoch and why. The batch is the first use of
    /// the epoch statement on its connection (postgres-nio prepares it then, and must not let the
    /// COMMIT overtake the epochs).
    func testABatchIsAllOrNothing() throws {
        let backend = try PostgresBackend(settings: try database.settings(), mode: .readWrite)
        defer { try? backend.close() }
        let runID = try PostgresEpochWriteTests.insertHeldRun(backend, worker: worker)
        let epochs = PostgresEpochWriteTests.epochs(seed: 5, count: 4)
        let other = try PostgresBackend(settings: try database.settings(), mode: .readWrite)
        try other.writeEpoch(runID: runID, epochs[2].0, tensors: epochs[2].1, holder: holder)
        try other.close()
        let before = try rows(backend, runID)
        XCTAssertThrowsError(try backend.writeEpochs(runID: runID, batch(epochs), holder: holder)) { error in
            XCTAssertTrue("\(error)".contains("epoch 2 of run \(runID) is already stored"), "\(error)")
        }
        XCTAssertEqual(try storedEpochs(backend, runID), [2], "nothing of the batch")
        XCTAssertEqual(try rows(backend, runID), before, "rows and summary unchanged")
        // The store goes on: the connection that failed was replaced.
        try backend.writeEpochs(runID: runID, batch(Array(epochs[0..<2])), holder: holder)
        XCTAssertEqual(try storedEpochs(backend, runID), [0, 1, 2])
    }

    func testARunTakenOverGetsNothingOfTheBatch() throws {
        let backend = try PostgresBackend(settings: try database.settings(), mode: .readWrite)
        defer { try? backend.close() }
        let runID = try PostgresEpochWriteTests.insertHeldRun(backend, worker: worker)
        _ = try backend.write { try $0.execute("UPDATE runs SET claim_token = claim_token + 1, worker = 'other worker', host = 'elsewhere' WHERE id = ?", [runID]) }
        XCTAssertThrowsError(try backend.writeEpochs(runID: runID, batch(PostgresEpochWriteTests.epochs(seed: 6, count: 3)), holder: holder)) { error in
            guard case StoreError.runNotHeld(runID, let detail) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(detail.contains("held by other worker"), detail)
        }
        XCTAssertEqual(try storedEpochs(backend, runID), [])
    }

    /// Through a loopback proxy that cuts the connection right after the server received `marker`
    /// (its answer is lost): every epoch ends up stored once, bit for bit, and the outage is said once.
    private func assertStoredOnceAfterCut(after marker: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let proxy = try LoopbackProxy(targetPort: try PostgresTestCluster.admin().port)
        defer { proxy.close() }
        let notices = PostgresReconnectionTests.Notices()
        let url = try PostgresTestCluster.url(host: "127.0.0.1", port: proxy.port, database: database.name, query: "sslmode=disable")
        let backend = try PostgresBackend(settings: try PostgresSettings(url: url, environment: [:]), mode: .readWrite,
                                          reconnection: notices.reconnection)
        defer { try? backend.close() }
        let runID = try PostgresEpochWriteTests.insertHeldRun(backend, worker: worker)
        let epochs = PostgresEpochWriteTests.epochs(seed: 9, count: 4)
        try backend.writeEpochs(runID: runID, batch(Array(epochs[0..<1])), holder: holder)  // prepares the statement
        proxy.arm(.dropAnswerAndCut, after: marker)
        try backend.writeEpochs(runID: runID, batch(Array(epochs[1...])), holder: holder)
        XCTAssertEqual(proxy.faults, [.dropAnswerAndCut], file: file, line: line)
        XCTAssertEqual(notices.lost.count, 1, "\(notices.lost)", file: file, line: line)
        XCTAssertEqual(notices.reconnected, 1, file: file, line: line)
        XCTAssertEqual(try storedEpochs(backend, runID), [0, 1, 2, 3], "every epoch once", file: file, line: line)
        for (epoch, tensors) in epochs {
            let stored = try backend.read { try $0.rows("SELECT layer, kind, data FROM tensors WHERE run_id = ? AND epoch = ? ORDER BY layer, kind",
                                                        [runID, Int64(epoch.epoch)]) }
            XCTAssertEqual(stored.map(\.values), tensors.sorted { ($0.layer, $0.kind.rawValue) < ($1.layer, $1.kind.rawValue) }
                .map { [SQLValue.integer(Int64($0.layer)), .text($0.kind.rawValue), .blob(Data($0.data))] },
                           "epoch \(epoch.epoch), bit for bit", file: file, line: line)
        }
        XCTAssertEqual(try backend.read { try $0.value("SELECT epochs_done FROM runs WHERE id = ?", [runID], as: Int64.self) }, 3,
                       file: file, line: line)
    }

    /// The COMMIT reached the server and its answer was lost: found committed, not sent again.
    func testABatchWhoseCommitAnswerIsLostIsStoredOnce() throws {
        try assertStoredOnceAfterCut(after: "COMMIT\0")
    }

    /// Cut after the batch's first epoch statement, before its COMMIT: the server rolls it back,
    /// and the whole batch is sent again.
    func testABatchCutBeforeItsCommitIsSentAgain() throws {
        try assertStoredOnceAfterCut(after: EpochStatement.name + "\0")
    }
}
