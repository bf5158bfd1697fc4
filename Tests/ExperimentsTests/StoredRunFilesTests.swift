// The files a stored run names (its CSV data, its initial weights) are found and read one way
// (InputFile.candidates and InputFile.contents): a named pipe put in a weights file's place is
// refused, not read (reading it would block the worker for ever), and on PostgreSQL a missing
// file is not said to be looked for in "the database's folder" (a server has none).
import Foundation
import PostgresNIO
@testable import Store
import TestSupport
import XCTest
@testable import Experiments

final class StoredRunFilesTests: XCTestCase {
    private var directory: TemporaryDirectory!
    private var database: ScratchPostgresDatabase?

    override func setUpWithError() throws { directory = try TemporaryDirectory(prefix: "slope-stored-files") }

    override func tearDown() {
        database?.drop()
        directory.remove()
    }

    /// A 2-input, 2-hidden, 2-output network's weights file, and settings that train from it.
    private func weightsSettings() throws -> RunSettings {
        let path = directory.path("weights.json")
        try """
            {"tensors": [
              {"layer": 1, "kind": "weight", "rows": 2, "cols": 2, "values": [[0.5, -0.5], [0.25, 0.125]]},
              {"layer": 1, "kind": "bias", "rows": 1, "cols": 2, "values": [0.1, 0.2]},
              {"layer": 2, "kind": "weight", "rows": 2, "cols": 2, "values": [1, 0, -1, 0.5]},
              {"layer": 2, "kind": "bias", "rows": 1, "cols": 2, "values": [0, 0]}
            ]}
            """.write(toFile: path, atomically: true, encoding: .utf8)
        var settings = RunSettings()
        settings.dataset = "xor"
        settings.validationFraction = 0
        settings.batchSize = 4
        settings.epochs = 1
        settings.hidden = [2]
        settings.initialWeightsFile = path
        return settings
    }

    /// The weights file replaced by a named pipe after the run was queued: the run fails at once,
    /// saying what the file is (before, the worker read the pipe and waited for a writer for ever).
    func testANamedPipeInPlaceOfTheWeightsFileIsRefused() throws {
        let store = try SlopeStore(path: directory.path("s.db"))
        let configuration = try RunConfiguration.make(try weightsSettings())
        let path = try XCTUnwrap(configuration.initialWeightsFile)
        let runID = try store.createRun(configuration.newRun())
        try FileManager.default.removeItem(atPath: path)
        XCTAssertEqual(mkfifo(path, 0o600), 0)
        let outcome = Locked<RunOutcome?>(nil)
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            let result = try? Worker(store: store).runQueued(runID: runID)
            outcome.update { $0 = result }
            done.signal()
        }
        if done.wait(timeout: .now() + 30) == .timedOut {
            XCTFail("the worker is blocked reading the named pipe")
            let writer = open(path, O_WRONLY)  // the reader waits in open(): let it read an empty file and go on
            if writer >= 0 { close(writer) }
            done.wait()
        }
        guard case let .failed(message)? = outcome.value else { return XCTFail("\(String(describing: outcome.value))") }
        XCTAssertEqual(message, "\(path): is a pipe (or standard input from one), not a JSON weights file; save it to a file first and give "
                       + "that file's path (it is read whole, hashed, and read again to resume a run)")
        XCTAssertEqual(try store.run(id: runID).status, .failed)

        // A relative name on SQLite is looked for beside the database too, and the message says so.
        var relative = configuration
        relative.initialWeightsFile = "missing-weights.json"
        let missingID = try store.createRun(relative.newRun())
        XCTAssertEqual(try Worker(store: store).runQueued(runID: missingID),
                       .suspended(reason: "missing-weights.json: no such file in the current folder or the database's folder"
                                  + "; start the worker in the folder the runs were queued from, or put the file back as it was queued.", requeued: true))
        XCTAssertEqual(try store.run(id: missingID).status, .queued, "a missing file is this worker's condition: the run goes back to the queue")
    }

    /// On PostgreSQL a relative weights file is looked for in the current folder only, and the
    /// message says so (before: "in the current folder or the database's folder", a folder made
    /// from the server's URL).
    func testAMissingWeightsFileOnPostgreSQLIsLookedForInTheCurrentFolderOnly() throws {
        let database = try ScratchPostgresDatabase(prefix: "slope_files_")
        self.database = database
        let store = try SlopeStore(location: database.url)
        defer { try? store.close() }
        var configuration = try RunConfiguration.make(try weightsSettings())
        configuration.initialWeightsFile = "missing-weights.json"
        let runID = try store.createRun(configuration.newRun())
        XCTAssertEqual(try Worker(store: store).runQueued(runID: runID), .suspended(reason: "missing-weights.json: no such file in the current folder"
                                                                                  + "; start the worker in the folder the runs were queued from, or put the file back as it was queued.", requeued: true))
    }
}
