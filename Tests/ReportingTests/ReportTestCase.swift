// Shared setup for the report tests: one fixture database per test class, opened read-only.
import Experiments
import Foundation
import NeuralNet
import Reporting
@testable import Store
import TestSupport
import XCTest

class ReportTestCase: XCTestCase {
    static var directory: URL!
    static var databasePath: String { directory.appendingPathComponent("fixture.db").path }

    override class func setUp() {
        super.setUp()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("slope-report-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try! ReportFixture.build(at: databasePath)
    }

    override class func tearDown() {
        try? FileManager.default.removeItem(at: directory)
        super.tearDown()
    }

    func reporter(width: Int = 100) throws -> Reporter {
        let store = try SlopeStore(path: Self.databasePath, mode: .readOnly)
        return Reporter(queries: store.queries, style: TerminalStyle(width: width, usesColor: false))
    }

    /// Loads run 10's inputs the way the Report executable does, without Experiments' catalog.
    let xorLoader: InspectionLoader = { run in
        InspectionInputs(configuration: ReportFixture.inspectionConfiguration, training: GeneratedData.xor(), parameters: { stored in
            try TensorRecords.parameters(stored, configuration: ReportFixture.inspectionConfiguration, runID: run.id)
        })
    }

    /// Timestamps replaced by <time>, so whole outputs compare.
    func normalized(_ text: String) -> String {
        text.replacingOccurrences(of: "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z", with: "<time>", options: .regularExpression)
    }
}

extension XCTestCase {
    /// A new database of the PostgreSQL test server (SLOPE_TEST_POSTGRES_URL; skipped without it,
    /// failing under CI), filled by `record` (which closes its store), opened read-only for
    /// `body`, then dropped.
    func withPostgresDatabase(prefix: String, recording record: (SlopeStore) throws -> Void,
                              _ body: (SlopeStore) throws -> Void) throws {
        try withPostgresDatabase(prefix: prefix, recording: record) { store, _ in try body(store) }
    }

    /// The same, `body` also given the database's URL (with the password: for more connections).
    func withPostgresDatabase(prefix: String, recording record: (SlopeStore) throws -> Void,
                              _ body: (SlopeStore, String) throws -> Void) throws {
        guard let adminURL = try PostgresTestServer.adminURL() else { throw XCTSkip(PostgresTestServer.skipReason) }
        let admin = try PostgresSettings(url: adminURL, environment: [:])
        let name = prefix + UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: "")
        func execute(_ script: String) throws {
            let session = try PostgresSession(settings: admin)
            defer { session.close() }
            try session.execute(script: script)
        }
        try execute("CREATE DATABASE \(name)")
        defer { try? execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)") }
        var components = try XCTUnwrap(URLComponents(string: adminURL))
        components.path = "/" + name
        let url = try XCTUnwrap(components.string)
        try record(try SlopeStore(location: url))
        let store = try SlopeStore(location: url, mode: .readOnly)
        defer { try? store.close() }
        try body(store, url)
    }
}
