// Ctrl-C or SIGTERM during `runner compact` (hostile15 F19: it ended with no word) says in one
// line what it leaves: nothing deleted before the deletion commits; after it, during VACUUM, the
// tensors deleted and the file not shrunk yet; a signal that came while the deletion committed ends
// the command once the commit is done, saying the same. The steps are driven by a real compaction
// of a SQLite database; the handlers are called directly (none installed), on an `Interrupts`
// whose end parks the thread, as SecondSignalTests do.
import ArgumentParser
import Experiments
import Foundation
@testable import Runner
@testable import Store
import TestSupport
import XCTest

final class CompactSignalTests: XCTestCase {
    private struct Halt: Error {}

    private func makeInterrupts() -> (Interrupts, InterruptsEnding, StopSignal) {
        let stop = StopSignal(), ending = InterruptsEnding()
        let interrupts = Interrupts(stop: stop, commitWait: 60, write: { ending.write($0) }, end: { ending.end($0) }, installsHandlers: false)
        return (interrupts, ending, stop)
    }

    /// Epochs that still have tensors, and the file's free pages (VACUUM leaves none).
    private func state(_ path: String) throws -> (epochs: Int, freePages: Int) {
        let store = try SlopeStore(path: path, mode: .readOnly)  // beside a writer in its transaction
        defer { try? store.close() }
        let epochs = try store.read { c in try c.value("SELECT COUNT(DISTINCT epoch) FROM tensors", [], as: Int.self) } ?? -1
        return (epochs, try XCTUnwrap(store.sqlite).freePageCount())
    }

    private func line(_ step: SlopeStore.CompactionStep, sweep: Int64) -> String {
        Compact.interruptedLine(at: step, sweep: sweep, keepEvery: 5, suffix: " --db v.db")
    }

    func testTheLinesSayWhatEachStepLeaves() {
        XCTAssertEqual(Compact.nothingDeleted, "nothing was deleted (the deletion is one transaction, undone with the process)")
        XCTAssertEqual(line(.committing, sweep: 3), "the deletion was being committed and had not finished, so the tensors may have been "
                       + "deleted: `runner compact --sweep 3 --keep-every 5 --db v.db --dry-run` says what is left to delete")
        XCTAssertEqual(line(.deleted(epochs: 8, vacuuming: true), sweep: 3), "the tensors of 8 epochs were deleted; the file was not "
                       + "shrunk yet: run the same command again (runner compact --sweep 3 --keep-every 5 --db v.db)")
        XCTAssertEqual(line(.deleted(epochs: 1, vacuuming: false), sweep: 3), "the tensors of 1 epoch were deleted; there was nothing more to do")
        XCTAssertEqual(line(.deleted(epochs: 0, vacuuming: true), sweep: 3), "no tensors were deleted (none were left to delete); the file "
                       + "was not shrunk yet: run the same command again (runner compact --sweep 3 --keep-every 5 --db v.db)")
        XCTAssertEqual(line(.vacuumed, sweep: 3), "the compaction had finished (the file was shrunk)")
    }

    /// Before the deletion has committed the first signal ends the process at once: nothing deleted.
    func testASignalBeforeTheDeletionSaysNothingWasDeleted() {
        let (interrupts, ending, stop) = makeInterrupts()
        interrupts.take(.endsAtOnce(left: Compact.nothingDeleted), quiet: false)
        XCTAssertEqual(stop.request(signal: SIGINT, at: 0), .first)
        Thread { interrupts.first(SIGINT) }.start()
        XCTAssertEqual(ending.ended.wait(timeout: .now() + 60), .success)
        XCTAssertEqual(ending.lines, ["interrupted: nothing was deleted (the deletion is one transaction, undone with the process)"])
        XCTAssertEqual(ending.status, 130)
    }

    /// The hostile's case: the deletion has committed, VACUUM is under way: the line says the
    /// tensors were deleted and the file not shrunk yet, as the database then is.
    func testASignalDuringVacuumSaysTheTensorsWereDeletedAndTheFileNotShrunk() throws {
        let directory = try TemporaryDirectory(prefix: "slope-compact-signal")
        defer { directory.remove() }
        let path = directory.path("v.db")
        let sweepID = try CompactionFixture.completedSweep(at: path)
        let (interrupts, ending, stop) = makeInterrupts()
        interrupts.take(.endsAtOnce(left: Compact.nothingDeleted), quiet: false)
        var steps: [SlopeStore.CompactionStep] = []
        let store = try SlopeStore(path: path)
        XCTAssertThrowsError(try store.compact(sweepID: sweepID, keepEvery: 5, dryRun: false, step: { step in
            steps.append(step)
            try Compact.enter(step, line: line(step, sweep: sweepID), quiet: false, interrupts: interrupts, stop: stop, writeError: { ending.write($0) })
            guard case .deleted = step else { return }
            // VACUUM is next: the signal comes now.
            XCTAssertEqual(stop.request(signal: SIGTERM, at: 0), .first)
            Thread { interrupts.first(SIGTERM) }.start()
            XCTAssertEqual(ending.ended.wait(timeout: .now() + 60), .success)
            throw Halt()  // the process has ended: no VACUUM
        })) { XCTAssertTrue($0 is Halt, "\($0)") }
        try store.close()
        XCTAssertEqual(steps, [.committing, .deleted(epochs: 8, vacuuming: true)])
        XCTAssertEqual(ending.lines, ["terminated (SIGTERM): the tensors of 8 epochs were deleted; the file was not shrunk yet: "
                                      + "run the same command again (runner compact --sweep \(sweepID) --keep-every 5 --db v.db)"])
        XCTAssertEqual(ending.status, 143)
        let left = try state(path)
        XCTAssertEqual(left.epochs, 4, "0, 5, 10 and the last, 11, keep their tensors")
        XCTAssertGreaterThanOrEqual(left.freePages, 8 * 262_144 / SQLiteBackend.pageSize, "not shrunk")
    }

    /// A first signal while the deletion commits waits for it; once it has committed, the command
    /// ends before VACUUM, saying the tensors were deleted (exit 130), and the database agrees.
    func testASignalWhileTheDeletionCommitsEndsTheCommandOnceItHasCommitted() throws {
        let directory = try TemporaryDirectory(prefix: "slope-compact-signal")
        defer { directory.remove() }
        let path = directory.path("v.db")
        let sweepID = try CompactionFixture.completedSweep(at: path)
        let (interrupts, ending, stop) = makeInterrupts()
        interrupts.take(.endsAtOnce(left: Compact.nothingDeleted), quiet: false)
        var steps: [SlopeStore.CompactionStep] = []
        let store = try SlopeStore(path: path)
        XCTAssertThrowsError(try store.compact(sweepID: sweepID, keepEvery: 5, dryRun: false, step: { step in
            steps.append(step)
            try Compact.enter(step, line: line(step, sweep: sweepID), quiet: false, interrupts: interrupts, stop: stop, writeError: { ending.write($0) })
            if step == .committing {
                XCTAssertEqual(try state(path).epochs, 12, "not committed yet")
                XCTAssertEqual(stop.request(signal: SIGINT, at: 0), .first)
                interrupts.first(SIGINT)  // returns: the commit's outcome is awaited
                XCTAssertNil(ending.status)
            }
        })) { error in XCTAssertEqual((error as? ExitCode)?.rawValue, 130, "\(error)") }
        try store.close()
        XCTAssertEqual(steps, [.committing, .deleted(epochs: 8, vacuuming: true)])
        XCTAssertEqual(ending.lines, ["interrupted: the tensors of 8 epochs were deleted; the file was not shrunk yet: "
                                      + "run the same command again (runner compact --sweep \(sweepID) --keep-every 5 --db v.db)"])
        XCTAssertNil(ending.status, "ended by the command (its exit status), not by the handler")
        let left = try state(path)
        XCTAssertEqual(left.epochs, 4)
        XCTAssertGreaterThan(left.freePages, 0)
    }

    /// Without a signal: every step in order, the last one after VACUUM (nothing left to shrink).
    func testAnUninterruptedCompactionGoesThroughEveryStep() throws {
        let directory = try TemporaryDirectory(prefix: "slope-compact-signal")
        defer { directory.remove() }
        let path = directory.path("v.db")
        let sweepID = try CompactionFixture.completedSweep(at: path)
        let (interrupts, ending, stop) = makeInterrupts()
        var steps: [SlopeStore.CompactionStep] = []
        let store = try SlopeStore(path: path)
        let compaction = try store.compact(sweepID: sweepID, keepEvery: 5, dryRun: false, step: { step in
            steps.append(step)
            try Compact.enter(step, line: line(step, sweep: sweepID), quiet: false, interrupts: interrupts, stop: stop, writeError: { ending.write($0) })
        })
        try store.close()
        XCTAssertEqual(steps, [.committing, .deleted(epochs: 8, vacuuming: true), .vacuumed])
        XCTAssertTrue(compaction.vacuumed)
        XCTAssertEqual(ending.lines, [])
        XCTAssertEqual(try state(path).freePages, 0)
    }
}
