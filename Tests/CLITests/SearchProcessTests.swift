// TPE sweeps through the built `runner`: two worker processes share one sweep (every trial made and
// run once, exactly `count` of them), and a killed worker's trial resumes, not resampled, giving
// the same bits as a sweep that was never interrupted; Ctrl-C says how many trials are not sampled yet.
import Foundation
import Store
import TestSupport
import XCTest

final class SearchProcessTests: CLITestCase {
    private let runner = builtExecutable("runner")

    /// `runner` with its own --db (these tests use several databases).
    @discardableResult
    private func run(_ arguments: [String], expect status: Int32, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let result = try ChildProcess.run(runner, arguments, currentDirectory: directory.url)
        XCTAssertEqual(result.status, status, "runner \(arguments.joined(separator: " ")): \(result.error)", file: file, line: line)
        return result.output
    }

    private func spec(_ name: String, dataset: String, epochs: Int, count: Int, startup: Int, batches: String,
                      design: String = "random") throws -> String {
        let path = directory.path(name)
        try """
            method: tpe
            count: \(count)
            random_seed: 5
            n_startup_trials: \(startup)
            startup: \(design)
            fixed: {dataset: "\(dataset)", hidden: [8], epochs: \(epochs), log_tensors: 2}
            parameters:
              learning_rate: {distribution: log_uniform, min: 0.001, max: 0.5}
              batch_size: {values: [\(batches)]}
              momentum: {distribution: uniform, min: 0, max: 0.9}
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Stops the worker (SIGSTOP) once sweep 1 in `db` has `trials` trials, the last one running with
    /// `epochs` or more epochs stored, and returns with the worker still stopped, so that a signal
    /// sent next lands in exactly the state seen. Each look at the database is made while the worker
    /// is stopped (and it is continued after a look that did not find that state): a signal sent
    /// after a look that saw the worker running could land after the trial had finished on a loaded
    /// machine. The worker must not get past the trial between two looks (10 ms apart, four epochs).
    private func stopDuringTrial(_ trials: Int, epochs: Int, db: String, worker: ChildProcess, file: StaticString = #filePath,
                                 line: UInt = #line) {
        let deadline = Date().addingTimeInterval(300)  // a safety net, not a timing assertion
        while Date() < deadline && worker.process.isRunning {
            kill(worker.pid, SIGSTOP)
            // SIGSTOP is delivered asynchronously: the look waits (bounded) until the worker is stopped.
            var stopped = false
            for _ in 0..<10_000 where !stopped {
                stopped = Self.isStopped(worker.pid)
                if !stopped { usleep(100) }
            }
            if stopped, let store = try? SlopeStore(path: db, mode: .readOnly), let runs = try? store.runs(sweepID: 1) {
                if runs.count == trials, runs[trials - 1].status == .running, runs[trials - 1].epochsDone >= epochs { return }
                if runs.count > trials || (runs.count == trials && runs[trials - 1].status != .running) {
                    XCTFail("the worker got past trial \(trials) between two looks", file: file, line: line)
                    return
                }
            }
            kill(worker.pid, SIGCONT)
            usleep(10_000)
        }
        XCTFail("the sweep never reached epoch \(epochs) of its trial \(trials)", file: file, line: line)
    }

    /// Whether process `pid` is stopped (state T in /proc/PID/stat, after the command in parentheses).
    private static func isStopped(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let end = stat.range(of: ") ", options: .backwards) else { return false }
        return stat[end.upperBound...].first == "T"
    }

        func testTwoWorkersShareOneTPESweep() throws {
        let db = directory.path("tpe.db")
        let file = try spec("tpe.yaml", dataset: "moons:rows=120", epochs: 3, count: 14, startup: 4, batches: "4, 8, 16")
        let queued = try run(["sweep", file, "--queue-only", "--db", db], expect: 0)
        XCTAssertTrue(queued.contains("14 trials to sample"), queued)
        XCTAssertEqual(try SlopeStore(path: db, mode: .readOnly).runs(sweepID: 1).count, 0, "trials are made when workers ask")
        let workers = try (0..<2).map { _ in try ChildProcess(runner, ["work", "--sweep", "1", "--jobs", "1", "--db", db]) }
        let results = workers.map { $0.finish() }
        XCTAssertEqual(results.map(\.status), [0, 0], results.map(\.error).joined())
        // Each trial was run once, by exactly one of the two processes: 14 of them, no more.
        let finishedLines = results.flatMap { $0.output.split(separator: "\n") }.filter { $0.hasPrefix("run ") && $0.contains(" completed ") }
        XCTAssertEqual(finishedLines.compactMap { Int64($0.split(separator: " ")[1]) }.sorted(), Array(1...14))
        let store = try SlopeStore(path: db, mode: .readOnly)
        let runs = try store.runs(sweepID: 1)
        XCTAssertEqual(runs.count, 14)
        XCTAssertTrue(runs.allSatisfy { $0.status == .completed && $0.epochsDone == 3 })
        XCTAssertTrue(Set(runs.compactMap(\.pid)).isSubset(of: Set(workers.map(\.pid))))
        // Every trial is its own point (the sampler's values are stored with each run).
        let trials = runs.map { run -> String in
            let object = try? JSONSerialization.jsonObject(with: Data(run.settings.configJSON.utf8)) as? [String: Any]
            return "\(object?["trial"] ?? "none")"
        }
        XCTAssertFalse(trials.contains("none"))
        XCTAssertEqual(Set(trials).count, 14)
        XCTAssertEqual(try store.sweep(id: 1).status, .completed)
        // Nothing left: another worker finds no trial to make.
        let again = try run(["work", "--sweep", "1", "--db", db], expect: 0)
        XCTAssertEqual(try store.runs(sweepID: 1).count, 14, again)
    }

    func testKilledTrialResumesBitIdentically() throws {
        // A TPE-sampled trial (the third, after 2 random ones).
        try assertKilledTrialResumesBitIdentically(design: "random", startup: 2, killedTrial: 3)
    }

    /// The same for a startup trial of a Latin hypercube (the second of 3): it is resumed, not made
    /// again, and the trials after it are those of the sweep that was never interrupted.
    func testKilledLatinHypercubeTrialResumesBitIdentically() throws {
        try assertKilledTrialResumesBitIdentically(design: "lhs", startup: 3, killedTrial: 2)
    }

    private func assertKilledTrialResumesBitIdentically(design: String, startup: Int, killedTrial: Int,
                                                        file: StaticString = #filePath, line: UInt = #line) throws {
        let specFile = try spec("slow.yaml", dataset: "blobs:rows=3000:features=8:classes=3", epochs: 6, count: 4, startup: startup,
                            batches: "4, 5", design: design)
        let reference = directory.path("reference.db")
        try run(["sweep", specFile, "--jobs", "1", "--db", reference], expect: 0, file: file, line: line)

        let db = directory.path("killed.db")
        let worker = try ChildProcess(runner, ["sweep", specFile, "--jobs", "1", "--db", db])
        // Stop the worker with the trial mid-way, then kill -9.
        stopDuringTrial(killedTrial, epochs: 2, db: db, worker: worker, file: file, line: line)
        kill(worker.pid, SIGKILL)
        XCTAssertEqual(worker.finish().status, 128 + SIGKILL)
        let killed = try SlopeStore(path: db, mode: .readOnly)
        XCTAssertEqual(try killed.runs(sweepID: 1).map(\.status), Array(repeating: .completed, count: killedTrial - 1) + [.running], file: file, line: line)

        try run(["resume", "--sweep", "1", "--jobs", "1", "--db", db], expect: 0, file: file, line: line)
        let left = try SlopeStore(path: db, mode: .readOnly), right = try SlopeStore(path: reference, mode: .readOnly)
        let leftRuns = try left.runs(sweepID: 1), rightRuns = try right.runs(sweepID: 1)
        XCTAssertEqual(leftRuns.count, 4)
        XCTAssertEqual(leftRuns.map(\.status), rightRuns.map(\.status))
        // The same trials (configurations, sampled values included), the same losses and final weights.
        XCTAssertEqual(leftRuns.map(\.settings.configJSON), rightRuns.map(\.settings.configJSON), file: file, line: line)
        for (a, b) in zip(leftRuns, rightRuns) {
            XCTAssertEqual(try left.epochs(runID: a.id).map { $0.trainLoss?.bitPattern }, try right.epochs(runID: b.id).map { $0.trainLoss?.bitPattern })
            XCTAssertEqual(try left.tensors(runID: a.id, epoch: 6).map(\.tensor), try right.tensors(runID: b.id, epoch: 6).map(\.tensor))
        }
        XCTAssertEqual(try left.sweep(id: 1).status, .completed)
    }

    /// Ctrl-C during the second of 6 trials: the message counts the 4 trials not sampled yet (besides
    /// the requeued run, when the signal came before its last epoch), and `runner resume` makes them.
    func testCtrlCSaysHowManyTrialsAreNotSampledYet() throws {
        let file = try spec("slow.yaml", dataset: "blobs:rows=3000:features=8:classes=3", epochs: 6, count: 6, startup: 2, batches: "4, 5")
        let db = directory.path("interrupted.db")
        let worker = try ChildProcess(runner, ["sweep", file, "--jobs", "1", "--db", db])
        stopDuringTrial(2, epochs: 1, db: db, worker: worker)
        kill(worker.pid, SIGINT)
        kill(worker.pid, SIGCONT)
        let result = worker.finish()
        XCTAssertEqual(result.status, 130, result.error)
        XCTAssertTrue(result.error.contains("4 of 6 trials not sampled yet; continue with: runner resume --sweep 1"), result.error)
        // Started with --jobs 1, not resume's default (the cores): the hint carries it, as it carries
        // --db, for resumed with more workers the sweep would sample other trials.
        if ProcessInfo.processInfo.activeProcessorCount > 1 {
            XCTAssertTrue(result.error.hasSuffix("4 of 6 trials not sampled yet; continue with: runner resume --sweep 1 --jobs 1 --db \(db)\n"), result.error)
        }
        let store = try SlopeStore(path: db, mode: .readOnly)
        XCTAssertEqual(try store.runs(sweepID: 1).count, 2)
        XCTAssertEqual(try store.sweep(id: 1).status, .interrupted)

        try run(["resume", "--sweep", "1", "--jobs", "1", "--db", db], expect: 0)
        XCTAssertEqual(try store.runs(sweepID: 1).map(\.status), Array(repeating: .completed, count: 6))
        XCTAssertEqual(try store.sweep(id: 1).status, .completed)
    }
}
