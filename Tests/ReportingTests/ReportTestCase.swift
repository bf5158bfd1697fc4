// Shared setup for the report tests: one fixture database per test class, opened read-only.
import Experiments
import Foundation
import NeuralNet
import Reporting
import Store
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
