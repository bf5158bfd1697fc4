// BenchSearch: the sampling-time part of scripts/bench-search. Records a TPE sweep of the search
// workload (examples/tpe-digits.yaml) with --trials finished trials (synthetic final losses, no
// training), then times --reps more claims of a new trial: the whole claim (one write transaction
// that reads every trial, samples, inserts and claims) and the sampling inside it, in wall time and
// in this thread's CPU time (on a shared machine, wall time includes waiting for a core). Prints one JSON line.
//   usage: BenchSearch --dir SCRATCH --spec examples/tpe-digits.yaml [--trials 1000] [--reps 30]
import Experiments
import Foundation
import Store

var options: [String: String] = ["--trials": "1000", "--reps": "30"]
var argumentIterator = CommandLine.arguments.dropFirst().makeIterator()
while let key = argumentIterator.next() {
    guard let value = argumentIterator.next() else { fatalError("missing value for \(key)") }
    options[key] = value
}
guard let scratch = options["--dir"], let specPath = options["--spec"], let trials = Int(options["--trials"]!),
      let repetitions = Int(options["--reps"]!) else {
    FileHandle.standardError.write(Data("usage: BenchSearch --dir SCRATCH --spec FILE.yaml [--trials 1000] [--reps 30]\n".utf8))
    exit(2)
}

var spec = try SweepSpec.load(path: specPath)
spec.count = trials + repetitions
let path = scratch + "/bench-search.db"
for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
let store = try SlopeStore(path: path)
let (sweepID, _) = try SweepPlan(spec: spec).enqueue(in: store)
let maker = TrialMaker(spec: spec)
try maker.preload()
let worker = WorkerIdentity.current()

/// A smooth stand-in for the final validation loss: best near lr = 0.05, batch 32, momentum 0.9.
func syntheticLoss(_ run: SlopeStore.RunRecord) -> Double {
    let settings = run.settings
    return 0.08 + 0.1 * pow(log10(settings.learningRate / 0.05), 2) + 0.02 * pow(log2(Double(settings.batchSize) / 32), 2)
        + 0.1 * pow(settings.momentum - 0.9, 2)
}

for _ in 0..<trials {
    guard let claimed = try store.claimNextTrial(sweepID: sweepID, trialCount: spec.count!, metric: maker.metric, worker: worker,
                                                 makeTrial: maker.makeTrial(after:)) else { fatalError("no trial") }
    let loss = syntheticLoss(claimed.run)
    try store.writeEpoch(runID: claimed.id, .init(epoch: 0, trainLoss: loss, validationLoss: loss), tensors: [], worker: worker)
    try store.finishRun(runID: claimed.id, status: .completed, stopReason: "synthetic")
}

/// This thread's CPU time in milliseconds.
func threadCPUMilliseconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
    return Double(time.tv_sec) * 1e3 + Double(time.tv_nsec) / 1e6
}

var claimTimes: [Double] = [], samplingTimes: [Double] = [], claimCPUTimes: [Double] = []
for _ in 0..<repetitions {
    var sampling = 0.0
    let startCPU = threadCPUMilliseconds()
    let start = DispatchTime.now().uptimeNanoseconds
    guard let claimed = try store.claimNextTrial(sweepID: sweepID, trialCount: spec.count!, metric: maker.metric, worker: worker,
                                                 makeTrial: { records in
        let begin = DispatchTime.now().uptimeNanoseconds
        defer { sampling = Double(DispatchTime.now().uptimeNanoseconds - begin) / 1e6 }
        return try maker.makeTrial(after: records)
    }) else { fatalError("no trial") }
    claimTimes.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
    claimCPUTimes.append(threadCPUMilliseconds() - startCPU)
    samplingTimes.append(sampling)
    // Finished before the next claim, so every timed claim sees `trials` or more finished trials.
    let loss = syntheticLoss(claimed.run)
    try store.writeEpoch(runID: claimed.id, .init(epoch: 0, trainLoss: loss, validationLoss: loss), tensors: [], worker: worker)
    try store.finishRun(runID: claimed.id, status: .completed, stopReason: "synthetic")
}
let median = { (values: [Double]) -> Double in values.sorted()[values.count / 2] }
print("{\"kind\": \"tpe-sampling\", \"finished_trials\": \(trials), \"reps\": \(repetitions), "
      + "\"claim_ms_median\": \(String(format: "%.3f", median(claimTimes))), \"sampling_ms_median\": \(String(format: "%.3f", median(samplingTimes))), "
      + "\"claim_cpu_ms_median\": \(String(format: "%.3f", median(claimCPUTimes))), \"claim_ms_max\": \(String(format: "%.3f", claimTimes.max()!))}")
