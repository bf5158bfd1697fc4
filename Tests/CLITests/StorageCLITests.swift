// Storage through the built binaries: runner's estimate before a sweep against the real growth
// of the file, the warning above 1 GB, `report sweeps`' tensor bytes, and `runner compact`.
import Experiments
import Foundation
import Store
import TestSupport
import XCTest

final class StorageCLITests: CLITestCase {
    override var databaseName: String { "s.db" }

    private func fileSize(_ path: String) throws -> Int64 {
        // The WAL was copied back on close (a read-only reader may leave an empty one).
        let wal = (try? FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? NSNumber)?.int64Value ?? 0
        XCTAssertEqual(wal, 0, "the WAL was copied back on close")
        return (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value ?? -1
    }

    /// The estimate for the runs `runner sweep` makes from these settings (one per learning rate).
    private func estimate(_ settings: RunSettings, learningRates: [Double]) throws -> StorageEstimate {
        StorageEstimate(configurations: try learningRates.map { rate in
            var point = settings
            point.learningRate = rate
            return try RunConfiguration.make(point)
        })
    }

    func testTheEstimateIsWithinTenPercentOfTheRealGrowth() throws {
        // Two layouts: 64-30-10 float32 (7.7 KB weight cells, one b-tree page each, with the small
        // cells packed around them) and 64-128-64-10 float64 with momentum and --log-tensors 3
        // (overflow pages, velocities, every third epoch).
        var small = RunSettings()
        small.hidden = [30]
        small.epochs = 30
        var large = RunSettings()
        large.hidden = [128, 64]
        large.epochs = 12
        large.momentum = 0.9
        large.precision = .float64
        large.tensorLogging = .everyN(3)
        // Adam stores its m and v beside the weights (and its step count): three copies of the
        // parameters, not one (the estimate counted only momentum's velocities: about half the growth).
        var adam = RunSettings()
        adam.hidden = [64]
        adam.epochs = 8
        adam.optimizer = .adam
        let cases: [(RunSettings, [String])] = [
            (small, ["--hidden", "30", "--epochs", "30"]),
            (large, ["--hidden", "128,64", "--epochs", "12", "--momentum", "0.9", "--precision", "float64", "--log-tensors", "3"]),
            (adam, ["--hidden", "64", "--epochs", "8", "--optimizer", "adam"]),
        ]
        for (index, (settings, flags)) in cases.enumerated() {
            let path = directory.path("s.db")
            try? FileManager.default.removeItem(atPath: path)
            try SlopeStore(path: path).close()  // the empty database: schema only
            let before = try fileSize(path)
            let expected = try estimate(settings, learningRates: [0.05, 0.1])
            let output = try run("runner", ["sweep", "--dataset", "digits", "--learning-rate", "0.05,0.1"] + flags).output
            let growth = try fileSize(path) - before
            XCTAssertTrue(output.hasPrefix("estimated database growth: \(SlopeStore.describeBytes(estimate: expected.bytes)) (2 runs, \(expected.loggedEpochs) logged epochs with tensors)\n"),
                          output)
            XCTAssertEqual(expected.loggedEpochs, [62, 2 * 5, 2 * 9][index])  // 0...30; 0, 3, 6, 9, 12; 0...8
            let ratio = Double(expected.bytes) / Double(growth)
            XCTAssertTrue((0.9...1.1).contains(ratio), "case \(index): estimated \(expected.bytes) bytes, the file grew by \(growth) (ratio \(ratio))")
        }
    }

    func testAWarningAboveOneGigabyteSuggestsLogTensors() throws {
        // 64-2000-2000-10 float32: 4.15M parameters, 16.6 MB per epoch's weights, x2 with gradients, 301 epochs.
        let (output, error) = try run("runner", ["sweep", "--dataset", "digits", "--hidden", "2000,2000", "--epochs", "300",
                                                 "--learning-rate", "0.01", "--queue-only"])
        XCTAssertTrue(output.hasPrefix("estimated database growth: 10.0 GB (1 run, 301 logged epochs with tensors)") ||
                      output.hasPrefix("estimated database growth: 9.9 GB"), output)
        XCTAssertTrue(error.contains("warning: this will add about"), error)
        XCTAssertTrue(error.contains("store the tensors of one epoch in 20 with --log-tensors 20 (about"), error)  // 10 GB / 20 = ~500 MB, the first step under 1 GB
        XCTAssertEqual(error.split(separator: "\n").filter { $0.hasPrefix("warning") }.count, 1)
        // Already --log-tensors final: no advice to use it; the network is what is large.
        let final = try run("runner", ["sweep", "--dataset", "digits", "--hidden", "12000,12000", "--epochs", "3", "--log-tensors", "final",
                                       "--learning-rate", "0.01", "--queue-only"]).error
        XCTAssertTrue(final.hasPrefix("warning: this will add about 1.7 GB to "), final)
        XCTAssertTrue(final.contains("although only the first and last epochs' tensors are stored (--log-tensors final): the network itself is that large"), final)
        XCTAssertFalse(final.contains("with --log-tensors final"), final)
        // Small sweeps: no warning.
        let small = try run("runner", ["sweep", "--dataset", "xor", "--hidden", "2", "--epochs", "3", "--validation", "0",
                                       "--learning-rate", "0.1", "--queue-only"])
        XCTAssertFalse(small.error.contains("warning"), small.error)
    }

    func testCompactKeepsEveryKthFirstAndLastEpochAndShrinksTheFile() throws {
        try run("runner", ["sweep", "--dataset", "digits", "--hidden", "64", "--epochs", "7", "--learning-rate", "0.05,0.1"])
        let path = directory.path("s.db")
        func tensorEpochs() throws -> [Int64: [Int]] {
            let store = try SlopeStore(path: path, mode: .readOnly)
            defer { try? store.close() }
            return try Dictionary(uniqueKeysWithValues: store.runs(sweepID: 1).map { run in
                (run.id, Array(Set(try store.tensors(runID: run.id).map(\.epoch))).sorted())
            })
        }
        func tensorBytes() throws -> Int {
            let store = try SlopeStore(path: path, mode: .readOnly)
            defer { try? store.close() }
            return try [1, 2].reduce(0) { sum, runID in sum + (try store.tensors(runID: Int64(runID)).reduce(0) { $0 + $1.tensor.data.count }) }
        }
        XCTAssertEqual(try tensorEpochs(), [1: Array(0...7), 2: Array(0...7)])
        // report sweeps: the sum of length(data) over the sweep's tensors.
        let bytesBefore = try tensorBytes()
        XCTAssertEqual(bytesBefore, 2 * (4 * (64 * 64 + 64 + 64 * 10 + 10) * (1 + 2 * 7)))  // weights+biases, +gradients from epoch 1
        let sweeps = try run("report", ["sweeps", "--format", "csv"]).output.split(separator: "\n").map { $0.split(separator: ",") }
        XCTAssertEqual(sweeps[0].firstIndex(of: "tensor_bytes").map { String(sweeps[1][$0]) }, String(bytesBefore))

        // --dry-run changes nothing.
        let sizeBefore = try fileSize(path)
        let dry = try run("runner", ["compact", "--sweep", "1", "--keep-every", "3", "--dry-run"]).output
        // Deleted per run: 1, 2, 4, 5 (kept 0, 3, 6 and the last, 7).
        XCTAssertTrue(dry.hasPrefix("dry run: would delete the tensors of 8 epochs ("), dry)
        XCTAssertTrue(dry.contains("from 2 finished runs of sweep 1; kept epoch 0, the multiples of 3 and each run's last (8 epochs)"), dry)
        XCTAssertEqual(try tensorEpochs(), [1: Array(0...7), 2: Array(0...7)])

        let done = try run("runner", ["compact", "--sweep", "1", "--keep-every", "3"]).output
        XCTAssertTrue(done.hasPrefix("deleted the tensors of 8 epochs ("), done)
        XCTAssertTrue(done.contains("VACUUM: "), done)
        XCTAssertEqual(try tensorEpochs(), [1: [0, 3, 6, 7], 2: [0, 3, 6, 7]])
        let bytesAfter = try tensorBytes()
        XCTAssertEqual(bytesAfter, 2 * (4 * (64 * 64 + 64 + 64 * 10 + 10) * (1 + 2 * 3)))
        let sizeAfter = try fileSize(path)
        XCTAssertLessThan(sizeAfter, sizeBefore - Int64(bytesBefore - bytesAfter) * 8 / 10, "VACUUM gave the space back")
        // Again: nothing left to delete and no free pages, so no VACUUM and not one byte written.
        let compacted = try Data(contentsOf: URL(fileURLWithPath: path))
        let again = try run("runner", ["compact", "--sweep", "1", "--keep-every", "3"]).output
        XCTAssertTrue(again.hasPrefix("deleted the tensors of 0 epochs (0 bytes of values) from 2 finished runs of sweep 1"), again)
        XCTAssertTrue(again.contains("\nVACUUM skipped: nothing was deleted and "), again)
        XCTAssertTrue(again.hasSuffix("s.db has next to no free space to give back; the file was not written (\(SlopeStore.describeBytes(sizeAfter)))\n"), again)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), compacted)
        // The epochs' losses all stay; the last epoch's weights still resume and inspect.
        let store = try SlopeStore(path: path, mode: .readOnly)
        XCTAssertEqual(try store.epochs(runID: 1).map(\.epoch), Array(0...7))
        XCTAssertEqual(try store.resumePoint(runID: 1)?.epoch, 7)
        try store.close()
    }

    func testCompactLeavesRunsThatCouldBeResumedAndRefusesBadInput() throws {
        try run("runner", ["sweep", "--dataset", "xor", "--hidden", "2", "--epochs", "4", "--validation", "0", "--batch-size", "4",
                           "--learning-rate", "0.1,0.2", "--queue-only"])
        let output = try run("runner", ["compact", "--sweep", "1", "--keep-every", "2"]).output
        XCTAssertTrue(output.contains("from 0 finished runs of sweep 1"), output)
        XCTAssertTrue(output.contains("left alone: runs 1 (queued), 2 (queued): they could still be resumed"), output)
        // --quiet: nothing but errors, as for every runner command.
        let quiet = try run("runner", ["compact", "--sweep", "1", "--keep-every", "2", "--quiet"])
        XCTAssertEqual(quiet.output, "")
        XCTAssertEqual(quiet.error, "")
        let zero = try run("runner", ["compact", "--sweep", "1", "--keep-every", "0"], expect: 2).error
        XCTAssertEqual(zero.split(separator: "\n").count, 1, zero)
        XCTAssertTrue(zero.contains("--keep-every"), zero)
        let unknown = try run("runner", ["compact", "--sweep", "9", "--keep-every", "2"], expect: 1).error
        XCTAssertTrue(unknown.contains("sweep 9"), unknown)
    }

    func testADryRunReadsADatabaseNobodyMayWrite() throws {
        try run("runner", ["sweep", "--dataset", "xor", "--hidden", "2", "--epochs", "4", "--validation", "0", "--batch-size", "4",
                           "--learning-rate", "0.1", "--quiet"])
        let path = directory.path(databaseName)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        guard let undo = Unwritable.make(path) else {
            throw XCTSkip("cannot make a file unwritable here (root without CAP_LINUX_IMMUTABLE, or no chattr)")
        }
        defer { undo() }
        let dry = try run("runner", ["compact", "--sweep", "1", "--keep-every", "2", "--dry-run"]).output
        XCTAssertTrue(dry.hasPrefix("dry run: would delete the tensors of 2 epochs ("), dry)  // 1 and 3 (0, 2 and the last, 4, stay)
        let refused = try run("runner", ["compact", "--sweep", "1", "--keep-every", "2"], expect: 1).error
        XCTAssertTrue(refused.contains("read-only"), refused)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), before, "the file is unchanged")
    }

    func testCompactAndEvaluateHelpAreParagraphsNotRaggedLines() throws {
        // Source lines longer than the help's width were wrapped and then broken again, leaving
        // lines of one or two words ("the epochs'", "which") in the middle of a paragraph.
        for (tool, command) in [("runner", "compact"), ("report", "evaluate")] {
            let lines = try run(tool, [command, "--help"]).output.split(separator: "\n", omittingEmptySubsequences: false)
            for (line, next) in zip(lines, lines.dropFirst()) where !line.isEmpty && !next.isEmpty && !line.hasSuffix(":") {
                XCTAssertGreaterThanOrEqual(line.count, 20, "\(tool) \(command) --help: a ragged line '\(line)'")
            }
        }
    }
}
