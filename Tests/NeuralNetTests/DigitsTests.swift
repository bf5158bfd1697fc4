// Learning real data: the digits (64-64-10, learning rate 0.05, batch 32, 30 epochs) reach >= 95%
// validation accuracy. The data is the repository's own copy, found next to this file.

import Foundation
import NeuralNet
import XCTest

/// Sources/Experiments/Resources/digits.csv: 64 pixel columns (already / 16) and a label column.
func loadDigits() throws -> Dataset {
    let url = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources/Experiments/Resources/digits.csv")
    let lines = try String(contentsOf: url, encoding: .utf8).split(whereSeparator: \.isNewline).dropFirst()
    var features = [Double](), labels = [Int]()
    for line in lines {
        let fields = line.split(separator: ",")
        features += fields.dropLast().map { Double($0)! }
        labels.append(Int(fields.last!)!)
    }
    return Dataset(features: features, rowCount: labels.count, featureCount: 64, targets: .labels(labels, classCount: 10))
}

final class DigitsTests: XCTestCase {
    func testDigitsReachNinetyFivePercentValidationAccuracy() throws {
        let digits = try loadDigits()
        XCTAssertEqual(digits.rowCount, 1797)
        let (training, validation) = digits.split(validationFraction: 0.2, seed: 0)
        let configuration = TrainingConfiguration(layerSizes: [64, 64, 10], hiddenActivation: .relu, outputActivation: .softmax,
                                                  loss: .crossEntropy, learningRate: 0.05, batchSize: 32, epochs: 30, seed: 0)
        var last: EpochResult?
        let trainer = try Trainer(configuration: configuration, training: training, validation: validation)
        XCTAssertEqual(try trainer.run { last = $0; return .proceed }, .completed)
        let accuracy = try XCTUnwrap(last?.validationAccuracy)
        XCTAssertGreaterThanOrEqual(accuracy, 0.95, "seed 0: validation accuracy \(accuracy)")
        XCTAssertLessThan(last!.trainLoss, 0.2)
    }
}
