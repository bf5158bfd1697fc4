// The epochs of one run on their way to the store (EpochLog), behind training.
import Foundation
import NeuralNet
import Store

/// The epochs of one run on their way to the store, through the store's `EpochWriter` (behind
/// training, in order, each stored whole). An epoch whose
/// tensors the policy logs is written at once. Any other epoch is held back until the next one:
/// only when training ends is it known to be the run's last epoch, which always stores its
/// tensors (whatever the policy) so that the run can be resumed or inspected.
///
/// Where an epoch goes: `Worker.runEpochs` -> `record` -> `submit` (tensors converted here, on the
/// training thread) -> `EpochWriter.submit` (queued; its writer thread's `writeLoop` takes it) ->
/// `SlopeStore.epochWriter`'s start closure (`checkSizes`, beside it in EpochWriter.swift) ->
/// `StoreBackend.startEpochs`: on SQLite `SQLiteBackend.startEpochs` -> `writeEpochs` -> `writeEpoch`
/// (all in SQLiteEpochWrite.swift, with `updateRunSummary`); on PostgreSQL `startEpochs` -> `writeEpochs(after:)` -> `EpochStatement`
/// (PostgresEpochWrites.swift), pipelined. `SlopeStore.writeEpoch` is for tests and tools only.
final class EpochLog {
    private let configuration: RunConfiguration
    private let writer: EpochWriter
    private var heldBack: EpochResult? = nil
    /// The last epoch handed to the writer (stored, once `finish` has returned).
    private(set) var lastEpoch: Int?

    init(runID: Int64, configuration: RunConfiguration, store: SlopeStore, holder: RunHolder) {
        self.configuration = configuration
        writer = store.epochWriter(runID: runID, holder: holder)
    }

    /// Hands a finished epoch over (and the held-back one before it). A failed earlier write (the
    /// run taken over, a full disk) is thrown here, one epoch late.
    func record(_ result: EpochResult) throws {
        if let previous = heldBack {
            try submit(previous, withTensors: false)
            heldBack = nil
        }
        if configuration.tensorLogging.logsTensors(epoch: result.epoch) {
            try submit(result, withTensors: true)
        } else {
            heldBack = result
        }
    }

    /// Training ended: the held-back epoch is the last and stores its tensors; waits for every write.
    func finish() throws {
        if let last = heldBack {
            heldBack = nil
            try submit(last, withTensors: true)
        }
        try writer.finish()
    }

    /// Training stopped with `error`: a failed write is the error to report, if there was one.
    func failure(orElse error: Error) -> Error {
        writer.waitUntilIdle()
        return writer.failure ?? error
    }

    /// Every exit from the run waits for this, so nothing is written after it is ended or requeued.
    func waitUntilIdle() { writer.waitUntilIdle() }

    /// Handing one epoch to the writer: losses always; weights, biases, gradients (and the
    /// optimizer's state: velocities, adam moments and step, rms averages) when `withTensors`. The
    /// tensors are copied now, on the training thread; the writer only stores them.
    private func submit(_ result: EpochResult, withTensors: Bool) throws {
        var tensors: [SlopeStore.TensorRecord] = []
        if withTensors {
            tensors = TensorRecords.records(result.parameters, weightKind: .weight, biasKind: .bias)
            if let gradients = result.gradients {
                tensors += TensorRecords.records(gradients, weightKind: .weightGradient, biasKind: .biasGradient)
            }
            tensors += TensorRecords.optimizerRecords(result.optimizerBuffers, step: result.step, configuration: configuration.training)
        }
        try writer.submit(SlopeStore.EpochRecord(result), tensors: tensors)
        lastEpoch = result.epoch
    }
}

extension SlopeStore.EpochRecord {
    /// An epoch's losses, accuracies and time, as stored (and as read back on resume).
    init(_ result: EpochResult) {
        self.init(epoch: result.epoch, trainLoss: result.trainLoss, validationLoss: result.validationLoss,
                  trainAccuracy: result.trainAccuracy, validationAccuracy: result.validationAccuracy, seconds: result.seconds)
    }
}
