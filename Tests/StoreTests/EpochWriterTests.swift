// The EpochWriter (writing a run's epochs behind its training): in order, stopping at the first
// failure and rethrowing it, the next write started before the last one is waited for, and on
// SQLite the same rows as writeEpoch called epoch by epoch.
import Foundation
import TestSupport
import XCTest
@testable import Store

final class EpochWriterTests: XCTestCase {
    /// Records the batches the writer hands over; its first call waits for `gate` (after
    /// signalling `entered`), so that the next epochs queue up meanwhile.
    private final class RecordingSink: @unchecked Sendable {
        struct Failure: Error, Equatable { let epoch: Int }
        private let lock = NSLock()
        private var log: [[Int]] = []
        let entered = DispatchSemaphore(value: 0), gate = DispatchSemaphore(value: 0)
        var failOn: Int?
        var batches: [[Int]] { lock.withLock { log } }
        func write(_ epochs: [SlopeStore.PendingEpoch]) throws {
            let numbers = epochs.map(\.record.epoch)
            let first = lock.withLock { log.append(numbers); return log.count == 1 }
            if first {
                entered.signal()
                gate.wait()
            }
            if let failOn, numbers.contains(failOn) { throw Failure(epoch: failOn) }
        }
    }

    private func epoch(_ number: Int) -> SlopeStore.EpochRecord { .init(epoch: number, trainLoss: 1) }

    /// The epochs that queue up while a write is on its way go to the sink together, in order.
    func testTakesEveryWaitingEpochTogether() throws {
        let sink = RecordingSink()
        let writer = EpochWriter(write: sink.write, capacity: 4, batchBytes: .max)
        try writer.submit(epoch(0), tensors: [])
        sink.entered.wait()
        for number in 1...3 { try writer.submit(epoch(number), tensors: []) }
        sink.gate.signal()
        try writer.finish()
        XCTAssertEqual(sink.batches, [[0], [1, 2, 3]])
        try writer.submit(epoch(4), tensors: [])  // a writer used again after finish
        try writer.finish()
        XCTAssertEqual(sink.batches, [[0], [1, 2, 3], [4]])
    }

    /// Epochs go together only while their tensors fit in `batchBytes` (one goes whatever its size).
    func testBatchesHoldAtMostBatchBytes() throws {
        let sink = RecordingSink()
        let writer = EpochWriter(write: sink.write, capacity: 8, batchBytes: 8)
        let float = SlopeStore.TensorRecord(layer: 1, kind: .weight, rows: 1, cols: 1, dtype: .float32, data: [0, 0, 128, 63])
        let wide = SlopeStore.TensorRecord(layer: 1, kind: .weight, rows: 1, cols: 3, dtype: .float32, data: [UInt8](repeating: 0, count: 12))
        try writer.submit(epoch(0), tensors: [float])
        sink.entered.wait()
        for number in 1...4 { try writer.submit(epoch(number), tensors: [float]) }
        try writer.submit(epoch(5), tensors: [wide])
        try writer.submit(epoch(6), tensors: [float])
        sink.gate.signal()
        try writer.finish()
        XCTAssertEqual(sink.batches, [[0], [1, 2], [3, 4], [5], [6]])
    }

    func testStopsAtTheFirstFailureAndRethrowsIt() throws {
        let sink = RecordingSink()
        sink.failOn = 1
        let writer = EpochWriter(write: sink.write, capacity: 3, batchBytes: .max)
        try writer.submit(epoch(0), tensors: [])
        sink.entered.wait()
        try writer.submit(epoch(1), tensors: [])
        try writer.submit(epoch(2), tensors: [])
        sink.gate.signal()
        writer.waitUntilIdle()
        XCTAssertEqual(writer.failure as? RecordingSink.Failure, .init(epoch: 1))
        XCTAssertThrowsError(try writer.submit(epoch(3), tensors: [])) { XCTAssertEqual($0 as? RecordingSink.Failure, .init(epoch: 1)) }
        XCTAssertThrowsError(try writer.finish()) { XCTAssertEqual($0 as? RecordingSink.Failure, .init(epoch: 1)) }
        XCTAssertEqual(sink.batches, [[0], [1, 2]], "in order; nothing after the failure")
    }

    /// Writes that stay on their way until waited for (as PostgreSQL's): records when each is
    /// started (after which) and waited for. The first start waits for `gate` (after signalling
    /// `entered`), so that the next epochs queue up meanwhile.
    private final class InFlightLog: @unchecked Sendable {
        private let lock = NSLock()
        private var log: [String] = []
        let entered = DispatchSemaphore(value: 0), gate = DispatchSemaphore(value: 0)
        var failOn: Int?
        var events: [String] { lock.withLock { log } }

        final class Write: EpochsInFlight {
            let numbers: [Int]
            let owner: InFlightLog
            init(numbers: [Int], owner: InFlightLog) { self.numbers = numbers; self.owner = owner }
            func wait() throws {
                owner.lock.withLock { owner.log.append("wait \(numbers)") }
                if let failOn = owner.failOn, numbers.contains(failOn) { throw RecordingSink.Failure(epoch: failOn) }
            }
            func abandon() {
                owner.lock.withLock { owner.log.append("abandon \(numbers)") }
            }
        }

        func start(_ epochs: [SlopeStore.PendingEpoch], after previous: EpochsInFlight?) throws -> EpochsInFlight {
            let numbers = epochs.map(\.record.epoch)
            let first = lock.withLock {
                log.append("start \(numbers) after \((previous as? Write)?.numbers.description ?? "none")")
                return log.count == 1
            }
            if first {
                entered.signal()
                gate.wait()
            }
            return Write(numbers: numbers, owner: self)
        }
    }

    private let fourBytes = SlopeStore.TensorRecord(layer: 1, kind: .weight, rows: 1, cols: 1, dtype: .float32, data: [0, 0, 128, 63])

    /// Submits epochs 0-3 of four bytes each to a writer of capacity 4 through `log`: 1-3 queue
    /// up while the start of 0 is held; returns the writer (to finish).
    private func writeFourEpochs(through log: InFlightLog, batchBytes: Int) throws -> EpochWriter {
        let writer = EpochWriter(start: log.start, capacity: 4, batchBytes: batchBytes)
        try writer.submit(epoch(0), tensors: [fourBytes])
        log.entered.wait()
        for number in 1...3 { try writer.submit(epoch(number), tensors: [fourBytes]) }
        log.gate.signal()
        return writer
    }

    /// Each write is started while the one before is still on its way, then that one is waited
    /// for: two on their way at most, started and finished in order.
    func testStartsTheNextWriteBeforeWaitingForTheLast() throws {
        let log = InFlightLog()
        try writeFourEpochs(through: log, batchBytes: 4).finish()
        XCTAssertEqual(log.events, ["start [0] after none", "start [1] after [0]", "wait [0]", "start [2] after [1]", "wait [1]",
                                    "start [3] after [2]", "wait [2]", "wait [3]"])
    }

    /// Only a full write (its epochs take `batchBytes`) goes behind the one on its way; a smaller
    /// one waits for it to end, so that the epochs coming meanwhile can join it.
    func testOnlyAFullWriteGoesBehindTheLast() throws {
        let log = InFlightLog()
        try writeFourEpochs(through: log, batchBytes: 8).finish()
        XCTAssertEqual(log.events, ["start [0] after none", "start [1, 2] after [0]", "wait [0]", "wait [1, 2]",
                                    "start [3] after none", "wait [3]"])
    }

    /// A write that fails while the next is on its way: its failure is the one rethrown, the one
    /// behind it is abandoned (it stores nothing; no reconnecting for it), and nothing more is started.
    func testTheFailureOfTheEarlierWriteCountsAndNothingMoreStarts() throws {
        let log = InFlightLog()
        log.failOn = 1
        XCTAssertThrowsError(try writeFourEpochs(through: log, batchBytes: 4).finish()) { XCTAssertEqual($0 as? RecordingSink.Failure, .init(epoch: 1)) }
        XCTAssertEqual(log.events, ["start [0] after none", "start [1] after [0]", "wait [0]", "start [2] after [1]", "wait [1]", "abandon [2]"])
    }

    /// On SQLite the writer stores exactly what writeEpoch does, in order, and refuses a tensor of
    /// the wrong size as writeEpoch does (rethrown by finish).
    func testStoresWhatWriteEpochStores() throws {
        let directory = try TemporaryDirectory(prefix: "slope-epochwriter")
        defer { directory.remove() }
        let store = try SlopeStore(path: directory.path("slope.db"))
        let worker = WorkerIdentity.current(label: "test worker")
        let epochs = PostgresEpochWriteTests.epochs(seed: 3, count: 5)
        var runs: [Int64] = []
        for viaWriter in [false, true] {
            let runID = try store.createRun(.example(layers: "2-3-1"))
            runs.append(runID)
            let holder = RunHolder(worker: worker, claimToken: try XCTUnwrap(store.claimRun(runID: runID, worker: worker)).claimToken)
            if viaWriter {
                let writer = store.epochWriter(runID: runID, holder: holder)
                for (epoch, tensors) in epochs { try writer.submit(epoch, tensors: tensors) }
                try writer.finish()
            } else {
                for (epoch, tensors) in epochs { try store.writeEpoch(runID: runID, epoch, tensors: tensors, holder: holder) }
            }
        }
        XCTAssertEqual(try store.epochs(runID: runs[1]), try store.epochs(runID: runs[0]))
        for epoch in 0..<epochs.count {
            XCTAssertEqual(try store.tensors(runID: runs[1], epoch: epoch).map(\.tensor),
                           try store.tensors(runID: runs[0], epoch: epoch).map(\.tensor), "epoch \(epoch)")
        }
        XCTAssertEqual(try store.run(id: runs[1]).bestEpoch, try store.run(id: runs[0]).bestEpoch)

        let runID = try store.createRun(.example(layers: "2-3-1"))
        let holder = RunHolder(worker: worker, claimToken: try XCTUnwrap(store.claimRun(runID: runID, worker: worker)).claimToken)
        let writer = store.epochWriter(runID: runID, holder: holder)
        try writer.submit(.init(epoch: 0, trainLoss: 1), tensors: [.init(layer: 1, kind: .weight, rows: 2, cols: 3, dtype: .float32, data: [0, 0, 0])])
        XCTAssertThrowsError(try writer.finish()) { error in
            XCTAssertTrue("\(error)".contains("3 bytes for 2 x 3 float32"), "\(error)")
        }
        XCTAssertEqual(try store.epochs(runID: runID), [])
    }

    /// A thread the system refuses (here a stack of 1 PB, which no address space holds) is said, not
    /// silently never run (Foundation's `Thread.start()`): the body does not run, the error names the
    /// purpose and what to change.
    func testARefusedThreadIsSaidAndItsBodyNeverRuns() throws {
        final class Flag: @unchecked Sendable {
            private let lock = NSLock()
            private var raised = false
            func raise() { lock.withLock { raised = true } }
            var value: Bool { lock.withLock { raised } }
        }
        let ran = Flag()
        XCTAssertThrowsError(try SystemThread.start(for: "writing epochs", name: "test", stackSize: 1 << 50) { ran.raise() }) { error in
            let refused = error as? SystemThread.Refused
            XCTAssertEqual(refused?.purpose, "writing epochs")
            XCTAssertTrue(refused?.description.hasPrefix("could not start a thread for writing epochs: the system refused one (") ?? false, "\(error)")
            XCTAssertTrue(refused?.description.hasSuffix("raise it (or give runner fewer --jobs)") ?? false, "\(error)")
        }
        let done = DispatchSemaphore(value: 0)
        XCTAssertFalse(ran.value, "the refused thread's body never ran")
        try SystemThread.start(for: "a test", name: "test") { ran.raise(); done.signal() }
        XCTAssertEqual(done.wait(timeout: .now() + 60), .success)
        XCTAssertTrue(ran.value, "a thread the system gives runs its body")
    }
}

extension EpochWriter {
    /// A writer whose writes are over when `write` returns (one at a time).
    convenience init(write: @escaping ([SlopeStore.PendingEpoch]) throws -> Void, capacity: Int, batchBytes: Int) {
        self.init(start: { epochs, previous in
            try previous?.wait()
            try write(epochs)
            return WrittenEpochs()
        }, capacity: capacity, batchBytes: batchBytes)
    }
}
