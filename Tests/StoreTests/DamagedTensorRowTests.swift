// A tensors row changed outside Slope is refused with a message that ends with the one DELETE that
// removes it (so the rest reads without it), quoted so that it runs whatever the row's layer and
// kind hold: NULL, text with a quote, an infinity; and with no DELETE when the row cannot be named.
import Foundation
import GRDB
import TestSupport
import XCTest
@testable import Store

final class DamagedTensorRowTests: XCTestCase {
    private func message(layer: SQLValue, kind: SQLValue, runID: Int64? = 3, epoch: Int? = 2) -> String {
        do {
            _ = try SlopeStore.StoredTensor.checked(runID: runID, epoch: epoch, layer: layer, kind: kind, rows: .integer(1), cols: .integer(1),
                                                    dtype: .text("float32"), data: .blob(Data([0, 0, 0, 0])))
            return "not refused"
        } catch {
            return "\(error)"
        }
    }

    func testTheOfferedDeleteNamesTheRowWhateverItsLayerAndKindHold() {
        let remedy = "; restore it from a backup, or delete that row to read the rest without it (in sqlite3, or psql): DELETE FROM tensors WHERE "
        XCTAssertEqual(message(layer: .null, kind: .text("weight")),
                       "run 3, epoch 2: the weight is damaged (its layer is NULL, not a whole number): the database was changed outside Slope "
                       + "(the sqlite3 shell, a script)" + remedy + "run_id = 3 AND epoch = 2 AND layer IS NULL AND kind = 'weight';")
        XCTAssertTrue(message(layer: .integer(1), kind: .text("we'ight")).hasSuffix(
            remedy + "run_id = 3 AND epoch = 2 AND layer = 1 AND kind = 'we''ight';"), message(layer: .integer(1), kind: .text("we'ight")))
        XCTAssertTrue(message(layer: .real(-.infinity), kind: .blob(Data([0xAB, 0x01]))).hasSuffix(
            remedy + "run_id = 3 AND epoch = 2 AND layer = -9e999 AND kind = X'AB01';"), message(layer: .real(-.infinity), kind: .blob(Data([0xAB, 0x01]))))
        // A kind too long to quote, or a row with no epoch: no DELETE, the backup only.
        XCTAssertTrue(message(layer: .integer(1), kind: .text(String(repeating: "k", count: 101))).hasSuffix(
            "(the sqlite3 shell, a script); restore it from a backup."))
        XCTAssertTrue(message(layer: .integer(1), kind: .text("bogus"), epoch: nil).hasSuffix("(the sqlite3 shell, a script); restore it from a backup."))
    }

    /// The DELETE the message offers, run as given in the sqlite3 shell, removes that row alone,
    /// and the run's tensors then read.
    func testTheOfferedDeleteRemovesThatRowAlone() throws {
        let directory = try TemporaryDirectory(prefix: "slope-damaged-row")
        defer { directory.remove() }
        let path = directory.path("damaged.db")
        try ReportFixture.build(at: path)
        try ReportFixture.damageTensor(at: path, runID: 1, epoch: 1, layer: 1, kind: "weight", "layer = 'one', kind = 'we''ight'")
        let before = try ReportFixture.count("SELECT count(*) FROM tensors", at: path)
        let store = try SlopeStore(path: path, mode: .readOnly)
        var text = ""
        XCTAssertThrowsError(try store.tensors(runID: 1)) { text = "\($0)" }
        try store.close()
        let delete = try XCTUnwrap(text.range(of: "psql): ").map { String(text[$0.upperBound...]) }, text)
        XCTAssertEqual(delete, "DELETE FROM tensors WHERE run_id = 1 AND epoch = 1 AND layer = 'one' AND kind = 'we''ight';")
        XCTAssertEqual(try ReportFixture.execute(delete, at: path), 1)
        XCTAssertEqual(try ReportFixture.count("SELECT count(*) FROM tensors", at: path), before - 1)
        let reopened = try SlopeStore(path: path, mode: .readOnly)
        XCTAssertEqual(try reopened.tensors(runID: 1).count, before - 1 - (try ReportFixture.count("SELECT count(*) FROM tensors WHERE run_id <> 1", at: path)))
        try reopened.close()
    }
}
