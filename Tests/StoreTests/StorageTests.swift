// Storage in the store: the page-layout estimate on hand-computed cases, tensor bytes per sweep,
// and compaction (what is kept, what a dry run leaves, which runs are left alone, when VACUUM runs).
import Foundation
@testable import Store
import TestSupport
import XCTest

final class StorageTests: XCTestCase {
    func testEpochEstimateFollowsSQLitesPageLayout() {
        // 100 bytes: a 175-byte record, a 187-byte cell; four epochs fill 748 of a page's 8,184
        // bytes, so an epoch costs 748 / 8184 x 8192 / 4 = 187.18 bytes, plus 32 for the index.
        XCTAssertEqual(SlopeStore.estimatedEpochTensorBytes(dataBytes: [100]), 187 + 32)
        // 16,384 bytes (a 64 x 64 float32 weight): 16,459-byte record; 1,003 + 15,456 % 8,188 =
        // 8,271 > 8,157 bytes, so 1,003 stay in the b-tree (a 1,019-byte cell) and 15,456 take 2
        // overflow pages: 2 x 8192 + 1019 x 4 / 8184 x 8192 / 4 = 16384 + 1019.99, + 32.
        XCTAssertEqual(SlopeStore.estimatedEpochTensorBytes(dataBytes: [16_384]), 16_384 + 1019 + 32)
        // Two rows of 7,680 bytes (64 x 30 float32): 7,767-byte cells, one page each; over four
        // epochs 7 full pages and the 8th holding 7,767 of 8,184 bytes: (7 x 8192 + 7774.6) / 4.
        XCTAssertEqual(SlopeStore.estimatedEpochTensorBytes(dataBytes: [7680, 7680]), 16_279 + 2 * 32)
    }

    func testSizesAreShownInPowersOfAThousand() {
        XCTAssertEqual(SlopeStore.describeBytes(999), "999 bytes")
        XCTAssertEqual(SlopeStore.describeBytes(2_808), "3 KB")
        XCTAssertEqual(SlopeStore.describeBytes(188_000_000), "188.0 MB")
        XCTAssertEqual(SlopeStore.describeBytes(10_040_000_000), "10.0 GB")
    }

    func testCompactionKeepsEpochZeroMultiplesAndTheLastOfFinishedRunsOnly() throws {
        let directory = try TemporaryDirectory(prefix: "slope-storage")
        defer { directory.remove() }
        let store = try SlopeStore(path: directory.path("c.db"))
        defer { try? store.close() }
        let worker = WorkerIdentity(host: "test-host", pid: 1, label: "test")
        let run = SlopeStore.NewRun(name: nil, learningRate: 0.1, batchSize: 4, epochs: 5, seed: 0, layers: "2-1",
                                    activation: "relu", outputActivation: "identity", loss: "mse", dataset: "xor",
                                    configJSON: "{}", slopeVersion: "test")
        let (sweepID, runIDs) = try store.createSweep(name: "s", specJSON: "{}", runs: [run, run])
        // A 2 x 1 float32 weight (8 bytes) and a 1 x 1 float64 bias (8 bytes) per epoch 0...5.
        for runID in runIDs {
            let claimToken = try XCTUnwrap(store.claimRun(runID: runID, worker: worker)).claimToken
            for epoch in 0...5 {
                let tensors = [
                    SlopeStore.TensorRecord(layer: 1, kind: .weight, rows: 2, cols: 1, dtype: .float32, data: [UInt8](repeating: 0, count: 8)),
                    SlopeStore.TensorRecord(layer: 1, kind: .bias, rows: 1, cols: 1, dtype: .float64, data: [UInt8](repeating: 0, count: 8)),
                ]
                try store.writeEpoch(runID: runID, SlopeStore.EpochRecord(epoch: epoch, trainLoss: 1), tensors: tensors, holder: RunHolder(worker: worker, claimToken: claimToken))
            }
        }
        try store.finishRun(runID: runIDs[0], status: .completed, stopReason: "completed all epochs")
        XCTAssertEqual(try store.tensorBytesBySweep(), [sweepID: 2 * 6 * 16])

        // keep-every 1 keeps everything; a dry run deletes nothing.
        XCTAssertEqual(try store.compactTensors(sweepID: sweepID, keepEvery: 1, dryRun: false).map(\.deletedEpochs), [0, 0])
        let dry = try store.compactTensors(sweepID: sweepID, keepEvery: 2, dryRun: true)
        XCTAssertEqual(dry.map(\.deletedEpochs), [2, 0])  // epochs 1 and 3 of run 1 (0, 2, 4 and the last, 5, stay)
        XCTAssertEqual(dry.map(\.deletedBytes), [32, 0])
        XCTAssertEqual(dry.map(\.skipped), [false, true])  // run 2 is still running: it could be resumed
        XCTAssertEqual(try store.tensorBytesBySweep(), [sweepID: 2 * 6 * 16])

        let done = try store.compactTensors(sweepID: sweepID, keepEvery: 2, dryRun: false)
        XCTAssertEqual(done, dry)
        XCTAssertEqual(Set(try store.tensors(runID: runIDs[0]).map(\.epoch)), [0, 2, 4, 5])
        XCTAssertEqual(Set(try store.tensors(runID: runIDs[1]).map(\.epoch)), Set(0...5))
        XCTAssertEqual(try store.epochs(runID: runIDs[0]).count, 6)
        XCTAssertEqual(try store.tensorBytesBySweep(), [sweepID: 2 * 6 * 16 - 32])
        try store.vacuum()
        XCTAssertEqual(Set(try store.tensors(runID: runIDs[0]).map(\.epoch)), [0, 2, 4, 5])

        XCTAssertThrowsError(try store.compactTensors(sweepID: 99, keepEvery: 2, dryRun: true))
        XCTAssertThrowsError(try store.compactTensors(sweepID: sweepID, keepEvery: 0, dryRun: true))
    }

    private func size(_ file: String) -> Int64 {
        var info = stat()
        return stat(file, &info) == 0 ? Int64(info.st_size) : 0
    }

    func testCompactionMeasuresTheFileBeforeItWritesAndAfterTheWALIsTruncated() throws {
        // 3 MB of tensors: VACUUM's commit starts a background checkpoint (over 1 MiB of WAL), which
        // a TRUNCATE checkpoint must wait for, or the WAL stays as large as the database and the
        // file seems to grow ("14.1 MB -> 16.6 MB" for a file that went from 8.0 to 2.4 MB).
        let directory = try TemporaryDirectory(prefix: "slope-storage")
        defer { directory.remove() }
        let path = directory.path("v.db")
        let sweepID = try CompactionFixture.completedSweep(at: path)
        let store = try SlopeStore(path: path)
        defer { try? store.close() }
        let sizeBefore = size(path) + size(path + "-wal")
        XCTAssertGreaterThan(sizeBefore, 3_000_000)
        let compaction = try store.compact(sweepID: sweepID, keepEvery: 5, dryRun: false)
        XCTAssertEqual(compaction.runs.map(\.deletedEpochs), [8])  // 1-4 and 6-9; kept 0, 5, 10 and the last, 11
        XCTAssertTrue(compaction.vacuumed)
        XCTAssertEqual(compaction.bytesBefore, sizeBefore)
        XCTAssertEqual(size(path + "-wal"), 0, "the WAL was truncated")
        XCTAssertEqual(compaction.bytesAfter, size(path))
        XCTAssertLessThan(compaction.bytesAfter, sizeBefore - 8 * 262_144 * 9 / 10, "VACUUM gave the space back")
    }

    func testCompactionWithNothingToDeleteOrGiveBackLeavesTheFileUntouched() throws {
        let directory = try TemporaryDirectory(prefix: "slope-storage")
        defer { directory.remove() }
        let path = directory.path("v.db")
        let sweepID = try CompactionFixture.completedSweep(at: path)
        func files() throws -> [Data] {
            try [path, path + "-wal"].map { try Data(contentsOf: URL(fileURLWithPath: $0)) }
        }
        do {
            // keep-every 1 keeps every epoch: nothing to delete, and a new file has only the few free
            // pages its migrations left (under 1 MB). (Opening it for writing wrote already: GRDB
            // sets up the WAL; `runner compact` looks read-only first, see StorageCLITests.)
            let store = try SlopeStore(path: path)
            defer { try? store.close() }
            XCTAssertLessThan(try XCTUnwrap(store.sqlite).freePageCount(), 8)
            let before = try files()
            let plan = try store.compact(sweepID: sweepID, keepEvery: 1, dryRun: true)
            XCTAssertFalse(plan.writes)
            let compaction = try store.compact(sweepID: sweepID, keepEvery: 1, dryRun: false)
            XCTAssertEqual(compaction.runs.map(\.deletedEpochs), [0])
            XCTAssertEqual(compaction.runs.map(\.keptEpochs), [12])
            XCTAssertFalse(compaction.vacuumed)
            XCTAssertFalse(compaction.writes)
            XCTAssertEqual(compaction.bytesAfter, compaction.bytesBefore)
            XCTAssertEqual(try files(), before, "not one byte written, to the file or its WAL")
        }
        XCTAssertFalse(SlopeStore.worthVacuuming(freePages: 122, fileBytes: 1_000_000), "999,424 bytes free: under 1 MB")
        XCTAssertTrue(SlopeStore.worthVacuuming(freePages: 123, fileBytes: 100_000_000))
        XCTAssertFalse(SlopeStore.worthVacuuming(freePages: 123, fileBytes: 100_800_000), "under 1% of the file")

        // Tensors deleted without the VACUUM (as when a compaction's VACUUM failed on a full disk):
        // the same command again deletes nothing more, but still gives the free pages back.
        let store = try SlopeStore(path: path)
        defer { try? store.close() }
        XCTAssertEqual(try store.compactTensors(sweepID: sweepID, keepEvery: 5, dryRun: false).map(\.deletedEpochs), [8])
        let plan = try store.compact(sweepID: sweepID, keepEvery: 5, dryRun: true)
        XCTAssertEqual(plan.runs.map(\.deletedEpochs), [0])
        XCTAssertTrue(plan.vacuumed, "a dry run says it would VACUUM")
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(store.sqlite).freePageCount(), 8 * 262_144 / SQLiteBackend.pageSize)
        let again = try store.compact(sweepID: sweepID, keepEvery: 5, dryRun: false)
        XCTAssertEqual(again.runs.map(\.deletedEpochs), [0])
        XCTAssertTrue(again.vacuumed)
        XCTAssertEqual(try XCTUnwrap(store.sqlite).freePageCount(), 0)
        XCTAssertLessThan(again.bytesAfter, again.bytesBefore - 8 * 262_144 * 9 / 10, "VACUUM gave the space back")
    }

    func testACompactionThatFailsSaysWhetherTheTensorsWereDeleted() {
        let full = SlopeStore.compactionError(.diskFull(path: "s.db"), path: "s.db", deleted: true, databaseBytes: 8_000_000)
        XCTAssertEqual(full.description, "could not compact s.db: the disk holding it is full (VACUUM needs free space for a copy of the database, about 8.0 MB). "
                       + "The tensors were deleted, but the file did not shrink; run the same command again once that is fixed (it then only shrinks the file).")
        XCTAssertFalse(full.description.contains("resume"))
        let busy = SlopeStore.compactionError(.busy(path: "s.db", timeout: 30), path: "s.db", deleted: false, databaseBytes: 0)
        XCTAssertEqual(busy.description, "could not compact s.db: another process held the write lock for more than 30 s. "
                       + "Nothing was deleted; run the same command again once that is fixed.")
    }
}
