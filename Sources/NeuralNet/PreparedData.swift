// A dataset converted once to the engine's element type and loss: features, target values and
// labels in flat buffers the batches are gathered from.

final class PreparedData<Scalar: NetworkScalar> {
    let rowCount: Int
    let featureCount: Int
    let outputCount: Int
    /// [rows x features]
    let features: UnsafeMutablePointer<Scalar>
    /// [rows x outputs] (mse, binary cross-entropy; one-hot or 0/1 for labels)
    let targets: UnsafeMutablePointer<Scalar>
    /// [rows] class labels (0 when the targets are values)
    let labels: UnsafeMutablePointer<Int>
    let accuracy: AccuracyMode

    /// Checks that the dataset fits the network and the loss, naming what does not.
    init(_ dataset: Dataset, configuration: TrainingConfiguration, role: String) throws {
        try dataset.validate()
        let inputs = configuration.layerSizes[0], outputs = configuration.layerSizes[configuration.layerSizes.count - 1]
        guard dataset.featureCount == inputs else {
            throw NeuralNetError.datasetMismatch(reason: "\(role) data has \(dataset.featureCount) features, the network \(inputs) inputs")
        }
        let rows = dataset.rowCount
        var targetValues = [Double](repeating: 0, count: rows * outputs)
        var labelValues = [Int](repeating: 0, count: rows)
        var accuracy = AccuracyMode.none
        switch (dataset.targets, configuration.loss) {
        case (.values, .crossEntropy):
            throw NeuralNetError.datasetMismatch(reason: "cross-entropy needs class labels, the \(role) data has real-valued targets")
        case let (.values(values, columns), _):
            guard columns == outputs else {
                throw NeuralNetError.datasetMismatch(reason: "\(role) data has \(columns) target columns, the network \(outputs) outputs")
            }
            targetValues = values
            accuracy = configuration.loss == .binaryCrossEntropy ? .threshold : .none
        case let (.labels(labels, classCount), .crossEntropy):
            guard classCount == outputs else {
                throw NeuralNetError.datasetMismatch(reason: "\(role) data has \(classCount) classes, the network \(outputs) outputs")
            }
            labelValues = labels
            accuracy = .argmax
        case let (.labels(labels, classCount), _):
            labelValues = labels
            if outputs == 1 {
                guard classCount <= 2 else {
                    throw NeuralNetError.datasetMismatch(reason: "\(role) data has \(classCount) classes, a single output can only score 2")
                }
                for row in 0..<rows { targetValues[row] = Double(labels[row]) }
                accuracy = .threshold
            } else {
                guard classCount == outputs else {
                    throw NeuralNetError.datasetMismatch(reason: "\(role) data has \(classCount) classes, the network \(outputs) outputs")
                }
                for row in 0..<rows { targetValues[row * outputs + labels[row]] = 1 }
                accuracy = .argmax
            }
        }
        rowCount = rows
        featureCount = inputs
        outputCount = outputs
        self.accuracy = accuracy
        features = .allocate(capacity: max(rows * inputs, 1))
        targets = .allocate(capacity: max(rows * outputs, 1))
        labels = .allocate(capacity: max(rows, 1))
        for index in 0..<(rows * inputs) { features[index] = Scalar(dataset.features[index]) }
        for index in 0..<(rows * outputs) { targets[index] = Scalar(targetValues[index]) }
        for index in 0..<rows { labels[index] = labelValues[index] }
    }

    deinit {
        features.deallocate()
        targets.deallocate()
        labels.deallocate()
    }

    /// Copies the given rows into the workspace's input, target and label buffers.
    /// - Complexity: O(rows x (features + outputs)), no allocation.
    @inline(__always)
    func gather(_ order: UnsafePointer<Int>, count: Int, into workspace: Workspace<Scalar>) {
        let input = workspace.activations[0]
        let targetBuffer = workspace.targets
        for position in 0..<count {
            let row = order[position]
            (input + position * featureCount).update(from: features + row * featureCount, count: featureCount)
            (targetBuffer + position * outputCount).update(from: targets + row * outputCount, count: outputCount)
            workspace.labels[position] = labels[row]
        }
    }

    /// Copies the contiguous rows start..<start+count's targets and labels into the workspace
    /// (evaluation reads the features in place).
    @inline(__always)
    func gatherTargets(start: Int, count: Int, into workspace: Workspace<Scalar>) {
        workspace.targets.update(from: targets + start * outputCount, count: count * outputCount)
        workspace.labels.update(from: labels + start, count: count)
    }

    /// Denominator of the accuracy for `rows` rows.
    func accuracyCount(rows: Int) -> Int {
        accuracy == .threshold ? rows * outputCount : rows
    }
}
