// Migration 0004 (optimizer state kinds): a database at 0001 with tensors keeps every row, byte
// for byte, and its layer_stats view; the new kinds are accepted afterwards, unknown ones still refused.
import Foundation
import GRDB
import Store
import TestSupport
import XCTest

final class OptimizerStateMigrationTests: XCTestCase {
    var directory: TemporaryDirectory!

    override func setUpWithError() throws { directory = try TemporaryDirectory(prefix: "slope-migration-0004") }
    override func tearDown() { directory.remove() }

    private let migrations = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("migrations")

    func testTensorsSurviveTheTableRebuildAndNewKindsAreAccepted() throws {
        let path = directory.path("old.db")
        let queue = try DatabaseQueue(path: path)
        // The database as Slope left it before 0004: the migrations before it, one run with tensors.
        let before = SlopeStore.schemaVersions.prefix { $0 < "0004" }
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)")
            for name in before {
                try db.execute(sql: try String(contentsOf: migrations.appendingPathComponent(name), encoding: .utf8))
                try db.execute(sql: "INSERT INTO grdb_migrations VALUES (?)", arguments: [name])
            }
        }
        try queue.close()
        let worker = WorkerIdentity.current(label: "test")
        do {
            // Written through a store that knows only the older migrations is not possible; write the rows by hand.
            let queue = try DatabaseQueue(path: path)
            try queue.write { db in
                try db.execute(sql: """
                    INSERT INTO runs (id, learning_rate, batch_size, epochs, seed, layers, activation, output_activation, loss,
                                      precision, dataset, slope_version, config, created_at)
                    VALUES (1, 0.1, 4, 2, 0, '1-2', 'relu', 'identity', 'mse', 'float32', 'xor', '0.1.0', '{}', '2026-01-01T00:00:00.000Z')
                    """)
                try db.execute(sql: "INSERT INTO epochs (run_id, epoch, train_loss) VALUES (1, 0, 1.5), (1, 1, 0.5)")
                for (epoch, kind, bytes) in [(0, "weight", [0, 0, 128, 63, 0, 0, 0, 64]), (1, "weight", [0, 0, 64, 64, 0, 0, 128, 64]),
                                             (1, "weight_grad", [0, 0, 128, 63, 0, 0, 128, 191])] as [(Int, String, [UInt8])] {
                    try db.execute(sql: """
                        INSERT INTO tensors (run_id, epoch, layer, kind, rows, cols, dtype, data, l2) VALUES (1, ?, 1, ?, 1, 2, 'float32', ?, 2)
                        """, arguments: [epoch, kind, Data(bytes)])
                }
                XCTAssertThrowsError(try db.execute(sql: """
                    INSERT INTO tensors (run_id, epoch, layer, kind, rows, cols, dtype, data) VALUES (1, 1, 1, 'weight_adam_m', 1, 1, 'float32', x'00000000')
                    """), "0001 refuses the new kinds")
            }
            try queue.close()
        }
        let oldRows = try DatabaseQueue(path: path).read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM tensors ORDER BY run_id, epoch, layer, kind").map { $0.description }
        }
        let oldStats = try DatabaseQueue(path: path).read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM layer_stats ORDER BY run_id, epoch, layer").map { $0.description }
        }
        XCTAssertEqual(oldRows.count, 3)

        let store = try SlopeStore(path: path)
        let check = try DatabaseQueue(path: path)
        try check.read { db in
            XCTAssertEqual(try Row.fetchAll(db, sql: "SELECT * FROM tensors ORDER BY run_id, epoch, layer, kind").map { $0.description }, oldRows)
            XCTAssertEqual(try Row.fetchAll(db, sql: "SELECT * FROM layer_stats ORDER BY run_id, epoch, layer").map { $0.description }, oldStats)
            XCTAssertEqual(try String.fetchAll(db, sql: "PRAGMA foreign_key_check"), [])
            XCTAssertEqual(try String.fetchAll(db, sql: "PRAGMA integrity_check"), ["ok"])
            XCTAssertNil(try String.fetchOne(db, sql: "SELECT name FROM sqlite_master WHERE name = 'tensors_0004'"))
            // The foreign key to epochs and the primary key are still there.
            XCTAssertEqual(try Row.fetchAll(db, sql: "PRAGMA foreign_key_list(tensors)").map { $0["table"] as String }, ["epochs", "epochs"])
            XCTAssertEqual(try Int.fetchOne(db, sql: "SELECT count(*) FROM pragma_table_info('tensors') WHERE pk > 0"), 4)
        }
        try check.close()

        // The new kinds are stored (and read back) through the store; an unknown kind is still refused.
        let runID = try store.createRun(.example(layers: "1-2"))
        let claimToken = try XCTUnwrap(store.claimRun(runID: runID, worker: worker)).claimToken
        let tensors: [SlopeStore.TensorRecord] = [
            .float32(layer: 1, kind: .weight, rows: 1, cols: 2, [1, 2]),
            .float32(layer: 1, kind: .weightAdamM, rows: 1, cols: 2, [0.5, -0.5]),
            .float32(layer: 1, kind: .weightAdamV, rows: 1, cols: 2, [0.25, 0.25]),
            .float32(layer: 1, kind: .biasAdamM, rows: 1, cols: 2, [0, 1]),
            .float32(layer: 1, kind: .biasAdamV, rows: 1, cols: 2, [0, 1]),
            .float32(layer: 1, kind: .weightRMS, rows: 1, cols: 2, [3, 4]),
            .float32(layer: 1, kind: .biasRMS, rows: 1, cols: 2, [5, 6]),
            .float64(layer: 1, kind: .step, rows: 1, cols: 1, [12]),
        ]
        try store.writeEpoch(runID: runID, .init(epoch: 0, trainLoss: 1), tensors: tensors, holder: RunHolder(worker: worker, claimToken: claimToken))
        let read = try store.tensors(runID: runID, epoch: 0).map(\.tensor)
        XCTAssertEqual(Set(read.map(\.kind.rawValue)), Set(tensors.map(\.kind.rawValue)))
        XCTAssertEqual(read.first { $0.kind == .step }?.data, tensors.last?.data)
        let raw = try DatabaseQueue(path: path)
        XCTAssertThrowsError(try raw.write { db in
            try db.execute(sql: """
                INSERT INTO tensors (run_id, epoch, layer, kind, rows, cols, dtype, data) VALUES (?, 0, 1, 'weight_adam', 1, 1, 'float32', x'00000000')
                """, arguments: [runID])
        })
        try raw.close()
    }
}
