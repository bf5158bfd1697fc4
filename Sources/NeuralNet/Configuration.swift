// NeuralNet's vocabulary: activations, losses, precision, initialization, and the training
// configuration with its validation (bad hyperparameters fail here, naming the value).

public enum Activation: String, CaseIterable, Codable, Sendable {
    case relu, tanh, sigmoid, identity
    /// Output layer only, and only with `LossFunction.crossEntropy`.
    case softmax
}

public enum LossFunction: String, CaseIterable, Codable, Sendable {
    /// Mean over batch and outputs of (prediction - target)^2; slope 2 (prediction - target) / N.
    case meanSquaredError = "mse"
    /// Mean over batch and outputs; needs a sigmoid output (computed from the logits, so it never overflows).
    case binaryCrossEntropy = "binary-cross-entropy"
    /// Softmax cross-entropy with integer class labels; needs a softmax output.
    case crossEntropy = "cross-entropy"
}

public enum Precision: String, CaseIterable, Codable, Sendable {
    case float32, float64
}

public enum WeightInitialization: String, CaseIterable, Codable, Sendable {
    case heUniform = "he-uniform"
    case heNormal = "he-normal"
    case glorotUniform = "glorot-uniform"
    case glorotNormal = "glorot-normal"
    case zeros
}

/// The update rule applied after each batch: an optimizer is parameters, a learning rate and one
/// rule; its variants (momentum, Nesterov, betas, rho) are settings. Formulas in docs/optimizers.md.
public enum Optimizer: String, CaseIterable, Codable, Sendable {
    /// w -= learningRate * g, with Keras momentum / Nesterov when `momentum` > 0.
    case sgd
    /// Kingma & Ba (2015), with L2 weight decay added to the gradient (PyTorch's Adam).
    case adam
    /// Loshchilov & Hutter (2019): Adam with the weight decay applied to the weights, not the gradient.
    case adamw
    /// Hinton's RMSprop as PyTorch writes it (alpha = `rho`, optional momentum).
    case rmsprop
}

/// An optimizer's per-parameter state, kept beside the parameters (one value per parameter).
public enum OptimizerBuffer: String, CaseIterable, Hashable, Sendable {
    /// sgd: the Keras velocity (v = momentum v - learningRate g); rmsprop: PyTorch's momentum buffer.
    case velocity
    /// adam / adamw: the first moment m (moving average of g).
    case adamFirstMoment = "adam_m"
    /// adam / adamw: the second moment v (moving average of g squared).
    case adamSecondMoment = "adam_v"
    /// rmsprop: the moving average of g squared.
    case squareAverage = "rms"
}

/// Keras-style early stopping: stop after `patience` epochs in a row without an improvement of the
/// monitored loss larger than `minDelta` over the best value seen so far. Epoch 0 (the initial
/// weights) is not a training epoch and does not count.
public struct EarlyStopping: Codable, Hashable, Sendable {
    public enum Monitor: String, Codable, CaseIterable, Sendable {
        case validationLoss = "val_loss"
        case trainLoss = "train_loss"
    }
    public var monitor: Monitor
    public var patience: Int
    public var minDelta: Double

    public init(monitor: Monitor = .validationLoss, patience: Int = 5, minDelta: Double = 0) {
        self.monitor = monitor
        self.patience = patience
        self.minDelta = minDelta
    }
}

/// Everything needed to rebuild (and resume) a training run, apart from the data and the weights.
public struct TrainingConfiguration: Codable, Hashable, Sendable {
    /// [inputs, hidden..., outputs], e.g. [64, 64, 10].
    public var layerSizes: [Int]
    public var hiddenActivation: Activation
    public var outputActivation: Activation
    public var loss: LossFunction
    public var usesBias: Bool
    /// nil: he-uniform for relu layers, glorot-uniform for the others.
    public var initialization: WeightInitialization?
    public var learningRate: Double
    /// Keras semantics: v = momentum * v - learningRate * g; w += v.
    public var momentum: Double
    /// Keras semantics: w += momentum * v - learningRate * g (with v already updated).
    public var nesterov: Bool
    /// L2 weight decay on the weights (not the biases): the applied gradient is g + weightDecay * w.
    public var weightDecay: Double
    public var batchSize: Int
    public var epochs: Int
    /// Seeds the initial weights and every epoch's shuffle.
    public var seed: UInt64
    public var precision: Precision
    public var earlyStopping: EarlyStopping?
    /// The update rule; `momentum` serves sgd and rmsprop, `nesterov` sgd only.
    public var optimizer: Optimizer
    /// adam / adamw: decay of the first and second moment averages (PyTorch defaults 0.9, 0.999).
    public var beta1: Double
    public var beta2: Double
    /// adam / adamw / rmsprop: added to the denominator's square root (PyTorch default 1e-8).
    public var epsilon: Double
    /// rmsprop: decay of the squared-gradient average (PyTorch's alpha, default 0.99).
    public var rho: Double

    /// The defaults here are the engine's, for code that builds a configuration itself (tests,
    /// benchmarks): learning rate 0.01, mse. They are not runner's: its defaults (learning rate
    /// 0.05, validation 0.2, the loss and output activation following the data) are
    /// Experiments' `RunSettings()`, which runner's help states (a CLI test keeps the two equal).
    public init(
        layerSizes: [Int],
        hiddenActivation: Activation = .relu,
        outputActivation: Activation = .identity,
        loss: LossFunction = .meanSquaredError,
        usesBias: Bool = true,
        initialization: WeightInitialization? = nil,
        learningRate: Double = 0.01,
        momentum: Double = 0,
        nesterov: Bool = false,
        weightDecay: Double = 0,
        batchSize: Int = 32,
        epochs: Int = 10,
        seed: UInt64 = 0,
        precision: Precision = .float32,
        earlyStopping: EarlyStopping? = nil,
        optimizer: Optimizer = .sgd,
        beta1: Double = 0.9,
        beta2: Double = 0.999,
        epsilon: Double = 1e-8,
        rho: Double = 0.99
    ) {
        self.layerSizes = layerSizes
        self.hiddenActivation = hiddenActivation
        self.outputActivation = outputActivation
        self.loss = loss
        self.usesBias = usesBias
        self.initialization = initialization
        self.learningRate = learningRate
        self.momentum = momentum
        self.nesterov = nesterov
        self.weightDecay = weightDecay
        self.batchSize = batchSize
        self.epochs = epochs
        self.seed = seed
        self.precision = precision
        self.earlyStopping = earlyStopping
        self.optimizer = optimizer
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.rho = rho
    }

    private enum CodingKeys: String, CodingKey {
        case layerSizes, hiddenActivation, outputActivation, loss, usesBias, initialization, learningRate,
             momentum, nesterov, weightDecay, batchSize, epochs, seed, precision, earlyStopping,
             optimizer, beta1, beta2, epsilon, rho
    }

    /// Missing optional keys take their defaults, so older stored configurations still decode.
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            layerSizes: try container.decode([Int].self, forKey: .layerSizes),
            hiddenActivation: try container.decodeIfPresent(Activation.self, forKey: .hiddenActivation) ?? .relu,
            outputActivation: try container.decodeIfPresent(Activation.self, forKey: .outputActivation) ?? .identity,
            loss: try container.decodeIfPresent(LossFunction.self, forKey: .loss) ?? .meanSquaredError,
            usesBias: try container.decodeIfPresent(Bool.self, forKey: .usesBias) ?? true,
            initialization: try container.decodeIfPresent(WeightInitialization.self, forKey: .initialization),
            learningRate: try container.decode(Double.self, forKey: .learningRate),
            momentum: try container.decodeIfPresent(Double.self, forKey: .momentum) ?? 0,
            nesterov: try container.decodeIfPresent(Bool.self, forKey: .nesterov) ?? false,
            weightDecay: try container.decodeIfPresent(Double.self, forKey: .weightDecay) ?? 0,
            batchSize: try container.decode(Int.self, forKey: .batchSize),
            epochs: try container.decode(Int.self, forKey: .epochs),
            seed: try container.decodeIfPresent(UInt64.self, forKey: .seed) ?? 0,
            precision: try container.decodeIfPresent(Precision.self, forKey: .precision) ?? .float32,
            earlyStopping: try container.decodeIfPresent(EarlyStopping.self, forKey: .earlyStopping),
            optimizer: try container.decodeIfPresent(Optimizer.self, forKey: .optimizer) ?? .sgd,
            beta1: try container.decodeIfPresent(Double.self, forKey: .beta1) ?? 0.9,
            beta2: try container.decodeIfPresent(Double.self, forKey: .beta2) ?? 0.999,
            epsilon: try container.decodeIfPresent(Double.self, forKey: .epsilon) ?? 1e-8,
            rho: try container.decodeIfPresent(Double.self, forKey: .rho) ?? 0.99
        )
    }

    /// The per-parameter state the optimizer keeps (and a resume needs), in a fixed order.
    public var optimizerBuffers: [OptimizerBuffer] {
        switch optimizer {
        case .sgd: return momentum > 0 ? [.velocity] : []
        case .adam, .adamw: return [.adamFirstMoment, .adamSecondMoment]
        case .rmsprop: return momentum > 0 ? [.squareAverage, .velocity] : [.squareAverage]
        }
    }

    /// Whether the update depends on the number of steps taken (Adam's bias correction), so that
    /// a resume needs the stored step count.
    public var optimizerCountsSteps: Bool { optimizer == .adam || optimizer == .adamw }

    /// Number of weight layers (layer numbers run 1...layerCount).
    public var layerCount: Int { max(layerSizes.count - 1, 0) }

    /// The activation of layer `layer` (1-based): hidden layers use `hiddenActivation`, the last `outputActivation`.
    public func activation(ofLayer layer: Int) -> Activation {
        layer == layerCount ? outputActivation : hiddenActivation
    }

    /// Throws `NeuralNetError.invalidConfiguration` naming the first bad value.
    /// Limits that keep sizes and offsets far from overflow (2^24 x 2^24 fits an Int with room).
    public static let maximumLayerSize = 1 << 24, maximumParameterCount = 1 << 34

    /// Total number of trainable values (weights and biases). Sizes beyond the limits count as
    /// just over them, so that validation can report a too-large network without overflowing.
    public var parameterCount: Int {
        var count = 0
        for layer in 1..<max(layerSizes.count, 1) {
            let inputs = min(max(layerSizes[layer - 1], 0), Self.maximumLayerSize + 1)
            let outputs = min(max(layerSizes[layer], 0), Self.maximumLayerSize + 1)
            count = min(count + inputs * outputs + (usesBias ? outputs : 0), Int.max / 2)  // each term < 2^49
        }
        return count
    }

    public func validate() throws {
        func fail(_ field: String, _ value: Any, _ reason: String) -> NeuralNetError {
            .invalidConfiguration(field: field, value: "\(value)", reason: reason)
        }
        guard layerSizes.count >= 2 else {
            throw fail("layerSizes", layerSizes, "needs at least an input and an output size, e.g. [2, 4, 1]")
        }
        if let bad = layerSizes.first(where: { $0 < 1 }) {
            throw fail("layerSizes", layerSizes, "every layer needs at least one unit (found \(bad))")
        }
        if let bad = layerSizes.first(where: { $0 > Self.maximumLayerSize }) {
            throw fail("layerSizes", layerSizes, "a layer has at most \(Self.maximumLayerSize) units (found \(bad))")
        }
        guard parameterCount <= Self.maximumParameterCount else {
            throw fail("layerSizes", layerSizes, "\(parameterCount) parameters; at most \(Self.maximumParameterCount)")
        }
        guard hiddenActivation != .softmax else {
            throw fail("hiddenActivation", hiddenActivation.rawValue, "softmax is only available as the output activation")
        }
        switch loss {
        case .crossEntropy:
            guard outputActivation == .softmax else {
                throw fail("outputActivation", outputActivation.rawValue, "cross-entropy needs a softmax output")
            }
        case .binaryCrossEntropy:
            guard outputActivation == .sigmoid else {
                throw fail("outputActivation", outputActivation.rawValue, "binary cross-entropy needs a sigmoid output")
            }
        case .meanSquaredError:
            guard outputActivation != .softmax else {
                throw fail("outputActivation", outputActivation.rawValue, "softmax goes with the cross-entropy loss")
            }
        }
        guard learningRate.isFinite, learningRate > 0 else {
            throw fail("learningRate", learningRate, "must be a finite number > 0")
        }
        // A float32 run steps with Float(learningRate): a value below float32's smallest would train
        // nothing, one above its largest is infinity.
        try refuseZeroInFloat32("learningRate", learningRate, fail)
        guard momentum.isFinite, momentum >= 0, momentum < 1 else {
            throw fail("momentum", momentum, "must be in [0, 1)")
        }
        guard weightDecay.isFinite, weightDecay >= 0 else {
            throw fail("weightDecay", weightDecay, "must be a finite number >= 0")
        }
        // Float(weightDecay) as infinity would diverge at once (one below float32's smallest is just no decay).
        if precision == .float32, Float(weightDecay).isInfinite {
            throw fail("weightDecay", weightDecay, "it is infinite in float32 (the largest is about 3.4e38): use a smaller value, or precision float64")
        }
        try validateOptimizer(fail)
        guard batchSize >= 1 else { throw fail("batchSize", batchSize, "must be at least 1") }
        guard epochs >= 0 else { throw fail("epochs", epochs, "must be 0 or more") }
        if let earlyStopping {
            guard earlyStopping.patience >= 0 else {
                throw fail("earlyStopping.patience", earlyStopping.patience, "must be 0 or more")
            }
            guard earlyStopping.minDelta.isFinite, earlyStopping.minDelta >= 0 else {
                throw fail("earlyStopping.minDelta", earlyStopping.minDelta, "must be a finite number >= 0")
            }
        }
    }
}

extension TrainingConfiguration {
    /// Refuses a positive setting that a float32 run would use as 0 (below about 1.4e-45, float32's
    /// smallest positive number).
    /// And one above float32's largest (about 3.4e38), which a float32 run would use as infinity
    /// (a run that diverges at once).
    fileprivate func refuseZeroInFloat32(_ field: String, _ value: Double, _ fail: (String, Any, String) -> NeuralNetError) throws {
        guard precision == .float32, value > 0 else { return }
        if Float(value) == 0 {
            throw fail(field, value, "it is 0 in float32 (the smallest is about 1.4e-45): use a larger value, or precision float64")
        }
        if Float(value).isInfinite {
            throw fail(field, value, "it is infinite in float32 (the largest is about 3.4e38): use a smaller value, or precision float64")
        }
    }

    /// The optimizer's own settings (PyTorch's ranges); a setting another optimizer uses is refused
    /// where it would be silently ignored (momentum with adam, nesterov without sgd).
    fileprivate func validateOptimizer(_ fail: (String, Any, String) -> NeuralNetError) throws {
        guard beta1.isFinite, beta1 >= 0, beta1 < 1 else { throw fail("beta1", beta1, "must be in [0, 1), e.g. 0.9") }
        guard beta2.isFinite, beta2 >= 0, beta2 < 1 else { throw fail("beta2", beta2, "must be in [0, 1), e.g. 0.999") }
        guard epsilon.isFinite, epsilon > 0 else { throw fail("epsilon", epsilon, "must be a finite number > 0, e.g. 1e-8") }
        // A float32 run adds Float(epsilon): 0 there divides 0 by 0 on a zero gradient.
        try refuseZeroInFloat32("epsilon", epsilon, fail)
        guard rho.isFinite, rho >= 0, rho < 1 else { throw fail("rho", rho, "must be in [0, 1), e.g. 0.99") }
        // A setting of another optimizer, moved off its default, would be silently ignored.
        let unused: [(name: String, value: Double, isDefault: Bool, owners: String)] = [
            ("beta1", beta1, beta1 == 0.9, "adam and adamw"), ("beta2", beta2, beta2 == 0.999, "adam and adamw"),
            ("epsilon", epsilon, epsilon == 1e-8, "adam, adamw and rmsprop"), ("rho", rho, rho == 0.99, "rmsprop"),
        ].filter { setting in
            switch optimizer {
            case .sgd: return true
            case .adam, .adamw: return setting.name == "rho"
            case .rmsprop: return setting.name == "beta1" || setting.name == "beta2"
            }
        }
        if let setting = unused.first(where: { !$0.isDefault }) {
            throw fail(setting.name, setting.value,
                       "\(optimizer.rawValue) does not use \(setting.name) (only \(setting.owners) \(setting.owners.contains(" and ") ? "do" : "does")): leave it out, or pick \(setting.owners.contains(" and ") ? "one of those optimizers" : "that optimizer")")
        }
        switch optimizer {
        case .adam, .adamw:
            guard momentum == 0 else {
                throw fail("momentum", momentum, "\(optimizer.rawValue) has no momentum setting (beta1 plays its part); use sgd or rmsprop for momentum")
            }
            guard !nesterov else { throw fail("nesterov", nesterov, "Nesterov momentum is for the sgd optimizer only") }
        case .rmsprop:
            guard !nesterov else { throw fail("nesterov", nesterov, "Nesterov momentum is for the sgd optimizer only") }
        case .sgd:
            // Nesterov with momentum 0 is plain sgd (the engine trains it so, bit for bit): not refused
            // here, so that runs queued before new input refused it still train
            // (`RunConfiguration.make` refuses it in new input).
            break
        }
    }
}
