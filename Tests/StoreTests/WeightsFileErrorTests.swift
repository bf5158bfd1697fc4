// Mistakes in a hand-written weights file (`runner train --init-weights`), named precisely: a
// number out of range is not "not valid JSON", and a bad value in nested rows is at its own index.
import Foundation
import Store
import XCTest

final class WeightsFileErrorTests: XCTestCase {
    private func message(_ json: String) -> String {
        do {
            _ = try WeightsFile.decode(Data(json.utf8))
            return "accepted"
        } catch {
            return "\(error)"
        }
    }

    func testANumberOutOfRangeIsNamedWithItsPlace() {
        XCTAssertEqual(message("{\"tensors\": [{\"layer\": 1, \"kind\": \"weight\",\n \"values\": [[1, 2], [3, 1e400]]}]}"),
                       "not a Slope weights file: the number 1e400 at line 2, column 25 is out of range (a float64 holds magnitudes up to about 1.8e308)")
        XCTAssertEqual(message("[{\"layer\": 1, \"kind\": \"weight\", \"values\": [-2.5E+999]}]"),
                       "not a Slope weights file: the number -2.5E+999 at line 1, column 44 is out of range (a float64 holds magnitudes up to about 1.8e308)")
        // Inside a string it is text, not a number: the file is broken for another reason.
        XCTAssertEqual(message("{\"tensors\": [{\"kind\": \"1e400\", "), "not a Slope weights file: not valid JSON: it ends too early (cut short?)")
        // The largest finite values are accepted.
        XCTAssertEqual(message("[{\"layer\": 1, \"kind\": \"weight\", \"values\": [1.7976931348623157e308, 4.9e-324]}]"), "accepted")
    }

    /// JSON that does not parse is placed (line and column, from 1, columns in characters), or said to
    /// end early when it was cut short; a dtype other than the two the tensors table holds is refused.
    func testSyntaxErrorsArePlacedAndDtypesChecked() {
        XCTAssertEqual(message("{\"tensors\": ["), "not a Slope weights file: not valid JSON: it ends too early (cut short?)")
        XCTAssertEqual(message("{\"tensors\": [\n  {\"layer\": 1, \"kind\": \"weight\", \"values\": [1 x]}]}"),
                       "not a Slope weights file: not valid JSON at line 2, column 47")
        XCTAssertEqual(message("{\"é\": 1,\n\"tensors\" []}"), "not a Slope weights file: not valid JSON at line 2, column 11")
        XCTAssertEqual(message("[{\"layer\": 1, \"kind\": \"weight\", \"dtype\": \"int8\", \"values\": [[1]]}]"),
                       "not a Slope weights file: layer 1 weight: dtype 'int8' is not float32 or float64")
        XCTAssertEqual(message("[{\"layer\": 1, \"kind\": \"weight\", \"dtype\": \"float32\", \"values\": [[1]]}]"), "accepted")
    }

    /// A float32 tensor's decimals are float32s: read as such and widened exactly, so a float64 run
    /// warm-started from a float32 run starts from its very weights (hostile16 F7: 0.19007555 read
    /// as a double is 0.19007555, not the float32 0.190075546503067...); past float32's range refused.
    func testFloat32ValuesAreReadAsFloat32s() throws {
        let file = try WeightsFile.decode(Data("[{\"layer\": 1, \"kind\": \"weight\", \"rows\": 1, \"cols\": 2, \"dtype\": \"float32\", \"values\": [[0.19007555, 0.1]]}]".utf8))
        XCTAssertEqual(file.tensors[0].values, [[Double(Float(0.19007555)), Double(Float(0.1))]])
        XCTAssertEqual(file.tensors[0].values[0][0], 0.19007554650306702)
        XCTAssertNotEqual(file.tensors[0].values[0][0], 0.19007555)
        // float64 values stay as written.
        let double = try WeightsFile.decode(Data("[{\"layer\": 1, \"kind\": \"weight\", \"rows\": 1, \"cols\": 1, \"dtype\": \"float64\", \"values\": [[0.19007555]]}]".utf8))
        XCTAssertEqual(double.tensors[0].values, [[0.19007555]])
        XCTAssertEqual(message("[{\"layer\": 2, \"kind\": \"bias\", \"rows\": 1, \"cols\": 1, \"dtype\": \"float32\", \"values\": [[1e39]]}]"),
                       "layer 2 bias: 1e+39 is beyond the float32 range (about ±3.4e38) of its dtype float32; give the tensor \"dtype\": \"float64\"")
    }

    func testABadValueInNestedRowsIsNamedAtItsIndex() {
        XCTAssertTrue(message("{\"tensors\": [{\"layer\": 1, \"kind\": \"weight\", \"values\": [[1, 2], [3, \"x\"]]}]}")
            .hasPrefix("not a Slope weights file: bad value at .tensors[0].values[1][1] ("))
        XCTAssertTrue(message("{\"tensors\": [{\"layer\": 1, \"kind\": \"weight\", \"values\": [[1, 2], [3, 4]]}, "
                              + "{\"layer\": 1, \"kind\": \"bias\", \"values\": [[true, 2]]}]}")
            .hasPrefix("not a Slope weights file: bad value at .tensors[1].values[0][0] ("))
        // Flat values: the flat index.
        XCTAssertTrue(message("{\"tensors\": [{\"layer\": 1, \"kind\": \"weight\", \"values\": [1, 2, null]}]}")
            .hasPrefix("not a Slope weights file: bad value at .tensors[0].values[2] ("))
    }

    /// rows x cols beyond an Int matches no list of values: the shape is the bad value (its size
    /// overflowed while being compared with the values' count).
    func testAShapeWhoseSizeOverflowsIsABadValue() {
        XCTAssertEqual(message(#"{"tensors":[{"layer":1,"kind":"weight","rows":4611686018427387904,"cols":4,"values":[]}]}"#),
                       "not a Slope weights file: bad value at .tensors[0].rows (4611686018427387904 x 4 is more values than a tensor can hold)")
        XCTAssertEqual(message(#"[{"layer":1,"kind":"weight","rows":2,"cols":9223372036854775807,"values":[1,2]}]"#),
                       "not a Slope weights file: bad value at [0].rows (2 x 9223372036854775807 is more values than a tensor can hold)")
        // Just inside an Int: the count does not match, as for any wrong shape.
        XCTAssertEqual(message(#"[{"layer":1,"kind":"weight","rows":2,"cols":4611686018427387903,"values":[1,2]}]"#),
                       "not a Slope weights file: bad value at [0].values (2 values for 2 x 4611686018427387903)")
    }

    /// A key given twice was taken at its first (JSONSerialization, JSONDecoder) where Python's json,
    /// JavaScript and jq take the last: weights [[9, 9], [9, 9]] trained where numpy showed others.
    /// Refused now, naming the key and the object; the same key in two objects is fine.
    func testAKeyGivenTwiceIsRefusedWithItsPlace() throws {
        let twice = "(JSON readers differ on which one counts); keep one"
        XCTAssertEqual(message(#"{"tensors": [{"layer": 1, "kind": "weight", "values": [[9, 9]], "values": [[1, 2]]}]}"#),
                       #"not a Slope weights file: the key "values" is given twice in .tensors[0] "# + twice)
        XCTAssertEqual(message(#"{"epoch": 1, "tensors": [{"layer": 1, "kind": "bias", "values": [[1]]}], "epoch": 2}"#),
                       #"not a Slope weights file: the key "epoch" is given twice in the top object "# + twice)
        // The second tensor of a bare list, a key spelled with an escape, a "," and "{" inside strings.
        XCTAssertEqual(message(#"[{"layer": 1, "kind": "w,{\"", "values": [1]}, {"layer": 2, "kind": "bias", "lay\u0065r": 3, "values": [1]}]"#),
                       #"not a Slope weights file: the key "layer" is given twice in [1] "# + twice)
        let accepted = try WeightsFile.decode(Data(#"{"tensors": [{"layer": 1, "kind": "weight", "values": [[1, 2]]}, {"layer": 1, "kind": "bias", "values": [[3, 4]]}]}"#.utf8))
        XCTAssertEqual(accepted.tensors.map(\.values), [[[1, 2]], [[3, 4]]])
    }
}
