// `report importance`: how much of the spread of a sweep's metric each swept setting explains,
// as the share of variance of its main effect (eta squared, the first-order term of fANOVA).
import Foundation
import Store

/// One setting's importance.
public struct SettingImportance: Equatable, Sendable {
    public var setting: String
    /// Between-group sum of squares over the total sum of squares, in [0, 1].
    public var share: Double
    /// The groups compared: the setting's values, or quantile bins of a setting with many values.
    public var groupCount: Int
    /// The group with the best mean (a value, or a range "0.001..0.01").
    public var bestGroup: String
    public var bestMean: Double
    /// Settings left out because their value follows from this one's (beta1 from the optimizer):
    /// its groups are theirs too, so its share is their joint share.
    public var merged: [String] = []
}

public enum ImportanceEstimator {
    /// Numbers with more distinct values than this are put into `binCount` bins of equal counts.
    static let maximumGroups = 8
    static let binCount = 5

    /// For each setting: group the runs by its value (numbers with more than `maximumGroups` values,
    /// or a different one in every run: by quantile bin, at least two runs a bin),
    /// and return sum_g n_g (mean_g - mean)^2 / sum_i (y_i - mean)^2. On a full grid this is exactly
    /// fANOVA's first-order importance (the marginal of a setting is the mean over the others);
    /// on random or TPE samples it is its estimate from the sampled runs, without a model.
    ///
    /// A setting whose groups follow from another's (every group of the other has one value of it:
    /// beta1 from the optimizer, or two settings the runs never vary apart) is not a second effect:
    /// it is merged into that one (listed in its `merged`) and not ranked on its own. Of two settings
    /// that group the runs the same way, the first in `settings` is kept. Binned settings neither
    /// absorb nor are absorbed (bins are not values).
    /// - Parameter runs: per run, the setting values (text, numbers as `Double`) and the metric.
    public static func estimate(settings: [String], runs: [(values: [String: RunValue], metric: Double)], goal: Goal) -> [SettingImportance] {
        guard runs.count >= 2 else { return [] }
        let mean = Self.mean(runs.map(\.metric))
        // Deviations divided by a power of two before squaring: metrics of 1e154 or more would
        // square to infinity, and the share to inf/inf = NaN. The share is a ratio: the scale cancels.
        let scale = CellStatistics.deviationScale(runs.map(\.metric), around: mean)
        func squared(_ value: Double) -> Double {
            let deviation = CellStatistics.scaledDeviation(value, from: mean, scale: scale)
            return deviation * deviation
        }
        let total = runs.reduce(0) { $0 + squared($1.metric) }
        var candidates: [(setting: String, labels: [String], isBinned: Bool)] = []
        for setting in settings {
            let values = runs.map { $0.values[setting] ?? .null }
            let distinct = Set(values.map { Reporter.cell($0).exact })
            guard distinct.count > 1 else { continue }
            var labels: [String]
            let numbers = values.compactMap(\.double)
            // Groups of one run explain all of their own variance (eta squared is 1 by construction):
            // numbers are binned so that a group has two runs or more, and a setting whose every
            // run is a group of its own is not estimated.
            let isBinned = numbers.count == values.count && (distinct.count > maximumGroups || distinct.count == runs.count)
            if isBinned {
                let bins = min(binCount, runs.count / 2)
                guard bins >= 2 else { continue }
                let order = numbers.indices.sorted { numbers[$0] < numbers[$1] }
                labels = [String](repeating: "", count: numbers.count)
                for bin in 0..<bins {
                    let members = order[(bin * order.count / bins)..<((bin + 1) * order.count / bins)]
                    guard let first = members.first, let last = members.last else { continue }
                    let label = "\(formatNumber(numbers[first]))..\(formatNumber(numbers[last]))"
                    for index in members { labels[index] = label }
                }
            } else {
                labels = values.map { Reporter.cell($0).display }
            }
            guard Set(labels).count < runs.count else { continue }
            candidates.append((setting, labels, isBinned))
        }
        // `follows[b] == a`: b's value is a function of a's and a is finer (or as fine and listed first).
        var follows: [Int: Int] = [:]
        for (b, dependent) in candidates.enumerated() where !dependent.isBinned {
            for (a, determinant) in candidates.enumerated() where a != b && !determinant.isBinned {
                guard isFunction(dependent.labels, of: determinant.labels) else { continue }
                if a < b || !isFunction(determinant.labels, of: dependent.labels) { follows[b] = a; break }
            }
        }
        // Merged into the setting at the end of the chain (the relation is transitive, so the chain ends).
        func root(_ index: Int) -> Int { follows[index].map(root) ?? index }
        var result: [SettingImportance] = []
        for (index, candidate) in candidates.enumerated() where follows[index] == nil {
            // Groups in the order of their first run, so that the sum (and so the share, to the
            // last bit) is the same in every process: a Dictionary's order changes with its seed.
            var groups: [(label: String, members: [Double])] = []
            var groupIndex: [String: Int] = [:]
            for (label, run) in zip(candidate.labels, runs) {
                if let index = groupIndex[label] { groups[index].members.append(run.metric); continue }
                groupIndex[label] = groups.count
                groups.append((label, [run.metric]))
            }
            let means = groups.map { (label: $0.label, count: Double($0.members.count), mean: Self.mean($0.members)) }
            let between = means.reduce(0.0) { $0 + $1.count * squared($1.mean) }
            let best = means.min { left, right in
                left.mean == right.mean ? left.label < right.label : goal.isBetter(left.mean, than: right.mean)
            }!
            let merged = candidates.indices.filter { $0 != index && follows[$0] != nil && root($0) == index }.map { candidates[$0].setting }
            result.append(SettingImportance(setting: candidate.setting, share: total > 0 ? between / total : 0, groupCount: groups.count,
                                            bestGroup: best.label, bestMean: best.mean, merged: merged))
        }
        return result.sorted { $0.share != $1.share ? $0.share > $1.share : $0.setting < $1.setting }
    }

    /// A group's mean: the pivot's and the seed table's (`CellStatistics.mean`), so that the same runs print the same digits.
    static func mean(_ values: [Double]) -> Double { CellStatistics.mean(values) }

    /// Whether runs with the same label in `determinant` always have the same label in `dependent`.
    static func isFunction(_ dependent: [String], of determinant: [String]) -> Bool {
        var seen: [String: String] = [:]
        for (key, value) in zip(determinant, dependent) {
            if let earlier = seen.updateValue(value, forKey: key), earlier != value { return false }
        }
        return true
    }
}

/// `report importance`'s answer: the metric and goal used, the finished runs counted, and each
/// varying setting's importance (most important first).
public struct SweepImportance: Equatable, Sendable {
    public var sweepID: Int64
    public var metric: RunColumn
    public var goal: Goal
    /// Finished runs (completed or pruned) with a finite value of the metric.
    public var runCount: Int
    public var settings: [SettingImportance]
    /// Of `runCount`, the runs a search stopped early (pruned), counted with their values then.
    public var prunedCount = 0
    /// Settings that vary among the runs but are not estimated: every run has a value of its own
    /// (a seed per run), and a group of one run explains all of its own variance.
    public var unestimated: [String] = []
}

extension Reporter {
    /// `report importance --sweep ID`: the swept settings by the share of the metric's variance their
    /// main effect explains, over the runs that finished (completed or pruned) with a value.
    public func importance(sweepID: Int64, metric: String? = nil, goal: Goal? = nil, filter: String? = nil,
                           format: OutputFormat = .table) throws -> String {
        let result = try importanceOfSettings(sweepID: sweepID, metric: metric, goal: goal, filter: filter)
        guard result.runCount >= 2 else {
            throw ReportError.noData("sweep \(sweepID) has \(result.runCount) finished run\(result.runCount == 1 ? "" : "s") with a value for \(result.metric.rawValue); importance needs at least 2")
        }
        var table = DataTable(columns: [.init("setting"), .init("importance"), .init("groups"), .init("best_group", alignsRight: false),
                                        .init("best_mean"), .init("merged", alignsRight: false)])
        for item in result.settings {
            table.rows.append([.text(item.setting), .number(item.share), .integer(Int64(item.groupCount)), .text(item.bestGroup), .number(item.bestMean),
                               .list(item.merged)])
        }
        if format != .table { return table.render(format, style: style) }
        if let none = Self.noImportanceNote(result, ofSweep: sweepID) { return none + "\n" }
        var out = "importance of the swept settings for \(result.metric.rawValue) (\(result.goal.rawValue)) in sweep \(sweepID), \(result.runCount) finished runs:\n"
        out += "the share of the variance each setting's main effect explains (eta squared; numbers with many values in 5 quantile bins)\n"
        out += Self.importanceNotes(result).map { $0 + "\n" }.joined() + "\n"
        out += table.renderTable(style: style)
        return out
    }

    /// What a reader needs to read the shares: the settings merged into another (their value follows
    /// from its), and whether the shares can add up to more than 1 (only when the settings are not
    /// balanced against each other, as in a full grid they are).
    public static func importanceNotes(_ result: SweepImportance) -> [String] {
        var notes: [String] = []
        if result.prunedCount > 0 { notes.append(prunedNote(result.prunedCount, in: "the finished runs")) }
        for item in result.settings where !item.merged.isEmpty {
            let names = item.merged.joined(separator: ", ")
            notes.append("\(names) follow\(item.merged.count == 1 ? "s" : "") from \(item.setting): not ranked apart, \(item.setting)'s share is theirs too")
        }
        if !result.unestimated.isEmpty { notes.append("left out: " + unestimatedReason(result.unestimated)) }
        let sum = result.settings.reduce(0) { $0 + $1.share }
        if sum > 1 + 1e-9 {
            notes.append("the shares add up to \(formatNumber(sum, digits: 3)): these runs are not a full grid, so the settings vary together and their effects overlap")
        }
        return notes
    }

    /// Why no setting is ranked, when none is (nil otherwise): none varies among the finished runs, or
    /// those that vary give every run a value of its own (a seed per run). `report importance` names
    /// the sweep (`ofSweep`); the dashboard, on the sweep's page, does not.
    public static func noImportanceNote(_ result: SweepImportance, ofSweep sweepID: Int64? = nil) -> String? {
        guard result.settings.isEmpty else { return nil }
        let runs = "the \(result.runCount) finished runs" + (sweepID.map { " of sweep \($0)" } ?? "")
        guard !result.unestimated.isEmpty else { return "no setting varies among \(runs)" }
        return "no setting's importance can be estimated from \(runs): " + unestimatedReason(result.unestimated) + "; it needs runs that share a value"
    }

    /// "seed varies, but every run has a value of its own (...)".
    static func unestimatedReason(_ settings: [String]) -> String {
        settings.joined(separator: ", ") + (settings.count == 1 ? " varies" : " vary")
            + ", but every run has a value of its own (a group of one run explains all of its own variance)"
    }

    /// The numbers behind `importance(...)` (also the dashboard's): one snapshot of the sweep's runs.
    /// `settings` is empty when fewer than 2 finished runs have a value (`runCount` says how many).
    /// - Throws: `ReportError.unknownSweep`, `.noRuns` (no run matches).
    public func importanceOfSettings(sweepID: Int64, metric: String? = nil, goal: Goal? = nil, filter: String? = nil) throws -> SweepImportance {
        if !queries.isSnapshot { return try snapshot { try $0.importanceOfSettings(sweepID: sweepID, metric: metric, goal: goal, filter: filter) } }
        let parsedFilter = try filter.map(RunFilterParser.parse)
        guard let sweep = try queries.sweepSummary(id: sweepID) else { throw ReportError.unknownSweep(sweepID) }
        let sweepRuns = try queries.runSummaries(sweepID: sweepID, filter: parsedFilter)
        if sweepRuns.isEmpty { throw ReportError.noRuns(in: sweep, filtered: filter != nil) }
        return try sweepImportance(sweepID: sweepID, runs: sweepRuns, metric: metric, goal: goal)
    }

    /// The importances over `runs` (of sweep `sweepID`) for `metric` (default: the sweep's metric,
    /// else best_val_loss or best_train_loss). `settings` is empty with fewer than 2 finished runs with a value.
    func sweepImportance(sweepID: Int64, runs: [SlopeStore.RunRecord], metric: String? = nil, goal: Goal? = nil) throws -> SweepImportance {
        let (column, chosenGoal) = try rankingMetric(sweepID, validates: Self.validates(runs), metric: metric, goal: goal)
        var prunedCount = 0
        let measured = runs.compactMap { run -> (values: [String: RunValue], metric: Double)? in
            guard run.status == .completed || run.status == .pruned, let value = run.number(column), value.isFinite else { return nil }
            if run.status == .pruned { prunedCount += 1 }
            return (Dictionary(uniqueKeysWithValues: RunColumn.settings.map { ($0.rawValue, run[$0]) }), value)
        }
        // Fewer than 2 finished runs: nothing to compare yet (the caller says so).
        let importances = measured.count >= 2
            ? ImportanceEstimator.estimate(settings: RunColumn.settings.map(\.rawValue), runs: measured, goal: chosenGoal) : []
        let estimated = Set(importances.flatMap { [$0.setting] + $0.merged })
        let unestimated = measured.count < 2 ? [] : RunColumn.settings.map(\.rawValue).filter { setting in
            !estimated.contains(setting) && Set(measured.map { Reporter.cell($0.values[setting] ?? .null).exact }).count > 1
        }
        return SweepImportance(sweepID: sweepID, metric: column, goal: chosenGoal, runCount: measured.count, settings: importances,
                               prunedCount: prunedCount, unestimated: unestimated)
    }
}
