// BenchStore: the Slope side of scripts/bench-store. Writes the logging workloads of
// WORKLOADS.md (log-digits, log-wide) through SlopeStore's EpochWriter, as `runner` does: per
// epoch all weights and all gradients (random float32, generated before the timed section) and
// two losses, one transaction per epoch, committed in order; a run's time ends when its last
// epoch is committed. Prints one JSON line per workload (median of the repetitions).
//   usage: BenchStore --dir SCRATCH [--workloads log-digits,log-wide] [--reps 3]
//          BenchStore --postgres URL [--workloads ...] [--reps 3]
//   --postgres: a PostgreSQL database URL whose `{rep}` is replaced by the repetition's number
//   (0, 1, ...): one empty database per repetition, made (and dropped) by the caller.
//   --variant NAME names the result line (default: SlopeStore, or SlopeStore postgres).
//   --capacity N: the EpochWriter's capacity (see below).
//   BENCHSTORE_DUMP=FILE also writes every submit's latency (microseconds, one a line, in call
//   order: how long the caller waited) of the last workload, to find stalls (checkpoints, preemption).
import Foundation
import Store

struct Workload {
    let name: String, sizes: [Int], runs: Int, epochs: Int
}
let workloads = [
    Workload(name: "log-digits", sizes: [64, 64, 10], runs: 18, epochs: 30),
    Workload(name: "log-wide", sizes: [256, 512, 512, 10], runs: 4, epochs: 20),
]

func usage(_ problem: String) -> Never {
    FileHandle.standardError.write(Data("""
        error: \(problem)
        usage: BenchStore (--dir SCRATCH | --postgres URL-with-{rep}) [--workloads log-digits,log-wide] [--reps 3] [--capacity N] [--variant NAME]

        """.utf8))
    exit(2)
}
let known: Set = ["--dir", "--postgres", "--workloads", "--reps", "--capacity", "--variant"]
var options: [String: String] = ["--workloads": "log-digits,log-wide", "--reps": "3"]
var argumentIterator = CommandLine.arguments.dropFirst().makeIterator()
while let key = argumentIterator.next() {
    guard known.contains(key) else { usage("unknown option \(key)") }
    guard let value = argumentIterator.next() else { usage("\(key) needs a value") }
    options[key] = value
}
let scratch = options["--dir"], postgresTemplate = options["--postgres"]
guard (scratch == nil) != (postgresTemplate == nil) else { usage("give one of --dir and --postgres") }
guard let repetitions = Int(options["--reps"]!), repetitions >= 1 else { usage("--reps takes a whole number >= 1") }
/// --capacity N: the EpochWriter's capacity (default: the store's; on PostgreSQL 1 commits each
/// epoch alone, as a run whose epochs are slower than the server's commits does).
let writerCapacity = options["--capacity"].map { value in
    guard let capacity = Int(value), capacity >= 1 else { usage("--capacity takes a whole number >= 1") }
    return capacity
}

/// xorshift64* → uniform floats in [-scale, scale]: incompressible, like the reference's normals.
struct Generator {
    var state: UInt64
    mutating func floats(_ count: Int, scale: Float) -> [UInt8] {
        var values = [Float](repeating: 0, count: count)
        values.withUnsafeMutableBufferPointer { buffer in
            for index in buffer.indices {
                state ^= state >> 12; state ^= state << 25; state ^= state >> 27
                let bits = (state &* 0x2545_F491_4F6C_DD1D) >> 40   // 24 random bits
                buffer[index] = (Float(bits) / Float(1 << 23) - 1) * scale
            }
        }
        return values.withUnsafeBytes { [UInt8]($0) }
    }
}

struct Epoch { let tensors: [SlopeStore.TensorRecord]; let trainLoss: Double; let validationLoss: Double }

func payload(_ workload: Workload, run: Int) -> [Epoch] {
    var generator = Generator(state: 0x9E37_79B9_7F4A_7C15 &* UInt64(run + 1))
    return (0..<workload.epochs).map { epoch in
        var tensors: [SlopeStore.TensorRecord] = []
        for (kinds, scale) in [((SlopeStore.TensorKind.weight, SlopeStore.TensorKind.bias), Float(0.05)),
                               ((.weightGradient, .biasGradient), Float(1e-3))] {
            for (index, (inputs, outputs)) in zip(workload.sizes, workload.sizes.dropFirst()).enumerated() {
                tensors.append(.init(layer: index + 1, kind: kinds.0, rows: inputs, cols: outputs, dtype: .float32,
                                     data: generator.floats(inputs * outputs, scale: scale)))
                tensors.append(.init(layer: index + 1, kind: kinds.1, rows: 1, cols: outputs, dtype: .float32,
                                     data: generator.floats(outputs, scale: scale)))
            }
        }
        let decay = exp(-0.1 * Double(epoch))
        return Epoch(tensors: tensors, trainLoss: 2.3 * decay, validationLoss: 2.3 * exp(-0.09 * Double(epoch)))
    }
}

func directorySize(_ path: String) -> Int {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
    return names.reduce(0) { total, name in
        let attributes = try? FileManager.default.attributesOfItem(atPath: path + "/" + name)
        return total + ((attributes?[.size] as? NSNumber)?.intValue ?? 0)
    }
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

let worker = WorkerIdentity.current(label: "BenchStore")
var epochTimes: [Double] = []   // microseconds per submit call
for name in options["--workloads"]!.split(separator: ",").map(String.init) {
    guard let workload = workloads.first(where: { $0.name == name }) else { usage("unknown workload \(name): give log-digits and/or log-wide") }
    var results: [(epochsPerSecond: Double, megabytesPerSecond: Double, wall: Double, setup: Double, close: Double, bytes: Int)] = []
    var tensorBytes = 0
    for repetition in 0..<repetitions {
        // SQLite: a new file per repetition; PostgreSQL: the repetition's empty database.
        let directory = scratch.map { "\($0)/slope_\(name)_rep\(repetition)" }
        if let directory {
            try? FileManager.default.removeItem(atPath: directory)
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let location = directory.map { $0 + "/runs.db" }
            ?? postgresTemplate!.replacingOccurrences(of: "{rep}", with: String(repetition))
        var store: SlopeStore?
        let setup = try seconds { store = try SlopeStore(location: location) }
        var wall = 0.0
        tensorBytes = 0
        for run in 0..<workload.runs {
            let epochs = payload(workload, run: run)   // untimed, like the reference's payloads
            tensorBytes += epochs.reduce(0) { $0 + $1.tensors.reduce(0) { $0 + $1.data.count } }
            wall += try seconds {
                let runID = try store!.createRun(SlopeStore.NewRun(
                    name: "run\(run)", learningRate: 0.05, batchSize: 32, epochs: workload.epochs, seed: UInt64(run),
                    layers: workload.sizes.map(String.init).joined(separator: "-"), activation: "relu",
                    outputActivation: "softmax", loss: "cross-entropy", dataset: "synthetic",
                    configJSON: #"{"run": \#(run)}"#, slopeVersion: "bench"))
                guard let claimToken = try store!.claimRun(runID: runID, worker: worker)?.claimToken else { throw StoreError.notFound("queued run \(runID)") }
                // As `runner` logs: through the store's EpochWriter, which stores the epochs in order,
                // behind the caller (on SQLite each in its own transaction; on PostgreSQL the epochs
                // queued meanwhile in one statement); finish() returns once all are committed.
                let writer = store!.epochWriter(runID: runID, holder: RunHolder(worker: worker, claimToken: claimToken),
                                                capacity: writerCapacity)
                for (index, epoch) in epochs.enumerated() {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    defer { epochTimes.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e3) }
                    try writer.submit(.init(epoch: index, trainLoss: epoch.trainLoss, validationLoss: epoch.validationLoss),
                                      tensors: epoch.tensors)
                }
                try writer.finish()
                try store!.finishRun(runID: runID, status: .completed, stopReason: "completed all epochs")
            }
        }
        // Like the reference: the final checkpoint and close are timed apart, not in epochs/s.
        let close = seconds { store = nil }
        let epochsPerSecond = Double(workload.runs * workload.epochs) / wall
        // The database's size on PostgreSQL is measured by the caller, which owns the database.
        results.append((epochsPerSecond, Double(tensorBytes) / 1e6 / wall, wall, setup, close, directory.map(directorySize) ?? 0))
        if repetition > 0, let directory { try? FileManager.default.removeItem(atPath: directory) }
    }
    // Latency of single submit calls over all repetitions (how long the caller waited): the median is the steady cost,
    // the tail shows stalls (checkpoints, other processes on the machine).
    let sortedTimes = epochTimes.sorted()
    let percentiles = [50, 90, 99].map { sortedTimes[min(sortedTimes.count - 1, sortedTimes.count * $0 / 100)] }
    if let dump = ProcessInfo.processInfo.environment["BENCHSTORE_DUMP"] {
        try epochTimes.map { String(format: "%.0f", $0) }.joined(separator: "\n").write(toFile: dump, atomically: true, encoding: .utf8)
    }
    epochTimes = []
    let median = results.sorted { $0.epochsPerSecond < $1.epochsPerSecond }[results.count / 2]
    let all = results.map { String(format: "%.1f", $0.epochsPerSecond) }.joined(separator: ",")
    let variant = options["--variant"] ?? (postgresTemplate == nil ? "SlopeStore" : "SlopeStore postgres")
    print(#"{"kind": "log", "anchor": "slope_store", "variant": "\#(variant)", "workload": "\#(name)", "#
          + #""runs": \#(workload.runs), "epochs_per_run": \#(workload.epochs), "tensor_bytes_generated": \#(tensorBytes), "#
          + #""epochs_per_s": \#(median.epochsPerSecond), "tensor_MB_per_s": \#(median.megabytesPerSecond), "#
          + #""store_wall_s": \#(median.wall), "setup_s": \#(median.setup), "close_s": \#(median.close), "#
          + #""db_bytes": \#(median.bytes), "epochs_per_s_all": [\#(all)], "#
          + #""submit_us_p50_p90_p99": [\#(percentiles.map { String(format: "%.0f", $0) }.joined(separator: ","))]}"#)
}
