// Converts between the engine's layer parameters and the store's tensor rows
// (layer numbers from 1, little-endian bytes in the run's precision): the one place that does,
// for the worker and (through the Report executable) for report's inspect and evaluate commands.
import Foundation
import NeuralNet
import Store

public enum TensorRecords {
    static func dtype(_ precision: Precision) -> SlopeStore.DType { precision == .float32 ? .float32 : .float64 }

    /// Rows for each layer's weight (and bias, when present) under the given kinds.
    static func records(_ layers: [LayerParameters], weightKind: SlopeStore.TensorKind, biasKind: SlopeStore.TensorKind) -> [SlopeStore.TensorRecord] {
        var records: [SlopeStore.TensorRecord] = []
        records.reserveCapacity(layers.count * 2)
        for (index, layer) in layers.enumerated() {
            records.append(record(layer.weight, layer: index + 1, kind: weightKind))
            if let bias = layer.bias { records.append(record(bias, layer: index + 1, kind: biasKind)) }
        }
        return records
    }

    static func record(_ tensor: Tensor, layer: Int, kind: SlopeStore.TensorKind) -> SlopeStore.TensorRecord {
        SlopeStore.TensorRecord(layer: layer, kind: kind, rows: tensor.rows, cols: tensor.cols,
                                dtype: dtype(tensor.precision), data: tensor.littleEndianBytes())
    }

    /// Layer parameters from stored rows of the given kinds; nil when no weight of that kind is stored.
    static func layers(from records: [SlopeStore.TensorRecord], weightKind: SlopeStore.TensorKind, biasKind: SlopeStore.TensorKind,
                       layerCount: Int, runID: Int64) throws -> [LayerParameters]? {
        var result: [LayerParameters] = []
        for layer in 1...max(layerCount, 1) {
            guard let weight = records.first(where: { $0.layer == layer && $0.kind == weightKind }) else {
                if layer == 1 { return nil }
                throw ExperimentsError.corruptRun(runID: runID, reason: "layer \(layer) has no stored \(weightKind.rawValue)")
            }
            let bias = records.first { $0.layer == layer && $0.kind == biasKind }
            result.append(LayerParameters(weight: try tensor(weight, runID: runID), bias: try bias.map { try tensor($0, runID: runID) }))
        }
        return result
    }

    /// The weights and biases of a network of `configuration` among one epoch's stored tensors
    /// (other kinds are ignored); throws `.corruptRun` when a layer's weight is missing or malformed.
    public static func parameters(_ stored: [SlopeStore.TensorRecord], configuration: TrainingConfiguration,
                                  runID: Int64) throws -> [LayerParameters] {
        guard let parameters = try layers(from: stored, weightKind: .weight, biasKind: .bias,
                                          layerCount: configuration.layerSizes.count - 1, runID: runID) else {
            throw ExperimentsError.corruptRun(runID: runID, reason: "layer 1 has no stored weight")
        }
        return parameters
    }

    /// The tensor kinds holding an optimizer buffer's weight and bias parts.
    static func kinds(of buffer: OptimizerBuffer) -> (weight: SlopeStore.TensorKind, bias: SlopeStore.TensorKind) {
        switch buffer {
        case .velocity: return (.weightVelocity, .biasVelocity)
        case .adamFirstMoment: return (.weightAdamM, .biasAdamM)
        case .adamSecondMoment: return (.weightAdamV, .biasAdamV)
        case .squareAverage: return (.weightRMS, .biasRMS)
        }
    }

    /// The optimizer's state after an epoch as rows: every buffer the optimizer keeps, and (adam,
    /// adamw) the step count as a [1 x 1] float64 `step` tensor of layer 1.
    static func optimizerRecords(_ buffers: [OptimizerBuffer: [LayerParameters]], step: Int,
                                 configuration: TrainingConfiguration) -> [SlopeStore.TensorRecord] {
        var rows: [SlopeStore.TensorRecord] = []
        for buffer in configuration.optimizerBuffers {
            guard let layers = buffers[buffer] else { continue }
            let (weightKind, biasKind) = kinds(of: buffer)
            rows += records(layers, weightKind: weightKind, biasKind: biasKind)
        }
        if configuration.optimizerCountsSteps {
            rows.append(record(Tensor(rows: 1, cols: 1, float64: [Double(step)]), layer: 1, kind: .step))
        }
        return rows
    }

    /// The optimizer's buffers and step count from a stored epoch's rows (what is missing is left out:
    /// the engine refuses to resume past epoch 0 without what its optimizer needs).
    static func optimizerState(from stored: [SlopeStore.TensorRecord], configuration: TrainingConfiguration, runID: Int64)
        throws -> (buffers: [OptimizerBuffer: [LayerParameters]], step: Int?) {
        var buffers: [OptimizerBuffer: [LayerParameters]] = [:]
        for buffer in configuration.optimizerBuffers {
            let (weightKind, biasKind) = kinds(of: buffer)
            buffers[buffer] = try layers(from: stored, weightKind: weightKind, biasKind: biasKind,
                                         layerCount: configuration.layerSizes.count - 1, runID: runID)
        }
        guard let record = stored.first(where: { $0.kind == .step }) else { return (buffers, nil) }
        let value = try tensor(record, runID: runID)
        guard value.count == 1, let count = Int(exactly: value.doubles[0]), count >= 0 else {
            throw ExperimentsError.corruptRun(runID: runID, reason: "the stored step count is not one whole number >= 0")
        }
        return (buffers, count)
    }

    /// The engine's tensor from a stored one (its bytes decoded by Store).
    static func tensor(_ record: SlopeStore.TensorRecord, runID: Int64) throws -> Tensor {
        guard record.rows >= 0, record.cols >= 0, record.data.count == record.expectedByteCount else {
            throw ExperimentsError.corruptRun(runID: runID, reason: "stored \(record.kind.rawValue) of layer \(record.layer): "
                + "\(record.data.count) bytes for a \(record.rows) x \(record.cols) \(record.dtype.rawValue) tensor, expected \(record.expectedByteCount)")
        }
        switch record.values {
        case .float32(let values): return Tensor(rows: record.rows, cols: record.cols, float32: values)
        case .float64(let values): return Tensor(rows: record.rows, cols: record.cols, float64: values)
        }
    }
}

/// `--init-weights FILE.json`: every layer's weights and biases, as `report tensors --format json` writes.
/// The format is Store's `WeightsFile`; a hand-written file needs only
/// `{"tensors": [{"layer": 1, "kind": "weight", "rows": 2, "cols": 3, "values": [...]}, ...]}`, with
/// `values` flat row-major or a list of rows; other kinds (gradients) are ignored.
public enum InitialWeights {
    public static func load(path: String, configuration: TrainingConfiguration) throws -> (parameters: [LayerParameters], sha256: String) {
        // From its first bytes: a dataset or another tool's checkpoint given by mistake is not read whole (hostile17 H5).
        let data = try InputFile.contents(path, what: "a JSON weights file", refusedFromStart: WeightsFile.startProblem) {
            .badInitialWeights(file: path, reason: $0)
        }
        let parameters = try parse(data, file: path, configuration: configuration)
        return (parameters, SHA256.hexDigest(data))
    }

    /// The initial weights a stored run names (a queued run claimed, or resumed from its start):
    /// `file` as given or beside the database (`InputFile.candidates`), the one whose sha256 is
    /// `expected`, as for CSV data. What is not a regular file (a pipe, a device) is refused, not read.
    static func loadStored(file: String, sha256 expected: String?, databasePath: String?,
                           configuration: TrainingConfiguration) throws -> [LayerParameters] {
        var firstError: Error?, changed = false
        for path in InputFile.candidates(file, databasePath: databasePath) {
            let data: Data
            do {
                data = try InputFile.contents(path, what: "a JSON weights file") { .badInitialWeights(file: path, reason: $0) }
            } catch {
                if firstError == nil { firstError = error }
                continue
            }
            if expected == nil || SHA256.hexDigest(data) == expected { return try parse(data, file: path, configuration: configuration) }
            changed = true
        }
        if changed { throw ExperimentsError.storedInputUnavailable(file: file, reason: "the file changed since the run was queued") }
        if case let .badInitialWeights(_, reason)? = firstError as? ExperimentsError, reason == "no such file" {
            throw ExperimentsError.storedInputUnavailable(file: file, reason: InputFile.notFound(file, databasePath: databasePath))
        }
        throw firstError ?? ExperimentsError.badInitialWeights(file: file, reason: InputFile.notFound(file, databasePath: databasePath))
    }

    static func parse(_ data: Data, file: String, configuration: TrainingConfiguration) throws -> [LayerParameters] {
        func fail(_ reason: String) -> ExperimentsError { .badInitialWeights(file: file, reason: reason) }
        // WeightsFile decodes with JSONDecoder, which reads every number exactly (float64 bits survive).
        let weightsFile: WeightsFile
        do {
            weightsFile = try WeightsFile.decode(data)
        } catch let error as StoreError {
            throw fail("\(error)")
        }
        var weights: [Int: Tensor] = [:], biases: [Int: Tensor] = [:]
        for entry in weightsFile.tensors where entry.kind == "weight" || entry.kind == "bias" {
            guard entry.layer >= 1 else { throw fail("layer \(entry.layer) \(entry.kind): layers are numbered from 1") }
            // Values that are not finite in the run's precision would only make a diverged run.
            for (row, values) in entry.values.enumerated() {
                for (column, value) in values.enumerated()
                where !value.isFinite || (configuration.precision == .float32 && !Float(value).isFinite) {
                    throw fail("layer \(entry.layer) \(entry.kind) [\(row)][\(column)] is \(value), not a finite \(configuration.precision.rawValue)")
                }
            }
            let tensor = Tensor(rows: entry.rows, cols: entry.cols, doubles: Array(entry.values.joined()),
                                precision: configuration.precision)
            // A second one would win silently: say it (a file of several epochs, or a copy-paste slip).
            guard (entry.kind == "weight" ? weights : biases)[entry.layer] == nil else {
                throw fail("layer \(entry.layer) \(entry.kind) is given twice; give each layer's weight and bias once "
                           + "(report tensors RUN --epoch N --format json writes one epoch)")
            }
            if entry.kind == "weight" { weights[entry.layer] = tensor } else { biases[entry.layer] = tensor }
        }
        let sizes = configuration.layerSizes
        var parameters: [LayerParameters] = []
        for layer in 1..<max(sizes.count, 1) {
            guard let weight = weights[layer] else {
                throw fail("no weight for layer \(layer) (the network \(sizes.map(String.init).joined(separator: "-")) has "
                           + (sizes.count == 2 ? "1 layer)" : "\(sizes.count - 1) layers)"))
            }
            guard weight.rows == sizes[layer - 1], weight.cols == sizes[layer] else {
                throw fail("layer \(layer) weight is \(weight.rows) x \(weight.cols); the network \(sizes.map(String.init).joined(separator: "-")) needs \(sizes[layer - 1]) x \(sizes[layer])")
            }
            let bias = biases[layer]
            if configuration.usesBias, bias == nil { throw fail("no bias for layer \(layer) (use --no-bias for a network without biases)") }
            // Dropped silently, the run would not start from the model the file describes.
            if !configuration.usesBias, let bias, bias.doubles.contains(where: { $0 != 0 }) {
                throw fail("layer \(layer) has a bias that is not zero, but the network has none (--no-bias): "
                           + "train with biases, or remove the file's bias entries")
            }
            if let bias, bias.rows != 1 || bias.cols != sizes[layer] {
                throw fail("layer \(layer) bias is \(bias.rows) x \(bias.cols); expected 1 x \(sizes[layer])")
            }
            parameters.append(LayerParameters(weight: weight, bias: configuration.usesBias ? bias : nil))
        }
        if let extra = (Array(weights.keys) + Array(biases.keys)).filter({ $0 >= sizes.count }).min() {
            throw fail("layer \(extra) is not in the network \(sizes.map(String.init).joined(separator: "-"))")
        }
        return parameters
    }
}
