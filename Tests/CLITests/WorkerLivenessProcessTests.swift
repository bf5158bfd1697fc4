// The built `runner` in a PID namespace (as in a container): killed with SIGKILL, its run is
// held by "pid 1", which in the resumer's namespace is the (live) init process. `runner resume`
// must still take it over (the start time and namespace tell) and finish it with the same bits.
import Foundation
import Store
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
        var held: SlopeStore.RunRecord?
        for _ in 0..<30_000 where worker.process.isRunning {  // bounded: 300 s at most
            if let store = try? SlopeStore(path: db, mode: .readOnly), let run = try? store.run(id: 1),
               run.status == .running, run.epochsDone >= 2 {
                held = run
                break
            }
            usleep(10_000)
        }
        let run = try XCTUnwrap(held, "the worker never got to epoch 2")
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
}
