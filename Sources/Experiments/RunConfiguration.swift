// Everything needed to rebuild and resume a run, stored as `runs.config` JSON:
// the engine's configuration, where the data comes from (with its sha256), the
// split, the tensor logging policy and the initial weights.
import Foundation
import NeuralNet
import Store

/// The version written to `runs.slope_version`.
public enum SlopeVersion {
    public static let current = "0.1.0"
}

/// Where a run's data comes from and how it is split.
public struct DataConfiguration: Codable, Hashable, Sendable {
    /// A built-in name (`digits`, `spirals:rows=300`) or a CSV path.
    public var dataset: String
    /// sha256 of the CSV file (or the embedded digits file) when the run was queued.
    public var sha256: String?
    public var target: String?
    public var taskOverride: TaskKind
    public var standardize: Bool
    public var validationFraction: Double
    public var splitSeed: UInt64
}

public struct RunConfiguration: Codable, Hashable, Sendable {
    public var name: String?
    public var training: TrainingConfiguration
    public var data: DataConfiguration
    public var tensorLogging: TensorLogging
    /// `--init-weights FILE.json`: read when the run starts (epoch 0 then stores them).
    public var initialWeightsFile: String?
    public var initialWeightsSHA256: String?
    /// A sampled sweep's trial (`method: tpe`): the sampler's internal value of each parameter, in
    /// spec order (a category's index, a number as drawn); nil otherwise.
    public var trial: [Double]? = nil

    /// Resolves settings against the data (input width, classes, default loss and output
    /// activation) and checks the result; throws before anything is written.
    /// `load` gives the run's data (a sweep passes one that loads each dataset once for all its runs).
    /// `given`: the values as the user wrote them (a flag's `1e39`, a sweep file's hidden widths
    /// `[2, 1e9]`, as `SettingValue.description` shows them, and so the run's label), for the
    /// engine's refusal to quote; a setting not in it is quoted as the number it is (the hidden
    /// widths comma-separated, as `--hidden` takes them). `checkingMemory`:
    /// false for a TPE trial made by a worker, whose point must not depend on that worker's memory
    /// (the worker checks its own limits before training, and sets aside a run it cannot fit).
    public static func make(_ settings: RunSettings,
                            load: (_ dataset: String, _ target: String?, _ task: TaskKind) throws -> LoadedData = DataCatalog.load,
                            given: [Setting: SettingValue] = [:], checkingMemory: Bool = true)
        throws -> RunConfiguration
    {
        let loaded = try load(settings.dataset, settings.target, settings.task)
        if settings.precision == .float32, let problem = loaded.float32Problem { throw problem }
        let dataset = loaded.dataset
        let (outputActivation, loss) = defaultHead(settings, isClassification: dataset.isClassification)
        let outputs: Int
        switch dataset.targets {
        case let .labels(_, classCount): outputs = loss == .binaryCrossEntropy && classCount == 2 ? 1 : classCount
        case let .values(_, columns): outputs = columns
        }
        var training = TrainingConfiguration(
            layerSizes: [dataset.featureCount] + settings.hidden + [outputs],
            hiddenActivation: settings.activation, outputActivation: outputActivation, loss: loss,
            usesBias: settings.usesBias, initialization: settings.initialization,
            learningRate: settings.learningRate, momentum: settings.momentum, nesterov: settings.nesterov,
            weightDecay: settings.weightDecay, batchSize: settings.batchSize, epochs: settings.epochs,
            seed: settings.seed, precision: settings.precision, optimizer: settings.optimizer,
            beta1: settings.beta1, beta2: settings.beta2, epsilon: settings.epsilon, rho: settings.rho)
        if let patience = settings.earlyStoppingPatience {
            if settings.earlyStoppingMonitor == .validationLoss && settings.validationFraction == 0 {
                throw ExperimentsError.badSetting(field: "--early-stopping-patience",
                    reason: "early stopping on val_loss needs a validation split (--validation > 0) or --early-stopping-monitor train_loss")
            }
            training.earlyStopping = EarlyStopping(monitor: settings.earlyStoppingMonitor, patience: patience, minDelta: settings.minDelta)
        }
        do {
            try training.validate()
        } catch let NeuralNetError.invalidConfiguration(field, value, reason) {
            // Quoted as the user wrote it (`1e39`, not the engine's `1e+39`). The user gave the hidden
            // widths; the engine checks the whole list with inputs and outputs.
            let written = Self.setting(forEngineField: field).flatMap { given[$0] }.map { shownText($0.description.trimmingCharacters(in: .whitespaces)) }
            let quoted = written ?? (field != "layerSizes" ? "\(value)"
                : settings.hidden.isEmpty ? "none" : settings.hidden.map(String.init).joined(separator: ","))
            throw ExperimentsError.badSetting(field: Self.flag(forEngineField: field), reason: "'\(quoted)' is not accepted: \(reason)")
        }
        // Nesterov is a variant of momentum: with none, sgd is plain and the flag would change nothing.
        // Refused in new input only: the engine (and so a worker claiming a run queued before this
        // was refused) trains it as plain sgd.
        if training.optimizer == .sgd && training.nesterov && training.momentum == 0 {
            throw ExperimentsError.badSetting(field: "--nesterov", reason: "needs a momentum above 0 (sgd with momentum 0 is plain sgd, "
                + "which Nesterov does not change): set a momentum, e.g. 0.9, or leave nesterov out")
        }
        try checkFits(training, dataset: dataset, name: settings.dataset, checkingMemory: checkingMemory)
        let data = DataConfiguration(dataset: settings.dataset, sha256: loaded.sha256, target: settings.target,
                                     taskOverride: settings.task, standardize: settings.standardize,
                                     validationFraction: settings.validationFraction, splitSeed: settings.splitSeed)
        // Too few rows for the split fail now, before anything is queued.
        try DataCatalog.checkSplitSizes(rowCount: dataset.rowCount, name: settings.dataset, validationFraction: data.validationFraction)
        var configuration = RunConfiguration(name: settings.name, training: training, data: data,
                                             tensorLogging: settings.tensorLogging, initialWeightsFile: nil, initialWeightsSHA256: nil)
        if let file = settings.initialWeightsFile {
            if settings.initialization != nil {
                throw ExperimentsError.badSetting(field: "--init-weights", reason: "give either --init or --init-weights, not both")
            }
            let (_, sha256) = try InitialWeights.load(path: file, configuration: training)
            configuration.initialWeightsFile = file
            configuration.initialWeightsSHA256 = sha256
        }
        return configuration
    }

    /// The setting an engine field comes from (`weightDecay`: weight_decay), nil for none.
    static func setting(forEngineField field: String) -> Setting? {
        switch field {
        case "layerSizes": return .hidden
        case "hiddenActivation": return .activation
        case "outputActivation": return .outputActivation
        case "learningRate": return .learningRate
        case "weightDecay": return .weightDecay
        case "batchSize": return .batchSize
        case "earlyStopping.patience": return .earlyStoppingPatience
        case "earlyStopping.minDelta": return .minDelta
        default: return Setting(rawValue: field)  // momentum, epochs, beta1, beta2, epsilon, rho, loss
        }
    }

    /// The flag (or sweep-file setting) behind a field of `TrainingConfiguration`.
    static func flag(forEngineField field: String) -> String {
        switch field {
        case "layerSizes": return "--hidden"
        case "hiddenActivation": return "--activation"
        case "outputActivation": return "--output-activation"
        case "learningRate": return "--learning-rate"
        case "weightDecay": return "--weight-decay"
        case "batchSize": return "--batch-size"
        case "earlyStopping.patience": return "--early-stopping-patience"
        case "earlyStopping.minDelta": return "--min-delta"
        default: return "--" + field
        }
    }

    /// Refuses, before anything is written, what would fail or mean nothing once training starts:
    /// a network too large for this machine's memory, a loss that does not fit the targets.
    static func checkFits(_ training: TrainingConfiguration, dataset: Dataset, name: String, checkingMemory: Bool = true) throws {
        if checkingMemory { try checkMemory(training, rowCount: dataset.rowCount, dataRows: dataset.rowCount) }
        switch (dataset.targets, training.loss) {
        case (.values, .crossEntropy):
            throw ExperimentsError.badSetting(field: "--loss", reason: """
                cross-entropy (with softmax) needs class labels, and the target of \(name) holds values (regression): \
                use mse, or --task classification for a CSV target of whole-number classes
                """)
        case let (.values(values, _), .binaryCrossEntropy):
            if let bad = values.first(where: { !(0...1).contains($0) }) {
                throw ExperimentsError.badSetting(field: "--loss", reason: """
                    binary cross-entropy needs targets between 0 and 1, and the target of \(name) holds \(bad): use mse
                    """)
            }
        default:
            break
        }
    }

    /// Parameter-sized copies of the network training holds at its peak, with a margin (see checkMemory).
    static let parameterCopies = 20.0

    /// Refuses a network larger than the memory this process may use (physical memory, `ulimit -v`,
    /// the cgroup limit; a usage error naming the tightest), or that the allocator refuses now
    /// (a runtime error): either is said before training, not as a crash inside the engine.
    ///
    /// `rowCount`: the training rows (a batch is at most that many); `dataRows`: every row the
    /// engine converts to its own buffers (training and validation). What the process already
    /// uses (the loaded data among it) counts against the limits as measured.
    static func checkMemory(_ training: TrainingConfiguration, rowCount: Int, dataRows: Int) throws {
        let layers = training.layerSizes.map(String.init).joined(separator: "-")
        // Parameter-sized copies: weights, gradients, velocities, the epochs on their way to the
        // database (weights and gradients, then their encoded blobs and SQLite's copies of them).
        // Measured: a 2-3000-3000-2 run peaks at about 18.5 copies resident (float32 and float64,
        // momentum, every epoch logged); 6 let networks through that then aborted in training.
        // Plus a batch's activations, pre-activations and slopes.
        let scalar = training.precision == .float32 ? 4.0 : 8.0
        let batch = Double(min(training.batchSize, rowCount))
        // Plus the data in the engine's element type (features and targets), its labels, and the
        // targets in float64 on their way there.
        let inputs = Double(training.layerSizes.first ?? 0), outputs = Double(training.layerSizes.last ?? 0)
        let data = Double(dataRows) * ((inputs + outputs) * scalar + 8 + outputs * 8)
        let bytes = Double(training.parameterCount) * scalar * parameterCopies + batch * training.layerSizes.reduce(0.0) { $0 + Double($1) } * scalar * 3 + data
        let network = "a \(layers) network (\(training.parameterCount) parameters) on \(dataRows) rows of data "
            + "needs about \(MemoryLimits.memorySize(bytes)) of memory to train"
        try MemoryLimits.require(bytes: bytes, field: data > bytes / 2 ? "--dataset" : "--hidden", needs: network)
    }

    /// Output activation and loss: as given, else the one that goes with the other, else by task
    /// (softmax + cross-entropy for classes, identity + mean squared error for values).
    static func defaultHead(_ settings: RunSettings, isClassification: Bool) -> (Activation, LossFunction) {
        switch (settings.outputActivation, settings.loss) {
        case let (activation?, loss?): return (activation, loss)
        case let (nil, loss?):
            switch loss {
            case .crossEntropy: return (.softmax, loss)
            case .binaryCrossEntropy: return (.sigmoid, loss)
            case .meanSquaredError: return (.identity, loss)
            }
        case let (activation?, nil):
            switch activation {
            case .softmax: return (activation, .crossEntropy)
            case .sigmoid where isClassification: return (activation, .binaryCrossEntropy)
            default: return (activation, .meanSquaredError)
            }
        case (nil, nil):
            return isClassification ? (.softmax, .crossEntropy) : (.identity, .meanSquaredError)
        }
    }

    /// The stored form (`runs.config`): sorted keys, so equal configurations give equal text.
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }

    /// A stored configuration, decoded and checked (`checkStored`): what the worker trains and the
    /// reports rebuild.
    public static func decode(json: String, runID: Int64) throws -> RunConfiguration {
        let configuration: RunConfiguration
        do {
            configuration = try JSONDecoder().decode(RunConfiguration.self, from: Data(json.utf8))
        } catch let error as DecodingError {
            throw ExperimentsError.corruptRun(runID: runID, reason: "its stored config does not decode: \(describe(error))")
        } catch {
            throw ExperimentsError.corruptRun(runID: runID, reason: "its stored config does not decode: \(error.localizedDescription)")
        }
        try configuration.checkStored(runID: runID)
        return configuration
    }

    /// What a decoding error says, on one line, with the JSON path (`.training.layerSizes[1]`)
    /// instead of Swift's dump of the coding keys.
    static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        }
        func detail(_ context: DecodingError.Context) -> String {
            let underlying = (context.underlyingError as NSError?).flatMap { $0.userInfo[NSDebugDescriptionErrorKey] as? String }
            return [context.debugDescription, underlying].compactMap { $0 }.joined(separator: " ").split(separator: "\n").joined(separator: " ")
        }
        switch error {
        case .keyNotFound(let key, let context):
            let place = path(context.codingPath)
            return "no \"\(key.stringValue)\" field" + (place.isEmpty ? "" : " in \(place)")
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            let place = path(context.codingPath)
            return (place.isEmpty ? "" : "bad value at \(place): ") + detail(context)
        @unknown default:
            return error.localizedDescription
        }
    }

    /// Refuses a stored configuration (`runs.config`, which a hand edit or a damaged file may have
    /// changed) that the flags would not have made: each setting goes through the flags' own rules
    /// (`RunSettings.apply`, named by its place in the JSON), then the engine's `validate()` (layer
    /// sizes, the optimizer's settings). Before anything uses it: a layer of 2^63 units overflows
    /// the memory check, 2^63 - 1 epochs never end.
    func checkStored(runID: Int64) throws {
        var scratch = RunSettings()
        do {
            for setting in Setting.allCases where setting.isNumeric {
                guard let (value, field) = storedNumber(setting) else { continue }
                try scratch.apply(setting, value, field: field)
            }
            try training.validate()
        } catch {  // an ExperimentsError or a NeuralNetError, each one line naming the field
            throw ExperimentsError.corruptRun(runID: runID, reason: "its stored config is not valid: \(error)")
        }
    }

    /// Where `make()` stores a numeric setting (`field`, its place in the JSON) and its value there;
    /// nil for the other settings and for early stopping's when the run does not stop early. The
    /// switch names every setting, so that a new one must say here whether `checkStored` checks it.
    func storedNumber(_ setting: Setting) -> (value: SettingValue, field: String)? {
        func whole(_ value: UInt64) -> SettingValue { Int(exactly: value).map(SettingValue.int) ?? .string(String(value)) }
        switch setting {
        case .learningRate: return (.double(training.learningRate), "training.learningRate")
        case .batchSize: return (.int(training.batchSize), "training.batchSize")
        case .epochs: return (.int(training.epochs), "training.epochs")
        case .momentum: return (.double(training.momentum), "training.momentum")
        case .weightDecay: return (.double(training.weightDecay), "training.weightDecay")
        case .beta1: return (.double(training.beta1), "training.beta1")
        case .beta2: return (.double(training.beta2), "training.beta2")
        case .epsilon: return (.double(training.epsilon), "training.epsilon")
        case .rho: return (.double(training.rho), "training.rho")
        case .seed: return (whole(training.seed), "training.seed")
        case .validation: return (.double(data.validationFraction), "data.validationFraction")
        case .splitSeed: return (whole(data.splitSeed), "data.splitSeed")
        case .earlyStoppingPatience: return training.earlyStopping.map { (.int($0.patience), "training.earlyStopping.patience") }
        case .minDelta: return training.earlyStopping.map { (.double($0.minDelta), "training.earlyStopping.minDelta") }
        case .dataset, .target, .task, .standardize, .hidden, .activation, .outputActivation, .loss, .nesterov, .optimizer,
             .precision, .bias, .initialization, .initialWeights, .earlyStoppingMonitor, .logTensors, .name:
            return nil  // not numbers (the engine's validate() checks the layer sizes made from --hidden)
        }
    }

    /// The row to queue: typed hyperparameter columns plus this configuration as JSON.
    public func newRun() -> SlopeStore.NewRun {
        SlopeStore.NewRun(
            name: name, learningRate: training.learningRate, batchSize: training.batchSize, momentum: training.momentum,
            epochs: training.epochs, seed: training.seed, layers: training.layerSizes.map(String.init).joined(separator: "-"),
            activation: training.hiddenActivation.rawValue, outputActivation: training.outputActivation.rawValue,
            loss: training.loss.rawValue, precision: training.precision == .float32 ? .float32 : .float64,
            dataset: data.dataset, datasetSHA256: data.sha256, validationFraction: data.validationFraction,
            configJSON: json(), slopeVersion: SlopeVersion.current)
    }
}
