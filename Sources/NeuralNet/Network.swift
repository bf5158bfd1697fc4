// The network: layer layout inside the flat parameter buffer, and each layer's forward and
// backward pass side by side, as batched matrix products (CKernels gemm, or a direct loop for
// matrices too small to pay a kernel call's set-up).

/// Where one dense layer lives in the flat parameter buffer (llm.c style: one allocation for all
/// parameters, so zeroing and the optimizer are single flat loops).
struct DenseLayout {
    let inputs: Int
    let outputs: Int
    /// weight: [inputs x outputs] row-major, at parameters + weightOffset.
    let weightOffset: Int
    /// bias: [outputs], at parameters + biasOffset (-1: no bias).
    let biasOffset: Int
    let activation: Activation

    var weightCount: Int { inputs * outputs }
    var hasBias: Bool { biasOffset >= 0 }

    static func layouts(for configuration: TrainingConfiguration) -> (layouts: [DenseLayout], parameterCount: Int) {
        var layouts = [DenseLayout]()
        var offset = 0
        for layer in 1...configuration.layerCount {
            let inputs = configuration.layerSizes[layer - 1], outputs = configuration.layerSizes[layer]
            let weightOffset = offset
            offset += inputs * outputs
            var biasOffset = -1
            if configuration.usesBias {
                biasOffset = offset
                offset += outputs
            }
            layouts.append(DenseLayout(inputs: inputs, outputs: outputs, weightOffset: weightOffset,
                                       biasOffset: biasOffset, activation: configuration.activation(ofLayer: layer)))
        }
        return (layouts, offset)
    }
}

/// Products below this many multiply-adds use the direct loop, inlined here: for a 2-2-1 network
/// at batch 1 even the call into the C kernel costs more than the arithmetic. (The C gemm has a
/// small-product path of its own, SMALL_WORK, for other callers.)
let directProductLimit = 512

/// C[m x n] = op(A)[m x k] * op(B)[k x n], row-major with row strides.
@inline(__always)
func multiply<Scalar: NetworkScalar>(
    transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
    _ a: UnsafePointer<Scalar>, lda: Int, _ b: UnsafePointer<Scalar>, ldb: Int,
    into c: UnsafeMutablePointer<Scalar>, ldc: Int
) {
    if m * n * k <= directProductLimit {
        // The readable reference: sum over p of op(A)[i, p] * op(B)[p, j].
        for i in 0..<m {
            for j in 0..<n {
                var sum: Scalar = 0
                for p in 0..<k {
                    let left = transA ? a[p * lda + i] : a[i * lda + p]
                    let right = transB ? b[j * ldb + p] : b[p * ldb + j]
                    sum += left * right
                }
                c[i * ldc + j] = sum
            }
        }
    } else {
        Scalar.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1, a: a, lda: lda, b: b, ldb: ldb,
                    beta: 0, c: c, ldc: ldc)
    }
}

/// Applies an activation in place to `count` values. softmax is handled per row by the caller.
/// relu keeps NaN so a diverged network cannot hide behind zeros.
@inline(__always)
func activate<Scalar: NetworkScalar>(_ activation: Activation, _ values: UnsafeMutablePointer<Scalar>, count: Int) {
    switch activation {
    case .relu:
        // Swift.max(x, 0) is (0 >= x ? 0 : x): NaN stays NaN, and this form vectorizes (checked in the assembly).
        for index in 0..<count { values[index] = Swift.max(values[index], 0) }
    case .tanh:
        for index in 0..<count { values[index] = Scalar.hyperbolicTangent(values[index]) }
    case .sigmoid:
        for index in 0..<count { values[index] = 1 / (1 + Scalar.exponential(-values[index])) }
    case .identity, .softmax:
        break
    }
}

/// The slope of the activation at a node, written in terms of the node's output value a.
@inline(__always)
func activationSlope<Scalar: NetworkScalar>(_ activation: Activation, output a: Scalar) -> Scalar {
    switch activation {
    case .relu: return a > 0 ? 1 : 0
    case .tanh: return 1 - a * a
    case .sigmoid: return a * (1 - a)
    case .identity, .softmax: return 1
    }
}

/// delta[index] *= slope of the activation at values[index] (turns dL/dA into dL/dZ).
@inline(__always)
func multiplyBySlope<Scalar: NetworkScalar>(_ activation: Activation, _ delta: UnsafeMutablePointer<Scalar>,
                                            outputs values: UnsafePointer<Scalar>, count: Int) {
    switch activation {
    case .relu:
        Scalar.reluBackward(count: count, delta: delta, activation: values)   // vectorized in CKernels
    case .tanh:
        for index in 0..<count { delta[index] *= 1 - values[index] * values[index] }
    case .sigmoid:
        for index in 0..<count { delta[index] *= values[index] * (1 - values[index]) }
    case .identity, .softmax:
        break
    }
}

/// Buffers for one batch size, allocated once (the training hot path allocates nothing).
/// Shapes for a batch of B rows, layer l = 1...L with n_l units:
///   input [B x n_0] (gathered rows), activations[l] [B x n_l], logits [B x n_L],
///   deltas[l] [B x n_l] = dL/dZ_l, targets [B x n_L], labels [B], logSumExp [B] (softmax rows).
final class Workspace<Scalar: NetworkScalar> {
    let capacity: Int
    /// activations[0] is the gathered input buffer; activations[l] the outputs of layer l.
    let activations: [UnsafeMutablePointer<Scalar>]
    /// deltas[l] for l = 1...L (deltas[0] unused, aliases deltas[1]).
    let deltas: [UnsafeMutablePointer<Scalar>]
    let logits: UnsafeMutablePointer<Scalar>
    let targets: UnsafeMutablePointer<Scalar>
    let logSumExp: UnsafeMutablePointer<Scalar>
    let labels: UnsafeMutablePointer<Int>
    private let storage: UnsafeMutablePointer<Scalar>

    init(capacity: Int, layerSizes: [Int]) {
        self.capacity = capacity
        let outputs = layerSizes[layerSizes.count - 1]
        let total = capacity * (layerSizes.reduce(0, +) + layerSizes.dropFirst().reduce(0, +) + 2 * outputs + 1)
        storage = UnsafeMutablePointer<Scalar>.allocate(capacity: max(total, 1))
        storage.initialize(repeating: 0, count: max(total, 1))
        var cursor = storage
        var activations = [UnsafeMutablePointer<Scalar>]()
        for size in layerSizes {
            activations.append(cursor)
            cursor += capacity * size
        }
        var deltas = [UnsafeMutablePointer<Scalar>]()
        for size in layerSizes.dropFirst() {
            deltas.append(cursor)
            cursor += capacity * size
        }
        self.activations = activations
        self.deltas = [deltas[0]] + deltas
        logits = cursor
        cursor += capacity * outputs
        targets = cursor
        cursor += capacity * outputs
        logSumExp = cursor
        labels = UnsafeMutablePointer<Int>.allocate(capacity: max(capacity, 1))
        labels.initialize(repeating: 0, count: max(capacity, 1))
    }

    deinit {
        storage.deallocate()
        labels.deallocate()
    }
}

/// Forward and backward passes of one network over a workspace. Parameter and gradient buffers
/// are passed in (flat, laid out by `layouts`).
struct Network<Scalar: NetworkScalar> {
    let layouts: [DenseLayout]
    let loss: LossFunction

    var layerCount: Int { layouts.count }
    var outputCount: Int { layouts[layouts.count - 1].outputs }

    /// Runs `rows` rows of `input` ([rows x n_0]) through the network into the workspace:
    /// activations[l] for every layer, logits (pre-activations of the output layer), and for a
    /// softmax output the log-sum-exp of each row.
    @inline(__always)
    func forward(rows: Int, input: UnsafePointer<Scalar>, parameters: UnsafePointer<Scalar>, workspace: Workspace<Scalar>) {
        var below = input
        let last = layouts.count - 1
        for index in 0...last {
            let layout = layouts[index]
            let output = index == last ? workspace.logits : workspace.activations[index + 1]
            // Z [rows x out] = A_below [rows x in] * W [in x out] (+ bias)
            multiply(transA: false, transB: false, m: rows, n: layout.outputs, k: layout.inputs,
                     below, lda: layout.inputs, parameters + layout.weightOffset, ldb: layout.outputs,
                     into: output, ldc: layout.outputs)
            Scalar.biasActivate(m: rows, n: layout.outputs, c: output, ldc: layout.outputs,
                                bias: layout.hasBias ? UnsafePointer(parameters + layout.biasOffset) : nil,
                                relu: index != last && layout.activation == .relu)
            let count = rows * layout.outputs
            if index == last {
                let activations = workspace.activations[index + 1]
                if layout.activation == .softmax {
                    softmax(rows: rows, columns: layout.outputs, logits: output, into: activations, logSumExp: workspace.logSumExp)
                } else {
                    activations.update(from: output, count: count)
                    activate(layout.activation, activations, count: count)
                }
            } else if layout.activation != .relu {
                activate(layout.activation, output, count: count)
            }
            below = UnsafePointer(output)
        }
    }

    /// probabilities[r] = exp(z[r] - max) / sum; logSumExp[r] = max + log(sum).
    @inline(__always)
    private func softmax(rows: Int, columns: Int, logits: UnsafePointer<Scalar>, into probabilities: UnsafeMutablePointer<Scalar>,
                         logSumExp: UnsafeMutablePointer<Scalar>) {
        for row in 0..<rows {
            let z = logits + row * columns, p = probabilities + row * columns
            var largest = z[0]
            for column in 1..<max(columns, 1) where z[column] > largest { largest = z[column] }
            var sum: Scalar = 0
            for column in 0..<columns {
                let value = Scalar.exponential(z[column] - largest)
                p[column] = value
                sum += value
            }
            let scale = 1 / sum
            for column in 0..<columns { p[column] *= scale }
            logSumExp[row] = largest + Scalar.logarithm(sum)
        }
    }

    /// The batch's mean loss (over rows, and over outputs for mse / binary cross-entropy) and the
    /// number of correct predictions; with `computeDelta`, also dL/dZ of the output layer into
    /// deltas[L] (the 1/N of the mean included, so gradients come out as batch means).
    /// Targets: workspace.targets for mse / binary cross-entropy, workspace.labels for cross-entropy.
    @inline(__always)
    func lossAndOutputDelta(rows: Int, workspace: Workspace<Scalar>, accuracy: AccuracyMode, computeDelta: Bool)
        -> (loss: Double, correct: Int) {
        let layer = layouts.count
        let outputs = outputCount
        let count = rows * outputs
        let predictions = workspace.activations[layer]
        let logits = workspace.logits
        let targets = workspace.targets
        let delta = workspace.deltas[layer]
        var lossSum: Scalar = 0
        switch loss {
        case .meanSquaredError:
            let scale = 2 / Scalar(count)
            let activation = layouts[layer - 1].activation
            for index in 0..<count {
                let difference = predictions[index] - targets[index]
                lossSum += difference * difference
                if computeDelta {
                    delta[index] = scale * difference * activationSlope(activation, output: predictions[index])
                }
            }
            lossSum /= Scalar(count)
        case .binaryCrossEntropy:
            // From the logits: max(z, 0) - z y + log(1 + exp(-|z|)), exact and never infinite.
            let scale = 1 / Scalar(count)
            for index in 0..<count {
                let z = logits[index], y = targets[index]
                lossSum += max(z, 0) - z * y + Scalar.logarithmOnePlus(Scalar.exponential(-abs(z)))
                if computeDelta { delta[index] = scale * (predictions[index] - y) }
            }
            lossSum /= Scalar(count)
        case .crossEntropy:
            let scale = 1 / Scalar(rows)
            for row in 0..<rows {
                let label = workspace.labels[row]
                lossSum += workspace.logSumExp[row] - logits[row * outputs + label]
                if computeDelta {
                    let line = delta + row * outputs, p = predictions + row * outputs
                    for unit in 0..<outputs { line[unit] = scale * p[unit] }
                    line[label] -= scale
                }
            }
            lossSum /= Scalar(rows)
        }
        var correct = 0
        switch accuracy {
        case .none:
            break
        case .argmax:
            for row in 0..<rows {
                let p = predictions + row * outputs
                var best = 0
                for unit in 1..<max(outputs, 1) where p[unit] > p[best] { best = unit }
                if best == workspace.labels[row] { correct += 1 }
            }
        case .threshold:
            for index in 0..<count where (predictions[index] > 0.5) == (targets[index] > 0.5) { correct += 1 }
        }
        return (Double(lossSum), correct)
    }

    /// Backward pass for the batch whose forward pass and output delta are in the workspace.
    /// Writes (overwrites) the batch-mean gradients into `gradients`:
    ///   dW_l [in x out] = A_{l-1}^T [in x rows] * delta_l [rows x out];  db_l = column sums of delta_l;
    ///   delta_{l-1} = (delta_l * W_l^T) (.) slope of activation l-1 at A_{l-1}.
    @inline(__always)
    func backward(rows: Int, input: UnsafePointer<Scalar>, parameters: UnsafePointer<Scalar>,
                  gradients: UnsafeMutablePointer<Scalar>, workspace: Workspace<Scalar>) {
        var layer = layouts.count
        while layer >= 1 {
            let layout = layouts[layer - 1]
            let delta = workspace.deltas[layer]
            let below = layer == 1 ? input : UnsafePointer(workspace.activations[layer - 1])
            multiply(transA: true, transB: false, m: layout.inputs, n: layout.outputs, k: rows,
                     below, lda: layout.inputs, delta, ldb: layout.outputs,
                     into: gradients + layout.weightOffset, ldc: layout.outputs)
            if layout.hasBias {
                Scalar.columnSums(m: rows, n: layout.outputs, x: delta, ldx: layout.outputs, sums: gradients + layout.biasOffset)
            }
            if layer > 1 {
                let deltaBelow = workspace.deltas[layer - 1]
                multiply(transA: false, transB: true, m: rows, n: layout.inputs, k: layout.outputs,
                         delta, lda: layout.outputs, parameters + layout.weightOffset, ldb: layout.outputs,
                         into: deltaBelow, ldc: layout.inputs)
                multiplyBySlope(layouts[layer - 2].activation, deltaBelow, outputs: workspace.activations[layer - 1],
                                count: rows * layout.inputs)
            }
            layer -= 1
        }
    }
}

/// How predictions are scored: argmax against labels, or (prediction > 0.5) == (target > 0.5)
/// per output (binary targets), or not at all (regression).
enum AccuracyMode {
    case none, argmax, threshold
}
