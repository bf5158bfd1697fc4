// The batch-1 small-network fast path against the reference path: the same runs trained both
// ways give the same bits (weights, gradients, losses, accuracies), for every activation, loss,
// precision and weight decay it takes; runs it does not take are unaffected.

@testable import NeuralNet
import XCTest

final class SmallNetworkPathTests: XCTestCase {
    private func trainBothWays(_ configuration: TrainingConfiguration, _ data: Dataset, validation: Dataset? = nil,
                               file: StaticString = #filePath, line: UInt = #line) throws -> (fast: [EpochResult], reference: [EpochResult]) {
        func run(_ fast: Bool) throws -> [EpochResult] {
            let trainer = try Trainer(configuration: configuration, training: data, validation: validation)
            XCTAssertTrue(trainer.hasSmallNetworkPath, "the run takes the fast path", file: file, line: line)
            trainer.usesSmallNetworkPath = fast
            var results = [EpochResult]()
            _ = try trainer.run { results.append($0); return .proceed }
            return results
        }
        return (try run(true), try run(false))
    }

    private func assertSameBits(_ fast: [EpochResult], _ reference: [EpochResult], _ label: String,
                                file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(fast.count, reference.count, label, file: file, line: line)
        XCTAssertEqual(fast.map(\.parameters), reference.map(\.parameters), "\(label): weights", file: file, line: line)
        XCTAssertEqual(fast.map(\.gradients), reference.map(\.gradients), "\(label): gradients", file: file, line: line)
        XCTAssertEqual(fast.map(\.trainLoss.bitPattern), reference.map(\.trainLoss.bitPattern), "\(label): train loss", file: file, line: line)
        XCTAssertEqual(fast.map(\.trainAccuracy), reference.map(\.trainAccuracy), "\(label): accuracy", file: file, line: line)
        XCTAssertEqual(fast.map(\.validationLoss), reference.map(\.validationLoss), "\(label): validation loss", file: file, line: line)
        XCTAssertEqual(fast.map(\.step), reference.map(\.step), "\(label): steps", file: file, line: line)
    }

    func testTinyRegressionIsBitIdenticalOnBothPaths() throws {
        // The benchmark's tiny workload in small: 2-2-1, relu, mse, batch 1, over several seeds.
        let data = GeneratedData.linear(rows: 50, noise: 0.1, seed: 7)
        for seed: UInt64 in 0..<5 {
            for precision in Precision.allCases {
                let configuration = TrainingConfiguration(layerSizes: [2, 2, 1], hiddenActivation: .relu, learningRate: 0.01,
                                                          batchSize: 1, epochs: 4, seed: seed, precision: precision)
                XCTAssertNotNil(SmallNetworkPath<Float>(configuration: configuration, layouts: DenseLayout.layouts(for: configuration).layouts,
                                                        parameterCount: 9, batchCapacity: 1, accuracy: .none))
                let (fast, reference) = try trainBothWays(configuration, data)
                assertSameBits(fast, reference, "seed \(seed) \(precision)")
                XCTAssertLessThan(fast[4].trainLoss, fast[0].trainLoss, "it learns")
            }
        }
    }

    func testEveryActivationLossAndDecayIsBitIdenticalOnBothPaths() throws {
        let moons = GeneratedData.moons(rows: 40, noise: 0.2, seed: 3).split(validationFraction: 0.25, seed: 1)
        let regression = GeneratedData.linear(rows: 30, noise: 0.1, seed: 2)
        for hidden in [Activation.relu, .tanh, .sigmoid, .identity] {
            for precision in Precision.allCases {
                for decay in [0.0, 0.01] {
                    let cases: [(String, TrainingConfiguration, Dataset, Dataset?)] = [
                        ("softmax cross-entropy", TrainingConfiguration(
                            layerSizes: [2, 5, 3, 2], hiddenActivation: hidden, outputActivation: .softmax, loss: .crossEntropy,
                            learningRate: 0.05, weightDecay: decay, batchSize: 1, epochs: 3, seed: 4, precision: precision),
                         moons.training, moons.validation),
                        ("sigmoid binary cross-entropy", TrainingConfiguration(
                            layerSizes: [2, 4, 1], hiddenActivation: hidden, outputActivation: .sigmoid, loss: .binaryCrossEntropy,
                            learningRate: 0.1, weightDecay: decay, batchSize: 1, epochs: 3, seed: 5, precision: precision),
                         moons.training, nil),
                        ("sigmoid mse, no bias", TrainingConfiguration(
                            layerSizes: [2, 3, 1], hiddenActivation: hidden, outputActivation: .sigmoid, loss: .meanSquaredError,
                            usesBias: false, learningRate: 0.1, weightDecay: decay, batchSize: 1, epochs: 3, seed: 6, precision: precision),
                         moons.training, nil),
                        ("identity mse, two outputs", TrainingConfiguration(
                            layerSizes: [2, 6, 1], hiddenActivation: hidden, outputActivation: .identity, loss: .meanSquaredError,
                            learningRate: 0.02, weightDecay: decay, batchSize: 1, epochs: 3, seed: 7, precision: precision),
                         regression, nil),
                    ]
                    for (name, configuration, training, validation) in cases {
                        let (fast, reference) = try trainBothWays(configuration, training, validation: validation)
                        assertSameBits(fast, reference, "\(name) \(hidden) \(precision) decay \(decay)")
                    }
                }
            }
        }
    }

    func testResumeOnTheFastPathIsBitIdentical() throws {
        let data = GeneratedData.linear(rows: 40, noise: 0.1, seed: 9)
        let configuration = TrainingConfiguration(layerSizes: [2, 2, 1], learningRate: 0.01, weightDecay: 0.001,
                                                  batchSize: 1, epochs: 5, seed: 2)
        let full = try Trainer(configuration: configuration, training: data, validation: nil)
        XCTAssertTrue(full.hasSmallNetworkPath)
        var results = [EpochResult]()
        _ = try full.run { results.append($0); return .proceed }
        for stopEpoch in [1, 3] {
            let state = TrainingState(epoch: stopEpoch, parameters: results[stopEpoch].parameters)
            let resumed = try Trainer(configuration: configuration, training: data, validation: nil, resumingFrom: state)
            var rest = [EpochResult]()
            _ = try resumed.run { rest.append($0); return .proceed }
            XCTAssertEqual(rest.map(\.parameters), results[(stopEpoch + 1)...].map(\.parameters), "resumed at \(stopEpoch)")
            XCTAssertEqual(rest.map(\.step), results[(stopEpoch + 1)...].map(\.step))
        }
    }

    func testDivergenceStopsAtTheSameEpochOnBothPaths() throws {
        let data = GeneratedData.linear(rows: 20, noise: 0.1, seed: 2)
        let configuration = TrainingConfiguration(layerSizes: [2, 3, 1], hiddenActivation: .identity, learningRate: 50,
                                                  batchSize: 1, epochs: 6, seed: 1)
        func run(_ fast: Bool) throws -> (TrainingOutcome, TrainingState) {
            let trainer = try Trainer(configuration: configuration, training: data, validation: nil)
            trainer.usesSmallNetworkPath = fast
            return (try trainer.run { _ in .proceed }, trainer.state)
        }
        let (fastOutcome, fastState) = try run(true), (referenceOutcome, referenceState) = try run(false)
        guard case .diverged = fastOutcome else { return XCTFail("\(fastOutcome)") }
        XCTAssertEqual(fastOutcome, referenceOutcome)
        XCTAssertEqual(fastState, referenceState)
    }

    func testRunsOutsideTheFastPathAreNotTakenByIt() {
        let layouts = { (configuration: TrainingConfiguration) in DenseLayout.layouts(for: configuration) }
        func qualifies(_ change: (inout TrainingConfiguration) -> Void, batchCapacity: Int = 1) -> Bool {
            var configuration = TrainingConfiguration(layerSizes: [2, 2, 1], batchSize: 1)
            change(&configuration)
            let (list, count) = layouts(configuration)
            return SmallNetworkPath<Float>(configuration: configuration, layouts: list, parameterCount: count,
                                           batchCapacity: batchCapacity, accuracy: .none) != nil
        }
        XCTAssertTrue(qualifies { _ in })
        XCTAssertFalse(qualifies({ _ in }, batchCapacity: 2))
        XCTAssertFalse(qualifies { $0.momentum = 0.9 })
        XCTAssertFalse(qualifies { $0.optimizer = .adam })
        XCTAssertFalse(qualifies { $0.layerSizes = [64, 64, 10] })  // 4096 multiply-adds: the gemm's order, not the direct loop's
        XCTAssertTrue(qualifies { $0.layerSizes = [16, 32, 10] })
    }
}
