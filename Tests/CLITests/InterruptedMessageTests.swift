// The line runner ends with after Ctrl-C or SIGTERM says what is true of each run (hostile15
// F18: runs the signal stopped while they waited for another process's database lock were said to
// be "requeued", though nothing could be written and they stayed `running`).
import Experiments
import Store
import Foundation
@testable import Runner
import XCTest

final class InterruptedMessageTests: XCTestCase {
    func testRunsStoppedWhileTheDatabaseWasLockedAreLeftRunningNotRequeued() {
        let locked = RunOutcome.suspended(reason: "the database stayed locked", requeued: false)
        XCTAssertEqual(Console.interruptedMessage(WorkSummary(outcomes: [2: locked, 1: locked], wasInterrupted: true), scope: "", signal: SIGTERM),
                       "terminated (SIGTERM): runs 1, 2 left running at their last stored epoch (not requeued: the database could not "
                       + "be written); continue with: runner resume")
        XCTAssertEqual(Console.interruptedMessage(WorkSummary(outcomes: [3: .interrupted(epoch: 4), 5: locked], wasInterrupted: true),
                                                  scope: " --sweep 1"),
                       "interrupted: runs requeued, run 5 left running at its last stored epoch (not requeued: the database could not "
                       + "be written); continue with: runner resume --sweep 1")
        // Requeued ones are said as before.
        XCTAssertEqual(Console.interruptedMessage(WorkSummary(outcomes: [3: .interrupted(epoch: 4),
                                                                         4: .suspended(reason: "disk full", requeued: true)], wasInterrupted: true),
                                                  scope: " --sweep 1"),
                       "interrupted: runs requeued; continue with: runner resume --sweep 1")
        // A run whose database file was deleted or replaced is said as such (review15 F17: it was "left running ...
        // (not requeued: the database could not be written)"), and not among the requeued ones.
        let gone = RunOutcome.databaseGone("slope.db was deleted while this process was writing to it")
        XCTAssertEqual(Console.interruptedMessage(WorkSummary(outcomes: [6: gone], wasInterrupted: true), scope: ""),
                       "interrupted: run 6 not requeued: the database file was deleted or replaced while it trained (what was written since "
                       + "went with it); continue with: runner resume")
        XCTAssertEqual(Console.interruptedMessage(WorkSummary(outcomes: [3: .interrupted(epoch: 4), 6: gone, 7: gone, 8: locked], wasInterrupted: true),
                                                  scope: " --sweep 1"),
                       "interrupted: runs requeued, run 8 left running at its last stored epoch (not requeued: the database could not be written), "
                       + "runs 6, 7 not requeued: the database file was deleted or replaced while they trained (what was written since went with it); "
                       + "continue with: runner resume --sweep 1")
        // A run set aside for a worker with more memory is said as such.
        XCTAssertEqual(Console.interruptedMessage(WorkSummary(outcomes: [3: .interrupted(epoch: 4), 9: .setAside(need: "--hidden: ...")],
                                                              wasInterrupted: true), scope: " --sweep 1"),
                       "interrupted: runs requeued, run 9 left queued for a worker with more memory; continue with: runner resume --sweep 1")
        XCTAssertEqual(Console.interruptedMessage(WorkSummary(outcomes: [3: .finished(.completed, reason: "completed all epochs")], wasInterrupted: true),
                                                  scope: " --sweep 1"),
                       "interrupted: runs left queued; continue with: runner resume --sweep 1")
    }
}

/// Continuing one run whose sweep has more left is continuing the sweep (hostile16 F2: after Ctrl-C
/// early in a 16-trial TPE sweep, `runner resume --run 1` trained run 1 and ended as if the sweep were done).
final class ContinuationHintTests: CLITestCase {
    func testOneRunOfASweepWithMoreLeftIsContinuedWithItsSweep() throws {
        try run("runner", ["sweep", "--queue-only", "--dataset", "xor", "--hidden", "2", "--epochs", "1", "--validation", "0", "--seed", "0,1,2"])
        try run("runner", ["sweep", "--queue-only", "--dataset", "xor", "--hidden", "2", "--epochs", "1", "--validation", "0", "--seed", "7"])
        do {
            let store = try SlopeStore(path: directory.path(databaseName))
            defer { try? store.close() }
            XCTAssertEqual(try Console.continuation(ofRun: 1, store), " --sweep 1")
            XCTAssertEqual(try Console.continuation(ofRun: 4, store), " --run 4")  // the only run of sweep 2
        }
        // Resuming run 1 alone trains it, then says the sweep is not done and how to go on.
        let first = try run("runner", ["resume", "--run", "1"])
        XCTAssertTrue(first.error.hasSuffix("note: sweep 1 is not finished: 2 more runs to train (queued, interrupted, held by other "
                                            + "workers or trials not sampled yet); continue with: runner resume --sweep 1 --db "
                                            + directory.path(databaseName) + "\n"), first.error)
        try run("runner", ["resume", "--run", "2"])
        let last = try run("runner", ["resume", "--run", "3"])
        XCTAssertFalse(last.error.contains("not finished"), last.error)
        let single = try run("runner", ["resume", "--run", "4"])
        XCTAssertFalse(single.error.contains("not finished"), single.error)
    }
}
