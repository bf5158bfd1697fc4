// The table `runner` prints when a sweep ends: its runs sorted by the sweep's metric,
// the best run marked, and the `report` commands that look further.
import Foundation
import Store

public enum ProgressSummary {
    /// `metric` is one of val_loss, train_loss, val_accuracy, train_accuracy (final values).
    /// `variedColumns`: the sweep's varied `runs` columns, in spec order (the grid's rows and columns;
    /// seeds last, since the grid averages over them). `reportCommand`: how the hints call `report`
    /// (its path when it is not on PATH). The table shows the varied settings, then every other setting
    /// that differs between the runs (RunColumn's registry), with their snake_case names.
    /// `diagnoses`: each run's findings (Diagnostics), listed under the table (but a pruned run's:
    /// the search stopped it). `isSampled`: a random or TPE sweep, looked into with `importance`.
    public static func render(runs: [SlopeStore.RunRecord], metric: String, maximize: Bool, sweepID: Int64?,
                              databaseArgument: String, variedColumns: [String] = [], reportCommand: String = "report",
                              diagnoses: [Int64: [TrainingDiagnosis]] = [:], isSampled: Bool = false) -> String {
        guard !runs.isEmpty else { return "no runs\n" }
        // val_loss falls back to train_loss only when no run holds out validation rows: for all runs
        // or none, never one run's train_loss ranked against another's val_loss (a sweep over
        // validation 0 and 0.2 named a run without val_loss "lowest final val_loss").
        let fallsBack = metric == "val_loss" && !runs.contains(where: \.validates)
        func value(_ run: SlopeStore.RunRecord) -> Double? {
            // A run that failed or diverged is not a candidate, whatever its last finite loss; nor is
            // one still queued or running (another worker's: its last epoch is not its final one).
            guard run.status.isFinished, run.status != .failed, run.status != .diverged else { return nil }
            let value: Double?
            switch metric {
            case "train_loss": value = run.number(.final_train_loss)
            case "val_accuracy": value = run.number(.final_val_accuracy)
            case "train_accuracy": value = run.number(.final_train_accuracy)
            default: value = fallsBack ? run.number(.final_train_loss) : run.number(.final_val_loss)
            }
            return value.flatMap { $0.isFinite ? $0 : nil }
        }
        let sorted = RunRanking.ranked(runs, goal: maximize ? .max : .min, value: value)
        let best = sorted.first.flatMap { value($0) != nil ? $0.id : nil }
        // The sweep's own axes first, then whatever else differs; a lone run shows its key settings.
        // Planned epochs are in the epochs column (done/planned) already: not a second `epochs` column.
        let differing = Reporter.differingSettings(runs).filter { $0 != .epochs }
        var settings = variedColumns.compactMap { RunColumn(rawValue: $0) }.filter(differing.contains)
        settings += differing.filter { !settings.contains($0) }
        if settings.isEmpty { settings = [.learning_rate, .batch_size] }
        let header = ["", "run", "status"] + settings.map(\.rawValue) + ["layers", "epochs", "train_loss", "val_loss", "val_accuracy"]
        var rows: [[String]] = [header]
        for run in sorted {
            let mark = run.id == best ? "*" : ""
            // As report's tables show them (`formatNumber`): a momentum of 0.9999999999999999 never
            // reads as 1, and a loss reads as in `report runs`.
            let values = settings.map { terminalSafe(Reporter.cell(run, $0).display) }
            let trainLoss = run.number(.final_train_loss).map { formatNumber($0) } ?? "-"
            let validationLoss = run.number(.final_val_loss).map { formatNumber($0) } ?? "-"
            let accuracy = run.number(.final_val_accuracy).map { formatNumber($0) } ?? "-"
            let epochs = "\(run.epochsDone)/\(run.integer(.epochs) ?? 0)"
            var row: [String] = [mark, String(run.id), run.status.rawValue]
            row += values
            row += [terminalSafe(run.layers), epochs, trainLoss, validationLoss, accuracy]
            rows.append(row)
        }
        let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        var text = ""
        for row in rows {
            let cells = row.enumerated().map { column, cell -> String in
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                return column >= 3 ? padding + cell : cell + padding
            }
            var line = cells.joined(separator: " ")
            while line.last == " " { line.removeLast() }
            text += line + "\n"
        }
        let goal = maximize ? "highest" : "lowest"
        let unfinished = sorted.filter { !$0.status.isFinished }.map { String($0.id) }
        if let best {
            let shown = fallsBack ? "train_loss (no validation split)" : metric
            // Runs still training (another worker's) may yet do better.
            text += "* best run\(unfinished.isEmpty ? "" : " so far"): \(best) (\(goal) final \(shown))\n"
        } else if runs.contains(where: { $0.status == .failed || $0.status == .diverged }) && !runs.contains(where: { value($0) != nil }) {
            // Every run that ended, ended badly: say so, rather than leave the reader looking for a `*`.
            text += "no best run: every run that ended failed or diverged (they are never best)\n"
        }
        text += bestConfigurationLine(runs, value: value, maximize: maximize)
        if !unfinished.isEmpty {
            text += "still queued or running (not ranked): run\(unfinished.count == 1 ? "" : "s") \(unfinished.joined(separator: ", "))\n"
        }
        let divergedRuns = sorted.filter { $0.status == .diverged }
        let diverged = divergedRuns.map { String($0.id) }
        if !diverged.isEmpty {
            text += "diverged: run\(diverged.count == 1 ? "" : "s") \(diverged.joined(separator: ", ")) (\(Diagnostics.divergedCause)): "
                + "try \(Diagnostics.divergedAdvice(divergedRuns))\n"
        }
        let database = databaseArgument.isEmpty ? "" : " \(databaseArgument)"
        let report = reportCommand
        // A pruned run was stopped by the search, not by its training: no advice on how it trained.
        text += diagnosisLines(sorted.filter { $0.status != .pruned }.map(\.id), diagnoses: diagnoses, database: database, reportCommand: report)
        if let sweepID {
            let swept = variedColumns.isEmpty ? differing.map(\.rawValue) : variedColumns
            let axes = swept.filter { $0 != "seed" } + swept.filter { $0 == "seed" }
            if isSampled {
                // Sampled values are all different: a grid would have a near-empty row per run.
                text += "Look further: \(report) importance --sweep \(sweepID)\(database)\n"
                text += "              \(report) compare --sweep \(sweepID)\(database)"
            } else if axes.count >= 2 {
                text += "Look further: \(report) grid --sweep \(sweepID) --rows \(axes[0]) --cols \(axes[1])\(database)\n"
                text += "              \(report) compare --sweep \(sweepID)\(database)"
            } else {
                text += "Look further: \(report) compare --sweep \(sweepID)\(database)"
            }
            if let best { text += "; \(report) show \(best)\(database)" }
            text += "\n"
        } else if let best {
            text += "Look further: \(report) show \(best)\(database); \(report) layers \(best)\(database)\n"
        }
        return text
    }

    /// Runs shown with their findings (Diagnostics); past that, a count and where to look.
    static let diagnosedRunsShown = 5

    /// "not learning: ..." lines for the runs with findings, in the table's order.
    static func diagnosisLines(_ runIDs: [Int64], diagnoses: [Int64: [TrainingDiagnosis]], database: String,
                               reportCommand: String) -> String {
        let diagnosed = runIDs.filter { !(diagnoses[$0] ?? []).isEmpty }
        guard !diagnosed.isEmpty else { return "" }
        var text = "not learning well (\(reportCommand) layers RUN\(database) shows the per-layer numbers):\n"
        for runID in diagnosed.prefix(diagnosedRunsShown) {
            for diagnosis in diagnoses[runID]! { text += "  run \(runID) \(diagnosis.line)\n" }
        }
        if diagnosed.count > diagnosedRunsShown {
            let rest = diagnosed.dropFirst(diagnosedRunsShown).map(String.init)
            text += "  and run\(rest.count == 1 ? "" : "s") \(rest.joined(separator: ", "))\n"
        }
        return text
    }

    /// When runs differ only by seed: the configuration with the best mean over its seeds (the best
    /// single run may just have had a lucky seed), as `report best` ranks them; "" otherwise.
    static func bestConfigurationLine(_ runs: [SlopeStore.RunRecord], value: (SlopeStore.RunRecord) -> Double?, maximize: Bool) -> String {
        let groups = SeedRanking.rank(Reporter.seedEntries(runs, value: value), goal: maximize ? .max : .min)
        guard SeedRanking.hasRepeatedConfigurations(groups), let best = groups.first, best.bestRunID != nil else { return "" }
        let spread = best.standardDeviation.map { " ± " + formatNumber($0) } ?? ""  // as report best says it
        // As report best and grid say: a pruned run counts with its value when the search stopped it.
        let pruned = runs.filter { best.runIDs.contains($0.id) && $0.status == .pruned }.count
        return "* best configuration (mean over \(SeedRanking.meanOver(groups))): runs \(best.runIDs.map(String.init).joined(separator: ", ")): "
            + "\(formatNumber(best.mean))\(spread) (n=\(best.count)\(best.missing > 0 ? ", \(best.missing) without a value" : "")"
            + (pruned > 0 ? ", \(pruned) pruned: their values when they stopped" : "") + ")\n"
    }
}
