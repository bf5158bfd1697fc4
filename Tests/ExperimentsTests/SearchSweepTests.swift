// Sweep files with `method: tpe` and `early_terminate: {type: asha}`: parsing, the stored JSON
// round trip, errors naming the field; TPE trials made by worker threads (exactly `count`); ASHA
// pruning at a rung with the rung in the stop reason.
import NeuralNet
import Store
import TestSupport
import XCTest
@testable import Experiments

final class SearchSweepTests: XCTestCase {
    private var directory: TemporaryDirectory!

    override func setUpWithError() throws { directory = try TemporaryDirectory(prefix: "slope-search") }
    override func tearDown() { directory.remove() }

    private func parse(_ yaml: String) throws -> SweepSpec { try SweepSpec.parse(yaml: yaml, file: "s.yaml") }

    private func assertRejected(_ yaml: String, _ message: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try parse(yaml), file: file, line: line) { error in
            XCTAssertEqual("\(error)", message, file: file, line: line)
        }
    }

    func testTPESpecRoundTripsThroughItsStoredJSON() throws {
        let spec = try parse("""
            method: tpe
            count: 20
            random_seed: 4
            n_startup_trials: 5
            startup: lhs
            gamma: 0.2
            multivariate: false
            early_terminate: {type: asha, min_epochs: 2, reduction_factor: 4}
            fixed: {dataset: xor, epochs: 8}
            parameters:
              learning_rate: {distribution: log_uniform, min: 0.001, max: 1}
              batch_size: {values: [2, 4]}
            """)
        XCTAssertEqual(spec.method, .tpe)
        XCTAssertEqual(spec.runCount, 20)
        XCTAssertEqual(spec.tpe?.startupTrials, 5)
        XCTAssertEqual(spec.tpe?.gamma, 0.2)
        XCTAssertEqual(spec.tpe?.candidateCount, 24)
        XCTAssertEqual(spec.tpe?.multivariate, false)
        XCTAssertEqual(spec.tpe?.startup, .lhs)
        XCTAssertEqual(spec.tpeSampler.startup, .lhs)
        XCTAssertEqual(spec.tpeSampler.designSeed, 4)
        XCTAssertEqual(spec.earlyTerminate?.successiveHalving, SuccessiveHalving(minEpochs: 2, reductionFactor: 4))
        XCTAssertTrue(spec.json().contains(#""method":"tpe","count":20,"random_seed":4,"n_startup_trials":5,"startup":"lhs","gamma":0.2,"n_ei_candidates":24,"multivariate":false"#), spec.json())
        XCTAssertTrue(spec.json().contains(#""early_terminate":{"type":"asha","min_epochs":2,"reduction_factor":4}"#), spec.json())
        XCTAssertEqual(try SweepSpec.parse(yaml: spec.json(), file: "stored"), spec)
        // The search space: a log-scale number and two categories; whole-number settings step by 1.
        XCTAssertEqual(spec.searchSpace.map(\.dimension), [.numeric(low: 0.001, high: 1, isLog: true, step: nil), .categorical(count: 2)])
        // Defaults: Optuna 5's (multivariate for one objective).
        let plain = try parse("method: tpe\ncount: 3\nparameters: {batch_size: {distribution: uniform, min: 1, max: 9}}")
        XCTAssertEqual(plain.tpe, SweepSpec.TPEOptions())
        XCTAssertEqual(plain.tpe?.startup, .lhs)
        // Stored: the spec comes back; without `startup` (a sweep stored before it existed) it started randomly.
        XCTAssertTrue(plain.json().contains(#""startup":"lhs""#), plain.json())
        XCTAssertEqual(try SweepSpec.stored(text: plain.json(), sweepID: 1), plain)
        let before = plain.json().replacingOccurrences(of: #","startup":"lhs""#, with: "")
        XCTAssertEqual(try SweepSpec.stored(text: before, sweepID: 1).tpe?.startup, .random)
        XCTAssertEqual(try SweepSpec.stored(text: spec.json(), sweepID: 1), spec)
        // The Codable form of early builds has no startup: random, as those sweeps started.
        let early = try JSONDecoder().decode(SweepSpec.TPEOptions.self, from: Data(#"{"startupTrials":4,"gamma":0.1,"candidateCount":24,"multivariate":true}"#.utf8))
        XCTAssertEqual(early.startupTrials, 4)
        XCTAssertEqual(early.startup, .random)
        var lhs = SweepSpec.TPEOptions()
        lhs.startup = .lhs
        XCTAssertEqual(try JSONDecoder().decode(SweepSpec.TPEOptions.self, from: JSONEncoder().encode(lhs)), lhs)
        XCTAssertEqual(plain.searchSpace.map(\.dimension), [.numeric(low: 1, high: 9, isLog: false, step: 1)])
        XCTAssertEqual(try parse("early_terminate: {type: asha}").earlyTerminate?.successiveHalving, SuccessiveHalving(minEpochs: 1, reductionFactor: 3))
    }

    /// The storage estimate printed before a TPE sweep counts its `count` trials, not the one
    /// configuration the plan checks (the 1 GB warning could never fire for a TPE sweep).
    func testTheStorageEstimateOfATPESweepCountsEveryTrial() throws {
        let plan = try SweepPlan(spec: try claimSpec(count: 30))
        XCTAssertEqual(plan.configurations.count, 1)
        XCTAssertEqual(plan.plannedConfigurations.count, 30)
        let one = StorageEstimate(configurations: plan.configurations)
        let all = StorageEstimate(configurations: plan.plannedConfigurations)
        XCTAssertEqual(all.runs, 30)
        XCTAssertEqual(all.bytes, 30 * one.bytes)
        XCTAssertEqual(all.loggedEpochs, 30 * one.loggedEpochs)
    }

    func testBadTPEAndASHASettingsNameTheField() {
        assertRejected("method: tpe", "s.yaml: count: method: tpe needs count: N (the number of runs to sample)")
        assertRejected("method: random\ncount: 2\nn_startup_trials: 3", "s.yaml: n_startup_trials: only for method: tpe")
        assertRejected("method: tpe\ncount: 2\nstartup: sobol", "s.yaml: startup: expected random or lhs (how TPE places its n_startup_trials first trials: independent draws or a Latin hypercube)")
        assertRejected("method: random\ncount: 2\nstartup: lhs", "s.yaml: startup: only for method: tpe")
        assertRejected("method: tpe\ncount: 2\ngamma: 0", "s.yaml: gamma: expected a fraction in (0, 1], e.g. 0.1 (the share of trials TPE counts as good)")
        assertRejected("method: tpe\ncount: 2\nn_ei_candidates: 0", "s.yaml: n_ei_candidates: expected a whole number from 1 to 10000 (candidates TPE scores per trial)")
        assertRejected("early_terminate: {type: asha, reduction_factor: 1}", "s.yaml: early_terminate.reduction_factor: expected a whole number from 2 to 1000000000")
        assertRejected("early_terminate: {type: asha, warmup_epochs: 1}", "s.yaml: early_terminate.warmup_epochs: only for type: median (asha starts at min_epochs)")
        assertRejected("early_terminate: {type: median, min_epochs: 1}", "s.yaml: early_terminate.min_epochs: only for type: asha")
        assertRejected("early_terminate: {type: hyperband}", "s.yaml: early_terminate.type: expected median or asha")
    }

    /// Trial values map back to settings: categories by index, whole numbers rounded.
    func testTrialValuesBecomeSettings() throws {
        let spec = try parse("""
            method: tpe
            count: 3
            fixed: {epochs: 2}
            parameters:
              hidden: {values: [8, [16, 16]]}
              batch_size: {distribution: log_uniform, min: 4, max: 64}
              momentum: {distribution: uniform, min: 0, max: 0.9}
            """)
        let values = spec.trialValues([1, 16, 0.25])
        XCTAssertEqual(values.map(\.0), [.hidden, .batchSize, .momentum, .epochs])  // fixed settings follow the parameters
        XCTAssertEqual(values.map(\.1), [.list([.int(16), .int(16)]), .int(16), .double(0.25), .int(2)])
        XCTAssertEqual(TrialMaker.parseNumbers("[0.5,3,1e-05]"), [0.5, 3, 1e-05])
        XCTAssertNil(TrialMaker.parseNumbers("[0.5,x]"))
    }

    /// TPE and its startup draws (Latin hypercube and random) of int_uniform ranges a Double cannot
    /// step through by 1: near 2^63 (spacing 1024) every draw was one of the two ends; from 2^53 (spacing
    /// 2) every draw was even. Sampled as offsets from min now: whole numbers between the ends, odd
    /// ones too. A range a Double holds exactly is sampled as its values, as before; a span beyond
    /// 2^53 is refused for tpe (random draws it exactly).
    func testTPEDrawsWholeNumbersOfRangesBeyond2To53() throws {
        for (startup, minimum, maximum) in [("lhs", 9_223_372_036_854_775_000, Int.max), ("random", 9_223_372_036_854_775_000, Int.max),
                                            ("lhs", 9_007_199_254_740_992, 9_007_199_254_741_012), ("random", 9_007_199_254_740_992, 9_007_199_254_741_012)] {
            let spec = try parse("""
                method: tpe
                count: 40
                n_startup_trials: 10
                startup: \(startup)
                fixed: {dataset: xor, epochs: 1}
                parameters:
                  seed: {distribution: int_uniform, min: \(minimum), max: \(maximum)}
                """)
            XCTAssertEqual(spec.searchSpace.map(\.dimension), [.numeric(low: 0, high: Double(UInt64(bitPattern: Int64(maximum)) &- UInt64(bitPattern: Int64(minimum))), isLog: false, step: 1)])
            let sampler = spec.tpeSampler
            var trials: [TPETrial] = [], seeds: [Int] = []
            for index in 0..<40 {
                let point = sampler.sample(after: trials, seed: spec.trialSeed(index), index: index)
                let values = spec.trialValues(point)
                guard case let .int(seed) = values[0].1 else { return XCTFail("\(values)") }
                XCTAssertTrue(seed >= minimum && seed <= maximum, "\(seed)")
                XCTAssertEqual(point[0], point[0].rounded(), "an offset is a whole number")
                XCTAssertEqual(seed, Int(Int64(bitPattern: UInt64(bitPattern: Int64(minimum)) &+ UInt64(point[0]))))
                seeds.append(seed)
                // Best near the middle of the range: TPE's trials gather there.
                let middle = Double(UInt64(bitPattern: Int64(maximum)) &- UInt64(bitPattern: Int64(minimum))) / 2
                trials.append(TPETrial(values: point, state: .complete(abs(point[0] - middle))))
            }
            let inside = seeds.filter { $0 != minimum && $0 != maximum }
            XCTAssertGreaterThan(Set(inside).count, 10, "\(startup) \(minimum): \(seeds)")
            XCTAssertTrue(seeds.contains { $0 % 2 != 0 }, "odd numbers too: \(seeds)")
        }
        // A range a Double holds exactly: its own values, as before (the reference tests pin the draws).
        let plain = try parse("method: tpe\ncount: 3\nparameters: {seed: {distribution: int_uniform, min: 0, max: 9007199254740992}}")
        XCTAssertEqual(plain.searchSpace.map(\.dimension), [.numeric(low: 0, high: 9_007_199_254_740_992, isLog: false, step: 1)])
        assertRejected("method: tpe\ncount: 3\nparameters: {seed: {distribution: int_uniform, min: 0, max: 9223372036854775807}}",
                       "s.yaml: parameters.seed: tpe samples an int_uniform range exactly when max - min is at most 2^53 (9007199254740992); "
                       + "0 ... 9223372036854775807 is wider: narrow it, or use method: random")
        XCTAssertNoThrow(try parse("method: random\ncount: 3\nparameters: {seed: {distribution: int_uniform, min: 0, max: 9223372036854775807}}"))
        // An end the setting refuses (a seed below 0) is said for itself, under tpe as under random:
        // the width's advice (use method: random) could not help (hostile14 F9).
        let negative = "count: 3\nparameters: {seed: {distribution: int_uniform, min: -5, max: 9223372036854775807}}"
        var messages: [String] = []
        for method in ["tpe", "random"] {
            XCTAssertThrowsError(try parse("method: \(method)\n" + negative)) { messages.append("\($0)") }
        }
        XCTAssertEqual(messages.count, 2)
        XCTAssertEqual(messages.first, messages.last)
        XCTAssertTrue(messages[0].contains("parameters.seed.min") && messages[0].contains("a whole number from 0 to 9223372036854775807"), messages[0])
    }

    /// A sweep's name of megabytes made `report sweeps` take 20 s (hostile14 F10): at most 1000 characters.
    func testASweepNameHasAtMost1000Characters() throws {
        let longest = String(repeating: "é", count: 1000)
        XCTAssertEqual(try parse("name: \(longest)\nparameters: {seed: {values: [1]}}").name, longest)
        assertRejected("name: \(longest)x\nparameters: {seed: {values: [1]}}",
                       "s.yaml: name: the name has 1001 characters; a sweep's name has at most 1000: shorten it (say more in description)")
    }

    /// A TPE sweep over a log-scale learning rate and three batch sizes (3 startup trials) that four
    /// threads of one worker work off: every trial made and run once, exactly `count` of them.
    private func workTPESweep(startup: String, count: Int, randomSeed: Int, database: String, file: StaticString = #filePath,
                              line: UInt = #line) throws -> (spec: SweepSpec, store: SlopeStore, sweepID: Int64, summary: WorkSummary,
                                                             runs: [SlopeStore.RunRecord], trials: [[Double]]) {
        let store = try SlopeStore(path: directory.path(database))
        let spec = try parse("""
            method: tpe
            count: \(count)
            random_seed: \(randomSeed)
            n_startup_trials: 3
            startup: \(startup)
            fixed: {dataset: "blobs:rows=60:features=3:classes=3:seed=2", hidden: [4], epochs: 2, validation: 0.25}
            parameters:
              learning_rate: {distribution: log_uniform, min: 0.001, max: 1}
              batch_size: {values: [4, 8, 16]}
            """)
        let (sweepID, runIDs) = try SweepPlan(spec: spec).enqueue(in: store)
        XCTAssertEqual(runIDs, [], file: file, line: line)
        let summary = try Worker(store: store).work(sweepID: sweepID, jobs: 4)
        let runs = try store.runs(sweepID: sweepID)
        XCTAssertEqual(runs.count, count, file: file, line: line)
        XCTAssertTrue(runs.allSatisfy { $0.status == .completed }, file: file, line: line)
        XCTAssertEqual(try store.sweep(id: sweepID).status, .completed, file: file, line: line)
        let trials = try runs.map { try RunConfiguration.decode(json: $0.settings.configJSON, runID: $0.id).trial ?? [] }
        XCTAssertEqual(Set(trials).count, count, file: file, line: line)
        return (spec, store, sweepID, summary, runs, trials)
    }

    /// Four threads of one worker share a TPE sweep: exactly `count` trials, each run once, in id order
    /// of their making; with `startup: random` the first `n_startup_trials` are the seeded random draws.
    func testWorkerThreadsMakeExactlyCountTrials() throws {
        let (spec, store, sweepID, summary, runs, trials) = try workTPESweep(startup: "random", count: 9, randomSeed: 3, database: "tpe.db")
        XCTAssertEqual(summary.runIDs, runs.map(\.id))
        var generator = NeuralNet.SplitMix64(seed: spec.trialSeed(0))
        XCTAssertEqual(trials[0], spec.tpeSampler.randomPoint(using: &generator))
        XCTAssertEqual(runs[0].settings.learningRate, trials[0][0])
        XCTAssertEqual(runs[0].settings.batchSize, [4, 8, 16][Int(trials[0][1])])
        // A worker on any sweep finds nothing more to make.
        XCTAssertEqual(try Worker(store: store).work(sweepID: nil, jobs: 1).runIDs, [])
        XCTAssertEqual(try store.runs(sweepID: sweepID).count, 9)
    }

    /// `startup: lhs` (the default) with four threads of one worker: the first n_startup_trials trials
    /// are the Latin hypercube's points by trial index, whichever thread made them (each learning rate
    /// in its own third of the log range, each batch size once).
    func testWorkerThreadsMakeTheLatinHypercubeByTrialIndex() throws {
        let (spec, _, _, _, runs, trials) = try workTPESweep(startup: "lhs", count: 8, randomSeed: 6, database: "lhs.db")
        let design = LatinHypercube(space: spec.searchSpace.map(\.dimension), size: 3, seed: 6)
        for index in 0..<3 {
            var generator = NeuralNet.SplitMix64(seed: spec.trialSeed(index))
            XCTAssertEqual(trials[index], design.point(index, using: &generator), "trial \(index)")
        }
        // log10 of the learning rate in [-3, 0]: one trial in each third; each batch size once.
        XCTAssertEqual(Set(runs.prefix(3).map { Int(log10($0.settings.learningRate) + 3) }), [0, 1, 2])
        XCTAssertEqual(Set(runs.prefix(3).map(\.settings.batchSize)), [4, 8, 16])
    }

    /// A small TPE sweep for the claim tests: 3 startup trials, then TPE over a log-scale and a categorical parameter.
    private func claimSpec(count: Int) throws -> SweepSpec {
        try parse("""
            method: tpe
            count: \(count)
            random_seed: 11
            n_startup_trials: 3
            fixed: {dataset: "blobs:rows=60:features=3:classes=3:seed=2", hidden: [4], epochs: 2, validation: 0.25}
            parameters:
              learning_rate: {distribution: log_uniform, min: 0.001, max: 1}
              batch_size: {values: [4, 8, 16]}
              momentum: {distribution: uniform, min: 0, max: 0.9}
            """)
    }

    /// Ends a claimed trial as `status` with a loss made from its settings (no training).
    private func finish(_ claimed: SlopeStore.ClaimedRun, as status: RunStatus, in store: SlopeStore) throws {
        let settings = claimed.run.settings
        let loss = pow(log10(settings.learningRate / 0.05), 2) + Double(settings.batchSize) / 100 + settings.momentum
        if status != .failed {
            try store.writeEpoch(runID: claimed.id, .init(epoch: 0, trainLoss: loss, validationLoss: loss), tensors: [], holder: RunHolder(worker: .current(), claimToken: claimed.claimToken))
        }
        try store.finishRun(runID: claimed.id, status: status, stopReason: "synthetic")
    }

    /// A maker that keeps the runs it saw reads only the runs from the first unfinished one on, and
    /// makes the same trials, bit for bit, as a new maker (reading every run) each time. Two databases
    /// go through the same claims; trials stay running over several claims (counted as running, then
    /// as they ended: completed, pruned, diverged or failed).
    func testKeptHistoryMakesTheSameTrialsAsReadingEveryRun() throws {
        let spec = try claimSpec(count: 24)
        let warmStore = try SlopeStore(path: directory.path("warm.db")), coldStore = try SlopeStore(path: directory.path("cold.db"))
        let (warmSweep, _) = try SweepPlan(spec: spec).enqueue(in: warmStore)
        let (coldSweep, _) = try SweepPlan(spec: spec).enqueue(in: coldStore)
        let warm = TrialMaker(spec: spec)
        var running: [Int: (warm: SlopeStore.ClaimedRun, cold: SlopeStore.ClaimedRun)] = [:]
        let endings: [RunStatus] = [.completed, .pruned, .diverged, .failed]
        for index in 0..<24 {
            let warmClaim = try XCTUnwrap(warm.claimNextTrial(in: warmStore, sweepID: warmSweep, worker: .current()))
            let coldClaim = try XCTUnwrap(TrialMaker(spec: spec).claimNextTrial(in: coldStore, sweepID: coldSweep, worker: .current()))
            XCTAssertEqual(warmClaim.run.settings.configJSON, coldClaim.run.settings.configJSON, "trial \(index)")
            // The next claim reads from the first run that was running at this one (or from this one; the
            // first claim saw no run at all: from 0).
            XCTAssertEqual(warm.history.firstUnfinishedID, running.values.map(\.warm.id).min() ?? (index == 0 ? 0 : warmClaim.id), "at trial \(index)")
            // Every third trial stays running for four more claims (two are running at times); the others end at once.
            running[index] = (warmClaim, coldClaim)
            for ending in [index % 3 == 0 ? nil : index, index - 4].compactMap({ $0 }) {
                guard let pair = running.removeValue(forKey: ending) else { continue }
                try finish(pair.warm, as: endings[ending % endings.count], in: warmStore)
                try finish(pair.cold, as: endings[ending % endings.count], in: coldStore)
            }
        }
        let warmRuns = try warmStore.runs(sweepID: warmSweep), coldRuns = try coldStore.runs(sweepID: coldSweep)
        XCTAssertEqual(warmRuns.count, 24)
        XCTAssertEqual(warmRuns.map(\.settings.configJSON), coldRuns.map(\.settings.configJSON))
        XCTAssertEqual(Set(warmRuns.map(\.status)), [.completed, .pruned, .diverged, .failed, .running])
    }

    /// Kept runs and the runs read that do not add up to the sweep's runs (here: the maker's history
    /// is of another database) are read again from the first run, giving the trial a new maker gives.
    func testStaleHistoryIsReadAgain() throws {
        let spec = try claimSpec(count: 12)
        let first = try SlopeStore(path: directory.path("first.db")), second = try SlopeStore(path: directory.path("second.db"))
        let (sweepID, _) = try SweepPlan(spec: spec).enqueue(in: first)
        _ = try SweepPlan(spec: spec).enqueue(in: second)
        let maker = TrialMaker(spec: spec)
        for _ in 0..<6 { try finish(try XCTUnwrap(maker.claimNextTrial(in: first, sweepID: sweepID, worker: .current())), as: .completed, in: first) }
        let other = TrialMaker(spec: spec)
        for _ in 0..<4 { try finish(try XCTUnwrap(other.claimNextTrial(in: second, sweepID: sweepID, worker: .current())), as: .completed, in: second) }
        XCTAssertThrowsError(try maker.makeTrial(runCount: 4, records: [], fromRunID: 7)) { error in
            XCTAssertEqual(error as? ExperimentsError, .staleTrialHistory)
        }
        // A third database with the same 4 trials: a new maker's next trial there is the reference.
        let third = try SlopeStore(path: directory.path("third.db"))
        _ = try SweepPlan(spec: spec).enqueue(in: third)
        let fresh = TrialMaker(spec: spec)
        for _ in 0..<4 { try finish(try XCTUnwrap(fresh.claimNextTrial(in: third, sweepID: sweepID, worker: .current())), as: .completed, in: third) }
        let reference = try XCTUnwrap(TrialMaker(spec: spec).claimNextTrial(in: third, sweepID: sweepID, worker: .current()))
        let claimed = try XCTUnwrap(maker.claimNextTrial(in: second, sweepID: sweepID, worker: .current()))
        XCTAssertEqual(claimed.run.settings.configJSON, reference.run.settings.configJSON)
        XCTAssertEqual(maker.history.firstUnfinishedID, claimed.id)
    }

    /// Ctrl-C as the second of 6 trials ends: no run is requeued, but 4 trials are not sampled yet, so
    /// the work was interrupted (the sweep too); another worker makes and runs the other 4.
    func testCtrlCLeavesTrialsNotSampledYet() throws {
        let store = try SlopeStore(path: directory.path("stopped.db"))
        let spec = try claimSpec(count: 6)
        let (sweepID, _) = try SweepPlan(spec: spec).enqueue(in: store)
        let stop = StopSignal()
        let finished = Locked(0)
        let worker = Worker(store: store, stop: stop, onEvent: { event in
            if case .runFinished = event { finished.update { $0 += 1 }; if finished.value == 2 { stop.request() } }
        })
        let summary = try worker.work(sweepID: sweepID, jobs: 1)
        XCTAssertEqual(summary.runIDs.count, 2)
        XCTAssertTrue(summary.wasInterrupted)
        XCTAssertEqual(summary.unsampledTrials, [UnsampledTrials(sweepID: sweepID, left: 4, count: 6)])
        XCTAssertEqual(try store.sweep(id: sweepID).status, .interrupted)
        // Without --sweep, the open TPE sweeps count.
        XCTAssertEqual(try Worker(store: store).unsampledTrials(sweepID: nil), [UnsampledTrials(sweepID: sweepID, left: 4, count: 6)])

        let rest = try Worker(store: store).work(sweepID: sweepID, jobs: 1)
        XCTAssertEqual(rest.runIDs.count, 4)
        XCTAssertFalse(rest.wasInterrupted)
        XCTAssertEqual(rest.unsampledTrials, [])
        XCTAssertEqual(try store.sweep(id: sweepID).status, .completed)
    }

    /// Grid + ASHA (min 1 epoch, factor 2), one run at a time: the first run goes on at every rung
    /// (nothing to compare with); the second, with a learning rate 3000 times smaller, is worse at
    /// epoch 1 and, as 1 of 2 runs there (keep max(1, 2/2) = 1), stops at rung 0.
    func testASHAPrunesAtARung() throws {
        let store = try SlopeStore(path: directory.path("asha.db"))
        let spec = try parse("""
            fixed: {dataset: "blobs:rows=60:features=3:classes=3:seed=2", hidden: [4], epochs: 6, batch_size: 8, validation: 0.25}
            early_terminate: {type: asha, min_epochs: 1, reduction_factor: 2}
            parameters: {learning_rate: {values: [0.3, 0.0001]}}
            """)
        let (sweepID, runIDs) = try SweepPlan(spec: spec).enqueue(in: store)
        _ = try Worker(store: store).work(sweepID: sweepID, jobs: 1)
        let good = try store.run(id: runIDs[0]), bad = try store.run(id: runIDs[1])
        XCTAssertEqual(good.status, .completed)
        XCTAssertEqual(good.epochsDone, 6)
        XCTAssertEqual(bad.status, .pruned)
        XCTAssertEqual(bad.epochsDone, 1)
        let goodLoss = try XCTUnwrap(store.epochs(runID: good.id)[1].validationLoss)
        let badLoss = try XCTUnwrap(store.epochs(runID: bad.id)[1].validationLoss)
        XCTAssertGreaterThan(badLoss, goodLoss)
        XCTAssertEqual(bad.stopReason, "pruned at epoch 1 (ASHA rung 0): val_loss \(String(format: "%.4g", badLoss)) not in the best 1 of the 2 runs there")
        XCTAssertEqual(try store.sweep(id: sweepID).status, .completed)
    }
}

/// A TPE sweep is checked before it is written as random and grid sweeps are (hostile15 F21): each
/// value and distribution end a trial may draw, with the first trial's other values; a combination
/// that still cannot make a run is drawn again (deterministically), and a sweep whose draws never
/// make one is refused by the worker, not left to end every worker on the same trial.
final class TPEValueCheckTests: XCTestCase {
    private func plan(_ yaml: String) throws -> SweepPlan {
        try SweepPlan(spec: try SweepSpec.parse(yaml: yaml, file: "s.yaml", checkingData: false), source: "s.yaml")
    }

    private let head = "method: tpe\ncount: 6\nn_startup_trials: 3\nmetric: {name: train_loss, goal: minimize}\n"

    func testEveryValueAndEndIsCheckedBeforeTheSweepIsWritten() throws {
        XCTAssertThrowsError(try plan(head + "fixed: {epochs: 1, validation: 0, dataset: xor, hidden: 2}\n"
                                      + "parameters:\n  learning_rate: {distribution: log_uniform, min: 1.0e-46, max: 0.1}\n")) { error in
            // (The first trial's value is fine: the end is what is refused.)
            XCTAssertEqual("\(error)", "s.yaml: parameters.learning_rate.min: '1e-46' is not accepted: it is 0 in float32 "
                           + "(the smallest is about 1.4e-45): use a larger value, or precision float64")
        }
        XCTAssertThrowsError(try plan(head + "fixed: {epochs: 1, validation: 0, dataset: xor, hidden: 2}\n"
                                      + "parameters:\n  learning_rate: {distribution: log_uniform, min: 0.01, max: 1.0e+39}\n")) { error in
            XCTAssertTrue("\(error)".hasPrefix("s.yaml: parameters.learning_rate.max: '1e+39' is not accepted: it is infinite in float32"), "\(error)")
        }
        XCTAssertThrowsError(try plan(head + "fixed: {epochs: 1, validation: 0, dataset: xor}\n"
                                      + "parameters:\n  hidden: {values: [[4], [5], [6], [7], [8], [9], [10], [16777216, 16777216]]}\n")) { error in
            XCTAssertEqual("\(error)", "s.yaml: parameters.hidden.values[7]: '16777216,16777216' is not accepted: "
                           + "281475077373954 parameters; at most 17179869184")
        }
        // The metric the spec names must be one every trial has (the same spec with ASHA was refused; TPE's was not).
        XCTAssertThrowsError(try plan("method: tpe\ncount: 6\nn_startup_trials: 2\nmetric: {name: val_loss, goal: minimize}\n"
                                      + "fixed: {dataset: xor, epochs: 1}\nparameters:\n  validation: {values: [0.5, 0.45, 0.4, 0.35, 0.3, 0.25, 0]}\n")) { error in
            XCTAssertEqual("\(error)", "s.yaml: metric.name: val_loss needs a validation split, and validation is 0: set validation "
                           + "above 0 or use train_loss (a trial may draw parameters.validation.values[6])")
        }
        // Values that all make runs: queued as before.
        XCTAssertEqual(try plan(head + "fixed: {epochs: 1, validation: 0, dataset: xor}\n"
                                + "parameters:\n  hidden: {values: [[4], [2, 2]]}\n  learning_rate: {min: 0.001, max: 1}\n").spec.count, 6)
    }

    /// A learning rate up to 1e300 is fine in float64 and infinite in float32 beyond 3.4e38: a float32
    /// trial that draws one is drawn again, the same way every time; every trial made can be trained.
    func testACombinationThatCannotMakeARunIsDrawnAgain() throws {
        var redrawn = 0
        for seed in 0..<12 {
            let spec = try SweepSpec.parse(yaml: "method: tpe\ncount: 4\nn_startup_trials: 4\nrandom_seed: \(seed)\n"
                + "metric: {name: train_loss, goal: minimize}\nfixed: {epochs: 1, validation: 0, dataset: xor, hidden: 2}\n"
                + "parameters:\n  precision: {values: [float64, float32]}\n"
                + "  learning_rate: {distribution: log_uniform, min: 0.001, max: 1.0e+300}\n", file: "s.yaml", checkingData: false)
            let raw = spec.trialValues(spec.tpeSampler.sample(after: [], seed: spec.trialSeed(0), index: 0))
            let rawRefused = raw.first { $0.0 == .precision }?.1.description == "float32"
                && (raw.first { $0.0 == .learningRate }?.1.asDouble ?? 0) > Double(Float.greatestFiniteMagnitude)
            let made = try TrialMaker(spec: spec).makeTrial(runCount: 0, records: [], fromRunID: 0)
            let again = try TrialMaker(spec: spec).makeTrial(runCount: 0, records: [], fromRunID: 0)
            XCTAssertEqual(made.configJSON, again.configJSON, "the same trial on every worker and on resume")
            let configuration = try RunConfiguration.decode(json: made.configJSON, runID: 1)
            if configuration.training.precision == .float32 {
                XCTAssertLessThanOrEqual(configuration.training.learningRate, Double(Float.greatestFiniteMagnitude))
            }
            if rawRefused { redrawn += 1 }
        }
        XCTAssertGreaterThan(redrawn, 0, "some seed's first draw is a float32 trial with a learning rate beyond float32")
        // Draws that never make a run: the sweep is refused (not a usage error of the worker's flags).
        let hopeless = try SweepSpec.parse(yaml: "method: tpe\ncount: 4\nn_startup_trials: 4\n"
            + "metric: {name: train_loss, goal: minimize}\nfixed: {epochs: 1, validation: 0, dataset: xor, hidden: 2}\n"
            + "parameters:\n  learning_rate: {distribution: log_uniform, min: 1.0e+39, max: 1.0e+40}\n", file: "s.yaml", checkingData: false)
        XCTAssertThrowsError(try TrialMaker(spec: hopeless).makeTrial(runCount: 0, records: [], fromRunID: 0, sweepID: 7)) { error in
            XCTAssertTrue("\(error)".hasPrefix("sweep 7 cannot be used: its stored spec is not valid: 101 draws of its trial 1 made no run "
                                               + "that can be trained (the last: --learning-rate: '"), "\(error)")
            XCTAssertFalse((error as? ExperimentsError)?.isUsageError ?? true)
        }
    }
}
