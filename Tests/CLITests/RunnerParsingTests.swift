// `runner` argument parsing in process: flags to settings, comma lists to sweeps, and the
// validation that rejects bad input before anything runs.
import ArgumentParser
@testable import CLISupport
import XCTest
@testable import Experiments
@testable import Runner

final class RunnerParsingTests: XCTestCase {
    private func parse<Command: ParsableCommand>(_ arguments: [String], as type: Command.Type,
                                                 file: StaticString = #filePath, line: UInt = #line) throws -> Command {
        let command = try Runner.parseAsRoot(arguments)
        return try XCTUnwrap(command as? Command, "parsed as \(Swift.type(of: command))", file: file, line: line)
    }

    private func assertRejected(_ arguments: [String], mentions fragments: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try Runner.parseAsRoot(arguments), file: file, line: line) { error in
            let message = Runner.fullMessage(for: error)
            for fragment in fragments {
                XCTAssertTrue(message.contains(fragment), "'\(message)' lacks '\(fragment)'", file: file, line: line)
            }
            XCTAssertNotEqual(Runner.exitCode(for: error), .success, file: file, line: line)
        }
    }

    /// Each example in `runner <command> --help` is a line of its own at 80 columns, and parses.
    func testHelpExamplesAreWholeLinesThatParse() {
        let examples = HelpExamples.check(Runner.self, tool: "runner")
        for command in ["train", "sweep", "datasets", "compact"] {
            XCTAssertFalse(examples[command, default: []].isEmpty, "runner \(command) --help has an example")
        }
        XCTAssertEqual(HelpExamples.words(#"report runs --where "a = 'b c'" --limit 2  # note"#), ["report", "runs", "--where", "a = 'b c'", "--limit", "2"])
    }

    /// The exit statuses --help lists are those docs/cli-runner.md lists, SIGTERM's 143 too.
    func testHelpListsEveryExitStatus() {
        XCTAssertTrue(Runner.configuration.discussion.contains("Exit status: 0 success, 1 runtime error, 2 bad input, 130 interrupted (Ctrl-C), "
                                                               + "143 terminated (SIGTERM)."), Runner.configuration.discussion)
    }

    func testTrainFlagsBecomeOneRunsSettings() throws {
        let train = try parse(["train", "--dataset", "xor", "--hidden", "8,4", "--activation", "tanh", "--learning-rate", "0.3",
                               "--batch-size", "2", "--epochs", "7", "--momentum", "0.9", "--nesterov", "--seed", "5",
                               "--precision", "float64", "--validation", "0", "--no-bias", "--init", "glorot-normal",
                               "--early-stopping-patience", "3", "--early-stopping-monitor", "train_loss", "--min-delta", "0.01",
                               "--log-tensors", "5", "--name", "first", "--db", "x.db", "--quiet"], as: Train.self)
        let settings = try train.settings.flagSettings.singleRunSettings()
        XCTAssertEqual(settings.dataset, "xor")
        XCTAssertEqual(settings.hidden, [8, 4])
        XCTAssertEqual(settings.activation, .tanh)
        XCTAssertEqual(settings.learningRate, 0.3)
        XCTAssertEqual(settings.batchSize, 2)
        XCTAssertEqual(settings.epochs, 7)
        XCTAssertEqual(settings.momentum, 0.9)
        XCTAssertTrue(settings.nesterov)
        XCTAssertEqual(settings.seed, 5)
        XCTAssertEqual(settings.precision, .float64)
        XCTAssertEqual(settings.validationFraction, 0)
        XCTAssertFalse(settings.usesBias)
        XCTAssertEqual(settings.initialization, .glorotNormal)
        XCTAssertEqual(settings.earlyStoppingPatience, 3)
        XCTAssertEqual(settings.earlyStoppingMonitor, .trainLoss)
        XCTAssertEqual(settings.minDelta, 0.01)
        XCTAssertEqual(settings.tensorLogging, .everyN(5))
        XCTAssertEqual(settings.name, "first")
        XCTAssertEqual(train.global.databaseLocation, "x.db")
        XCTAssertTrue(train.global.quiet)
        XCTAssertEqual(try parse(["train", "--hidden", "none"], as: Train.self).settings.flagSettings.singleRunSettings().hidden, [])
        XCTAssertEqual(try parse(["train"], as: Train.self).settings.flagSettings.singleRunSettings(), RunSettings())
    }

    func testSweepFlagsWithCommaLists() throws {
        let sweep = try parse(["sweep", "--learning-rate", "0.001,0.01,0.1", "--batch-size", "16,64,256", "--seed", "0,1",
                               "--hidden", "32/64,64", "--jobs", "3", "--queue-only"], as: Sweep.self)
        XCTAssertEqual(sweep.jobOptions.count, 3)
        XCTAssertTrue(sweep.queueOnly)
        XCTAssertNil(sweep.spec)
        let spec = try sweep.settings.flagSettings.sweepSpec(file: nil, name: "sweep")
        XCTAssertEqual(spec.runCount, 36)
        XCTAssertEqual(Set(try spec.expand().map(\.settings.hidden)), [[32], [64, 64]])
        let withFile = try parse(["sweep", "examples/lr-vs-batch.yaml", "--epochs", "2"], as: Sweep.self)
        XCTAssertEqual(withFile.spec, "examples/lr-vs-batch.yaml")
        XCTAssertEqual(withFile.jobOptions.count, ProcessInfo.processInfo.activeProcessorCount)
    }

    func testDatasetListsKeepCommasInsideAnExistingFilesPath() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("slope-commas-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("lr=0.1,batch=16.csv").path
        try "x,y\n1,2\n".write(toFile: file, atomically: true, encoding: .utf8)
        func datasets(_ argument: String) throws -> [String]? {
            try parse(["sweep", "--dataset", argument], as: Sweep.self).settings.dataset?.texts
        }
        XCTAssertEqual(try datasets(file), [file])
        XCTAssertEqual(try datasets("digits,\(file),xor"), ["digits", file, "xor"])
        let other = directory.appendingPathComponent("lr=0.2,batch=16.csv").path
        try "x,y\n1,2\n".write(toFile: other, atomically: true, encoding: .utf8)
        XCTAssertEqual(try datasets("\(file),\(other)"), [file, other])
        assertRejected(["sweep", "--dataset", "\(file),\(file)"], mentions: ["--dataset: ", "before it; give each value once"])  // the same run twice
        XCTAssertEqual(try datasets("digits, moons:rows=80"), ["digits", "moons:rows=80"])
        XCTAssertEqual(try datasets("digits, \(file)"), ["digits", file], "spaces after commas, as elsewhere")
        XCTAssertEqual(try parse(["train", "--dataset", file], as: Train.self).settings.flagSettings.singleRunSettings().dataset, file)
        assertRejected(["sweep", "--dataset", "digits,,xor"], mentions: ["--dataset"])
    }

    func testWorkResumeAndDatasets() throws {
        XCTAssertEqual(try parse(["work", "--sweep", "4", "--jobs", "2"], as: Work.self).sweep, 4)
        let resume = try parse(["resume", "--run", "9", "--stale-after", "30"], as: Resume.self)
        XCTAssertEqual(resume.runID, 9)
        XCTAssertEqual(resume.staleAfter.value, 30)
        _ = try parse(["datasets"], as: Datasets.self)
    }

    func testBadInputIsRejectedWithTheFieldAndTheAcceptedValues() {
        assertRejected(["train", "--learning-rate", "0.1,0.2"], mentions: ["--learning-rate", "`runner train` takes one"])
        assertRejected(["train", "--learning-rate=-0.1"], mentions: ["--learning-rate: '-0.1' is not accepted; expected a number > 0"])
        assertRejected(["train", "--learning-rate", "fast"], mentions: ["fast", "--learning-rate"])
        assertRejected(["train", "--batch-size", "0"], mentions: ["--batch-size: '0' is not accepted; expected a whole number >= 1"])
        assertRejected(["train", "--momentum", "1"], mentions: ["--momentum", "[0, 1)"])
        assertRejected(["train", "--activation", "swish"], mentions: ["swish", "relu", "tanh", "sigmoid"])
        assertRejected(["train", "--activation", "softmax"], mentions: ["softmax", "--activation: 'softmax' is not accepted; expected one of relu, tanh, sigmoid, identity"])
        assertRejected(["train", "--loss", "hinge"], mentions: ["hinge", "mse", "cross-entropy"])
        assertRejected(["train", "--hidden", "64,x"], mentions: ["--hidden", "widths"])
        assertRejected(["train", "--log-tensors", "sometimes"], mentions: ["--log-tensors", "every, final"])
        assertRejected(["train", "--validation", "1"], mentions: ["--validation", "[0, 1)"])
        assertRejected(["train", "--init", "ones"], mentions: ["ones", "he-uniform"])
        assertRejected(["train", "--init", "zeros", "--init-weights", "w.json"], mentions: ["either --init or --init-weights"])
        assertRejected(["train", "--learning-rat", "0.1"], mentions: ["--learning-rat"])
        assertRejected(["sweep"], mentions: ["sweep spec file"])
        assertRejected(["sweep", "--seed", "0,1", "--jobs", "0"], mentions: ["--jobs", "from 1 to 256"])
        assertRejected(["sweep", "--seed", "0,-1"], mentions: ["--seed: '-1' is not accepted"])
        assertRejected(["sweep", "--learning-rate", "0.1,0.3,1e-1"], mentions: ["--learning-rate: '1e-1' sets the same learning_rate as '0.1' before it; give each value once"])
        assertRejected(["sweep", "--hidden", "64/none/64"], mentions: ["--hidden: '64' sets the same hidden as '64' before it; give each value once"])
        assertRejected(["sweep", "--seed", "0,1", "--name", ""], mentions: ["--name: '' is not accepted; expected a non-empty text"])
        assertRejected(["train", "--learning-rate", "-0.1"], mentions: ["--learning-rate: '-0.1' is not accepted; expected a number > 0"])
        assertRejected(["resume", "--stale-after", "inf"], mentions: ["--stale-after", "at most 1e9"])
        assertRejected(["train", "--dataset", "spirals:rows=20000000"], mentions: ["--dataset: rows must be a whole number from 2 to 10000000"])
        assertRejected(["train", "--dataset", "nosuch"], mentions: ["--dataset: unknown dataset 'nosuch'", "digits, xor"])
        assertRejected(["train", "--dataset", "spirals:rows=10:classes=20"], mentions: ["rows (10) must be at least classes (20)"])
        for generator in ["linear", "spirals", "moons"] {
            for noise in ["1e308", "-1", "100.5", "-0.001"] {
                assertRejected(["train", "--dataset", "\(generator):noise=\(noise)"],
                               mentions: ["--dataset: noise must be a number from 0 to 100 (the scale of the Gaussian noise)"])
            }
            for noise in ["0", "100", "0.25"] {
                XCTAssertNoThrow(try parse(["train", "--dataset", "\(generator):noise=\(noise)"], as: Train.self), "\(generator):noise=\(noise)")
            }
        }
        XCTAssertEqual(try parse(["train", "--target", "-x"], as: Train.self).settings.target, "-x", "a column named -x")
        assertRejected(["train", "--log-tensors", "-3"], mentions: ["--log-tensors", "every, final"])
        assertRejected(["sweep", "--batch-size", "16,0"], mentions: ["--batch-size: '0'"])
        assertRejected(["resume", "--sweep", "1", "--run", "2"], mentions: ["--sweep or --run"])
        assertRejected(["work", "--sweep", "one"], mentions: ["one"])
        assertRejected(["train", "--db", ""], mentions: ["--db"])
        assertRejected(["fly"], mentions: ["fly"])
    }

    func testDatabasePathFromEnvironmentAndDefault() throws {
        let global = try GlobalOptions.parse([])
        let environment = ProcessInfo.processInfo.environment["SLOPE_DB"]
        XCTAssertEqual(global.databaseLocation, environment.flatMap { $0.isEmpty ? nil : $0 } ?? "slope.db")
        XCTAssertEqual(global.databaseArgument, "")
        XCTAssertEqual(try GlobalOptions.parse(["--db", "my runs.db"]).databaseArgument, "--db 'my runs.db'")
        // A URL: suggested commands and messages leave the password out (it stays in PGPASSWORD or ~/.pgpass).
        let url = try GlobalOptions.parse(["--db", "postgresql://slope:s%40cret@db.lab:6543/runs?sslmode=require&connect_timeout=5"])
        XCTAssertEqual(url.databaseLocation, "postgresql://slope:s%40cret@db.lab:6543/runs?sslmode=require&connect_timeout=5")
        XCTAssertEqual(url.databaseArgument, "--db 'postgresql://slope@db.lab:6543/runs?sslmode=require&connect_timeout=5'")
        XCTAssertEqual(url.displayedLocation, "postgresql://slope@db.lab:6543/runs?sslmode=require")
        XCTAssertEqual(try GlobalOptions.parse(["--db", "postgres://slope@db.lab/runs"]).databaseArgument, "--db 'postgres://slope@db.lab/runs'")
        XCTAssertThrowsError(try GlobalOptions.parse(["--db", "postgresql://slope:s3cret@db.lab:0/runs"])) { error in
            let message = GlobalOptions.message(for: error)
            XCTAssertEqual(message, "--db: bad database URL: the port '0' is not a number from 1 to 65535: write e.g. postgresql://USER@HOST:5432/DATABASE")
        }
    }

    /// Help texts name the accepted ranges, as docs/cli-runner.md does; an option that
    /// ArgumentParser parses says it in the words of its refusal.
    func testHelpTextsNameTheRanges() {
        let compact = Compact.helpMessage(columns: 1000)
        XCTAssertTrue(compact.contains("(and epoch 0 and the last): a whole number from 1 up (1 keeps every epoch)."), compact)
        let resume = Resume.helpMessage(columns: 1000)
        XCTAssertTrue(resume.contains("counts as interrupted: a number of seconds > 0 and at most 1e9 (about 31 years). Default: 300."), resume)
        XCTAssertTrue(resume.contains("each on its own thread: a whole number from 1 to 256. Default: the number of cores."), resume)
        let train = Train.helpMessage(columns: 200)
        XCTAssertTrue(train.contains("Seed of the initial weights and the shuffles (0 to 2^63 - 1)"), train)
        XCTAssertTrue(train.contains("Seed of the train/validation split (0 to 2^63 - 1;"), train)
    }

    /// FlagSettings names each setting's flag by `Setting.flag` alone (messages say it): each one is an
    /// option `runner sweep --help` and `runner train --help` list.
    func testEverySettingsFlagIsAnOptionTheHelpLists() {
        for (command, help) in [("sweep", Sweep.helpMessage(columns: 2000)), ("train", Train.helpMessage(columns: 2000))] {
            let options = Set(help.split(separator: "\n").compactMap { line -> String? in
                let text = line.drop(while: { $0 == " " })
                guard text.hasPrefix("--") else { return nil }
                return String(text.prefix { $0 != " " && $0 != "," })
            })
            for setting in Setting.allCases {
                XCTAssertTrue(options.contains(setting.flag), "runner \(command) --help lacks \(setting.flag) (\(setting.rawValue)): \(options.sorted())")
            }
        }
    }

    /// runner's help states RunSettings' defaults, which are not the engine's (TrainingConfiguration's
    /// learning rate is 0.01): each "Default: X" of the run settings is the RunSettings() value.
    func testHelpStatesTheRunSettingsDefaults() {
        let help = Train.helpMessage(columns: 2000).split(separator: "\n")
        let defaults = RunSettings()
        func stated(_ option: String) -> String? {
            guard let line = help.first(where: { $0.drop(while: { $0 == " " }).hasPrefix(option + " ") }),
                  let range = line.range(of: "Default: ") else { return nil }
            let value = line[range.upperBound...]  // "0.05." or "sgd. (values: sgd, adam, ...)"
            if let end = value.range(of: ". ") { return String(value[..<end.lowerBound]) }
            return String(value.hasSuffix(".") ? value.dropLast() : value)
        }
        let numbers: [(String, Double)] = [
            ("--learning-rate", defaults.learningRate), ("--batch-size", Double(defaults.batchSize)), ("--epochs", Double(defaults.epochs)),
            ("--momentum", defaults.momentum), ("--beta1", defaults.beta1), ("--beta2", defaults.beta2), ("--epsilon", defaults.epsilon),
            ("--rho", defaults.rho), ("--weight-decay", defaults.weightDecay), ("--seed", Double(defaults.seed)),
            ("--validation", defaults.validationFraction), ("--split-seed", Double(defaults.splitSeed)),
        ]
        for (option, value) in numbers {
            let text = stated(option)
            XCTAssertEqual(text.flatMap(Double.init), value, "\(option): the help says \(text ?? "no default")")
        }
        XCTAssertEqual(stated("--optimizer"), defaults.optimizer.rawValue)
        XCTAssertEqual(stated("--precision"), defaults.precision.rawValue)
    }

    /// The arenas malloc may have under a limit: a quarter of the limit in 64 MB reservations, at
    /// least 2, at most glibc's own 8 per core; no limit, glibc's rule.
    func testMallocArenasFitALimit() {
        XCTAssertNil(MallocArenas.arenaCount(limit: nil, processors: 2))
        XCTAssertEqual(MallocArenas.arenaCount(limit: 500_000 * 1024, processors: 2), 2)  // ulimit -v 500000: 488 MB / 256 MB, at least 2
        XCTAssertEqual(MallocArenas.arenaCount(limit: 4 << 30, processors: 2), 16)  // 4 GB: 16 arenas, glibc's 8 x 2 cores
        XCTAssertEqual(MallocArenas.arenaCount(limit: 4 << 30, processors: 64), 16)  // 4 GB on 64 cores: the quarter rules
        XCTAssertEqual(MallocArenas.arenaCount(limit: 1 << 40, processors: 2), 16)  // 1 TB: glibc's own cap
        XCTAssertEqual(MallocArenas.arenaCount(limit: 0, processors: 0), 2)
    }
}
