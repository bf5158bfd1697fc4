// Exact values that leave the engine: tensors, per-layer parameters, training states and epoch results.

/// A 2-D row-major tensor holding exact float32 or float64 values.
/// Equality compares bit patterns, so NaN == NaN and 0 != -0: "the same bits".
public struct Tensor: Equatable, Sendable {
    public enum Values: Sendable {
        case float32([Float])
        case float64([Double])
    }

    public let rows: Int
    public let cols: Int
    public let values: Values

    public init(rows: Int, cols: Int, float32: [Float]) {
        precondition(rows >= 0 && cols >= 0 && rows * cols == float32.count, "Tensor: \(float32.count) values for \(rows) x \(cols)")
        self.rows = rows
        self.cols = cols
        self.values = .float32(float32)
    }

    public init(rows: Int, cols: Int, float64: [Double]) {
        precondition(rows >= 0 && cols >= 0 && rows * cols == float64.count, "Tensor: \(float64.count) values for \(rows) x \(cols)")
        self.rows = rows
        self.cols = cols
        self.values = .float64(float64)
    }

    /// A tensor of the given precision from Double values (rounded to nearest for float32).
    public init(rows: Int, cols: Int, doubles: [Double], precision: Precision) {
        switch precision {
        case .float32: self.init(rows: rows, cols: cols, float32: doubles.map { Float($0) })
        case .float64: self.init(rows: rows, cols: cols, float64: doubles)
        }
    }

    public var precision: Precision {
        switch values {
        case .float32: return .float32
        case .float64: return .float64
        }
    }

    public var count: Int { rows * cols }

    /// A widened copy of the values.
    public var doubles: [Double] {
        switch values {
        case .float32(let values): return values.map(Double.init)
        case .float64(let values): return values
        }
    }

    /// Value at (row, col), widened to Double.
    public subscript(row: Int, col: Int) -> Double {
        switch values {
        case .float32(let values): return Double(values[row * cols + col])
        case .float64(let values): return values[row * cols + col]
        }
    }

    /// rows * cols * 4 (float32) or * 8 (float64) bytes, little-endian, row-major: the store's
    /// layout (Store's `TensorRecord.values` decodes it).
    public func littleEndianBytes() -> [UInt8] {
        // A plain copy of the memory on little-endian hosts (all Slope runs on); swapped otherwise.
        switch values {
        case .float32(let values):
            #if _endian(big)
            return values.map { $0.bitPattern.littleEndian }.withUnsafeBytes { Array($0) }
            #else
            return values.withUnsafeBytes { Array($0) }
            #endif
        case .float64(let values):
            #if _endian(big)
            return values.map { $0.bitPattern.littleEndian }.withUnsafeBytes { Array($0) }
            #else
            return values.withUnsafeBytes { Array($0) }
            #endif
        }
    }

    public static func == (lhs: Tensor, rhs: Tensor) -> Bool {
        guard lhs.rows == rhs.rows, lhs.cols == rhs.cols else { return false }
        switch (lhs.values, rhs.values) {
        case let (.float32(left), .float32(right)):
            return left.withUnsafeBytes { l in right.withUnsafeBytes { r in l.elementsEqual(r) } }
        case let (.float64(left), .float64(right)):
            return left.withUnsafeBytes { l in right.withUnsafeBytes { r in l.elementsEqual(r) } }
        default: return false
        }
    }
}

/// One dense layer's parameters. weight: [inputs x outputs], entry (i, j) from node i of the layer
/// below to node j of this layer; bias: [1 x outputs] (nil when the network has no biases).
public struct LayerParameters: Equatable, Sendable {
    public var weight: Tensor
    public var bias: Tensor?

    public init(weight: Tensor, bias: Tensor? = nil) {
        self.weight = weight
        self.bias = bias
    }
}

/// Where a run stands after an epoch: enough to continue it bit for bit.
public struct TrainingState: Sendable, Equatable {
    /// The epoch these parameters are the result of (0: the initial parameters).
    public var epoch: Int
    public var parameters: [LayerParameters]
    /// The optimizer's buffers (`TrainingConfiguration.optimizerBuffers`); a missing one at epoch 0 means zeros.
    public var optimizerBuffers: [OptimizerBuffer: [LayerParameters]]
    /// Optimizer steps (batches) taken up to this epoch; needed to resume adam / adamw after epoch 0.
    public var step: Int?
    /// The early-stopping monitor's loss (train or validation) of epochs 0...epoch, to replay early
    /// stopping; may be empty when the run has no early stopping.
    public var monitoredLosses: [Double]

    /// Momentum buffers (sgd or rmsprop with momentum > 0); nil at epoch 0 means zeros.
    public var velocities: [LayerParameters]? {
        get { optimizerBuffers[.velocity] }
        set { optimizerBuffers[.velocity] = newValue }
    }

    public init(epoch: Int, parameters: [LayerParameters], velocities: [LayerParameters]? = nil, monitoredLosses: [Double] = [],
                optimizerBuffers: [OptimizerBuffer: [LayerParameters]] = [:], step: Int? = nil) {
        self.epoch = epoch
        self.parameters = parameters
        self.optimizerBuffers = optimizerBuffers
        if let velocities { self.optimizerBuffers[.velocity] = velocities }
        self.step = step
        self.monitoredLosses = monitoredLosses
    }
}

public struct EpochResult: Sendable {
    public let epoch: Int
    /// Mean of the epoch's batch losses weighted by batch size (Keras); epoch 0: loss of the initial weights.
    public let trainLoss: Double
    /// Fraction of correct predictions over the epoch's batches as they were trained (like the loss);
    /// nil for regression. Epoch 0: of the initial weights.
    public let trainAccuracy: Double?
    public let validationLoss: Double?
    public let validationAccuracy: Double?
    /// Wall seconds spent on the epoch (training and evaluation).
    public let seconds: Double
    /// Parameters after the epoch (epoch 0: the initial ones).
    public let parameters: [LayerParameters]
    /// Mean of the batch gradients applied in the epoch (L2 weight decay included; adamw's decoupled
    /// decay is not a gradient term); nil at epoch 0.
    public let gradients: [LayerParameters]?
    /// The optimizer's buffers after the epoch (`TrainingConfiguration.optimizerBuffers`; zeros at epoch 0).
    public let optimizerBuffers: [OptimizerBuffer: [LayerParameters]]
    /// Optimizer steps (batches) taken up to the end of this epoch.
    public let step: Int
    /// Momentum buffers after the epoch, when momentum > 0 (sgd, rmsprop).
    public var velocities: [LayerParameters]? { optimizerBuffers[.velocity] }
    /// Training ends with this epoch whatever the caller decides: it is the last planned epoch, or
    /// early stopping fires at it.
    public var endsTraining = false

    public init(epoch: Int, trainLoss: Double, trainAccuracy: Double?, validationLoss: Double?, validationAccuracy: Double?,
                seconds: Double, parameters: [LayerParameters], gradients: [LayerParameters]?, velocities: [LayerParameters]?,
                optimizerBuffers: [OptimizerBuffer: [LayerParameters]] = [:], step: Int = 0) {
        self.epoch = epoch
        self.trainLoss = trainLoss
        self.trainAccuracy = trainAccuracy
        self.validationLoss = validationLoss
        self.validationAccuracy = validationAccuracy
        self.seconds = seconds
        self.parameters = parameters
        self.gradients = gradients
        var buffers = optimizerBuffers
        if let velocities { buffers[.velocity] = velocities }
        self.optimizerBuffers = buffers
        self.step = step
    }
}

/// Returned by the caller's per-epoch callback (pruning, Ctrl-C).
public enum EpochDecision: Sendable {
    case proceed, stop
}

public enum TrainingOutcome: Equatable, Sendable {
    case completed
    /// Early stopping ended the run after this epoch (the last one reported), before `epochs`.
    case earlyStopped(epoch: Int)
    /// A NaN or infinite loss appeared during this epoch; it was not reported, every epoch before was.
    case diverged(epoch: Int)
    /// The callback returned `.stop` for this epoch.
    case stoppedByCaller(epoch: Int)
}
