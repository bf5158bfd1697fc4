// The subcommands: each parses, validates, and hands over to Experiments through Console.
import ArgumentParser
import CLISupport
import Experiments
import Foundation
import Reporting
import Store

struct Train: ParsableCommand, UsesDatabase {
    static let configuration = CommandConfiguration(
        abstract: "Train one run from flags and record every epoch.",
        discussion: """
            Example:
              runner train --dataset digits --hidden 64 --learning-rate 0.05 --epochs 30
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup(title: "Run settings") var settings: SettingOptions

    func validate() throws {
        do {
            _ = try settings.flagSettings.singleRunSettings()
        } catch let error as ExperimentsError {
            throw ValidationError(error.description)
        }
    }

    func run() throws {
        let configuration = try RunConfiguration.make(try settings.flagSettings.singleRunSettings(), given: settings.flagSettings.givenValues)
        // Opened first: a database this process may not write is refused before the estimate is said.
        let store = try Queueing.run { try Console.openStore(global, create: true) }
        defer { try? store.close() }  // checkpoint and remove the WAL now, not whenever deinit runs
        Console.sayStorageEstimate([configuration], global)
        Console.sayNotes(PlanNotes.notes(run: configuration), global)
        let runID = try Queueing.run { try store.createRun(configuration.newRun()) }
        try Console.work(global, store: store, totalRuns: 1, sweepID: nil, runID: runID) { worker in
            let outcome = try worker.runQueued(runID: runID)
            // Ctrl-C while waiting for the database lock suspends the run: interrupted, too.
            return WorkSummary(outcomes: [runID: outcome], wasInterrupted: outcome.isInterrupted || ((outcome.isSuspended || outcome.isRequeued) && Console.stop.isRequested))
        }
    }
}

struct Sweep: ParsableCommand, UsesDatabase {
    static let configuration = CommandConfiguration(
        abstract: "Record a sweep, queue its runs in one transaction, and train them.",
        discussion: """
            From a spec file (see docs/sweeps.md), or from flags with comma lists:
              runner sweep examples/lr-vs-batch.yaml
              runner sweep --learning-rate 0.001,0.01,0.1 --batch-size 16,64,256 --seed 0,1
            Flags given next to a spec file replace the file's values for those settings.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup(title: "Run settings (comma lists sweep over the values)") var settings: SettingOptions

    @Argument(help: ArgumentHelp("A sweep spec file (YAML).", valueName: "spec.yaml"))
    var spec: String?

    @OptionGroup var jobOptions: JobOptions

    @Flag(help: "Record and queue the sweep without training it (for `runner work` processes).")
    var queueOnly = false

    /// For a number given where the spec file goes, after a flag's value: "(to sweep several values,
    /// separate them with commas: --learning-rate 0.1,0.2)", the flag and its values as given.
    static func listHint(_ arguments: [String], value: String) -> String {
        guard let index = arguments.lastIndex(of: value),
              let flagIndex = arguments[..<index].lastIndex(where: { $0.hasPrefix("--") }), !arguments[flagIndex].contains("=") else {
            return "(to sweep several values, separate them with commas, e.g. --learning-rate 0.1,0.2)"
        }
        let values = arguments[(flagIndex + 1)...index].joined(separator: ",")
        return "(to sweep several values, separate them with commas: \(arguments[flagIndex]) \(values))"
    }

    func validate() throws {
        if spec == nil && settings.flagSettings.entries.allSatisfy({ $0.setting == .name }) {
            throw ValidationError("give a sweep spec file, or flags with comma lists (e.g. --learning-rate 0.01,0.1)")
        }
    }

    func run() throws {
        // Ctrl-C from here until the write says nothing was queued (Interrupts).
        Console.interrupts.take(.queueing, quiet: global.quiet)
        defer { Console.interrupts.cancel() }
        let file = try spec.map { path in
            do {
                return try SweepSpec.load(path: path, checkingData: false)  // checked after the flags
            } catch let ExperimentsError.badSpecFile(file, reason) where reason == "no such file" && Double(file) != nil {
                // `--learning-rate 0.1 0.2`: the second value was taken as the spec file.
                throw ExperimentsError.badSpecFile(path: path, reason: "no such file " + Self.listHint(CommandLine.arguments, value: path))
            }
        }
        let sweepSpec = try settings.flagSettings.sweepSpec(file: file, name: settings.name ?? "sweep", filePath: spec)
        let progress = QueueingProgress(quiet: global.quiet)
        let plan = try SweepPlan(spec: sweepSpec, source: spec, onProgress: progress.checked)
        progress.finish()
        // Opened first: a database this process may not write is refused before the estimate is said.
        let store = try Queueing.run { try Console.openStore(global, create: true) }
        defer { try? store.close() }  // checkpoint and remove the WAL now, not whenever deinit runs
        Console.sayStorageEstimate(plan.plannedConfigurations, global, progress: progress)
        Console.sayNotes(PlanNotes.notes(plan: plan), global)
        Console.interrupts.take(.writing, quiet: global.quiet)
        // From the commit on, a second signal says what the commit did, not that nothing was queued (Interrupts).
        let unsettled = "the sweep's write was being committed and had not finished, so it may have been queued: "
            + "`\(Console.reportCommand()) sweeps\(Console.suffix(global))` lists it if it was"
        let sweepID: Int64, runIDs: [Int64]
        do {
            (sweepID, runIDs) = try progress.writing(plan.configurations.count, into: global.displayedLocation) {
                try plan.enqueue(in: store, shouldStop: { Console.stop.isRequested },
                                 committing: { Console.interrupts.take(.committing(unsettled: unsettled), quiet: global.quiet) })
            }
        } catch {
            Console.interrupts.take(.written(queued: nil), quiet: global.quiet)  // undone, or failed: nothing queued
            guard Console.stop.isRequested else { throw error }
            // The write stopped (or gave up waiting for the lock) and was undone.
            let signal = Console.stop.signal ?? SIGINT
            Console.stop.claimEnd()
            Console.interrupts.flush()  // "stopping the sweep's write" before this line
            if !global.quiet { Console.writeError(Console.stoppedBy(signal) + ": " + StoreError.nothingQueuedMessage) }
            throw ExitCode(128 + signal)
        }
        // A TPE sweep's trials are sampled as workers ask for them.
        let queued = sweepSpec.method == .tpe ? "\(sweepSpec.runCount) trial\(sweepSpec.runCount == 1 ? "" : "s") to sample"
            : "\(runIDs.count) run\(runIDs.count == 1 ? "" : "s") queued"
        let them = (sweepSpec.method == .tpe ? sweepSpec.runCount : runIDs.count) == 1 ? "it" : "them"  // a TPE sweep queues no run yet
        let sweep = "sweep \(sweepID) (\(terminalSafe(sweepSpec.name.count <= 80 ? sweepSpec.name : sweepSpec.name.prefix(80) + "...")))"
        // What a signal that came as the write committed finds: the sweep queued, nothing trained.
        let queuedJustBefore = "\(sweep) was queued just before (\(queued)), none trained; train \(them) with: "
            + "runner work --sweep \(sweepID)\(jobOptions.continuationArgument)" + Console.suffix(global)
        Console.interrupts.take(.written(queued: queuedJustBefore), quiet: global.quiet)
        if let signal = Console.stop.signal {
            Console.stop.claimEnd()  // unless a second signal is saying it
            if !global.quiet { Console.writeError("\(Console.stoppedBy(signal)): " + queuedJustBefore) }
            throw ExitCode(128 + signal)
        }
        if queueOnly {
            // On a server the owner queues (it creates the tables) and workers log in as the worker
            // role: a hint for the owner only (one queueing as the worker role already is it).
            let role = try global.isServer && store.connectedRoleOwnsTables() ? " (or with the worker role's URL: docs/distributed.md, Roles)" : ""
            if !global.quiet { Console.say("\(sweep): \(queued); train \(them) with: runner work --sweep \(sweepID)" + Console.suffix(global) + role) }
            return
        }
        if !global.quiet { Console.say("\(sweep): \(queued) in \(global.displayedLocation), \(jobOptions.count) at a time") }
        try Console.work(global, store: store, totalRuns: sweepSpec.method == .tpe ? sweepSpec.runCount : runIDs.count, sweepID: sweepID, spec: sweepSpec, jobs: jobOptions) { worker in
            try worker.work(sweepID: sweepID, jobs: jobOptions.count)
        }
    }
}

struct Work: ParsableCommand, UsesDatabase {
    static let configuration = CommandConfiguration(
        abstract: "Claim and train queued runs until none are left (several workers can share a sweep).")

    @OptionGroup var global: GlobalOptions

    @Option(parsing: .unconditional, help: ArgumentHelp("Only runs of this sweep (default: any queued run).", valueName: "id"),
            transform: AcceptedValues<Int64>.sweepID("--sweep").parse)
    var sweep: Int64?

    @OptionGroup var jobOptions: JobOptions


    func run() throws {
        let store = try Console.openStore(global, create: false)
        defer { try? store.close() }  // checkpoint and remove the WAL now, not whenever deinit runs
        let pending = try Worker.pendingRuns(in: store, sweepID: sweep, runID: nil)
        try Console.work(global, store: store, totalRuns: pending, sweepID: sweep, spec: Console.spec(store, sweepID: sweep), jobs: jobOptions) { worker in
            try worker.work(sweepID: sweep, jobs: jobOptions.count)
        }
    }
}

struct Resume: ParsableCommand, UsesDatabase {
    static let configuration = CommandConfiguration(
        abstract: "Continue interrupted runs from their last stored epoch, then train the sweep's queued runs.",
        discussion: """
            Interrupted runs: requeued by Ctrl-C or by a failed database write (a full disk), or `running` \
            while their worker is gone (on this host: its process no longer exists; on another host, or \
            in another container: its heartbeat is older than --stale-after). \
            The continued run gives the same bits as if it had never stopped. \
            A TPE sweep's trials not sampled yet are sampled and trained too; once no queued \
            run is left, runs whose worker died meanwhile are taken over before it ends.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(parsing: .unconditional, help: ArgumentHelp("Only this sweep.", valueName: "id"), transform: AcceptedValues<Int64>.sweepID("--sweep").parse)
    var sweep: Int64?

    @Option(name: .customLong("run"), parsing: .unconditional, help: ArgumentHelp("Only this run.", valueName: "id"),
            transform: AcceptedValues<Int64>.runID("--run").parse)
    var runID: Int64?

    @OptionGroup var jobOptions: JobOptions

    @Option(parsing: .unconditional,
            help: ArgumentHelp("Seconds without a heartbeat after which a run held by another host (or a container this host cannot look into) counts as interrupted: \(Self.staleAfterValues.expected). Default: \(Seconds(SlopeStore.defaultStaleAfter).text).", valueName: "seconds"),
            transform: { try Seconds($0, accepted: Resume.staleAfterValues) })
    var staleAfter = Seconds(SlopeStore.defaultStaleAfter)

    static let staleAfterValues = AcceptedValues<Double>.number("--stale-after", .leastNonzeroMagnitude...1e9,
                                                                 expected: "a number of seconds > 0 and at most 1e9 (about 31 years)")

    func validate() throws {
        if sweep != nil && runID != nil { throw ValidationError("give --sweep or --run, not both") }
    }

    func run() throws {
        let store = try Console.openStore(global, create: false)
        defer { try? store.close() }  // checkpoint and remove the WAL now, not whenever deinit runs
        let pending = try Worker.pendingRuns(in: store, sweepID: sweep, runID: runID)
        try Console.work(global, store: store, totalRuns: pending, sweepID: sweep, spec: Console.spec(store, sweepID: sweep),
                         staleAfter: staleAfter.value, jobs: jobOptions) { worker in
            try worker.resume(sweepID: sweep, runID: runID, jobs: jobOptions.count, staleAfter: staleAfter.value)
        }
        if let runID, !global.quiet, let note = try Console.sweepLeftNote(afterRun: runID, store, global) { Console.writeError(note) }
    }
}

struct Datasets: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the built-in datasets with their shapes, or write one as a CSV file.",
        discussion: """
            With --csv NAME --out FILE: the dataset as CSV (header x0..x63,label for digits; \
            x1,x2,...,target for the generated ones), as --dataset FILE and report evaluate --data read it.
            Example:
              runner datasets --csv digits --out test.csv
            """)

    @Option(parsing: .unconditional, help: ArgumentHelp("Write this built-in dataset as CSV (generator options as for training, e.g. moons:rows=100).", valueName: "name"))
    var csv: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("The CSV file to write (replaced whole, never half-written; never a database; - for standard output).", valueName: "file.csv"))
    var out: String?

    func validate() throws {
        if csv != nil && out == nil { throw ValidationError("--csv needs --out FILE.csv, the file to write") }
        if csv == nil && out != nil { throw ValidationError("--out goes with --csv NAME, the dataset to write") }
        if let out, out.isEmpty { throw ValidationError("--out: give a file name (or - for standard output)") }
    }

    func run() throws {
        if let csv, let out {
            let data = try DataCatalog.csvExport(ofBuiltIn: csv)
            if try !OutputFile.write(data, to: out, protecting: nil) {  // on standard output, the CSV alone
                let rows = data.reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) } - 1
                if let line = OutputFile.wroteLine(out, detail: "\(csv), \(rows) rows and a header") { Console.say(line) }
            }
            return
        }
        for dataset in try DataCatalog.builtInSummaries() {
            Console.say("\(dataset.name.padding(toLength: 9, withPad: " ", startingAt: 0))\(dataset.shape.padding(toLength: 14, withPad: " ", startingAt: 0))"
                + "\(dataset.task.padding(toLength: 30, withPad: " ", startingAt: 0))\(dataset.summary)")
            if !dataset.options.isEmpty { Console.say("         options: \(dataset.options)") }
        }
        Console.say("CSV files: --dataset FILE.csv (header row; --target COLUMN, default the last).")
    }
}

struct Compact: ParsableCommand, UsesDatabase {
    static let configuration = CommandConfiguration(
        abstract: "Delete the tensors of intermediate epochs of a sweep's finished runs, and shrink the file.",
        discussion: """
            Epoch 0, every Kth epoch and each run's last stored epoch keep their
            tensors; the epochs' losses and accuracies all stay. Runs that could still
            be resumed (queued, interrupted, running) are left as they are. The space
            is given back with SQLite's VACUUM, which rewrites the database: it needs
            free disk space for a copy of it, and waits for other processes' writes
            (readers can go on). With nothing to delete and under 1 MB of free space,
            VACUUM is skipped and the file is not written.
            Example:
              runner compact --sweep 1 --keep-every 10 --dry-run
            """)

    @OptionGroup var global: GlobalOptions

    @Option(parsing: .unconditional, help: ArgumentHelp("The sweep to compact.", valueName: "id"), transform: AcceptedValues<Int64>.sweepID("--sweep").parse)
    var sweep: Int64

    @Option(parsing: .unconditional, help: ArgumentHelp("Keep the tensors of every Kth epoch (and epoch 0 and the last): \(Self.keepEveryValues.expected).", valueName: "k"),
            transform: Compact.keepEveryValues.parse)
    var keepEvery: Int

    static let keepEveryValues = AcceptedValues<Int>.wholeNumber("--keep-every", 1 ... .max, note: "1 keeps every epoch")

    @Flag(help: "Say what would be deleted, and change nothing.")
    var dryRun = false

    func run() throws {
        // Ctrl-C and SIGTERM end the process at once, saying what it leaves (hostile15 F19): see `steps`.
        Console.interrupts.take(.endsAtOnce(left: dryRun ? "nothing was changed (a dry run)" : Self.nothingDeleted), quiet: global.quiet)
        defer { Console.interrupts.cancel() }
        // Planned on a read-only open first (a read-write open writes to the file by itself: GRDB sets
        // up the WAL), so that with nothing to delete and nothing worth giving back the file is left
        // as it is. Any trouble there (an older schema to migrate) is met again by the real run.
        var summary: SlopeStore.Compaction
        if var planned = try? compaction(dryRun: true), dryRun || !planned.writes {
            planned.isDryRun = dryRun
            summary = planned
        } else {
            summary = try compaction(dryRun: dryRun)
        }
        if !global.quiet { Console.say(CompactionSummary.render(summary, databasePath: global.isServer ? nil : global.databaseLocation)) }
    }

    private func compaction(dryRun: Bool) throws -> SlopeStore.Compaction {
        let store = try Console.openStore(global, create: false, readOnly: dryRun, compacting: true)  // a dry run writes nothing
        defer { try? store.close() }
        return try store.compact(sweepID: sweep, keepEvery: keepEvery, dryRun: dryRun, step: { try steps($0) })
    }

    /// What a signal before the deletion has committed leaves.
    static let nothingDeleted = "nothing was deleted (the deletion is one transaction, undone with the process)"

    private func steps(_ step: SlopeStore.CompactionStep) throws {
        try Self.enter(step, line: Self.interruptedLine(at: step, sweep: sweep, keepEvery: keepEvery, suffix: Console.suffix(global)),
                       quiet: global.quiet)
    }

    /// Moves the signals' phase to `step`'s, whose `line` says what a signal then leaves: while the
    /// deletion commits, a signal waits for the commit's outcome (as `runner sweep`'s does); after
    /// it, a signal ends the process at once, and one that came during the commit ends it here.
    /// - Throws: `ExitCode` 130 (143 for SIGTERM) when a signal came during the commit.
    static func enter(_ step: SlopeStore.CompactionStep, line: String, quiet: Bool, interrupts: Interrupts = Console.interrupts,
                      stop: StopSignal = Console.stop, writeError: (String) -> Void = { Console.writeError($0) }) throws {
        switch step {
        case .committing:
            interrupts.take(.committing(unsettled: line), quiet: quiet)
        case .deleted, .vacuumed:
            interrupts.take(.endsAtOnce(left: line), quiet: quiet)
            if let signal = stop.signal {
                stop.claimEnd()  // unless a second signal is saying it: then it ends the process
                if !quiet { writeError(Console.stoppedBy(signal) + ": " + line) }
                throw ExitCode(128 + signal)
            }
        }
    }

    /// What the process leaves when a signal ends it at `step` (after "interrupted: ").
    static func interruptedLine(at step: SlopeStore.CompactionStep, sweep: Int64, keepEvery: Int, suffix: String) -> String {
        let again = "runner compact --sweep \(sweep) --keep-every \(keepEvery)\(suffix)"
        switch step {
        case .committing:
            return "the deletion was being committed and had not finished, so the tensors may have been deleted: "
                + "`\(again) --dry-run` says what is left to delete"
        case let .deleted(epochs, vacuuming):
            let deleted = epochs == 0 ? "no tensors were deleted (none were left to delete)"
                : "the tensors of \(epochs) epoch\(epochs == 1 ? "" : "s") were deleted"
            return vacuuming ? "\(deleted); the file was not shrunk yet: run the same command again (\(again))"
                : "\(deleted); there was nothing more to do"
        case .vacuumed:
            return "the compaction had finished (the file was shrunk)"
        }
    }
}
