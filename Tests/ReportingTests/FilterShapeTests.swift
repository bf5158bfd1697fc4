// The shape of parsed `--where` filters that keeps SQLite's parser stack small: balanced and/or
// chains, `not not x` as `x`, ors of equalities on one column as one `in`, and the limits.
import Store
import XCTest
@testable import Reporting

final class FilterShapeTests: XCTestCase {
    private func id(_ value: Int64) -> RunFilter { .comparison(.id, .greater, .integer(value)) }

    func testChainsAreBalanced() throws {
        // a or b or c or d: ((a or b) or (c or d)), not (((a or b) or c) or d).
        XCTAssertEqual(try RunFilterParser.parse("id > 1 or id > 2 or id > 3 or id > 4"), .or(.or(id(1), id(2)), .or(id(3), id(4))))
        XCTAssertEqual(try RunFilterParser.parse("id > 1 and id > 2 and id > 3"), .and(id(1), .and(id(2), id(3))))
        let chain = try RunFilterParser.parse((1...1000).map { "id > \($0)" }.joined(separator: " and "))
        XCTAssertEqual(RunFilterParser.nestingDepth(chain), 10, "ceil(log2 1000)")
    }

    func testDoubleNegationsCancel() throws {
        XCTAssertEqual(try RunFilterParser.parse("not not id > 1"), id(1))
        XCTAssertEqual(try RunFilterParser.parse("not not not id > 1"), .not(id(1)))
        XCTAssertEqual(try RunFilterParser.parse("not (not (id > 1))"), id(1))
        XCTAssertEqual(try RunFilterParser.parse(String(repeating: "not ", count: 1001) + "id > 1"), .not(id(1)))
    }

    func testOrsOfEqualitiesBecomeOneIn() throws {
        XCTAssertEqual(try RunFilterParser.parse("seed = 1 or id > 3 or seed = 2 or seed in (5, 6)"),
                       .or(.isIn(.seed, [.integer(1), .integer(2), .integer(5), .integer(6)]), id(3)))
        XCTAssertEqual(try RunFilterParser.parse("seed = 1 or batch_size = 2"),
                       .or(.comparison(.seed, .equal, .integer(1)), .comparison(.batch_size, .equal, .integer(2))))
        XCTAssertEqual(try RunFilterParser.parse((0..<1000).map { "id = \($0)" }.joined(separator: " or ")),
                       .isIn(.id, (0..<1000).map { .integer(Int64($0)) }))
    }

    func testLimitsAreNamed() {
        func message(_ text: String) -> String {
            do { _ = try RunFilterParser.parse(text); return "accepted" } catch { return "\(error)" }
        }
        XCTAssertEqual(message((0..<10_000).map { "id = \($0)" }.joined(separator: " or ")), "accepted")
        XCTAssertTrue(message((0...10_000).map { "id = \($0)" }.joined(separator: " or "))
            .hasSuffix(": 10001 terms (comparisons and listed values); at most 10000: split the query, or use ranges such as id >= 10 and id <= 90"))
        let deep = (1...11).reduce("id < 0") { inner, level in "not (id = \(level) or \(inner))" }
        XCTAssertTrue(message(deep).hasPrefix("invalid expression \"not (id = 11 or not (id = 10 or not (id = 9 or"), message(deep))
        XCTAssertTrue(message(deep).hasSuffix("...\": and/or/not nest 22 levels deep (a chain of n terms counts log2 n); "
                                              + "at most 20: remove parentheses or use in (...) for a list of values"), message(deep))
        let parenthesized = String(repeating: "(", count: 101) + "id = 1" + String(repeating: ")", count: 101)
        XCTAssertEqual(message(parenthesized),
                       "invalid expression \"" + parenthesized.prefix(120) + "...\": parentheses nest more than 100 deep; at most 100")
    }
}
