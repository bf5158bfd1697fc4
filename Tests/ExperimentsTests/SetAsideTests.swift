// A run too large for this worker's memory is set aside (back in the queue, for a worker with more
// memory) and the worker goes on with the runs it can train: it remembers the runs it set aside and
// its claims skip them, on both stores; the sweep stays running, not interrupted. (The built
// `runner` under `ulimit -v`, and a larger worker finishing the sweep: SetAsideCLITests.)
import Foundation
@testable import Store
import TestSupport
import XCTest
@testable import Experiments

final class SetAsideTests: XCTestCase {
    private var directory: TemporaryDirectory!
    private var database: ScratchPostgresDatabase?

    override func setUpWithError() throws { directory = try TemporaryDirectory(prefix: "slope-set-aside") }

    override func tearDown() {
        database?.drop()
        directory.remove()
    }

    func testSQLiteWorkerTrainsTheSmallRunsAndLeavesTheLargeOneQueued() throws {
        let store = try SlopeStore(path: directory.path("slope.db"))
        defer { try? store.close() }
        try assertSmallRunsTrainedLargeOneLeft(store)
    }

    func testPostgreSQLWorkerTrainsTheSmallRunsAndLeavesTheLargeOneQueued() throws {
        let database = try ScratchPostgresDatabase(prefix: "slope_set_aside_")
        self.database = database
        let store = try SlopeStore(location: database.url)
        defer { try? store.close() }
        try assertSmallRunsTrainedLargeOneLeft(store)
    }

    /// A sweep of [large, small, small], the large one (10^10 parameters, about 800 GB to train)
    /// beyond any memory here, queued as a machine with that memory would have queued it (this
    /// process's check left out): with 1 thread and with 2, the worker trains both small runs and
    /// leaves the large one queued, with the reason, once; its sweep stays `running`.
    private func assertSmallRunsTrainedLargeOneLeft(_ store: SlopeStore) throws {
        var earlierLarge: [Int64] = []
        for jobs in [1, 2] {
            let spec = try SweepSpec.parse(yaml: """
                name: jobs\(jobs)
                fixed: {dataset: "blobs:rows=60:features=3:classes=3:seed=2", epochs: 2, validation: 0, batch_size: 8}
                parameters: {hidden: {values: [[100000, 100000], [4], [3]]}}
                """, file: "s.yaml", checkingData: false)
            let configurations = try spec.expand().map { try RunConfiguration.make($0.settings, checkingMemory: false) }
            let (sweepID, runIDs) = try store.createSweep(name: spec.name, specJSON: try spec.json(), runs: configurations.map { $0.newRun() })
            XCTAssertEqual(try runIDs.map { try store.run(id: $0).settings.layers }, ["3-100000-100000-3", "3-4-3", "3-3-3"], "jobs \(jobs)")

            let events = Locked<[(Int64, String)]>([])
            let worker = Worker(store: store, onEvent: { event in
                if case let .runFinished(runID, _, outcome) = event { events.update { $0.append((runID, outcome.statusText)) } }
            })
            let summary = try worker.work(sweepID: sweepID, jobs: jobs)
            XCTAssertEqual(summary.runIDs, runIDs, "jobs \(jobs)")
            XCTAssertEqual(summary.outcomes[runIDs[1]], .finished(.completed, reason: "completed all epochs"), "jobs \(jobs)")
            XCTAssertEqual(summary.outcomes[runIDs[2]], .finished(.completed, reason: "completed all epochs"), "jobs \(jobs)")
            guard case let .setAside(need)? = summary.outcomes[runIDs[0]] else { return XCTFail("jobs \(jobs): \(summary.outcomes)") }
            XCTAssertTrue(need.hasPrefix("--hidden: a 3-100000-100000-3 network (10000800003 parameters) on 60 rows of data needs about 800.1 GB "
                                         + "of memory to train; "), need)
            XCTAssertFalse(summary.wasInterrupted)
            XCTAssertEqual(events.value.filter { $0.0 == runIDs[0] }.map(\.1), ["set aside"], "set aside once, never claimed again: jobs \(jobs)")

            let large = try store.run(id: runIDs[0])
            XCTAssertEqual(large.status, .queued)
            XCTAssertEqual(large.stopReason, "this worker cannot train it: \(need); a worker with more memory will (it stays queued for one).")
            XCTAssertNil(large.worker)
            XCTAssertEqual(try store.epochs(runID: runIDs[0]).count, 0)
            XCTAssertEqual(try runIDs.dropFirst().map { try store.epochs(runID: $0).map(\.epoch) }, [[0, 1, 2], [0, 1, 2]])
            XCTAssertEqual(try store.sweep(id: sweepID).status, .running, "not interrupted: the run waits for a larger worker")

            // This worker has nothing left it can train: it claims nothing (the run stays queued).
            let again = try worker.work(sweepID: sweepID, jobs: jobs)
            XCTAssertEqual(again.outcomes, [:])
            XCTAssertEqual(try store.run(id: runIDs[0]).status, .queued)
            XCTAssertEqual(try store.sweep(id: sweepID).status, .running)
            // Nor without --sweep, but the large run of the sweep before, which this worker (a process
            // of its own) has not set aside yet: it tries it once, and sets it aside too.
            let anySweep = try worker.work(sweepID: nil, jobs: 1)
            XCTAssertEqual(anySweep.runIDs, earlierLarge, "jobs \(jobs)")
            XCTAssertTrue(anySweep.outcomes.values.allSatisfy(\.isSetAside), "\(anySweep.outcomes)")
            XCTAssertEqual(try worker.work(sweepID: nil, jobs: 1).outcomes, [:])
            earlierLarge.append(runIDs[0])
        }
    }
}
