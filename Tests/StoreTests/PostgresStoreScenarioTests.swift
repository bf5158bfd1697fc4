// SlopeStore on PostgreSQL (opened by its postgresql:// location) against SlopeStore on SQLite:
// the same sweeps and single run, written and read back through every public Store function
// (claims and their tokens, sampled trials, compaction and the SQLite export included), give the
// same answers (times aside) and the same tensors, bit for bit.
import Foundation
import TestSupport
import XCTest
@testable import Store

final class PostgresStoreScenarioTests: XCTestCase {
    private var database: TestDatabase!

    override func setUpWithError() throws { database = try PostgresTestCluster.makeDatabase() }

    override func tearDown() { database?.drop() }

    /// Writes a sweep of three runs and a single run through the public API, reading everything back
    /// on the way; returns one line per answer, with timestamps replaced by `<time>`.
    /// A run with its derived settings in name order (a dictionary's order differs from one to the next).
    private static func text(_ run: SlopeStore.RunRecord) -> String {
        var typed = run
        typed.derivedSettings = [:]
        return "\(typed) derived: " + run.derivedSettings.sorted { $0.key.rawValue < $1.key.rawValue }
            .map { "\($0.key.rawValue)=\($0.value)" }.joined(separator: " ")
    }

    private static func scenario(_ store: SlopeStore, exportPath: String) throws -> [String] {
        var lines: [String] = []
        func say(_ label: String, _ value: Any) {
            lines.append(label + ": " + String(describing: value).replacingOccurrences(
                of: #"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"#, with: "<time>", options: .regularExpression))
        }
        let worker = WorkerIdentity(host: "box", pid: 42, label: "42@box", bootID: "boot", startTime: 1000, pidNamespace: "pid:[1]")
        let other = WorkerIdentity(host: "elsewhere", pid: 7, label: "7@elsewhere", startTime: 5)
        let runs = [0.1, 0.05, 0.01].enumerated().map { index, rate in
            SlopeStore.NewRun.example(name: "run \(index)", learningRate: rate, batchSize: 16 << index, epochs: 3,
                                      seed: UInt64(index) * 1_000_000_007, layers: "2-3-1")
        }
        let (sweepID, runIDs) = try store.createSweep(name: "grid", specJSON: #"{"method": "grid", "fixed": {"epochs": 3}}"#, runs: runs)
        say("created", (sweepID, runIDs))
        let single = try store.createRun(.example(name: "single", layers: "2-3-1"))
        say("single", single)
        try store.setSweepStatus(sweepID: sweepID, .running)
        let first = try XCTUnwrap(store.claimNextRun(sweepID: sweepID, worker: worker))
        say("claim next", (first.run.id, first.run.status, first.lastStoredEpoch as Any, first.claimToken))
        let second = try XCTUnwrap(store.claimNextRun(sweepID: sweepID, worker: worker))
        say("claim second", (second.run.id, second.claimToken))
        let claimedSingle = try XCTUnwrap(store.claimRun(runID: single, worker: worker))
        say("claim single", (claimedSingle.run.settings.name as Any, claimedSingle.claimToken))
        say("claim single again", try store.claimRun(runID: single, worker: worker) as Any)
        let tokens = [first.id: first.claimToken, second.id: second.claimToken, single: claimedSingle.claimToken]

        let epochs = PostgresEpochWriteTests.epochs(seed: 99, count: 4)
        for runID in [runIDs[0], runIDs[1], single] {
            for (epoch, tensors) in epochs.prefix(runID == runIDs[1] ? 2 : 4) {
                try store.writeEpoch(runID: runID, epoch, tensors: tensors, holder: RunHolder(worker: worker, claimToken: tokens[runID]!))
            }
        }
        try store.heartbeat(runID: single, holder: RunHolder(worker: worker, claimToken: claimedSingle.claimToken))
        do { try store.heartbeat(runID: single, holder: RunHolder(worker: other, claimToken: claimedSingle.claimToken)) } catch { say("heartbeat by another", error) }
        do { try store.heartbeat(runID: single, holder: RunHolder(worker: worker, claimToken: claimedSingle.claimToken + 1)) } catch { say("heartbeat with a later token", error) }
        do { try store.writeEpoch(runID: single, epochs[0].0, tensors: [], holder: RunHolder(worker: worker, claimToken: claimedSingle.claimToken)) } catch { say("epoch again", error) }
        try store.deleteEpochs(runID: single, after: 1)
        say("after delete", try store.epochs(runID: single).map(\.epoch))
        try store.writeEpoch(runID: single, epochs[2].0, tensors: epochs[2].1, holder: RunHolder(worker: worker, claimToken: claimedSingle.claimToken))
        try store.finishRun(runID: runIDs[0], status: .completed, stopReason: "completed all epochs",
                            holder: RunHolder(worker: worker, claimToken: first.claimToken))
        do {
            try store.finishRun(runID: runIDs[0], status: .failed, stopReason: "x", holder: RunHolder(worker: other, claimToken: first.claimToken))
        } catch { say("finish by another", error) }
        try store.requeueRun(runID: runIDs[1], reason: "interrupted at epoch 1", holder: RunHolder(worker: worker, claimToken: second.claimToken))
        let requeued = try XCTUnwrap(store.claimNextRun(sweepID: sweepID, worker: worker))
        say("claim requeued", (requeued.run.id, requeued.lastStoredEpoch as Any, requeued.claimToken))
        do {
            try store.writeEpoch(runID: runIDs[1], epochs[2].0, tensors: [], holder: RunHolder(worker: worker, claimToken: second.claimToken))
        } catch { say("epoch of the first claim", error) }
        say("reclaim none", try store.reclaimInterruptedRuns(sweepID: sweepID, runID: nil, worker: other, staleAfter: 3600).map(\.run.id))
        let stale = try store.reclaimInterruptedRuns(sweepID: nil, runID: single, worker: other, staleAfter: -3600)
        say("reclaim stale", stale.map { ($0.run.id, $0.run.worker as Any, $0.lastStoredEpoch as Any, $0.claimToken) })
        do {
            try store.writeEpoch(runID: single, epochs[3].0, tensors: [], holder: RunHolder(worker: worker, claimToken: claimedSingle.claimToken))
        } catch { say("epoch of the taken-over claim", error) }
        try store.finishRun(runID: single, status: .diverged, stopReason: "diverged at epoch 3",
                            holder: RunHolder(worker: other, claimToken: try XCTUnwrap(stale.first).claimToken))

        // Reads.
        say("run", text(try store.run(id: runIDs[0])))
        say("runs", try store.runs(sweepID: sweepID).map(text))
        say("runs all", try store.runs(sweepID: nil).map(\.id))
        say("epochs", try store.epochs(runID: runIDs[0]))
        say("tensors", try store.tensors(runID: runIDs[0]))
        say("tensors filtered", try store.tensors(runID: runIDs[0], epoch: 2, layer: 1, kind: .weight))
        say("resume point", try store.resumePoint(runID: single) as Any)
        say("sweeps", try store.sweeps())
        say("sweep", try store.sweep(id: sweepID))
        say("median", try store.medianValidationLoss(sweepID: sweepID, epoch: 1, excluding: nil) as Any)
        say("median excluding", try store.medianValidationLoss(sweepID: sweepID, epoch: 1, excluding: runIDs[0]) as Any)
        let filter = RunFilter.and(.comparison(.learning_rate, .less, .number(0.08)), .not(.isNull(.best_val_loss)))
        say("summaries", try store.queries.runSummaries().map(text))
        say("summaries filtered", try store.queries.runSummaries(sweepID: sweepID, filter: filter, sort: RunSort(column: .best_val_loss, descending: true)).map(text))
        say("summaries like", try store.queries.runSummaries(filter: .like(.name, pattern: "RUN%")).map { $0.integer(.id) as Any })
        say("summaries in", try store.queries.runSummaries(filter: .isIn(.batch_size, [.integer(16), .number(64)])).map { $0.integer(.id) as Any })
        say("summary", try store.queries.runSummary(id: single).map(text) as Any)
        say("count", try store.queries.runCount(sweepID: nil))
        say("epoch rows", try store.queries.epochRows(runIDs: [runIDs[0], single]))
        var epochRows: [String] = []
        try store.queries.forEachEpochRow(sweepID: sweepID, filter: filter) { epochRows.append("\($0)") }
        say("for each epoch row", epochRows)
        say("layer statistics", try store.queries.layerStatistics(runID: runIDs[0]))
        say("stored tensors", try store.queries.storedTensors(runID: runIDs[0], epoch: 1))
        say("stored tensors filtered", try store.queries.storedTensors(runID: runIDs[0], epoch: 1, layer: 2, kind: .weightAdamM))
        say("tensor epochs", try store.queries.tensorEpochs(runID: single))
        var tensorRows: [String] = []
        try store.queries.forEachTensor(sweepID: sweepID) { tensorRows.append("\($0)") }
        try store.queries.forEachTensor(sweepID: nil, runID: single) { tensorRows.append("\($0)") }
        say("for each tensor", tensorRows)
        say("status counts", try store.queries.runStatusCounts().sorted { $0.key < $1.key }.map { ($0.key, $0.value.sorted { $0.key < $1.key }) })
        say("finished run counts", try [worker, other].map { try store.queries.finishedRunCounts(sweepID: sweepID, worker: $0) })
        say("sweep summaries", try store.queries.sweepSummaries())
        say("sweep summary", try store.queries.sweepSummary(id: sweepID) as Any)
        say("pivot", try store.queries.pivot(sweepID: sweepID, rows: .learning_rate, columns: .batch_size, metric: .best_train_loss))
        say("snapshot", try store.queries.snapshot { queries in
            [try queries.runCount(sweepID: sweepID, filter: nil), try queries.runCount(sweepID: nil, filter: filter),
             try queries.epochsDone(sweepID: sweepID)]
        })
        let distinctColumns = [.hidden, .learning_rate, RunColumn(rawValue: "optimizer")!]
        say("distinct", try store.queries.snapshot { try $0.distinctValueCounts(sweepID: sweepID, columns: distinctColumns) }
                .enumerated().map { (distinctColumns[$0.offset].rawValue, $0.element) })
        say("sweep bests", try store.queries.snapshot { try $0.sweepBests(columns: [.best_val_loss, .final_train_loss, .final_val_accuracy]) }
                .sorted { $0.key < $1.key }.map { sweep, best in
                    "\(sweep) validates \(best.validates) min \(best.minimums.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue)=\($0.value)" }) "
                        + "max \(best.maximums.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue)=\($0.value)" })"
                })
        say("tensor bytes", try store.tensorBytesBySweep().sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
        say("trial run count", try store.queries.runCount(sweepID: sweepID))
        say("open grid sweeps", try store.openSweepIDs(method: "grid"))
        say("epoch values", try store.epochValues(sweepID: sweepID, epoch: 1, metric: .val_loss, excluding: runIDs[2]))
        say("summaries page", try store.queries.runSummaries(sort: RunSort(column: .learning_rate, descending: false), limit: 2, offset: 1)
                .map { $0.integer(.id) as Any })
        say("tensor bytes (queries)", try store.queries.tensorBytesBySweep().sorted { $0.key < $1.key }.map { ($0.key, $0.value) })

        // Compaction: a dry run changes nothing; then epoch 1 of the finished run loses its tensors.
        say("compact dry run", try store.compactTensors(sweepID: sweepID, keepEvery: 2, dryRun: true))
        say("compact", try store.compactTensors(sweepID: sweepID, keepEvery: 2, dryRun: false))
        say("tensor epochs after compaction", try store.queries.tensorEpochs(runID: runIDs[0]))
        try store.vacuum()  // SQLite only; PostgreSQL's autovacuum does this
        do { _ = try store.compactTensors(sweepID: sweepID, keepEvery: 0, dryRun: true) } catch { say("compact every 0", error) }

        // A sampled sweep: trials made inside the claim, never more than asked for.
        let (sampled, _) = try store.createSweep(name: "sampled", specJSON: #"{"method": "tpe"}"#, runs: [])
        for _ in 0..<3 {
            let trial = try store.claimNextTrial(sweepID: sampled, trialCount: 2, metric: .val_loss, worker: worker) { runCount, records in
                say("make trial", (runCount, records.map { ($0.id, $0.status, $0.epochsDone, $0.value as Any) }))
                return .example(name: "trial \(runCount)", learningRate: 0.01 * Double(runCount + 1), layers: "2-3-1")
            }
            say("trial", trial.map { ($0.id, $0.run.settings.name as Any, $0.claimToken) } as Any)
        }
        say("open tpe sweeps", try store.openSweepIDs(method: "tpe"))

        // The change token moves with a commit.
        let token = try store.queries.changeToken()
        try store.setSweepStatus(sweepID: sampled, .completed)
        say("change token moved", try store.queries.changeToken() != token)

        // The SQLite export of the sweep reads back alike, from either store.
        var export = try store.exportSQLite(sweepID: sweepID, to: exportPath)
        XCTAssertGreaterThan(export.bytes, 0)
        export.bytes = 0  // the file's size is SQLite's business
        say("export", export)
        let exported = try SlopeStore(location: exportPath, mode: .readOnly)
        defer { try? exported.close() }
        say("exported runs", try exported.runs(sweepID: sweepID).map(text))
        say("exported epochs", try exported.epochs(runID: runIDs[0]))
        say("exported tensors", try exported.tensors(runID: runIDs[0]))
        say("exported sweeps", try exported.sweeps())
        return lines
    }

    func testARunAndASweepReadBackAlikeFromSQLiteAndPostgreSQL() throws {
        let directory = try TemporaryDirectory(prefix: "slope-pgscenario")
        defer { directory.remove() }
        let sqlite = try SlopeStore(location: directory.path("slope.db"))
        let sqliteLines = try Self.scenario(sqlite, exportPath: directory.path("sqlite-export.db"))
        try sqlite.close()

        let postgres = try SlopeStore(location: database.url)
        XCTAssertTrue(postgres.path.hasPrefix("postgresql://"))
        XCTAssertFalse(postgres.path.contains(PostgresTestCluster.adminPassword), "the location shows no password")
        let postgresLines = try Self.scenario(postgres, exportPath: directory.path("postgres-export.db"))
        try postgres.close()

        XCTAssertEqual(postgresLines.count, sqliteLines.count)
        for (postgresLine, sqliteLine) in zip(postgresLines, sqliteLines) {
            XCTAssertEqual(postgresLine, sqliteLine)
        }
        // Read back through the read-only store too.
        let reader = try SlopeStore(location: database.url, mode: .readOnly)
        defer { try? reader.close() }
        XCTAssertEqual(try reader.queries.runCount(sweepID: nil), 6)
        XCTAssertThrowsError(try reader.createRun(.example())) { error in
            guard case StoreError.readOnly = error else { return XCTFail("\(error)") }
        }
    }
}
