// CSV files a hostile tester made: 100,000 columns (loaded in linear time), CR-only line endings,
// broken quotes, and numbers beyond float32 for a float32 run; each error names file, line, column.
import NeuralNet
import XCTest
@testable import Experiments

final class CSVInputTests: XCTestCase {
    private func load(_ text: String, target: String? = nil) throws -> LoadedData {
        try DataCatalog.loadCSV(Data(text.utf8), file: "data.csv", target: target, task: .auto)
    }

    private func message(_ text: String) -> String {
        do { _ = try load(text); return "accepted" } catch { return "\(error)" }
    }

    func testAHundredThousandColumns() throws {
        // Size, not time: the duplicate check was a search of the names before each one (50,000
        // columns took 4 s to refuse, 100,000 took 16 s to load); it is a set now. By hand in a
        // release build: 100,000 columns x 4 rows load in well under a second.
        let count = 100_000
        let header = (0..<count).map { "c\($0)" }.joined(separator: ",")
        let rows = (0..<4).map { row in (0..<count).map { String(($0 * 7 + row) % 10) }.joined(separator: ",") }
        let loaded = try load(([header] + rows).joined(separator: "\n") + "\n", target: "c0")
        XCTAssertEqual(loaded.dataset.featureCount, count - 1)
        XCTAssertEqual(loaded.dataset.rowCount, 4)
        XCTAssertEqual(loaded.dataset.featureNames.last, "c99999")
        XCTAssertEqual(loaded.dataset.features[count - 2], Double((99_999 * 7) % 10))  // row 0, last column
        XCTAssertEqual(loaded.dataset.targets, .labels([0, 1, 2, 3], classCount: 4))
        let duplicated = header + ",c50000\n" + (0...count).map { _ in "1" }.joined(separator: ",") + "\n"
        XCTAssertEqual(message(duplicated), "data.csv, line 1, column 'c50000': column name 'c50000' appears twice in the header")
        // A missing target among them: the message lists 20 names, not 100,000.
        XCTAssertThrowsError(try load(([header] + rows).joined(separator: "\n"), target: "nope")) { error in
            XCTAssertTrue("\(error)".hasSuffix("c17, c18, c19, ... (100000 in all)"), "\(error)".suffix(80).description)
        }
    }

    func testLineEndingsAndQuotesAreNamed() {
        XCTAssertEqual(message("a,b,c\r1,2,3\r4,5,6\r"),
                       "data.csv, line 1: line endings are CR only (classic Mac OS; first CR at character 6): save the file with LF or CRLF line endings")
        XCTAssertEqual(message("a,b,c\n1,2\r,3\n"),
                       "data.csv, line 2: a carriage return (CR) inside the line at character 4: remove it, or save the file with LF or CRLF line endings")
        XCTAssertEqual(message("a,b,c\n1,\"2,3\n"),
                       "data.csv, line 2, column 'b' (2): unterminated quote: the field opened with \" at character 3 is not closed on this line")
        XCTAssertEqual(message("a,b,c\n1,2x\"y,3\n"),
                       "data.csv, line 2, column 'b' (2): a quote inside an unquoted field at character 5: quote the whole field and double the quote (\"a\"\"b\"), or remove it")
        XCTAssertEqual(message("a,b,c\n1,\"2\"x,3\n"),
                       "data.csv, line 2, column 'b' (2): text after the closing quote at character 6 (a quoted field ends at its closing quote; write \"\" for a quote inside it)")
        XCTAssertEqual(message("a,\"b,c\n1,2,3\n"),
                       "data.csv, line 1, column 2: unterminated quote: the field opened with \" at character 3 is not closed on this line")
        // Still accepted: CRLF, a CR at the very end, spaces around quotes, "" inside quotes.
        XCTAssertEqual(message("a,b,c\r\n1,2,0\r\n3,4,1\r"), "accepted")
        XCTAssertEqual(try load("a,\"b \"\"x\"\"\",c\n1, \"2\" ,0\n3,4,1\n").dataset.featureNames, ["a", "b \"x\""])
        XCTAssertEqual(try load("a,b,c\n1, \"2\" ,0\n3,4,1\n").dataset.features, [1, 2, 3, 4])
    }

    func testValuesBeyondFloat32AreRefusedForFloat32Runs() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("slope-f32-\(UUID().uuidString).csv").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        func make(_ text: String, precision: Precision) throws -> RunConfiguration {
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            var settings = RunSettings()
            settings.dataset = path
            settings.precision = precision
            settings.validationFraction = 0
            return try RunConfiguration.make(settings, load: { name, target, task in
                try DataCatalog.loadCSV(Data(contentsOf: URL(fileURLWithPath: name)), file: name, target: target, task: task)
            })
        }
        let features = "a,b,label\n1,2,0\n3,-1e39,1\n5,6,0\n7,8,1\n"
        XCTAssertThrowsError(try make(features, precision: .float32)) { error in
            XCTAssertEqual("\(error)", "\(path), line 3, column 'b' (2): '-1e39' is beyond the float32 range (about ±3.4e38); use --precision float64, or rescale the column")
            XCTAssertTrue((error as? ExperimentsError)?.isUsageError ?? false)
        }
        XCTAssertNoThrow(try make(features, precision: .float64))
        // A regression target beyond float32 too; the largest float32 (and what rounds to it) is fine.
        XCTAssertThrowsError(try make("a,y\n1,0.5\n2,3.5e38\n3,1\n", precision: .float32)) { error in
            XCTAssertEqual("\(error)", "\(path), line 3, column 'y' (2): '3.5e38' is beyond the float32 range (about ±3.4e38); use --precision float64, or rescale the column")
        }
        XCTAssertNoThrow(try make("a,y\n1,0.5\n3.4028235e38,2.5\n3,1\n", precision: .float32))
        // A quoted cell is checked the same way.
        XCTAssertThrowsError(try make("a,b,label\n1,2,0\n\"1e40\",2,1\n", precision: .float32)) { error in
            XCTAssertTrue("\(error)".hasPrefix("\(path), line 3, column 'a' (1): '1e40' is beyond the float32 range"), "\(error)")
        }
    }

    /// Whole-number class labels of 2^53 or more were read through a Double: 9007199254740993 and
    /// 9007199254740992 were one class named 9007199254740992.0. Refused now, naming the line (also
    /// in a file to evaluate, and in a quoted cell); labels below 2^53 and regression targets load as before.
    func testClassLabelsOf2To53OrMoreAreRefusedWithTheirLine() throws {
        let refused = "is a whole number of 2^53 (9007199254740992) or more, which a class label cannot be exactly; "
            + "number the classes below 2^53, or use --task regression"
        XCTAssertEqual(message("x,y\n0.5,7\n0.25,9007199254740993\n0.75,9007199254740992\n"),
                       "data.csv, line 3, column 'y': '9007199254740993' " + refused)
        XCTAssertEqual(message("x,y\n0.5,7\n0.75,\"-9223372036854775807\"\n"),
                       "data.csv, line 3, column 'y': '-9223372036854775807' " + refused)
        XCTAssertThrowsError(try DataCatalog.loadCSV(Data("x,y\n1,9.3e18\n2,0\n".utf8), file: "data.csv", target: nil, task: .classification)) {
            XCTAssertEqual("\($0)", "data.csv, line 2, column 'y': '9.3e18' " + refused)
        }
        // Below 2^53: distinct classes named as before (by the Double's shortest form).
        let below = try load("x,y\n0.5,9007199254740991\n0.25,9007199254740990\n0.75,7\n")
        XCTAssertEqual(below.classNames, ["7", "9007199254740990.0", "9007199254740991.0"])
        XCTAssertEqual(below.dataset.targets, .labels([2, 1, 0], classCount: 3))
        // A feature, or a regression target, of that size is a number like any other.
        let regression = try DataCatalog.loadCSV(Data("x,y\n9007199254740993,9007199254740993\n1,2\n".utf8), file: "data.csv", target: nil, task: .regression)
        XCTAssertEqual(regression.dataset.targets, .values([9_007_199_254_740_992, 2], columns: 1))
        XCTAssertEqual(regression.dataset.features, [9_007_199_254_740_992, 1])
    }

    /// A 60 MB cell took 16 bytes of memory per byte (an Array of Characters, Foundation's trimming)
    /// and tens of seconds before its refusal, and crashed with a backtrace under `ulimit -v`. A cell
    /// (plain or quoted, a number or a class name) or a column name over 1,000 bytes is refused at
    /// once now, naming line and column; a cell of 1,000 bytes still loads.
    func testACellOfMegabytesIsRefusedAtOnce() throws {
        let long = String(repeating: "x", count: 4 << 20)
        let refused = "is longer than the 1000 bytes Slope reads; a cell holds a number or a class name: is a line break missing?"
        XCTAssertEqual(message("a,b,label\n1,2,0\n3,4," + long + "\n5,6,1\n"),
                       "data.csv, line 3, column 'label' (3): a cell of 4194304 bytes ('\(String(repeating: "x", count: 40))...') " + refused)
        XCTAssertEqual(message("a,b,label\n1,  " + String(repeating: "7", count: 3 << 20) + "  ,0\n"),
                       "data.csv, line 2, column 'b' (2): a cell of 3145732 bytes ('\(String(repeating: "7", count: 40))...') " + refused)
        XCTAssertEqual(message("a,b,label\n1,2,\"" + long + "\"\n"),
                       "data.csv, line 2, column 'label' (3): a cell of more than 1000 bytes ('\(String(repeating: "x", count: 40))...') " + refused)
        XCTAssertEqual(message("a,b" + long + ",label\n1,2,0\n"),
                       "data.csv, line 1, column 2: a column name of more than 1000 bytes ('b\(String(repeating: "x", count: 39))...') " + refused)
        // 1,000 bytes is still a cell: a number written with 998 zeros, and a class name.
        let number = "1." + String(repeating: "0", count: 998)
        let name = String(repeating: "n", count: 1000)
        let loaded = try load("a,label\n\(number),\(name)\n\"\(number)\",other\n")
        XCTAssertEqual(loaded.dataset.features, [1, 1])
        XCTAssertEqual(loaded.classNames, [name, "other"])
        // A header alone with no line feed after it (the line reader went one byte past the end and crashed).
        XCTAssertEqual(message("not the xor data"), "data.csv: the file has a header but no data rows")
        XCTAssertEqual(try load("a,b\n1,0\n2,1").dataset.features, [1, 2])
        XCTAssertEqual(message("a,label\n1\(number),x\n"),
                       "data.csv, line 2, column 'a' (1): a cell of 1001 bytes ('11.\(String(repeating: "0", count: 37))...') " + refused)
    }

    /// A tab- or semicolon-separated file said only "only one column"; the separator is named now.
    func testATabOrSemicolonSeparatedFileGetsAHint() {
        let hint = "data.csv, line 1: only one column; need at least one feature column and the target column; the header holds "
        XCTAssertEqual(message("a\tb\tlabel\n1\t2\t0\n3\t4\t1\n"), hint + "tabs: Slope reads comma-separated values only, so save the file with commas")
        XCTAssertEqual(message("a;b;label\n1;2;0\n3;4;1\n"), hint + "semicolons: Slope reads comma-separated values only, so save the file with commas")
        XCTAssertEqual(message("label\n0\n1\n"), "data.csv, line 1: only one column; need at least one feature column and the target column")
    }

    /// Latin-1 class names 0xFE and 0xFF were decoded as one replacement character, so two classes
    /// merged into one with no word; a header name likewise. Refused now, naming line and character,
    /// like a file with NUL bytes; UTF-8 names of 2, 3 and 4 bytes stay distinct classes.
    func testAFileThatIsNotUTF8IsRefusedWithItsLine() throws {
        func message(_ bytes: [UInt8]) -> String {
            do { _ = try DataCatalog.loadCSV(Data(bytes), file: "data.csv", target: nil, task: .auto); return "accepted" } catch { return "\(error)" }
        }
        let latin1: [UInt8] = Array("a,label\n1,ok\n2,".utf8) + [0xFE] + Array("\n3,".utf8) + [0xFF] + Array("\n".utf8)
        XCTAssertEqual(message(latin1), "data.csv, line 3: not UTF-8 text (byte 0xFE at character 3 is not UTF-8; Latin-1 or Windows-1252 text?); save the file as UTF-8")
        XCTAssertEqual(message(Array("a,lab".utf8) + [0xE9] + Array("l\n1,2\n".utf8)),
                       "data.csv, line 1: not UTF-8 text (byte 0xE9 at character 6 is not UTF-8; Latin-1 or Windows-1252 text?); save the file as UTF-8")
        // Overlong, surrogate, beyond U+10FFFF, cut short at the end of the file; after a BOM, in CRLF lines.
        for (bytes, shown) in [([0xC0, 0x80], "0xC0"), ([0xED, 0xA0, 0x80], "0xED"), ([0xF4, 0x90, 0x80, 0x80], "0xF4"), ([0xE2, 0x82], "0xE2")] as [([UInt8], String)] {
            XCTAssertEqual(message([0xEF, 0xBB, 0xBF] + Array("a,label\r\n1,é\r\n2,".utf8) + bytes),
                           "data.csv, line 3: not UTF-8 text (byte \(shown) at character 3 is not UTF-8; Latin-1 or Windows-1252 text?); save the file as UTF-8")
        }
        let loaded = try load("a,label\n1,é\n2,日本\n3,😀\n4,é\n")
        XCTAssertEqual(loaded.classNames, ["é", "日本", "😀"])
        XCTAssertEqual(loaded.dataset.targets, .labels([0, 1, 2, 0], classCount: 3))
    }
}
