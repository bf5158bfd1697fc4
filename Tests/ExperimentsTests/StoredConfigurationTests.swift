// A run's stored configuration (`runs.config`) is checked when it is read back with the same rules
// as the flags that made it: every configuration the flags make reads back as it was; a value
// just past a flag's limit, edited into the JSON, is refused naming its place in the JSON.
@testable import Experiments
import Foundation
import NeuralNet
import XCTest

final class StoredConfigurationTests: XCTestCase {
    private func settings(_ change: (inout RunSettings) -> Void) -> RunSettings {
        var settings = RunSettings()
        settings.dataset = "xor"
        settings.hidden = [3]
        settings.validationFraction = 0
        change(&settings)
        return settings
    }

    func testEveryConfigurationTheFlagsMakeReadsBack() throws {
        let variants: [RunSettings] = [
            settings { _ in },
            settings { $0.optimizer = .adam; $0.beta1 = 0.8; $0.epsilon = 1e-6 },
            settings { $0.optimizer = .rmsprop; $0.momentum = 0.9; $0.rho = 0.9 },
            settings { $0.momentum = 0.9; $0.nesterov = true; $0.weightDecay = 1e-4 },
            settings { $0.earlyStoppingPatience = 1; $0.earlyStoppingMonitor = .trainLoss; $0.minDelta = 0.01 },
            settings { $0.epochs = 1_000_000_000; $0.seed = UInt64(Int.max); $0.splitSeed = UInt64(Int.max); $0.batchSize = Int.max },
            settings { $0.dataset = "moons"; $0.validationFraction = 0.99; $0.epochs = 0; $0.hidden = [] },
        ]
        for variant in variants {
            let configuration = try RunConfiguration.make(variant)
            XCTAssertEqual(try RunConfiguration.decode(json: configuration.json(), runID: 7), configuration, configuration.json())
        }
    }

    func testAValueJustPastAFlagsLimitIsRefusedByItsPlaceInTheJSON() throws {
        let made = try RunConfiguration.make(settings { $0.earlyStoppingPatience = 2; $0.earlyStoppingMonitor = .trainLoss })
        let cases: [((inout RunConfiguration) -> Void, String)] = [
            ({ $0.training.epochs = 1_000_000_001 }, "training.epochs: '1000000001' is not accepted; expected a whole number from 0 to 1000000000"),
            ({ $0.training.epochs = -1 }, "training.epochs: '-1' is not accepted; expected a whole number from 0 to 1000000000"),
            ({ $0.training.batchSize = 0 }, "training.batchSize: '0' is not accepted; expected a whole number >= 1"),
            ({ $0.training.seed = UInt64(Int.max) + 1 },
             "training.seed: '9223372036854775808' is not accepted; expected a whole number from 0 to 9223372036854775807"),
            ({ $0.data.splitSeed = .max },
             "data.splitSeed: '18446744073709551615' is not accepted; expected a whole number from 0 to 9223372036854775807"),
            ({ $0.data.validationFraction = 1 }, "data.validationFraction: '1' is not accepted; expected a fraction in [0, 1), e.g. 0.2"),
            ({ $0.training.learningRate = 0 }, "training.learningRate: '0' is not accepted; expected a number > 0, e.g. 0.01"),
            ({ $0.training.earlyStopping?.patience = 0 }, "training.earlyStopping.patience: '0' is not accepted; expected a whole number >= 1"),
            ({ $0.training.layerSizes = [2, 1 << 24 + 1, 2] },
             "invalid layerSizes [2, 16777217, 2]: a layer has at most 16777216 units (found 16777217)"),
            ({ $0.training.layerSizes = [2, 0, 2] }, "invalid layerSizes [2, 0, 2]: every layer needs at least one unit (found 0)"),
            ({ $0.training.outputActivation = .identity }, "invalid outputActivation identity: cross-entropy needs a softmax output"),
        ]
        for (edit, reason) in cases {
            var configuration = made
            edit(&configuration)
            XCTAssertThrowsError(try RunConfiguration.decode(json: configuration.json(), runID: 7)) { error in
                XCTAssertEqual("\(error)", "run 7 cannot be used: its stored config is not valid: " + reason)
            }
        }
    }

    /// Every numeric setting is checked in a stored config, at the place `make()` stores it: a
    /// setting given a value of its own comes back from that place in the JSON, and an edit there
    /// just past the flag's limit is refused. A numeric setting `make()` stored without a
    /// `storedNumber` place would escape the check and fail here.
    func testEveryNumericSettingIsCheckedWhereMakeStoresIt() throws {
        let numeric = Setting.allCases.filter(\.isNumeric)
        XCTAssertEqual(numeric.count, 14)
        for setting in numeric {
            // A value of its own, which no default has: 3 for whole numbers, 0.375 for the others.
            let given: SettingValue = setting.isInteger ? .int(3) : .double(0.375)
            var base = settings { $0.dataset = "moons"; $0.validationFraction = 0.25; $0.earlyStoppingPatience = 2 }
            base.optimizer = [.beta1, .beta2, .epsilon].contains(setting) ? .adam : setting == .rho ? .rmsprop : .sgd  // one that uses it
            try base.apply(setting, given, field: setting.flag)
            let configuration = try RunConfiguration.make(base)
            let stored = try XCTUnwrap(configuration.storedNumber(setting), "\(setting) is not checked")
            XCTAssertEqual(stored.value.asDouble, given.asDouble, "\(setting)")
            // `field` is the place in the JSON that holds it.
            var node: Any? = try JSONSerialization.jsonObject(with: Data(configuration.json().utf8))
            for key in stored.field.split(separator: ".") { node = (node as? [String: Any])?[String(key)] }
            XCTAssertEqual((node as? NSNumber)?.doubleValue, given.asDouble, "\(setting) at \(stored.field)")
            // Each is refused there when it is what no flag takes: -1 is below every numeric setting's
            // range; a seed (stored unsigned) is refused past 2^63 - 1.
            let key = "\"\(stored.field.split(separator: ".").last!)\":"
            let refused = [.seed, .splitSeed].contains(setting) ? "9223372036854775808" : "-1"
            let edited = configuration.json().replacingOccurrences(of: key + (setting.isInteger ? "3" : "0.375"), with: key + refused)
            XCTAssertNotEqual(edited, configuration.json(), "\(setting)")
            XCTAssertThrowsError(try RunConfiguration.decode(json: edited, runID: 3), "\(setting)") { error in
                XCTAssertTrue("\(error)".hasPrefix("run 3 cannot be used: its stored config is not valid: \(stored.field): '\(refused)' is not accepted"),
                              "\(error)")
            }
        }
        let others = Setting.allCases.filter { !$0.isNumeric }
        let made = try RunConfiguration.make(settings { $0.earlyStoppingPatience = 2; $0.earlyStoppingMonitor = .trainLoss })
        XCTAssertEqual(others.filter { made.storedNumber($0) != nil }, [])
        XCTAssertNil(try RunConfiguration.make(settings { _ in }).storedNumber(.minDelta), "no early stopping: nothing stored")
    }
}
