// `reclaimInterruptedRuns` tells a live worker from a gone one by more than its pid: the boot id
// (a reboot), the process start time (a pid given to a later process) and the PID namespace (a
// worker in a container); when this host cannot tell, the heartbeat decides.
import Foundation
import GRDB
@testable import Store
import TestSupport
import XCTest

final class WorkerLivenessTests: XCTestCase {
    private var directory: TemporaryDirectory!
    private let me = WorkerIdentity.current(label: "resumer")

    override func setUpWithError() throws {
        directory = try TemporaryDirectory(prefix: "slope-liveness")
        try XCTSkipIf(me.bootID == nil || me.startTime == nil || me.pidNamespace == nil, "needs Linux /proc")
    }
    override func tearDown() { directory.remove() }

    /// Claims a fresh run as `holder`, then lets `me` look for interrupted runs. The reports' read
    /// model (`stalledRuns`, what `report` and the dashboard show as stalled) must say the same first.
    private func reclaimed(heldBy holder: WorkerIdentity, staleAfter: TimeInterval = 3600,
                           file: StaticString = #filePath, line: UInt = #line) throws -> Bool {
        let store = try SlopeStore(path: directory.path("\(UUID().uuidString).db"))
        let runID = try store.createRun(.example())
        XCTAssertEqual(try store.claimRun(runID: runID, worker: holder)?.id, runID)
        let stalled = try store.queries.stalledRuns(staleAfter: staleAfter, observer: me).map(\.runID) == [runID]
        let reclaimed = try store.reclaimInterruptedRuns(sweepID: nil, runID: nil, worker: me, staleAfter: staleAfter).map(\.id) == [runID]
        XCTAssertEqual(stalled, reclaimed, "stalled in the reports exactly when runner resume takes the run over", file: file, line: line)
        return reclaimed
    }

    /// The parent process (the test runner's launcher): alive, and not this process.
    private var parent: WorkerIdentity {
        WorkerIdentity(host: me.host, pid: getppid(), label: "parent", bootID: me.bootID,
                       startTime: WorkerLiveness.startTime(pid: getppid()), pidNamespace: me.pidNamespace)
    }

    func testTheClaimRecordsBootIDStartTimeAndNamespace() throws {
        let store = try SlopeStore(path: directory.path("claim.db"))
        let runID = try store.createRun(.example())
        _ = try store.claimRun(runID: runID, worker: me)
        let row = try store.sqlite!.pool.read { db in try Row.fetchOne(db, sql: "SELECT boot_id, process_start, pid_namespace FROM runs WHERE id = ?", arguments: [runID]) }
        XCTAssertEqual(row?["boot_id"], try String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8)
                        .trimmingCharacters(in: .whitespacesAndNewlines))
        XCTAssertEqual(row?["pid_namespace"], try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/pid"))
        let stat = try String(contentsOfFile: "/proc/self/stat", encoding: .utf8)
        let fields = stat[stat.index(after: stat.lastIndex(of: ")")!)...].split(separator: " ")
        XCTAssertEqual(row?["process_start"], Int64(fields[19]), "field 22 of /proc/self/stat")
        try store.requeueRun(runID: runID, reason: "test")
        let cleared = try store.sqlite!.pool.read { db in try Row.fetchOne(db, sql: "SELECT boot_id, process_start, pid_namespace FROM runs WHERE id = ?", arguments: [runID]) }
        XCTAssertEqual(cleared?["boot_id"] as String?, nil)
        XCTAssertEqual(cleared?["process_start"] as Int64?, nil)
    }

    func testALiveWorkerKeepsItsRunHoweverOldItsHeartbeat() throws {
        XCTAssertNotNil(parent.startTime)
        XCTAssertFalse(try reclaimed(heldBy: parent, staleAfter: -60))
    }

    /// After a reboot the same pid may well be alive again (here: the parent's): another boot id is gone.
    func testAForeignBootIDIsGone() throws {
        var rebooted = parent
        rebooted.bootID = "00000000-0000-4000-8000-000000000000"
        XCTAssertTrue(try reclaimed(heldBy: rebooted))
    }

    /// The same pid, now a process that started at another tick: the holder is gone.
    func testAnotherStartTimeIsGone() throws {
        var earlier = parent
        earlier.startTime = (parent.startTime ?? 0) - 1
        XCTAssertTrue(try reclaimed(heldBy: earlier))
    }

    /// "pid 1" in another PID namespace is not this namespace's init: from the first namespace,
    /// where every process is visible, no process of that namespace started then, so it is gone;
    /// from elsewhere this host cannot tell, and the heartbeat (fresh here) keeps it.
    func testAWorkerOfAnotherPIDNamespace() throws {
        let container = WorkerIdentity(host: me.host, pid: 1, label: "in a container", bootID: me.bootID,
                                       startTime: parent.startTime, pidNamespace: "pid:[12345]")
        XCTAssertEqual(try reclaimed(heldBy: container), WorkerLiveness.seesEveryProcess)
        XCTAssertTrue(try reclaimed(heldBy: container, staleAfter: -60), "a stale heartbeat decides either way")
    }

    /// A worker killed but not yet reaped by its parent (a supervisor that polls rarely, a container
    /// whose pid 1 does not reap) is a zombie: its pid, its /proc entry and its start time are still
    /// there and kill(pid, 0) succeeds, yet it will never run again. Before, it kept its runs.
    func testAKilledWorkerNotYetReapedIsGone() throws {
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/sleep"), strdup("600"), nil]
        defer { argv.forEach { free($0) } }
        XCTAssertEqual(posix_spawn(&pid, "/bin/sleep", nil, nil, argv, environ), 0)
        defer {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            _ = waitpid(pid, &status, 0)  // reap it at the end, not before
        }
        let killed = WorkerIdentity(host: me.host, pid: pid, label: "killed", bootID: me.bootID,
                                    startTime: try XCTUnwrap(WorkerLiveness.startTime(pid: pid)), pidNamespace: me.pidNamespace)
        XCTAssertFalse(try reclaimed(heldBy: killed), "alive before the kill")

        XCTAssertEqual(kill(pid, SIGKILL), 0)
        var state = WorkerLiveness.processStat(entry: "\(pid)")?.state
        var looks = 0
        while state != "Z", looks < 100_000 {  // until the kernel has made it a zombie (bounded)
            usleep(100)
            looks += 1
            state = WorkerLiveness.processStat(entry: "\(pid)")?.state
        }
        XCTAssertEqual(state, "Z", "killed and not reaped: a zombie")
        XCTAssertEqual(WorkerLiveness.processStat(entry: "\(pid)")?.startTime, killed.startTime, "with its start time")
        XCTAssertEqual(kill(pid, 0), 0, "kill(pid, 0) still succeeds on a zombie")

        XCTAssertTrue(try reclaimed(heldBy: killed))
        XCTAssertFalse(WorkerLiveness.processIsAlive(pid))
        XCTAssertTrue(try reclaimed(heldBy: WorkerIdentity(host: me.host, pid: pid, label: "old killed")), "the pid-only fallback too")
    }

    /// Runs claimed by an older Slope (no boot id or start time): the pid alone, as before.
    func testRowsWithoutLivenessColumnsFallBackToThePid() throws {
        XCTAssertFalse(try reclaimed(heldBy: WorkerIdentity(host: me.host, pid: getppid(), label: "old live")))
        XCTAssertTrue(try reclaimed(heldBy: WorkerIdentity(host: me.host, pid: Int32.max - 7, label: "old gone")))
    }

    /// A worker whose run was taken over (its heartbeat went stale) must not requeue or end it under
    /// its new holder: before, `requeueRun` (a failed write's suspend, Ctrl-C) and `finishRun` changed
    /// any run, and the queued run could be claimed a second time while the new holder trained it.
    func testAWorkerWhoseRunWasTakenOverCannotRequeueOrFinishIt() throws {
        let store = try SlopeStore(path: directory.path("taken.db"))
        let runID = try store.createRun(.example())
        let slow = WorkerIdentity(host: "elsewhere", pid: 4242, label: "slow", bootID: "b", startTime: 7, pidNamespace: "pid:[1]")
        let slowClaim = RunHolder(worker: slow, claimToken: try XCTUnwrap(store.claimRun(runID: runID, worker: slow)).claimToken)
        let taken = try store.reclaimInterruptedRuns(sweepID: nil, runID: nil, worker: me, staleAfter: -1)
        XCTAssertEqual(taken.map(\.id), [runID])
        XCTAssertEqual(taken.map(\.claimToken), [slowClaim.claimToken + 1])
        let myClaim = RunHolder(worker: me, claimToken: taken[0].claimToken)

        func assertNotHeld(_ expected: String = "it is held by resumer under claim 2; this worker's claim 1 is stale", _ body: () throws -> Void) {
            XCTAssertThrowsError(try body()) { error in
                guard case StoreError.runNotHeld(runID, let detail)? = error as? StoreError else { return XCTFail("\(error)") }
                XCTAssertEqual(detail, expected)
            }
        }
        assertNotHeld { try store.requeueRun(runID: runID, reason: "stopped by a failed write", holder: slowClaim) }
        assertNotHeld { try store.finishRun(runID: runID, status: .failed, stopReason: "error", error: "boom", holder: slowClaim) }
        var run = try store.run(id: runID)
        XCTAssertEqual(run.status, .running)
        XCTAssertEqual(run.worker, "resumer")
        XCTAssertNil(run.stopReason)

        // Its holder still can; without a worker (as before) the write is unconditional.
        try store.requeueRun(runID: runID, reason: "interrupted at epoch 0", holder: myClaim)
        run = try store.run(id: runID)
        XCTAssertEqual(run.status, .queued)
        XCTAssertEqual(run.stopReason, "interrupted at epoch 0")
        XCTAssertNil(run.worker)
        assertNotHeld("it is queued now") { try store.finishRun(runID: runID, status: .completed, stopReason: "x", holder: myClaim) }
        try store.finishRun(runID: runID, status: .failed, stopReason: "error", error: "boom")
        XCTAssertEqual(try store.run(id: runID).status, .failed)
    }
}
