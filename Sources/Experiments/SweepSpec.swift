// Sweep specs: the YAML format of docs/sweeps.md (in the spirit of W&B sweep files),
// strictly validated, plus the same spec built from `runner sweep` flags.
import Foundation
import Store
import Yams

/// A sweep: which settings vary and how, which stay fixed, what "best" means, and when to prune.
public struct SweepSpec: Hashable, Sendable, Codable {
    public enum Method: String, CaseIterable, Codable, Sendable { case grid, random, tpe }

    public enum Distribution: String, CaseIterable, Codable, Sendable {
        case uniform
        case logUniform = "log_uniform"
        case intUniform = "int_uniform"
    }

    /// How one setting is chosen per run.
    public enum Choice: Hashable, Sendable, Codable {
        case values([SettingValue])
        case distribution(Distribution, min: Bound, max: Bound)
    }

    /// One end of a distribution as the file gives it: a whole number written in digits exactly (a
    /// seed's largest, 2^63 - 1, is no Double: read as one it would be 2^63), any other number as a
    /// Double with its text as the file wrote it (nil when read back from a stored spec), so that a
    /// message names `99999999999999999999` as written, not as the Double 1e+20.
    public enum Bound: Hashable, Sendable, Codable, CustomStringConvertible {
        case whole(Int)
        case real(Double, written: String? = nil)

        public var value: Double {
            switch self {
            case let .whole(number): return Double(number)
            case let .real(number, _): return number
            }
        }

        /// The whole number it is exactly; nil for a fraction or a real beyond Int.
        public var wholeNumber: Int? {
            switch self {
            case let .whole(number): return number
            case let .real(number, _): return Int(exactly: number)
            }
        }

        /// As `setting`'s value (for the setting's own checks): its text as written when there is
        /// one, which the setting reads as the same number and, when it refuses it, names as written.
        /// Except a whole number written as a float (1e3, 1000.0) for a setting that takes whole
        /// numbers, which reads such text as no whole number: the Double, which it takes.
        func settingValue(for setting: Setting) -> SettingValue {
            switch self {
            case let .whole(number): return .int(number)
            case let .real(number, written?) where !(setting.isInteger && Int(exactly: number) != nil): return .string(written)
            case let .real(number, _): return .double(number)
            }
        }

        var json: JSONText {
            switch self {
            case let .whole(number): return .integer(number)
            case let .real(number, _): return .number(number)
            }
        }

        public var description: String {
            switch self {
            case let .whole(number): return String(number)
            case let .real(number, written): return written ?? shortDescription(number)
            }
        }

        /// Whether it is at most `other` (exactly when both are whole numbers).
        func isAtMost(_ other: Bound) -> Bool {
            if let low = wholeNumber, let high = other.wholeNumber { return low <= high }
            return value <= other.value
        }

        /// `number` (a draw between two bounds) as a whole number from `low` to `high`: rounded, and
        /// kept inside them exactly (a draw next to 2^63 - 1 is 2^63 as a Double, beyond Int).
        static func whole(_ number: Double, from low: Bound, to high: Bound) -> Int {
            let lowest = low.wholeNumber ?? low.value.clampedToInt(.up), highest = high.wholeNumber ?? high.value.clampedToInt(.down)
            guard number > Double(lowest) else { return lowest }  // NaN too
            guard number < Double(highest) else { return highest }
            return Swift.min(Swift.max(Int(number.rounded()), lowest), highest)
        }

        // Equal when they are the same number: a whole 1 and a real 1.0 (the Codable form of early
        // builds read back) are one bound.
        public static func == (left: Bound, right: Bound) -> Bool {
            if let a = left.wholeNumber, let b = right.wholeNumber { return a == b }
            return left.value == right.value || (left.value.isNaN && right.value.isNaN)
        }

        public func hash(into hasher: inout Hasher) {
            if let number = wholeNumber { hasher.combine(number) } else { hasher.combine(value) }
        }

        /// A plain number, as the Double bounds of early builds were stored.
        public init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let number = try? container.decode(Int.self) { self = .whole(number) } else { self = .real(try container.decode(Double.self)) }
        }

        public func encode(to encoder: Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case let .whole(number): try container.encode(number)
            case let .real(number, _): try container.encode(number)
            }
        }
    }

    public struct Parameter: Hashable, Sendable, Codable {
        public var setting: Setting
        public var choice: Choice
    }

    public enum MetricName: String, CaseIterable, Codable, Sendable {
        case validationLoss = "val_loss", trainLoss = "train_loss"
        case validationAccuracy = "val_accuracy", trainAccuracy = "train_accuracy"
    }

    public enum Goal: String, CaseIterable, Codable, Sendable { case minimize, maximize }

    public struct Metric: Hashable, Sendable, Codable {
        public var name: MetricName
        public var goal: Goal
        public init(name: MetricName, goal: Goal) { self.name = name; self.goal = goal }
    }

    /// Median pruning: from epoch `warmupEpochs + 1` on, a run whose validation loss at epoch k is
    /// worse than the median of the other runs of the sweep at epoch k stops as `pruned`.
    /// ASHA (`type: asha`): at rungs min_epochs x reduction_factor^k (`SuccessiveHalving`).
    public struct EarlyTerminate: Hashable, Sendable, Codable {
        public enum Kind: String, CaseIterable, Codable, Sendable { case median, asha }
        public var kind: Kind = .median
        public var warmupEpochs: Int
        public var minEpochs = 1
        public var reductionFactor = 3
        public init(warmupEpochs: Int) { self.warmupEpochs = warmupEpochs }
        public init(ashaMinEpochs minEpochs: Int, reductionFactor: Int) {
            kind = .asha; warmupEpochs = 0; self.minEpochs = minEpochs; self.reductionFactor = reductionFactor
        }
        public var successiveHalving: SuccessiveHalving? {
            kind == .asha ? SuccessiveHalving(minEpochs: minEpochs, reductionFactor: reductionFactor) : nil
        }
        private enum CodingKeys: String, CodingKey { case kind, warmupEpochs, minEpochs, reductionFactor }
        public init(from decoder: Decoder) throws {  // the Codable form of early builds has warmupEpochs only
            let container = try decoder.container(keyedBy: CodingKeys.self)
            kind = try container.decodeIfPresent(Kind.self, forKey: .kind) ?? .median
            warmupEpochs = try container.decode(Int.self, forKey: .warmupEpochs)
            minEpochs = try container.decodeIfPresent(Int.self, forKey: .minEpochs) ?? 1
            reductionFactor = try container.decodeIfPresent(Int.self, forKey: .reductionFactor) ?? 3
        }
    }

    /// TPE's settings (`method: tpe`), Optuna's defaults.
    public struct TPEOptions: Hashable, Sendable, Codable {
        public var startupTrials = 10
        /// The good trials' share: gamma(n) = min(ceil(gamma x n), 25); Optuna's default is 0.1.
        public var gamma = 0.1
        public var candidateCount = 24
        /// One joint model over all parameters: Optuna 5's default for one objective.
        public var multivariate = true
        /// How the startup trials are placed (`startup: lhs | random`): a Latin hypercube by default
        /// (measured better than independent draws, docs/sweeps.md).
        public var startup = TPESampler.StartupDesign.lhs
        public init() {}

        private enum CodingKeys: String, CodingKey { case startupTrials, gamma, candidateCount, multivariate, startup }
        /// The Codable form of early builds has no `startup`: their sweeps started randomly.
        public init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            startupTrials = try container.decode(Int.self, forKey: .startupTrials)
            gamma = try container.decode(Double.self, forKey: .gamma)
            candidateCount = try container.decode(Int.self, forKey: .candidateCount)
            multivariate = try container.decode(Bool.self, forKey: .multivariate)
            startup = try container.decodeIfPresent(TPESampler.StartupDesign.self, forKey: .startup) ?? .random
        }
    }

    public var name: String
    public var method: Method = .grid
    /// In file order; a setting appears at most once.
    public var parameters: [Parameter] = []
    /// Runs to draw (random search only).
    public var count: Int? = nil
    /// Seed of the random search's draws (and of TPE's).
    public var randomSeed: UInt64 = 0
    /// Set for `method: tpe` (Optuna's defaults unless the file says otherwise).
    public var tpe: TPEOptions? = nil
    public var metric = Metric(name: .validationLoss, goal: .minimize)
    public var earlyTerminate: EarlyTerminate? = nil
    /// The file's `description`, kept with the sweep.
    public var description: String? = nil
    /// Where each setting was given in the file it was read from, for messages.
    public var sources = SettingSources()

    public init(name: String) { self.name = name }

    public subscript(setting: Setting) -> Choice? {
        get { parameters.first { $0.setting == setting }?.choice }
        set {
            if let index = parameters.firstIndex(where: { $0.setting == setting }) {
                if let newValue { parameters[index].choice = newValue } else { parameters.remove(at: index) }
            } else if let newValue {
                parameters.append(Parameter(setting: setting, choice: newValue))
            }
        }
    }

    /// The spec a sweep was queued with (`sweeps.spec`, written by `json()`); nil when it cannot be
    /// read or is not one: for summaries, which then go without the sweep's metric and labels.
    /// Workers read it with `checkedStored`, which refuses a damaged one.
    public static func stored(in store: SlopeStore, sweepID: Int64) -> SweepSpec? {
        try? checkedStored(in: store, sweepID: sweepID)
    }

    /// The spec a sweep was queued with, as a worker trains, samples and prunes by it.
    /// - Throws: `ExperimentsError.corruptSweep` naming the sweep and the field when the stored
    ///   text is not a valid spec (a hand edit: `count: -5`, `method: bayes`); the store's errors.
    public static func checkedStored(in store: SlopeStore, sweepID: Int64) throws -> SweepSpec {
        try stored(text: try store.sweep(id: sweepID).specJSON, sweepID: sweepID)
    }

    /// The spec of `sweeps.spec` text. A TPE sweep stored before `startup` existed (no such key) keeps
    /// the random startup it began with, though a new file's default is the Latin hypercube.
    static func stored(text: String, sweepID: Int64) throws -> SweepSpec {
        // JSON is YAML. The data is not looked at: this process may run elsewhere, its runs check it.
        do {
            var spec = try parse(yaml: text, file: "sweeps.spec", checkingData: false)
            let keys = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
            if spec.method == .tpe, let keys, keys["startup"] == nil { spec.tpe?.startup = .random }
            return spec
        } catch {
            // The Codable form of early builds.
            if let early = try? JSONDecoder().decode(SweepSpec.self, from: Data(text.utf8)) { return early }
            throw ExperimentsError.corruptSweep(sweepID: sweepID, reason: "\(error)")
        }
    }
}

// MARK: - Storing as JSON

extension SweepSpec {
    /// The spec as stored in `sweeps.spec`: JSON in the sweep file's own shape (docs/sweeps.md),
    /// keys in the order of the docs' table, settings in the order given, defaults filled in;
    /// settings with one value are under `fixed`, the
    /// others under `parameters`. `parse(yaml:)` reads it back (JSON is YAML), so
    /// `json_extract(spec, '$.fixed.epochs')` in SQL and `stored(in:sweepID:)` see the same spec.
    public func json() -> String {
        var fixed: [(String, JSONText)] = [], varied: [(String, JSONText)] = []
        for parameter in parameters {
            switch parameter.choice {
            case let .values(values) where values.count == 1:
                fixed.append((parameter.setting.rawValue, JSONText(Self.typed(values[0], for: parameter.setting))))
            case let .values(values):
                let items = values.map { JSONText(Self.typed($0, for: parameter.setting)) }
                varied.append((parameter.setting.rawValue, .object([("values", .array(items))])))
            case let .distribution(kind, minimum, maximum):
                varied.append((parameter.setting.rawValue, .object([
                    ("distribution", .string(kind.rawValue)), ("min", minimum.json), ("max", maximum.json)])))
            }
        }
        var top: [(String, JSONText)] = [("name", .string(name))]
        if let description { top.append(("description", .string(description))) }
        top.append(("method", .string(method.rawValue)))
        if let count { top.append(("count", .integer(count))) }
        if method != .grid { top.append(("random_seed", .integer(Int(randomSeed)))) }
        if method == .tpe {
            let tpe = self.tpe ?? TPEOptions()
            top += [("n_startup_trials", .integer(tpe.startupTrials)), ("startup", .string(tpe.startup.rawValue)),
                    ("gamma", .number(tpe.gamma)), ("n_ei_candidates", .integer(tpe.candidateCount)),
                    ("multivariate", .bool(tpe.multivariate))]
        }
        top.append(("metric", .object([("name", .string(metric.name.rawValue)), ("goal", .string(metric.goal.rawValue))])))
        top.append(("fixed", .object(fixed)))
        top.append(("parameters", .object(varied)))
        if let earlyTerminate {
            switch earlyTerminate.kind {
            case .median:
                top.append(("early_terminate", .object([("type", .string("median")), ("warmup_epochs", .integer(earlyTerminate.warmupEpochs))])))
            case .asha:
                top.append(("early_terminate", .object([("type", .string("asha")), ("min_epochs", .integer(earlyTerminate.minEpochs)),
                                                        ("reduction_factor", .integer(earlyTerminate.reductionFactor))])))
            }
        }
        return JSONText.object(top).text
    }

    /// A value as a sweep file gives it: numbers and booleans typed (flags give text).
    private static func typed(_ value: SettingValue, for setting: Setting) -> SettingValue {
        guard case let .string(text) = value else { return value }
        if setting == .hidden {  // "64,32" from --hidden: the list a file gives
            let widths = text.split(separator: ",", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
            if !widths.isEmpty, widths.allSatisfy({ $0 != nil }) { return .list(widths.map { .int($0!) }) }
        }
        if setting.isInteger, let number = value.asInt { return .int(number) }
        if setting.isNumeric, let number = value.asDouble { return .double(number) }
        if setting.isBoolean, let flag = value.asBool { return .bool(flag) }
        if setting == .logTensors, let every = Int(text) { return .int(every) }  // "5": every 5 epochs
        return value
    }
}

// MARK: - Reading YAML

extension SweepSpec {
    static let topLevelKeys = ["name", "description", "method", "metric", "parameters", "fixed", "count", "random_seed",
                               "n_startup_trials", "startup", "gamma", "n_ei_candidates", "multivariate", "early_terminate"]

    /// Reads and validates a sweep file.
    /// `checkingData: false` when flags may still replace the file's data settings (`runner sweep
    /// FILE --dataset ...`): the merged spec is checked then.
    public static func load(path: String, checkingData: Bool = true) throws -> SweepSpec {
        let data = try InputFile.contents(path, what: "a sweep file (YAML)") { .badSpecFile(path: path, reason: $0) }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ExperimentsError.badSpecFile(path: path, reason: "not UTF-8 text")
        }
        let defaultName = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        return try parse(yaml: text, file: path, defaultName: defaultName, checkingData: checkingData)
    }

    /// Parses sweep YAML; `file` prefixes error messages.
    /// `checkingData`: also check that each dataset names a file that exists or a built-in with
    /// valid options, and that target and task go with CSV files.
    public static func parse(yaml: String, file: String, defaultName: String = "sweep", checkingData: Bool = true) throws -> SweepSpec {
        let root = try compose(yaml, file: file)
        func fail(_ field: String, _ reason: String) -> ExperimentsError {
            .badSetting(field: "\(file): \(field)", reason: reason)
        }
        guard let root, let mapping = root.mapping else {
            throw fail("(top level)", "expected a mapping with keys \(topLevelKeys.joined(separator: ", "))")
        }
        var spec = SweepSpec(name: defaultName)
        var fixed: [(Setting, SettingValue, String)] = []
        var tpeKeys: [String] = []
        for (keyNode, valueNode) in mapping {
            guard let key = keyNode.string else { throw fail("(top level)", "keys must be text") }
            switch key {
            case "name":
                // `null` and `~` are YAML's empty value, not a name (quoted, 'null' is one).
                guard valueNode.null == nil else { throw fail("name", "expected a non-empty text (null is YAML's empty value; leave the key out for the file's name, or quote 'null')") }
                guard let name = valueNode.scalar?.string, !name.isEmpty else { throw fail("name", "expected a non-empty text") }
                spec.name = name
            case "description":
                guard let text = valueNode.scalar?.string else { throw fail("description", "expected a text") }
                spec.description = text
            case "method":
                guard let text = valueNode.scalar?.string, let method = Method(rawValue: text) else {
                    throw fail("method", "expected one of \(Method.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                spec.method = method
            case "count":
                guard let count = decimalInt(valueNode), (1...maximumRunCount).contains(count) else {
                    throw fail("count", "expected a whole number from 1 to \(maximumRunCount) (runs to draw)")
                }
                spec.count = count
            case "random_seed":
                guard let seed = decimalInt(valueNode), seed >= 0 else {
                    throw fail("random_seed", "'\(shownText(valueNode.scalar?.string ?? "?"))' is not accepted; expected a whole number from 0 to \(Int.max)")
                }
                spec.randomSeed = UInt64(seed)
            case "n_startup_trials":
                guard let trials = decimalInt(valueNode), (0...maximumRunCount).contains(trials) else {
                    throw fail("n_startup_trials", "expected a whole number from 0 to \(maximumRunCount) (random trials before TPE models)")
                }
                spec.tpe = spec.tpe ?? TPEOptions(); spec.tpe?.startupTrials = trials
                tpeKeys.append("n_startup_trials")
            case "startup":
                guard let text = valueNode.scalar?.string, let design = TPESampler.StartupDesign(rawValue: text) else {
                    throw fail("startup", "expected random or lhs (how TPE places its n_startup_trials first trials: independent draws or a Latin hypercube)")
                }
                spec.tpe = spec.tpe ?? TPEOptions(); spec.tpe?.startup = design
                tpeKeys.append("startup")
            case "gamma":
                guard let gamma = decimalNumber(valueNode), gamma > 0, gamma <= 1 else {
                    throw fail("gamma", "expected a fraction in (0, 1], e.g. 0.1 (the share of trials TPE counts as good)")
                }
                spec.tpe = spec.tpe ?? TPEOptions(); spec.tpe?.gamma = gamma
                tpeKeys.append("gamma")
            case "n_ei_candidates":
                guard let candidates = decimalInt(valueNode), (1...10_000).contains(candidates) else {
                    throw fail("n_ei_candidates", "expected a whole number from 1 to 10000 (candidates TPE scores per trial)")
                }
                spec.tpe = spec.tpe ?? TPEOptions(); spec.tpe?.candidateCount = candidates
                tpeKeys.append("n_ei_candidates")
            case "multivariate":
                guard let flag = strictBool(valueNode) else { throw fail("multivariate", "expected true or false") }
                spec.tpe = spec.tpe ?? TPEOptions(); spec.tpe?.multivariate = flag
                tpeKeys.append("multivariate")
            case "metric":
                spec.metric = try parseMetric(valueNode, fail: fail)
                spec.sources.metricGiven = true
            case "early_terminate":
                spec.earlyTerminate = try parseEarlyTerminate(valueNode, fail: fail)
            case "fixed":
                guard let settings = valueNode.mapping else { throw fail("fixed", "expected a mapping of setting: value") }
                let entries = Array(settings)
                for (index, (settingNode, value)) in entries.enumerated() {
                    let setting = try parseSettingName(settingNode, section: "fixed", fail: fail)
                    let field = "fixed.\(setting.rawValue)"
                    if index + 1 < entries.count, let reason = flowDecimalComma(value, then: entries[index + 1], setting: setting) {
                        throw fail(field, reason)
                    }
                    let parsed = try settingValue(value, field: field, fail: fail)
                    var scratch = RunSettings()
                    try scratch.apply(setting, parsed, field: "\(file): \(field)")
                    fixed.append((setting, parsed, field))
                    spec.sources.fields[setting] = field
                }
            case "parameters":
                guard let parameters = valueNode.mapping else { throw fail("parameters", "expected a mapping of setting: {values: [...]} or {distribution: ..., min: ..., max: ...}") }
                for (settingNode, value) in parameters {
                    let setting = try parseSettingName(settingNode, section: "parameters", fail: fail)
                    if spec[setting] != nil { throw fail("parameters.\(setting.rawValue)", "appears twice") }
                    spec[setting] = try parseChoice(value, setting: setting, field: "parameters.\(setting.rawValue)", fail: fail)
                    // Named where the file gives it: its `value`, its `values` (with the index), or the
                    // parameter itself for a distribution (the run's value is a draw between min and max).
                    let field = "parameters.\(setting.rawValue)"
                    switch spec[setting] {
                    case .distribution?: spec.sources.fields[setting] = field
                    default:
                        let givesOneValue = value.mapping?.contains { $0.key.string == "value" } ?? false
                        spec.sources.fields[setting] = field + (givesOneValue ? ".value" : ".values")
                    }
                }
            default:
                throw fail(shownText(key), "unknown key;\(NameSuggestion.hint(for: key, among: topLevelKeys)) accepted keys: \(topLevelKeys.joined(separator: ", "))")
            }
        }
        for (setting, value, field) in fixed {
            if spec[setting] != nil { throw fail(field, "is also under parameters; give it in one place") }
            spec[setting] = .values([value])
        }
        if spec.method != .tpe, let key = tpeKeys.first { throw fail(key, "only for method: tpe") }
        if spec.method == .tpe && spec.tpe == nil { spec.tpe = TPEOptions() }
        try spec.validate(file: file, checkingData: checkingData)
        return spec
    }

    /// Yams' parse of the text, checked: at most `YAMLLimits.maximumNodes` nodes once aliases are
    /// expanded (an alias bomb of a few hundred bytes expands to billions), and errors as one line
    /// naming the file, line and column.
    static func compose(_ yaml: String, file: String) throws -> Node? {
        if let problem = YAMLLimits.aliasUsedAsKey(in: yaml) {
            throw ExperimentsError.badSpecFile(path: "\(file), line \(problem.line), column \(problem.column)",
                                               reason: "an alias (*name) as a mapping key is not supported; write the key out")
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            let (location, reason) = YAMLLimits.describe(error, in: yaml)
            throw ExperimentsError.badSpecFile(path: file + (location.map { ", line \($0.line), column \($0.column)" } ?? ""),
                                               reason: "not valid YAML: \(reason)")
        } catch {
            throw ExperimentsError.badSpecFile(path: file, reason: "not valid YAML")
        }
        if let root, !YAMLLimits.isWithinNodeLimit(root) {
            // Aliases are the likely cause only in a file that has them (hostile17 H6: 100,000 values written out).
            let aliased = yaml.contains("&") && yaml.contains("*")
            throw ExperimentsError.badSpecFile(path: file, reason: aliased
                ? "expands to more than \(YAMLLimits.maximumNodes) YAML values (aliases that repeat aliases?); a sweep file needs far fewer: write the values out"
                : "holds more than \(YAMLLimits.maximumNodes) YAML values; a sweep file needs far fewer (a sweep has at most "
                    + "\(SweepSpec.maximumRunCount) runs): for many values of a number, give a distribution with method: random")
        }
        if let root, let merge = YAMLLimits.firstMergeKey(in: root) {  // hostile17 H3
            let location = merge.mark.map { YAMLLimits.clamped($0, in: yaml) }
            throw ExperimentsError.badSpecFile(path: file + (location.map { ", line \($0.line), column \($0.column)" } ?? ""),
                                               reason: "a merge key (<<) is not supported: write the keys out (an alias may stand for a whole value: "
                                                   + "learning_rate: *lr)")
        }
        if let root, let text = YAMLLimits.firstNULText(in: root) {
            let location = text.mark.map { YAMLLimits.clamped($0, in: yaml) }
            throw ExperimentsError.badSpecFile(path: file + (location.map { ", line \($0.line), column \($0.column)" } ?? ""),
                                               reason: "a text holds a NUL character (\\0), which names and settings cannot hold: remove it")
        }
        return root
    }

    private static func parseSettingName(_ node: Node, section: String, fail: (String, String) -> ExperimentsError) throws -> Setting {
        guard let name = node.string, let setting = Setting(rawValue: name) else {
            let names = Setting.allCases.map(\.rawValue)
            let hint = node.string.map { NameSuggestion.hint(for: $0, among: names) } ?? ""
            throw fail("\(section).\(shownText(node.string ?? "?"))", "unknown setting;\(hint) accepted: \(names.joined(separator: ", "))")
        }
        return setting
    }

    private static func parseMetric(_ node: Node, fail: (String, String) -> ExperimentsError) throws -> Metric {
        guard let mapping = node.mapping else { throw fail("metric", "expected {name: ..., goal: minimize|maximize}") }
        var metric = Metric(name: .validationLoss, goal: .minimize)
        var goalGiven = false
        for (keyNode, value) in mapping {
            switch keyNode.string {
            case "name":
                guard let text = value.string, let name = MetricName(rawValue: text) else {
                    throw fail("metric.name", "expected one of \(MetricName.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                metric.name = name
            case "goal":
                guard let text = value.string, let goal = Goal(rawValue: text) else {
                    throw fail("metric.goal", "expected one of \(Goal.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                metric.goal = goal
                goalGiven = true
            default:
                let key = keyNode.string ?? "?"
                throw fail("metric.\(shownText(key))", "unknown key;\(NameSuggestion.hint(for: key, among: ["name", "goal"])) accepted keys: name, goal")
            }
        }
        if !goalGiven { metric.goal = SlopeStore.isMaximizedByDefault(metric.name.rawValue) ? .maximize : .minimize }
        return metric
    }

    private static func parseEarlyTerminate(_ node: Node, fail: (String, String) -> ExperimentsError) throws -> EarlyTerminate {
        let shape = "expected {type: median, warmup_epochs: N} or {type: asha, min_epochs: N, reduction_factor: F}"
        guard let mapping = node.mapping else { throw fail("early_terminate", shape) }
        var kind: EarlyTerminate.Kind?
        var numbers: [String: Int] = [:]
        for (keyNode, value) in mapping {
            let key = keyNode.string ?? "?"
            switch key {
            case "type":
                guard let text = value.string, let given = EarlyTerminate.Kind(rawValue: text) else {
                    throw fail("early_terminate.type", "expected median or asha")
                }
                kind = given
            case "warmup_epochs", "min_epochs", "reduction_factor":
                let least = key == "warmup_epochs" ? 0 : key == "min_epochs" ? 1 : 2
                guard let number = decimalInt(value), number >= least, number <= 1_000_000_000 else {
                    throw fail("early_terminate.\(key)", "expected a whole number from \(least) to 1000000000")
                }
                numbers[key] = number
            default:
                throw fail("early_terminate.\(shownText(key))",
                           "unknown key;\(NameSuggestion.hint(for: key, among: ["type", "warmup_epochs", "min_epochs", "reduction_factor"])) "
                           + "accepted keys: type, warmup_epochs (median), min_epochs, reduction_factor (asha)")
            }
        }
        guard let kind else {
            throw fail("early_terminate.type", "missing; give type: median (with warmup_epochs) or type: asha (with min_epochs, reduction_factor)")
        }
        switch kind {
        case .median:
            if let key = ["min_epochs", "reduction_factor"].first(where: { numbers[$0] != nil }) {
                throw fail("early_terminate.\(key)", "only for type: asha")
            }
            return EarlyTerminate(warmupEpochs: numbers["warmup_epochs"] ?? 3)
        case .asha:
            if numbers["warmup_epochs"] != nil { throw fail("early_terminate.warmup_epochs", "only for type: median (asha starts at min_epochs)") }
            return EarlyTerminate(ashaMinEpochs: numbers["min_epochs"] ?? 1, reductionFactor: numbers["reduction_factor"] ?? 3)
        }
    }

    private static func parseChoice(_ node: Node, setting: Setting, field: String, fail: (String, String) -> ExperimentsError) throws -> Choice {
        let shape = "expected {values: [...]}, {value: x}" + (setting.isNumeric ? ", or {distribution: uniform|log_uniform|int_uniform, min: a, max: b}" : "")
        guard let mapping = node.mapping else { throw fail(field, shape) }
        var values: [SettingValue]? = nil
        var distribution: Distribution? = nil
        var minimum: Bound? = nil, maximum: Bound? = nil
        var previous: (key: String, value: Node)? = nil
        for (keyNode, value) in mapping {
            let key = keyNode.string ?? "?"
            defer { previous = (key, value) }
            switch key {
            case _ where (key == "values" || key == "value") && values != nil:
                throw fail(field, "give either value: x or values: [...], not both")
            case "values":
                guard let sequence = value.sequence else { throw fail("\(field).values", "expected a list, e.g. [0.01, 0.1]") }
                guard !sequence.isEmpty else { throw fail("\(field).values", "the list is empty; give at least one value") }
                // `[0,0001]` is YAML's list [0, 1]: a decimal comma, as no list writes 1 as 0001 (hostile16b G1).
                if setting.isNumeric && !setting.isInteger,
                   let pair = DecimalComma.pairs(sequence.map { $0.scalar?.string }).first(where: \.hasLeadingZero) {
                    throw fail("\(field).values", DecimalComma.reason(typed: pair.typed, number: pair.number,
                                                                      comma: "a comma separates the values of a list"))
                }
                values = try sequence.enumerated().map { index, item in try settingValue(item, field: "\(field).values[\(index)]", fail: fail) }
            case "value":
                values = [try settingValue(value, field: "\(field).value", fail: fail)]
            case "distribution":
                guard let text = value.string, let kind = Distribution(rawValue: text) else {
                    throw fail("\(field).distribution", "expected one of \(Distribution.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                guard setting.isNumeric else { throw fail("\(field).distribution", "\(setting.rawValue) is not a number; use values: [...]") }
                distribution = kind
            case "min", "max":
                guard let number = decimalNumber(value), number.isFinite else { throw fail("\(field).\(key)", "expected a number") }
                // A whole number in digits stays exact: 9223372036854775807 is not the Double 2^63.
                let bound = decimalInt(value).map(Bound.whole) ?? .real(number, written: value.scalar?.string)
                if key == "min" { minimum = bound } else { maximum = bound }
            default:
                if let previous, ["value", "min", "max"].contains(previous.key),
                   let reason = flowDecimalComma(previous.value, then: (keyNode, value), setting: setting) {
                    throw fail("\(field).\(previous.key)", reason)
                }
                let accepted = ["values", "value", "distribution", "min", "max"]
                throw fail("\(field).\(shownText(key))", "unknown key;\(NameSuggestion.hint(for: key, among: accepted)) accepted keys: \(accepted.joined(separator: ", "))")
            }
        }
        if let values {
            guard distribution == nil, minimum == nil, maximum == nil else { throw fail(field, "give either values or a distribution with min and max, not both") }
            return .values(values)
        }
        if minimum != nil || maximum != nil || distribution != nil {
            guard let minimum else { throw fail("\(field).min", "missing; a distribution needs min and max") }
            guard let maximum else { throw fail("\(field).max", "missing; a distribution needs min and max") }
            return .distribution(distribution ?? (setting.isInteger ? .intUniform : .uniform), min: minimum, max: maximum)
        }
        throw fail(field, shape)
    }

    /// `{momentum: 0,9}` is YAML's `{momentum: 0, 9: }`: in a flow mapping a comma separates entries, so a
    /// decimal comma leaves a whole number followed by a key of digits without a value. The refusal
    /// (`DecimalComma.reason`) when the setting takes fractions and would take the number with a point;
    /// said before either half is refused or named an unknown setting.
    private static func flowDecimalComma(_ whole: Node, then next: (key: Node, value: Node), setting: Setting) -> String? {
        guard setting.isNumeric, !setting.isInteger, next.value.null != nil,
              let pair = DecimalComma.pairs([whole.scalar?.string, next.key.scalar?.string]).first else { return nil }
        var scratch = RunSettings()
        guard (try? scratch.apply(setting, .string(pair.number), field: "")) != nil else { return nil }
        return DecimalComma.reason(typed: pair.typed, number: pair.number, comma: "in {...} a comma separates entries")
    }

    /// A whole number written in decimal: YAML alone reads 0x10, 0o17 and 010 as 16, 15 and 8.
    private static func decimalInt(_ node: Node) -> Int? {
        node.int != nil ? node.scalar.flatMap { Int($0.string) } : nil
    }

    /// A number written in decimal (`decimalInt`), whole or not.
    private static func decimalNumber(_ node: Node) -> Double? {
        guard node.int != nil || node.float != nil, let text = node.scalar?.string else { return nil }
        return DecimalNumber.value(of: text)
    }

    /// A boolean only as `true` or `false` (any case), as the docs give them: YAML 1.1's `yes`, `no`,
    /// `on` and `off` stay text, which a boolean setting refuses.
    private static func strictBool(_ node: Node) -> Bool? {
        guard let text = node.scalar?.string.lowercased(), text == "true" || text == "false" else { return nil }
        return node.bool
    }

    private static func settingValue(_ node: Node, field: String, fail: (String, String) -> ExperimentsError) throws -> SettingValue {
        switch node {
        case let .scalar(scalar):
            if node.null != nil { throw fail(field, "empty value") }
            if scalar.style == .plain || scalar.style == .any {
                // YAML reads 0x10, 0o17, 010 (octal), 1_000 and 1:30 as numbers; Slope reads numbers
                // as decimal, as on the command line and in CSV cells: 010 is ten, and the others
                // stay text, which the setting refuses ('0x10' is not accepted), quoted or not.
                let text = scalar.string
                if node.int != nil { return Int(text).map(SettingValue.int) ?? .string(text) }
                // A whole number beyond Int (a seed of 2^63) stays as written: as a float it would
                // be shown as 9.223372036854776e+18 and could not be told apart from its neighbours.
                let digits = text.drop { $0 == "-" || $0 == "+" }
                if !digits.isEmpty, digits.count + 1 >= text.count, digits.allSatisfy({ ("0"..."9").contains($0) }) { return .string(text) }
                if let value = node.float {
                    // .inf and .nan are YAML's own words for floats, which the setting judges.
                    // Kept as written for messages (`1e-1`, not 0.1; `1.0`, not 1), as a distribution's bounds are.
                    return DecimalNumber.value(of: text) != nil || digits.hasPrefix(".") ? .double(value, written: text) : .string(text)
                }
                if let value = strictBool(node) { return .bool(value) }
            }
            return .string(scalar.string)
        case let .sequence(sequence):
            return .list(try sequence.enumerated().map { index, item in try settingValue(item, field: "\(field)[\(index)]", fail: fail) })
        case .mapping:
            throw fail(field, "expected a value, not a mapping")
        case .alias:
            throw fail(field, "YAML aliases are not supported")
        }
    }
}

// MARK: - Validation

extension SweepSpec {
    /// Each dataset is a file that exists or a built-in with valid options; target and task, which
    /// choose a CSV column, are not given with a generated dataset (it has its own targets).
    /// `fail` gets the setting, its field in the file (`fixed.dataset`) and the reason.
    /// `specFile`: the sweep file the spec came from, if any; a dataset missing from the current
    /// folder but found beside it is said to be there (a sweep file's paths are read from the folder
    /// runner runs in, not the file's).
    func validateData(specFile: String? = nil, fail: (Setting, String, String) -> ExperimentsError) throws {
        func field(_ setting: Setting, _ index: Int) -> String {
            if let given = sources.fields[setting] { return given.hasSuffix(".values") ? "\(given)[\(index)]" : given }
            if case let .values(values)? = self[setting], values.count > 1 { return "parameters.\(setting.rawValue).values[\(index)]" }
            return "fixed.\(setting.rawValue)"
        }
        /// The first of a setting's values that is not `auto` (the one a generated dataset refuses).
        func firstGiven(_ setting: Setting) -> Int {
            guard case let .values(values)? = self[setting] else { return 0 }
            return values.firstIndex { $0.asString?.lowercased() != TaskKind.auto.rawValue } ?? 0
        }
        guard case let .values(datasets)? = self[.dataset] else { return }
        for (index, name) in datasets.compactMap(\.asString).enumerated() {
            if let problem = DataCatalog.problem(withName: name) {
                throw fail(.dataset, field(.dataset, index), problem + Self.besideSpecFile(name, specFile: specFile))
            }
        }
        let givesTask: Bool = {  // task: auto is every dataset's default
            guard case let .values(values)? = self[.task] else { return false }
            return values.contains { $0.asString?.lowercased() != TaskKind.auto.rawValue }
        }()
        for setting in [Setting.target, .task] where setting == .target ? self[.target] != nil : givesTask {
            let generated = datasets.compactMap(\.asString).first { name in
                !FileManager.default.fileExists(atPath: name) && (try? DataCatalog.builtInOptions(name).0) != .digits
            }
            if let generated { throw fail(setting, field(setting, firstGiven(setting)), "target and task apply to CSV files; \(generated) decides its own targets") }
        }
    }
}

extension SweepSpec {
    /// "; there is one beside the sweep file ..." when the relative dataset `name`, missing from the
    /// current folder, is a file beside `specFile`; else "".
    static func besideSpecFile(_ name: String, specFile: String?) -> String {
        guard let specFile, !name.hasPrefix("/"), !FileManager.default.fileExists(atPath: name) else { return "" }
        let folder = URL(fileURLWithPath: specFile).deletingLastPathComponent()
        let beside = folder.appendingPathComponent(name).path
        guard FileManager.default.fileExists(atPath: beside) else { return "" }
        let shown = (specFile as NSString).deletingLastPathComponent
        let path = shown.isEmpty ? name : (shown as NSString).appendingPathComponent(name)
        return "; there is one beside the sweep file, but a sweep file's paths are read from the folder runner runs in: "
            + "write \(shownText(path, limit: 1000)) in the file, or run runner in \(shownText(shown.isEmpty ? "." : shown, limit: 1000))"
    }

    /// Runs in one sweep, at most: queueing 100,000 takes seconds, and more is a typo more often than a plan.
    public static let maximumRunCount = 100_000
    /// Characters (Unicode scalars) in a sweep's name, at most.
    public static let maximumNameLength = 1000

    /// What is wrong with `name` as a sweep's name (too long), or nil: said for the file's `name`
    /// field or for `--name` (FlagSettings.validate), whichever gave it.
    /// `flag`: given as `--name`, which names `runner train`'s run (no description) or a sweep.
    static func nameProblem(_ name: String, flag: Bool = false) -> String? {
        guard name.unicodeScalars.count > maximumNameLength else { return nil }
        return "the name has \(name.unicodeScalars.count) characters; " + (flag
            ? "a name has at most \(maximumNameLength): shorten it"
            : "a sweep's name has at most \(maximumNameLength): shorten it (say more in description)")
    }

    /// Checks every value of every parameter (and both ends of every distribution) as a setting,
    /// and the spec's own rules; errors name the field.
    public func validate(file: String? = nil, checkingData: Bool = true) throws {
        let prefix = file.map { "\($0): " } ?? ""
        func fail(_ field: String, _ reason: String) -> ExperimentsError { .badSetting(field: prefix + field, reason: reason) }
        // A name is a label in tables and pages: megabytes of one made `report sweeps` take seconds per row.
        if let problem = Self.nameProblem(name) { throw fail("name", problem) }
        var scratch = RunSettings()
        for parameter in parameters {
            let field = "parameters.\(parameter.setting.rawValue)"
            switch parameter.choice {
            case let .values(values):
                guard !values.isEmpty else { throw fail("\(field).values", "the list is empty; give at least one value") }
                do {
                    try RunSettings.checkDistinct(values, of: parameter.setting) { prefix + "\(field).values[\($0)]" }
                } catch let error as ExperimentsError {
                    // `values: [0,5]` is YAML's [0, 5]: a learning rate of 0 refused is a decimal comma when 0.5 is accepted (review16 R10).
                    let refused = values.indices.first { index in
                        var settings = RunSettings()
                        return (try? settings.apply(parameter.setting, values[index], field: field)) == nil
                    }
                    throw refused.flatMap { FlagSettings.decimalComma(values, of: parameter.setting, flag: prefix + "\(field).values", refused: $0,
                                                                     comma: "a comma separates the values of a list") } ?? error
                }
            case let .distribution(kind, minimum, maximum):
                guard method != .grid else { throw fail(field, "a distribution needs method: random or tpe (grid search takes values: [...])") }
                guard minimum.isAtMost(maximum) else { throw fail("\(field).min", "min (\(minimum)) is greater than max (\(maximum))") }
                if kind == .logUniform && minimum.value <= 0 { throw fail("\(field).min", "log_uniform needs min > 0") }
                if kind == .intUniform, let (end, bound) = [("min", minimum), ("max", maximum)].first(where: { $0.1.wholeNumber == nil }) {
                    throw fail(field, "int_uniform needs whole-number min and max (from \(Int.min) to \(Int.max)); \(end) is \(bound)")
                }
                // Each end as a setting first: an end the setting refuses (a seed below 0) is the
                // fault to say, not the width that advice to use method: random cannot fix.
                try scratch.apply(parameter.setting, minimum.settingValue(for: parameter.setting), field: prefix + "\(field).min")
                try scratch.apply(parameter.setting, maximum.settingValue(for: parameter.setting), field: prefix + "\(field).max")
                if method == .tpe, let span = Self.offsetSpan(kind, minimum, maximum), span > Self.exactWholeLimit {
                    throw fail(field, "tpe samples an int_uniform range exactly when max - min is at most 2^53 (\(Self.exactWholeLimit)); "
                               + "\(minimum) ... \(maximum) is wider: narrow it, or use method: random")
                }
            }
        }
        if checkingData { try validateData(specFile: file) { _, field, reason in fail(field, reason) } }
        switch method {
        case .grid:
            if count != nil { throw fail("count", "only for method: random or tpe (a grid runs every combination)") }
            if runCount > Self.maximumRunCount {
                let sizes = parameters.compactMap { parameter -> String? in
                    if case let .values(values) = parameter.choice, values.count > 1 { return "\(values.count) \(parameter.setting.rawValue)" }
                    return nil
                }
                throw fail("parameters", "the grid has \(runCount == Int.max ? "too many" : String(runCount)) runs (\(sizes.joined(separator: " x "))); "
                           + "a sweep has at most \(Self.maximumRunCount): split it into several sweeps")
            }
        case .random, .tpe:
            guard let count else { throw fail("count", "method: \(method.rawValue) needs count: N (the number of runs to \(method == .tpe ? "sample" : "draw"))") }
            if count > Self.maximumRunCount { throw fail("count", "expected a whole number from 1 to \(Self.maximumRunCount) (runs to draw)") }
        }
        if let earlyTerminate, earlyTerminate.warmupEpochs < 0 { throw fail("early_terminate.warmup_epochs", "expected a whole number >= 0") }
    }
}
