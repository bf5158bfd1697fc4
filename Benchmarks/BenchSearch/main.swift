// BenchSearch: the sampling-time part of scripts/bench-search. Records a TPE sweep of the search
// workload (examples/tpe-digits.yaml) with --trials finished trials (synthetic final losses, no
// training), then times --reps more claims of a new trial (one write transaction that reads the
// sweep's trials, samples, inserts and claims), alternating two ways, in wall time and in this
// thread's CPU time (on a shared machine, wall time includes waiting for a core):
//   claim       the worker's way: one TrialMaker kept across claims, which reads and parses only
//               the runs that may have changed since its last sample;
//   cold claim  a new TrialMaker each time (as a worker's first claim, and every claim before the
//               maker kept its history): every run read and its trial values parsed.
// Prints one JSON line.
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
spec.count = trials + 2 * repetitions
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
    guard let claimed = try maker.claimNextTrial(in: store, sweepID: sweepID, worker: worker) else { fatalError("no trial") }
    try finishSynthetically(claimed)
}

/// Ends a claimed trial with its synthetic loss as its only epoch.
func finishSynthetically(_ claimed: SlopeStore.ClaimedRun) throws {
    let loss = syntheticLoss(claimed.run)
    try store.writeEpoch(runID: claimed.id, .init(epoch: 0, trainLoss: loss, validationLoss: loss), tensors: [], holder: RunHolder(worker: worker, claimToken: claimed.claimToken))
    try store.finishRun(runID: claimed.id, status: .completed, stopReason: "synthetic")
}

/// This thread's CPU time in milliseconds.
func threadCPUMilliseconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
    return Double(time.tv_sec) * 1e3 + Double(time.tv_nsec) / 1e6
}

/// Wall and CPU milliseconds of one claim by `maker`, whose trial is then finished, so that every
/// timed claim sees `trials` or more finished trials.
func timedClaim(_ maker: TrialMaker) throws -> (wall: Double, cpu: Double) {
    let startCPU = threadCPUMilliseconds()
    let start = DispatchTime.now().uptimeNanoseconds
    guard let claimed = try maker.claimNextTrial(in: store, sweepID: sweepID, worker: worker) else { fatalError("no trial") }
    let times = (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6, threadCPUMilliseconds() - startCPU)
    try finishSynthetically(claimed)
    return times
}

var claimTimes: [Double] = [], claimCPUTimes: [Double] = [], coldTimes: [Double] = [], coldCPUTimes: [Double] = []
for _ in 0..<repetitions {
    let (wall, cpu) = try timedClaim(maker)
    claimTimes.append(wall)
    claimCPUTimes.append(cpu)
    let coldMaker = TrialMaker(spec: spec)
    try coldMaker.preload()
    let (coldWall, coldCPU) = try timedClaim(coldMaker)
    coldTimes.append(coldWall)
    coldCPUTimes.append(coldCPU)
}
let median = { (values: [Double]) -> Double in values.sorted()[values.count / 2] }
let format = { (value: Double) in String(format: "%.3f", value) }
print("{\"kind\": \"tpe-sampling\", \"finished_trials\": \(trials), \"reps\": \(repetitions), "
      + "\"claim_ms_median\": \(format(median(claimTimes))), \"claim_cpu_ms_median\": \(format(median(claimCPUTimes))), "
      + "\"claim_ms_max\": \(format(claimTimes.max()!)), "
      + "\"cold_claim_ms_median\": \(format(median(coldTimes))), \"cold_claim_cpu_ms_median\": \(format(median(coldCPUTimes)))}")
