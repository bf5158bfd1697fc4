// A full disk while a sweep or run is being queued: nothing is recorded (one transaction), and the
// message says so instead of "resume the run" (there is none). The disk is made full with SQLite's
// max_page_count on the store's writer; InputHardeningCLITests does it with a small tmpfs.
import GRDB
@testable import Store
import TestSupport
import XCTest
@testable import Experiments

final class QueueingDiskFullTests: XCTestCase {
    func testAFullDiskWhileQueueingSaysNothingWasQueued() throws {
        let directory = try TemporaryDirectory(prefix: "slope-queue-full")
        defer { directory.remove() }
        let path = directory.path("full.db")
        let store = try SlopeStore(path: path)
        func plan(_ runs: Int) throws -> SweepPlan {
            try SweepPlan(spec: try SweepSpec.parse(yaml: """
                fixed: {dataset: xor, hidden: [2], epochs: 1, validation: 0}
                parameters: {seed: {values: [\((0..<runs).map(String.init).joined(separator: ", "))]}}
                """, file: "s.yaml"))
        }
        _ = try plan(1).enqueue(in: store)
        try store.sqlite!.pool.writeWithoutTransaction { db in
            let pages = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0
            try db.execute(sql: "PRAGMA max_page_count = \(pages + 1)")
        }
        let expected = "the disk holding \(path) is full, so nothing was queued (the write was undone whole): "
            + "free some space and run the command again"
        let big = try plan(500)
        XCTAssertThrowsError(try big.enqueue(in: store)) { error in
            XCTAssertEqual(error as? ExperimentsError, .notQueued(reason: expected))
            XCTAssertFalse("\(error)".contains("resume"))
        }
        let one = try RunConfiguration.make({ var settings = RunSettings(); settings.dataset = "xor"; settings.name = String(repeating: "n", count: 20_000); return settings }())
        XCTAssertThrowsError(try Queueing.run { try store.createRun(one.newRun()) }) { error in
            XCTAssertEqual("\(error)", expected)
        }
        XCTAssertEqual(try store.sweeps().count, 1, "no half-recorded sweep")
        XCTAssertEqual(try store.runs(sweepID: nil).count, 1, "no run of it")

        // Space again: the same sweep is queued whole.
        try store.sqlite!.pool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA max_page_count = 1073741823") }
        XCTAssertEqual(try big.enqueue(in: store).runIDs.count, 500)
    }
}
