// Storage in the store: the page-layout estimate on hand-computed cases, tensor bytes per sweep,
// and compaction (what is kept, what a dry run leaves, which runs are left alone).
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
            _ = try store.claimRun(runID: runID, worker: worker)
            for epoch in 0...5 {
                let tensors = [
                    SlopeStore.TensorRecord(layer: 1, kind: .weight, rows: 2, cols: 1, dtype: .float32, data: [UInt8](repeating: 0, count: 8)),
                    SlopeStore.TensorRecord(layer: 1, kind: .bias, rows: 1, cols: 1, dtype: .float64, data: [UInt8](repeating: 0, count: 8)),
                ]
                try store.writeEpoch(runID: runID, SlopeStore.EpochRecord(epoch: epoch, trainLoss: 1), tensors: tensors, worker: worker)
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
}
