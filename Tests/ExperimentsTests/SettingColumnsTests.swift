// Every setting a user can give (flag or sweep-file key) has its column in the settings
// registry (RunColumn), so a sweep over it can be shown, filtered and grouped by; and the
// registry's keys into the stored configuration match what RunConfiguration writes.
import Experiments
import Foundation
import Store
import XCTest

final class SettingColumnsTests: XCTestCase {
    func testEverySettingHasAColumnAndEverySettingColumnASetting() {
        for setting in Setting.allCases where setting != .name {  // a run's name is a column, not a setting
            XCTAssertNotNil(RunColumn.setting(named: setting.rawValue), "no run column for the setting \(setting.rawValue)")
        }
        for column in RunColumn.settings {
            XCTAssertNotNil(Setting(rawValue: column.settingName ?? column.rawValue), "\(column.rawValue) is no sweep-file setting")
        }
    }

    /// A run on the built-in XOR data (4 rows, no validation split, full batch), with `change` applied.
    static func xorConfiguration(_ change: (inout RunSettings) -> Void) throws -> RunConfiguration {
        var settings = RunSettings()
        settings.dataset = "xor"
        settings.validationFraction = 0
        settings.batchSize = 4
        change(&settings)
        return try RunConfiguration.make(settings)
    }

    /// Each setting column's `configKey` names a value present in a real run's configuration JSON.
    func testConfigurationKeysExistInAStoredConfiguration() throws {
        let configuration = try Self.xorConfiguration { settings in
            settings.earlyStoppingPatience = 2
            settings.earlyStoppingMonitor = .trainLoss
            settings.initialization = .heNormal
        }
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(configuration.json().utf8)) as? [String: Any])
        func value(_ path: String) -> Any? {
            var current: Any? = object
            for key in path.split(separator: ".") { current = (current as? [String: Any])?[String(key)] }
            return current
        }
        // Optional values the configuration leaves out when unset (no CSV target, no weights file).
        let optional: Set<String> = ["data.target", "initialWeightsFile"]
        for column in RunColumn.settings {
            let key = try XCTUnwrap(column.configKey, column.rawValue)
            if optional.contains(key) { continue }
            XCTAssertNotNil(value(key), "\(column.rawValue): no \(key) in \(configuration.json())")
        }
    }

    /// Progress lines name the varied settings by their column names, with the run's values.
    func testProgressLabelShowsTheVariedSettings() throws {
        let configuration = try Self.xorConfiguration { settings in
            settings.weightDecay = 0.01
            settings.nesterov = true
            settings.momentum = 0.5
            settings.activation = .tanh
        }
        XCTAssertEqual(configuration.label(showing: [.weightDecay, .nesterov, .activation, .initialization, .validation, .hidden]),
                       "lr=0.05 batch=4 seed=0 momentum=0.5 weight_decay=0.01 nesterov=true activation=tanh init=default validation_fraction=0 2-64-2")
        XCTAssertEqual(configuration.label(showing: [.momentum, .splitSeed]), "lr=0.05 batch=4 seed=0 momentum=0.5 split_seed=0 2-64-2")
    }

    /// A momentum of 0.9999999999999999 is not the refused 1: progress labels show numbers as
    /// report's tables do (`formatNumber`), never as `1` (they used %.3g and %.4g).
    func testProgressLabelNeverShowsAFractionAsOne() throws {
        let configuration = try Self.xorConfiguration { settings in
            settings.momentum = 0.9999999999999999
            settings.weightDecay = 0.9999999999999999
        }
        XCTAssertEqual(configuration.label(), "lr=0.05 batch=4 seed=0 momentum=0.9999999999999999 2-64-2")
        XCTAssertEqual(configuration.label(showing: [.momentum, .weightDecay]),
                       "lr=0.05 batch=4 seed=0 momentum=0.9999999999999999 weight_decay=0.9999999999999999 2-64-2")
        let small = try Self.xorConfiguration { $0.learningRate = 0.000125 }
        XCTAssertEqual(small.label(), "lr=1.250e-04 batch=4 seed=0 2-64-2", "as report runs shows it")
    }

    /// The grid suggestion names the swept settings' columns: `hidden` (not layers), `validation_fraction`, `weight_decay`.
    func testVariedColumnsComeFromTheRegistry() throws {
        let spec = try SweepSpec.parse(yaml: """
            method: grid
            parameters:
              hidden: {values: [[4], [8]]}
              weight_decay: {values: [0, 0.01]}
              validation: {values: [0.1, 0.2]}
              nesterov: {values: [true]}
            fixed: {momentum: 0.5}
            """, file: "s.yaml", checkingData: false)
        XCTAssertEqual(spec.variedColumns, ["hidden", "weight_decay", "validation_fraction"])
    }
}
