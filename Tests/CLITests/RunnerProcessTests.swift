// The built `runner` binary: help text, exit statuses, bad input leaving the database
// untouched, an end-to-end sweep, two workers sharing a sweep, and SIGKILL / Ctrl-C
// followed by `runner resume` giving the same bits as an uninterrupted sweep.
import Experiments
import Foundation
@testable import Store
import TestSupport
import XCTest

final class RunnerProcessTests: XCTestCase {
    private var directory: TemporaryDirectory!
    private let runner = builtExecutable("runner")
    private let report = builtExecutable("report")

    override func setUpWithError() throws { directory = try TemporaryDirectory(prefix: "slope-cli") }
    override func tearDown() { directory.remove() }

    @discardableResult
    private func run(_ arguments: [String], expect status: Int32, file: StaticString = #filePath, line: UInt = #line) throws
        -> (output: String, error: String)
    {
        let result = try ChildProcess.run(runner, arguments, currentDirectory: directory.url)
        XCTAssertEqual(result.status, status, "runner \(arguments.joined(separator: " ")): \(result.error)", file: file, line: line)
        XCTAssertFalse(result.error.contains("Backtrac") || result.error.contains("Fatal error"), result.error, file: file, line: line)
        return (result.output, result.error)
    }

    private func database(_ name: String) -> String { directory.path(name) }

    // A few seconds per sweep in a debug build.
    private let sweepFlags = ["--dataset", "blobs:rows=3000:features=8:classes=3", "--hidden", "16", "--epochs", "8",
                              "--batch-size", "4", "--momentum", "0.9", "--learning-rate", "0.01,0.05", "--seed", "0,1",
                              "--log-tensors", "3"]

    func testHelpAndVersion() throws {
        let (help, _) = try run(["--help"], expect: 0)
        for command in ["train", "sweep", "work", "resume", "compact", "datasets"] { XCTAssertTrue(help.contains(command), help) }
        let (trainHelp, _) = try run(["train", "--help"], expect: 0)
        for flag in ["--dataset", "--target", "--hidden", "--activation", "--output-activation", "--loss", "--learning-rate",
                     "--batch-size", "--epochs", "--momentum", "--seed", "--precision", "--validation", "--no-bias", "--init",
                     "--init-weights", "--early-stopping-patience", "--min-delta", "--log-tensors", "--name", "--db", "--quiet"] {
            XCTAssertTrue(trainHelp.contains(flag), "train --help lacks \(flag)")
        }
        let flatHelp = trainHelp.split(whereSeparator: \.isWhitespace).joined(separator: " ")  // help wraps lines
        XCTAssertTrue(flatHelp.contains("(values: relu, tanh, sigmoid, identity)"), "enum choices listed")
        XCTAssertTrue(flatHelp.contains("(values: mse, binary-cross-entropy, cross-entropy)"), "enum choices listed")
        let (sweepHelp, _) = try run(["sweep", "--help"], expect: 0)
        for flag in ["--jobs", "--queue-only", "spec.yaml"] { XCTAssertTrue(sweepHelp.contains(flag), "sweep --help lacks \(flag)") }
        let (resumeHelp, _) = try run(["resume", "--help"], expect: 0)
        for flag in ["--sweep", "--run", "--stale-after"] { XCTAssertTrue(resumeHelp.contains(flag)) }
        // docs/cli-runner.md documents every flag that --help shows.
        let docs = try String(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/cli-runner.md"), encoding: .utf8)
        for command in ["train", "sweep", "work", "resume", "compact", "datasets"] {
            XCTAssertTrue(docs.contains("## `runner \(command)"), "docs/cli-runner.md lacks a section for \(command)")
            let help = try run([command, "--help"], expect: 0).output
            // The option lines: "  --flag <value>   help" or "  -h, --help   help".
            let flags = Set(help.split(separator: "\n").compactMap { line -> Substring? in
                let words = line.split(separator: " ")
                guard line.hasPrefix("  "), let flag = words.first(where: { $0.hasPrefix("--") }),
                      words.first == flag || words.first?.hasSuffix(",") == true else { return nil }
                return flag
            })
            XCTAssertTrue(flags.contains("--help"), "\(flags)")
            for flag in flags { XCTAssertTrue(docs.contains("`\(flag)"), "docs/cli-runner.md lacks \(flag) (runner \(command))") }
        }
        XCTAssertEqual(try run(["--version"], expect: 0).output.trimmingCharacters(in: .whitespacesAndNewlines), "0.1.0")
        let (datasets, _) = try run(["datasets"], expect: 0)
        XCTAssertTrue(datasets.contains("digits   1797 x 64"), datasets)
    }

    func testBadInputExitsWithTwoAndLeavesNoDatabase() throws {
        let db = database("bad.db")
        let csv = directory.path("ragged.csv")
        try "a,b,c\n1,2,3\n4,5\n".write(toFile: csv, atomically: true, encoding: .utf8)
        let twoRows = directory.path("two-rows.csv")
        try "a,y\n1,0\n2,1\n".write(toFile: twoRows, atomically: true, encoding: .utf8)
        let spec = directory.path("bad.yaml")
        try "method: grid\nparameters: {learning_rate: {values: [0.1, -1]}}\n".write(toFile: spec, atomically: true, encoding: .utf8)
        let cases: [([String], String)] = [
            (["train", "--learning-rate=-1"], "--learning-rate: '-1' is not accepted; expected a number > 0"),
            (["train", "--batch-size", "0"], "--batch-size"),
            (["train", "--bogus"], "--bogus"),
            (["train", "--dataset", csv], "ragged.csv, line 3: 2 fields, expected 3"),
            (["train", "--dataset", "nosuch"], "unknown dataset 'nosuch'"),
            (["train", "--dataset", "xor", "--init-weights", directory.path("missing.json")], "missing.json: no such file"),
            (["sweep", spec], "bad.yaml: parameters.learning_rate.values[1]: '-1' is not accepted"),
            (["sweep", directory.path("nothere.yaml")], "nothere.yaml: no such file"),
            (["sweep", directory.path("")], "is a directory; give a sweep file (YAML)"),
            (["sweep", "--learning-rate", "0.1,0.2", "--dataset", twoRows], "2 rows are too few for a validation fraction of 0.2"),
            (["sweep", "--dataset", "xor", "--jobs", "0"], "--jobs: '0' is not accepted; expected a whole number from 1 to 256"),
            (["work", "--jobs", "100000"], "--jobs: '100000' is not accepted; expected a whole number from 1 to 256"),
            (["train", "--learning-rate", "-0.01"], "error: --learning-rate: '-0.01' is not accepted; expected a number > 0"),
            (["sweep", "--seed", "0,-1"], "error: --seed: '-1' is not accepted"),
            (["resume", "--stale-after", "1e10"], "error: --stale-after: '1e10' is not accepted; expected a number of seconds > 0 and at most 1e9 (about 31 years)"),
            (["train", "--dataset", "linear", "--loss", "cross-entropy"], "error: --loss: cross-entropy (with softmax) needs class labels"),
            (["train", "--hidden", "4611686018427387904"], "error: --hidden: "),
        ]
        for (arguments, message) in cases {
            let (_, error) = try run(arguments + ["--db", db], expect: 2)
            XCTAssertTrue(error.contains(message), "runner \(arguments): '\(error)' lacks '\(message)'")
            XCTAssertEqual(error.split(separator: "\n").count, 1, "one line: \(error)")
            XCTAssertTrue(error.hasPrefix("error: "), error)
            XCTAssertFalse(FileManager.default.fileExists(atPath: db), "runner \(arguments) created the database")
        }
    }

    func testBadInputLeavesAnExistingDatabaseUntouched() throws {
        let db = database("existing.db")
        try run(["sweep", "--dataset", "xor", "--validation", "0", "--epochs", "1", "--seed", "0,1", "--queue-only", "--db", db], expect: 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: db))
        try run(["sweep", "--dataset", "xor", "--validation", "0", "--seed", "0,1", "--hidden", "4,0", "--db", db], expect: 2)
        try run(["sweep", "--dataset", "xor", "--validation", "0.5", "--batch-size", "1,2", "--loss", "mse", "--output-activation", "softmax", "--db", db], expect: 2)
        let store = try SlopeStore(path: db, mode: .readOnly)
        XCTAssertEqual(try store.sweeps().count, 1)
        XCTAssertEqual(try store.runs(sweepID: nil).count, 2)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: db)), before)
        // Runtime errors exit with 1.
        try run(["work", "--db", database("none.db")], expect: 1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: database("none.db")))
        // `compact` of a missing database is not told to queue runs there.
        XCTAssertEqual(try run(["compact", "--sweep", "1", "--keep-every", "2", "--db", database("none.db")], expect: 1).error,
                       "error: no database at \(database("none.db")): give --db PATH, the database holding the sweep to compact\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: database("none.db")))
        // An empty file is no database either: `resume` and `work` say so and leave it empty.
        XCTAssertTrue(FileManager.default.createFile(atPath: database("empty.db"), contents: Data()))
        XCTAssertTrue(try run(["resume", "--run", "5", "--db", database("empty.db")], expect: 1).error.contains("no database at"))
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: database("empty.db"))[.size] as? Int, 0)
        // Nor through links: one to nothing, one to the empty file.
        try FileManager.default.createSymbolicLink(atPath: database("dangling.db"), withDestinationPath: database("nowhere.db"))
        try FileManager.default.createSymbolicLink(atPath: database("to-empty.db"), withDestinationPath: database("empty.db"))
        try run(["work", "--db", database("dangling.db")], expect: 1)
        try run(["resume", "--db", database("to-empty.db")], expect: 1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: database("nowhere.db")))
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: database("empty.db"))[.size] as? Int, 0)
        try run(["resume", "--run", "99", "--db", db], expect: 1)
        try run(["work", "--sweep", "42", "--db", db], expect: 1)
    }

    /// Runs that fail (here: their stored configuration edited by hand to a validation fraction no
    /// run takes; a CSV changed since queueing no longer fails them, it puts them back in the queue)
    /// are named with the first error, and the worker exits with 1.
    func testFailedRunsAreNamedWithTheirError() throws {
        let db = database("failing.db"), csv = directory.path("data.csv")
        try "x,y\n1,0\n2,1\n3,0\n4,1\n5,0\n6,1\n".write(toFile: csv, atomically: true, encoding: .utf8)
        try run(["sweep", "--dataset", csv, "--hidden", "2", "--epochs", "1", "--seed", "0,1", "--validation", "0", "--queue-only", "--db", db], expect: 0)
        let store = try SlopeStore(path: db)
        _ = try store.backend.write { try $0.execute("UPDATE runs SET config = json_set(config, '$.data.validationFraction', 1.5)", []) }
        try store.close()
        let (_, error) = try run(["work", "--quiet", "--db", db], expect: 1)
        XCTAssertTrue(error.hasPrefix("error: 2 runs did not finish (1, 2); run 1 failed: "), error)
        XCTAssertTrue(error.contains("data.validationFraction: '1.5' is not accepted"), error)
        // report is not on PATH here: the hint names it by its path, next to the runner that ran.
        XCTAssertTrue(error.hasSuffix("(see `\(builtExecutable("report").path) show 1 --db \(db)`)\n"), error)
        XCTAssertEqual(error.split(separator: "\n").count, 1, error)
        XCTAssertEqual(try SlopeStore(path: db, mode: .readOnly).sweep(id: 1).status, .failed, "every run failed")
    }

    /// `runner work` without --sweep, on runs of one sweep, sums up that sweep by its own metric.
    func testWorkWithoutSweepRanksBySweepMetric() throws {
        let db = database("metric.db"), spec = directory.path("metric.yaml")
        try "metric: {name: train_loss, goal: maximize}\nfixed: {dataset: xor, epochs: 2, validation: 0}\nparameters: {seed: {values: [0, 1]}}\n"
            .write(toFile: spec, atomically: true, encoding: .utf8)
        try run(["sweep", spec, "--queue-only", "--quiet", "--db", db], expect: 0)
        let (output, _) = try run(["work", "--db", db], expect: 0)
        XCTAssertTrue(output.contains("(highest final train_loss)"), output)
        XCTAssertTrue(output.contains("report compare --sweep 1"), output)
        // report ranks the sweep by the same metric unless told otherwise.
        let best = try ReportProcess.run("report", ["best", "--sweep", "1", "--format", "csv", "--db", db])
        XCTAssertEqual(best.status, 0, best.error)
        let bestRun = output.split(separator: "\n").first { $0.hasPrefix("* best run: ") }?.split(separator: " ")[3]
        XCTAssertEqual(best.output.split(separator: "\n").dropFirst().first?.split(separator: ",").first, bestRun, best.output)
        let grid = try ReportProcess.run("report", ["grid", "--sweep", "1", "--rows", "seed", "--cols", "batch_size", "--db", db])
        XCTAssertTrue(grid.output.hasPrefix("final_train_loss of sweep 1") && grid.output.contains("* best (max)"), grid.output)
    }

    func testEndToEndSweepWithPlainOutputAndQuiet() throws {
        let db = database("sweep.db")
        let (output, _) = try run(["sweep", "--dataset", "moons:rows=80", "--hidden", "6", "--epochs", "3", "--learning-rate", "0.05,0.5",
                                   "--batch-size", "8,80", "--name", "tiny", "--jobs", "2", "--db", db], expect: 0)
        let lines = output.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.filter { $0.hasPrefix("run ") && $0.contains(" completed ") }.count, 4, output)
        XCTAssertFalse(output.contains("\u{1B}["), "no escape codes when not a terminal")
        XCTAssertTrue(lines.contains { $0.hasPrefix("* best run: ") }, output)
        XCTAssertTrue(output.contains("report grid --sweep 1 --rows learning_rate --cols batch_size"), output)
        let store = try SlopeStore(path: db, mode: .readOnly)
        let sweep = try store.sweep(id: 1)
        XCTAssertEqual(sweep.name, "tiny")
        XCTAssertEqual(sweep.status, .completed)
        let runs = try store.runs(sweepID: 1)
        XCTAssertEqual(runs.map(\.status), [.completed, .completed, .completed, .completed])
        XCTAssertEqual(runs.map(\.settings.learningRate), [0.05, 0.05, 0.5, 0.5])
        XCTAssertEqual(runs.map(\.settings.batchSize), [8, 80, 8, 80])
        for run in runs {
            XCTAssertEqual(try store.epochs(runID: run.id).map(\.epoch), [0, 1, 2, 3])
            XCTAssertEqual(Set(try store.tensors(runID: run.id).map(\.epoch)), [0, 1, 2, 3])
            XCTAssertNotNil(run.worker)
        }
        let (quiet, quietErrors) = try run(["train", "--dataset", "moons:rows=80", "--epochs", "1", "--quiet", "--db", db], expect: 0)
        XCTAssertEqual(quiet, "")
        XCTAssertEqual(quietErrors, "")
        XCTAssertEqual(try store.run(id: 5).status, .completed)
        XCTAssertNil(try store.run(id: 5).sweepID)
    }

    func testTwoWorkersShareOneSweep() throws {
        let db = database("shared.db")
        try run(["sweep", "--dataset", "moons:rows=120", "--hidden", "8", "--epochs", "4", "--batch-size", "4",
                 "--learning-rate", "0.01,0.05,0.1", "--seed", "0,1,2", "--queue-only", "--db", db], expect: 0)
        let workers = try (0..<2).map { _ in try ChildProcess(runner, ["work", "--sweep", "1", "--jobs", "1", "--db", db]) }
        let results = workers.map { $0.finish() }
        XCTAssertEqual(results.map(\.status), [0, 0], results.map(\.error).joined())
        // Each run finished once, by exactly one of the two processes.
        let finishedLines = results.flatMap { $0.output.split(separator: "\n") }.filter { $0.hasPrefix("run ") && $0.contains(" completed ") }
        let finishedIDs = finishedLines.compactMap { Int64($0.split(separator: " ")[1]) }
        XCTAssertEqual(finishedIDs.sorted(), Array(1...9))
        let store = try SlopeStore(path: db, mode: .readOnly)
        let runs = try store.runs(sweepID: 1)
        XCTAssertTrue(runs.allSatisfy { $0.status == .completed && $0.epochsDone == 4 })
        XCTAssertTrue(Set(runs.compactMap(\.pid)).isSubset(of: Set(workers.map(\.pid))))
        for run in runs { XCTAssertEqual(try store.epochs(runID: run.id).map(\.epoch), [0, 1, 2, 3, 4]) }
        XCTAssertEqual(try store.sweep(id: 1).status, .completed)
    }

    /// Waits until some run of sweep 1 has stored `epochs` epochs while another is still queued.
    private func waitUntilMidSweep(_ db: String, epochs: Int, process: ChildProcess) throws {
        let deadline = Date().addingTimeInterval(300)  // a safety net, not a timing assertion
        while Date() < deadline {
            if process.process.isRunning == false { return XCTFail("the sweep ended before it could be interrupted") }
            if FileManager.default.fileExists(atPath: db), let store = try? SlopeStore(path: db, mode: .readOnly),
               let runs = try? store.runs(sweepID: 1),
               let running = runs.first(where: { $0.status == .running && $0.epochsDone >= epochs }), runs.contains(where: { $0.status == .queued }),
               // Its epoch `epochs` stored: the run trains (a signal while its data is read requeues it before any epoch).
               (try? store.epochs(runID: running.id).last?.epoch).flatMap({ $0 }).map({ $0 >= epochs }) == true {
                return
            }
            usleep(10_000)
        }
        XCTFail("the sweep never reached the point to interrupt it")
    }

    /// Final-epoch tensors and every loss of each run in both databases are bit-identical.
    private func assertSameBits(_ lhs: String, _ rhs: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let left = try SlopeStore(path: lhs, mode: .readOnly), right = try SlopeStore(path: rhs, mode: .readOnly)
        let leftRuns = try left.runs(sweepID: 1), rightRuns = try right.runs(sweepID: 1)
        XCTAssertEqual(leftRuns.map(\.status), rightRuns.map(\.status), file: file, line: line)
        XCTAssertEqual(leftRuns.count, 4, file: file, line: line)
        for (a, b) in zip(leftRuns, rightRuns) {
            XCTAssertEqual(a.status, .completed, file: file, line: line)
            XCTAssertEqual(try left.epochs(runID: a.id).map { $0.trainLoss?.bitPattern }, try right.epochs(runID: b.id).map { $0.trainLoss?.bitPattern },
                           "losses of run \(a.id)", file: file, line: line)
            let leftTensors = try left.tensors(runID: a.id, epoch: 8), rightTensors = try right.tensors(runID: b.id, epoch: 8)
            XCTAssertEqual(leftTensors.count, 12, "weight, bias, their gradients and velocities, 2 layers", file: file, line: line)
            XCTAssertEqual(leftTensors.map(\.tensor), rightTensors.map(\.tensor), "final tensors of run \(a.id)", file: file, line: line)
        }
    }

    /// The database deleted while a sweep trains (`rm slope.db*` to start afresh, a worker
    /// forgotten in another terminal): every epoch went into the unlinked file and the sweep ended
    /// "completed", exit 0, suggesting reports on a file that was gone. Now the next epoch write
    /// stops each worker: one line, exit 1, no summary, and no new file made at the path.
    func testADatabaseDeletedDuringASweepStopsItWithOneLine() throws {
        let db = database("deleted.db")
        let worker = try ChildProcess(runner, ["sweep", "--dataset", "moons:rows=120", "--hidden", "8", "--epochs", "10000", "--batch-size", "4",
                                               "--learning-rate", "0.01,0.05,0.1", "--jobs", "2", "--db", db])
        try waitUntilMidSweep(db, epochs: 2, process: worker)
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: db + suffix) }
        let result = worker.finish()
        XCTAssertEqual(result.status, 1, result.error)
        XCTAssertEqual(result.error.split(separator: "\n").last.map(String.init),
                       "error: \(db) was deleted while this process was writing to it (`rm`, or another program): what it wrote since went into the "
                       + "deleted file and is lost. Nothing more is written; start again on a new file (or restore the database from a backup).")
        XCTAssertFalse(result.output.contains("best run") || result.output.contains("Look further"), result.output)
        XCTAssertFalse(result.output.contains("requeued"), result.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: db))
    }

    /// big.yaml: a random search of 100,000 one-epoch xor runs, long enough to check and to write
    /// that a signal lands while it is queued.
    private func writeHundredThousandRunSweep() throws {
        try """
            method: random
            count: 100000
            fixed: {dataset: xor, hidden: [4], epochs: 1, validation: 0}
            parameters:
              learning_rate: {distribution: log_uniform, min: 0.001, max: 1}
            """.write(toFile: database("big.yaml"), atomically: true, encoding: .utf8)
    }

    /// Ctrl-C (or SIGTERM) while a 100,000-run sweep was checked or written ended the process with
    /// 130 and no word (F16). Now one line says nothing was queued, and nothing is: no database
    /// made while the runs are checked, no sweep or run stored when the write was begun (it is
    /// undone whole). The same handlers then stop training after the epoch
    /// (testCtrlCRequeuesThenResumeIsBitIdentical: a second set made for training was never called).
    func testCtrlCWhileQueueingSaysNothingWasQueued() throws {
        try writeHundredThousandRunSweep()
        let cases: [(phase: String, signal: Int32, status: Int32, queueOnly: Bool)] = [
            ("checked ", SIGINT, 130, true), ("writing 100000 runs", SIGINT, 130, true), ("writing 100000 runs", SIGTERM, 143, false)]
        for (index, test) in cases.enumerated() {
            let db = database("queue-\(index).db")
            let queueing = try ChildProcess(runner, ["sweep", database("big.yaml"), "--db", db] + (test.queueOnly ? ["--queue-only"] : []))
            let deadline = Date().addingTimeInterval(300)  // a safety net, not a timing assertion
            while !queueing.errorSoFar.contains("queueing the sweep: " + test.phase) && queueing.process.isRunning && Date() < deadline { usleep(10_000) }
            XCTAssertTrue(queueing.errorSoFar.contains("queueing the sweep: " + test.phase), "case \(index): \(queueing.errorSoFar)")
            kill(queueing.pid, test.signal)
            let result = queueing.finish()
            XCTAssertEqual(result.status, test.status, "case \(index): \(result.error)")
            XCTAssertEqual(result.error.split(separator: "\n").last.map(String.init),
                           (test.signal == SIGTERM ? "terminated (SIGTERM)" : "interrupted")
                           + ": nothing was queued (a sweep is written in one transaction, all or nothing); run the command again to queue it")
            if test.phase != "checked " {  // said at the signal, before the write has noticed it
                XCTAssertEqual(result.error.split(separator: "\n").dropLast().last.map(String.init),
                               (test.signal == SIGTERM ? "terminated (SIGTERM): " : "") + "stopping the sweep's write, which is undone unless it has just "
                               + "finished (\(test.signal == SIGTERM ? "SIGTERM or " : "")Ctrl-C again to quit at once)...", "case \(index)")
            }
            XCTAssertFalse(result.output.contains("sweep 1 ("), "case \(index): nothing said queued: \(result.output)")
            if test.phase == "checked " {
                XCTAssertFalse(FileManager.default.fileExists(atPath: db), "case \(index): the database is made after the runs are checked")
                continue
            }
            let store = try SlopeStore(path: db, mode: .readOnly)
            XCTAssertEqual(try store.sweeps().count, 0, "case \(index)")
            XCTAssertEqual(try store.read { c in try c.value("SELECT count(*) FROM runs", [], as: Int64.self) }, 0, "case \(index)")
            try store.close()
        }
    }

    /// A second request while the sweep is written (here SIGTERM, then Ctrl-C as soon as it is said) ends the
    /// process straight away, and still says that nothing was queued (before, it ended with no
    /// line): whichever of the write (stopping at its next run) and the second signal ends the
    /// process writes that one line, naming the first signal; nothing is stored.
    func testASecondSignalWhileTheSweepIsWrittenSaysNothingWasQueued() throws {
        try writeHundredThousandRunSweep()
        let db = database("twice.db")
        let queueing = try ChildProcess(runner, ["sweep", database("big.yaml"), "--db", db, "--queue-only"])
        let deadline = Date().addingTimeInterval(300)  // a safety net, not a timing assertion
        while !queueing.errorSoFar.contains("queueing the sweep: writing 100000 runs") && queueing.process.isRunning && Date() < deadline { usleep(10_000) }
        XCTAssertTrue(queueing.errorSoFar.contains("queueing the sweep: writing 100000 runs"), queueing.errorSoFar)
        kill(queueing.pid, SIGTERM)
        // Ctrl-C once SIGTERM was taken (two signals pending at once are delivered lowest first):
        // the write may meanwhile have stopped by itself, and the line must be the same.
        while !queueing.errorSoFar.contains("terminated (SIGTERM): stopping the sweep's write") && queueing.process.isRunning && Date() < deadline { usleep(500) }
        kill(queueing.pid, SIGINT)
        let result = queueing.finish()
        XCTAssertTrue([128 + SIGTERM, 128 + SIGINT].contains(result.status), "\(result.status): \(result.error)")
        let line = "terminated (SIGTERM): nothing was queued (a sweep is written in one transaction, all or nothing); run the command again to queue it"
        XCTAssertEqual(result.error.split(separator: "\n").last.map(String.init), line, result.error)
        XCTAssertEqual(result.error.components(separatedBy: line).count, 2, "said once: \(result.error)")
        let store = try SlopeStore(path: db, mode: .readOnly)
        XCTAssertEqual(try store.sweeps().count, 0)
        XCTAssertEqual(try store.read { c in try c.value("SELECT count(*) FROM runs", [], as: Int64.self) }, 0)
        try store.close()
    }

    func testSIGKILLMidSweepThenResumeIsBitIdentical() throws {
        let reference = database("reference.db")
        try run(["sweep"] + sweepFlags + ["--jobs", "1", "--db", reference], expect: 0)

        let db = database("killed.db")
        let worker = try ChildProcess(runner, ["sweep"] + sweepFlags + ["--jobs", "1", "--db", db])
        try waitUntilMidSweep(db, epochs: 4, process: worker)
        kill(worker.pid, SIGKILL)
        XCTAssertEqual(worker.finish().status, 128 + SIGKILL)
        let killed = try SlopeStore(path: db, mode: .readOnly)
        XCTAssertEqual(try killed.runs(sweepID: 1).filter { $0.status == .running }.count, 1, "the killed run is left running")

        let (output, _) = try run(["resume", "--sweep", "1", "--jobs", "1", "--db", db], expect: 0)
        XCTAssertTrue(output.contains("* best run"), output)
        try assertSameBits(db, reference)
    }

    func testCtrlCRequeuesThenResumeIsBitIdentical() throws {
        let reference = database("reference.db")
        try run(["sweep"] + sweepFlags + ["--jobs", "1", "--db", reference], expect: 0)

        let db = database("interrupted.db")
        let worker = try ChildProcess(runner, ["sweep"] + sweepFlags + ["--jobs", "1", "--db", db])
        try waitUntilMidSweep(db, epochs: 2, process: worker)
        kill(worker.pid, SIGINT)
        let result = worker.finish()
        XCTAssertEqual(result.status, 130, result.error)
        XCTAssertTrue(result.error.contains("runner resume --sweep 1"), result.error)
        let interrupted = try SlopeStore(path: db, mode: .readOnly)
        let runs = try interrupted.runs(sweepID: 1)
        XCTAssertEqual(runs.filter { $0.status == .running }.count, 0)
        XCTAssertEqual(runs.filter { $0.stopReason?.hasPrefix("interrupted at epoch") ?? false }.count, 1, "\(runs.map(\.stopReason))")
        XCTAssertEqual(try interrupted.sweep(id: 1).status, .interrupted)

        try run(["resume", "--sweep", "1", "--db", db], expect: 0)
        try assertSameBits(db, reference)
        XCTAssertEqual(try interrupted.sweep(id: 1).status, .completed)
    }

    /// Two Ctrl-Cs sent together are one request (the kernel may merge them; else the second comes
    /// within half a second of the first): the run finishes its epoch and is requeued.
    func testTwoCtrlCsAtOnceAreOneAndResumeStillMatches() throws {
        let reference = database("reference.db")
        try run(["sweep"] + sweepFlags + ["--jobs", "1", "--db", reference], expect: 0)

        let db = database("twice.db")
        let worker = try ChildProcess(runner, ["sweep"] + sweepFlags + ["--jobs", "1", "--db", db])
        try waitUntilMidSweep(db, epochs: 2, process: worker)
        kill(worker.pid, SIGINT)
        kill(worker.pid, SIGINT)
        let result = worker.finish()
        XCTAssertEqual(result.status, 130, result.error)
        XCTAssertTrue(result.error.contains("interrupted: runs requeued"), result.error)
        let store = try SlopeStore(path: db, mode: .readOnly)
        XCTAssertTrue(try store.runs(sweepID: 1).contains { !$0.status.isFinished })
        XCTAssertEqual(try store.runs(sweepID: 1).filter { $0.status == .running }.count, 0)
        try run(["resume", "--sweep", "1", "--db", db], expect: 0)
        try assertSameBits(db, reference)
    }

    /// SIGTERM (systemd, docker stop, Kubernetes, scancel) acts as the first Ctrl-C: the epoch in
    /// progress and those written behind are stored, the run is requeued, the sweep marked
    /// interrupted, exit 143 with one line saying so; on `runner sweep` and on `runner resume`.
    func testSIGTERMRequeuesAsCtrlCDoesThenResumeIsBitIdentical() throws {
        let reference = database("reference.db")
        try run(["sweep"] + sweepFlags + ["--jobs", "1", "--db", reference], expect: 0)

        let db = database("terminated.db")
        var stoppedAt = 0
        for (round, command) in [["sweep"] + sweepFlags, ["resume", "--sweep", "1"]].enumerated() {
            let worker = try ChildProcess(runner, command + ["--jobs", "1", "--db", db])
            try waitUntilMidSweep(db, epochs: stoppedAt + 1, process: worker)
            kill(worker.pid, SIGTERM)
            let result = worker.finish()
            XCTAssertEqual(result.status, 143, "round \(round): \(result.error)")
            XCTAssertTrue(result.error.contains("terminated (SIGTERM): runs requeued; continue with: runner resume --sweep 1"), result.error)
            XCTAssertFalse(result.error.contains("Fatal error"), result.error)
            let store = try SlopeStore(path: db, mode: .readOnly)
            let runs = try store.runs(sweepID: 1)
            XCTAssertEqual(runs.filter { $0.status == .running }.count, 0, "round \(round)")
            let requeued = try XCTUnwrap(runs.first { $0.status == .queued && $0.stopReason?.hasPrefix("interrupted at epoch") == true },
                                         "round \(round): \(runs.map(\.stopReason))")
            stoppedAt = try XCTUnwrap(Int(requeued.stopReason!.dropFirst("interrupted at epoch ".count)))
            // Every epoch up to the one it stopped at was written (none lost behind the writer).
            XCTAssertEqual(try store.epochs(runID: requeued.id).map(\.epoch), Array(0...stoppedAt), "round \(round)")
            XCTAssertEqual(try store.sweep(id: 1).status, .interrupted)
            try store.close()
        }
        try run(["resume", "--sweep", "1", "--db", db], expect: 0)
        try assertSameBits(db, reference)
    }

    /// A second signal after the first ends the process at once: the other signal at once, the
    /// same one (SIGTERM, or a second Ctrl-C) half a second or more after the first.
    func testSecondSignalExitsAtOnce() throws {
        let db = database("twice.db")
        // Epochs of 1,000,000 steps through 128 hidden units (tens of seconds in a debug build), so
        // that the second signal, even a second after the first, comes while the first waits for
        // the epoch begun just before it (the process ends at the second: the length costs nothing).
        let slow = ["--dataset", "blobs:rows=1000000:features=8:classes=3", "--hidden", "128", "--epochs", "2", "--batch-size", "1",
                    "--seed", "0,1", "--log-tensors", "final"]
        for (first, second, status) in [(SIGTERM, SIGTERM, Int32(143)), (SIGTERM, SIGINT, 130), (SIGINT, SIGINT, 130)] {
            try? FileManager.default.removeItem(atPath: db)
            let worker = try ChildProcess(runner, ["sweep"] + slow + ["--jobs", "1", "--db", db])
            try waitUntilMidSweep(db, epochs: 0, process: worker)
            kill(worker.pid, first)
            // Two signals pending at once are one to the kernel: the second goes once the first was taken.
            for _ in 0..<30_000 where !worker.errorSoFar.contains("stopping after the current epoch") { usleep(10_000) }
            // The same signal within half a second of the first would be that one delivered twice.
            if second == first { usleep(useconds_t(StopSignal.repeatSeconds * 1_000_000) + 100_000) }
            kill(worker.pid, second)
            let result = worker.finish()
            XCTAssertEqual(result.status, status, result.error)
            XCTAssertFalse(result.error.contains("runs requeued"), result.error)
            let store = try SlopeStore(path: db, mode: .readOnly)
            // Not requeued: the process ended before its epoch did (`runner resume` takes the run over).
            XCTAssertEqual(try store.runs(sweepID: 1).filter { $0.status == .running }.count, 1)
            try store.close()
        }
    }

    /// GNU `timeout` signals the runner and then its whole process group: the same signal twice
    /// within half a second is one request. The runs finish their epoch and are requeued (none left
    /// `running`), with SIGTERM and with SIGINT (`timeout -s INT`).
    func testTheSameSignalToTheProcessAndItsGroupIsOneRequest() throws {
        let db = database("timeout.db")
        // Epochs of 100,000 steps (about 0.5 s in a debug build): the second signal comes while
        // the first waits for its epoch.
        let slow = ["--dataset", "blobs:rows=100000:features=8:classes=3", "--hidden", "64", "--epochs", "2", "--batch-size", "1",
                    "--seed", "0,1", "--log-tensors", "final"]
        for (signal, status) in [(SIGTERM, Int32(143)), (SIGINT, 130)] {
            try? FileManager.default.removeItem(atPath: db)
            // Foundation starts the runner in a process group of its own, as `timeout` does.
            let worker = try ChildProcess(runner, ["sweep"] + slow + ["--jobs", "1", "--db", db])
            defer { if worker.process.isRunning { kill(worker.pid, SIGKILL) } }
            try waitUntilMidSweep(db, epochs: 0, process: worker)
            XCTAssertEqual(getpgid(worker.pid), worker.pid, "the runner leads its own process group")
            kill(worker.pid, signal)
            // Two signals pending at once are one to the kernel: the group's goes once the first was taken.
            for _ in 0..<300_000 where worker.process.isRunning && !worker.errorSoFar.contains("stopping after the current epoch") { usleep(1_000) }
            kill(-worker.pid, signal)
            let result = worker.finish()
            XCTAssertEqual(result.status, status, result.error)
            XCTAssertTrue(result.error.contains("runs requeued; continue with: runner resume --sweep 1"), result.error)
            let store = try SlopeStore(path: db, mode: .readOnly)
            let runs = try store.runs(sweepID: 1)
            XCTAssertEqual(runs.filter { $0.status == .running }.count, 0, "signal \(signal): \(runs.map(\.status))")
            XCTAssertEqual(runs.filter { $0.stopReason?.hasPrefix("interrupted at epoch") == true }.count, 1, "\(runs.map(\.stopReason))")
            try store.close()
        }
    }

    /// `runner sweep ... | head -1`: the reader going away drops the output, not the training.
    /// Every run completes, the runner says so once on stderr and exits 0; `runner datasets` with
    /// nobody reading ends quietly as SIGPIPE does.
    func testAReaderThatWentAwayDropsTheOutputAndTrainingGoesOn() throws {
        let db = database("piped.db")
        let process = Process()
        process.executableURL = runner
        process.arguments = ["sweep"] + sweepFlags + ["--jobs", "1", "--db", db]
        let output = Pipe(), error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        // As `head -1` does: one line, then the reader goes away.
        var firstLine = Data()
        while !firstLine.contains(UInt8(ascii: "\n")) {
            let byte = output.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty { break }
            firstLine.append(byte)
        }
        try output.fileHandleForReading.close()
        let message = String(decoding: error.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertFalse(firstLine.isEmpty)
        XCTAssertEqual(process.terminationReason, .exit, message)
        XCTAssertEqual(process.terminationStatus, 0, message)
        XCTAssertEqual(message, "standard output was closed (its reader went away): the runner goes on without it "
                       + "(Ctrl-C stops training after the current epoch)\n")
        let store = try SlopeStore(path: db, mode: .readOnly)
        XCTAssertEqual(try store.runs(sweepID: 1).map(\.status), Array(repeating: .completed, count: 4))
        XCTAssertEqual(try store.runs(sweepID: 1).map { try store.epochs(runID: $0.id).count }, Array(repeating: 9, count: 4))

        // Through `-` or through a path that is the pipe (`--out /dev/stdout | head`): quietly.
        for out in ["-", "/dev/stdout"] {
            let datasets = try ChildProcess.runWithoutReader(runner, ["datasets", "--csv", "digits", "--out", out])
            XCTAssertEqual(datasets.reason, .uncaughtSignal, out)
            XCTAssertEqual(datasets.status, SIGPIPE, out)
            XCTAssertEqual(datasets.error, "", out)
        }
    }

    func testTrainOnACSVFileRecordsItsSHA256AndConfiguration() throws {
        let csv = directory.path("houses.csv")
        let rows = (0..<40).map { row in "\(row % 7),\(Double(row) * 0.5),\(Double(row) * 1.5 + 2)" }
        let contents = "rooms,area,price\n" + rows.joined(separator: "\n") + "\n"
        try contents.write(toFile: csv, atomically: true, encoding: .utf8)
        let db = database("csv.db")
        let (output, _) = try run(["train", "--dataset", csv, "--target", "price", "--standardize", "--hidden", "4",
                                   "--epochs", "2", "--name", "houses", "--db", db], expect: 0)
        XCTAssertTrue(output.contains("completed"), output)
        let store = try SlopeStore(path: db, mode: .readOnly)
        let run = try store.run(id: 1)
        XCTAssertEqual(run.settings.name, "houses")
        XCTAssertEqual(run.settings.layers, "2-4-1")
        XCTAssertEqual(run.settings.loss, "mse")
        XCTAssertEqual(run.settings.outputActivation, "identity")
        XCTAssertEqual(run.settings.dataset, csv)
        // sha256sum of the file, computed independently.
        let sha256sum = FileManager.default.isExecutableFile(atPath: "/usr/bin/sha256sum")
            ? (URL(fileURLWithPath: "/usr/bin/sha256sum"), [csv]) : (URL(fileURLWithPath: "/usr/bin/shasum"), ["-a", "256", csv])
        let sha = try ChildProcess.run(sha256sum.0, sha256sum.1).output.split(separator: " ").first.map(String.init)
        XCTAssertEqual(run.settings.datasetSHA256, sha)
        let config = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(run.settings.configJSON.utf8)) as? [String: Any])
        let data = try XCTUnwrap(config["data"] as? [String: Any])
        XCTAssertEqual(data["target"] as? String, "price")
        XCTAssertEqual(data["standardize"] as? Bool, true)
        XCTAssertEqual(data["sha256"] as? String, sha)
        XCTAssertEqual(data["validationFraction"] as? Double, 0.2)
        XCTAssertEqual((config["training"] as? [String: Any])?["layerSizes"] as? [Int], [2, 4, 1])
    }

    func testLiveProgressOnATerminal() throws {
        // `script` runs the command on a pseudo-terminal, so runner sees a terminal on stdout.
        let script = URL(fileURLWithPath: "/usr/bin/script")
        #if !os(Linux)
        throw XCTSkip("uses util-linux script (Linux) for a pseudo-terminal")
        #endif
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: script.path), "needs util-linux script for a pseudo-terminal")
        let db = database("live.db")
        let command = "\(runner.path) sweep --dataset blobs:rows=2000:features=8 --hidden 8 --epochs 4 --batch-size 4 --seed 0,1 --jobs 1 --db \(db)"
        // TERM given: the live display needs a terminal that moves the cursor (the tests may run without TERM).
        let result = try ChildProcess.run(script, ["-qec", command, "/dev/null"], environment: ["COLUMNS": "120", "LINES": "40", "TERM": "xterm"])
        XCTAssertEqual(result.status, 0, result.output + result.error)
        XCTAssertTrue(result.output.contains("\u{1B}[") && result.output.contains("\u{1B}[J"), "redraws with escape codes")
        XCTAssertTrue(result.output.contains("runs done"), "the overall bar")
        XCTAssertTrue(result.output.contains("epoch 0/4") || result.output.contains("epoch 1/4"), "a live line per run")
        XCTAssertTrue(result.output.contains("* best run: "), "the summary at the end")
    }

    /// hostile15 F17: on a terminal whose TERM is dumb (Emacs' M-x shell) or unset, no cursor
    /// escape: the plain lines of a pipe, one per finished run; `report export`'s progress line
    /// (`\r\e[K`) likewise.
    func testADumbTerminalGetsThePlainOutput() throws {
        let script = URL(fileURLWithPath: "/usr/bin/script")
        #if !os(Linux)
        throw XCTSkip("uses util-linux script (Linux) for a pseudo-terminal")
        #endif
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: script.path), "needs util-linux script for a pseudo-terminal")
        let db = database("dumb.db")
        for (index, term) in ["dumb", ""].enumerated() {
            let command = "\(term.isEmpty ? "unset TERM; " : "TERM=\(term) ")\(runner.path) sweep --dataset xor --hidden 2 --epochs 3 "
                + "--seed \(2 * index),\(2 * index + 1) --jobs 1 --db \(db)"
            let result = try ChildProcess.run(script, ["-qec", command, "/dev/null"], environment: ["COLUMNS": "120", "TERM": "xterm"])
            XCTAssertEqual(result.status, 0, result.output + result.error)
            XCTAssertFalse(result.output.contains("\u{1B}"), "TERM '\(term)': \(result.output.debugDescription)")
            let lines = result.output.replacingOccurrences(of: "\r", with: "").split(separator: "\n")  // the pty writes CRLF
            let runs = lines.filter { $0.hasPrefix("run ") && $0.contains("completed  epoch 3/3") }
            XCTAssertEqual(runs.count, 2, result.output)
            XCTAssertTrue(runs.last?.hasSuffix("[2/2]") ?? false, result.output)
        }
        // report export: its progress line on a terminal, none on a dumb one.
        let export = "\(report.path) export --what epochs --db \(db) > /dev/null"
        let live = try ChildProcess.run(script, ["-qec", export, "/dev/null"], environment: ["TERM": "xterm"])
        XCTAssertEqual(live.status, 0, live.output + live.error)
        XCTAssertTrue(live.output.contains("\r\u{1B}[Kreport: exporting epochs: "), live.output.debugDescription)
        let dumb = try ChildProcess.run(script, ["-qec", "TERM=dumb " + export, "/dev/null"], environment: ["TERM": "xterm"])
        XCTAssertEqual(dumb.status, 0, dumb.output + dumb.error)
        XCTAssertEqual(dumb.output, "")
    }
}
