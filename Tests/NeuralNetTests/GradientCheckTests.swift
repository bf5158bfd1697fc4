// Backprop against central finite differences of the loss, in Float64, for every activation and
// loss combination, several shapes and seeds, and batches of 1, 7 and all rows.

import NeuralNet
import TestSupport
import XCTest

/// A random regression or classification dataset fitting the configuration's input and output sizes.
func randomDataset(for configuration: TrainingConfiguration, rows: Int, seed: UInt64) -> Dataset {
    var generator = testDataGenerator(seed: seed)
    let inputs = configuration.layerSizes[0], outputs = configuration.layerSizes[configuration.layerSizes.count - 1]
    let features = (0..<(rows * inputs)).map { _ in generator.uniform(-1.5, 1.5) }
    let targets: Dataset.Targets
    switch configuration.loss {
    case .crossEntropy:
        targets = .labels((0..<rows).map { _ in generator.below(outputs) }, classCount: outputs)
    case .binaryCrossEntropy:
        targets = .values((0..<(rows * outputs)).map { _ in Double(generator.below(2)) }, columns: outputs)
    case .meanSquaredError:
        targets = .values((0..<(rows * outputs)).map { _ in generator.uniform(-1, 1) }, columns: outputs)
    }
    return Dataset(features: features, rowCount: rows, featureCount: inputs, targets: targets)
}

/// The test data's generator for a seed (the seed is mixed first, so neighbouring seeds differ).
func testDataGenerator(seed: UInt64) -> TestRandom { TestRandom(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ 1) }

/// Replaces value `index` of a layer's weights (or bias) with `value`.
func replacing(_ parameters: [LayerParameters], layer: Int, bias: Bool, index: Int, with value: Double) -> [LayerParameters] {
    var copy = parameters
    let tensor = bias ? copy[layer].bias! : copy[layer].weight
    var values = tensor.doubles
    values[index] = value
    let replaced = Tensor(rows: tensor.rows, cols: tensor.cols, float64: values)
    if bias { copy[layer].bias = replaced } else { copy[layer].weight = replaced }
    return copy
}

final class GradientCheckTests: XCTestCase {
    private let outputsAndLosses: [(Activation, LossFunction)] = [
        (.identity, .meanSquaredError), (.sigmoid, .meanSquaredError), (.tanh, .meanSquaredError), (.relu, .meanSquaredError),
        (.sigmoid, .binaryCrossEntropy), (.softmax, .crossEntropy),
    ]

    /// Largest relative error |analytic - numeric| / max(|analytic|, |numeric|, 1e-4) over all parameters.
    private func largestRelativeError(_ configuration: TrainingConfiguration, _ parameters: [LayerParameters], _ batch: Dataset) throws -> Double {
        let analytic = try Inspection.gradients(configuration: configuration, parameters: parameters, data: batch).gradients
        let step = 1e-5
        var worst = 0.0
        func loss(_ changed: [LayerParameters]) throws -> Double {
            try Inspection.evaluate(configuration: configuration, parameters: changed, data: batch).loss
        }
        for layer in parameters.indices {
            for bias in [false, true] {
                guard let tensor = bias ? parameters[layer].bias : parameters[layer].weight else { continue }
                let values = tensor.doubles
                let gradient = (bias ? analytic[layer].bias! : analytic[layer].weight).doubles
                for index in values.indices {
                    let plus = try loss(replacing(parameters, layer: layer, bias: bias, index: index, with: values[index] + step))
                    let minus = try loss(replacing(parameters, layer: layer, bias: bias, index: index, with: values[index] - step))
                    let numeric = (plus - minus) / (2 * step)
                    let error = abs(gradient[index] - numeric) / max(abs(gradient[index]), abs(numeric), 1e-4)
                    worst = max(worst, error)
                }
            }
        }
        return worst
    }

    /// Initial biases are zero, and a zero bias after dead ReLUs puts a node exactly on the kink,
    /// where the slope is one-sided; random biases keep the check away from kinks.
    private func randomBiases(_ parameters: [LayerParameters], seed: UInt64) -> [LayerParameters] {
        var generator = testDataGenerator(seed: seed &+ 77)
        return parameters.map { layer in
            guard let bias = layer.bias else { return layer }
            let values = (0..<bias.count).map { _ in generator.uniform(-0.5, 0.5) }
            return LayerParameters(weight: layer.weight, bias: Tensor(rows: 1, cols: bias.cols, float64: values))
        }
    }

    func testEveryActivationAndLossAgainstFiniteDifferences() throws {
        // The last shape is large enough that its products go through the CKernels gemm rather than the direct loop.
        let shapes: [[Int]] = [[3, 4, 2], [2, 3, 4, 3], [5, 12, 9, 4]]
        for hidden in [Activation.relu, .tanh, .sigmoid, .identity] {
            for (output, loss) in outputsAndLosses {
                for (shapeIndex, shape) in shapes.enumerated() {
                    for seed: UInt64 in shapeIndex == 2 ? [3] : [1, 2, 4] {
                        var sizes = shape
                        if loss == .binaryCrossEntropy { sizes[sizes.count - 1] = 2 }
                        let configuration = TrainingConfiguration(
                            layerSizes: sizes, hiddenActivation: hidden, outputActivation: output, loss: loss,
                            usesBias: shapeIndex == 0 || seed == 1, initialization: .glorotNormal,
                            batchSize: 4, seed: seed, precision: .float64)
                        let data = randomDataset(for: configuration, rows: 13, seed: seed &+ 100)
                        let parameters = try randomBiases(Trainer(configuration: configuration, training: data, validation: nil).state.parameters, seed: seed)
                        for batchSize in [1, 7, 13] {
                            let batch = data.rows(Array(0..<batchSize))
                            let error = try largestRelativeError(configuration, parameters, batch)
                            XCTAssertLessThan(error, 1e-6, "hidden \(hidden) output \(output) loss \(loss) shape \(sizes) seed \(seed) batch \(batchSize)")
                        }
                    }
                }
            }
        }
    }

    func testLargeDataGradientIsTheRowWeightedMeanOfItsParts() throws {
        // 600 rows are inspected in chunks; the result must still be the mean over all rows.
        let configuration = TrainingConfiguration(layerSizes: [3, 5, 2], hiddenActivation: .sigmoid, outputActivation: .identity,
                                                  loss: .meanSquaredError, seed: 4, precision: .float64)
        let data = randomDataset(for: configuration, rows: 600, seed: 8)
        let parameters = try Trainer(configuration: configuration, training: data, validation: nil).state.parameters
        let whole = try Inspection.gradients(configuration: configuration, parameters: parameters, data: data)
        let first = try Inspection.gradients(configuration: configuration, parameters: parameters, data: data.rows(Array(0..<200)))
        let rest = try Inspection.gradients(configuration: configuration, parameters: parameters, data: data.rows(Array(200..<600)))
        XCTAssertEqual(whole.loss, (first.loss * 200 + rest.loss * 400) / 600, accuracy: 1e-12)
        for layer in 0..<2 {
            let combined = zip(first.gradients[layer].weight.doubles, rest.gradients[layer].weight.doubles).map { ($0 * 200 + $1 * 400) / 600 }
            for (a, b) in zip(whole.gradients[layer].weight.doubles, combined) { XCTAssertEqual(a, b, accuracy: 1e-12, "layer \(layer + 1)") }
        }
    }

    func testAccuracyCountsArgmaxHits() throws {
        let configuration = TrainingConfiguration(layerSizes: [2, 4, 3], outputActivation: .softmax, loss: .crossEntropy, seed: 6)
        let data = randomDataset(for: configuration, rows: 40, seed: 2)
        let trainer = try Trainer(configuration: configuration, training: data, validation: data)
        var first: EpochResult?
        _ = try trainer.run { first = $0; return .stop }
        let predictions = try Inspection.predictions(configuration: configuration, parameters: first!.parameters, data: data)
        guard case let .labels(labels, _) = data.targets else { return XCTFail("labels") }
        let hits = (0..<40).filter { row in
            let p = predictions[(row * 3)..<(row * 3 + 3)]
            return p.firstIndex(of: p.max()!)! - row * 3 == labels[row]
        }.count
        XCTAssertEqual(first?.trainAccuracy, Double(hits) / 40)
        XCTAssertEqual(first?.validationAccuracy, Double(hits) / 40)
    }

    func testWeightSlopeRejectsPositionsOutsideTheNetwork() throws {
        let configuration = TrainingConfiguration(layerSizes: [2, 3, 1], seed: 1, precision: .float64)
        let data = randomDataset(for: configuration, rows: 4, seed: 1)
        let parameters = try Trainer(configuration: configuration, training: data, validation: nil).state.parameters
        for (layer, i, j, row, named) in [(0, 0, 0, 0, "layer"), (3, 0, 0, 0, "layer"), (1, 2, 0, 0, "from"), (2, 0, 1, 0, "to"), (1, 0, 0, 4, "row")] {
            XCTAssertThrowsError(try Inspection.weightSlope(configuration: configuration, parameters: parameters, data: data,
                                                            layer: layer, from: i, to: j, row: row)) { error in
                XCTAssertTrue("\(error)".hasPrefix("invalid \(named)"), "\(error)")
            }
        }
    }

    func testFullDataWeightSlopeIsTheMeanOfTheRowSlopes() throws {
        let configuration = TrainingConfiguration(layerSizes: [2, 3, 3], hiddenActivation: .tanh, outputActivation: .softmax,
                                                  loss: .crossEntropy, seed: 5, precision: .float64)
        let data = randomDataset(for: configuration, rows: 6, seed: 9)
        let parameters = try Trainer(configuration: configuration, training: data, validation: nil).state.parameters
        for (layer, i, j) in [(1, 0, 2), (1, 1, 0), (2, 2, 1)] {
            let full = try Inspection.weightSlope(configuration: configuration, parameters: parameters, data: data,
                                                  layer: layer, from: i, to: j, row: nil)
            var sum = 0.0
            for row in 0..<6 {
                let slope = try Inspection.weightSlope(configuration: configuration, parameters: parameters, data: data,
                                                       layer: layer, from: i, to: j, row: row)
                XCTAssertEqual(slope.product, slope.gradient, accuracy: 1e-12 * max(1, abs(slope.gradient)), "layer \(layer) (\(i), \(j)) row \(row)")
                sum += slope.gradient
            }
            XCTAssertEqual(full.gradient, sum / 6, accuracy: 1e-12, "layer \(layer) (\(i), \(j))")
            XCTAssertNil(full.nodeValue)
        }
    }
}
