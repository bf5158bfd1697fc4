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
