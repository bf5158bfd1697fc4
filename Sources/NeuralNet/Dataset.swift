// Data in memory: a feature matrix plus targets, row selection and the seeded train/validation split.

public struct Dataset: Sendable, Equatable {
    public enum Targets: Sendable, Equatable {
        /// Real-valued targets, rowCount x columns, row-major (regression, or 0/1 for binary cross-entropy).
        case values([Double], columns: Int)
        /// Integer class labels in 0..<classCount, one per row.
        case labels([Int], classCount: Int)
    }

    /// rowCount x featureCount, row-major.
    public var features: [Double]
    public var rowCount: Int
    public var featureCount: Int
    public var featureNames: [String]
    public var targets: Targets

    /// `featureNames` defaults to x1, x2, ...
    public init(features: [Double], rowCount: Int, featureCount: Int, featureNames: [String]? = nil, targets: Targets) {
        self.features = features
        self.rowCount = rowCount
        self.featureCount = featureCount
        self.featureNames = featureNames ?? (0..<featureCount).map { "x\($0 + 1)" }
        self.targets = targets
    }

    public var isClassification: Bool {
        if case .labels = targets { return true }
        return false
    }

    /// Number of target columns (values) or classes (labels).
    public var targetWidth: Int {
        switch targets {
        case .values(_, let columns): return columns
        case .labels(_, let classCount): return classCount
        }
    }

    /// Throws `NeuralNetError.invalidDataset` when the arrays do not match the declared shape.
    public func validate() throws {
        guard rowCount >= 0, featureCount >= 1 else {
            throw NeuralNetError.invalidDataset(reason: "shape \(rowCount) rows x \(featureCount) features")
        }
        guard features.count == rowCount * featureCount else {
            throw NeuralNetError.invalidDataset(reason: "\(features.count) feature values for \(rowCount) x \(featureCount)")
        }
        guard featureNames.count == featureCount else {
            throw NeuralNetError.invalidDataset(reason: "\(featureNames.count) feature names for \(featureCount) features")
        }
        switch targets {
        case let .values(values, columns):
            guard columns >= 1, values.count == rowCount * columns else {
                throw NeuralNetError.invalidDataset(reason: "\(values.count) target values for \(rowCount) rows x \(columns) columns")
            }
        case let .labels(labels, classCount):
            guard labels.count == rowCount else {
                throw NeuralNetError.invalidDataset(reason: "\(labels.count) labels for \(rowCount) rows")
            }
            if let bad = labels.first(where: { $0 < 0 || $0 >= classCount }) {
                throw NeuralNetError.invalidDataset(reason: "label \(bad) outside 0..<\(classCount)")
            }
        }
    }

    /// The given rows, in the given order.
    public func rows(_ indices: [Int]) -> Dataset {
        var selected = [Double]()
        selected.reserveCapacity(indices.count * featureCount)
        for row in indices {
            selected.append(contentsOf: features[(row * featureCount)..<((row + 1) * featureCount)])
        }
        let selectedTargets: Targets
        switch targets {
        case let .values(values, columns):
            var chosen = [Double]()
            chosen.reserveCapacity(indices.count * columns)
            for row in indices { chosen.append(contentsOf: values[(row * columns)..<((row + 1) * columns)]) }
            selectedTargets = .values(chosen, columns: columns)
        case let .labels(labels, classCount):
            selectedTargets = .labels(indices.map { labels[$0] }, classCount: classCount)
        }
        return Dataset(features: selected, rowCount: indices.count, featureCount: featureCount,
                       featureNames: featureNames, targets: selectedTargets)
    }

    /// A seeded random split: the same seed and fraction give the same split on every run and machine.
    /// round(fraction * rowCount) rows go to validation (nil when that is 0); both parts keep the
    /// original row order.
    public func split(validationFraction: Double, seed: UInt64) -> (training: Dataset, validation: Dataset?) {
        let (trainingRows, validationRows) = Self.splitRows(rowCount: rowCount, validationFraction: validationFraction, seed: seed)
        guard !validationRows.isEmpty else { return (self, nil) }
        return (rows(trainingRows), rows(validationRows))
    }

    /// The rows (0-based, ascending) that `split` puts in each part: training row i of the split
    /// is row `training[i]` of the whole data (`report explain --row` names it).
    public static func splitRows(rowCount: Int, validationFraction: Double, seed: UInt64) -> (training: [Int], validation: [Int]) {
        let validationCount = splitSizes(rowCount: rowCount, validationFraction: validationFraction).validation
        guard validationCount > 0 else { return (Array(0..<rowCount), []) }
        var order = Array(0..<rowCount)
        var generator = Xoshiro256StarStar(seed: seed, stream: .split)
        order.withUnsafeMutableBufferPointer { generator.shuffle($0) }
        return (order[validationCount...].sorted(), order[0..<validationCount].sorted())
    }

    /// The row counts `split` gives, without copying any row.
    public static func splitSizes(rowCount: Int, validationFraction: Double) -> (training: Int, validation: Int) {
        let fraction = min(max(validationFraction.isFinite ? validationFraction : 0, 0), 1)
        let validation = Int((fraction * Double(rowCount)).rounded())
        return (rowCount - validation, validation)
    }
}
