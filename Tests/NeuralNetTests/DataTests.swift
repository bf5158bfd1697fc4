// Tensors, datasets, splits and the seeded generators.

import Foundation
import NeuralNet
import XCTest

final class DataTests: XCTestCase {
    /// The decoding half of the round trip is Store's (`TensorRecord.values`): ExperimentsTests'
    /// TensorRecordsTests brings these tensors back from their bytes.
    func testTensorBytesAndBitEquality() throws {
        let single = Tensor(rows: 2, cols: 3, float32: [1, -2.5, .nan, 0, -0.0, 3.25e-30])
        let bytes = single.littleEndianBytes()
        XCTAssertEqual(bytes.count, 24)
        XCTAssertEqual(Array(bytes[4..<8]), [0x00, 0x00, 0x20, 0xC0])   // -2.5f little-endian
        XCTAssertNotEqual(single, Tensor(rows: 2, cols: 3, float32: [1, -2.5, .nan, 0, 0, 3.25e-30]))
        let double = Tensor(rows: 1, cols: 2, float64: [0.1, -1e300])
        XCTAssertEqual(double.littleEndianBytes().count, 16)
        XCTAssertEqual(double.doubles, [0.1, -1e300])
        XCTAssertEqual(double[0, 1], -1e300)
        XCTAssertNotEqual(double, Tensor(rows: 2, cols: 1, float64: [0.1, -1e300]))
    }

    func testSplitIsSeededDisjointAndComplete() {
        let data = GeneratedData.blobs(rows: 50, features: 3, classes: 4, seed: 1)
        let (training, validation) = data.split(validationFraction: 0.2, seed: 9)
        XCTAssertEqual(training.rowCount, 40)
        XCTAssertEqual(validation?.rowCount, 10)
        let again = data.split(validationFraction: 0.2, seed: 9)
        XCTAssertEqual(again.training, training)
        XCTAssertEqual(again.validation, validation)
        XCTAssertNotEqual(data.split(validationFraction: 0.2, seed: 10).validation, validation)
        // Every row lands in exactly one part (rows are distinct by their features).
        func rows(_ dataset: Dataset) -> [[Double]] {
            (0..<dataset.rowCount).map { Array(dataset.features[($0 * 3)..<($0 * 3 + 3)]) }
        }
        let all = rows(training) + rows(validation!)
        XCTAssertEqual(Set(all.map { "\($0)" }), Set(rows(data).map { "\($0)" }))
        XCTAssertNil(data.split(validationFraction: 0, seed: 1).validation)
    }

    func testGeneratorsAreSeededAndShaped() throws {
        XCTAssertEqual(GeneratedData.linear(rows: 20, seed: 3), GeneratedData.linear(rows: 20, seed: 3))
        XCTAssertNotEqual(GeneratedData.linear(rows: 20, seed: 3), GeneratedData.linear(rows: 20, seed: 4))
        let noiseless = GeneratedData.linear(rows: 5, noise: 0, seed: 1)
        guard case let .values(targets, 1) = noiseless.targets else { return XCTFail("linear targets") }
        for row in 0..<5 {
            XCTAssertEqual(targets[row], 3 * noiseless.features[2 * row] + 2 * noiseless.features[2 * row + 1], accuracy: 1e-12)
        }
        let spirals = GeneratedData.spirals(rows: 90, classes: 3, seed: 2)
        XCTAssertEqual(spirals.rowCount, 90)
        XCTAssertEqual(spirals.targets, GeneratedData.spirals(rows: 90, classes: 3, seed: 2).targets)
        XCTAssertEqual(GeneratedData.moons(rows: 31, seed: 1).rowCount, 31)
        let blobs = GeneratedData.blobs(rows: 12, features: 5, classes: 3, seed: 0)
        XCTAssertEqual(blobs.featureCount, 5)
        XCTAssertEqual(blobs.targets, .labels([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2], classCount: 3))
        for dataset in [spirals, blobs, GeneratedData.moons(rows: 10, seed: 0), GeneratedData.xor()] {
            XCTAssertNoThrow(try dataset.validate())
            XCTAssertTrue(dataset.isClassification)
        }
    }

    func testLabelsAsTargetsForSquaredErrorAndBinaryCrossEntropy() throws {
        // Zero weights and biases predict 0 everywhere. Labels with 3 outputs become one-hot rows:
        // mean over 2 rows x 3 outputs of (0 - onehot)^2 = 2/6; argmax of all zeros is class 0.
        let zeros = TrainingConfiguration(layerSizes: [2, 3], outputActivation: .identity, loss: .meanSquaredError, initialization: .zeros)
        let data = Dataset(features: [1, 2, 3, 4], rowCount: 2, featureCount: 2, targets: .labels([0, 2], classCount: 3))
        let parameters = try Trainer(configuration: zeros, training: data, validation: nil).state.parameters
        let result = try Inspection.evaluate(configuration: zeros, parameters: parameters, data: data)
        XCTAssertEqual(result.loss, 2.0 / 6, accuracy: 1e-7)
        XCTAssertEqual(result.accuracy, 0.5)
        // One sigmoid output with 0/1 labels: sigmoid(0) = 0.5, loss log 2, 0.5 > 0.5 is false -> class 0.
        let binary = TrainingConfiguration(layerSizes: [2, 1], outputActivation: .sigmoid, loss: .binaryCrossEntropy, initialization: .zeros)
        let labels = Dataset(features: [1, 2, 3, 4, 5, 6], rowCount: 3, featureCount: 2, targets: .labels([0, 1, 1], classCount: 2))
        let binaryParameters = try Trainer(configuration: binary, training: labels, validation: nil).state.parameters
        let binaryResult = try Inspection.evaluate(configuration: binary, parameters: binaryParameters, data: labels)
        XCTAssertEqual(binaryResult.loss, log(2), accuracy: 1e-7)
        XCTAssertEqual(binaryResult.accuracy ?? 0, 1.0 / 3, accuracy: 1e-12)
        // Cross-entropy needs labels, and as many classes as outputs.
        let softmax = TrainingConfiguration(layerSizes: [2, 4], outputActivation: .softmax, loss: .crossEntropy)
        XCTAssertThrowsError(try Trainer(configuration: softmax, training: data, validation: nil)) { error in
            XCTAssertTrue("\(error)".contains("3 classes"), "\(error)")
        }
    }

    func testConfigurationRoundTripsThroughJSON() throws {
        let configuration = TrainingConfiguration(layerSizes: [64, 64, 10], outputActivation: .softmax, loss: .crossEntropy,
                                                  initialization: .heNormal, learningRate: 0.05, momentum: 0.9, nesterov: true,
                                                  batchSize: 32, epochs: 30, seed: 12, precision: .float64,
                                                  earlyStopping: EarlyStopping(monitor: .trainLoss, patience: 3, minDelta: 0.001))
        let decoded = try JSONDecoder().decode(TrainingConfiguration.self, from: JSONEncoder().encode(configuration))
        XCTAssertEqual(decoded, configuration)
        let minimal = #"{"layerSizes": [2, 1], "learningRate": 0.1, "batchSize": 4, "epochs": 2}"#
        let defaults = try JSONDecoder().decode(TrainingConfiguration.self, from: Data(minimal.utf8))
        XCTAssertEqual(defaults, TrainingConfiguration(layerSizes: [2, 1], learningRate: 0.1, batchSize: 4, epochs: 2))
    }
}
