// The one way user text is quoted in a message (shownText): control characters escaped, bidi
// controls too (U+202E would reorder the rest of the error line on a terminal), cut at a limit.
import Store
import XCTest

final class ShownTextTests: XCTestCase {
    func testControlAndBidiCharactersAreEscaped() {
        XCTAssertEqual(shownText("a\nb\r\tc\u{1B}[31m\u{7F}\u{85}"), "a\\nb\\r\\tc\\x1B[31m\\x7F\\x85")
        XCTAssertEqual(shownText("evil\u{202E}txt.csv"), "evil\\u{202E}txt.csv")
        for bidi: Unicode.Scalar in ["\u{200E}", "\u{200F}", "\u{202A}", "\u{202E}", "\u{2066}", "\u{2069}"] {
            XCTAssertEqual(shownText("x" + String(bidi)), "x" + String(format: "\\u{%04X}", bidi.value))
        }
        // Other text (accents, CJK, emoji, a zero-width joiner) is shown as it is.
        XCTAssertEqual(shownText("é 漢 🙂 a\u{200D}b"), "é 漢 🙂 a\u{200D}b")
    }

    func testQuoteAndLimit() {
        XCTAssertEqual(shownText("it's", quote: "'"), "'it\\'s'")
        XCTAssertEqual(shownText("say \"hi\"", limit: 120, quote: "\""), "\"say \\\"hi\\\"\"")
        XCTAssertEqual(shownText(String(repeating: "x", count: 41)), String(repeating: "x", count: 40) + "...")
        XCTAssertEqual(shownText(String(repeating: "x", count: 40)), String(repeating: "x", count: 40))
        XCTAssertEqual(shownText("abcdef", limit: 3, quote: "'"), "'abc...'")
    }
}
