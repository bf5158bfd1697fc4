// hostile15 F22: the small things, each through the built binaries with the exact line now said:
// plurals, `report layers` of a network without ReLU units, `report importance` naming a setting it
// leaves out, a plot of one epoch, `--log-tensors` read as the other numeric flags, a TPE sweep of
// one trial, a database in a folder nobody may write.
import Foundation
import TestSupport
import XCTest

final class HostileNitsCLITests: CLITestCase {
    func testOneRowIsOneRow() throws {
        try write("one.csv", "a,b,y\n1,2,0.5\n")
        let error = try run("runner", ["train", "--dataset", "one.csv", "--task", "regression", "--epochs", "1"], expect: 2).error
        XCTAssertEqual(error, "error: one.csv: 1 row is too few for a validation fraction of 0.2 (1 training, 0 validation rows); "
                       + "use more rows or --validation 0\n")
    }

    func testLayersOfANetworkWithoutHiddenLayersSpeakOfNoReLU() throws {
        try run("runner", ["train", "--dataset", "xor", "--hidden", "none", "--validation", "0", "--epochs", "2", "--quiet"])
        let output = try run("report", ["layers", "1"]).output
        XCTAssertTrue(output.hasPrefix("layers of run 1 lr=0.05 bs=32: 2-2, no hidden layer\n"), output)
        XCTAssertFalse(output.contains("dead_relu"), output)
        XCTAssertFalse(output.contains("ReLU"), output)
        XCTAssertTrue(output.contains("\ngradients neither vanishing nor exploding; "), output)
        // csv keeps the column (null), so files of different runs line up.
        XCTAssertTrue(try run("report", ["layers", "1", "--format", "csv"]).output.hasPrefix("epoch,layer,weight_l2,gradient_l2,update_to_weight_ratio,dead_relu_fraction,flags\n"))
    }

    func testImportanceSaysWhyASettingThatVariesIsLeftOut() throws {
        try run("runner", ["sweep", "--dataset", "xor", "--hidden", "2", "--seed", "0,1", "--validation", "0", "--epochs", "2", "--quiet"])
        XCTAssertEqual(try run("report", ["importance", "--sweep", "1"]).output,
                       "no setting's importance can be estimated from the 2 finished runs of sweep 1: seed varies, but every run has a value "
                       + "of its own (a group of one run explains all of its own variance); it needs runs that share a value\n")
        // With 4 runs or more a numeric seed is put into quantile bins and estimated: no note then.
        try run("runner", ["sweep", "--dataset", "xor", "--hidden", "2", "--seed", "2,3,4,5", "--validation", "0", "--epochs", "2", "--quiet"])
        let output = try run("report", ["importance", "--sweep", "2"]).output
        XCTAssertFalse(output.contains("left out"), output)
        XCTAssertTrue(output.contains("\nseed "), output)
    }

    func testAPlotOfOneEpochLabelsThatEpochOnly() throws {
        try run("runner", ["train", "--dataset", "xor", "--epochs", "0", "--quiet"])
        let output = try run("report", ["curves", "1", "--columns", "80"]).output
        let lines = output.split(separator: "\n").map(String.init)
        let axis = try XCTUnwrap(lines.firstIndex { $0.trimmingCharacters(in: .whitespaces) == "epoch" }).advanced(by: -1)
        XCTAssertEqual(lines[axis].trimmingCharacters(in: .whitespaces), "0", output)
        XCTAssertFalse(output.contains("-0.5") || output.contains("0.5 "), output)
    }

    func testLogTensorsIsReadAsTheOtherNumericFlagsAre() throws {
        // Spaces around a number, as --hidden " 4" and --epochs " 2" take them.
        try run("runner", ["train", "--dataset", "xor", "--hidden", " 4", "--epochs", " 2", "--log-tensors", " 2", "--quiet"])
        XCTAssertTrue(try run("report", ["show", "1"]).output.contains("log_tensors"), "stored")
        let json = try run("report", ["runs", "--format", "json"]).output
        XCTAssertTrue(json.contains("\"log_tensors\": \"2\""), json)
        XCTAssertEqual(try run("runner", ["train", "--dataset", "xor", "--log-tensors", "99999999999999999999"], expect: 2).error,
                       "error: --log-tensors: '99999999999999999999' is not accepted; expected every, final, or a whole number N from 1 "
                       + "to 1000000000 (every N epochs)\n")
        XCTAssertEqual(try run("runner", ["train", "--dataset", "xor", "--log-tensors", "1000000001"], expect: 2).error,
                       "error: --log-tensors: '1000000001' is not accepted; expected every, final, or a whole number N from 1 "
                       + "to 1000000000 (every N epochs)\n")
    }

    func testATPESweepOfOneTrialSaysTrainIt() throws {
        try write("tpe.yaml", """
            method: tpe
            count: 1
            metric: {name: train_loss}
            fixed: {dataset: xor, hidden: [4], epochs: 1, validation: 0}
            parameters:
              learning_rate: {distribution: log_uniform, min: 0.01, max: 1}
            """)
        let output = try run("runner", ["sweep", "tpe.yaml", "--queue-only"]).output
        XCTAssertTrue(output.contains("sweep 1 (tpe): 1 trial to sample; train it with: runner work --sweep 1 --db "), output)
    }

    func testANewDatabaseInAFolderNobodyMayWriteNamesTheFolder() throws {
        let folder = directory.path("ro")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        guard let undo = Unwritable.make(folder) else { throw XCTSkip("cannot make a folder unwritable here") }
        defer { undo() }
        let result = try ChildProcess.run(builtExecutable("runner"), ["train", "--dataset", "xor", "--epochs", "1", "--db", "ro/new.db"],
                                          currentDirectory: directory.url)
        XCTAssertEqual(result.status, 1, result.error)
        XCTAssertEqual(result.error, "error: cannot create ro/new.db: the folder \(folder) is not writable (give a path in a folder you can write)\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.path("ro/new.db")))
    }
}
