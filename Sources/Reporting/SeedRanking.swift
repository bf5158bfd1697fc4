// Ranking configurations across seeds: runs that differ only by their seed are one configuration,
// ranked by its mean over the seeds (with the standard deviation and n), not by its luckiest run.
import Foundation
import Store

/// One configuration of a sweep and its runs (one per seed).
public struct SeedGroup: Equatable, Sendable {
    /// The group's runs in id order.
    public var runIDs: [Int64]
    /// The metric's values of the runs that have one, in id order.
    public var values: [Double]
    /// Runs without a value (failed or diverged, or not finished).
    public var missing: Int
    public var mean: Double
    /// Population standard deviation over the seeds (divided by n, as `report grid`'s `std`:
    /// `CellStatistics`); nil for a single value.
    public var standardDeviation: Double?
    /// The group's best run by the metric (nil when none has a value).
    public var bestRunID: Int64?
    /// True when two of its runs have the same seed (a search sampled the configuration again): its
    /// mean is then over runs, not over distinct seeds.
    public var repeatsASeed: Bool = false

    public var count: Int { values.count }
}

public enum SeedRanking {
    /// One run as the ranking sees it: `configuration` is what makes runs the same configuration
    /// (`configurationKey(configJSON:)`), `value` its metric (nil for failed, diverged or unfinished).
    public struct Entry: Sendable {
        public var id: Int64
        public var configuration: String
        public var value: Double?
        /// The run's training seed (nil when unknown): two equal ones in a group are said (`repeatsASeed`).
        public var seed: Int64?
        public init(id: Int64, configuration: String, value: Double?, seed: Int64? = nil) {
            self.id = id; self.configuration = configuration; self.value = value; self.seed = seed
        }
    }

    /// Groups the runs by configuration and ranks the groups, best first: groups where every run has
    /// a value come first (a configuration that diverged on one seed is not better for it), then by
    /// the mean over seeds, then by the first run's id.
    public static func rank(_ entries: [Entry], goal: Goal) -> [SeedGroup] {
        var order: [String] = []
        var members: [String: [Entry]] = [:]
        for entry in entries.sorted(by: { $0.id < $1.id }) {
            if members[entry.configuration] == nil { order.append(entry.configuration) }
            members[entry.configuration, default: []].append(entry)
        }
        let groups = order.map { key -> SeedGroup in
            let runs = members[key]!
            let values = runs.compactMap { $0.value.flatMap { $0.isFinite ? $0 : nil } }
            let statistics = CellStatistics(values)
            let mean = statistics?.mean ?? .nan
            let deviation = values.count < 2 ? nil : statistics?.standardDeviation
            let best = runs.filter { $0.value?.isFinite ?? false }
                .min { RunRanking.ranksBefore(($0.id, $0.value), ($1.id, $1.value), goal: goal) }
            let seeds = runs.compactMap(\.seed)
            return SeedGroup(runIDs: runs.map(\.id), values: values, missing: runs.count - values.count,
                             mean: mean, standardDeviation: deviation, bestRunID: best?.id,
                             repeatsASeed: Set(seeds).count < seeds.count)
        }
        return groups.sorted { left, right in
            let (leftComplete, rightComplete) = (left.missing == 0 && !left.values.isEmpty, right.missing == 0 && !right.values.isEmpty)
            if leftComplete != rightComplete { return leftComplete }
            if left.mean.isNaN != right.mean.isNaN { return !left.mean.isNaN }
            if left.mean != right.mean, !left.mean.isNaN { return goal.isBetter(left.mean, than: right.mean) }
            return left.runIDs[0] < right.runIDs[0]
        }
    }

    /// What makes two runs the same configuration: their stored `runs.config` without the training
    /// seed, the run's name and a search's `trial` (the sampler's values of the parameters, the
    /// seed's among them when it is one: the settings it chose are in the configuration already).
    /// Text that is not a JSON object is its own key.
    public static func configurationKey(configJSON: String) -> String {
        guard var object = (try? JSONSerialization.jsonObject(with: Data(configJSON.utf8))) as? [String: Any] else { return configJSON }
        object["name"] = nil
        object["trial"] = nil
        if var training = object["training"] as? [String: Any] {
            training["seed"] = nil
            object["training"] = training
        }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return configJSON }
        return String(decoding: data, as: UTF8.self)
    }

    /// True when some configuration has more than one run: ranking by mean then says more than per run.
    public static func hasRepeatedConfigurations(_ groups: [SeedGroup]) -> Bool {
        groups.contains { $0.runIDs.count > 1 }
    }

    /// What the mean is over, as the reports say it: "seeds", or "runs" when some configuration ran
    /// twice with one seed (its runs then count each, not its distinct seeds).
    public static func meanOver(_ groups: [SeedGroup]) -> String {
        groups.contains(where: \.repeatsASeed) ? "runs, some repeating a seed" : "seeds"
    }
}
