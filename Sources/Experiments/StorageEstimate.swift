// How much a sweep will add to the database, printed by runner before it trains: per run,
// parameters x bytes per value x tensor kinds x logged epochs, in SQLite's page layout, plus the
// epoch and run rows.
import Foundation
import NeuralNet
import Store

public struct StorageEstimate: Equatable, Sendable {
    /// Estimated bytes the runs add to the database file (a float: a sweep of large networks
    /// trained for many epochs can exceed an Int64, and the estimate is printed, not counted).
    public var bytes: Double
    public var runs: Int
    /// Logged epochs (those that store tensors) over all runs.
    public var loggedEpochs: Int

    /// Above this, runner warns and suggests `--log-tensors N`.
    public static let warningBytes = 1e9

    /// The estimate for runs of these configurations, trained to their last epoch (early stopping
    /// and pruning can only make it smaller). Epoch 0 stores the weights and biases (and the
    /// optimizer's state); every later logged epoch adds the gradients too.
    public init(configurations: [RunConfiguration]) {
        self.init(RunBytes.of(configurations))
    }

    /// One run's bytes, found once (its configuration's JSON is encoded here): what an estimate
    /// under another `--log-tensors` needs is then arithmetic, not another pass over the runs.
    struct RunBytes {
        var epochs: Int
        var policy: TensorLogging
        /// Epoch 0's tensors; each later logged epoch's; the run's and its epochs' rows.
        var firstEpoch: Double, laterEpoch: Double, rows: Double

        static func of(_ configurations: [RunConfiguration]) -> [RunBytes] {
            configurations.map { configuration in
                let training = configuration.training
                let scalar = training.precision == .float32 ? 4 : 8
                // The rows an epoch writes, in order: weights and biases ([inputs x outputs], [1 x outputs])
                // by layer, then the gradients, then the velocities (as the worker writes them).
                var parameters: [Int] = []
                for (inputs, outputs) in zip(training.layerSizes, training.layerSizes.dropFirst()) {
                    parameters.append(inputs * outputs * scalar)
                    if training.usesBias { parameters.append(outputs * scalar) }
                }
                // The optimizer's state, one copy of the parameters per buffer (sgd's velocity, adam's
                // m and v, rmsprop's average and momentum), and adam's step count (one float64).
                var state = Array(repeating: parameters, count: training.optimizerBuffers.count).flatMap { $0 }
                if training.optimizerCountsSteps { state.append(8) }
                // One epoch's bytes fit an Int (each layer has at most 2^24 x 2^24 values); times the
                // epochs and summed over the runs they may not.
                return RunBytes(
                    epochs: training.epochs, policy: configuration.tensorLogging,
                    firstEpoch: Double(SlopeStore.estimatedEpochTensorBytes(dataBytes: parameters + state)),
                    laterEpoch: Double(SlopeStore.estimatedEpochTensorBytes(dataBytes: parameters + parameters + state)),
                    rows: Double(training.epochs + 1) * Double(SlopeStore.estimatedEpochRowBytes)
                        + Double(SlopeStore.estimatedRunRowBytes + configuration.json().utf8.count))
            }
        }
    }

    /// The estimate of these runs, each logging as its configuration says or, with `logEvery`, as
    /// `--log-tensors logEvery` would make it (`thinned`).
    init(_ runs: [RunBytes], logEvery: Int? = nil) {
        var bytes = 0.0, loggedEpochs = 0
        for run in runs {
            let policy = logEvery.map { Self.thinned(run.policy, logEvery: $0) } ?? run.policy
            let logged = Self.loggedEpochs(epochs: run.epochs, policy: policy)
            loggedEpochs += logged
            bytes += run.firstEpoch + run.laterEpoch * Double(logged - 1) + run.rows
        }
        self.bytes = bytes
        self.runs = runs.count
        self.loggedEpochs = loggedEpochs
    }

    /// Epochs 0...epochs that store tensors under the policy: those it logs, and the last.
    static func loggedEpochs(epochs: Int, policy: TensorLogging) -> Int {
        switch policy {
        case .every: return epochs + 1
        case .final: return epochs == 0 ? 1 : 2
        case let .everyN(count): return epochs / count + 1 + (epochs % count == 0 ? 0 : 1)
        }
    }

    /// The `--log-tensors N` (among 2, 5, 10, 20, 50, 100 ...) that brings the estimate under
    /// `warningBytes`, with that estimate, or nil when none does (then `final` is the advice).
    static func suggestedLogEvery(_ runs: [RunBytes]) -> (count: Int, estimate: StorageEstimate)? {
        for count in [2, 5, 10, 20, 50, 100, 200, 500, 1000] {
            let estimate = StorageEstimate(runs, logEvery: count)
            if estimate.bytes <= Self.warningBytes { return (count, estimate) }
        }
        return nil
    }

    /// The logging `--log-tensors count` makes of `policy`: every count epochs where it logged more often.
    static func thinned(_ policy: TensorLogging, logEvery count: Int) -> TensorLogging {
        switch policy {
        case .every: return .everyN(count)
        case let .everyN(current) where current < count: return .everyN(count)
        default: return policy
        }
    }

    /// The lines runner prints before training for these configurations (`message`).
    /// - Complexity: one pass over the configurations (each one's JSON encoded once), however many
    ///   `--log-tensors N` are tried for the advice.
    public static func message(configurations: [RunConfiguration], databasePath: String) -> (note: String, warning: String?) {
        let runs = RunBytes.of(configurations)
        return StorageEstimate(runs).message(runs, allFinal: configurations.allSatisfy { $0.tensorLogging == .final },
                                             databasePath: databasePath)
    }

    /// The lines runner prints before training: the estimate, and above 1 GB the warning.
    func message(_ perRun: [RunBytes], allFinal: Bool, databasePath: String) -> (note: String, warning: String?) {
        let note = "estimated database growth: \(SlopeStore.describeBytes(estimate: bytes)) (\(runs) run\(runs == 1 ? "" : "s"), \(loggedEpochs) logged epoch\(loggedEpochs == 1 ? "" : "s") with tensors)"
        guard bytes > Self.warningBytes else { return (note, nil) }
        let advice: String
        if allFinal {
            // Nothing to thin: epoch 0 and the last are all that is stored, and compact keeps them.
            return (note, "warning: this will add about \(SlopeStore.describeBytes(estimate: bytes)) to \(databasePath), although only the first "
                + "and last epochs' tensors are stored (--log-tensors final): the network itself is that large; a smaller --hidden stores less")
        } else if let (count, thinned) = Self.suggestedLogEvery(perRun) {
            advice = "store the tensors of one epoch in \(count) with --log-tensors \(count) (about \(SlopeStore.describeBytes(estimate: thinned.bytes)))"
        } else {
            advice = "store only the first and last epochs' tensors with --log-tensors final"
        }
        return (note, "warning: this will add about \(SlopeStore.describeBytes(estimate: bytes)) to \(databasePath); \(advice), or shrink a finished sweep later with `runner compact`")
    }

}
