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
        XCTAssertEqual(groups[0].standardDeviation!, 0.01, accuracy: 1e-12)  // deviations -0.01, 0, 0.01: sqrt(0.0002 / 2)
        XCTAssertEqual(groups[0].count, 3)
        XCTAssertEqual(groups[0].bestRunID, 4)
        XCTAssertEqual(groups[1].mean, 0.27, accuracy: 1e-12)
        // deviations -0.17, 0.13, 0.04: sqrt((0.0289 + 0.0169 + 0.0016) / 2) = sqrt(0.0237)
        XCTAssertEqual(groups[1].standardDeviation!, 0.0237.squareRoot(), accuracy: 1e-12)
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

    /// The configuration key leaves out the training seed and the name, nothing else.
    func testConfigurationKey() {
        let seed0 = #"{"name":"x","training":{"learningRate":0.1,"seed":0},"data":{"splitSeed":0}}"#
        let seed1 = #"{"name":null,"training":{"seed":1,"learningRate":0.1},"data":{"splitSeed":0}}"#
        let split1 = #"{"training":{"learningRate":0.1,"seed":0},"data":{"splitSeed":1}}"#
        XCTAssertEqual(SeedRanking.configurationKey(configJSON: seed0), SeedRanking.configurationKey(configJSON: seed1))
        XCTAssertNotEqual(SeedRanking.configurationKey(configJSON: seed0), SeedRanking.configurationKey(configJSON: split1))
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
        XCTAssertEqual(lines[0], "best configuration of sweep 1 by final_val_loss (min), mean over seeds: learning_rate=0.3, final_val_loss = 0.16 ± 0.01 (n=3)")
        XCTAssertTrue(text.contains("its best run: best run of sweep 1 by final_val_loss (min): run 4 "), text)
        let csv = try reporter.best(sweepID: 1, format: .csv).split(separator: "\n")
        XCTAssertEqual(csv[0], "rank,best_run,mean,std,n,missing,runs,configuration")
        // CSV keeps full precision: sqrt(((0.15 - 0.16)^2 + (0.17 - 0.16)^2) / 2) in binary floating point.
        XCTAssertEqual(csv[1], "1,4,0.16,0.010000000000000009,3,0,4 5 6,learning_rate=0.3")
        XCTAssertTrue(csv[2].hasPrefix("2,1,0.27"), String(csv[2]))
        // --per-run: the lucky run.
        XCTAssertTrue(try reporter.best(sweepID: 1, perRun: true).hasPrefix("best run of sweep 1 by final_val_loss (min): run 1 "))
    }

    func testRunnerSummaryNamesTheBestConfiguration() throws {
        let store = try makeStore()
        let summary = ProgressSummary.render(runs: try store.queries.runSummaries(sweepID: 1), metric: "val_loss", maximize: false, sweepID: 1, databaseArgument: "")
        XCTAssertTrue(summary.contains("* best run: 1 (lowest final val_loss)\n"), summary)
        XCTAssertTrue(summary.contains("* best configuration (mean over seeds): runs 4, 5, 6: 0.1600 ± 0.0100 (n=3)\n"), summary)
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
}
