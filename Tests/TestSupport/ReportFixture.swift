// A small, fully deterministic Slope database for the report tests, written through the Store API:
// a 2 x 2 x 2 learning-rate x batch-size x seed sweep, a diverged single run with a hostile name,
// and a real full-batch XOR run trained by NeuralNet's Trainer (for layers/explain).
import Foundation
import GRDB
import NeuralNet
import Store

public enum ReportFixture {
    /// A name with everything that must be escaped: markup, quotes, a newline and SQL.
    public static let hostileName = "<b>evil & \"co\"</b>\n'; DROP TABLE runs; --"

    public static let learningRates = [0.01, 0.1]
    public static let batchSizes = [16, 32]
    public static let seeds: [UInt64] = [1, 2]

    /// The XOR network of run 10: 2-2-1, relu hidden, sigmoid output, binary cross-entropy, full batch.
    public static let inspectionConfiguration: TrainingConfiguration = {
        var configuration = TrainingConfiguration(layerSizes: [2, 2, 1], hiddenActivation: .relu, outputActivation: .sigmoid,
                                                  loss: .binaryCrossEntropy, learningRate: 0.5, batchSize: 4, epochs: 2,
                                                  seed: 3, precision: .float64)
        configuration.usesBias = true
        return configuration
    }()

    /// Hand-picked initial weights: W1 = [[1, -1], [0.5, 2]], b1 = [0, -0.5], W2 = [[1], [-1]], b2 = [0.25].
    public static let inspectionInitialParameters: [LayerParameters] = [
        LayerParameters(weight: Tensor(rows: 2, cols: 2, float64: [1, -1, 0.5, 2]), bias: Tensor(rows: 1, cols: 2, float64: [0, -0.5])),
        LayerParameters(weight: Tensor(rows: 2, cols: 1, float64: [1, -1]), bias: Tensor(rows: 1, cols: 1, float64: [0.25])),
    ]

    /// Train loss of sweep run (lr index, batch index, seed) at an epoch: exact, distinct values.
    public static func trainLoss(lrIndex: Int, batchIndex: Int, seed: UInt64, epoch: Int) -> Double {
        let rate = Double(lrIndex * 2 + (1 - batchIndex) + 1) + (seed == 1 ? 0 : 0.5)
        return 1 / (1 + Double(epoch) * rate)
    }

    /// Builds the database at `path` (which must not exist). Run ids: 1-8 the sweep (lr outer, then
    /// batch size, then seed; run 8 still running after 2 epochs), 9 the hostile single run, 10 XOR.
    /// `inspectionConfigJSON` is stored as run 10's config (the runner's RunConfiguration JSON in
    /// tests that load it through Experiments).
    public static func build(at path: String, inspectionConfigJSON: String? = nil) throws {
        try build(into: SlopeStore(path: path), inspectionConfigJSON: inspectionConfigJSON)
    }

    /// The same in a new, empty database of any store (a PostgreSQL server's too), closed at the end.
    public static func build(into store: SlopeStore, inspectionConfigJSON: String? = nil) throws {
        defer { try? store.close() }
        let worker = WorkerIdentity(host: "fixture-host", pid: 1, label: "fixture")
        var newRuns: [SlopeStore.NewRun] = []
        for learningRate in learningRates {
            for batchSize in batchSizes {
                for seed in seeds {
                    newRuns.append(SlopeStore.NewRun(
                        name: "lr\(learningRate)-bs\(batchSize)-s\(seed)", learningRate: learningRate, batchSize: batchSize,
                        epochs: 3, seed: seed, layers: "2-3-1", activation: "relu", outputActivation: "identity", loss: "mse",
                        dataset: "linear", validationFraction: 0.25,
                        configJSON: "{\"training\":{\"weightDecay\":\(seed == 1 ? 0 : 0.001)}}", slopeVersion: "test"))
                }
            }
        }
        let (_, runIDs) = try store.createSweep(name: "lr x bs <study>", specJSON: "{}", runs: newRuns)
        for (index, runID) in runIDs.enumerated() {
            let lrIndex = index / 4, batchIndex = (index / 2) % 2, seed = seeds[index % 2]
            guard let claimToken = try store.claimRun(runID: runID, worker: worker)?.claimToken else { throw StoreError.notFound("queued run \(runID)") }
            let lastEpoch = index == 7 ? 2 : 3
            for epoch in 0...lastEpoch {
                let train = trainLoss(lrIndex: lrIndex, batchIndex: batchIndex, seed: seed, epoch: epoch)
                try store.writeEpoch(runID: runID, SlopeStore.EpochRecord(epoch: epoch, trainLoss: train, validationLoss: train + 0.0625,
                                                                          seconds: 0.5),
                                     tensors: sweepTensors(epoch: epoch, scale: Float(index + 1)), holder: RunHolder(worker: worker, claimToken: claimToken))
            }
            if index != 7 { try store.finishRun(runID: runID, status: .completed, stopReason: "completed all epochs") }
        }

        // Run 9: a diverged single run with a hostile name and no validation split.
        let hostile = try store.createRun(SlopeStore.NewRun(
            name: hostileName, learningRate: 5, batchSize: 4, epochs: 5, seed: 0, layers: "2-3-1", activation: "tanh",
            outputActivation: "identity", loss: "mse", dataset: "linear", configJSON: "{}", slopeVersion: "test"))
        guard let claimToken = try store.claimRun(runID: hostile, worker: worker)?.claimToken else { throw StoreError.notFound("queued run \(hostile)") }
        for (epoch, loss) in [0.75, 12.5, 4096].enumerated() {
            try store.writeEpoch(runID: hostile, SlopeStore.EpochRecord(epoch: epoch, trainLoss: loss, seconds: 0.25),
                                 tensors: sweepTensors(epoch: epoch, scale: Float(pow(10, Double(epoch * 2)))), holder: RunHolder(worker: worker, claimToken: claimToken))
        }
        try store.finishRun(runID: hostile, status: .diverged, stopReason: "diverged at epoch 2")

        // Run 10: real XOR training, full batch, weights and gradients every epoch.
        let configuration = inspectionConfiguration
        let xorRun = try store.createRun(SlopeStore.NewRun(
            name: "xor", learningRate: configuration.learningRate, batchSize: configuration.batchSize, epochs: configuration.epochs,
            seed: configuration.seed, layers: "2-2-1", activation: "relu", outputActivation: "sigmoid", loss: "binary-cross-entropy",
            precision: .float64, dataset: "xor",
            configJSON: inspectionConfigJSON ?? String(decoding: try sortedKeysEncoder.encode(configuration), as: UTF8.self),
            slopeVersion: "test"))
        guard let xorClaimToken = try store.claimRun(runID: xorRun, worker: worker)?.claimToken else { throw StoreError.notFound("queued run \(xorRun)") }
        let trainer = try Trainer(configuration: configuration, training: GeneratedData.xor(), validation: nil,
                                  initialParameters: inspectionInitialParameters)
        _ = try trainer.run { result in
            var tensors = records(result.parameters, weightKind: .weight, biasKind: .bias)
            if let gradients = result.gradients { tensors += records(gradients, weightKind: .weightGradient, biasKind: .biasGradient) }
            try store.writeEpoch(runID: xorRun, SlopeStore.EpochRecord(epoch: result.epoch, trainLoss: result.trainLoss,
                                                                       trainAccuracy: result.trainAccuracy, seconds: 0.125),
                                 tensors: tensors, holder: RunHolder(worker: worker, claimToken: xorClaimToken))
            return .proceed
        }
        try store.finishRun(runID: xorRun, status: .completed, stopReason: "completed all epochs")
    }

    /// Keys in a fixed order, so that two fixtures hold the same text (JSONEncoder's own order varies).
    static let sortedKeysEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return encoder
    }()

    /// Marks the database at `path` as written by a newer Slope: a migration this build does not know.
    public static func addUnknownMigration(at path: String) throws {
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('9999_from_the_future.sql')")
        }
    }

    /// Changes one `tensors` row of the SQLite database at `path` as the sqlite3 shell can with its
    /// CHECK constraints off (`assignment`: an SQL SET clause, e.g. `data = substr(data, 1, 10)`).
    public static func damageTensor(at path: String, runID: Int64, epoch: Int, layer: Int, kind: String, _ assignment: String) throws {
        let queue = try DatabaseQueue(path: path)
        try queue.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA ignore_check_constraints = ON")
            try db.execute(sql: "UPDATE tensors SET \(assignment) WHERE run_id = ? AND epoch = ? AND layer = ? AND kind = ?",
                           arguments: [runID, epoch, layer, kind])
            guard db.changesCount == 1 else { throw DatabaseError(message: "no tensor (run \(runID), epoch \(epoch), layer \(layer), \(kind)) to damage") }
        }
        try queue.close()
    }

    /// Runs `sql` on the SQLite database at `path` as the sqlite3 shell would (e.g. the DELETE a
    /// damaged tensor's message offers); returns how many rows it changed.
    @discardableResult
    public static func execute(_ sql: String, at path: String) throws -> Int {
        let queue = try DatabaseQueue(path: path)
        let changes = try queue.writeWithoutTransaction { db in
            try db.execute(sql: sql)
            return db.changesCount
        }
        try queue.close()
        return changes
    }

    /// The one integer `sql` (a count) selects from the SQLite database at `path`.
    public static func count(_ sql: String, at path: String) throws -> Int {
        let queue = try DatabaseQueue(path: path)
        let value = try queue.read { db in try Int.fetchOne(db, sql: sql) } ?? -1
        try queue.close()
        return value
    }

    /// Another program's SQLite database: a valid file with a `runs` table that is not Slope's.
    public static func makeForeignDatabase(at path: String) throws {
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE runs (id INTEGER PRIMARY KEY, miles REAL); INSERT INTO runs (miles) VALUES (5.2)")
        }
    }

    static func records(_ layers: [LayerParameters], weightKind: SlopeStore.TensorKind, biasKind: SlopeStore.TensorKind) -> [SlopeStore.TensorRecord] {
        layers.enumerated().flatMap { index, layer -> [SlopeStore.TensorRecord] in
            var result = [record(layer.weight, layer: index + 1, kind: weightKind)]
            if let bias = layer.bias { result.append(record(bias, layer: index + 1, kind: biasKind)) }
            return result
        }
    }

    static func record(_ tensor: Tensor, layer: Int, kind: SlopeStore.TensorKind) -> SlopeStore.TensorRecord {
        SlopeStore.TensorRecord(layer: layer, kind: kind, rows: tensor.rows, cols: tensor.cols,
                                dtype: tensor.precision == .float32 ? .float32 : .float64, data: tensor.littleEndianBytes())
    }

    /// Weights of a 2-3-1 network (and gradients after epoch 0): simple exact float32 values.
    static func sweepTensors(epoch: Int, scale: Float) -> [SlopeStore.TensorRecord] {
        func tensor(_ layer: Int, _ kind: SlopeStore.TensorKind, _ rows: Int, _ cols: Int, _ factor: Float) -> SlopeStore.TensorRecord {
            let values = (0..<(rows * cols)).map { Float($0 + 1) * factor * (($0 % 2 == 0) ? 1 : -1) }
            return record(Tensor(rows: rows, cols: cols, float32: values), layer: layer, kind: kind)
        }
        var tensors = [tensor(1, .weight, 2, 3, 0.25 * (1 + Float(epoch))), tensor(1, .bias, 1, 3, 0.125),
                       tensor(2, .weight, 3, 1, 0.5), tensor(2, .bias, 1, 1, 0.0625)]
        if epoch > 0 {
            tensors += [tensor(1, .weightGradient, 2, 3, 0.001 * scale / Float(epoch)), tensor(1, .biasGradient, 1, 3, 0.001),
                        tensor(2, .weightGradient, 3, 1, 0.01 * scale / Float(epoch)), tensor(2, .biasGradient, 1, 1, 0.01)]
        }
        return tensors
    }
}
