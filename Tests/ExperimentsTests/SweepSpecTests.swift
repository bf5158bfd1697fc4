// Sweep files: parsing, grid expansion counts and order, seeded random search within
// bounds, and strict validation whose errors name the field and the accepted values.
import Store
import XCTest
@testable import Experiments

final class SweepSpecTests: XCTestCase {
    private func parse(_ yaml: String) throws -> SweepSpec { try SweepSpec.parse(yaml: yaml, file: "s.yaml") }

    private func assertRejected(_ yaml: String, field: String, mentions fragments: [String],
                                file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try parse(yaml), file: file, line: line) { error in
            let message = "\(error)"
            XCTAssertTrue(message.hasPrefix("s.yaml: \(field):"), "'\(message)' does not start with the field \(field)", file: file, line: line)
            for fragment in fragments {
                XCTAssertTrue(message.contains(fragment), "'\(message)' lacks '\(fragment)'", file: file, line: line)
            }
            XCTAssertTrue((error as? ExperimentsError)?.isUsageError ?? false, file: file, line: line)
        }
    }

    func testGridExpansionCountAndOrder() throws {
        let spec = try parse("""
            name: grid
            method: grid
            fixed: {dataset: xor, validation: 0, epochs: 2}
            parameters:
              learning_rate: {values: [0.001, 0.01, 0.1]}
              batch_size: {values: [16, 64, 256]}
              seed: {values: [0, 1]}
            """)
        XCTAssertEqual(spec.runCount, 18)
        let points = try spec.expand()
        XCTAssertEqual(points.count, 18)
        XCTAssertEqual(Set(points.map(\.settings)).count, 18)
        // The first parameter varies slowest, the last fastest.
        XCTAssertEqual(points.prefix(3).map(\.settings.learningRate), [0.001, 0.001, 0.001])
        XCTAssertEqual(points.prefix(3).map(\.settings.seed), [0, 1, 0])
        XCTAssertEqual(points.prefix(3).map(\.settings.batchSize), [16, 16, 64])
        XCTAssertEqual(points.last?.settings.learningRate, 0.1)
        XCTAssertTrue(points.allSatisfy { $0.settings.dataset == "xor" && $0.settings.epochs == 2 && $0.settings.validationFraction == 0 })
        XCTAssertEqual(spec.variedSettings, [.learningRate, .batchSize, .seed])
    }

    func testGridWithOnlyFixedSettingsIsOneRun() throws {
        let spec = try parse("fixed: {epochs: 3, hidden: [8, 4]}\n")
        XCTAssertEqual(try spec.expand().map(\.settings.hidden), [[8, 4]])
        XCTAssertEqual(try parse("parameters: {hidden: {values: [[8], [16, 16], none]}}").expand().map(\.settings.hidden), [[8], [16, 16], []])
    }

    func testRandomSearchIsSeededAndWithinBounds() throws {
        let yaml = """
            method: random
            count: 200
            random_seed: 11
            parameters:
              learning_rate: {distribution: log_uniform, min: 0.0001, max: 0.5}
              momentum: {distribution: uniform, min: 0.1, max: 0.9}
              batch_size: {distribution: int_uniform, min: 8, max: 12}
              activation: {values: [relu, tanh]}
            """
        let first = try parse(yaml).expand()
        let again = try parse(yaml).expand()
        XCTAssertEqual(first.map(\.settings), again.map(\.settings))
        XCTAssertEqual(first.count, 200)
        for point in first {
            XCTAssertTrue((0.0001...0.5).contains(point.settings.learningRate), "\(point.settings.learningRate)")
            XCTAssertTrue((0.1...0.9).contains(point.settings.momentum))
            XCTAssertTrue((8...12).contains(point.settings.batchSize))
        }
        XCTAssertEqual(Set(first.map(\.settings.batchSize)), Set(8...12), "int_uniform includes both ends")
        XCTAssertEqual(Set(first.map(\.settings.activation)), [.relu, .tanh])
        // log-uniform: about half of the draws below the geometric mean of the bounds.
        let geometricMean = (0.0001 * 0.5).squareRoot()
        let below = first.filter { $0.settings.learningRate < geometricMean }.count
        XCTAssertTrue((60...140).contains(below), "\(below) of 200 below the geometric mean")
        let otherSeed = try parse(yaml.replacingOccurrences(of: "random_seed: 11", with: "random_seed: 12")).expand()
        XCTAssertNotEqual(first.map(\.settings), otherSeed.map(\.settings))
    }

    func testMetricAndEarlyTerminate() throws {
        let spec = try parse("metric: {name: val_accuracy}\nearly_terminate: {type: median, warmup_epochs: 2}\nparameters: {seed: {values: [0, 1]}}")
        XCTAssertEqual(spec.metric, .init(name: .validationAccuracy, goal: .maximize))
        XCTAssertEqual(spec.earlyTerminate, .init(warmupEpochs: 2))
        // The stored JSON reads back as the same spec (the worker reads pruning from it).
        XCTAssertEqual(try SweepSpec.parse(yaml: spec.json(), file: "sweeps.spec"), spec)
    }

    /// The stored spec's head (method, count, metric) that Store and the reports read is what
    /// SweepSpec writes, and a metric without a goal takes the one natural-goal rule (Store's, which
    /// report's --metric uses too): accuracies are maximised, losses minimised.
    func testStoredHeadReadsWhatTheSpecWrites() throws {
        for name in SweepSpec.MetricName.allCases {
            let spec = try parse("method: random\ncount: 3\nmetric: {name: \(name.rawValue)}\nparameters: {seed: {values: [0, 1]}}")
            let maximize = name == .validationAccuracy || name == .trainAccuracy
            XCTAssertEqual(spec.metric.goal, maximize ? .maximize : .minimize, name.rawValue)
            XCTAssertEqual(SlopeStore.isMaximizedByDefault(name.rawValue), maximize, name.rawValue)
            let head = SlopeStore.SweepRecord.Head(specJSON: spec.json())
            XCTAssertEqual(head.method, "random")
            XCTAssertEqual(head.count, 3)
            XCTAssertEqual(head.metric, .init(name: name.rawValue, maximize: maximize))
        }
        let explicit = try parse("metric: {name: val_accuracy, goal: minimize}\nparameters: {seed: {values: [0, 1]}}")
        XCTAssertEqual(SlopeStore.SweepRecord.Head(specJSON: explicit.json()).metric, .init(name: "val_accuracy", maximize: false))
        XCTAssertEqual(SlopeStore.SweepRecord.Head(specJSON: explicit.json()).method, "grid")
        // A damaged spec: each key nil rather than a wrong value.
        let damaged = SlopeStore.SweepRecord.Head(specJSON: #"{"method": 3, "count": "many", "metric": {"name": "val_loss"}}"#)
        XCTAssertEqual(damaged, SlopeStore.SweepRecord.Head(specJSON: "not json"))
        XCTAssertNil(damaged.method)
        XCTAssertNil(damaged.metric)
    }

    /// `sweeps.spec` is the file's own shape as JSON: what docs/sweeps.md documents is what
    /// `json_extract` finds, in file order, and it reads back (JSON is YAML) as the same sweep.
    func testStoredSpecIsTheSweepFileAsJSON() throws {
        let name = "a \"quoted\" \\ name\nwith é, \u{2028}, \u{85}, \u{1}, 🙂"
        var spec = try SweepSpec.parse(yaml: """
            name: placeholder
            description: "lr x momentum, 50% / 50%"
            method: random
            count: 4
            random_seed: 9
            metric: {name: val_accuracy}
            early_terminate: {type: median, warmup_epochs: 2}
            fixed: {dataset: "data/my file.csv", hidden: [16, 8], epochs: 3, standardize: true}
            parameters:
              momentum: {distribution: uniform, min: 0, max: 0.9}
              learning_rate: {distribution: log_uniform, min: 1e-5, max: 0.3}
              batch_size: {values: [16, 64]}
            """, file: "s.yaml", checkingData: false)  // the file need not exist here
        spec.name = name
        let json = spec.json()
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        XCTAssertEqual(object["name"] as? String, name)
        XCTAssertEqual(object["description"] as? String, "lr x momentum, 50% / 50%")
        XCTAssertEqual(object["method"] as? String, "random")
        XCTAssertEqual(object["count"] as? Int, 4)
        XCTAssertEqual(object["random_seed"] as? Int, 9)
        XCTAssertEqual(object["metric"] as? [String: String], ["name": "val_accuracy", "goal": "maximize"])
        let early = try XCTUnwrap(object["early_terminate"] as? [String: Any])
        XCTAssertEqual(early["type"] as? String, "median")
        XCTAssertEqual(early["warmup_epochs"] as? Int, 2)
        let fixed = try XCTUnwrap(object["fixed"] as? [String: Any])
        XCTAssertEqual(fixed["dataset"] as? String, "data/my file.csv")
        XCTAssertEqual(fixed["hidden"] as? [Int], [16, 8])
        XCTAssertEqual(fixed["epochs"] as? Int, 3)
        XCTAssertEqual(fixed["standardize"] as? Bool, true)
        let parameters = try XCTUnwrap(object["parameters"] as? [String: [String: Any]])
        XCTAssertEqual(parameters["learning_rate"]?["distribution"] as? String, "log_uniform")
        XCTAssertEqual(parameters["learning_rate"]?["min"] as? Double, 1e-5)
        XCTAssertEqual(parameters["batch_size"]?["values"] as? [Int], [16, 64])
        // Keys in the documented order (settings as given), not sorted.
        let order = ["\"name\"", "\"description\"", "\"method\"", "\"count\"", "\"random_seed\"", "\"metric\"",
                     "\"fixed\"", "\"dataset\"", "\"hidden\"", "\"parameters\"",
                     "\"momentum\"", "\"learning_rate\"", "\"batch_size\"", "\"early_terminate\""]
        let positions = try order.map { key in try XCTUnwrap(json.range(of: key), key).lowerBound }
        XCTAssertEqual(positions, positions.sorted(), json)

        let back = try SweepSpec.parse(yaml: json, file: "sweeps.spec", checkingData: false)
        XCTAssertEqual(back, spec)
        XCTAssertEqual(back.json(), json)
        XCTAssertEqual(try back.expand().map(\.settings), try spec.expand().map(\.settings))

        // Flags give text; the stored spec has numbers and booleans, as a file would.
        var flags = FlagSettings()
        flags.add(.learningRate, ["0.001", "1e-4"])
        flags.add(.epochs, ["7"])
        flags.add(.standardize, ["true"])
        flags.add(.dataset, ["digits"])
        flags.add(.hidden, ["16,8", "none"])
        flags.add(.logTensors, ["5"])
        let fromFlags = try flags.sweepSpec(file: nil, name: "flags").json()
        XCTAssertTrue(fromFlags.contains(#""fixed":{"epochs":7,"standardize":true,"dataset":"digits","log_tensors":5}"#), fromFlags)
        XCTAssertTrue(fromFlags.contains(#""hidden":{"values":[[16,8],"none"]}"#), fromFlags)
        // Whole numbers written as floats are whole up to 2^53 (a seed's uniform max of 1e15).
        XCTAssertNoThrow(try parse("method: random\ncount: 2\nparameters: {seed: {distribution: uniform, min: 0, max: 1e15}}").expand())
        XCTAssertTrue(fromFlags.contains(#""learning_rate":{"values":[0.001,0.0001]}"#), fromFlags)
        XCTAssertEqual(try SweepSpec.parse(yaml: fromFlags, file: "sweeps.spec").json(), fromFlags)
    }

    /// Whole-number bounds are read exactly, not through a Double (where 2^63 - 1 is 2^63, beyond a
    /// seed's range): a seed's whole range is accepted, drawn and stored as written.
    func testWholeNumberBoundsAreExact() throws {
        let largest = "9223372036854775807"
        for distribution in ["uniform", "int_uniform"] {
            let spec = try parse("method: random\ncount: 40\nrandom_seed: 3\nfixed: {dataset: xor, epochs: 1}\n"
                                 + "parameters: {seed: {distribution: \(distribution), min: 0, max: \(largest)}}")
            guard case let .distribution(_, low, high)? = spec[.seed] else { return XCTFail("no distribution") }
            XCTAssertEqual(low, .whole(0))
            XCTAssertEqual(high.wholeNumber, Int.max)
            XCTAssertTrue(spec.json().contains(#""seed":{"distribution":"\#(distribution)","min":0,"max":\#(largest)}"#), spec.json())
            XCTAssertEqual(try SweepSpec.parse(yaml: spec.json(), file: "sweeps.spec"), spec)
            let seeds = try spec.expand().map(\.settings.seed)
            XCTAssertEqual(seeds.count, 40)
            XCTAssertEqual(Set(seeds).count, 40, "distinct draws over the whole range")
        }
        // The top four seeds: every draw one of them exactly, and each drawn (as a Double they are one number).
        let top = try parse("method: random\ncount: 200\nfixed: {dataset: xor, epochs: 1}\n"
                            + "parameters: {seed: {distribution: int_uniform, min: 9223372036854775804, max: \(largest)}}")
        XCTAssertEqual(Set(try top.expand().map(\.settings.seed)), [9223372036854775804, 9223372036854775805, 9223372036854775806, 9223372036854775807] as Set<UInt64>)
        // TPE's trials stay inside the exact bounds too (its sampler works in Doubles).
        let tpe = try parse("method: tpe\ncount: 12\nn_startup_trials: 4\nfixed: {dataset: xor, epochs: 1}\n"
                            + "parameters: {seed: {distribution: int_uniform, min: 9223372036854775800, max: \(largest)}}")
        for index in 0..<4 {
            let values = tpe.trialValues(tpe.tpeSampler.sample(after: [], seed: tpe.trialSeed(index), index: index))
            guard case let .int(seed)? = values.first?.1 else { return XCTFail("\(values)") }
            XCTAssertGreaterThanOrEqual(seed, 9223372036854775800)
        }
        // One more than the largest is refused, named as written.
        assertRejected("method: random\ncount: 2\nparameters: {seed: {distribution: int_uniform, min: 0, max: 9223372036854775808}}",
                       field: "parameters.seed", mentions: ["int_uniform needs whole-number min and max"])
        assertRejected("method: random\ncount: 2\nparameters: {seed: {distribution: uniform, min: 0, max: 9223372036854775808}}",
                       field: "parameters.seed.max", mentions: ["is not accepted"])
        assertRejected("method: random\ncount: 2\nparameters: {seed: {distribution: int_uniform, min: 9223372036854775807, max: 9223372036854775806}}",
                       field: "parameters.seed.min", mentions: ["min (9223372036854775807) is greater than max (9223372036854775806)"])
    }

    /// Values that set the same thing would queue the same run twice; booleans are true or false only.
    func testDuplicateValuesAndYAML11BooleansAreRefused() throws {
        assertRejected("parameters: {hidden: {values: [[64], [], none]}}", field: "parameters.hidden.values[2]",
                       mentions: ["'none' sets the same hidden as '[]' before it; give each value once"])
        assertRejected("parameters: {learning_rate: {values: [0.1, 0.3, 1e-1]}}", field: "parameters.learning_rate.values[2]",
                       mentions: ["'1e-1' sets the same learning_rate as '0.1' before it; give each value once"])
        assertRejected("parameters: {seed: {values: [0, 1, 1]}}", field: "parameters.seed.values[2]", mentions: ["'1' sets the same seed as '1' before it"])
        XCTAssertEqual(try parse("parameters: {hidden: {values: [[64], [64, 64], none]}}").expand().count, 3)

        for text in ["\"yes\"", "yes", "on", "off", "no", "'1'", "\"on\""] {
            assertRejected("fixed: {nesterov: \(text)}", field: "fixed.nesterov", mentions: ["is not accepted; expected true or false"])
            assertRejected("parameters: {standardize: {values: [true, \(text)]}}", field: "parameters.standardize.values[1]",
                           mentions: ["is not accepted; expected true or false"])
        }
        assertRejected("method: tpe\ncount: 4\nmultivariate: yes\nparameters: {learning_rate: {distribution: log_uniform, min: 0.001, max: 0.1}}",
                       field: "multivariate", mentions: ["expected true or false"])
        for (text, expected) in [("true", true), ("True", true), ("FALSE", false), ("\"false\"", false)] {
            let runs = try parse("fixed: {dataset: xor, nesterov: \(text), momentum: 0.9}").expand()
            XCTAssertEqual(runs.map(\.settings.nesterov), [expected], text)
        }
    }

    func testStrictValidation() {
        // Data settings are checked at once too, named by their place in the file.
        assertRejected("fixed: {dataset: nosuch}", field: "fixed.dataset", mentions: ["unknown dataset 'nosuch'", "runner datasets"])
        assertRejected("fixed: {dataset: xor, target: price}", field: "fixed.target", mentions: ["apply to CSV files", "xor decides its own targets"])
        assertRejected("parameters: {dataset: {values: [digits, \"spirals:rows=x\"]}}", field: "parameters.dataset.values[1]",
                       mentions: ["bad option 'rows=x'", "rows=N"])
        assertRejected("fixed: {dataset: \"blobs:rows=100000000\"}", field: "fixed.dataset", mentions: ["rows must be a whole number from 2 to 10000000"])
        assertRejected("fixed: {dataset: missing/data.csv}", field: "fixed.dataset", mentions: ["missing/data.csv: no such file"])
        XCTAssertNoThrow(try SweepSpec.parse(yaml: "fixed: {dataset: missing/data.csv}", file: "s.yaml", checkingData: false))
        let folder = FileManager.default.temporaryDirectory.path
        assertRejected("fixed: {dataset: \"\(folder)\"}", field: "fixed.dataset", mentions: ["is a directory; give a CSV file"])
        assertRejected("parameters: {learning_rate: {value: 0.1, values: [0.2]}}", field: "parameters.learning_rate", mentions: ["not both"])
        assertRejected("parameters: {learning_rate: {values: [0.2], value: 0.1}}", field: "parameters.learning_rate", mentions: ["not both"])
        assertRejected("method: random\ncount: 100001\nparameters: {seed: {values: [0]}}", field: "count", mentions: ["from 1 to 100000"])
        let seeds = (0..<1000).map(String.init).joined(separator: ", ")
        let rates = (1...101).map { "0.\($0)1" }.joined(separator: ", ")  // distinct ("0.\($0)" has 0.1 and 0.10)
        assertRejected("parameters: {seed: {values: [\(seeds)]}, learning_rate: {values: [\(rates)]}, epochs: {values: [3]}}", field: "parameters",
                       mentions: ["the grid has 101000 runs (1000 seed x 101 learning_rate)", "at most 100000", "split it"])
        XCTAssertEqual(try parse("parameters: {seed: {values: [\(seeds)]}, learning_rate: {values: [0.1, 0.2]}}").runCount, 2000)
        assertRejected("methd: grid", field: "methd", mentions: ["unknown key", "method", "parameters", "early_terminate"])
        // A bidi control (U+202E) in a key would reorder the rest of the error line on a terminal: escaped.
        assertRejected("\"na\u{202E}me\": s", field: "na\\u{202E}me", mentions: ["unknown key"])
        assertRejected("parameters: {\"seed\u{202E}\": {values: [1]}}", field: "parameters.seed\\u{202E}", mentions: ["unknown setting"])
        assertRejected("method: bayes", field: "method", mentions: ["grid, random"])
        assertRejected("parameters: {learning_rat: {values: [0.1]}}", field: "parameters.learning_rat", mentions: ["unknown setting", "learning_rate", "batch_size"])
        assertRejected("parameters: {learning_rate: {values: []}}", field: "parameters.learning_rate.values", mentions: ["empty"])
        assertRejected("parameters: {learning_rate: {values: [0.1, -0.01]}}", field: "parameters.learning_rate.values[1]", mentions: ["'-0.01'", "> 0"])
        assertRejected("parameters: {learning_rate: {values: [fast]}}", field: "parameters.learning_rate.values[0]", mentions: ["'fast'", "a number > 0"])
        assertRejected("parameters: {batch_size: {values: [0]}}", field: "parameters.batch_size.values[0]", mentions: [">= 1"])
        assertRejected("parameters: {batch_size: {values: [1.5]}}", field: "parameters.batch_size.values[0]", mentions: ["whole number"])
        assertRejected("parameters: {activation: {values: [softmax]}}", field: "parameters.activation.values[0]", mentions: ["relu, tanh, sigmoid, identity"])
        assertRejected("parameters: {learning_rate: 0.1}", field: "parameters.learning_rate", mentions: ["values", "distribution"])
        assertRejected("parameters: {learning_rate: {values: 0.1}}", field: "parameters.learning_rate.values", mentions: ["a list"])
        assertRejected("parameters: {learning_rate: {vals: [0.1]}}", field: "parameters.learning_rate.vals", mentions: ["values, value, distribution, min, max"])
        assertRejected("method: random\ncount: 3\nparameters: {learning_rate: {distribution: uniform, min: 0.5, max: 0.1}}",
                       field: "parameters.learning_rate.min", mentions: ["greater than max"])
        assertRejected("method: random\ncount: 3\nparameters: {learning_rate: {distribution: uniform, min: -1, max: 0.1}}",
                       field: "parameters.learning_rate.min", mentions: ["> 0"])
        assertRejected("method: random\ncount: 3\nparameters: {learning_rate: {distribution: normal, min: 0.1, max: 1}}",
                       field: "parameters.learning_rate.distribution", mentions: ["uniform, log_uniform, int_uniform"])
        assertRejected("method: random\ncount: 3\nparameters: {learning_rate: {distribution: uniform, min: 0.1}}",
                       field: "parameters.learning_rate.max", mentions: ["missing"])
        assertRejected("method: random\ncount: 3\nparameters: {activation: {distribution: uniform, min: 0, max: 1}}",
                       field: "parameters.activation.distribution", mentions: ["not a number"])
        assertRejected("method: random\ncount: 3\nparameters: {learning_rate: {distribution: int_uniform, min: 1, max: 1e30}}",
                       field: "parameters.learning_rate", mentions: ["whole-number min and max"])
        assertRejected("parameters: {learning_rate: {distribution: uniform, min: 0.1, max: 1}}",
                       field: "parameters.learning_rate", mentions: ["method: random"])
        assertRejected("method: random\nparameters: {seed: {values: [1, 2]}}", field: "count", mentions: ["count: N"])
        assertRejected("count: 4\nparameters: {seed: {values: [1, 2]}}", field: "count", mentions: ["only for method: random"])
        assertRejected("count: -4\nmethod: random", field: "count", mentions: ["from 1 to 100000"])
        assertRejected("metric: {name: accuracy}", field: "metric.name", mentions: ["val_loss, train_loss, val_accuracy, train_accuracy"])
        assertRejected("metric: {name: val_loss, goal: lowest}", field: "metric.goal", mentions: ["minimize, maximize"])
        assertRejected("early_terminate: {type: hyperband}", field: "early_terminate.type", mentions: ["median"])
        assertRejected("early_terminate: {type: median, warmup: 3}", field: "early_terminate.warmup", mentions: ["type, warmup_epochs"])
        assertRejected("fixed: {momentum: 1.5}", field: "fixed.momentum", mentions: ["[0, 1)"])
        assertRejected("fixed: {epochs: 3}\nparameters: {epochs: {values: [1, 2]}}", field: "fixed.epochs", mentions: ["also under parameters"])
        assertRejected("fixed: {hidden: [64, 0]}", field: "fixed.hidden", mentions: ["widths >= 1"])
        assertRejected("fixed: {log_tensors: sometimes}", field: "fixed.log_tensors", mentions: ["every, final, or a whole number"])
        assertRejected("- a\n- b", field: "(top level)", mentions: ["mapping"])
        XCTAssertThrowsError(try parse("parameters: {a: [1, 2")) { error in
            XCTAssertEqual("\(error)", "s.yaml, line 1, column 22: not valid YAML: did not find expected ',' or ']' "
                           + "(while parsing a flow sequence at line 1, column 17)")
        }
    }

    func testFlagsReplaceTheFilesValues() throws {
        let file = try parse("name: f\nfixed: {epochs: 5}\nparameters: {learning_rate: {values: [0.1, 0.2]}}")
        var flags = FlagSettings()
        flags.add(.learningRate, ["0.3"])
        flags.add(.seed, ["0", "1", "2"])
        let spec = try flags.sweepSpec(file: file, name: "ignored")
        XCTAssertEqual(spec.name, "f")
        XCTAssertEqual(try spec.expand().map(\.settings.learningRate), [0.3, 0.3, 0.3])
        XCTAssertEqual(try spec.expand().map(\.settings.seed), [0, 1, 2])
        XCTAssertEqual(try spec.expand().map(\.settings.epochs), [5, 5, 5])

        var bad = FlagSettings()
        bad.add(.batchSize, ["16", "0"])
        XCTAssertThrowsError(try bad.sweepSpec(file: nil, name: "s")) { error in
            XCTAssertEqual("\(error)", "--batch-size: '0' is not accepted; expected a whole number >= 1")
        }
        XCTAssertThrowsError(try bad.singleRunSettings()) { error in
            XCTAssertTrue("\(error)".contains("`runner train` takes one"), "\(error)")
        }
    }

    /// Data settings are checked after flags replace the file's: a file's missing dataset does not
    /// matter when --dataset replaces it, and errors name the flag or the file's field.
    func testDataSettingsAreCheckedAfterFlagsAndNamedByWhereTheyCameFrom() throws {
        let file = try SweepSpec.parse(yaml: "fixed: {dataset: data/missing.csv, epochs: 1}\nparameters: {seed: {values: [0, 1]}}",
                                       file: "s.yaml", checkingData: false)
        var replaced = FlagSettings()
        replaced.add(.dataset, ["xor"])
        XCTAssertEqual(try replaced.sweepSpec(file: file, name: "n", filePath: "s.yaml").expand().map(\.settings.dataset), ["xor", "xor"])
        XCTAssertThrowsError(try FlagSettings().sweepSpec(file: file, name: "n", filePath: "s.yaml")) { error in
            XCTAssertEqual("\(error)", "s.yaml: fixed.dataset: data/missing.csv: no such file in the current folder")
        }
        var task = FlagSettings()
        task.add(.dataset, ["moons"])
        task.add(.seed, ["0", "1"])
        task.add(.task, ["regression"])
        XCTAssertThrowsError(try task.sweepSpec(file: nil, name: "n")) { error in
            XCTAssertEqual("\(error)", "--task: target and task apply to CSV files; moons decides its own targets")
        }
        var auto = FlagSettings()
        auto.add(.dataset, ["moons"])
        auto.add(.task, ["auto"])
        XCTAssertNoThrow(try auto.sweepSpec(file: nil, name: "n"))  // auto is every dataset's default
        XCTAssertNoThrow(try parse("fixed: {dataset: moons, task: auto}"))
        assertRejected("fixed: {dataset: moons}\nparameters: {task: {values: [auto, regression]}}", field: "parameters.task.values[1]",
                       mentions: ["moons decides its own targets"])
    }

    /// A setting that fails only with some runs' values names the run and the file.
    func testACombinationThatFailsNamesTheRun() throws {
        let spec = try parse("fixed: {dataset: xor, early_stopping_patience: 3, epochs: 2}\nparameters: {validation: {values: [0.5, 0]}}")
        XCTAssertThrowsError(try SweepPlan(spec: spec, source: "esv.yaml")) { error in
            // The setting named where the file gives it, as for any setting of the file.
            XCTAssertEqual("\(error)", "esv.yaml: the run with validation=0: fixed.early_stopping_patience: early stopping on val_loss needs "
                           + "a validation split (--validation > 0) or --early-stopping-monitor train_loss")
        }
    }

    /// A metric the runs can never have (no accuracy on a regression dataset, no validation value
    /// without a validation split) is refused before anything is queued: TPE would sample blind
    /// (every trial's value missing), ASHA never prune and no best be named.
    func testAMetricTheRunsCannotHaveIsRefused() throws {
        try assertPlanRejected("""
            method: tpe
            count: 6
            metric: {name: val_accuracy}
            fixed: {dataset: linear, hidden: [4], epochs: 2}
            parameters: {learning_rate: {distribution: log_uniform, min: 0.0001, max: 0.1}}
            """, "m.yaml: metric.name: val_accuracy needs class labels, and linear holds values (a regression dataset): use val_loss")
        try assertPlanRejected("metric: {name: train_accuracy}\nfixed: {dataset: linear, epochs: 1}",
                               "m.yaml: metric.name: train_accuracy needs class labels, and linear holds values (a regression dataset): use train_loss")
        try assertPlanRejected("metric: {name: val_loss}\nfixed: {dataset: xor, validation: 0, epochs: 1}",
                               "m.yaml: metric.name: val_loss needs a validation split, and fixed.validation is 0: set fixed.validation above 0 or use train_loss")
        try assertPlanRejected("""
            method: random
            count: 3
            metric: {name: val_accuracy}
            early_terminate: {type: asha}
            fixed: {dataset: xor, validation: 0, epochs: 4}
            parameters: {learning_rate: {distribution: log_uniform, min: 0.001, max: 1}}
            """, "m.yaml: metric.name: val_accuracy needs a validation split, and fixed.validation is 0: set fixed.validation above 0 or use train_accuracy")
        // Some runs without a validation split: the first such run is named.
        try assertPlanRejected("metric: {name: val_loss}\nfixed: {dataset: xor, epochs: 1}\nparameters: {validation: {values: [0.5, 0]}}",
                               "m.yaml: metric.name: val_loss needs a validation split, and validation is 0: set validation above 0 or use train_loss "
                               + "(the run with validation=0)")
        // What the runs can have is accepted, and so is the default val_loss without a validation split
        // (summaries and reports fall back to train_loss, as before).
        XCTAssertEqual(try SweepPlan(spec: try parse("metric: {name: train_accuracy}\nfixed: {dataset: xor, validation: 0, epochs: 1}")).configurations.count, 1)
        XCTAssertEqual(try SweepPlan(spec: try parse("metric: {name: val_accuracy}\nfixed: {dataset: xor, validation: 0.5, epochs: 1}")).configurations.count, 1)
        XCTAssertEqual(try SweepPlan(spec: try parse("metric: {name: val_loss}\nfixed: {dataset: linear, epochs: 1}")).configurations.count, 1)
        XCTAssertEqual(try SweepPlan(spec: try parse("fixed: {dataset: xor, validation: 0, epochs: 1}")).configurations.count, 1)
    }

    /// Median pruning compares val_loss: a run without a validation split can never be judged, so
    /// `early_terminate: median` with `validation: 0` is refused (it used to be accepted and do nothing).
    func testMedianPruningWithoutAValidationSplitIsRefused() throws {
        let fix = "so no run would ever be pruned: set fixed.validation above 0, or use type: asha, which prunes on the sweep's metric "
            + "(e.g. metric: {name: train_loss})"
        try assertPlanRejected("""
            metric: {name: train_loss}
            early_terminate: {type: median, warmup_epochs: 2}
            fixed: {dataset: moons, validation: 0, epochs: 12}
            parameters: {learning_rate: {values: [0.1, 0.01]}}
            """, "m.yaml: early_terminate: type: median compares val_loss, and fixed.validation is 0, " + fix)
        try assertPlanRejected("""
            method: tpe
            count: 4
            metric: {name: train_loss}
            early_terminate: {type: median}
            fixed: {dataset: xor, validation: 0, epochs: 4}
            parameters: {learning_rate: {distribution: log_uniform, min: 0.001, max: 1}}
            """, "m.yaml: early_terminate: type: median compares val_loss, and fixed.validation is 0, " + fix)
        try assertPlanRejected("""
            early_terminate: {type: median}
            fixed: {dataset: xor, epochs: 4}
            parameters: {validation: {values: [0.5, 0]}}
            """, "m.yaml: early_terminate: type: median compares val_loss, and validation is 0, so no run would ever be pruned: "
                + "set validation above 0, or use type: asha, which prunes on the sweep's metric (e.g. metric: {name: train_loss}) (the run with validation=0)")
        // With a validation split (the default 0.2), and ASHA on train_loss without one, are accepted.
        XCTAssertEqual(try SweepPlan(spec: try parse("early_terminate: {type: median}\nfixed: {dataset: xor, epochs: 4}")).configurations.count, 1)
        XCTAssertEqual(try SweepPlan(spec: try parse("metric: {name: train_loss}\nearly_terminate: {type: asha}\n"
            + "fixed: {dataset: xor, validation: 0, epochs: 4}")).configurations.count, 1)
    }

    /// A drawn setting that fails with another setting is named as the file gives it: the parameter
    /// (its distribution), not `.values`, which it does not have.
    func testACombinationThatFailsNamesADistributionParameter() throws {
        let spec = try parse("""
            method: random
            count: 2
            fixed: {dataset: xor, optimizer: adam, epochs: 1}
            parameters: {momentum: {distribution: uniform, min: 0.1, max: 0.9}}
            """)
        XCTAssertThrowsError(try SweepPlan(spec: spec, source: "m.yaml")) { error in
            let message = "\(error)"
            XCTAssertTrue(message.hasPrefix("m.yaml: the run with momentum=0."), message)
            XCTAssertTrue(message.contains(": parameters.momentum: "), message)
            XCTAssertTrue(message.hasSuffix("adam has no momentum setting (beta1 plays its part); use sgd or rmsprop for momentum"), message)
            XCTAssertFalse(message.contains("parameters.momentum.values"), message)
        }
        // Nesterov without momentum would be plain sgd: refused in a sweep file as on the command line.
        XCTAssertThrowsError(try SweepPlan(spec: parse("fixed: {dataset: xor, epochs: 1, nesterov: true}"), source: "n.yaml")) { error in
            XCTAssertEqual("\(error)", "n.yaml: fixed.nesterov: needs a momentum above 0 (sgd with momentum 0 is plain sgd, which Nesterov does not change): set a momentum, e.g. 0.9, or leave nesterov out")
        }
        XCTAssertNoThrow(try SweepPlan(spec: parse("fixed: {dataset: xor, epochs: 1, nesterov: true, momentum: 0.9}"), source: "n.yaml"))
        // A list is still named with its index where the value is checked alone, and as the list in a combination.
        let listed = try parse("fixed: {dataset: xor, optimizer: adam, epochs: 1}\nparameters: {momentum: {values: [0, 0.5]}}")
        XCTAssertThrowsError(try SweepPlan(spec: listed, source: "l.yaml")) { error in
            XCTAssertTrue("\(error)".contains("the run with momentum=0.5: parameters.momentum.values: "), "\(error)")
        }
    }

    /// A large grid says how far its checking got, every 1,000 runs (the runner shows it on stderr).
    func testPlanningAGridReportsProgressEveryThousandRuns() throws {
        let seeds = (0..<2_500).map(String.init).joined(separator: ", ")
        let spec = try parse("fixed: {dataset: xor, epochs: 1, validation: 0}\nparameters: {seed: {values: [\(seeds)]}}")
        var calls: [[Int]] = []
        let plan = try SweepPlan(spec: spec, onProgress: { done, total in calls.append([done, total]) })
        XCTAssertEqual(plan.configurations.count, 2_500)
        XCTAssertEqual(calls, [[1_000, 2_500], [2_000, 2_500]])
    }

    func testShippedExamplesAreValid() throws {
        let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("examples")
        let files = try FileManager.default.contentsOfDirectory(atPath: examples.path).filter { $0.hasSuffix(".yaml") }
        XCTAssertTrue(files.contains("lr-vs-batch.yaml"))
        for file in files {
            let spec = try SweepSpec.load(path: examples.appendingPathComponent(file).path)
            // A TPE sweep expands to its first trial only (the others are sampled as workers ask).
            XCTAssertEqual(try spec.expand().count, spec.method == .tpe ? 1 : spec.runCount, file)
            XCTAssertGreaterThan(spec.runCount, 1, file)
        }
        let lrVsBatch = try SweepSpec.load(path: examples.appendingPathComponent("lr-vs-batch.yaml").path)
        XCTAssertEqual(lrVsBatch.variedSettings, [.learningRate, .batchSize])
        XCTAssertTrue(try lrVsBatch.expand().allSatisfy { $0.settings.dataset == "digits" })
    }

    /// A sweep plan of `yaml` (read as the file m.yaml) is refused with `message`, as a bad setting.
    private func assertPlanRejected(_ yaml: String, _ message: String, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertThrowsError(try SweepPlan(spec: try parse(yaml), source: "m.yaml"), file: file, line: line) { error in
            XCTAssertEqual("\(error)", message, file: file, line: line)
            guard case ExperimentsError.badSetting = error else { return XCTFail("\(error)", file: file, line: line) }
        }
    }
}
