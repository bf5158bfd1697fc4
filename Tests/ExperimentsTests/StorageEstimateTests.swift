// runner's storage estimate: each run's bytes found once, an estimate under another
// `--log-tensors` computed from them equal to the estimate of configurations that log so.
import Experiments
import Store
import XCTest

final class StorageEstimateTests: XCTestCase {
    private func configuration(hidden: [Int], epochs: Int, logging: TensorLogging) throws -> RunConfiguration {
        var settings = RunSettings()
        settings.hidden = hidden
        settings.epochs = epochs
        settings.tensorLogging = logging
        return try RunConfiguration.make(settings)
    }

    /// The advice's `--log-tensors N` estimate (from each run's bytes, found once) is the estimate of
    /// the same runs made to log every N epochs (where they logged more often), to the byte.
    func testTheAdviceIsTheEstimateOfTheThinnedRuns() throws {
        // 64-2000-2000-10 float32 for 300 epochs: about 10 GB logging every epoch; with a run logging
        // every 3rd epoch (becomes every 50th) and one logging its first and last only (unchanged).
        let runs = [try configuration(hidden: [2000, 2000], epochs: 300, logging: .every),
                    try configuration(hidden: [2000, 2000], epochs: 300, logging: .everyN(3)),
                    try configuration(hidden: [30], epochs: 40, logging: .final)]
        let thinned = [try configuration(hidden: [2000, 2000], epochs: 300, logging: .everyN(50)),
                       try configuration(hidden: [2000, 2000], epochs: 300, logging: .everyN(50)),
                       try configuration(hidden: [30], epochs: 40, logging: .final)]
        let whole = StorageEstimate(configurations: runs)
        XCTAssertGreaterThan(whole.bytes, 10 * StorageEstimate.warningBytes)
        XCTAssertEqual(whole.loggedEpochs, 301 + 101 + 2)
        let (note, warning) = StorageEstimate.message(configurations: runs, databasePath: "s.db")
        XCTAssertEqual(note, "estimated database growth: \(SlopeStore.describeBytes(estimate: whole.bytes)) (3 runs, 404 logged epochs with tensors)")
        // 301 + 101 logged epochs of ~33 MB: every 20th still passes 1 GB (16 + 16 of 33 MB), every 50th does not (7 + 7).
        let expected = StorageEstimate(configurations: thinned)
        XCTAssertEqual(expected.loggedEpochs, 7 + 7 + 2)
        XCTAssertLessThanOrEqual(expected.bytes, StorageEstimate.warningBytes)
        XCTAssertGreaterThan(StorageEstimate(configurations: thinned.map { var c = $0; if c.tensorLogging != .final { c.tensorLogging = .everyN(20) }; return c }).bytes,
                             StorageEstimate.warningBytes)
        XCTAssertEqual(warning, "warning: this will add about \(SlopeStore.describeBytes(estimate: whole.bytes)) to s.db; store the tensors of one epoch in 50 "
                       + "with --log-tensors 50 (about \(SlopeStore.describeBytes(estimate: expected.bytes))), or shrink a finished sweep later with `runner compact`")
    }
}
