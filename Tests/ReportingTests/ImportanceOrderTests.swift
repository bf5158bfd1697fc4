// `report importance` gives the same bits in every process: its sums run in a defined order (the
// groups in the order of their first run), not in a Dictionary's, which changes with its seed.
import Foundation
import XCTest
@testable import Reporting
import Store

final class ImportanceOrderTests: XCTestCase {
    /// Eight groups of two runs whose contributions n (mean_g - mean)^2 round differently when
    /// added in another order. Each estimate (each with new dictionaries, so new seeds) must give
    /// the share summed in the groups' first-run order, to the bit.
    func testTheShareIsSummedInTheOrderOfTheGroupsFirstRuns() {
        let groupMetrics: [[Double]] = [[0.403, 2.542], [2.291, 0.765], [1.486, 1.348], [1.955, 2.366], [0.282, 0.085], [2.507, 1.298], [2.287, 0.006], [1.336, 2.165]]
        var runs: [(values: [String: RunValue], metric: Double)] = []
        for (group, metrics) in groupMetrics.enumerated() {
            for metric in metrics { runs.append((["learning_rate": .real(0.001 * Double(group + 1))], metric)) }
        }
        let all = runs.map(\.metric)
        let mean = all.reduce(0, +) / Double(all.count)
        let total = all.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
        let contributions = groupMetrics.map { members -> Double in
            let groupMean = members.reduce(0, +) / Double(members.count)
            return Double(members.count) * (groupMean - mean) * (groupMean - mean)
        }
        let expected = contributions.reduce(0, +) / total
        // The test has power: other orders of the same contributions give other bits (most of the 8! do).
        XCTAssertNotEqual(contributions.reversed().reduce(0, +) / total, expected)
        for _ in 0..<200 {
            let result = ImportanceEstimator.estimate(settings: ["learning_rate"], runs: runs, goal: .min)
            XCTAssertEqual(result.count, 1)
            XCTAssertEqual(result.first?.share.bitPattern, expected.bitPattern, "\(result.first?.share ?? .nan) != \(expected)")
            XCTAssertEqual(result.first?.groupCount, 8)
            XCTAssertEqual(result.first?.bestGroup, "0.005")
            XCTAssertEqual(result.first?.bestMean, (0.282 + 0.085) / 2)
        }
    }
}
