// Exact values that leave the engine: tensors and per-layer parameters (training states and epoch
// results, made of them, are in TrainingResults.swift).

/// A 2-D row-major tensor holding exact float32 or float64 values.
/// Equality compares bit patterns, so NaN == NaN and 0 != -0: "the same bits".
public struct Tensor: Equatable, Sendable {
    public enum Values: Sendable {
        case float32([Float])
        case float64([Double])
    }

    public let rows: Int
    public let cols: Int
    public let values: Values

    public init(rows: Int, cols: Int, float32: [Float]) {
        precondition(rows >= 0 && cols >= 0 && rows * cols == float32.count, "Tensor: \(float32.count) values for \(rows) x \(cols)")
        self.rows = rows
        self.cols = cols
        self.values = .float32(float32)
    }

    public init(rows: Int, cols: Int, float64: [Double]) {
        precondition(rows >= 0 && cols >= 0 && rows * cols == float64.count, "Tensor: \(float64.count) values for \(rows) x \(cols)")
        self.rows = rows
        self.cols = cols
        self.values = .float64(float64)
    }

    /// A tensor of the given precision from Double values (rounded to nearest for float32).
    public init(rows: Int, cols: Int, doubles: [Double], precision: Precision) {
        switch precision {
        case .float32: self.init(rows: rows, cols: cols, float32: doubles.map { Float($0) })
        case .float64: self.init(rows: rows, cols: cols, float64: doubles)
        }
    }

    public var precision: Precision {
        switch values {
        case .float32: return .float32
        case .float64: return .float64
        }
    }

    public var count: Int { rows * cols }

    /// A widened copy of the values.
    public var doubles: [Double] {
        switch values {
        case .float32(let values): return values.map(Double.init)
        case .float64(let values): return values
        }
    }

    /// Value at (row, col), widened to Double.
    public subscript(row: Int, col: Int) -> Double {
        switch values {
        case .float32(let values): return Double(values[row * cols + col])
        case .float64(let values): return values[row * cols + col]
        }
    }

    /// rows * cols * 4 (float32) or * 8 (float64) bytes, little-endian, row-major: the store's
    /// layout (Store's `TensorRecord.values` decodes it).
    public func littleEndianBytes() -> [UInt8] {
        // A plain copy of the memory on little-endian hosts (all Slope runs on); swapped otherwise.
        switch values {
        case .float32(let values):
            #if _endian(big)
            return values.map { $0.bitPattern.littleEndian }.withUnsafeBytes { Array($0) }
            #else
            return values.withUnsafeBytes { Array($0) }
            #endif
        case .float64(let values):
            #if _endian(big)
            return values.map { $0.bitPattern.littleEndian }.withUnsafeBytes { Array($0) }
            #else
            return values.withUnsafeBytes { Array($0) }
            #endif
        }
    }

    public static func == (lhs: Tensor, rhs: Tensor) -> Bool {
        guard lhs.rows == rhs.rows, lhs.cols == rhs.cols else { return false }
        switch (lhs.values, rhs.values) {
        case let (.float32(left), .float32(right)):
            return left.withUnsafeBytes { l in right.withUnsafeBytes { r in l.elementsEqual(r) } }
        case let (.float64(left), .float64(right)):
            return left.withUnsafeBytes { l in right.withUnsafeBytes { r in l.elementsEqual(r) } }
        default: return false
        }
    }
}

/// One dense layer's parameters. weight: [inputs x outputs], entry (i, j) from node i of the layer
/// below to node j of this layer; bias: [1 x outputs] (nil when the network has no biases).
public struct LayerParameters: Equatable, Sendable {
    public var weight: Tensor
    public var bias: Tensor?

    public init(weight: Tensor, bias: Tensor? = nil) {
        self.weight = weight
        self.bias = bias
    }
}
