// The fast path for batch-1 plain-SGD training of small networks (the "tiny" workload): one C
// call per epoch (CKernels small_network_template.h) instead of a dozen kernel calls per row.
// It computes exactly what the reference path (Network and TrainingEngine.applyUpdate)
// computes for batches of one row, in the same order, so a run's bits do not depend on the
// path; SmallNetworkPathTests trains both and compares them bit for bit.
import CKernels

final class SmallNetworkPath<Scalar: NetworkScalar> {
    /// The network as CKernels reads it; the arrays it points to live as long as this object.
    let network: UnsafeMutablePointer<slope_small_network>
    /// Activations, logits and deltas of one row.
    let scratch: UnsafeMutablePointer<Scalar>
    private let sizes: UnsafeMutablePointer<Int32>
    private let offsets: UnsafeMutablePointer<Int>

    /// nil unless every batch is one row, the rule is plain sgd, and every product of the network
    /// takes the reference path's direct loop (at most `directProductLimit` multiply-adds).
    init?(configuration: TrainingConfiguration, layouts: [DenseLayout], parameterCount: Int, batchCapacity: Int,
          accuracy: AccuracyMode) {
        guard batchCapacity == 1, configuration.optimizer == .sgd, configuration.momentum == 0,
              layouts.count <= Int(SLOPE_SMALL_MAX_LAYERS),
              layouts.allSatisfy({ $0.inputs * $0.outputs <= directProductLimit }) else { return nil }
        func code(_ activation: Activation) -> Int32 {
            switch activation {
            case .relu: return Int32(SLOPE_ACTIVATION_RELU)
            case .tanh: return Int32(SLOPE_ACTIVATION_TANH)
            case .sigmoid: return Int32(SLOPE_ACTIVATION_SIGMOID)
            case .identity: return Int32(SLOPE_ACTIVATION_IDENTITY)
            case .softmax: return Int32(SLOPE_ACTIVATION_SOFTMAX)
            }
        }
        let layerCount = layouts.count
        sizes = .allocate(capacity: layerCount + 1)
        sizes[0] = Int32(layouts[0].inputs)
        for (index, layout) in layouts.enumerated() { sizes[index + 1] = Int32(layout.outputs) }
        offsets = .allocate(capacity: 2 * layerCount)
        for (index, layout) in layouts.enumerated() {
            offsets[index] = layout.weightOffset
            offsets[layerCount + index] = layout.biasOffset
        }
        let units = layouts.reduce(0) { $0 + $1.outputs }
        scratch = .allocate(capacity: 2 * units + layouts[layerCount - 1].outputs)
        scratch.initialize(repeating: 0, count: 2 * units + layouts[layerCount - 1].outputs)
        let loss: Int32
        switch configuration.loss {
        case .meanSquaredError: loss = Int32(SLOPE_LOSS_MSE)
        case .binaryCrossEntropy: loss = Int32(SLOPE_LOSS_BINARY_CROSS_ENTROPY)
        case .crossEntropy: loss = Int32(SLOPE_LOSS_CROSS_ENTROPY)
        }
        let accuracyCode: Int32
        switch accuracy {
        case .none: accuracyCode = Int32(SLOPE_ACCURACY_NONE)
        case .argmax: accuracyCode = Int32(SLOPE_ACCURACY_ARGMAX)
        case .threshold: accuracyCode = Int32(SLOPE_ACCURACY_THRESHOLD)
        }
        network = .allocate(capacity: 1)
        network.initialize(to: slope_small_network(
            layerCount: Int32(layerCount), sizes: UnsafePointer(sizes), weightOffsets: UnsafePointer(offsets),
            biasOffsets: UnsafePointer(offsets + layerCount), parameterCount: parameterCount,
            hiddenActivation: code(configuration.hiddenActivation), outputActivation: code(configuration.outputActivation),
            loss: loss, accuracy: accuracyCode))
    }

    deinit {
        network.deallocate()
        scratch.deallocate()
        sizes.deallocate()
        offsets.deallocate()
    }
}
