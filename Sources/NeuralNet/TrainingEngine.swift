// The generic trainer behind `Trainer`: epochs of shuffled mini-batches, the optimizer (sgd with
// momentum / Nesterov, adam, adamw, rmsprop; each one flat loop), evaluation, early stopping and divergence.
// Instantiated only as TrainingEngine<Float> and TrainingEngine<Double> (so it is specialized).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

final class TrainingEngine<Scalar: NetworkScalar> {
    let configuration: TrainingConfiguration
    let network: Network<Scalar>
    let parameterCount: Int
    /// One allocation of named views of parameterCount values each (llm.c style): parameters,
    /// gradients, the epoch's gradient sum, and one view per buffer the optimizer uses
    /// (`configuration.optimizerBuffers`; none for plain sgd).
    private let storage: UnsafeMutablePointer<Scalar>
    /// Values in `storage`.
    let allocatedScalarCount: Int
    let parameters: UnsafeMutablePointer<Scalar>
    let gradients: UnsafeMutablePointer<Scalar>
    /// Sum of the gradients applied during the current epoch.
    let epochGradientSum: UnsafeMutablePointer<Scalar>
    /// sgd / rmsprop momentum buffer; nil without momentum or with adam.
    let velocities: UnsafeMutablePointer<Scalar>?
    /// adam's m; nil for the other optimizers.
    let firstMoments: UnsafeMutablePointer<Scalar>?
    /// adam's v, or rmsprop's square average; nil for sgd.
    let secondMoments: UnsafeMutablePointer<Scalar>?
    /// The views above by the buffer they hold (what is stored and resumed).
    private let bufferViews: [OptimizerBuffer: UnsafeMutablePointer<Scalar>]

    let training: PreparedData<Scalar>
    let validation: PreparedData<Scalar>?
    private let batchWorkspace: Workspace<Scalar>
    private let evaluationWorkspace: Workspace<Scalar>
    private let order: UnsafeMutablePointer<Int>

    /// The epoch the parameters are the result of.
    private(set) var epoch = 0
    private var hasReportedStart = false
    /// The tensors of the last reported epoch: after a divergence the live buffers hold a
    /// half-trained epoch, so `state` answers from here.
    private var lastReported: (parameters: [LayerParameters], buffers: [OptimizerBuffer: [LayerParameters]], step: Int)?
    /// Optimizer steps (batches) taken so far; the live count, ahead of `lastReported` mid-epoch.
    private var step = 0
    private var divergedEpoch: Int?
    /// The early-stopping monitor's loss for epochs 0...epoch.
    private(set) var monitoredLosses: [Double] = []
    private var bestMonitoredLoss = Double.infinity
    private var epochsWithoutImprovement = 0

    private enum UpdateRule { case plain, momentum, nesterov, adam, adamw, rmsprop, rmspropMomentum }
    private let updateRule: UpdateRule
    /// The batch-1 fast path, when the run qualifies (SmallNetworkPath.swift).
    private let smallPath: SmallNetworkPath<Scalar>?
    /// false: train on the reference path even where the fast path applies (tests compare the two).
    var usesSmallNetworkPath = true
    /// Whether this run qualifies for the fast path at all.
    var hasSmallNetworkPath: Bool { smallPath != nil }

    init(configuration: TrainingConfiguration, training: Dataset, validation: Dataset?) throws {
        try configuration.validate()
        if let earlyStopping = configuration.earlyStopping, earlyStopping.monitor == .validationLoss, validation == nil {
            throw NeuralNetError.invalidConfiguration(
                field: "earlyStopping.monitor", value: earlyStopping.monitor.rawValue,
                reason: "monitoring the validation loss needs validation data (or monitor train_loss)")
        }
        self.configuration = configuration
        let (layouts, count) = DenseLayout.layouts(for: configuration)
        network = Network(layouts: layouts, loss: configuration.loss)
        parameterCount = count
        self.training = try PreparedData(training, configuration: configuration, role: "training")
        guard training.rowCount > 0 else { throw NeuralNetError.invalidDataset(reason: "the training data has no rows") }
        self.validation = try validation.map { try PreparedData($0, configuration: configuration, role: "validation") }
            .flatMap { $0.rowCount > 0 ? $0 : nil }
        let buffers = configuration.optimizerBuffers
        allocatedScalarCount = (3 + buffers.count) * count
        storage = .allocate(capacity: max(allocatedScalarCount, 1))
        storage.initialize(repeating: 0, count: max(allocatedScalarCount, 1))
        parameters = storage
        gradients = storage + count
        epochGradientSum = storage + 2 * count
        var views: [OptimizerBuffer: UnsafeMutablePointer<Scalar>] = [:]
        for (index, buffer) in buffers.enumerated() { views[buffer] = storage + (3 + index) * count }
        bufferViews = views
        velocities = views[.velocity]
        firstMoments = views[.adamFirstMoment]
        secondMoments = views[.adamSecondMoment] ?? views[.squareAverage]
        let batchCapacity = min(configuration.batchSize, training.rowCount)
        batchWorkspace = Workspace(capacity: batchCapacity, layerSizes: configuration.layerSizes)
        let largestRows = max(training.rowCount, validation?.rowCount ?? 0)
        evaluationWorkspace = Workspace(capacity: min(largestRows, max(batchCapacity, 256)), layerSizes: configuration.layerSizes)
        order = .allocate(capacity: training.rowCount)
        order.initialize(repeating: 0, count: training.rowCount)
        smallPath = SmallNetworkPath(configuration: configuration, layouts: layouts, parameterCount: count,
                                     batchCapacity: batchCapacity, accuracy: self.training.accuracy)
        switch configuration.optimizer {
        case .sgd: updateRule = configuration.momentum == 0 ? .plain : configuration.nesterov ? .nesterov : .momentum
        case .adam: updateRule = .adam
        case .adamw: updateRule = .adamw
        case .rmsprop: updateRule = configuration.momentum == 0 ? .rmsprop : .rmspropMomentum
        }
    }

    deinit {
        storage.deallocate()
        order.deallocate()
    }

    // MARK: Parameters in and out

    /// Seeded initialization: weights per scheme (he for relu layers, glorot otherwise, by default),
    /// biases zero. Values are drawn as Double and rounded, so Float and Double runs start alike.
    func initializeParameters() {
        var generator = Xoshiro256StarStar(seed: configuration.seed, stream: .initialization)
        for layout in network.layouts {
            let scheme = configuration.initialization ?? (layout.activation == .relu ? .heUniform : .glorotUniform)
            let fanIn = Double(layout.inputs), fanOut = Double(layout.outputs)
            // Keras scales truncated normals so their standard deviation is the nominal one.
            let truncationCorrection = 0.879_625_661_034_239_78
            let weights = parameters + layout.weightOffset
            for index in 0..<layout.weightCount {
                let value: Double
                switch scheme {
                case .heUniform:
                    let limit = (6 / fanIn).squareRoot()
                    value = generator.uniform(-limit, limit)
                case .glorotUniform:
                    let limit = (6 / (fanIn + fanOut)).squareRoot()
                    value = generator.uniform(-limit, limit)
                case .heNormal:
                    value = generator.truncatedNormal() * (2 / fanIn).squareRoot() / truncationCorrection
                case .glorotNormal:
                    value = generator.truncatedNormal() * (2 / (fanIn + fanOut)).squareRoot() / truncationCorrection
                case .zeros:
                    value = 0
                }
                weights[index] = Scalar(value)
            }
            if layout.hasBias {
                (parameters + layout.biasOffset).update(repeating: 0, count: layout.outputs)
            }
        }
    }

    /// Loads per-layer tensors into a flat view, checking shapes against the layout.
    func load(_ layers: [LayerParameters], into destination: UnsafeMutablePointer<Scalar>, what: String) throws {
        guard layers.count == network.layerCount else {
            throw NeuralNetError.invalidParameters(reason: "\(layers.count) layers of \(what), the network has \(network.layerCount)")
        }
        for (index, (layer, layout)) in zip(layers, network.layouts).enumerated() {
            guard layer.weight.rows == layout.inputs, layer.weight.cols == layout.outputs else {
                throw NeuralNetError.invalidParameters(
                    reason: "layer \(index + 1) \(what) weight is \(layer.weight.rows) x \(layer.weight.cols), expected \(layout.inputs) x \(layout.outputs)")
            }
            Scalar.load(layer.weight, into: destination + layout.weightOffset)
            if layout.hasBias {
                guard let bias = layer.bias else {
                    throw NeuralNetError.invalidParameters(reason: "layer \(index + 1) \(what) has no bias, but the network uses biases")
                }
                guard bias.rows == 1, bias.cols == layout.outputs else {
                    throw NeuralNetError.invalidParameters(
                        reason: "layer \(index + 1) \(what) bias is \(bias.rows) x \(bias.cols), expected 1 x \(layout.outputs)")
                }
                Scalar.load(bias, into: destination + layout.biasOffset)
            } else if layer.bias != nil {
                throw NeuralNetError.invalidParameters(reason: "layer \(index + 1) \(what) has a bias, but usesBias is false")
            }
        }
    }

    /// Per-layer tensors of a flat view (a copy: once per epoch, never per batch).
    func layers(of source: UnsafePointer<Scalar>) -> [LayerParameters] {
        network.layouts.map { layout in
            LayerParameters(
                weight: Scalar.tensor(rows: layout.inputs, cols: layout.outputs, from: source + layout.weightOffset),
                bias: layout.hasBias ? Scalar.tensor(rows: 1, cols: layout.outputs, from: source + layout.biasOffset) : nil)
        }
    }

    /// The buffers this engine allocated: the optimizer's (`configuration.optimizerBuffers`).
    var allocatedOptimizerBuffers: [OptimizerBuffer] { OptimizerBuffer.allCases.filter { bufferViews[$0] != nil } }

    /// The flat view holding one of the optimizer's buffers (allocated for each buffer in
    /// `configuration.optimizerBuffers`, the only ones ever asked for).
    private func view(of buffer: OptimizerBuffer) -> UnsafeMutablePointer<Scalar> {
        guard let view = bufferViews[buffer] else {
            preconditionFailure("the \(configuration.optimizer.rawValue) optimizer keeps no \(buffer.rawValue) buffer")
        }
        return view
    }

    /// Copies of the optimizer's buffers (once per epoch).
    private func bufferLayers() -> [OptimizerBuffer: [LayerParameters]] {
        var buffers: [OptimizerBuffer: [LayerParameters]] = [:]
        for buffer in configuration.optimizerBuffers { buffers[buffer] = layers(of: view(of: buffer)) }
        return buffers
    }

    /// Batches per epoch: every epoch takes this many optimizer steps.
    private var batchesPerEpoch: Int { (training.rowCount + batchWorkspace.capacity - 1) / batchWorkspace.capacity }

    /// Continue after `state.epoch`: parameters, optimizer buffers and step, the early-stopping history.
    func resume(from state: TrainingState) throws {
        guard state.epoch >= 0 else { throw NeuralNetError.invalidState(reason: "epoch \(state.epoch) is negative") }
        try load(state.parameters, into: parameters, what: "parameters")
        for buffer in configuration.optimizerBuffers {
            if let layers = state.optimizerBuffers[buffer] {
                try load(layers, into: view(of: buffer), what: buffer == .velocity ? "velocities" : "\(buffer.rawValue) buffers")
            } else if state.epoch > 0 {
                if buffer == .velocity {
                    throw NeuralNetError.invalidState(reason: "momentum is \(configuration.momentum) but the epoch-\(state.epoch) state has no velocities")
                }
                throw NeuralNetError.invalidState(
                    reason: "the \(configuration.optimizer.rawValue) optimizer needs its \(buffer.rawValue) buffers, but the epoch-\(state.epoch) state has none")
            }
        }
        // Every epoch takes the same number of steps, so the count is known; a stored one must agree.
        let expectedStep = state.epoch * batchesPerEpoch
        if let stored = state.step, stored != expectedStep {
            throw NeuralNetError.invalidState(
                reason: "the epoch-\(state.epoch) state has taken \(stored) optimizer steps, expected \(expectedStep) (\(batchesPerEpoch) batches per epoch)")
        }
        if state.step == nil, configuration.optimizerCountsSteps, state.epoch > 0 {
            throw NeuralNetError.invalidState(reason: "the \(configuration.optimizer.rawValue) optimizer needs the step count, but the epoch-\(state.epoch) state has none")
        }
        step = expectedStep
        if let earlyStopping = configuration.earlyStopping {
            guard state.monitoredLosses.count == state.epoch + 1 else {
                throw NeuralNetError.invalidState(
                    reason: "early stopping needs the \(earlyStopping.monitor.rawValue) of epochs 0...\(state.epoch), got \(state.monitoredLosses.count) values")
            }
            for loss in state.monitoredLosses.dropFirst() { _ = recordForEarlyStopping(loss) }
        }
        monitoredLosses = state.monitoredLosses
        epoch = state.epoch
        hasReportedStart = true
        lastReported = (layers(of: parameters), bufferLayers(), step)
    }

    /// The state after the last completed epoch (also after a divergence).
    var state: TrainingState {
        let reported = lastReported ?? (layers(of: parameters), bufferLayers(), step)
        return TrainingState(epoch: epoch, parameters: reported.parameters, monitoredLosses: monitoredLosses,
                             optimizerBuffers: reported.buffers, step: reported.step)
    }

    // MARK: Training

    /// Whether early stopping fired at the current epoch (true after `resume` at such an epoch).
    private var hasMetStopCondition: Bool { lastRecordStops && epoch < configuration.epochs }
    private var lastRecordStops = false

    /// Keras: an epoch improves when loss < best - minDelta; stop after `patience` epochs in a row without.
    private func recordForEarlyStopping(_ loss: Double) -> Bool {
        guard let earlyStopping = configuration.earlyStopping else { return false }
        if loss < bestMonitoredLoss - earlyStopping.minDelta {
            bestMonitoredLoss = loss
            epochsWithoutImprovement = 0
            lastRecordStops = false
            return false
        }
        epochsWithoutImprovement += 1
        lastRecordStops = epochsWithoutImprovement >= earlyStopping.patience
        return lastRecordStops
    }

    private func monitored(trainLoss: Double, validationLoss: Double?) -> Double {
        if configuration.earlyStopping?.monitor == .trainLoss { return trainLoss }
        return validationLoss ?? trainLoss
    }

    func run(onEpoch: (EpochResult) throws -> EpochDecision) throws -> TrainingOutcome {
        if let divergedEpoch { return .diverged(epoch: divergedEpoch) }
        let outcome = try train(onEpoch: onEpoch)
        if case let .diverged(epoch) = outcome { divergedEpoch = epoch }
        return outcome
    }

    private func report(_ result: EpochResult, to onEpoch: (EpochResult) throws -> EpochDecision) rethrows -> EpochDecision {
        lastReported = (result.parameters, result.optimizerBuffers, result.step)
        return try onEpoch(result)
    }

    private func train(onEpoch: (EpochResult) throws -> EpochDecision) throws -> TrainingOutcome {
        if !hasReportedStart {
            hasReportedStart = true
            let clock = ContinuousClock()
            let start = clock.now
            let train = evaluate(training)
            let validationResult = validation.map { evaluate($0) }
            guard train.loss.isFinite, validationResult?.loss.isFinite ?? true else { return .diverged(epoch: 0) }
            monitoredLosses.append(monitored(trainLoss: train.loss, validationLoss: validationResult?.loss))
            var result = EpochResult(
                epoch: 0, trainLoss: train.loss, trainAccuracy: train.accuracy,
                validationLoss: validationResult?.loss, validationAccuracy: validationResult?.accuracy,
                seconds: seconds(since: start, clock: clock), parameters: layers(of: parameters), gradients: nil,
                velocities: nil, optimizerBuffers: bufferLayers(), step: step)
            result.endsTraining = configuration.epochs == 0
            if try report(result, to: onEpoch) == .stop { return .stoppedByCaller(epoch: 0) }
        }
        // Resumed at an epoch where early stopping had already fired (the process was stopped
        // before it could end the run): end it there, as the uninterrupted run did.
        if epoch > 0, hasMetStopCondition { return .earlyStopped(epoch: epoch) }
        while epoch < configuration.epochs {
            let current = epoch + 1
            let clock = ContinuousClock()
            let start = clock.now
            guard let train = trainEpoch(current) else { return .diverged(epoch: current) }
            let validationResult = validation.map { evaluate($0) }
            guard validationResult?.loss.isFinite ?? true, parametersAreFinite() else { return .diverged(epoch: current) }
            epoch = current
            let monitoredLoss = monitored(trainLoss: train.loss, validationLoss: validationResult?.loss)
            monitoredLosses.append(monitoredLoss)
            let shouldStopEarly = recordForEarlyStopping(monitoredLoss)
            let meanScale = 1 / Scalar(batchesPerEpoch)
            for index in 0..<parameterCount { gradients[index] = epochGradientSum[index] * meanScale }
            var result = EpochResult(
                epoch: current, trainLoss: train.loss, trainAccuracy: train.accuracy,
                validationLoss: validationResult?.loss, validationAccuracy: validationResult?.accuracy,
                seconds: seconds(since: start, clock: clock), parameters: layers(of: parameters),
                gradients: layers(of: gradients), velocities: nil, optimizerBuffers: bufferLayers(), step: step)
            result.endsTraining = shouldStopEarly || current == configuration.epochs
            if try report(result, to: onEpoch) == .stop { return .stoppedByCaller(epoch: current) }
            if shouldStopEarly && current < configuration.epochs { return .earlyStopped(epoch: current) }
        }
        return .completed
    }

    private func seconds(since start: ContinuousClock.Instant, clock: ContinuousClock) -> Double {
        let elapsed = clock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }

    private func parametersAreFinite() -> Bool {
        for index in 0..<parameterCount where !parameters[index].isFinite { return false }
        return true
    }

    /// The shuffle order of epoch e: a pure function of (seed, e).
    private func shuffle(epoch: Int) {
        for index in 0..<training.rowCount { order[index] = index }
        var generator = Xoshiro256StarStar(seed: configuration.seed, stream: .shuffle, index: UInt64(epoch))
        generator.shuffle(UnsafeMutableBufferPointer(start: order, count: training.rowCount))
    }

    /// One epoch of mini-batches; nil when a batch loss is NaN or infinite (diverged).
    /// - Complexity: allocates nothing.
    private func trainEpoch(_ epoch: Int) -> (loss: Double, accuracy: Double?)? {
        shuffle(epoch: epoch)
        epochGradientSum.update(repeating: 0, count: parameterCount)
        let rows = training.rowCount, capacity = batchWorkspace.capacity
        if let smallPath, usesSmallNetworkPath {
            var weightedLoss = 0.0, correct = 0
            let diverged = Scalar.smallSGDEpoch(
                smallPath.network, count: rows, order: order, features: training.features, targets: training.targets,
                labels: training.labels, learningRate: Scalar(configuration.learningRate), weightDecay: Scalar(configuration.weightDecay),
                parameters: parameters, gradients: gradients, gradientSums: epochGradientSum, scratch: smallPath.scratch,
                weightedLoss: &weightedLoss, correct: &correct)
            if diverged { return nil }
            step += rows
            let accuracy = training.accuracy == .none ? nil : Double(correct) / Double(training.accuracyCount(rows: rows))
            return (weightedLoss / Double(rows), accuracy)
        }
        let input = UnsafePointer(batchWorkspace.activations[0])
        var weightedLoss = 0.0
        var correct = 0
        var start = 0
        while start < rows {
            let count = min(capacity, rows - start)
            training.gather(order + start, count: count, into: batchWorkspace)
            network.forward(rows: count, input: input, parameters: parameters, workspace: batchWorkspace)
            let batch = network.lossAndOutputDelta(rows: count, workspace: batchWorkspace, accuracy: training.accuracy, computeDelta: true)
            guard batch.loss.isFinite else { return nil }
            weightedLoss += batch.loss * Double(count)
            correct += batch.correct
            network.backward(rows: count, input: input, parameters: parameters, gradients: gradients, workspace: batchWorkspace)
            applyUpdate()
            start += count
        }
        let accuracy = training.accuracy == .none ? nil : Double(correct) / Double(training.accuracyCount(rows: rows))
        return (weightedLoss / Double(rows), accuracy)
    }

    /// The optimizer: one rule, one flat loop over every parameter. L2 weight decay (every rule but
    /// adamw) is added to the weight gradients first; adamw shrinks the weights instead. The
    /// formulas, term for term, are in docs/optimizers.md; Tests/NeuralNetTests/optimizer_reference.py
    /// computes them in numpy in the same order.
    @inline(__always)
    private func applyUpdate() {
        let count = parameterCount
        let learningRate = Scalar(configuration.learningRate)
        step += 1
        if configuration.weightDecay != 0 {
            if updateRule == .adamw {
                // Decoupled: w *= 1 - learningRate * weightDecay (PyTorch's AdamW), before the Adam step.
                let shrink = Scalar(1 - configuration.learningRate * configuration.weightDecay)
                for layout in network.layouts {
                    let weights = parameters + layout.weightOffset
                    for index in 0..<layout.weightCount { weights[index] *= shrink }
                }
            } else {
                let decay = Scalar(configuration.weightDecay)
                for layout in network.layouts {
                    let weights = parameters + layout.weightOffset, weightGradient = gradients + layout.weightOffset
                    for index in 0..<layout.weightCount { weightGradient[index] += decay * weights[index] }
                }
            }
        }
        let parameters = self.parameters, gradients = self.gradients, sum = epochGradientSum
        switch updateRule {
        case .plain:
            Scalar.sgdStep(count: count, learningRate: learningRate, weights: parameters, gradients: gradients, sums: sum)
        case .momentum:
            let momentum = Scalar(configuration.momentum), velocities = self.velocities!
            for index in 0..<count {
                let gradient = gradients[index]
                let velocity = momentum * velocities[index] - learningRate * gradient
                velocities[index] = velocity
                parameters[index] += velocity
                sum[index] += gradient
            }
        case .nesterov:
            let momentum = Scalar(configuration.momentum), velocities = self.velocities!
            for index in 0..<count {
                let gradient = gradients[index]
                let velocity = momentum * velocities[index] - learningRate * gradient
                velocities[index] = velocity
                parameters[index] += momentum * velocity - learningRate * gradient
                sum[index] += gradient
            }
        case .adam, .adamw:
            // Bias corrections in Double (pow of the step), then rounded once, as PyTorch does.
            let t = Double(step)
            let correction1 = 1 - pow(configuration.beta1, t), correction2 = 1 - pow(configuration.beta2, t)
            let stepSize = Scalar(configuration.learningRate / correction1)
            let correction2Root = Scalar(correction2.squareRoot())
            let beta1 = Scalar(configuration.beta1), oneMinusBeta1 = Scalar(1 - configuration.beta1)
            let beta2 = Scalar(configuration.beta2), oneMinusBeta2 = Scalar(1 - configuration.beta2)
            let epsilon = Scalar(configuration.epsilon)
            let m = firstMoments!, v = secondMoments!
            for index in 0..<count {
                let gradient = gradients[index]
                let mean = beta1 * m[index] + oneMinusBeta1 * gradient
                let square = beta2 * v[index] + oneMinusBeta2 * (gradient * gradient)
                m[index] = mean
                v[index] = square
                let denominator = square.squareRoot() / correction2Root + epsilon
                parameters[index] -= stepSize * (mean / denominator)
                sum[index] += gradient
            }
        case .rmsprop, .rmspropMomentum:
            let rho = Scalar(configuration.rho), oneMinusRho = Scalar(1 - configuration.rho)
            let epsilon = Scalar(configuration.epsilon), momentum = Scalar(configuration.momentum)
            let average = secondMoments!, velocities = self.velocities  // nil without momentum
            for index in 0..<count {
                let gradient = gradients[index]
                let square = rho * average[index] + oneMinusRho * (gradient * gradient)
                average[index] = square
                let scaled = gradient / (square.squareRoot() + epsilon)
                if let velocities {
                    // PyTorch: buffer = momentum * buffer + g / (sqrt(s) + eps); w -= learningRate * buffer.
                    let buffer = momentum * velocities[index] + scaled
                    velocities[index] = buffer
                    parameters[index] -= learningRate * buffer
                } else {
                    parameters[index] -= learningRate * scaled
                }
                sum[index] += gradient
            }
        }
    }

    // MARK: Evaluation

    /// Loss and accuracy of the current parameters on all rows (in chunks, features read in place).
    func evaluate(_ data: PreparedData<Scalar>) -> (loss: Double, accuracy: Double?) {
        var lossSum = 0.0, correct = 0
        forEachChunk(of: data) { start, count in
            let batch = network.lossAndOutputDelta(rows: count, workspace: evaluationWorkspace, accuracy: data.accuracy, computeDelta: false)
            lossSum += batch.loss * Double(count)
            correct += batch.correct
        }
        let accuracy = data.accuracy == .none ? nil : Double(correct) / Double(data.accuracyCount(rows: data.rowCount))
        return (lossSum / Double(data.rowCount), accuracy)
    }

    /// Runs the forward pass over consecutive chunks of `data`, calling `body(start, count)` with the
    /// chunk's results in the evaluation workspace.
    func forEachChunk(of data: PreparedData<Scalar>, _ body: (Int, Int) -> Void) {
        let capacity = evaluationWorkspace.capacity
        var start = 0
        while start < data.rowCount {
            let count = min(capacity, data.rowCount - start)
            data.gatherTargets(start: start, count: count, into: evaluationWorkspace)
            network.forward(rows: count, input: data.features + start * data.featureCount, parameters: parameters,
                            workspace: evaluationWorkspace)
            body(start, count)
            start += count
        }
    }

    var evaluationActivations: [UnsafeMutablePointer<Scalar>] { evaluationWorkspace.activations }
    var batchBuffers: Workspace<Scalar> { batchWorkspace }
}
