// The optimizers against a numpy reference of the same formulas (optimizer_reference.py, kept
// beside this file: its printed values are pasted below), their validation, resume bit for bit
// with their state, and the step terms `report explain` shows.

import NeuralNet
import XCTest

final class OptimizerTests: XCTestCase {
    typealias Expected = (epochs: [[Double]], first: [Double], second: [Double])

    /// Printed by `python3 Tests/NeuralNetTests/optimizer_reference.py` (numpy 2.4, IEEE float32 / float64).
    static let reference: [String: Expected] = {
        let rows: [((String, Precision), Expected)] = [
            (("adam", .float32), (epochs: [[0.31, -0.21000001, 0.11], [0.319994, -0.21999401, 0.11999401], [0.32997784, -0.22997786, 0.12997785], [0.33994725, -0.23994727, 0.13994727]], first: [-0.48183328, 1.4454997, -0.96366656], second: [0.007888567, 0.070997104, 0.031554267])),
            (("adam", .float64), (epochs: [[0.30999999993103444, -0.20999999997701152, 0.10999999996551725], [0.31999400457993715, -0.2199940046723417, 0.11999400464924057], [0.3299778532117751, -0.22997785335104565, 0.12997785331622802], [0.33994727104605627, -0.23994727123261841, 0.1399472711859779]], first: [-0.48183326275821586, 1.4454997882746476, -0.9636665255164317], second: [0.007888566594991856, 0.07099709935492671, 0.03155426637996742])),
            (("adam-l2", .float32), (epochs: [[0.31, -0.21000001, 0.11], [0.31998768, -0.21998818, 0.11998836], [0.3299546, -0.22995643, 0.12995714], [0.33989227, -0.23989663, 0.13989833]], first: [-0.8059131, 2.461161, -1.6493438], second: [0.074345484, 0.6930078, 0.31116644])),
            (("adam-l2", .float64), (epochs: [[0.30999999295775144, -0.20999999769053174, 0.10999999655172533], [0.3199876693542904, -0.21998816552442424, 0.11998835765081904], [0.32995459084219314, -0.2299564132508178, 0.12995713178363327], [0.3398922545066277, -0.23989660051357395, 0.13989832284227544]], first: [-0.8059129869846018, 2.4611607053790747, -1.649343762841947], second: [0.07434548355372693, 0.6930077769841569, 0.31116641573690224])),
            (("adamw", .float32), (epochs: [[0.3097, -0.2098, 0.11], [0.3193844, -0.21958432, 0.119994104], [0.32904914, -0.22934885, 0.12997822], [0.33869004, -0.23908946, 0.13994817]], first: [-0.48209316, 1.4462795, -0.9641863], second: [0.007896228, 0.07106604, 0.03158491])),
            (("adamw", .float64), (epochs: [[0.3096999999310345, -0.2097999999770115, 0.10999999996551725], [0.31938440357854647, -0.21958430367089826, 0.11999410364777584], [0.32904914334481783, -0.2293488435839297, 0.12997822785276505], [0.33869005079306147, -0.2390894513792054, 0.1399481844798069]], first: [-0.48209319503336673, 1.4462795851001, -0.9641863900667335], second: [0.00789622664200919, 0.0710660397780827, 0.03158490656803676])),
            (("rmsprop", .float32), (epochs: [[0.39999998, -0.3, 0.19999999], [0.46233106, -0.3623311, 0.26233107], [0.50878584, -0.40878588, 0.30878586], [0.54587054, -0.4458706, 0.34587055]], first: [0.0, 0.0, 0.0], second: [0.049327314, 0.4439458, 0.19730926])),
            (("rmsprop", .float64), (epochs: [[0.3999999931034487, -0.2999999977011495, 0.1999999965517242], [0.46233107115066624, -0.3623310780006357, 0.26233107628814323], [0.5087858725966672, -0.40878588094060236, 0.3087858788546185], [0.5458705875702268, -0.445870597027328, 0.3458705946630526]], first: [0.0, 0.0, 0.0], second: [0.04932730884506728, 0.4439457796056055, 0.19730923538026912])),
            (("rmsprop-momentum", .float32), (epochs: [[0.33162278, -0.23162279, 0.13162278], [0.38225424, -0.2822696, 0.1822758], [0.4451263, -0.34519577, 0.24522388], [0.5154717, -0.4156651, 0.31574324]], first: [-7.0345383, 7.0469313, -7.0519357], second: [0.51986945, 4.7833505, 2.1408575])),
            (("rmsprop-momentum", .float64), (epochs: [[0.3316227759048197, -0.23162277637126907, 0.1316227762568562], [0.38225424984406625, -0.2822695916571894, 0.18227580100238117], [0.44512628512230784, -0.34519578551633606, 0.2452238916456863], [0.5154716691219462, -0.41566510473392615, 0.3157432504262511]], first: [-7.034538399963835, 7.046931921759006, -7.051935878056479], second: [0.5198694434658457, 4.783350534721018, 2.140857465366131])),
            (("sgd", .float32), (epochs: [[0.44500002, -0.63500005, 0.39000002], [0.48850003, -0.76550007, 0.477], [0.50155, -0.80465, 0.5031], [0.50546503, -0.816395, 0.51093]], first: [0.0, 0.0, 0.0], second: [0.0, 0.0, 0.0])),
            (("sgd", .float64), (epochs: [[0.44499999999999995, -0.635, 0.39], [0.48849999999999993, -0.7655000000000001, 0.47700000000000004], [0.5015499999999999, -0.80465, 0.5031], [0.5054649999999999, -0.8163950000000001, 0.51093]], first: [0.0, 0.0, 0.0], second: [0.0, 0.0, 0.0])),
        ]
        return Dictionary(uniqueKeysWithValues: rows.map { ("\($0.0.0) \($0.0.1.rawValue)", $0.1) })
    }()

    /// The reference's cases: (name, configuration changes).
    static let cases: [(String, (inout TrainingConfiguration) -> Void)] = [
        ("adam", { $0.optimizer = .adam; $0.learningRate = 0.01 }),
        ("adam-l2", { $0.optimizer = .adam; $0.learningRate = 0.01; $0.beta1 = 0.8; $0.beta2 = 0.99; $0.epsilon = 1e-6; $0.weightDecay = 0.1 }),
        ("adamw", { $0.optimizer = .adamw; $0.learningRate = 0.01; $0.weightDecay = 0.1 }),
        ("rmsprop", { $0.optimizer = .rmsprop; $0.learningRate = 0.01 }),
        ("rmsprop-momentum", { $0.optimizer = .rmsprop; $0.learningRate = 0.01; $0.rho = 0.9; $0.momentum = 0.9; $0.weightDecay = 0.05 }),
        ("sgd", { $0.optimizer = .sgd; $0.learningRate = 0.1 }),
    ]

    /// The reference's model: 2-1 linear, mse, bias, one row (x = [0.5, -1.5], y = 2): one step per epoch.
    static func linearConfiguration(_ precision: Precision) -> TrainingConfiguration {
        TrainingConfiguration(layerSizes: [2, 1], hiddenActivation: .relu, outputActivation: .identity, loss: .meanSquaredError,
                              usesBias: true, learningRate: 0.1, batchSize: 1, epochs: 4, seed: 0, precision: precision)
    }

    static func initial(_ precision: Precision) -> [LayerParameters] {
        [LayerParameters(weight: Tensor(rows: 2, cols: 1, doubles: [0.3, -0.2], precision: precision),
                         bias: Tensor(rows: 1, cols: 1, doubles: [0.1], precision: precision))]
    }

    func testEachOptimizerMatchesTheNumpyReferenceBitForBit() throws {
        for (name, change) in Self.cases {
            for precision in Precision.allCases {
                var configuration = Self.linearConfiguration(precision)
                change(&configuration)
                let label = "\(name) \(precision.rawValue)"
                let expected = try XCTUnwrap(Self.reference[label], label)
                let (results, outcome) = try train(configuration, oneRow([0.5, -1.5], target: 2), initial: Self.initial(precision))
                XCTAssertEqual(outcome, .completed, label)
                for epoch in 1...4 {
                    let layer = results[epoch].parameters[0]
                    let expectedEpoch = expected.epochs[epoch - 1]
                    // Bit for bit: the expected values, rounded to the run's precision, as tensors.
                    XCTAssertEqual(layer.weight, Tensor(rows: 2, cols: 1, doubles: Array(expectedEpoch[0...1]), precision: precision),
                                   "\(label) epoch \(epoch) weight: \(layer.weight.doubles) vs \(expectedEpoch)")
                    XCTAssertEqual(layer.bias, Tensor(rows: 1, cols: 1, doubles: [expectedEpoch[2]], precision: precision),
                                   "\(label) epoch \(epoch) bias")
                    XCTAssertEqual(results[epoch].step, epoch, label)
                }
                // The stored state after the last epoch: adam's m and v, rmsprop's average and momentum buffer.
                let last = results[4]
                func flat(_ buffer: OptimizerBuffer) -> [Double]? {
                    last.optimizerBuffers[buffer].map { $0[0].weight.doubles + $0[0].bias!.doubles }
                }
                func rounded(_ values: [Double]) -> [Double] { precision == .float32 ? values.map { Double(Float($0)) } : values }
                switch configuration.optimizer {
                case .adam, .adamw:
                    XCTAssertEqual(flat(.adamFirstMoment), rounded(expected.first), label)
                    XCTAssertEqual(flat(.adamSecondMoment), rounded(expected.second), label)
                    XCTAssertEqual(Set(last.optimizerBuffers.keys), [.adamFirstMoment, .adamSecondMoment], label)
                case .rmsprop:
                    XCTAssertEqual(flat(.squareAverage), rounded(expected.second), label)
                    XCTAssertEqual(flat(.velocity), configuration.momentum > 0 ? rounded(expected.first) : nil, label)
                case .sgd:
                    XCTAssertTrue(last.optimizerBuffers.isEmpty, label)
                }
                // Epoch 0 reports the buffers as zeros.
                for (_, layers) in results[0].optimizerBuffers {
                    XCTAssertEqual(layers[0].weight.doubles, [0, 0], label)
                }
            }
        }
    }

    func testAdamsFirstStepMovesEveryParameterByTheLearningRate() throws {
        // Bias-corrected, m̂ = g and v̂ = g², so the first step is -lr g / (|g| + eps): lr against the gradient's sign.
        var configuration = Self.linearConfiguration(.float64)
        configuration.optimizer = .adam
        configuration.learningRate = 0.01
        configuration.epochs = 1
        let (results, _) = try train(configuration, oneRow([0.5, -1.5], target: 2), initial: Self.initial(.float64))
        // z = 0.15 + 0.3 + 0.1 = 0.55 < 2: g = 2 (z - y) x = [-1.45, 4.35], bias -2.9.
        XCTAssertEqual(results[1].parameters[0].weight.doubles[0], 0.31, accuracy: 1e-9)
        XCTAssertEqual(results[1].parameters[0].weight.doubles[1], -0.21, accuracy: 1e-9)
        XCTAssertEqual(results[1].parameters[0].bias!.doubles[0], 0.11, accuracy: 1e-9)
        XCTAssertEqual(results[1].gradients![0].weight.doubles[0], -1.45, accuracy: 1e-12)
    }

    func testEveryOptimizerLearnsAndResumesBitForBit() throws {
        let moons = GeneratedData.moons(rows: 60, noise: 0.2, seed: 11).split(validationFraction: 0.25, seed: 4)
        let variants: [(String, (inout TrainingConfiguration) -> Void)] = [
            ("adam", { $0.optimizer = .adam; $0.learningRate = 0.01 }),
            ("adam float64 l2", { $0.optimizer = .adam; $0.learningRate = 0.01; $0.weightDecay = 0.01; $0.precision = .float64 }),
            ("adamw", { $0.optimizer = .adamw; $0.learningRate = 0.01; $0.weightDecay = 0.05; $0.beta1 = 0.85 }),
            ("rmsprop", { $0.optimizer = .rmsprop; $0.learningRate = 0.005 }),
            ("rmsprop momentum", { $0.optimizer = .rmsprop; $0.learningRate = 0.002; $0.momentum = 0.8; $0.rho = 0.9 }),
        ]
        for (name, change) in variants {
            var configuration = TrainingConfiguration(layerSizes: [2, 6, 5, 2], hiddenActivation: .relu, outputActivation: .softmax,
                                                      loss: .crossEntropy, batchSize: 7, epochs: 6, seed: 3)
            change(&configuration)
            let full = try train(configuration, moons.training, validation: moons.validation)
            XCTAssertEqual(full.outcome, .completed, name)
            XCTAssertLessThan(full.results[6].trainLoss, full.results[0].trainLoss, name)
            XCTAssertEqual(full.results.map(\.step), [0, 7, 14, 21, 28, 35, 42], "\(name): 45 rows in batches of 7")
            for stopEpoch in [0, 1, 4] {
                let stored = full.results[stopEpoch]
                let state = TrainingState(epoch: stopEpoch, parameters: stored.parameters, optimizerBuffers: stored.optimizerBuffers,
                                          step: configuration.optimizerCountsSteps ? stored.step : nil)
                let resumed = try Trainer(configuration: configuration, training: moons.training, validation: moons.validation, resumingFrom: state)
                var results = [EpochResult]()
                XCTAssertEqual(try resumed.run { results.append($0); return .proceed }, .completed, name)
                XCTAssertEqual(results.map(\.parameters), full.results[(stopEpoch + 1)...].map(\.parameters), "\(name) resumed at \(stopEpoch)")
                XCTAssertEqual(results.map(\.optimizerBuffers), full.results[(stopEpoch + 1)...].map(\.optimizerBuffers), "\(name) resumed at \(stopEpoch)")
            }
            // From the trainer's own state after a stop.
            let interrupted = try Trainer(configuration: configuration, training: moons.training, validation: moons.validation)
            XCTAssertEqual(try interrupted.run { $0.epoch == 3 ? .stop : .proceed }, .stoppedByCaller(epoch: 3), name)
            XCTAssertEqual(interrupted.state.step, 21, name)
            let resumed = try Trainer(configuration: configuration, training: moons.training, validation: moons.validation,
                                      resumingFrom: interrupted.state)
            _ = try resumed.run { _ in .proceed }
            XCTAssertEqual(resumed.state.parameters, full.results[6].parameters, name)
            XCTAssertEqual(resumed.state.optimizerBuffers, full.results[6].optimizerBuffers, name)
        }
    }

    func testResumeRefusesAStateWithoutTheOptimizersBuffersOrStep() throws {
        let data = oneRow([0.5, -1.5], target: 2)
        var configuration = Self.linearConfiguration(.float32)
        configuration.optimizer = .adam
        let (results, _) = try train(configuration, data, initial: Self.initial(.float32))
        let stored = results[2]
        func resume(_ state: TrainingState) throws {
            _ = try Trainer(configuration: configuration, training: data, validation: nil, resumingFrom: state)
        }
        var noMoments = stored.optimizerBuffers
        noMoments[.adamSecondMoment] = nil
        XCTAssertThrowsError(try resume(TrainingState(epoch: 2, parameters: stored.parameters, optimizerBuffers: noMoments, step: 2))) { error in
            XCTAssertEqual("\(error)", "cannot resume: the adam optimizer needs its adam_v buffers, but the epoch-2 state has none")
        }
        XCTAssertThrowsError(try resume(TrainingState(epoch: 2, parameters: stored.parameters, optimizerBuffers: stored.optimizerBuffers))) { error in
            XCTAssertEqual("\(error)", "cannot resume: the adam optimizer needs the step count, but the epoch-2 state has none")
        }
        XCTAssertThrowsError(try resume(TrainingState(epoch: 2, parameters: stored.parameters, optimizerBuffers: stored.optimizerBuffers, step: 3))) { error in
            XCTAssertEqual("\(error)", "cannot resume: the epoch-2 state has taken 3 optimizer steps, expected 2 (1 batches per epoch)")
        }
        XCTAssertNoThrow(try resume(TrainingState(epoch: 2, parameters: stored.parameters, optimizerBuffers: stored.optimizerBuffers, step: 2)))
        // Epoch 0: nothing stored yet means zeros and step 0.
        XCTAssertNoThrow(try resume(TrainingState(epoch: 0, parameters: results[0].parameters)))
    }

    func testOptimizerSettingsAreValidatedNamingTheValue() {
        func message(_ change: (inout TrainingConfiguration) -> Void) -> String? {
            var configuration = Self.linearConfiguration(.float32)
            change(&configuration)
            do { try configuration.validate(); return nil } catch { return "\(error)" }
        }
        XCTAssertEqual(message { $0.beta1 = 1 }, "invalid beta1 1.0: must be in [0, 1), e.g. 0.9")
        XCTAssertEqual(message { $0.beta2 = -0.5 }, "invalid beta2 -0.5: must be in [0, 1), e.g. 0.999")
        XCTAssertEqual(message { $0.epsilon = 0 }, "invalid epsilon 0.0: must be a finite number > 0, e.g. 1e-8")
        XCTAssertEqual(message { $0.epsilon = .nan }, "invalid epsilon nan: must be a finite number > 0, e.g. 1e-8")
        XCTAssertEqual(message { $0.rho = 1.5 }, "invalid rho 1.5: must be in [0, 1), e.g. 0.99")
        XCTAssertEqual(message { $0.optimizer = .adam; $0.momentum = 0.9 },
                       "invalid momentum 0.9: adam has no momentum setting (beta1 plays its part); use sgd or rmsprop for momentum")
        XCTAssertEqual(message { $0.optimizer = .rmsprop; $0.momentum = 0.9; $0.nesterov = true },
                       "invalid nesterov true: Nesterov momentum is for the sgd optimizer only")
        XCTAssertNil(message { $0.optimizer = .rmsprop; $0.momentum = 0.9 })
        // sgd without momentum is plain sgd: the engine trains it (a run queued before new input
        // refused it must still train); RunConfiguration.make refuses it in new input.
        XCTAssertNil(message { $0.optimizer = .sgd; $0.momentum = 0; $0.nesterov = true })
        XCTAssertNil(message { $0.optimizer = .sgd; $0.momentum = 0.9; $0.nesterov = true })
        XCTAssertNil(message { $0.optimizer = .adamw; $0.beta1 = 0; $0.beta2 = 0 })
        // Another optimizer's setting, off its default, would be ignored: refused.
        XCTAssertEqual(message { $0.optimizer = .sgd; $0.beta1 = 0.5 },
                       "invalid beta1 0.5: sgd does not use beta1 (only adam and adamw do): leave it out, or pick one of those optimizers")
        XCTAssertEqual(message { $0.optimizer = .sgd; $0.epsilon = 1e-6 },
                       "invalid epsilon 1e-06: sgd does not use epsilon (only adam, adamw and rmsprop do): leave it out, or pick one of those optimizers")
        XCTAssertEqual(message { $0.optimizer = .rmsprop; $0.beta2 = 0.9 },
                       "invalid beta2 0.9: rmsprop does not use beta2 (only adam and adamw do): leave it out, or pick one of those optimizers")
        XCTAssertEqual(message { $0.optimizer = .adam; $0.rho = 0.9 },
                       "invalid rho 0.9: adam does not use rho (only rmsprop does): leave it out, or pick that optimizer")
        XCTAssertNil(message { $0.optimizer = .rmsprop; $0.rho = 0.9; $0.epsilon = 1e-6 })
        XCTAssertNil(message { $0.optimizer = .sgd; $0.beta1 = 0.9; $0.rho = 0.99 }, "the defaults are not settings given")
    }

    func testConfigurationWithOptimizerRoundTripsAndOldConfigurationsDecodeAsSGD() throws {
        var configuration = Self.linearConfiguration(.float32)
        configuration.optimizer = .adamw
        configuration.beta1 = 0.8
        configuration.beta2 = 0.95
        configuration.epsilon = 1e-6
        configuration.rho = 0.5
        let decoded = try JSONDecoder().decode(TrainingConfiguration.self, from: try JSONEncoder().encode(configuration))
        XCTAssertEqual(decoded, configuration)
        let old = #"{"layerSizes": [2, 1], "learningRate": 0.1, "batchSize": 1, "epochs": 4}"#
        let oldDecoded = try JSONDecoder().decode(TrainingConfiguration.self, from: Data(old.utf8))
        XCTAssertEqual(oldDecoded.optimizer, .sgd)
        XCTAssertEqual([oldDecoded.beta1, oldDecoded.beta2, oldDecoded.epsilon, oldDecoded.rho], [0.9, 0.999, 1e-8, 0.99])
    }

    func testExplainedStepIsTheEnginesStep() throws {
        // The Double formula `report explain` shows gives the engine's float64 step (up to rounding).
        for (name, change) in Self.cases {
            var configuration = Self.linearConfiguration(.float64)
            change(&configuration)
            let (results, _) = try train(configuration, oneRow([0.5, -1.5], target: 2), initial: Self.initial(.float64))
            for epoch in 1...3 {
                let before = results[epoch], after = results[epoch + 1]
                let gradient = after.gradients![0].weight.doubles[1]   // one step per epoch: the step's gradient
                let weight = before.parameters[0].weight.doubles[1]
                var state: [OptimizerBuffer: Double] = [:]
                for (buffer, layers) in before.optimizerBuffers { state[buffer] = layers[0].weight.doubles[1] }
                // The stored gradient includes L2 decay; the explained step adds it itself.
                let l2 = configuration.optimizer == .adamw ? 0 : configuration.weightDecay * weight
                let step = OptimizerStep.next(configuration: configuration, parameter: weight, gradient: gradient - l2, isWeight: true,
                                              state: state, step: before.step)
                XCTAssertEqual(weight + step.change, after.parameters[0].weight.doubles[1], accuracy: 1e-12, "\(name) epoch \(epoch + 1)")
                XCTAssertFalse(step.rule.isEmpty)
            }
        }
    }
}
