// Diagnostics that see a network not learning, from a run's stored epochs and layer statistics:
// vanishing updates, exploding weights, accuracy at chance level. One place for the rules and
// their thresholds; `report layers`, `report show` and runner's summary all use it.
import Foundation
import Store

/// One problem seen in a run, with what was seen and what to try.
public struct TrainingDiagnosis: Equatable, Sendable {
    public enum Kind: String, Sendable {
        case vanishingUpdates = "vanishing-updates"
        case explodingWeights = "exploding-weights"
        case chanceAccuracy = "chance-accuracy"
        case diverged
    }

    public var kind: Kind
    /// Where it was seen: layer (1 = the first weight matrix) -> epochs, in order; for a finding
    /// about the whole run (chance-level accuracy), layer 0.
    public var epochsByLayer: [Int: [Int]]
    /// What was seen, with numbers ("update_ratio down to 4.9e-07").
    public var detail: String
    /// What to try.
    public var advice: String

    /// The layers it was seen in (none for a finding about the whole run).
    public var layers: [Int] { epochsByLayer.keys.filter { $0 > 0 }.sorted() }

    /// One line: "vanishing-updates in layers 1-4 (epochs 1-30): update_ratio ...; try ...".
    public var line: String {
        let epochs = Array(Set(epochsByLayer.values.joined())).sorted()
        let layers = self.layers
        var place = layers.isEmpty ? "" : " in " + Reporter.epochRanges(layers).replacingOccurrences(of: "epoch", with: "layer")
        if !epochs.isEmpty { place += layers.isEmpty ? " at " + Reporter.epochRanges(epochs) : " (\(Reporter.epochRanges(epochs)))" }
        return "\(kind.rawValue)\(place): \(detail); try \(advice)"
    }

    /// `{"kind": ..., "layers": {"1": [epochs]}, "detail": ..., "advice": ...}` (`report show --format json`;
    /// layer "0" is the whole run).
    var json: String {
        let layers = epochsByLayer.keys.sorted().map { "\"\($0)\": [" + epochsByLayer[$0]!.map(String.init).joined(separator: ", ") + "]" }
        return "{\"kind\": \(jsonStringLiteral(kind.rawValue)), \"epochs_by_layer\": {\(layers.joined(separator: ", "))}, "
            + "\"detail\": \(jsonStringLiteral(detail)), \"advice\": \(jsonStringLiteral(advice))}"
    }
}

public enum Diagnostics {
    // MARK: thresholds (documented in docs/cli-report.md, "Diagnostics")

    /// An update-to-weight ratio below this is "far below" the healthy ~1e-3 (100 times smaller).
    public static let vanishingUpdateRatio = 1e-5
    /// ... for at least this many logged epochs in a row (from epoch 1), in the same layer.
    public static let vanishingEpochs = 3
    /// Epochs whose training loss is at most this fraction of epoch 0's are left out of the
    /// vanishing check: a network that has learned its training data takes tiny steps rightly.
    public static let learnedLossFraction = 0.01
    /// No vanishing-updates finding for a classifier whose last accuracy (validation, else
    /// training) is above chance + this fraction of the way from chance to 1 (0.55 for 10 classes,
    /// 0.75 for 2): it has learned its task. `update_ratio` uses the epoch's *mean* gradient, which
    /// is tiny once a converging run's mini-batch gradients cancel while each batch's step is not
    /// (a digits run at 96.7 % with val_loss still falling was called "not learning well"). The
    /// accuracy decides, not whether the loss still falls: a network stuck at chance still lowers
    /// its loss for a while as the output biases learn the class frequencies (the six-layer sigmoid
    /// case falls 5 % over its flagged epochs). Regression runs, with no accuracy, are judged as before.
    public static let learnedAccuracyMargin = 0.5
    /// A layer's weight L2 growing by at least this factor from one logged epoch to the next ...
    public static let explodingGrowth = 10.0
    /// ... while the training loss did not fall to this fraction of what it was or less: a
    /// network fitting targets on a large scale grows its weights rightly, and with
    /// `--log-tensors N` (or after `runner compact`) healthy growth adds up between logged epochs.
    public static let learningLossFraction = 0.5
    /// Final accuracy at most chance + this fraction of the way from chance to 1
    /// (chance = 1/classes; 0.19 for 10 classes, 0.55 for 2).
    public static let chanceMargin = 0.1

    /// The number of classes a run's accuracy is over, from its layer sizes ("64-32-10"): nil when
    /// the text has no output width. (Regression runs record no accuracy, so it is never used.)
    public static func classCount(layers: String) -> Int? {
        guard let outputs = layers.split(separator: "-").last.flatMap({ Int($0) }), outputs >= 1 else { return nil }
        // A single output (sigmoid + binary cross-entropy, or labels 0/1) scores 2 classes; several
        // outputs with cross-entropy (or mse on class labels) are one class each.
        return outputs == 1 ? 2 : outputs
    }

    /// The findings for one run.
    /// - Parameters:
    ///   - layers: the run's `layer_stats` rows (any order).
    ///   - epochs: the run's epoch rows (any order).
    ///   - classCount: classes the accuracy is over (see `classCount(layers:)`); only used when
    ///     an accuracy was recorded.
    ///   - hiddenActivation: the run's hidden activation, for the advice.
    ///   - optimizer: the run's optimizer. `update_ratio` is learning_rate x gradient_l2 / weight_l2,
    ///     the step of sgd; adam, adamw and rmsprop divide the gradient by its running size, so a
    ///     small gradient does not mean a small step: the vanishing check is for sgd only.
    public static func diagnose(layers: [LayerStatisticsRow], epochs: [SlopeStore.EpochRecord], classCount: Int?,
                                hiddenActivation: String? = nil, optimizer: String? = nil) -> [TrainingDiagnosis] {
        var findings: [TrainingDiagnosis] = []
        let epochs = epochs.sorted { $0.epoch < $1.epoch }
        let initialLoss = epochs.first { $0.epoch == 0 }?.trainLoss
        let trainLoss = Dictionary(epochs.map { ($0.epoch, $0.trainLoss) }, uniquingKeysWith: { first, _ in first })
        let byLayer = Dictionary(grouping: layers, by: \.layer)
        var vanishingByLayer: [Int: [Int]] = [:], smallestRatio = Double.infinity
        var explodingByLayer: [Int: [Int]] = [:], largestGrowth: (from: Double, to: Double, epochs: ClosedRange<Int>)?
        let sortedRows = byLayer.mapValues { $0.sorted { $0.epoch < $1.epoch } }
        // Exploding weights: a large growth between consecutive logged epochs.
        for layer in sortedRows.keys.sorted() {
            let rows = sortedRows[layer]!
            for (previous, current) in zip(rows, rows.dropFirst()) {
                guard let before = previous.weightL2, let after = current.weightL2, before > 0,
                      after >= explodingGrowth * before else { continue }
                if let lossBefore = trainLoss[previous.epoch] ?? nil, let lossAfter = trainLoss[current.epoch] ?? nil,
                   lossAfter <= learningLossFraction * lossBefore { continue }
                explodingByLayer[layer, default: []].append(current.epoch)
                if largestGrowth.map({ after / before > $0.to / $0.from }) ?? true { largestGrowth = (before, after, previous.epoch...current.epoch) }
            }
        }
        // Once weights have exploded, tiny updates are its consequence (saturated or dead units),
        // not a learning rate too small: the vanishing check stops there.
        let firstExplosion = explodingByLayer.values.compactMap(\.first).min() ?? Int.max
        let ratioIsTheStep = optimizer == nil || optimizer == "sgd"
        let lastAccuracy = epochs.last { ($0.validationAccuracy ?? $0.trainAccuracy)?.isFinite == true }.flatMap { $0.validationAccuracy ?? $0.trainAccuracy }
        let learnedTask = classCount.flatMap { classes in
            lastAccuracy.map { accuracy in
                let chance = 1 / Double(max(classes, 2))
                return accuracy > chance + learnedAccuracyMargin * (1 - chance)
            }
        } ?? false
        for layer in sortedRows.keys.sorted() where ratioIsTheStep && !learnedTask {
            // Vanishing updates: runs of consecutive logged epochs with a tiny ratio.
            var run: [(epoch: Int, ratio: Double)] = [], vanishing: [(epoch: Int, ratio: Double)] = []
            func closeRun() {
                if run.count >= vanishingEpochs { vanishing += run }
                run = []
            }
            for row in sortedRows[layer]! where row.epoch >= 1 && row.epoch < firstExplosion {
                let loss = trainLoss[row.epoch] ?? nil
                let learned = initialLoss.map { initial in loss.map { initial > 0 && $0 <= learnedLossFraction * initial } ?? false } ?? false
                if let ratio = row.updateToWeightRatio, ratio < vanishingUpdateRatio, !learned {
                    run.append((row.epoch, ratio))
                } else {
                    closeRun()
                }
            }
            closeRun()
            if !vanishing.isEmpty {
                vanishingByLayer[layer] = vanishing.map(\.epoch)
                smallestRatio = min(smallestRatio, vanishing.map(\.ratio).min()!)
            }
        }
        if !vanishingByLayer.isEmpty {
            let deep = (byLayer.keys.max() ?? 1) > 2
            var advice = "a larger --learning-rate"
            if let activation = hiddenActivation, activation == "sigmoid" || activation == "tanh" {
                advice = "relu hidden units (--activation relu) instead of \(activation)" + (deep ? ", fewer layers" : "") + ", or " + advice
            } else if deep {
                advice = "fewer layers, --init he-normal, or " + advice
            }
            findings.append(TrainingDiagnosis(
                kind: .vanishingUpdates, epochsByLayer: vanishingByLayer,
                detail: "update_ratio down to \(formatNumber(smallestRatio)) (flagged below \(vanishingUpdateRatio) for \(vanishingEpochs)+ logged epochs in a row; ~1e-3 is healthy): the weights barely move",
                advice: advice))
        }
        if let largestGrowth {
            findings.append(TrainingDiagnosis(
                kind: .explodingWeights, epochsByLayer: explodingByLayer,
                detail: "weight_l2 grew from \(formatNumber(largestGrowth.from)) to \(formatNumber(largestGrowth.to)) "
                    + (largestGrowth.epochs.count == 2 ? "in epoch \(largestGrowth.epochs.upperBound)" : "from epoch \(largestGrowth.epochs.lowerBound) to \(largestGrowth.epochs.upperBound)")
                    + " (flagged from x\(formatNumber(explodingGrowth)) between logged epochs)",
                advice: "a smaller --learning-rate (10x smaller), less --momentum, or --standardize for inputs on large scales"))
        }
        // Accuracy at chance level: the last epoch's (validation if recorded, else training).
        if let classCount, classCount >= 2, let last = epochs.last, last.epoch >= 1,
           let accuracy = last.validationAccuracy ?? last.trainAccuracy, accuracy.isFinite {
            let chance = 1 / Double(classCount)
            let limit = chance + chanceMargin * (1 - chance)
            if accuracy <= limit {
                let which = last.validationAccuracy != nil ? "val_accuracy" : "train_accuracy"
                let cause = findings.first { $0.kind == .explodingWeights } ?? findings.first { $0.kind == .vanishingUpdates }
                findings.append(TrainingDiagnosis(
                    kind: .chanceAccuracy, epochsByLayer: [0: [last.epoch]],
                    detail: "\(which) \(formatNumber(accuracy)) is at chance level (1/\(classCount) = \(formatNumber(chance)); flagged up to \(formatNumber(limit)))",
                    advice: cause.map { "the fixes for the \($0.kind == .explodingWeights ? "exploding weights" : "vanishing updates") above" }
                        ?? "another --learning-rate (report grid over a sweep of them), more epochs, or a wider or shallower network"))
            }
        }
        return findings
    }

    /// What a diverged run's line says, in runner's end-of-sweep summary and (as a finding) in
    /// `report show` and `report layers`: one wording.
    public static let divergedCause = "the loss became NaN or infinite"

    /// What to try for these diverged runs: a smaller learning rate; a target to scale only when
    /// one trained as regression (mse); `--standardize` when a CSV's features were not.
    public static func divergedAdvice(_ runs: [SlopeStore.RunRecord]) -> String {
        var advice = "a smaller --learning-rate"
        if runs.contains(where: { $0.text(.loss) == "mse" }) { advice += "; for regression, scale a target in the thousands or more first" }
        // Built-in data come scaled; a CSV file may not.
        let unscaledCSV = runs.contains { run in
            run.text(.dataset).map(namesFile) == true && run.number(.standardize) == 0
        }
        if unscaledCSV { advice += "; --standardize for a CSV's features on large scales" }
        return advice
    }

    /// Whether a stored `dataset` names a file rather than a built-in dataset: a built-in is stored
    /// as its lower-case name and options (`spirals:rows=100`), with no '.' or '/' before the first
    /// ':'; a file's name has one (`data.txt`, `runs/x.csv`). A file named like a built-in without
    /// an extension ("digits") is taken for the built-in here: only the advice depends on it.
    static func namesFile(_ dataset: String) -> Bool {
        let name = dataset.prefix { $0 != ":" }
        return name.contains(".") || name.contains("/")
    }

    /// A diverged run's finding for `report show` and `report layers` (nil for any other status): its
    /// stored epochs can look healthy, as they end before the loss did. Runner's summary says the
    /// same in its own `diverged:` line, for all such runs at once, so `diagnose` leaves it out.
    public static func divergence(_ run: SlopeStore.RunRecord) -> TrainingDiagnosis? {
        run.status == .diverged ? TrainingDiagnosis(kind: .diverged, epochsByLayer: [:], detail: divergedCause, advice: divergedAdvice([run])) : nil
    }

    /// The run's optimizer ("sgd", "adam" ...; nil for a database without the column).
    public static func optimizer(of run: SlopeStore.RunRecord) -> String? {
        run.text(.optimizer)
    }

    /// The findings for a stored run, read through `queries`.
    public static func diagnose(runID: Int64, layers: String, hiddenActivation: String?, optimizer: String? = nil,
                                queries: RunQueries) throws -> [TrainingDiagnosis] {
        let statistics = try queries.layerStatistics(runID: runID)
        let epochs = try queries.epochRows(runIDs: [runID]).map(\.record)
        return diagnose(layers: statistics, epochs: epochs, classCount: classCount(layers: layers),
                        hiddenActivation: hiddenActivation, optimizer: optimizer)
    }
}
