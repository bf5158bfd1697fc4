// `report explain --row N` through the built binaries: N counts the training rows (the data's
// rows in their order, without the validation rows), and the output names the row of the data
// it is and its target, so that a reader knows which example the three factors belong to.
import Foundation
import TestSupport
import XCTest

final class ExplainRowCLITests: CLITestCase {
    /// 20 rows whose first feature is the row's number in the file (0-19) and whose class alternates
    /// setosa, virginica: the value of input node 0 for training row N is the data row it is, so
    /// the row named can be checked against the numbers the factors are made of.
    func testTheRowNamesItsDataRowAndTarget() throws {
        let lines = (0..<20).map { "\($0),\($0 % 3),\($0 % 2 == 0 ? "setosa" : "virginica")" }
        try write("flowers.csv", "x1,x2,species\n" + lines.joined(separator: "\n") + "\n")
        try run("runner", ["train", "--dataset", "flowers.csv", "--target", "species", "--hidden", "3", "--epochs", "1",
                           "--validation", "0.25", "--seed", "1", "--quiet"])
        var dataRows: [Int] = []
        for row in 0..<15 {
            let json = try run("report", ["explain", "1", "--layer", "1", "--weight", "0,0", "--row", "\(row)", "--format", "json"]).output
            let object = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])?.first, json)
            let dataRow = try XCTUnwrap(object["data_row"] as? Int, json)
            XCTAssertEqual(object["row"] as? Int, row, json)
            XCTAssertEqual(object["node_value"] as? Double, Double(dataRow), "input x1 of training row \(row) is the data row's number: \(json)")
            XCTAssertEqual(object["target"] as? String, dataRow % 2 == 0 ? "class setosa" : "class virginica", json)
            dataRows.append(dataRow)
        }
        // The 15 training rows in the file's order; the 5 others are the validation rows.
        XCTAssertEqual(dataRows, dataRows.sorted(), "\(dataRows)")
        XCTAssertEqual(Set(dataRows).count, 15, "\(dataRows)")
        XCTAssertNotEqual(dataRows, Array(0..<15), "a validation split leaves rows out")

        let text = try run("report", ["explain", "1", "--layer", "1", "--weight", "0,0", "--row", "4"]).output
        let species = dataRows[4] % 2 == 0 ? "setosa" : "virginica"
        XCTAssertTrue(text.contains("\ntraining row 4 (row \(dataRows[4]) of flowers.csv; training rows count from 0 in the data's order, "
                                    + "without the validation rows), class \(species):\n"), text)
        XCTAssertEqual(try run("report", ["explain", "1", "--layer", "1", "--weight", "0,0", "--row", "15"], expect: 2).error,
                       "report: error: --row: 15 is not in run 1: the training data has 15 rows, numbered 0 to 14\n")
        // Without --row, no row: both columns null.
        let all = try run("report", ["explain", "1", "--layer", "1", "--weight", "0,0", "--format", "json"]).output
        let object = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(all.utf8)) as? [[String: Any]])?.first, all)
        XCTAssertTrue(object["data_row"] is NSNull && object["target"] is NSNull, all)
    }
}
