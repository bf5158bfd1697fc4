// A full disk, simulated with SQLite's max_page_count on the store's writer connection: the
// epoch that does not fit is rolled back whole, the error says what to do, the store lives on.
import Foundation
import GRDB
@testable import Store
import TestSupport
import XCTest

final class DiskFullTests: XCTestCase {
    func testAnEpochThatDoesNotFitIsRolledBackWholeWithAClearError() throws {
        let directory = try TemporaryDirectory(prefix: "slope-full")
        defer { directory.remove() }
        let path = directory.path("full.db")
        let store = try SlopeStore(path: path)
        let worker = WorkerIdentity.current(label: "disk full test")
        let runID = try store.createRun(.example(epochs: 2))
        let holder = RunHolder(worker: worker, claimToken: try XCTUnwrap(store.claimRun(runID: runID, worker: worker)).claimToken)
        func epoch(_ number: Int, floats: Int) -> (SlopeStore.EpochRecord, [SlopeStore.TensorRecord]) {
            let bytes = (0..<(floats * 4)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) }
            return (SlopeStore.EpochRecord(epoch: number, trainLoss: 1.0 / Double(number + 1), validationLoss: nil,
                                           trainAccuracy: nil, validationAccuracy: nil, seconds: 0.1),
                    [SlopeStore.TensorRecord(layer: 1, kind: .weight, rows: 1, cols: floats, dtype: .float32, data: bytes)])
        }
        let (first, firstTensors) = epoch(0, floats: 16)
        try store.writeEpoch(runID: runID, first, tensors: firstTensors, holder: holder)

        // No room for more than a few new pages; the next epoch's tensor needs about a hundred.
        try store.sqlite!.pool.writeWithoutTransaction { db in
            let pages = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0
            try db.execute(sql: "PRAGMA max_page_count = \(pages + 2)")
        }
        let (second, secondTensors) = epoch(1, floats: 200_000)
        XCTAssertThrowsError(try store.writeEpoch(runID: runID, second, tensors: secondTensors, holder: holder)) { error in
            XCTAssertEqual(error as? StoreError, .diskFull(path: path))
            XCTAssertTrue("\(error)".contains("is full: free some space"), "\(error)")
        }
        XCTAssertEqual(try store.epochs(runID: runID).map(\.epoch), [0], "no half-written epoch")
        XCTAssertTrue(try store.tensors(runID: runID, epoch: 1).isEmpty)
        XCTAssertEqual(try store.run(id: runID).epochsDone, 0, "summary columns rolled back with the epoch")

        // Space again: the same epoch goes in, and the file is sound.
        try store.sqlite!.pool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA max_page_count = 1073741823") }
        try store.writeEpoch(runID: runID, second, tensors: secondTensors, holder: holder)
        XCTAssertEqual(try store.epochs(runID: runID).map(\.epoch), [0, 1])
        XCTAssertEqual(try store.tensors(runID: runID, epoch: 1, layer: 1, kind: .weight).first?.tensor.data, secondTensors[0].data)
        try store.sqlite!.pool.read { db in XCTAssertEqual(try String.fetchOne(db, sql: "PRAGMA integrity_check"), "ok") }
    }
}
