// A `running` run whose worker is gone (its heartbeat an hour old, held on another host: the
// take-over rule of `runner resume`) shows as stalled in `report sweeps`, `report runs` and
// `report show`, with the age of its last heartbeat and what to do; csv and json keep the stored status.
import Foundation
import Reporting
@testable import Store
import XCTest

final class StalledRunTests: ReportTestCase {
    func testARunningRunWithoutAWorkerShowsAsStalled() throws {
        let path = Self.directory.appendingPathComponent("stalled.db").path
        try FileManager.default.copyItem(atPath: Self.databasePath, toPath: path)
        let beat = Timestamp.format(Date().addingTimeInterval(-3600))
        let writer = try SlopeStore(path: path)
        try writer.write { c in _ = try c.execute("UPDATE runs SET heartbeat_at = ? WHERE id = 8", [beat]) }
        try writer.close()
        let reporter = Reporter(queries: try SlopeStore(path: path, mode: .readOnly).queries, style: TerminalStyle(width: 200, usesColor: false))
        let note = "stalled: run 8 is `running` without a worker (last heartbeat 60 min ago); continue with `runner resume --sweep 1`"

        let sweeps = normalized(try reporter.sweeps()).split(separator: "\n").map(String.init)
        XCTAssertEqual(sweeps[0].split(separator: " "), ["id", "name", "status", "created", "runs", "running", "completed", "tensors", "stalled"])
        XCTAssertEqual(sweeps[2].split(separator: " "), ["1", "lr", "x", "bs", "<study>", "stalled", "<time>", "8", "1", "7", "3", "KB", "1"])
        XCTAssertEqual(sweeps.last, note)
        let csv = normalized(try reporter.sweeps(format: .csv))
        XCTAssertEqual(csv, """
            id,name,status,created_at,runs,queued,running,completed,pruned,diverged,failed,tensor_bytes,stalled,not_sampled
            1,lr x bs <study>,running,<time>,8,0,1,7,0,0,0,2808,1,0

            """)

        let runs = try reporter.runs(sweepID: 1).split(separator: "\n").map(String.init)
        let statuses = runs.dropFirst(2).prefix(8).map { $0.split(separator: " ")[2] }  // id, name, status
        XCTAssertEqual(statuses, ["completed", "completed", "completed", "completed", "completed", "completed", "completed", "stalled"])
        XCTAssertEqual(runs.last, note)
        XCTAssertTrue(try reporter.runs(sweepID: 1, format: .csv).contains("\n8,1,lr0.1-bs32-s2,running,"))

        let show = try reporter.show(runID: 8).split(separator: "\n").map(String.init)
        XCTAssertEqual(show[1], "status:     running, 2 of 3 epochs")
        XCTAssertEqual(show[2], "            " + note)
        // A run that is not stalled says nothing of the kind.
        XCTAssertFalse(try reporter.show(runID: 7).contains("stalled"))
        XCTAssertFalse(try reporter.runs(sweepID: 1, filter: "id < 8").contains("stalled"))
    }
}
