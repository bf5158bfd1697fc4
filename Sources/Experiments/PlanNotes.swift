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
        // A search over fewer distinct runs than it makes repeats some of them bit for bit (hostile16 F1).
        if spec.method == .random || spec.method == .tpe, let count = spec.count, let points = spec.distinctPoints, points > 1, points < count {
            notes.append("the search space holds \(points) distinct runs (settings and seed), fewer than count: \(count): some runs "
                         + "will repeat others bit for bit; use method: grid for all \(points), or widen the space (seed: {values: [...]} "
                         + "makes repeats of a setting differ)")
        }
        return notes
    }

    /// adamw without weight decay: bit for bit adam (the decay is skipped, as adam's L2 term is).
    static func isPlainAdam(_ training: TrainingConfiguration) -> Bool {
        training.optimizer == .adamw && training.weightDecay == 0
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
