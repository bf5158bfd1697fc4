// The course's worked examples, through the public API: no biases, explicit weights, Float64.

import NeuralNet
import XCTest

/// A layer from the course's per-node notation: nodes[j] lists the weights into node j, one per
/// node of the layer below; the weight matrix is [inputs x outputs] with entry (i, j) = nodes[j][i].
func courseLayer(_ nodes: [[Double]]) -> LayerParameters {
    let inputs = nodes[0].count, outputs = nodes.count
    var values = [Double](repeating: 0, count: inputs * outputs)
    for j in 0..<outputs { for i in 0..<inputs { values[i * outputs + j] = nodes[j][i] } }
    return LayerParameters(weight: Tensor(rows: inputs, cols: outputs, float64: values), bias: nil)
}

func courseConfiguration(_ sizes: [Int], hidden: Activation = .relu, learningRate: Double = 0.01) -> TrainingConfiguration {
    TrainingConfiguration(layerSizes: sizes, hiddenActivation: hidden, outputActivation: .identity, loss: .meanSquaredError,
                          usesBias: false, learningRate: learningRate, batchSize: 1, epochs: 1, seed: 0, precision: .float64)
}

func oneRow(_ x: [Double], target: Double) -> Dataset {
    Dataset(features: x, rowCount: 1, featureCount: x.count, targets: .values([target], columns: 1))
}

/// Trains for the configuration's epochs and returns every epoch result.
func train(_ configuration: TrainingConfiguration, _ data: Dataset, validation: Dataset? = nil,
           initial: [LayerParameters]? = nil) throws -> (results: [EpochResult], outcome: TrainingOutcome) {
    let trainer = try Trainer(configuration: configuration, training: data, validation: validation, initialParameters: initial)
    var results = [EpochResult]()
    let outcome = try trainer.run { results.append($0); return .proceed }
    return (results, outcome)
}

final class CourseExampleTests: XCTestCase {
    private func layerValues(_ sizes: [Int], hidden: Activation, _ layers: [[[Double]]], x: [Double]) throws -> [[Double]] {
        try Inspection.forward(configuration: courseConfiguration(sizes, hidden: hidden),
                               parameters: layers.map(courseLayer), features: x)
    }

    func testIdentityNetworkForward() throws {
        let values = try layerValues([2, 2, 1], hidden: .identity, [[[1, 1], [-1, 1]], [[2, -1]]], x: [2, 3])
        XCTAssertEqual(values[1], [5, 1])
        XCTAssertEqual(values[2], [9])
    }

    func testIdentityVersusReLU() throws {
        let layers: [[[Double]]] = [[[2, 4], [4, -5]], [[2, 7]]]
        XCTAssertEqual(try layerValues([2, 2, 1], hidden: .identity, layers, x: [3, 5])[2], [-39])
        XCTAssertEqual(try layerValues([2, 2, 1], hidden: .relu, layers, x: [3, 5])[2], [52])
    }

    func testTwoReLUHiddenLayers() throws {
        let values = try layerValues([2, 2, 2, 1], hidden: .relu, [[[2, 4], [4, -5]], [[-1, 2], [1, 2]], [[2, 7]]], x: [3, 5])
        XCTAssertEqual(values[1], [26, 0])
        XCTAssertEqual(values[2], [0, 26])
        XCTAssertEqual(values[3], [182])
    }

    func testPredictionError() throws {
        let configuration = courseConfiguration([2, 2, 1])
        let parameters = [courseLayer([[2, 1], [0, 0]]), courseLayer([[2, 2]])]
        let prediction = try Inspection.predictions(configuration: configuration, parameters: parameters, data: oneRow([3, 2], target: 5))
        XCTAssertEqual(prediction, [16])
        // The error 16 - 5 = 11, measured through the engine: its square is the epoch-0 loss.
        let (results, _) = try train(configuration, oneRow([3, 2], target: 5), initial: parameters)
        XCTAssertEqual(results[0].trainLoss, 121)
    }

    func testOneWeightSlopeAndUpdate() throws {
        let configuration = courseConfiguration([1, 1])
        let data = oneRow([3], target: 10)
        let initial = [courseLayer([[2]])]
        let slope = try Inspection.weightSlope(configuration: configuration, parameters: initial, data: data, layer: 1, from: 0, to: 0, row: 0)
        XCTAssertEqual(slope.product, -24)
        XCTAssertEqual(slope.gradient, -24)
        let (results, outcome) = try train(configuration, data, initial: initial)
        XCTAssertEqual(outcome, .completed)
        XCTAssertEqual(results[1].gradients?[0].weight.doubles ?? [], [-24])
        XCTAssertEqual(results[1].parameters[0].weight.doubles[0], 2.24, accuracy: 1e-12)
    }

    func testLinearModelStep() throws {
        let configuration = courseConfiguration([2, 1])
        let data = oneRow([3, 4], target: 6)
        let (results, _) = try train(configuration, data, initial: [courseLayer([[1, 2]])])
        XCTAssertEqual(results[0].trainLoss, 25)   // error 5
        XCTAssertEqual(results[1].gradients?[0].weight.doubles ?? [], [30, 40])
        let updated = results[1].parameters
        XCTAssertEqual(updated[0].weight.doubles[0], 0.7, accuracy: 1e-12)
        XCTAssertEqual(updated[0].weight.doubles[1], 1.6, accuracy: 1e-12)
        let prediction = try Inspection.predictions(configuration: configuration, parameters: updated, data: data)
        XCTAssertEqual(prediction[0] - 6, 2.5, accuracy: 1e-12)
    }

    func testThreeInputLinearModelStep() throws {
        let configuration = courseConfiguration([3, 1])
        let data = oneRow([1, 2, 3], target: 0)
        let (results, _) = try train(configuration, data, initial: [courseLayer([[0, 2, 1]])])
        XCTAssertEqual(results[1].gradients?[0].weight.doubles ?? [], [14, 28, 42])
        let updated = results[1].parameters[0].weight.doubles
        for (value, expected) in zip(updated, [-0.14, 1.72, 0.58]) { XCTAssertEqual(value, expected, accuracy: 1e-12) }
        let prediction = try Inspection.predictions(configuration: configuration, parameters: results[1].parameters, data: data)
        XCTAssertEqual(prediction[0], 5.04, accuracy: 1e-12)
    }

    func testOutputWeightSlopes() throws {
        // Input 1 with weights [1, 3] into two ReLU nodes gives hidden values [1, 3].
        let configuration = courseConfiguration([1, 2, 1])
        let parameters = [courseLayer([[1], [3]]), courseLayer([[1, 2]])]
        let data = oneRow([1], target: 4)
        let values = try Inspection.forward(configuration: configuration, parameters: parameters, features: [1])
        XCTAssertEqual(values[1], [1, 3])
        XCTAssertEqual(values[2], [7])
        let slopes = try (0..<2).map {
            try Inspection.weightSlope(configuration: configuration, parameters: parameters, data: data, layer: 2, from: $0, to: 0, row: 0)
        }
        XCTAssertEqual(slopes.map(\.product), [6, 18])
        XCTAssertEqual(slopes.map(\.gradient), [6, 18])
        XCTAssertEqual(slopes.map(\.lossSlopeAtOutput), [6, 6])
        let (results, _) = try train(configuration, data, initial: parameters)
        XCTAssertEqual(results[1].gradients?[1].weight.doubles ?? [], [6, 18])
    }

    func testPracticeQuestionThreeFactors() throws {
        // Node value 2 feeds the weight into a ReLU node with positive input (slope 1), whose
        // output's loss slope is 3: 2 x = 1 (input 2, weight 1), output weight 1, target 0.5, so
        // dLoss/dh = 2 (2 - 0.5) x 1 = 3.
        let configuration = courseConfiguration([1, 1, 1])
        let parameters = [courseLayer([[1]]), courseLayer([[1]])]
        let slope = try Inspection.weightSlope(configuration: configuration, parameters: parameters,
                                               data: oneRow([2], target: 0.5), layer: 1, from: 0, to: 0, row: 0)
        XCTAssertEqual(slope.nodeValue, 2)
        XCTAssertEqual(slope.activationSlope, 1)
        XCTAssertEqual(slope.lossSlopeAtOutput, 3)
        XCTAssertEqual(slope.product, 6)
        XCTAssertEqual(slope.gradient, 6)
    }
}
