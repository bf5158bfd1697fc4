// `report --where` with long and deep expressions, through the built binary: 1,000-term chains and
// 100 nots run (SQLite's parser stack once overflowed at 91 terms or 23 nots), the deepest accepted
// nesting runs in SQLite, and beyond the limits a one-line usage error names the limit.
import Foundation
import TestSupport
import XCTest

final class FilterLimitsCLITests: XCTestCase {
    static var directory: URL!
    static var fixture: String { directory.appendingPathComponent("fixture.db").path }

    override class func setUp() {
        super.setUp()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("slope-filter-limits-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try! ReportFixture.build(at: fixture)
    }

    override class func tearDown() {
        try? FileManager.default.removeItem(at: directory)
        super.tearDown()
    }

    /// The ids of the runs `report runs --where expression` lists (exit 0 expected).
    private func ids(_ expression: String, file: StaticString = #filePath, line: UInt = #line) throws -> [Int] {
        let result = try ReportProcess.run("report", ["runs", "--db", Self.fixture, "--where", expression, "--format", "csv"])
        XCTAssertEqual(result.status, 0, result.error, file: file, line: line)
        if result.output == "no runs match\n" { return [] }
        return result.output.split(separator: "\n").dropFirst().compactMap { Int($0.prefix { $0 != "," }) }
    }

    /// The one-line error of a refused expression (exit 2 expected).
    private func refusal(_ expression: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let result = try ReportProcess.run("report", ["runs", "--db", Self.fixture, "--where", expression])
        XCTAssertEqual(result.status, 2, result.error, file: file, line: line)
        XCTAssertEqual(result.output, "", file: file, line: line)
        XCTAssertTrue(result.error.hasPrefix("report: error: invalid expression"), result.error, file: file, line: line)
        XCTAssertEqual(result.error.filter { $0 == "\n" }.count, 1, "one line", file: file, line: line)
        XCTAssertLessThan(result.error.count, 400, "the expression is not repeated in full", file: file, line: line)
        return result.error
    }

    func testThousandTermChainsRun() throws {
        let all = try ids("id > 0")
        XCTAssertEqual(all.count, 10)
        // id = 0 or id = 1 or ... or id = 999: every run.
        XCTAssertEqual(try ids((0..<1000).map { "id = \($0)" }.joined(separator: " or ")), all)
        // id != 3 and id != 1000 and ... : all but run 3.
        XCTAssertEqual(try ids((["id != 3"] + (1000..<1999).map { "id != \($0)" }).joined(separator: " and ")), all.filter { $0 != 3 })
        // Mixed: (id = 2 and seed >= 0) or ... 1,000 times, each pair an and inside the or.
        XCTAssertEqual(try ids((0..<500).map { "id = \($0) and seed >= 0" }.joined(separator: " or ")), all)
        // At the term limit exactly.
        XCTAssertEqual(try ids((0..<10_000).map { "id = \($0)" }.joined(separator: " or ")), all)
    }

    func testHundredNotsRun() throws {
        let all = try ids("id > 0")
        XCTAssertEqual(try ids(String(repeating: "not ", count: 100) + "id = 3"), [3])
        XCTAssertEqual(try ids(String(repeating: "not ", count: 101) + "id = 3"), all.filter { $0 != 3 })
        XCTAssertEqual(try ids(String(repeating: "not (", count: 100) + "id = 3" + String(repeating: ")", count: 100)), [3])
    }

    /// `not (id = k or ...)` nested: each level is two (a not and an or), the costliest SQL per level.
    private func alternating(_ levels: Int) -> String {
        (1...levels).reduce("id < 0") { inner, level in "not (id = \(level) or \(inner))" }
    }

    func testDeepestAcceptedNestingRunsInSQLite() throws {
        // 10 levels = depth 20, the limit. With S0 = {} (no id < 0) and S(k) = runs - ({k} + S(k-1)):
        // S1 = 2...10, S2 = {1}, S3 = {2, 4...10}, S4 = {1, 3}, ... S10 = {1, 3, 5, 7, 9}.
        XCTAssertEqual(try ids(alternating(10)), [1, 3, 5, 7, 9])
        // A 1,000-term or (no run has id < -1) inside such levels: 4 levels are depth 8 + 10, 6 are 12 + 10.
        // (Equalities would merge into one `in`: see testOrsOfEqualitiesBecomeOneIn.)
        let chain = (1...1000).map { "id < -\($0)" }.joined(separator: " or ")
        XCTAssertTrue(try refusal((1...6).reduce(chain) { inner, level in "not (id = \(level) or \(inner))" }).contains("at most 20"))
        XCTAssertEqual(try ids((1...4).reduce(chain) { inner, level in "not (id = \(level) or \(inner))" }), [1, 3])
    }

    func testBeyondTheLimitsIsAUsageErrorNamingTheLimit() throws {
        XCTAssertTrue(try refusal(alternating(11)).contains("nest 22 levels deep (a chain of n terms counts log2 n); at most 20"))
        XCTAssertTrue(try refusal((0...10_000).map { "id = \($0)" }.joined(separator: " or ")).contains("10001 terms (comparisons and listed values); at most 10000"))
        XCTAssertTrue(try refusal("id in (" + (0...10_000).map(String.init).joined(separator: ",") + ")").contains("at most 10000"))
        XCTAssertTrue(try refusal(String(repeating: "(", count: 101) + "id = 3" + String(repeating: ")", count: 101))
            .contains("parentheses nest more than 100 deep"))
        // Far beyond: no crash, no hang.
        XCTAssertTrue(try refusal(String(repeating: "(", count: 50_000) + "id = 3" + String(repeating: ")", count: 50_000))
            .contains("parentheses nest more than 100 deep"))
    }

    /// A number is read as the flags read one: hexadecimal, `_`, `inf` and `1e999` are usage errors
    /// saying how to write it (`0x10` was read as 0 followed by `x10`); `+.05` is 0.05.
    func testNumbersAreWrittenInDecimal() throws {
        XCTAssertTrue(try refusal("learning_rate > 0x10").hasSuffix(": '0x10' is not a number: write numbers in decimal, "
            + "e.g. 16, -0.5, .5 or 1e-4 (no hexadecimal, no _ between digits)\n"))
        XCTAssertTrue(try refusal("batch_size < 1_000").contains("'1_000' is not a number: write numbers in decimal"))
        for number in ["inf", "nan", "1e999", "-inf"] {
            XCTAssertTrue(try refusal("learning_rate < \(number)").contains("'\(number)' is not a finite number: write a decimal number"), number)
        }
        let above = try ids("learning_rate > 0.05")
        XCTAssertFalse(above.isEmpty)
        XCTAssertLessThan(above.count, try ids("id > 0").count)
        XCTAssertEqual(try ids("learning_rate > +.05"), above)
    }
}
