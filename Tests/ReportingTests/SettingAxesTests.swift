// Which settings the views pick from a set of runs: those that differ (registry order), and
// the HTML heatmap's two axes (the swept settings, seed last), never a fixed lr x batch.
@testable import Reporting
import Store
import XCTest

final class SettingAxesTests: XCTestCase {
    /// Runs that all share a base configuration, each with its own values for some columns.
    func runs(_ variations: [[String: RunValue]]) -> [SlopeStore.RunRecord] {
        let base: [RunColumn: RunValue] = [.learning_rate: .real(0.1), .batch_size: .integer(32), .seed: .integer(0),
                                           .layers: .text("64-16-10"), .hidden: .text("16"), .activation: .text("relu")]
        return variations.enumerated().map { index, variation in
            var values = base
            values[.id] = .integer(Int64(index + 1))
            for (name, value) in variation { values[RunColumn(rawValue: name)!] = value }
            return record(values)
        }
    }

    /// A run whose columns hold `values` (the other settings the same in every run).
    func record(_ values: [RunColumn: RunValue]) -> SlopeStore.RunRecord {
        func number(_ column: RunColumn) -> Double { values[column]?.double ?? 0 }
        func text(_ column: RunColumn) -> String { if case .text(let value)? = values[column] { return value }; return "" }
        let settings = SlopeStore.NewRun(learningRate: number(.learning_rate), batchSize: Int(number(.batch_size)), epochs: 1,
                                         seed: UInt64(number(.seed)), layers: text(.layers), activation: text(.activation),
                                         outputActivation: "softmax", loss: "cross_entropy", dataset: "digits", configJSON: "{}",
                                         slopeVersion: "test")
        let run = SlopeStore.RunRecord(
            id: Int64(number(.id)), sweepID: 1, status: .completed, stopReason: nil, settings: settings, createdAt: "", startedAt: nil,
            finishedAt: nil, heartbeatAt: nil, worker: nil, host: nil, pid: nil, error: nil, epochsDone: 1, finalTrainLoss: nil,
            finalValidationLoss: nil, finalTrainAccuracy: nil, finalValidationAccuracy: nil, bestTrainLoss: nil, bestValidationLoss: nil,
            bestEpoch: nil, derivedSettings: values.filter { if case .derived = $0.key.source { return true }; return false })
        for (column, value) in values { XCTAssertEqual(run[column], value, "\(column)") }
        return run
    }

    func testHeatmapAxesAreTheSweptSettings() {
        let lrBatch = runs([["learning_rate": .real(0.1), "batch_size": .integer(16)], ["learning_rate": .real(0.3), "batch_size": .integer(64)]])
        XCTAssertEqual(Reporter.heatmapAxes(lrBatch).map { [$0.0, $0.1] }, [.learning_rate, .batch_size])

        // Architectures x seeds: hidden (which also changes layers), seed last.
        let shapes = runs([["seed": .integer(1), "hidden": .text("16"), "layers": .text("64-16-10")],
                           ["seed": .integer(0), "hidden": .text("32,32"), "layers": .text("64-32-32-10")]])
        XCTAssertEqual(Reporter.heatmapAxes(shapes).map { [$0.0, $0.1] }, [.hidden, .seed])
        XCTAssertEqual(Reporter.differingSettings(shapes), [.seed], "beside layers, hidden says nothing more")
        XCTAssertEqual(Reporter.differingSettings(shapes, besideLayers: false), [.seed, .hidden])

        let decay = RunColumn(rawValue: "weight_decay")!
        let three = runs([["seed": .integer(1), "activation": .text("tanh"), "weight_decay": .real(0)],
                          ["seed": .integer(2), "activation": .text("relu"), "weight_decay": .real(0.01)]])
        XCTAssertEqual(Reporter.heatmapAxes(three).map { [$0.0, $0.1] }, [.activation, decay])

        // One swept setting: against the learning rate (a single column), or the batch size for the learning rate itself.
        XCTAssertEqual(Reporter.heatmapAxes(runs([["weight_decay": .real(0)], ["weight_decay": .real(0.1)]])).map { [$0.0, $0.1] },
                       [decay, .learning_rate])
        XCTAssertEqual(Reporter.heatmapAxes(runs([["learning_rate": .real(0.1)], ["learning_rate": .real(1)]])).map { [$0.0, $0.1] },
                       [.learning_rate, .batch_size])
        XCTAssertNil(Reporter.heatmapAxes(runs([[:], [:]])))
    }
}
