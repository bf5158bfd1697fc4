// The two element types the engine is specialized for (Float, Double): math functions, the C gemm
// entry points, and conversions to and from public tensors. Generic engine code calls these through
// the protocol; inside this module the optimizer specializes it for Float and Double, so no call
// goes through a witness table in release builds.

import CKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

protocol NetworkScalar: BinaryFloatingPoint, Sendable {
    static var precision: Precision { get }
    /// C[m x n] = alpha * op(A)[m x k] * op(B)[k x n] + beta * C, row-major (see CKernels.h).
    static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Self,
                     a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
                     beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)
    static func exponential(_ x: Self) -> Self
    static func biasActivate(m: Int, n: Int, c: UnsafeMutablePointer<Self>, ldc: Int, bias: UnsafePointer<Self>?, relu: Bool)
    static func reluBackward(count: Int, delta: UnsafeMutablePointer<Self>, activation: UnsafePointer<Self>)
    static func columnSums(m: Int, n: Int, x: UnsafePointer<Self>, ldx: Int, sums: UnsafeMutablePointer<Self>)
    static func sgdStep(count: Int, learningRate: Self, weights: UnsafeMutablePointer<Self>, gradients: UnsafePointer<Self>, sums: UnsafeMutablePointer<Self>?)
    static func logarithm(_ x: Self) -> Self
    static func logarithmOnePlus(_ x: Self) -> Self
    static func hyperbolicTangent(_ x: Self) -> Self
    /// One epoch of batch-1 plain SGD on a small network (CKernels small_network_template.h); true
    /// when a row's loss was not finite.
    static func smallSGDEpoch(_ network: UnsafePointer<slope_small_network>, count: Int, order: UnsafePointer<Int>,
                              features: UnsafePointer<Self>, targets: UnsafePointer<Self>, labels: UnsafePointer<Int>,
                              learningRate: Self, weightDecay: Self, parameters: UnsafeMutablePointer<Self>,
                              gradients: UnsafeMutablePointer<Self>, gradientSums: UnsafeMutablePointer<Self>,
                              scratch: UnsafeMutablePointer<Self>, weightedLoss: inout Double, correct: inout Int) -> Bool
    /// A public tensor holding a copy of rows * cols values.
    static func tensor(rows: Int, cols: Int, from source: UnsafePointer<Self>) -> Tensor
    /// Copies a tensor's values (converted if its precision differs) into `destination`.
    static func load(_ tensor: Tensor, into destination: UnsafeMutablePointer<Self>)
}

extension Float: NetworkScalar {
    @inline(__always) static func biasActivate(m: Int, n: Int, c: UnsafeMutablePointer<Float>, ldc: Int, bias: UnsafePointer<Float>?, relu: Bool) {
        slope_sbias_activate(Int32(m), Int32(n), c, Int32(ldc), bias, relu ? 1 : 0) }
    @inline(__always) static func reluBackward(count: Int, delta: UnsafeMutablePointer<Float>, activation: UnsafePointer<Float>) {
        slope_srelu_backward(count, delta, activation) }
    @inline(__always) static func columnSums(m: Int, n: Int, x: UnsafePointer<Float>, ldx: Int, sums: UnsafeMutablePointer<Float>) {
        slope_scolumn_sums(Int32(m), Int32(n), x, Int32(ldx), sums) }
    @inline(__always) static func sgdStep(count: Int, learningRate: Float, weights: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>, sums: UnsafeMutablePointer<Float>?) {
        slope_ssgd_step(count, learningRate, weights, gradients, sums) }
    static var precision: Precision { .float32 }
    @inline(__always)
    static func smallSGDEpoch(_ network: UnsafePointer<slope_small_network>, count: Int, order: UnsafePointer<Int>,
                              features: UnsafePointer<Float>, targets: UnsafePointer<Float>, labels: UnsafePointer<Int>,
                              learningRate: Float, weightDecay: Float, parameters: UnsafeMutablePointer<Float>,
                              gradients: UnsafeMutablePointer<Float>, gradientSums: UnsafeMutablePointer<Float>,
                              scratch: UnsafeMutablePointer<Float>, weightedLoss: inout Double, correct: inout Int) -> Bool {
        slope_ssmall_sgd_epoch(network, count, order, features, targets, labels, learningRate, weightDecay, parameters,
                               gradients, gradientSums, scratch, &weightedLoss, &correct) != 0
    }

    @inline(__always)
    static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                     a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                     beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        slope_sgemm(transA ? 1 : 0, transB ? 1 : 0, Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda),
                    b, Int32(ldb), beta, c, Int32(ldc))
    }

    @inline(__always) static func exponential(_ x: Float) -> Float { expf(x) }
    @inline(__always) static func logarithm(_ x: Float) -> Float { logf(x) }
    @inline(__always) static func logarithmOnePlus(_ x: Float) -> Float { log1pf(x) }
    @inline(__always) static func hyperbolicTangent(_ x: Float) -> Float { tanhf(x) }

    static func tensor(rows: Int, cols: Int, from source: UnsafePointer<Float>) -> Tensor {
        Tensor(rows: rows, cols: cols, float32: Array(UnsafeBufferPointer(start: source, count: rows * cols)))
    }

    static func load(_ tensor: Tensor, into destination: UnsafeMutablePointer<Float>) {
        switch tensor.values {
        case .float32(let values): for index in values.indices { destination[index] = values[index] }
        case .float64(let values): for index in values.indices { destination[index] = Float(values[index]) }
        }
    }
}

extension Double: NetworkScalar {
    @inline(__always) static func biasActivate(m: Int, n: Int, c: UnsafeMutablePointer<Double>, ldc: Int, bias: UnsafePointer<Double>?, relu: Bool) {
        slope_dbias_activate(Int32(m), Int32(n), c, Int32(ldc), bias, relu ? 1 : 0) }
    @inline(__always) static func reluBackward(count: Int, delta: UnsafeMutablePointer<Double>, activation: UnsafePointer<Double>) {
        slope_drelu_backward(count, delta, activation) }
    @inline(__always) static func columnSums(m: Int, n: Int, x: UnsafePointer<Double>, ldx: Int, sums: UnsafeMutablePointer<Double>) {
        slope_dcolumn_sums(Int32(m), Int32(n), x, Int32(ldx), sums) }
    @inline(__always) static func sgdStep(count: Int, learningRate: Double, weights: UnsafeMutablePointer<Double>, gradients: UnsafePointer<Double>, sums: UnsafeMutablePointer<Double>?) {
        slope_dsgd_step(count, learningRate, weights, gradients, sums) }
    static var precision: Precision { .float64 }
    @inline(__always)
    static func smallSGDEpoch(_ network: UnsafePointer<slope_small_network>, count: Int, order: UnsafePointer<Int>,
                              features: UnsafePointer<Double>, targets: UnsafePointer<Double>, labels: UnsafePointer<Int>,
                              learningRate: Double, weightDecay: Double, parameters: UnsafeMutablePointer<Double>,
                              gradients: UnsafeMutablePointer<Double>, gradientSums: UnsafeMutablePointer<Double>,
                              scratch: UnsafeMutablePointer<Double>, weightedLoss: inout Double, correct: inout Int) -> Bool {
        slope_dsmall_sgd_epoch(network, count, order, features, targets, labels, learningRate, weightDecay, parameters,
                               gradients, gradientSums, scratch, &weightedLoss, &correct) != 0
    }

    @inline(__always)
    static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Double,
                     a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
                     beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int) {
        slope_dgemm(transA ? 1 : 0, transB ? 1 : 0, Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda),
                    b, Int32(ldb), beta, c, Int32(ldc))
    }

    @inline(__always) static func exponential(_ x: Double) -> Double { exp(x) }
    @inline(__always) static func logarithm(_ x: Double) -> Double { log(x) }
    @inline(__always) static func logarithmOnePlus(_ x: Double) -> Double { log1p(x) }
    @inline(__always) static func hyperbolicTangent(_ x: Double) -> Double { tanh(x) }

    static func tensor(rows: Int, cols: Int, from source: UnsafePointer<Double>) -> Tensor {
        Tensor(rows: rows, cols: cols, float64: Array(UnsafeBufferPointer(start: source, count: rows * cols)))
    }

    static func load(_ tensor: Tensor, into destination: UnsafeMutablePointer<Double>) {
        switch tensor.values {
        case .float32(let values): for index in values.indices { destination[index] = Double(values[index]) }
        case .float64(let values): for index in values.indices { destination[index] = values[index] }
        }
    }
}
