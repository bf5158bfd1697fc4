// `fittedLine`: a status line written over in place fits the terminal's width in screen columns
// (hostile15 F3: `report export`'s line wrapped, and each redraw left its first rows behind), the
// file name in it shortened by its middle first so that the counts after it stay.
import XCTest
@testable import Reporting

final class FittedLineTests: XCTestCase {
    func testAWideLineShortensItsFileNameByTheMiddleThenCutsItsEnd() {
        let path = "/tmp/long-folder-name/sweep-one-copy.db"  // 39 columns
        let line = "report: exporting to \(path): 1 of 4 runs"  // 21 + 39 + 13 = 73
        XCTAssertEqual(fittedLine(line, width: 73, shortening: path), line, "fits: as it is")
        XCTAssertEqual(fittedLine(line, width: 200, shortening: path), line)
        // 23 columns too many: the name keeps 39 - 23 - 1 = 15 (8 first, 7 last) and the "…".
        XCTAssertEqual(fittedLine(line, width: 50, shortening: path), "report: exporting to /tmp/lon…copy.db: 1 of 4 runs")
        // Narrower than the name can give: it keeps 8 (4 and 4), then the end is cut to 29 and "…".
        XCTAssertEqual(fittedLine(line, width: 30, shortening: path), "report: exporting to /tmp…y.d…")
        // No name to shorten (or not in the line): the end is cut.
        XCTAssertEqual(fittedLine(line, width: 30), "report: exporting to /tmp/lon…")
        XCTAssertEqual(fittedLine(line, width: 30, shortening: "elsewhere.db"), "report: exporting to /tmp/lon…")
    }

    func testColumnsNotCharactersAreCounted() {
        // Seven characters of two columns each: 8 columns of them and the "…" in 9.
        XCTAssertEqual(fittedLine("日本語のデータ", width: 9), "日本語の…")
        XCTAssertEqual(fittedLine("日本語のデータ", width: 14), "日本語のデータ")
        XCTAssertEqual(fittedLine("abcdef", width: 4), "abc…")
    }
}
