// The --where / --sort language: the AST of valid expressions, one-line errors for invalid ones,
// and injection attempts that either fail to parse or match nothing, leaving the tables intact.
import Experiments
import Reporting
import Store
import XCTest

final class FilterParserTests: ReportTestCase {
    func testComparisonsBooleanStructureAndPrecedence() throws {
        XCTAssertEqual(try RunFilterParser.parse("learning_rate < 0.1"), .comparison(.learning_rate, .less, .number(0.1)))
        XCTAssertEqual(try RunFilterParser.parse("batch_size >= 32"), .comparison(.batch_size, .greaterOrEqual, .integer(32)))
        XCTAssertEqual(try RunFilterParser.parse("status != 'failed'"), .comparison(.status, .notEqual, .text("failed")))
        XCTAssertEqual(try RunFilterParser.parse("status <> 'failed'"), .comparison(.status, .notEqual, .text("failed")))
        XCTAssertEqual(try RunFilterParser.parse("momentum = -0.5e-1"), .comparison(.momentum, .equal, .number(-0.05)))
        // and binds tighter than or; not applies to the next primary.
        XCTAssertEqual(try RunFilterParser.parse("seed = 1 or seed = 2 and not batch_size = 16"),
                       .or(.comparison(.seed, .equal, .integer(1)),
                           .and(.comparison(.seed, .equal, .integer(2)), .not(.comparison(.batch_size, .equal, .integer(16))))))
        XCTAssertEqual(try RunFilterParser.parse("(seed = 1 OR seed > 2) AND batch_size = 16"),
                       .and(.or(.comparison(.seed, .equal, .integer(1)), .comparison(.seed, .greater, .integer(2))),
                            .comparison(.batch_size, .equal, .integer(16))))
        XCTAssertEqual(try RunFilterParser.parse("batch_size in (16, 32)"), .isIn(.batch_size, [.integer(16), .integer(32)]))
        XCTAssertEqual(try RunFilterParser.parse("status not in ('failed','diverged')"),
                       .and(.not(.isNull(.status)), .not(.isIn(.status, [.text("failed"), .text("diverged")]))))
        XCTAssertEqual(try RunFilterParser.parse("name like 'lr0.1%'"), .like(.name, pattern: "lr0.1%"))
        XCTAssertEqual(try RunFilterParser.parse("name = 'it''s'"), .comparison(.name, .equal, .text("it's")))
        XCTAssertEqual(try RunFilterParser.parse("run_id = 3"), .comparison(.id, .equal, .integer(3)))
        XCTAssertEqual(try RunFilterParser.parse("best_val_loss IS NULL"), .isNull(.best_val_loss))
        XCTAssertEqual(try RunFilterParser.parse("name is not null and seed = 1"),
                       .and(.not(.isNull(.name)), .comparison(.seed, .equal, .integer(1))))
        // Whole numbers stay exact beyond a Double's 2^53 (seeds go up to 2^63 - 1); 32.0 is a number.
        XCTAssertEqual(try RunFilterParser.parse("seed = 9223372036854775807"), .comparison(.seed, .equal, .integer(.max)))
        XCTAssertEqual(try RunFilterParser.parse("seed = 9007199254740993"), .comparison(.seed, .equal, .integer(9_007_199_254_740_993)))
        XCTAssertEqual(try RunFilterParser.parse("batch_size = 32.0"), .comparison(.batch_size, .equal, .number(32)))
        XCTAssertEqual(try RunFilterParser.parseSort("-best_val_loss"), RunSort(column: .best_val_loss, descending: true))
        XCTAssertEqual(try RunFilterParser.parseSort("seed"), RunSort(column: .seed, descending: false))
        // The short titles printed over the columns work as names too.
        XCTAssertEqual(try RunFilterParser.parse("lr = 0.1 and mom > 0"),
                       .and(.comparison(.learning_rate, .equal, .number(0.1)), .comparison(.momentum, .greater, .integer(0))))
        XCTAssertEqual(try RunFilterParser.parseSort("-val_loss"), RunSort(column: .final_val_loss, descending: true))
        XCTAssertEqual(try RunFilterParser.parseSort("best_ep"), RunSort(column: .best_epoch, descending: false))
    }

    func testInvalidExpressionsGiveOneLineErrors() {
        func message(_ text: String) -> String {
            do {
                _ = try RunFilterParser.parse(text)
                return "parsed"
            } catch { return "\(error)" }
        }
        XCTAssertEqual(message("rate < 0.1"), "unknown column 'rate'; valid columns: " + RunColumn.validNames.joined(separator: ", "))
        // A bidi control (U+202E) would reorder the rest of the error line on a terminal: escaped,
        // in the expression and in the character named (which was shown raw).
        let unexpected = "unexpected character '\\u{202E}'; use = != < <= > >= in like and or not, parentheses, numbers and 'quoted strings'"
        XCTAssertEqual(message("ra\u{202E}te < 0.1"), "invalid expression \"ra\\u{202E}te < 0.1\": " + unexpected)
        XCTAssertEqual(message("learning_rate < \u{202E}"), "invalid expression \"learning_rate < \\u{202E}\": " + unexpected)
        XCTAssertEqual(message("seed = 1 \u{1B}"), "invalid expression \"seed = 1 \\x1B\": unexpected character '\\x1B'; use = != < <= > >= in like and or not, parentheses, numbers and 'quoted strings'")
        XCTAssertEqual(message("learning_rate <"), "invalid expression \"learning_rate <\": expected a value but the expression ended")
        XCTAssertEqual(message("learning_rate < 0.1 and"), "invalid expression \"learning_rate < 0.1 and\": expected a column name but the expression ended")
        XCTAssertEqual(message("(seed = 1"), "invalid expression \"(seed = 1\": expected ')' but the expression ended")
        XCTAssertEqual(message("seed = 1)"), "invalid expression \"seed = 1)\": unexpected ')' after a complete expression")
        // A decimal comma (hostile16 F3) is named, with the number written with a point; a list's comma is not one.
        XCTAssertEqual(message("learning_rate = 0,3"), "invalid expression \"learning_rate = 0,3\": unexpected ',' after a complete "
                       + "expression: '0,3' is not a number, a decimal is written with a point (0.3)")
        XCTAssertEqual(message("name = 'a,1' and seed = 1,2"), "invalid expression \"name = 'a,1' and seed = 1,2\": unexpected ',' after a complete "
                       + "expression: '1,2' is not a number, a decimal is written with a point (1.2)")
        // The comma the parser stopped at, not the first pair of digits around a comma (review16 R4).
        XCTAssertEqual(message("batch_size in (16,64) and learning_rate = 0,3"), "invalid expression \"batch_size in (16,64) and learning_rate = 0,3\": "
                       + "unexpected ',' after a complete expression: '0,3' is not a number, a decimal is written with a point (0.3)")
        XCTAssertEqual(message("seed = 1, 2"), "invalid expression \"seed = 1, 2\": unexpected ',' after a complete expression")
        XCTAssertEqual(message("status = 'open"), "invalid expression \"status = 'open\": unterminated string (close it with ', write '' for a quote inside)")
        XCTAssertEqual(message("status = completed"), "invalid expression \"status = completed\": expected a number or a 'quoted string', found completed (quote text values: 'completed')")
        XCTAssertEqual(message("status = 3"), "invalid expression \"status = 3\": status is text: quote the value, e.g. status = '3'")
        XCTAssertEqual(message("seed = '1'"), "invalid expression \"seed = '1'\": seed is a number: write the value without quotes")
        XCTAssertEqual(message("seed like '1%'"), "invalid expression \"seed like '1%'\": 'like' works on text columns; seed is numeric")
        XCTAssertEqual(message("seed ~ 1"), "invalid expression \"seed ~ 1\": unexpected character '~'; use = != < <= > >= in like and or not, parentheses, numbers and 'quoted strings'")
        XCTAssertEqual(message("seed in ()"), "invalid expression \"seed in ()\": expected a number or a 'quoted string', found ')'")
        XCTAssertEqual(message("name is 'x'"), "invalid expression \"name is 'x'\": expected 'null' after 'is' (write name is null or name is not null)")
        XCTAssertEqual(message(""), "invalid expression \"\": expected a column name but the expression ended")
        XCTAssertEqual(message("seed = 1\nor x"), "unknown column 'x'; valid columns: " + RunColumn.validNames.joined(separator: ", "))
        XCTAssertThrowsError(try RunFilterParser.parseSort("-lr; DROP TABLE runs"))
        XCTAssertThrowsError(try RunFilterParser.parseSort("best_val_loss desc"))
    }

    /// A number in `--where` is read as the flags read one (Store's `DecimalNumber`): `0x10` was
    /// refused as 0 followed by an unexpected `x10`, `1e999` said only "is not a number", and `inf` asked to
    /// be quoted, which a numeric column then refused.
    func testNumbersAreReadAsTheFlagsReadThem() throws {
        func message(_ text: String) -> String {
            do {
                _ = try RunFilterParser.parse(text)
                return "parsed"
            } catch let error as ReportError {
                XCTAssertTrue(error.isUsageError, text)
                return "\(error)"
            } catch { return "\(error)" }
        }
        let decimal = "is not a number: write numbers in decimal, e.g. 16, -0.5, .5 or 1e-4 (no hexadecimal, no _ between digits)"
        let finite = "is not a finite number: write a decimal number of at most 1.7e308 in size, e.g. 1e300 (and 'is null' for a missing value)"
        XCTAssertEqual(message("learning_rate > 0x10"), "invalid expression \"learning_rate > 0x10\": '0x10' " + decimal)
        XCTAssertEqual(message("learning_rate < 0x1p3"), "invalid expression \"learning_rate < 0x1p3\": '0x1p3' " + decimal)
        XCTAssertEqual(message("batch_size = 1_000"), "invalid expression \"batch_size = 1_000\": '1_000' " + decimal)
        XCTAssertEqual(message("seed in (1, 2x)"), "invalid expression \"seed in (1, 2x)\": '2x' " + decimal)
        XCTAssertEqual(message("momentum = 1.2.3"), "invalid expression \"momentum = 1.2.3\": '1.2.3' " + decimal)
        XCTAssertEqual(message("learning_rate < 1e999"), "invalid expression \"learning_rate < 1e999\": '1e999' " + finite)
        XCTAssertEqual(message("learning_rate < inf"), "invalid expression \"learning_rate < inf\": 'inf' " + finite)
        XCTAssertEqual(message("learning_rate > -Infinity"), "invalid expression \"learning_rate > -Infinity\": '-Infinity' " + finite)
        XCTAssertEqual(message("best_val_loss = NaN"), "invalid expression \"best_val_loss = NaN\": 'NaN' " + finite)
        // A number that rounds to 0 as a Double would quietly compare with 0: refused, as a sweep file's is.
        let zero = "rounds to 0 as a 64-bit float: write 0, or a number of at least 5e-324 in size (the smallest above 0)"
        XCTAssertEqual(message("learning_rate > 1e-400"), "invalid expression \"learning_rate > 1e-400\": '1e-400' " + zero)
        XCTAssertEqual(message("momentum > -2e-324"), "invalid expression \"momentum > -2e-324\": '-2e-324' " + zero)
        XCTAssertEqual(message("weight_decay in (0.1, 0.0000e-999, 1e-999)"),
                       "invalid expression \"weight_decay in (0.1, 0.0000e-999, 1e-999)\": '1e-999' " + zero)
        XCTAssertEqual(try RunFilterParser.parse("learning_rate = 0.000e-999"), .comparison(.learning_rate, .equal, .number(0)))
        XCTAssertEqual(try RunFilterParser.parse("momentum > 5e-324"), .comparison(.momentum, .greater, .number(5e-324)))
        // A text column still asks for quotes; a word after a number is not glued to it.
        XCTAssertEqual(message("name = inf"), "invalid expression \"name = inf\": expected a number or a 'quoted string', found inf (quote text values: 'inf')")
        XCTAssertEqual(try RunFilterParser.parse("learning_rate > +.5"), .comparison(.learning_rate, .greater, .number(0.5)))
        XCTAssertEqual(try RunFilterParser.parse("seed = +7"), .comparison(.seed, .equal, .integer(7)))
        XCTAssertEqual(try RunFilterParser.parse("momentum < 5."), .comparison(.momentum, .less, .number(5)))
        XCTAssertEqual(try RunFilterParser.parse("learning_rate <= 1E-4"), .comparison(.learning_rate, .lessOrEqual, .number(0.0001)))
        XCTAssertEqual(try RunFilterParser.parse("(seed=1)and(seed=2)"), .and(.comparison(.seed, .equal, .integer(1)), .comparison(.seed, .equal, .integer(2))))

        // The same texts, refused or taken alike by a numeric flag (`AcceptedValues.number`).
        let flag = AcceptedValues<Double>.number("--momentum", -Double.greatestFiniteMagnitude ... .greatestFiniteMagnitude, expected: "a number")
        for text in ["0x10", "0x1p3", "1_000", "2x", "1.2.3", "1e999", "inf", "-Infinity", "NaN", "1e", ".", "1e-999", "-2e-324"] {
            XCTAssertNil(try? flag.parse(text), text)
            XCTAssertNotEqual(message("momentum = \(text)"), "parsed", text)
        }
        // (1e-999 was taken as 0 by both: now refused by both, as a number that rounds to 0; 0 written so is 0.)
        XCTAssertThrowsError(try flag.parse("1e-999")) { error in
            XCTAssertEqual("\(error)", "--momentum: '1e-999' is not accepted; expected a number ('1e-999' rounds to 0 as a 64-bit float)")
        }
        for (text, value) in [("+.5", 0.5), ("-3", -3), ("1e-4", 0.0001), ("5.", 5), ("-0.5E+1", -5), ("0e-999", 0), ("-0.0", 0), ("5e-324", 5e-324)] {
            XCTAssertEqual(try flag.parse(text), value, text)
            let parsed = try RunFilterParser.parse("momentum = \(text)")
            XCTAssertTrue(parsed == .comparison(.momentum, .equal, .number(value))
                          || parsed == .comparison(.momentum, .equal, .integer(Int64(value))), "\(text): \(parsed)")
        }
    }

    func testInjectionAttemptsAreRejectedOrInertAndTablesStayIntact() throws {
        let reporter = try reporter()
        let rejected = [
            "'; DROP TABLE runs; --",
            "seed = 1; DROP TABLE runs",
            "seed = 1 -- comment",
            "name = 'x' or 1=1",
            "seed = 1 union select * from sqlite_master",
            "learning_rate = (select max(learning_rate) from runs)",
        ]
        for text in rejected {
            XCTAssertThrowsError(try reporter.runs(filter: text), text)
        }
        XCTAssertThrowsError(try reporter.runs(sort: "id; DROP TABLE runs"))
        XCTAssertThrowsError(try reporter.grid(sweepID: 1, rows: "learning_rate; DROP TABLE runs", columns: "batch_size"))
        // Quoted hostile text is only ever a bound value: it matches nothing (or the hostile name exactly).
        XCTAssertEqual(try reporter.runs(filter: "name = '''; DROP TABLE runs; --'"), "no runs match\n")
        XCTAssertEqual(try reporter.runs(filter: "status = 'completed'' OR ''1''=''1'"), "no runs match\n")
        XCTAssertEqual(try reporter.runs(filter: "name like '%DROP TABLE%'", format: .csv).split(separator: "\n").count, 3)  // header + 2 lines of run 9
        // Everything is still there.
        let store = try SlopeStore(path: Self.databasePath, mode: .readOnly)
        XCTAssertEqual(try store.queries.runCount(sweepID: nil), 10)
        XCTAssertEqual(try store.queries.epochRows(runIDs: Array(1...10)).count, 8 * 4 - 1 + 3 + 3)
        XCTAssertEqual(try store.queries.sweepSummaries().count, 1)
    }

    func testFiltersSelectTheRightRuns() throws {
        let store = try SlopeStore(path: Self.databasePath, mode: .readOnly)
        func ids(_ text: String, sort: String? = nil, limit: Int? = nil) throws -> [Int64] {
            try store.queries.runSummaries(filter: RunFilterParser.parse(text), sort: sort.map(RunFilterParser.parseSort), limit: limit).map(\.id)
        }
        XCTAssertEqual(try ids("learning_rate < 0.05 and status = 'completed' and best_val_loss < 0.25"), [1, 2, 4])
        XCTAssertEqual(try ids("batch_size in (4) or name like 'xo_'"), [9, 10])
        XCTAssertEqual(try ids("not status = 'completed'"), [8, 9])
        XCTAssertEqual(try ids("not best_val_loss < 0.2"), [1, 3, 4, 9, 10])  // missing values count as false
        XCTAssertEqual(try ids("sweep_id = 1", sort: "-best_val_loss", limit: 3), [3, 4, 1])
        XCTAssertEqual(try ids("seed >= 0", sort: "best_val_loss"), [6, 5, 7, 2, 8, 1, 4, 3, 9, 10])  // missing values last
        XCTAssertEqual(try ids("epochs_done = 2 and final_train_loss > 1000"), [9])
        XCTAssertEqual(try ids("best_val_loss is null"), [9, 10])
        XCTAssertEqual(try ids("finished_at is not null and sweep_id is null"), [9, 10])
    }
}
