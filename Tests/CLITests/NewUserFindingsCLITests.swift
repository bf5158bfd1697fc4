// What a new user met first (session 13's new-user report): a worker started without its data file.
import Foundation
import Store
import TestSupport
import XCTest

final class NewUserFindingsCLITests: CLITestCase {
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
            + "were queued from, or put the file back as it was queued. Stored epochs are kept (queued again); once that is fixed, "
            + "continue with: runner resume --run 1"), stopped.error)
        var store = try SlopeStore(path: directory.path(databaseName), mode: .readOnly)
        XCTAssertEqual(try store.runs(sweepID: 1).map(\.status), [.queued, .queued])
        try store.close()
        try FileManager.default.moveItem(atPath: directory.path("data.bak"), toPath: directory.path("data.csv"))
        try run("runner", ["work", "--quiet"])
        store = try SlopeStore(path: directory.path(databaseName), mode: .readOnly)
        XCTAssertEqual(try store.runs(sweepID: 1).map(\.status), [.completed, .completed])
        try store.close()
    }
}
