// The built `runner` in a PID namespace (as in a container): killed with SIGKILL, its run is
// held by "pid 1", which in the resumer's namespace is the (live) init process. `runner resume`
// must still take it over (the start time and namespace tell) and finish it with the same bits.
import Foundation
@testable import Store
import TestSupport
import XCTest

final class WorkerLivenessProcessTests: XCTestCase {
    private var directory: TemporaryDirectory!
    private let runner = builtExecutable("runner")
    private let unshare = URL(fileURLWithPath: "/usr/bin/unshare")

    override func setUpWithError() throws { directory = try TemporaryDirectory(prefix: "slope-liveness-cli") }
    override func tearDown() { directory.remove() }

    private let flags = ["--dataset", "blobs:rows=3000:features=8:classes=3", "--hidden", "16", "--epochs", "8",
                         "--batch-size", "4", "--learning-rate", "0.05", "--seed", "0", "--quiet"]

    /// Run 1 of `db` once `worker` has stored its epoch 2 (polled every 10 ms, 300 s at most).
    private func runAtEpoch2(_ db: String, heldBy worker: ChildProcess) -> SlopeStore.RunRecord? {
        for _ in 0..<30_000 where worker.process.isRunning {
            if let store = try? SlopeStore(path: db, mode: .readOnly), let run = try? store.run(id: 1),
               run.status == .running, run.epochsDone >= 2 {
                return run
            }
            usleep(10_000)
        }
        return nil
    }

    func testAWorkerKilledInsideAPIDNamespaceIsTakenOverByResume() throws {
        #if !os(Linux)
        throw XCTSkip("PID namespaces are Linux's")
        #endif
        let probe = try ChildProcess.run(unshare, ["-p", "-f", "--mount-proc", "/bin/true"])
        try XCTSkipUnless(probe.status == 0, "unshare -p needs root (or user namespaces): \(probe.error)")

        let reference = directory.path("reference.db"), db = directory.path("namespace.db")
        XCTAssertEqual(try ChildProcess.run(runner, ["sweep"] + flags + ["--db", reference]).status, 0)
        XCTAssertEqual(try ChildProcess.run(runner, ["sweep"] + flags + ["--queue-only", "--db", db]).status, 0)

        let worker = try ChildProcess(unshare, ["-p", "-f", "--mount-proc", runner.path, "work", "--jobs", "1", "--db", db])
        defer { if worker.process.isRunning { kill(worker.pid, SIGKILL) } }
        let run = try XCTUnwrap(runAtEpoch2(db, heldBy: worker), "the worker never got to epoch 2")
        XCTAssertEqual(run.pid, 1, "inside its namespace the runner is pid 1")

        // The runner is unshare's child (pid 1 in there): SIGKILL it from here.
        let children = try String(contentsOfFile: "/proc/\(worker.pid)/task/\(worker.pid)/children", encoding: .utf8)
            .split(separator: " ").compactMap { Int32($0) }
        XCTAssertEqual(children.count, 1, "\(children)")
        for child in children { kill(child, SIGKILL) }
        _ = worker.finish()
        XCTAssertEqual(try SlopeStore(path: db, mode: .readOnly).run(id: 1).status, .running, "left running by the kill")

        let resumed = try ChildProcess.run(runner, ["resume", "--db", db])
        XCTAssertEqual(resumed.status, 0, resumed.error)
        let store = try SlopeStore(path: db, mode: .readOnly), expected = try SlopeStore(path: reference, mode: .readOnly)
        XCTAssertEqual(try store.run(id: 1).status, .completed, resumed.output)
        XCTAssertEqual(try store.epochs(runID: 1).map { $0.trainLoss?.bitPattern }, try expected.epochs(runID: 1).map { $0.trainLoss?.bitPattern })
        XCTAssertEqual(try store.tensors(runID: 1, epoch: 8).map(\.tensor), try expected.tensors(runID: 1, epoch: 8).map(\.tensor))
    }

    /// A worker started in a new PID namespace that kept its parent's /proc (`unshare -p -f` without
    /// --mount-proc): its pid (10 in there) names another process, or none, in that /proc. Before,
    /// the claim recorded that other process's start time and namespace (or none), and `runner resume`
    /// from the parent namespace took the run away from the live worker when no pid 10 existed here.
    func testResumeLeavesALiveWorkerOfAPIDNamespaceWithoutItsOwnProcAlone() throws {
        #if !os(Linux)
        throw XCTSkip("PID namespaces are Linux's")
        #endif
        let probe = try ChildProcess.run(unshare, ["-p", "-f", "/bin/true"])
        try XCTSkipUnless(probe.status == 0, "unshare -p needs root (or user namespaces): \(probe.error)")
        let sqlite3 = URL(fileURLWithPath: "/usr/bin/sqlite3")
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: sqlite3.path), "needs the sqlite3 shell")

        let longer = flags.map { $0 == "8" ? "30" : $0 }
        let reference = directory.path("reference.db"), db = directory.path("namespace.db")
        XCTAssertEqual(try ChildProcess.run(runner, ["sweep"] + longer + ["--db", reference]).status, 0)
        XCTAssertEqual(try ChildProcess.run(runner, ["sweep"] + longer + ["--queue-only", "--db", db]).status, 0)

        // sh is pid 1 in the namespace, eight /bin/true take pids 2-9, the runner gets pid 10.
        let script = "i=0; while [ $i -lt 8 ]; do /bin/true; i=$((i+1)); done; '\(runner.path)' work --jobs 1 --db '\(db)'"
        let worker = try ChildProcess(unshare, ["-p", "-f", "/bin/sh", "-c", script])
        func descendants(of pid: Int32) -> [Int32] {
            let children = ((try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? "")
                .split(separator: " ").compactMap { Int32($0) }
            return children + children.flatMap { descendants(of: $0) }
        }
        defer { if worker.process.isRunning { for pid in descendants(of: worker.pid).reversed() { kill(pid, SIGKILL) } } }
        let run = try XCTUnwrap(runAtEpoch2(db, heldBy: worker), "the worker never got to epoch 2")
        XCTAssertEqual(run.pid, 10, "inside its namespace the runner is pid 10")
        let runnerPID = try XCTUnwrap(descendants(of: worker.pid).last, "the runner's pid here")

        // The claim names the runner itself: its start time and PID namespace, read through /proc/self.
        let recorded = try ChildProcess.run(sqlite3, [db, "SELECT process_start || ' ' || pid_namespace FROM runs WHERE id = 1"])
        let expected = "\(WorkerLiveness.startTime(pid: runnerPID).map(String.init) ?? "?") \(WorkerLiveness.pidNamespace(pid: runnerPID) ?? "?")"
        XCTAssertEqual(recorded.output.trimmingCharacters(in: .whitespacesAndNewlines), expected)

        // From here the live worker keeps its run; it then finishes it with the same bits.
        let resumed = try ChildProcess.run(runner, ["resume", "--db", db])
        XCTAssertEqual(resumed.status, 0, resumed.error)
        XCTAssertEqual(try SlopeStore(path: db, mode: .readOnly).run(id: 1).pid, 10, resumed.output)
        let finished = worker.finish()
        XCTAssertEqual(finished.status, 0, finished.error)
        let store = try SlopeStore(path: db, mode: .readOnly), expectedStore = try SlopeStore(path: reference, mode: .readOnly)
        XCTAssertEqual(try store.run(id: 1).status, .completed, finished.output)
        XCTAssertEqual(try store.epochs(runID: 1).map { $0.trainLoss?.bitPattern }, try expectedStore.epochs(runID: 1).map { $0.trainLoss?.bitPattern })
        XCTAssertEqual(try store.tensors(runID: 1, epoch: 30).map(\.tensor), try expectedStore.tensors(runID: 1, epoch: 30).map(\.tensor))
    }

    /// `runner resume` (and `work`) beside workers that are alive, even stopped, takes nothing
    /// over: it says which runs those workers hold, not just "nothing to do".
    func testResumeBesideALiveWorkerNamesTheRunsItHolds() throws {
        let db = directory.path("held.db")
        XCTAssertEqual(try ChildProcess.run(runner, ["sweep", "--dataset", "xor", "--validation", "0", "--epochs", "1",
                                                     "--seed", "0,1", "--queue-only", "--db", db]).status, 0)
        // This test process is the live worker holding both runs.
        let store = try SlopeStore(path: db)
        let me = WorkerIdentity.current()
        for runID: Int64 in [1, 2] { XCTAssertNotNil(try store.claimRun(runID: runID, worker: me)) }
        try store.close()
        let held = "2 runs (1, 2) are running, held by live worker (pid \(me.pid)@\(me.host)); `runner resume` takes a run over once its worker has exited"
        for command in [["resume"], ["resume", "--sweep", "1"], ["work"]] {
            let result = try ChildProcess.run(runner, command + ["--db", db])
            XCTAssertEqual(result.status, 0, result.error)
            let first = result.output.split(separator: "\n").first.map(String.init) ?? ""
            XCTAssertTrue(first.hasPrefix("nothing to do: no queued or interrupted runs" + (command.count > 1 ? " in sweep 1; " : "; ") + held), result.output)
        }
        // `--run`: the same words (it said "still alive", which for another host's worker only means a young heartbeat: hostile15 F12).
        let one = try ChildProcess.run(runner, ["resume", "--run", "1", "--db", db])
        XCTAssertEqual(one.status, 1, one.error)
        XCTAssertTrue(one.error.hasPrefix("error: run 1 is running, held by live worker ("), one.error)
        XCTAssertTrue(one.error.hasSuffix("); nothing to resume: `runner resume` takes a run over once its worker has exited "
                                          + "(or, on another host, once its heartbeat is older than --stale-after)\n"), one.error)
        XCTAssertEqual(try SlopeStore(path: db, mode: .readOnly).runs(sweepID: 1).map(\.status), [.running, .running])

        // Held by a worker that is gone (a pid no process has on this host): resume's work, said as such by `work`.
        let gone = try SlopeStore(path: db)
        for runID: Int64 in [1, 2] { try gone.requeueRun(runID: runID, reason: "test") }
        var dead = WorkerIdentity.current()
        dead.pid = Int32.max - 1
        XCTAssertNotNil(try gone.claimRun(runID: 1, worker: dead))
        XCTAssertNotNil(try gone.claimRun(runID: 2, worker: dead))
        try gone.close()
        let work = try ChildProcess.run(runner, ["work", "--db", db])
        XCTAssertEqual(work.status, 0, work.error)
        XCTAssertTrue(work.output.hasPrefix("nothing to do: no queued or interrupted runs; 2 running runs were left by workers that are gone; continue with: runner resume"), work.output)
    }
}
