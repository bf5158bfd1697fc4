// In-process HTTP tests of `report serve` (HummingbirdTesting, no sockets): every route's status,
// JSON shape and values on the report fixture (hand-computed), escaping of hostile names, the token
// and Host checks, 4xx JSON errors for bad paths and parameters, live updates and stalled runs.
// On SQLite here; PostgresDashboardTests runs every one of them again on the PostgreSQL store.
import Foundation
import Hummingbird
import HummingbirdTesting
import Reporting
@testable import Store
import TestSupport
import XCTest
@testable import Dashboard

class DashboardTests: XCTestCase {
    /// The report fixture of the class running now (a path or a URL): built before its first test,
    /// removed with every other database the class made after its last.
    static var fixture: String?
    static var cleanups: [() -> Void] = []
    var databasePath: String { Self.fixture! }

    /// A new, empty database of this class's store, removed when the class ends: here an SQLite
    /// file in a temporary folder; PostgresDashboardTests makes a database of the test server.
    class func makeDatabase() throws -> String {
        let directory = try TemporaryDirectory(prefix: "slope-dashboard")
        cleanups.append { directory.remove() }
        return directory.path("fixture.db")
    }

    /// A new database of this class's store holding the report fixture.
    func makeFixture() throws -> String {
        let location = try Self.makeDatabase()
        try ReportFixture.build(into: SlopeStore(location: location))
        return location
    }

    override func setUpWithError() throws {
        try super.setUpWithError()
        if Self.fixture == nil { Self.fixture = try makeFixture() }
    }

    override class func tearDown() {
        cleanups.forEach { $0() }
        cleanups = []
        fixture = nil
        super.tearDown()
    }

    struct Reply {
        var status: HTTPResponse.Status
        var headers: HTTPFields
        var body: ByteBuffer
        var text: String { String(buffer: body) }
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:] }
    }

    /// GETs (or `method`s) each path in turn against one in-process server over the fixture.
    func fetch(_ paths: [String], token: String? = nil, headers: HTTPFields = [:], method: HTTPRequest.Method = .get,
               database: String? = nil) async throws -> [Reply] {
        let store = try SlopeStore(location: database ?? databasePath, mode: .readOnly)
        defer { try? store.close() }
        return try await Self.fetch(paths, from: try DashboardServer(queries: store.queries, token: token), headers: headers, method: method)
    }

    /// GETs each path in turn from `server` (its cache lives as long as the server).
    static func fetch(_ paths: [String], from server: DashboardServer, headers: HTTPFields = [:], method: HTTPRequest.Method = .get) async throws -> [Reply] {
        let application = Application(router: server.router())
        return try await application.test(.router) { client in
            var replies: [Reply] = []
            for path in paths {
                let response = try await client.execute(uri: path, method: method, headers: headers)
                replies.append(Reply(status: response.status, headers: response.headers, body: response.body))
            }
            return replies
        }
    }

    func fetch(_ path: String, token: String? = nil, headers: HTTPFields = [:], method: HTTPRequest.Method = .get,
               database: String? = nil) async throws -> Reply {
        try await fetch([path], token: token, headers: headers, method: method, database: database)[0]
    }

    /// A 4xx answer: the status, a JSON {"error": ...} whose message contains `fragment`, on one line.
    func assertError(_ path: String, _ status: HTTPResponse.Status, _ fragment: String, file: StaticString = #filePath, line: UInt = #line) async throws {
        let reply = try await fetch(path)
        XCTAssertEqual(reply.status, status, path, file: file, line: line)
        XCTAssertEqual(reply.headers[.contentType], "application/json; charset=utf-8", path, file: file, line: line)
        let message = reply.json["error"] as? String ?? ""
        XCTAssertTrue(message.contains(fragment), "\(path): \(message)", file: file, line: line)
        XCTAssertFalse(message.contains("\n"), file: file, line: line)
    }

    /// Best validation loss of fixture sweep run (lr index, batch index, seed) after `epochs` epochs.
    func bestValidationLoss(_ lrIndex: Int, _ batchIndex: Int, _ seed: UInt64, epochs: Int = 3) -> Double {
        ReportFixture.trainLoss(lrIndex: lrIndex, batchIndex: batchIndex, seed: seed, epoch: epochs) + 0.0625
    }

    // MARK: sweeps and one sweep

    /// A tpe sweep's total is its trial count from the start: 1 trial made of 30 is 0 done of 30, not of 1.
    func testATPESweepCountsItsTrialsNotSampledYet() async throws {
        let location = try Self.makeDatabase()
        let store = try SlopeStore(location: location)
        let spec = #"{"name":"search","method":"tpe","count":30,"random_seed":0,"metric":{"name":"val_loss","goal":"minimize"},"fixed":{},"parameters":{}}"#
        let (sweepID, _) = try store.createSweep(name: "search", specJSON: spec, runs: [.example(name: "trial 0")])
        XCTAssertNotNil(try store.claimNextRun(sweepID: sweepID, worker: .current()))
        try store.close()
        let replies = try await fetch(["/api/sweeps", "/api/sweeps/\(sweepID)"], database: location)
        let listed = (replies[0].json["sweeps"] as! [[String: Any]])[0]
        let sweep = replies[1].json["sweep"] as! [String: Any]
        for shown in [listed, sweep] {
            XCTAssertEqual(shown["runs"] as? Int, 30)
            XCTAssertEqual(shown["done"] as? Int, 0)
            XCTAssertEqual((shown["counts"] as? [String: Int])?["running"], 1)
        }
    }

    /// A tpe sweep before its first trial: its metric is its spec's (val_loss: final_val_loss) on
    /// every route, not the training loss that a sweep whose runs hold out nothing falls back to (no
    /// run could say yet), and importance says there is no run yet, as `report importance` does,
    /// not that no run matches a filter that was not given (newuser15 N10).
    func testATPESweepWithNoTrialYetShowsItsOwnMetricAndSaysSo() async throws {
        let location = try Self.makeDatabase()
        let store = try SlopeStore(location: location)
        let spec = #"{"name":"search","method":"tpe","count":30,"random_seed":0,"metric":{"name":"val_loss","goal":"minimize"},"fixed":{},"parameters":{}}"#
        let (sweepID, runIDs) = try store.createSweep(name: "search", specJSON: spec, runs: [])
        XCTAssertEqual(runIDs, [])
        try store.close()
        let replies = try await fetch(["/api/sweeps", "/api/sweeps/\(sweepID)", "/api/sweeps/\(sweepID)/importance",
                                       "/api/sweeps/\(sweepID)/heatmap", "/api/sweeps/\(sweepID)/parallel",
                                       "/api/sweeps/\(sweepID)/importance?where=seed%20%3D%201"], database: location)
        XCTAssertEqual(replies.map(\.status), Array(repeating: .ok, count: 6), replies.map(\.text).joined(separator: "\n"))
        XCTAssertEqual((replies[0].json["sweeps"] as! [[String: Any]])[0]["metric"] as? String, "final_val_loss")
        XCTAssertEqual(replies[1].json["metric"] as? String, "final_val_loss")
        XCTAssertTrue((replies[1].json["metrics"] as! [String]).contains("final_val_loss"), "the menu holds the metric it starts on")
        for reply in replies[2...] {
            XCTAssertEqual(reply.json["metric"] as? String, "final_val_loss", reply.text)
            XCTAssertEqual(reply.json["goal"] as? String, "min", reply.text)
        }
        XCTAssertEqual(replies[2].json["runs"] as? Int, 0)
        XCTAssertEqual(replies[2].json["note"] as? String, "sweep \(sweepID) has no runs yet (a tpe sweep samples each trial when a worker asks for one: "
                       + "start one with `runner work --sweep \(sweepID)`)")
        XCTAssertEqual(replies[5].json["note"] as? String, "no run of sweep \(sweepID) matches the filter")
    }

    func testSweepsListsStatusProgressBestAndEscapesTheName() async throws {
        let reply = try await fetch("/api/sweeps")
        XCTAssertEqual(reply.status, .ok)
        XCTAssertTrue(reply.text.contains("lr x bs \\u003cstudy\\u003e"), reply.text)
        XCTAssertFalse(reply.text.contains("<"))
        let sweeps = reply.json["sweeps"] as! [[String: Any]]
        XCTAssertEqual(sweeps.count, 1)
        let sweep = sweeps[0]
        XCTAssertEqual(sweep["name"] as? String, "lr x bs <study>")
        XCTAssertEqual(sweep["runs"] as? Int, 8)
        XCTAssertEqual(sweep["done"] as? Int, 7)
        XCTAssertEqual((sweep["counts"] as? [String: Int])?["running"], 1)
        XCTAssertEqual((sweep["counts"] as? [String: Int])?["completed"], 7)
        XCTAssertEqual(sweep["live"] as? Bool, true)
        XCTAssertEqual(sweep["metric"] as? String, "best_val_loss")
        // The best run: lr 0.1, batch 16, seed 2 (rate 4.5): 1 / (1 + 3 x 4.5) + 0.0625.
        XCTAssertEqual(sweep["best"] as! Double, 1 / 14.5 + 0.0625, accuracy: 1e-12)
        XCTAssertEqual(reply.json["single_runs"] as? Int, 2)
    }

    func testSweepNamesItsSweptSettingsMetricsAndEpochs() async throws {
        let json = try await fetch("/api/sweeps/1").json
        XCTAssertEqual(json["swept"] as? [String], ["learning_rate", "batch_size", "seed", "weight_decay"])  // the fixture's weight decay follows the seed
        XCTAssertEqual(json["metric"] as? String, "best_val_loss")
        XCTAssertEqual(json["curve_metric"] as? String, "val_loss")
        XCTAssertTrue((json["metrics"] as! [String]).contains("final_val_accuracy"))
        let sweep = json["sweep"] as! [String: Any]
        XCTAssertEqual(sweep["epochs_done"] as? Int, 7 * 3 + 2)
        let settings = json["settings"] as! [[String: Any]]
        XCTAssertEqual(settings.first { $0["name"] as? String == "learning_rate" }?["values"] as? Int, 2)
        XCTAssertEqual(settings.first { $0["name"] as? String == "hidden" }?["values"] as? Int, 1)
        try await assertError("/api/sweeps/7", .notFound, "no sweep with id 7")
        try await assertError("/api/sweeps/abc", .badRequest, "positive whole number")
        try await assertError("/api/sweeps/0", .badRequest, "positive whole number")
    }

    /// One rule for "swept", the one `report grid` counts its axes by: a run without a setting (NULL)
    /// differs from one with it. In an sgd/adam sweep beta1, beta2 and epsilon are NULL for the sgd
    /// runs and PyTorch's defaults (0.9, 0.999, 1e-8) for the adam ones: two rows of `report grid
    /// --rows beta1`, but before, one value and not swept on the sweep page (its own count left NULL
    /// out). rho is NULL for every run: one value, not swept. On both stores (PostgresDashboardTests).
    func testASettingOneOptimizerHasAndTheOtherNotIsSweptAsInReportGrid() async throws {
        let location = try Self.makeDatabase()
        let store = try SlopeStore(location: location)
        let runs = [("sgd", 0.1), ("sgd", 0.01), ("adam", 0.1), ("adam", 0.01)].map { optimizer, learningRate -> SlopeStore.NewRun in
            var run = SlopeStore.NewRun.example(learningRate: learningRate, batchSize: 32)
            run.configJSON = #"{"training":{"learningRate":\#(learningRate),"batchSize":32,"optimizer":"\#(optimizer)"}}"#
            return run
        }
        let (sweepID, _) = try store.createSweep(name: "sgd vs adam", specJSON: "{}", runs: runs)
        let beta1 = try XCTUnwrap(RunColumn(rawValue: "beta1")), rho = try XCTUnwrap(RunColumn(rawValue: "rho"))
        XCTAssertEqual(try store.queries.distinctValueCounts(sweepID: sweepID, columns: [.learning_rate, beta1, rho]), [2, 2, 1])
        let grid = try Reporter(queries: store.queries).pivot(sweepID: sweepID, rows: "beta1", columns: "learning_rate", metric: nil, goal: nil)
        XCTAssertEqual(grid.rowValues, [.real(0.9), .null], "report grid's rows: adam's beta1, and sgd's none")
        try store.close()

        let replies = try await fetch(["/api/sweeps/\(sweepID)", "/api/sweeps/\(sweepID)/parallel"], database: location)
        let swept = ["learning_rate", "optimizer", "beta1", "beta2", "epsilon"]
        XCTAssertEqual(replies[0].json["swept"] as? [String], swept)
        let settings = replies[0].json["settings"] as! [[String: Any]]
        let values = Dictionary(uniqueKeysWithValues: settings.map { ($0["name"] as! String, $0["values"] as! Int) })
        XCTAssertEqual(values["beta1"], 2)
        XCTAssertEqual(values["epsilon"], 2)
        XCTAssertEqual(values["optimizer"], 2)
        XCTAssertEqual(values["rho"], 1)
        XCTAssertEqual(values["batch_size"], 1)
        // Parallel coordinates: an axis per swept setting, the sgd runs without a point on beta1's.
        XCTAssertEqual(replies[1].json["settings"] as? [String], swept)
        let lines = replies[1].json["runs"] as! [[String: Any]]
        XCTAssertEqual(lines.count, 4)
        for line in lines {
            let values = line["values"] as! [Any]
            XCTAssertEqual(values.count, 5)
            let isSGD = values[1] as? String == "sgd"
            XCTAssertEqual(values[2] as? Double, isSGD ? nil : 0.9, "beta1 of run \(line["id"] ?? "?")")
            XCTAssertEqual(values[2] is NSNull, isSGD)
        }
    }

    /// The sweep page opens on the sweep's own metric (here `metric: val_loss`, ranked by the final
    /// validation loss), as `report grid` and `report html` do: before, `/api/sweeps/ID` said
    /// best_val_loss and the page's heatmap, importance and parallel coordinates started on it.
    func testTheSweepPageStartsOnTheSweepsOwnMetric() async throws {
        let location = try Self.makeDatabase()
        let store = try SlopeStore(location: location)
        let spec = #"{"name":"own metric","method":"grid","metric":{"name":"val_loss","goal":"minimize"},"fixed":{},"parameters":{}}"#
        // Run 1 had the lower validation loss on the way (0.1), run 2 ends lower (0.2 against 0.4).
        let (sweepID, runIDs) = try store.createSweep(name: "own metric", specJSON: spec,
                                                      runs: [.example(learningRate: 0.01, batchSize: 16), .example(learningRate: 0.1, batchSize: 32)])
        let worker = WorkerIdentity(host: "fixture-host", pid: 1, label: "fixture")
        for (runID, losses) in zip(runIDs, [[0.5, 0.1, 0.4], [0.5, 0.3, 0.2]]) {
            let claimToken = try XCTUnwrap(store.claimRun(runID: runID, worker: worker)).claimToken
            for (epoch, loss) in losses.enumerated() {
                try store.writeEpoch(runID: runID, SlopeStore.EpochRecord(epoch: epoch, trainLoss: loss, validationLoss: loss, seconds: 0.5),
                                     tensors: [], holder: RunHolder(worker: worker, claimToken: claimToken))
            }
            try store.finishRun(runID: runID, status: .completed, stopReason: "completed all epochs")
        }
        let grid = try Reporter(queries: store.queries).pivot(sweepID: sweepID, rows: "learning_rate", columns: "batch_size", metric: nil, goal: nil)
        XCTAssertEqual(grid.metric, .final_val_loss, "report grid's metric")
        XCTAssertEqual(grid.best?.rowValue, .real(0.1))
        // A sweep to maximize val_accuracy: its best is the highest final one of the runs that did not
        // diverge (run 3 diverged with the highest).
        let accuracySpec = #"{"name":"accuracy","method":"grid","metric":{"name":"val_accuracy","goal":"maximize"},"fixed":{},"parameters":{}}"#
        let (accuracySweep, accuracyRuns) = try store.createSweep(name: "accuracy", specJSON: accuracySpec, runs: [0.01, 0.1, 1].map { .example(learningRate: $0) })
        for (runID, accuracies) in zip(accuracyRuns, [[0.5, 0.9, 0.7], [0.5, 0.6, 0.8], [0.5, 0.95, 0.99]]) {
            let claimToken = try XCTUnwrap(store.claimRun(runID: runID, worker: worker)).claimToken
            for (epoch, accuracy) in accuracies.enumerated() {
                try store.writeEpoch(runID: runID, SlopeStore.EpochRecord(epoch: epoch, trainLoss: 1 - accuracy, validationLoss: 1 - accuracy,
                                                                          validationAccuracy: accuracy, seconds: 0.5),
                                     tensors: [], holder: RunHolder(worker: worker, claimToken: claimToken))
            }
            try store.finishRun(runID: runID, status: runID == accuracyRuns[2] ? .diverged : .completed, stopReason: nil)
        }
        try store.close()

        let replies = try await fetch(["/api/sweeps/\(sweepID)", "/api/sweeps/\(sweepID)/heatmap?rows=learning_rate&cols=batch_size",
                                       "/api/sweeps/\(sweepID)/parallel", "/api/sweeps/\(sweepID)/importance",
                                       "/api/sweeps/\(sweepID)/heatmap?where=learning_rate%20%3E%205"], database: location)
        XCTAssertEqual(replies[0].json["metric"] as? String, "final_val_loss", "where the page's metric menu starts")
        XCTAssertEqual(replies[1].json["metric"] as? String, "final_val_loss")
        XCTAssertEqual((replies[1].json["best"] as? [String: Any])?["row"] as? Double, 0.1, "the best cell of report grid")
        XCTAssertEqual(replies[2].json["metric"] as? String, "final_val_loss")
        XCTAssertEqual(replies[2].json["goal"] as? String, "min")
        XCTAssertEqual((replies[2].json["runs"] as? [[String: Any]])?.first?["id"] as? Int, Int(runIDs[1]), "best first by the final loss")
        XCTAssertEqual(replies[3].json["metric"] as? String, "final_val_loss")
        XCTAssertEqual(replies[4].json["metric"] as? String, "final_val_loss", "an empty heatmap names the same metric")

        // The list of sweeps shows the best value of the same metric: before, best_val_loss (0.1 here,
        // which no page or report ranks by) beside the page's final_val_loss.
        let lists = try await fetch(["/api/sweeps", "/api/sweeps/\(accuracySweep)"], database: location)
        let listed = lists[0].json["sweeps"] as! [[String: Any]]
        XCTAssertEqual(listed.map { $0["metric"] as? String }, ["final_val_loss", "final_val_accuracy"])
        XCTAssertEqual(listed.map { $0["best"] as? Double }, [0.2, 0.8])
        XCTAssertEqual(lists[1].json["metric"] as? String, "final_val_accuracy", "the sweep's page")
    }

    func testRunsPageIsSortedFilteredAndPaginatedServerSide() async throws {
        // Every sweep run's best validation loss, in run-id order (lr outer, batch, seed; run 8 stopped after 2 epochs).
        var expected: [(Int64, Double)] = []
        for index in 0..<8 {
            expected.append((Int64(index + 1), bestValidationLoss(index / 4, (index / 2) % 2, ReportFixture.seeds[index % 2], epochs: index == 7 ? 2 : 3)))
        }
        let byValue = expected.sorted { $0.1 > $1.1 }.map(\.0)
        let reply = try await fetch("/api/sweeps/1/runs?sort=-best_val_loss&offset=2&limit=3")
        XCTAssertEqual(reply.status, .ok)
        XCTAssertEqual(reply.json["total"] as? Int, 8)
        let runs = reply.json["runs"] as! [[String: Any]]
        XCTAssertEqual(runs.map { Int64($0["id"] as! Int) }, Array(byValue[2..<5]))
        XCTAssertEqual(runs[0]["best_val_loss"] as! Double, expected.first { $0.0 == byValue[2] }!.1, accuracy: 1e-12)
        let firstID = runs[0]["id"] as! Int
        XCTAssertEqual(runs[0]["learning_rate"] as? Double, firstID <= 4 ? 0.01 : 0.1)

        let filtered = try await fetch("/api/sweeps/1/runs?where=batch_size%20%3D%2016%20and%20status%20%3D%20'completed'").json
        XCTAssertEqual(filtered["total"] as? Int, 4)
        XCTAssertEqual((filtered["runs"] as! [[String: Any]]).map { $0["id"] as! Int }, [1, 2, 5, 6])
        // Form encoding: + is a space, %2B a plus.
        let formEncoded = try await fetch("/api/sweeps/1/runs?where=batch_size+%3D+16+and+learning_rate+%3C+1e%2B5").json
        XCTAssertEqual(formEncoded["total"] as? Int, 4)
        let beyond = try await fetch("/api/sweeps/1/runs?offset=100").json
        XCTAssertEqual(beyond["total"] as? Int, 8)
        XCTAssertEqual((beyond["runs"] as! [Any]).count, 0)
        // A column no run has a value for: the page starts inside the missing values, in id order.
        let missing = try await fetch("/api/sweeps/1/runs?sort=final_val_accuracy&offset=5&limit=2").json
        XCTAssertEqual((missing["runs"] as! [[String: Any]]).map { $0["id"] as! Int }, [6, 7])

        try await assertError("/api/sweeps/1/runs?where=learning_rate%20%3C", .badRequest, "where: invalid expression")
        try await assertError("/api/sweeps/1/runs?sort=colour", .badRequest, "unknown column 'colour'")
        try await assertError("/api/sweeps/1/runs?limit=0", .badRequest, "limit must be a whole number from 1 to 500")
        try await assertError("/api/sweeps/1/runs?offset=-1", .badRequest, "offset")
        try await assertError("/api/sweeps/9/runs", .notFound, "no sweep with id 9")
    }

    /// A where= whose percent-escapes are not UTF-8 (or a % without two hex digits) was parsed
    /// undecoded, and the 400 blamed a '%' the user never wrote; it says what is wrong now.
    func testAParameterThatDoesNotPercentDecodeIsSaidAsSuch() async throws {
        for (path, message) in [
            ("/api/runs?where=name%20%3D%20%27%ff%27", "where: not UTF-8 text after percent-decoding (%ff); escape the text's UTF-8 bytes"),
            ("/api/sweeps/1/runs?where=%zz", "where: '%zz' is not a percent escape (% and two hex digits); write a % itself as %25"),
            ("/api/sweeps/1/heatmap?rows=learning_rate&cols=batch_size&where=seed%3D1%25%C3", "where: not UTF-8 text after percent-decoding (%C3); escape the text's UTF-8 bytes"),
            ("/api/runs/1/tensor.npy?epoch=%E9", "epoch: not UTF-8 text after percent-decoding (%E9); escape the text's UTF-8 bytes"),
        ] {
            let reply = try await fetch(path)
            XCTAssertEqual(reply.status, .badRequest, path)
            XCTAssertEqual(reply.json["error"] as? String, message, path)
        }
        // A parameter the route reads given twice: neither value is taken (the second was never looked at: hostile16 F5).
        for path in ["/api/runs/1/layers?offset=1&offset=2", "/api/runs/1/epochs?offset=1&offset=x", "/api/runs/1/tensor.npy?epoch=1&layer=1&kind=weight&kind=weight"] {
            let name = path.contains("kind=weight&kind") ? "kind" : "offset"
            let reply = try await fetch(path)
            XCTAssertEqual(reply.status, .badRequest, path)
            XCTAssertEqual(reply.json["error"] as? String, "\(name) is given more than once; give it once", path)
        }
        // Escaped UTF-8 still decodes: a name that is not there matches no run.
        let utf8 = try await fetch("/api/runs?where=name%20%3D%20%27caf%C3%A9%27")
        XCTAssertEqual(utf8.status, .ok)
        XCTAssertEqual(utf8.json["total"] as? Int, 0)
    }

    /// The check ran on every parameter, so one the route does not read (a cache buster, a
    /// tracking tag, a parameter of another route) got a 400 for its text. Parameters a route does
    /// not read are ignored, whatever their text, as web servers and APIs do; bad values of those
    /// it reads are still refused (above).
    func testParametersARouteDoesNotReadAreIgnored() async throws {
        let filtered = try await fetch("/api/sweeps/1/runs?where=batch_size%20%3D%2016&_=%zz&utm_source=%E9")
        XCTAssertEqual(filtered.status, .ok)
        XCTAssertEqual(filtered.json["total"] as? Int, 4, "the filter read, the others ignored")
        for path in ["/api/runs?%zz=1", "/api/runs?cache=%", "/api/sweeps?where=%E9", "/api/runs/1?epoch=%zz", "/api/runs/1/layers?kind=%C3"] {
            let reply = try await fetch(path)
            XCTAssertEqual(reply.status, .ok, "\(path): \(reply.json)")
        }
        let run = try await fetch("/api/runs/1?limit=%zz&where=nonsense")
        XCTAssertEqual(run.status, .ok)
        XCTAssertEqual((run.json["run"] as? [String: Any])?["id"] as? Int, 1)
        // A route's own parameter, with a bad value next to ignored ones: still a 400 naming it.
        let bad = try await fetch("/api/sweeps/1/runs?_=%zz&limit=%E9")
        XCTAssertEqual(bad.status, .badRequest)
        XCTAssertEqual(bad.json["error"] as? String, "limit: not UTF-8 text after percent-decoding (%E9); escape the text's UTF-8 bytes")
    }

    /// Pages that start before, across and after the boundary between valued and missing values
    /// equal slices of the whole sorted list.
    func testPagesAcrossMissingValuesMatchTheWholeOrder() throws {
        let queries = try SlopeStore(location: databasePath, mode: .readOnly).queries
        let sort = RunSort(column: .best_val_loss)
        let whole = try queries.runSummaries(sort: sort).map(\.id)
        XCTAssertEqual(whole.suffix(2), [9, 10])  // no validation split: missing, last, by id
        for offset in 0...whole.count {
            for limit in 1...4 {
                let page = try queries.runSummaries(sort: sort, limit: limit, offset: offset).map(\.id)
                XCTAssertEqual(page, Array(whole.dropFirst(offset).prefix(limit)), "offset \(offset) limit \(limit)")
            }
        }
    }

    func testHeatmapAggregatesTheMetricPerCellAndMarksTheBest() async throws {
        let reply = try await fetch("/api/sweeps/1/heatmap?rows=learning_rate&cols=batch_size")
        XCTAssertEqual(reply.status, .ok)
        let json = reply.json
        XCTAssertEqual(json["metric"] as? String, "best_val_loss")
        XCTAssertEqual(json["goal"] as? String, "min")
        XCTAssertEqual(json["row_values"] as? [Double], [0.01, 0.1])
        XCTAssertEqual(json["column_values"] as? [Int], [16, 32])
        let cells = json["cells"] as! [[String: Any]]
        XCTAssertEqual(cells.count, 4)
        let first = cells.first { $0["row"] as? Double == 0.01 && $0["col"] as? Int == 16 }!
        XCTAssertEqual(first["runs"] as? Int, 2)
        XCTAssertEqual(first["mean"] as! Double, (bestValidationLoss(0, 0, 1) + bestValidationLoss(0, 0, 2)) / 2, accuracy: 1e-12)
        XCTAssertEqual(first["min"] as! Double, bestValidationLoss(0, 0, 2), accuracy: 1e-12)
        // No run of the fixture diverged or failed: none left out (GridDivergenceTests has some).
        XCTAssertEqual(cells.map { [$0["diverged"] as? Int, $0["failed"] as? Int] }, Array(repeating: [0, 0], count: 4))
        let best = cells.filter { $0["best"] as? Bool == true }
        XCTAssertEqual(best.count, 1)
        XCTAssertEqual(best[0]["row"] as? Double, 0.1)
        XCTAssertEqual(best[0]["col"] as? Int, 16)

        let bySeed = try await fetch("/api/sweeps/1/heatmap?rows=seed&cols=learning_rate&metric=final_train_loss").json
        XCTAssertEqual(bySeed["row_values"] as? [Int], [1, 2])
        XCTAssertEqual(bySeed["metric"] as? String, "final_train_loss")
        let none = try await fetch("/api/sweeps/1/heatmap?where=learning_rate%20%3E%205").json
        XCTAssertEqual((none["cells"] as! [Any]).count, 0)

        try await assertError("/api/sweeps/1/heatmap?rows=colour", .badRequest, "rows: unknown column 'colour'")
        // A setting against itself is only a diagonal: refused as report grid refuses it, naming this request's parameters.
        try await assertError("/api/sweeps/1/heatmap?rows=learning_rate&cols=learning_rate", .badRequest,
                              "rows and cols are both learning_rate: give two different columns (one against itself is only a diagonal)")
        try await assertError("/api/sweeps/1/heatmap?metric=name", .badRequest, "metric must be a numeric column")
        try await assertError("/api/sweeps/5/heatmap", .notFound, "no sweep with id 5")
    }

    /// A random search's 2,000 runs, each with its own learning rate and momentum: a 2,000 x 2,000 map
    /// is refused with report grid's refusal (at most 50 values per axis), which the page shows, and at
    /// once (before the limit, looking up every pair took longer than the 4 s the dashboard waits, and
    /// every request meanwhile got 503). Narrowed by the filter to 50 runs: a cell per run, found in one
    /// pass over the cells.
    func testHeatmapOfTwoThousandSampledRunsIsRefusedAndFiftyAnswerWithACellPerRun() async throws {
        let location = try Self.makeDatabase()
        var generator = TestRandom(seed: 9)
        let settings = (0..<2_000).map { _ in (learningRate: exp(generator.uniform(log(0.001), 0)), momentum: generator.uniform(0, 0.9)) }
        let store = try SlopeStore(location: location)
        _ = try store.createSweep(name: "random", specJSON: "{}", runs: settings.enumerated().map { index, setting in
            SlopeStore.NewRun.example(learningRate: setting.learningRate, momentum: setting.momentum, seed: UInt64(index))
        })
        try store.close()
        let crowded = try await fetch("/api/sweeps/1/heatmap?rows=learning_rate&cols=momentum", database: location)
        XCTAssertEqual(crowded.status, .badRequest, crowded.text)
        XCTAssertEqual(crowded.headers[.contentType], "application/json; charset=utf-8")
        XCTAssertEqual(crowded.json["error"] as? String,
                       "sweep 1: learning_rate has 2000 distinct values and momentum has 2000 distinct values, too many for a table "
                       + "(at most 50 per axis; a random or TPE search samples a new one per run): see which settings matter under "
                       + "Importance, choose other rows or columns, or narrow the runs with the filter")
        let reply = try await fetch("/api/sweeps/1/heatmap?rows=learning_rate&cols=momentum&where=id%20%3C%3D%2050", database: location)
        XCTAssertEqual(reply.status, .ok, reply.text)
        let json = reply.json
        let shown = settings.prefix(50)
        // Foundation's JSON reader on Linux may miss the last bits of a double: compared to 1e-12 of each value.
        func assertClose(_ got: [Double], _ expected: [Double], _ what: String) {
            XCTAssertEqual(got.count, expected.count, what)
            XCTAssertTrue(zip(got, expected).allSatisfy { abs($0 - $1) <= 1e-12 * abs($1) }, what)
        }
        assertClose(json["row_values"] as? [Double] ?? [], shown.map(\.learningRate).sorted(), "row_values")
        assertClose(json["column_values"] as? [Double] ?? [], shown.map(\.momentum).sorted(), "column_values")
        let cells = try XCTUnwrap(json["cells"] as? [[String: Any]])
        // Row by row in value order, each run alone in its cell, queued: no value yet.
        let bySetting = shown.sorted { $0.learningRate < $1.learningRate }
        assertClose(cells.map { $0["row"] as? Double ?? -1 }, bySetting.map(\.learningRate), "cells' rows")
        assertClose(cells.map { $0["col"] as? Double ?? -1 }, bySetting.map(\.momentum), "cells' columns")
        XCTAssertEqual(Set(cells.map { "\($0["runs"] ?? "")/\($0["values"] ?? "")" }), ["1/0"])
        // 51 runs: one value too many on each axis.
        let over = try await fetch("/api/sweeps/1/heatmap?rows=learning_rate&cols=momentum&where=id%20%3C%3D%2051", database: location)
        XCTAssertEqual(over.status, .badRequest, over.text)
        XCTAssertTrue((over.json["error"] as? String ?? "").hasPrefix("sweep 1: learning_rate has 51 distinct values and momentum has 51 distinct values, too many"), over.text)
    }

    /// The runs table asks only for the columns it shows: `id` first always, then those named, in order.
    func testRunsPageCarriesOnlyTheColumnsAskedFor() async throws {
        let reply = try await fetch("/api/sweeps/1/runs?limit=2&columns=name,best_val_loss,name")
        XCTAssertEqual(reply.status, .ok)
        let runs = reply.json["runs"] as! [[String: Any]]
        XCTAssertEqual(runs.map { Set($0.keys) }, [["id", "name", "best_val_loss"], ["id", "name", "best_val_loss"]])
        XCTAssertTrue(reply.text.contains(#"{"id":1,"name":"lr0.01-bs16-s1","best_val_loss":"#), reply.text)
        XCTAssertEqual(runs[1]["best_val_loss"] as! Double, bestValidationLoss(0, 0, 2), accuracy: 1e-12)
        let every = try await fetch("/api/sweeps/1/runs?limit=1").json["runs"] as! [[String: Any]]
        XCTAssertEqual(Set(every[0].keys), Set(RunColumn.allCases.map(\.rawValue) + ["stalled"]))  // with the status: whether its worker is gone
        try await assertError("/api/sweeps/1/runs?columns=name,colour", .badRequest, "columns: unknown column 'colour'")
    }

    /// `/api/runs`: every run of the database, paged like a sweep's; the sweeps page lists the single runs with it.
    func testRunsOfTheWholeDatabaseIncludeTheSingleRuns() async throws {
        let single = try await fetch("/api/runs?where=sweep_id+is+null&sort=-id&columns=name,status").json
        XCTAssertEqual(single["total"] as? Int, 2)
        let runs = single["runs"] as! [[String: Any]]
        XCTAssertEqual(runs.map { $0["id"] as! Int }, [10, 9])
        XCTAssertEqual(runs[1]["name"] as? String, ReportFixture.hostileName)
        XCTAssertEqual(runs[1]["status"] as? String, "diverged")
        let all = try await fetch("/api/runs?limit=3&offset=8").json
        XCTAssertEqual(all["total"] as? Int, 10)
        XCTAssertEqual((all["runs"] as! [[String: Any]]).map { $0["id"] as! Int }, [9, 10])
        try await assertError("/api/runs?where=sweep_id+is", .badRequest, "where: invalid expression")
    }

    /// Importance on the fixture sweep's 7 finished runs (run 8 still runs), each share computed here as
    /// the between-group over the total sum of squares of best_val_loss.
    func testImportanceSharesTheMetricsVarianceBetweenTheSweptSettings() async throws {
        // Finished runs 1-7 as (lr index, batch index, seed); run 8 (lr 0.1, batch 32, seed 2) is running.
        let finished: [(lr: Int, batch: Int, seed: UInt64)] = [(0, 0, 1), (0, 0, 2), (0, 1, 1), (0, 1, 2), (1, 0, 1), (1, 0, 2), (1, 1, 1)]
        let values = finished.map { bestValidationLoss($0.lr, $0.batch, $0.seed) }
        func share(_ group: (Int) -> Int) -> Double {
            let mean = values.reduce(0, +) / 7
            var groups: [Int: [Double]] = [:]
            for index in 0..<7 { groups[group(index), default: []].append(values[index]) }
            let between = groups.values.map { members -> Double in
                let groupMean = members.reduce(0, +) / Double(members.count)
                return Double(members.count) * (groupMean - mean) * (groupMean - mean)
            }.reduce(0, +)
            return between / values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +)
        }
        let expected: [String: Double] = ["learning_rate": share { finished[$0].lr }, "batch_size": share { finished[$0].batch },
                                          "seed": share { Int(finished[$0].seed) }]

        let reply = try await fetch("/api/sweeps/1/importance")
        XCTAssertEqual(reply.status, .ok)
        let json = reply.json
        XCTAssertEqual(json["metric"] as? String, "best_val_loss")
        XCTAssertEqual(json["goal"] as? String, "min")
        XCTAssertEqual(json["runs"] as? Int, 7)
        XCTAssertTrue(json["note"] is NSNull)
        let settings = json["settings"] as! [[String: Any]]
        // Most important first: lr (0.575...), batch size (0.397...), then seed (0.027...); weight decay
        // groups the runs as the seed does, so it is merged into the seed's row, not ranked apart.
        let names = settings.map { $0["setting"] as! String }
        XCTAssertEqual(names, ["learning_rate", "batch_size", "seed"])
        XCTAssertEqual(settings.map { $0["merged"] as? [String] }, [[], [], ["weight_decay"]])
        // The notes `report importance` prints above its table: what was merged (a full grid: no overlap note).
        XCTAssertEqual(json["notes"] as? [String], ["weight_decay follows from seed: not ranked apart, seed's share is theirs too"])
        XCTAssertEqual(expected["learning_rate"]!, 0.5755, accuracy: 1e-4)
        for item in settings {
            XCTAssertEqual(item["importance"] as! Double, expected[item["setting"] as! String]!, accuracy: 1e-12, "\(item)")
            XCTAssertEqual(item["groups"] as? Int, 2)
        }
        let bySetting = Dictionary(uniqueKeysWithValues: settings.map { ($0["setting"] as! String, $0) })
        XCTAssertEqual(bySetting["learning_rate"]?["best_group"] as? String, "0.1")
        XCTAssertEqual(bySetting["learning_rate"]!["best_mean"] as! Double, (values[4] + values[5] + values[6]) / 3, accuracy: 1e-12)
        XCTAssertEqual(bySetting["batch_size"]?["best_group"] as? String, "16")
        XCTAssertEqual(bySetting["seed"]?["best_group"] as? String, "2")

        // Filtered to lr 0.1: learning_rate no longer varies; the 3 finished runs there.
        let filtered = try await fetch("/api/sweeps/1/importance?where=learning_rate+%3D+0.1&metric=final_train_loss").json
        XCTAssertEqual(filtered["runs"] as? Int, 3)
        XCTAssertEqual(filtered["metric"] as? String, "final_train_loss")
        XCTAssertEqual(Set((filtered["settings"] as! [[String: Any]]).map { $0["setting"] as! String }), ["batch_size", "seed"])
        // One finished run (and the running one): nothing to compare yet, said in a note.
        let single = try await fetch("/api/sweeps/1/importance?where=learning_rate+%3D+0.1+and+batch_size+%3D+32").json
        XCTAssertEqual(single["runs"] as? Int, 1)
        XCTAssertEqual((single["settings"] as! [Any]).count, 0)
        XCTAssertEqual(single["note"] as? String, "importance needs at least 2 finished runs with a value of best_val_loss; 1 so far")
        let none = try await fetch("/api/sweeps/1/importance?where=learning_rate+%3E+5").json
        XCTAssertEqual(none["runs"] as? Int, 0)
        XCTAssertEqual(none["note"] as? String, "no run of sweep 1 matches the filter")  // report importance's words
        XCTAssertEqual(none["metric"] as? String, "best_val_loss")  // the metric it would rank on, not null
        XCTAssertEqual(none["notes"] as? [String], [])
        // Runs 1 and 2 differ only in their seed (and the weight decay that follows it), one run each:
        // nothing to rank, and the note says why, as `report importance` does (not "no setting varies").
        let seedsOnly = try await fetch("/api/sweeps/1/importance?where=learning_rate+%3D+0.01+and+batch_size+%3D+16").json
        XCTAssertEqual(seedsOnly["runs"] as? Int, 2)
        XCTAssertEqual((seedsOnly["settings"] as! [Any]).count, 0)
        XCTAssertEqual(seedsOnly["note"] as? String, "no setting's importance can be estimated from the 2 finished runs: seed, weight_decay vary, "
                       + "but every run has a value of its own (a group of one run explains all of its own variance); it needs runs that share a value")

        try await assertError("/api/sweeps/1/importance?metric=name", .badRequest, "metric must be a numeric column")
        try await assertError("/api/sweeps/1/importance?where=learning_rate+%3C", .badRequest, "where: invalid expression")
        try await assertError("/api/sweeps/4/importance", .notFound, "no sweep with id 4")
    }

    func testParallelCoordinatesListSweptSettingsAndTheMetricBestFirst() async throws {
        let json = try await fetch("/api/sweeps/1/parallel").json
        XCTAssertEqual(json["settings"] as? [String], ["learning_rate", "batch_size", "seed", "weight_decay"])
        XCTAssertEqual(json["metric"] as? String, "best_val_loss")
        XCTAssertEqual(json["total"] as? Int, 8)
        let runs = json["runs"] as! [[String: Any]]
        XCTAssertEqual(runs.count, 8)
        XCTAssertEqual(runs[0]["id"] as? Int, 6)  // lr 0.1, batch 16, seed 2
        XCTAssertEqual(runs[0]["values"] as? [Double], [0.1, 16, 2, 0.001])
        XCTAssertEqual(runs[0]["metric"] as! Double, 1 / 14.5 + 0.0625, accuracy: 1e-12)
        let limited = try await fetch("/api/sweeps/1/parallel?limit=2&metric=final_train_loss").json
        XCTAssertEqual((limited["runs"] as! [Any]).count, 2)
        try await assertError("/api/sweeps/1/parallel?limit=20000", .badRequest, "limit")
    }

    // MARK: curves, runs, tensors

    func testCurvesReturnEachRunsEpochs() async throws {
        let json = try await fetch("/api/curves?runs=1,9&metric=train_loss").json
        XCTAssertEqual(json["metric"] as? String, "train_loss")
        let series = json["series"] as! [[String: Any]]
        XCTAssertEqual(series.map { $0["run_id"] as! Int }, [1, 9])
        let points = series[0]["points"] as! [[Double]]
        XCTAssertEqual(points.map { $0[0] }, [0, 1, 2, 3])
        for (epoch, point) in points.enumerated() { XCTAssertEqual(point[1], 1 / (1 + Double(epoch) * 2), accuracy: 1e-12) }
        XCTAssertEqual((series[1]["points"] as! [[Double]]).map { $0[1] }, [0.75, 12.5, 4096])
        XCTAssertEqual(series[1]["name"] as? String, ReportFixture.hostileName)
        let defaulted = try await fetch("/api/curves?runs=2").json
        XCTAssertEqual(defaulted["metric"] as? String, "val_loss")

        try await assertError("/api/curves", .badRequest, "runs: give run ids")
        try await assertError("/api/curves?runs=1,x", .badRequest, "runs must be a positive whole number")
        try await assertError("/api/curves?runs=77", .notFound, "no run with id 77")
        try await assertError("/api/curves?runs=1&metric=speed", .badRequest, "metric must be one of")
        // A bidi control (U+202E) would reorder the rest of the message where it is shown: escaped.
        try await assertError("/api/curves?runs=1&metric=sp%E2%80%AEeed", .badRequest, "not 'sp\\u{202E}eed'")
        try await assertError("/api/curves?runs=" + (1...51).map(String.init).joined(separator: ","), .badRequest, "at most 50 runs")
    }

    func testRunRoundTripsTheHostileNameEscaped() async throws {
        let reply = try await fetch("/api/runs/9")
        XCTAssertEqual(reply.status, .ok)
        XCTAssertFalse(reply.text.contains("<b>"))
        XCTAssertFalse(reply.text.contains("'"))
        XCTAssertTrue(reply.text.contains("\\u003cb\\u003eevil \\u0026 \\\"co\\\"\\u003c/b\\u003e\\n\\u0027; DROP TABLE runs; --"), reply.text)
        let json = reply.json
        let run = json["run"] as! [String: Any]
        XCTAssertEqual(run["name"] as? String, ReportFixture.hostileName)
        XCTAssertEqual(run["status"] as? String, "diverged")
        let epochs = json["epochs"] as! [[String: Any]]
        XCTAssertEqual(epochs.map { $0["train_loss"] as! Double }, [0.75, 12.5, 4096])
        XCTAssertTrue(epochs.allSatisfy { $0["val_loss"] is NSNull })
        XCTAssertEqual(json["tensor_epochs"] as? [Int], [0, 1, 2])
        XCTAssertEqual(json["config_json"] as? String, "{}")
        try await assertError("/api/runs/404", .notFound, "no run with id 404")
    }

    /// A run of 5,000 epochs (stored by SQL in one transaction): its page carries one epoch in 5 and
    /// the latest 100 (1,080 epochs, not 5,000), each value exact, and says how it chose them; the
    /// epochs API pages through every epoch; its curve is thinned as its page is.
    func testALongRunsPageCarriesOneEpochInFiveAndTheAPIPagesThroughEveryOne() async throws {
        let location = try Self.makeDatabase()
        let store = try SlopeStore(location: location)
        let (_, runIDs) = try store.createSweep(name: "long", specJSON: "{}", runs: [.example(epochs: 5000)])
        let runID = runIDs[0]
        func trainLoss(_ epoch: Int) -> Double { Double(5000 - epoch) / 64 }
        try store.write { c in
            for epoch in 0..<5000 {
                try c.execute("INSERT INTO epochs (run_id, epoch, train_loss, val_loss, seconds) VALUES (?, ?, ?, ?, ?)",
                              [runID, epoch, trainLoss(epoch), (epoch % 2 == 0 ? 1.5 : nil) as Double?, 0.25])
            }
            try c.execute("UPDATE runs SET status = 'completed', epochs_done = 5000 WHERE id = ?", [runID])
        }
        try store.close()

        let page = try await fetch("/api/runs/\(runID)", database: location)
        XCTAssertEqual(page.status, .ok, page.text)
        let json = page.json
        XCTAssertEqual(json["epochs_stored"] as? Int, 5000)
        XCTAssertEqual(json["epochs_step"] as? Int, 5)
        let epochs = try XCTUnwrap(json["epochs"] as? [[String: Any]])
        let expected = Array(stride(from: 0, to: 4900, by: 5)) + Array(4900..<5000)
        XCTAssertEqual(epochs.map { $0["epoch"] as? Int ?? -1 }, expected)
        XCTAssertEqual(epochs.map { $0["train_loss"] as? Double ?? -1 }, expected.map(trainLoss))
        XCTAssertEqual(epochs.map { $0["val_loss"] as? Double }, expected.map { $0 % 2 == 0 ? 1.5 : nil })
        XCTAssertLessThan(page.body.readableBytes, 200_000, "a page of 1,080 epochs, not 5,000")

        let last = try await fetch("/api/runs/\(runID)/epochs?offset=4990&limit=20", database: location).json
        XCTAssertEqual(last["total"] as? Int, 5000)
        XCTAssertEqual(last["offset"] as? Int, 4990)
        XCTAssertEqual(last["limit"] as? Int, 20)
        let tail = try XCTUnwrap(last["epochs"] as? [[String: Any]])
        XCTAssertEqual(tail.map { $0["epoch"] as? Int ?? -1 }, Array(4990..<5000))
        XCTAssertEqual(tail.map { $0["train_loss"] as? Double ?? -1 }, (4990..<5000).map(trainLoss))
        let first = try await fetch("/api/runs/\(runID)/epochs", database: location).json
        XCTAssertEqual((first["epochs"] as? [[String: Any]])?.map { $0["epoch"] as? Int ?? -1 }, Array(0..<1000))  // 1,000 a page by default
        for (query, message) in [("limit=0", "limit must be a whole number from 1 to 10000, not '0'"),
                                 ("limit=10001", "limit must be a whole number from 1 to 10000, not '10001'"),
                                 ("offset=-1", "offset must be a whole number from 0 to 2147483647, not '-1'")] {
            let reply = try await fetch("/api/runs/\(runID)/epochs?\(query)", database: location)
            XCTAssertEqual(reply.status, .badRequest, query)
            XCTAssertEqual(reply.json["error"] as? String, message, query)
        }
        let missing = try await fetch("/api/runs/404/epochs", database: location)
        XCTAssertEqual(missing.status, .notFound)

        let curve = try await fetch("/api/curves?runs=\(runID)&metric=train_loss", database: location).json
        let series = try XCTUnwrap((curve["series"] as? [[String: Any]])?.first)
        XCTAssertEqual(series["epoch_step"] as? Int, 5)
        XCTAssertEqual((series["points"] as? [[Double]])?.map { Int($0[0]) }, expected)
    }

    /// A run that stored weights (2 layers, with gradients) at each of 2,500 epochs: its page lists one
    /// tensor epoch in 3 and the latest 100, its layer diagnostics the same epochs, and a page of
    /// `/layers` gives every one exactly; each reads only the rows it answers with (the store's count).
    func testALongRunsTensorEpochsAndLayersAreThinnedAndPaged() async throws {
        let location = try Self.makeDatabase()
        let store = try SlopeStore(location: location)
        let (_, runIDs) = try store.createSweep(name: "long", specJSON: "{}", runs: [.example(epochs: 2500)])
        let runID = runIDs[0]
        func weightL2(_ epoch: Int, _ layer: Int) -> Double { Double(epoch) / 8 + Double(layer) }
        try store.write { c in
            for epoch in 0..<2500 {
                try c.execute("INSERT INTO epochs (run_id, epoch, train_loss, seconds) VALUES (?, ?, ?, ?)", [runID, epoch, 1.0, 0.25])
                for layer in 1...2 {
                    for (kind, l2) in [("weight", weightL2(epoch, layer)), ("weight_grad", 0.5)] {
                        try c.execute("INSERT INTO tensors (run_id, epoch, layer, kind, rows, cols, dtype, data, l2) VALUES (?, ?, ?, ?, 1, 1, 'float32', ?, ?)",
                                      [runID, epoch, layer, kind, Data(count: 4), l2])
                    }
                }
            }
            try c.execute("UPDATE runs SET status = 'completed', epochs_done = 2500 WHERE id = ?", [runID])
        }
        try store.close()
        let reader = try SlopeStore(location: location, mode: .readOnly).countingRowsRead()
        defer { try? reader.close() }
        let server = try DashboardServer(queries: reader.queries)
        let rowsRead = try XCTUnwrap(reader.rowsRead)
        func get(_ path: String, readingAtMost rows: Int) async throws -> [String: Any] {
            let before = rowsRead.total
            let reply = try await Self.fetch([path], from: server)[0]
            XCTAssertEqual(reply.status, .ok, reply.text)
            XCTAssertLessThanOrEqual(rowsRead.total - before, rows, path)
            return reply.json
        }
        // Tensor epochs whose number is a multiple of 3 (2,500 / 1,000 rounded up), and the latest 100.
        let kept = Array(stride(from: 0, to: 2400, by: 3)) + Array(2400..<2500)

        // The page: 900 epochs and 900 tensor epochs, not 2,500 of each.
        let page = try await get("/api/runs/\(runID)", readingAtMost: 2 * kept.count + 8)
        XCTAssertEqual(page["tensor_epochs"] as? [Int], kept)
        XCTAssertEqual(page["tensor_epochs_stored"] as? Int, 2500)
        XCTAssertEqual(page["tensor_epochs_step"] as? Int, 3)
        XCTAssertEqual((page["epochs"] as? [[String: Any]])?.map { $0["epoch"] as? Int ?? -1 }, kept)

        let layers = try await get("/api/runs/\(runID)/layers", readingAtMost: 2 * kept.count + 8)
        XCTAssertEqual(layers["epochs_stored"] as? Int, 2500)
        XCTAssertEqual(layers["epochs_step"] as? Int, 3)
        let rows = try XCTUnwrap(layers["layers"] as? [[String: Any]])
        XCTAssertEqual(rows.map { $0["epoch"] as? Int ?? -1 }, kept.flatMap { [$0, $0] })
        XCTAssertEqual(rows.map { $0["layer"] as? Int ?? -1 }, kept.flatMap { _ in [1, 2] })
        XCTAssertEqual(rows.map { $0["weight_l2"] as? Double ?? -1 }, kept.flatMap { [weightL2($0, 1), weightL2($0, 2)] })
        XCTAssertEqual(rows.map { $0["gradient_l2"] as? Double ?? -1 }, Array(repeating: 0.5, count: 2 * kept.count))

        // Every tensor epoch, exactly, a page at a time.
        let last = try await get("/api/runs/\(runID)/layers?offset=2497&limit=20", readingAtMost: 6 + 8)
        XCTAssertEqual(last["total"] as? Int, 2500)
        XCTAssertEqual(last["offset"] as? Int, 2497)
        XCTAssertEqual(last["limit"] as? Int, 20)
        let tail = try XCTUnwrap(last["layers"] as? [[String: Any]])
        XCTAssertEqual(tail.map { $0["epoch"] as? Int ?? -1 }, [2497, 2497, 2498, 2498, 2499, 2499])
        XCTAssertEqual(tail.map { $0["weight_l2"] as? Double ?? -1 }, [2497, 2498, 2499].flatMap { [weightL2($0, 1), weightL2($0, 2)] })
        let first = try await get("/api/runs/\(runID)/layers?offset=1", readingAtMost: 2000 + 8)
        XCTAssertEqual((first["layers"] as? [[String: Any]])?.map { $0["epoch"] as? Int ?? -1 }, (1...1000).flatMap { [$0, $0] })  // 1,000 epochs a page by default
        for (query, message) in [("limit=0", "limit must be a whole number from 1 to 10000, not '0'"),
                                 ("offset=x", "offset must be a whole number from 0 to 2147483647, not 'x'")] {
            let reply = try await Self.fetch(["/api/runs/\(runID)/layers?\(query)"], from: server)[0]
            XCTAssertEqual(reply.status, .badRequest, query)
            XCTAssertEqual(reply.json["error"] as? String, message, query)
        }

        // The latest tensors by default: one epoch's rows, not the list of every tensor epoch.
        let tensors = try await get("/api/runs/\(runID)/tensors", readingAtMost: 4 + 8)
        XCTAssertEqual(tensors["epoch"] as? Int, 2499)
        XCTAssertEqual((tensors["tensors"] as? [[String: Any]])?.count, 4)
    }

    func testLayersAndTensorListings() async throws {
        let layers = try await fetch("/api/runs/1/layers").json["layers"] as! [[String: Any]]
        XCTAssertEqual(layers.count, 8)  // 4 epochs x 2 layers
        // Epoch 1, layer 2: weight [0.5, -1, 1.5] (L2 sqrt(3.5)), gradient 0.01 x [1, -2, 3] (L2 0.01 sqrt(14)), lr 0.01.
        let row = layers.first { $0["epoch"] as? Int == 1 && $0["layer"] as? Int == 2 }!
        XCTAssertEqual(row["weight_l2"] as! Double, 3.5.squareRoot(), accuracy: 1e-6)
        XCTAssertEqual(row["gradient_l2"] as! Double, 0.01 * 14.0.squareRoot(), accuracy: 1e-8)
        XCTAssertEqual(row["update_to_weight_ratio"] as! Double, 0.01 * 0.01 * 14.0.squareRoot() / 3.5.squareRoot(), accuracy: 1e-9)
        XCTAssertTrue(layers.first { $0["epoch"] as? Int == 0 }!["gradient_l2"] is NSNull)

        let tensors = try await fetch("/api/runs/1/tensors?epoch=1").json
        XCTAssertEqual(tensors["epoch"] as? Int, 1)
        let list = tensors["tensors"] as! [[String: Any]]
        XCTAssertEqual(list.count, 8)
        XCTAssertEqual(list.first { $0["layer"] as? Int == 1 && $0["kind"] as? String == "weight" }?["rows"] as? Int, 2)
        let latest = try await fetch("/api/runs/1/tensors").json
        XCTAssertEqual(latest["epoch"] as? Int, 3)
        try await assertError("/api/runs/1/tensors?epoch=99", .notFound, "run 1 has no tensors for epoch 99; stored: epochs 0-3; the nearest to 99: 3")
        try await assertError("/api/runs/1/tensors?epoch=-1", .badRequest, "epoch must be a whole number")
    }

    func testHistogramCountsTheTensorsValues() async throws {
        // Layer 1's weight at epoch 0: 0.25 x [1, -2, 3, -4, 5, -6]; 4 bins of width 2.75 / 4 from -1.5.
        let json = try await fetch("/api/runs/1/histogram?epoch=0&layer=1&kind=weight&bins=4").json
        XCTAssertEqual(json["count"] as? Int, 6)
        XCTAssertEqual(json["min"] as? Double, -1.5)
        XCTAssertEqual(json["max"] as? Double, 1.25)
        let bins = json["bins"] as! [[String: Any]]
        XCTAssertEqual(bins.map { $0["count"] as! Int }, [2, 1, 1, 2])
        XCTAssertEqual(bins[1]["low"] as! Double, -1.5 + 0.6875, accuracy: 1e-12)
        XCTAssertEqual(bins[3]["high"] as? Double, 1.25)

        try await assertError("/api/runs/1/histogram?epoch=0&layer=1&kind=colour", .badRequest, "kind must be one of")
        try await assertError("/api/runs/1/histogram?epoch=0&kind=weight", .badRequest, "layer: give the layer")
        try await assertError("/api/runs/1/histogram?epoch=0&layer=1&kind=weight&bins=0", .badRequest, "bins")
        try await assertError("/api/runs/1/histogram?epoch=0&layer=1&kind=weight_grad", .notFound, "no weight_grad of layer 1 at epoch 0")
        // Optimizer state is a kind like any other (this sgd run has none: not found, not refused).
        try await assertError("/api/runs/1/histogram?epoch=0&layer=1&kind=weight_adam_m", .notFound, "no weight_adam_m of layer 1 at epoch 0")
        try await assertError("/api/runs/1/tensor.npy?epoch=0&layer=1&kind=step", .notFound, "no step of layer 1 at epoch 0")
    }

    /// Finite values spanning more than Double's range (a float64 tensor [0.5, 1e308, -1e308]): the
    /// width high - low overflowed and Int(NaN) crashed the whole server (hostile14 F2).
    func testHistogramOfValuesSpanningMoreThanDoublesRange() {
        let bins = DashboardData.histogramBins([0.5, 1e308, -1e308], count: 4)
        XCTAssertEqual(bins.map(\.count), [1, 0, 1, 1])
        XCTAssertEqual(bins.first?.low, -1e308)
        XCTAssertEqual(bins.last?.high, 1e308)
        XCTAssertEqual(bins[2].low, 0, accuracy: 1e292, "the middle edge, -1e308 + 2 x 5e307")
        XCTAssertEqual(bins[1].high, bins[2].low)
        XCTAssertTrue(bins.allSatisfy { $0.low.isFinite && $0.high.isFinite })
        let extremes = DashboardData.histogramBins([-.greatestFiniteMagnitude, .greatestFiniteMagnitude], count: 30)
        XCTAssertEqual(extremes.map(\.count).reduce(0, +), 2)
        XCTAssertEqual([extremes.first?.count, extremes.last?.count], [1, 1])
        // Ordinary values keep their bins (the scale is a power of two: exact).
        XCTAssertEqual(DashboardData.histogramBins([0.25, -0.5, 0.75, -1, 1.25, -1.5], count: 4).map(\.count), [2, 1, 1, 2])
        XCTAssertEqual(DashboardData.histogramBins([3, 3], count: 5).map(\.count), [2, 0, 0, 0, 0])
    }

    /// The route that crashed (hostile14 F2), on both stores: a float64 tensor [0.5, 1e308, -1e308]
    /// stored by a worker answers 200 with its count, extremes and 4 bins counting 1, 0, 1, 1.
    func testHistogramRouteOfValuesSpanningMoreThanDoublesRange() async throws {
        let location = try Self.makeDatabase()
        let store = try SlopeStore(location: location)
        let runID = try store.createRun(.example())
        let worker = WorkerIdentity.current(label: "test")
        let claimToken = try XCTUnwrap(store.claimRun(runID: runID, worker: worker)).claimToken
        try store.writeEpoch(runID: runID, .init(epoch: 0, trainLoss: 1), tensors: [.float64(layer: 1, kind: .weight, rows: 1, cols: 3, [0.5, 1e308, -1e308])],
                             holder: RunHolder(worker: worker, claimToken: claimToken))
        try store.close()
        let reply = try await fetch("/api/runs/\(runID)/histogram?epoch=0&layer=1&kind=weight&bins=4", database: location)
        XCTAssertEqual(reply.status, .ok, reply.text)
        let json = reply.json
        XCTAssertEqual(json["count"] as? Int, 3)
        XCTAssertEqual(json["min"] as? Double, -1e308)
        XCTAssertEqual(json["max"] as? Double, 1e308)
        let bins = try XCTUnwrap(json["bins"] as? [[String: Any]], reply.text)
        XCTAssertEqual(bins.map { $0["count"] as? Int ?? -1 }, [1, 0, 1, 1])
        XCTAssertEqual(bins.first?["low"] as? Double, -1e308)
        XCTAssertEqual(bins.last?["high"] as? Double, 1e308)
    }

    func testTensorDownloadsAsNpy() async throws {
        let reply = try await fetch("/api/runs/1/tensor.npy?epoch=0&layer=1&kind=weight")
        XCTAssertEqual(reply.status, .ok)
        XCTAssertEqual(reply.headers[.contentDisposition], "attachment; filename=\"run1-epoch0-layer1-weight.npy\"")
        let bytes = Array(reply.body.readableBytesView)
        XCTAssertEqual(Array(bytes.prefix(6)), [0x93] + Array("NUMPY".utf8))
        let header = String(decoding: bytes[10..<(10 + Int(bytes[8]) + Int(bytes[9]) * 256)], as: UTF8.self)
        XCTAssertTrue(header.contains("'descr': '<f4'") && header.contains("'shape': (2, 3)"), header)
        let values: [Float] = [0.25, -0.5, 0.75, -1, 1.25, -1.5]
        XCTAssertEqual(Array(bytes.suffix(24)), values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) })
        try await assertError("/api/runs/1/tensor.npy?epoch=0&layer=3&kind=weight", .notFound, "no weight of layer 3")
    }

    func testCompareNamesTheSettingsThatDiffer() async throws {
        let json = try await fetch("/api/compare?runs=1,2").json
        XCTAssertEqual((json["runs"] as! [[String: Any]]).map { ($0["run"] as! [String: Any])["id"] as! Int }, [1, 2])
        XCTAssertEqual(json["differing"] as? [String], ["seed", "weight_decay"])
        let wider = try await fetch("/api/compare?runs=1,9,1").json
        XCTAssertEqual((wider["runs"] as! [Any]).count, 2)  // a repeated id counts once
        XCTAssertTrue((wider["differing"] as! [String]).contains("activation"))
        try await assertError("/api/compare?runs=1,1000", .notFound, "no run with id 1000")
    }

    /// The boolean settings are true/false in the compare, run and runs answers, as every `report`
    /// table prints them, not SQL's 0/1 (newuser15 N4: the compare page showed `nesterov 0`, `bias 1`).
    func testBooleanSettingsAreTrueOrFalse() async throws {
        let replies = try await fetch(["/api/compare?runs=1,2", "/api/runs/1", "/api/sweeps/1/runs?sort=id&limit=1"])
        XCTAssertEqual(replies.map(\.status), [.ok, .ok, .ok])
        let runs = [(replies[0].json["runs"] as! [[String: Any]])[0]["run"], replies[1].json["run"], (replies[2].json["runs"] as! [Any])[0]]
        for (reply, run) in zip(replies, runs) {
            XCTAssertEqual((run as! [String: Any])["id"] as? Int, 1)
            // As written: JSON's literals (JSONSerialization reads true and 1 alike, so the text is checked).
            XCTAssertTrue(reply.text.contains(#""nesterov":false"#), reply.text)
            XCTAssertTrue(reply.text.contains(#""bias":true"#), reply.text)
            for number in [#""nesterov":0"#, #""bias":1"#, #""standardize":0"#, #""standardize":1"#] {
                XCTAssertFalse(reply.text.contains(number), "\(number) in \(reply.text)")
            }
        }
        // Numbers stay numbers.
        XCTAssertTrue(replies[1].text.contains(#""batch_size":16"#) || replies[1].text.contains(#""batch_size":64"#), replies[1].text)
    }

    /// The sweep page's header counts `epochs_done`, the epochs trained (epoch 0 not counted), and
    /// says so: it said "epochs stored" of a number smaller than the epoch rows stored (newuser15 N3).
    func testTheSweepPageNamesItsEpochCountAsTrained() async throws {
        let script = try await fetch("/assets/dashboard.js").text
        XCTAssertTrue(script.contains("id: 'epochs-trained', 'data-value': sweep.epochs_done }"), "the count shown is epochs_done")
        XCTAssertTrue(script.contains("' epochs trained, created '"))
        XCTAssertFalse(script.contains("epochs stored, created"))
        // epochs_done of the fixture's sweep: 7 runs of 3 epochs and one of 2, while 8 more rows (each run's epoch 0) are stored.
        let sweep = try await fetch("/api/sweeps/1").json["sweep"] as! [String: Any]
        XCTAssertEqual(sweep["epochs_done"] as? Int, 7 * 3 + 2)
    }

    // MARK: pages, safety, live

    func testPagesAreOneShellWithOnlyScriptFilesAndAStrictPolicy() async throws {
        let replies = try await fetch(["/", "/sweeps/1", "/runs/9", "/compare?runs=1,2", "/assets/dashboard.js", "/assets/charts.js",
                                       "/assets/errors.js", "/assets/dashboard.css"])
        for reply in replies { XCTAssertEqual(reply.status, .ok) }
        let page = replies[0].text
        XCTAssertEqual(replies[0].headers[.contentType], "text/html; charset=utf-8")
        XCTAssertEqual(replies[1].text, page)
        // Every script is a file of the binary; no inline script, style or external address.
        let scripts = page.components(separatedBy: "<script").dropFirst()
        XCTAssertEqual(scripts.count, 3)
        for script in scripts { XCTAssertTrue(script.hasPrefix(" src=\"/assets/"), script) }
        XCTAssertFalse(page.contains("<style") || page.contains("http://") || page.contains("https://"))
        XCTAssertEqual(replies[4].headers[.contentType], "text/javascript; charset=utf-8")
        XCTAssertEqual(replies[7].headers[.contentType], "text/css; charset=utf-8")
        for reply in replies {
            XCTAssertEqual(reply.headers[.contentSecurityPolicy], DashboardServer.contentSecurityPolicy)
            XCTAssertEqual(reply.headers[.xContentTypeOptions], "nosniff")
        }
        XCTAssertTrue(DashboardServer.contentSecurityPolicy.contains("script-src 'self';"))
        XCTAssertFalse(DashboardServer.contentSecurityPolicy.contains("unsafe"))
        // The scripts set database text with textContent only.
        for reply in replies[4...6] {
            for sink in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("] { XCTAssertFalse(reply.text.contains(sink), sink) }
        }
    }

    func testUnknownRoutesAndMethodsGetJSONErrors() async throws {
        try await assertError("/api/nothing", .notFound, "no page or API route '/api/nothing'")
        try await assertError("/assets/missing.js", .notFound, "no asset 'missing.js'")
        try await assertError("/assets/page.exe", .notFound, "no asset")
        try await assertError("/runs/1/extra", .notFound, "no page or API route")
        let post = try await fetch("/api/sweeps", method: .post)
        XCTAssertEqual(post.status, .methodNotAllowed)
        XCTAssertTrue((post.json["error"] as? String ?? "").contains("read-only"))
    }

    func testTokenIsRequiredFromHeaderQueryOrCookie() async throws {
        let token = "0123456789abcdef-token"
        let replies = try await fetch(["/api/sweeps", "/", "/assets/dashboard.js", "/api/sweeps?token=0123456789abcdef-tokex",
                                       "/api/sweeps?token=0123456789abcdef-token", "/?token=0123456789abcdef-token"], token: token)
        XCTAssertEqual(replies.map(\.status), [.unauthorized, .unauthorized, .unauthorized, .unauthorized, .ok, .ok])
        XCTAssertTrue((replies[0].json["error"] as? String ?? "").contains("needs its token"))
        XCTAssertFalse(replies[0].text.contains(token))
        XCTAssertEqual(replies[5].headers[.setCookie], "slope_token=\(token); Path=/; HttpOnly; SameSite=Strict")
        XCTAssertNil(replies[0].headers[.setCookie])
        let bearer = try await fetch("/api/sweeps", token: token, headers: [.authorization: "Bearer \(token)"])
        XCTAssertEqual(bearer.status, .ok)
        let cookie = try await fetch("/assets/charts.js", token: token, headers: [.cookie: "other=1; slope_token=\(token)"])
        XCTAssertEqual(cookie.status, .ok)
        let wrongBearer = try await fetch("/api/sweeps", token: token, headers: [.authorization: "Bearer \(token)x"])
        XCTAssertEqual(wrongBearer.status, .unauthorized)
        // The scheme's name in any case (RFC 7235): "bearer" was 401.
        for scheme in ["bearer", "BEARER", "BeArEr"] {
            let reply = try await fetch("/api/sweeps", token: token, headers: [.authorization: "\(scheme) \(token)"])
            XCTAssertEqual(reply.status, .ok, scheme)
        }
        let basic = try await fetch("/api/sweeps", token: token, headers: [.authorization: "Basic \(token)"])
        XCTAssertEqual(basic.status, .unauthorized)

        XCTAssertTrue(GuardMiddleware.constantTimeEqual("abc", "abc"))
        XCTAssertFalse(GuardMiddleware.constantTimeEqual("abd", "abc"))
        XCTAssertFalse(GuardMiddleware.constantTimeEqual("ab", "abc"))
        XCTAssertFalse(GuardMiddleware.constantTimeEqual("abcd", "abc"))
        XCTAssertFalse(GuardMiddleware.constantTimeEqual("", "abc"))
    }

    func testChangeTokenMovesWithACommitAndOnlyThen() async throws {
        let copy = try makeFixture()
        let before = try await fetch(["/api/changes", "/api/changes"], database: copy).map { $0.json["token"] as! String }
        XCTAssertEqual(before[0], before[1])
        let writer = try SlopeStore(location: copy)
        _ = try writer.createRun(SlopeStore.NewRun(name: "new", learningRate: 0.1, batchSize: 4, epochs: 1, seed: 1, layers: "2-1",
                                                   activation: "relu", outputActivation: "identity", loss: "mse", dataset: "linear",
                                                   configJSON: "{}", slopeVersion: "test"))
        let after = try await fetch("/api/changes", database: copy).json["token"] as! String
        XCTAssertNotEqual(after, before[0])
        try writer.close()
    }

    /// A worker stores run 8's next epoch: the token moves, and the sweep, the run, its curve and
    /// the runs table all show the new epoch (what a page redraws when the token moves).
    func testANewEpochShowsEverywhereAndMovesTheChangeToken() async throws {
        let copy = try makeFixture()
        let paths = ["/api/changes", "/api/sweeps/1", "/api/runs/8", "/api/curves?runs=8&metric=train_loss",
                     "/api/sweeps/1/runs?where=id+%3D+8&columns=epochs_done"]
        let before = try await fetch(paths, database: copy)
        XCTAssertEqual((before[1].json["sweep"] as! [String: Any])["epochs_done"] as? Int, 7 * 3 + 2)
        let writer = try SlopeStore(location: copy)
        let holder = WorkerIdentity(host: "fixture-host", pid: 1, label: "fixture")  // the fixture's worker holds run 8 (its one claim)
        try writer.writeEpoch(runID: 8, SlopeStore.EpochRecord(epoch: 3, trainLoss: 0.0625, validationLoss: 0.125, seconds: 0.5),
                              tensors: [], holder: RunHolder(worker: holder, claimToken: 1))  // claimed once by the fixture
        try writer.close()
        let after = try await fetch(paths, database: copy)
        XCTAssertEqual(after.map(\.status), Array(repeating: .ok, count: paths.count))
        XCTAssertNotEqual(after[0].json["token"] as? String, before[0].json["token"] as? String)
        XCTAssertEqual((after[1].json["sweep"] as! [String: Any])["epochs_done"] as? Int, 7 * 3 + 3)
        let run = after[2].json
        XCTAssertEqual((run["run"] as! [String: Any])["epochs_done"] as? Int, 3)
        XCTAssertEqual((run["epochs"] as! [[String: Any]]).map { $0["epoch"] as! Int }, [0, 1, 2, 3])
        let points = (after[3].json["series"] as! [[String: Any]])[0]["points"] as! [[Double]]
        XCTAssertEqual(points.last, [3, 0.0625])
        XCTAssertEqual((after[4].json["runs"] as! [[String: Any]]).map { $0["epochs_done"] as! Int }, [3])
    }

    /// Sets run 8's heartbeat (nil: none) and its holder's host and pid in the database at `location`.
    func setHolder(of runID: Int64, heartbeat: Date?, host: String = "fixture-host", pid: Int32 = 1, in location: String) throws {
        let writer = try SlopeStore(location: location)
        defer { try? writer.close() }
        try writer.write { c in
            _ = try c.execute("UPDATE runs SET heartbeat_at = ?, host = ?, pid = ? WHERE id = ?",
                              [heartbeat.map(Timestamp.format), host, pid, runID])
        }
    }

    /// Run 8 is `running`, held by a worker on another host ("fixture-host"), so its heartbeat
    /// decides (the take-over rule of `runner resume`): 10 minutes old (over the 5-minute limit), it
    /// is stalled and its sweep is not live; 10 seconds old, live. On this host, the process decides.
    func testARunWhoseWorkerIsGoneIsStalledAndItsSweepNotLive() async throws {
        let copy = try makeFixture()
        let beat = Date().addingTimeInterval(-600)
        try setHolder(of: 8, heartbeat: beat, in: copy)
        let replies = try await fetch(["/api/sweeps", "/api/sweeps/1", "/api/sweeps/1/runs?sort=id", "/api/runs/8", "/api/runs/7",
                                       "/api/sweeps/1/runs?columns=name", "/api/compare?runs=7,8"], database: copy)
        XCTAssertEqual(replies.map(\.status), Array(repeating: .ok, count: 7))
        func checkStalled(_ sweep: [String: Any], file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertEqual(sweep["live"] as? Bool, false, file: file, line: line)
            XCTAssertEqual((sweep["counts"] as? [String: Int])?["running"], 1, file: file, line: line)
            let stalled = sweep["stalled"] as? [String: Any] ?? [:]
            XCTAssertEqual(stalled["runs"] as? Int, 1, file: file, line: line)
            XCTAssertEqual(stalled["heartbeat_at"] as? String, Timestamp.format(beat), file: file, line: line)
            let age = stalled["heartbeat_age"] as? Double ?? 0
            XCTAssertTrue(age >= 599 && age < 900, "\(age)", file: file, line: line)  // 600 s, and the seconds this test took
        }
        checkStalled((replies[0].json["sweeps"] as! [[String: Any]])[0])
        checkStalled(replies[1].json["sweep"] as! [String: Any])
        let runs = replies[2].json["runs"] as! [[String: Any]]
        XCTAssertEqual(runs.map { $0["stalled"] is NSNull }, [true, true, true, true, true, true, true, false])
        XCTAssertEqual((runs[7]["stalled"] as? [String: Any])?["heartbeat_at"] as? String, Timestamp.format(beat))
        XCTAssertEqual(runs[7]["status"] as? String, "running")  // the stored status; `stalled` says why nothing moves
        let run8 = replies[3].json["run"] as! [String: Any]
        XCTAssertEqual((run8["stalled"] as? [String: Any])?["heartbeat_at"] as? String, Timestamp.format(beat))
        XCTAssertTrue((replies[4].json["run"] as! [String: Any])["stalled"] is NSNull)
        // Without the status column, no `stalled` either.
        XCTAssertEqual(Set((replies[5].json["runs"] as! [[String: Any]])[0].keys), ["id", "name"])
        let compared = (replies[6].json["runs"] as! [[String: Any]]).map { ($0["run"] as! [String: Any])["stalled"] is NSNull }
        XCTAssertEqual(compared, [true, false])
        // What to do: served without --db, the commands name none (they find the database as report did).
        XCTAssertEqual(((replies[1].json["sweep"] as! [String: Any])["stalled"] as? [String: Any])?["resume"] as? String, "runner resume --sweep 1")
        XCTAssertEqual((run8["stalled"] as? [String: Any])?["resume"] as? String, "runner resume --run 8")
        // Served with --db, they carry it, as report's hints do (newuser15 N7): a URL without its password.
        for (given, argument) in [(copy, CommandHint.databaseArgument(given: copy)),
                                  ("postgresql://reader:s3cret@db.example:5432/slope", "--db 'postgresql://reader@db.example:5432/slope'")] {
            XCTAssertEqual(CommandHint.databaseArgument(given: given), argument)
            let store = try SlopeStore(location: copy, mode: .readOnly)
            defer { try? store.close() }
            let served = try await Self.fetch(["/api/sweeps", "/api/sweeps/1", "/api/runs/8", "/api/sweeps/1/runs?sort=id"],
                                              from: try DashboardServer(queries: store.queries, databaseArgument: argument))
            let sweeps = [(served[0].json["sweeps"] as! [[String: Any]])[0], served[1].json["sweep"] as! [String: Any]]
            for sweep in sweeps {
                XCTAssertEqual((sweep["stalled"] as? [String: Any])?["resume"] as? String, "runner resume --sweep 1 \(argument)")
            }
            let runs = [served[2].json["run"] as! [String: Any], (served[3].json["runs"] as! [[String: Any]])[7]]
            for run in runs {
                XCTAssertEqual((run["stalled"] as? [String: Any])?["resume"] as? String, "runner resume --run 8 \(argument)")
            }
            XCTAssertFalse(served.contains { $0.text.contains("s3cret") })
        }
        // Served to a role that may only read (PostgresDashboardTests asks a real one): a command with
        // its URL could not write, so it goes without, and `resume_note` says where it works (newuser16 N1).
        let readerArgument = "--db 'postgresql://slope_reader@db.example:5432/slope'"
        XCTAssertEqual(DashboardData.resumeCommand("--sweep 1", databaseArgument: readerArgument, readOnlyRole: "slope_reader"), "runner resume --sweep 1")
        let readOnlyRun = DashboardData.runObject(try SlopeStore(location: copy, mode: .readOnly).run(id: 8), stalled: [8: StalledRun(runID: 8, sweepID: 1, heartbeatAt: nil, heartbeatAge: nil)],
                                                  databaseArgument: readerArgument, readOnlyRole: "slope_reader")
        guard case let .object(fields) = readOnlyRun, case let .object(stalled)? = fields.first(where: { $0.0 == "stalled" })?.1 else { return XCTFail("\(readOnlyRun)") }
        XCTAssertEqual(stalled.map(\.0), ["heartbeat_at", "heartbeat_age", "resume", "resume_note"])
        XCTAssertEqual(stalled[2].1, .string("runner resume --run 8"))
        XCTAssertEqual(stalled[3].1, .string("with the worker role's URL in SLOPE_DB or --db (role slope_reader may only read; docs/distributed.md, Roles)"))

        // A heartbeat 10 seconds old: the worker lives, the sweep is live.
        try setHolder(of: 8, heartbeat: Date().addingTimeInterval(-10), in: copy)
        let fresh = try await fetch("/api/sweeps", database: copy).json["sweeps"] as! [[String: Any]]
        XCTAssertEqual(fresh[0]["live"] as? Bool, true)
        XCTAssertTrue(fresh[0]["stalled"] is NSNull)
        // No heartbeat at all: stalled, since no time.
        try setHolder(of: 8, heartbeat: nil, in: copy)
        let never = try await fetch("/api/sweeps/1", database: copy).json["sweep"] as! [String: Any]
        XCTAssertEqual(never["live"] as? Bool, false)
        XCTAssertTrue((never["stalled"] as? [String: Any])?["heartbeat_at"] is NSNull)

        // Held on this host, the process decides whatever the heartbeat says: this test's own
        // process is alive (an old heartbeat: a run waiting for a thread gets none); a pid no
        // process has is gone (a fresh heartbeat: the worker was killed a moment ago).
        let here = WorkerIdentity.current()
        try setHolder(of: 8, heartbeat: beat, host: here.host, pid: here.pid, in: copy)
        let alive = try await fetch("/api/sweeps", database: copy).json["sweeps"] as! [[String: Any]]
        XCTAssertEqual(alive[0]["live"] as? Bool, true)
        try setHolder(of: 8, heartbeat: Date(), host: here.host, pid: Int32.max, in: copy)
        let killed = try await fetch("/api/sweeps", database: copy).json["sweeps"] as! [[String: Any]]
        XCTAssertEqual(killed[0]["live"] as? Bool, false)
        XCTAssertEqual((killed[0]["stalled"] as? [String: Any])?["runs"] as? Int, 1)
    }
}
