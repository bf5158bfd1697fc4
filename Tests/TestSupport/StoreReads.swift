// Reads only tests use, over RunQueries (the store's one read API): shorter to write in a test.
import Foundation
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
