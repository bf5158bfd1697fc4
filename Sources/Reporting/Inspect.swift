// `report layers`, `report tensors` and `report explain`: looking inside a run's stored tensors,
// with NeuralNet's Inspection for dead ReLUs and the course's three factors of a weight's slope.
import Foundation
import NeuralNet
import Store

/// What Inspection needs to recompute values for a run: its configuration, training rows and
/// the way to its network parameters from stored tensors. The Report executable builds it from
/// the run's stored configuration through Experiments.
public struct InspectionInputs: Sendable {
    public var configuration: TrainingConfiguration
    public var training: Dataset
    public var parameters: LayerParametersDecoder
    /// Training row i is row `dataRows[i]` of the data (from 0, in the data's order); nil when not known.
    public var dataRows: [Int]?
    /// The classes' names, label 0 first (nil: regression, or not known; labels are then shown as numbers).
    public var classNames: [String]?
    public init(configuration: TrainingConfiguration, training: Dataset, parameters: @escaping LayerParametersDecoder,
                dataRows: [Int]? = nil, classNames: [String]? = nil) {
        self.configuration = configuration
        self.training = training
        self.parameters = parameters
        self.dataRows = dataRows
        self.classNames = classNames
    }

    /// Training row `row`'s target as a reader names it: "class 6" (the class's name), "target 2.5".
    func targetText(row: Int) -> String? {
        guard row >= 0, row < training.rowCount else { return nil }
        switch training.targets {
        case let .labels(labels, _):
            let label = labels[row]
            return "class " + (classNames.flatMap { $0.indices.contains(label) ? $0[label] : nil } ?? String(label))
        case let .values(values, columns):
            let shown = values[row * columns ..< (row + 1) * columns].map { formatSignificant($0, digits: 6) }
            return (columns == 1 ? "target " : "targets ") + shown.joined(separator: ", ")
        }
    }
}

/// The run's weights and biases among one epoch's stored tensors: Experiments' `TensorRecords.parameters`
/// (the one conversion from the store's tensors to the engine's, which Reporting does not import).
public typealias LayerParametersDecoder = @Sendable ([SlopeStore.TensorRecord]) throws -> [LayerParameters]

/// Loads a run's `InspectionInputs` (dataset and configuration); throws when they cannot be rebuilt.
public typealias InspectionLoader = @Sendable (SlopeStore.RunRecord) throws -> InspectionInputs

public enum TensorExportFormat: String, CaseIterable, Sendable {
    case table, json, csv, npy
}

extension Reporter {
    /// Thresholds for the flags of `report layers`.
    enum LayerHealth {
        /// Gradient norm below this (absolute) or below `relativeVanishing` x the output layer's: vanishing.
        static let vanishing = 1e-7
        static let relativeVanishing = 1e-3
        /// Gradient norm above this, or one step larger than the weights: exploding.
        static let exploding = 1e3
        static let explodingUpdateRatio = 1.0
        /// Fraction of ReLU units dead on the whole training set from which a layer is flagged.
        static let dying = 0.5
    }

    /// `report layers RUN`: per epoch and layer, norms, update ratio, dead ReLU fraction and flags.
    public func layers(runID: Int64, epoch: Int? = nil, loader: InspectionLoader? = nil,
                       format: OutputFormat = .table) throws -> String {
        if !queries.isSnapshot { return try snapshot { try $0.layers(runID: runID, epoch: epoch, loader: loader, format: format) } }
        let run = try run(runID)
        let allStatistics = try queries.layerStatistics(runID: runID)
        var statistics = allStatistics
        if let epoch { statistics = statistics.filter { $0.epoch == epoch } }
        guard !statistics.isEmpty else {
            // As `tensors` and `evaluate` say: which epochs there are.
            let stored = Set(allStatistics.map(\.epoch)).sorted()
            throw ReportError.noData(epoch.map { "run \(runID) has no weights stored for epoch \($0)"
                                         + (stored.isEmpty ? "" : "; stored: \(Self.epochRanges(stored.map { Int($0) }, near: $0))") }
                                     ?? "run \(runID) has no stored weights yet (status \(run.status), \(run.epochsDone) epochs done)")
        }
        // Dead ReLU fractions need the training data and a forward pass per epoch.
        var dead: [Int: [Double]] = [:]
        var deadNote: String?
        // A network without hidden layers stores its (unused) hidden activation too: no ReLU units then.
        let usesReLU = run.text(.activation) == "relu" && run.layers.split(separator: "-").count > 2
        if usesReLU, let loader {
            do {
                let inputs = try loader(run)
                for epochValue in Set(statistics.map(\.epoch)).sorted() {
                    let tensors = try queries.storedTensors(runID: runID, epoch: epochValue)
                    dead[epochValue] = try Inspection.deadUnitFractions(configuration: inputs.configuration,
                                                                        parameters: try inputs.parameters(tensors.map(\.tensor)),
                                                                        inputs: inputs.training)
                }
            } catch {
                deadNote = "dead ReLU fractions unavailable: \(error)"
                dead = [:]
            }
        } else if usesReLU {
            deadNote = "dead ReLU fractions unavailable: no training data loader"
        }
        let layerCount = statistics.map(\.layer).max() ?? 0
        let outputGradient = Dictionary(statistics.filter { $0.layer == layerCount }.map { ($0.epoch, $0.gradientL2) },
                                        uniquingKeysWith: { a, _ in a })

        var columns: [DataTable.Column] = [.init("epoch"), .init("layer"), .init("weight_l2"), .init("gradient_l2"),
                                           .init("update_to_weight_ratio", title: "update_ratio")]
        // csv and json always have the column (null where it does not apply), so files from different
        // runs line up; the terminal table shows it only when it says something.
        let showsDead = (usesReLU && !dead.isEmpty) || format != .table
        if showsDead { columns.append(.init("dead_relu_fraction", title: "dead_relu")) }
        columns.append(.init("flags"))
        var table = DataTable(columns: columns)
        var flagged: [String: [Int]] = [:]   // "layer 2: vanishing gradient" -> epochs
        // Vanishing updates, exploding weights and chance-level accuracy (over the whole run, also with --epoch).
        // A diverged run's advice first: its stored weights can look healthy, as they end before the loss did.
        let diagnoses = (Diagnostics.divergence(run).map { [$0] } ?? [])
            + Diagnostics.diagnose(layers: allStatistics, epochs: try queries.epochRows(runIDs: [runID]).map(\.record),
                                   classCount: Diagnostics.classCount(layers: run.layers),
                                   hiddenActivation: run.text(.activation), optimizer: Diagnostics.optimizer(of: run))
        for row in statistics {
            var flags: [String] = []
            for diagnosis in diagnoses where diagnosis.epochsByLayer[row.layer]?.contains(row.epoch) == true {
                flags.append(diagnosis.kind.rawValue)
            }
            if let gradient = row.gradientL2 {
                let reference = outputGradient[row.epoch].flatMap { $0 }
                if gradient < LayerHealth.vanishing ||
                    (row.layer < layerCount && reference.map { $0 > 0 && gradient < LayerHealth.relativeVanishing * $0 } == true) {
                    flags.append("vanishing")
                }
                if gradient > LayerHealth.exploding || (row.updateToWeightRatio ?? 0) > LayerHealth.explodingUpdateRatio {
                    flags.append("exploding")
                }
            } else if row.epoch > 0, row.weightL2 == nil {
                flags.append("non-finite")
            }
            var deadFraction: Double?
            if row.layer < layerCount, let fractions = dead[row.epoch], row.layer - 1 < fractions.count {
                deadFraction = fractions[row.layer - 1]
                if deadFraction! >= LayerHealth.dying { flags.append("dying-relu") }
            }
            for flag in flags where !diagnoses.contains(where: { $0.kind.rawValue == flag }) {
                flagged["layer \(row.layer): \(flag)", default: []].append(row.epoch)
            }
            var cells: [Cell] = [.integer(Int64(row.epoch)), .integer(Int64(row.layer)), .number(row.weightL2),
                                 .number(row.gradientL2), .number(row.updateToWeightRatio)]
            if showsDead { cells.append(.number(deadFraction)) }
            cells.append(.text(flags.joined(separator: ",")))
            table.rows.append(cells)
            if !flags.isEmpty { table.highlightedRows.insert(table.rows.count - 1) }
        }
        guard format == .table else { return table.render(format, style: style) }
        let hidden = run.layers.split(separator: "-").count > 2 ? "\(run.text(.activation) ?? "") hidden units" : "no hidden layer"
        var out = "layers of \(terminalSafe(Self.runLabel(run))): \(run.layers), \(hidden)\n"
        out += style.dim("gradient_l2: norm of the epoch's mean gradient; update_ratio: learning_rate x gradient_l2 / weight_l2 (~1e-3 is healthy)") + "\n\n"
        // Highlight flagged rows in yellow rather than green.
        var plain = table
        plain.highlightedRows = []
        var lines = plain.renderTable(style: style).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for index in table.highlightedRows { lines[index + 2] = style.warning(lines[index + 2]) }
        out += lines.joined(separator: "\n")
        if let deadNote { out += style.dim(terminalSafe(deadNote)) + "\n" }
        if flagged.isEmpty {
            // These flags are about gradients (and dead units); the diagnosis is about updates,
            // weights and accuracy: the line says which is which, so that a diagnosis after it
            // (vanishing updates) does not read as a contradiction.
            // A diverged run alone: its stored epochs look fine, and the line must not end on that.
            let onlyDiverged = diagnoses.map(\.kind) == [.diverged]
            out += "gradients neither vanishing nor exploding" + (showsDead ? ", no dying ReLUs" : "")
                + (diagnoses.isEmpty ? "; no vanishing updates, exploding weights or chance-level accuracy seen"
                   : onlyDiverged ? "; no vanishing updates, exploding weights or chance-level accuracy seen in the stored epochs, "
                                    + "but the run diverged: see the diagnosis below"
                   : "; what is flagged is in the diagnosis below (updates, weights, accuracy)") + "\n"
        } else {
            out += "\nflags (vanishing: gradient_l2 < \(formatNumber(LayerHealth.vanishing)) or < \(formatNumber(LayerHealth.relativeVanishing)) x the output layer's; exploding: gradient_l2 > \(formatNumber(LayerHealth.exploding)) or update_ratio > \(formatNumber(LayerHealth.explodingUpdateRatio)); dying-relu: >= \(Int(LayerHealth.dying * 100))% of units dead):\n"
            for (flag, epochs) in flagged.sorted(by: { $0.key < $1.key }) {
                out += style.warning("  \(flag) at \(Self.epochRanges(epochs))") + "\n"
            }
        }
        out += Self.diagnosisText(diagnoses, style: style)
        return out
    }

    /// The "diagnosis:" block of `report layers` and `report show` ("" when nothing was found).
    static func diagnosisText(_ diagnoses: [TrainingDiagnosis], style: TerminalStyle) -> String {
        guard !diagnoses.isEmpty else { return "" }
        return "\ndiagnosis (see docs/cli-report.md, Diagnostics):\n"
            + diagnoses.map { style.warning("  " + terminalSafe($0.line)) + "\n" }.joined()
    }

    /// "epochs 1-3, 7" from a sorted list; a run of evenly spaced epochs as "0, 5, ..., 100"; at
    /// most `limit` pieces (the first and the last ones, with the count between), so that a
    /// 100,000-epoch run's list stays one short line (hostile16 F4). `near`: an epoch asked for and
    /// missing, whose nearest stored epochs are named too.
    public static func epochRanges(_ epochs: [Int], near missing: Int? = nil, limit: Int = 8) -> String {
        var parts: [String] = []
        var start = 0
        while start < epochs.count {
            var end = start
            if start + 1 < epochs.count {
                let step = epochs[start + 1] - epochs[start]
                while end + 1 < epochs.count && epochs[end + 1] - epochs[end] == step { end += 1 }
                // Consecutive epochs from two on, evenly spaced ones from five on (four said as
                // "0, 5, ..., 15" would hide one and save nothing: review16 R7).
                if step != 1 && end - start < 4 { end = start }
                if step == 1 || end > start {
                    parts.append(step == 1 ? "\(epochs[start])-\(epochs[end])"
                                           : "\(epochs[start]), \(epochs[start + 1]), ..., \(epochs[end])")
                    start = end + 1
                    continue
                }
            }
            parts.append("\(epochs[start])")
            start += 1
        }
        if parts.count > limit {
            parts = parts.prefix(limit - 2) + ["... (\(epochs.count) epochs in all)"] + parts.suffix(2)
        }
        var text = (epochs.count == 1 ? "epoch " : "epochs ") + parts.joined(separator: ", ")
        if let missing, epochs.count > 1 {
            let nearest = [epochs.last { $0 < missing }, epochs.first { $0 > missing }].compactMap { $0 }
            text += "; the nearest to \(missing): " + nearest.map(String.init).joined(separator: " and ")
        }
        return text
    }

    /// The tensors a `tensors`/`explain` command asks for, with clear errors when absent.
    func selectTensors(run: SlopeStore.RunRecord, epoch: Int?, layer: Int?, kind: String?) throws -> (Int, [SlopeStore.StoredTensor]) {
        let epochs = try queries.tensorEpochs(runID: run.id)
        guard let last = epochs.last else { throw ReportError.noData("run \(run.id) has no stored tensors") }
        let chosen = epoch ?? last
        guard epochs.contains(chosen) else {
            throw ReportError.noData("run \(run.id) has no tensors for epoch \(chosen); stored: \(Self.epochRanges(epochs, near: chosen))")
        }
        let validKinds = SlopeStore.TensorKind.allCases.map(\.rawValue)
        let typedKind = kind.flatMap(SlopeStore.TensorKind.init(rawValue:))
        if let kind, typedKind == nil {
            throw ReportError.invalidArgument("unknown tensor kind '\(kind)'; kinds: \(validKinds.joined(separator: ", "))")
        }
        let tensors = try queries.storedTensors(runID: run.id, epoch: chosen, layer: layer, kind: typedKind)
        guard !tensors.isEmpty else {
            let layers = Set(try queries.storedTensors(runID: run.id, epoch: chosen).map(\.layer)).sorted()
            if let kind, kind.hasSuffix("velocity"), (run.number(.momentum) ?? 0) == 0 {
                throw ReportError.noData("run \(run.id) has no \(kind): it was trained without momentum (velocities are stored only with --momentum)")
            }
            if let kind, kind.contains("adam") || kind.hasSuffix("rms") || kind == "step" {
                throw ReportError.noData("run \(run.id) epoch \(chosen) has no \(kind): adam and adamw store weight_adam_m, weight_adam_v and step, rmsprop weight_rms (see docs/optimizers.md)")
            }
            throw ReportError.noData("run \(run.id) epoch \(chosen) has no \(kind ?? "tensor")\(layer.map { " for layer \($0)" } ?? ""); layers: \(layers.map(String.init).joined(separator: ", "))")
        }
        return (chosen, tensors)
    }

    /// `report tensors RUN --epoch E [--layer L] [--kind K]`: readable matrices or an export.
    /// `npy` returns binary data; the other formats UTF-8 text.
    public func tensors(runID: Int64, epoch: Int? = nil, layer: Int? = nil, kind: String? = nil,
                        format: TensorExportFormat = .table) throws -> Data {
        if !queries.isSnapshot { return try snapshot { try $0.tensors(runID: runID, epoch: epoch, layer: layer, kind: kind, format: format) } }
        let run = try run(runID)
        let (chosenEpoch, tensors) = try selectTensors(run: run, epoch: epoch, layer: layer, kind: kind)
        switch format {
        case .json:
            return WeightsFile(runID: runID, epoch: chosenEpoch, stored: tensors).encoded()
        case .npy:
            guard tensors.count == 1 else {
                throw ReportError.invalidArgument("npy holds one array: choose one with --layer and --kind (epoch \(chosenEpoch) has \(tensors.count) tensors)")
            }
            return Self.npy(tensors[0])
        case .csv:
            var out = "run_id,epoch,layer,kind,row,col,value\n"
            for tensor in tensors {
                let values = tensor.doubles
                for row in 0..<tensor.rows {
                    for col in 0..<tensor.cols {
                        out += "\(runID),\(chosenEpoch),\(tensor.layer),\(tensor.kind.rawValue),\(row),\(col),\(Cell.real(values[row * tensor.cols + col]).exact)\n"
                    }
                }
            }
            return Data(out.utf8)
        case .table:
            var out = "tensors of \(terminalSafe(Self.runLabel(run))) at epoch \(chosenEpoch)\n"
            for tensor in tensors {
                out += "\n" + style.bold("layer \(tensor.layer) \(tensor.kind.rawValue) [\(tensor.rows) x \(tensor.cols)] \(tensor.dtype.rawValue)")
                let stats = [("l2", tensor.l2), ("mean", tensor.mean), ("std", tensor.std), ("min", tensor.min), ("max", tensor.max)]
                out += "  " + stats.map { "\($0.0) \($0.1.map { formatNumber($0) } ?? "-")" }.joined(separator: "  ") + "\n"
                out += Self.matrixText(tensor, width: style.width)
            }
            return Data(out.utf8)
        }
    }

    /// The matrix with at most 8 rows and as many columns as fit, elided with … in the middle.
    static func matrixText(_ tensor: SlopeStore.StoredTensor, width: Int) -> String {
        let values = tensor.doubles
        let cellWidth = 10
        let maxColumns = max(2, min(tensor.cols, (width - 8) / (cellWidth + 1)))
        func pick(_ count: Int, _ limit: Int) -> [Int?] {
            if count <= limit { return Array(0..<count) }
            let head = (limit + 1) / 2, tail = limit - head - 1
            return Array(0..<head) + [nil] + Array((count - max(tail, 1))..<count)
        }
        let rows = pick(tensor.rows, 8), cols = pick(tensor.cols, maxColumns)
        var out = ""
        for row in rows {
            guard let row else { out += "     ⋮\n"; continue }
            var line = String(repeating: " ", count: 5 - min(5, String(row).count)) + "\(row)"
            for col in cols {
                let text = col.map { formatNumber(values[row * tensor.cols + $0]) } ?? "…"
                line += " " + String(repeating: " ", count: max(0, cellWidth - text.count)) + text
            }
            out += line + "\n"
        }
        return out
    }

    /// A NumPy .npy (version 1.0) file: little-endian <f4 or <f8, C order, shape (rows, cols).
    static func npy(_ tensor: SlopeStore.StoredTensor) -> Data {
        let descr = tensor.dtype == .float64 ? "<f8" : "<f4"
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': (\(tensor.rows), \(tensor.cols)), }"
        // Magic (6) + version (2) + header length (2) + header + newline, padded to a multiple of 64.
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let length = UInt16(header.utf8.count)
        data.append(contentsOf: [UInt8(length & 0xFF), UInt8(length >> 8)])
        data.append(contentsOf: Array(header.utf8))
        data.append(contentsOf: tensor.data)
        return data
    }

    /// `report explain RUN --epoch E --layer L --weight I,J [--row N]`: the slope of the loss with
    /// respect to one weight as the course's three factors (one row), or the full-data gradient.
    public func explain(runID: Int64, epoch: Int?, layer: Int, from i: Int, to j: Int, row: Int?,
                        loader: InspectionLoader, format: OutputFormat = .table) throws -> String {
        if !queries.isSnapshot { return try snapshot { try $0.explain(runID: runID, epoch: epoch, layer: layer, from: i, to: j, row: row, loader: loader, format: format) } }
        let run = try run(runID)
        let (chosenEpoch, tensors) = try selectTensors(run: run, epoch: epoch, layer: nil, kind: nil)
        let inputs: InspectionInputs
        do { inputs = try loader(run) } catch { throw ReportError.inspection("\(error)") }
        let parameters = try inputs.parameters(tensors.map(\.tensor))
        let slope: WeightSlope
        do {
            slope = try Inspection.weightSlope(configuration: inputs.configuration, parameters: parameters, data: inputs.training,
                                               layer: layer, from: i, to: j, row: row)
        } catch let NeuralNetError.invalidArgument(name, value, reason) {
            // A weight or row that the run does not have: the user's arguments, named as given.
            let option = ["layer": "--layer", "from": "--weight (its first number)", "to": "--weight (its second number)", "row": "--row"][name] ?? name
            throw ReportError.invalidArgument("\(option): \(value) is not in run \(runID): \(reason)")
        } catch let NeuralNetError.invalidParameters(reason) {  // a stored shape Slope never wrote (hostile17 H7)
            throw ReportError.inspection("its stored weights of epoch \(chosenEpoch) do not fit its network (\(reason)): the database was changed outside Slope")
        } catch { throw ReportError.inspection("\(error)") }
        let weight = parameters.indices.contains(layer - 1) && i < parameters[layer - 1].weight.rows && j < parameters[layer - 1].weight.cols
            ? parameters[layer - 1].weight[i, j] : nil
        // The gradient stored for the next epoch was computed at these weights (exactly so for full-batch runs).
        let storedNext = try queries.storedTensors(runID: runID, epoch: chosenEpoch + 1, layer: layer, kind: .weightGradient).first
        let storedGradient = storedNext.flatMap { i < $0.rows && j < $0.cols ? $0.doubles[i * $0.cols + j] : nil }
        let fullBatch = run.batchSize >= inputs.training.rowCount
        // L2 weight decay adds decay x w to each weight's gradient before the step (and to the stored gradient).
        let decay = inputs.configuration.weightDecay
        let decayTerm = decay * (weight ?? 0)
        // 0 times a negative number is -0.0, which CSV and JSON would print as "-0.0" (the table shows 0):
        // a sign that means nothing. Adding 0 turns -0.0 into 0 and leaves every other value as it is.
        func number(_ value: Double?) -> Cell { .number(value.map { $0 + 0 }) }

        // Which example row N is: the training rows keep the data's order, without the validation rows.
        let dataRow = row.flatMap { row in inputs.dataRows.flatMap { $0.indices.contains(row) ? $0[row] : nil } }
        let target = row.flatMap { inputs.targetText(row: $0) }
        let table = DataTable(columns: [.init("run_id"), .init("epoch"), .init("layer"), .init("i"), .init("j"), .init("row"),
                                        .init("weight"), .init("node_value"), .init("activation_slope"), .init("loss_slope_at_output"),
                                        .init("product"), .init("gradient"), .init("weight_decay_term"), .init("stored_gradient_next_epoch"),
                                        .init("data_row"), .init("target", alignsRight: false)],
                              rows: [[.integer(runID), .integer(Int64(chosenEpoch)), .integer(Int64(layer)), .integer(Int64(i)),
                                      .integer(Int64(j)), .integer(row), number(weight), number(slope.nodeValue),
                                      number(slope.activationSlope), number(slope.lossSlopeAtOutput), number(slope.product),
                                      number(slope.gradient), number(decayTerm), number(storedGradient), .integer(dataRow), .text(target)]])
        guard format == .table else { return table.render(format, style: style) }
        // One notation for every number of the output (a step of -0.000936 next to a gradient of 0.001872).
        func show(_ value: Double?) -> String { value.map { formatSignificant($0, digits: 6) } ?? "-" }
        var out = "\(terminalSafe(Self.runLabel(run))), weights after epoch \(chosenEpoch): layer \(layer) weight (\(i), \(j)) = \(show(weight))\n"
        out += "from node \(i) of \(layer == 1 ? "the inputs" : "layer \(layer - 1)") to node \(j) of layer \(layer)\n\n"
        if let row {
            // Row N counts the training rows from 0; they keep the data's order, the validation rows left out.
            let source = dataRow.map { "row \($0) of \(terminalSafe(run.dataset)); " } ?? ""
            out += "training row \(row) (\(source)training rows count from 0 in the data's order, without the validation rows)"
                + (target.map { ", \($0)" } ?? "") + ":\n"
            let lines = [("  ", "value of node \(i) feeding the weight", show(slope.nodeValue)),
                         ("× ", "slope of the activation at node \(j)", show(slope.activationSlope)),
                         ("× ", "slope of the loss w.r.t. node \(j)'s output", show(slope.lossSlopeAtOutput)),
                         ("= ", "slope of the loss w.r.t. the weight", style.bold(show(slope.product)))]
            let labelWidth = lines.map(\.1.count).max() ?? 0
            // Softmax goes with cross-entropy: their slopes are taken together (dLoss/dz_j = p_j - y_j),
            // so the activation's factor is 1, which is said where it is shown.
            let folded = layer == inputs.configuration.layerCount && inputs.configuration.outputActivation == .softmax
            for (index, (operation, label, value)) in lines.enumerated() {
                out += operation + label + String(repeating: " ", count: labelWidth - label.count + 2) + value
                if folded && index == 1 { out += style.dim("  (softmax + cross-entropy: folded into the loss slope p_\(j) - y_\(j))") }
                out += "\n"
            }
            out += style.dim("  (backprop's gradient for this row: \(show(slope.gradient)))") + "\n"
            if decay > 0 {
                out += "weight decay adds \(formatNumber(decay)) × the weight = \(show(decayTerm)) to the gradient of the update\n"
            }
        } else {
            out += "full training set (\(inputs.training.rowCount) rows): mean slope of the loss w.r.t. the weight = \(style.bold(show(slope.gradient)))\n"
            out += style.dim("  (the mean over rows of node value × activation slope × loss slope; add --row N to see the factors of one row)") + "\n"
            if decay > 0 {
                out += "+ weight decay \(formatNumber(decay)) × the weight = \(show(decayTerm))\n"
                out += "= the gradient of the update: \(style.bold(show(slope.gradient + decayTerm)))\n"
            }
            if let storedGradient {
                out += "stored gradient of epoch \(chosenEpoch + 1): \(show(storedGradient))"
                out += fullBatch ? " (full-batch run: the same gradient)\n" : " (mean over mini-batches at moving weights, so it differs)\n"
            }
        }
        let configuration = inputs.configuration
        // Plain SGD's step is -learning_rate x g; with momentum the step is the velocity, which needs
        // the stored weight_velocity: that rule is explained from the state like adam's.
        if configuration.optimizer == .sgd && configuration.momentum == 0 {
            let stepGradient = (row == nil ? slope.gradient : slope.product) + decayTerm
            // One row's step is a batch of one: the run's own steps take the mean over its batches' rows (newuser17 T2).
            let alone = row == nil ? "" : " on this row alone"
            out += "a step of learning_rate \(formatNumber(run.learningRate))\(alone) changes the weight by \(show(-run.learningRate * stepGradient))\n"
            if row != nil { out += Self.batchOfOneNote(batchSize: run.batchSize, rows: inputs.training.rowCount) }
            return out
        }
        out += Self.optimizerStepText(configuration: configuration, tensors: tensors, epoch: chosenEpoch, layer: layer, i: i, j: j,
                                      weight: weight ?? 0, gradient: row == nil ? slope.gradient : slope.product, show: show)
        if row != nil { out += Self.batchOfOneNote(batchSize: run.batchSize, rows: inputs.training.rowCount) }
        return out
    }

    /// After the step `--row` computes from one row's slope: the run's own steps average the slopes of a batch.
    static func batchOfOneNote(batchSize: Int, rows: Int) -> String {
        let batch = min(batchSize, rows)
        return batch <= 1 ? "" : "  (with this row as a batch of one; the run's steps take the mean slope over batches of \(batch) rows"
            + (batchSize >= rows ? ", the whole training set" : "") + ")\n"
    }

    /// The update rule that moves the weight (sgd with momentum, adam, adamw, rmsprop): its next step from the state
    /// stored with the weights, with this gradient, term by term.
    static func optimizerStepText(configuration: TrainingConfiguration, tensors: [SlopeStore.StoredTensor], epoch: Int, layer: Int, i: Int, j: Int,
                                  weight: Double, gradient: Double, show: (Double?) -> String) -> String {
        var state: [OptimizerBuffer: Double] = [:]
        var missing: [String] = []
        for buffer in configuration.optimizerBuffers {
            let kind = "weight_" + buffer.rawValue
            if let stored = tensors.first(where: { $0.layer == layer && $0.kind.rawValue == kind }), i < stored.rows, j < stored.cols {
                state[buffer] = stored.doubles[i * stored.cols + j]
            } else {
                missing.append(kind)
            }
        }
        let storedStep = tensors.first { $0.kind == .step }.flatMap { $0.doubles.first }.map { Int($0) }
        let step = OptimizerStep.next(configuration: configuration, parameter: weight, gradient: gradient, isWeight: true,
                                      state: state, step: storedStep ?? 0)
        var out = "update rule: \(step.rule); its next step from the state stored after epoch \(epoch)"
        out += storedStep.map { " (\($0) steps taken)" } ?? ""
        out += ", with this gradient g:\n"
        if !missing.isEmpty { out += "  (no stored \(missing.joined(separator: ", ")) at this epoch: taken as 0)\n" }
        for term in step.terms {
            let formula = term.formula.isEmpty ? "" : term.formula + " = "
            out += "  \(term.name) = \(formula)\(show(term.value))\n"
        }
        out += "the step changes the weight by \(show(step.change))\n"
        return out
    }
}
