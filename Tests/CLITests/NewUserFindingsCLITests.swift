// What a new user met first (session 13's new-user report): a worker started without its data
// file, and the words ML users type for options.
import Foundation
import Store
import TestSupport
import XCTest

final class NewUserFindingsCLITests: CLITestCase {
    /// A worker that trained runs of two sweeps (on two datasets) ranked them in one table and named
    /// one best run across both (newuser16 N9): one summary per sweep now, each with its own best.
    func testAWorkerOfTwoSweepsSumsUpEachSweepOnItsOwn() throws {
        try run("runner", ["sweep", "--dataset", "xor", "--hidden", "2", "--learning-rate", "0.1,0.3", "--epochs", "2", "--validation", "0", "--queue-only", "--quiet"])
        try run("runner", ["sweep", "--dataset", "moons:rows=40", "--hidden", "2", "--learning-rate", "0.05,0.5", "--epochs", "2", "--validation", "0", "--queue-only", "--quiet"])
        let output = try run("runner", ["work", "--jobs", "1"]).output
        let first = try XCTUnwrap(output.range(of: "sweep 1:\n")), second = try XCTUnwrap(output.range(of: "\nsweep 2:\n"))
        XCTAssertLessThan(first.lowerBound, second.lowerBound)
        let (one, two) = (String(output[first.upperBound..<second.lowerBound]), String(output[second.upperBound...]))
        XCTAssertEqual(one.components(separatedBy: "* best run:").count, 2, one)
        XCTAssertEqual(two.components(separatedBy: "* best run:").count, 2, two)
        // Each table holds its own sweep's runs only: 1 and 2, then 3 and 4.
        func tableRuns(_ text: String) -> [String] {
            text.split(separator: "\n").filter { $0.contains("completed") }.map { String($0.dropFirst(2).prefix { $0 != " " }) }.sorted()
        }
        XCTAssertEqual(tableRuns(one), ["1", "2"], one)
        XCTAssertEqual(tableRuns(two), ["3", "4"], two)
        XCTAssertTrue(one.contains("report compare --sweep 1") && two.contains("report compare --sweep 2"), output)
    }

    /// A data file missing when `runner work` claims the runs: the worker stops with one line (exit
    /// 1) saying which file and how to fix it, the runs stay queued (before: `failed` for good), and
    /// a worker started once the file is back trains them.
    func testAMissingDataFileStopsTheWorkerAndTheRunsWaitForIt() throws {
        try write("data.csv", "a,b,label\n" + (0..<40).map { "\(Double($0) / 40),\(Double(($0 * 7) % 40) / 40),\($0 % 2)" }.joined(separator: "\n") + "\n")
        try run("runner", ["sweep", "--dataset", "data.csv", "--learning-rate", "0.01,0.1", "--epochs", "2", "--queue-only", "--quiet"])
        try FileManager.default.moveItem(atPath: directory.path("data.csv"), toPath: directory.path("data.bak"))
        let stopped = try run("runner", ["work", "--jobs", "1"], expect: 1)
        XCTAssertTrue(stopped.error.hasPrefix("error: run 1 stopped: data.csv: no such file in the current folder or the database's folder "
            + "(the run was queued with this path relative to the folder it was started from); start the worker in the folder the runs "
            + "were queued from, or put the file back as it was queued. It is queued again; once that is fixed, "
            // The sweep, not run 1 alone: run 2 waits for the file too (hostile16 F2).
            + "continue with: runner resume --sweep 1"), stopped.error)
        var store = try SlopeStore(path: directory.path(databaseName), mode: .readOnly)
        XCTAssertEqual(try store.runs(sweepID: 1).map(\.status), [.queued, .queued])
        try store.close()
        try FileManager.default.moveItem(atPath: directory.path("data.bak"), toPath: directory.path("data.csv"))
        try run("runner", ["work", "--quiet"])
        store = try SlopeStore(path: directory.path(databaseName), mode: .readOnly)
        XCTAssertEqual(try store.runs(sweepID: 1).map(\.status), [.completed, .completed])
        try store.close()
    }

    /// The line said "Stored epochs are kept" of a run that had none (above: stopped before its
    /// first epoch); of a run that has some, it still says so. Run 1 is stopped by Ctrl-C after
    /// two epochs, its data file moved away, and `runner resume` stops it again.
    func testAStoppedRunWithEpochsIsSaidToKeepThem() throws {
        try write("data.csv", "a,b,label\n" + (0..<40).map { "\(Double($0) / 40),\(Double(($0 * 7) % 40) / 40),\($0 % 2)" }.joined(separator: "\n") + "\n")
        let db = directory.path(databaseName)
        let training = try ChildProcess(builtExecutable("runner"), ["train", "--dataset", "data.csv", "--epochs", "1000000", "--db", db],
                                        currentDirectory: directory.url)
        let deadline = Date().addingTimeInterval(300)  // a safety net, not a timing assertion
        while training.process.isRunning && Date() < deadline {
            if let store = try? SlopeStore(path: db, mode: .readOnly), let count = try? store.storedEpochCount(runID: 1), count >= 2 { break }
            usleep(10_000)
        }
        kill(training.pid, SIGINT)
        XCTAssertEqual(training.finish().status, 130)
        try FileManager.default.moveItem(atPath: directory.path("data.csv"), toPath: directory.path("data.bak"))
        let stopped = try run("runner", ["resume", "--run", "1"], expect: 1)
        XCTAssertTrue(stopped.error.hasPrefix("error: run 1 stopped: data.csv: no such file"), stopped.error)
        XCTAssertTrue(stopped.error.contains("or put the file back as it was queued. Stored epochs are kept (queued again); once that is fixed, "
                                             + "continue with: runner resume --run 1 --db "), stopped.error)
        let store = try SlopeStore(path: db, mode: .readOnly)
        XCTAssertEqual(try store.run(id: 1).status, .queued)
        XCTAssertGreaterThanOrEqual(try store.storedEpochCount(runID: 1), 2)
        try store.close()
    }

    /// `--lr`, `--batch`, `--bs`, `--wd` suggest the option they abbreviate (before: --db, --beta1 ...).
    func testTheAbbreviationsMLUsersTypeSuggestTheirOptions() throws {
        for (typed, meant) in [("--lr", "--learning-rate"), ("--batch", "--batch-size"), ("--bs", "--batch-size"), ("--wd", "--weight-decay")] {
            XCTAssertEqual(try run("runner", ["train", typed, "1"], expect: 2).error,
                           "error: unknown option '\(typed)': `runner train --help` lists its options (did you mean '\(meant)'?)\n")
        }
        XCTAssertEqual(try run("runner", ["sweep", "--lr", "0.1,0.2"], expect: 2).error,
                       "error: unknown option '--lr': `runner sweep --help` lists its options (did you mean '--learning-rate'?)\n")
    }

    /// `runner sweep --learning-rate 0.1 0.2`: the second value is taken as the spec file; the
    /// message says how to give several values.
    func testASecondValueAfterASpaceSaysToUseCommas() throws {
        XCTAssertEqual(try run("runner", ["sweep", "--learning-rate", "0.1", "0.2"], expect: 2).error,
                       "error: 0.2: no such file (to sweep several values, separate them with commas: --learning-rate 0.1,0.2)\n")
        // A file name that is no number keeps the plain message.
        XCTAssertEqual(try run("runner", ["sweep", "--learning-rate", "0.1", "nosuch.yaml"], expect: 2).error, "error: nosuch.yaml: no such file\n")
    }
}
