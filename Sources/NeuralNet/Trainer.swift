// The public, non-generic trainer: picks the Float or Double engine once, at construction.

public final class Trainer {
    private enum Engine {
        case float32(TrainingEngine<Float>)
        case float64(TrainingEngine<Double>)
    }

    private let engine: Engine
    public let configuration: TrainingConfiguration

    /// A new run from seeded (or the given) initial parameters. Throws `NeuralNetError` for a bad
    /// configuration, data that does not fit the network, or parameters of the wrong shape.
    public init(configuration: TrainingConfiguration, training: Dataset, validation: Dataset?,
                initialParameters: [LayerParameters]? = nil) throws {
        self.configuration = configuration
        switch configuration.precision {
        case .float32:
            let engine = try TrainingEngine<Float>(configuration: configuration, training: training, validation: validation)
            if let initialParameters { try engine.load(initialParameters, into: engine.parameters, what: "initial parameters") } else { engine.initializeParameters() }
            self.engine = .float32(engine)
        case .float64:
            let engine = try TrainingEngine<Double>(configuration: configuration, training: training, validation: validation)
            if let initialParameters { try engine.load(initialParameters, into: engine.parameters, what: "initial parameters") } else { engine.initializeParameters() }
            self.engine = .float64(engine)
        }
    }

    /// Continues a run after `state.epoch` (epoch 0 is not reported again); with the same
    /// configuration and data, the remaining epochs are bit-identical to the uninterrupted run.
    public init(configuration: TrainingConfiguration, training: Dataset, validation: Dataset?,
                resumingFrom state: TrainingState) throws {
        self.configuration = configuration
        switch configuration.precision {
        case .float32:
            let engine = try TrainingEngine<Float>(configuration: configuration, training: training, validation: validation)
            try engine.resume(from: state)
            self.engine = .float32(engine)
        case .float64:
            let engine = try TrainingEngine<Double>(configuration: configuration, training: training, validation: validation)
            try engine.resume(from: state)
            self.engine = .float64(engine)
        }
    }

    /// Reports epoch 0 first (unless resuming), then each epoch, until `configuration.epochs`, early
    /// stopping, divergence (the diverged epoch is not reported) or the callback's `.stop`.
    /// Calling it again continues where the last call ended.
    public func run(onEpoch: (EpochResult) throws -> EpochDecision) throws -> TrainingOutcome {
        switch engine {
        case .float32(let engine): return try engine.run(onEpoch: onEpoch)
        case .float64(let engine): return try engine.run(onEpoch: onEpoch)
        }
    }

    /// false: train on the reference path even where the batch-1 small-network fast path applies
    /// (the two give the same bits; tests and benchmarks compare them).
    public var usesSmallNetworkPath: Bool {
        get {
            switch engine {
            case .float32(let engine): return engine.usesSmallNetworkPath
            case .float64(let engine): return engine.usesSmallNetworkPath
            }
        }
        set {
            switch engine {
            case .float32(let engine): engine.usesSmallNetworkPath = newValue
            case .float64(let engine): engine.usesSmallNetworkPath = newValue
            }
        }
    }

    /// Whether this run qualifies for the batch-1 small-network fast path (batch size 1, plain sgd,
    /// every layer at most 512 weights).
    public var hasSmallNetworkPath: Bool {
        switch engine {
        case .float32(let engine): return engine.hasSmallNetworkPath
        case .float64(let engine): return engine.hasSmallNetworkPath
        }
    }

    /// The optimizer buffers the engine allocated, and all the values of its one allocation
    /// (parameters, gradients, the epoch's gradient sum and those buffers): for tests.
    var allocatedOptimizerBuffers: [OptimizerBuffer] {
        switch engine {
        case .float32(let engine): return engine.allocatedOptimizerBuffers
        case .float64(let engine): return engine.allocatedOptimizerBuffers
        }
    }

    var allocatedScalarCount: Int {
        switch engine {
        case .float32(let engine): return engine.allocatedScalarCount
        case .float64(let engine): return engine.allocatedScalarCount
        }
    }

    /// The state after the last completed (reported) epoch, also after a divergence: what a later
    /// `init(resumingFrom:)` needs.
    public var state: TrainingState {
        switch engine {
        case .float32(let engine): return engine.state
        case .float64(let engine): return engine.state
        }
    }
}
