// The executable's side of running work: opening the database, Ctrl-C, showing worker
// events through Reporting's ProgressDisplay, the end-of-sweep summary, exit statuses.
import ArgumentParser
import CLISupport
import Dispatch
import Experiments
import Foundation
import Reporting
import Store

enum Console {
    /// Writes a line to stdout unbuffered, in order with the progress display's output.
    static func say(_ text: String) {
        StandardStream.output.write(text.hasSuffix("\n") ? text : text + "\n")
    }

    static func writeError(_ message: String) {
        StandardStream.error.write(message.hasSuffix("\n") ? message : message + "\n")
    }

    /// 2 for bad input, 1 for runtime errors, an ExitCode's own value; prints one line, never a trace.
    static func exitStatus(for error: Error) -> Int32 {
        if let exit = error as? ExitCode { return exit.rawValue }
        if let error = error as? ValidationError {
            writeError("error: " + error.message.split(separator: "\n").joined(separator: " "))
            return 2
        }
        if let error = error as? ExperimentsError {
            writeError("error: \(error.description)")
            return error.isUsageError ? 2 : 1
        }
        if let error = error as? ReportError {  // writing --out (runner datasets)
            writeError("error: \(error.description)")
            return error.isUsageError ? 2 : 1
        }
        if let error = error as? StoreError, error.isUsageError {  // found on connecting (an unreadable sslrootcert): still bad input
            writeError("error: \(error)")
            return 2
        }
        if Runner.exitCode(for: error) == .success {  // --help of the root command, --version
            say(Runner.fullMessage(for: error))
            return 0
        }
        writeError("error: \(error)")
        return 1
    }

    /// Opens (creating and migrating, when `create`) the database; `work` and `resume` need an existing one.
    /// `readOnly`: for commands that only read (`runner compact --dry-run`), so that a database
    /// nobody may write can still be looked at.
    /// `compacting`: `runner compact`, whose missing database is not one to queue runs in.
    static func openStore(_ global: GlobalOptions, create: Bool, readOnly: Bool = false, compacting: Bool = false) throws -> SlopeStore {
        let location = global.databaseLocation
        if global.isServer { return try openServer(global, create: create, readOnly: readOnly, compacting: compacting) }
        var info = stat()  // stat, not lstat: through a link, the file it points to
        if !create && (stat(location, &info) != 0 || info.st_size == 0) {  // missing, or an empty file: nothing to work on, nothing to create
            throw ExperimentsError.notFound("no database at \(location): " + (compacting
                ? "give --db PATH, the database holding the sweep to compact"
                : "queue runs first with `runner sweep ... --queue-only`, or give --db PATH"))
        }
        return try SlopeStore(path: location, mode: readOnly ? .readOnly : .readWrite, lockWaiting: lockWaiting(path: location))
    }

    /// A PostgreSQL database. `work` and `resume` refuse one without Slope's tables (as they refuse a
    /// missing file) rather than create them: they would find nothing to do.
    private static func openServer(_ global: GlobalOptions, create: Bool, readOnly: Bool, compacting: Bool) throws -> SlopeStore {
        do {
            return try SlopeStore(location: global.databaseLocation, mode: readOnly ? .readOnly : .readWrite,
                                  creatingServerTables: create, reconnection: reconnection(global))
        } catch let StoreError.noDatabase(server, _) where compacting && !create {
            throw ExperimentsError.notFound("no Slope database at \(server) (no Slope tables yet): give the --db URL of the database holding the sweep to compact")
        } catch let StoreError.noDatabase(server, _) where !create && !readOnly {
            throw ExperimentsError.notFound("no Slope database at \(server) (no Slope tables yet): queue runs first with `runner sweep ... --queue-only` "
                                            + "as the database owner (docs/distributed.md, Roles), or give another --db URL")
        }
    }

    /// What `train`, `sweep`, `work` and `resume` say when standard output's reader went away
    /// (`runner sweep ... | head`): the runs are worth more than their progress lines.
    static let closedOutputNotice = "standard output was closed (its reader went away): the runner goes on without it "
        + "(Ctrl-C stops training after the current epoch)"

    /// Ctrl-C or SIGTERM: asks workers to stop after the current epoch, and ends any wait for the
    /// database lock. `stop.signal` is the signal that did.
    static let stop = StopSignal()

    /// Seconds a write waits for another process's lock before the runner says that it is waiting.
    static let lockNoticeSeconds: TimeInterval = 5

    /// Writes wait for another process's lock for as long as it holds it (never failing a run),
    /// saying so on stderr; Ctrl-C ends the wait (before `work` starts, Ctrl-C ends the process).
    private static func lockWaiting(path: String) -> SlopeStore.LockWaiting {
        let host = WorkerIdentity.current().host
        return SlopeStore.LockWaiting(noticeAfter: lockNoticeSeconds, onWait: { pid in
            let holder = pid.map { "pid \($0)@\(host)" } ?? "another process"
            writeError("waiting for the database lock held by \(holder) (\(path)); Ctrl-C to stop")
        }, shouldGiveUp: { stop.isRequested })
    }

    /// A lost connection to the server (a restart, the network) is waited for and said on stderr;
    /// Ctrl-C ends the wait.
    private static func reconnection(_ global: GlobalOptions) -> SlopeStore.PostgresReconnection {
        ConnectionNotices.reconnection(server: global.displayedLocation, whileDown: "reconnecting (Ctrl-C to stop)",
                                       write: { writeError($0) }, shouldGiveUp: { stop.isRequested })
    }

    /// How to continue one run: ` --run N`, or ` --sweep S` when its sweep has more to train than
    /// this run (other runs queued or interrupted, TPE trials not sampled yet).
    static func continuation(ofRun runID: Int64, _ store: SlopeStore) throws -> String {
        guard let sweep = try store.run(id: runID).sweepID, try Worker.pendingRuns(in: store, sweepID: sweep, runID: nil) > 1 else { return " --run \(runID)" }
        return " --sweep \(sweep)"
    }

    /// After `runner resume --run N` finished that run: a note when its sweep is not done (other
    /// runs left, TPE trials not sampled yet), with how to go on; nil otherwise.
    static func sweepLeftNote(afterRun runID: Int64, _ store: SlopeStore, _ global: GlobalOptions) throws -> String? {
        guard let sweep = try store.run(id: runID).sweepID else { return nil }
        let left = try Worker.pendingRuns(in: store, sweepID: sweep, runID: nil)
        guard left > 0 else { return nil }
        return "note: sweep \(sweep) is not finished: \(left) more run\(left == 1 ? "" : "s") to train (queued, interrupted, "
            + "held by other workers or trials not sampled yet); continue with: runner resume --sweep \(sweep)\(suffix(global))"
    }

    /// The stored spec of the sweep (nil for single runs).
    static func spec(_ store: SlopeStore, sweepID: Int64?) -> SweepSpec? {
        guard let sweepID else { return nil }
        return SweepSpec.stored(in: store, sweepID: sweepID)
    }

    /// Before training: the estimated database growth, and above 1 GB a warning with what to do.
    /// `progress`: a sweep's queueing, whose line says a long estimate is on its way.
    static func sayStorageEstimate(_ configurations: [RunConfiguration], _ global: GlobalOptions, progress: QueueingProgress? = nil) {
        guard !global.quiet else { return }
        func estimate() -> (note: String, warning: String?) {
            StorageEstimate.message(configurations: configurations, databasePath: global.displayedLocation)
        }
        let (note, warning) = progress.map { $0.estimating(configurations.count, estimate) } ?? estimate()
        say(note)
        if let warning { writeError(warning) }
    }

    /// Before training: settings that are accepted but may not do what they seem to (`PlanNotes`),
    /// one `note: ...` line each on stderr.
    static func sayNotes(_ notes: [String], _ global: GlobalOptions) {
        guard !global.quiet else { return }
        for note in notes { writeError("note: " + note) }
    }

    static func suffix(_ global: GlobalOptions) -> String {
        global.databaseArgument.isEmpty ? "" : " " + global.databaseArgument
    }

    /// Runs `body` with a worker whose events feed the progress display; Ctrl-C or SIGTERM asks it to
    /// stop after the current epoch (exit 130, 143 for SIGTERM), a second one exits at once saying
    /// what it leaves and how to continue (`runID`: the one run `runner train` trains) (the first
    /// delivered twice is one: `StopSignal.request(signal:at:)`). Prints the summary at the end.
    static func work(_ global: GlobalOptions, store: SlopeStore, totalRuns: Int, sweepID: Int64?,
                     spec: SweepSpec? = nil, staleAfter: TimeInterval = SlopeStore.defaultStaleAfter, jobs: JobOptions? = nil,
                     runID: Int64? = nil, _ body: (Worker) throws -> WorkSummary) throws {
        // A second signal ends the process at once, leaving the runs in training at their last stored epoch.
        let resume = "continue with: runner resume" + (sweepID.map { " --sweep \($0)" } ?? runID.map { " --run \($0)" } ?? "")
            + (jobs?.continuationArgument ?? "") + suffix(global)
        let left = runID.map { "run \($0) left at its last stored epoch" } ?? "the runs in training left at their last stored epoch"
        interrupts.take(.training(quit: "quit at once: \(left); \(resume)"), quiet: global.quiet)
        defer { interrupts.cancel() }  // after the work, the signals end the process again
        let mode = ProgressDisplay.mode(quiet: global.quiet, isTerminal: isatty(STDOUT_FILENO) == 1)
        // Other workers may share the sweep: each finished run's line counts the sweep's too (two small
        // queries), with the runs this process ended read in the same statement (its other threads may
        // have ended runs whose lines are not written yet).
        let identity = WorkerIdentity.current()
        // Without --sweep, the sweep of each run that ends (the queue holds other workers' runs and other sweeps').
        let sweepProgress = { (runID: Int64) -> ProgressDisplay.SweepProgress? in
            guard let id = sweepID ?? (try? store.run(id: runID))?.sweepID,
                  let sweep = try? store.queries.sweepSummary(id: id),
                  let counts = try? store.queries.finishedRunCounts(sweepID: id, worker: identity) else { return nil }
            return ProgressDisplay.SweepProgress(sweepID: id, finished: counts.all, total: sweep.runCount, finishedByThisWorker: counts.byWorker,
                                                 ofEndedRun: sweepID == nil)
        }
        let size = terminalSize()
        let printer = ProgressPrinter(ProgressDisplay(mode: mode, totalRuns: totalRuns, width: size.columns, height: size.rows),
                                      sweepProgress: sweepProgress)
        let worker = Worker(store: store, identity: identity, stop: stop, onEvent: { printer.handle($0) })
        // Off a terminal, a line for an epoch that goes on past a minute (ProgressDisplay.heartbeat).
        let heartbeats = mode == .plain ? Heartbeats(printer) : nil
        let summary: WorkSummary
        do {
            defer { heartbeats?.stop() }
            summary = try body(worker)
        }
        interrupts.flush()  // "stopping after the current epoch" before what follows it
        printer.finish()
        if let refused = summary.refusedThread, !global.quiet {
            writeError("note: trained on \(summary.threads) thread\(summary.threads == 1 ? "" : "s") of the --jobs asked for: \(refused)")
        }
        // A deleted database: no summary of it, no hint to resume or report on a file that is gone.
        try store.checkFileStillThere()
        if summary.wasInterrupted {
            // --run only for the one run that was requeued (a finished one has nothing to resume).
            let single = summary.outcomes.count == 1 && summary.outcomes.values.contains { $0.isInterrupted || $0.isSuspended }
            // ... unless its sweep has more left (queued runs, trials not sampled yet): then the sweep (hostile16 F2).
            let scope = try sweepID.map { " --sweep \($0)" } ?? (single ? Self.continuation(ofRun: summary.runIDs[0], store) : "")
            let stoppedBy = stop.signal ?? SIGINT
            let jobsArgument = jobs?.continuationArgument ?? ""
            if !global.quiet { writeError(interruptedMessage(summary, scope: scope + jobsArgument, signal: stoppedBy) + suffix(global)) }
            throw ExitCode(128 + stoppedBy)
        }
        let held = summary.outcomes.isEmpty && !global.quiet ? try heldRunsNote(store, sweepID: sweepID, staleAfter: staleAfter) : nil
        if let held { say("nothing to do: no queued or interrupted runs" + (sweepID.map { " in sweep \($0)" } ?? "") + "; " + held) }
        if !global.quiet && summary.outcomes.isEmpty && sweepID == nil {
            if held == nil { say("nothing to do: no queued or interrupted runs in \(global.displayedLocation)") }
        } else if !global.quiet {
            // Without --sweep, the runs are summed up by sweep (all its runs, ranked by its metric), as
            // with --sweep; runs of no sweep (`runner train`'s) together. One table per sweep: a loss
            // on one dataset is not ranked against a loss on another (newuser16 N9).
            let scopes: [Int64?]
            if let sweepID {
                scopes = [sweepID]
            } else {
                var seen: [Int64?] = []
                for id in summary.runIDs.sorted() {
                    let sweep = try store.run(id: id).sweepID
                    if !seen.contains(sweep) { seen.append(sweep) }
                }
                scopes = seen
            }
            for (index, scope) in scopes.enumerated() {
                let spec = scope == sweepID ? spec : Self.spec(store, sweepID: scope)
                let runs = try scope.map { try store.queries.runSummaries(sweepID: $0) }
                    ?? summary.runIDs.sorted().compactMap { id in try store.queries.runSummary(id: id).flatMap { $0.sweepID == nil ? $0 : nil } }
                let metric = spec?.metric ?? SweepSpec.Metric(name: .validationLoss, goal: .minimize)
                let diagnoses = try Dictionary(uniqueKeysWithValues: runs.map { run in
                    (run.id, try Diagnostics.diagnose(runID: run.id, layers: run.layers, hiddenActivation: run.text(.activation), optimizer: Diagnostics.optimizer(of: run),
                                                      queries: store.queries))
                })
                if scopes.count > 1 { say((index > 0 ? "\n" : "") + (scope.map { "sweep \($0):" } ?? "runs of no sweep:")) }
                say(ProgressSummary.render(runs: runs, metric: metric.name.rawValue, maximize: metric.goal == .maximize,
                                           sweepID: scope, databaseArgument: global.databaseArgument,
                                           variedColumns: spec?.variedColumns ?? [], reportCommand: reportCommand(), diagnoses: diagnoses,
                                           isSampled: spec.map { $0.method != .grid } ?? false))
            }
        }
        // Runs put back in the queue after the server lost epochs, which this process did not claim
        // again (another worker did, or Ctrl-C came): nothing to fix.
        for (id, outcome) in summary.outcomes.sorted(by: { $0.key < $1.key }) {
            if case let .requeued(reason) = outcome {
                writeError("note: run \(id) was \(reason.split(separator: "\n").joined(separator: " ")) (any `runner work`, or `runner resume`, goes on with it)")
            }
        }
        // Runs too large for this worker's memory, left in the queue for a larger one (it trained the
        // others it could): said first, and exit 1 (the queue is not done) after any error below.
        let setAside = summary.outcomes.sorted { $0.key < $1.key }.compactMap { id, outcome -> (id: Int64, need: String)? in
            if case let .setAside(need) = outcome { return (id, need) } else { return nil }
        }
        if let first = setAside.first {
            let runs = setAside.count == 1 ? "run \(first.id)" : "runs \(setAside.map { String($0.id) }.joined(separator: ", "))"
            let needs = setAside.count == 1 ? "it: \(first.need)"
                : "them: " + setAside.prefix(3).map { "run \($0.id): \($0.need)" }.joined(separator: "; ")
                    + (setAside.count > 3 ? "; and \(setAside.count - 3) more" : "")
            let scope = sweepID.map { " --sweep \($0)" } ?? ""
            writeError("error: \(runs) left in the queue for a worker with more memory: this worker cannot train \(needs); "
                       + "on a machine (or under a limit) with more memory, continue with: runner work\(scope)\(suffix(global))")
        }
        // Runs a full disk, the lock, an I/O error or a read-only file stopped: they resume as they are.
        let suspended = summary.outcomes.sorted { $0.key < $1.key }.compactMap { id, outcome -> (id: Int64, reason: String, requeued: Bool)? in
            if case let .suspended(reason, requeued) = outcome { return (id, reason, requeued) }
            return nil
        }
        if let first = suspended.first {
            let runs = suspended.count == 1 ? "run \(first.id)" : "runs \(suspended.map { String($0.id) }.joined(separator: ", "))"
            let state = first.requeued ? "queued again" : "left running, to be taken over once this process has exited"
            let scope = try sweepID.map { " --sweep \($0)" } ?? (suspended.count == 1 ? Self.continuation(ofRun: first.id, store) : "")
            // Stored epochs are spoken of only when there are some (a run stopped before its first
            // epoch, as one whose data file is missing, has none); assumed when they cannot be counted.
            let hasEpochs = suspended.contains { (try? store.storedEpochCount(runID: $0.id)).map { $0 > 0 } ?? true }
            let kept = hasEpochs ? "Stored epochs are kept (\(state))" : (suspended.count == 1 ? "It is " : "They are ") + state
            writeError("error: \(runs) stopped: \(first.reason.split(separator: "\n").joined(separator: " ")) "
                       + "\(kept); once that is fixed, continue with: runner resume\(scope)\(jobs?.continuationArgument ?? "")\(suffix(global))")
            throw ExitCode(1)
        }
        // Runs that failed, or that another worker took over (this process did not finish them): exit 1.
        let unfinished = summary.outcomes.sorted { $0.key < $1.key }.compactMap { id, outcome -> (id: Int64, what: String)? in
            switch outcome {
            case let .failed(message): return (id, "failed: " + message.split(separator: "\n").joined(separator: " "))
            case let .lost(detail): return (id, "was taken over by another worker: \(detail)")
            case let .databaseGone(message): return (id, "stopped: " + message.split(separator: "\n").joined(separator: " "))
            default: return nil
            }
        }
        if let first = unfinished.first {
            let which = unfinished.count == 1 ? "run \(first.id) \(first.what)"
                : "\(unfinished.count) runs did not finish (\(unfinished.map { String($0.id) }.joined(separator: ", "))); run \(first.id) \(first.what)"
            writeError("error: \(which) (see `\(reportCommand()) show \(first.id)\(suffix(global))`)")
            throw ExitCode(1)
        }
        if !setAside.isEmpty { throw ExitCode(1) }
    }

    /// When nothing was left to do: the runs (of the sweep) still `running` in other workers,
    /// which `runner resume` leaves alone while their workers live (a worker stopped with SIGSTOP
    /// too), said with those workers; nil when there are none.
    static func heldRunsNote(_ store: SlopeStore, sweepID: Int64?, staleAfter: TimeInterval) throws -> String? {
        let stalled = Set(try store.queries.stalledRuns(sweepID: sweepID, staleAfter: staleAfter).map(\.runID))
        // Only the running runs are read (not every run of the scope).
        let running = try store.queries.runSummaries(sweepID: sweepID, filter: .comparison(.status, .equal, .text(RunStatus.running.rawValue)))
            .filter { !stalled.contains($0.id) }
        guard !running.isEmpty else {
            guard !stalled.isEmpty else { return nil }
            return "\(stalled.count) running run\(stalled.count == 1 ? " was" : "s were") left by workers that are gone; continue with: \(CommandHint.command("runner resume"))"
        }
        var workers: [String] = []
        for run in running {
            let worker = run.pid.map { "pid \($0)@\(run.host ?? "?")" } ?? run.worker ?? "?"
            if !workers.contains(worker) { workers.append(worker) }
        }
        let ids = running.prefix(10).map { String($0.id) }.joined(separator: ", ") + (running.count > 10 ? ", ..." : "")
        let shownWorkers = workers.prefix(5).joined(separator: ", ") + (workers.count > 5 ? ", ..." : "")
        return "\(running.count) run\(running.count == 1 ? "" : "s") (\(ids)) \(running.count == 1 ? "is" : "are") running, "
            + "held by live worker\(workers.count == 1 ? "" : "s") (\(terminalSafe(shownWorkers))); `runner resume` takes a run over once "
            + "its worker has exited (or, on another host, once its heartbeat is older than --stale-after)"
    }

    /// After Ctrl-C or SIGTERM: what was left behind (runs requeued, runs left running, TPE trials
    /// not sampled yet) and how to go on. A run the signal stopped while the database could not be
    /// written (waiting for another process's lock) was not requeued: it is said to be left running
    /// (`runner resume` takes it over, its process gone). A run whose database file was deleted or
    /// replaced is said as such: nothing of it is left to resume in that file.
    static func interruptedMessage(_ summary: WorkSummary, scope: String, signal: Int32 = SIGINT) -> String {
        let outcomes = summary.outcomes.sorted { $0.key < $1.key }
        func runs(_ ids: [Int64]) -> String { ids.count == 1 ? "run \(ids[0])" : "runs " + ids.map(String.init).joined(separator: ", ") }
        let leftRunning = outcomes.compactMap { id, outcome -> Int64? in
            if case .suspended(_, requeued: false) = outcome { return id } else { return nil }
        }
        let gone = outcomes.compactMap { id, outcome -> Int64? in
            if case .databaseGone = outcome { return id } else { return nil }
        }
        let requeued = outcomes.contains { id, outcome in
            (outcome.isInterrupted || outcome.isSuspended || outcome.isRequeued) && !leftRunning.contains(id) && !gone.contains(id)
        }
        var left = requeued ? ["runs requeued"] : []
        if !leftRunning.isEmpty {
            left.append("\(runs(leftRunning)) left running at \(leftRunning.count == 1 ? "its" : "their") last stored epoch (not requeued: the database could not be written)")
        }
        if !gone.isEmpty {
            left.append("\(runs(gone)) not requeued: the database file was deleted or replaced while \(gone.count == 1 ? "it" : "they") trained "
                        + "(what was written since went with it)")
        }
        let setAside = outcomes.filter { $0.value.isSetAside }.map(\.key)
        if !setAside.isEmpty { left.append("\(runs(setAside)) left queued for a worker with more memory") }
        for sweep in summary.unsampledTrials {
            let which = summary.unsampledTrials.count > 1 || scope.isEmpty ? " of sweep \(sweep.sweepID)" : ""
            left.append("\(sweep.left) of \(sweep.count) trials\(which) not sampled yet")
        }
        if left.isEmpty { left = ["runs left queued"] }
        return "\(stoppedBy(signal)): \(left.joined(separator: ", ")); continue with: runner resume" + scope
    }

    /// How the user calls this build's `report` (built next to `runner`): `report` when PATH finds
    /// it, else its path as runner was called (`.build/release/report`), so that the hints work
    /// right after `swift build`, before the tools are on PATH.
    static func reportCommand(invokedAs invoked: String = CommandLine.arguments.first ?? "runner",
                              environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        guard let slash = invoked.lastIndex(of: "/") else { return "report" }  // runner came from PATH: so does report
        let sibling = String(invoked[...slash]) + "report"
        guard FileManager.default.isExecutableFile(atPath: sibling) else { return "report" }
        let ours = URL(fileURLWithPath: sibling).resolvingSymlinksInPath().path
        for folder in (environment["PATH"] ?? "").split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(folder)).appendingPathComponent("report")
            guard FileManager.default.isExecutableFile(atPath: candidate.path) else { continue }
            // The first `report` on PATH is the one the shell runs: ours, or another one.
            if candidate.resolvingSymlinksInPath().path == ours { return "report" }
            break
        }
        return CommandHint.shellQuoted(sibling)
    }

    /// The process's Ctrl-C and SIGTERM handlers (`Interrupts`).
    static let interrupts = Interrupts()

    /// How an interrupted line begins: "interrupted" for Ctrl-C, "terminated (SIGTERM)".
    static func stoppedBy(_ signal: Int32) -> String { signal == SIGTERM ? "terminated (SIGTERM)" : "interrupted" }

    /// The live display's columns, by report's rule (`TerminalSize.standardOutputColumns`: COLUMNS,
    /// else the terminal's; 100 when neither says), and rows (the terminal's; nil when it says none).
    private static func terminalSize() -> (columns: Int, rows: Int?) {
        (TerminalSize.standardOutputColumns() ?? 100, TerminalSize.of(STDOUT_FILENO).rows)
    }
}

/// Ctrl-C and SIGTERM (systemd, `docker stop`, Kubernetes, `scancel`, `timeout`) as requests to
/// `Console.stop`, through one set of handlers made once, by the first phase that takes the
/// signals (`runner sweep` before it checks its runs, the other commands at `Console.work`), and
/// cancelled after the work: a second set made after the first was cancelled never gets the
/// signals (libdispatch), which left Ctrl-C ignored during training. What the first signal does
/// depends on the phase; a second one ends the process at once (the database's transaction or
/// journal keeps it whole), saying first what it leaves when it comes while the sweep is written:
/// nothing queued (the transaction is rolled back with the process), or, once the write has
/// committed, the sweep queued. Which of the two is the phase's, and the phase moves to
/// `.committing` at the commit (the write's own hook), so the line is always true.
final class Interrupts: @unchecked Sendable {  // phase, quiet and handlers under `condition`
    enum Phase: Equatable {
        /// Nothing under way that a signal should wait for: the first signal ends the process at
        /// once, saying `left` (what the process leaves). `runner sweep` checking its runs, nothing
        /// written yet (`queueing`); `runner compact` before its deletion (one transaction, undone
        /// with the process) and during VACUUM (undone whole: the file as large as it was).
        case endsAtOnce(left: String)
        /// Writing the sweep (one transaction): the first signal says the write stops; it stops at
        /// its next run and is undone (`SweepPlan.enqueue(shouldStop:)`), and `Sweep.run` says so.
        case writing
        /// The sweep's transaction is committing (its runs written, `shouldStop` asked for the last
        /// time: `SweepPlan.enqueue(committing:)`), so whether it is queued is the commit's to say:
        /// a second signal waits for the outcome (`.written`), at most `commitWait`, and then says
        /// `unsettled` (the rest of its line: that it may have been queued, and where to look).
        case committing(unsettled: String)
        /// The sweep's write has ended: committed, `queued` the rest of the line that says what was
        /// queued and how to train it; nil when it was undone or failed (nothing queued).
        /// `Sweep.run` says what a first signal found; a second one says it at once.
        case written(queued: String?)
        /// Training: the first signal stops after the current epoch (`Worker`); a second one says
        /// `quit` (the rest of its line: what is left and how to continue) as it ends the process.
        case training(quit: String)

        /// Checking a sweep's runs, nothing written yet: ends at once, saying nothing was queued.
        static let queueing = Phase.endsAtOnce(left: StoreError.nothingQueuedMessage)
    }

    /// How long a second signal waits for a commit under way to end before saying it may have been queued.
    static let commitWait: TimeInterval = 2

    private let condition = NSCondition()
    private var phase = Phase.queueing
    private var quiet = false
    private var handlers: StopSignalHandlers?
    private var isCancelled = false
    private let stop: StopSignal
    private let commitWait: TimeInterval
    private let write: @Sendable (String) -> Void
    private let end: @Sendable (Int32) -> Never
    private let installsHandlers: Bool

    /// The process's handlers of `stop` (`Console.interrupts`). Tests make one that installs no
    /// handlers and ends nothing (`end` parks the thread), to call `second(_:)` themselves.
    init(stop: StopSignal = Console.stop, commitWait: TimeInterval = Interrupts.commitWait,
         write: @escaping @Sendable (String) -> Void = { Console.writeError($0) },
         end: @escaping @Sendable (Int32) -> Never = { _exit($0) }, installsHandlers: Bool = true) {
        self.stop = stop
        self.commitWait = commitWait
        self.write = write
        self.end = end
        self.installsHandlers = installsHandlers
    }

    /// Moves to `phase`, making the handlers the first time.
    func take(_ phase: Phase, quiet: Bool) {
        condition.lock()
        defer { condition.unlock() }
        self.phase = phase
        self.quiet = quiet
        condition.broadcast()  // a second signal waiting for a commit's outcome
        guard installsHandlers, handlers == nil, !isCancelled else { return }
        handlers = StopSignalHandlers(stop, onFirst: { [unowned self] number in self.first(number) },
                                      onSecond: { [unowned self] number in self.second(number) })
    }

    /// A second request: ends the process at once. While the sweep is written it says what the
    /// process leaves: nothing queued (the transaction is rolled back with it), or, once the
    /// commit has ended, the sweep queued. The lock is kept until the process ends, so no commit
    /// begins behind a line saying nothing was queued. The work may be ending by itself and
    /// saying so (`StopSignal.claimEnd` on `Console.stop`): then it writes the one line.
    func second(_ number: Int32) {
        condition.lock()
        let deadline = Date().addingTimeInterval(commitWait)
        while case .committing = phase, condition.wait(until: deadline) {}
        let line: String?
        switch phase {
        case .writing, .written(queued: nil): line = StoreError.nothingQueuedMessage
        case .written(let queued?): line = queued
        case .committing(let unsettled): line = unsettled
        case .training(let quit): line = quit
        case .endsAtOnce(let left): line = left  // the first signal's end, unless the work is ending and saying it
        }
        if let line {
            guard stop.mayEnd(.signal) else { condition.unlock(); return }  // `Sweep.run` is ending and writes the line
            if !quiet {
                let fresh = isatty(STDERR_FILENO) == 1 ? "\n" : ""
                write(fresh + Console.stoppedBy(stop.signal ?? number) + ": " + line)
            }
        }
        end(128 + number)
    }

    /// A first request: what it does depends on the phase (see `Phase`). Tests call it directly.
    func first(_ number: Int32) {
        condition.lock()
        switch phase {
        case .endsAtOnce(let left):
            // The lock is held until the process ends: the next step (a write) cannot begin behind this line.
            guard stop.mayEnd(.signal) else { condition.unlock(); return }  // the work is ending and says why
            if !quiet {
                let fresh = isatty(STDERR_FILENO) == 1 ? "\n" : ""  // below a status line left on the terminal
                write(fresh + Console.stoppedBy(number) + ": " + left)
            }
            end(128 + number)
        case .writing:
            let quiet = self.quiet
            condition.unlock()
            guard !quiet else { return }
            let fresh = isatty(STDERR_FILENO) == 1 ? "\n" : ""  // below the status line
            write(fresh + (number == SIGTERM ? "terminated (SIGTERM): " : "") + "stopping the sweep's write, which is undone unless it has "
                  + "just finished (\(number == SIGTERM ? "SIGTERM or " : "")Ctrl-C again to quit at once)...")
        case .committing, .written:
            condition.unlock()
        case .training:
            let quiet = self.quiet
            condition.unlock()
            guard !quiet else { return }
            write(number == SIGTERM ? "\nterminated (SIGTERM): stopping after the current epoch (SIGTERM or Ctrl-C again to quit at once)..."
                                    : "\nstopping after the current epoch (Ctrl-C again to quit at once)...")
        }
    }

    /// Waits until the first signal's line, if one came, is written.
    func flush() {
        condition.lock()
        let handlers = self.handlers
        condition.unlock()
        handlers?.flush()
    }

    /// From now on the signals end the process again (their default action), for good.
    func cancel() {
        condition.lock()
        defer { condition.unlock() }
        handlers?.cancel()
        handlers = nil
        isCancelled = true
    }
}

/// Serializes worker events (from several threads) into the display and onto stdout.
final class ProgressPrinter: @unchecked Sendable {
    private let lock = NSLock()
    private let display: ProgressDisplay
    /// The finished runs and total of the sweep (--sweep, else the ended run's), asked when a run ends (nil: no sweep).
    private let sweepProgress: ((Int64) -> ProgressDisplay.SweepProgress?)?

    init(_ display: ProgressDisplay, sweepProgress: ((Int64) -> ProgressDisplay.SweepProgress?)? = nil) {
        self.display = display
        self.sweepProgress = sweepProgress
    }

    func handle(_ event: WorkerEvent) {
        lock.lock()
        defer { lock.unlock() }
        let text: String
        switch event {
        case let .runStarted(runID, label, epochs, firstEpoch):
            text = display.runStarted(runID: runID, label: label, epochs: epochs, firstEpoch: firstEpoch)
        case let .epochFinished(runID, epoch, _, trainLoss, validationLoss):
            text = display.epochFinished(runID: runID, epoch: epoch, trainLoss: trainLoss, validationLoss: validationLoss)
        case let .runFinished(runID, label, outcome):
            text = display.runFinished(runID: runID, label: label, status: outcome.statusText, detail: outcome.detail, sweep: sweepProgress?(runID))
        }
        write(text)
    }

    func finish() {
        lock.lock()
        defer { lock.unlock() }
        write(display.finish())
    }

    /// The "still running" lines of long epochs (`ProgressDisplay.heartbeat`).
    func heartbeat() {
        lock.lock()
        defer { lock.unlock() }
        write(display.heartbeat())
    }

    private func write(_ text: String) {
        guard !text.isEmpty else { return }
        StandardStream.output.write(text)
    }
}

/// Asks the printer every 5 seconds for the "still running" lines of long epochs, while training.
final class Heartbeats: @unchecked Sendable {  // the timer is only set in init
    private let queue = DispatchQueue(label: "slope.heartbeats")
    private let timer: DispatchSourceTimer

    init(_ printer: ProgressPrinter) {
        timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + 5, repeating: 5)
        timer.setEventHandler { printer.heartbeat() }
        timer.resume()
    }

    /// No more lines, also none already on its way: returns once a line being written is.
    func stop() {
        timer.cancel()
        queue.sync {}
    }
}

/// Queueing a large sweep on stderr, as a long wait for the lock is said: nothing for the first
/// second (most sweeps take less); then, on a terminal, one line kept up to date and erased at the
/// end, and elsewhere (a log) a line every 10 seconds.
final class QueueingProgress: @unchecked Sendable {
    private let line: StatusLine

    init(quiet: Bool) { line = StatusLine(quiet: quiet, delay: 1, logInterval: 10) }

    /// Checking the runs' settings and data (called from `SweepPlan`, on this thread).
    func checked(_ done: Int, _ total: Int) {
        line.show("queueing the sweep: checked \(done) of \(total) runs' settings...")
    }

    /// Estimating the database growth of a large sweep (each run's configuration encoded): said
    /// before, as it gives no progress, and erased once done, before the estimate is printed.
    func estimating<Result>(_ count: Int, _ body: () throws -> Result) rethrows -> Result {
        if count >= 10_000 || line.isShown { line.show("queueing the sweep: estimating the database growth of \(count) runs...", always: true) }
        defer { finish() }
        return try body()
    }

    /// Writing the runs in one transaction (seconds for 100,000): said before, as it gives no progress.
    func writing<Result>(_ count: Int, into location: String, _ body: () throws -> Result) throws -> Result {
        if count >= 10_000 || line.isShown { line.show("queueing the sweep: writing \(count) runs to \(terminalSafe(location))...", shortening: terminalSafe(location), always: true) }
        defer { finish() }
        return try body()
    }

    /// Erases the live line (a log keeps its lines).
    func finish() { line.finish() }
}
