// The trainer's contract: determinism, bit-identical resume, the epoch gradient's definition,
// early stopping, divergence, validation of hyperparameters, and learning XOR.

import NeuralNet
import XCTest

final class TrainerTests: XCTestCase {
    private func moonsConfiguration(momentum: Double = 0, nesterov: Bool = false, precision: Precision = .float32,
                                    weightDecay: Double = 0, earlyStopping: EarlyStopping? = nil, seed: UInt64 = 3) -> TrainingConfiguration {
        TrainingConfiguration(layerSizes: [2, 6, 5, 2], hiddenActivation: .relu, outputActivation: .softmax, loss: .crossEntropy,
                              learningRate: 0.05, momentum: momentum, nesterov: nesterov, weightDecay: weightDecay,
                              batchSize: 7, epochs: 6, seed: seed, precision: precision, earlyStopping: earlyStopping)
    }

    private let moons = GeneratedData.moons(rows: 60, noise: 0.2, seed: 11).split(validationFraction: 0.25, seed: 4)

    func testSameSeedGivesBitIdenticalWeights() throws {
        for precision in Precision.allCases {
            for seed: UInt64 in [0, 1, 2] {
                let configuration = moonsConfiguration(momentum: 0.9, precision: precision, seed: seed)
                let first = try train(configuration, moons.training, validation: moons.validation)
                let second = try train(configuration, moons.training, validation: moons.validation)
                XCTAssertEqual(first.results.map(\.parameters), second.results.map(\.parameters), "seed \(seed) \(precision)")
                XCTAssertEqual(first.results.map(\.trainLoss), second.results.map(\.trainLoss), "seed \(seed) \(precision)")
                XCTAssertEqual(first.results.count, 7)
                let other = try train(moonsConfiguration(momentum: 0.9, precision: precision, seed: seed + 10), moons.training, validation: moons.validation)
                XCTAssertNotEqual(first.results.last?.parameters, other.results.last?.parameters, "seed \(seed) \(precision)")
            }
        }
    }

    func testResumeReproducesTheUninterruptedRunBitForBit() throws {
        let variants: [(String, TrainingConfiguration)] = [
            ("plain", moonsConfiguration()),
            ("momentum", moonsConfiguration(momentum: 0.9)),
            ("nesterov", moonsConfiguration(momentum: 0.8, nesterov: true)),
            ("nesterov float64 decay", moonsConfiguration(momentum: 0.5, nesterov: true, precision: .float64, weightDecay: 0.01)),
            ("early stopping", moonsConfiguration(momentum: 0.9, earlyStopping: EarlyStopping(monitor: .validationLoss, patience: 50, minDelta: 0))),
        ]
        for (name, configuration) in variants {
            let full = try train(configuration, moons.training, validation: moons.validation)
            XCTAssertEqual(full.outcome, .completed, name)
            for stopEpoch in [0, 1, 4] {
                // The state a runner rebuilds from stored tensors: epoch-k parameters, velocities and losses.
                let stored = full.results[stopEpoch]
                let state = TrainingState(epoch: stopEpoch, parameters: stored.parameters, velocities: stored.velocities,
                                          monitoredLosses: full.results[0...stopEpoch].map { $0.validationLoss! })
                let resumed = try Trainer(configuration: configuration, training: moons.training, validation: moons.validation, resumingFrom: state)
                var results = [EpochResult]()
                XCTAssertEqual(try resumed.run { results.append($0); return .proceed }, .completed, name)
                XCTAssertEqual(results.map(\.epoch), Array((stopEpoch + 1)...6), name)
                XCTAssertEqual(results.map(\.parameters), full.results[(stopEpoch + 1)...].map(\.parameters), "\(name) resumed at \(stopEpoch)")
                XCTAssertEqual(results.map(\.velocities), full.results[(stopEpoch + 1)...].map(\.velocities), "\(name) resumed at \(stopEpoch)")
            }
            // Stopping by the callback and resuming from the trainer's own state.
            let interrupted = try Trainer(configuration: configuration, training: moons.training, validation: moons.validation)
            XCTAssertEqual(try interrupted.run { $0.epoch == 3 ? .stop : .proceed }, .stoppedByCaller(epoch: 3), name)
            let resumed = try Trainer(configuration: configuration, training: moons.training, validation: moons.validation,
                                      resumingFrom: interrupted.state)
            _ = try resumed.run { _ in .proceed }
            XCTAssertEqual(resumed.state.parameters, full.results[6].parameters, name)
        }
    }

    func testResumeRejectsIncompleteStates() throws {
        let configuration = moonsConfiguration(momentum: 0.9, earlyStopping: EarlyStopping(monitor: .validationLoss, patience: 3))
        let full = try train(configuration, moons.training, validation: moons.validation)
        let parameters = full.results[2].parameters
        let losses = full.results[0...2].map { $0.validationLoss! }
        func resume(_ state: TrainingState) throws {
            _ = try Trainer(configuration: configuration, training: moons.training, validation: moons.validation, resumingFrom: state)
        }
        XCTAssertThrowsError(try resume(TrainingState(epoch: 2, parameters: parameters, velocities: nil, monitoredLosses: losses))) { error in
            XCTAssertTrue("\(error)".contains("velocities"), "\(error)")
        }
        XCTAssertThrowsError(try resume(TrainingState(epoch: 2, parameters: parameters, velocities: full.results[2].velocities, monitoredLosses: [1])))
        XCTAssertThrowsError(try resume(TrainingState(epoch: 2, parameters: Array(parameters.dropLast()), velocities: full.results[2].velocities,
                                                      monitoredLosses: losses)))
        XCTAssertNoThrow(try resume(TrainingState(epoch: 2, parameters: parameters, velocities: full.results[2].velocities, monitoredLosses: losses)))
    }

    func testEpochGradientIsTheMeanOfTheAppliedBatchGradients() throws {
        // Plain SGD: W[e] = W[e-1] - learningRate * numberOfBatches * G[e]; 30 rows in batches of 7 -> 5 batches.
        let data = GeneratedData.linear(rows: 30, noise: 0.1, seed: 2)
        let configuration = TrainingConfiguration(layerSizes: [2, 3, 1], hiddenActivation: .tanh, learningRate: 0.05,
                                                  batchSize: 7, epochs: 3, seed: 1, precision: .float64)
        let (results, _) = try train(configuration, data)
        for epoch in 1...3 {
            for layer in 0..<2 {
                let before = results[epoch - 1].parameters[layer], after = results[epoch].parameters[layer]
                let gradient = results[epoch].gradients![layer]
                for (name, old, new, slope) in [("weight", before.weight, after.weight, gradient.weight),
                                                ("bias", before.bias!, after.bias!, gradient.bias!)] {
                    for index in 0..<old.count {
                        let predicted = old.doubles[index] - 0.05 * 5 * slope.doubles[index]
                        XCTAssertEqual(new.doubles[index], predicted, accuracy: 1e-12, "epoch \(epoch) layer \(layer + 1) \(name) \(index)")
                    }
                }
            }
        }
        XCTAssertNil(results[0].gradients)
        // A batch as large as the data is full-batch gradient descent: the epoch gradient is the data gradient.
        var full = configuration
        full.batchSize = 1000
        let (fullResults, _) = try train(full, data)
        let expected = try Inspection.gradients(configuration: full, parameters: fullResults[0].parameters, data: data)
        // (the same sums, but the trainer visits the shuffled rows in another order: equal up to rounding)
        for (trained, direct) in zip(fullResults[1].gradients!, expected.gradients) {
            for (a, b) in zip(trained.weight.doubles + trained.bias!.doubles, direct.weight.doubles + direct.bias!.doubles) {
                XCTAssertEqual(a, b, accuracy: 1e-13)
            }
        }
        XCTAssertEqual(fullResults[0].trainLoss, expected.loss, accuracy: 1e-15)
    }

    func testMomentumAndNesterovFollowKeras() throws {
        // One weight, input 3, target 10, starting at 2 (the course example), learning rate 0.01, momentum 0.9.
        // Momentum: v1 = 0.24, w1 = 2.24; g2 = 2 (6.72 - 10) 3 = -19.68, v2 = 0.216 + 0.1968 = 0.4128, w2 = 2.6528.
        // Nesterov: w1 = 2 + 0.9 * 0.24 + 0.24 = 2.456; g2 = -15.792, v2 = 0.37392, w2 = 2.456 + 0.336528 + 0.15792.
        for (nesterov, expected) in [(false, [2.24, 2.6528]), (true, [2.456, 2.950448])] {
            var configuration = courseConfiguration([1, 1])
            configuration.momentum = 0.9
            configuration.nesterov = nesterov
            configuration.epochs = 2
            let (results, _) = try train(configuration, oneRow([3], target: 10), initial: [courseLayer([[2]])])
            XCTAssertEqual(results[1].parameters[0].weight.doubles[0], expected[0], accuracy: 1e-12, "nesterov \(nesterov)")
            XCTAssertEqual(results[2].parameters[0].weight.doubles[0], expected[1], accuracy: 1e-12, "nesterov \(nesterov)")
            XCTAssertEqual(results[1].velocities?[0].weight.doubles[0] ?? 0, 0.24, accuracy: 1e-12, "nesterov \(nesterov)")
            XCTAssertEqual(results[0].velocities?[0].weight.doubles, [0])
        }
    }

    func testWeightDecayAddsToTheWeightGradientOnly() throws {
        let data = GeneratedData.linear(rows: 12, seed: 5)
        var configuration = TrainingConfiguration(layerSizes: [2, 3, 1], hiddenActivation: .sigmoid, learningRate: 0.1,
                                                  batchSize: 12, epochs: 1, seed: 2, precision: .float64)
        configuration.weightDecay = 0.1
        let (results, _) = try train(configuration, data)
        let initial = results[0].parameters
        let dataGradient = try Inspection.gradients(configuration: configuration, parameters: initial, data: data).gradients
        for layer in 0..<2 {
            let applied = results[1].gradients![layer]
            for index in 0..<initial[layer].weight.count {
                XCTAssertEqual(applied.weight.doubles[index], dataGradient[layer].weight.doubles[index] + 0.1 * initial[layer].weight.doubles[index],
                               accuracy: 1e-13, "layer \(layer + 1) weight \(index)")
            }
            for index in 0..<initial[layer].bias!.count {
                XCTAssertEqual(applied.bias!.doubles[index], dataGradient[layer].bias!.doubles[index], accuracy: 1e-13, "layer \(layer + 1) bias \(index)")
            }
        }
    }

    func testFloat32TracksFloat64() throws {
        var configuration = moonsConfiguration(momentum: 0.5, precision: .float64)
        let wide = try train(configuration, moons.training, validation: moons.validation)
        configuration.precision = .float32
        let narrow = try train(configuration, moons.training, validation: moons.validation)
        XCTAssertEqual(narrow.results[6].parameters[0].weight.precision, .float32)
        for (a, b) in zip(wide.results, narrow.results) {
            XCTAssertEqual(a.trainLoss, b.trainLoss, accuracy: 1e-4, "epoch \(a.epoch)")
            XCTAssertEqual(a.validationLoss!, b.validationLoss!, accuracy: 1e-4, "epoch \(a.epoch)")
        }
    }

    func testTrainLossIsTheBatchSizeWeightedMeanOfBatchLosses() throws {
        // One epoch, two batches (5 + 2 rows) at fixed weights: with a tiny learning rate the
        // epoch loss is close to the epoch-0 (full data) loss, weighted correctly.
        let data = GeneratedData.linear(rows: 7, noise: 0, seed: 3)
        let configuration = TrainingConfiguration(layerSizes: [2, 1], outputActivation: .identity, learningRate: 1e-12,
                                                  batchSize: 5, epochs: 1, seed: 0, precision: .float64)
        let (results, _) = try train(configuration, data)
        XCTAssertEqual(results[1].trainLoss, results[0].trainLoss, accuracy: 1e-9)
    }

    func testEarlyStoppingKerasSemantics() throws {
        // minDelta so large that only the first epoch improves (on the infinite starting best):
        // patience 2 stops after epochs 2 and 3 fail to improve.
        let configuration = moonsConfiguration(earlyStopping: EarlyStopping(monitor: .trainLoss, patience: 2, minDelta: 1e9))
        let (results, outcome) = try train(configuration, moons.training, validation: moons.validation)
        XCTAssertEqual(outcome, .earlyStopped(epoch: 3))
        XCTAssertEqual(results.map(\.epoch), [0, 1, 2, 3])

        // Resuming after epoch 2 replays the history and stops at the same epoch.
        let state = TrainingState(epoch: 2, parameters: results[2].parameters, velocities: nil,
                                  monitoredLosses: results[0...2].map(\.trainLoss))
        let resumed = try Trainer(configuration: configuration, training: moons.training, validation: moons.validation, resumingFrom: state)
        var resumedEpochs = [Int]()
        XCTAssertEqual(try resumed.run { resumedEpochs.append($0.epoch); return .proceed }, .earlyStopped(epoch: 3))
        XCTAssertEqual(resumedEpochs, [3])

        // A loss that keeps improving never stops early.
        let steady = TrainingConfiguration(layerSizes: [2, 1], learningRate: 0.01, batchSize: 100, epochs: 8, seed: 0,
                                           precision: .float64, earlyStopping: EarlyStopping(monitor: .trainLoss, patience: 1, minDelta: 0))
        let (steadyResults, steadyOutcome) = try train(steady, GeneratedData.linear(rows: 50, seed: 1))
        XCTAssertEqual(steadyOutcome, .completed)
        XCTAssertEqual(steadyResults.count, 9)

        // Monitoring the validation loss needs validation data.
        XCTAssertThrowsError(try Trainer(configuration: moonsConfiguration(earlyStopping: EarlyStopping()), training: moons.training, validation: nil))
    }

    func testDivergenceEndsTheRunAndKeepsEveryEpochBefore() throws {
        for precision in Precision.allCases {
            let configuration = TrainingConfiguration(layerSizes: [2, 8, 1], learningRate: 5, batchSize: 4, epochs: 50, seed: 0, precision: precision)
            let (results, outcome) = try train(configuration, GeneratedData.linear(rows: 40, seed: 0))
            guard case let .diverged(epoch) = outcome else { return XCTFail("\(precision): expected divergence, got \(outcome)") }
            XCTAssertEqual(results.map(\.epoch), Array(0..<epoch), "\(precision)")
            XCTAssertTrue(results.allSatisfy { $0.trainLoss.isFinite }, "\(precision)")
            // The trainer's state is the last good epoch, and running again does not resurrect the run.
            let trainer = try Trainer(configuration: configuration, training: GeneratedData.linear(rows: 40, seed: 0), validation: nil)
            XCTAssertEqual(try trainer.run { _ in .proceed }, outcome)
            XCTAssertEqual(trainer.state.epoch, epoch - 1)
            XCTAssertEqual(trainer.state.parameters, results.last?.parameters)
            XCTAssertEqual(try trainer.run { _ in XCTFail("no epochs after divergence"); return .proceed }, outcome)
        }
    }

    func testInvalidHyperparametersFailAtConstructionNamingTheValue() {
        let data = GeneratedData.xor()
        let base = TrainingConfiguration(layerSizes: [2, 4, 1], outputActivation: .sigmoid, loss: .binaryCrossEntropy)
        let cases: [(WritableKeyPath<TrainingConfiguration, Double>, Double, String)] = [
            (\.learningRate, -0.5, "-0.5"), (\.learningRate, .nan, "nan"), (\.momentum, 1.5, "1.5"), (\.weightDecay, -1, "-1.0"),
        ]
        for (path, value, text) in cases {
            var configuration = base
            configuration[keyPath: path] = value
            XCTAssertThrowsError(try Trainer(configuration: configuration, training: data, validation: nil)) { error in
                XCTAssertTrue("\(error)".contains(text), "\(error) should name \(text)")
            }
        }
        var badBatch = base
        badBatch.batchSize = 0
        XCTAssertThrowsError(try Trainer(configuration: badBatch, training: data, validation: nil)) { error in
            XCTAssertTrue("\(error)".contains("batchSize 0"), "\(error)")
        }
        var softmaxWithMSE = base
        softmaxWithMSE.outputActivation = .softmax
        softmaxWithMSE.loss = .meanSquaredError
        XCTAssertThrowsError(try softmaxWithMSE.validate())
        var wrongInputs = base
        wrongInputs.layerSizes = [3, 4, 1]
        XCTAssertThrowsError(try Trainer(configuration: wrongInputs, training: data, validation: nil)) { error in
            XCTAssertTrue("\(error)".contains("2 features"), "\(error)")
        }
        XCTAssertThrowsError(try Trainer(configuration: base, training: data, validation: nil,
                                         initialParameters: [courseLayer([[1, 1]])]))
    }

    func testXORIsLearnedByTwoFourOne() throws {
        for seed: UInt64 in 0..<5 {
            let configuration = TrainingConfiguration(layerSizes: [2, 4, 1], hiddenActivation: .tanh, outputActivation: .sigmoid,
                                                      loss: .binaryCrossEntropy, learningRate: 0.5, momentum: 0.9,
                                                      batchSize: 4, epochs: 300, seed: seed)
            let trainer = try Trainer(configuration: configuration, training: GeneratedData.xor(), validation: nil)
            var last: EpochResult?
            XCTAssertEqual(try trainer.run { last = $0; return .proceed }, .completed, "seed \(seed)")
            XCTAssertEqual(last?.trainAccuracy, 1, "seed \(seed)")
            let predictions = try Inspection.predictions(configuration: configuration, parameters: trainer.state.parameters, data: GeneratedData.xor())
            for (prediction, label) in zip(predictions, [0.0, 1, 1, 0]) {
                XCTAssertEqual(prediction, label, accuracy: 0.1, "seed \(seed)")
            }
        }
    }

    func testExplicitInitialParametersAndDefaultInitialization() throws {
        let configuration = TrainingConfiguration(layerSizes: [3, 5, 2], hiddenActivation: .relu, outputActivation: .softmax,
                                                  loss: .crossEntropy, seed: 7)
        let data = randomDataset(for: configuration, rows: 10, seed: 1)
        let parameters = try Trainer(configuration: configuration, training: data, validation: nil).state.parameters
        // He-uniform for the ReLU layer (limit sqrt(6/3)), Glorot-uniform for softmax (sqrt(6/7)), zero biases.
        XCTAssertTrue(parameters[0].weight.doubles.allSatisfy { abs($0) <= (6.0 / 3).squareRoot() })
        XCTAssertTrue(parameters[1].weight.doubles.allSatisfy { abs($0) <= (6.0 / 7).squareRoot() })
        XCTAssertTrue(parameters[0].weight.doubles.contains { abs($0) > (6.0 / 7).squareRoot() })
        XCTAssertEqual(parameters[0].bias?.doubles, [0, 0, 0, 0, 0])
        XCTAssertEqual(parameters[0].weight.precision, .float32)
        var zeros = configuration
        zeros.initialization = .zeros
        XCTAssertTrue(try Trainer(configuration: zeros, training: data, validation: nil).state.parameters.allSatisfy { $0.weight.doubles.allSatisfy { $0 == 0 } })
        let explicit = try Trainer(configuration: configuration, training: data, validation: nil, initialParameters: parameters)
        XCTAssertEqual(explicit.state.parameters, parameters)
    }

    func testDeadUnitFractions() throws {
        // Hidden unit 0 gets only negative weights from positive inputs: dead on every row. Unit 1 is alive.
        let configuration = TrainingConfiguration(layerSizes: [2, 2, 1], usesBias: false)
        let parameters = [courseLayer([[-1, -2], [1, 1]]), courseLayer([[1, 1]])]
        let data = Dataset(features: [1, 2, 0.5, 3, 2, 0.1], rowCount: 3, featureCount: 2, targets: .values([0, 0, 0], columns: 1))
        XCTAssertEqual(try Inspection.deadUnitFractions(configuration: configuration, parameters: parameters, inputs: data), [0.5])
    }
}
