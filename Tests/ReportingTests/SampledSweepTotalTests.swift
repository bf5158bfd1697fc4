// A tpe sweep's total is its trial count from the start (the runs made plus the trials not
// sampled yet), in `report sweeps` (every format) and in the sweep record the dashboard shows.
import Foundation
import Reporting
@testable import Store
import TestSupport
import XCTest

final class SampledSweepTotalTests: XCTestCase {
    /// A tpe sweep of 30 trials with 1 made and running, a grid sweep of 2 runs, and a tpe sweep
    /// whose stored count is damaged (text): its runs are all it counts.
    func makeDatabase(_ directory: TemporaryDirectory) throws -> String {
        let path = directory.path("sampled.db")
        let store = try SlopeStore(path: path)
        defer { try? store.close() }
        let tpe = #"{"name":"search","method":"tpe","count":30,"random_seed":0,"metric":{"name":"val_loss","goal":"minimize"},"fixed":{},"parameters":{}}"#
        let (sampled, _) = try store.createSweep(name: "search", specJSON: tpe, runs: [.example(name: "trial 0")])
        XCTAssertNotNil(try store.claimNextRun(sweepID: sampled, worker: .current()))
        let grid = #"{"name":"grid","method":"grid","metric":{"name":"val_loss","goal":"minimize"},"fixed":{},"parameters":{}}"#
        _ = try store.createSweep(name: "grid", specJSON: grid, runs: [.example(learningRate: 0.1), .example(learningRate: 0.2)])
        let damaged = #"{"name":"damaged","method":"tpe","count":"many","metric":{"name":"val_loss","goal":"minimize"},"fixed":{},"parameters":{}}"#
        _ = try store.createSweep(name: "damaged", specJSON: damaged, runs: [.example()])
        return path
    }

    func testTheTotalOfATPESweepIsItsTrialCount() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try SlopeStore(path: try makeDatabase(directory), mode: .readOnly)
        defer { try? store.close() }
        // The record the dashboard's /api/sweeps draws "done of runs" and its bar from.
        let records = try store.queries.sweepSummaries()
        XCTAssertEqual(records.map(\.runCount), [30, 2, 1])
        XCTAssertEqual(records.map(\.unsampledCount), [29, 0, 0])
        XCTAssertEqual(records.map(\.storedRunCount), [1, 2, 1])
        XCTAssertEqual(try store.queries.sweepSummary(id: 1)?.runCount, 30)

        let reporter = Reporter(queries: store.queries, style: TerminalStyle(width: 200, usesColor: false))
        let json = try JSONSerialization.jsonObject(with: Data(try reporter.sweeps(format: .json).utf8)) as! [[String: Any]]
        XCTAssertEqual(json.map { $0["runs"] as? Int }, [30, 2, 1])
        XCTAssertEqual(json.map { $0["running"] as? Int }, [1, 0, 0])
        XCTAssertEqual(json.map { $0["queued"] as? Int }, [0, 2, 1])
        XCTAssertEqual(json.map { $0["not_sampled"] as? Int }, [29, 0, 0])
        let csv = try reporter.sweeps(format: .csv).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        XCTAssertEqual(csv[0].last, "not_sampled")
        XCTAssertEqual(csv[1][4], "30")
        XCTAssertEqual(csv[1].last, "29")
        let table = try reporter.sweeps().split(separator: "\n").map { $0.split(separator: " ") }
        XCTAssertEqual(table[0], ["id", "name", "status", "created", "runs", "queued", "running", "tensors", "unsampled"])
        XCTAssertEqual(table[2][0], "1")
        XCTAssertEqual(table[2][4], "30")
        XCTAssertEqual(table[2].last, "29")
        XCTAssertEqual(table[3].last, "0")
    }

    /// `report runs --sweep` on a tpe sweep with no trial made yet still says so, though its total is its count.
    func testATPESweepWithNoTrialYetHasNoRunsYet() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("empty.db")
        let writer = try SlopeStore(path: path)
        let tpe = #"{"name":"search","method":"tpe","count":12,"metric":{"name":"val_loss","goal":"minimize"},"fixed":{},"parameters":{}}"#
        _ = try writer.createSweep(name: "search", specJSON: tpe, runs: [])
        try writer.close()
        let store = try SlopeStore(path: path, mode: .readOnly)
        defer { try? store.close() }
        XCTAssertEqual(try store.queries.sweepSummary(id: 1)?.runCount, 12)
        let reporter = Reporter(queries: store.queries, style: TerminalStyle(width: 200, usesColor: false))
        XCTAssertThrowsError(try reporter.runs(sweepID: 1)) { error in
            XCTAssertTrue("\(error)".hasPrefix("sweep 1 has no runs yet (a tpe sweep samples"), "\(error)")
        }
    }
}
