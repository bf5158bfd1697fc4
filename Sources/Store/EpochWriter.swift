// Writing a run's epochs behind its training: the worker hands each finished epoch to an
// EpochWriter and trains the next while a background thread stores it. Epochs are stored in
// order, each whole. On PostgreSQL the epochs that queued up while the previous commit was on its
// way are committed together, in one transaction (group commit): a commit waits for the server's
// disk, and a run whose epochs are shorter than that would otherwise wait for it on every epoch.
// On SQLite (whose commits do not wait for the disk) each epoch is its own transaction.
import Foundation

/// Stores one run's epochs in order on a background thread, so that the next epoch trains
/// meanwhile. At most `capacity` epochs wait or are being written, and more than two only while
/// their tensors take at most `byteBudget` (the memory check of a run counts on two epochs on
/// their way); `submit` blocks beyond that.
/// After a failed write nothing more is written, and the error is rethrown by the next `submit` or
/// by `finish`: a run learns of a full disk or of losing its claim an epoch or a few later than it
/// would writing inline. A crash loses at most the epochs not yet committed; the run resumes from
/// its last stored one, and stored epochs are always whole and in order (0, 1, ... k).
public final class EpochWriter: @unchecked Sendable {  // state under `condition`; `sink` only on the writer's thread
    private let sink: any EpochSink
    private let capacity: Int
    private let byteBudget: Int
    private let batchBytes: Int
    private let condition = NSCondition()
    /// Submitted and not yet taken by the writer's thread, oldest first.
    private var waiting: [EpochSink.Epoch] = []
    /// Epochs taken and being written.
    private var writing = 0
    /// The tensor bytes of the epochs waiting and being written.
    private var bytes = 0
    private var firstFailure: Error?
    private var isFinishing = false
    private var thread: Thread?

    /// - Parameters:
    ///   - byteBudget: tensor bytes that more than two epochs on their way may take.
    ///   - batchBytes: tensor bytes that several epochs handed to the sink at once may take (the
    ///     first goes whatever its size).
    init(sink: any EpochSink, capacity: Int, byteBudget: Int = 0, batchBytes: Int = 0) {
        self.sink = sink
        self.capacity = max(1, capacity)
        self.byteBudget = byteBudget
        self.batchBytes = batchBytes
    }

    /// Queues the epoch for writing (throws the failure of an earlier write instead). The tensors
    /// are checked for size when written, like `SlopeStore.writeEpoch`'s.
    public func submit(_ epoch: SlopeStore.EpochRecord, tensors: [SlopeStore.TensorRecord]) throws {
        let size = Self.size((epoch, tensors))
        condition.lock()
        defer { condition.unlock() }
        while firstFailure == nil && isFull(adding: size) { condition.wait() }
        if let firstFailure { throw firstFailure }
        waiting.append((epoch, tensors))
        bytes += size
        if thread == nil {
            let thread = Thread { [self] in writeLoop() }
            thread.name = "Slope.EpochWriter"
            self.thread = thread
            thread.start()
        }
        condition.broadcast()
    }

    /// Waits for every submitted epoch to be committed; throws the first failure.
    public func finish() throws {
        waitUntilIdle()
        if let failure { throw failure }
    }

    /// Waits until every submitted epoch is committed or given up after a failure; the writer's
    /// thread ends. Later submits start it again.
    public func waitUntilIdle() {
        condition.lock()
        defer { condition.unlock() }
        isFinishing = true
        condition.broadcast()
        while thread != nil { condition.wait() }
        isFinishing = false
    }

    /// The first failed write's error, if any (call after `waitUntilIdle`).
    public var failure: Error? {
        condition.lock()
        defer { condition.unlock() }
        return firstFailure
    }

    private static func size(_ epoch: EpochSink.Epoch) -> Int {
        epoch.tensors.reduce(0) { $0 + $1.data.count }
    }

    private func isFull(adding size: Int) -> Bool {
        let epochs = waiting.count + writing
        return epochs >= capacity || (epochs >= 2 && bytes + size > byteBudget)
    }

    /// The writer's thread: takes every waiting epoch (those that queued while the last write was
    /// on its way) and writes them, until there is nothing left and the owner waits for it.
    private func writeLoop() {
        condition.lock()
        while true {
            while waiting.isEmpty && !isFinishing { condition.wait() }
            if waiting.isEmpty || firstFailure != nil {
                waiting = []
                bytes = 0
                thread = nil
                condition.broadcast()
                condition.unlock()
                return
            }
            var batch = [waiting.removeFirst()], batchSize = Self.size(batch[0])
            while let next = waiting.first, batchSize + Self.size(next) <= batchBytes {
                batch.append(waiting.removeFirst())
                batchSize += Self.size(next)
            }
            writing = batch.count
            condition.unlock()
            var failure: Error?
            do { try sink.write(batch) } catch { failure = error }
            condition.lock()
            writing = 0
            bytes = waiting.reduce(0) { $0 + Self.size($1) }
            if let failure, firstFailure == nil { firstFailure = failure }
            condition.broadcast()
        }
    }
}

/// Where an EpochWriter's epochs go: one run's, of one holder, in order, from one thread.
protocol EpochSink: AnyObject {
    typealias Epoch = (record: SlopeStore.EpochRecord, tensors: [SlopeStore.TensorRecord])
    /// Stores the epochs (in order; each whole) and returns once they are committed.
    func write(_ epochs: [Epoch]) throws
}

/// One `writeEpoch` transaction per epoch (SQLite, and tests).
final class EpochByEpoch: EpochSink {
    private let store: SlopeStore
    private let runID: Int64
    private let holder: RunHolder

    init(store: SlopeStore, runID: Int64, holder: RunHolder) {
        self.store = store
        self.runID = runID
        self.holder = holder
    }

    func write(_ epochs: [Epoch]) throws {
        for (epoch, tensors) in epochs {
            try store.writeEpoch(runID: runID, epoch, tensors: tensors, holder: holder)
        }
    }
}

/// The waiting epochs in one transaction (PostgreSQL): `PostgresBackend.writeEpochs`.
final class EpochsTogether: EpochSink {
    private let backend: PostgresBackend
    private let runID: Int64
    private let holder: RunHolder

    init(backend: PostgresBackend, runID: Int64, holder: RunHolder) {
        self.backend = backend
        self.runID = runID
        self.holder = holder
    }

    func write(_ epochs: [Epoch]) throws {
        for (epoch, tensors) in epochs { try SlopeStore.checkSizes(of: tensors, runID: runID, epoch: epoch.epoch) }
        try backend.writeEpochs(runID: runID, epochs, holder: holder)
    }
}

extension SlopeStore {
    /// On PostgreSQL: epochs waiting or being written at most, per writer (more than two only
    /// within `postgresQueueBytes` of tensors), and the tensor bytes of the epochs committed
    /// together at most. Small epochs gain from sharing a statement; large ones do not (the
    /// statement's fixed costs are small beside their bytes), and a statement of several large
    /// epochs is slower than as many statements: measured on log-wide (3.2 MB an epoch).
    public static let postgresEpochsPerCommit = 16, postgresQueueBytes = 32 << 20, postgresCommitBytes = 2 << 20

    /// A writer of the run's epochs for `holder`, behind training (see `EpochWriter`). Call its
    /// `finish` (or `waitUntilIdle`) before ending or requeueing the run. `capacity`: epochs
    /// waiting or being written at most (the default: 2 on SQLite, `postgresEpochsPerCommit` on PostgreSQL).
    public func epochWriter(runID: Int64, holder: RunHolder, capacity: Int? = nil) -> EpochWriter {
        if let backend = backend as? PostgresBackend {
            return EpochWriter(sink: EpochsTogether(backend: backend, runID: runID, holder: holder),
                               capacity: capacity ?? Self.postgresEpochsPerCommit, byteBudget: Self.postgresQueueBytes,
                               batchBytes: Self.postgresCommitBytes)
        }
        return EpochWriter(sink: EpochByEpoch(store: self, runID: runID, holder: holder), capacity: capacity ?? 2)
    }
}
