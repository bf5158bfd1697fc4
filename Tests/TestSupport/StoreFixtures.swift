// Store fixtures for any test target: temporary database paths and ready-made runs.
import Foundation
import Store

/// A fresh folder under the system temporary directory, removed by `remove()`.
public struct TemporaryDirectory {
    public let url: URL

    public init(prefix: String = "slope-test") throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(prefix)-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// A path inside the folder.
    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    public func remove() { try? FileManager.default.removeItem(at: url) }
}

extension SlopeStore.NewRun {
    /// A small valid run (digits-like network) for tests; override what the test is about.
    public static func example(name: String? = nil, learningRate: Double = 0.05, batchSize: Int = 32,
                               momentum: Double = 0, epochs: Int = 3, seed: UInt64 = 0,
                               layers: String = "64-64-10") -> SlopeStore.NewRun {
        SlopeStore.NewRun(
            name: name, learningRate: learningRate, batchSize: batchSize, momentum: momentum, epochs: epochs,
            seed: seed, layers: layers, activation: "relu", outputActivation: "softmax", loss: "cross-entropy",
            precision: .float32, dataset: "digits", datasetSHA256: nil, validationFraction: 0.2,
            configJSON: #"{"learningRate": \#(learningRate), "batchSize": \#(batchSize)}"#, slopeVersion: "test")
    }
}

extension SlopeStore.TensorRecord {
    /// A float32 tensor from values (little-endian bytes, row-major).
    public static func float32(layer: Int, kind: SlopeStore.TensorKind, rows: Int, cols: Int,
                               _ values: [Float]) -> SlopeStore.TensorRecord {
        precondition(values.count == rows * cols)
        let bytes = values.flatMap { value -> [UInt8] in
            withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) }
        }
        return SlopeStore.TensorRecord(layer: layer, kind: kind, rows: rows, cols: cols, dtype: .float32, data: bytes)
    }

    /// A float64 tensor from values (little-endian bytes, row-major).
    public static func float64(layer: Int, kind: SlopeStore.TensorKind, rows: Int, cols: Int,
                               _ values: [Double]) -> SlopeStore.TensorRecord {
        precondition(values.count == rows * cols)
        let bytes = values.flatMap { value -> [UInt8] in
            withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) }
        }
        return SlopeStore.TensorRecord(layer: layer, kind: kind, rows: rows, cols: cols, dtype: .float64, data: bytes)
    }
}

/// One hand-made run of `SlopeStore.recordSweep`: its settings, the training loss of its one
/// epoch (nil: left queued, no epoch) and the status it ends with.
public struct HandMadeRun {
    public var learningRate: Double
    public var batchSize: Int
    public var trainLoss: Double?
    public var status: RunStatus

    public init(_ learningRate: Double, _ batchSize: Int, _ trainLoss: Double?, _ status: RunStatus) {
        self.learningRate = learningRate; self.batchSize = batchSize; self.trainLoss = trainLoss; self.status = status
    }
}

extension SlopeStore {
    /// A sweep of hand-made runs (run i with seed i, no validation split), each with one epoch of
    /// its training loss and ended with its status (a failed one with "out of memory"); the run ids.
    public func recordSweep(name: String, _ runs: [HandMadeRun], layers: String = "64-64-10") throws -> [Int64] {
        let newRuns = runs.enumerated().map { index, entry -> SlopeStore.NewRun in
            var run = SlopeStore.NewRun.example(learningRate: entry.learningRate, batchSize: entry.batchSize, seed: UInt64(index), layers: layers)
            run.validationFraction = 0
            return run
        }
        let (_, runIDs) = try createSweep(name: name, specJSON: "{}", runs: newRuns)
        let worker = WorkerIdentity(host: "test-host", pid: 1, label: "test")
        for (runID, run) in zip(runIDs, runs) {
            guard let loss = run.trainLoss else { continue }
            guard let claimToken = try claimRun(runID: runID, worker: worker)?.claimToken else { throw StoreError.notFound("queued run \(runID)") }
            try writeEpoch(runID: runID, SlopeStore.EpochRecord(epoch: 0, trainLoss: loss, validationLoss: nil, seconds: 0.1),
                           tensors: [], holder: RunHolder(worker: worker, claimToken: claimToken))
            try finishRun(runID: runID, status: run.status, stopReason: run.status.rawValue, error: run.status == .failed ? "out of memory" : nil)
        }
        return runIDs
    }
}

public enum CompactionFixture {
    /// A database at `path` with one sweep of one completed run that stored a 256 x 256 float32
    /// weight (256 KiB) in each of epochs 0...11 (3 MB); closed (its WAL copied back). Returns the
    /// sweep: what `compactTensors` (StorageTests) and `runner compact` signals (CompactSignalTests) work on.
    public static func completedSweep(at path: String) throws -> Int64 {
        let worker = WorkerIdentity(host: "test-host", pid: 1, label: "test")
        let run = SlopeStore.NewRun(name: nil, learningRate: 0.1, batchSize: 4, epochs: 11, seed: 0, layers: "256-256",
                                    activation: "relu", outputActivation: "identity", loss: "mse", dataset: "xor",
                                    configJSON: "{}", slopeVersion: "test")
        let store = try SlopeStore(path: path)
        let (sweepID, runIDs) = try store.createSweep(name: "s", specJSON: "{}", runs: [run])
        guard let claimed = try store.claimRun(runID: runIDs[0], worker: worker) else { throw StoreError.invalidValue("run not claimed") }
        let holder = RunHolder(worker: worker, claimToken: claimed.claimToken)
        for epoch in 0...11 {
            let values = (0..<262_144).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ epoch) }
            try store.writeEpoch(runID: runIDs[0], SlopeStore.EpochRecord(epoch: epoch, trainLoss: 1),
                                 tensors: [SlopeStore.TensorRecord(layer: 1, kind: .weight, rows: 256, cols: 256, dtype: .float32, data: values)],
                                 holder: holder)
        }
        try store.finishRun(runID: runIDs[0], status: .completed, stopReason: "completed all epochs")
        try store.close()
        return sweepID
    }
}
