// Hostile and mistyped sweep files: alias bombs refused before they expand, Yams' parse errors as
// one line with file, line and column, "did you mean" for mistyped keys and settings, seeds shown
// exactly, and a setting's problem named where the file gives it.
import XCTest
@testable import Experiments

final class SweepFileInputTests: XCTestCase {
    private func message(_ yaml: String, checkingData: Bool = true) -> String {
        do {
            _ = try SweepSpec.parse(yaml: yaml, file: "s.yaml", checkingData: checkingData)
            return "accepted"
        } catch {
            XCTAssertTrue((error as? ExperimentsError)?.isUsageError ?? false, "\(error)")
            return "\(error)"
        }
    }

    /// Each level repeats the one below ten times: `levels` levels expand to 10^levels values. The
    /// anchors are defined inside the values (a valid sweep file), or, `asKey`, in keys of their
    /// own with the last alias as a key.
    static func aliasBomb(levels: Int, asKey: Bool = false) -> String {
        let items = ["&a0 [8]"] + (1...levels).map { level in
            "&a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]"
        }
        if asKey { return items.enumerated().map { "x\($0.offset): \($0.element)\n" }.joined() + "? *a\(levels)\n: 1\n" }
        return "parameters:\n  hidden:\n    values: [" + items.joined(separator: ", ") + "]\n"
    }

    func testAliasBombsAreRefusedBeforeTheyExpand() {
        // 10^9 values from 500 bytes (before: over a minute and a gigabyte): refused after counting 100,000.
        let refused = message(Self.aliasBomb(levels: 9))
        XCTAssertEqual(refused, "s.yaml: expands to more than 100000 YAML values (aliases that repeat aliases?); "
                       + "a sweep file needs far fewer: write the values out")
        // As a mapping key Yams would hash all of it to look for duplicate keys: refused unparsed.
        XCTAssertEqual(message(Self.aliasBomb(levels: 9, asKey: true)),
                       "s.yaml, line 11, column 3: an alias (*name) as a mapping key is not supported; write the key out")
        // Aliases within the bound still work.
        XCTAssertEqual(try SweepSpec.parse(yaml: "fixed: {hidden: &h [4, 4]}\nparameters: {seed: {values: [1, 2]}}\n",
                                           file: "s.yaml").expand().map(\.settings.hidden), [[4, 4], [4, 4]])
        // A merge key (YAML 1.1's `<<: *base`) is refused where it is, not named an unknown setting "<<" (hostile17 H3);
        // a quoted "<<" is a key like any other.
        XCTAssertEqual(message("fixed:\n  <<: {dataset: xor, epochs: 2}\n  validation: 0\n"),
                       "s.yaml, line 2, column 3: a merge key (<<) is not supported: write the keys out (an alias may stand for a whole value: learning_rate: *lr)")
        XCTAssertEqual(message("parameters:\n  learning_rate: &lr {values: [0.1, 0.2]}\n  momentum: {<<: *lr}\n"),
                       "s.yaml, line 3, column 14: a merge key (<<) is not supported: write the keys out (an alias may stand for a whole value: learning_rate: *lr)")
        XCTAssertTrue(message("fixed: {\"<<\": 1}\n").hasPrefix("s.yaml: fixed.<<: unknown setting;"), message("fixed: {\"<<\": 1}\n"))
        // Without aliases, 100,000 values written out: no alias to blame (hostile17 H6).
        let written = "parameters:\n  learning_rate: {values: [" + (1...100_000).map { "0.\($0)" }.joined(separator: ",") + "]}\n"
        XCTAssertEqual(message(written), "s.yaml: holds more than 100000 YAML values; a sweep file needs far fewer (a sweep has at most "
                       + "\(SweepSpec.maximumRunCount) runs): for many values of a number, give a distribution with method: random")
        // A large bad value is not rendered whole into the message.
        let large = message("parameters:\n  hidden: {values: [[" + Array(repeating: "0", count: 5000).joined(separator: ", ") + "]]}\n")
        XCTAssertEqual(large, "s.yaml: parameters.hidden.values[0]: '[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ...' is not accepted; "
                       + "expected layer widths >= 1 separated by commas (e.g. 64,64), or none")
    }

    func testParseErrorsAreOneLineWithLineAndColumn() {
        XCTAssertEqual(message("name: a\nmethod: grid\nname: b\n"),
                       "s.yaml, line 3, column 1: not valid YAML: 'name' appears twice in one mapping (first at line 1); give each key once")
        XCTAssertEqual(message("name: a\nparameters:\n  seed: {values: *nope}\n"),
                       "s.yaml, line 3, column 18: not valid YAML: found undefined alias")
        XCTAssertEqual(message("name: a\nparameters:\n  seed:\n    values: [1]\n   bad: 2\n"),
                       "s.yaml, line 5, column 4: not valid YAML: did not find expected key (while parsing a block mapping at line 3, column 3)")
        XCTAssertEqual(message("name: [a\n"),
                       "s.yaml, line 2, column 1: not valid YAML: did not find expected ',' or ']' (while parsing a flow sequence at line 1, column 7)")
        for yaml in ["a: b: c", "\t- x", "name: \"open", "- a\nb: c"] {
            let text = message(yaml)
            XCTAssertFalse(text.contains("\n"), text)
            XCTAssertTrue(text.hasPrefix("s.yaml, line "), text)
        }
    }

    /// 5,000 nested lists: libyaml's words ("set with yaml_set_max_nest_level())") named a C function
    /// to call; now the limit is said. 900 levels still parse (and are refused as a setting value).
    func testNestingTooDeepIsSaidWithoutLibyamlsWords() {
        func nested(_ depth: Int) -> String {
            "fixed:\n  dataset: xor\nparameters:\n  learning_rate:\n    values: " + String(repeating: "[", count: depth) + "0.1" + String(repeating: "]", count: depth) + "\n"
        }
        XCTAssertEqual(message(nested(5000)),
                       "s.yaml, line 5, column 14: not valid YAML: nested deeper than 1000 levels (lists and mappings inside each other); a sweep file needs a few")
        XCTAssertFalse(message(nested(900)).contains("not valid YAML"), message(nested(900)))
    }

    /// `name: null` (or `~`) named the sweep "null"; it is refused now, as `name: ""` is. Quoted, it is a name.
    func testANullNameIsRefusedLikeAnEmptyOne() throws {
        let refused = "s.yaml: name: expected a non-empty text (null is YAML's empty value; leave the key out for the file's name, or quote 'null')"
        XCTAssertEqual(message("name: null\nfixed:\n  dataset: xor\n"), refused)
        XCTAssertEqual(message("name: ~\nfixed:\n  dataset: xor\n"), refused)
        XCTAssertEqual(message("name: NULL\nfixed:\n  dataset: xor\n"), refused)
        XCTAssertEqual(message("name: \"\"\nfixed:\n  dataset: xor\n"), "s.yaml: name: expected a non-empty text")
        XCTAssertEqual(try SweepSpec.parse(yaml: "name: 'null'\nfixed:\n  dataset: xor\n", file: "s.yaml").name, "null")
        XCTAssertEqual(try SweepSpec.parse(yaml: "fixed:\n  dataset: xor\n", file: "s.yaml").name, "sweep")
    }

    /// A key given twice is reported where it is given again (Yams marks its first occurrence).
    func testAKeyGivenTwiceIsNamedWhereItRepeats() {
        // Nested, with the same key in another mapping, a comment, a blank line and a quoted repeat between.
        let nested = "name: a\nfixed:\n  epochs: 1\n  hidden: [4]\n  # a comment\n\n  \"epochs\" : 2\nparameters:\n  epochs: {values: [1]}\n"
        XCTAssertEqual(message(nested),
                       "s.yaml, line 7, column 3: not valid YAML: 'epochs' appears twice in one mapping (first at line 3); give each key once")
        // A value's own lines (deeper) and a sequence at the key's column are passed over.
        let deeper = "fixed:\n  hidden:\n  - 4\n  seed:\n    epochs: 3\n  hidden: [8]\n"
        XCTAssertEqual(message(deeper),
                       "s.yaml, line 6, column 3: not valid YAML: 'hidden' appears twice in one mapping (first at line 2); give each key once")
        // The next item of a list is another mapping: the repeat is found in the first one.
        let items = "parameters:\n  optimizer:\n    values:\n    - name: a\n      name: b\n    - name: c\n"
        XCTAssertEqual(message(items),
                       "s.yaml, line 5, column 7: not valid YAML: 'name' appears twice in one mapping (first at line 4); give each key once")
        // In a flow mapping: the first occurrence, worded so.
        XCTAssertEqual(message("fixed: {epochs: 1, epochs: 2}\n"),
                       "s.yaml, line 1, column 9: not valid YAML: 'epochs' is given here and again later in the same mapping; give each key once")
    }

    func testMistypedNamesGetDidYouMean() {
        XCTAssertTrue(message("nmae: a\n").hasPrefix("s.yaml: nmae: unknown key; did you mean 'name'? accepted keys: name, description,"))
        XCTAssertTrue(message("parameters:\n  learning_rte: {values: [0.1]}\n")
            .hasPrefix("s.yaml: parameters.learning_rte: unknown setting; did you mean 'learning_rate'? accepted: dataset,"))
        XCTAssertTrue(message("fixed: {epoch: 3}\n").hasPrefix("s.yaml: fixed.epoch: unknown setting; did you mean 'epochs'?"))
        XCTAssertEqual(message("metric: {name: val_loss, gaol: minimize}\n"),
                       "s.yaml: metric.gaol: unknown key; did you mean 'goal'? accepted keys: name, goal")
        // A name the typed one begins is suggested (before: nothing, being more than 3 edits away).
        XCTAssertEqual(message("early_terminate: {warmup: 2}\n"),
                       "s.yaml: early_terminate.warmup: unknown key; did you mean 'warmup_epochs'? accepted keys: type, warmup_epochs (median), min_epochs, reduction_factor (asha)")
        // No type: neither pruning is guessed.
        for body in ["{}", "{min_epochs: 1}", "{warmup_epochs: 2}"] {
            XCTAssertEqual(message("early_terminate: \(body)\n"), "s.yaml: early_terminate.type: missing; give type: median "
                           + "(with warmup_epochs) or type: asha (with min_epochs, reduction_factor)", body)
        }
        XCTAssertEqual(message("early_terminate: {type: asha, min_epoch: 2}\n"),
                       "s.yaml: early_terminate.min_epoch: unknown key; did you mean 'min_epochs'? accepted keys: type, warmup_epochs (median), min_epochs, reduction_factor (asha)")
        XCTAssertEqual(message("parameters:\n  seed: {vaules: [1, 2]}\n"),
                       "s.yaml: parameters.seed.vaules: unknown key; did you mean 'values'? accepted keys: values, value, distribution, min, max")
        // Nothing close: no guess.
        XCTAssertTrue(message("frobnicate: 1\n").hasPrefix("s.yaml: frobnicate: unknown key; accepted keys:"))
        XCTAssertEqual(NameSuggestion.closest(to: "batchsize", among: Setting.allCases.map(\.rawValue)), "batch_size")
        XCTAssertEqual(NameSuggestion.editDistance(Array("kitten".unicodeScalars), Array("sitting".unicodeScalars)), 3)
        // The usual abbreviations, then a name the typed one begins, before edit distance (which
        // gave --db for --lr and --beta1 for --batch); in a sweep file's keys too.
        let flags = ["--db", "--beta1", "--batch-size", "--learning-rate", "--weight-decay", "--epochs"]
        XCTAssertEqual(NameSuggestion.closest(to: "--lr", among: flags), "--learning-rate")
        XCTAssertEqual(NameSuggestion.closest(to: "--batch", among: flags), "--batch-size")
        XCTAssertEqual(NameSuggestion.closest(to: "--bs", among: flags), "--batch-size")
        XCTAssertEqual(NameSuggestion.closest(to: "--wd", among: flags), "--weight-decay")
        XCTAssertEqual(NameSuggestion.closest(to: "--learn", among: flags), "--learning-rate")
        XCTAssertEqual(NameSuggestion.closest(to: "--epoch", among: flags), "--epochs")
        XCTAssertEqual(NameSuggestion.closest(to: "--dbx", among: flags), "--db")
        XCTAssertEqual(NameSuggestion.closest(to: "lr", among: Setting.allCases.map(\.rawValue)), "learning_rate")
        XCTAssertEqual(NameSuggestion.closest(to: "wd", among: Setting.allCases.map(\.rawValue)), "weight_decay")
    }

    func testSeedsBeyondTheLimitAreShownExactly() {
        XCTAssertEqual(message("fixed: {seed: 9223372036854775808}\n"),
                       "s.yaml: fixed.seed: '9223372036854775808' is not accepted; expected a whole number from 0 to 9223372036854775807")
        XCTAssertEqual(message("parameters: {split_seed: {values: [1, 18446744073709551616]}}\n"),
                       "s.yaml: parameters.split_seed.values[1]: '18446744073709551616' is not accepted; expected a whole number from 0 to 9223372036854775807")
        XCTAssertEqual(message("method: random\ncount: 2\nrandom_seed: 9223372036854775808\n"),
                       "s.yaml: random_seed: '9223372036854775808' is not accepted; expected a whole number from 0 to 9223372036854775807")
        XCTAssertEqual(try SweepSpec.parse(yaml: "fixed: {seed: 9223372036854775807}\n", file: "s.yaml").expand().first?.settings.seed,
                       9_223_372_036_854_775_807)
        // Large whole numbers are still numbers where a setting takes a real number.
        XCTAssertEqual(try SweepSpec.parse(yaml: "fixed: {learning_rate: 100000000000000000000}\n", file: "s.yaml").expand().first?.settings.learningRate, 1e20)
    }

    /// A distribution's min and max are named as the file writes them, not as the Double they
    /// are read as (99999999999999999999 is not 1e+20, 2^63 not 9.223372036854776e+18, 1.0 not 1).
    func testDistributionBoundsAreShownAsWritten() throws {
        let random = "method: random\ncount: 2\n"
        XCTAssertEqual(message(random + "parameters: {epochs: {min: 1, max: 99999999999999999999}}\n"),
                       "s.yaml: parameters.epochs: int_uniform needs whole-number min and max "
                       + "(from -9223372036854775808 to 9223372036854775807); max is 99999999999999999999")
        XCTAssertEqual(message(random + "parameters: {seed: {distribution: int_uniform, min: 0.5, max: 10}}\n"),
                       "s.yaml: parameters.seed: int_uniform needs whole-number min and max "
                       + "(from -9223372036854775808 to 9223372036854775807); min is 0.5")
        XCTAssertEqual(message(random + "parameters: {seed: {distribution: uniform, min: 0, max: 9223372036854775808}}\n"),
                       "s.yaml: parameters.seed.max: '9223372036854775808' is not accepted; expected a whole number from 0 to 9223372036854775807")
        XCTAssertEqual(message(random + "parameters: {epochs: {distribution: uniform, min: 1, max: 99999999999999999999}}\n"),
                       "s.yaml: parameters.epochs.max: '99999999999999999999' is not accepted; expected a whole number from 0 to 1000000000")
        XCTAssertEqual(message(random + "parameters: {momentum: {min: 0.5, max: 1.0}}\n"),
                       "s.yaml: parameters.momentum.max: '1.0' is not accepted; expected a number in [0, 1), e.g. 0.9")
        XCTAssertEqual(message(random + "parameters: {momentum: {min: 0.5, max: 1.00000000000000000001}}\n"),
                       "s.yaml: parameters.momentum.max: '1.00000000000000000001' is not accepted; expected a number in [0, 1), e.g. 0.9 "
                       + "('1.00000000000000000001' rounds to 1 as a 64-bit float)")
        XCTAssertEqual(message(random + "parameters: {learning_rate: {min: 99999999999999999999, max: 1e-1}}\n"),
                       "s.yaml: parameters.learning_rate.min: min (99999999999999999999) is greater than max (1e-1)")
        // The same numbers as before where they are accepted: a whole number written as 1e3 is an
        // epoch count, and a bound beyond Int is still the real number it writes.
        let accepted = try SweepSpec.parse(yaml: random + "fixed: {dataset: xor}\nparameters: {epochs: {min: 1e3, max: 1e3}, "
                                           + "learning_rate: {min: 0.5, max: 100000000000000000000}}\n", file: "s.yaml")
        XCTAssertEqual(try accepted.expand().map(\.settings.epochs), [1000, 1000])
        guard case let .distribution(_, _, high)? = accepted[.learningRate] else { return XCTFail("no distribution") }
        XCTAssertEqual(high.value, 1e20)
        XCTAssertEqual(high, .real(1e20), "the text as written is for messages only")
    }

    /// A `values:` (or `fixed:`) number is named as the file writes it, as a distribution's bounds
    /// are (1e-1, not 0.1; 1.0, not 1; 1e20, not 1e+20), and is still the number it writes.
    func testValuesAreShownAsWritten() throws {
        XCTAssertEqual(message("parameters: {learning_rate: {values: [0.1, 1e-1]}}\n"),
                       "s.yaml: parameters.learning_rate.values[1]: '1e-1' sets the same learning_rate as '0.1' before it; give each value once")
        XCTAssertEqual(message("parameters: {momentum: {values: [0.5, 1.0]}}\n"),
                       "s.yaml: parameters.momentum.values[1]: '1.0' is not accepted; expected a number in [0, 1), e.g. 0.9")
        XCTAssertEqual(message("fixed: {momentum: 1e20}\n"),
                       "s.yaml: fixed.momentum: '1e20' is not accepted; expected a number in [0, 1), e.g. 0.9")
        XCTAssertEqual(message("parameters: {momentum: {values: [0.5, 1.00000000000000000001]}}\n"),
                       "s.yaml: parameters.momentum.values[1]: '1.00000000000000000001' is not accepted; expected a number in [0, 1), e.g. 0.9 "
                       + "('1.00000000000000000001' rounds to 1 as a 64-bit float)")
        XCTAssertEqual(message("parameters: {learning_rate: {values: [0.1, 1e-400]}}\n"),
                       "s.yaml: parameters.learning_rate.values[1]: '1e-400' is not accepted; expected a number > 0, e.g. 0.01 "
                       + "('1e-400' rounds to 0 as a 64-bit float)")
        XCTAssertEqual(message("parameters: {epochs: {values: [1e10]}}\n"),
                       "s.yaml: parameters.epochs.values[0]: '1e10' is not accepted; expected a whole number from 0 to 1000000000")
        // The same numbers as before: a whole number written as a float is a whole-number setting's,
        // the spec equals its stored forms (JSON and Codable), and the stored JSON holds the number.
        XCTAssertEqual(try SweepSpec.parse(yaml: "fixed: {dataset: xor, epochs: 1e1}\n", file: "s.yaml").expand().map(\.settings.epochs), [10])
        let spec = try SweepSpec.parse(yaml: "fixed: {dataset: xor, momentum: 5e-1}\nparameters: {learning_rate: {values: [1e-1, 2.50]}}\n", file: "s.yaml")
        XCTAssertEqual(try spec.expand().map(\.settings.learningRate), [0.1, 2.5])
        XCTAssertEqual(try spec.expand().map(\.settings.momentum), [0.5, 0.5])
        XCTAssertTrue(spec.json().contains(#""learning_rate":{"values":[0.1,2.5]}"#), spec.json())
        XCTAssertEqual(try SweepSpec.parse(yaml: spec.json(), file: "stored"), spec)
        XCTAssertEqual(try JSONDecoder().decode(SweepSpec.self, from: JSONEncoder().encode(spec)), spec)
        XCTAssertEqual(SettingValue.double(0.1, written: "1e-1"), .double(0.1))
        XCTAssertEqual(Set([SettingValue.double(0.1, written: "1e-1"), .double(0.1)]).count, 1)
    }

    /// Numbers in a sweep file are decimal, as on the command line: YAML alone reads 0x10 as 16,
    /// 0o17 as 15, 010 as 8 and 1_000 as 1000; refused here whether quoted or not (010 is ten).
    func testNumbersInAFileAreDecimalAsOnTheCommandLine() throws {
        let expected = "is not accepted; expected a number > 0, e.g. 0.01"
        XCTAssertEqual(message("fixed: {learning_rate: 0x10}\n"), "s.yaml: fixed.learning_rate: '0x10' \(expected)")
        XCTAssertEqual(message("fixed: {learning_rate: \"0x10\"}\n"), "s.yaml: fixed.learning_rate: '0x10' \(expected)")
        XCTAssertEqual(message("parameters: {learning_rate: {values: [0.1, 0o17]}}\n"),
                       "s.yaml: parameters.learning_rate.values[1]: '0o17' \(expected)")
        XCTAssertEqual(message("fixed: {batch_size: 1_000}\n").contains("'1_000' is not accepted"), true)
        XCTAssertEqual(message("method: random\ncount: 0x10\nparameters: {learning_rate: {min: 0.01, max: 0.1}}\n").contains("count"), true)
        XCTAssertNotEqual(message("method: random\ncount: 0x10\nparameters: {learning_rate: {min: 0.01, max: 0.1}}\n"), "accepted")
        XCTAssertEqual(message("parameters: {learning_rate: {min: 0x1, max: 0.1}}\n"), "s.yaml: parameters.learning_rate.min: expected a number")
        let spec = try SweepSpec.parse(yaml: "fixed: {seed: 010, learning_rate: 0.5, batch_size: 1e1}\n", file: "s.yaml")
        let settings = try XCTUnwrap(spec.expand().first?.settings)
        XCTAssertEqual(settings.seed, 10, "010 is ten, as --seed 010 is, not YAML's octal 8")
        XCTAssertEqual(settings.learningRate, 0.5)
        XCTAssertEqual(settings.batchSize, 10)
    }

    func testAMissingDataFileIsNamedWhereTheFileGivesIt() throws {
        XCTAssertEqual(message("parameters:\n  dataset: {values: [missing.csv]}\n"), "s.yaml: parameters.dataset.values[0]: missing.csv: no such file in the current folder")
        XCTAssertEqual(message("parameters:\n  dataset: {value: missing.csv}\n"), "s.yaml: parameters.dataset.value: missing.csv: no such file in the current folder")
        XCTAssertEqual(message("parameters:\n  dataset: {values: [xor, missing.csv]}\n"), "s.yaml: parameters.dataset.values[1]: missing.csv: no such file in the current folder")
        XCTAssertEqual(message("fixed: {dataset: missing.csv}\n"), "s.yaml: fixed.dataset: missing.csv: no such file in the current folder")
        // The way `runner sweep FILE` checks it: the file read unchecked, then checked with the flags.
        let file = try SweepSpec.parse(yaml: "parameters:\n  dataset: {values: [missing.csv]}\n", file: "s.yaml", checkingData: false)
        XCTAssertThrowsError(try FlagSettings().sweepSpec(file: file, name: "sweep", filePath: "s.yaml")) { error in
            XCTAssertEqual("\(error)", "s.yaml: parameters.dataset.values[0]: missing.csv: no such file in the current folder")
        }
        var flags = FlagSettings()
        flags.add(.dataset, ["gone.csv"])
        XCTAssertThrowsError(try flags.sweepSpec(file: file, name: "sweep", filePath: "s.yaml")) { error in
            XCTAssertEqual("\(error)", "--dataset: gone.csv: no such file in the current folder")
        }
        // A file beside the sweep file, not in the current folder: said, with the two ways to fix it
        // (hostile15 F8: "no such file" alone, though the file was right there).
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("slope-beside-\(getpid())").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let besideName = "beside-\(getpid()).csv"
        try "a,y\n1,0\n2,1\n".write(toFile: folder + "/" + besideName, atomically: true, encoding: .utf8)
        let besideFile = try SweepSpec.parse(yaml: "fixed: {dataset: \(besideName)}\n", file: folder + "/s.yaml", checkingData: false)
        XCTAssertThrowsError(try FlagSettings().sweepSpec(file: besideFile, name: "sweep", filePath: folder + "/s.yaml")) { error in
            XCTAssertEqual("\(error)", "\(folder)/s.yaml: fixed.dataset: \(besideName): no such file in the current folder; there is one beside "
                           + "the sweep file, but a sweep file's paths are read from the folder runner runs in: write \(folder)/\(besideName) "
                           + "in the file, or run runner in \(folder)")
        }
        XCTAssertThrowsError(try SweepSpec.parse(yaml: "fixed: {dataset: \(besideName)}\n", file: folder + "/s.yaml")) { error in
            XCTAssertTrue("\(error)".hasSuffix("write \(folder)/\(besideName) in the file, or run runner in \(folder)"), "\(error)")
        }
        // Where a setting was given is for messages only: the spec read back from its JSON is equal.
        let spec = try SweepSpec.parse(yaml: "parameters:\n  dataset: {values: [xor]}\n", file: "s.yaml")
        XCTAssertEqual(try SweepSpec.parse(yaml: spec.json(), file: "sweeps.spec"), spec)
        // Nor is it in the Codable form (which early builds stored): encoded without it, decoded without it.
        let encoded = try JSONEncoder().encode(spec)
        XCTAssertFalse(String(decoding: encoded, as: UTF8.self).contains("sources"))
        XCTAssertEqual(try JSONDecoder().decode(SweepSpec.self, from: encoded), spec)
        // The same for a distribution's bounds, whose text as written is kept for messages only.
        let sampled = try SweepSpec.parse(yaml: "method: random\ncount: 2\nparameters:\n  learning_rate: {distribution: log_uniform, min: 1e-3, max: 1.0}\n",
                                          file: "s.yaml")
        XCTAssertEqual(try SweepSpec.parse(yaml: sampled.json(), file: "sweeps.spec"), sampled)
        XCTAssertEqual(try JSONDecoder().decode(SweepSpec.self, from: try JSONEncoder().encode(sampled)), sampled)
    }

    /// A too-long `--name` is blamed on the flag, with or without a sweep file (review14 F-i: with
    /// one, it was said as the file's `name` field); a name of 1000 characters is taken.
    func testATooLongNameFlagIsBlamedOnTheFlag() throws {
        let file = try SweepSpec.parse(yaml: "parameters: {seed: {values: [1]}}", file: "s.yaml", checkingData: false)
        var flags = FlagSettings()
        flags.add(.name, [String(repeating: "é", count: 1001)])
        for (source, path) in [(file, "s.yaml"), (nil, nil)] as [(SweepSpec?, String?)] {
            XCTAssertThrowsError(try flags.sweepSpec(file: source, name: "sweep", filePath: path)) { error in
                XCTAssertEqual("\(error)", "--name: the name has 1001 characters; a name has at most 1000: shorten it")
            }
        }
        // The flag names `runner train`'s run too, which has no description to say more in (hostile15 F13).
        XCTAssertThrowsError(try flags.validate()) { error in
            XCTAssertEqual("\(error)", "--name: the name has 1001 characters; a name has at most 1000: shorten it")
        }
        flags = FlagSettings()
        flags.add(.name, [String(repeating: "é", count: 1000)])
        XCTAssertEqual(try flags.sweepSpec(file: file, name: "sweep", filePath: "s.yaml").name, String(repeating: "é", count: 1000))
    }
}
