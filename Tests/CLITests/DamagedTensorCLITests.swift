// A tensor row changed outside Slope (the sqlite3 shell with its CHECK constraints off, a script):
// every command that reads it refuses it with one line naming the run, epoch and tensor, exit 1,
// and writes nothing; never garbage values, a crash or a half-written file (hostile F13).
import Foundation
import TestSupport
import XCTest

final class DamagedTensorCLITests: CLITestCase {
    func testADamagedTensorIsRefusedWithOneLineNamingIt() throws {
        let delete = "DELETE FROM tensors WHERE run_id = 1 AND epoch = 2 AND layer = 1 AND kind = 'weight';"
        let suffix = ": the database was changed outside Slope (the sqlite3 shell, a script); restore it from a backup, or delete that row "
            + "to read the rest without it (in sqlite3, or psql): " + delete + "\n"
        for (assignment, detail) in [
            ("data = substr(data, 1, 10)", "it holds 10 bytes, and its shape, 2 x 4 float32, needs 32"),
            ("data = data || X'00'", "its data is"),  // || makes text of the blob
            ("dtype = 'float16'", "its dtype is 'float16', not float32 or float64"),
            ("rows = 0", "its shape is 0 x 4, not whole numbers above 0"),
        ] {
            for file in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: directory.path(databaseName + file)) }
            try run("runner", ["train", "--dataset", "xor", "--hidden", "4", "--epochs", "3", "--log-tensors", "every", "--quiet"])
            try ReportFixture.damageTensor(at: directory.path(databaseName), runID: 1, epoch: 2, layer: 1, kind: "weight", assignment)
            let expected = "report: error: run 1, epoch 2: the weight of layer 1 is damaged (" + detail
            for arguments in [["tensors", "1", "--epoch", "2"], ["tensors", "1", "--epoch", "2", "--layer", "1", "--kind", "weight", "--format", "npy", "--out", "w.npy"],
                              ["export", "--what", "tensors"], ["export", "--what", "tensors", "--format", "json"],
                              ["export", "--format", "sqlite", "--out", "copy.db"]] {
                let (output, error) = try run("report", arguments, expect: 1)
                XCTAssertTrue(error.hasPrefix(expected) && error.hasSuffix(suffix), "\(assignment): \(arguments): \(error)")
                XCTAssertFalse(arguments.contains("npy") && !output.isEmpty, "no bytes on standard output: \(arguments)")
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: directory.path("w.npy")))
            XCTAssertFalse(FileManager.default.fileExists(atPath: directory.path("copy.db")))
            // The run's other tensors still read, as they were written.
            let other = try run("report", ["tensors", "1", "--epoch", "1", "--layer", "1", "--kind", "weight", "--format", "csv"]).output
            XCTAssertEqual(other.split(separator: "\n").count, 1 + 8, other)
            // The DELETE the message offers removes that one row, and then the epoch and the export read.
            let database = directory.path(databaseName)
            let stored = try ReportFixture.count("SELECT count(*) FROM tensors WHERE run_id = 1 AND epoch = 2", at: database)
            XCTAssertEqual(try ReportFixture.execute(delete, at: database), 1)
            let epoch = try run("report", ["tensors", "1", "--epoch", "2"]).output
            XCTAssertFalse(epoch.isEmpty)
            try run("report", ["export", "--format", "sqlite", "--out", "copy.db"])
            XCTAssertEqual(try ReportFixture.count("SELECT count(*) FROM tensors WHERE run_id = 1 AND epoch = 2", at: directory.path("copy.db")), stored - 1)
            try FileManager.default.removeItem(atPath: directory.path("copy.db"))
        }
    }

    /// A tensor's shape changed to another of the same size (32 x 128 for 64 x 64: the bytes still fit):
    /// explain and resume say the stored weights do not fit the network, changed outside Slope, not
    /// "invalid parameters" (hostile17 H7).
    func testAStoredShapeThatDoesNotFitTheNetworkIsSaidAsDamage() throws {
        try run("runner", ["train", "--dataset", "xor", "--hidden", "4", "--epochs", "3", "--log-tensors", "every", "--quiet"])
        let database = directory.path(databaseName)
        XCTAssertEqual(try ReportFixture.execute("UPDATE tensors SET rows = 4, cols = 2 WHERE run_id = 1 AND epoch = 3 AND layer = 1 AND kind = 'weight';",
                                                 at: database), 1)
        let fit = "its stored weights of epoch 3 do not fit its network (layer 1 parameters weight is 4 x 2, expected 2 x 4): the database was changed outside Slope"
        XCTAssertEqual(try run("report", ["explain", "1", "--epoch", "3", "--layer", "1", "--weight", "0,0", "--row", "0"], expect: 1).error,
                       "report: error: cannot inspect the run: \(fit)\n")
        XCTAssertEqual(try ReportFixture.execute("UPDATE runs SET status = 'queued' WHERE id = 1;", at: database), 1)
        let resumed = try run("runner", ["resume"], expect: 1).error
        XCTAssertTrue(resumed.contains("run 1 cannot be used: \(fit)"), resumed)
    }
}
