// A small worker (`runner work` under `ulimit -v`) on a queue of [large, small, small]: it leaves
// the large run queued for a worker with more memory, with the reason, trains both small ones, and
// ends saying which run it left and against which limit (exit 1); the sweep stays `running`, not
// `interrupted`. A worker without the limit then trains the large run and completes the sweep. On
// SQLite and on PostgreSQL. (Before: the worker's thread stopped at the large run, the oldest, and
// the worker exited having trained nothing, the sweep shown `interrupted`.)
import Foundation
@testable import Store
import TestSupport
import XCTest

final class SetAsideCLITests: CLITestCase {
    private let runner = builtExecutable("runner")
    /// The address-space limit of the small worker: a 2-3000-3000-2 network (about 0.7 GB to train)
    /// does not fit in what it leaves, the runner's own mappings taken; a 2-4-2 one does. The same
    /// on PostgreSQL, whose connection's threads once used up 0.7 GB in malloc arenas (the worker
    /// hung; 1.0 GB was used here then): the arenas fit the limit now (MallocArenas).
    private let limitKiB = (sqlite: 700_000, postgres: 700_000)

    /// `runner arguments`, under `ulimit -v limitKiB` when given (and `timeout`, so that a regression cannot hang).
    private func runner(_ arguments: [String], limitKiB: Int? = nil) throws -> (status: Int32, output: String, error: String) {
        let command = (limitKiB.map { "ulimit -v \($0) && " } ?? "") + "exec timeout -s KILL 300 \"$0\" \"$@\""
        return try ChildProcess.run(URL(fileURLWithPath: "/bin/sh"), ["-c", command, runner.path] + arguments, currentDirectory: directory.url)
    }

    func testSQLiteSmallWorkerTrainsWhatItCanAndALargerOneTheRest() throws {
        try assertSmallThenLargeWorker(database: "w.db", shown: "w.db", limitKiB: limitKiB.sqlite) { try SlopeStore(path: self.directory.path("w.db"), mode: .readOnly) }
    }

    func testPostgreSQLSmallWorkerTrainsWhatItCanAndALargerOneTheRest() throws {
        let server = try PostgresServer.makeDatabase()
        defer { server.drop() }
        let shown = CommandHint.shellQuoted(PostgresSettings.removingPassword(from: server.url))
        try assertSmallThenLargeWorker(database: server.url, shown: shown, limitKiB: limitKiB.postgres) { try SlopeStore(location: server.url, mode: .readOnly) }
    }

    private func assertSmallThenLargeWorker(database: String, shown: String, limitKiB: Int, open: () throws -> SlopeStore,
                                            file: StaticString = #filePath, line: UInt = #line) throws {
        try write("s.yaml", """
            fixed: {dataset: xor, epochs: 1, validation: 0, batch_size: 4, log_tensors: final}
            parameters: {hidden: {values: [[3000, 3000], [4], [3]]}}
            """)
        let queued = try runner(["sweep", "s.yaml", "--queue-only", "--quiet", "--db", database])
        XCTAssertEqual(queued.status, 0, queued.error, file: file, line: line)

        let small = try runner(["work", "--db", database], limitKiB: limitKiB)
        XCTAssertEqual(small.status, 1, small.error, file: file, line: line)
        // Both small runs trained (one line each), then the summary of the sweep, the large run among the unfinished.
        let lines = small.output.split(separator: "\n").map(String.init)
        XCTAssertGreaterThanOrEqual(lines.count, 3, small.output, file: file, line: line)
        // Its two threads end the three runs in any order (run 1 set aside at once, but a small run on the
        // other thread may end first on a busy machine): the set-aside line counts the runs ended before it.
        let ended = Array(lines.prefix(3))
        let setAside = try XCTUnwrap(ended.firstIndex { $0.hasPrefix("run 1  ") }, small.output, file: file, line: line)
        XCTAssertTrue(ended[setAside].contains(" 2-3000-3000-2  set aside  (this worker cannot train it: --hidden: a 2-3000-3000-2 network"),
                      small.output, file: file, line: line)
        XCTAssertTrue(ended[setAside].hasSuffix("; a worker with more memory will (it stays queued for one).)  [\(setAside)/3]"), small.output, file: file, line: line)
        let trained = ended.enumerated().filter { $0.offset != setAside }.map(\.element)
        XCTAssertTrue(trained.sorted()[0].hasPrefix("run 2  ") && trained.sorted()[0].contains(" 2-4-2  completed  epoch 1/1  "), small.output, file: file, line: line)
        XCTAssertTrue(trained.sorted()[1].hasPrefix("run 3  ") && trained.sorted()[1].contains(" 2-3-2  completed  epoch 1/1  "), small.output, file: file, line: line)
        XCTAssertTrue(trained[0].hasSuffix("  [1/3]") && trained[1].hasSuffix("  [2/3]"), small.output, file: file, line: line)
        XCTAssertTrue(small.output.contains("still queued or running (not ranked): run 1\n"), small.output, file: file, line: line)
        let need = "--hidden: a 2-3000-3000-2 network (9018002 parameters) on 4 rows of data needs about 0.7 GB of memory to train; "
            + "the address-space limit (ulimit -v, \(String(format: "%.1f", Double(limitKiB) * 1024 / 1e9)) GB) leaves "
        XCTAssertTrue(small.error.hasPrefix("error: run 1 left in the queue for a worker with more memory: this worker cannot train it: " + need),
                      small.error, file: file, line: line)
        XCTAssertTrue(small.error.hasSuffix(" GB; on a machine (or under a limit) with more memory, continue with: runner work --db \(shown)\n"),
                      small.error, file: file, line: line)
        XCTAssertEqual(small.error.filter { $0 == "\n" }.count, 1, small.error, file: file, line: line)
        do {
            let store = try open()
            defer { try? store.close() }
            XCTAssertEqual(try store.runs(sweepID: 1).map(\.status), [.queued, .completed, .completed], file: file, line: line)
            let reason = try XCTUnwrap(store.run(id: 1).stopReason)
            XCTAssertTrue(reason.hasPrefix("this worker cannot train it: " + need), reason, file: file, line: line)
            XCTAssertTrue(reason.hasSuffix(" GB; a worker with more memory will (it stays queued for one)."), reason, file: file, line: line)
            XCTAssertEqual(try store.sweep(id: 1).status, .running, "not interrupted", file: file, line: line)
            XCTAssertEqual(try store.epochs(runID: 1).count, 0, file: file, line: line)
        }
        // What report says meanwhile: the sweep running, 1 run queued and 2 completed; run 1 queued with its reason.
        let sweeps = try ChildProcess.run(builtExecutable("report"), ["sweeps", "--format", "csv", "--db", database], currentDirectory: directory.url)
        XCTAssertEqual(sweeps.status, 0, sweeps.error, file: file, line: line)
        XCTAssertEqual(sweeps.output.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).enumerated()
                                                                    .filter { [0, 2, 4, 5, 6, 7, 12].contains($0.offset) }.map { String($0.element) } },
                       [["id", "status", "runs", "queued", "running", "completed", "stalled"], ["1", "running", "3", "1", "0", "2", "0"]],
                       sweeps.output, file: file, line: line)
        let show = try ChildProcess.run(builtExecutable("report"), ["show", "1", "--db", database], currentDirectory: directory.url)
        XCTAssertTrue(show.output.contains("status:     queued (this worker cannot train it: " + need), show.output, file: file, line: line)

        // A worker without the limit trains the large run: the sweep is complete.
        let large = try runner(["work", "--db", database])
        XCTAssertEqual(large.status, 0, large.error, file: file, line: line)
        XCTAssertTrue(large.output.hasPrefix("run 1  ") && large.output.contains(" 2-3000-3000-2  completed  epoch 1/1  "), large.output,
                      file: file, line: line)
        let store = try open()
        defer { try? store.close() }
        XCTAssertEqual(try store.runs(sweepID: 1).map(\.status), [.completed, .completed, .completed], file: file, line: line)
        XCTAssertEqual(try store.run(id: 1).stopReason, "completed all epochs", file: file, line: line)
        XCTAssertEqual(try store.epochs(runID: 1).map(\.epoch), [0, 1], file: file, line: line)
        XCTAssertEqual(try store.sweep(id: 1).status, .completed, file: file, line: line)
    }
}
