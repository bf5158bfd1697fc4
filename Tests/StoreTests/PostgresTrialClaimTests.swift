// Sampled sweeps (tpe, random) on PostgreSQL: several workers asking for trials at once make
// exactly `count` trials, each from a different view of the sweep (no two made from the same
// history, which gave the same point twice, and no trial over `count`).
import Foundation
@testable import Store
import TestSupport
import XCTest

final class PostgresTrialClaimTests: XCTestCase {
    private var database: TestDatabase!

    override func setUpWithError() throws { database = try PostgresTestCluster.makeDatabase() }
    override func tearDown() { database?.drop() }

    func testWorkersMakingTrialsAtOnceMakeExactlyCountEachFromItsOwnHistory() throws {
        let trialCount = 24
        let setup = try SlopeStore(location: database.url)
        let (sweepID, _) = try setup.createSweep(name: "tpe", specJSON: #"{"method":"tpe"}"#, runs: [])
        try setup.close()

        /// What each trial was made from: the number of runs and the ids of the runs its maker saw.
        final class Made: @unchecked Sendable {
            let lock = NSLock()
            var histories: [[Int64]] = []
            var counts: [Int] = []
            var errors: [String] = []
            func add(_ count: Int, _ history: [Int64]) { lock.lock(); counts.append(count); histories.append(history); lock.unlock() }
            func fail(_ error: Error) { lock.lock(); errors.append("\(error)"); lock.unlock() }
        }
        let made = Made()
        let url = database.url
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            do {
                let store = try SlopeStore(location: url)
                defer { try? store.close() }
                for _ in 0..<trialCount {  // bounded: at most `count` claims each
                    let claimed = try store.claimNextTrial(sweepID: sweepID, trialCount: trialCount, metric: .val_loss,
                                                           worker: .current()) { runCount, records in
                        Thread.sleep(forTimeInterval: 0.01)  // sampling takes a while: widen the window a race needs
                        made.add(runCount, records.map(\.id))
                        return .example(name: "trial \(runCount)", learningRate: 0.01 * Double(runCount + 1))
                    }
                    guard let claimed else { break }
                    try store.writeEpoch(runID: claimed.id, .init(epoch: 0, trainLoss: 1, validationLoss: 1), tensors: [], holder: RunHolder(worker: .current(), claimToken: claimed.claimToken))
                    try store.finishRun(runID: claimed.id, status: .completed, stopReason: nil)
                }
            } catch {
                made.fail(error)
            }
        }
        XCTAssertEqual(made.errors, [])
        let check = try SlopeStore(location: url, mode: .readOnly)
        defer { try? check.close() }
        XCTAssertEqual(try check.queries.runCount(sweepID: sweepID), trialCount)
        // Each trial was made after the one before it was stored: from 0, 1, 2, ... runs, and a
        // maker saw every run made before its own.
        XCTAssertEqual(made.counts.sorted(), Array(0..<trialCount))
        XCTAssertEqual(Set(made.histories.map(\.count)), Set(0..<trialCount))
    }
}
