// Reads only tests use, over RunQueries (the store's one read API): shorter to write in a test; and
// a weights file's entry encoded as the store holds it.
import Foundation
import NeuralNet
import Store

extension SlopeStore {
    /// The runs of a sweep (every run when nil), by id.
    public func runs(sweepID: Int64?) throws -> [RunRecord] {
        try queries.runSummaries(sweepID: sweepID)
    }

    /// Stored tensors of a run, filtered by epoch, layer and kind when given; ordered by epoch, layer, kind.
    public func tensors(runID: Int64, epoch: Int? = nil, layer: Int? = nil, kind: TensorKind? = nil) throws -> [StoredTensor] {
        try queries.storedTensors(runID: runID, epoch: epoch, layer: layer, kind: kind)
    }

    /// Every sweep, by id.
    public func sweeps() throws -> [SweepRecord] {
        try queries.sweepSummaries()
    }
}

extension WeightsFile.Entry {
    /// The entry as the tensors table stores it, encoded by the engine's one encoder
    /// (`Tensor.littleEndianBytes`) in the entry's dtype, as `runner --init-weights` builds it.
    public func storedBytes() -> [UInt8] {
        Tensor(rows: rows, cols: cols, doubles: Array(values.joined()), precision: dtype == "float64" ? .float64 : .float32)
            .littleEndianBytes()
    }
}
