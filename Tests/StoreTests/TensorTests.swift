// Tensors through the database: bit-exact round trips in both dtypes (NaN payloads,
// infinities, subnormals, negative zero) and the statistics computed at write time.
import Foundation
import GRDB
import Store
import TestSupport
import XCTest

final class TensorTests: XCTestCase {
    var directory: TemporaryDirectory!
    let worker = WorkerIdentity.current(label: "tensor tests")

    override func setUpWithError() throws { directory = try TemporaryDirectory(prefix: "slope-tensors") }
    override func tearDown() { directory.remove() }

    /// The holder of a new run's first claim (claim token 0 before any, and each claim adds 1).
    var holder: RunHolder { RunHolder(worker: worker, claimToken: 1) }

    func makeRun() throws -> (SlopeStore, Int64) {
        let store = try SlopeStore(path: directory.path("tensors.db"))
        let runID = try store.createRun(.example())
        XCTAssertEqual(try store.claimRun(runID: runID, worker: worker)?.claimToken, holder.claimToken)
        return (store, runID)
    }

    static let specialFloats: [UInt32] = [
        0x7FC0_0000, 0x7FC1_2345, 0xFFC0_0001, 0x7F80_0001,   // quiet NaN, NaN payloads, signalling NaN
        0x7F80_0000, 0xFF80_0000,                            // +inf, -inf
        0x0000_0001, 0x807F_FFFF, 0x0040_0000,               // subnormals
        0x8000_0000, 0x0000_0000,                            // -0, +0
        0x7F7F_FFFF, 0x3F80_0000,                            // greatest finite, 1
    ]
    static let specialDoubles: [UInt64] = [
        0x7FF8_0000_0000_0000, 0x7FF8_0000_DEAD_BEEF, 0xFFF0_0000_0000_0001, 0x7FF0_0000_0000_0001,
        0x7FF0_0000_0000_0000, 0xFFF0_0000_0000_0000,
        0x0000_0000_0000_0001, 0x800F_FFFF_FFFF_FFFF, 0x0008_0000_0000_0000,
        0x8000_0000_0000_0000, 0x0000_0000_0000_0000,
        0x7FEF_FFFF_FFFF_FFFF, 0x3FF0_0000_0000_0000,
    ]

    func testBitExactRoundTripOfSpecialValuesInBothDTypes() throws {
        let (store, runID) = try makeRun()
        let floats = Self.specialFloats.map { Float(bitPattern: $0) }
        let doubles = Self.specialDoubles.map { Double(bitPattern: $0) }
        let weight32 = SlopeStore.TensorRecord.float32(layer: 1, kind: .weight, rows: 1, cols: floats.count, floats)
        let weight64 = SlopeStore.TensorRecord.float64(layer: 2, kind: .weight, rows: floats.count, cols: 1, doubles)
        try store.writeEpoch(runID: runID, .init(epoch: 0, trainLoss: .nan), tensors: [weight32, weight64], holder: holder)

        let stored = try store.tensors(runID: runID)
        XCTAssertEqual(stored.map(\.tensor), [weight32, weight64])
        // Bits, not values: NaN != NaN, so compare the decoded bit patterns too.
        let bits32 = stored[0].tensor.data.withUnsafeBytes { raw in
            (0..<floats.count).map { UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)) }
        }
        let bits64 = stored[1].tensor.data.withUnsafeBytes { raw in
            (0..<doubles.count).map { UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self)) }
        }
        XCTAssertEqual(bits32, Self.specialFloats)
        XCTAssertEqual(bits64, Self.specialDoubles)
        // A NaN makes every statistic NULL.
        XCTAssertEqual(stored[0].statistics, TensorStatistics(l2: nil, mean: nil, std: nil, min: nil, max: nil))
        // NaN loss is stored as NULL.
        XCTAssertNil(try store.epochs(runID: runID)[0].trainLoss)

        // The raw BLOB is exactly little-endian row-major (what numpy.frombuffer reads).
        let queue = try DatabaseQueue(path: store.path)
        let blob = try queue.read { db in
            try Data.fetchOne(db, sql: "SELECT data FROM tensors WHERE run_id = ? AND layer = 1", arguments: [runID])
        }
        XCTAssertEqual(blob.map([UInt8].init), weight32.data)
        XCTAssertEqual(Array(blob!.prefix(4)), [0x00, 0x00, 0xC0, 0x7F])
    }

    func testRandomRoundTripsOverSeeds() throws {
        let (store, runID) = try makeRun()
        for seed in 0..<5 {
            var generator = TestRandom(seed: UInt64(seed))
            let rows = Int.random(in: 1...40, using: &generator), cols = Int.random(in: 1...40, using: &generator)
            let bits32 = (0..<rows * cols).map { _ in UInt32.random(in: .min ... .max, using: &generator) }
            let bits64 = (0..<rows * cols).map { _ in UInt64.random(in: .min ... .max, using: &generator) }
            let tensors: [SlopeStore.TensorRecord] = [
                .float32(layer: 1, kind: .weight, rows: rows, cols: cols, bits32.map(Float.init(bitPattern:))),
                .float64(layer: 1, kind: .weightGradient, rows: rows, cols: cols, bits64.map(Double.init(bitPattern:))),
            ]
            try store.writeEpoch(runID: runID, .init(epoch: seed, trainLoss: 1), tensors: tensors, holder: holder)
            XCTAssertEqual(try store.tensors(runID: runID, epoch: seed).map(\.tensor), tensors, "seed \(seed)")
        }
    }

    func testStatisticsMatchHandComputedValues() throws {
        let (store, runID) = try makeRun()
        let tensors: [SlopeStore.TensorRecord] = [
            .float32(layer: 1, kind: .weight, rows: 2, cols: 2, [1, 2, 3, 4]),
            // Large mean, small spread: a naive one-pass variance would lose it.
            .float64(layer: 2, kind: .weight, rows: 1, cols: 3, [1e9 + 1, 1e9 + 2, 1e9 + 3]),
            .float32(layer: 3, kind: .weight, rows: 1, cols: 3, [-1, .infinity, 2]),
            .float32(layer: 4, kind: .weight, rows: 1, cols: 2, [-0.0, 0]),
        ]
        try store.writeEpoch(runID: runID, .init(epoch: 0, trainLoss: 1), tensors: tensors, holder: holder)
        let statistics = try store.tensors(runID: runID).map(\.statistics)
        XCTAssertEqual(statistics[0].l2!, 30.0.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(statistics[0].mean!, 2.5, accuracy: 1e-12)
        XCTAssertEqual(statistics[0].std!, 1.25.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(statistics[0].min, 1)
        XCTAssertEqual(statistics[0].max, 4)
        XCTAssertEqual(statistics[1].mean!, 1e9 + 2, accuracy: 1e-6)
        XCTAssertEqual(statistics[1].std!, (2.0 / 3).squareRoot(), accuracy: 1e-9)
        XCTAssertEqual(statistics[2], TensorStatistics(l2: nil, mean: nil, std: nil, min: -1, max: nil))
        XCTAssertEqual(statistics[3], TensorStatistics(l2: 0, mean: 0, std: 0, min: 0, max: 0))
    }

    /// Finite values whose squares overflow: the mean of [0.5, 1e308, -1e308] was 0.5 (the shifted
    /// sum cancelled), std and l2 nil (hostile14 F11); the second pass gives their true values.
    func testStatisticsOfFiniteValuesWhoseSquaresOverflow() throws {
        let (store, runID) = try makeRun()
        let tensors: [SlopeStore.TensorRecord] = [
            .float64(layer: 1, kind: .weight, rows: 3, cols: 1, [0.5, 1e308, -1e308]),
            .float64(layer: 2, kind: .weight, rows: 1, cols: 5, [3e200, 4e200, 3e200, 4e200, 3.5e200]),
            // float32 squares never overflow a Double: the one pass, as before.
            .float32(layer: 3, kind: .weight, rows: 1, cols: 2, [3e38, -3e38]),
        ]
        try store.writeEpoch(runID: runID, .init(epoch: 0, trainLoss: 1), tensors: tensors, holder: holder)
        let statistics = try store.tensors(runID: runID).map(\.statistics)
        XCTAssertEqual(statistics[0].mean!, 0.5 / 3, accuracy: 1e-15)
        XCTAssertEqual(statistics[0].std!, (2.0 / 3).squareRoot() * 1e308, accuracy: 1e294)
        XCTAssertEqual(statistics[0].l2!, 2.0.squareRoot() * 1e308, accuracy: 1e294)
        XCTAssertEqual([statistics[0].min, statistics[0].max], [-1e308, 1e308])
        XCTAssertEqual(statistics[1].mean!, 3.5e200, accuracy: 1e186)
        XCTAssertEqual(statistics[1].std!, 0.2.squareRoot() * 1e200, accuracy: 1e186)  // deviations ±0.5e200 four times, 0 once
        let sumOfSquares: Double = 9 + 16 + 9 + 16 + 12.25
        XCTAssertEqual(statistics[1].l2!, sumOfSquares.squareRoot() * 1e200, accuracy: 1e186)
        XCTAssertEqual(statistics[2].mean!, 0)
        XCTAssertEqual(statistics[2].std!, Double(Float(3e38)), accuracy: 1e24)
        XCTAssertEqual(statistics[2].l2!, 2.0.squareRoot() * Double(Float(3e38)), accuracy: 1e24)
    }

    /// The one-pass, 4-lane statistics against a plain two-pass computation, over many seeds
    /// and sizes (vector body and scalar tail), in both dtypes.
    func testStatisticsMatchTwoPassReferenceOverSeeds() throws {
        let (store, runID) = try makeRun()
        for seed in 0..<12 {
            var generator = TestRandom(seed: UInt64(seed))
            let count = Int.random(in: 1...67, using: &generator)
            let offset = Double.random(in: -100...100, using: &generator)
            let doubles = (0..<count).map { _ in offset + Double.random(in: -1...1, using: &generator) }
            let floats = doubles.map(Float.init)
            let tensors: [SlopeStore.TensorRecord] = [
                .float32(layer: 1, kind: .weight, rows: 1, cols: count, floats),
                .float64(layer: 2, kind: .weight, rows: count, cols: 1, doubles),
            ]
            try store.writeEpoch(runID: runID, .init(epoch: seed, trainLoss: 1), tensors: tensors, holder: holder)
            let stored = try store.tensors(runID: runID, epoch: seed).map(\.statistics)
            for (statistics, values) in zip(stored, [floats.map(Double.init), doubles]) {
                let mean = values.reduce(0, +) / Double(count)
                let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(count)
                let l2 = values.map { $0 * $0 }.reduce(0, +).squareRoot()
                XCTAssertEqual(statistics.mean!, mean, accuracy: 1e-12 * abs(mean) + 1e-12, "seed \(seed)")
                XCTAssertEqual(statistics.std!, variance.squareRoot(), accuracy: 1e-9, "seed \(seed)")
                XCTAssertEqual(statistics.l2!, l2, accuracy: 1e-12 * l2, "seed \(seed)")
                XCTAssertEqual(statistics.min, values.min(), "seed \(seed)")
                XCTAssertEqual(statistics.max, values.max(), "seed \(seed)")
            }
        }
    }

    /// The schema itself accepts exactly the thirteen tensor kinds (the CHECK is a chain of `=`, not IN):
    /// weights, biases, their gradients, and the optimizers' state (migration 0004).
    func testSchemaAcceptsTheThirteenTensorKindsAndNothingElse() throws {
        let (store, runID) = try makeRun()
        let tensors = SlopeStore.TensorKind.allCases.map { SlopeStore.TensorRecord.float32(layer: 1, kind: $0, rows: 1, cols: 1, [1]) }
        XCTAssertEqual(tensors.count, 13)
        try store.writeEpoch(runID: runID, .init(epoch: 0, trainLoss: 1), tensors: tensors, holder: holder)
        XCTAssertEqual(Set(try store.tensors(runID: runID, epoch: 0).map(\.tensor.kind)), Set(SlopeStore.TensorKind.allCases))
        try store.close()
        let queue = try DatabaseQueue(path: directory.path("tensors.db"))
        for kind in ["weights", "gradient", "WEIGHT", ""] {
            XCTAssertThrowsError(try queue.write { db in
                try db.execute(sql: """
                    INSERT INTO tensors (run_id, epoch, layer, kind, rows, cols, dtype, data)
                    VALUES (?, 0, 2, ?, 1, 1, 'float32', x'0000803F')
                    """, arguments: [runID, kind])
            }, kind) { error in
                XCTAssertEqual((error as? DatabaseError)?.extendedResultCode, .SQLITE_CONSTRAINT_CHECK, "\(kind): \(error)")
            }
        }
        try queue.write { db in   // the same row with a valid kind goes in
            try db.execute(sql: """
                INSERT INTO tensors (run_id, epoch, layer, kind, rows, cols, dtype, data)
                VALUES (?, 0, 2, 'weight', 1, 1, 'float32', x'0000803F')
                """, arguments: [runID])
        }
    }

    func testRefusesTensorOfWrongSizeAndWritesNothing() throws {
        let (store, runID) = try makeRun()
        let bad = SlopeStore.TensorRecord(layer: 1, kind: .weight, rows: 2, cols: 2, dtype: .float32, data: [0, 0, 0])
        XCTAssertThrowsError(try store.writeEpoch(runID: runID, .init(epoch: 0, trainLoss: 1), tensors: [bad], holder: holder)) {
            guard case .invalidValue? = $0 as? StoreError else { return XCTFail("\($0)") }
        }
        let duplicate = SlopeStore.TensorRecord.float32(layer: 1, kind: .weight, rows: 1, cols: 1, [1])
        XCTAssertThrowsError(try store.writeEpoch(runID: runID, .init(epoch: 0, trainLoss: 1),
                                                  tensors: [duplicate, duplicate], holder: holder)) {
            guard case .invalidValue? = $0 as? StoreError else { return XCTFail("\($0)") }
        }
        XCTAssertEqual(try store.epochs(runID: runID), [])   // the epoch row rolled back with its tensors
        XCTAssertEqual(try store.run(id: runID).epochsDone, 0)
        XCTAssertNil(try store.run(id: runID).finalTrainLoss)
    }
}
