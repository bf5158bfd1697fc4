// Sampled sweeps (`method: tpe`): the spec's parameters as TPE's search space, and the making of
// each trial when a worker asks for one, from every trial already in the database.
import Foundation
import NeuralNet
import Store

extension SweepSpec {
    /// The parameters TPE samples, in spec order, with their dimension: `values` lists of more than
    /// one value are categories; distributions are numbers (whole-number settings step by 1, and
    /// log_uniform is on a log scale).
    var searchSpace: [(parameter: Parameter, dimension: SearchDimension)] {
        parameters.compactMap { parameter in
            switch parameter.choice {
            case let .values(values):
                return values.count > 1 ? (parameter, .categorical(count: values.count)) : nil
            case let .distribution(kind, minimum, maximum):
                if let span = Self.offsetSpan(kind, minimum, maximum) {
                    return (parameter, .numeric(low: 0, high: Double(span), isLog: false, step: 1))
                }
                let isInteger = kind == .intUniform || parameter.setting.isInteger
                return (parameter, .numeric(low: minimum.value, high: maximum.value, isLog: kind == .logUniform, step: isInteger ? 1 : nil))
            }
        }
    }

    /// Whole numbers a Double holds exactly: up to 2^53.
    static let exactWholeLimit: UInt64 = 1 << 53

    /// The span (max - min) of an int_uniform range that TPE samples as the offset from min (0 ...
    /// span, whole numbers, so that a Double holds each exactly): a range whose ends are beyond 2^53
    /// in magnitude, or whose span is (the Double next to 2^63 steps by 1024). Nil for a range whose
    /// ends and span a Double holds exactly, which TPE samples as its values (as before). A span
    /// beyond 2^53 is refused by `validate` for tpe.
    static func offsetSpan(_ kind: Distribution, _ minimum: Bound, _ maximum: Bound) -> UInt64? {
        guard kind == .intUniform, let lowest = minimum.wholeNumber, let highest = maximum.wholeNumber else { return nil }
        let span = UInt64(bitPattern: Int64(highest)) &- UInt64(bitPattern: Int64(lowest))  // exact: highest >= lowest
        guard lowest.magnitude > exactWholeLimit || highest.magnitude > exactWholeLimit || span > exactWholeLimit else { return nil }
        return span
    }

    /// TPE with this spec's options.
    var tpeSampler: TPESampler {
        let options = tpe ?? TPEOptions()
        var sampler = TPESampler(space: searchSpace.map(\.dimension))
        sampler.startupTrials = options.startupTrials
        sampler.startup = options.startup
        sampler.designSeed = randomSeed
        sampler.candidateCount = options.candidateCount
        sampler.multivariate = options.multivariate
        let share = options.gamma
        sampler.gamma = { min(Int((share * Double($0)).rounded(.up)), 25) }
        return sampler
    }

    /// The seed of trial `index` (0, 1, ...): the same database state and seed give the same trial.
    func trialSeed(_ index: Int) -> UInt64 { NeuralNet.SplitMix64.mix(randomSeed, UInt64(index)) }

    /// Every parameter's value for a trial's internal values (one per sampled parameter).
    func trialValues(_ point: [Double]) -> [(Setting, SettingValue)] {
        var sampled = point.makeIterator()
        return parameters.map { parameter in
            switch parameter.choice {
            case let .values(values) where values.count == 1:
                return (parameter.setting, values[0])
            case let .values(values):
                let index = Int(sampled.next() ?? 0)
                return (parameter.setting, values[min(max(index, 0), values.count - 1)])
            case let .distribution(kind, low, high):
                let value = sampled.next() ?? 0
                if let span = Self.offsetSpan(kind, low, high), let lowest = low.wholeNumber {
                    // An offset from min, a whole number up to 2^53: added to min exactly.
                    let offset = value.isNaN ? 0 : UInt64(Swift.min(Swift.max(value.rounded(), 0), Double(Swift.min(span, Self.exactWholeLimit))))
                    return (parameter.setting, .int(Int(Int64(bitPattern: UInt64(bitPattern: Int64(lowest)) &+ Swift.min(offset, span)))))
                }
                let isInteger = kind == .intUniform || parameter.setting.isInteger
                // Whole numbers kept inside the exact bounds: near 2^63 - 1 the sampler's Double is 2^63.
                return (parameter.setting, isInteger ? .int(Bound.whole(value, from: low, to: high)) : .double(value))
            }
        }
    }

    /// The first trial's values (the one a worker makes in an empty sweep): what `SweepPlan` checks
    /// before recording the sweep.
    func firstTrialValues() -> [(Setting, SettingValue)] {
        trialValues(tpeSampler.sample(after: [], seed: trialSeed(0), index: 0))
    }
}

/// Makes the trials of one sampled sweep (for one worker process): data loaded once per dataset,
/// each trial's configuration checked as a queued run's, with its internal values in `config.trial`.
public final class TrialMaker: @unchecked Sendable {  // `loaded` under `lock`
    public let spec: SweepSpec
    private let sampler: TPESampler
    /// The sweep's runs as TPE saw them at the last sample (finished ones do not change).
    let history = TrialHistory()
    private let lock = NSLock()
    private var loaded: [String: LoadedData] = [:]

    public init(spec: SweepSpec) {
        self.spec = spec
        sampler = spec.tpeSampler
    }

    /// Loads the data of the first trial now, so that claims (write transactions) do not wait for it.
    public func preload() throws {
        let settings = try settings(for: spec.firstTrialValues())
        _ = try load(settings.dataset, settings.target, settings.task)
    }

    /// The sweep's metric as the Store's claim reads it.
    public var metric: SlopeStore.TrialMetric { SlopeStore.TrialMetric(rawValue: spec.metric.name.rawValue) ?? .val_loss }

    /// The next trial of a sweep with `runCount` runs, whose runs from id `fromRunID` on are `records`
    /// (in id order; the ones before are in `history`, from earlier samples): TPE's point, seeded by
    /// the trial's index, as a run to queue. Throws `.staleTrialHistory` when the two do not add up
    /// to `runCount` (runs this maker has not seen before `fromRunID`): claim again from run 0.
    ///
    /// A point whose values cannot make a run together (each value alone was checked at queue time:
    /// `SweepSpec.tpeProbes`; a combination, such as a float32 precision with a learning rate of
    /// 1e39 another parameter allows, may still not) is drawn again, uniformly, from a seed made of
    /// the trial's and the attempt's (the same on every worker and on resume), up to `redraws` times;
    /// then the sweep is refused (`corruptSweep`), not left to end every worker on the same trial.
    public func makeTrial(runCount: Int, records: [SlopeStore.TrialRecord], fromRunID: Int64, sweepID: Int64 = 0) throws -> SlopeStore.NewRun {
        let trials = try history.update(records, fromRunID: fromRunID, runCount: runCount, as: tpeTrial)
        let seed = spec.trialSeed(runCount)
        var point = sampler.sample(after: trials, seed: seed, index: runCount)
        var attempt = 0
        while true {
            do {
                // Not this worker's memory: the point is the same on every worker (the run is set aside
                // by one that cannot fit it, for one that can).
                var configuration = try RunConfiguration.make(try settings(for: spec.trialValues(point)), load: load, checkingMemory: false)
                configuration.trial = point
                return configuration.newRun()
            } catch let error as ExperimentsError {  // only a setting refused: a missing data file is this worker's condition
                guard case .badSetting = error else { throw error }
                attempt += 1
                guard attempt <= Self.redraws else {
                    throw ExperimentsError.corruptSweep(sweepID: sweepID, reason: "\(Self.redraws + 1) draws of its trial \(runCount + 1) "
                        + "made no run that can be trained (the last: \(error)): its parameters allow values that do not work together")
                }
                var generator = NeuralNet.SplitMix64(seed: NeuralNet.SplitMix64.mix(seed, UInt64(attempt)))
                point = sampler.randomPoint(using: &generator)
            }
        }
    }

    /// Draws of a trial after the first, when its values cannot make a run together.
    static let redraws = 100

    /// Claims the sweep's next queued run (but `excluded`: the runs this worker set aside) or a new
    /// trial (`SlopeStore.claimNextTrial`), reading only the runs that may have changed since this
    /// maker's last sample; nil when the sweep has all its trials.
    public func claimNextTrial(in store: SlopeStore, sweepID: Int64, worker: WorkerIdentity,
                               excluding excluded: Set<Int64> = []) throws -> SlopeStore.ClaimedRun? {
        // The store reports the closure's errors as its own: staleness is noted here.
        var isStale = false
        func claim(fromRunID: Int64) throws -> SlopeStore.ClaimedRun? {
            try store.claimNextTrial(sweepID: sweepID, trialCount: spec.count ?? 0, metric: metric, worker: worker,
                                     fromRunID: fromRunID, excluding: excluded) { runCount, records in
                do {
                    return try makeTrial(runCount: runCount, records: records, fromRunID: fromRunID, sweepID: sweepID)
                } catch ExperimentsError.staleTrialHistory {
                    isStale = true
                    throw ExperimentsError.staleTrialHistory
                }
            }
        }
        let fromRunID = history.firstUnfinishedID
        do {
            return try claim(fromRunID: fromRunID)
        } catch where isStale && fromRunID > 0 {
            return try claim(fromRunID: 0)
        }
    }

    /// How TPE sees a stored run (lower is better): completed with its final value, pruned at its last
    /// epoch, diverged as +inf (as Optuna's benchmark tells it), queued or running as running; failed
    /// runs and runs without trial values are left out.
    func tpeTrial(_ record: SlopeStore.TrialRecord) -> TPETrial? {
        guard let text = record.trialJSON, let values = Self.parseNumbers(text), values.count == sampler.space.count else { return nil }
        let sign = spec.metric.goal == .minimize ? 1.0 : -1.0
        let value = record.value.map { sign * $0 } ?? .infinity
        switch record.status {
        case .completed: return TPETrial(values: values, state: .complete(value))
        case .pruned: return TPETrial(values: values, state: .pruned(epoch: record.epochsDone, value: value))
        case .diverged: return TPETrial(values: values, state: .complete(.infinity))
        case .queued, .running: return TPETrial(values: values, state: .running)
        case .failed: return nil
        }
    }

    /// "[0.01,3,0.5]" -> [0.01, 3, 0.5] (JSON that json_extract wrote: numbers only). Byte by byte:
    /// Foundation's trimming and character sets cost microseconds a call on Linux, this runs per trial.
    static func parseNumbers(_ text: String) -> [Double]? {
        var numbers: [Double] = []
        let bytes = text.utf8
        var start: String.Index? = nil
        var index = bytes.startIndex
        while true {
            let atEnd = index == bytes.endIndex
            let byte = atEnd ? UInt8(ascii: ",") : bytes[index]
            if byte == UInt8(ascii: ",") || byte == UInt8(ascii: "[") || byte == UInt8(ascii: "]") || byte == UInt8(ascii: " ") {
                if let begin = start {
                    guard let number = Double(text[begin..<index]) else { return nil }
                    numbers.append(number)
                    start = nil
                }
                if atEnd { return numbers }
            } else if start == nil {
                start = index
            }
            index = bytes.index(after: index)
        }
    }

    private func settings(for values: [(Setting, SettingValue)]) throws -> RunSettings {
        var settings = RunSettings()
        for (setting, value) in values { try settings.apply(setting, value, field: "parameters.\(setting.rawValue)") }
        return settings
    }

    private func load(_ dataset: String, _ target: String?, _ task: TaskKind) throws -> LoadedData {
        let key = [dataset, target ?? "", task.rawValue].joined(separator: "\u{0}")
        lock.lock()
        if let data = loaded[key] { lock.unlock(); return data }
        lock.unlock()
        let data = try DataCatalog.load(dataset, target: target, task: task)
        lock.lock()
        loaded[key] = data
        lock.unlock()
        return data
    }
}

/// The runs of one sweep as TPE sees them, kept across samples so that each claim reads and parses
/// only the runs that may have changed: those from the first one that was not finished on.
/// Finished runs (completed, pruned, diverged, failed) keep their status and value; runs are never
/// deleted from a sweep, and new ones get larger ids.
final class TrialHistory: @unchecked Sendable {  // everything under `lock`
    private let lock = NSLock()
    /// Run ids in increasing order, and how TPE sees each (nil: left out, as failed runs).
    private var ids: [Int64] = []
    private var trials: [TPETrial?] = []
    private var finished: [Bool] = []

    /// The id from which runs must be read again: the first run not finished at the last update
    /// (or one past the last run seen).
    var firstUnfinishedID: Int64 {
        lock.lock(); defer { lock.unlock() }
        if let index = finished.firstIndex(of: false) { return ids[index] }
        return (ids.last ?? -1) + 1
    }

    /// Replaces the runs from `fromRunID` on by `records` and returns every run's trial, in id order.
    /// Throws `.staleTrialHistory` when the runs kept and `records` are not the `runCount` runs of the sweep.
    /// - Complexity: O(n) copies for n runs; `convert` (the JSON parsing) runs only on `records`.
    func update(_ records: [SlopeStore.TrialRecord], fromRunID: Int64, runCount: Int,
                as convert: (SlopeStore.TrialRecord) -> TPETrial?) throws -> [TPETrial] {
        lock.lock(); defer { lock.unlock() }
        let kept = ids.partitioningIndex { $0 >= fromRunID }
        guard kept + records.count == runCount else { throw ExperimentsError.staleTrialHistory }
        ids.removeSubrange(kept...)
        trials.removeSubrange(kept...)
        finished.removeSubrange(kept...)
        for record in records {
            ids.append(record.id)
            trials.append(convert(record))
            finished.append(record.status.isFinished)
        }
        return trials.compactMap { $0 }
    }
}

private extension Array where Element == Int64 {
    /// The first index whose element satisfies `belongs` (the elements are sorted, `belongs` monotonic).
    func partitioningIndex(where belongs: (Int64) -> Bool) -> Int {
        var low = 0, high = count
        while low < high {
            let middle = (low + high) / 2
            if belongs(self[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
