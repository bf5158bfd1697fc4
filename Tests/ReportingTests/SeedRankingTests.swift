// Ranking configurations across seeds on hand-made runs: means, standard deviations, n, and the
// rules for runs without a value.
import XCTest
@testable import Reporting
import Store
import TestSupport

final class SeedRankingTests: XCTestCase {
    /// lr=1 wins seed 0 (0.10) but is poor on seeds 1 and 2; lr=0.3 is steady. By run, lr=1 is best;
    /// by mean over seeds, lr=0.3 is: (0.15 + 0.16 + 0.17) / 3 = 0.16 against (0.10 + 0.40 + 0.31) / 3 = 0.27.
    func testMeanOverSeedsBeatsTheLuckySeed() {
        let entries = [
            SeedRanking.Entry(id: 1, configuration: "lr=1", value: 0.10),
            SeedRanking.Entry(id: 2, configuration: "lr=1", value: 0.40),
            SeedRanking.Entry(id: 3, configuration: "lr=1", value: 0.31),
            SeedRanking.Entry(id: 4, configuration: "lr=0.3", value: 0.15),
            SeedRanking.Entry(id: 5, configuration: "lr=0.3", value: 0.16),
            SeedRanking.Entry(id: 6, configuration: "lr=0.3", value: 0.17),
            SeedRanking.Entry(id: 7, configuration: "lr=0.01", value: 0.90),
        ]
        let groups = SeedRanking.rank(entries, goal: .min)
        XCTAssertEqual(groups.map(\.runIDs), [[4, 5, 6], [1, 2, 3], [7]])
        XCTAssertEqual(groups[0].mean, 0.16, accuracy: 1e-12)
        // Population deviation (divided by n, as report grid's std): deviations -0.01, 0, 0.01: sqrt(0.0002 / 3).
        XCTAssertEqual(groups[0].standardDeviation!, (0.0002 / 3).squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(groups[0].count, 3)
        XCTAssertEqual(groups[0].bestRunID, 4)
        XCTAssertEqual(groups[1].mean, 0.27, accuracy: 1e-12)
        // deviations -0.17, 0.13, 0.04: sqrt((0.0289 + 0.0169 + 0.0016) / 3) = sqrt(0.0158)
        XCTAssertEqual(groups[1].standardDeviation!, 0.0158.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(groups[1].bestRunID, 1)
        XCTAssertNil(groups[2].standardDeviation)
        XCTAssertTrue(SeedRanking.hasRepeatedConfigurations(groups))
        // Accuracies: the larger mean first.
        XCTAssertEqual(SeedRanking.rank(entries, goal: .max).map(\.runIDs.first), [7, 1, 4])
    }

    /// A configuration that diverged on one seed ranks after every configuration that finished on all.
    func testMissingValuesRankLast() {
        let entries = [
            SeedRanking.Entry(id: 1, configuration: "a", value: 0.05),
            SeedRanking.Entry(id: 2, configuration: "a", value: nil),
            SeedRanking.Entry(id: 3, configuration: "b", value: 0.50),
            SeedRanking.Entry(id: 4, configuration: "b", value: 0.52),
            SeedRanking.Entry(id: 5, configuration: "c", value: nil),
        ]
        let groups = SeedRanking.rank(entries, goal: .min)
        XCTAssertEqual(groups.map(\.runIDs), [[3, 4], [1, 2], [5]])
        XCTAssertEqual(groups[1].missing, 1)
        XCTAssertEqual(groups[1].mean, 0.05)
        XCTAssertNil(groups[2].bestRunID)
        XCTAssertFalse(SeedRanking.hasRepeatedConfigurations(SeedRanking.rank([entries[0], entries[2]], goal: .min)))
    }

    /// A TPE run's config holds `trial`, the sampler's values of its parameters, the seed's index among
    /// them when the seed is a parameter: two runs that differ only by their seed differed there too, so
    /// seeds were never grouped and runs repeated with one seed were called "the mean over seeds"
    /// (hostile15 F6). `trial` is left out of the key; a group that repeats a seed is said to be a mean
    /// over runs; nine equal values have that value as their mean and no spread (not an ulp off).
    func testASearchsTrialIsNoPartOfTheConfigurationAndRepeatedSeedsAreSaid() {
        let seed0 = #"{"training":{"learningRate":0.1,"seed":0},"trial":[1,0]}"#
        let seed1 = #"{"training":{"learningRate":0.1,"seed":1},"trial":[1,1]}"#
        XCTAssertEqual(SeedRanking.configurationKey(configJSON: seed0), SeedRanking.configurationKey(configJSON: seed1))
        XCTAssertEqual(SeedRanking.configurationKey(configJSON: seed0), #"{"training":{"learningRate":0.1}}"#)

        let value = 0.49543508709194095  // (9 x value) / 9 rounds to 0.495435087091941
        XCTAssertNotEqual((0..<9).reduce(0.0) { sum, _ in sum + value } / 9, value)
        let repeated = (1...9).map { SeedRanking.Entry(id: Int64($0), configuration: "lr=0.1", value: value, seed: 0) }
            + [SeedRanking.Entry(id: 10, configuration: "lr=0.1", value: 0.5, seed: 1)]
        let once = [SeedRanking.Entry(id: 11, configuration: "lr=0.01", value: 0.7, seed: 0),
                    SeedRanking.Entry(id: 12, configuration: "lr=0.01", value: 0.9, seed: 1)]
        let groups = SeedRanking.rank(repeated + once, goal: .min)
        XCTAssertEqual(groups.map(\.repeatsASeed), [true, false])
        XCTAssertEqual(SeedRanking.meanOver(groups), "runs, some repeating a seed")
        XCTAssertEqual(SeedRanking.meanOver([groups[1]]), "seeds")
        let nine = SeedRanking.rank(Array(repeated.prefix(9)), goal: .min)[0]
        XCTAssertEqual(nine.mean, value)
        XCTAssertEqual(nine.standardDeviation, 0)
        XCTAssertEqual(CellStatistics(Array(repeating: value, count: 3))?.mean, value)
    }

    /// The configuration key leaves out the training seed and the name, nothing else.
    func testConfigurationKey() {
        let seed0 = #"{"name":"x","training":{"learningRate":0.1,"seed":0},"data":{"splitSeed":0}}"#
        let seed1 = #"{"name":null,"training":{"seed":1,"learningRate":0.1},"data":{"splitSeed":0}}"#
        let split1 = #"{"training":{"learningRate":0.1,"seed":0},"data":{"splitSeed":1}}"#
        XCTAssertEqual(SeedRanking.configurationKey(configJSON: seed0), SeedRanking.configurationKey(configJSON: seed1))
        XCTAssertNotEqual(SeedRanking.configurationKey(configJSON: seed0), SeedRanking.configurationKey(configJSON: split1))
    }

    /// The keys of many runs, reused for texts that differ only by the name and the training seed, are
    /// the very keys `configurationKey` gives each text, whatever the text: escapes, repeated keys,
    /// other seeds, a name or seed the scan cannot vouch for, text that is not JSON. Each text of a
    /// pattern the scan vouches for is parsed once: 3 configurations x 4 seeds, 3 parses.
    func testConfigurationKeysAreConfigurationKeyParsedOncePerConfiguration() {
        var texts: [String] = []
        for rate in ["0.1", "0.2", "1e-3"] {
            for seed in ["0", "1", "12", "-3.5e2"] {
                texts.append(#"{"data":{"splitSeed":0,"seed":4},"name":"run \#(seed)","training":{"learningRate":\#(rate),"seed":\#(seed)}}"#)
            }
        }
        var keys = SeedRanking.ConfigurationKeys()
        XCTAssertEqual(texts.map { keys.key(configJSON: $0) }, texts.map { SeedRanking.configurationKey(configJSON: $0) })
        XCTAssertEqual(keys.parsed, 3)
        XCTAssertEqual(Set(texts.map { keys.key(configJSON: $0) }).count, 3)

        let tricky = [
            #"{"training":{"seed":1,"lr":1}}"#, #"{"training":{"seed":2,"lr":1}}"#, #"{ "training" : { "seed" : 3 , "lr" : 1 } }"#,
            #"{"training":{"se\u0065d":1,"lr":1}}"#, #"{"training":{"se\u0065d":2,"lr":1}}"#,  // escaped keys: parsed each
            #"{"training":{"seed":1,"seed":2}}"#, #"{"training":{"seed":1,"seed":3}}"#,              // a repeated seed
            #"{"training":{"seed":"a"}}"#, #"{"training":{"seed":"b"}}"#, #"{"training":{"seed":01}}"#, #"{"training":{"seed":02}}"#,
            #"{"name":{"a":1},"training":{"seed":1}}"#, #"{"name":{"a":2},"training":{"seed":1}}"#,
            #"{"name":"a\"b","training":{"seed":1}}"#, #"{"name":"a\"c","training":{"seed":1}}"#,
            #"{"training":[1,{"seed":1}]}"#, #"{"training":[1,{"seed":2}]}"#, #"{"other":{"seed":1}}"#, #"{"other":{"seed":2}}"#,
            #"{"training":{"seed":1}} x"#, #"{"training":{"seed":2}} x"#, #"{"training":{"seed":1},}"#, #"{"training":{"seed":2},}"#,
            #"{"training":{"seed":1,"lr":}"#, #"{"training":{"seed":2,"lr":}"#, "not json", "[1]", "", #"{"a":"\u0000","training":{"seed":5}}"#,
        ]
        var trickyKeys = SeedRanking.ConfigurationKeys()
        XCTAssertEqual(tricky.map { trickyKeys.key(configJSON: $0) }, tricky.map { SeedRanking.configurationKey(configJSON: $0) })
        // Texts that differ only by the seed and spacing are one configuration; texts that are not JSON are each their own.
        XCTAssertEqual(trickyKeys.key(configJSON: tricky[0]), trickyKeys.key(configJSON: tricky[2]))
        XCTAssertNotEqual(trickyKeys.key(configJSON: tricky[19]), trickyKeys.key(configJSON: tricky[20]))
        XCTAssertNotEqual(trickyKeys.key(configJSON: tricky[23]), trickyKeys.key(configJSON: tricky[24]))
    }
}

/// `report best` and runner's summary on a sweep where runs differ only by seed: lr=1 has the luckiest
/// run (seed 0: 0.10) but the worst mean; lr=0.3 the best mean over its three seeds.
final class SeedRankedBestTests: XCTestCase {
    private var directory: TemporaryDirectory!
    override func setUpWithError() throws { directory = try TemporaryDirectory(prefix: "slope-seeds") }
    override func tearDown() { directory.remove() }

    /// Final val_loss per (learning rate, seed); config JSON as the runner stores it, the seed inside.
    private let losses: [(Double, UInt64, Double)] = [(1, 0, 0.10), (1, 1, 0.40), (1, 2, 0.31),
                                                      (0.3, 0, 0.15), (0.3, 1, 0.16), (0.3, 2, 0.17)]

    private func makeStore() throws -> SlopeStore {
        let store = try SlopeStore(path: directory.path("seeds.db"))
        let worker = WorkerIdentity(host: "h", pid: 1, label: "test")
        let runs = losses.map { rate, seed, _ in
            SlopeStore.NewRun(name: nil, learningRate: rate, batchSize: 16, epochs: 1, seed: seed, layers: "2-3-1", activation: "relu",
                              outputActivation: "identity", loss: "mse", dataset: "linear", validationFraction: 0.25,
                              configJSON: "{\"training\":{\"learningRate\":\(rate),\"seed\":\(seed)}}", slopeVersion: "test")
        }
        let (_, ids) = try store.createSweep(name: "seeds", specJSON: #"{"metric":{"name":"val_loss","goal":"minimize"}}"#, runs: runs)
        for (id, (_, _, loss)) in zip(ids, losses) {
            let claimToken = try XCTUnwrap(store.claimRun(runID: id, worker: worker)).claimToken
            try store.writeEpoch(runID: id, .init(epoch: 0, trainLoss: loss, validationLoss: loss), tensors: [], holder: RunHolder(worker: worker, claimToken: claimToken))
            try store.finishRun(runID: id, status: .completed, stopReason: "completed all epochs")
        }
        return store
    }

    func testBestRanksConfigurationsByTheirMeanOverSeeds() throws {
        let store = try makeStore()
        let reporter = Reporter(queries: store.queries, style: TerminalStyle(width: 120, usesColor: false))
        let text = try reporter.best(sweepID: 1)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines[0], "best configuration of sweep 1 by final_val_loss (min), mean over seeds: learning_rate=0.3, final_val_loss = 0.16 ± 0.008165 (n=3)")
        // The heading's mean and std are written as the table's (4 significant digits).
        XCTAssertTrue(lines.contains { $0.hasPrefix("   1 ") && $0.contains(" 0.16 ") && $0.contains(" 0.008165 ") }, text)
        XCTAssertTrue(text.contains("its best run: best run of sweep 1 by final_val_loss (min): run 4 "), text)
        let csv = try reporter.best(sweepID: 1, format: .csv).split(separator: "\n")
        XCTAssertEqual(csv[0], "rank,best_run,mean,std,n,missing,runs,configuration")
        // CSV keeps full precision: sqrt(((0.15 - 0.16)^2 + (0.17 - 0.16)^2) / 3) in binary floating point.
        XCTAssertEqual(csv[1], "1,4,0.16,0.008164965809277268,3,0,4 5 6,learning_rate=0.3")
        XCTAssertTrue(csv[2].hasPrefix("2,1,0.27"), String(csv[2]))
        // --per-run: the lucky run.
        XCTAssertTrue(try reporter.best(sweepID: 1, perRun: true).hasPrefix("best run of sweep 1 by final_val_loss (min): run 1 "))
    }

    func testRunnerSummaryNamesTheBestConfiguration() throws {
        let store = try makeStore()
        let summary = ProgressSummary.render(runs: try store.queries.runSummaries(sweepID: 1), metric: "val_loss", maximize: false, sweepID: 1, databaseArgument: "")
        XCTAssertTrue(summary.contains("* best run: 1 (lowest final val_loss)\n"), summary)
        XCTAssertTrue(summary.contains("* best configuration (mean over seeds): runs 4, 5, 6: 0.16 ± 0.008165 (n=3)\n"), summary)
    }

    /// One spread everywhere: the grid's cell over lr=0.3's three seeds and best's configuration give the
    /// same std, to the bit (both CellStatistics).
    func testBestAndGridGiveTheSameSpread() throws {
        let store = try makeStore()
        let reporter = Reporter(queries: store.queries, style: TerminalStyle(width: 120, usesColor: false))
        let grid = try reporter.grid(sweepID: 1, rows: "learning_rate", columns: "batch_size", format: .csv).split(separator: "\n")
        XCTAssertEqual(grid[0], "learning_rate,batch_size,runs,values,mean,std,min,max,best,diverged,failed")
        XCTAssertEqual(grid[1], "0.3,16,3,3,0.16,0.008164965809277268,0.15,0.17,1,0,0")
        let best = try reporter.best(sweepID: 1, format: .csv).split(separator: "\n")
        XCTAssertEqual(best[1], "1,4,0.16,0.008164965809277268,3,0,4 5 6,learning_rate=0.3")
    }
}

final class ImportanceTests: XCTestCase {
    /// metric = 10 [a = y] + [b = 2] on a 2 x 2 grid: mean 5.5, total sum of squares
    /// 5.5² + 4.5² + 4.5² + 5.5² = 101; a's groups (0.5, 10.5) explain 4 x 5² = 100, b's (5, 6) 4 x 0.5² = 1.
    func testMainEffectSharesOnAGrid() {
        func run(_ a: String, _ b: Int64, _ metric: Double) -> (values: [String: RunValue], metric: Double) {
            let values: [String: RunValue] = ["a": .text(a), "b": .integer(b), "c": .integer(7)]
            return (values, metric)
        }
        let runs = [run("x", 1, 0), run("x", 2, 1), run("y", 1, 10), run("y", 2, 11)]
        let result = ImportanceEstimator.estimate(settings: ["a", "b", "c"], runs: runs, goal: .min)
        XCTAssertEqual(result.map(\.setting), ["a", "b"], "c does not vary")
        XCTAssertEqual(result[0].share, 100.0 / 101, accuracy: 1e-12)
        XCTAssertEqual(result[1].share, 1.0 / 101, accuracy: 1e-12)
        XCTAssertEqual(result[0].bestGroup, "x")
        XCTAssertEqual(result[0].bestMean, 0.5)
        XCTAssertEqual(result[1].bestGroup, "1")
    }

    /// The same grid with metrics of about 1e200 (a regression on large targets): the sums of squares
    /// overflowed and the share was inf/inf = NaN, which crashed `report html` (hostile14 F5).
    func testSharesOfHugeMetricsAreTheSame() {
        func run(_ a: String, _ b: Int64, _ metric: Double) -> (values: [String: RunValue], metric: Double) {
            (["a": .text(a), "b": .integer(b)], metric * 1e200)
        }
        let runs = [run("x", 1, 0), run("x", 2, 1), run("y", 1, 10), run("y", 2, 11)]
        let result = ImportanceEstimator.estimate(settings: ["a", "b"], runs: runs, goal: .min)
        XCTAssertEqual(result.map(\.setting), ["a", "b"])
        XCTAssertEqual(result[0].share, 100.0 / 101, accuracy: 1e-12)
        XCTAssertEqual(result[1].share, 1.0 / 101, accuracy: 1e-12)
        XCTAssertEqual(result[0].bestMean, 0.5e200, accuracy: 1e186)
        // Metrics spanning more than Double's range (their mean 0, deviations 1.5e308).
        let spanning = [run("x", 1, -1.5e108), run("x", 2, -1.5e108), run("y", 1, 1.5e108), run("y", 2, 1.5e108)]
        let split = ImportanceEstimator.estimate(settings: ["a", "b"], runs: spanning, goal: .min)
        XCTAssertEqual(split.map(\.share), [1, 0])
    }

    /// Ten distinct learning rates go into 5 bins of 2; the metric is the bin index, so the setting explains all of it.
    func testManyValuesAreBinned() {
        let runs: [(values: [String: RunValue], metric: Double)] = (0..<10).map { index -> (values: [String: RunValue], metric: Double) in
            let values: [String: RunValue] = ["learning_rate": .real(Double(index + 1) / 100)]
            return (values, Double(index / 2))
        }
        let result = ImportanceEstimator.estimate(settings: ["learning_rate"], runs: runs, goal: .min)
        XCTAssertEqual(result.first?.groupCount, 5)
        XCTAssertEqual(result.first?.share ?? 0, 1, accuracy: 1e-12)
        XCTAssertEqual(result.first?.bestGroup, "0.01..0.02")
    }

    /// A setting with a different value in every run is binned (groups of one would explain all of
    /// their own variance: a share of 1 whatever the data), or left out when it cannot be.
    func testASettingWithADifferentValueInEveryRunIsBinnedOrLeftOut() {
        // 8 runs: metric 1...8; the learning rate grows with it, every run its own value; a name
        // differs in every run (text: cannot be binned); the batch size splits them 4 / 4.
        let runs: [(values: [String: RunValue], metric: Double)] = (1...8).map { index -> (values: [String: RunValue], metric: Double) in
            let values: [String: RunValue] = ["learning_rate": .real(Double(index) / 10), "name": .text("run \(index)"),
                                              "batch_size": .integer(index % 2 == 0 ? 16 : 64)]
            return (values, Double(index))
        }
        let result = ImportanceEstimator.estimate(settings: ["learning_rate", "name", "batch_size"], runs: runs, goal: .min)
        XCTAssertEqual(result.map(\.setting), ["learning_rate", "batch_size"], "the name is left out")
        // learning_rate in 4 bins of 2 runs: means 1.5, 3.5, 5.5, 7.5 around 4.5: between 40, total 42.
        XCTAssertEqual(result[0].groupCount, 4)
        XCTAssertEqual(result[0].share, 40.0 / 42.0, accuracy: 1e-12)
        XCTAssertEqual(result[0].bestMean, 1.5, accuracy: 1e-12)
        // batch_size: odd runs (mean 4) and even runs (mean 5): 8 x 0.5² = 2 of 42.
        XCTAssertEqual(result[1].groupCount, 2)
        XCTAssertEqual(result[1].share, 2.0 / 42.0, accuracy: 1e-12)
        XCTAssertEqual(result[1].bestGroup, "64")
        // Three runs, each its own value: fewer than two bins of two runs, so nothing is estimated.
        XCTAssertEqual(ImportanceEstimator.estimate(settings: ["learning_rate"], runs: Array(runs.prefix(3)), goal: .min), [])
    }

    /// Hostile finding 6: the README's `--optimizer sgd,adam,rmsprop --learning-rate 0.001,0.01` sweep.
    /// beta1, beta2, epsilon and rho only follow from the optimizer (NULL where it does not use them),
    /// so they are merged into it, not ranked as effects of their own. metric = 3 k + 2 [lr = 0.01] + 1
    /// (k: sgd 0, adam 1, rmsprop 2): runs 1, 3 | 4, 6 | 7, 9, mean 5, total sum of squares
    /// 16 + 4 + 1 + 1 + 4 + 16 = 42. optimizer: group means 2, 5, 8: 2 (9 + 0 + 9) = 36; learning_rate:
    /// means 4 and 6: 3 (1 + 1) = 6. The shares add up to exactly 1 (no interaction). Before, epsilon
    /// (sgd 2 against 6.5: 2 x 9 + 4 x 2.25 = 27) and rho (27) were ranked too: shares adding up to 96 / 42.
    func testSettingsThatFollowFromTheOptimizerAreMergedIntoIt() {
        func run(_ optimizer: String, _ learningRate: Double, _ metric: Double) -> (values: [String: RunValue], metric: Double) {
            let adam = optimizer == "adam", rmsprop = optimizer == "rmsprop"
            let values: [String: RunValue] = [
                "learning_rate": .real(learningRate), "optimizer": .text(optimizer),
                "beta1": adam ? .real(0.9) : .null, "beta2": adam ? .real(0.999) : .null,
                "epsilon": adam || rmsprop ? .real(1e-8) : .null, "rho": rmsprop ? .real(0.99) : .null,
            ]
            return (values, metric)
        }
        let runs = [run("sgd", 0.1, 1), run("sgd", 0.01, 3), run("adam", 0.1, 4), run("adam", 0.01, 6), run("rmsprop", 0.1, 7), run("rmsprop", 0.01, 9)]
        let settings = ["learning_rate", "optimizer", "beta1", "beta2", "epsilon", "rho"]
        let result = ImportanceEstimator.estimate(settings: settings, runs: runs, goal: .min)
        XCTAssertEqual(result.map(\.setting), ["optimizer", "learning_rate"])
        XCTAssertEqual(result[0].share, 36.0 / 42, accuracy: 1e-12)
        XCTAssertEqual(result[0].merged, ["beta1", "beta2", "epsilon", "rho"])
        XCTAssertEqual(result[0].groupCount, 3)
        XCTAssertEqual(result[0].bestGroup, "sgd")
        XCTAssertEqual(result[0].bestMean, 2)
        XCTAssertEqual(result[1].share, 6.0 / 42, accuracy: 1e-12)
        XCTAssertEqual(result[1].merged, [])
        XCTAssertEqual(result.reduce(0) { $0 + $1.share }, 1, accuracy: 1e-12)
        // The output says what was merged, and (a full grid) nothing about overlapping shares.
        let summary = SweepImportance(sweepID: 3, metric: .best_val_loss, goal: .min, runCount: 6, settings: result)
        XCTAssertEqual(Reporter.importanceNotes(summary), ["beta1, beta2, epsilon, rho follow from optimizer: not ranked apart, optimizer's share is theirs too"])

        // Two optimizers that both use epsilon: epsilon does not vary; beta1 groups the runs as the
        // optimizer does (adam against rmsprop), so the optimizer, listed first, keeps the row.
        let two = ImportanceEstimator.estimate(settings: settings, runs: Array(runs[2...]), goal: .min)
        XCTAssertEqual(two.map(\.setting), ["optimizer", "learning_rate"])
        XCTAssertEqual(two[0].merged, ["beta1", "beta2", "rho"])
        // With beta1 listed first it keeps the row instead: equal groupings are one effect either way.
        XCTAssertEqual(ImportanceEstimator.estimate(settings: ["beta1", "optimizer", "learning_rate"], runs: Array(runs[2...]), goal: .min)
                        .map { [$0.setting] + $0.merged }, [["beta1", "optimizer"], ["learning_rate"]])
    }

    /// A swept setting nested in another (beta1 0.8 and 0.9 for adam, none for sgd): beta1's three
    /// groups determine the optimizer, so the optimizer is merged into beta1. metric: sgd 1, 3; adam
    /// beta1 0.8: 5, 7; 0.9: 9, 11 (seeds 0 and 1), mean 6, total 25 + 9 + 1 + 1 + 9 + 25 = 70;
    /// beta1's means 2, 6, 10: 2 (16 + 0 + 16) = 64; seed's 5 and 7: 3 (1 + 1) = 6.
    func testANestedSettingAbsorbsTheOneItIsNestedIn() {
        func run(_ beta1: Double?, _ seed: Int64, _ metric: Double) -> (values: [String: RunValue], metric: Double) {
            let values: [String: RunValue] = ["optimizer": .text(beta1 == nil ? "sgd" : "adam"), "beta1": beta1.map(RunValue.real) ?? .null,
                                              "seed": .integer(seed)]
            return (values, metric)
        }
        let runs = [run(nil, 0, 1), run(nil, 1, 3), run(0.8, 0, 5), run(0.8, 1, 7), run(0.9, 0, 9), run(0.9, 1, 11)]
        let result = ImportanceEstimator.estimate(settings: ["seed", "optimizer", "beta1"], runs: runs, goal: .min)
        XCTAssertEqual(result.map(\.setting), ["beta1", "seed"])
        XCTAssertEqual(result[0].merged, ["optimizer"])
        XCTAssertEqual(result[0].share, 64.0 / 70, accuracy: 1e-12)
        XCTAssertEqual(result[1].share, 6.0 / 70, accuracy: 1e-12)
        XCTAssertEqual(result[0].bestGroup, "-")
    }

    /// Runs that are not a full grid: two settings that vary together in the sample overlap, and
    /// their shares may add up to more than 1; the output says so. 4 runs: a = x x y y, b = 1 2 2 2,
    /// metric 0 1 2 3: mean 1.5, total 5; a: means 0.5, 2.5: 4; b: 0 against 2: 3 x 0.25 + 2.25 = 3.
    func testSharesOfRunsThatAreNotAGridMayOverlapAndTheOutputSaysSo() {
        let runs: [(values: [String: RunValue], metric: Double)] = [("x", 1, 0.0), ("x", 2, 1), ("y", 2, 2), ("y", 2, 3)].map { a, b, metric in
            let values: [String: RunValue] = ["a": .text(a), "b": .integer(Int64(b))]
            return (values, metric)
        }
        let result = ImportanceEstimator.estimate(settings: ["a", "b"], runs: runs, goal: .min)
        XCTAssertEqual(result.map(\.share), [4.0 / 5, 3.0 / 5])
        let summary = SweepImportance(sweepID: 1, metric: .best_val_loss, goal: .min, runCount: 4, settings: result)
        XCTAssertEqual(Reporter.importanceNotes(summary),
                       ["the shares add up to 1.4: these runs are not a full grid, so the settings vary together and their effects overlap"])
    }
}

/// Hostile findings 6 and 7 on `report best` and runner's summary: a sweep whose every run diverged
/// has no best run (said in one line, never a diverged run named), and the settings line of a
/// configuration leaves out the settings its optimizer does not have (no `beta1=-`).
final class BestRunEligibilityTests: XCTestCase {
    private var directory: TemporaryDirectory!
    override func setUpWithError() throws { directory = try TemporaryDirectory(prefix: "slope-best") }
    override func tearDown() { directory.remove() }

    /// One run per (optimizer, seed, final val_loss, status), in a sweep whose metric is val_loss.
    private func makeStore(_ runs: [(optimizer: String, seed: UInt64, loss: Double, status: RunStatus)]) throws -> SlopeStore {
        let store = try SlopeStore(path: directory.path("best.db"))
        let worker = WorkerIdentity(host: "h", pid: 1, label: "test")
        let newRuns = runs.map { run in
            SlopeStore.NewRun(name: nil, learningRate: 0.1, batchSize: 16, epochs: 1, seed: run.seed, layers: "2-3-1", activation: "relu",
                              outputActivation: "identity", loss: "mse", dataset: "linear", validationFraction: 0.25,
                              configJSON: "{\"training\":{\"learningRate\":0.1,\"optimizer\":\"\(run.optimizer)\",\"seed\":\(run.seed)}}", slopeVersion: "test")
        }
        let (_, ids) = try store.createSweep(name: "best", specJSON: #"{"metric":{"name":"val_loss","goal":"minimize"}}"#, runs: newRuns)
        for (id, run) in zip(ids, runs) {
            let claimToken = try XCTUnwrap(store.claimRun(runID: id, worker: worker)).claimToken
            try store.writeEpoch(runID: id, .init(epoch: 0, trainLoss: run.loss, validationLoss: run.loss), tensors: [], holder: RunHolder(worker: worker, claimToken: claimToken))
            try store.finishRun(runID: id, status: run.status, stopReason: run.status == .diverged ? "loss became NaN at epoch 1" : "completed all epochs")
        }
        return store
    }

    func testEveryRunDivergedMeansNoBestRun() throws {
        // The diverged runs keep their last finite loss (0.5, 0.25...): before, run 2 was named best.
        let store = try makeStore([("sgd", 0, 0.5, .diverged), ("sgd", 1, 0.25, .diverged), ("adam", 0, 0.75, .diverged), ("adam", 1, 1, .diverged)])
        let reporter = Reporter(queries: store.queries, style: TerminalStyle(width: 120, usesColor: false))
        let expected = "no run of sweep 1 can be best: all 4 failed or diverged (report runs --sweep 1 shows why)"
        for perRun in [false, true] {
            XCTAssertThrowsError(try reporter.best(sweepID: 1, perRun: perRun)) { error in
                XCTAssertEqual((error as? ReportError)?.description, expected)
            }
        }
        XCTAssertThrowsError(try reporter.best(sweepID: 1, filter: "optimizer = 'sgd'", format: .csv)) { error in
            XCTAssertEqual((error as? ReportError)?.description,
                           "no run of sweep 1 matching --where can be best: all 2 failed or diverged (report runs --sweep 1 shows why)")
        }
        let summary = ProgressSummary.render(runs: try store.queries.runSummaries(sweepID: 1), metric: "val_loss", maximize: false, sweepID: 1, databaseArgument: "")
        XCTAssertTrue(summary.contains("\nno best run: every run that ended failed or diverged (they are never best)\n"), summary)
        XCTAssertFalse(summary.contains("* best run"), summary)
        XCTAssertFalse(summary.contains("show 2"), summary)
    }

    /// A worker that ends while another still trains runs of the sweep names the best so far: before,
    /// "best run" of a sweep whose better run was still training.
    func testTheBestWhileOtherRunsStillTrainIsTheBestSoFar() throws {
        let store = try makeStore([("sgd", 0, 0.5, .completed), ("sgd", 1, 0.25, .completed)])
        var runs = try store.queries.runSummaries(sweepID: 1)
        let ended = ProgressSummary.render(runs: runs, metric: "val_loss", maximize: false, sweepID: 1, databaseArgument: "")
        XCTAssertTrue(ended.contains("\n* best run: 2 (lowest final val_loss)\n"), ended)
        runs[1].status = .running  // another worker's, its loss so far the lower
        let partial = ProgressSummary.render(runs: runs, metric: "val_loss", maximize: false, sweepID: 1, databaseArgument: "")
        XCTAssertTrue(partial.contains("\n* best run so far: 1 (lowest final val_loss)\n"), partial)
        XCTAssertTrue(partial.contains("\nstill queued or running (not ranked): run 2\n"), partial)
    }

    func testOneCompletedRunAmongDivergedOnesIsBest() throws {
        let store = try makeStore([("sgd", 0, 0.25, .diverged), ("sgd", 1, 0.5, .completed)])
        let reporter = Reporter(queries: store.queries, style: TerminalStyle(width: 120, usesColor: false))
        XCTAssertTrue(try reporter.best(sweepID: 1, perRun: true).hasPrefix("best run of sweep 1 by final_val_loss (min): run 2"))
        let summary = ProgressSummary.render(runs: try store.queries.runSummaries(sweepID: 1), metric: "val_loss", maximize: false, sweepID: 1, databaseArgument: "")
        XCTAssertTrue(summary.contains("* best run: 2 (lowest final val_loss)\n"), summary)
        XCTAssertFalse(summary.contains("no best run"), summary)
        // compare highlights (green) the completed run, not the diverged one with the lower loss.
        let colored = Reporter(queries: store.queries, style: TerminalStyle(width: 160, usesColor: true))
        let lines = try colored.compare(sweepID: 1).split(separator: "\n")
        let green = "\u{1B}[32m"
        XCTAssertEqual(lines.filter { $0.hasPrefix(green) }.map { $0.dropFirst(green.count).split(separator: " ").first }, ["2"], lines.joined(separator: "\n"))
    }

    /// sgd (0.1, 0.12 over seeds 0 and 1) beats adam (0.3, 0.32); beta1, beta2 and epsilon vary between
    /// the configurations but sgd has none of them.
    func testTheSettingsLineLeavesOutSettingsTheOptimizerDoesNotHave() throws {
        let store = try makeStore([("sgd", 0, 0.1, .completed), ("sgd", 1, 0.12, .completed), ("adam", 0, 0.3, .completed), ("adam", 1, 0.32, .completed)])
        let reporter = Reporter(queries: store.queries, style: TerminalStyle(width: 160, usesColor: false))
        let text = try reporter.best(sweepID: 1)
        XCTAssertTrue(text.hasPrefix("best configuration of sweep 1 by final_val_loss (min), mean over seeds: optimizer=sgd, final_val_loss = 0.11 ± "), text)
        XCTAssertFalse(text.contains("=-"), text)
        let csv = try reporter.best(sweepID: 1, format: .csv).split(separator: "\n")
        XCTAssertTrue(csv[1].hasSuffix(",1 2,optimizer=sgd"), String(csv[1]))
        XCTAssertTrue(csv[2].hasSuffix(",3 4,optimizer=adam beta1=0.9 beta2=0.999 epsilon=1.000e-08"), String(csv[2]))
    }
}
