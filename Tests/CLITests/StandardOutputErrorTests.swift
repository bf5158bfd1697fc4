// Standard output that cannot take what is written (a full disk, here /dev/full, which fails every
// write with ENOSPC): both executables end with one line saying so and exit 1, never a silent 0.
import Foundation
import TestSupport
import XCTest

final class StandardOutputErrorTests: CLITestCase {
    /// Runs `tool arguments...` in `directory` (slope.db is the database by default) with standard output on /dev/full.
    private func runIntoFullDevice(_ tool: String, _ arguments: [String]) throws -> (status: Int32, output: String, error: String) {
        try ChildProcess.run(URL(fileURLWithPath: "/bin/sh"), ["-c", "exec \"$0\" \"$@\" > /dev/full", builtExecutable(tool).path] + arguments,
                             environment: ["SLOPE_DB": directory.path(databaseName)], currentDirectory: directory.url)
    }

    func testAFullStandardOutputIsOneErrorLineAndExit1() throws {
        try XCTSkipUnless(FileManager.default.isWritableFile(atPath: "/dev/full"), "needs /dev/full")
        try run("runner", ["sweep", "--dataset", "xor", "--hidden", "3", "--epochs", "2", "--learning-rate", "0.1,0.2", "--quiet"])

        let reportCommands: [[String]] = [["runs"], ["show", "1"], ["sweeps"], ["export", "--what", "tensors"], ["export", "--format", "json"],
                                          ["tensors", "1", "--format", "csv"], ["html", "--sweep", "1", "--out", "-"], ["--help"], ["runs", "--help"]]
        for arguments in reportCommands {
            let result = try runIntoFullDevice("report", arguments)
            XCTAssertEqual(result.status, 1, "report \(arguments): \(result.error)")
            XCTAssertEqual(result.error, "report: error: cannot write to standard output: No space left on device\n", "report \(arguments)")
        }
        for arguments in [["datasets"], ["train", "--dataset", "xor", "--hidden", "3", "--epochs", "2"], ["--help"]] {
            let result = try runIntoFullDevice("runner", arguments)
            XCTAssertEqual(result.status, 1, "runner \(arguments): \(result.error)")
            XCTAssertEqual(result.error, "error: cannot write to standard output: No space left on device\n", "runner \(arguments)")
        }
        // The same commands into a pipe still succeed (the check is on failed writes only).
        XCTAssertEqual(try run("report", ["show", "1"]).output.contains("run 1"), true)
    }
}
