// Numbers too large for an Int through the built binaries: valid flags whose storage estimate is
// beyond an Int64, an --init-weights shape whose size overflows, a hand-edited stored config (a
// layer of 2^63 - 1 units, 2^63 - 1 epochs). Each crashed with an arithmetic overflow (exit 132);
// now the estimate is printed, the file and the run are refused with one line.
import Experiments
import Foundation
@testable import Store
import TestSupport
import XCTest

final class HostileNumbersCLITests: CLITestCase {
    override var databaseName: String { "n.db" }

    /// 100 runs of a 64-2000-2000-10 float64 adam network (4,152,010 parameters: weights, gradients
    /// and adam's m and v are 4 x 8 x 4,152,010 = 132.9 MB an epoch) for 10^9 epochs: about
    /// 1.33e19 bytes, beyond an Int64 (9.22e18). The sum overflowed; now it is printed with the warning.
    func testAStorageEstimateBeyondAnInt64IsPrintedWithItsWarning() throws {
        let seeds = (0..<100).map(String.init)
        let (output, error) = try run("runner", ["sweep", "--dataset", "digits", "--hidden", "2000,2000", "--precision", "float64",
                                                 "--optimizer", "adam", "--epochs", "1000000000", "--seed", seeds.joined(separator: ","),
                                                 "--queue-only"])
        var settings = RunSettings()
        settings.hidden = [2000, 2000]
        settings.precision = .float64
        settings.optimizer = .adam
        settings.epochs = 1_000_000_000
        let first = try RunConfiguration.make(settings)
        let estimate = StorageEstimate(configurations: (0..<100).map { seed in
            var configuration = first
            configuration.training.seed = UInt64(seed)
            return configuration
        })
        XCTAssertEqual(first.training.parameterCount, 4_152_010)
        XCTAssertGreaterThan(estimate.bytes, 100 * 1e9 * 4 * 8 * 4_152_010)  // the values alone, without SQLite's pages
        XCTAssertLessThan(estimate.bytes, 1.01 * 100 * 1e9 * 4 * 8 * 4_152_010)
        XCTAssertGreaterThan(estimate.bytes, Double(Int64.max))
        let size = SlopeStore.describeBytes(estimate: estimate.bytes)
        XCTAssertTrue(size.hasPrefix("13") && size.hasSuffix(" GB") && size.count == "13286858240.0 GB".count, size)
        XCTAssertTrue(output.hasPrefix("estimated database growth: \(size) (100 runs, 100000000100 logged epochs with tensors)\n"), output)
        XCTAssertEqual(error, "warning: this will add about \(size) to \(directory.path("n.db")); store only the first and last epochs' tensors "
                              + "with --log-tensors final, or shrink a finished sweep later with `runner compact`\n")
        XCTAssertTrue(output.contains("100 runs queued"), output)
    }

    /// rows x cols of a flat `values` list overflowed while being checked against the values given.
    func testAnInitWeightsShapeBeyondAnIntIsABadValue() throws {
        try write("w.json", #"{"tensors":[{"layer":1,"kind":"weight","rows":4611686018427387904,"cols":4,"values":[]}]}"#)
        let rows = try run("runner", ["train", "--dataset", "xor", "--hidden", "2", "--epochs", "1", "--init-weights", "w.json"], expect: 2).error
        XCTAssertEqual(rows, "error: w.json: not a Slope weights file: bad value at .tensors[0].rows "
                             + "(4611686018427387904 x 4 is more values than a tensor can hold)\n")
        // Without rows, a flat list is one row: cols is the value blamed.
        try write("c.json", #"{"tensors":[{"layer":1,"kind":"weight","cols":-9223372036854775807,"values":[1]}]}"#)
        let negative = try run("runner", ["train", "--dataset", "xor", "--hidden", "2", "--epochs", "1", "--init-weights", "c.json"], expect: 2).error
        XCTAssertEqual(negative, "error: c.json: not a Slope weights file: bad value at .tensors[0].values (1 values for 1 x -9223372036854775807)\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.path("n.db")), "nothing written")
    }

    /// A queued run whose stored config was edited by hand: checked with the flags' own rules
    /// before anything uses it, so the run ends `failed` with the reason (the memory check
    /// overflowed on the layer; 2^63 - 1 epochs trained for ever). `report layers`, which rebuilds
    /// the network from the same config for its dead units, says the same.
    func testAHandEditedStoredConfigFailsItsRunWithTheReason() throws {
        try run("runner", ["train", "--dataset", "xor", "--hidden", "2", "--epochs", "1", "--validation", "0", "--quiet"])
        let cases = [
            ("json_set(config, '$.training.layerSizes[1]', 9223372036854775807)",
             "invalid layerSizes [2, 9223372036854775807, 2]: a layer has at most 16777216 units (found 9223372036854775807)"),
            ("json_set(config, '$.training.epochs', 9223372036854775807)",
             "training.epochs: '9223372036854775807' is not accepted; expected a whole number from 0 to 1000000000"),
            ("json_set(config, '$.data.validationFraction', 1.5)",
             "data.validationFraction: '1.5' is not accepted; expected a fraction in [0, 1), e.g. 0.2"),
            ("replace(config, '\"seed\":0', '\"seed\":18446744073709551615')",  // json_set would write it as a float
             "training.seed: '18446744073709551615' is not accepted; expected a whole number from 0 to 9223372036854775807"),
        ]
        for (edit, reason) in cases {
            let store = try SlopeStore(path: directory.path("n.db"))
            _ = try store.backend.write { try $0.execute("UPDATE runs SET status = 'queued', config = \(edit) WHERE id = 1", []) }
            try store.close()
            let message = "run 1 cannot be used: its stored config is not valid: " + reason
            let layers = try run("report", ["layers", "1"]).output  // the norms; the dead units need the network rebuilt
            XCTAssertTrue(layers.contains("\ndead ReLU fractions unavailable: \(message)\n"), layers)
            let resume = try run("runner", ["resume", "--quiet"], expect: 1).error
            XCTAssertTrue(resume.hasPrefix("error: run 1 failed: \(message) (see `"), resume)
            XCTAssertTrue(resume.hasSuffix("report show 1 --db \(directory.path("n.db"))`)\n"), resume)
            let check = try SlopeStore(path: directory.path("n.db"), mode: .readOnly)
            let stored = try check.run(id: 1)
            XCTAssertEqual(stored.status, .failed)
            XCTAssertEqual(stored.error, message)
            try check.close()
            // Back to the config the run was made with, for the next edit.
            let restore = try SlopeStore(path: directory.path("n.db"))
            _ = try restore.backend.write { try $0.execute("UPDATE runs SET config = json_set(config, '$.training.layerSizes', json('[2,2,2]'), "
                                                           + "'$.training.epochs', 1, '$.data.validationFraction', 0, '$.training.seed', 0)", []) }
            try restore.close()
        }
    }

    /// In a sweep file a whole number may be written as a float (YAML's 1e3): a seed of 1e18 was
    /// refused (beyond 2^53) where a batch size of 1e3 was taken; and a width of 1e9, which the
    /// engine refuses, was named by its flag (--hidden) rather than where the file gives it.
    func testWholeNumbersWrittenAsFloatsInASweepFile() throws {
        try write("s.yaml", "fixed: {dataset: xor, epochs: 1, validation: 0, seed: 1e18, batch_size: 1e3}\n")
        try run("runner", ["sweep", "s.yaml", "--queue-only", "--quiet"])
        let store = try SlopeStore(path: directory.path("n.db"), mode: .readOnly)
        let runs = try store.runs(sweepID: 1)
        XCTAssertEqual(runs.map(\.settings.seed), [1_000_000_000_000_000_000])
        XCTAssertEqual(runs.map(\.settings.batchSize), [1000])
        try store.close()
        try write("h.yaml", "fixed: {dataset: xor, hidden: [1e9]}\n")
        XCTAssertEqual(try run("runner", ["sweep", "h.yaml", "--queue-only"], expect: 2).error,
                       "error: h.yaml: fixed.hidden: '[1e9]' is not accepted: a layer has at most 16777216 units (found 1000000000)\n")
        try write("v.yaml", "fixed: {dataset: xor}\nparameters: {hidden: {values: [[2], [1e9]]}}\n")
        XCTAssertEqual(try run("runner", ["sweep", "v.yaml", "--queue-only"], expect: 2).error,
                       // The run is named by its values as the file writes them (docs/sweeps.md), and so is the refused
                       // width (it was '1000000000' next to the label's [1e9]); the limit's "found" is the number it is.
                       "error: v.yaml: the run with hidden=[1e9]: parameters.hidden.values: '[1e9]' is not accepted: "
                       + "a layer has at most 16777216 units (found 1000000000)\n")
    }
}
