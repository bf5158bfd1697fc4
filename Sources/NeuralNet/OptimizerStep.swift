// One optimizer step for one parameter, in Double, with the terms of its formula: what
// `report explain` shows. The engine's flat loops (TrainingEngine.applyUpdate) compute the same
// formulas in the run's precision; docs/optimizers.md writes them out with references.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The next step of the configured optimizer for one parameter: each intermediate of the formula
/// (named as in docs/optimizers.md) and the resulting change of the parameter.
public struct OptimizerStep: Equatable, Sendable {
    /// The rule and its reference, e.g. "adam (Kingma & Ba 2015)".
    public var rule: String
    /// The formula's terms in order of computation: (name, formula, value).
    public var terms: [Term]
    /// new parameter - old parameter.
    public var change: Double

    public struct Term: Equatable, Sendable {
        public var name: String
        public var formula: String
        public var value: Double
    }

    /// The step taken from `state` (the buffers' values for this parameter after `step` steps; a
    /// missing buffer counts as 0) with gradient `gradient` (before weight decay). `isWeight`: weight
    /// decay applies to weights, not biases.
    public static func next(configuration: TrainingConfiguration, parameter: Double, gradient: Double, isWeight: Bool,
                            state: [OptimizerBuffer: Double], step: Int) -> OptimizerStep {
        let rate = configuration.learningRate, decay = isWeight ? configuration.weightDecay : 0
        var terms: [Term] = []
        func term(_ name: String, _ formula: String, _ value: Double) -> Double {
            terms.append(Term(name: name, formula: formula, value: value))
            return value
        }
        var g = gradient
        if decay > 0 && configuration.optimizer != .adamw {
            g = term("g", "gradient + weight_decay × w", gradient + decay * parameter)
        }
        switch configuration.optimizer {
        case .sgd:
            let momentum = configuration.momentum
            guard momentum > 0 else {
                return OptimizerStep(rule: "sgd", terms: terms + [Term(name: "Δw", formula: "-learning_rate × g", value: -rate * g)], change: -rate * g)
            }
            let velocity = term("v", "momentum × v - learning_rate × g", momentum * (state[.velocity] ?? 0) - rate * g)
            let change = configuration.nesterov
                ? term("Δw", "momentum × v - learning_rate × g", momentum * velocity - rate * g)
                : term("Δw", "v", velocity)
            return OptimizerStep(rule: configuration.nesterov ? "sgd with Nesterov momentum (Keras)" : "sgd with momentum (Keras)",
                                 terms: terms, change: change)
        case .adam, .adamw:
            let t = Double(step + 1)
            var shrunk = parameter
            if configuration.optimizer == .adamw && decay > 0 {
                shrunk = term("w'", "w × (1 - learning_rate × weight_decay)", parameter * (1 - rate * decay))
            }
            let beta1 = configuration.beta1, beta2 = configuration.beta2
            let m = term("m", "beta1 × m + (1 - beta1) × g", beta1 * (state[.adamFirstMoment] ?? 0) + (1 - beta1) * g)
            let v = term("v", "beta2 × v + (1 - beta2) × g²", beta2 * (state[.adamSecondMoment] ?? 0) + (1 - beta2) * g * g)
            let mHat = term("m̂", "m / (1 - beta1^\(step + 1))", m / (1 - pow(beta1, t)))
            let vHat = term("v̂", "v / (1 - beta2^\(step + 1))", v / (1 - pow(beta2, t)))
            let delta = term("Δw", "-learning_rate × m̂ / (√v̂ + epsilon)", -rate * mHat / (vHat.squareRoot() + configuration.epsilon))
            let rule = configuration.optimizer == .adam ? "adam (Kingma & Ba 2015)" : "adamw (Loshchilov & Hutter 2019)"
            return OptimizerStep(rule: rule, terms: terms, change: shrunk + delta - parameter)
        case .rmsprop:
            let rho = configuration.rho
            let square = term("s", "rho × s + (1 - rho) × g²", rho * (state[.squareAverage] ?? 0) + (1 - rho) * g * g)
            let scaled = term("g / (√s + epsilon)", "", g / (square.squareRoot() + configuration.epsilon))
            if configuration.momentum > 0 {
                let buffer = term("b", "momentum × b + g / (√s + epsilon)", configuration.momentum * (state[.velocity] ?? 0) + scaled)
                return OptimizerStep(rule: "rmsprop with momentum (Hinton; PyTorch)", terms: terms,
                                     change: term("Δw", "-learning_rate × b", -rate * buffer))
            }
            return OptimizerStep(rule: "rmsprop (Hinton; PyTorch)", terms: terms,
                                 change: term("Δw", "-learning_rate × g / (√s + epsilon)", -rate * scaled))
        }
    }
}
