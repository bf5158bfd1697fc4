// How `report html`'s runs table sorts: each header names its column's kind (numbers, text of
// numbers such as hidden "64,32", other text), which the page's script sorts by; scripts/check-html
// clicks the headers in Chromium and checks the order.
import XCTest
@testable import Reporting
import Store
import TestSupport

final class HTMLSortingTests: ReportTestCase {
    /// Each header of a sortable table says how its column sorts: numbers as numbers, the text
    /// columns of numbers (hidden, layers) by their numbers, other text by its characters; the
    /// page's script sorts by that (scripts/check-html clicks the headers in Chromium).
    func testSortableHeadersSayHowTheirColumnSorts() throws {
        let table = DataTable(columns: [.init("id"), .init("hidden"), .init("status"), .init("loss"), .init("note")],
                              rows: [[.integer(1), .text("64,32"), .text("completed"), .real(0.5), .null],
                                     [.integer(2), .text("128"), .text("diverged"), .null, .text("64")]])
        let html = HTMLPage.table(table, id: "t", numbersInText: ["hidden"])
        XCTAssertTrue(html.contains(#"<thead><tr><th data-sort="number">id</th><th data-sort="numbers-in-text">hidden</th>"#
                                    + #"<th data-sort="text">status</th><th data-sort="number">loss</th><th data-sort="text">note</th></tr></thead>"#), html)
        XCTAssertTrue(html.contains(#"<tr><td data-v="2">2</td><td class="text" data-v="128">128</td>"#), html)

        // The runs table of the page: layers (and hidden, log_tensors) by their numbers.
        let page = try reporter().html(sweepID: 1)
        let header = try XCTUnwrap(page.components(separatedBy: #"<table class="sortable" id="runs">"#).dropFirst().first?
            .components(separatedBy: "</thead>").first)
        XCTAssertTrue(header.contains(#"<th data-sort="number">id</th>"#), header)
        XCTAssertTrue(header.contains(#"<th data-sort="text">status</th>"#), header)
        XCTAssertTrue(header.contains(#"<th data-sort="number">learning_rate</th>"#), header)
        XCTAssertTrue(header.contains(#"<th data-sort="numbers-in-text">layers</th>"#), header)
        XCTAssertTrue(page.contains("function compareNumbersInText(x, y)"))
    }
}
