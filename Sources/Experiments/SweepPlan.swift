// A sweep ready to queue: every run's configuration built and checked first, so bad
// input never leaves a half-created sweep; then one transaction queues them all.
import Foundation
import NeuralNet
import Store

public struct SweepPlan: Sendable {
    public var spec: SweepSpec
    public var configurations: [RunConfiguration]

    /// Expands the spec and resolves every run against its data. Throws (writing nothing) on any bad
    /// value; a setting that only fails in combination (early stopping with a run that has no
    /// validation split) is named with the run's varied values, and with `source` (the spec file).
    /// `onProgress(done, total)` after every 1,000 runs checked (a large grid takes seconds).
    public init(spec: SweepSpec, base: RunSettings = RunSettings(), source: String? = nil,
                onProgress: ((_ done: Int, _ total: Int) -> Void)? = nil) throws {
        self.spec = spec
        let points = try spec.expand(base: base)
        guard !points.isEmpty else { throw ExperimentsError.badSetting(field: "parameters", reason: "the sweep makes no runs") }
        // Each dataset (file, or built-in with its options) is read, hashed and parsed once for all runs.
        var loaded: [String: LoadedData] = [:]
        func load(_ dataset: String, _ target: String?, _ task: TaskKind) throws -> LoadedData {
            let key = [dataset, target ?? "", task.rawValue].joined(separator: "\u{0}")
            if let data = loaded[key] { return data }
            let data = try DataCatalog.load(dataset, target: target, task: task)
            loaded[key] = data
            return data
        }
        let varied = Set(spec.variedSettings)
        func makeAll() throws -> [RunConfiguration] { try points.enumerated().map { index, point in
            if let onProgress, index > 0, index % 1_000 == 0 { onProgress(index, points.count) }
            do {
                // A refused value is named as written, as the run's label names it ("the run with hidden=[1e9]").
                let configuration = try RunConfiguration.make(point.settings, load: load,
                                                              given: Dictionary(point.values.map { ($0.setting, $0.value) }, uniquingKeysWith: { $1 }))
                if spec.sources.metricGiven, let reason = try Self.metricProblem(spec.metric.name, configuration,
                        load(point.settings.dataset, point.settings.target, point.settings.task).dataset, spec: spec) {
                    let values = point.values.filter { varied.contains($0.setting) }.map { "\($0.setting.rawValue)=\($0.value)" }
                    // The run is named when the settings that decide it vary (some runs may have the metric).
                    let deciding: Set<Setting> = [.dataset, .target, .task, .loss, .outputActivation, .validation]
                    let run = varied.isDisjoint(with: deciding) ? "" : " (the run with \(values.joined(separator: ", ")))"
                    throw ExperimentsError.badSetting(field: (source.map { "\($0): " } ?? "") + "metric.name",
                                                      reason: "\(spec.metric.name.rawValue) \(reason)\(run)")
                }
                if spec.earlyTerminate?.kind == .median, spec.method != .tpe, let reason = Self.medianProblem(configuration, spec: spec) {
                    let values = point.values.filter { varied.contains($0.setting) }.map { "\($0.setting.rawValue)=\($0.value)" }
                    let run = varied.contains(.validation) ? " (the run with \(values.joined(separator: ", ")))" : ""
                    throw ExperimentsError.badSetting(field: (source.map { "\($0): " } ?? "") + "early_terminate", reason: reason + run)
                }
                return configuration
            } catch let ExperimentsError.badSetting(flag, reason) where flag.hasPrefix("--") {
                // A setting of the spec file is named where it was written there (fixed.hidden), not by its flag.
                let written = Setting.allCases.first { $0.flag == flag }.flatMap { spec.sources.fields[$0] }
                guard !varied.isEmpty else {
                    guard let written else { throw ExperimentsError.badSetting(field: flag, reason: reason) }
                    throw ExperimentsError.badSetting(field: (source.map { "\($0): " } ?? "") + written, reason: reason)
                }
                let values = point.values.filter { varied.contains($0.setting) }.map { "\($0.setting.rawValue)=\($0.value)" }
                throw ExperimentsError.badSetting(field: (source.map { "\($0): " } ?? "") + "the run with \(values.joined(separator: ", "))",
                                                  reason: "\(written ?? flag): \(reason)")
            }
        } }
        // A TPE sweep's trials are drawn later: each value and distribution end it may draw is
        // checked now, with the first trial's other values (a refusal names the field).
        func checkTPEValues() throws {
            /// Why `point` cannot make a run the sweep can rank (the refusal to say), or nil.
            func problem(_ point: SweepPoint, field: String) throws -> ExperimentsError? {
                do {
                    let configuration = try RunConfiguration.make(point.settings, load: load)
                    // A trial that may lack the metric the spec names (validation 0 among the values) is
                    // refused as a random sweep's run would be: TPE would rank it by another measure;
                    // and one median pruning could never judge, likewise.
                    if spec.sources.metricGiven, let reason = try Self.metricProblem(spec.metric.name, configuration,
                            load(point.settings.dataset, point.settings.target, point.settings.task).dataset, spec: spec) {
                        return .badSetting(field: (source.map { "\($0): " } ?? "") + "metric.name",
                                           reason: "\(spec.metric.name.rawValue) \(reason) (a trial may draw \(field))")
                    }
                    // (When no trial may validate, the check below says so for the whole sweep.)
                    if spec.earlyTerminate?.kind == .median, spec.mayHave(.validation, { $0.validationFraction > 0 }),
                       let reason = Self.medianProblem(configuration, spec: spec) {
                        return .badSetting(field: (source.map { "\($0): " } ?? "") + "early_terminate", reason: reason + " (a trial may draw \(field))")
                    }
                    return nil
                } catch let ExperimentsError.badSetting(flag, reason) where flag.hasPrefix("--") {
                    let setting = Setting.allCases.first { $0.flag == flag }
                    return .badSetting(field: (source.map { "\($0): " } ?? "") + field, reason: setting == nil ? "\(flag): \(reason)" : reason)
                }
            }
            for (field, point, contexts) in try spec.tpeProbes(base: base) {
                guard let refusal = try problem(point, field: field) else { continue }
                // Refused beside the first trial's other values only: fine if beside some others' it is not.
                if try contexts().contains(where: { try problem($0, field: field) == nil }) { continue }
                throw refusal
            }
        }
        if spec.method == .tpe {
            var valuesChecked = false
            do {
                configurations = try makeAll()
            } catch let error as ExperimentsError {
                // The first trial's values may not make a run together (float32 with a learning rate
                // of 1e39 float64 trials may take): refused only if some value makes none anywhere,
                // else the first trial is the one a worker makes, drawn again as it draws it.
                // (A metric or pruning rule the first trial cannot have is said as for any sweep.)
                guard case let .badSetting(field, _) = error, !field.hasSuffix("metric.name"), !field.hasSuffix("early_terminate") else { throw error }
                try checkTPEValues()
                valuesChecked = true
                guard let first = try? TrialMaker(spec: spec).makeTrial(runCount: 0, records: [], fromRunID: 0) else { throw error }
                configurations = [try RunConfiguration.decode(json: first.configJSON, runID: 0)]
            }
            if !valuesChecked { try checkTPEValues() }
        } else {
            configurations = try makeAll()
        }
        // A TPE sweep's trials are drawn later: refused when no trial may hold out validation rows.
        if spec.earlyTerminate?.kind == .median, spec.method == .tpe, !spec.mayHave(.validation, { $0.validationFraction > 0 }),
           let reason = Self.medianProblem(configurations[0], spec: spec) {
            throw ExperimentsError.badSetting(field: (source.map { "\($0): " } ?? "") + "early_terminate", reason: reason)
        }
        if let (field, reason) = Self.blindSearchProblem(spec: spec, configurations: configurations) {
            throw ExperimentsError.badSetting(field: (source.map { "\($0): " } ?? "") + field, reason: reason)
        }
        if let reason = Self.nothingToDrawProblem(spec: spec) {
            throw ExperimentsError.badSetting(field: (source.map { "\($0): " } ?? "") + "parameters", reason: reason)
        }
    }

    /// A random or tpe search of `count` runs whose parameters each have one value (`fixed:` settings
    /// are parameters of one value too; or that has none) draws nothing: every run gets the same
    /// settings and seed, so it would train the same run `count` times for the same bits (a grid
    /// refuses a repeated value for the same reason).
    /// Why, with the fixes, or nil. Refused when planned; a sweep already queued trains as it was.
    static func nothingToDrawProblem(spec: SweepSpec) -> String? {
        guard spec.method == .random || spec.method == .tpe, let count = spec.count, count > 1, spec.distinctPoints == 1 else { return nil }
        let verb = spec.method == .random ? "draws" : "samples"
        return "method: \(spec.method.rawValue) \(verb) nothing here: every setting has one value (no distribution whose min and max "
            + "differ, no list of several values)"
            + ", so its \(count) runs would be the same run (same settings, same seed) \(count) times; give a parameter a distribution "
            + "(e.g. learning_rate: {distribution: log_uniform, min: 0.001, max: 0.1}) or several values, "
            + "or use method: grid (or count: 1) for the one run"
    }

    /// TPE and ASHA rank runs on the sweep's metric. Left at its default, val_loss (a spec that
    /// names it is refused by `metricProblem`), with no run holding out validation rows, every
    /// run's val_loss is NULL: TPE would see every finished trial as equally bad (+inf) and learn
    /// nothing, ASHA would have nothing to compare and prune no run (only the summary and `report`
    /// fall back to train_loss). The field to blame (`method`, else `early_terminate`) and why, or
    /// nil. Sweeps queued before this was refused still train as they were queued.
    static func blindSearchProblem(spec: SweepSpec, configurations: [RunConfiguration]) -> (field: String, reason: String)? {
        let isASHA = spec.earlyTerminate?.kind == .asha, isTPE = spec.method == .tpe
        guard isTPE || isASHA, !spec.sources.metricGiven, spec.metric.name == .validationLoss else { return nil }
        // A TPE sweep's trials are drawn later: what they may be is read from the spec.
        let validates = isTPE ? spec.mayHave(.validation) { $0.validationFraction > 0 }
            : configurations.contains { $0.data.validationFraction > 0 }
        guard !validates else { return nil }
        let written = spec.sources.fields[.validation].flatMap { $0.hasSuffix(".values") ? nil : $0 } ?? "validation"
        let effects = (isTPE ? ["TPE would learn nothing from the finished trials (each counts as +inf)"] : [])
            + (isASHA ? ["ASHA would prune no run"] : [])
        let searcher = isTPE ? "tpe" + (isASHA ? " and type: asha rank" : " ranks") : "type: asha ranks"
        return (isTPE ? "method" : "early_terminate",
                "\(searcher) runs on the sweep's metric, val_loss (the default), which no run has with \(written) 0, so "
                + "\(effects.joined(separator: " and ")): add metric: {name: train_loss} to search on the training loss, "
                + "or set \(written) above 0")
    }

    /// Why median pruning can never judge a run of `configuration`: it compares val_loss (not the
    /// sweep's metric, as ASHA does), which a run without a validation split never has, so the rule
    /// would silently do nothing for it. Nil when the run holds out validation rows.
    static func medianProblem(_ configuration: RunConfiguration, spec: SweepSpec) -> String? {
        guard configuration.data.validationFraction == 0 else { return nil }
        let written = spec.sources.fields[.validation].flatMap { $0.hasSuffix(".values") ? nil : $0 } ?? "validation"
        return "type: median compares val_loss, and \(written) is 0, so no run would ever be pruned: set \(written) above 0, "
            + "or use type: asha, which prunes on the sweep's metric (e.g. metric: {name: train_loss})"
    }

    /// Why a run of `configuration` can never have the sweep's metric (every trial would be missing
    /// it: TPE would sample blind, ASHA never prune, no best be named), or nil when it can.
    static func metricProblem(_ metric: SweepSpec.MetricName, _ configuration: RunConfiguration, _ dataset: Dataset,
                              spec: SweepSpec) -> String? {
        let validates = configuration.data.validationFraction > 0
        // Named as the file gives it when one value is given for all runs (`fixed.validation`).
        let written = spec.sources.fields[.validation].flatMap { $0.hasSuffix(".values") ? nil : $0 } ?? "validation"
        switch metric {
        case .validationAccuracy, .trainAccuracy:
            // Accuracy is scored on class labels, or on 0/1 values through a sigmoid (binary cross-entropy).
            guard dataset.isClassification || configuration.training.loss == .binaryCrossEntropy else {
                return "needs class labels, and \(configuration.data.dataset) holds values (a regression dataset): use "
                    + (metric == .validationAccuracy ? "val_loss" : "train_loss")
            }
            if metric == .validationAccuracy && !validates {
                return "needs a validation split, and \(written) is 0: set \(written) above 0 or use train_accuracy"
            }
        case .validationLoss where !validates:
            return "needs a validation split, and \(written) is 0: set \(written) above 0 or use train_loss"
        default: break
        }
        return nil
    }

    /// The runs the sweep will train, for the storage estimate: a TPE sweep's `count` trials, each
    /// estimated as its first one (a sampled network size makes that an approximation).
    public var plannedConfigurations: [RunConfiguration] {
        spec.method == .tpe ? Array(repeating: configurations[0], count: spec.runCount) : configurations
    }

    /// Records the sweep and queues its runs in one transaction. A TPE sweep starts empty: its
    /// trials are made as workers ask for them (`configurations` then holds the first one, checked).
    /// `shouldStop` (Ctrl-C) undoes the write whole (`StoreError.interrupted`); `committing` marks
    /// the write's last step before its commit (`SlopeStore.createSweep`).
    public func enqueue(in store: SlopeStore, shouldStop: () -> Bool = { false },
                        committing: () -> Void = {}) throws -> (sweepID: Int64, runIDs: [Int64]) {
        try Queueing.run {
            try store.createSweep(name: spec.name, specJSON: spec.json(), runs: spec.method == .tpe ? [] : configurations.map { $0.newRun() },
                                  shouldStop: shouldStop, committing: committing)
        }
    }
}

/// Recording new work: a sweep with its runs, or one run, is one transaction (and so is creating
/// a new database), so a full disk leaves nothing queued. The error says so, rather than Store's
/// "resume the run" (there is no run to resume).
public enum Queueing {
    public static func run<Result>(_ record: () throws -> Result) throws -> Result {
        do {
            return try record()
        } catch let StoreError.diskFull(path) {
            throw ExperimentsError.notQueued(reason: "the disk holding \(path) is full, so nothing was queued "
                + "(the write was undone whole): free some space and run the command again")
        }
    }
}

/// Settings given on the command line: each flag's values (one for `train`, a list for `sweep`).
public struct FlagSettings: Sendable {
    public var entries: [(setting: Setting, flag: String, values: [SettingValue])] = []
    public init() {}

    /// The values given to `setting`'s flag (`Setting.flag`, which messages name), when it was given.
    public mutating func add(_ setting: Setting, _ values: [String]?) {
        guard let values else { return }
        entries.append((setting, setting.flag, values.map { .string($0) }))
    }

    /// A switch's value (`--standardize`, `--no-bias`), under `setting.flag`.
    public mutating func add(_ setting: Setting, value: SettingValue) {
        entries.append((setting, setting.flag, [value]))
    }

    /// Checks every value, naming the flag in errors (`--learning-rate: '-1' is not accepted; expected ...`).
    public func validate() throws {
        var scratch = RunSettings()
        for entry in entries {
            guard !entry.values.isEmpty else { throw ExperimentsError.badSetting(field: entry.flag, reason: "no value given") }
            // `--weight-decay 0,0001`: both values are accepted, but nobody writes 1 as 0001 (hostile16 F3).
            if let error = Self.decimalComma(entry.values, of: entry.setting, flag: entry.flag, onlyLeadingZeros: true) { throw error }
            for (index, value) in entry.values.enumerated() {
                do {
                    try scratch.apply(entry.setting, value, field: entry.flag)
                } catch let error as ExperimentsError {
                    throw Self.decimalComma(entry.values, of: entry.setting, flag: entry.flag, refused: index) ?? error
                }
                if entry.setting == .dataset, let name = value.asString, let problem = DataCatalog.problem(withName: name) {
                    throw ExperimentsError.badSetting(field: entry.flag, reason: problem)
                }
                // Checked here, not as the spec's name: with a sweep file too, it is not the file's field.
                if entry.setting == .name, let name = value.asString, let problem = SweepSpec.nameProblem(name, flag: true) {
                    throw ExperimentsError.badSetting(field: entry.flag, reason: problem)
                }
            }
            try RunSettings.checkDistinct(entry.values, of: entry.setting) { _ in entry.flag }
        }
    }

    /// A number written with a decimal comma (`0,5`) splits into two whole numbers, either of
    /// which a setting may refuse ("'0' is not accepted"): when the setting takes fractions and
    /// would take the number with a point (0.5), the refusal names what was typed and says that a
    /// comma separates values. `refused`: the index of the value refused (only the two pairs
    /// holding it are looked at: `1,2,0` is no decimal comma). `onlyLeadingZeros`: only a second
    /// half written with a leading zero (`0,0001`, `1,05`), which no list of numbers has, so that
    /// both halves being accepted does not hide it. Nil for anything else (`--batch-size 16,0` is a list).
    static func decimalComma(_ values: [SettingValue], of setting: Setting, flag: String, refused: Int? = nil,
                             onlyLeadingZeros: Bool = false,
                             comma: String = "a comma separates the values of a sweep") -> ExperimentsError? {
        for pair in decimalCommaPairs(values, of: setting) {
            if let refused, pair.index != refused && pair.index + 1 != refused { continue }
            if onlyLeadingZeros && !pair.hasLeadingZero { continue }
            var scratch = RunSettings()
            guard (try? scratch.apply(setting, .string(pair.number), field: flag)) != nil else { continue }
            return .badSetting(field: flag, reason: DecimalComma.reason(typed: pair.typed, number: pair.number, comma: comma))
        }
        return nil
    }

    /// The pairs a decimal comma may have split (`DecimalComma.pairs`) of a setting that takes fractions.
    static func decimalCommaPairs(_ values: [SettingValue], of setting: Setting) -> [DecimalComma.Pair] {
        setting.isNumeric && !setting.isInteger ? DecimalComma.pairs(values.map(\.asString)) : []
    }

    /// Each setting's value as given (`runner train` takes one per flag), for messages that quote it.
    public var givenValues: [Setting: SettingValue] {
        Dictionary(entries.compactMap { entry in entry.values.first.map { (entry.setting, $0) } }, uniquingKeysWith: { $1 })
    }

    /// The settings of `runner train`: exactly one value per flag.
    public func singleRunSettings() throws -> RunSettings {
        var settings = RunSettings()
        for entry in entries {
            guard entry.values.count == 1 else {
                // `--learning-rate 1,5` (both halves valid): the comma may be a decimal comma.
                let comma = (entry.values.count == 2 ? Self.decimalCommaPairs(entry.values, of: entry.setting).first : nil).map { "; if '\($0.typed)' is one number, write it with a point: \($0.number)" }
                throw ExperimentsError.badSetting(field: entry.flag, reason: "\(entry.values.count) values given; `runner train` takes one "
                    + "(use `runner sweep` for lists)" + (comma ?? ""))
            }
            try settings.apply(entry.setting, entry.values[0], field: entry.flag)
        }
        return settings
    }

    /// The spec of `runner sweep`: the file's (or an empty grid named `name`), with each flag replacing
    /// that setting's values. The data settings are checked on the result (a flag may replace the
    /// file's dataset), each named by where it came from: the flag, or `filePath`'s field.
    public func sweepSpec(file: SweepSpec?, name: String, filePath: String? = nil) throws -> SweepSpec {
        try validate()
        var spec = file ?? SweepSpec(name: name)
        var flags: [Setting: String] = [:]
        for entry in entries {
            if entry.setting == .name { spec.name = entry.values.first?.description ?? spec.name; continue }
            spec[entry.setting] = .values(entry.values)
            spec.sources.fields[entry.setting] = nil  // named by its flag
            flags[entry.setting] = entry.flag
        }
        try spec.validate(file: filePath, checkingData: false)
        try spec.validateData(specFile: filePath) { setting, field, reason in
            .badSetting(field: flags[setting] ?? (filePath.map { "\($0): " } ?? "") + field, reason: reason)
        }
        return spec
    }
}
