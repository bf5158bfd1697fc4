// A PostgreSQL server with synchronous_commit=off that crashes loses the commits of its last
// moments, which it had already confirmed. Simulated here on the test server by deleting the
// run's last stored epoch (and its tensors) behind the worker's back: the worker's next epoch
// is refused (every epoch is stored only after the one before it), the run goes back to the
// queue and, claimed again, trains the lost epoch again: the same bits as an uninterrupted run.
import Foundation
import PostgresNIO
@testable import Store
import TestSupport
import XCTest
@testable import Experiments

final class LostEpochsTests: XCTestCase {
    private var directory: TemporaryDirectory!
    private var database: ScratchPostgresDatabase?

    override func setUpWithError() throws { directory = try TemporaryDirectory(prefix: "slope-lost-epochs") }

    override func tearDown() {
        database?.drop()
        directory.remove()
    }

    func testEpochsTheServerLostAreTrainedAgainBitIdentically() throws {
        let database = try ScratchPostgresDatabase(prefix: "slope_lost_")
        self.database = database
        let url = database.url

        let reference = try SlopeStore(path: directory.path("reference.db"))
        let referenceID = try reference.createRun(try RunConfiguration.make(TransientFailureTests.settings()).newRun())
        XCTAssertEqual(try Worker(store: reference).runQueued(runID: referenceID), .finished(.completed, reason: "completed all epochs"))

        let store = try SlopeStore(location: url)
        defer { try? store.close() }
        let runID = try store.createRun(try RunConfiguration.make(TransientFailureTests.settings()).newRun())
        let lost = Locked(false), outcomes = Locked<[RunOutcome]>([])
        let worker = Worker(store: store, onEvent: { [store] event in
            if case let .runFinished(_, _, outcome) = event { outcomes.update { $0.append(outcome) } }
            // After epoch 4's commit (and before epoch 5 is handed over: this runs on the training
            // thread), the server "loses" it.
            guard case let .epochFinished(_, epoch, _, _, _) = event, epoch == 4, !lost.value else { return }
            lost.update { $0 = true }
            for _ in 0..<1000 where ((try? store.epochs(runID: runID).count) ?? 0) < 5 { Thread.sleep(forTimeInterval: 0.01) }
            _ = try? store.backend.write { c in
                try c.execute("DELETE FROM epochs WHERE run_id = ? AND epoch = 4", [runID])
                try c.execute("UPDATE runs SET epochs_done = 3 WHERE id = ?", [runID])
            }
        })
        XCTAssertEqual(try worker.runQueued(runID: runID), .finished(.completed, reason: "completed all epochs"))
        XCTAssertTrue(lost.value)
        // Epoch 5 was refused, the run went back to the queue and was claimed again at once.
        XCTAssertEqual(outcomes.value.count, 2, "\(outcomes.value)")
        guard case let .requeued(reason)? = outcomes.value.first else { return XCTFail("\(outcomes.value)") }
        XCTAssertEqual(reason, "requeued after epoch 3: \(StoreError.previousEpochNotStored(runID: runID, epoch: 5, previous: 4, lastStored: 3))")
        XCTAssertEqual(try store.epochs(runID: runID).map(\.epoch), Array(0...8), "every epoch once, no gap")
        try TransientFailureTests.assertSameBits(store, runID, as: reference, referenceID)
    }
}
