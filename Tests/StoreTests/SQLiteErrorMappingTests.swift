// SQLite's result codes as StoreErrors, and which of them a worker treats as transient (the run
// goes back to the queue to resume) rather than permanent (the run fails).
import Foundation
import GRDB
@testable import Store
import XCTest

final class SQLiteErrorMappingTests: XCTestCase {
    private func wrapped(_ code: ResultCode, _ message: String = "m") -> StoreError {
        StoreError.wrap(DatabaseError(resultCode: code, message: message), path: "s.db", busyTimeout: 30)
    }

    func testLockRacesAreBusyAndTransient() {
        // SQLITE_PROTOCOL is a WAL lock race that SQLite has already retried: the same as BUSY, not a failed run.
        for code in [ResultCode.SQLITE_BUSY, .SQLITE_LOCKED, .SQLITE_PROTOCOL] {
            let error = wrapped(code)
            XCTAssertEqual(error, .busy(path: "s.db", timeout: 30), "\(code)")
            XCTAssertTrue(error.isTransient, "\(code)")
        }
        // The extended code of a WAL race (SQLITE_BUSY_SNAPSHOT) maps through its primary code too.
        XCTAssertEqual(wrapped(ResultCode(rawValue: 517)), .busy(path: "s.db", timeout: 30))
    }

    func testEachCodeMapsToItsStoreErrorAndTransience() {
        let cases: [(ResultCode, StoreError, transient: Bool)] = [
            (.SQLITE_FULL, .diskFull(path: "s.db"), true),
            (.SQLITE_IOERR, .ioError(path: "s.db", message: "m"), true),
            (.SQLITE_READONLY, .readOnly(path: "s.db"), true),
            (.SQLITE_CORRUPT, .corrupt(path: "s.db", detail: "m"), false),
            (.SQLITE_CONSTRAINT, .invalidValue("the database refused a value: m"), false),
            (.SQLITE_MISMATCH, .sqlite(path: "s.db", message: "m"), false),
        ]
        for (code, expected, transient) in cases {
            XCTAssertEqual(wrapped(code), expected, "\(code)")
            XCTAssertEqual(wrapped(code).isTransient, transient, "\(code)")
        }
    }
}
