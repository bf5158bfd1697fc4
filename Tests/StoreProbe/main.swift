// StoreProbe: a child process for StoreTests' multi-process tests. Each command does one
// thing to a database and reports on stdout, one line per event, flushed at once.
//   open PATH [START]              open (migrating) at unix time START; prints "opened"
//   work PATH SWEEP [EPOCHS]       claim runs until none is left; per run write EPOCHS+1 small
//                                  epochs and complete it; prints "claimed ID" per run
//   write-forever PATH RUN R C     claim run RUN, then write epochs of 4 R x C float32 tensors
//                                  back to back until killed; prints "epoch N" after each commit
//   claim-and-exit PATH RUN        claim run RUN, write epoch 0, exit without finishing it
//   read PATH SWEEP                read-only: read the sweep's runs, epochs and tensors until
//                                  every run is finished; prints "reads N"
import Foundation
import Store

setvbuf(stdout, nil, _IOLBF, 0)
let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
    FileHandle.standardError.write(Data("usage: StoreProbe open|work|write-forever|claim-and-exit PATH ...\n".utf8))
    exit(2)
}
let command = arguments[1], path = arguments[2]
let worker = WorkerIdentity.current(label: "probe \(getpid())")

func tensors(rows: Int, cols: Int, seed: Int) -> [SlopeStore.TensorRecord] {
    var state = UInt64(truncatingIfNeeded: seed) &* 0x9E37_79B9_7F4A_7C15 | 1
    func values(_ count: Int) -> [UInt8] {
        var floats = [Float](repeating: 0, count: count)
        for index in 0..<count {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            floats[index] = Float(Int64(state % 2001) - 1000) / 1000
        }
        return floats.withUnsafeBytes { [UInt8]($0) }
    }
    return [
        .init(layer: 1, kind: .weight, rows: rows, cols: cols, dtype: .float32, data: values(rows * cols)),
        .init(layer: 1, kind: .bias, rows: 1, cols: cols, dtype: .float32, data: values(cols)),
        .init(layer: 1, kind: .weightGradient, rows: rows, cols: cols, dtype: .float32, data: values(rows * cols)),
        .init(layer: 1, kind: .biasGradient, rows: 1, cols: cols, dtype: .float32, data: values(cols)),
    ]
}

do {
    switch command {
    case "open":
        if arguments.count > 3, let start = Double(arguments[3]) {
            let wait = start - Date().timeIntervalSince1970
            if wait > 0 { usleep(useconds_t(wait * 1_000_000)) }
        }
        _ = try SlopeStore(path: path)
        print("opened")
    case "work":
        let store = try SlopeStore(path: path)
        let sweepID = Int64(arguments[3])!
        let epochs = arguments.count > 4 ? Int(arguments[4])! : 1
        while let claimed = try store.claimNextRun(sweepID: sweepID, worker: worker) {
            print("claimed \(claimed.id)")
            for epoch in 0...epochs {
                try store.writeEpoch(runID: claimed.id, .init(epoch: epoch, trainLoss: 1 / Double(epoch + 1)),
                                     tensors: tensors(rows: 64, cols: 64, seed: epoch), holder: RunHolder(worker: worker, claimToken: claimed.claimToken))
            }
            try store.finishRun(runID: claimed.id, status: .completed, stopReason: "completed all epochs")
        }
        print("done")
    case "write-forever":
        let store = try SlopeStore(path: path)
        let runID = Int64(arguments[3])!, rows = Int(arguments[4])!, cols = Int(arguments[5])!
        guard let claimToken = try store.claimRun(runID: runID, worker: worker)?.claimToken else { throw StoreError.notFound("queued run \(runID)") }
        let payload = tensors(rows: rows, cols: cols, seed: 1)
        var epoch = 0
        while true {
            try store.writeEpoch(runID: runID, .init(epoch: epoch, trainLoss: 1, validationLoss: 2),
                                 tensors: payload, holder: RunHolder(worker: worker, claimToken: claimToken))
            print("epoch \(epoch)")
            epoch += 1
        }
    case "claim-and-exit":
        let store = try SlopeStore(path: path)
        let runID = Int64(arguments[3])!
        guard let claimToken = try store.claimRun(runID: runID, worker: worker)?.claimToken else { throw StoreError.notFound("queued run \(runID)") }
        try store.writeEpoch(runID: runID, .init(epoch: 0, trainLoss: 1), tensors: tensors(rows: 2, cols: 2, seed: 0),
                             holder: RunHolder(worker: worker, claimToken: claimToken))
        print("claimed \(runID)")
    case "read":
        let store = try SlopeStore(path: path, mode: .readOnly)
        let sweepID = Int64(arguments[3])!
        var reads = 0
        while true {
            let runs = try store.queries.runSummaries(sweepID: sweepID)
            for run in runs where run.status == .completed {
                _ = try store.epochs(runID: run.id)
                _ = try store.queries.layerStatistics(runID: run.id)
            }
            reads += 1
            if runs.allSatisfy({ $0.status.isFinished }) { break }
        }
        print("reads \(reads)")
    default:
        throw StoreError.invalidValue("unknown command \(command)")
    }
} catch {
    print("error: \(error)")
    exit(1)
}
