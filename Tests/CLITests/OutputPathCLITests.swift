// Where `--out` may write, through the built `runner datasets` and `report`: one set of checks
// (CLISupport's OutputFile), so that no output replaces a database, a device, a pipe or a link,
// a full disk leaves the old file as it was, and each refusal is one line with its exit status.
import CLISupport
import Foundation
import Reporting
import TestSupport
import XCTest

final class OutputPathCLITests: CLITestCase {
    /// Runs `runner arguments...` in the test's folder (no --db: `datasets` takes none).
    @discardableResult
    private func runner(_ arguments: [String], expect status: Int32,
                        file: StaticString = #filePath, line: UInt = #line) throws -> (output: String, error: String) {
        let result = try ChildProcess.run(builtExecutable("runner"), arguments, currentDirectory: directory.url)
        XCTAssertEqual(result.status, status, "runner \(arguments.joined(separator: " ")): \(result.error)", file: file, line: line)
        XCTAssertFalse(result.error.contains("Fatal error") || result.error.contains("Backtrac"), result.error, file: file, line: line)
        return (result.output, result.error)
    }

    private func fileType(_ name: String) -> mode_t {
        var info = stat()
        return lstat(directory.path(name), &info) == 0 ? info.st_mode & S_IFMT : 0
    }

    /// Linux's device number for a small major and minor (glibc's makedev is a macro).
    private func device(_ major: UInt64, _ minor: UInt64) -> dev_t { dev_t(major << 8 | minor) }

    /// The xor CSV, as `--out -` writes it on standard output (and nothing else there).
    private func xorCSV() throws -> String {
        let csv = try runner(["datasets", "--csv", "xor", "--out", "-"], expect: 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.path("-")), "- is standard output, not a file")
        XCTAssertEqual(csv.output, "x1,x2,target\n0.0,0.0,0\n0.0,1.0,1\n1.0,0.0,1\n1.0,1.0,0\n")
        return csv.output
    }

    func testADatabaseIsNeverReplacedByOutput() throws {
        try run("runner", ["train", "--dataset", "xor", "--hidden", "2", "--epochs", "1", "--validation", "0", "--quiet"])
        let database = directory.path("slope.db")
        let before = try Data(contentsOf: URL(fileURLWithPath: database))
        XCTAssertEqual(try runner(["datasets", "--csv", "xor", "--out", "slope.db"], expect: 2).error,
                       "error: --out slope.db is an SQLite database: give another file name (output never replaces a database)\n")
        XCTAssertEqual(try runner(["datasets", "--csv", "xor", "--out", "slope.db-wal"], expect: 2).error,
                       "error: --out slope.db-wal is a file of the SQLite database slope.db: give another file name (output never replaces a database)\n")
        // Through a link too, and from report (another database than the one it reads).
        try FileManager.default.createSymbolicLink(atPath: directory.path("link.csv"), withDestinationPath: "slope.db")
        XCTAssertEqual(try runner(["datasets", "--csv", "xor", "--out", "link.csv"], expect: 2).error,
                       "error: --out link.csv is an SQLite database: give another file name (output never replaces a database)\n")
        try FileManager.default.copyItem(atPath: database, toPath: directory.path("read.db"))
        let report = try ChildProcess.run(builtExecutable("report"), ["tensors", "1", "--format", "csv", "--out", "slope.db", "--db", "read.db"],
                                          currentDirectory: directory.url)
        XCTAssertEqual(report.status, 2)
        XCTAssertEqual(report.error, "report: error: --out slope.db is an SQLite database: give another file name (output never replaces a database)\n")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: database)), before, "the database is unchanged")
        XCTAssertEqual(fileType("link.csv"), S_IFLNK)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path("")).filter { !$0.hasPrefix("read.db") }.sorted(),
                       ["link.csv", "slope.db"], "nothing written")
        try run("report", ["runs"])
    }

    /// The database `report` reads is refused as `--out` by what it is (its device and inode, or the
    /// database a -wal, -shm or -journal not made yet would belong to), however the path is spelled:
    /// with `..`, through a link to it or to its folder, as a hard link; and the file stays as it was.
    func testTheDatabaseBeingReadIsRefusedHoweverItsPathIsSpelled() throws {
        try run("runner", ["train", "--dataset", "xor", "--hidden", "2", "--epochs", "1", "--validation", "0", "--quiet"])
        let database = directory.path("slope.db")
        let before = try Data(contentsOf: URL(fileURLWithPath: database))
        try FileManager.default.createDirectory(atPath: directory.path("sub"), withIntermediateDirectories: false)
        try FileManager.default.createSymbolicLink(atPath: directory.path("folder-link"), withDestinationPath: directory.path(""))
        try FileManager.default.createSymbolicLink(atPath: directory.path("db-link.csv"), withDestinationPath: "slope.db")
        try FileManager.default.linkItem(atPath: database, toPath: directory.path("hard.csv"))
        for out in ["sub/../slope.db", "./sub/../slope.db-wal", "sub/../slope.db-shm", "slope.db-journal", "folder-link/slope.db",
                    "folder-link/sub/../slope.db-wal", "db-link.csv", "hard.csv", directory.path("sub/../slope.db")] {
            XCTAssertEqual(try run("report", ["tensors", "1", "--format", "csv", "--out", out], expect: 2).error,
                           "report: error: --out \(out) is the database being read (\(database)): give another file name\n")
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: database)), before, "the database is unchanged")
        // (The -wal and -shm of the read are SQLite's: a WAL header or nothing, no output in them.)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path("")).filter { !$0.hasPrefix("slope.db-") }.sorted(),
                       ["db-link.csv", "folder-link", "hard.csv", "slope.db", "sub"], "nothing written")
        let wal = (try? Data(contentsOf: URL(fileURLWithPath: database + "-wal"))) ?? Data()
        XCTAssertTrue(wal.isEmpty || Array(wal.prefix(3)) == [0x37, 0x7f, 0x06], "\(wal.prefix(16) as NSData)")
        XCTAssertEqual(fileType("db-link.csv"), S_IFLNK)
        // While `report` runs, the database's -wal is there; a database read without one (as
        // immutable: a folder report cannot write) has none to find by its inode.
        let closed = directory.path("closed.db")
        try FileManager.default.copyItem(atPath: database, toPath: closed)
        for out in [directory.path("sub/../closed.db-wal"), directory.path("folder-link/closed.db-shm")] {
            XCTAssertThrowsError(try OutputFile.write(Data("x".utf8), to: out, protecting: closed)) { error in
                XCTAssertEqual("\(error)", "--out \(out) is the database being read (\(closed)): give another file name")
            }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: closed + "-wal"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: closed + "-shm"))
    }

    func testDevicesPipesFoldersAndStandardOutput() throws {
        let csv = try xorCSV()
        // A named pipe: written into when it has a reader, refused (not waited on) when it has none.
        XCTAssertEqual(mkfifo(directory.path("fifo"), 0o600), 0)
        XCTAssertEqual(try runner(["datasets", "--csv", "xor", "--out", "fifo"], expect: 1).error,
                       "error: cannot write output: fifo is a named pipe that nobody reads: start its reader first, or give a file name\n")
        let reader = open(directory.path("fifo"), O_RDONLY | O_NONBLOCK)
        XCTAssertGreaterThanOrEqual(reader, 0)
        defer { close(reader) }
        // A pipe is not a file to tell of (as for report's --out): the CSV shows at its reader.
        XCTAssertEqual(try runner(["datasets", "--csv", "xor", "--out", "fifo"], expect: 0).output, "")
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = read(reader, &buffer, buffer.count)
        XCTAssertEqual(String(decoding: buffer[..<max(count, 0)], as: UTF8.self), csv)
        XCTAssertEqual(fileType("fifo"), S_IFIFO, "the pipe stays a pipe")

        // This process's standard output by name: written through the descriptor (a full one fails, exit 1).
        let full = try ChildProcess.run(URL(fileURLWithPath: "/bin/sh"), [
            "-c", "exec \"$0\" datasets --csv xor --out /dev/stdout > /dev/full", builtExecutable("runner").path,
        ], currentDirectory: directory.url)
        XCTAssertEqual(full.status, 1)
        XCTAssertEqual(full.error, "error: cannot write output: /dev/stdout: No space left on device\n")
        XCTAssertEqual(try runner(["datasets", "--csv", "xor", "--out", "/dev/stdout"], expect: 0).output, csv, "the CSV alone")

        // A folder, and a path under a file.
        try FileManager.default.createDirectory(atPath: directory.path("folder"), withIntermediateDirectories: false)
        XCTAssertEqual(try runner(["datasets", "--csv", "xor", "--out", "folder"], expect: 1).error,
                       "error: cannot write output: folder is a directory: give a file name\n")
        try write("afile", "keep")
        XCTAssertEqual(try runner(["datasets", "--csv", "xor", "--out", "afile/x.csv"], expect: 1).error,
                       "error: cannot write output: afile/x.csv: \(directory.path("afile")) is a file, not a folder (give a path in a folder)\n")
        XCTAssertEqual(try runner(["datasets", "--csv", "xor", "--out", "afile/deeper/x.csv"], expect: 1).error,
                       "error: cannot write output: afile/deeper/x.csv: \(directory.path("afile")) is a file, not a folder (give a path in a folder)\n")
        XCTAssertEqual(try runner(["datasets", "--csv", "xor", "--out", "no/such/x.csv"], expect: 1).error,
                       "error: cannot write output: no/such/x.csv: the folder \(directory.path("no/such")) does not exist (create it first)\n")
        let report = try ChildProcess.run(builtExecutable("report"), ["runs", "--db", "afile/x.db"], currentDirectory: directory.url)
        XCTAssertEqual(report.status, 1)
        let train = try ChildProcess.run(builtExecutable("runner"), ["train", "--dataset", "xor", "--epochs", "1", "--quiet", "--db", "afile/x.db"],
                                         currentDirectory: directory.url)
        XCTAssertEqual(train.error, "error: cannot create the database afile/x.db: \(directory.path("afile")) is a file, not a folder (give a path in a folder)\n")
        XCTAssertEqual(try String(contentsOfFile: directory.path("afile"), encoding: .utf8), "keep")

        // A link to a file is written through and stays a link.
        try write("target.csv", "old")
        try FileManager.default.createSymbolicLink(atPath: directory.path("link.csv"), withDestinationPath: "target.csv")
        try runner(["datasets", "--csv", "xor", "--out", "link.csv"], expect: 0)
        XCTAssertEqual(fileType("link.csv"), S_IFLNK)
        XCTAssertEqual(try String(contentsOfFile: directory.path("target.csv"), encoding: .utf8), csv)

        // Device nodes (root only: mknod): /dev/null's is written into, /dev/full's fails as a full
        // disk does (exit 1), a block device is refused; each stays the node it was.
        guard mknod(directory.path("null"), S_IFCHR | 0o666, device(1, 3)) == 0,
              mknod(directory.path("full"), S_IFCHR | 0o666, device(1, 7)) == 0,
              mknod(directory.path("disk"), S_IFBLK | 0o600, device(7, 0)) == 0 else {
            throw XCTSkip("cannot make device nodes here (not root)")
        }
        try runner(["datasets", "--csv", "xor", "--out", "null"], expect: 0)
        XCTAssertEqual(try runner(["datasets", "--csv", "xor", "--out", "full"], expect: 1).error,
                       "error: cannot write output: full: No space left on device\n")
        XCTAssertEqual(try runner(["datasets", "--csv", "xor", "--out", "disk"], expect: 2).error,
                       "error: --out disk is a block device (a disk): give a file name\n")
        XCTAssertEqual([fileType("null"), fileType("full"), fileType("disk")], [S_IFCHR, S_IFCHR, S_IFBLK])
    }

    /// A write that fails half-way (here the file size limit, as a full disk would) leaves the old
    /// file exactly as it was and no temporary file, with exit status 1.
    func testAFailedWriteLeavesTheOldFile() throws {
        try write("digits.csv", "OLD")
        let limited = try ChildProcess.run(URL(fileURLWithPath: "/bin/sh"), [
            "-c", "trap '' XFSZ; ulimit -f 8; exec \"$0\" datasets --csv digits --out digits.csv", builtExecutable("runner").path,
        ], currentDirectory: directory.url)
        XCTAssertEqual(limited.status, 1, limited.error)
        XCTAssertEqual(limited.error, "error: cannot write output: digits.csv: File too large\n")
        XCTAssertEqual(try String(contentsOfFile: directory.path("digits.csv"), encoding: .utf8), "OLD")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path("")), ["digits.csv"], "no temporary file left")
        try runner(["datasets", "--csv", "digits", "--out", "digits.csv"], expect: 0)
        XCTAssertTrue(try String(contentsOfFile: directory.path("digits.csv"), encoding: .utf8).hasPrefix("x0,x1,"))
    }
}
