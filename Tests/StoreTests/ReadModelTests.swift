// The one read model of each table, on both backends: a RunRecord's column view gives every
// RunColumn exactly as the column reads in SQL (what filters, sorts and tables saw when reports had
// their own model of a run), and a StoredTensor carries its row and decodes its bytes bit for bit.
import Foundation
@testable import Store
import TestSupport
import XCTest

final class ReadModelTests: XCTestCase {
    private var directory: TemporaryDirectory!
    private var database: TestDatabase?

    override func setUpWithError() throws { directory = try TemporaryDirectory(prefix: "slope-read-models") }
    override func tearDown() {
        directory.remove()
        database?.drop()
    }

    /// Runs in every state a report shows: queued; finished with losses; held, with NULL metrics
    /// and a NaN accuracy (stored as NULL); in a sweep, with the largest seed and a name.
    private func fill(_ store: SlopeStore) throws -> [Int64] {
        let worker = WorkerIdentity.current(label: "read models")
        let (_, sweepRuns) = try store.createSweep(name: "grid", specJSON: "{}", runs: [
            .example(name: "first", learningRate: 0.3, batchSize: 8, momentum: 0.9, seed: UInt64(Int64.max)),
            .example(learningRate: 1e-4, layers: "2-3-1"),
        ])
        let queued = try store.createRun(.example(name: "queued"))
        let claimToken = try XCTUnwrap(store.claimRun(runID: sweepRuns[0], worker: worker)).claimToken
        for epoch in 0...2 {
            try store.writeEpoch(runID: sweepRuns[0], .init(epoch: epoch, trainLoss: 1 / Double(epoch + 1), validationLoss: [0.9, 0.4, 0.6][epoch],
                                                            trainAccuracy: 0.25 * Double(epoch), validationAccuracy: .nan),
                                 tensors: [], holder: RunHolder(worker: worker, claimToken: claimToken))
        }
        try store.finishRun(runID: sweepRuns[0], status: .completed, stopReason: "early stopping")
        _ = try store.claimRun(runID: sweepRuns[1], worker: worker)
        return sweepRuns + [queued]
    }

    private func assertColumnViewIsTheStoredValue(_ store: SlopeStore, _ runIDs: [Int64], file: StaticString = #filePath, line: UInt = #line) throws {
        let runs = try store.queries.runSummaries()
        XCTAssertEqual(runs.map(\.id), runIDs.sorted(), file: file, line: line)
        XCTAssertEqual(try store.runs(sweepID: nil), runs, file: file, line: line)
        for run in runs {
            XCTAssertEqual(try store.run(id: run.id), run, file: file, line: line)
            let stored = try store.read { c in
                try c.rows("SELECT \(RunColumn.allCases.map(\.sqlExpression).joined(separator: ", ")) FROM runs WHERE id = ?", [run.id])
            }
            let values = try XCTUnwrap(stored.first, file: file, line: line).values.map(RunValue.init)
            for (column, value) in zip(RunColumn.allCases, values) {
                XCTAssertEqual(run[column], value, "run \(run.id) \(column)", file: file, line: line)
            }
        }
        let finished = try XCTUnwrap(runs.first { $0.status == .completed }, file: file, line: line)
        XCTAssertEqual(finished[.seed], .integer(Int64.max), file: file, line: line)
        XCTAssertEqual(finished.settings.seed, UInt64(Int64.max), file: file, line: line)
        XCTAssertEqual(finished[.status], .text("completed"), file: file, line: line)
        XCTAssertEqual(finished[.stop_reason], .text("early stopping"), file: file, line: line)
        XCTAssertEqual(finished[.best_val_loss], .real(0.4), file: file, line: line)
        XCTAssertEqual(finished[.final_val_loss], .real(0.6), file: file, line: line)
        XCTAssertEqual(finished[.best_epoch], .integer(1), file: file, line: line)
        XCTAssertEqual(finished[.final_val_accuracy], .null, file: file, line: line)
        XCTAssertEqual(finished[.momentum], .real(0.9), file: file, line: line)
        XCTAssertEqual(finished.integer(.batch_size), 8, file: file, line: line)
        XCTAssertEqual(finished.text(.name), "first", file: file, line: line)
        XCTAssertEqual(finished.learningRate, 0.3, file: file, line: line)
        XCTAssertEqual(finished[RunColumn(rawValue: "optimizer")!], .text("sgd"), file: file, line: line)
        XCTAssertEqual(finished[.hidden], .text("64"), file: file, line: line)
        let queued = try XCTUnwrap(runs.first { $0.status == .queued }, file: file, line: line)
        XCTAssertEqual(queued[.sweep_id], .null, file: file, line: line)
        XCTAssertEqual(queued[.final_train_loss], .null, file: file, line: line)
        XCTAssertEqual(queued[.started_at], .null, file: file, line: line)
    }

    func testRunColumnsReadAsStoredOnSQLite() throws {
        let store = try SlopeStore(path: directory.path("slope.db"))
        try assertColumnViewIsTheStoredValue(store, try fill(store))
    }

    func testRunColumnsReadAsStoredOnPostgreSQL() throws {
        let database = try PostgresTestCluster.makeDatabase()
        self.database = database
        let store = SlopeStore(backend: try PostgresBackend(settings: try database.settings(), mode: .readWrite))
        defer { try? store.close() }
        try assertColumnViewIsTheStoredValue(store, try fill(store))
    }

    func testAStoredTensorCarriesItsRowAndItsBitsOnBothBackends() throws {
        let worker = WorkerIdentity.current(label: "read models")
        let weight = SlopeStore.TensorRecord.float32(layer: 1, kind: .weight, rows: 2, cols: 2, [1.5, -0.0, .infinity, 3.25e-30])
        let step = SlopeStore.TensorRecord.float64(layer: 1, kind: .step, rows: 1, cols: 1, [28])
        let gradient = SlopeStore.TensorRecord.float64(layer: 2, kind: .weightGradient, rows: 1, cols: 3, [0.1, -1e300, 2])
        func check(_ store: SlopeStore) throws {
            let runID = try store.createRun(.example(layers: "2-2-3"))
            let claimToken = try XCTUnwrap(store.claimRun(runID: runID, worker: worker)).claimToken
            try store.writeEpoch(runID: runID, .init(epoch: 0, trainLoss: 1), tensors: [], holder: RunHolder(worker: worker, claimToken: claimToken))
            try store.writeEpoch(runID: runID, .init(epoch: 1, trainLoss: 1), tensors: [gradient, step, weight], holder: RunHolder(worker: worker, claimToken: claimToken))
            let stored = try store.tensors(runID: runID)
            XCTAssertEqual(stored.map(\.tensor), [step, weight, gradient])   // by epoch, layer, kind
            XCTAssertEqual(stored.map(\.runID), [runID, runID, runID])
            XCTAssertEqual(stored.map(\.epoch), [1, 1, 1])
            XCTAssertEqual(stored.map(\.kind), [.step, .weight, .weightGradient])
            XCTAssertEqual(stored.map(\.dtype), [.float64, .float32, .float64])
            XCTAssertEqual(stored[0].statistics, TensorStatistics(l2: 28, mean: 28, std: 0, min: 28, max: 28))
            XCTAssertEqual(stored[0].mean, 28)
            XCTAssertEqual(stored[0].doubles, [28])
            XCTAssertEqual(stored[2].doubles, [0.1, -1e300, 2])
            guard case .float32(let floats) = stored[1].values else { return XCTFail("a float32 tensor decodes as Float") }
            XCTAssertEqual(floats.map(\.bitPattern), ([1.5, -0.0, .infinity, 3.25e-30] as [Float]).map(\.bitPattern))
            // The same rows through every query that reads tensors.
            XCTAssertEqual(try store.queries.storedTensors(runID: runID, epoch: 1, kind: .step), [stored[0]])
            var streamed: [SlopeStore.StoredTensor] = []
            try store.queries.forEachTensor(sweepID: nil, runID: runID) { streamed.append($0) }
            XCTAssertEqual(streamed, stored)
            let resume = try XCTUnwrap(try store.resumePoint(runID: runID))
            XCTAssertEqual(resume.epoch, 1)
            XCTAssertEqual(resume.tensors, [step, weight, gradient])
        }
        let sqlite = try SlopeStore(path: directory.path("tensors.db"))
        try check(sqlite)
        let database = try PostgresTestCluster.makeDatabase()
        self.database = database
        let postgres = SlopeStore(backend: try PostgresBackend(settings: try database.settings(), mode: .readWrite))
        defer { try? postgres.close() }
        try check(postgres)
    }
}
