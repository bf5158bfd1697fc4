// BenchTrain: the Slope side of scripts/bench-train. Loads one workload of
// ../shared/WORKLOADS.md from CSV, trains it with NeuralNet's Trainer exactly as
// ../shared/bench/numpy_mlp.py does (dense, relu hidden, plain SGD, same batch, learning
// rate, epochs, glorot-uniform weights, zero biases) and prints training samples per second.
//
// usage: BenchTrain --data DIR --workload tiny|digits|wide [--precision float32|float64]
//                   [--reps 3] [--warmup 1] [--seed 0] [--reference-path]
// --reference-path: train on the reference kernels, without the batch-1 small-network fast path
// (same bits, for comparison).
// --gemm-only: time only the matrix products a training run makes (float32; the same shapes and
// transposes as Network.forward/backward, per batch), to split wide's time into products and the rest.
// Prints one JSON object on stdout (and a readable line on stderr).
//
// Timing mirrors the reference's common.bench_training: `warmup` untimed trainings, then at
// least `reps` timed ones, more (up to 50) while the timed total is under one second; the
// median is reported. A timed training starts after epoch 0 has been reported (the trainer
// evaluates the initial weights first, which the reference does not do) and ends when
// `run` returns, so it covers every epoch's shuffling, batches, updates and epoch results.
import CKernels
import Foundation
import NeuralNet

struct Workload {
    let file: String
    let layerSizes: [Int]
    let isClassification: Bool
    let batchSize: Int
    let learningRate: Double
    let epochs: Int
    /// digits trains on the first 80% of the (pre-shuffled) rows, as the reference does.
    let trainingFraction: Double

    static let all: [String: Workload] = [
        "tiny": Workload(file: "tiny.csv", layerSizes: [2, 2, 1], isClassification: false, batchSize: 1,
                         learningRate: 0.001, epochs: 20, trainingFraction: 1),
        "digits": Workload(file: "digits.csv", layerSizes: [64, 64, 10], isClassification: true, batchSize: 32,
                           learningRate: 0.05, epochs: 30, trainingFraction: 0.8),
        "wide": Workload(file: "wide.csv", layerSizes: [256, 512, 512, 10], isClassification: true, batchSize: 128,
                         learningRate: 0.01, epochs: 5, trainingFraction: 1),
    ]
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
}

/// Reads a numeric CSV with a header row; the last column is the target (`y` or `label`).
/// Plain strtod over the bytes: the 59 MB wide.csv loads in well under a second.
func loadCSV(path: String, isClassification: Bool, trainingFraction: Double) throws -> Dataset {
    guard var bytes = FileManager.default.contents(atPath: path).map({ [UInt8]($0) }) else {
        throw BenchError(description: "cannot read \(path) (make it with python3 ../shared/bench/make_data.py DIR)")
    }
    bytes.append(0)
    guard let headerEnd = bytes.firstIndex(of: UInt8(ascii: "\n")) else {
        throw BenchError(description: "\(path): no header line")
    }
    let header = String(decoding: bytes[..<headerEnd], as: UTF8.self).split(separator: ",").map(String.init)
    let columns = header.count
    var values = [Double]()
    values.reserveCapacity(bytes.count / 8)
    bytes.withUnsafeBufferPointer { buffer in
        let base = UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self)
        var cursor = UnsafeMutablePointer(mutating: base + headerEnd + 1)
        while cursor.pointee != 0 {
            var end: UnsafeMutablePointer<CChar>? = nil
            let value = strtod(cursor, &end)
            guard let next = end, next != cursor else { break }
            values.append(value)
            cursor = next
            while cursor.pointee == UInt8(ascii: ",") || cursor.pointee == UInt8(ascii: "\n")
                || cursor.pointee == UInt8(ascii: "\r") { cursor += 1 }
        }
    }
    guard columns >= 2, values.count % columns == 0 else {
        throw BenchError(description: "\(path): \(values.count) numbers do not fill rows of \(columns) columns")
    }
    let allRows = values.count / columns
    let rows = trainingFraction < 1 ? Int(Double(allRows) * trainingFraction) : allRows
    var features = [Double]()
    features.reserveCapacity(rows * (columns - 1))
    var targets = [Double]()
    for row in 0..<rows {
        features.append(contentsOf: values[(row * columns)..<(row * columns + columns - 1)])
        targets.append(values[row * columns + columns - 1])
    }
    let targetSpec: Dataset.Targets
    if isClassification {
        let labels = targets.map { Int($0) }
        targetSpec = .labels(labels, classCount: (labels.max() ?? 0) + 1)
    } else {
        targetSpec = .values(targets, columns: 1)
    }
    return Dataset(features: features, rowCount: rows, featureCount: columns - 1,
                   featureNames: Array(header.dropLast()), targets: targetSpec)
}

struct Options {
    var dataDirectory = ""
    var workload = ""
    var precision = Precision.float32
    var reps = 3
    var warmup = 1
    var seed: UInt64 = 0
    var referencePath = false
    var gemmOnly = false

    init(arguments: [String]) throws {
        var index = 0
        func value() throws -> String {
            index += 1
            guard index < arguments.count else { throw BenchError(description: "\(arguments[index - 1]) needs a value") }
            return arguments[index]
        }
        while index < arguments.count {
            switch arguments[index] {
            case "--data": dataDirectory = try value()
            case "--workload": workload = try value()
            case "--precision":
                let name = try value()
                guard let parsed = Precision(rawValue: name) else { throw BenchError(description: "--precision \(name): float32 or float64") }
                precision = parsed
            case "--reps": reps = Int(try value()) ?? 3
            case "--warmup": warmup = Int(try value()) ?? 1
            case "--seed": seed = UInt64(try value()) ?? 0
            case "--reference-path": referencePath = true
            case "--gemm-only": gemmOnly = true
            case let other: throw BenchError(description: "unknown argument \(other)")
            }
            index += 1
        }
        guard !dataDirectory.isEmpty, Workload.all[workload] != nil else {
            throw BenchError(description: "usage: BenchTrain --data DIR --workload tiny|digits|wide [--precision float32|float64] [--reps N] [--warmup N]")
        }
    }
}

/// CPU seconds this process has used (all threads): unlike wall time, it hardly moves when
/// other processes share the machine, so the script can also print a load-independent ratio.
func processCPUSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
}

/// Trains once; returns the wall and CPU seconds from the end of epoch 0 to the end of
/// training, and the last epoch's train loss.
func trainOnce(_ configuration: TrainingConfiguration, _ data: Dataset, referencePath: Bool)
    throws -> (seconds: Double, cpuSeconds: Double, loss: Double) {
    let trainer = try Trainer(configuration: configuration, training: data, validation: nil)
    trainer.usesSmallNetworkPath = !referencePath
    let clock = ContinuousClock()
    var start = clock.now
    var cpuStart = processCPUSeconds()
    var lastLoss = Double.nan
    let outcome = try trainer.run { result in
        if result.epoch == 0 {
            start = clock.now
            cpuStart = processCPUSeconds()
        }
        lastLoss = result.trainLoss
        return .proceed
    }
    let elapsed = clock.now - start
    let cpuSeconds = processCPUSeconds() - cpuStart
    guard outcome == .completed else { throw BenchError(description: "training ended with \(outcome)") }
    return (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18, cpuSeconds, lastLoss)
}

/// The products of `epochs` epochs of float32 training of `sizes` on `rows` rows in batches of
/// `batch`, without anything else: wall and CPU seconds.
func timeProductsOnly(sizes: [Int], rows: Int, batch: Int, epochs: Int) -> (seconds: Double, cpuSeconds: Double) {
    func buffer(_ count: Int) -> UnsafeMutablePointer<Float> {
        let pointer = UnsafeMutablePointer<Float>.allocate(capacity: count)
        for index in 0..<count { pointer[index] = Float(index % 7) * 0.01 }
        return pointer
    }
    let weights = (1..<sizes.count).map { buffer(sizes[$0 - 1] * sizes[$0]) }
    let gradients = (1..<sizes.count).map { buffer(sizes[$0 - 1] * sizes[$0]) }
    let activations = sizes.map { buffer(batch * $0) }
    let deltas = sizes.map { buffer(batch * $0) }
    let clock = ContinuousClock()
    let start = clock.now, cpuStart = processCPUSeconds()
    for _ in 0..<epochs {
        var first = 0
        while first < rows {
            let m = Int32(min(batch, rows - first))
            for layer in 1..<sizes.count {  // Z = A_below W
                let k = Int32(sizes[layer - 1]), n = Int32(sizes[layer])
                slope_sgemm(0, 0, m, n, k, 1, activations[layer - 1], k, weights[layer - 1], n, 0, activations[layer], n)
            }
            for layer in stride(from: sizes.count - 1, through: 1, by: -1) {
                let inputs = Int32(sizes[layer - 1]), outputs = Int32(sizes[layer])
                // dW = A_below^T delta; delta_below = delta W^T
                slope_sgemm(1, 0, inputs, outputs, m, 1, activations[layer - 1], inputs, deltas[layer], outputs, 0, gradients[layer - 1], outputs)
                if layer > 1 {
                    slope_sgemm(0, 1, m, inputs, outputs, 1, deltas[layer], outputs, weights[layer - 1], outputs, 0, deltas[layer - 1], inputs)
                }
            }
            first += Int(m)
        }
    }
    let elapsed = clock.now - start
    let cpuSeconds = processCPUSeconds() - cpuStart
    for pointer in weights + gradients + activations + deltas { pointer.deallocate() }
    return (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18, cpuSeconds)
}

func main() throws {
    let options = try Options(arguments: Array(CommandLine.arguments.dropFirst()))
    let workload = Workload.all[options.workload]!
    if options.gemmOnly {
        let rows = workload.trainingFraction == 1 ? (workload.file == "wide.csv" ? 20_000 : 1_000) : 1_437
        let samples = Double(rows * workload.epochs)
        var rates: [Double] = [], cpuRates: [Double] = []
        _ = timeProductsOnly(sizes: workload.layerSizes, rows: rows, batch: workload.batchSize, epochs: workload.epochs)
        for _ in 0..<max(options.reps, 1) {
            let run = timeProductsOnly(sizes: workload.layerSizes, rows: rows, batch: workload.batchSize, epochs: workload.epochs)
            rates.append(samples / run.seconds)
            cpuRates.append(samples / run.cpuSeconds)
        }
        let record: [String: Any] = ["anchor": "slope-products-only", "workload": options.workload, "variant": "float32",
                                     "samples_per_s_median": rates.sorted()[rates.count / 2],
                                     "samples_per_cpu_s_median": cpuRates.sorted()[cpuRates.count / 2]]
        print(String(decoding: try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys]), as: UTF8.self))
        return
    }
    let data = try loadCSV(path: options.dataDirectory + "/" + workload.file,
                           isClassification: workload.isClassification, trainingFraction: workload.trainingFraction)
    let configuration = TrainingConfiguration(
        layerSizes: workload.layerSizes, hiddenActivation: .relu,
        outputActivation: workload.isClassification ? .softmax : .identity,
        loss: workload.isClassification ? .crossEntropy : .meanSquaredError,
        usesBias: true, initialization: .glorotUniform, learningRate: workload.learningRate,
        batchSize: workload.batchSize, epochs: workload.epochs, seed: options.seed, precision: options.precision)
    let samples = Double(data.rowCount * workload.epochs)
    for _ in 0..<options.warmup { _ = try trainOnce(configuration, data, referencePath: options.referencePath) }
    var rates = [Double]()
    var cpuRates = [Double]()
    var total = 0.0
    var loss = Double.nan
    while rates.count < options.reps || (total < 1 && rates.count < 50) {
        let run = try trainOnce(configuration, data, referencePath: options.referencePath)
        rates.append(samples / run.seconds)
        cpuRates.append(samples / run.cpuSeconds)
        total += run.seconds
        loss = run.loss
    }
    let hasSmallNetworkPath = try Trainer(configuration: configuration, training: data, validation: nil).hasSmallNetworkPath
    let cpuSorted = cpuRates.sorted()
    let sorted = rates.sorted()
    let median = sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    let record: [String: Any] = [
        "anchor": "slope", "workload": options.workload, "variant": options.precision.rawValue,
        "threads": 1, "samples_per_run": Int(samples), "samples_per_s_median": median,
        "samples_per_s_min": sorted.first!, "samples_per_s_max": sorted.last!, "reps": rates.count,
        "samples_per_cpu_s_median": cpuSorted[cpuSorted.count / 2],
        "epoch_loss_final": loss, "kernel_isa": String(cString: slope_kernel_isa()), "rates": rates,
        "path": options.referencePath || !hasSmallNetworkPath ? "reference" : "small-network",
    ]
    let json = try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys])
    print(String(decoding: json, as: UTF8.self))
    let isa = String(cString: slope_kernel_isa())
    let line = "slope \(options.precision.rawValue) \(options.workload) \(String(format: "%.0f", median)) samples/s"
        + "  epoch_loss=\(String(format: "%.5f", loss))  reps=\(rates.count)  kernels=\(isa)\n"
    FileHandle.standardError.write(Data(line.utf8))
}

do {
    try main()
} catch {
    FileHandle.standardError.write(Data("BenchTrain: \(error)\n".utf8))
    exit(1)
}
