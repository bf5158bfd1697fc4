// PostgresBackend.writeEpoch against the real test server: the same epochs, summary columns,
// statistics and tensor bytes as SQLite's writeEpoch of the same records, and the guards (a
// worker that does not hold the run writes nothing; a duplicate epoch or tensor is refused).
import Foundation
import GRDB
import PostgresNIO
import TestSupport
import XCTest
@testable import Store

final class PostgresEpochWriteTests: XCTestCase {
    private var database: TestDatabase!

    override func setUpWithError() throws { database = try PostgresTestCluster.makeDatabase() }

    override func tearDown() { database?.drop() }

    /// The epochs of the comparison: losses going up and down (the best epoch moves), a NaN
    /// accuracy (stored as NULL), tensors of every dtype, with a NaN and an infinity (statistics NULL).
    static func epochs(seed: UInt64, count: Int = 5) -> [(SlopeStore.EpochRecord, [SlopeStore.TensorRecord])] {
        var random = TestRandom(seed: seed)
        let trainLosses = [2.5, 1.25, 1.5, 0.75, 0.8, 0.5, 0.6]
        let validationLosses: [Double?] = [2.75, 1.5, 1.25, 1.375, 0.5, 0.625, 0.55]
        return (0..<count).map { index in
            let epoch = SlopeStore.EpochRecord(
                epoch: index, trainLoss: trainLosses[index % trainLosses.count],
                validationLoss: validationLosses[index % validationLosses.count],
                trainAccuracy: index == 2 ? .nan : Double(index) / 10, validationAccuracy: Double(index) / 9,
                seconds: Double(index) * 0.125)
            var gradient = (0..<6).map { _ in Float(random.unit()) }
            if index == 3 { gradient[4] = .nan }
            var biasGradient = (0..<3).map { _ in random.unit() * 1e-3 }
            if index == 1 { biasGradient[0] = .infinity }
            let tensors: [SlopeStore.TensorRecord] = [
                .float32(layer: 1, kind: .weight, rows: 2, cols: 3, (0..<6).map { _ in Float(random.unit()) }),
                .float32(layer: 1, kind: .bias, rows: 1, cols: 3, (0..<3).map { _ in Float(random.unit()) + 1000 }),
                .float32(layer: 1, kind: .weightGradient, rows: 2, cols: 3, gradient),
                .float64(layer: 1, kind: .biasGradient, rows: 1, cols: 3, biasGradient),
                .float64(layer: 2, kind: .weightAdamM, rows: 3, cols: 1, (0..<3).map { _ in random.unit() }),
                .float64(layer: 1, kind: .step, rows: 1, cols: 1, [Double(index * 10)]),
            ]
            return (epoch, tensors)
        }
    }

    /// The claim token of the runs `insertHeldRun` makes (as if claimed seven times).
    static let heldClaim: Int64 = 7

    /// A run of the PostgreSQL database held by `worker` under claim `heldClaim` (as a claim leaves it).
    static func insertHeldRun(_ backend: PostgresBackend, worker: WorkerIdentity) throws -> Int64 {
        try backend.write { connection in
            try connection.value("""
                INSERT INTO runs (learning_rate, batch_size, epochs, seed, layers, activation, output_activation, loss,
                                  precision, dataset, created_at, slope_version, config, status, worker, host, pid,
                                  boot_id, process_start, pid_namespace, started_at, heartbeat_at, claim_token)
                VALUES (0.5, 32, 10, 0, '2-3-1', 'relu', 'sigmoid', 'mse', 'float32', 'xor', '2026-01-01T00:00:00.000Z', 'test', '{}',
                        'running', ?, ?, ?, ?, ?, ?, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', ?)
                RETURNING id
                """, [worker.label, worker.host, Int64(worker.pid), worker.bootID, worker.startTime, worker.pidNamespace, heldClaim],
                as: Int64.self)!
        }
    }

    private static let epochColumns = "epoch, train_loss, val_loss, train_accuracy, val_accuracy, seconds"
    private static let tensorColumns = "epoch, layer, kind, rows, cols, dtype, data, l2, mean, std, min, max"
    private static let summaryColumns = """
        status, epochs_done, final_train_loss, final_val_loss, final_train_accuracy, final_val_accuracy,
        best_train_loss, best_val_loss, best_epoch
        """

    func testWritesTheSameRowsStatisticsAndBytesAsSQLite() throws {
        let epochs = Self.epochs(seed: 11)
        let worker = WorkerIdentity.current(label: "test worker")

        let directory = try TemporaryDirectory(prefix: "slope-pgepochs")
        defer { directory.remove() }
        let path = directory.path("slope.db")
        let store = try SlopeStore(path: path)
        let sqliteRun = try store.createRun(.example(layers: "2-3-1"))
        let claimToken = try XCTUnwrap(store.claimRun(runID: sqliteRun, worker: worker)).claimToken
        for (epoch, tensors) in epochs { try store.writeEpoch(runID: sqliteRun, epoch, tensors: tensors, holder: RunHolder(worker: worker, claimToken: claimToken)) }
        try store.close()
        func sqliteRows(_ sql: String) throws -> [[SQLValue]] {
            try DatabaseQueue(path: path).read { db in
                try Row.fetchAll(db, sql: sql, arguments: [sqliteRun]).map { Array($0.databaseValues).map(SQLValue.init) }
            }
        }

        let backend = try PostgresBackend(settings: try database.settings(), mode: .readWrite)
        defer { try? backend.close() }
        let run = try Self.insertHeldRun(backend, worker: worker)
        let holder = RunHolder(worker: worker, claimToken: Self.heldClaim)
        for (epoch, tensors) in epochs { try backend.writeEpoch(runID: run, epoch, tensors: tensors, holder: holder) }
        func postgresRows(_ sql: String) throws -> [[SQLValue]] {
            try backend.read { try $0.rows(sql, [run]).map(\.values) }
        }

        for sql in [
            "SELECT \(Self.epochColumns) FROM epochs WHERE run_id = ? ORDER BY epoch",
            "SELECT \(Self.tensorColumns) FROM tensors WHERE run_id = ? ORDER BY epoch, layer, kind",
            "SELECT \(Self.summaryColumns) FROM runs WHERE id = ?",
            "SELECT epoch, layer, weight_l2, gradient_l2 FROM layer_stats WHERE run_id = ? ORDER BY epoch, layer",
        ] {
            let expected = try sqliteRows(sql)
            XCTAssertFalse(expected.isEmpty, sql)
            XCTAssertEqual(try postgresRows(sql), expected, sql)
        }
        // Hand-checked: the best validation loss 0.5 at epoch 4; epoch 2's NaN accuracy is NULL; a
        // tensor with a NaN has no statistics; step's single value is its mean, min and max.
        let summary = try XCTUnwrap(postgresRows("SELECT \(Self.summaryColumns) FROM runs WHERE id = ?").first)
        XCTAssertEqual(summary, [.text("running"), .integer(4), .real(0.8), .real(0.5), .real(0.4), .real(4.0 / 9),
                                 .real(0.75), .real(0.5), .integer(4)])
        XCTAssertEqual(try postgresRows("SELECT train_accuracy FROM epochs WHERE run_id = ? AND epoch = 2"), [[.null]])
        XCTAssertEqual(try postgresRows("SELECT l2, mean, std, min, max FROM tensors WHERE run_id = ? AND epoch = 3 AND kind = 'weight_grad'"),
                       [[.null, .null, .null, .null, .null]])
        XCTAssertEqual(try postgresRows("SELECT l2, mean, std, min, max FROM tensors WHERE run_id = ? AND epoch = 2 AND kind = 'step'"),
                       [[.real(20), .real(20), .real(0), .real(20), .real(20)]])
        // The bytes are those given, bit for bit.
        let data = try postgresRows("SELECT data FROM tensors WHERE run_id = ? ORDER BY epoch, layer, kind")
        let given = epochs.flatMap { $0.1.sorted { ($0.layer, $0.kind.rawValue) < ($1.layer, $1.kind.rawValue) } }.map { SQLValue.blob(Data($0.data)) }
        XCTAssertEqual(data.map(\.[0]), given)
        // The heartbeat is the server's clock, in the stored format.
        let heartbeat = try XCTUnwrap(postgresRows("SELECT heartbeat_at FROM runs WHERE id = ?").first?.first)
        guard case let .text(text) = heartbeat else { return XCTFail("\(heartbeat)") }
        XCTAssertEqual(text.count, "2026-11-29T12:34:56.789Z".count, text)
        XCTAssertTrue(text.hasSuffix("Z") && text > "2026-01-01T00:00:00.000Z", text)
    }

    func testOnlyTheHolderWritesAndDuplicatesAreRefused() throws {
        let backend = try PostgresBackend(settings: try database.settings(), mode: .readWrite)
        defer { try? backend.close() }
        let worker = WorkerIdentity(host: "box", pid: 42, label: "42@box", startTime: 1000)
        let run = try Self.insertHeldRun(backend, worker: worker)
        let holder = RunHolder(worker: worker, claimToken: Self.heldClaim)
        let (epoch, tensors) = Self.epochs(seed: 3, count: 1)[0]
        func count(_ table: String) throws -> Int64 {
            try backend.read { try $0.value("SELECT count(*) FROM \(table) WHERE run_id = ?", [run], as: Int64.self) ?? -1 }
        }
        let others = [
            WorkerIdentity(host: "box", pid: 43, label: "43@box", startTime: 1000),
            WorkerIdentity(host: "other", pid: 42, label: "42@other", startTime: 1000),
            WorkerIdentity(host: "box", pid: 42, label: "42@box later", startTime: 2000),  // the same pid, a later process
            WorkerIdentity(host: "box", pid: 42, label: "42@box", startTime: nil),
        ]
        for other in others {
            XCTAssertThrowsError(try backend.writeEpoch(runID: run, epoch, tensors: tensors, holder: RunHolder(worker: other, claimToken: Self.heldClaim))) { error in
                XCTAssertEqual(error as? StoreError, .runNotHeld(runID: run, detail: "it is held by 42@box under claim 7"), "\(other)")
            }
        }
        // The holder itself with the token of an earlier claim.
        let stale = RunHolder(worker: worker, claimToken: Self.heldClaim - 1)
        XCTAssertThrowsError(try backend.writeEpoch(runID: run, epoch, tensors: tensors, holder: stale)) { error in
            XCTAssertEqual(error as? StoreError,
                           .runNotHeld(runID: run, detail: "it is held by 42@box under claim 7; this worker's claim 6 is stale"))
        }
        XCTAssertEqual(try count("epochs"), 0)
        XCTAssertEqual(try count("tensors"), 0)
        XCTAssertEqual(try backend.read { try $0.value("SELECT heartbeat_at FROM runs WHERE id = ?", [run], as: String.self) },
                       "2026-01-01T00:00:00.000Z", "nothing written")

        try backend.writeEpoch(runID: run, epoch, tensors: tensors, holder: holder)
        XCTAssertThrowsError(try backend.writeEpoch(runID: run, epoch, tensors: tensors, holder: holder)) { error in
            XCTAssertEqual(error as? StoreError, .invalidValue(
                "epoch 0 of run \(run) is already stored: call deleteEpochs(runID:after:) before re-running it"))
        }
        let next = SlopeStore.EpochRecord(epoch: 1, trainLoss: 0.1)
        XCTAssertThrowsError(try backend.writeEpoch(runID: run, next, tensors: [tensors[0], tensors[1], tensors[0]], holder: holder)) { error in
            XCTAssertEqual(error as? StoreError, .invalidValue("tensor weight of layer 1 appears twice in epoch 1 of run \(run)"))
        }
        XCTAssertEqual(try count("epochs"), 1)
        XCTAssertEqual(try count("tensors"), Int64(tensors.count))
        XCTAssertEqual(try backend.read { try $0.value("SELECT epochs_done FROM runs WHERE id = ?", [run], as: Int64.self) }, 0)

        // An epoch without tensors; then a run that has finished, and one that does not exist.
        try backend.writeEpoch(runID: run, next, tensors: [], holder: holder)
        XCTAssertEqual(try count("epochs"), 2)
        _ = try backend.write { try $0.execute("UPDATE runs SET status = 'completed' WHERE id = ?", [run]) }
        XCTAssertThrowsError(try backend.writeEpoch(runID: run, .init(epoch: 2, trainLoss: 0.1), tensors: [], holder: holder)) { error in
            XCTAssertEqual(error as? StoreError, .runNotHeld(runID: run, detail: "it is completed now (last held by 42@box)"))
        }
        XCTAssertThrowsError(try backend.writeEpoch(runID: run + 1, next, tensors: [], holder: holder)) { error in
            XCTAssertEqual(error as? StoreError, .notFound("run \(run + 1)"))
        }
    }

    /// The epoch statement is one named prepared statement, whatever the number of tensors:
    /// prepared once per connection and executed for every epoch after; a new connection (the
    /// old one ended by the server) prepares it again, and so does the connection that replaces
    /// one closed after a failed execution.
    func testTheEpochStatementIsPreparedOncePerConnection() throws {
        let backend = try PostgresBackend(settings: try database.settings(), mode: .readWrite, maximumConnections: 1)
        defer { try? backend.close() }
        let worker = WorkerIdentity.current(label: "test worker")
        let run = try Self.insertHeldRun(backend, worker: worker)
        let holder = RunHolder(worker: worker, claimToken: Self.heldClaim)
        let epochs = Self.epochs(seed: 5, count: 6)
        func executions() throws -> [Int64] {
            try backend.read { connection in
                try connection.values("SELECT generic_plans + custom_plans FROM pg_prepared_statements WHERE name = ?",
                                      [EpochStatement.name], as: Int64.self)
            }
        }
        func stored() throws -> [[SQLValue]] {
            try backend.read { try $0.rows("SELECT epoch, layer, kind, data FROM tensors WHERE run_id = ? ORDER BY epoch, layer, kind", [run]).map(\.values) }
        }
        func expected(_ written: [(Int, [SlopeStore.TensorRecord])]) -> [[SQLValue]] {
            written.flatMap { epoch, tensors in
                tensors.sorted { ($0.layer, $0.kind.rawValue) < ($1.layer, $1.kind.rawValue) }.map {
                    [.integer(Int64(epoch)), .integer(Int64($0.layer)), .text($0.kind.rawValue), .blob(Data($0.data))]
                }
            }
        }
        XCTAssertEqual(try executions(), [], "not prepared before the first epoch")
        // No tensors, all six, two of them: one statement.
        var written: [(Int, [SlopeStore.TensorRecord])] = [(0, []), (1, epochs[1].1), (2, Array(epochs[2].1.prefix(2)))]
        for (index, tensors) in written { try backend.writeEpoch(runID: run, epochs[index].0, tensors: tensors, holder: holder) }
        XCTAssertEqual(try executions(), [3])
        XCTAssertEqual(try stored(), expected(written))

        // The server ends the connection: the next epoch goes through on a new one, prepared anew.
        let pid = try XCTUnwrap(backend.read { try $0.value("SELECT pg_backend_pid()", as: Int64.self) })
        let admin = try PostgresSession(settings: PostgresTestCluster.admin())
        defer { admin.close() }
        XCTAssertEqual(try admin.query("SELECT pg_terminate_backend(\(pid)::int4)").first?.decode(Bool.self), true)
        try backend.writeEpoch(runID: run, epochs[3].0, tensors: epochs[3].1, holder: holder)
        written.append((3, epochs[3].1))
        XCTAssertNotEqual(try backend.read { try $0.value("SELECT pg_backend_pid()", as: Int64.self) }, pid)
        XCTAssertEqual(try executions(), [1])

        // A failed execution (a duplicate epoch) closes its connection; the next epoch prepares on a new one.
        XCTAssertThrowsError(try backend.writeEpoch(runID: run, epochs[3].0, tensors: epochs[3].1, holder: holder))
        try backend.writeEpoch(runID: run, epochs[4].0, tensors: epochs[4].1, holder: holder)
        written.append((4, epochs[4].1))
        XCTAssertEqual(try executions(), [1])
        XCTAssertEqual(try stored(), expected(written))
        XCTAssertEqual(try backend.read { try $0.value("SELECT epochs_done FROM runs WHERE id = ?", [run], as: Int64.self) }, 4)
    }
}
