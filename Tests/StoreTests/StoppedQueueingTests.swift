// Ctrl-C while a sweep is written (`createSweep`'s `shouldStop`): the write stops at its next run
// and is undone whole, on both stores; a later sweep is written as if none had been begun, and
// says when it commits (`committing`, what a second Ctrl-C waits on).
import Foundation
import TestSupport
import XCTest
@testable import Store

final class StoppedQueueingTests: BothStoresTestCase {
    func testSQLiteStoppedSweepWriteLeavesNothing() throws { try assertStoppedWriteLeavesNothing(try sqliteStore()) }

    func testPostgreSQLStoppedSweepWriteLeavesNothing() throws { try assertStoppedWriteLeavesNothing(try postgresStore()) }

    private func assertStoppedWriteLeavesNothing(_ store: SlopeStore) throws {
        defer { try? store.close() }
        let runs = (0..<50).map { SlopeStore.NewRun.example(name: "run \($0)") }
        // Stopped after 20 runs were inserted, and (the last question) just before the commit.
        for stopAt in [21, runs.count + 1] {
            var asked = 0, committing = 0
            XCTAssertThrowsError(try store.createSweep(name: "big", specJSON: "{}", runs: runs, shouldStop: {
                asked += 1
                return asked >= stopAt
            }, committing: { committing += 1 })) { error in
                XCTAssertEqual(error as? StoreError, .interrupted(StoreError.nothingQueuedMessage))
            }
            XCTAssertEqual(asked, stopAt, "asked before each run and before the commit, no more after it said stop")
            XCTAssertEqual(committing, 0, "a write that stops never says it commits")
            XCTAssertEqual(try store.sweeps().count, 0)
            XCTAssertEqual(try store.read { c in try c.value("SELECT count(*) FROM runs", [], as: Int64.self) }, 0)
        }
        // `committing`: once, after the last question, as the write's last step before its COMMIT.
        var asked = 0, askedBeforeCommitting: [Int] = []
        let (sweepID, runIDs) = try store.createSweep(name: "again", specJSON: "{}", runs: runs, shouldStop: {
            asked += 1
            return false
        }, committing: { askedBeforeCommitting.append(asked) })
        XCTAssertEqual(askedBeforeCommitting, [runs.count + 1])
        XCTAssertEqual(try store.sweeps().map(\.id), [sweepID])
        XCTAssertEqual(try store.runs(sweepID: sweepID).map(\.id), runIDs)
        XCTAssertEqual(runIDs.count, 50)
    }
}
