// A second Ctrl-C (or SIGTERM) while `runner sweep` writes its sweep ends the process at once and
// says what it leaves, truly: nothing queued while the runs are written (and no commit begins
// behind that line), the sweep queued once the commit has ended, even in the moment between the
// commit and `Sweep.run` taking the `.written` phase (before, a signal there said nothing was
// queued), and that it may have been queued when the commit does not end in time. The handlers
// are called here directly (none installed), on an `Interrupts` whose end parks the thread.
import Experiments
import Foundation
@testable import Runner
import Store
import TestSupport
import XCTest

final class SecondSignalTests: XCTestCase {
    /// A first signal already taken (`first`), and handlers that write and end into an `InterruptsEnding`.
    private func makeInterrupts(first: Int32 = SIGTERM, commitWait: TimeInterval = 60) -> (Interrupts, InterruptsEnding, StopSignal) {
        let stop = StopSignal(), ending = InterruptsEnding()
        XCTAssertEqual(stop.request(signal: first, at: 0), .first)
        let interrupts = Interrupts(stop: stop, commitWait: commitWait, write: { ending.write($0) }, end: { ending.end($0) },
                                    installsHandlers: false)
        return (interrupts, ending, stop)
    }

    private func secondSignal(_ interrupts: Interrupts, _ number: Int32 = SIGINT) {
        Thread { interrupts.second(number) }.start()
    }

    /// The commit ended (the sweep is in the database), `Sweep.run` has not yet taken `.written`:
    /// the second signal waits for it and says the sweep was queued, as it is.
    func testASecondSignalBetweenTheCommitAndThePhaseChangeSaysTheSweepWasQueued() throws {
        let directory = try TemporaryDirectory(prefix: "slope-second-signal")
        defer { directory.remove() }
        let store = try SlopeStore(path: directory.path("s.db"))
        defer { try? store.close() }
        let (interrupts, ending, _) = makeInterrupts()
        interrupts.take(.writing, quiet: false)
        var committingCalls = 0
        let (sweepID, runIDs) = try store.createSweep(name: "s", specJSON: "{}", runs: (0..<3).map { _ in .example() }, committing: {
            committingCalls += 1
            interrupts.take(.committing(unsettled: "it may have been queued"), quiet: false)  // as `Sweep.run`'s hook does
        })
        XCTAssertEqual(committingCalls, 1)
        XCTAssertEqual(try SlopeStore(path: directory.path("s.db"), mode: .readOnly).runs(sweepID: sweepID).map(\.id), runIDs, "committed")

        secondSignal(interrupts)
        XCTAssertEqual(ending.ended.wait(timeout: .now() + 0.5), .timedOut, "waits for the commit's outcome: \(ending.lines)")
        XCTAssertEqual(ending.lines, [])
        interrupts.take(.written(queued: "sweep \(sweepID) (s) was queued just before (3 runs queued), none trained"), quiet: false)
        XCTAssertEqual(ending.ended.wait(timeout: .now() + 60), .success)
        XCTAssertEqual(ending.lines, ["terminated (SIGTERM): sweep \(sweepID) (s) was queued just before (3 runs queued), none trained"])
        XCTAssertEqual(ending.status, 128 + SIGINT)
    }

    /// While the runs are written: nothing was queued, and the commit cannot begin behind the line
    /// (its hook waits for the handler, which keeps its lock until the process ends).
    func testASecondSignalWhileTheRunsAreWrittenSaysNothingWasQueuedAndHoldsTheCommitBack() {
        let (interrupts, ending, _) = makeInterrupts()
        interrupts.take(.writing, quiet: false)
        secondSignal(interrupts)
        XCTAssertEqual(ending.ended.wait(timeout: .now() + 60), .success)
        XCTAssertEqual(ending.lines, ["terminated (SIGTERM): " + StoreError.nothingQueuedMessage])
        XCTAssertEqual(ending.status, 128 + SIGINT)
        let committing = DispatchSemaphore(value: 0)
        Thread {
            interrupts.take(.committing(unsettled: "-"), quiet: false)
            committing.signal()
        }.start()
        XCTAssertEqual(committing.wait(timeout: .now() + 0.5), .timedOut, "the commit began behind 'nothing was queued'")
    }

    /// A write undone or failed is nothing queued; a quiet process says nothing and still ends.
    func testAfterAnUndoneWriteNothingWasQueuedAndQuietSaysNothing() {
        let (interrupts, ending, _) = makeInterrupts(first: SIGINT)
        interrupts.take(.written(queued: nil), quiet: false)
        secondSignal(interrupts, SIGTERM)
        XCTAssertEqual(ending.ended.wait(timeout: .now() + 60), .success)
        XCTAssertEqual(ending.lines, ["interrupted: " + StoreError.nothingQueuedMessage])
        XCTAssertEqual(ending.status, 128 + SIGTERM)

        let (quiet, quietEnding, _) = makeInterrupts()
        quiet.take(.written(queued: "sweep 1 (s) was queued just before"), quiet: true)
        secondSignal(quiet)
        XCTAssertEqual(quietEnding.ended.wait(timeout: .now() + 60), .success)
        XCTAssertEqual(quietEnding.lines, [])
        XCTAssertEqual(quietEnding.status, 128 + SIGINT)
    }

    /// A commit that has not ended within `commitWait` (a PostgreSQL server that stopped answering):
    /// the line says it may have been queued, and where to look.
    func testACommitThatDoesNotEndInTimeMayHaveQueuedTheSweep() {
        let (interrupts, ending, _) = makeInterrupts(commitWait: 0.2)
        interrupts.take(.committing(unsettled: "the sweep's write was being committed and had not finished, so it may have been queued"),
                        quiet: false)
        secondSignal(interrupts)
        XCTAssertEqual(ending.ended.wait(timeout: .now() + 60), .success)
        XCTAssertEqual(ending.lines, ["terminated (SIGTERM): the sweep's write was being committed and had not finished, so it may have been queued"])
    }

    /// While training (hostile15 F9: the process ended with no line): what is left and how to go on.
    func testASecondSignalWhileTrainingSaysWhatIsLeftAndHowToContinue() {
        let (interrupts, ending, _) = makeInterrupts()
        interrupts.take(.training(quit: "quit at once: run 1 left at its last stored epoch; continue with: runner resume --run 1 --db s.db"),
                        quiet: false)
        secondSignal(interrupts, SIGTERM)
        XCTAssertEqual(ending.ended.wait(timeout: .now() + 60), .success)
        XCTAssertEqual(ending.lines, ["terminated (SIGTERM): quit at once: run 1 left at its last stored epoch; continue with: runner resume --run 1 --db s.db"])
        XCTAssertEqual(ending.status, 128 + SIGTERM)
    }

    /// The work ending by itself (it took the end first: `StopSignal.claimEnd`) writes the one line:
    /// the second signal then neither writes nor ends, and leaves the phase to be taken.
    func testWhenTheWorkIsEndingTheSecondSignalLeavesTheLineToIt() {
        let (interrupts, ending, stop) = makeInterrupts()
        XCTAssertTrue(stop.mayEnd(.work))
        interrupts.take(.written(queued: "sweep 1 (s) was queued just before"), quiet: false)
        let returned = DispatchSemaphore(value: 0)
        Thread {
            interrupts.second(SIGINT)
            returned.signal()
        }.start()
        XCTAssertEqual(returned.wait(timeout: .now() + 60), .success)
        XCTAssertEqual(ending.lines, [])
        XCTAssertNil(ending.status)
        interrupts.take(.training(quit: "-"), quiet: false)  // the lock was given back
    }
}
