// What `runner` shows while it trains: on a terminal, a live line per active run and an
// overall bar with runs done/total and ETA; elsewhere one plain line per finished run;
// nothing when quiet. Returns the text to write; the executable writes it.
import Foundation

public final class ProgressDisplay {
    public enum Mode: Sendable { case live, plain, quiet }

    private struct ActiveRun {
        var label: String
        var epoch: Int
        var epochs: Int
        var loss: Double?
        /// Which loss `loss` is: "val_loss" when the run has a validation split, else "train_loss".
        var lossName = "loss"
        /// When its last line was written off a terminal (its start, before the first).
        var lastShown: Date
        /// When the epoch in progress began (the last one's end, or the run's start).
        var epochStarted: Date
        /// When the last "still running" line of the epoch in progress was written (nil: none yet).
        var lastHeartbeat: Date? = nil
    }

    /// The display for standard output: quiet, else live on a terminal that can move the cursor
    /// (`TerminalStyle.movesCursor`: not TERM=dumb or unset), else plain, as for a pipe or a log.
    public static func mode(quiet: Bool, isTerminal: Bool, environment: [String: String] = ProcessInfo.processInfo.environment) -> Mode {
        quiet ? .quiet : TerminalStyle.movesCursor(isTerminal: isTerminal, environment: environment) ? .live : .plain
    }

    private let mode: Mode
    private let width: Int
    /// The terminal's rows (nil: not known): the live frame keeps below it (`frame`).
    private let height: Int?
    private let startedAt: Date
    private var totalRuns: Int
    private var finishedRuns = 0
    /// The lines of finished runs written so far, by sweep (for `SweepProgress.ofEndedRun`).
    private var finishedBySweep: [Int64: Int] = [:]
    private var active: [(runID: Int64, run: ActiveRun)] = []
    private var drawnLines = 0
    private var lastDrawn = Date.distantPast
    /// Live redraws at most this often (a fast sweep finishes epochs in microseconds).
    private let redrawInterval: TimeInterval = 0.1
    /// Off a terminal (a log: nohup, Slurm), a line per active run at most this often, so a long
    /// run shows its progress before it ends; and, for an epoch that lasts longer, a line saying
    /// that it is still running this often (`heartbeat`).
    private let plainInterval: TimeInterval

    public init(mode: Mode, totalRuns: Int, width: Int = 100, height: Int? = nil, now: Date = Date(), plainInterval: TimeInterval = 60) {
        self.mode = mode
        self.height = height.map { max($0, 1) }
        self.plainInterval = plainInterval
        self.totalRuns = totalRuns
        // Never wider than the terminal, however narrow: a wrapped line leaves stale rows at the redraw.
        self.width = max(width, 10)
        self.startedAt = now
    }

    public func runStarted(runID: Int64, label: String, epochs: Int, firstEpoch: Int, now: Date = Date()) -> String {
        // The label holds user text (a CSV path, a target column): no escape sequence or line break
        // may reach the terminal, and a line break would also throw off the live frame's line count.
        active.append((runID, ActiveRun(label: terminalSafe(label), epoch: max(firstEpoch - 1, 0), epochs: epochs, loss: nil, lastShown: now,
                                                 epochStarted: now)))
        return mode == .live ? redraw(now: now, force: true) : ""
    }

    public func epochFinished(runID: Int64, epoch: Int, trainLoss: Double, validationLoss: Double?, now: Date = Date()) -> String {
        guard let index = active.firstIndex(where: { $0.runID == runID }) else { return "" }
        active[index].run.epoch = epoch
        active[index].run.loss = validationLoss ?? trainLoss
        active[index].run.lossName = validationLoss == nil ? "train_loss" : "val_loss"
        active[index].run.epochStarted = now
        active[index].run.lastHeartbeat = nil
        if mode == .plain, now.timeIntervalSince(active[index].run.lastShown) >= plainInterval {
            // A log gets no live line: a plain one, "run 3  lr=0.1  epoch 132/300  val_loss 0.1234".
            active[index].run.lastShown = now
            let run = active[index].run
            return "run \(runID)  \(run.label)  epoch \(run.epoch)/\(run.epochs)  \(run.lossName) \(Self.format(validationLoss ?? trainLoss))\n"
        }
        return mode == .live ? redraw(now: now, force: false) : ""
    }

    /// Off a terminal, a line for each active run whose epoch in progress has gone on for
    /// `plainInterval` or more since it began, or since its last such line: an epoch longer than
    /// that otherwise leaves a log silent until it ends. "run 3  lr=0.1  epoch 7/300  still running
    /// after 2:00" (the time since the epoch began). The runner asks every few seconds.
    public func heartbeat(now: Date = Date()) -> String {
        guard mode == .plain else { return "" }
        var text = ""
        for index in active.indices {
            let (runID, run) = active[index]
            guard now.timeIntervalSince(run.lastHeartbeat ?? run.epochStarted) >= plainInterval else { continue }
            active[index].run.lastHeartbeat = now
            let epoch = min(run.epoch + 1, run.epochs)  // the epoch in progress
            text += "run \(runID)  \(run.label)  epoch \(epoch)/\(run.epochs)  still running after \(Self.duration(now.timeIntervalSince(run.epochStarted)))\n"
        }
        return text
    }

    /// The runs of the sweep that have ended, by any worker, and its total (`SweepRecord.runCount`);
    /// `finishedByThisWorker`: how many of the ended runs this process ended, read with `finished`
    /// (nil: not known, compared with the runs this display has seen end). Read together, the two
    /// tell other workers' runs from this process's own, also when another of its threads has ended
    /// a run whose line is not written yet (`--jobs` > 1).
    public struct SweepProgress: Sendable {
        public var sweepID: Int64, finished: Int, total: Int
        public var finishedByThisWorker: Int?
        /// The sweep of the run that ended, when the worker was not given one (`runner work` without
        /// --sweep): the line counts that sweep's runs, and this process's of them, not the runs
        /// this process set out with (all queued runs, which other workers share).
        public var ofEndedRun: Bool
        public init(sweepID: Int64, finished: Int, total: Int, finishedByThisWorker: Int? = nil, ofEndedRun: Bool = false) {
            self.sweepID = sweepID
            self.finished = finished
            self.total = total
            self.finishedByThisWorker = finishedByThisWorker
            self.ofEndedRun = ofEndedRun
        }

        /// Whether runs ended that this display does not count (other workers', earlier processes'),
        /// or the sweep has runs this process did not set out with.
        func includesOthers(finishedHere: Int, totalHere: Int) -> Bool {
            finished != (finishedByThisWorker ?? finishedHere) || total != totalHere
        }
    }

    /// `status` is the run's final status (`completed`, `pruned`, `interrupted` ...), `detail` its reason.
    /// The line ends with `[k/N]`: the runs this process has finished of those it set out with. When
    /// `sweep` says that other workers (or earlier processes) finished runs too, it says both counts:
    /// `[4 by this worker; 7/8 in sweep 1]`, not a `[4/8]` that reads as half undone.
    public func runFinished(runID: Int64, label: String, status: String, detail: String, sweep: SweepProgress? = nil,
                            now: Date = Date()) -> String {
        let run = active.first { $0.runID == runID }?.run
        active.removeAll { $0.runID == runID }
        let finished = !["interrupted", "lost", "suspended", "set aside"].contains(status)
        if finished { finishedRuns += 1 }
        if finished, let sweep, sweep.ofEndedRun { finishedBySweep[sweep.sweepID, default: 0] += 1 }
        var line = "run \(runID)  \(terminalSafe(label))  \(status)"
        // A suspended run's last epoch trained may be the one whose write failed (hostile17 H1): not shown as
        // its progress; the summary below says what is stored.
        if let run, status != "suspended" {
            line += "  epoch \(run.epoch)/\(run.epochs)"
            if let loss = run.loss { line += "  \(run.lossName) \(Self.format(loss))" }
        }
        if !detail.isEmpty && detail != "completed all epochs" { line += "  (\(terminalSafe(detail)))" }
        if let sweep, sweep.ofEndedRun {
            // Counted in the run's sweep, so two workers sharing a queue do not both say [1/8], and one
            // alone on it says [8/8] at the end: the lines of that sweep's runs written here; the long
            // form when the database counts runs of it ended elsewhere (read with this process's own,
            // so runs its other threads ended, lines not written yet, do not count as others').
            let here = finishedBySweep[sweep.sweepID] ?? 0
            line += sweep.includesOthers(finishedHere: here, totalHere: sweep.total) ? "  [\(here) by this worker; \(sweep.finished)/\(sweep.total) in sweep \(sweep.sweepID)]"
                : "  [\(here)/\(sweep.total)]"
        } else if let sweep, sweep.includesOthers(finishedHere: finishedRuns, totalHere: totalRuns) {
            line += "  [\(finishedRuns) by this worker; \(sweep.finished)/\(sweep.total) in sweep \(sweep.sweepID)]"
        } else {
            line += "  [\(finishedRuns)/\(totalRuns)]"
        }
        switch mode {
        case .quiet: return ""
        case .plain: return line + "\n"
        case .live: return clear() + Self.fit(line, width) + "\n" + redraw(now: now, force: true, cleared: true)
        }
    }

    /// Removes the live lines (before the summary, or on Ctrl-C).
    public func finish() -> String { mode == .live ? clear() : "" }

    // MARK: - Live frame

    private func clear() -> String {
        guard drawnLines > 0 else { return "" }
        defer { drawnLines = 0 }
        return "\u{1B}[\(drawnLines)A\r\u{1B}[J"
    }

    private func redraw(now: Date, force: Bool, cleared: Bool = false) -> String {
        guard force || now.timeIntervalSince(lastDrawn) >= redrawInterval else { return "" }
        lastDrawn = now
        let prefix = cleared ? "" : clear()
        let lines = frame(now: now)
        drawnLines = lines.count
        return prefix + lines.map { $0 + "\n" }.joined()
    }

    /// The live lines: one per active run, then the overall bar. Never as many lines as the
    /// terminal has rows: a frame that scrolls cannot be redrawn (the cursor-up stops at the top
    /// row, and each redraw leaves a copy behind). With more runs than rows - 2, the first rows - 3
    /// runs and "... and N more running" (with too few rows for that, the bar alone).
    func frame(now: Date) -> [String] {
        var lines: [String] = []
        let room = height.map { max($0 - 2, 0) } ?? active.count
        let shown = active.count <= room ? active.count : max(room - 1, 0)
        for (runID, run) in active.prefix(shown) {
            let fraction = run.epochs > 0 ? Double(run.epoch) / Double(run.epochs) : 1
            let loss = run.loss.map { "\(run.lossName) \(Self.format($0))" } ?? "loss -"
            let text = "run \(runID)  \(run.label)  epoch \(run.epoch)/\(run.epochs)  \(loss)  "
            lines.append(Self.fit(text + Self.bar(fraction, width: 20), width))
        }
        if shown < active.count && room > 0 { lines.append(Self.fit("... and \(active.count - shown) more running", width)) }
        let progress = Double(finishedRuns) + active.reduce(0.0) { total, entry in
            total + (entry.run.epochs > 0 ? Double(entry.run.epoch) / Double(entry.run.epochs) : 0)
        }
        let elapsed = now.timeIntervalSince(startedAt)
        var eta = "ETA -"
        if progress > 0, totalRuns > 0 {
            eta = "ETA " + Self.duration(elapsed * (Double(totalRuns) - progress) / progress)
        }
        let fraction = totalRuns > 0 ? progress / Double(totalRuns) : 1
        lines.append(Self.fit("sweep \(Self.bar(fraction, width: 30)) \(finishedRuns)/\(totalRuns) runs done  \(Self.duration(elapsed)) elapsed  \(eta)", width))
        return lines
    }

    static func bar(_ fraction: Double, width: Int) -> String {
        let filled = Int((min(max(fraction, 0), 1) * Double(width)).rounded(.down))
        return "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "]"
    }

    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0, seconds < 1e12 else { return "-" }
        let whole = Int(seconds.rounded())
        return whole >= 3600 ? String(format: "%ld:%02ld:%02ld", whole / 3600, whole / 60 % 60, whole % 60)
                             : String(format: "%ld:%02ld", whole / 60, whole % 60)
    }

    /// A loss on a progress line (live or plain): 4 decimals, or 3 significant digits in e-notation
    /// far from 1. (The end-of-sweep table and report's tables say it by `formatNumber`.)
    static func format(_ value: Double) -> String {
        guard value.isFinite else { return "\(value)" }
        if value != 0 && (abs(value) < 1e-3 || abs(value) >= 1e6) { return String(format: "%.3e", value) }
        return String(format: "%.4f", value)
    }

    static func fit(_ line: String, _ width: Int) -> String { fittedLine(line, width: width) }  // a wrapped line would break the redraw
}
