// `report export` on PostgreSQL: the rows stream through a cursor (the same output as SQLite's),
// a snapshot may pause longer than the session's idle-in-transaction timeout, and an export
// whose connection is lost after it wrote part of its output ends with one error instead of
// writing that part again (a hostile tester saw every row written twice).
import Foundation
@testable import Reporting
@testable import Store
import TestSupport
import XCTest

final class PostgresExportTests: XCTestCase {
    /// One run of `epochs` epochs, each with a 64 x 64 weight and its gradient (two tensors of
    /// about 80 KB as CSV each): more rows than one FETCH asks for.
    private func record(_ store: SlopeStore, epochs: Int = 40) throws {
        defer { try? store.close() }
        let worker = WorkerIdentity(host: "export-host", pid: 1, label: "export")
        let run = try store.createRun(.example(name: "wide", epochs: epochs, layers: "64-64"))
        let claim = try XCTUnwrap(try store.claimRun(runID: run, worker: worker))
        for epoch in 0..<epochs {
            let values = (0..<4096).map { Float(epoch * 4096 + $0) / 7 }
            try store.writeEpoch(runID: run, SlopeStore.EpochRecord(epoch: epoch, trainLoss: 1 / Double(epoch + 1), seconds: 0.5),
                                 tensors: [.float32(layer: 1, kind: .weight, rows: 64, cols: 64, values),
                                           .float32(layer: 1, kind: .weightGradient, rows: 64, cols: 64, values.map { -$0 })],
                                 holder: RunHolder(worker: worker, claimToken: claim.claimToken))
        }
        try store.finishRun(runID: run, status: .completed, stopReason: "completed all epochs")
    }

    private func export(_ store: SlopeStore, what: ExportSubject, write: (String) throws -> Void = { _ in }) throws -> String {
        var output = ""
        try Reporter(queries: store.queries).export(what: what, format: .csv) { chunk in
            output += chunk
            try write(chunk)
        }
        return output
    }

    func testTensorsAndEpochsStreamAsFromSQLite() throws {
        XCTAssertGreaterThan(2 * 40, PostgresSQLConnection.fetchSize, "several FETCHes")
        let directory = try TemporaryDirectory(prefix: "slope-pg-export")
        defer { directory.remove() }
        try record(try SlopeStore(path: directory.path("local.db")))
        let local = try SlopeStore(path: directory.path("local.db"), mode: .readOnly)
        defer { try? local.close() }
        let expectedTensors = try export(local, what: .tensors), expectedEpochs = try export(local, what: .epochs)
        XCTAssertEqual(expectedTensors.split(separator: "\n").count, 1 + 80)
        try withPostgresDatabase(prefix: "slope_export_", recording: { try record($0) }) { server in
            for (what, expected) in [(ExportSubject.tensors, expectedTensors), (.epochs, expectedEpochs)] {
                let lines = try export(server, what: what).split(separator: "\n", omittingEmptySubsequences: false)
                let expectedLines = expected.split(separator: "\n", omittingEmptySubsequences: false)
                XCTAssertEqual(lines.count, expectedLines.count, "\(what)")
                if let index = lines.indices.first(where: { $0 < expectedLines.count && lines[$0] != expectedLines[$0] }) {
                    XCTFail("\(what), line \(index): \(lines[index].prefix(300)) instead of \(expectedLines[index].prefix(300))")
                }
            }
        }
    }

    func testASnapshotMayPauseLongerThanTheIdleInTransactionTimeout() throws {
        try withPostgresDatabase(prefix: "slope_pause_", recording: { try record($0, epochs: 2) }) { _, url in
            // The same database, with sessions ended after 1 s idle inside a transaction.
            let store = try SlopeStore(location: url + (url.contains("?") ? "&" : "?")
                                       + "options=-c%20idle_in_transaction_session_timeout%3D1s", mode: .readOnly)
            defer { try? store.close() }
            var runs = 0
            let counts = try store.queries.snapshot { queries in
                runs += 1
                let before = try queries.runCount(sweepID: nil, filter: nil)
                Thread.sleep(forTimeInterval: 2.5)  // a report formatting rows, an export into a slow pipe
                return [before, try queries.runCount(sweepID: nil, filter: nil)]
            }
            XCTAssertEqual(counts, [1, 1])
            XCTAssertEqual(runs, 1, "the snapshot was not cut off and run again")
        }
    }

    func testAnExportCutOffAfterItWroteStopsInsteadOfWritingItAgain() throws {
        try withPostgresDatabase(prefix: "slope_cut_", recording: { try record($0) }) { server, url in
            var cut = false
            var output = ""
            XCTAssertThrowsError(try Reporter(queries: server.queries).export(what: .tensors, format: .csv) { chunk in
                output += chunk
                guard !cut else { return }
                cut = true
                // The first chunk is out: end the export's connection, as a server restart would.
                let admin = try PostgresSession(settings: try PostgresSettings(url: try XCTUnwrap(try PostgresTestServer.adminURL()), environment: [:]))
                defer { admin.close() }
                let name = try XCTUnwrap(URLComponents(string: url)?.path.dropFirst())
                try admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = \(String(name)) AND query LIKE 'FETCH%'")
            }) { error in
                XCTAssertEqual(error as? ReportError, ReportError.exportCutShort)
            }
            XCTAssertTrue(cut)
            XCTAssertEqual(output.components(separatedBy: "run_id,epoch,layer").count, 2, "one header: nothing written twice")
            XCTAssertLessThan(output.split(separator: "\n").count, 1 + 80, "the output stopped short")
        }
    }
}
