// Looking inside a network at given parameters (for `report` and the course examples): forward
// values, losses, dead units, and the course's three factors of a weight's slope.

/// The slope of the loss with respect to one weight, as the course writes it:
/// value of the node feeding the weight x slope of the activation at the node it feeds x slope of
/// the loss with respect to that node's output. For one row all three factors are given; for the
/// full data (row nil) only the mean gradient is.
public struct WeightSlope: Equatable, Sendable {
    /// Value of node i of the layer below (the input feature for layer 1).
    public var nodeValue: Double?
    /// Slope of node j's activation at its value (1 for a softmax output, whose slope is folded
    /// into `lossSlopeAtOutput` = dLoss/dz_j = p_j - y_j).
    public var activationSlope: Double?
    /// Slope of the loss with respect to node j's output (its input z for a softmax output).
    public var lossSlopeAtOutput: Double?
    /// nodeValue x activationSlope x lossSlopeAtOutput for one row; for the full data, the gradient.
    public var product: Double
    /// The weight's gradient as backprop computes it (mean over the rows used); equals `product` up to rounding.
    public var gradient: Double

    public init(nodeValue: Double?, activationSlope: Double?, lossSlopeAtOutput: Double?, product: Double, gradient: Double) {
        self.nodeValue = nodeValue
        self.activationSlope = activationSlope
        self.lossSlopeAtOutput = lossSlopeAtOutput
        self.product = product
        self.gradient = gradient
    }
}

public enum Inspection {
    /// Per hidden layer (layers 1...L-1): the fraction of units whose activation is 0 for every row.
    public static func deadUnitFractions(configuration: TrainingConfiguration, parameters: [LayerParameters],
                                         inputs: Dataset) throws -> [Double] {
        switch configuration.precision {
        case .float32: return try make(Float.self, configuration, parameters, inputs).deadUnitFractions()
        case .float64: return try make(Double.self, configuration, parameters, inputs).deadUnitFractions()
        }
    }

    /// The slope of the loss w.r.t. weight (i, j) of layer `layer` (1-based) at the given
    /// parameters: for one row, with the course's three factors; row nil, the full-data mean gradient.
    public static func weightSlope(configuration: TrainingConfiguration, parameters: [LayerParameters], data: Dataset,
                                   layer: Int, from i: Int, to j: Int, row: Int?) throws -> WeightSlope {
        guard (1...max(configuration.layerCount, 1)).contains(layer), layer <= configuration.layerCount else {
            throw NeuralNetError.invalidArgument(name: "layer", value: "\(layer)", reason: "layers are numbered 1 to \(configuration.layerCount)")
        }
        guard i >= 0, i < configuration.layerSizes[layer - 1] else {
            throw NeuralNetError.invalidArgument(name: "from", value: "\(i)", reason: "layer \(layer) has \(configuration.layerSizes[layer - 1]) inputs, numbered 0 to \(configuration.layerSizes[layer - 1] - 1)")
        }
        guard j >= 0, j < configuration.layerSizes[layer] else {
            throw NeuralNetError.invalidArgument(name: "to", value: "\(j)", reason: "layer \(layer) has \(configuration.layerSizes[layer]) units, numbered 0 to \(configuration.layerSizes[layer] - 1)")
        }
        if let row {
            guard row >= 0, row < data.rowCount else {
                throw NeuralNetError.invalidArgument(name: "row", value: "\(row)", reason: "the training data has \(data.rowCount) rows, numbered 0 to \(data.rowCount - 1)")
            }
        }
        let selected = row.map { data.rows([$0]) } ?? data
        switch configuration.precision {
        case .float32: return try make(Float.self, configuration, parameters, selected).weightSlope(layer: layer, from: i, to: j, perRow: row != nil)
        case .float64: return try make(Double.self, configuration, parameters, selected).weightSlope(layer: layer, from: i, to: j, perRow: row != nil)
        }
    }

    /// The values of every layer for one input row: [inputs, layer 1 outputs, ..., network outputs].
    public static func forward(configuration: TrainingConfiguration, parameters: [LayerParameters],
                               features: [Double]) throws -> [[Double]] {
        let outputs = configuration.layerSizes.last ?? 1
        let targets: Dataset.Targets = configuration.loss == .crossEntropy
            ? .labels([0], classCount: outputs) : .values([Double](repeating: 0, count: outputs), columns: outputs)
        let data = Dataset(features: features, rowCount: 1, featureCount: features.count, targets: targets)
        switch configuration.precision {
        case .float32: return try make(Float.self, configuration, parameters, data).layerValues()
        case .float64: return try make(Double.self, configuration, parameters, data).layerValues()
        }
    }

    /// The network's outputs for every row, [rows x outputs] row-major.
    public static func predictions(configuration: TrainingConfiguration, parameters: [LayerParameters],
                                   data: Dataset) throws -> [Double] {
        switch configuration.precision {
        case .float32: return try make(Float.self, configuration, parameters, data).predictions()
        case .float64: return try make(Double.self, configuration, parameters, data).predictions()
        }
    }

    /// Mean loss (and accuracy, for classification) of the parameters on the data.
    public static func evaluate(configuration: TrainingConfiguration, parameters: [LayerParameters],
                                data: Dataset) throws -> (loss: Double, accuracy: Double?) {
        switch configuration.precision {
        case .float32: return try make(Float.self, configuration, parameters, data).evaluateAll()
        case .float64: return try make(Double.self, configuration, parameters, data).evaluateAll()
        }
    }

    /// The gradient of the mean loss over all rows of `data` (weight decay not included), and that
    /// loss. For up to 256 rows this is exactly what training computes for a batch of these rows.
    public static func gradients(configuration: TrainingConfiguration, parameters: [LayerParameters],
                                 data: Dataset) throws -> (loss: Double, gradients: [LayerParameters]) {
        switch configuration.precision {
        case .float32: return try make(Float.self, configuration, parameters, data).batchGradients()
        case .float64: return try make(Double.self, configuration, parameters, data).batchGradients()
        }
    }

    /// Rows per forward/backward pass when inspecting: bounds the memory on large data.
    static let inspectionChunk = 256

    /// An engine over `data` holding `parameters`, passing over it in chunks of `inspectionChunk` rows.
    private static func make<Scalar: NetworkScalar>(_: Scalar.Type, _ configuration: TrainingConfiguration,
                                                    _ parameters: [LayerParameters], _ data: Dataset) throws -> TrainingEngine<Scalar> {
        var inspected = configuration
        inspected.earlyStopping = nil
        inspected.batchSize = min(max(data.rowCount, 1), inspectionChunk)
        guard data.rowCount > 0 else { throw NeuralNetError.invalidDataset(reason: "no rows to inspect") }
        let engine = try TrainingEngine<Scalar>(configuration: inspected, training: data, validation: nil)
        try engine.load(parameters, into: engine.parameters, what: "parameters")
        return engine
    }
}

extension TrainingEngine {
    fileprivate func evaluateAll() -> (loss: Double, accuracy: Double?) {
        evaluate(training)
    }

    fileprivate func deadUnitFractions() -> [Double] {
        let hidden = network.layouts.dropLast()
        var alive = hidden.map { [Bool](repeating: false, count: $0.outputs) }
        forEachChunk(of: training) { _, count in
            for (index, layout) in hidden.enumerated() {
                let values = evaluationActivations[index + 1]
                for row in 0..<count {
                    for unit in 0..<layout.outputs where values[row * layout.outputs + unit] != 0 { alive[index][unit] = true }
                }
            }
        }
        return alive.map { units in Double(units.filter { !$0 }.count) / Double(units.count) }
    }

    fileprivate func predictions() -> [Double] {
        let outputs = network.outputCount
        var result = [Double](repeating: 0, count: training.rowCount * outputs)
        forEachChunk(of: training) { start, count in
            let values = evaluationActivations[network.layerCount]
            for index in 0..<(count * outputs) { result[start * outputs + index] = Double(values[index]) }
        }
        return result
    }

    fileprivate func layerValues() -> [[Double]] {
        var result = [[Double]]()
        forEachChunk(of: training) { start, _ in
            guard start == 0 else { return }
            result.append((0..<training.featureCount).map { Double(training.features[$0]) })
            for (index, layout) in network.layouts.enumerated() {
                let values = evaluationActivations[index + 1]
                result.append((0..<layout.outputs).map { Double(values[$0]) })
            }
        }
        return result
    }

    /// Forward and backward passes over all rows; returns the mean loss and leaves the mean
    /// gradient in `gradients`.
    @discardableResult
    fileprivate func backpropagateAllRows() -> Double {
        let workspace = batchBuffers
        let rows = training.rowCount, capacity = workspace.capacity
        let identity = Array(0..<rows)
        let input = UnsafePointer(workspace.activations[0])
        var loss = 0.0
        // Up to `capacity` rows this is exactly one training batch; beyond, the chunks' mean
        // gradients are combined weighted by their row counts (memory stays bounded).
        if rows > capacity { epochGradientSum.update(repeating: 0, count: parameterCount) }
        var start = 0
        while start < rows {
            let count = min(capacity, rows - start)
            identity.withUnsafeBufferPointer { training.gather($0.baseAddress! + start, count: count, into: workspace) }
            network.forward(rows: count, input: input, parameters: parameters, workspace: workspace)
            let batch = network.lossAndOutputDelta(rows: count, workspace: workspace, accuracy: .none, computeDelta: true)
            network.backward(rows: count, input: input, parameters: parameters, gradients: gradients, workspace: workspace)
            loss += batch.loss * Double(count) / Double(rows)
            if rows > capacity {
                let weight = Scalar(count) / Scalar(rows)
                for index in 0..<parameterCount { epochGradientSum[index] += weight * gradients[index] }
            }
            start += count
        }
        if rows > capacity { gradients.update(from: epochGradientSum, count: parameterCount) }
        return loss
    }

    fileprivate func batchGradients() -> (loss: Double, gradients: [LayerParameters]) {
        let loss = backpropagateAllRows()
        return (loss, layers(of: gradients))
    }

    fileprivate func weightSlope(layer: Int, from i: Int, to j: Int, perRow: Bool) -> WeightSlope {
        backpropagateAllRows()
        let workspace = batchBuffers
        let layout = network.layouts[layer - 1]
        let gradient = Double(gradients[layout.weightOffset + i * layout.outputs + j])
        guard perRow else {
            return WeightSlope(nodeValue: nil, activationSlope: nil, lossSlopeAtOutput: nil, product: gradient, gradient: gradient)
        }
        let nodeValue = Double(workspace.activations[layer - 1][i])
        let value = workspace.activations[layer][j]
        var slope = Double(activationSlope(layout.activation, output: value))
        let lossSlope: Double
        if layer == network.layerCount {
            let outputs = layout.outputs
            let target = Double(workspace.targets[j])
            let prediction = Double(value)
            switch configuration.loss {
            case .meanSquaredError:
                lossSlope = 2 * (prediction - target) / Double(outputs)
            case .binaryCrossEntropy:
                if slope > 0 {
                    lossSlope = (prediction - target) / (prediction * (1 - prediction)) / Double(outputs)
                } else {
                    slope = 1
                    lossSlope = Double(workspace.deltas[layer][j])
                }
            case .crossEntropy:
                slope = 1
                lossSlope = Double(workspace.deltas[layer][j])
            }
        } else {
            // dLoss/dA_l[j] = sum over k of delta_{l+1}[k] * W_{l+1}[j, k]
            let above = network.layouts[layer]
            let deltaAbove = workspace.deltas[layer + 1]
            let weights = parameters + above.weightOffset
            var sum = 0.0
            for unit in 0..<above.outputs { sum += Double(deltaAbove[unit]) * Double(weights[j * above.outputs + unit]) }
            lossSlope = sum
        }
        return WeightSlope(nodeValue: nodeValue, activationSlope: slope, lossSlopeAtOutput: lossSlope,
                           product: nodeValue * slope * lossSlope, gradient: gradient)
    }
}
