// Turns a sweep spec into the settings of each run: every combination for a grid,
// seeded draws within bounds for a random search.
import Foundation
import NeuralNet
import Store

/// One run of a sweep: the values chosen for each parameter (in spec order) and the resulting settings.
public struct SweepPoint: Hashable, Sendable {
    public var values: [(setting: Setting, value: SettingValue)]
    public var settings: RunSettings

    public static func == (lhs: SweepPoint, rhs: SweepPoint) -> Bool {
        lhs.settings == rhs.settings && lhs.values.map(\.setting) == rhs.values.map(\.setting) && lhs.values.map(\.value) == rhs.values.map(\.value)
    }
    public func hash(into hasher: inout Hasher) { hasher.combine(settings) }
}

extension SweepSpec {
    /// The number of runs the spec makes (a grid too large for an Int counts as Int.max).
    public var runCount: Int {
        switch method {
        case .random, .tpe: return count ?? 0
        case .grid: return distinctPoints ?? Int.max  // a grid's parameters are lists of values
        }
    }

    /// How many distinct runs the parameters can make: the product of each one's count of values
    /// (a list's length, a whole-number range's width plus one, one for a distribution whose min
    /// equals its max); nil when a continuous distribution makes them countless (or past 2^62).
    var distinctPoints: Int? {
        var product = 1
        for parameter in parameters {
            let count: Int
            switch parameter.choice {
            case let .values(values): count = values.count
            case let .distribution(kind, minimum, maximum):
                if minimum.value == maximum.value { count = 1; break }
                guard kind == .intUniform, let low = minimum.wholeNumber, let high = maximum.wholeNumber,
                      case let (width, overflow) = high.subtractingReportingOverflow(low), !overflow, width < Int.max else { return nil }
                count = width + 1
            }
            let (next, overflow) = product.multipliedReportingOverflow(by: count)
            guard !overflow, next < 1 << 62 else { return nil }
            product = next
        }
        return product
    }

    /// The settings of every run, on top of `base` (the defaults, or flags given next to a spec file).
    /// Grid order: the first parameter varies slowest. Random: `count` draws from `randomSeed`.
    /// TPE: only the first trial (the others are sampled as workers ask for them, `TrialMaker`).
    public func expand(base: RunSettings = RunSettings()) throws -> [SweepPoint] {
        try validate(checkingData: false)  // the runs load their data anyway
        switch method {
        case .grid:
            var points: [[(Setting, SettingValue)]] = [[]]
            for parameter in parameters {
                guard case let .values(values) = parameter.choice else { continue }
                points = points.flatMap { point in values.map { point + [(parameter.setting, $0)] } }
            }
            return try points.map { try makePoint($0, base: base) }
        case .tpe:
            return [try makePoint(firstTrialValues(), base: base)]
        case .random:
            var generator = SplitMix64(seed: randomSeed)
            return try (0..<(count ?? 0)).map { _ in
                let values = parameters.map { parameter -> (Setting, SettingValue) in
                    (parameter.setting, draw(parameter, using: &generator))
                }
                return try makePoint(values, base: base)
            }
        }
    }

    private func draw(_ parameter: Parameter, using generator: inout SplitMix64) -> SettingValue {
        switch parameter.choice {
        case let .values(values):
            return values.count == 1 ? values[0] : values[Int(generator.next() % UInt64(values.count))]
        case let .distribution(kind, low, high):
            let unit = generator.nextUnit()
            let (minimum, maximum) = (low.value, high.value)
            switch kind {
            case .uniform:
                let value = minimum + unit * (maximum - minimum)
                return parameter.setting.isInteger ? .int(Bound.whole(value, from: low, to: high)) : .double(Swift.min(Swift.max(value, minimum), maximum))
            case .logUniform:
                let value = exp(log(minimum) + unit * (log(maximum) - log(minimum)))
                return parameter.setting.isInteger ? .int(Bound.whole(value, from: low, to: high)) : .double(Swift.min(Swift.max(value, minimum), maximum))
            case .intUniform:
                // In whole numbers throughout: the span of 0 ... 2^63 - 1 is exact in UInt64 (and
                // every whole number is drawn when it is all of them, 2^64).
                let lowest = low.wholeNumber ?? minimum.clampedToInt(.up), highest = high.wholeNumber ?? maximum.clampedToInt(.down)
                let span = (UInt64(bitPattern: Int64(highest)) &- UInt64(bitPattern: Int64(lowest))) &+ 1
                let offset = span == 0 ? generator.next() : generator.next() % span
                return .int(Int(Int64(bitPattern: UInt64(bitPattern: Int64(lowest)) &+ offset)))
            }
        }
    }

    /// What a TPE sweep may sample, checked before its trials exist: its first trial with one
    /// parameter moved to each of its values, or to each end of its distribution, named by the
    /// field that gives it (`parameters.hidden.values[1]`, `parameters.learning_rate.max`). A value
    /// that cannot make a run (a network too large, a learning rate infinite in float32) is refused
    /// at queue time, as random and grid sweeps refuse it, not found by the trial that draws it.
    /// `contexts` gives the same value with one other parameter moved to each of its options as
    /// well: a value refused only beside some of the others' (a learning rate of 1e39 with float32,
    /// fine with float64) is accepted when one of those makes a run, whatever the first trial drew
    /// (a worker draws such a combination again: `TrialMaker.makeTrial`).
    func tpeProbes(base: RunSettings) throws -> [(field: String, point: SweepPoint, contexts: () throws -> [SweepPoint])] {
        let first = firstTrialValues()
        let options = parameters.map(tpeOptions)
        var probes: [(field: String, point: SweepPoint, contexts: () throws -> [SweepPoint])] = []
        for (index, parameterOptions) in options.enumerated() where parameterOptions.count > 1 {
            for (name, value) in parameterOptions {
                var values = first
                values[index].1 = value
                let probe = values
                probes.append((name, try makePoint(probe, base: base), { [self] in
                    try options.indices.filter { $0 != index }.flatMap { other in
                        try options[other].map { _, otherValue in
                            var moved = probe
                            moved[other].1 = otherValue
                            return try makePoint(moved, base: base)
                        }
                    }
                }))
            }
        }
        return probes
    }

    /// A parameter's options as TPE may draw them, each with the field that gives it: its values, or
    /// its distribution's two ends.
    private func tpeOptions(_ parameter: Parameter) -> [(field: String, value: SettingValue)] {
        let field = "parameters.\(parameter.setting.rawValue)"
        switch parameter.choice {
        case let .values(values):
            return values.enumerated().map { ("\(field).values[\($0.offset)]", $0.element) }
        case let .distribution(_, minimum, maximum):
            return [("\(field).min", minimum.settingValue(for: parameter.setting)),
                    ("\(field).max", maximum.settingValue(for: parameter.setting))]
        }
    }

    private func makePoint(_ values: [(Setting, SettingValue)], base: RunSettings) throws -> SweepPoint {
        var settings = base
        for (setting, value) in values {
            try settings.apply(setting, value, field: "parameters.\(setting.rawValue)")
        }
        return SweepPoint(values: values.map { (setting: $0.0, value: $0.1) }, settings: settings)
    }

    /// The parameters that take more than one value: the ones worth showing per run.
    public var variedSettings: [Setting] {
        parameters.compactMap { parameter in
            if case let .values(values) = parameter.choice, values.count <= 1 { return nil }
            return parameter.setting
        }
    }

    /// The `runs` columns of the varied settings (for `report grid --rows/--cols` suggestions),
    /// from the settings registry (`RunColumn`): `validation` is `validation_fraction`.
    public var variedColumns: [String] {
        variedSettings.compactMap { RunColumn.setting(named: $0.rawValue)?.rawValue }
    }
}
