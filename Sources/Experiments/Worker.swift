// The worker loop: claim a run, build its data, train it fresh or from its last
// stored epoch, write every epoch by the logging policy (EpochLog), prune (median or ASHA:
// WorkerSearch.swift), and end it as completed / pruned / diverged / failed, or requeue it on Ctrl-C.
import Foundation
import NeuralNet
import Store

/// What a worker reports as it goes; the executable decides how to show it.
public enum WorkerEvent: Sendable {
    /// `firstEpoch` is 0 for a fresh run, k + 1 when resuming after stored epoch k.
    case runStarted(runID: Int64, label: String, epochs: Int, firstEpoch: Int)
    case epochFinished(runID: Int64, epoch: Int, epochs: Int, trainLoss: Double, validationLoss: Double?)
    case runFinished(runID: Int64, label: String, outcome: RunOutcome)
}

/// How a run ended in this process.
public enum RunOutcome: Equatable, Sendable {
    case finished(RunStatus, reason: String)
    /// Requeued after Ctrl-C; `runner resume` continues it.
    case interrupted(epoch: Int?)
    /// Another claim holds it now (it was reclaimed while this one was slow or cut off): what the
    /// store found, e.g. `it is held by runner 77@b under claim 3; this worker's claim 2 is stale`.
    case lost(String)
    /// Stopped by a condition outside the run (a full disk, the database lock, an I/O error, a
    /// read-only file): put back in the queue with the reason when `requeued`, else left `running`
    /// for `runner resume` to take over once this process has ended. Its stored epochs stay.
    case suspended(reason: String, requeued: Bool)
    /// Stopped because the SQLite file was deleted or replaced while the run trained
    /// (`StoreError.databaseGone`, the message): what it wrote since went with the old file, nothing
    /// more is written, nothing is left running or requeued anywhere.
    case databaseGone(String)
    /// Put back in the queue because the server no longer has epochs it had confirmed (a crash
    /// with synchronous_commit=off): nothing is to be fixed, so it is claimed again (by this
    /// worker or another) and resumes from its stored epochs.
    case requeued(reason: String)
    /// Put back in the queue because this worker has too little memory for it (`need`: what it
    /// needs and the limit it meets, e.g. `--hidden: a 2-3000-3000-2 network (...) needs about 0.7 GB
    /// of memory to train; the address-space limit (ulimit -v, 0.4 GB) leaves 0.1 GB`): a worker
    /// with more memory trains it; this one skips it from then on and goes on with the others.
    case setAside(need: String)
    case failed(String)

    /// Requeued by Ctrl-C (`runner resume` continues it).
    public var isInterrupted: Bool { if case .interrupted = self { return true } else { return false } }

    /// Stopped by a store failure from outside the run (`runner resume` continues it), or by the
    /// database file deleted or replaced (`.databaseGone`).
    public var isSuspended: Bool {
        switch self {
        case .suspended, .databaseGone: return true
        default: return false
        }
    }

    /// Put back in the queue after the server lost its epochs (claimed again to resume them).
    public var isRequeued: Bool { if case .requeued = self { return true } else { return false } }

    /// Left in the queue for a worker with more memory.
    public var isSetAside: Bool { if case .setAside = self { return true } else { return false } }

    public var statusText: String {
        switch self {
        case let .finished(status, _): return status.rawValue
        case .interrupted: return "interrupted"
        case .lost: return "lost"
        case .suspended, .databaseGone: return "suspended"
        case .requeued: return "requeued"
        case .setAside: return "set aside"
        case .failed: return "failed"
        }
    }
}

public struct WorkSummary: Sendable, Equatable {
    public var outcomes: [Int64: RunOutcome] = [:]
    public var wasInterrupted = false
    /// After Ctrl-C: the TPE sweeps in scope with trials not sampled yet (by sweep id).
    public var unsampledTrials: [UnsampledTrials] = []
    /// Training threads started (at most --jobs, and at most one more than the runs claimed).
    public var threads = 0
    /// Why a training thread after the first could not start (a memory limit), the worker going on
    /// with fewer than --jobs; nil when every thread it wanted started.
    public var refusedThread: String?
    public var runIDs: [Int64] { outcomes.keys.sorted() }

    public init(outcomes: [Int64: RunOutcome] = [:], wasInterrupted: Bool = false) {
        self.outcomes = outcomes
        self.wasInterrupted = wasInterrupted
    }
}

/// A TPE sweep that Ctrl-C left with `left` of its `count` trials not sampled yet.
public struct UnsampledTrials: Sendable, Equatable {
    public var sweepID: Int64
    public var left: Int
    public var count: Int
}

public final class Worker: @unchecked Sendable {
    public let store: SlopeStore
    public let identity: WorkerIdentity
    public let stop: StopSignal
    /// Seconds between heartbeats while an epoch runs (well under `runner resume --stale-after`).
    public var heartbeatInterval: TimeInterval = 30
    private let onEvent: @Sendable (WorkerEvent) -> Void
    private let lock = NSLock()
    private var sweepSpecs: [Int64: SweepSpec] = [:]
    /// The trial makers of the TPE sweeps this worker made trials for (WorkerSearch.swift).
    let trialMakers = Locked<[Int64: TrialMaker]>([:])
    /// The runs this worker will not claim again, which its claims skip: those it set aside, too
    /// large for its memory (`.setAside`), so that it goes on with the runs it can train (claims go
    /// oldest first: each of its threads would otherwise meet the same large run first) and leaves
    /// them to a larger worker; and those it put back for a condition of its own (`putBack`,
    /// `suspend`), noted before the requeue, so that a claim of another of its threads already in
    /// flight cannot take one.
    let unclaimableRuns = Locked<Set<Int64>>([])
    /// Set once a run of this worker met a condition of this worker (a missing or changed file, a
    /// write that failed, the database gone), before that run is put back in the queue: from then on
    /// no thread of `work` claims a run, not even with the finish of the run it ends (the next run
    /// would meet the same condition, and the oldest queued is likely the one just put back).
    /// Each `work` starts with it clear.
    let claimsStopped = Locked(false)

    public init(store: SlopeStore, identity: WorkerIdentity = .current(), stop: StopSignal = StopSignal(),
                onEvent: @escaping @Sendable (WorkerEvent) -> Void = { _ in }) {
        self.store = store
        self.identity = identity
        self.stop = stop
        self.onEvent = onEvent
    }

    /// Trains queued runs (of `sweepID`, or of any sweep when nil) on `jobs` threads until none are
    /// queued or Ctrl-C; `reclaimed` runs (already held by this worker) go first.
    /// `staleAfter` (`runner resume`): once no queued run is left, runs whose worker died in the
    /// meantime (by the take-over rule of `SlopeStore.reclaimInterruptedRuns`) are taken over too
    /// before this worker ends, so that a worker that died while this one trained is not left
    /// `running` when the queue is done (newuser16 N10: a Kubernetes Job's pods).
    public func work(sweepID: Int64?, jobs: Int, reclaimed: [SlopeStore.ClaimedRun] = [], staleAfter: TimeInterval? = nil) throws -> WorkSummary {
        try checkStoredSpecs(sweepID: sweepID)
        claimsStopped.update { $0 = false }
        let queue = ClaimQueue(reclaimed)
        let summary = Locked(WorkSummary())
        let firstError = Locked<Error?>(nil)
        let touchedSweeps = Locked<Set<Int64>>(sweepID.map { [$0] } ?? [])
        let threadCount = max(1, jobs)
        let group = DispatchGroup()
        // Thread i starts thread i + 1 once it holds a run, so a large --jobs over a few runs
        // starts one thread per run (plus one that finds nothing), never `jobs` idle threads.
        @Sendable func startThread(_ index: Int) {
            summary.update { $0.threads += 1 }
            group.enter()
            let body: @Sendable () -> Void = { [self] in
                defer { group.leave() }
                var startedNext = false
                // Runs of a queue (not TPE trials, sampled at their claim) are claimed with the
                // finish of the run before, in one transaction; one left unstarted by Ctrl-C goes back.
                let next = NextClaim(sweepID: sweepID, joinsFinish: !isSampled(sweepID))
                defer {
                    if let unstarted = next.take() {
                        if let failure = requeueUnstarted(unstarted) {  // left `running`: said, for `runner resume`
                            summary.update { $0.outcomes[unstarted.id] = failure }
                        }
                        if let sweep = unstarted.run.sweepID { touchedSweeps.update { $0.insert(sweep) } }  // interrupted, as it is
                    }
                }
                while !stop.isRequested {
                    var claimed: SlopeStore.ClaimedRun?
                    do {
                        // A run claimed with the finish of the one before is held already: trained.
                        claimed = try next.take() ?? (claimsStopped.value ? nil : claimNext(from: queue, sweepID: sweepID))
                        if claimed == nil, let staleAfter, !claimsStopped.value, !stop.isRequested {
                            queue.push(try store.reclaimInterruptedRuns(sweepID: sweepID, runID: nil, worker: identity, staleAfter: staleAfter))
                            claimed = queue.pop()
                        }
                    } catch {
                        firstError.update { if $0 == nil { $0 = error } }
                        return
                    }
                    guard let claimed else { return }
                    if !startedNext && index + 1 < threadCount {
                        startedNext = true
                        startThread(index + 1)
                    }
                    let outcome = execute(claimed, claimingNext: next.joinsFinish && queue.isEmpty ? next : nil)
                    summary.update { $0.outcomes[claimed.id] = outcome }
                    if let sweep = claimed.run.sweepID { touchedSweeps.update { $0.insert(sweep) } }
                    // The store failed from outside the run (a full disk...): claiming the next run,
                    // likely the one just requeued, would meet the same condition (`claimsStopped`
                    // stops the other threads too). A run set aside for its memory is not claimed
                    // again by this worker (`unclaimableRuns`): it goes on with the others.
                    if outcome.isSuspended { return }
                }
            }
            do {
                try SystemThread.start(for: "training", name: "Slope.Worker.\(index)", body)
            } catch {
                // Refused (a memory limit): the threads started go on; with none, the worker ends with the reason.
                summary.update { summary in
                    summary.threads -= 1
                    if index > 0 && summary.refusedThread == nil { summary.refusedThread = "\(error)" }
                }
                if index == 0 { firstError.update { if $0 == nil { $0 = error } } }
                group.leave()
            }
        }
        startThread(0)
        group.wait()
        // Taken-over runs no thread reached (Ctrl-C, or claims stopped for this worker's own condition,
        // such as a full disk) go back to the queue, as a run claimed with a finish does: held by
        // this process, they were left `running` for a later `runner resume` (review16 R9).
        while let unstarted = queue.pop() {
            if let failure = requeueUnstarted(unstarted, interrupted: stop.isRequested) { summary.update { $0.outcomes[unstarted.id] = failure } }
            if let sweep = unstarted.run.sweepID { touchedSweeps.update { $0.insert(sweep) } }
        }
        var result = summary.value
        // Ctrl-C left work behind only if it requeued a run, or runs in scope were not claimed yet (a
        // run whose last epoch was in progress ended normally instead).
        // One count, not every run of the scope read with its configuration.
        let leftQueued = stop.isRequested
            ? try store.queries.runCount(sweepID: sweepID, filter: .comparison(.status, .equal, .text(RunStatus.queued.rawValue))) > 0
            : false
        if stop.isRequested { result.unsampledTrials = try unsampledTrials(sweepID: sweepID) }
        // A run suspended after Ctrl-C gave up waiting for the database lock counts as interrupted.
        result.wasInterrupted = stop.isRequested
            && (result.outcomes.values.contains { $0.isInterrupted || $0.isSuspended || $0.isRequeued } || leftQueued || !result.unsampledTrials.isEmpty)
        try updateSweepStatuses(touchedSweeps.value, summary: result)
        if let error = firstError.value { throw error }
        return result
    }

    /// A run claimed with the finish of the one before it, waiting to be trained by the same thread.
    final class NextClaim {
        let sweepID: Int64?
        /// Whether the finish claims the next run: not in a TPE sweep, whose trial is sampled in a claim of its own.
        let joinsFinish: Bool
        private var claimed: SlopeStore.ClaimedRun?
        init(sweepID: Int64?, joinsFinish: Bool) {
            self.sweepID = sweepID
            self.joinsFinish = joinsFinish
        }
        func hold(_ run: SlopeStore.ClaimedRun?) { claimed = run }
        func take() -> SlopeStore.ClaimedRun? {
            defer { claimed = nil }
            return claimed
        }
    }

    /// Whether the runs of `sweepID` are TPE trials (sampled as they are claimed); its spec was
    /// checked before the threads started (`checkStoredSpecs`).
    private func isSampled(_ sweepID: Int64?) -> Bool {
        sweepID.flatMap { try? sweepSpec($0) }?.method == .tpe
    }

    /// Refuses to start on a sweep in scope whose stored spec is damaged (a hand edit): trained,
    /// sampled or pruned by a spec that does not read, its runs would be trained without their
    /// pruning, and a TPE sweep's trials not sampled yet would vanish. In scope: `sweepID`, else
    /// every sweep not completed or failed (any of them may have runs to claim).
    /// - Throws: `ExperimentsError.corruptSweep` naming the sweep and the field.
    func checkStoredSpecs(sweepID: Int64?) throws {
        for sweep in try sweepID.map({ [$0] }) ?? store.openSweepIDs(method: nil) { _ = try sweepSpec(sweep) }
    }

    /// Ctrl-C came after the run was claimed with the finish of the one before (or taken over by
    /// `runner resume`), and before it started: back to the queue (if the store refuses, `runner
    /// resume` takes it over once this process has ended: the outcome returned says so).
    /// `interrupted`: by Ctrl-C; else this worker stopped claiming runs for a condition of its own.
    private func requeueUnstarted(_ run: SlopeStore.ClaimedRun, interrupted: Bool = true) -> RunOutcome? {
        let holder = RunHolder(worker: identity, claimToken: run.claimToken)
        // A run requeued earlier with stored epochs goes back as it was: about to go on from them.
        let before = run.lastStoredEpoch.map { "before it went on from epoch \($0)" } ?? "before its first epoch"
        let reason = interrupted ? "interrupted \(before)" : "put back \(before): its worker stopped taking runs"
        do {
            try store.requeueRun(runID: run.id, reason: reason, holder: holder)
            return nil
        } catch {
            return .suspended(reason: "claimed, then \(reason); it could not be put back in the queue (\(error))", requeued: false)
        }
    }

    /// The claim step: a run taken over before the loop started, else the oldest queued run of
    /// the sweep (of any sweep when nil), now held by this worker; nil when none is left.
    private func claimNext(from queue: ClaimQueue, sweepID: Int64?) throws -> SlopeStore.ClaimedRun? {
        try queue.pop() ?? claimNext(sweepID: sweepID)  // a queued run or a new TPE trial (WorkerSearch.swift)
    }

    /// `runner resume`: takes over runs whose worker is gone (same host: that process no longer
    /// exists, told by pid, boot id, start time and PID namespace; other hosts, or when this host
    /// cannot tell: heartbeat older than `staleAfter`) and runs requeued by Ctrl-C or by a failed
    /// write, continuing each from its last stored epoch; then works off the sweep's queued runs
    /// (only the one run with `runID`).
    public func resume(sweepID: Int64?, runID: Int64?, jobs: Int, staleAfter: TimeInterval) throws -> WorkSummary {
        if let runID {
            if let sweep = try store.run(id: runID).sweepID { _ = try sweepSpec(sweep) }
        } else {
            try checkStoredSpecs(sweepID: sweepID)
        }
        var reclaimed = try store.reclaimInterruptedRuns(sweepID: sweepID, runID: runID, worker: identity, staleAfter: staleAfter)
        if let runID {
            if reclaimed.isEmpty {
                guard let claimed = try store.claimRun(runID: runID, worker: identity) else {
                    let run = try store.run(id: runID)
                    // Alive as far as this process can tell: its process runs on this host, or (another
                    // host's) its heartbeat is younger than --stale-after; said as the sweep form says it.
                    throw ExperimentsError.notFound("run \(runID) is \(run.status.rawValue)" + (run.status == .running
                        ? ", held by live worker (\(shownText(run.worker ?? "?", limit: 200))); nothing to resume: `runner resume` takes a run over once "
                            + "its worker has exited (or, on another host, once its heartbeat is older than --stale-after)"
                        : "; nothing to resume"))
                }
                reclaimed = [claimed]
            }
            return try trainEach(reclaimed)
        }
        return try work(sweepID: sweepID, jobs: jobs, reclaimed: reclaimed, staleAfter: staleAfter)
    }

    /// Trains the given runs (already held by this worker) one after the other, and nothing else.
    private func trainEach(_ reclaimed: [SlopeStore.ClaimedRun]) throws -> WorkSummary {
        var summary = WorkSummary()
        for claimed in reclaimed where !stop.isRequested {
            summary.outcomes[claimed.id] = executeClaimingAgain(claimed)
        }
        summary.wasInterrupted = stop.isRequested
            && (summary.outcomes.values.contains { $0.isInterrupted || $0.isSuspended || $0.isRequeued } || summary.outcomes.count < reclaimed.count)
        try updateSweepStatuses(Set(reclaimed.compactMap(\.run.sweepID)), summary: summary)
        return summary
    }

    /// `runner train`: claims and trains the one run just queued.
    public func runQueued(runID: Int64) throws -> RunOutcome {
        guard let claimed = try store.claimRun(runID: runID, worker: identity) else {
            throw ExperimentsError.notFound("run \(runID) is not queued")
        }
        return executeClaimingAgain(claimed)
    }

    /// `execute`, and a run requeued after the server lost epochs (`.requeued`) claimed again at
    /// once to resume from those it has (a few times at most: a server that keeps losing them
    /// needs its operator).
    private func executeClaimingAgain(_ claimed: SlopeStore.ClaimedRun) -> RunOutcome {
        var outcome = execute(claimed)
        for _ in 0..<3 {
            guard outcome.isRequeued, !stop.isRequested, let again = try? store.claimRun(runID: claimed.id, worker: identity) else { break }
            outcome = execute(again)
        }
        return outcome
    }

    /// After Ctrl-C or a suspended run, a sweep with runs left is `interrupted`; not for a run set
    /// aside for a worker with more memory (it waits in the queue, the sweep goes on). When a run was
    /// suspended by the store (a full disk...), the same condition may refuse these writes too:
    /// they are left out then, and the run's own state says what happened.
    private func updateSweepStatuses(_ sweepIDs: Set<Int64>, summary: WorkSummary) throws {
        let suspended = summary.outcomes.values.contains(where: \.isSuspended)
        for sweepID in sweepIDs.sorted() {
            do {
                try updateSweepStatus(sweepID, interrupted: summary.wasInterrupted || suspended)
            } catch let error as StoreError where (suspended || stop.isRequested) && error.isTransient {
                continue
            }
        }
    }

    private func updateSweepStatus(_ sweepID: Int64, interrupted: Bool) throws {
        // The runs' counts by status (one pass over the (sweep_id, status) index), not every run read.
        let counts = try store.queries.runStatusCounts(sweepID: sweepID)[sweepID] ?? [:]
        if try sweepIsComplete(sweepID, statusCounts: counts) {
            // failed: no run got anywhere (each ended in an error); otherwise the runs tell how.
            try store.setSweepStatus(sweepID: sweepID, counts.keys.allSatisfy { $0 == RunStatus.failed.rawValue } ? .failed : .completed)
        } else if interrupted {
            try store.setSweepStatus(sweepID: sweepID, .interrupted)
        }
    }

    // MARK: - One run

    /// Trains one claimed run to its end, recording everything; never throws. A failure of the
    /// run itself ends it as failed; a store failure from outside the run (full disk, lock, I/O
    /// error, read-only file) leaves it to resume (`suspend`); a run taken over ends as lost.
    /// With `next`, a run that ends (not interrupted, not failed) claims the next queued run in its
    /// finish's transaction and leaves it in `next`.
    func execute(_ claimed: SlopeStore.ClaimedRun, claimingNext next: NextClaim? = nil) -> RunOutcome {
        let runID = claimed.id, holder = RunHolder(worker: identity, claimToken: claimed.claimToken)
        var label = "run \(runID)"
        let outcome: RunOutcome
        do {
            let configuration = try RunConfiguration.decode(json: claimed.run.settings.configJSON, runID: runID)
            label = configuration.label(showing: try claimed.run.sweepID.map { try sweepSpec($0).variedSettings } ?? [])
            outcome = try train(claimed, holder: holder, configuration: configuration, label: label, next: next)
        } catch let error as StoreError {
            if case let .runNotHeld(_, detail) = error {
                outcome = .lost(detail)
            } else if error.isTransient || error.isPreviousEpochNotStored {
                outcome = suspend(runID, holder: holder, error: error)
            } else {
                outcome = fail(runID, holder: holder, message: error.description)
            }
        } catch let error as ExperimentsError {
            if case .storedInputUnavailable = error {
                outcome = putBack(runID, holder: holder, reason: "\(error.description); start the worker in the folder the runs were "
                                  + "queued from, or put the file back as it was queued.")
            } else if case let .outOfMemory(need) = error {
                outcome = setAside(runID, holder: holder, need: need)
            } else {
                outcome = fail(runID, holder: holder, message: error.description)
            }
        } catch let error as SystemThread.Refused {
            // No thread for its epoch writes (a memory limit): this worker's condition, as a missing file is.
            outcome = putBack(runID, holder: holder, reason: error.description + ".")
        } catch {
            outcome = fail(runID, holder: holder, message: "\(error)")
        }
        onEvent(.runFinished(runID: runID, label: label, outcome: outcome))
        return outcome
    }

    private func fail(_ runID: Int64, holder: RunHolder, message: String) -> RunOutcome {
        try? store.finishRun(runID: runID, status: .failed, stopReason: "error", error: message, holder: holder)
        return .failed(message)
    }

    /// A file the run names is missing here or changed (`storedInputUnavailable`): a condition of
    /// this worker, as a full disk is, not of the run (a worker started in another folder would
    /// otherwise fail a whole shared queue for good). The run goes back to the queue as it was, its
    /// stored epochs kept (read before anything is deleted), and this worker's thread stops
    /// (`.suspended`); `runner resume` or `runner work` goes on where the condition is met.
    private func putBack(_ runID: Int64, holder: RunHolder, reason: String) -> RunOutcome {
        claimsStopped.update { $0 = true }
        // Before the requeue: a claim of another thread already in flight (its finish-and-claim
        // transaction waiting for this one's) must not take it (review16 R1).
        unclaimableRuns.update { $0.insert(runID) }
        let requeued = (try? store.requeueRun(runID: runID, reason: reason, holder: holder)) != nil
        return .suspended(reason: reason, requeued: requeued)
    }

    /// The run needs more memory than this process may use (`outOfMemory`; `need` says how much and
    /// the limit): this worker's condition, not the run's (a small worker would otherwise fail a
    /// whole shared queue for good). The run goes back to the queue as it was, its stored epochs
    /// kept, for a worker with more memory (`.setAside`); this one skips it from now on
    /// (`unclaimableRuns`, noted before the requeue, so another of its threads cannot claim it in
    /// between) and goes on with the runs it can train. If even the requeue cannot be written, the
    /// store failed: `.suspended`, as for a full disk.
    private func setAside(_ runID: Int64, holder: RunHolder, need: String) -> RunOutcome {
        unclaimableRuns.update { $0.insert(runID) }
        let reason = RunOutcome.setAsideReason(need)
        guard (try? store.requeueRun(runID: runID, reason: reason, holder: holder)) != nil else {
            claimsStopped.update { $0 = true }  // the store failed
            return .suspended(reason: reason, requeued: false)
        }
        return .setAside(need: need)
    }

    /// A condition outside the run stopped it: it goes back to the queue with the reason (when the
    /// store still takes that write; if not, it stays `running`, held by this process, and
    /// `runner resume` takes it over once this process has ended). Its stored epochs stay. When
    /// the server had lost epochs it confirmed, nothing is to be fixed: `.requeued`, claimed again.
    private func suspend(_ runID: Int64, holder: RunHolder, error: StoreError) -> RunOutcome {
        // Lost epochs are trained again (`.requeued`, claimed again); any other condition stops the claims.
        if !error.isPreviousEpochNotStored {
            claimsStopped.update { $0 = true }
            unclaimableRuns.update { $0.insert(runID) }  // as in putBack (review16 R1)
        }
        // Nothing to put back: the queue is in the file that was deleted or replaced.
        if case .databaseGone = error { return .databaseGone(error.description) }
        let lastEpoch = (try? store.run(id: runID).epochsDone) ?? 0
        let reason = error.isPreviousEpochNotStored ? "requeued after epoch \(lastEpoch): \(error.description)"
            : "stopped after epoch \(lastEpoch) by a database write that failed: \(error.description)"
        let requeued = (try? store.requeueRun(runID: runID, reason: reason, holder: holder)) != nil
        return requeued && error.isPreviousEpochNotStored ? .requeued(reason: reason) : .suspended(reason: error.description, requeued: requeued)
    }

    private func train(_ claimed: SlopeStore.ClaimedRun, holder: RunHolder, configuration: RunConfiguration,
                       label: String, next: NextClaim?) throws -> RunOutcome {
        let runID = claimed.id
        let (trainingData, validationData) = try DataCatalog.prepare(configuration.data, databasePath: store.path)
        // Ctrl-C while the data was read (a large CSV takes seconds): back to the queue as it was, no epoch
        // trained after it (hostile17 H4: an epoch was trained and stored first).
        if stop.isRequested { return requeueUnstarted(claimed) ?? .interrupted(epoch: claimed.lastStoredEpoch) }
        do {
            try RunConfiguration.checkMemory(configuration.training, rowCount: trainingData.rowCount,  // this worker's limits, not the queueing process's
                                             dataRows: trainingData.rowCount + (validationData?.rowCount ?? 0))
        } catch let error as ExperimentsError {
            // Too little memory here (ulimit -v, a cgroup, this machine) is this worker's condition,
            // not the run's: a worker with more memory trains it (`setAside`), no run is failed for it.
            throw ExperimentsError.outOfMemory(error.description)
        }
        let (trainer, resumedEpoch) = try makeTrainer(claimed, configuration: configuration, training: trainingData, validation: validationData)
        let firstEpoch = resumedEpoch.map { $0.epoch + 1 } ?? 0
        onEvent(.runStarted(runID: runID, label: label, epochs: configuration.training.epochs, firstEpoch: firstEpoch))
        // The stored epoch it resumes from may never have had its prune decision acted on (the
        // process was killed after that epoch's commit): decided now, before training on, as the
        // uninterrupted run decided it (early stopping at that epoch is replayed by the trainer).
        if let resumedEpoch, let reason = try pruneReason(after: resumedEpoch, claimed: claimed, epochs: configuration.training.epochs) {
            return try endRun(runID, holder: holder, outcome: .stoppedByCaller(epoch: resumedEpoch.epoch), stop: .pruned(reason),
                              lastEpoch: resumedEpoch.epoch, next: next)
        }
        let heartbeat = startHeartbeat(runID: runID, holder: holder)
        defer { heartbeat.cancel() }
        let (outcome, stop, lastEpoch) = try runEpochs(trainer, claimed: claimed, holder: holder, configuration: configuration)
        return try endRun(runID, holder: holder, outcome: outcome, stop: stop, lastEpoch: lastEpoch, next: next)
    }

    /// The trainer of a claimed run: continued from its last stored epoch holding weights (the
    /// epochs after it deleted), or fresh (from the initial weights file, if any).
    /// - Returns: the trainer and, when resumed, the stored epoch it continues after.
    private func makeTrainer(_ claimed: SlopeStore.ClaimedRun, configuration: RunConfiguration,
                             training: Dataset, validation: Dataset?) throws -> (Trainer, resumedEpoch: SlopeStore.EpochRecord?) {
        let runID = claimed.id
        let settings = configuration.training
        // A run with no stored epoch (as its claim saw it: no earlier holder can add one since)
        // has no resume point to look for.
        if claimed.lastStoredEpoch != nil, let point = try store.resumePoint(runID: runID),
           let parameters = try TensorRecords.layers(from: point.tensors, weightKind: .weight, biasKind: .bias,
                                                     layerCount: settings.layerSizes.count - 1, runID: runID) {
            try store.deleteEpochs(runID: runID, after: point.epoch)
            let optimizer = try TensorRecords.optimizerState(from: point.tensors, configuration: settings, runID: runID)
            let monitor = settings.earlyStopping?.monitor ?? .validationLoss
            // Epochs 0...point.epoch, in order: the later ones were just deleted.
            let storedEpochs = try store.epochs(runID: runID)
            let monitoredLosses = storedEpochs.map { epoch in
                (monitor == .validationLoss ? epoch.validationLoss : epoch.trainLoss) ?? epoch.trainLoss ?? .nan
            }
            let state = TrainingState(epoch: point.epoch, parameters: parameters, monitoredLosses: monitoredLosses,
                                      optimizerBuffers: optimizer.buffers, step: optimizer.step)
            do {
                let trainer = try Trainer(configuration: settings, training: training, validation: validation, resumingFrom: state)
                return (trainer, storedEpochs.last { $0.epoch == point.epoch })
            } catch let NeuralNetError.invalidParameters(reason) {  // a stored shape Slope never wrote (hostile17 H7)
                throw ExperimentsError.corruptRun(runID: runID, reason: "its stored weights of epoch \(point.epoch) do not fit its network (\(reason)): "
                                                  + "the database was changed outside Slope")
            }
        }
        if claimed.lastStoredEpoch != nil { try store.deleteEpochs(runID: runID, after: -1) }
        var initial: [LayerParameters]? = nil
        if let file = configuration.initialWeightsFile {
            initial = try InitialWeights.loadStored(file: file, sha256: configuration.initialWeightsSHA256, databasePath: store.path,
                                                    configuration: settings)
        }
        return (try Trainer(configuration: settings, training: training, validation: validation, initialParameters: initial), nil)
    }

    /// Each epoch write is a heartbeat; this timer covers epochs longer than the interval, so
    /// `runner resume` on another host does not take a live run for a dead one. Cancel it when the run ends.
    private func startHeartbeat(runID: Int64, holder: RunHolder) -> DispatchSourceTimer {
        let heartbeat = DispatchSource.makeTimerSource(queue: .global())
        heartbeat.schedule(deadline: .now() + heartbeatInterval, repeating: heartbeatInterval)
        heartbeat.setEventHandler { [store] in try? store.heartbeat(runID: runID, holder: holder) }
        heartbeat.resume()
        return heartbeat
    }

    /// Why the epoch loop was told to stop before the trainer would have.
    private enum StopCause { case interrupted, pruned(String) }

    /// The epoch loop: trains, hands every epoch to the store (`EpochLog.record`), reports
    /// progress, and stops on Ctrl-C or pruning. Returns once every epoch is written.
    private func runEpochs(_ trainer: Trainer, claimed: SlopeStore.ClaimedRun, holder: RunHolder,
                           configuration: RunConfiguration) throws -> (TrainingOutcome, StopCause?, lastEpoch: Int?) {
        let runID = claimed.id, epochs = configuration.training.epochs
        let log = EpochLog(runID: runID, configuration: configuration, store: store, holder: holder)
        defer { log.waitUntilIdle() }
        var stoppedBy: StopCause? = nil
        let outcome: TrainingOutcome
        do {
            outcome = try trainer.run { result in
                try log.record(result)
                onEvent(.epochFinished(runID: runID, epoch: result.epoch, epochs: epochs,
                                       trainLoss: result.trainLoss, validationLoss: result.validationLoss))
                stoppedBy = try stopCause(after: result, claimed: claimed, epochs: epochs)
                return stoppedBy == nil ? .proceed : .stop
            }
        } catch {
            throw log.failure(orElse: error)
        }
        try log.finish()
        return (outcome, stoppedBy, log.lastEpoch)
    }

    /// The sweep's pruning rule decides first, also on Ctrl-C: requeued unpruned, the resumed run
    /// would train on where the uninterrupted one stopped. Ctrl-C on an epoch that ends the run
    /// anyway (its last, or early stopping's) lets it end as it would have: requeued there, a
    /// resume could only train further.
    private func stopCause(after result: EpochResult, claimed: SlopeStore.ClaimedRun, epochs: Int) throws -> StopCause? {
        if let reason = try pruneReason(after: SlopeStore.EpochRecord(result), claimed: claimed, epochs: epochs) {
            return .pruned(reason)
        }
        return stop.isRequested && !result.endsTraining ? .interrupted : nil
    }

    private func pruneReason(after epoch: SlopeStore.EpochRecord, claimed: SlopeStore.ClaimedRun, epochs: Int) throws -> String? {
        guard let sweepID = claimed.run.sweepID, let pruning = try sweepSpec(sweepID).earlyTerminate else { return nil }
        return try pruneReason(pruning, sweepID: sweepID, runID: claimed.id, epoch: epoch, epochs: epochs)  // median or ASHA
    }

    /// Ends (or requeues, after Ctrl-C) the run as the trainer's outcome says; with `next` (and no
    /// Ctrl-C yet), claims the next queued run in the same transaction.
    private func endRun(_ runID: Int64, holder: RunHolder, outcome: TrainingOutcome, stop: StopCause?, lastEpoch: Int?,
                        next: NextClaim?) throws -> RunOutcome {
        let status: RunStatus, reason: String
        switch outcome {
        case .completed:
            (status, reason) = (.completed, "completed all epochs")
        case let .earlyStopped(epoch):
            (status, reason) = (.completed, "early stopping at epoch \(epoch)")
        case let .diverged(epoch):
            (status, reason) = (.diverged, "diverged at epoch \(epoch): loss is NaN or infinite")
        case let .stoppedByCaller(epoch):
            if case .interrupted? = stop {
                try store.requeueRun(runID: runID, reason: "interrupted at epoch \(epoch)", holder: holder)
                return .interrupted(epoch: epoch)
            }
            if case let .pruned(pruneReason)? = stop {
                (status, reason) = (.pruned, pruneReason)
            } else {
                (status, reason) = (.pruned, "stopped at epoch \(epoch)")
            }
        }
        if let next, !self.stop.isRequested, !claimsStopped.value {
            do {
                next.hold(try store.finishRun(runID: runID, status: status, stopReason: reason, holder: holder, lastEpoch: lastEpoch,
                                              claimingNextOf: next.sweepID, excluding: unclaimableRuns.value, worker: identity))
                return .finished(status, reason: reason)
            } catch {
                if case StoreError.runNotHeld = error { throw error }  // the finish itself was refused
                if case StoreError.previousEpochNotStored = error { throw error }
                // Else the claim's half failed (a bad row of the next run, a lock timeout) and took
                // the finish with it: the run is finished alone, and the next claim, made on its
                // own, reports that failure as before.
            }
        }
        try store.finishRun(runID: runID, status: status, stopReason: reason, holder: holder, lastEpoch: lastEpoch)
        return .finished(status, reason: reason)
    }

    /// The sweep's stored spec (read once per worker).
    /// - Throws: `ExperimentsError.corruptSweep` when it is damaged; the store's errors.
    func sweepSpec(_ sweepID: Int64) throws -> SweepSpec {
        lock.lock()
        if let cached = sweepSpecs[sweepID] { lock.unlock(); return cached }
        lock.unlock()
        let spec = try SweepSpec.checkedStored(in: store, sweepID: sweepID)
        lock.lock()
        sweepSpecs[sweepID] = spec
        lock.unlock()
        return spec
    }
}

/// Runs reclaimed before the loop starts, handed out one at a time to the worker threads.
private final class ClaimQueue: @unchecked Sendable {
    private let lock = NSLock()
    private var runs: [SlopeStore.ClaimedRun]
    init(_ runs: [SlopeStore.ClaimedRun]) { self.runs = runs }
    func pop() -> SlopeStore.ClaimedRun? {
        lock.lock(); defer { lock.unlock() }
        return runs.isEmpty ? nil : runs.removeFirst()
    }
    var isEmpty: Bool { lock.lock(); defer { lock.unlock() }; return runs.isEmpty }
    func push(_ more: [SlopeStore.ClaimedRun]) {
        lock.lock(); defer { lock.unlock() }
        runs += more
    }
}

final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: Value
    init(_ value: Value) { storage = value }
    var value: Value { lock.lock(); defer { lock.unlock() }; return storage }
    func update(_ body: (inout Value) -> Void) { lock.lock(); body(&storage); lock.unlock() }
}

extension RunOutcome {
    /// The reason shown next to the status.
    public var detail: String {
        switch self {
        case let .finished(_, reason): return reason
        case let .interrupted(epoch): return epoch.map { "requeued after epoch \($0)" } ?? "requeued before its first epoch"
        case let .lost(message), let .failed(message): return message
        case let .suspended(reason, requeued): return reason + (requeued ? " (requeued)" : "")
        case let .databaseGone(message): return message
        case let .requeued(reason): return reason + " (requeued)"
        case let .setAside(need): return RunOutcome.setAsideReason(need)
        }
    }

    /// The stop reason of a run set aside for a worker with more memory (`need`: `.setAside`'s).
    static func setAsideReason(_ need: String) -> String {
        "this worker cannot train it: \(need); a worker with more memory will (it stays queued for one)."
    }
}
