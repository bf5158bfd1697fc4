// A new data file made ready for a stored run (`report evaluate`): read with the same CSV checks
// as training data, its columns matched by name, standardized with the run's own training
// statistics, its classes put in the run's class order.
import Foundation
import NeuralNet
import Store

/// A test file prepared for one run.
public struct EvaluationData: Sendable {
    /// The run's engine configuration (layer sizes, activations, loss, precision).
    public var configuration: TrainingConfiguration
    /// The file's rows: features in the run's order (standardized when the run was); targets as
    /// labels in the run's class order, or values. Without a target column, zeros (see `hasTargets`).
    public var data: Dataset
    /// Whether the file has the run's target column (loss, accuracy and confusion matrix need it).
    public var hasTargets: Bool
    /// The run's classes, label 0 first; nil for regression.
    public var classNames: [String]?
    /// The target column's name ("target" when the run's data did not name it).
    public var targetName: String
}

extension DataCatalog {
    /// Reads `file` for the run whose stored configuration is `configuration`.
    ///
    /// Standardization: its means and scales are not stored with a run. They are recomputed here
    /// exactly as training computed them (`split`, then `standardization(of:)` on the training
    /// rows) from the run's own data, which `loadChecked` verifies against the sha256 stored when
    /// the run was queued. The same function on the same rows gives the same bits, so every run
    /// ever stored can be evaluated, with no schema change and nothing stored per run; the cost is
    /// reading the training data again (and a clear error if it changed or is gone).
    ///
    /// - Throws: `ExperimentsError.badData` naming the file (and line or column) for a bad CSV, a
    ///   missing feature column, an unexpected column or a class the run does not know.
    public static func evaluationData(for configuration: RunConfiguration, file: String, databasePath: String?) throws -> EvaluationData {
        let trainingName: String, loaded: LoadedData
        do {
            (trainingName, loaded) = try loadChecked(configuration.data, databasePath: databasePath)
        } catch let ExperimentsError.storedInputUnavailable(trainingFile, reason) {
            // Not the --data file: the run's own training data, which is read again (hostile17 H8).
            throw ExperimentsError.storedInputUnavailable(file: trainingFile, reason: reason
                + "; evaluate reads the run's training data again for its " + (configuration.data.standardize ? "standardization and " : "")
                + "columns: run it where that file is (the folder the run was started from), or put the file back")
        }
        let training = loaded.dataset
        let targetName = loaded.targetName ?? configuration.data.target ?? "target"
        let classNames = loaded.classNames

        // The same CSV checks as training data (header, field counts, finite numbers, text only in the target).
        let bytes = try InputFile.contents(file, what: "a CSV file", refusedFromStart: CSVTable.binaryProblem) { .badData(file: file, line: nil, column: nil, reason: $0) }
        let featureNames = training.featureNames
        // The columns are checked before any row: an id column of text is said as a column to remove,
        // not as a cell that is no number (hostile17 H2).
        let table = try CSVTable.parse([UInt8](bytes), file: file, textColumn: targetName) { columns in
            for name in featureNames where !columns.contains(name) {
                throw ExperimentsError.badData(file: file, line: 1, column: nil,
                    reason: "no column '\(shownText(name))'; the run's features are \(listed(featureNames)) (from \(trainingName))")
            }
            if let extra = columns.first(where: { !featureNames.contains($0) && $0 != targetName }) {
                throw ExperimentsError.badData(file: file, line: 1, column: "'\(shownText(extra))'",
                    reason: "is neither a feature of the run (\(listed(featureNames))) nor its target '\(shownText(targetName))'; remove that column")
            }
        }
        let columns = table.columnNames
        let featureColumns = featureNames.map { columns.firstIndex(of: $0)! }  // each there (checked with the header)
        let targetColumn = columns.firstIndex(of: targetName)
        if let targetColumn, table.mixedText != nil || (table.texts != nil && classNames == nil) {
            let line = table.mixedText?.line
            throw ExperimentsError.badData(file: file, line: line, column: "'\(shownText(columns[targetColumn]))'",
                reason: "holds text, and the run's target holds numbers; fix or remove those rows")
        }

        // Training's float32 range check (`loadCSV`): a float32 run computes in float32, where 1e39 is infinite.
        if configuration.training.precision == .float32 {
            let checked = featureColumns + (training.isClassification ? [] : targetColumn.map { [$0] } ?? [])
            let cells = checked.compactMap { column in table.beyondFloat32[column].map { (column, $0) } }
            if let (column, cell) = cells.min(by: { ($0.1.line, $0.0) < ($1.1.line, $1.0) }) {
                throw ExperimentsError.badData(file: file, line: cell.line, column: "'\(shownText(columns[column]))' (\(column + 1))",
                    reason: "'\(shownText(cell.text))' is beyond the float32 range (about ±3.4e38) that the run computes in; rescale the column")
            }
        }
        guard table.rowCount > 0 else {
            throw ExperimentsError.badData(file: file, line: nil, column: nil, reason: "no data rows after the header")
        }
        let width = columns.count
        var features = [Double]()
        features.reserveCapacity(table.rowCount * featureColumns.count)
        for row in 0..<table.rowCount {
            for column in featureColumns { features.append(table.values[row * width + column]) }
        }
        let fileTargets = try targets(of: table, column: targetColumn, like: training.targets, classNames: classNames,
                                      file: file, targetName: targetName)
        var dataset = Dataset(features: features, rowCount: table.rowCount, featureCount: featureColumns.count,
                              featureNames: featureNames, targets: fileTargets)
        if configuration.data.standardize {
            let rows = configuration.data.validationFraction > 0
                ? training.split(validationFraction: configuration.data.validationFraction, seed: configuration.data.splitSeed).training
                : training
            let (means, scales) = standardization(of: rows)
            dataset = apply(means: means, scales: scales, to: dataset)
        }
        return EvaluationData(configuration: configuration.training, data: dataset, hasTargets: targetColumn != nil,
                              classNames: classNames, targetName: targetName)
    }

    /// The file's targets in the form of the run's: class labels by the run's class names, or values.
    private static func targets(of table: CSVTable, column: Int?, like training: Dataset.Targets, classNames: [String]?,
                                file: String, targetName: String) throws -> Dataset.Targets {
        let rows = table.rowCount
        switch training {
        case let .values(_, columns):
            guard let column else { return .values([Double](repeating: 0, count: rows * columns), columns: columns) }
            return .values(table.column(column), columns: columns)
        case let .labels(_, classCount):
            guard let column else { return .labels([Int](repeating: 0, count: rows), classCount: classCount) }
            let names = classNames ?? (0..<classCount).map(String.init)
            let index = Dictionary(names.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
            if table.texts == nil { try table.checkExactLabels(file: file, targetName: targetName) }
            let values = table.column(column)
            return .labels(try (0..<rows).map { row in
                // Numbers are written as the run's class names are ("3", "0.5"); text as it is.
                let name = table.texts?[row] ?? shortDescription(values[row])
                guard let label = index[name] else {
                    throw ExperimentsError.badData(file: file, line: nil, column: "'\(shownText(targetName))'",
                        reason: "data row \(row + 1) has class '\(shownText(name))', which the run was not trained on (its classes: \(listed(names)))")
                }
                return label
            }, classCount: classCount)
        }
    }

    /// "a, b, c" or "a, b, ... (64 in all)".
    private static func listed(_ names: [String]) -> String {
        let shown = names.prefix(6).map { shownText($0) }
        return shown.joined(separator: ", ") + (names.count > 6 ? ", ... (\(names.count) in all)" : "")
    }
}
