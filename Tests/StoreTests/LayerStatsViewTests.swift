// The `layer_stats` view, one definition (migration 0006: the gradient looked up by its whole key),
// on both stores: its rows for a small run are the hand-computed ones and exactly what every reader
// returns (one run, a thinned or paged run, a sweep); a database from before 0006 keeps its view's
// rows through the migration, opens and is upgraded.
import Foundation
import GRDB
import PostgresNIO
import TestSupport
import XCTest
@testable import Store

final class LayerStatsViewTests: BothStoresTestCase {
    func testSQLiteViewRowsAreHandComputedAndWhatTheReadersReturn() throws { try assertViewAndReaders(try sqliteStore()) }

    func testPostgreSQLViewRowsAreHandComputedAndWhatTheReadersReturn() throws { try assertViewAndReaders(try postgresStore()) }

    private let worker = WorkerIdentity(host: "box", pid: 42, label: "runner 42@box", bootID: "boot", startTime: 1000)

    /// (epoch, layer, weight_l2, gradient_l2, update_to_weight_ratio) of the run `writeSmallRun`
    /// writes with a learning rate of 0.5, by hand: layer 1's weights [3, 4] x (epoch + 1) (L2
    /// 5 x (epoch + 1)) and gradient [0.6, 0.8] (L2 1) from epoch 1; layer 2's weights [0, 0] at
    /// epoch 0 (L2 0: no ratio) then [epoch, 0], its gradient [0, 2] (L2 2) at epochs 1 and 3 only
    /// (none at 2: NULL gradient and ratio); no gradient at epoch 0.
    private let expected: [(Int, Int, Double, Double?, Double?)] = [
        (0, 1, 5, nil, nil), (0, 2, 0, nil, nil),
        (1, 1, 10, 1, 0.5 * 1 / 10), (1, 2, 1, 2, 0.5 * 2 / 1),
        (2, 1, 15, 1, 0.5 * 1 / 15), (2, 2, 2, nil, nil),
        (3, 1, 20, 1, 0.5 * 1 / 20), (3, 2, 3, 2, 0.5 * 2 / 3),
    ]

    private func writeSmallRun(_ store: SlopeStore, runID: Int64) throws {
        let claimed = try XCTUnwrap(store.claimRun(runID: runID, worker: worker))
        for epoch in 0...3 {
            let scale = Float(epoch + 1)
            var tensors: [SlopeStore.TensorRecord] = [
                .float32(layer: 1, kind: .weight, rows: 1, cols: 2, [3 * scale, 4 * scale]),
                .float32(layer: 2, kind: .weight, rows: 2, cols: 1, [Float(epoch), 0]),
                .float32(layer: 1, kind: .bias, rows: 1, cols: 2, [0.5, 0.5]),
            ]
            if epoch > 0 { tensors.append(.float32(layer: 1, kind: .weightGradient, rows: 1, cols: 2, [0.6, 0.8])) }
            if epoch == 1 || epoch == 3 { tensors.append(.float32(layer: 2, kind: .weightGradient, rows: 2, cols: 1, [0, 2])) }
            if epoch > 0 { tensors.append(.float32(layer: 1, kind: .biasGradient, rows: 1, cols: 2, [7, 7])) }  // not a weight's gradient
            try store.writeEpoch(runID: runID, .init(epoch: epoch, trainLoss: 1 / Double(epoch + 1)), tensors: tensors,
                                 holder: RunHolder(worker: worker, claimToken: claimed.claimToken))
        }
    }

    /// The view's rows of one run, read as they are stored.
    private func viewRows(_ store: SlopeStore, runID: Int64) throws -> [LayerStatisticsRow] {
        try store.read { c in
            try c.rows("SELECT run_id, epoch, layer, weight_l2, gradient_l2, update_to_weight_ratio FROM layer_stats WHERE run_id = ? ORDER BY epoch, layer",
                       [runID]).map {
                LayerStatisticsRow(epoch: Int(sqlValue: $0[1]) ?? -1, layer: Int(sqlValue: $0[2]) ?? -1, weightL2: Double(sqlValue: $0[3]),
                                   gradientL2: Double(sqlValue: $0[4]), updateToWeightRatio: Double(sqlValue: $0[5]))
            }
        }
    }

    private func assertViewAndReaders(_ store: SlopeStore, file: StaticString = #filePath, line: UInt = #line) throws {
        defer { try? store.close() }
        let (sweepID, runIDs) = try store.createSweep(name: "grid", specJSON: #"{"method": "grid"}"#, runs: [
            .example(name: "small", learningRate: 0.5, layers: "2-2-1"), .example(name: "other", learningRate: 0.1, layers: "2-2-1"),
        ])
        try writeSmallRun(store, runID: runIDs[0])
        let other = try XCTUnwrap(store.claimRun(runID: runIDs[1], worker: worker))
        try store.writeEpoch(runID: runIDs[1], .init(epoch: 0, trainLoss: 1), tensors: [.float32(layer: 1, kind: .weight, rows: 1, cols: 1, [9])],
                             holder: RunHolder(worker: worker, claimToken: other.claimToken))

        let rows = try viewRows(store, runID: runIDs[0])
        XCTAssertEqual(rows.count, expected.count, file: file, line: line)
        for (row, hand) in zip(rows, expected) {
            XCTAssertEqual(row.epoch, hand.0, file: file, line: line)
            XCTAssertEqual(row.layer, hand.1, file: file, line: line)
            XCTAssertEqual(try XCTUnwrap(row.weightL2), hand.2, accuracy: 1e-6, "epoch \(hand.0) layer \(hand.1)", file: file, line: line)
            XCTAssertEqual(row.gradientL2 == nil, hand.3 == nil, "epoch \(hand.0) layer \(hand.1)", file: file, line: line)
            XCTAssertEqual(row.gradientL2 ?? 0, hand.3 ?? 0, accuracy: 1e-6, file: file, line: line)
            XCTAssertEqual(row.updateToWeightRatio == nil, hand.4 == nil, "epoch \(hand.0) layer \(hand.1)", file: file, line: line)
            XCTAssertEqual(row.updateToWeightRatio ?? 0, hand.4 ?? 0, accuracy: 1e-7, file: file, line: line)
        }
        // Every reader returns the view's rows, exactly.
        XCTAssertEqual(try store.queries.layerStatistics(runID: runIDs[0]), rows, file: file, line: line)
        XCTAssertEqual(try store.queries.layerStatistics(runID: runIDs[0], every: 2, latest: 1), rows.filter { [0, 2, 3].contains($0.epoch) },
                       file: file, line: line)
        XCTAssertEqual(try store.queries.layerStatistics(runID: runIDs[0], offset: 1, limit: 2), rows.filter { [1, 2].contains($0.epoch) },
                       file: file, line: line)
        XCTAssertEqual(try store.queries.layerStatistics(runID: runIDs[0], offset: 4, limit: 2), [], file: file, line: line)
        let otherRows = try viewRows(store, runID: runIDs[1])
        XCTAssertEqual(otherRows, [LayerStatisticsRow(epoch: 0, layer: 1, weightL2: 9, gradientL2: nil, updateToWeightRatio: nil)], file: file, line: line)
        XCTAssertEqual(try store.queries.layerStatistics(sweepID: sweepID), [runIDs[0]: rows, runIDs[1]: otherRows], file: file, line: line)
    }

    // MARK: - Migration 0006

    /// A run's tensors written by hand into a database from before 0006 (no store of that version
    /// exists to write them): two layers, gradients from epoch 1, layer 2 without one at epoch 2.
    /// `blob`: a 4-byte value as the dialect writes it, from its hex digits.
    private func handRows(blob: (String) -> String) -> [String] { [
        "INSERT INTO runs (id, learning_rate, batch_size, epochs, seed, layers, activation, output_activation, loss, precision, dataset, "
            + "slope_version, config, created_at) VALUES (1, 0.5, 4, 2, 0, '2-2-1', 'relu', 'identity', 'mse', 'float32', 'xor', '0.1.0', '{}', "
            + "'2026-01-01T00:00:00.000Z')",
        "INSERT INTO epochs (run_id, epoch, train_loss) VALUES (1, 0, 1.5), (1, 1, 0.5), (1, 2, 0.25)",
    ] + [(0, 1, "weight", 5.0), (0, 2, "weight", 0.0), (1, 1, "weight", 10.0), (1, 2, "weight", 1.0), (1, 1, "weight_grad", 1.0),
         (1, 2, "weight_grad", 2.0), (2, 1, "weight", 15.0), (2, 2, "weight", 2.0), (2, 1, "weight_grad", 1.0), (2, 1, "bias_grad", 7.0)]
        .map { epoch, layer, kind, l2 in
            "INSERT INTO tensors (run_id, epoch, layer, kind, rows, cols, dtype, data, l2) VALUES (1, \(epoch), \(layer), '\(kind)', 1, 1, "
                + "'float32', \(blob(kind == "weight" ? "0000803F" : "00000040")), \(l2))"
        }
    }

    /// (epoch, layer, weight_l2, gradient_l2, ratio) of `handRows`, by hand (learning rate 0.5).
    private let handStats: [LayerStatisticsRow] = [
        .init(epoch: 0, layer: 1, weightL2: 5, gradientL2: nil, updateToWeightRatio: nil),
        .init(epoch: 0, layer: 2, weightL2: 0, gradientL2: nil, updateToWeightRatio: nil),
        .init(epoch: 1, layer: 1, weightL2: 10, gradientL2: 1, updateToWeightRatio: 0.05),
        .init(epoch: 1, layer: 2, weightL2: 1, gradientL2: 2, updateToWeightRatio: 1),
        .init(epoch: 2, layer: 1, weightL2: 15, gradientL2: 1, updateToWeightRatio: 0.5 / 15),
        .init(epoch: 2, layer: 2, weightL2: 2, gradientL2: nil, updateToWeightRatio: nil),
    ]

    /// SQLite has no 0006: it plans 0001's LEFT JOIN on the whole key as the keyed lookup already,
    /// so a database from before (at 0005) is current: read-only opens it (no `runner` needed
    /// first), and its readers give the hand-computed rows, the view's own.
    func testSQLiteDatabaseFrom0005IsCurrentAndItsReadersReadTheView() throws {
        let path = directory.path("old.db")
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)")
            for file in Migrations.files {
                try db.execute(sql: file.sql)
                try db.execute(sql: "INSERT INTO grdb_migrations VALUES (?)", arguments: [file.name])
            }
            for statement in handRows(blob: { "X'\($0)'" }) { try db.execute(sql: statement) }
        }
        XCTAssertEqual(Migrations.files.map(\.name).last, "0005_claim_token.sql")
        let select = "SELECT * FROM layer_stats ORDER BY run_id, epoch, layer"
        let rows = try queue.read { db in try Row.fetchAll(db, sql: select).map { Array($0.databaseValues) } }
        try queue.close()
        XCTAssertEqual(rows.count, 6)
        let readOnly = try SlopeStore(path: path, mode: .readOnly)
        XCTAssertEqual(try readOnly.queries.layerStatistics(runID: 1), handStats)
        try readOnly.close()
    }

    /// PostgreSQL: a database at 0005 gets 0006 (and only it) when a store opens it; the view's
    /// rows are the same before and after, now made by the LATERAL lookup.
    func testPostgreSQLDatabaseFrom0005IsUpgradedWithTheSameViewRows() throws {
        let database = try PostgresTestCluster.makeDatabase()
        defer { database.drop() }
        let session = try database.session()
        defer { session.close() }
        try session.transaction {
            try session.execute(script: PostgresMigrations.bookkeeping)
            try session.query("INSERT INTO slope_database (application_id, created_at) VALUES (\(Int64(SlopeStore.applicationID)), 'x')")
            for file in PostgresMigrations.files where file.name < "0006" {
                try session.execute(script: file.sql)
                try session.query("INSERT INTO slope_migrations (name, applied_at) VALUES (\(file.name), 'x')")
            }
            for statement in handRows(blob: { "'\\x\($0)'::bytea" }) { try session.query(PostgresQuery(unsafeSQL: statement)) }
        }
        let select = "SELECT * FROM layer_stats ORDER BY run_id, epoch, layer"
        let before = try PostgresSQLConnection(session: session).rows(select, []).map(\.values)
        XCTAssertEqual(before.count, 6)
        let definition = PostgresQuery(unsafeSQL: "SELECT pg_get_viewdef('layer_stats'::regclass)")
        XCTAssertFalse(try XCTUnwrap(session.query(definition).first).decode(String.self).contains("LATERAL"))

        let store = try SlopeStore(location: database.url)
        XCTAssertEqual(try store.queries.layerStatistics(runID: 1), handStats)
        try store.close()
        XCTAssertEqual(try session.query("SELECT name FROM slope_migrations ORDER BY name").map { try $0.decode(String.self) },
                       PostgresSession.schemaVersions)
        XCTAssertEqual(try PostgresSQLConnection(session: session).rows(select, []).map(\.values), before)
        XCTAssertTrue(try XCTUnwrap(session.query(definition).first).decode(String.self).contains("LATERAL"))
        XCTAssertNoThrow(try session.verifySchema())
    }
}
