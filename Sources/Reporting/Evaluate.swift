// `report evaluate RUN --data FILE.csv`: a run's stored weights applied to new data: loss,
// accuracy and confusion matrix, and a CSV of the predictions.
import Foundation
import NeuralNet
import Store

/// A data file made ready for a run (by Experiments, through the Report executable): features
/// standardized as the run's training data was, classes in the run's order; and the way to the
/// run's network parameters from stored tensors.
public struct EvaluationInputs: Sendable {
    public var configuration: TrainingConfiguration
    public var parameters: LayerParametersDecoder
    public var data: Dataset
    /// False when the file has no target column: predictions only.
    public var hasTargets: Bool
    /// The run's classes (label 0 first); nil for regression.
    public var classNames: [String]?
    public var targetName: String
    /// The file's name, for the heading.
    public var file: String

    public init(configuration: TrainingConfiguration, parameters: @escaping LayerParametersDecoder, data: Dataset,
                hasTargets: Bool, classNames: [String]?, targetName: String, file: String) {
        self.configuration = configuration
        self.parameters = parameters
        self.data = data
        self.hasTargets = hasTargets
        self.classNames = classNames
        self.targetName = targetName
        self.file = file
    }
}

/// Reads the data file for a run; throws when it cannot be read or does not fit the run.
public typealias EvaluationLoader = @Sendable (SlopeStore.RunRecord) throws -> EvaluationInputs

/// What `report evaluate` shows, and the predictions CSV.
public struct Evaluation: Sendable {
    public var epoch: Int
    public var rowCount: Int
    /// Mean loss over the rows, as training computes val_loss (nil without targets).
    public var loss: Double?
    public var accuracy: Double?
    /// [actual][predicted] counts, for classification with targets.
    public var confusion: [[Int]]?
    /// The rendered result (table or json).
    public var text: String
    /// One line per row: row, predicted (class or value), the target when given, class probabilities.
    public var predictionsCSV: String
}

extension Reporter {
    /// "row 3: the network's outputs overflow (not finite) at this row's inputs; it has no prediction
    /// ... and is left out of the loss": rows numbered from 1 (as the predictions file's `row`), at
    /// most 10 listed. `leftOutOf` nil: predictions only; `everyRow`: the reason alone (an error).
    static func notFiniteRows(_ rows: [Int], of total: Int, leftOutOf: String?, everyRow: Bool = false) -> String {
        let one = rows.count == 1
        let listed = rows.prefix(10).map { String($0 + 1) }
        let names = one ? "row \(listed[0])"
            : "rows " + listed.joined(separator: ", ") + (rows.count > 10 ? ", ..." : "") + " (\(rows.count) of \(total))"
        let reason = "\(names): the network's outputs overflow (not finite) at " + (one ? "this row's inputs" : "these rows' inputs")
        if everyRow { return reason }
        return reason + "; " + (one ? "it has" : "they have") + " no prediction (empty in the predictions file)"
            + (leftOutOf.map { " and " + (one ? "is" : "are") + " left out of \($0)" } ?? "")
    }

    /// Applies the weights stored at `epoch` (default: the last stored) to the loader's data.
    public func evaluate(runID: Int64, epoch: Int? = nil, loader: EvaluationLoader, format: OutputFormat = .table) throws -> Evaluation {
        if !queries.isSnapshot { return try snapshot { try $0.evaluate(runID: runID, epoch: epoch, loader: loader, format: format) } }
        guard format != .csv else {
            throw ReportError.invalidArgument("evaluate shows a table or json; write the predictions as CSV with --predictions FILE.csv")
        }
        let run = try run(runID)
        let (chosenEpoch, tensors) = try selectTensors(run: run, epoch: epoch, layer: nil, kind: nil)
        let inputs = try loader(run)
        let parameters = try inputs.parameters(tensors.map(\.tensor))
        let data = inputs.data
        let outputs = inputs.configuration.layerSizes.last ?? 1
        let predictions: [Double]
        do {
            predictions = try Inspection.predictions(configuration: inputs.configuration, parameters: parameters, data: data)
        } catch let error as NeuralNetError {
            throw ReportError.noData("run \(runID) cannot score \(inputs.file): \(error)")
        }
        // A row whose outputs are not finite (its inputs overflow the forward pass) has no prediction:
        // a class picked from NaNs, or a NaN loss, would be a made-up answer. It is left out of the
        // loss, accuracy and confusion matrix, with a note naming it.
        let notFinite = (0..<data.rowCount).filter { row in
            predictions[(row * outputs)..<((row + 1) * outputs)].contains { !$0.isFinite }
        }
        if !notFinite.isEmpty {
            let weightsFinite = parameters.allSatisfy { layer in
                layer.weight.doubles.allSatisfy(\.isFinite) && (layer.bias?.doubles.allSatisfy(\.isFinite) ?? true)
            }
            if !weightsFinite {
                throw ReportError.noData("run \(runID) cannot score \(inputs.file): the weights stored at epoch \(chosenEpoch) are not finite; "
                    + "give an earlier --epoch (`report tensors \(runID)` lists the stored epochs)")
            }
            if notFinite.count == data.rowCount {
                throw ReportError.noData("run \(runID) cannot score \(inputs.file): "
                    + Self.notFiniteRows(notFinite, of: data.rowCount, leftOutOf: nil, everyRow: true) + "; rescale the file's features")
            }
        }
        let leftOut = Set(notFinite)
        let scoredRows = notFinite.isEmpty ? nil : (0..<data.rowCount).filter { !leftOut.contains($0) }
        var loss: Double?, accuracy: Double?
        if inputs.hasTargets {
            do {
                (loss, accuracy) = try Inspection.evaluate(configuration: inputs.configuration, parameters: parameters,
                                                           data: scoredRows.map { data.rows($0) } ?? data)
            } catch let error as NeuralNetError {
                throw ReportError.noData("run \(runID) cannot score \(inputs.file): \(error)")
            }
        }

        // Predicted class: the largest output, or output > 0.5 for a single output (as accuracy counts).
        var predictedClasses: [Int?]?
        var confusion: [[Int]]?
        var labels: [Int]?
        if case let .labels(actual, classCount) = data.targets {
            let predicted = (0..<data.rowCount).map { row -> Int? in
                if leftOut.contains(row) { return nil }
                let first = row * outputs
                if outputs == 1 { return predictions[first] > 0.5 ? 1 : 0 }
                var best = 0  // the first of equal largest outputs, as training's accuracy counts
                for unit in 1..<outputs where predictions[first + unit] > predictions[first + best] { best = unit }
                return best
            }
            predictedClasses = predicted
            if inputs.hasTargets {
                labels = actual
                var matrix = [[Int]](repeating: [Int](repeating: 0, count: classCount), count: classCount)
                for (truth, guess) in zip(actual, predicted) { if let guess { matrix[truth][guess] += 1 } }
                confusion = matrix
            }
        }
        let note = notFinite.isEmpty ? nil
            : "note: " + Self.notFiniteRows(notFinite, of: data.rowCount,
                                            leftOutOf: !inputs.hasTargets ? nil : confusion != nil ? "the loss, accuracy and confusion matrix" : "the loss")
        let classNames = inputs.classNames ?? predictedClasses.map { _ in (0..<(max(outputs, 2))).map(String.init) }

        // The predictions file.
        var csv: [String] = []
        var header = ["row"]
        if let classNames {
            header += ["predicted"] + (inputs.hasTargets ? [inputs.targetName] : [])
            if outputs > 1 || inputs.configuration.outputActivation == .sigmoid {
                header += outputs == 1 ? ["p_\(classNames.last ?? "1")"] : classNames.map { "p_\($0)" }
            }
        } else {
            header += outputs == 1 ? ["predicted"] : (1...outputs).map { "predicted_\($0)" }
            if inputs.hasTargets, case let .values(_, columns) = data.targets {
                header += columns == 1 ? [inputs.targetName] : (1...columns).map { "\(inputs.targetName)_\($0)" }
            }
        }
        csv.append(DataTable.csvLine(header))
        for row in 0..<data.rowCount {
            var fields = [String(row + 1)]
            // A row left out has empty fields: no prediction, no probabilities.
            let values = predictions[(row * outputs)..<((row + 1) * outputs)].map { leftOut.contains(row) ? "" : Cell.real($0).exact }
            if let classNames, let predictedClasses {
                fields.append(predictedClasses[row].map { classNames[$0] } ?? "")
                if let labels { fields.append(classNames[labels[row]]) }
                if header.count > fields.count { fields += values }
            } else {
                fields += values
                if inputs.hasTargets, case let .values(targets, columns) = data.targets {
                    fields += targets[(row * columns)..<((row + 1) * columns)].map { Cell.real($0).exact }
                }
            }
            csv.append(DataTable.csvLine(fields))
        }

        let text: String
        switch format {
        case .json:
            var fields = ["\"run\": \(runID)", "\"epoch\": \(chosenEpoch)", "\"file\": \(jsonStringLiteral(inputs.file))",
                          "\"rows\": \(data.rowCount)", "\"loss\": \(Cell.number(loss).json)", "\"accuracy\": \(Cell.number(accuracy).json)"]
            if let classNames { fields.append("\"classes\": [" + classNames.map(jsonStringLiteral).joined(separator: ", ") + "]") }
            if inputs.hasTargets { fields.append("\"scored_rows\": \(data.rowCount - notFinite.count)") }
            fields.append("\"not_finite_rows\": [" + notFinite.map { String($0 + 1) }.joined(separator: ", ") + "]")
            if let confusion {
                fields.append("\"confusion\": [" + confusion.map { "[" + $0.map(String.init).joined(separator: ", ") + "]" }.joined(separator: ", ") + "]")
            }
            text = "{" + fields.joined(separator: ", ") + "}\n"
        default:
            var out = "\(terminalSafe(Self.runLabel(run))) at epoch \(chosenEpoch) on \(terminalSafe(inputs.file)): \(data.rowCount) row\(data.rowCount == 1 ? "" : "s")\n"
            let scored = data.rowCount - notFinite.count
            let over = notFinite.isEmpty ? "the rows" : "the \(scored) row\(scored == 1 ? "" : "s") with finite outputs"
            if let loss {
                out += "loss:      \(formatNumber(loss)) (\(run.text(.loss) ?? "loss"), the mean over \(over), as val_loss is computed)\n"
            } else {
                out += "no '\(terminalSafe(inputs.targetName))' column: predictions only (no loss, accuracy or confusion matrix)\n"
            }
            if let accuracy, let labels, let predictedClasses {
                let correct = zip(labels, predictedClasses).filter { $0 == $1 }.count
                out += "accuracy:  \(formatNumber(accuracy)) (\(correct) of \(scored) row\(scored == 1 ? "" : "s")"
                    + (notFinite.isEmpty ? "" : " with finite outputs") + ")\n"
            }
            if let note { out += style.dim(note) + "\n" }
            if let confusion, let classNames {
                out += "\nconfusion matrix (rows: actual \(terminalSafe(inputs.targetName)), columns: predicted)\n"
                var table = DataTable(columns: [DataTable.Column("actual")] + classNames.enumerated().map { DataTable.Column("c\($0.offset)", title: $0.element) })
                table.rows = confusion.enumerated().map { index, counts in [.text(classNames[index])] + counts.map { .integer(Int64($0)) } }
                out += table.renderTable(style: style)
            }
            text = out
        }
        return Evaluation(epoch: chosenEpoch, rowCount: data.rowCount, loss: loss, accuracy: accuracy, confusion: confusion,
                          text: text, predictionsCSV: csv.joined())
    }
}
