// The run settings registry (RunColumn) against the schema: every setting is a typed column
// of `runs` and `run_summary`, Store fills the derived ones on insert, and migration 0003
// backfills old rows with exactly the values an insert writes.
import Foundation
import GRDB
@testable import Store
import TestSupport
import XCTest

final class RunSettingColumnsTests: XCTestCase {
    var directory: TemporaryDirectory!

    override func setUpWithError() throws { directory = try TemporaryDirectory(prefix: "slope-settings") }
    override func tearDown() { directory.remove() }

    /// A configuration as the runner stores it, with every optional setting set.
    static let fullConfig = """
        {"data":{"dataset":"data.csv","sha256":"ab","splitSeed":4,"standardize":true,"target":"y","taskOverride":"classification","validationFraction":0.25},\
        "initialWeightsFile":"w.json","name":"a",\
        "tensorLogging":"5",\
        "training":{"batchSize":16,"earlyStopping":{"minDelta":0.01,"monitor":"val_loss","patience":3},"epochs":7,\
        "hiddenActivation":"tanh","initialization":"he-normal","layerSizes":[4,32,16,3],"learningRate":0.1,"loss":"cross-entropy",\
        "momentum":0.9,"nesterov":true,"outputActivation":"softmax","precision":"float32","seed":2,"usesBias":false,"weightDecay":0.001,\
        "optimizer":"adamw","beta1":0.8,"beta2":0.99,"epsilon":1e-6,"rho":0.9}}
        """

    static let expectedFull: [String: DatabaseValue] = [
        "weight_decay": 0.001.databaseValue, "nesterov": 1.databaseValue, "hidden": "32,16".databaseValue,
        "init": "he-normal".databaseValue, "bias": 0.databaseValue, "early_stopping_patience": 3.databaseValue,
        "early_stopping_monitor": "val_loss".databaseValue, "min_delta": 0.01.databaseValue, "target": "y".databaseValue,
        "task": "classification".databaseValue, "standardize": 1.databaseValue, "split_seed": 4.databaseValue,
        "log_tensors": "5".databaseValue, "init_weights": "w.json".databaseValue,
        "optimizer": "adamw".databaseValue, "beta1": 0.8.databaseValue, "beta2": 0.99.databaseValue, "epsilon": 1e-6.databaseValue,
        "rho": .null,  // adamw does not use rho
    ]

    /// The defaults of a configuration without the optional parts, and of one without anything (old tests' `{}`).
    static let plainConfig = """
        {"data":{"dataset":"digits","splitSeed":0,"standardize":false,"taskOverride":"auto","validationFraction":0.2},"tensorLogging":"every",\
        "training":{"batchSize":32,"epochs":10,"hiddenActivation":"relu","layerSizes":[64,10],"learningRate":0.05,"loss":"cross-entropy",\
        "momentum":0,"nesterov":false,"outputActivation":"softmax","precision":"float32","seed":0,"usesBias":true,"weightDecay":0}}
        """

    static let expectedPlain: [String: DatabaseValue] = [
        "weight_decay": 0.0.databaseValue, "nesterov": 0.databaseValue, "hidden": "none".databaseValue,
        "init": .null, "bias": 1.databaseValue, "early_stopping_patience": .null, "early_stopping_monitor": .null,
        "min_delta": .null, "target": .null, "task": "auto".databaseValue, "standardize": 0.databaseValue,
        "split_seed": 0.databaseValue, "log_tensors": "every".databaseValue, "init_weights": .null,
        // Configurations from before the optimizers (0004): sgd, which uses none of the optimizer settings.
        "optimizer": "sgd".databaseValue, "beta1": .null, "beta2": .null, "epsilon": .null, "rho": .null,
    ]

    static func newRun(config: String, layers: String) -> SlopeStore.NewRun {
        SlopeStore.NewRun(learningRate: 0.1, batchSize: 16, epochs: 7, seed: 2, layers: layers, activation: "tanh",
                          outputActivation: "softmax", loss: "cross-entropy", dataset: "data.csv", configJSON: config,
                          slopeVersion: "test")
    }

    /// The derived setting columns of a row: those of 0003 (the expectations' keys), or with `all` every one.
    func derivedValues(_ db: Database, table: String = "runs", id: Int64, all: Bool = false) throws -> [String: DatabaseValue] {
        let key = table == "runs" ? "id" : "run_id"
        let row = try XCTUnwrap(try Row.fetchOne(db, sql: "SELECT * FROM \(table) WHERE \(key) = ?", arguments: [id]))
        var values: [String: DatabaseValue] = [:]
        for column in RunColumn.allCases where all || Self.expectedFull.keys.contains(column.rawValue) {
            if case .derived = column.source { values[column.rawValue] = row[column.rawValue] }
        }
        return values
    }

    func testStoreFillsTheSettingColumnsFromTheConfigurationOnInsert() throws {
        let path = directory.path("insert.db")
        let store = try SlopeStore(path: path)
        let full = try store.createRun(Self.newRun(config: Self.fullConfig, layers: "4-32-16-3"))
        let (_, plain) = try store.createSweep(name: "s", specJSON: "{}", runs: [
            Self.newRun(config: Self.plainConfig, layers: "64-10"), Self.newRun(config: "{}", layers: "2-3-1"),
        ])
        try store.close()
        let queue = try DatabaseQueue(path: path)
        try queue.read { db in
            XCTAssertEqual(try derivedValues(db, id: full), Self.expectedFull)
            XCTAssertEqual(try derivedValues(db, table: "run_summary", id: full), Self.expectedFull)
            XCTAssertEqual(try derivedValues(db, id: plain[0]), Self.expectedPlain)
            // Nothing in the configuration: the engine's defaults where it has them, else NULL.
            var bare = Self.expectedPlain.mapValues { _ in DatabaseValue.null }
            bare["weight_decay"] = 0.0.databaseValue; bare["nesterov"] = 0.databaseValue; bare["bias"] = 1.databaseValue
            bare["hidden"] = "3".databaseValue
            for name in ["optimizer", "beta1", "beta2", "epsilon", "rho"] { bare[name] = Self.expectedPlain[name] }
            XCTAssertEqual(try derivedValues(db, id: plain[1]), bare)
        }
        // And they read back through the report queries, by name.
        let summary = try XCTUnwrap(try SlopeStore(path: path, mode: .readOnly).queries.runSummary(id: full))
        XCTAssertEqual(summary[RunColumn(rawValue: "weight_decay")!], .real(0.001))
        XCTAssertEqual(summary[RunColumn(rawValue: "nesterov")!], .integer(1))
        XCTAssertEqual(summary[.hidden], .text("32,16"))
    }

    /// A sweep's runs get their derived columns in one statement at the end of the insert: its
    /// rows are the rows the same runs get inserted one by one (every column but the ids and times).
    func testASweepsRowsAreThoseOfItsRunsInsertedOneByOne() throws {
        let path = directory.path("batch.db")
        let store = try SlopeStore(path: path)
        let runs = [Self.newRun(config: Self.fullConfig, layers: "4-32-16-3"), Self.newRun(config: Self.plainConfig, layers: "64-10"),
                    Self.newRun(config: "{}", layers: "2-3-1")]
        let (_, swept) = try store.createSweep(name: "s", specJSON: "{}", runs: runs)
        let single = try runs.map { try store.createRun($0) }
        try store.close()
        let queue = try DatabaseQueue(path: path)
        try queue.read { db in
            for (a, b) in zip(swept, single) {
                let rows = try [a, b].map { id in try XCTUnwrap(try Row.fetchOne(db, sql: "SELECT * FROM runs WHERE id = ?", arguments: [id])) }
                var compared = 0
                for column in rows[0].columnNames where !["id", "sweep_id", "created_at"].contains(column) {
                    XCTAssertEqual(rows[0][column] as DatabaseValue, rows[1][column] as DatabaseValue, "run \(a) vs \(b): \(column)")
                    compared += 1
                }
                XCTAssertGreaterThan(compared, 30)
            }
            XCTAssertEqual(try derivedValues(db, id: swept[0]), Self.expectedFull)
        }
    }

    /// A database written before 0003 gets the columns with the values an insert writes today.
    func testMigrationBackfillsOldRowsLikeAnInsert() throws {
        let migrations = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("migrations")
        let before = SlopeStore.schemaVersions.filter { $0 < "0003" }
        let path = directory.path("old.db")
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)")
            for name in before {
                try db.execute(sql: try String(contentsOf: migrations.appendingPathComponent(name), encoding: .utf8))
                try db.execute(sql: "INSERT INTO grdb_migrations VALUES (?)", arguments: [name])
            }
            for (id, config, layers) in [(1, Self.fullConfig, "4-32-16-3"), (2, Self.plainConfig, "64-10")] {
                try db.execute(sql: """
                    INSERT INTO runs (id, learning_rate, batch_size, epochs, seed, layers, activation, output_activation, loss,
                                      precision, dataset, created_at, slope_version, config)
                    VALUES (?, 0.1, 16, 7, 2, ?, 'tanh', 'softmax', 'cross-entropy', 'float32', 'data.csv', '2026-01-01T00:00:00.000Z', 'old', ?)
                    """, arguments: [id, layers, config])
            }
        }
        try queue.close()
        let store = try SlopeStore(path: path)  // migrates
        // The same runs queued today, for every derived column (later migrations' too).
        let fresh = try [(Self.fullConfig, "4-32-16-3"), (Self.plainConfig, "64-10")].map { config, layers in
            try store.createRun(Self.newRun(config: config, layers: layers))
        }
        try store.close()
        let check = try DatabaseQueue(path: path)
        try check.read { db in
            XCTAssertEqual(try derivedValues(db, id: 1), Self.expectedFull)
            XCTAssertEqual(try derivedValues(db, table: "run_summary", id: 2), Self.expectedPlain)
            for (old, new) in zip([1, 2] as [Int64], fresh) {
                XCTAssertEqual(try derivedValues(db, id: old, all: true), try derivedValues(db, id: new, all: true), "run \(old)")
            }
        }
    }

    /// Every registry column is a column of `runs` of the declared type, every setting is in
    /// `run_summary`, and the view keeps 0001's columns first, in their order.
    func testRegistryMatchesTheSchema() throws {
        let path = directory.path("schema.db")
        _ = try SlopeStore(path: path)
        let queue = try DatabaseQueue(path: path)
        try queue.read { db in
            let runs = Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: "PRAGMA table_info(runs)").map {
                (($0["name"] as String), ($0["type"] as String)) })
            let summary = try Row.fetchAll(db, sql: "PRAGMA table_info(run_summary)").map { $0["name"] as String }
            for column in RunColumn.allCases {
                let type = try XCTUnwrap(runs[column.rawValue], "runs has no column \(column.rawValue)")
                switch column.valueKind {
                case .integer, .boolean: XCTAssertEqual(type, "INTEGER", column.rawValue)
                case .real: XCTAssertEqual(type, "REAL", column.rawValue)
                case .text: XCTAssertEqual(type, "TEXT", column.rawValue)
                }
                if column.isSetting { XCTAssertTrue(summary.contains(column.rawValue), "run_summary lacks \(column.rawValue)") }
            }
            XCTAssertEqual(Array(summary.prefix(6)), ["run_id", "sweep_id", "name", "status", "stop_reason", "learning_rate"])
            XCTAssertEqual(summary[31], "error", "0001's columns keep their positions")
        }
        XCTAssertEqual(RunColumn.setting(named: "validation"), .validation_fraction)
        XCTAssertEqual(RunColumn(rawValue: "weight_decay")?.configKey, "training.weightDecay")
        XCTAssertNil(RunColumn(rawValue: "weightDecay"))
    }
}
