// The fused products (a gemm whose epilogue applies bias and ReLU, ReLU's slope or the SGD step)
// against the unfused sequence they replace: the same bits, kernel by kernel on every code path
// this CPU can run, and whole training runs (weights, epoch gradients, losses, resume).

import CKernels
@testable import NeuralNet
import TestSupport
import XCTest

/// Float and Double behind one interface, so each check is written once.
/// (internal, not private: its methods take FusedEpilogue.)
protocol FusedScalar: BinaryFloatingPoint {
    static func gemm(isa: slope_isa, _ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int,
                     _ a: [Self], _ lda: Int, _ b: [Self], _ ldb: Int, _ c: inout [Self], _ ldc: Int)
    static func fused(isa: slope_isa, _ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int,
                      _ a: [Self], _ lda: Int, _ b: [Self], _ ldb: Int, _ c: inout [Self], _ ldc: Int,
                      _ epilogue: inout FusedEpilogue<Self>)
    var bits: UInt64 { get }
}

/// The epilogue's fields as arrays (the test's side of slope_Xepilogue).
struct FusedEpilogue<T> {
    var kind: slope_epilogue_kind
    var bias: [T]? = nil
    var relu = false
    var activation: [T] = []
    var ldActivation = 0
    var weights: [T] = []
    var gradientSums: [T] = []
    var learningRate: T
    var weightDecay: T? = nil
}

extension Float: FusedScalar {
    var bits: UInt64 { UInt64(bitPattern) }
    static func gemm(isa: slope_isa, _ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int,
                     _ a: [Float], _ lda: Int, _ b: [Float], _ ldb: Int, _ c: inout [Float], _ ldc: Int) {
        slope_sgemm_isa(isa, transA ? 1 : 0, transB ? 1 : 0, Int32(m), Int32(n), Int32(k), 1, a, Int32(lda), b, Int32(ldb),
                        0, &c, Int32(ldc))
    }
    static func fused(isa: slope_isa, _ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int,
                      _ a: [Float], _ lda: Int, _ b: [Float], _ ldb: Int, _ c: inout [Float], _ ldc: Int,
                      _ epilogue: inout FusedEpilogue<Float>) {
        let bias = epilogue.bias ?? [], hasBias = epilogue.bias != nil, activation = epilogue.activation
        bias.withUnsafeBufferPointer { biasBuffer in
            activation.withUnsafeBufferPointer { activationBuffer in
                epilogue.weights.withUnsafeMutableBufferPointer { weights in
                    epilogue.gradientSums.withUnsafeMutableBufferPointer { sums in
                        var fields = slope_sepilogue()
                        fields.kind = epilogue.kind
                        fields.bias = hasBias ? biasBuffer.baseAddress : nil
                        fields.relu = epilogue.relu ? 1 : 0
                        fields.activation = activationBuffer.baseAddress
                        fields.ldactivation = Int32(epilogue.ldActivation)
                        fields.weights = weights.baseAddress
                        fields.gradientSums = sums.baseAddress
                        fields.learningRate = epilogue.learningRate
                        fields.weightDecay = epilogue.weightDecay ?? 0
                        fields.appliesWeightDecay = epilogue.weightDecay == nil ? 0 : 1
                        slope_sgemm_fused_isa(isa, transA ? 1 : 0, transB ? 1 : 0, Int32(m), Int32(n), Int32(k), a, Int32(lda),
                                              b, Int32(ldb), &c, Int32(ldc), &fields)
                    }
                }
            }
        }
    }
}

extension Double: FusedScalar {
    var bits: UInt64 { bitPattern }
    static func gemm(isa: slope_isa, _ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int,
                     _ a: [Double], _ lda: Int, _ b: [Double], _ ldb: Int, _ c: inout [Double], _ ldc: Int) {
        slope_dgemm_isa(isa, transA ? 1 : 0, transB ? 1 : 0, Int32(m), Int32(n), Int32(k), 1, a, Int32(lda), b, Int32(ldb),
                        0, &c, Int32(ldc))
    }
    static func fused(isa: slope_isa, _ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int,
                      _ a: [Double], _ lda: Int, _ b: [Double], _ ldb: Int, _ c: inout [Double], _ ldc: Int,
                      _ epilogue: inout FusedEpilogue<Double>) {
        let bias = epilogue.bias ?? [], hasBias = epilogue.bias != nil, activation = epilogue.activation
        bias.withUnsafeBufferPointer { biasBuffer in
            activation.withUnsafeBufferPointer { activationBuffer in
                epilogue.weights.withUnsafeMutableBufferPointer { weights in
                    epilogue.gradientSums.withUnsafeMutableBufferPointer { sums in
                        var fields = slope_depilogue()
                        fields.kind = epilogue.kind
                        fields.bias = hasBias ? biasBuffer.baseAddress : nil
                        fields.relu = epilogue.relu ? 1 : 0
                        fields.activation = activationBuffer.baseAddress
                        fields.ldactivation = Int32(epilogue.ldActivation)
                        fields.weights = weights.baseAddress
                        fields.gradientSums = sums.baseAddress
                        fields.learningRate = epilogue.learningRate
                        fields.weightDecay = epilogue.weightDecay ?? 0
                        fields.appliesWeightDecay = epilogue.weightDecay == nil ? 0 : 1
                        slope_dgemm_fused_isa(isa, transA ? 1 : 0, transB ? 1 : 0, Int32(m), Int32(n), Int32(k), a, Int32(lda),
                                              b, Int32(ldb), &c, Int32(ldc), &fields)
                    }
                }
            }
        }
    }
}

final class FusedKernelTests: XCTestCase {
    private var paths: [(slope_isa, String)] {
        [(SLOPE_ISA_GENERIC, "generic"), (SLOPE_ISA_AVX2_FMA, "avx2-fma"), (SLOPE_ISA_AVX512, "avx512")]
            .filter { slope_isa_supported($0.0) != 0 }
    }

    /// Values with the awkward cases (NaN, infinities, signed zeros, subnormals) among ordinary ones.
    private func values<T: FusedScalar>(_ count: Int, _ random: inout TestSupport.SeededGenerator, awkward: Bool) -> [T] {
        (0..<count).map { _ in
            let ordinary = T(random.unit())
            guard awkward else { return ordinary }
            return random.pick([T.nan, .infinity, -.infinity, 0, -0.0, T.leastNonzeroMagnitude, -T.leastNonzeroMagnitude,
                                ordinary, ordinary * 100, -ordinary])
        }
    }

    /// Same bits (any NaN equals any NaN: which payload survives depends on operand order).
    private func firstDifference<T: FusedScalar>(_ actual: [T], _ expected: [T], rows: Int, columns: Int, stride: Int) -> String? {
        for i in 0..<rows {
            for j in 0..<columns {
                let a = actual[i * stride + j], e = expected[i * stride + j]
                if a.bits != e.bits && !(a.isNaN && e.isNaN) { return "(\(i), \(j)): \(a) != \(e)" }
            }
        }
        return nil
    }

    /// Shapes reaching every route of the gemm: direct loops, the narrow and few-columns paths,
    /// the blocked path with k past one slice (256) and n past one column block (512).
    private let shapes: [(m: Int, n: Int, k: Int)] = [
        (1, 2, 3), (3, 5, 7), (16, 10, 40), (33, 10, 300), (130, 3, 64), (530, 10, 20), (64, 10, 1100),
        (24, 40, 30), (37, 64, 65), (128, 100, 257), (50, 520, 12), (9, 17, 300),
    ]

    private func check<T: FusedScalar>(_ type: T.Type, seed firstSeed: UInt64) {
        var seed = firstSeed
        for (isa, name) in paths {
            for (m, n, k) in shapes {
                for (transA, transB) in [(false, false), (true, false), (false, true), (true, true)] {
                    seed += 1
                    var random = TestSupport.SeededGenerator(seed: seed)
                    let lda = (transA ? m : k) + random.pick([0, 3]), ldb = (transB ? k : n) + random.pick([0, 2])
                    let ldc = n + random.pick([0, 5])
                    let a: [T] = values((transA ? k : m) * lda, &random, awkward: false)
                    let b: [T] = values((transB ? n : k) * ldb, &random, awkward: false)
                    var product = [T](repeating: .nan, count: m * ldc)
                    T.gemm(isa: isa, transA, transB, m, n, k, a, lda, b, ldb, &product, ldc)
                    let label = "\(T.self) \(name) seed \(seed) \(m)x\(n)x\(k) transA \(transA) transB \(transB)"

                    // Bias and ReLU (each alone and both), as slope_Xbias_activate after the product.
                    for (hasBias, relu) in [(true, true), (true, false), (false, true)] {
                        let bias: [T] = values(n, &random, awkward: true)
                        var expected = product
                        for i in 0..<m {
                            for j in 0..<n {
                                var value = expected[i * ldc + j]
                                if hasBias { value += bias[j] }
                                if relu { value = Swift.max(value, 0) }
                                expected[i * ldc + j] = value
                            }
                        }
                        var epilogue = FusedEpilogue<T>(kind: SLOPE_EPILOGUE_BIAS_ACTIVATE, bias: hasBias ? bias : nil, relu: relu, learningRate: 0)
                        var actual = [T](repeating: .nan, count: m * ldc)
                        T.fused(isa: isa, transA, transB, m, n, k, a, lda, b, ldb, &actual, ldc, &epilogue)
                        if let difference = firstDifference(actual, expected, rows: m, columns: n, stride: ldc) {
                            XCTFail("\(label) bias \(hasBias) relu \(relu): \(difference)")
                        }
                    }

                    // ReLU's slope from an activation with its own row stride.
                    let ldActivation = n + random.pick([0, 4])
                    let activation: [T] = values(m * ldActivation, &random, awkward: true)
                    var expected = product
                    for i in 0..<m {
                        for j in 0..<n { expected[i * ldc + j] *= activation[i * ldActivation + j] > 0 ? 1 : 0 }
                    }
                    var slope = FusedEpilogue<T>(kind: SLOPE_EPILOGUE_RELU_SLOPE, activation: activation, ldActivation: ldActivation,
                                            learningRate: 0)
                    var actual = [T](repeating: .nan, count: m * ldc)
                    T.fused(isa: isa, transA, transB, m, n, k, a, lda, b, ldb, &actual, ldc, &slope)
                    if let difference = firstDifference(actual, expected, rows: m, columns: n, stride: ldc) {
                        XCTFail("\(label) relu slope: \(difference)")
                    }

                    // The SGD step on the product as a weight gradient, with and without weight decay.
                    for weightDecay in [nil, T(0.01)] {
                        let weights: [T] = values(m * ldc, &random, awkward: false), sums: [T] = values(m * ldc, &random, awkward: false)
                        let learningRate = T(random.unit())
                        var expectedWeights = weights, expectedSums = sums, gradient = product
                        for i in 0..<m {
                            for index in (i * ldc)..<(i * ldc + n) {  // the padding past n stays as it was
                                if let weightDecay { gradient[index] += weightDecay * weights[index] }
                                expectedWeights[index] -= learningRate * gradient[index]
                                expectedSums[index] += gradient[index]
                            }
                        }
                        var step = FusedEpilogue<T>(kind: SLOPE_EPILOGUE_SGD_STEP, weights: weights, gradientSums: sums,
                                               learningRate: learningRate, weightDecay: weightDecay)
                        var scratch = [T](repeating: .nan, count: m * ldc)
                        T.fused(isa: isa, transA, transB, m, n, k, a, lda, b, ldb, &scratch, ldc, &step)
                        if let difference = firstDifference(step.weights, expectedWeights, rows: m, columns: ldc, stride: ldc) {
                            XCTFail("\(label) sgd weights decay \(String(describing: weightDecay)): \(difference)")
                        }
                        if let difference = firstDifference(step.gradientSums, expectedSums, rows: m, columns: ldc, stride: ldc) {
                            XCTFail("\(label) sgd sums decay \(String(describing: weightDecay)): \(difference)")
                        }
                    }
                }
            }
        }
    }

    func testFusedProductsEqualTheProductThenTheElementwisePassFloat() {
        check(Float.self, seed: 10_000)
    }

    func testFusedProductsEqualTheProductThenTheElementwisePassDouble() {
        check(Double.self, seed: 20_000)
    }

    /// A hand-computed case through the public entry point: [1 2; 3 4] * [1 -1; -1 1] = [-1 1; -1 1],
    /// plus bias [0.5, -2] with ReLU: [0 0; 0 0]... and without: [-0.5 -1; -0.5 -1].
    func testHandComputedFusedProduct() {
        let a: [Float] = [1, 2, 3, 4], b: [Float] = [1, -1, -1, 1], bias: [Float] = [0.5, -2]
        var c = [Float](repeating: .nan, count: 4)
        bias.withUnsafeBufferPointer { biasBuffer in
            var fields = slope_sepilogue()
            fields.kind = SLOPE_EPILOGUE_BIAS_ACTIVATE
            fields.bias = biasBuffer.baseAddress
            fields.relu = 0
            slope_sgemm_fused(0, 0, 2, 2, 2, a, 2, b, 2, &c, 2, &fields)
            XCTAssertEqual(c, [-0.5, -1, -0.5, -1])
            fields.relu = 1
            slope_sgemm_fused(0, 0, 2, 2, 2, a, 2, b, 2, &c, 2, &fields)
            XCTAssertEqual(c, [0, 0, 0, 0])
        }
        // SGD step: W = [1 1; 1 1], S = 0, learning rate 0.5: W - 0.5 * G = [1.5 0.5; 1.5 0.5], S = G.
        var weights: [Float] = [1, 1, 1, 1], sums: [Float] = [0, 0, 0, 0]
        weights.withUnsafeMutableBufferPointer { w in
            sums.withUnsafeMutableBufferPointer { s in
                var fields = slope_sepilogue()
                fields.kind = SLOPE_EPILOGUE_SGD_STEP
                fields.weights = w.baseAddress
                fields.gradientSums = s.baseAddress
                fields.learningRate = 0.5
                slope_sgemm_fused(0, 0, 2, 2, 2, a, 2, b, 2, &c, 2, &fields)
            }
        }
        XCTAssertEqual(weights, [1.5, 0.5, 1.5, 0.5])
        XCTAssertEqual(sums, [-1, 1, -1, 1])
    }

    // MARK: Whole training runs

    private func trainBothWays(_ configuration: TrainingConfiguration, _ data: Dataset, validation: Dataset? = nil)
        throws -> (fused: [EpochResult], reference: [EpochResult]) {
        func run(_ fused: Bool) throws -> [EpochResult] {
            let trainer = try Trainer(configuration: configuration, training: data, validation: validation)
            trainer.usesFusedKernels = fused
            var results = [EpochResult]()
            _ = try trainer.run { results.append($0); return .proceed }
            return results
        }
        return (try run(true), try run(false))
    }

    private func assertSameBits(_ fused: [EpochResult], _ reference: [EpochResult], _ label: String,
                                file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(fused.count, reference.count, label, file: file, line: line)
        XCTAssertEqual(fused.map(\.parameters), reference.map(\.parameters), "\(label): weights", file: file, line: line)
        XCTAssertEqual(fused.map(\.gradients), reference.map(\.gradients), "\(label): gradients", file: file, line: line)
        XCTAssertEqual(fused.map(\.optimizerBuffers), reference.map(\.optimizerBuffers), "\(label): optimizer state", file: file, line: line)
        XCTAssertEqual(fused.map(\.trainLoss.bitPattern), reference.map(\.trainLoss.bitPattern), "\(label): train loss", file: file, line: line)
        XCTAssertEqual(fused.map(\.trainAccuracy), reference.map(\.trainAccuracy), "\(label): accuracy", file: file, line: line)
        XCTAssertEqual(fused.map { $0.validationLoss?.bitPattern }, reference.map { $0.validationLoss?.bitPattern },
                       "\(label): validation loss", file: file, line: line)
        XCTAssertEqual(fused.map(\.step), reference.map(\.step), "\(label): steps", file: file, line: line)
    }

    /// Layers wide enough for the fused kernels (products past the direct loops' 512 multiply-adds),
    /// batches that split k (300 rows > one 256 slice) and leave a partial last batch, weight decay,
    /// no bias, non-ReLU hidden layers (bias fused, activation after), the other optimizers (the
    /// forward epilogue fused, their step unfused), both precisions.
    func testTrainingRunsAreBitIdenticalFusedOrNot() throws {
        let blobs = GeneratedData.blobs(rows: 420, features: 12, classes: 4, seed: 5).split(validationFraction: 0.2, seed: 2)
        let regression = GeneratedData.linear(rows: 200, noise: 0.1, seed: 3)
        for precision in Precision.allCases {
            let cases: [(String, TrainingConfiguration, Dataset, Dataset?)] = [
                ("relu softmax batch 16", TrainingConfiguration(
                    layerSizes: [12, 48, 40, 4], hiddenActivation: .relu, outputActivation: .softmax, loss: .crossEntropy,
                    learningRate: 0.05, batchSize: 16, epochs: 3, seed: 1, precision: precision), blobs.training, blobs.validation),
                ("relu softmax batch 300, weight decay", TrainingConfiguration(
                    layerSizes: [12, 300, 24, 4], hiddenActivation: .relu, outputActivation: .softmax, loss: .crossEntropy,
                    learningRate: 0.1, weightDecay: 0.01, batchSize: 300, epochs: 3, seed: 2, precision: precision),
                 blobs.training, blobs.validation),
                ("relu no bias", TrainingConfiguration(
                    layerSizes: [12, 64, 4], hiddenActivation: .relu, outputActivation: .softmax, loss: .crossEntropy, usesBias: false,
                    learningRate: 0.05, batchSize: 32, epochs: 2, seed: 3, precision: precision), blobs.training, nil),
                ("tanh mse", TrainingConfiguration(
                    layerSizes: [2, 40, 30, 1], hiddenActivation: .tanh, learningRate: 0.02, batchSize: 20, epochs: 2, seed: 4,
                    precision: precision), regression, nil),
                ("relu momentum", TrainingConfiguration(
                    layerSizes: [12, 48, 4], hiddenActivation: .relu, outputActivation: .softmax, loss: .crossEntropy,
                    learningRate: 0.05, momentum: 0.9, batchSize: 16, epochs: 2, seed: 5, precision: precision), blobs.training, nil),
                ("relu adam, weight decay", TrainingConfiguration(
                    layerSizes: [12, 48, 4], hiddenActivation: .relu, outputActivation: .softmax, loss: .crossEntropy,
                    learningRate: 0.01, weightDecay: 0.001, batchSize: 16, epochs: 2, seed: 6, precision: precision, optimizer: .adam),
                 blobs.training, blobs.validation),
            ]
            for (name, configuration, training, validation) in cases {
                let (fused, reference) = try trainBothWays(configuration, training, validation: validation)
                assertSameBits(fused, reference, "\(name) \(precision)")
                XCTAssertLessThan(fused.last!.trainLoss, fused[0].trainLoss, "\(name) \(precision) learns")
            }
        }
    }

    /// A run on the fused kernels resumed from a stored epoch continues bit for bit, whichever
    /// kernels the resumed run uses.
    func testResumeOnTheFusedKernelsIsBitIdentical() throws {
        let blobs = GeneratedData.blobs(rows: 300, features: 12, classes: 4, seed: 8)
        let configuration = TrainingConfiguration(
            layerSizes: [12, 48, 40, 4], hiddenActivation: .relu, outputActivation: .softmax, loss: .crossEntropy,
            learningRate: 0.05, weightDecay: 0.001, batchSize: 32, epochs: 4, seed: 9)
        var full = [EpochResult]()
        _ = try Trainer(configuration: configuration, training: blobs, validation: nil).run { full.append($0); return .proceed }
        for fusedAfterResume in [true, false] {
            let stored = full[2]
            let state = TrainingState(epoch: 2, parameters: stored.parameters, monitoredLosses: full[0...2].map(\.trainLoss),
                                      optimizerBuffers: stored.optimizerBuffers, step: stored.step)
            let resumed = try Trainer(configuration: configuration, training: blobs, validation: nil, resumingFrom: state)
            resumed.usesFusedKernels = fusedAfterResume
            var results = [EpochResult]()
            _ = try resumed.run { results.append($0); return .proceed }
            assertSameBits(results, Array(full[3...]), "resumed, fused \(fusedAfterResume)")
        }
    }
}
