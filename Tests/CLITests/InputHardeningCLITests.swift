// Hostile input through the built `runner`: each is refused with one line and a usage status
// (or runs as it should), without a hang, a crash or a database left behind.
import Foundation
import TestSupport
import XCTest

final class InputHardeningCLITests: CLITestCase {
    private let runner = builtExecutable("runner")

    /// Runs `runner arguments` (under `timeout`, so that a regression cannot hang the tests);
    /// `limitKiB` sets `ulimit -v` first, `dataLimitKiB` `ulimit -d`.
    private func runner(_ arguments: [String], limitKiB: Int? = nil, dataLimitKiB: Int? = nil) throws -> (status: Int32, output: String, error: String) {
        let command = (limitKiB.map { "ulimit -v \($0) && " } ?? "") + (dataLimitKiB.map { "ulimit -d \($0) && " } ?? "")
            + "exec timeout 120 \"$0\" \"$@\""
        return try ChildProcess.run(URL(fileURLWithPath: "/bin/sh"), ["-c", command, runner.path] + arguments, currentDirectory: directory.url)
    }

    /// Asserts a one-line usage error (exit 2) and returns it without the "error: " prefix.
    private func refusal(_ arguments: [String], status: Int32 = 2, limitKiB: Int? = nil,
                         file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let result = try runner(arguments, limitKiB: limitKiB)
        XCTAssertEqual(result.status, status, result.error, file: file, line: line)
        XCTAssertEqual(result.error.filter { $0 == "\n" }.count, 1, "one line: \(result.error)", file: file, line: line)
        XCTAssertFalse(result.error.contains("Fatal error") || result.error.contains("Backtrace"), result.error, file: file, line: line)
        XCTAssertTrue(result.error.hasPrefix("error: "), result.error, file: file, line: line)
        return String(result.error.dropFirst("error: ".count).dropLast())
    }

    /// `report --db x.db grid`: the option before the command gets ArgumentParser's message and
    /// where to put it; `runner work --sweep 999` says where the sweeps are listed.
    func testMisplacedOptionsAndUnknownSweepsSayWhatToDo() throws {
        let misplaced = try ReportProcess.run("report", ["--db", "x.db", "grid", "--sweep", "1"])
        XCTAssertEqual(misplaced.status, 2)
        XCTAssertEqual(misplaced.error, "report: error: Unknown option '--db' (options go after the command: report grid --db ...)\n")
        let db = try TemporaryDirectory(prefix: "slope-unknown-sweep")
        defer { db.remove() }
        _ = try ReportProcess.run("runner", ["train", "--dataset", "xor", "--epochs", "1", "--quiet", "--db", db.path("s.db")])
        let unknown = try ReportProcess.run("runner", ["work", "--sweep", "999", "--db", db.path("s.db")])
        XCTAssertEqual(unknown.status, 1)
        XCTAssertTrue(unknown.error.contains("sweep 999 not found (`report sweeps` lists the sweeps)."), unknown.error)
    }

    func testAnAliasBombIsRefusedWithoutExpandingIt() throws {
        // 10 levels of ten aliases each: 10^10 values from 600 bytes. Under a 2 GB address-space
        // limit, so that expanding it would fail rather than take the machine's memory.
        let items = ["&a0 [8]"] + (1...10).map { "&a\($0) [" + Array(repeating: "*a\($0 - 1)", count: 10).joined(separator: ",") + "]" }
        let text = "name: bomb\nparameters:\n  hidden:\n    values: [" + items.joined(separator: ", ") + "]\n"
        XCTAssertLessThan(text.utf8.count, 700)
        try write("bomb.yaml", text)
        XCTAssertEqual(try refusal(["sweep", "bomb.yaml", "--queue-only", "--db", "bomb.db"], limitKiB: 2_000_000),
                       "bomb.yaml: expands to more than 100000 YAML values (aliases that repeat aliases?); a sweep file needs far fewer: write the values out")
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.path("bomb.db")), "nothing written")
        try write("dup.yaml", "name: a\nmethod: grid\nname: b\n")
        XCTAssertEqual(try refusal(["sweep", "dup.yaml", "--queue-only", "--db", "dup.db"]),
                       "dup.yaml, line 1, column 1: not valid YAML: 'name' appears twice in one mapping; give each key once")
    }

    /// A sweep queued into a 400 KiB tmpfs (mounted in a private mount namespace, so needing
    /// root): the first sweep fits, the second (3,000 runs) does not; it is refused whole.
    func testAFullDiskWhileQueueingSaysNothingWasQueued() throws {
        let mountPoint = directory.path("small")
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        let probe = try ChildProcess.run(URL(fileURLWithPath: "/usr/bin/unshare"), ["-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs \"$0\"", mountPoint])
        guard probe.status == 0 else { throw XCTSkip("mounting a tmpfs needs root and unshare -m: \(probe.error)") }
        let report = builtExecutable("report").path
        let flags = "--dataset xor --epochs 1 --hidden 2 --validation 0 --queue-only --db \"$0/s.db\""
        let seeds = (0..<3000).map(String.init).joined(separator: ",")
        let script = """
            mount -t tmpfs -o size=400k tmpfs "$0" || exit 99
            "$1" sweep \(flags) > /dev/null || exit 98
            "$1" sweep \(flags) --seed \(seeds) > /dev/null
            echo "status $?"
            "$2" sweeps --db "$0/s.db" --format csv
            """
        let result = try ChildProcess.run(URL(fileURLWithPath: "/usr/bin/unshare"), ["-m", "sh", "-c", script, mountPoint, runner.path, report])
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertEqual(result.error, "error: the disk holding \(mountPoint)/s.db is full, so nothing was queued (the write was undone whole): "
                       + "free some space and run the command again\n")
        let lines = result.output.split(separator: "\n")
        XCTAssertEqual(lines.first, "status 1")
        XCTAssertEqual(lines.count, 3, "the first sweep only: \(result.output)")
        XCTAssertTrue(lines.last?.hasPrefix("1,sweep,queued,") ?? false, result.output)
    }

    /// Today's fault: the run "diverged at epoch 0" and the command exited 0.
    func testAValueBeyondFloat32IsRefusedForAFloat32Run() throws {
        try write("big.csv", "a,b,label\n1,2,0\n3,1e39,1\n5,6,0\n7,8,1\n")
        XCTAssertEqual(try refusal(["train", "--dataset", "big.csv", "--validation", "0", "--epochs", "1", "--db", "big.db"]),
                       "big.csv, line 3, column 'b' (2): '1e39' is beyond the float32 range (about ±3.4e38); use --precision float64, or rescale the column")
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.path("big.db")), "nothing written")
        let float64 = try runner(["train", "--dataset", "big.csv", "--validation", "0", "--epochs", "1", "--precision", "float64", "--db", "big64.db"])
        XCTAssertEqual(float64.status, 0, float64.error)
    }

    /// Under `ulimit -v` the network passed the check against physical memory, then aborted with
    /// "Fatal error: failed to allocate". (The estimate, 8.0 GB, is checked, never allocated.)
    func testAnAddressSpaceLimitIsCheckedBeforeTraining() throws {
        let flags = ["--dataset", "xor", "--hidden", "10000,10000", "--epochs", "1", "--validation", "0"]
        let refused = try refusal(["train"] + flags + ["--db", "m.db"], limitKiB: 2_000_000)
        XCTAssertTrue(refused.hasPrefix("--hidden: a 2-10000-10000-2 network (100060002 parameters) needs about 8.0 GB of memory to train; "
                                        + "the address-space limit (ulimit -v, 2.0 GB) leaves "), refused)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.path("m.db")), "nothing written")
        // A worker checks its own limits: the run queued elsewhere fails with the reason, exit 1.
        let queued = try runner(["sweep"] + flags + ["--queue-only", "--db", "w.db"])
        XCTAssertEqual(queued.status, 0, queued.error)
        let worked = try runner(["work", "--db", "w.db"], limitKiB: 2_000_000)
        XCTAssertEqual(worked.status, 1, worked.error)
        XCTAssertTrue(worked.error.hasPrefix("error: run 1 failed: --hidden: a 2-10000-10000-2 network (100060002 parameters) needs about 8.0 GB"),
                      worked.error)
        XCTAssertFalse(worked.error.contains("Fatal error"), worked.error)
    }

    /// A network the check let through under `ulimit -v` (6 parameter-sized copies estimated; a
    /// 2-3000-3000-2 float32 run peaks at about 18) aborted in training with "Fatal error: failed
    /// to allocate" and a stack trace: the estimate now counts what training holds, and refuses it.
    func testANetworkNearTheAddressSpaceLimitIsRefusedNotCrashed() throws {
        let refused = try refusal(["train", "--dataset", "xor", "--hidden", "3000,3000", "--epochs", "1", "--validation", "0", "--db", "n.db"],
                                  limitKiB: 400_000)
        XCTAssertTrue(refused.hasPrefix("--hidden: a 2-3000-3000-2 network (9018002 parameters) needs about 0.7 GB of memory to train; "
                                        + "the address-space limit (ulimit -v, 0.4 GB) leaves "), refused)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.path("n.db")), "nothing written")
    }

    /// A 100 KB dataset name came back whole in the error (a 100 KB line), and an escape sequence in it
    /// or in a sweep's name reached the terminal raw.
    func testHugeOrHostileNamesAreCutAndEscapedInMessages() throws {
        let long = String(repeating: "x", count: 100_000)  // an argument may hold at most 128 KiB
        XCTAssertTrue(try refusal(["train", "--dataset", long, "--db", "l.db"])
                        .hasPrefix("--dataset: unknown dataset '\(String(repeating: "x", count: 200))...': not a file, and not a built-in ("))
        XCTAssertTrue(try refusal(["train", "--dataset", "a\u{1B}[2Jb", "--db", "l.db"]).hasPrefix("--dataset: unknown dataset 'a\\x1B[2Jb': "))
        try write("named.yaml", "name: \"a\\e[2J\(String(repeating: "y", count: 100))\"\nmethod: grid\nfixed: {dataset: xor, epochs: 1, validation: 0}\n"
                  + "parameters:\n  seed: {values: [0]}\n")
        let result = try runner(["sweep", "named.yaml", "--db", "n.db"])
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertFalse(result.output.contains("\u{1B}"), result.output)
        XCTAssertTrue(result.output.contains("(a?[2J" + String(repeating: "y", count: 75) + "...)"), result.output)
    }

    /// A limit the checks do not read (here the data-segment limit, `ulimit -d`, which also caps
    /// large allocations) makes the allocation itself fail: asked for before training, it is a
    /// clear runtime error (exit 1), not a crash in the engine.
    func testAnAllocationThatFailsIsAClearError() throws {
        let result = try runner(["train", "--dataset", "xor", "--hidden", "10000,10000", "--epochs", "1", "--validation", "0", "--db", "d.db"],
                                limitKiB: nil, dataLimitKiB: 1_000_000)
        XCTAssertEqual(result.status, 1, result.error)
        XCTAssertTrue(result.error.hasPrefix("error: a 2-10000-10000-2 network (100060002 parameters) needs about 8.0 GB of memory to train, "
                                             + "and the system refused to allocate it ("), result.error)
        XCTAssertEqual(result.error.filter { $0 == "\n" }.count, 1, result.error)
    }
}
