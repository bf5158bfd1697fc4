// The JSON weights file: what `report tensors --format json` writes and `runner train --init-weights`
// reads. It lives in Store (imported by both Reporting and Experiments) so that neither depends on the other.
//
//     {
//       "format": "slope-weights", "version": 1,
//       "run_id": 12, "epoch": 5,                        // where the tensors came from (informational)
//       "tensors": [
//         {"layer": 1, "kind": "weight", "rows": 2, "cols": 3, "dtype": "float32",
//          "values": [[0.1, -0.2, 0.3], [0.4, 0.5, -0.6]]},   // rows x cols, row-major nested arrays
//         {"layer": 1, "kind": "bias", "rows": 1, "cols": 3, "dtype": "float32", "values": [[0, 0, 0]]},
//         ...
//       ]
//     }
//
// Layer l's weight is [inputs x outputs]: entry (i, j) connects node i of the layer below to node j.
// Values are written with the shortest decimal form that round-trips, so float32/float64 bits survive.
import Foundation

public struct WeightsFile: Codable, Equatable, Sendable {
    public static let formatName = "slope-weights"
    public static let currentVersion = 1

    public struct Entry: Codable, Equatable, Sendable {
        public var layer: Int
        /// A `tensors.kind`: "weight", "bias", "weight_grad", "bias_grad", an optimizer buffer ("weight_velocity",
        /// "weight_adam_m", "bias_rms" ...) or "step".
        public var kind: String
        public var rows: Int
        public var cols: Int
        /// "float32" or "float64": the precision the values were stored in.
        public var dtype: String
        /// rows arrays of cols values each.
        public var values: [[Double]]

        public init(layer: Int, kind: String, rows: Int, cols: Int, dtype: String, values: [[Double]]) {
            self.layer = layer; self.kind = kind; self.rows = rows; self.cols = cols
            self.dtype = dtype; self.values = values
        }

        /// Decodes an entry; a hand-written file may leave out `dtype` (float64: the values as
        /// written) and give `values` flat (row-major) instead of as rows, with `rows`/`cols`
        /// saying the shape (without them a flat list is one row, nested rows their own shape).
        public init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            layer = try container.decode(Int.self, forKey: .layer)
            kind = try container.decode(String.self, forKey: .kind)
            dtype = try container.decodeIfPresent(String.self, forKey: .dtype) ?? "float64"
            let declaredRows = try container.decodeIfPresent(Int.self, forKey: .rows)
            let declaredCols = try container.decodeIfPresent(Int.self, forKey: .cols)
            // Nested when the first item is a list: a bad value is then reported where it is
            // (values[1][1]), not as the flat form's failure at values[0].
            var probe = try container.nestedUnkeyedContainer(forKey: .values)
            if (try? probe.nestedUnkeyedContainer()) != nil {
                let nested = try container.decode([[Double]].self, forKey: .values)
                values = nested
                rows = declaredRows ?? nested.count
                cols = declaredCols ?? nested.first?.count ?? 0
            } else {
                let flat = try container.decode([Double].self, forKey: .values)
                let rowCount = declaredRows ?? 1, colCount = declaredCols ?? flat.count
                // A shape whose size does not fit an Int matches no list of values.
                if rowCount > 0, colCount > 0, rowCount.multipliedReportingOverflow(by: colCount).overflow {
                    throw DecodingError.dataCorruptedError(forKey: declaredRows != nil ? .rows : .cols, in: container,
                        debugDescription: "\(rowCount) x \(colCount) is more values than a tensor can hold")
                }
                guard rowCount > 0, colCount > 0, flat.count == rowCount * colCount else {
                    throw DecodingError.dataCorruptedError(forKey: .values, in: container,
                        debugDescription: "\(flat.count) values for \(rowCount) x \(colCount)")
                }
                rows = rowCount
                cols = colCount
                values = (0..<rowCount).map { Array(flat[($0 * colCount)..<(($0 + 1) * colCount)]) }
            }
        }
    }

    public var format: String
    public var version: Int
    public var runID: Int64?
    public var epoch: Int?
    public var tensors: [Entry]

    enum CodingKeys: String, CodingKey {
        case format, version, runID = "run_id", epoch, tensors
    }

    /// `format` and `version` may be left out of a hand-written file.
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        format = try container.decodeIfPresent(String.self, forKey: .format) ?? Self.formatName
        version = try container.decodeIfPresent(Int.self, forKey: .version) ?? Self.currentVersion
        runID = try container.decodeIfPresent(Int64.self, forKey: .runID)
        epoch = try container.decodeIfPresent(Int.self, forKey: .epoch)
        tensors = try container.decode([Entry].self, forKey: .tensors)
    }

    public init(runID: Int64?, epoch: Int?, tensors: [Entry]) {
        self.format = Self.formatName
        self.version = Self.currentVersion
        self.runID = runID
        self.epoch = epoch
        self.tensors = tensors
    }

    /// The file for stored tensors (values widened to Double, which is exact for float32).
    public init(runID: Int64?, epoch: Int?, stored: [SlopeStore.StoredTensor]) {
        self.init(runID: runID, epoch: epoch, tensors: stored.map { tensor in
            let values = tensor.doubles
            return Entry(layer: tensor.layer, kind: tensor.kind.rawValue, rows: tensor.rows, cols: tensor.cols, dtype: tensor.dtype.rawValue,
                         values: (0..<tensor.rows).map { Array(values[($0 * tensor.cols)..<(($0 + 1) * tensor.cols)]) })
        })
    }

    /// The JSON text: one line per matrix row, numbers in the shortest form that round-trips in
    /// the entry's dtype (non-finite values, which JSON cannot hold, become null).
    public func encoded() -> Data {
        func number(_ value: Double, _ dtype: String) -> String {
            guard value.isFinite else { return "null" }
            if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
            return dtype == "float32" ? "\(Float(value))" : "\(value)"
        }
        func quoted(_ text: String) -> String { jsonStringLiteral(text) }
        var text = "{\n  \"format\": \(quoted(format)),\n  \"version\": \(version),\n"
        if let runID { text += "  \"run_id\": \(runID),\n" }
        if let epoch { text += "  \"epoch\": \(epoch),\n" }
        text += "  \"tensors\": ["
        for (index, entry) in tensors.enumerated() {
            text += index == 0 ? "\n" : ",\n"
            text += "    {\"layer\": \(entry.layer), \"kind\": \(quoted(entry.kind)), \"rows\": \(entry.rows), \"cols\": \(entry.cols), "
            text += "\"dtype\": \(quoted(entry.dtype)), \"values\": [\n"
            text += entry.values.map { row in "      [" + row.map { number($0, entry.dtype) }.joined(separator: ", ") + "]" }
                .joined(separator: ",\n")
            text += "\n    ]}"
        }
        text += "\n  ]\n}\n"
        return Data(text.utf8)
    }

    /// Decodes and checks a weights file: format name, version, and that every entry's values
    /// match its rows x cols. Decoding is exact (JSONDecoder), so float64 bits survive.
    /// - Throws: `StoreError.invalidValue` saying what is wrong.
    public static func decode(_ data: Data) throws -> WeightsFile {
        func invalid(_ reason: String) -> StoreError { .invalidValue("not a Slope weights file: \(reason)") }
        guard let json = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) else {
            if let number = Self.firstOutOfRangeNumber(in: data) {
                throw invalid("the number \(number.text) at line \(number.line), column \(number.column) is out of range "
                    + "(a float64 holds magnitudes up to about 1.8e308)")
            }
            throw invalid("not valid JSON" + Self.syntaxErrorPlace(in: data))
        }
        guard json is [Any] || json is [String: Any] else {
            throw invalid("expected an object with a \"tensors\" list, or a list of tensors")
        }
        // JSONSerialization and JSONDecoder take the first of a key given twice, Python, JavaScript
        // and jq the last: such a file would train from other weights than those tools show.
        if let (key, place) = Self.firstDuplicateKey(in: data) {
            throw invalid("the key \"\(key)\" is given twice in " + (place.isEmpty ? "the top object" : place)
                + " (JSON readers differ on which one counts); keep one")
        }
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        var file: WeightsFile
        do {
            if json is [Any] {  // a bare list of tensors
                file = WeightsFile(runID: nil, epoch: nil, tensors: try decoder.decode([Entry].self, from: data))
            } else {
                file = try decoder.decode(WeightsFile.self, from: data)
            }
        } catch let error as DecodingError {
            switch error {
            case .keyNotFound(let key, let context):
                let path = Self.path(context.codingPath)
                throw invalid("no \"\(key.stringValue)\" field" + (path.isEmpty ? "" : " in \(path)"))
            case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
                // JSONDecoder reports a number that does not fit an Int (a layer of 1.5) without a path.
                let path = context.codingPath.isEmpty ? Self.firstNonWholeNumber(in: json) ?? "" : Self.path(context.codingPath)
                if context.codingPath.isEmpty && !path.isEmpty { throw invalid("bad value at \(path) (expected a whole number)") }
                throw invalid("bad value" + (path.isEmpty ? "" : " at \(path)") + " (\(context.debugDescription))")
            @unknown default: throw invalid("\(error)")
            }
        }
        guard file.format == formatName else { throw invalid("format is '\(file.format)', expected '\(formatName)'") }
        guard file.version <= currentVersion else {
            throw invalid("version \(file.version) is newer than this Slope understands (\(currentVersion))")
        }
        for entry in file.tensors {
            guard entry.dtype == "float32" || entry.dtype == "float64" else {
                throw invalid("layer \(entry.layer) \(entry.kind): dtype '\(entry.dtype)' is not float32 or float64")
            }
            guard entry.rows > 0, entry.cols > 0, entry.values.count == entry.rows,
                  entry.values.allSatisfy({ $0.count == entry.cols }) else {
                throw invalid("layer \(entry.layer) \(entry.kind): values are not \(entry.rows) x \(entry.cols)")
            }
            if entry.dtype == "float32", let beyond = entry.values.joined().first(where: { $0.isFinite && !Float($0).isFinite }) {
                // A Slope weights file still: not `invalid`'s "not a Slope weights file".
                throw StoreError.invalidValue("layer \(entry.layer) \(entry.kind): \(beyond) is beyond the float32 range (about ±3.4e38) "
                    + "of its dtype float32; give the tensor \"dtype\": \"float64\"")
            }
        }
        // A float32 tensor's values are float32s, written as their shortest decimals (0.19007555):
        // read as such and widened exactly, so that a float64 run started from a float32 run's
        // weights starts from exactly those (read as doubles, each was off by about 1e-9: hostile16 F7).
        for index in file.tensors.indices where file.tensors[index].dtype == "float32" {
            file.tensors[index].values = file.tensors[index].values.map { row in row.map { Double(Float($0)) } }
        }
        return file
    }

    /// Why a file whose first bytes are `prefix` cannot be a weights file, or nil: JSON's top
    /// value, after a byte-order mark and white space, is an object or a list. Said from the first
    /// bytes, before a file given by mistake (a dataset, another tool's 3 GB checkpoint) is read whole.
    public static func startProblem(_ prefix: Data) -> String? {
        var bytes = prefix[...]
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
        guard let first = bytes.first(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }) else { return nil }  // all white: decode says so
        guard first != UInt8(ascii: "{") && first != UInt8(ascii: "[") else { return nil }
        let before = bytes[..<bytes.firstIndex(of: first)!]
        let line = before.reduce(1) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
        let column = before.count - (before.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 - before.startIndex } ?? 0) + 1
        let shown = (0x21...0x7E).contains(first) ? "'\(Character(Unicode.Scalar(first)))'" : String(format: "the byte 0x%02X", first)
        return "not a Slope weights file: it begins with \(shown) at line \(line), column \(column); a weights file is a JSON object {...} or list [...]"
    }

    /// Where a file that is not JSON goes wrong, as JSONSerialization tells it: ": it ends too
    /// early (cut short?)" or " at line L, column C" (from 1, columns in characters), else "".
    static func syntaxErrorPlace(in data: Data) -> String {
        do {
            _ = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
            return ""
        } catch {
            let description = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? ""
            if description.localizedCaseInsensitiveContains("end of file") { return ": it ends too early (cut short?)" }
            guard let match = description.firstMatch(of: #/around character (\d+)/#), let offset = Int(match.1),
                  offset >= 0, offset <= data.count else { return "" }
            let before = data.prefix(offset)
            let lineStart = before.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? before.startIndex
            let line = before.reduce(1) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
            let column = String(decoding: before[lineStart...], as: UTF8.self).count + 1
            return " at line \(line), column \(column)"
        }
    }

    /// The first number literal outside strings whose value is not finite as a Double (1e400), with
    /// its line and column (from 1): JSONSerialization refuses such a file without saying why.
    /// - Complexity: O(n) in the bytes.
    static func firstOutOfRangeNumber(in data: Data) -> (text: String, line: Int, column: Int)? {
        let bytes = [UInt8](data)
        var index = 0, line = 1, lineStart = 0
        var inString = false
        while index < bytes.count {
            let byte = bytes[index]
            if inString {
                if byte == UInt8(ascii: "\\") { index += 2; continue }
                if byte == UInt8(ascii: "\"") { inString = false }
                index += 1
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                inString = true
                index += 1
            case UInt8(ascii: "\n"):
                line += 1
                index += 1
                lineStart = index
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                let start = index
                while index < bytes.count, "+-.eE0123456789".utf8.contains(bytes[index]) { index += 1 }
                let text = String(decoding: bytes[start..<index], as: UTF8.self)
                if let value = Double(text), !value.isFinite {
                    let shown = text.count <= 40 ? text : String(text.prefix(40)) + "..."
                    return (shown, line, start - lineStart + 1)
                }
            default:
                index += 1
            }
        }
        return nil
    }

    /// The first key given twice in one object of valid JSON `data`, and where the object is
    /// (".tensors[0]"; "" for the top object). Escaped keys compare by their text (`"valu\u0065s"` is `values`).
    /// - Complexity: O(n) in the bytes.
    static func firstDuplicateKey(in data: Data) -> (key: String, place: String)? {
        enum Frame {
            case object(place: String, keys: Set<String>, key: String?, expectingKey: Bool)
            case array(place: String, index: Int)
        }
        let bytes = [UInt8](data)
        var stack: [Frame] = []
        func valuePlace() -> String {  // where a value starting now sits
            switch stack.last {
            case let .object(place, _, key, _)?: return place + "." + (key ?? "")
            case let .array(place, index)?: return place + "[\(index)]"
            case nil: return ""
            }
        }
        var index = 0
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "\""):
                let start = index
                index += 1
                var escaped = false
                while index < bytes.count && bytes[index] != UInt8(ascii: "\"") {
                    if bytes[index] == UInt8(ascii: "\\") { escaped = true; index += 1 }
                    index += 1
                }
                index += 1
                guard case .object(let place, var keys, _, true)? = stack.last else { continue }
                let literal = Data(bytes[start..<min(index, bytes.count)])
                let key = escaped ? (try? JSONDecoder().decode(String.self, from: literal)) ?? "" : String(decoding: literal.dropFirst().dropLast(), as: UTF8.self)
                if !keys.insert(key).inserted { return (key, place) }
                stack[stack.count - 1] = .object(place: place, keys: keys, key: key, expectingKey: false)
            case UInt8(ascii: "{"):
                stack.append(.object(place: valuePlace(), keys: [], key: nil, expectingKey: true))
                index += 1
            case UInt8(ascii: "["):
                stack.append(.array(place: valuePlace(), index: 0))
                index += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                stack.removeLast()
                index += 1
            case UInt8(ascii: ","):
                switch stack.last {
                case let .object(place, keys, key, _)?: stack[stack.count - 1] = .object(place: place, keys: keys, key: key, expectingKey: true)
                case let .array(place, position)?: stack[stack.count - 1] = .array(place: place, index: position + 1)
                case nil: break
                }
                index += 1
            default:
                index += 1
            }
        }
        return nil
    }

    /// Where the first `layer`, `rows` or `cols` that is not a whole number is (".tensors[0].layer").
    private static func firstNonWholeNumber(in json: Any) -> String? {
        let (prefix, tensors) = json is [Any] ? ("", json as? [Any] ?? []) : (".tensors", (json as? [String: Any])?["tensors"] as? [Any] ?? [])
        for (index, item) in tensors.enumerated() {
            guard let entry = item as? [String: Any] else { continue }
            for key in ["layer", "rows", "cols"] {
                guard let number = entry[key] as? NSNumber else { continue }
                let value = number.doubleValue
                if value.rounded() != value || abs(value) > 1e15 { return "\(prefix)[\(index)].\(key)" }
            }
        }
        return nil
    }

    /// ".tensors[0].layer" for a decoding error's coding path.
    private static func path(_ codingPath: [CodingKey]) -> String {
        codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
    }
}
