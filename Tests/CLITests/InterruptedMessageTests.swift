// The line runner ends with after Ctrl-C or SIGTERM says what is true of each run (hostile15
// F18: runs the signal stopped while they waited for another process's database lock were said to
// be "requeued", though nothing could be written and they stayed `running`).
import Experiments
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
        XCTAssertEqual(Console.interruptedMessage(WorkSummary(outcomes: [3: .finished(.completed, reason: "completed all epochs")], wasInterrupted: true),
                                                  scope: " --sweep 1"),
                       "interrupted: runs left queued; continue with: runner resume --sweep 1")
    }
}
