// Ranking configurations across seeds on hand-made runs: means, standard deviations, n, and the
// rules for runs without a value.
import XCTest
@testable import Reporting

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
