// Notes on settings that are accepted but may not do what they seem to: `runner train` and
// `runner sweep` print them (`note: ...` on stderr) before training. Refusing them would refuse
// legitimate specs (a sweep over weight_decay that includes 0).
import Foundation
import NeuralNet

public enum PlanNotes {
    /// The notes for one run (`runner train`), worded with its flags.
    public static func notes(run configuration: RunConfiguration) -> [String] {
        guard isPlainAdam(configuration.training) else { return [] }
        return ["--optimizer adamw with weight decay 0 (the default) trains as plain adam: adamw differs only by its "
                + "decoupled weight decay; give --weight-decay above 0 (e.g. 0.01), or use --optimizer adam"]
    }

    /// The notes for a sweep (`runner sweep`), worded with its spec's settings.
    public static func notes(plan: SweepPlan) -> [String] {
        let spec = plan.spec
        var notes: [String] = []
        // A TPE sweep's trials are sampled later: what they may be is read from the spec.
        let mayBePlainAdam = spec.method == .tpe
            ? spec.mayHave(.optimizer) { $0.optimizer == .adamw } && spec.mayHave(.weightDecay) { $0.weightDecay == 0 }
            : plan.configurations.contains { isPlainAdam($0.training) }
        if mayBePlainAdam {
            notes.append("runs with optimizer adamw and weight_decay 0 (the default) train as plain adam: adamw differs only "
                         + "by its decoupled weight decay; give weight_decay above 0 (e.g. 0.01) to use it")
        }
        if let note = searchMetricNote(plan) { notes.append(note) }
        return notes
    }

    /// adamw without weight decay: bit for bit adam (the decay is skipped, as adam's L2 term is).
    static func isPlainAdam(_ training: TrainingConfiguration) -> Bool {
        training.optimizer == .adamw && training.weightDecay == 0
    }

    /// TPE and ASHA rank runs on the sweep's metric. Left at its default (val_loss, which a spec that
    /// names it explicitly is refused for here) with no run holding out validation rows, every run's
    /// val_loss is NULL: TPE sees every finished trial as equally bad (+inf) and so learns nothing
    /// from them, and ASHA has nothing to compare, so it prunes no run. The summary and `report`
    /// rank on train_loss then (`rankingMetric`), the search does not.
    static func searchMetricNote(_ plan: SweepPlan) -> String? {
        let spec = plan.spec
        let isASHA = spec.earlyTerminate?.kind == .asha, isTPE = spec.method == .tpe
        guard isTPE || isASHA, !spec.sources.metricGiven, spec.metric.name == .validationLoss else { return nil }
        let validates = isTPE ? spec.mayHave(.validation) { $0.validationFraction > 0 }
            : plan.configurations.contains { $0.data.validationFraction > 0 }
        guard !validates else { return nil }
        let effects = (isTPE ? ["TPE learns nothing from the finished trials (each counts as +inf, having no val_loss)"] : [])
            + (isASHA ? ["ASHA prunes no run"] : [])
        return "\(isTPE && isASHA ? "TPE and ASHA rank" : isTPE ? "TPE ranks" : "ASHA ranks") runs on the sweep's metric, val_loss (the default), "
            + "which no run has with validation 0: \(effects.joined(separator: " and ")) (only the summary and `report` fall back "
            + "to train_loss); to search on the training loss, add metric: {name: train_loss} to the spec, or give validation above 0"
    }
}

extension SweepSpec {
    /// Whether some run of the sweep may have a value of `setting` that `matches` (as a run's
    /// settings): one of its values, its default when the spec leaves it out, or a draw of its
    /// distribution. `matches` is a point (`== 0`) or a half-line (`> 0`): a range of whole numbers
    /// or one with min = max may draw an end; a continuous draw is never exactly a given number, and
    /// lies on a half-line's side when its midpoint does.
    func mayHave(_ setting: Setting, _ matches: (RunSettings) -> Bool) -> Bool {
        func applied(_ value: SettingValue) -> Bool {
            var settings = RunSettings()
            return (try? settings.apply(setting, value, field: setting.rawValue)).map { matches(settings) } ?? false
        }
        switch self[setting] {
        case nil:
            return matches(RunSettings())
        case let .values(values)?:
            return values.contains(where: applied)
        case let .distribution(kind, minimum, maximum)?:
            if kind == .intUniform || minimum == maximum {
                return [minimum, maximum].contains { applied($0.settingValue(for: setting)) }
            }
            return applied(.double((minimum.value + maximum.value) / 2))
        }
    }
}
