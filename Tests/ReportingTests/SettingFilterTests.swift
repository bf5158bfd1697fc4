// `--where` and `--sort` over the setting columns of the registry: their snake_case names, the
// sweep-file name `validation`, true/false for the boolean ones, and their types checked.
import Reporting
import Store
import XCTest

final class SettingFilterTests: XCTestCase {
    func message(_ text: String) -> String {
        do {
            _ = try RunFilterParser.parse(text)
            return "parsed"
        } catch { return "\(error)" }
    }

    func testSettingColumnsByName() throws {
        let decay = try XCTUnwrap(RunColumn(rawValue: "weight_decay"))
        let nesterov = try XCTUnwrap(RunColumn(rawValue: "nesterov"))
        XCTAssertEqual(try RunFilterParser.parse("weight_decay > 0"), .comparison(decay, .greater, .integer(0)))
        XCTAssertEqual(try RunFilterParser.parse("nesterov = true"), .comparison(nesterov, .equal, .integer(1)))
        XCTAssertEqual(try RunFilterParser.parse("NESTEROV != False"), .comparison(nesterov, .notEqual, .integer(0)))
        XCTAssertEqual(try RunFilterParser.parse("hidden = '64,64'"), .comparison(.hidden, .equal, .text("64,64")))
        XCTAssertEqual(try RunFilterParser.parse("validation >= 0.2"), .comparison(.validation_fraction, .greaterOrEqual, .number(0.2)))
        XCTAssertEqual(try RunFilterParser.parseSort("-weight_decay"), RunSort(column: decay, descending: true))
        XCTAssertEqual(try RunFilterParser.column(named: "init"), RunColumn(rawValue: "init"))
    }

    func testSettingColumnsAreTypeChecked() {
        XCTAssertEqual(message("weight_decay = 'high'"), "invalid expression \"weight_decay = 'high'\": weight_decay is a number: write the value without quotes")
        XCTAssertEqual(message("activation = true"),
                       "invalid expression \"activation = true\": expected a number or a 'quoted string', found true (quote text values: 'true')")
        XCTAssertEqual(message("weightDecay > 0"), "unknown column 'weightDecay'; valid columns: " + RunColumn.validNames.joined(separator: ", "))
        XCTAssertTrue(RunColumn.validNames.contains("weight_decay") && RunColumn.validNames.contains("early_stopping_patience"))
        // A true/false column says so, quoted or not (not "is a number", nor "quote text values").
        let trueOrFalse = "nesterov is true or false: write nesterov = true or nesterov = false, without quotes"
        XCTAssertEqual(message("nesterov = 'true'"), "invalid expression \"nesterov = 'true'\": " + trueOrFalse)
        XCTAssertEqual(message("nesterov = yes"), "invalid expression \"nesterov = yes\": " + trueOrFalse)
        XCTAssertEqual(message("nesterov in (true, 'no')"), "invalid expression \"nesterov in (true, 'no')\": " + trueOrFalse)
        XCTAssertEqual(message("bias = 1"), "parsed", "1 and 0, as stored, still work")
    }
}
