// KernelTests: the fast gemm (every code path this CPU can run) equals the reference loops.
import CKernels
import Dispatch
import TestSupport
import XCTest

/// Float and Double behind one interface, so each check is written once.
private protocol GemmScalar: BinaryFloatingPoint {
    static func gemm(isa: slope_isa, _ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int,
                     _ alpha: Self, _ a: [Self], _ lda: Int, _ b: [Self], _ ldb: Int,
                     _ beta: Self, _ c: inout [Self], _ ldc: Int)
    static func public_gemm(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int,
                            _ alpha: Self, _ a: [Self], _ lda: Int, _ b: [Self], _ ldb: Int,
                            _ beta: Self, _ c: inout [Self], _ ldc: Int)
    static func reference(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int,
                          _ alpha: Self, _ a: [Self], _ lda: Int, _ b: [Self], _ ldb: Int,
                          _ beta: Self, _ c: inout [Self], _ ldc: Int)
}

extension Float: GemmScalar {
    static func gemm(isa: slope_isa, _ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int,
                     _ alpha: Float, _ a: [Float], _ lda: Int, _ b: [Float], _ ldb: Int,
                     _ beta: Float, _ c: inout [Float], _ ldc: Int) {
        slope_sgemm_isa(isa, transA ? 1 : 0, transB ? 1 : 0, Int32(m), Int32(n), Int32(k), alpha,
                        a, Int32(lda), b, Int32(ldb), beta, &c, Int32(ldc))
    }
    static func public_gemm(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int,
                            _ alpha: Float, _ a: [Float], _ lda: Int, _ b: [Float], _ ldb: Int,
                            _ beta: Float, _ c: inout [Float], _ ldc: Int) {
        slope_sgemm(transA ? 1 : 0, transB ? 1 : 0, Int32(m), Int32(n), Int32(k), alpha,
                    a, Int32(lda), b, Int32(ldb), beta, &c, Int32(ldc))
    }
    static func reference(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int,
                          _ alpha: Float, _ a: [Float], _ lda: Int, _ b: [Float], _ ldb: Int,
                          _ beta: Float, _ c: inout [Float], _ ldc: Int) {
        slope_sgemm_reference(transA ? 1 : 0, transB ? 1 : 0, Int32(m), Int32(n), Int32(k), alpha,
                              a, Int32(lda), b, Int32(ldb), beta, &c, Int32(ldc))
    }
}

extension Double: GemmScalar {
    static func gemm(isa: slope_isa, _ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int,
                     _ alpha: Double, _ a: [Double], _ lda: Int, _ b: [Double], _ ldb: Int,
                     _ beta: Double, _ c: inout [Double], _ ldc: Int) {
        slope_dgemm_isa(isa, transA ? 1 : 0, transB ? 1 : 0, Int32(m), Int32(n), Int32(k), alpha,
                        a, Int32(lda), b, Int32(ldb), beta, &c, Int32(ldc))
    }
    static func public_gemm(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int,
                            _ alpha: Double, _ a: [Double], _ lda: Int, _ b: [Double], _ ldb: Int,
                            _ beta: Double, _ c: inout [Double], _ ldc: Int) {
        slope_dgemm(transA ? 1 : 0, transB ? 1 : 0, Int32(m), Int32(n), Int32(k), alpha,
                    a, Int32(lda), b, Int32(ldb), beta, &c, Int32(ldc))
    }
    static func reference(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int,
                          _ alpha: Double, _ a: [Double], _ lda: Int, _ b: [Double], _ ldb: Int,
                          _ beta: Double, _ c: inout [Double], _ ldc: Int) {
        slope_dgemm_reference(transA ? 1 : 0, transB ? 1 : 0, Int32(m), Int32(n), Int32(k), alpha,
                              a, Int32(lda), b, Int32(ldb), beta, &c, Int32(ldc))
    }
}


/// One gemm problem, with padded leading dimensions (the pads hold NaN so reading them shows).
private struct GemmCase<T: GemmScalar>: CustomStringConvertible {
    var transA: Bool, transB: Bool
    var m: Int, n: Int, k: Int
    var alpha: T, beta: T
    var lda: Int, ldb: Int, ldc: Int
    var a: [T], b: [T], c: [T]
    let seed: UInt64

    var description: String {
        "seed \(seed): transA \(transA) transB \(transB) m \(m) n \(n) k \(k) alpha \(alpha) beta \(beta) "
            + "lda \(lda) ldb \(ldb) ldc \(ldc)"
    }

    /// `integers`: entries are small integers, so every partial sum is exact and any
    /// summation order must give the reference's bits.
    init(seed: UInt64, sizes: [Int], integers: Bool = false) {
        self.init(seed: seed, rows: sizes, columns: sizes, depths: sizes, integers: integers)
    }

    /// m from `rows`, n from `columns`, k from `depths`.
    init(seed: UInt64, rows: [Int], columns: [Int], depths: [Int], integers: Bool = false) {
        self.seed = seed
        var random = TestRandom(seed: seed)
        transA = random.next() & 1 == 1
        transB = random.next() & 1 == 1
        m = random.pick(rows)
        n = random.pick(columns)
        k = random.pick(depths)
        alpha = integers ? random.pick([1, -2, 0.5]) : random.pick([1, -1, 0.75, 2.5])
        beta = integers ? random.pick([0, 1, -1, 2]) : random.pick([0, 0, 1, -0.5, 1.25])
        let rowsA = transA ? k : m, colsA = transA ? m : k
        let rowsB = transB ? n : k, colsB = transB ? k : n
        lda = colsA + random.pick([0, 0, 1, 3, 17])
        ldb = colsB + random.pick([0, 0, 1, 5])
        ldc = n + random.pick([0, 0, 2, 9])
        func fill(_ rows: Int, _ cols: Int, _ stride: Int, _ random: inout TestRandom) -> [T] {
            var values = [T](repeating: .nan, count: max(1, (rows - 1) * stride + cols))
            for row in 0..<rows {
                for col in 0..<cols {
                    values[row * stride + col] = integers ? T(random.int(-4...4)) : T(random.unit())
                }
            }
            return values
        }
        a = fill(rowsA, colsA, lda, &random)
        b = fill(rowsB, colsB, ldb, &random)
        c = fill(m, n, ldc, &random)
        if beta == 0 {  // beta == 0 must overwrite C without reading it
            for row in 0..<m { for col in 0..<n { c[row * ldc + col] = .nan } }
        }
    }

    /// Bound on |fast - reference| per entry of C: both sums carry at most about
    /// k*eps*sum|a*b| rounding error (FMA or not), so twice that (plus the beta term) is
    /// rigorous; a wrong index or a lost term shows as an error of order 1. The magnitudes
    /// |alpha| |op(A)| |op(B)| + |beta C| come from the reference loops on absolute values.
    func tolerances() -> [T] {
        var magnitude = c.map { abs($0) }
        T.reference(transA, transB, m, n, k, abs(alpha), a.map { abs($0) }, lda, b.map { abs($0) }, ldb,
                    abs(beta), &magnitude, ldc)
        let scale = T(2 * (k + 3)) * T.ulpOfOne
        return magnitude.map { scale * $0 }
    }
}

final class KernelTests: XCTestCase {
    /// Every code path this machine can run (the generic one always).
    private var paths: [(slope_isa, String)] {
        [(SLOPE_ISA_GENERIC, "generic"), (SLOPE_ISA_AVX2_FMA, "avx2-fma"), (SLOPE_ISA_AVX512, "avx512")]
            .filter { slope_isa_supported($0.0) != 0 }
    }

    /// Sizes around the vector widths (4, 8, 16 lanes), the register tiles (4, 6, 8, 12, 16
    /// rows; 8 ... 32 columns) and 1.
    private let smallSizes = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 15, 16, 17, 23, 24, 31, 32, 33, 47, 64, 65]

    private func check<T: GemmScalar>(_ type: T.Type, seeds: Range<UInt64>, sizes: [Int], integers: Bool = false,
                                      file: StaticString = #filePath, line: UInt = #line) {
        check(type, seeds: seeds, rows: sizes, columns: sizes, depths: sizes, integers: integers, file: file, line: line)
    }

    private func check<T: GemmScalar>(_ type: T.Type, seeds: Range<UInt64>, rows: [Int], columns: [Int], depths: [Int],
                                      integers: Bool = false, file: StaticString = #filePath, line: UInt = #line) {
        for (isa, name) in paths {
            var failures = 0
            for seed in seeds where failures < 3 {
                let problem = GemmCase<T>(seed: seed, rows: rows, columns: columns, depths: depths, integers: integers)
                var expected = problem.c
                T.reference(problem.transA, problem.transB, problem.m, problem.n, problem.k, problem.alpha,
                            problem.a, problem.lda, problem.b, problem.ldb, problem.beta, &expected, problem.ldc)
                var actual = problem.c
                T.gemm(isa: isa, problem.transA, problem.transB, problem.m, problem.n, problem.k, problem.alpha,
                       problem.a, problem.lda, problem.b, problem.ldb, problem.beta, &actual, problem.ldc)
                let worst = firstMismatch(problem, expected: expected, actual: actual, exact: integers)
                if let worst {
                    failures += 1
                    XCTFail("\(T.self) \(name) \(problem): \(worst)", file: file, line: line)
                }
            }
        }
    }

    /// nil if `actual` matches; otherwise a description of the first bad entry. Entries of C
    /// outside the m x n block (the ldc padding) must be left exactly as they were.
    private func firstMismatch<T: GemmScalar>(_ problem: GemmCase<T>, expected: [T], actual: [T],
                                              exact: Bool) -> String? {
        let tolerances = exact ? [] : problem.tolerances()
        for index in 0..<actual.count {
            let row = index / problem.ldc, col = index % problem.ldc
            let inside = row < problem.m && col < problem.n
            let want = expected[index], got = actual[index]
            if !inside {
                if !(want == got || (want.isNaN && got.isNaN)) {
                    return "padding entry (\(row), \(col)) changed from \(want) to \(got)"
                }
                continue
            }
            if got.isNaN || want.isNaN {
                return "entry (\(row), \(col)) is \(got), reference \(want)"
            }
            let allowed = exact ? 0 : tolerances[index]
            if abs(got - want) > allowed {
                return "entry (\(row), \(col)) is \(got), reference \(want), difference \(abs(got - want)) > \(allowed)"
            }
        }
        return nil
    }

    func testSmallShapesMatchReferenceFloat() {
        check(Float.self, seeds: 0..<400, sizes: smallSizes)
    }

    func testSmallShapesMatchReferenceDouble() {
        check(Double.self, seeds: 0..<400, sizes: smallSizes)
    }

    /// Integer-valued entries make every partial sum exact: any summation order, FMA or not,
    /// must reproduce the reference bit for bit.
    func testIntegerEntriesMatchReferenceExactly() {
        check(Float.self, seeds: 1000..<1200, sizes: smallSizes, integers: true)
        check(Double.self, seeds: 1000..<1200, sizes: smallSizes, integers: true)
    }

    /// Shapes past the cache blocks (k > 256 is split into slices, n > 512 into column
    /// blocks) and the workloads' layer shapes.
    func testBlockedShapesMatchReference() {
        let sizes = [10, 32, 64, 100, 128, 257, 300, 520]
        check(Float.self, seeds: 2000..<2016, sizes: sizes)
        check(Double.self, seeds: 3000..<3010, sizes: sizes)
    }

    /// Few columns (n <= 16, e.g. a 10-class output layer): the narrow path (one vector per
    /// row of C, k split past 1024) and the transposed few-columns path (C^T computed with the
    /// vectors along m, m split past 512, k past 256).
    func testNarrowShapesMatchReference() {
        let rows = [1, 7, 8, 16, 17, 31, 32, 33, 48, 50, 64, 129], columns = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 16]
        let depths = [1, 3, 64, 300, 1100]
        check(Float.self, seeds: 6000..<6080, rows: rows, columns: columns, depths: depths)
        check(Double.self, seeds: 7000..<7080, rows: rows, columns: columns, depths: depths)
        check(Float.self, seeds: 6500..<6506, rows: [530], columns: [3, 10], depths: [20, 257])
    }

    /// The engine's calls at batch size 1 and the workloads' odd corners, every transpose pair.
    func testEngineShapesMatchReference() {
        let shapes: [(Int, Int, Int)] = [(1, 2, 2), (1, 1, 2), (2, 2, 1), (2, 1, 1), (1, 2, 1),
                                         (32, 64, 64), (32, 10, 64), (64, 10, 32), (32, 64, 10), (64, 64, 32)]
        var seed: UInt64 = 5000
        for (isa, name) in paths {
            for (m, n, k) in shapes {
                for transA in [false, true] {
                    for transB in [false, true] {
                        for (alpha, beta) in [(Float(1), Float(0)), (-0.01, 1)] {
                            seed += 1
                            var problem = GemmCase<Float>(seed: seed, sizes: [1])
                            problem.transA = transA; problem.transB = transB
                            problem.m = m; problem.n = n; problem.k = k
                            problem.alpha = alpha; problem.beta = beta
                            problem.lda = transA ? m : k; problem.ldb = transB ? k : n; problem.ldc = n
                            var random = TestRandom(seed: seed)
                            problem.a = (0..<(m * k)).map { _ in Float(random.unit()) }
                            problem.b = (0..<(k * n)).map { _ in Float(random.unit()) }
                            problem.c = (0..<(m * n)).map { _ in beta == 0 ? .nan : Float(random.unit()) }
                            var expected = problem.c, actual = problem.c
                            Float.reference(transA, transB, m, n, k, alpha, problem.a, problem.lda, problem.b,
                                            problem.ldb, beta, &expected, problem.ldc)
                            Float.gemm(isa: isa, transA, transB, m, n, k, alpha, problem.a, problem.lda,
                                       problem.b, problem.ldb, beta, &actual, problem.ldc)
                            if let bad = firstMismatch(problem, expected: expected, actual: actual, exact: false) {
                                XCTFail("Float \(name) \(problem): \(bad)")
                            }
                        }
                    }
                }
            }
        }
    }

    /// A hand-computed product through the public entry point: [1 2; 3 4] * [5 6; 7 8].
    func testHandComputedProduct() {
        let a: [Double] = [1, 2, 3, 4], b: [Double] = [5, 6, 7, 8]
        var c = [Double](repeating: .nan, count: 4)
        Double.public_gemm(false, false, 2, 2, 2, 1, a, 2, b, 2, 0, &c, 2)
        XCTAssertEqual(c, [19, 22, 43, 50])
        // C = 2 * A^T * B + 1 * C = 2 * [26 30; 38 44] + [19 22; 43 50]
        Double.public_gemm(true, false, 2, 2, 2, 2, a, 2, b, 2, 1, &c, 2)
        XCTAssertEqual(c, [71, 82, 119, 138])
        var f = [Float](repeating: .nan, count: 4)
        Float.public_gemm(false, true, 2, 2, 2, 1, a.map(Float.init), 2, b.map(Float.init), 2, 0, &f, 2)
        XCTAssertEqual(f, [17, 23, 39, 53])  // A * B^T
    }

    /// k == 0 or alpha == 0 leaves beta * C (zeros for beta == 0, even over NaN).
    func testDegenerateShapes() {
        for (isa, _) in paths {
            var c: [Float] = [.nan, 2, 3, .nan]
            Float.gemm(isa: isa, false, false, 2, 2, 0, 1, [0], 1, [0], 2, 0, &c, 2)
            XCTAssertEqual(c, [0, 0, 0, 0])
            var d: [Double] = [1, 2, 3, 4]
            Double.gemm(isa: isa, false, false, 2, 2, 3, 0, [1, 1, 1, 1, 1, 1], 3, [1, 1, 1, 1, 1, 1], 2, -2, &d, 2)
            XCTAssertEqual(d, [-2, -4, -6, -8])
        }
    }

    /// Same inputs, same bits, wherever the buffers start: the engine's bit-identical resume
    /// relies on it (its buffers are allocated anew, at other addresses, by the resumed run).
    func testResultsDoNotDependOnAlignment() {
        for (isa, name) in paths {
            for seed in UInt64(8000)..<8040 {
                let problem = GemmCase<Float>(seed: seed, sizes: [7, 10, 32, 33, 64, 100, 300])
                var first = problem.c
                Float.gemm(isa: isa, problem.transA, problem.transB, problem.m, problem.n, problem.k, problem.alpha,
                           problem.a, problem.lda, problem.b, problem.ldb, problem.beta, &first, problem.ldc)
                for shift in 1...3 {  // every array moved by `shift` elements
                    let pad = [Float](repeating: 0, count: shift)
                    var shifted = pad + problem.c
                    let a = pad + problem.a, b = pad + problem.b
                    a.withUnsafeBufferPointer { a in
                        b.withUnsafeBufferPointer { b in
                            shifted.withUnsafeMutableBufferPointer { c in
                                slope_sgemm_isa(isa, problem.transA ? 1 : 0, problem.transB ? 1 : 0, Int32(problem.m),
                                                Int32(problem.n), Int32(problem.k), problem.alpha, a.baseAddress! + shift,
                                                Int32(problem.lda), b.baseAddress! + shift, Int32(problem.ldb), problem.beta,
                                                c.baseAddress! + shift, Int32(problem.ldc))
                            }
                        }
                    }
                    let moved = Array(shifted.dropFirst(shift))
                    let same = zip(first, moved).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) }
                    XCTAssertTrue(same, "\(name) \(problem): result changed when the arrays moved by \(shift) elements")
                }
            }
        }
    }

    /// Threads calling at once each use their own packing buffer and get their own right answer.
    func testConcurrentCallsMatchReference() {
        let problems = (UInt64(9000)..<9016).map { GemmCase<Double>(seed: $0, sizes: [16, 33, 64, 130, 300]) }
        var expected = problems.map(\.c)
        for index in problems.indices {
            let problem = problems[index]
            Double.reference(problem.transA, problem.transB, problem.m, problem.n, problem.k, problem.alpha, problem.a,
                             problem.lda, problem.b, problem.ldb, problem.beta, &expected[index], problem.ldc)
        }
        let results = UnsafeMutableBufferPointer<[Double]>.allocate(capacity: problems.count)
        defer { results.deallocate() }
        DispatchQueue.concurrentPerform(iterations: problems.count) { index in
            let problem = problems[index]
            var c = problem.c
            Double.public_gemm(problem.transA, problem.transB, problem.m, problem.n, problem.k, problem.alpha, problem.a,
                               problem.lda, problem.b, problem.ldb, problem.beta, &c, problem.ldc)
            (results.baseAddress! + index).initialize(to: c)
        }
        for index in problems.indices {
            if let bad = firstMismatch(problems[index], expected: expected[index], actual: results[index], exact: false) {
                XCTFail("\(problems[index]): \(bad)")
            }
        }
        results.baseAddress!.deinitialize(count: problems.count)
    }

    func testChosenPathIsTheBestSupported() {
        let name = String(cString: slope_kernel_isa())
        if ProcessInfo.processInfo.environment["SLOPE_KERNEL_ISA"] == nil {
            XCTAssertEqual(name, paths.last?.1)
        } else {
            XCTAssertTrue(paths.map(\.1).contains(name), name)
        }
    }

    // MARK: Element-wise passes: bit for bit the scalar loops they replace

    /// Values with the awkward cases: NaN, infinities, signed zeros, tiny and ordinary numbers.
    private func awkwardValues(_ count: Int, _ random: inout TestRandom) -> [Float] {
        (0..<count).map { _ in
            random.pick([Float.nan, .infinity, -.infinity, 0, -0.0, 1e-40, -1e-40,
                         Float(random.unit()), Float(random.unit()), Float(random.unit()) * 100])
        }
    }

    /// Same bits, where any NaN equals any NaN (which NaN payload an addition propagates
    /// depends on operand order, which vector code may swap; it carries no meaning here).
    private func sameBits(_ a: [Float], _ b: [Float]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) }
    }

    private func sameBits(_ a: [Double], _ b: [Double]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) }
    }

    func testElementwiseFloatMatchesScalarLoopsBitForBit() {
        for (isa, name) in paths {
            let kernels = slope_elementwise_for_isa(isa)!.pointee
            for seed in UInt64(0)..<60 {
                var random = TestRandom(seed: seed)
                let m = random.int(1...9), n = random.int(1...40), ldc = n + random.pick([0, 3])
                let original = awkwardValues(m * ldc, &random)
                let bias = awkwardValues(n, &random)
                for (useBias, relu) in [(true, true), (true, false), (false, true)] {
                    var expected = original
                    for i in 0..<m {
                        for j in 0..<n {
                            var value = expected[i * ldc + j]
                            if useBias { value += bias[j] }
                            if relu { value = Swift.max(value, 0) }
                            expected[i * ldc + j] = value
                        }
                    }
                    var actual = original
                    kernels.sbias_activate!(Int32(m), Int32(n), &actual, Int32(ldc), useBias ? bias : nil, relu ? 1 : 0)
                    XCTAssertTrue(sameBits(actual, expected), "\(name) bias_activate seed \(seed) bias \(useBias) relu \(relu)")
                }

                let count = m * ldc
                let activation = awkwardValues(count, &random)
                var delta = original
                kernels.srelu_backward!(count, &delta, activation)
                let expectedDelta = (0..<count).map { original[$0] * (activation[$0] > 0 ? 1 : 0) }
                XCTAssertTrue(sameBits(delta, expectedDelta), "\(name) relu_backward seed \(seed)")

                var sums = [Float](repeating: .nan, count: n)
                kernels.scolumn_sums!(Int32(m), Int32(n), original, Int32(ldc), &sums)
                var expectedSums = [Float](repeating: 0, count: n)
                for i in 0..<m { for j in 0..<n { expectedSums[j] += original[i * ldc + j] } }
                XCTAssertTrue(sameBits(sums, expectedSums), "\(name) column_sums seed \(seed)")

                let learningRate = Float(random.unit())
                var weights = activation, gradientSums = bias + original
                let gradients = original
                var expectedWeights = weights, expectedSumsSGD = gradientSums
                for i in 0..<count {
                    expectedWeights[i] -= learningRate * gradients[i]
                    expectedSumsSGD[i] += gradients[i]
                }
                kernels.ssgd_step!(count, learningRate, &weights, gradients, &gradientSums)
                XCTAssertTrue(sameBits(weights, expectedWeights), "\(name) sgd_step weights seed \(seed)")
                XCTAssertTrue(sameBits(gradientSums, expectedSumsSGD), "\(name) sgd_step sums seed \(seed)")
                var weightsOnly = activation
                kernels.ssgd_step!(count, learningRate, &weightsOnly, gradients, nil)
                XCTAssertTrue(sameBits(weightsOnly, expectedWeights), "\(name) sgd_step without sums seed \(seed)")
            }
        }
    }

    func testElementwiseDoubleMatchesScalarLoopsBitForBit() {
        for (isa, name) in paths {
            let kernels = slope_elementwise_for_isa(isa)!.pointee
            for seed in UInt64(100)..<140 {
                var random = TestRandom(seed: seed)
                let m = random.int(1...7), n = random.int(1...21), ldc = n + random.pick([0, 2])
                let original = awkwardValues(m * ldc, &random).map(Double.init)
                let bias = (0..<n).map { _ in random.unit() }
                var expected = original
                for i in 0..<m {
                    for j in 0..<n {
                        let value = expected[i * ldc + j] + bias[j]
                        expected[i * ldc + j] = Swift.max(value, 0)
                    }
                }
                var actual = original
                kernels.dbias_activate!(Int32(m), Int32(n), &actual, Int32(ldc), bias, 1)
                XCTAssertTrue(sameBits(actual, expected), "\(name) bias_activate seed \(seed)")

                let count = m * ldc
                let activation = awkwardValues(count, &random).map(Double.init)
                var delta = original
                kernels.drelu_backward!(count, &delta, activation)
                XCTAssertTrue(sameBits(delta, (0..<count).map { original[$0] * (activation[$0] > 0 ? 1 : 0) }),
                              "\(name) relu_backward seed \(seed)")

                var sums = [Double](repeating: .nan, count: n)
                kernels.dcolumn_sums!(Int32(m), Int32(n), original, Int32(ldc), &sums)
                var expectedSums = [Double](repeating: 0, count: n)
                for i in 0..<m { for j in 0..<n { expectedSums[j] += original[i * ldc + j] } }
                XCTAssertTrue(sameBits(sums, expectedSums), "\(name) column_sums seed \(seed)")

                let learningRate = random.unit()
                var weights = activation, gradientSums = original
                var expectedWeights = weights, expectedGradientSums = gradientSums
                for i in 0..<count {
                    expectedWeights[i] -= learningRate * original[i]
                    expectedGradientSums[i] += original[i]
                }
                kernels.dsgd_step!(count, learningRate, &weights, original, &gradientSums)
                XCTAssertTrue(sameBits(weights, expectedWeights), "\(name) sgd_step seed \(seed)")
                XCTAssertTrue(sameBits(gradientSums, expectedGradientSums), "\(name) sgd_step sums seed \(seed)")
            }
        }
    }

    /// The public entry points go to the chosen path and accept empty sizes.
    func testElementwiseEntryPoints() {
        var c: [Float] = [-1, 2, -3, 4]
        slope_sbias_activate(2, 2, &c, 2, [0.5, -5], 1)
        XCTAssertEqual(c, [0, 0, 0, 0])
        var d: [Double] = [-1, 2, -3, 4]
        slope_dbias_activate(2, 2, &d, 2, [0.5, -5], 0)
        XCTAssertEqual(d, [-0.5, -3, -2.5, -1])
        var sums: [Double] = [9, 9]
        slope_dcolumn_sums(2, 2, d, 2, &sums)
        XCTAssertEqual(sums, [-3, -4])
        var delta: [Float] = [1, 2, 3]
        slope_srelu_backward(3, &delta, [1, 0, -1])
        XCTAssertEqual(delta, [1, 0, 0])
        var weights: [Float] = [1, 1], gradientSums: [Float] = [0, 1]
        slope_ssgd_step(2, 0.5, &weights, [2, -4], &gradientSums)
        XCTAssertEqual(weights, [0, 3])
        XCTAssertEqual(gradientSums, [2, -3])
        slope_ssgd_step(0, 0.5, &weights, [2, -4], nil)  // nothing to do
        slope_scolumn_sums(0, 2, [], 2, &weights)  // zero rows: zero sums
        XCTAssertEqual(weights, [0, 0])
    }
}
