// Hostile input through the built `runner`: each is refused with one line and a usage status
// (or runs as it should), without a hang, a crash or a database left behind.
import Foundation
import Store
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

    /// A symbolic link that loops, and a file name over 255 bytes, as --db: report said "the file
    /// does not exist" and runner SQLite's "unable to open database file"; both name the cause now.
    func testALoopingLinkOrAnOverLongNameAsTheDatabaseIsNamed() throws {
        try FileManager.default.createSymbolicLink(atPath: directory.path("loop1"), withDestinationPath: "loop2")
        try FileManager.default.createSymbolicLink(atPath: directory.path("loop2"), withDestinationPath: "loop1")
        let long = String(repeating: "a", count: 300) + ".db"
        for (tool, arguments) in [("runner", ["train", "--dataset", "xor", "--epochs", "1"]), ("report", ["runs"])] {
            let loop = try ChildProcess.run(builtExecutable(tool), arguments + ["--db", "loop1"], currentDirectory: directory.url)
            XCTAssertEqual(loop.status, 1, loop.error)
            XCTAssertTrue(loop.error.hasSuffix("loop1 is a symbolic link that loops (too many levels of symbolic links): point it at a database file, or give another path\n"), loop.error)
            XCTAssertEqual(loop.error.filter { $0 == "\n" }.count, 1, loop.error)
            let tooLong = try ChildProcess.run(builtExecutable(tool), arguments + ["--db", long], currentDirectory: directory.url)
            XCTAssertEqual(tooLong.status, 1, tooLong.error)
            XCTAssertTrue(tooLong.error.hasSuffix(String(repeating: "a", count: 60) + "... is too long a file name (at most 255 bytes a name, 4096 a path): give a shorter one\n"), tooLong.error)
            XCTAssertEqual(tooLong.error.filter { $0 == "\n" }.count, 1, tooLong.error)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.url.path).sorted(), ["loop1", "loop2"])
    }

    /// `report --db x.db grid` (and `runner --db x.db train`): the option before the command gets
    /// ArgumentParser's message and where to put it; `runner work --sweep 999` says where the sweeps are listed.
    func testMisplacedOptionsAndUnknownSweepsSayWhatToDo() throws {
        let misplaced = try ReportProcess.run("report", ["--db", "x.db", "grid", "--sweep", "1"])
        XCTAssertEqual(misplaced.status, 2)
        XCTAssertEqual(misplaced.error, "report: error: unknown option '--db' (options go after the command: report grid --db ...)\n")
        // runner says the same (one helper): an option before the command, with or without its value joined by =.
        for (arguments, hint) in [(["--db", "x.db", "train", "--dataset", "xor"], "runner train --db ..."),
                                  (["--db=x.db", "sweep", "spec.yaml"], "runner sweep --db ...")] {
            let result = try ReportProcess.run("runner", arguments)
            XCTAssertEqual(result.status, 2)
            XCTAssertEqual(result.error, "error: unknown option '--db' (options go after the command: \(hint))\n")
        }
        let db = try TemporaryDirectory(prefix: "slope-unknown-sweep")
        defer { db.remove() }
        _ = try ReportProcess.run("runner", ["train", "--dataset", "xor", "--epochs", "1", "--quiet", "--db", db.path("s.db")])
        let unknown = try ReportProcess.run("runner", ["work", "--sweep", "999", "--db", db.path("s.db")])
        XCTAssertEqual(unknown.status, 1)
        // The suggested command opens the same database; no full stop, like every other error.
        XCTAssertTrue(unknown.error.hasSuffix("error: sweep 999 not found (`report sweeps --db \(db.path("s.db"))` lists the sweeps)\n"), unknown.error)
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
                       "dup.yaml, line 3, column 1: not valid YAML: 'name' appears twice in one mapping (first at line 1); give each key once")
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
        XCTAssertTrue(refused.hasPrefix("--hidden: a 2-10000-10000-2 network (100060002 parameters) on 4 rows of data needs about 8.0 GB of memory to train; "
                                        + "the address-space limit (ulimit -v, 2.0 GB) leaves "), refused)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.path("m.db")), "nothing written")
        // A worker checks its own limits: the run queued elsewhere is not this worker's to train, and
        // not failed for it either (hostile15 F16: one small worker failed a whole shared queue for
        // good): it goes back to the queue with the reason for a worker with more memory, exit 1.
        let queued = try runner(["sweep"] + flags + ["--queue-only", "--db", "w.db"])
        XCTAssertEqual(queued.status, 0, queued.error)
        let worked = try runner(["work", "--db", "w.db"], limitKiB: 2_000_000)
        XCTAssertEqual(worked.status, 1, worked.error)
        XCTAssertTrue(worked.error.hasPrefix("error: run 1 left in the queue for a worker with more memory: this worker cannot train it: "
                                             + "--hidden: a 2-10000-10000-2 network (100060002 parameters) on 4 rows of data needs about 8.0 GB"), worked.error)
        XCTAssertTrue(worked.error.hasSuffix("; on a machine (or under a limit) with more memory, continue with: runner work --db w.db\n"), worked.error)
        XCTAssertEqual(worked.error.filter { $0 == "\n" }.count, 1, worked.error)
        XCTAssertFalse(worked.error.contains("Fatal error"), worked.error)
        let store = try SlopeStore(path: directory.path("w.db"), mode: .readOnly)
        XCTAssertEqual(try store.run(id: 1).status, .queued)
        let reason = try XCTUnwrap(store.run(id: 1).stopReason)
        XCTAssertTrue(reason.hasPrefix("this worker cannot train it: --hidden: a 2-10000-10000-2 network"), reason)
        XCTAssertTrue(reason.hasSuffix("; a worker with more memory will (it stays queued for one)."), reason)
        try store.close()
    }

    /// A network the check let through under `ulimit -v` (6 parameter-sized copies estimated; a
    /// 2-3000-3000-2 float32 run peaks at about 18) aborted in training with "Fatal error: failed
    /// to allocate" and a stack trace: the estimate now counts what training holds, and refuses it.
    func testANetworkNearTheAddressSpaceLimitIsRefusedNotCrashed() throws {
        let refused = try refusal(["train", "--dataset", "xor", "--hidden", "3000,3000", "--epochs", "1", "--validation", "0", "--db", "n.db"],
                                  limitKiB: 400_000)
        XCTAssertTrue(refused.hasPrefix("--hidden: a 2-3000-3000-2 network (9018002 parameters) on 4 rows of data needs about 0.7 GB of memory to train; "
                                        + "the address-space limit (ulimit -v, 0.4 GB) leaves "), refused)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.path("n.db")), "nothing written")
    }

    /// Special files as data, sweep files or initial weights: `/dev/stdin` from a pipe and
    /// `/dev/null` were "cannot read the file (permissions?)", `/dev/zero` "(does it exist?)".
    /// Each is named for what it is now, with what to give instead; a real permission problem says so.
    func testSpecialFilesAreNamedForWhatTheyAre() throws {
        let piped = try ChildProcess.run(URL(fileURLWithPath: "/bin/sh"),
                                         ["-c", "printf 'a,b\\n1,0\\n' | exec \"$0\" train --dataset /dev/stdin --db p.db", runner.path],
                                         currentDirectory: directory.url)
        XCTAssertEqual(piped.status, 2, piped.error)
        XCTAssertEqual(piped.error, "error: --dataset: /dev/stdin: is a pipe (or standard input from one), not a CSV file; save it to a file first "
                                    + "and give that file's path (it is read whole, hashed, and read again to resume a run)\n")
        XCTAssertEqual(mkfifo(directory.path("fifo.yaml"), 0o600), 0)
        XCTAssertEqual(try refusal(["sweep", "fifo.yaml", "--db", "f.db"]),
                       "fifo.yaml: is a pipe (or standard input from one), not a sweep file (YAML); save it to a file first "
                       + "and give that file's path (it is read whole, hashed, and read again to resume a run)")
        XCTAssertEqual(try refusal(["train", "--dataset", "/dev/null", "--db", "n.db"]), "--dataset: /dev/null: is a device (/dev/null), not a file; give a CSV file")
        XCTAssertEqual(try refusal(["train", "--dataset", "xor", "--init-weights", "/dev/zero", "--db", "z.db"]),
                       "/dev/zero: is a device (/dev/zero), not a file; give a JSON weights file")
        for name in ["p.db", "f.db", "n.db", "z.db"] { XCTAssertFalse(FileManager.default.fileExists(atPath: directory.path(name)), name) }
    }

    /// Queueing 100,000 runs printed nothing for a minute: a sweep of 10,000 runs or more says on
    /// stderr (a log here, not a terminal) when it writes them; the runs are all queued.
    func testQueueingALargeGridSaysSo() throws {
        let values = (0..<10_000).map(String.init).joined(separator: ",")
        try write("big.yaml", "fixed: {dataset: xor, epochs: 1, validation: 0}\nparameters:\n  seed: {values: [\(values)]}\n")
        let result = try runner(["sweep", "big.yaml", "--queue-only", "--db", "big.db"])
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertTrue(result.error.contains("queueing the sweep: writing 10000 runs to big.db...\n"), result.error)
        // The estimate (each run's configuration encoded; a minute and a half of silence at 100,000
        // runs when it was made up to 11 times for its advice) is said before it, too.
        XCTAssertTrue(result.error.contains("queueing the sweep: estimating the database growth of 10000 runs...\n"
                                            + "queueing the sweep: writing 10000 runs"), result.error)
        XCTAssertFalse(result.error.contains("\r"), "no terminal line in a log: \(result.error)")
        XCTAssertTrue(result.output.contains("sweep 1 (big): 10000 runs queued"), result.output)
        let store = try SlopeStore(path: directory.path("big.db"), mode: .readOnly)
        XCTAssertEqual(try store.runs(sweepID: 1).count, 10_000)
        try store.close()
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

    /// Under the data-size limit (`ulimit -d`, which caps malloc and thread stacks too) a network
    /// the old check let through aborted in training with "Fatal error: failed to allocate" and left
    /// run 1 `running` (with xor, it hung: a thread that could not be made). The limit, less the
    /// data the process already has (VmData), is checked now: `train` refuses (exit 2, nothing
    /// written), and `work` on a queued run puts it back in the queue with the reason, for a worker
    /// with more memory (exit 1; it was `failed`, for good: hostile15 F16), never left running.
    func testADataSizeLimitIsCheckedBeforeTraining() throws {
        for (hidden, layers, limit) in [("10000,10000", "2-10000-10000-2 network (100060002 parameters)", "1.0"),
                                         ("3000,3000", "2-3000-3000-2 network (9018002 parameters)", "0.3")] {
            let dataLimit = limit == "1.0" ? 1_000_000 : 300_000
            let flags = ["--dataset", "xor", "--hidden", hidden, "--epochs", "1", "--validation", "0"]
            let result = try runner(["train"] + flags + ["--db", "d.db"], dataLimitKiB: dataLimit)
            XCTAssertEqual(result.status, 2, result.error)
            XCTAssertTrue(result.error.hasPrefix("error: --hidden: a \(layers) on 4 rows of data needs about "), result.error)
            XCTAssertTrue(result.error.contains("of memory to train; the data-size limit (ulimit -d, \(limit) GB) leaves "), result.error)
            XCTAssertEqual(result.error.filter { $0 == "\n" }.count, 1, result.error)
            XCTAssertFalse(FileManager.default.fileExists(atPath: directory.path("d.db")), "nothing written")

            let queued = try runner(["sweep"] + flags + ["--queue-only", "--db", "q\(limit).db"])
            XCTAssertEqual(queued.status, 0, queued.error)
            let worked = try runner(["work", "--db", "q\(limit).db"], dataLimitKiB: dataLimit)
            XCTAssertEqual(worked.status, 1, worked.error)
            XCTAssertTrue(worked.error.hasPrefix("error: run 1 left in the queue for a worker with more memory: this worker cannot train it: "
                                                 + "--hidden: a \(layers) on 4 rows of data needs about "),
                          worked.error)
            XCTAssertFalse(worked.error.contains("Fatal error"), worked.error)
            let store = try SlopeStore(path: directory.path("q\(limit).db"), mode: .readOnly)
            XCTAssertEqual(try store.run(id: 1).status, .queued, "never left running, nor failed for this worker's limit")
            try store.close()
        }
    }

    /// A built-in dataset the 10^8-value limit allows, under `ulimit -v`: generating its 0.8 GB
    /// aborted with "Fatal error: failed to allocate 808000032 bytes". It is checked first now.
    func testADatasetTooLargeForTheLimitIsRefusedBeforeItIsMade() throws {
        let refused = try refusal(["train", "--dataset", "blobs:rows=1000000:features=100", "--hidden", "4", "--epochs", "1", "--db", "b.db"],
                                  limitKiB: 1_000_000)
        XCTAssertTrue(refused.hasPrefix("--dataset blobs:rows=1000000:features=100: the dataset needs about 1.6 GB of memory to generate; "
                                        + "the address-space limit (ulimit -v, 1.0 GB) leaves "), refused)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.path("b.db")), "nothing written")
    }
}
