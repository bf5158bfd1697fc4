// What a user sets for one run (flags of `runner train`, one point of a sweep),
// with the defaults, and the rules that check each setting and name it in errors.
import Foundation
import NeuralNet
import Store

/// Whether the target column is a class label or a real value; `auto` decides from the data.
public enum TaskKind: String, CaseIterable, Codable, Hashable, Sendable {
    case auto, classification, regression
}

/// Which epochs store their tensors (losses are stored for every epoch).
/// Epoch 0 and the last epoch always store weights, so a run can restart and be inspected.
public enum TensorLogging: Hashable, Sendable, Codable, CustomStringConvertible {
    case every
    case everyN(Int)
    case final

    public init?(text: String) {
        switch text.trimmingCharacters(in: .whitespaces).lowercased() {  // spaces around it, as every numeric flag takes them
        case "every", "all": self = .every
        case "final", "last": self = .final
        default:
            guard let count = Int(text.trimmingCharacters(in: .whitespaces)), count >= 1 else { return nil }
            self = count == 1 ? .every : .everyN(count)
        }
    }

    public var description: String {
        switch self {
        case .every: return "every"
        case let .everyN(count): return String(count)
        case .final: return "final"
        }
    }

    /// True when `epoch` stores its tensors by this policy (the final epoch is decided by the caller).
    public func logsTensors(epoch: Int) -> Bool {
        switch self {
        case .every: return true
        case let .everyN(count): return epoch % count == 0
        case .final: return epoch == 0
        }
    }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = TensorLogging(text: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "bad tensor logging '\(text)'"))
        }
        self = value
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// The settings of one run, as the user gives them; `nil` means "follow the data". These defaults
/// are runner's (its help states them, and a CLI test checks that it does), not the engine's
/// (`TrainingConfiguration.init`'s, e.g. learning rate 0.01).
public struct RunSettings: Hashable, Sendable {
    public var dataset = "digits"
    public var target: String? = nil
    public var task: TaskKind = .auto
    public var standardize = false
    public var hidden: [Int] = [64]
    public var activation: Activation = .relu
    public var outputActivation: Activation? = nil
    public var loss: LossFunction? = nil
    public var learningRate = 0.05
    public var batchSize = 32
    public var epochs = 10
    public var momentum = 0.0
    public var nesterov = false
    public var weightDecay = 0.0
    public var optimizer: Optimizer = .sgd
    public var beta1 = 0.9
    public var beta2 = 0.999
    public var epsilon = 1e-8
    public var rho = 0.99
    public var seed: UInt64 = 0
    public var precision: Precision = .float32
    public var validationFraction = 0.2
    public var splitSeed: UInt64 = 0
    public var usesBias = true
    public var initialization: WeightInitialization? = nil
    public var initialWeightsFile: String? = nil
    public var earlyStoppingPatience: Int? = nil
    public var earlyStoppingMonitor: EarlyStopping.Monitor = .validationLoss
    public var minDelta = 0.0
    public var tensorLogging: TensorLogging = .every
    public var name: String? = nil

    public init() {}

    /// Applies each of a list's `values` alone (errors name `field(index)`) and refuses one that sets
    /// the same as an earlier one (`[]` and `none` for hidden, 0.1 and 1e-1), which would queue the
    /// same run twice.
    static func checkDistinct(_ values: [SettingValue], of setting: Setting, field: (Int) -> String) throws {
        var firstIndex: [RunSettings: Int] = [:]
        for (index, value) in values.enumerated() {
            var settings = RunSettings()
            try settings.apply(setting, value, field: field(index))
            if let first = firstIndex[settings] {
                throw ExperimentsError.badSetting(field: field(index), reason: "'\(shownText(value.description))' sets the same \(setting.rawValue) "
                    + "as '\(shownText(values[first].description))' before it; give each value once")
            }
            firstIndex[settings] = index
        }
    }

    /// Sets one setting from a user's value; `field` names it in errors (`--learning-rate`,
    /// `parameters.learning_rate.values[2]`).
    public mutating func apply(_ setting: Setting, _ value: SettingValue, field: String) throws {
        func fail(_ expected: String) -> ExperimentsError {
            .badSetting(field: field, reason: "'\(shownText(value.description))' is not accepted; expected \(expected)")
        }
        func number(_ expected: String, _ isValid: (Double) -> Bool) throws -> Double {
            guard let number = value.asDouble, number.isFinite, isValid(number) else {
                // 1e-400 is 0 and 0.99999999999999999 is 1 as a Double: said, as the refusal puzzles otherwise.
                if let number = value.asDouble, number == 0 || number == 1, let text = value.writtenText,
                   !DecimalNumber.isExactly(text, number == 0 ? 0 : 1) {
                    throw fail(expected + " ('\(shownText(text.trimmingCharacters(in: .whitespaces)))' rounds to \(Int(number)) as a 64-bit float)")
                }
                // One text with a decimal comma (a sweep file's `learning_rate: 0,5`; a flag's splits into two values:
                // FlagSettings.decimalComma): the number with a point, when it would be accepted (hostile16 F3).
                if let text = value.writtenText?.trimmingCharacters(in: .whitespaces),
                   case let halves = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init), halves.count == 2,
                   let pair = DecimalComma.pairs(halves).first, let pointed = Double(pair.number), pointed.isFinite, isValid(pointed) {
                    throw ExperimentsError.badSetting(field: field, reason: DecimalComma.reason(typed: pair.typed, number: pair.number))
                }
                throw fail(expected)
            }
            return number
        }
        func integer(_ expected: String, _ isValid: (Int) -> Bool) throws -> Int {
            guard let integer = value.asInt, isValid(integer) else { throw fail(expected) }
            return integer
        }
        func choice<Choice: RawRepresentable & CaseIterable>(_ type: Choice.Type, excluding: [Choice] = []) throws -> Choice
        where Choice.RawValue == String, Choice: Equatable {
            let accepted = Choice.allCases.filter { !excluding.contains($0) }
            guard let text = value.asString, let choice = Choice(rawValue: text.lowercased()), accepted.contains(choice) else {
                throw fail("one of " + accepted.map(\.rawValue).joined(separator: ", "))
            }
            return choice
        }
        func boolean() throws -> Bool {
            guard let flag = value.asBool else { throw fail("true or false") }
            return flag
        }
        switch setting {
        case .dataset:
            guard let text = value.asString, !text.isEmpty else { throw fail("a built-in dataset name or a CSV file path") }
            dataset = DataCatalog.canonicalName(text)
        case .target:
            guard let text = value.asString, !text.isEmpty else { throw fail("a column name of the CSV file") }
            target = text
        case .task: task = try choice(TaskKind.self)
        case .standardize: standardize = try boolean()
        case .hidden: hidden = try Self.parseHidden(value, fail: fail)
        case .activation: activation = try choice(Activation.self, excluding: [.softmax])
        case .outputActivation: outputActivation = try choice(Activation.self, excluding: [.tanh])  // as --output-activation (tanh outputs are not offered)
        case .loss: loss = try choice(LossFunction.self)
        case .learningRate: learningRate = try number("a number > 0, e.g. 0.01", { $0 > 0 })
        case .batchSize: batchSize = try integer("a whole number >= 1", { $0 >= 1 })
        case .epochs: epochs = try integer("a whole number from 0 to 1000000000", { (0...1_000_000_000).contains($0) })
        case .momentum: momentum = try number("a number in [0, 1), e.g. 0.9", { $0 >= 0 && $0 < 1 })
        case .nesterov: nesterov = try boolean()
        case .weightDecay: weightDecay = try number("a number >= 0", { $0 >= 0 })
        case .optimizer: optimizer = try choice(Optimizer.self)
        case .beta1: beta1 = try number("a number in [0, 1), e.g. 0.9", { $0 >= 0 && $0 < 1 })
        case .beta2: beta2 = try number("a number in [0, 1), e.g. 0.999", { $0 >= 0 && $0 < 1 })
        case .epsilon: epsilon = try number("a number > 0, e.g. 1e-8", { $0 > 0 })
        case .rho: rho = try number("a number in [0, 1), e.g. 0.99", { $0 >= 0 && $0 < 1 })
        case .seed: seed = UInt64(try integer("a whole number from 0 to \(Int.max)", { $0 >= 0 }))
        case .precision: precision = try choice(Precision.self)
        case .validation: validationFraction = try number("a fraction in [0, 1), e.g. 0.2", { $0 >= 0 && $0 < 1 })
        case .splitSeed: splitSeed = UInt64(try integer("a whole number from 0 to \(Int.max)", { $0 >= 0 }))
        case .bias: usesBias = try boolean()
        case .initialization: initialization = try choice(WeightInitialization.self)
        case .initialWeights:
            guard let text = value.asString, !text.isEmpty else { throw fail("a JSON file of weights (as `report tensors --format json` writes)") }
            initialWeightsFile = text
        case .earlyStoppingPatience: earlyStoppingPatience = try integer("a whole number >= 1", { $0 >= 1 })
        case .earlyStoppingMonitor: earlyStoppingMonitor = try choice(EarlyStopping.Monitor.self)
        case .minDelta: minDelta = try number("a number >= 0", { $0 >= 0 })
        case .logTensors:
            // N up to the most epochs a run may have (--epochs): beyond it, as final.
            guard let text = value.asString, let policy = TensorLogging(text: text),
                  Self.logsWithin(policy, epochs: 1_000_000_000) else {
                throw fail("every, final, or a whole number N from 1 to 1000000000 (every N epochs)")
            }
            tensorLogging = policy
        case .name:
            guard let text = value.asString, !text.trimmingCharacters(in: .whitespaces).isEmpty else { throw fail("a non-empty text") }
            name = text
        }
    }

    /// Whether `policy`'s interval (every N epochs) is at most `epochs`.
    static func logsWithin(_ policy: TensorLogging, epochs: Int) -> Bool {
        if case let .everyN(count) = policy { return count <= epochs }
        return true
    }

    /// `64,64` / `[64, 64]` / `64` / `none` (no hidden layer: a linear or logistic model).
    static func parseHidden(_ value: SettingValue, fail: (String) -> ExperimentsError) throws -> [Int] {
        let expected = "layer widths >= 1 separated by commas (e.g. 64,64), or none"
        switch value {
        case let .list(items):
            return try items.map { item in
                guard let width = item.asInt, width >= 1 else { throw fail(expected) }
                return width
            }
        case let .int(width):
            guard width >= 1 else { throw fail(expected) }
            return [width]
        case let .string(text):
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            if trimmed.lowercased() == "none" || trimmed == "[]" { return [] }
            let parts = trimmed.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).split(separator: ",", omittingEmptySubsequences: false)
            return try parts.map { part in
                guard let width = Int(part.trimmingCharacters(in: .whitespaces)), width >= 1 else { throw fail(expected) }
                return width
            }
        default:
            throw fail(expected)
        }
    }
}

/// The settings a flag or a sweep parameter can set; the raw value is the sweep-file key.
public enum Setting: String, CaseIterable, Codable, Sendable {
    case dataset, target, task, standardize, hidden, activation
    case outputActivation = "output_activation"
    case loss
    case learningRate = "learning_rate"
    case batchSize = "batch_size"
    case epochs, momentum, nesterov
    case weightDecay = "weight_decay"
    case optimizer, beta1, beta2, epsilon, rho
    case seed, precision, validation
    case splitSeed = "split_seed"
    case bias
    case initialization = "init"
    case initialWeights = "init_weights"
    case earlyStoppingPatience = "early_stopping_patience"
    case earlyStoppingMonitor = "early_stopping_monitor"
    case minDelta = "min_delta"
    case logTensors = "log_tensors"
    case name

    /// The command-line flag for this setting.
    public var flag: String {
        switch self {
        case .bias: return "--no-bias"
        case .validation: return "--validation"
        default: return "--" + rawValue.replacingOccurrences(of: "_", with: "-")
        }
    }

    /// Settings that take a number, so a sweep may draw them from a distribution (and a stored
    /// config's are checked by the flags' rules: `RunConfiguration.storedNumber`).
    var isNumeric: Bool {
        switch self {
        case .learningRate, .batchSize, .epochs, .momentum, .weightDecay, .seed, .validation, .splitSeed,
             .earlyStoppingPatience, .minDelta, .beta1, .beta2, .epsilon, .rho: return true
        default: return false
        }
    }

    /// Settings that take true or false.
    var isBoolean: Bool { self == .standardize || self == .nesterov || self == .bias }

    /// Settings whose values are whole numbers (int_uniform, and rounding of other draws).
    var isInteger: Bool {
        switch self {
        case .batchSize, .epochs, .seed, .splitSeed, .earlyStoppingPatience: return true
        default: return false
        }
    }

}
