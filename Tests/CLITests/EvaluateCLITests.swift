// `report evaluate` through the built binaries: a hand-computed case (standardization from the
// run's training rows, class names in the run's order, columns matched by name), the stored
// val_loss of a run reproduced on its own validation rows, predictions files, and bad input.
import Experiments
import Foundation
import NeuralNet
import Store
import TestSupport
import XCTest

final class EvaluateCLITests: CLITestCase {
    override var databaseName: String { "e.db" }

    /// A 2-2 softmax network (no hidden layer) with identity weights, trained for 0 epochs on
    /// standardized data: its logits are the standardized features.
    private func makeHandRun() throws {
        // x1: 0, 2, 0, 2 -> mean 1, std 1; x2: 1, 1, 3, 3 -> mean 2, std 1. Classes: cat (0), dog (1).
        try write("train.csv", "x1,x2,label\n0,1,cat\n2,1,dog\n0,3,cat\n2,3,dog\n")
        try write("w.json", #"{"tensors": [{"layer": 1, "kind": "weight", "rows": 2, "cols": 2, "values": [[1, 0], [0, 1]]},"#
                  + #" {"layer": 1, "kind": "bias", "rows": 1, "cols": 2, "values": [0, 0]}]}"#)
        try run("runner", ["train", "--dataset", "train.csv", "--hidden", "none", "--standardize", "--validation", "0",
                           "--epochs", "0", "--batch-size", "4", "--init-weights", "w.json", "--quiet"])
    }

    func testHandComputedLossAccuracyConfusionAndPredictions() throws {
        try makeHandRun()
        // Columns in another order than training's. Standardized: (1, 0) cat, (0, 2) dog, (3, 0) dog.
        try write("test.csv", "label,x2,x1\ncat,2,2\ndog,4,1\ndog,2,4\n")
        // Softmax cross-entropy of logits z for class c: log(1 + exp(z_other - z_c)).
        let losses = [log(1 + exp(-1.0)), log(1 + exp(-2.0)), log(1 + exp(3.0))]
        let expectedLoss = losses.reduce(0, +) / 3

        let json = try run("report", ["evaluate", "1", "--data", "test.csv", "--format", "json"]).output
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any], json)
        XCTAssertEqual(try XCTUnwrap(object["loss"] as? Double), expectedLoss, accuracy: 1e-6)
        XCTAssertEqual(object["accuracy"] as? Double, 2.0 / 3.0)
        XCTAssertEqual(object["classes"] as? [String], ["cat", "dog"])
        XCTAssertEqual(object["confusion"] as? [[Int]], [[1, 0], [1, 1]])  // the third row (dog) is taken for a cat
        XCTAssertEqual(object["epoch"] as? Int, 0)
        XCTAssertEqual(object["rows"] as? Int, 3)

        let (table, _) = try run("report", ["evaluate", "1", "--data", "test.csv", "--predictions", "predicted.csv"])
        XCTAssertTrue(table.contains("accuracy:  0.6667 (2 of 3 rows)"), table)
        XCTAssertTrue(table.contains("confusion matrix (rows: actual label, columns: predicted)"), table)
        let written = try String(contentsOfFile: directory.path("predicted.csv"), encoding: .utf8)
        XCTAssertTrue(table.hasSuffix("\nwrote predicted.csv (\(SlopeStore.describeBytes(Int64(written.utf8.count))))\n"), table)
        let lines = written.split(separator: "\n")
        XCTAssertEqual(lines.first, "row,predicted,label,p_cat,p_dog")
        XCTAssertEqual(lines.count, 4)
        let probabilitiesOfCat = [1 / (1 + exp(-1.0)), 1 / (1 + exp(2.0)), 1 / (1 + exp(-3.0))]
        for (index, line) in lines.dropFirst().enumerated() {
            let fields = line.split(separator: ",").map(String.init)
            XCTAssertEqual(Array(fields.prefix(3)), [String(index + 1), ["cat", "dog", "cat"][index], ["cat", "dog", "dog"][index]])
            XCTAssertEqual(try XCTUnwrap(Double(fields[3])), probabilitiesOfCat[index], accuracy: 1e-6)
            XCTAssertEqual(try XCTUnwrap(Double(fields[4])), 1 - probabilitiesOfCat[index], accuracy: 1e-6)
        }

        // Without the target column: predictions only.
        try write("unlabelled.csv", "x1,x2\n2,2\n")
        let (unlabelled, _) = try run("report", ["evaluate", "1", "--data", "unlabelled.csv", "--predictions", "-"])
        XCTAssertTrue(unlabelled.contains("row,predicted,p_cat,p_dog\n1,cat,"), unlabelled)
        XCTAssertTrue(unlabelled.contains("no 'label' column: predictions only"), unlabelled)
        XCTAssertFalse(unlabelled.contains("wrote "), unlabelled)
    }

    func testRegressionLossAndPredictions() throws {
        // y = 2 x + 1 exactly, from the weights given: a linear model (no hidden layer), mse.
        try write("line.csv", "x,y\n0,1\n1,3\n2,5\n")
        try write("line.json", #"{"tensors": [{"layer": 1, "kind": "weight", "rows": 1, "cols": 1, "values": [2]},"#
                  + #" {"layer": 1, "kind": "bias", "rows": 1, "cols": 1, "values": [1]}]}"#)
        try run("runner", ["train", "--dataset", "line.csv", "--task", "regression", "--hidden", "none", "--validation", "0", "--epochs", "0",
                           "--init-weights", "line.json", "--quiet"])
        // Predictions 3 and 5 against 3 and 4: squared errors 0 and 1, mean 0.5.
        try write("points.csv", "y,x\n3,1\n4,2\n")
        let json = try run("report", ["evaluate", "1", "--data", "points.csv", "--format", "json", "--predictions", "p.csv"]).output
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any], json)
        XCTAssertEqual(object["loss"] as? Double, 0.5)
        XCTAssertTrue(object["accuracy"] is NSNull)
        XCTAssertNil(object["confusion"])
        XCTAssertEqual(try String(contentsOfFile: directory.path("p.csv"), encoding: .utf8), "row,predicted,y\n1,3.0,3.0\n2,5.0,4.0\n")
        // No hidden layer: show names the output's activation only (relu, stored, is used by no layer).
        XCTAssertTrue(try run("report", ["show", "1"]).output.contains("\nmodel:      1-1  identity  loss mse  float32\n"))
    }

    func testBadFilesAreOneLineErrors() throws {
        try makeHandRun()
        let cases: [(String, String, Int32, String)] = [
            ("missing.csv", "x1,label\n2,cat\n", 2, "no column 'x2'"),
            ("bird.csv", "x1,x2,label\n2,2,bird\n", 2, "data row 1 has class 'bird', which the run was not trained on (its classes: cat, dog)"),
            ("extra.csv", "id,x1,x2,label\n1,2,2,cat\n", 2, "'id'"),
            // An id column of text: said as a column to remove, before any cell of it (hostile17 H2).
            ("named.csv", "id,x1,x2,label\nfoo,2,2,cat\n", 2,
             "named.csv, line 1, column 'id': is neither a feature of the run (x1, x2) nor its target 'label'; remove that column"),
            ("short.csv", "x1,x2,label\n2,2,cat\n2,cat\n", 2, "short.csv"),
            ("empty.csv", "x1,x2,label\n", 2, "no data rows"),
        ]
        for (name, text, status, message) in cases {
            try write(name, text)
            let error = try run("report", ["evaluate", "1", "--data", name], expect: status).error
            XCTAssertTrue(error.contains(message), "\(name): \(error)")
        }
        XCTAssertTrue(try run("report", ["evaluate", "1", "--data", "nothere.csv"], expect: 2).error.contains("no such file"))
        // A device is named as such (it was "cannot read the file (permissions?)").
        let device = try run("report", ["evaluate", "1", "--data", "/dev/null"], expect: 2).error
        XCTAssertTrue(device.contains("/dev/null: is a device (/dev/null), not a file; give a CSV file"), device)
        XCTAssertTrue(try run("report", ["evaluate", "1", "--data", "missing.csv", "--epoch", "5"], expect: 1).error.contains("no tensors for epoch 5"))
        XCTAssertTrue(try run("report", ["evaluate", "1", "--data", "bird.csv", "--format", "csv"], expect: 2).error.contains("--predictions"))
        XCTAssertTrue(try run("report", ["evaluate", "1"], expect: 2).error.contains("--data"))
        // --predictions never overwrites the file being scored nor the database, and its errors name it.
        try write("keep.csv", "x1,x2,label\n2,2,cat\n")
        let same = try run("report", ["evaluate", "1", "--data", "keep.csv", "--predictions", "./keep.csv"], expect: 2).error
        XCTAssertTrue(same.contains("--predictions ./keep.csv is the --data file"), same)
        XCTAssertEqual(try String(contentsOfFile: directory.path("keep.csv"), encoding: .utf8), "x1,x2,label\n2,2,cat\n")
        let database = try run("report", ["evaluate", "1", "--data", "keep.csv", "--predictions", databaseName], expect: 2).error
        XCTAssertTrue(database.hasPrefix("report: error: --predictions \(databaseName) is the database being read"), database)
        XCTAssertTrue(try run("report", ["evaluate", "1", "--data", "keep.csv", "--predictions", ""], expect: 2).error.contains("--predictions: give a file name"))
        // CSV and JSON on one standard output could not be parsed.
        let mixed = try run("report", ["evaluate", "1", "--data", "keep.csv", "--predictions", "-", "--format", "json"], expect: 2)
        XCTAssertTrue(mixed.error.contains("--predictions - with --format json"), mixed.error)
        XCTAssertEqual(mixed.output, "")
        // A changed training file: its standardization cannot be trusted any more.
        try write("train.csv", "x1,x2,label\n0,1,cat\n2,1,dog\n0,3,cat\n2,5,dog\n")
        try write("test.csv", "x1,x2,label\n2,2,cat\n")
        XCTAssertTrue(try run("report", ["evaluate", "1", "--data", "test.csv"], expect: 2).error.contains("changed since the run was queued"))
        // The training file gone (or evaluate run from another folder): said as the run's training data, not the --data file (hostile17 H8).
        try FileManager.default.removeItem(atPath: directory.path("train.csv"))
        let gone = try run("report", ["evaluate", "1", "--data", "test.csv"], expect: 2).error
        XCTAssertTrue(gone.hasPrefix("report: error: train.csv: no such file in the current folder or the database's folder (the run was queued "
                                     + "with this path relative to the folder it was started from); evaluate reads the run's training data again for its "), gone)
        XCTAssertTrue(gone.hasSuffix("columns: run it where that file is (the folder the run was started from), or put the file back\n"), gone)
    }

    /// A stored configuration that does not decode (hand-edited) is one line that names the run,
    /// the JSON path and what is wrong, not "cannot be resumed" or Swift's dump of the error.
    func testAStoredConfigurationThatDoesNotDecodeIsOneLine() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: "/usr/bin/sqlite3"), "needs the sqlite3 shell")
        try makeHandRun()
        try write("test.csv", "label,x2,x1\ncat,2,2\n")
        let edit = try ChildProcess.run(URL(fileURLWithPath: "/usr/bin/sqlite3"), [
            directory.path(databaseName), "UPDATE runs SET config = json_set(config, '$.training.layerSizes', json('[2,\"two\"]'))",
        ])
        XCTAssertEqual(edit.status, 0, edit.error)
        let expected = "run 1 cannot be used: its stored config does not decode: "
            + "bad value at .training.layerSizes[1]: Expected to decode Int but found a string instead.\n"
        XCTAssertEqual(try run("report", ["evaluate", "1", "--data", "test.csv"], expect: 1).error, "report: error: " + expected)
        XCTAssertEqual(try run("report", ["explain", "1", "--layer", "1", "--weight", "0,0"], expect: 1).error,
                       "report: error: cannot inspect the run: " + expected)
    }

    func testEvaluatingARunsOwnValidationRowsGivesItsStoredValidationLoss() throws {
        // 120 rows, 3 features on different scales, 3 classes; float64, standardized, 25% validation.
        var generator = TestSupport.TestRandom(seed: 11)
        var lines = ["a,b,c,class"]
        for _ in 0..<120 {
            let a = generator.uniform(0, 10), b = generator.uniform(-0.5, 0.5), c = generator.uniform(0, 1000)
            let label = a / 10 + b > 0.8 ? 2 : (c > 500 ? 1 : 0)
            lines.append(String(format: "%.17g,%.17g,%.17g,%d", a, b, c, label))
        }
        try write("data.csv", lines.joined(separator: "\n") + "\n")
        try run("runner", ["train", "--dataset", "data.csv", "--hidden", "8", "--standardize", "--validation", "0.25",
                           "--epochs", "3", "--precision", "float64", "--seed", "3", "--quiet"])
        let store = try SlopeStore(path: directory.path("e.db"), mode: .readOnly)
        let configuration = try RunConfiguration.decode(json: try store.run(id: 1).settings.configJSON, runID: 1)
        let stored = try store.epochs(runID: 1)
        try store.close()
        // The rows the run held out: split the row numbers as the run split its rows.
        let numbers = Dataset(features: (0..<120).map(Double.init), rowCount: 120, featureCount: 1,
                              targets: .labels([Int](repeating: 0, count: 120), classCount: 1))
        let held = try XCTUnwrap(numbers.split(validationFraction: configuration.data.validationFraction,
                                               seed: configuration.data.splitSeed).validation).features.map { Int($0) }
        XCTAssertEqual(held.count, 30)
        try write("validation.csv", ([lines[0]] + held.map { lines[$0 + 1] }).joined(separator: "\n") + "\n")
        for epoch in [0, 2, 3] {
            let json = try run("report", ["evaluate", "1", "--data", "validation.csv", "--epoch", String(epoch), "--format", "json"]).output
            let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any], json)
            let loss = try XCTUnwrap(object["loss"] as? Double), expected = try XCTUnwrap(stored[epoch].validationLoss)
            XCTAssertEqual(loss, expected, accuracy: 1e-12 * max(1, expected), "epoch \(epoch)")
            // The same count of right answers over 30 rows (the division may round differently).
            XCTAssertEqual(try XCTUnwrap(object["accuracy"] as? Double) * 30, try XCTUnwrap(stored[epoch].validationAccuracy) * 30,
                           accuracy: 1e-9, "epoch \(epoch)")
        }
    }

    /// hostile15 F15: a row whose outputs overflow gets no class picked from NaNs (nor a NaN loss):
    /// it is named, left out of loss, accuracy and confusion matrix, its prediction empty; a number
    /// beyond float32 is refused as training refuses it.
    func testRowsWhoseOutputsAreNotFiniteAreLeftOutAndNamed() throws {
        // Logits are twice the raw features (no standardization): 3e38 fits float32, 6e38 does not.
        try write("train.csv", "x1,x2,label\n0,1,cat\n2,1,dog\n")
        try write("w.json", #"{"tensors": [{"layer": 1, "kind": "weight", "rows": 2, "cols": 2, "values": [[2, 0], [0, 2]]},"#
                  + #" {"layer": 1, "kind": "bias", "rows": 1, "cols": 2, "values": [0, 0]}]}"#)
        try run("runner", ["train", "--dataset", "train.csv", "--hidden", "none", "--validation", "0",
                           "--epochs", "0", "--init-weights", "w.json", "--quiet"])
        // Row 1 overflows; rows 2 (x2 > x1: dog, but a cat) and 3 (x2 > x1: dog, right) are scored.
        try write("test.csv", "x1,x2,label\n3e38,2,dog\n3,4,cat\n1,5,dog\n")
        let note = "note: row 1: the network's outputs overflow (not finite) at this row's inputs; it has no prediction "
            + "(empty in the predictions file) and is left out of the loss, accuracy and confusion matrix\n"
        let (table, _) = try run("report", ["evaluate", "1", "--data", "test.csv", "--predictions", "p.csv"])
        XCTAssertTrue(table.contains("accuracy:  0.5 (1 of 2 rows with finite outputs)\n" + note), table)
        XCTAssertTrue(table.contains("the mean over the 2 rows with finite outputs, as val_loss is computed)"), table)
        let written = try String(contentsOfFile: directory.path("p.csv"), encoding: .utf8)
        let lines = written.split(separator: "\n").map(String.init)
        XCTAssertEqual(Array(lines.prefix(2)), ["row,predicted,label,p_cat,p_dog", "1,,dog,,"])
        XCTAssertTrue(lines[2].hasPrefix("2,dog,cat,"), written)
        XCTAssertTrue(lines[3].hasPrefix("3,dog,dog,"), written)
        // Cross-entropy over rows 2 and 3 only: logits (6, 8) for a cat, (2, 10) for a dog.
        let expectedLoss = (log(1 + exp(2.0)) + log(1 + exp(-8.0))) / 2
        let json = try run("report", ["evaluate", "1", "--data", "test.csv", "--format", "json"]).output
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any], json)
        XCTAssertEqual(try XCTUnwrap(object["loss"] as? Double), expectedLoss, accuracy: 1e-5)
        XCTAssertEqual(object["accuracy"] as? Double, 0.5)
        XCTAssertEqual(object["rows"] as? Int, 3)
        XCTAssertEqual(object["scored_rows"] as? Int, 2)
        XCTAssertEqual(object["not_finite_rows"] as? [Int], [1])
        XCTAssertEqual(object["confusion"] as? [[Int]], [[0, 1], [0, 1]])

        // Without a target column: predictions only, the row named, its prediction empty.
        try write("unlabelled.csv", "x1,x2\n1,2\n3e38,3e38\n3e38,2\n")
        let (predictionsOnly, _) = try run("report", ["evaluate", "1", "--data", "unlabelled.csv", "--predictions", "-"])
        XCTAssertTrue(predictionsOnly.hasPrefix("row,predicted,p_cat,p_dog\n1,dog,"), predictionsOnly)
        XCTAssertTrue(predictionsOnly.contains("\n3,,,\n"), predictionsOnly)
        XCTAssertTrue(predictionsOnly.contains("\nnote: rows 2, 3 (2 of 3): the network's outputs overflow (not finite) at these rows' "
            + "inputs; they have no prediction (empty in the predictions file)\n"), predictionsOnly)

        // No row with finite outputs: nothing to score, exit 1, one line.
        try write("all.csv", "x1,x2,label\n3e38,2,dog\n")
        XCTAssertEqual(try run("report", ["evaluate", "1", "--data", "all.csv"], expect: 1).error,
                       "report: error: run 1 cannot score all.csv: row 1: the network's outputs overflow (not finite) at this row's inputs; "
                       + "rescale the file's features\n")
        // Beyond float32: training's check, exit 2 (run 1 is float32).
        try write("huge.csv", "x1,x2,label\n1,2,cat\n1e39,2,dog\n")
        XCTAssertEqual(try run("report", ["evaluate", "1", "--data", "huge.csv"], expect: 2).error,
                       "report: error: huge.csv, line 3, column 'x1' (1): '1e39' is beyond the float32 range (about ±3.4e38) "
                       + "that the run computes in; rescale the column\n")
    }

    /// A regression run's overflowing row: no made-up value, left out of the loss.
    func testARegressionRowThatOverflowsIsLeftOutOfTheLoss() throws {
        // y = 2 x + 1 (float32): x = 3e38 gives 6e38, infinite in float32.
        try write("line.csv", "x,y\n0,1\n1,3\n2,5\n")
        try write("line.json", #"{"tensors": [{"layer": 1, "kind": "weight", "rows": 1, "cols": 1, "values": [2]},"#
                  + #" {"layer": 1, "kind": "bias", "rows": 1, "cols": 1, "values": [1]}]}"#)
        try run("runner", ["train", "--dataset", "line.csv", "--task", "regression", "--hidden", "none", "--validation", "0", "--epochs", "0",
                           "--init-weights", "line.json", "--quiet"])
        try write("points.csv", "x,y\n1,3\n3e38,4\n2,4\n")
        let json = try run("report", ["evaluate", "1", "--data", "points.csv", "--format", "json", "--predictions", "p.csv"]).output
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any], json)
        XCTAssertEqual(object["loss"] as? Double, 0.5)  // squared errors 0 and 1 of rows 1 and 3
        XCTAssertEqual(object["not_finite_rows"] as? [Int], [2])
        XCTAssertEqual(try String(contentsOfFile: directory.path("p.csv"), encoding: .utf8), "row,predicted,y\n1,3.0,3.0\n2,,4.0\n3,5.0,4.0\n")
        let table = try run("report", ["evaluate", "1", "--data", "points.csv"]).output
        XCTAssertTrue(table.contains("\nnote: row 2: the network's outputs overflow (not finite) at this row's inputs; it has no prediction "
            + "(empty in the predictions file) and is left out of the loss\n"), table)
        // A target beyond float32 is refused in a regression run (it is a number the run computes with).
        try write("far.csv", "x,y\n1,1e39\n")
        XCTAssertTrue(try run("report", ["evaluate", "1", "--data", "far.csv"], expect: 2).error
            .contains("far.csv, line 2, column 'y' (2): '1e39' is beyond the float32 range"))
    }
}
