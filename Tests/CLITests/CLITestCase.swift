// A base for CLI tests that run the built `runner` and `report` in a temporary folder on one
// database: the folder's set-up and removal, a run that checks the exit status, file writing.
import Foundation
import TestSupport
import XCTest

class CLITestCase: XCTestCase {
    var directory: TemporaryDirectory!
    /// The database every `run` passes with --db (a file in `directory`).
    var databaseName: String { "slope.db" }

    override func setUpWithError() throws { directory = try TemporaryDirectory(prefix: "slope-\(type(of: self))") }
    override func tearDown() { directory.remove() }

    /// Runs `tool arguments... --db <database>` in `directory`, expecting `status`; a failure is one
    /// line on stderr, never a crash.
    @discardableResult
    func run(_ tool: String, _ arguments: [String], expect status: Int32 = 0,
             file: StaticString = #filePath, line: UInt = #line) throws -> (output: String, error: String) {
        let result = try ChildProcess.run(builtExecutable(tool), arguments + ["--db", directory.path(databaseName)],
                                          currentDirectory: directory.url)
        XCTAssertEqual(result.status, status, "\(tool) \(arguments.joined(separator: " ")): \(result.error)", file: file, line: line)
        XCTAssertFalse(result.error.contains("Fatal error") || result.error.contains("Backtrac"), result.error, file: file, line: line)
        if status != 0 { XCTAssertEqual(result.error.split(separator: "\n").count, 1, result.error, file: file, line: line) }
        return (result.output, result.error)
    }

    func write(_ name: String, _ text: String) throws {
        try text.write(toFile: directory.path(name), atomically: true, encoding: .utf8)
    }
}
