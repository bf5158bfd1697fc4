// `report best` skips the seed grouping when no two runs share their settings but the seed (a random
// search's runs each sample new values; on 100,000 runs the grouping parsed every run's config JSON
// for nothing, 35 of 49 s): the same output, byte for byte, on hand-made runs.
import Foundation
import XCTest
@testable import Reporting
import Store
import TestSupport

final class BestOfManyRunsTests: XCTestCase {
    private var directory: TemporaryDirectory!

    override func setUpWithError() throws { directory = try TemporaryDirectory(prefix: "slope-best-many") }
    override func tearDown() { directory.remove() }

    private func reporter(_ runs: [HandMadeRun]) throws -> (Reporter, [SlopeStore.RunRecord]) {
        let path = directory.path("best-\(runs.count).db")
        let store = try SlopeStore(path: path)
        _ = try store.recordSweep(name: "best", runs, layers: "2-3-1")
        try store.close()
        let queries = try SlopeStore(path: path, mode: .readOnly).queries
        return (Reporter(queries: queries, style: TerminalStyle(width: 200, usesColor: false)), try queries.runSummaries(sweepID: 1))
    }

    func testDistinctSettingsSkipTheGroupingWithTheSameOutput() throws {
        let (reporter, runs) = try reporter([
            HandMadeRun(0.1, 8, 0.5, .completed), HandMadeRun(0.2, 8, 0.25, .completed), HandMadeRun(0.3, 8, 0.75, .diverged),
            HandMadeRun(0.4, 16, 0.125, .failed), HandMadeRun(0.5, 16, nil, .queued),
        ])
        XCTAssertFalse(Reporter.mayRepeatConfigurations(runs))
        // What the grouping found: every configuration alone, so best ranks by run.
        XCTAssertFalse(SeedRanking.hasRepeatedConfigurations(Reporter.seedGroups(runs, column: .best_train_loss, goal: .min)))
        let best = try reporter.best(sweepID: 1)
        XCTAssertEqual(best, try reporter.best(sweepID: 1, perRun: true))
        XCTAssertTrue(best.hasPrefix("best run of sweep 1 by best_train_loss (min): "), best)
        XCTAssertTrue(best.contains("best_train_loss = 0.25\n"), best)
        XCTAssertEqual(try reporter.best(sweepID: 1, format: .csv), try reporter.best(sweepID: 1, perRun: true, format: .csv))
    }

    func testRepeatedSettingsStillRankConfigurationsByMean() throws {
        // lr 0.1 on seeds 0 and 2 is one configuration (mean 0.3): best ranks configurations, and its
        // table lists that one's runs together ("1 3"), unlike the ranking by run.
        let (reporter, runs) = try reporter([
            HandMadeRun(0.1, 8, 0.5, .completed), HandMadeRun(0.2, 8, 0.25, .completed), HandMadeRun(0.1, 8, 0.1, .completed),
        ])
        XCTAssertTrue(Reporter.mayRepeatConfigurations(runs))
        let best = try reporter.best(sweepID: 1)
        XCTAssertNotEqual(best, try reporter.best(sweepID: 1, perRun: true))
        XCTAssertTrue(best.contains("1 3"), best)  // the runs of lr 0.1, grouped
    }
}
