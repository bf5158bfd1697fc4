// Writing a run's epochs behind its training: the worker hands each finished epoch to an
// EpochWriter and trains the next while a background thread stores it. Epochs are stored in
// order, each whole. The epochs that queued up while the last write was on its way go to the
// store together (`StoreBackend.startEpochs`): on PostgreSQL one statement and transaction for
// them, whose fixed costs (planning, the run's row, the commit's wait for the disk) they share;
// on SQLite, whose commits are cheap, still one transaction each. On PostgreSQL the next
// statement is also sent before the last one is answered, so that the server goes on to it at
// once instead of waiting while the writer prepares it (its tensors' statistics and encoding).
import Foundation

/// Stores one run's epochs in order on a background thread, so that the next epoch trains
/// meanwhile. At most `capacity` epochs wait or are being written, and more than two only while
/// their tensors take at most `byteBudget` (the memory check of a run counts on two epochs on
/// their way); `submit` blocks beyond that.
/// After a failed write nothing more is written, and the error is rethrown by the next `submit` or
/// by `finish`: a run learns of a full disk or of losing its claim an epoch or a few later than it
/// would writing inline. A crash loses at most the epochs not yet committed; the run resumes from
/// its last stored one, and stored epochs are always whole and in order (0, 1, ... k).
public final class EpochWriter: @unchecked Sendable {  // state under `condition`; `start` only on the writer's thread
    /// Starts storing the epochs given (in order, each whole), after those of the write still on
    /// its way, if any; the write returned is over (committed, or failed) once its `wait` returns.
    private let start: ([SlopeStore.PendingEpoch], _ after: EpochsInFlight?) throws -> EpochsInFlight
    private let capacity: Int
    private let byteBudget: Int
    private let batchBytes: Int
    private let condition = NSCondition()
    /// Submitted and not yet taken by the writer's thread, oldest first.
    private var waiting: [SlopeStore.PendingEpoch] = []
    /// Epochs taken and being written (by at most two writes: one answered last, one sent after it).
    private var writing = 0
    /// The tensor bytes of the epochs waiting and being written (kept as they come and go).
    private var bytes = 0
    private var firstFailure: Error?
    private var isFinishing = false
    /// Whether the writer's thread runs (started by a submit, ended once nothing is left).
    private var isRunning = false

    /// - Parameters:
    ///   - byteBudget: tensor bytes that more than two epochs on their way may take (default: no limit).
    ///   - batchBytes: tensor bytes that several epochs handed to `start` at once may take (the
    ///     first goes whatever its size); a batch that takes them is started behind the write on
    ///     its way, a smaller one only once that write is over.
    init(start: @escaping ([SlopeStore.PendingEpoch], _ after: EpochsInFlight?) throws -> EpochsInFlight, capacity: Int,
         byteBudget: Int = .max, batchBytes: Int = 0) {
        self.start = start
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
        if !isRunning {
            // Refused (a memory limit): this epoch and the later ones fail with the reason, never wait for a writer.
            do { try SystemThread.start(for: "writing epochs", name: "Slope.EpochWriter") { [self] in writeLoop() } } catch {
                firstFailure = error
                condition.broadcast()
                throw error
            }
            isRunning = true
        }
        waiting.append((epoch, tensors))
        bytes += size
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
        while isRunning { condition.wait() }
        isFinishing = false
    }

    /// The first failed write's error, if any (call after `waitUntilIdle`).
    public var failure: Error? {
        condition.lock()
        defer { condition.unlock() }
        return firstFailure
    }

    private static func size(_ epoch: SlopeStore.PendingEpoch) -> Int {
        epoch.tensors.reduce(0) { $0 + $1.data.count }
    }

    private func isFull(adding size: Int) -> Bool {
        let epochs = waiting.count + writing
        return epochs >= capacity || (epochs >= 2 && size > byteBudget - bytes)
    }

    /// The writer's thread: takes every waiting epoch (those that queued while the last write was
    /// on its way) and starts writing them, then waits for the write before (so two are on their
    /// way while a full batch waits), until there is nothing left and the owner waits for it.
    /// After a failure it starts nothing more; the failure of the earlier write counts first.
    private func writeLoop() {
        var inFlight: (write: EpochsInFlight, count: Int, size: Int)?
        condition.lock()
        while true {
            while waiting.isEmpty && inFlight == nil && !isFinishing { condition.wait() }
            // A write goes behind the one on its way only when it is full (its epochs take
            // `batchBytes`, or one epoch does alone): a smaller one waits for that write to end,
            // as the epochs that come meanwhile join it (small epochs gain more from sharing a
            // statement than from not waiting).
            let takesMore = !waiting.isEmpty && firstFailure == nil
                && (inFlight == nil || waiting.reduce(0) { $0 + Self.size($1) } >= batchBytes)
            if !takesMore && inFlight == nil {
                waiting = []
                bytes = 0
                isRunning = false
                condition.broadcast()
                condition.unlock()
                return
            }
            var batch: [SlopeStore.PendingEpoch] = [], batchSize = 0
            if takesMore {
                batch = [waiting.removeFirst()]
                batchSize = Self.size(batch[0])
                while let next = waiting.first, batchSize + Self.size(next) <= batchBytes {
                    batch.append(waiting.removeFirst())
                    batchSize += Self.size(next)
                }
                writing += batch.count
            }
            let abandons = firstFailure != nil  // read under the lock
            condition.unlock()
            var started: (write: EpochsInFlight, count: Int, size: Int)?, startFailure: Error?, earlierFailure: Error?
            if !batch.isEmpty {
                do { started = (try start(batch, inFlight?.write), batch.count, batchSize) } catch { startFailure = error }
            }
            if let inFlight {
                if abandons {
                    inFlight.write.abandon()  // sent behind the write that failed: it stored nothing
                } else {
                    do { try inFlight.write.wait() } catch { earlierFailure = error }
                }
            }
            condition.lock()
            if let inFlight {
                writing -= inFlight.count
                bytes -= inFlight.size
            }
            if started == nil {  // the batch was not started (or there was none)
                writing -= batch.count
                bytes -= batchSize
            }
            if let failure = earlierFailure ?? startFailure, firstFailure == nil { firstFailure = failure }
            inFlight = started
            condition.broadcast()
        }
    }
}

/// A write of epochs on its way to the store (`StoreBackend.startEpochs`).
public protocol EpochsInFlight: AnyObject {
    /// Returns once the epochs are committed; throws why they are not (the same error every call).
    func wait() throws
    /// Ends a write started behind one that failed (it stores nothing), without waiting for a
    /// lost connection to come back.
    func abandon()
}

/// A write that was over when it was started.
final class WrittenEpochs: EpochsInFlight {
    func wait() throws {}
    func abandon() {}
}

extension SlopeStore {
    /// An epoch on its way to the store: its row and its tensors.
    typealias PendingEpoch = (record: EpochRecord, tensors: [TensorRecord])

    /// On PostgreSQL: epochs waiting or being written at most, per writer (more than two only
    /// within `postgresQueueBytes` of tensors), and the tensor bytes of the epochs stored together
    /// (in one statement) at most. Small epochs gain from sharing a statement; large ones do not (the statement's
    /// fixed costs are small beside their bytes), and a statement of several large epochs was
    /// slower than as many statements: measured on log-wide (3.2 MB an epoch).
    public static let postgresWriterCapacity = 16, postgresQueueBytes = 32 << 20, postgresCommitBytes = 2 << 20

    /// A writer of the run's epochs for `holder`, behind training (see `EpochWriter`). Call its
    /// `finish` (or `waitUntilIdle`) before ending or requeueing the run. `capacity`: epochs
    /// waiting or being written at most (the default: 2 on SQLite, `postgresWriterCapacity` on PostgreSQL).
    public func epochWriter(runID: Int64, holder: RunHolder, capacity: Int? = nil) -> EpochWriter {
        let start: ([PendingEpoch], EpochsInFlight?) throws -> EpochsInFlight = { [self] epochs, previous in
            for (epoch, tensors) in epochs { try Self.checkSizes(of: tensors, runID: runID, epoch: epoch.epoch) }
            return try backend.startEpochs(runID: runID, epochs, holder: holder, after: previous)
        }
        guard backend.dialect == .postgres else { return EpochWriter(start: start, capacity: capacity ?? 2) }
        return EpochWriter(start: start, capacity: capacity ?? Self.postgresWriterCapacity, byteBudget: Self.postgresQueueBytes,
                           batchBytes: Self.postgresCommitBytes)
    }

    /// Throws `.invalidValue` for a tensor whose bytes do not match its shape and dtype.
    static func checkSizes(of tensors: [TensorRecord], runID: Int64, epoch: Int) throws {
        for tensor in tensors {
            guard tensor.rows > 0, tensor.cols > 0, tensor.layer >= 1,
                  tensor.data.count == tensor.rows * tensor.cols * tensor.dtype.byteCount else {
                throw StoreError.invalidValue(
                    "tensor \(tensor.kind.rawValue) of layer \(tensor.layer) (run \(runID), epoch \(epoch)): "
                    + "\(tensor.data.count) bytes for \(tensor.rows) x \(tensor.cols) \(tensor.dtype.rawValue); "
                    + "expected \(tensor.rows * tensor.cols * tensor.dtype.byteCount), layer >= 1, rows and cols > 0")
            }
        }
    }
}
