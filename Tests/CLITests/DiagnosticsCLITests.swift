// The two networks that do not learn, through the built binaries: a 6-layer sigmoid
// network at chance level (vanishing updates) and lr=50 (exploding weights), flagged by runner's
// summary, `report layers` and `report show`.
import Foundation
import TestSupport
import XCTest

final class DiagnosticsCLITests: CLITestCase {
    private func output(_ tool: String, _ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        try run(tool, arguments, file: file, line: line).output
    }

    func testSixLayerSigmoidNetworkAtChanceIsFlaggedEverywhere() throws {
        // 64-32-32-32-32-32-10: six weight layers of sigmoid units at a small learning rate.
        let summary = try output("runner", ["train", "--dataset", "digits", "--hidden", "32,32,32,32,32", "--activation", "sigmoid",
                                         "--learning-rate", "0.01", "--epochs", "6", "--seed", "1"])
        XCTAssertTrue(summary.contains("not learning well"), summary)
        XCTAssertTrue(summary.contains("run 1 vanishing-updates in layers 1-"), summary)
        XCTAssertTrue(summary.contains("try relu hidden units (--activation relu) instead of sigmoid"), summary)
        XCTAssertTrue(summary.contains("run 1 chance-accuracy at epoch 6: val_accuracy 0.0"), summary)

        let layers = try output("report", ["layers", "1"])
        let rowsOfLayer1 = layers.split(separator: "\n").filter { $0.hasPrefix("    6      1 ") }
        XCTAssertEqual(rowsOfLayer1.count, 1, layers)
        XCTAssertTrue(rowsOfLayer1[0].hasSuffix("vanishing-updates"), layers)
        XCTAssertTrue(layers.contains("diagnosis (see docs/cli-report.md, Diagnostics):"), layers)
        XCTAssertTrue(layers.contains("chance-accuracy at epoch 6"), layers)
        XCTAssertFalse(layers.contains("no vanishing updates, exploding weights or chance-level accuracy seen"), layers)

        let show = try output("report", ["show", "1"])
        XCTAssertTrue(show.contains("vanishing-updates in layers 1-"), show)
        XCTAssertTrue(show.contains("chance-accuracy at epoch 6"), show)
    }

    func testLearningRate50ExplodesAndIsFlagged() throws {
        let summary = try output("runner", ["train", "--dataset", "digits", "--hidden", "32", "--learning-rate", "50",
                                         "--epochs", "3", "--seed", "1"])
        XCTAssertTrue(summary.contains("run 1 exploding-weights in layer"), summary)
        XCTAssertTrue(summary.contains("try a smaller --learning-rate"), summary)
        // The dead units after the explosion are not called vanishing (raising the rate would be wrong advice).
        XCTAssertFalse(summary.contains("vanishing-updates"), summary)
        let layers = try output("report", ["layers", "1"])
        let epoch1 = layers.split(separator: "\n").filter { $0.hasPrefix("    1      ") }
        XCTAssertFalse(epoch1.isEmpty, layers)
        XCTAssertTrue(epoch1.contains { $0.contains("exploding-weights") }, layers)
        XCTAssertTrue(try output("report", ["show", "1"]).contains("exploding-weights"))
        let json = try output("report", ["show", "1", "--format", "json"])
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any], json)
        let diagnosis = try XCTUnwrap(object["diagnosis"] as? [[String: Any]], json)
        XCTAssertEqual(diagnosis.first?["kind"] as? String, "exploding-weights", json)
        XCTAssertEqual((diagnosis.first?["epochs_by_layer"] as? [String: [Int]])?["1"], [1], json)
    }

    /// The advice fits the run: a classification run is not told to scale a regression target, and
    /// a CSV whose features were not standardized is told of --standardize (newuser15 N6: features
    /// of 1-200 diverged, and the advice spoke of the target, which was small).
    func testTheDivergedAdviceFitsTheRun() throws {
        try write("wide.csv", "a,b,y\n" + (0..<100).map { "\(1000 * ($0 % 9)),\(500 * ($0 % 5)),\(Double($0 % 4) / 2)" }.joined(separator: "\n") + "\n")
        let regression = try output("runner", ["train", "--dataset", "wide.csv", "--hidden", "8", "--learning-rate", "1", "--epochs", "3", "--seed", "1"])
        XCTAssertTrue(regression.contains("diverged: run 1 (the loss became NaN or infinite): try a smaller --learning-rate; for regression, "
                                          + "scale a target in the thousands or more first; --standardize for a CSV's features on large scales\n"), regression)
        // Cross-entropy does not overflow at a large learning rate: a huge weight decay makes the weights do.
        try write("classes.csv", "a,b,y\n" + (0..<100).map { "\(1000 * ($0 % 9)),\(500 * ($0 % 5)),\($0 % 2)" }.joined(separator: "\n") + "\n")
        let classification = try output("runner", ["train", "--dataset", "classes.csv", "--task", "classification", "--hidden", "8",
                                                   "--weight-decay", "1e30", "--epochs", "3", "--seed", "1"])
        XCTAssertTrue(classification.contains("diverged: run 2 (the loss became NaN or infinite): try a smaller --learning-rate; "
                                              + "--standardize for a CSV's features on large scales\n"), classification)
        XCTAssertTrue(try output("report", ["show", "2"]).hasSuffix("  diverged: the loss became NaN or infinite; try a smaller --learning-rate; "
                                                                    + "--standardize for a CSV's features on large scales\n"))
    }

    /// A regression target in the hundreds of thousands diverges at once (the new user's houses.csv).
    /// Runner's summary gave advice; `report show` and `report layers` gave none, and layers ended
    /// on "no vanishing updates ... seen": now both give the summary's advice, in its words.
    func testADivergedRunGetsTheSummarysAdviceFromShowAndLayers() throws {
        try write("houses.csv", "rooms,age,price\n" + (0..<200).map { "\($0 % 7 + 1),\($0 % 40),\(100_000 + 2_000 * $0)" }.joined(separator: "\n") + "\n")
        let summary = try output("runner", ["train", "--dataset", "houses.csv", "--target", "price", "--standardize", "--hidden", "16",
                                            "--epochs", "5", "--seed", "1"])
        let advice = "try a smaller --learning-rate; for regression, scale a target in the thousands or more first"
        XCTAssertTrue(summary.contains("diverged: run 1 (the loss became NaN or infinite): \(advice)\n"), summary)
        let line = "  diverged: the loss became NaN or infinite; \(advice)\n"
        let show = try output("report", ["show", "1"])
        XCTAssertTrue(show.hasSuffix("\ndiagnosis (see docs/cli-report.md, Diagnostics):\n" + line), show)
        let layers = try output("report", ["layers", "1"])
        XCTAssertTrue(layers.hasSuffix("\ndiagnosis (see docs/cli-report.md, Diagnostics):\n" + line), layers)
        XCTAssertTrue(layers.contains("gradients neither vanishing nor exploding, no dying ReLUs; no vanishing updates, exploding weights or "
                                      + "chance-level accuracy seen in the stored epochs, but the run diverged: see the diagnosis below\n"), layers)
        let json = try output("report", ["show", "1", "--format", "json"])
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any], json)
        let diagnosis = try XCTUnwrap(object["diagnosis"] as? [[String: Any]], json)
        XCTAssertEqual(diagnosis.first?["kind"] as? String, "diverged", json)
        XCTAssertEqual(diagnosis.first?["advice"] as? String, String(advice.dropFirst("try ".count)), json)
    }

    func testAHealthyRunIsNotFlagged() throws {
        let summary = try output("runner", ["train", "--dataset", "digits", "--hidden", "32", "--learning-rate", "0.1",
                                         "--epochs", "4", "--seed", "1"])
        XCTAssertFalse(summary.contains("not learning well"), summary)
        XCTAssertTrue(try output("report", ["layers", "1"]).contains("gradients neither vanishing nor exploding, no dying ReLUs; "
                                                                     + "no vanishing updates, exploding weights or chance-level accuracy seen\n"))
    }
}
