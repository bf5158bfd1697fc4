// The engine's tensors through the store's layout and back: Tensor.littleEndianBytes() encodes,
// Store's TensorRecord.values decodes (the one decoder), TensorRecords joins them.
import NeuralNet
import Store
import XCTest
@testable import Experiments

final class TensorRecordsTests: XCTestCase {
    func testTensorsComeBackBitForBitFromTheirBytes() throws {
        let single = Tensor(rows: 2, cols: 3, float32: [1, -2.5, .nan, 0, -0.0, 3.25e-30])
        let singleRecord = TensorRecords.record(single, layer: 1, kind: .weight)
        XCTAssertEqual(singleRecord.dtype, .float32)
        XCTAssertEqual(Array(singleRecord.data[4..<8]), [0x00, 0x00, 0x20, 0xC0])   // -2.5f little-endian
        XCTAssertEqual(try TensorRecords.tensor(singleRecord, runID: 1), single)    // bit equality: NaN and -0 too
        guard case .float32(let floats) = singleRecord.values else { return XCTFail("float32 decodes as Float") }
        XCTAssertEqual(floats[1], -2.5)
        XCTAssertEqual(floats[4].sign, .minus)
        XCTAssertEqual(floats[5], 3.25e-30)

        let double = Tensor(rows: 1, cols: 2, float64: [0.1, -1e300])
        let doubleRecord = TensorRecords.record(double, layer: 2, kind: .bias)
        XCTAssertEqual(doubleRecord.dtype, .float64)
        XCTAssertEqual(try TensorRecords.tensor(doubleRecord, runID: 1), double)
        XCTAssertEqual(doubleRecord.doubles, [0.1, -1e300])
        // Widening float32 is exact.
        XCTAssertEqual(SlopeStore.TensorRecord(layer: 1, kind: .weight, rows: 1, cols: 2, dtype: .float32,
                                               data: Tensor(rows: 1, cols: 2, float32: [0.1, -3]).littleEndianBytes()).doubles,
                       [Double(Float(0.1)), -3])
    }

    func testBytesThatDoNotFitTheShapeAreACorruptRun() {
        let short = SlopeStore.TensorRecord(layer: 2, kind: .weight, rows: 2, cols: 2, dtype: .float32, data: [0, 1, 2])
        XCTAssertThrowsError(try TensorRecords.tensor(short, runID: 7)) { error in
            XCTAssertEqual("\(error)", "\(ExperimentsError.corruptRun(runID: 7, reason: "stored weight of layer 2: 3 bytes for a 2 x 2 float32 tensor, expected 16"))")
        }
        // The decoder itself never reads past the bytes: what is missing reads as 0.
        XCTAssertEqual(short.doubles, [0, 0, 0, 0])
    }
}
