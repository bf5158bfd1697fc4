// The optimizer's state in the engine: only the buffers the chosen optimizer uses are allocated
// (plain sgd keeps none), and the state every other optimizer stores is the same, bit for bit,
// as before the engine stopped allocating all of them for every run.

@testable import NeuralNet
import XCTest

final class OptimizerStateTests: XCTestCase {
    private let moons = GeneratedData.moons(rows: 60, noise: 0.2, seed: 11).split(validationFraction: 0.25, seed: 4)

    private func configuration(_ change: (inout TrainingConfiguration) -> Void) -> TrainingConfiguration {
        var configuration = TrainingConfiguration(layerSizes: [2, 6, 5, 2], hiddenActivation: .relu, outputActivation: .softmax,
                                                  loss: .crossEntropy, learningRate: 0.05, batchSize: 7, epochs: 3, seed: 3)
        change(&configuration)
        return configuration
    }

    /// (name, configuration change, the buffers it keeps, FNV-1a of the bits of its stored state after 3 epochs).
    /// The digests were printed by this test against the engine before it allocated per optimizer
    /// (commit a19b927, which kept all three buffers for every run).
    private static let variants: [(String, (inout TrainingConfiguration) -> Void, [OptimizerBuffer], UInt64)] = [
        ("sgd", { _ in }, [], 0x436a_4b4c_0c21_58b2),
        ("sgd batch 1", { $0.batchSize = 1 }, [], 0x2e20_4c21_cf16_670b),
        ("momentum", { $0.momentum = 0.9 }, [.velocity], 0x8bda_d63e_060f_3c2a),
        ("nesterov float64", { $0.momentum = 0.8; $0.nesterov = true; $0.precision = .float64 }, [.velocity], 0xdf25_3381_670f_4a6b),
        ("adam", { $0.optimizer = .adam; $0.learningRate = 0.01 }, [.adamFirstMoment, .adamSecondMoment], 0x8fc4_ce22_32b5_2a29),
        ("adamw float64", { $0.optimizer = .adamw; $0.learningRate = 0.01; $0.weightDecay = 0.05; $0.precision = .float64 },
         [.adamFirstMoment, .adamSecondMoment], 0xa54d_d4a8_fd75_44c8),
        ("rmsprop", { $0.optimizer = .rmsprop; $0.learningRate = 0.005 }, [.squareAverage], 0x4ace_263d_ff4d_0051),
        ("rmsprop momentum", { $0.optimizer = .rmsprop; $0.learningRate = 0.002; $0.momentum = 0.8; $0.rho = 0.9 },
         [.squareAverage, .velocity], 0x5219_ad39_d88f_6ecb),
    ]

    /// FNV-1a over the bit patterns of every stored optimizer buffer (in `OptimizerBuffer` order) and the parameters.
    private func digest(_ result: EpochResult) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func add(_ layers: [LayerParameters]) {
            for layer in layers {
                for value in layer.weight.doubles + (layer.bias?.doubles ?? []) {
                    var bits = value.bitPattern
                    for _ in 0..<8 {
                        hash = (hash ^ (bits & 0xff)) &* 0x0000_0100_0000_01b3
                        bits >>= 8
                    }
                }
            }
        }
        for buffer in OptimizerBuffer.allCases { if let layers = result.optimizerBuffers[buffer] { add(layers) } }
        add(result.parameters)
        return hash
    }

    func testEachOptimizerAllocatesOnlyTheStateItUses() throws {
        for (name, change, buffers, _) in Self.variants {
            let configuration = configuration(change)
            let trainer = try Trainer(configuration: configuration, training: moons.training, validation: moons.validation)
            XCTAssertEqual(configuration.optimizerBuffers, buffers, name)
            XCTAssertEqual(Set(trainer.allocatedOptimizerBuffers), Set(buffers), name)
            // Parameters, gradients and the epoch's gradient sum, plus one view per buffer.
            let parameterCount = 2 * 6 + 6 + 6 * 5 + 5 + 5 * 2 + 2
            XCTAssertEqual(trainer.allocatedScalarCount, (3 + buffers.count) * parameterCount, name)
            var last: EpochResult?
            XCTAssertEqual(try trainer.run { last = $0; return .proceed }, .completed, name)
            XCTAssertEqual(Set(try XCTUnwrap(last, name).optimizerBuffers.keys), Set(buffers), name)
        }
    }

    func testStoredOptimizerStateIsUnchanged() throws {
        for (name, change, _, expected) in Self.variants {
            let results = try train(configuration(change), moons.training, validation: moons.validation).results
            XCTAssertEqual(results.count, 4, name)
            XCTAssertEqual(digest(results[3]), expected, name)
        }
    }
}
