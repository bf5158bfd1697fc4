// Usage errors of both executables that ArgumentParser words vaguely ("The value '1.5' is invalid
// for '--epochs <n>'", "2 unexpected arguments"): each says what was wrong and what is expected,
// on one line, exit 2; an option that takes a number says the same for a value that is no number
// and one out of range. Also the small ones: `!= null`, a grid of a column against itself, the
// default of --stale-after, and a success line naming a path with a line break.
import Foundation
import Store
import TestSupport
import XCTest

final class UsageMessagesCLITests: CLITestCase {
    /// A sweep file's number with a decimal comma is one text (not two values, as a flag's): named
    /// with the number written with a point, when that would be accepted (hostile16 F3).
    func testADecimalCommaInASweepFileIsNamed() throws {
        try write("dc.yaml", "name: dc\nfixed:\n  dataset: xor\n  epochs: 1\n  momentum: 0,9\n")
        XCTAssertEqual(try run("runner", ["sweep", "dc.yaml", "--queue-only"], expect: 2).error,
                       "error: dc.yaml: fixed.momentum: '0,9' is not accepted: a decimal is written with a point (0.9)\n")
        // In a list it is YAML's two values (0 and 1): a second one written with a leading zero is no number of a list (hostile16b G1).
        for list in ["[0,0001]", "[0, 0001]", "[0.1, 0,05]"] {
            try write("dc.yaml", "name: dc\nfixed: {dataset: xor, epochs: 1}\nparameters:\n  weight_decay: {values: \(list)}\n")
            let typed = list.contains("05") ? "0,05" : "0,0001"
            XCTAssertEqual(try run("runner", ["sweep", "dc.yaml", "--queue-only"], expect: 2).error,
                           "error: dc.yaml: parameters.weight_decay.values: '\(typed)' is not accepted: a decimal is written with a point "
                           + "(\(typed.replacingOccurrences(of: ",", with: "."))); a comma separates the values of a list\n", list)
        }
        // A list's half refused (a learning rate of 0) with the number with a point accepted (review16 R10).
        try write("dc.yaml", "name: dc\nfixed: {dataset: xor, epochs: 1}\nparameters:\n  learning_rate: {values: [0,5]}\n")
        XCTAssertEqual(try run("runner", ["sweep", "dc.yaml", "--queue-only"], expect: 2).error,
                       "error: dc.yaml: parameters.learning_rate.values: '0,5' is not accepted: a decimal is written with a point (0.5); "
                       + "a comma separates the values of a list\n")
        // `{momentum: 0,9}` is YAML's {momentum: 0, 9: }: in braces a comma separates entries; likewise a parameter's value or end.
        for (text, field, typed) in [("fixed: {dataset: xor, epochs: 1, momentum: 0,9}\n", "fixed.momentum", "0,9"),
                                     ("fixed: {dataset: xor, epochs: 1, learning_rate: 0,5}\n", "fixed.learning_rate", "0,5"),
                                     ("fixed: {dataset: xor, epochs: 1}\nparameters: {momentum: {value: 0,9}}\n", "parameters.momentum.value", "0,9"),
                                     ("method: random\nfixed: {dataset: xor, epochs: 1}\nparameters: {learning_rate: {distribution: uniform, min: 0,01, max: 1}}\n",
                                      "parameters.learning_rate.min", "0,01")] {
            try write("dc.yaml", "name: dc\n" + text)
            XCTAssertEqual(try run("runner", ["sweep", "dc.yaml", "--queue-only"], expect: 2).error,
                           "error: dc.yaml: \(field): '\(typed)' is not accepted: a decimal is written with a point "
                           + "(\(typed.replacingOccurrences(of: ",", with: "."))); in {...} a comma separates entries\n", text)
        }
        try write("dc.yaml", "name: dc\nfixed:\n  dataset: xor\n  epochs: 1\n  momentum: 1,5\n")  // 1.5 is no momentum either
        XCTAssertEqual(try run("runner", ["sweep", "dc.yaml", "--queue-only"], expect: 2).error,
                       "error: dc.yaml: fixed.momentum: '1,5' is not accepted; expected a number in [0, 1), e.g. 0.9\n")
    }

    func testValuesThatDoNotParseSayWhatTheOptionTakes() throws {
        let refusals: [(tool: String, arguments: [String], error: String)] = [
            ("runner", ["train", "--epochs", "1.5"], "error: --epochs: '1.5' is not accepted; expected a whole number from 0 to 1000000000"),
            ("runner", ["train", "--batch-size", "1.5"], "error: --batch-size: '1.5' is not accepted; expected a whole number >= 1"),
            ("runner", ["train", "--momentum", "abc"], "error: --momentum: 'abc' is not accepted; expected a number in [0, 1), e.g. 0.9"),
            ("runner", ["train", "--seed", "x1"], "error: --seed: 'x1' is not accepted; expected a whole number from 0 to \(Int.max)"),
            ("runner", ["sweep", "--learning-rate", "0.1,,0.2"], "error: --learning-rate: '' is not accepted; expected a number > 0, e.g. 0.01"),
            // A decimal comma (a German or Turkish habit) is named as typed, not by the half refused.
            ("runner", ["train", "--learning-rate", "0,5"],
             "error: --learning-rate: '0,5' is not accepted: a decimal is written with a point (0.5); a comma separates the values of a sweep"),
            ("runner", ["train", "--momentum", "0,9"],
             "error: --momentum: '0,9' is not accepted: a decimal is written with a point (0.9); a comma separates the values of a sweep"),
            ("runner", ["sweep", "--momentum", "0,95"],
             "error: --momentum: '0,95' is not accepted: a decimal is written with a point (0.95); a comma separates the values of a sweep"),
            // Both halves accepted, but the second written with a leading zero, as no list of numbers is:
            // not weight decays 0 and 1 (hostile16 F3); and a decimal comma inside a longer list.
            ("runner", ["sweep", "--weight-decay", "0,0001"],
             "error: --weight-decay: '0,0001' is not accepted: a decimal is written with a point (0.0001); a comma separates the values of a sweep"),
            ("runner", ["sweep", "--min-delta", "0.1,0,05"],
             "error: --min-delta: '0,05' is not accepted: a decimal is written with a point (0.05); a comma separates the values of a sweep"),
            ("runner", ["sweep", "--learning-rate", "0.1,0,5"],
             "error: --learning-rate: '0,5' is not accepted: a decimal is written with a point (0.5); a comma separates the values of a sweep"),
            // Only the neighbours of the value refused: 1,5 is a list here, 0 the mistake.
            ("runner", ["sweep", "--learning-rate", "1,5,0.1,0"], "error: --learning-rate: '0' is not accepted; expected a number > 0, e.g. 0.01"),
            // Both halves taken: train says it takes one value, and that a decimal has a point (review15 F7).
            ("runner", ["train", "--learning-rate", "1,5"], "error: --learning-rate: 2 values given; `runner train` takes one "
             + "(use `runner sweep` for lists); if '1,5' is one number, write it with a point: 1.5"),
            // Not when the number with a point would be refused too, nor for a whole-number setting (a list there).
            ("runner", ["sweep", "--weight-decay", "-1,25"], "error: --weight-decay: '-1' is not accepted; expected a number >= 0"),
            ("runner", ["sweep", "--batch-size", "16,0"], "error: --batch-size: '0' is not accepted; expected a whole number >= 1"),
            // Decimal numbers only, as in a CSV cell: strtod would read 0x10 as 16.
            ("runner", ["train", "--learning-rate", "0x10"], "error: --learning-rate: '0x10' is not accepted; expected a number > 0, e.g. 0.01"),
            ("runner", ["train", "--dataset", "spirals:rows=0x10"],
             "error: --dataset: bad option 'rows=0x10'; spirals accepts rows=N, classes=N, noise=N, seed=N"),
            // The last would have won silently.
            ("runner", ["train", "--dataset", "spirals:rows=10:rows=20"],
             "error: --dataset: rows is given twice; give each option once"),
            // Each option that ArgumentParser parses has one message, for a value that is no number and one out of range alike.
            ("runner", ["sweep", "--jobs", "abc"], "error: --jobs: 'abc' is not accepted; expected a whole number from 1 to 256"),
            ("runner", ["sweep", "--jobs", "257"], "error: --jobs: '257' is not accepted; expected a whole number from 1 to 256"),
            // A value holding ArgumentParser's own words: its prefix goes, exactly, and the value stays whole.
            ("runner", ["work", "--jobs", "a' is invalid for '--jobs <n>': x"],
             "error: --jobs: 'a' is invalid for '--jobs <n>': x' is not accepted; expected a whole number from 1 to 256"),
            ("runner", ["work", "--sweep", "abc"],
             "error: --sweep: 'abc' is not accepted; expected a sweep id, a whole number from 1 up (`report sweeps` lists the sweeps)"),
            ("runner", ["work", "--sweep", "0"],
             "error: --sweep: '0' is not accepted; expected a sweep id, a whole number from 1 up (`report sweeps` lists the sweeps)"),
            ("runner", ["resume", "--run", "1.5"],
             "error: --run: '1.5' is not accepted; expected a run id, a whole number from 1 up (`report runs` lists the runs)"),
            ("runner", ["resume", "--run", "-3"],
             "error: --run: '-3' is not accepted; expected a run id, a whole number from 1 up (`report runs` lists the runs)"),
            ("runner", ["resume", "--stale-after", "0"],
             "error: --stale-after: '0' is not accepted; expected a number of seconds > 0 and at most 1e9 (about 31 years)"),
            ("runner", ["resume", "--stale-after", "soon"],
             "error: --stale-after: 'soon' is not accepted; expected a number of seconds > 0 and at most 1e9 (about 31 years)"),
            ("runner", ["resume", "--stale-after", "0x10"],
             "error: --stale-after: '0x10' is not accepted; expected a number of seconds > 0 and at most 1e9 (about 31 years)"),
            ("runner", ["resume", "--stale-after", "nan"],
             "error: --stale-after: 'nan' is not accepted; expected a number of seconds > 0 and at most 1e9 (about 31 years)"),
            ("runner", ["compact", "--sweep", "1", "--keep-every", "abc"],
             "error: --keep-every: 'abc' is not accepted; expected a whole number from 1 up (1 keeps every epoch)"),
            ("runner", ["compact", "--sweep", "1", "--keep-every", "0"],
             "error: --keep-every: '0' is not accepted; expected a whole number from 1 up (1 keeps every epoch)"),
            ("runner", ["train", "--dataset", ""], "error: --dataset: '' is not accepted; expected a built-in dataset (digits, xor, linear, spirals, "
             + "moons, blobs; see `runner datasets`) or a CSV file's path; with sweep, a comma list of them without empty items"),
            ("runner", ["sweep", "--dataset", "xor,,moons"], "error: --dataset: 'xor,,moons' is not accepted; expected a built-in dataset (digits, xor, "
             + "linear, spirals, moons, blobs; see `runner datasets`) or a CSV file's path; with sweep, a comma list of them without empty items"),
            ("report", ["runs", "--limit", "abc"], "report: error: --limit: 'abc' is not accepted; expected a whole number from 1 up"),
            ("report", ["runs", "--limit", "-1"], "report: error: --limit: '-1' is not accepted; expected a whole number from 1 up"),
            ("report", ["runs", "--columns", "wide"], "report: error: --columns: 'wide' is not accepted; expected a whole number from 20 up"),
            ("report", ["runs", "--columns", "19"], "report: error: --columns: '19' is not accepted; expected a whole number from 20 up"),
            ("report", ["runs", "--sweep", "one"],
             "report: error: --sweep: 'one' is not accepted; expected a sweep id, a whole number from 1 up (`report sweeps` lists the sweeps)"),
            ("report", ["grid", "--sweep", "-1"],
             "report: error: --sweep: '-1' is not accepted; expected a sweep id, a whole number from 1 up (`report sweeps` lists the sweeps)"),
            ("report", ["compare", "1", "--threshold", "low"], "report: error: --threshold: 'low' is not accepted; expected a finite number, e.g. 0.1"),
            ("report", ["compare", "1", "--threshold", "inf"], "report: error: --threshold: 'inf' is not accepted; expected a finite number, e.g. 0.1"),
            ("report", ["compare", "1", "--threshold", "0x1p-3"], "report: error: --threshold: '0x1p-3' is not accepted; expected a finite number, e.g. 0.1"),
            ("report", ["tensors", "1", "--epoch", "last"], "report: error: --epoch: 'last' is not accepted; expected a whole number from 0 up"),
            ("report", ["evaluate", "1", "--data", "x.csv", "--epoch", "-1"], "report: error: --epoch: '-1' is not accepted; expected a whole number from 0 up"),
            ("report", ["tensors", "1", "--layer", "abc"],
             "report: error: --layer: 'abc' is not accepted; expected a whole number from 1 up (1 = the first weight matrix)"),
            ("report", ["explain", "1", "--layer", "0", "--weight", "0,0"],
             "report: error: --layer: '0' is not accepted; expected a whole number from 1 up (1 = the first weight matrix)"),
            ("report", ["explain", "1", "--layer", "1", "--weight", "0"],
             "report: error: --weight: '0' is not accepted; expected two whole numbers from 0 up separated by a comma, I,J (from node I of the layer below to node J)"),
            ("report", ["explain", "1", "--layer", "1", "--weight", "0,-1"],
             "report: error: --weight: '0,-1' is not accepted; expected two whole numbers from 0 up separated by a comma, I,J (from node I of the layer below to node J)"),
            ("report", ["explain", "1", "--layer", "1", "--weight", "0,0", "--row", "first"],
             "report: error: --row: 'first' is not accepted; expected a whole number from 0 up"),
            ("report", ["explain", "1", "--layer", "1", "--weight", "0,0", "--row", "-2"],
             "report: error: --row: '-2' is not accepted; expected a whole number from 0 up"),
            ("report", ["serve", "--port", "abc"], "report: error: --port: 'abc' is not accepted; expected a whole number from 0 to 65535 (0: any free port)"),
            ("report", ["serve", "--port", "70000"], "report: error: --port: '70000' is not accepted; expected a whole number from 0 to 65535 (0: any free port)"),
            ("report", ["show", "abc"], "report: error: the run id 'abc' is not accepted; expected a whole number from 1 up (`report runs` lists the runs)"),
            ("report", ["show", "0"], "report: error: the run id '0' is not accepted; expected a whole number from 1 up (`report runs` lists the runs)"),
            ("report", ["show", "-1"], "report: error: the run id '-1' is not accepted; expected a whole number from 1 up (`report runs` lists the runs)"),
            ("report", ["compare", "1", "x2"], "report: error: the run id 'x2' is not accepted; expected a whole number from 1 up (`report runs` lists the runs)"),
            ("report", ["inspect", "1"], "report: error: unknown command 'inspect': `report --help` lists the commands"),
            ("report", ["shwo", "1"], "report: error: unknown command 'shwo': `report --help` lists the commands (did you mean 'show'?)"),
            ("runner", ["trian"], "error: unknown command 'trian': `runner --help` lists the commands (did you mean 'train'?)"),
            // `help NAME` of no command: ArgumentParser printed the overview and exited 0 (newuser15 N9); one check for both tools.
            ("runner", ["help", "NOSUCH"], "error: unknown command 'NOSUCH': `runner --help` lists the commands"),
            ("runner", ["help", "trian"], "error: unknown command 'trian': `runner --help` lists the commands (did you mean 'train'?)"),
            ("report", ["help", "shwo"], "report: error: unknown command 'shwo': `report --help` lists the commands (did you mean 'show'?)"),
            ("report", ["grid", "--sweep", "1", "--rows", "learning_rate", "--cols", "learning_rate"],
             "report: error: --rows and --cols are both learning_rate: give two different columns (one against itself is only a diagonal)"),
            ("report", ["runs", "--where", "learning_rate != null"],
             "report: error: invalid expression \"learning_rate != null\": null is not compared with !=: write learning_rate is not null"),
            ("report", ["runs", "--where", "learning_rate = null"],
             "report: error: invalid expression \"learning_rate = null\": null is not compared with =: write learning_rate is null"),
            // ArgumentParser suggested --out; runs are chosen with --where.
            ("report", ["export", "--run", "10"], "report: error: report export takes no --run: choose runs with --where \"id = 10\""),
            // Accepted and ignored before: refused.
            ("report", ["export", "--columns", "80"],
             "report: error: --columns: report export writes CSV, JSON or SQLite with every column in full; leave --columns out"),
            ("report", ["serve", "--columns", "80"], "report: error: --columns: report serve serves pages that fit the browser's window; leave --columns out"),
            ("report", ["html", "--sweep", "1", "--out", "sweep.html", "--columns", "80"],
             "report: error: --columns: report html writes a page that the browser lays out; leave --columns out"),
            // Options of choices: the house wording, not ArgumentParser's "Please provide one of 'min' and 'max'".
            ("report", ["grid", "--sweep", "1", "--goal", "lowest"], "report: error: --goal: 'lowest' is not accepted; expected min or max"),
            ("report", ["runs", "--format", "xml"], "report: error: --format: 'xml' is not accepted; expected table, csv or json"),
            ("report", ["curves", "1", "--metric", "final_val_loss"],
             "report: error: --metric: 'final_val_loss' is not accepted; expected train_loss, val_loss, train_accuracy or val_accuracy"),
            ("report", ["export", "--what", "weights"], "report: error: --what: 'weights' is not accepted; expected runs, epochs or tensors"),
            // ArgumentParser's own errors: lower case, the way forward, and its suggestion when it has one.
            ("report", ["runs", "--bogus"], "report: error: unknown option '--bogus': `report runs --help` lists its options"),
            ("report", ["grid"], "report: error: missing expected argument '--sweep <id>': `report grid --help` lists its options"),
            ("report", ["show"], "report: error: missing expected argument '<run>': `report show --help` lists its options"),
            ("report", ["runs", "extra"], "report: error: unexpected argument 'extra': `report runs --help` lists its options"),
            ("runner", ["train", "--nestrov"], "error: unknown option '--nestrov': `runner train --help` lists its options (did you mean '--nesterov'?)"),
            ("runner", ["train", "--queue-only"],
             "error: unknown option '--queue-only': `runner train` takes no --queue-only; `runner sweep` does (`runner train --help` lists its options)"),
        ]
        for refusal in refusals {
            let result = try run(refusal.tool, refusal.arguments, expect: 2)
            XCTAssertEqual(result.error, refusal.error + "\n", "\(refusal.tool) \(refusal.arguments)")
        }
        // A value missing at the end (the helper `run` would add --db after it).
        for (tool, arguments, error) in [
            ("report", ["runs", "--limit"], "report: error: missing value for '--limit <n>': `report runs --help` lists its options"),
            ("runner", ["train", "--learning-rate"], "error: missing value for '--learning-rate <rate>': `runner train --help` lists its options"),
            ("runner", ["work", "--jobs"], "error: missing value for '--jobs <n>': `runner work --help` lists its options"),
        ] {
            let result = try ChildProcess.run(builtExecutable(tool), arguments, currentDirectory: directory.url)
            XCTAssertEqual(result.status, 2, "\(tool) \(arguments)")
            XCTAssertEqual(result.error, error + "\n", "\(tool) \(arguments)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.path(databaseName)), "no database made by a refused command")
    }

    /// Values a hostile tester found puzzling: a number refused after rounding to the refused bound
    /// says it rounds (1e-400 is 0 and 0.99999999999999999 is 1 as a Double); a --limit beyond an
    /// Int says the largest; a momentum next to 1 is not shown as the refused 1 (`mom 1`).
    func testRoundingAndTheLargestNumberAreSaid() throws {
        let refusals: [(tool: String, arguments: [String], error: String)] = [
            ("runner", ["train", "--learning-rate", "1e-400"],
             "error: --learning-rate: '1e-400' is not accepted; expected a number > 0, e.g. 0.01 ('1e-400' rounds to 0 as a 64-bit float)"),
            ("runner", ["train", "--validation", "0.99999999999999999"],
             "error: --validation: '0.99999999999999999' is not accepted; expected a fraction in [0, 1), e.g. 0.2 ('0.99999999999999999' rounds to 1 as a 64-bit float)"),
            ("runner", ["train", "--momentum", "1.00000000000000001"],
             "error: --momentum: '1.00000000000000001' is not accepted; expected a number in [0, 1), e.g. 0.9 ('1.00000000000000001' rounds to 1 as a 64-bit float)"),
            // Exactly the bound (written in any form): no word of rounding.
            ("runner", ["train", "--momentum", "10.0e-1"], "error: --momentum: '10.0e-1' is not accepted; expected a number in [0, 1), e.g. 0.9"),
            ("runner", ["train", "--learning-rate", "-0.000e5"], "error: --learning-rate: '-0.000e5' is not accepted; expected a number > 0, e.g. 0.01"),
            ("report", ["runs", "--limit", "99999999999999999999"],
             "report: error: --limit: '99999999999999999999' is not accepted; expected a whole number from 1 to 9223372036854775807"),
            ("report", ["show", "99999999999999999999"],
             "report: error: the run id '99999999999999999999' is not accepted; expected a whole number from 1 to 9223372036854775807 (`report runs` lists the runs)"),
        ]
        for refusal in refusals {
            let result = try run(refusal.tool, refusal.arguments, expect: 2)
            XCTAssertEqual(result.error, refusal.error + "\n", "\(refusal.tool) \(refusal.arguments)")
        }
        try run("runner", ["train", "--dataset", "xor", "--epochs", "1", "--momentum", "0.9999999999999999", "--quiet"])
        try run("runner", ["train", "--dataset", "xor", "--epochs", "1", "--momentum", "0.99999", "--quiet"])
        try run("runner", ["train", "--dataset", "xor", "--epochs", "1", "--momentum", "0.9", "--quiet"])
        let table = try run("report", ["runs", "--columns", "200"]).output
        let lines = table.split(separator: "\n")
        XCTAssertEqual(lines[0].split(separator: " ").prefix(5), ["id", "status", "lr", "batch", "mom"], table)
        let momentum = lines.dropFirst(2).prefix(3).map { String($0.split(separator: " ")[4]) }
        XCTAssertEqual(momentum, ["0.9999999999999999", "0.99999", "0.9"], table)
    }

    /// A TPE sweep samples its trials as workers ask: before the first, `report runs --sweep N` said
    /// "the database has no runs yet" of a database holding the sweep.
    func testRunsOfATPESweepWithNoTrialsYetSaySoAndHowToStartOne() throws {
        try write("tpe.yaml", """
            method: tpe
            count: 3
            metric: {name: train_loss}
            fixed: {dataset: xor, epochs: 1, validation: 0}
            parameters:
              learning_rate: {distribution: log_uniform, min: 0.01, max: 0.5}
            """)
        try run("runner", ["sweep", "tpe.yaml", "--queue-only", "--quiet"])
        // A suggested command carries the --db given (the helper `run` gives one), so that it opens the same database.
        let database = CommandHint.shellQuoted(directory.path(databaseName))
        let message = "report: error: sweep 1 has no runs yet (a tpe sweep samples each trial when a worker asks for one: "
            + "start one with `runner work --sweep 1 --db \(database)`)\n"
        XCTAssertEqual(try run("report", ["runs", "--sweep", "1"], expect: 1).error, message)
        XCTAssertEqual(try run("report", ["runs", "--sweep", "1", "--format", "csv"], expect: 1).error, message)
        XCTAssertEqual(try run("report", ["runs", "--sweep", "2"], expect: 1).error,
                       "report: error: no sweep with id 2 in this database (list them with `report sweeps --db \(database)`)\n")
        // With other runs in the database: the same in the terminal; a CSV of no rows for scripts.
        try run("runner", ["train", "--dataset", "xor", "--epochs", "1", "--validation", "0", "--quiet"])
        XCTAssertEqual(try run("report", ["runs", "--sweep", "1"], expect: 1).error, message)
        let csv = try run("report", ["runs", "--sweep", "1", "--format", "csv"]).output
        XCTAssertEqual(csv.split(separator: "\n").count, 1, csv)
        XCTAssertTrue(csv.hasPrefix("id,"), csv)

        // Every command says the same, from one place (before, grid, best, importance and html said
        // only "sweep 1 has no runs").
        for arguments in [["grid", "--sweep", "1"], ["best", "--sweep", "1"], ["importance", "--sweep", "1"], ["html", "--sweep", "1", "--out", "sweep.html"]] {
            XCTAssertEqual(try run("report", arguments, expect: 1).error, message, "\(arguments)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.path("sweep.html")))
        XCTAssertEqual(try run("report", ["show", "9999"], expect: 1).error,
                       "report: error: no run with id 9999 in this database (list them with `report runs --db \(database)`)\n")
        XCTAssertEqual(try run("runner", ["compact", "--sweep", "9", "--keep-every", "2"], expect: 1).error,
                       "error: sweep 9 not found (`report sweeps --db \(database)` lists the sweeps)\n")
        // A name the shell would split is quoted; a password never shows.
        XCTAssertEqual(CommandHint.databaseArgument(given: "postgresql://slope:s3cret@db.lab/slope"), "--db 'postgresql://slope@db.lab/slope'")
        XCTAssertEqual(CommandHint.databaseArgument(given: "my runs.db"), "--db 'my runs.db'")
    }

    /// `report best`'s "no run can be best" hints carry the --db given, as the other hints do:
    /// before, `report runs --sweep 1` alone opened ./slope.db (or $SLOPE_DB), not this database.
    func testBestWithNoRunToNameSuggestsACommandOnTheSameDatabase() throws {
        let store = try SlopeStore(path: directory.path(databaseName))
        _ = try store.recordSweep(name: "lost", [HandMadeRun(0.1, 8, 0.5, .diverged), HandMadeRun(1, 8, 0.25, .failed)])
        _ = try store.recordSweep(name: "infinite", [HandMadeRun(0.1, 8, .infinity, .completed), HandMadeRun(1, 8, -.infinity, .completed)])
        try store.close()
        let database = CommandHint.shellQuoted(directory.path(databaseName))
        XCTAssertEqual(try run("report", ["best", "--sweep", "1"], expect: 1).error,
                       "report: error: no run of sweep 1 can be best: all 2 failed or diverged (report runs --sweep 1 --db \(database) shows why)\n")
        XCTAssertEqual(try run("report", ["best", "--sweep", "2", "--metric", "best_train_loss"], expect: 1).error,
                       "report: error: no run of sweep 2 can be best by best_train_loss: every run's value is infinite (1 inf, 1 -inf), "
                       + "and infinity is no result to rank (report runs --sweep 2 --db \(database) shows them)\n")
    }

    func testStaleAfterShowsItsDefaultAsTyped() throws {
        let help = try run("runner", ["resume", "--help"]).output
        XCTAssertTrue(help.contains("Default: 300."), help)
        XCTAssertFalse(help.contains("300.0"), help)
    }

    /// The line `export` prints at the end names a path with a line break the way its errors do
    /// (a JSON string literal), so it stays one line.
    func testTheExportSuccessLineEscapesControlCharacters() throws {
        try run("runner", ["train", "--dataset", "xor", "--hidden", "3", "--epochs", "2", "--quiet"])
        let output = try run("report", ["export", "--format", "sqlite", "--out", "a\nb.db"]).output
        XCTAssertTrue(output.hasPrefix("wrote \"a\\nb.db\" ("), output)
        XCTAssertTrue(output.contains("): 0 sweeps, 1 run, 3 epochs, "), output)
        XCTAssertEqual(output.filter { $0 == "\n" }.count, 1, output)
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory.path("a\nb.db")))
    }

    /// The small ones a new user found: `1 run queued`, a file written said in one line, a read-only
    /// command's advice on a file that is no database, and `--csv` named in its own errors.
    func testOneRunQueuedFilesWrittenAndMessagesThatFitTheCommand() throws {
        let queued = try run("runner", ["sweep", "--dataset", "xor", "--hidden", "3", "--epochs", "2", "--learning-rate", "0.1", "--queue-only"])
        XCTAssertTrue(queued.output.contains("\nsweep 1 (sweep): 1 run queued; train it with: runner work --sweep 1 --db "), queued.output)
        try run("runner", ["work", "--sweep", "1", "--quiet"])
        for (arguments, file) in [(["curves", "1", "--out", "curves.svg"], "curves.svg"), (["html", "--sweep", "1", "--out", "sweep.html"], "sweep.html"),
                                  (["tensors", "1", "--format", "npy", "--layer", "1", "--kind", "weight", "--out", "w.npy"], "w.npy")] {
            let written = try run("report", arguments)
            let size = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: directory.path(file))[.size] as? Int)
            XCTAssertEqual(written.output, "wrote \(file) (\(SlopeStore.describeBytes(Int64(size))))\n", "\(arguments)")
            XCTAssertEqual(written.error, "")
        }
        let toStandardOutput = try run("report", ["html", "--sweep", "1", "--out", "-"]).output
        XCTAssertTrue(toStandardOutput.contains("</html>") && !toStandardOutput.contains("wrote "), "--out -: the page alone")
        let toDevice = try run("report", ["html", "--sweep", "1", "--out", "/dev/null"])
        XCTAssertEqual(toDevice.output, "", "a device written is not a file to tell of")

        try write("notes.db", "not a database\n")
        let notDatabase = try ChildProcess.run(builtExecutable("report"), ["runs", "--db", directory.path("notes.db")])
        XCTAssertEqual(notDatabase.status, 1)
        XCTAssertEqual(notDatabase.error, "report: error: \(directory.path("notes.db")) is not a Slope database (not an SQLite file). "
                       + "Give the path of a database written by Slope.\n")

        let twice = try ChildProcess.run(builtExecutable("runner"), ["datasets", "--csv", "spirals:rows=10:rows=20", "--out", "x.csv"],
                                         currentDirectory: directory.url)
        XCTAssertEqual(twice.status, 2)
        XCTAssertEqual(twice.error, "error: --csv spirals:rows=10:rows=20: rows is given twice; give each option once\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.path("x.csv")))
    }

    /// `--goal` takes the sweep files' words too: minimize is min, maximize is max.
    func testGoalTakesMinimizeAndMaximize() throws {
        try run("runner", ["sweep", "--dataset", "xor", "--hidden", "3", "--epochs", "2", "--learning-rate", "0.1,0.5", "--quiet"])
        for (word, goal) in [("minimize", "min"), ("maximize", "max")] {
            let byWord = try run("report", ["best", "--sweep", "1", "--goal", word, "--per-run", "--format", "csv"]).output
            XCTAssertEqual(byWord, try run("report", ["best", "--sweep", "1", "--goal", goal, "--per-run", "--format", "csv"]).output)
            XCTAssertEqual(try run("report", ["grid", "--sweep", "1", "--goal", word]).output,
                           try run("report", ["grid", "--sweep", "1", "--goal", goal]).output)
        }
        // The two goals pick different runs of the two: the word is not ignored.
        XCTAssertNotEqual(try run("report", ["best", "--sweep", "1", "--goal", "minimize", "--per-run", "--format", "csv"]).output,
                          try run("report", ["best", "--sweep", "1", "--goal", "maximize", "--per-run", "--format", "csv"]).output)
    }
}
