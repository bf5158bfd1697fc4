// Reports work while a sweep is writing: a read-only reporter sees consistent snapshots while
// another connection keeps committing epochs, and never blocks or fails.
import Foundation
import Reporting
import Store
import TestSupport
import XCTest

final class LiveSweepTests: ReportTestCase {
    func testReportsReadConsistentSnapshotsWhileEpochsAreWritten() throws {
        let path = Self.directory.appendingPathComponent("live.db").path
        try FileManager.default.copyItem(atPath: Self.databasePath, toPath: path)
        let writer = try SlopeStore(path: path)
        let worker = WorkerIdentity(host: "live", pid: 2, label: "live")
        let runID = try writer.createRun(SlopeStore.NewRun(
            name: "live", learningRate: 0.1, batchSize: 8, epochs: 40, seed: 0, layers: "2-3-1", activation: "relu",
            outputActivation: "identity", loss: "mse", dataset: "linear", configJSON: "{}", slopeVersion: "test"))
        let claimToken = try XCTUnwrap(writer.claimRun(runID: runID, worker: worker)).claimToken

        let reporter = Reporter(queries: try SlopeStore(path: path, mode: .readOnly).queries)
        let finished = DispatchSemaphore(value: 0), firstReadDone = DispatchSemaphore(value: 0)
        final class Failure: @unchecked Sendable { var error: Error? }
        let failure = Failure()
        DispatchQueue.global().async {
            firstReadDone.wait()
            do {
                for epoch in 0..<40 {
                    try writer.writeEpoch(runID: runID, SlopeStore.EpochRecord(epoch: epoch, trainLoss: 1 / Double(epoch + 1), seconds: 0.01),
                                          tensors: [], holder: RunHolder(worker: worker, claimToken: claimToken))
                }
            } catch { failure.error = error }
            finished.signal()
        }
        var seen: [Int] = []
        repeat {
            // Each read is one snapshot: the epoch table and the summary agree.
            let json = try reporter.show(runID: runID, format: .json)
            let epochs = json.components(separatedBy: "{\"epoch\": ").count - 1
            let done = try XCTUnwrap(json.range(of: "\"epochs_done\": ").map { Int(json[$0.upperBound...].prefix { $0.isNumber })! })
            XCTAssertEqual(epochs == 0 ? 0 : epochs - 1, done, json)
            seen.append(epochs)
            XCTAssertTrue(try reporter.runs(filter: "name = 'live'", format: .csv).contains(",live,running,"))
            if seen.count == 1 { firstReadDone.signal() }
        } while finished.wait(timeout: .now()) == .timedOut
        XCTAssertNil(failure.error)
        XCTAssertEqual(seen, seen.sorted(), "snapshots only move forward")
        XCTAssertEqual(seen.first, 0)
        XCTAssertEqual(try reporter.show(runID: runID, format: .json).components(separatedBy: "{\"epoch\": ").count - 1, 40)
        try writer.close()
    }
}
