// What training hands back: where a run stands after an epoch (TrainingState, enough to resume it),
// each epoch's result, the caller's decision after it, and how training ended.

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
