// Options shared by the commands: the database and output (GlobalOptions) and the run
// settings (SettingOptions), which take one value for `train` and comma lists for `sweep`.
import ArgumentParser
import Experiments
import Foundation
import NeuralNet
import Store

extension LossFunction: ExpressibleByArgument {}
extension Precision: ExpressibleByArgument {}
extension WeightInitialization: ExpressibleByArgument {}
extension EarlyStopping.Monitor: ExpressibleByArgument {}
extension TaskKind: ExpressibleByArgument {}
extension Optimizer: ExpressibleByArgument {}

/// Hidden layers take every activation but softmax (which only makes sense on the output).
enum HiddenActivation: String, CaseIterable, ExpressibleByArgument {
    case relu, tanh, sigmoid, identity
}

/// Output activations the schema accepts.
enum OutputActivation: String, CaseIterable, ExpressibleByArgument {
    case identity, sigmoid, relu, softmax
}

/// One value, or several separated by commas (a sweep over them); help lists the element's choices.
/// Any text parses: each value is checked in `validate()` by Experiments, as a sweep file's are,
/// whose message names the flag, the value and what it takes ("--epochs: '1.5' is not accepted;
/// expected a whole number from 0 to 1000000000"), where ArgumentParser would only say "invalid".
struct ValueList<Element: ExpressibleByArgument>: ExpressibleByArgument {
    var texts: [String]

    init?(argument: String) {
        texts = argument.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
    }

    static var allValueStrings: [String] { Element.allValueStrings }
    var defaultValueDescription: String { texts.joined(separator: ",") }
}

/// A number of seconds, shown in help and errors as typed (`300`, where a Double shows `300.0`).
struct Seconds {
    var value: Double
    var text: String

    /// The seconds `text` gives, if `accepted` takes them (else its refusal).
    init(_ text: String, accepted: AcceptedValues<Double>) throws {
        self.value = try accepted.parse(text)
        self.text = text
    }

    init(_ value: Double) {
        self.value = value
        self.text = value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}

/// `--dataset`: a comma list like the other settings, except that commas inside the path of an
/// existing file do not split it (`--dataset "runs/a,b.csv,digits"` is that file and digits).
/// Adjacent pieces are joined back, longest first, wherever the joined text names a file.
struct DatasetList: ExpressibleByArgument {
    var texts: [String]

    init?(argument: String) {
        let pieces = argument.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        var texts: [String] = []
        var start = 0
        while start < pieces.count {
            let end = (start..<pieces.count).reversed().first { end in
                end > start && FileManager.default.fileExists(
                    atPath: pieces[start...end].joined(separator: ",").trimmingCharacters(in: .whitespaces))
            } ?? start
            texts.append(pieces[start...end].joined(separator: ",").trimmingCharacters(in: .whitespaces))
            start = end + 1
        }
        guard !texts.contains(where: \.isEmpty) else { return nil }
        self.texts = texts
    }

    var defaultValueDescription: String { texts.joined(separator: ",") }

    /// `--dataset ''` (or an empty item of a list) gets the house's message, not ArgumentParser's.
    static let accepted = AcceptedValues<DatasetList>(
        "--dataset", expected: "a built-in dataset (\(BuiltInDataset.allNames.joined(separator: ", ")); see `runner datasets`) or a CSV "
            + "file's path; with sweep, a comma list of them without empty items", read: { DatasetList(argument: $0) })
}

/// `--jobs` of `sweep`, `work` and `resume`.
struct JobOptions: ParsableArguments {
    @Option(parsing: .unconditional,
            help: ArgumentHelp("Runs trained at the same time in this process, each on its own thread: \(Self.accepted.expected). Default: the number of cores.", valueName: "n"),
            transform: JobOptions.accepted.parse)
    var jobs: Int?

    /// More threads than this would only queue for the database's one writer (and for the cores).
    static let maximum = 256
    static let accepted = AcceptedValues<Int>.wholeNumber("--jobs", 1...maximum)

    var count: Int { jobs ?? Self.defaultCount }

    /// What a command without --jobs uses: the number of cores (of this machine).
    static var defaultCount: Int { min(GlobalOptions.coreCount, maximum) }

    /// " --jobs N" for a command that continues this one's work (`runner resume`), when this
    /// process used another number than the default: a TPE or ASHA sweep resumed with as many
    /// workers makes the same trials and decisions (with one, bit for bit), with another number not.
    var continuationArgument: String { count == Self.defaultCount ? "" : " --jobs \(count)" }
}

/// A command that opens the database given by `--db`: what the commands its messages suggest add
/// (`CommandHint.databaseArgument`, set by `Runner.main` once parsed).
protocol UsesDatabase {
    var global: GlobalOptions { get }
}

struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The Slope database: a file, or a PostgreSQL server as postgresql://USER@HOST:PORT/DATABASE (password from PGPASSWORD or ~/.pgpass; see docs/distributed.md). Default: $SLOPE_DB, else ./slope.db.", valueName: "path-or-url"))
    var db: String?

    @Flag(name: .long, help: "Print nothing but errors (no progress, no summary).")
    var quiet = false

    /// What --db or $SLOPE_DB names, as given: a file path or a `postgresql://` URL (with any password).
    var databaseLocation: String { SlopeStore.databasePath(given: db) }

    /// Whether the database is a PostgreSQL server rather than a file.
    var isServer: Bool { PostgresSettings.isPostgresURL(databaseLocation) }

    /// The database as messages name it: the file's path, or the URL without its password.
    var displayedLocation: String { PostgresSettings.displayedLocation(databaseLocation) }

    /// What to add to a suggested `report` command so that it opens the same database (a URL
    /// without its password: the suggested command takes it from PGPASSWORD or ~/.pgpass).
    var databaseArgument: String { CommandHint.databaseArgument(given: db) }

    /// The default of --jobs: one run per core.
    static var coreCount: Int { ProcessInfo.processInfo.activeProcessorCount }

    func validate() throws {
        if let db, db.isEmpty { throw ValidationError("--db: give a file path or a postgresql:// URL") }
        // A URL that cannot work (or a mistyped one) is a usage error (exit 2), found before anything is opened.
        do { try SlopeStore.checkLocation(databaseLocation) } catch let error as StoreError {
            throw ValidationError((db == nil ? "SLOPE_DB: " : "--db: ") + error.description)
        }
    }
}

/// The settings of a run. With `runner sweep`, each option takes a comma list and the sweep runs
/// every combination (with a spec file, the flags replace the file's values for those settings).
struct SettingOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: ArgumentHelp("Built-in dataset (see `runner datasets`; options as spirals:rows=300:classes=3) or a CSV file with a header row (commas in the path of an existing file do not split it). Default: digits.", valueName: "name-or-file"),
            transform: DatasetList.accepted.parse)
    var dataset: DatasetList?

    @Option(parsing: .unconditional, help: ArgumentHelp("CSV target column (default: the last).", valueName: "column"))
    var target: String?

    @Option(parsing: .unconditional, help: "Task for a CSV target: auto decides from the data (few distinct whole numbers: classes). Default: auto.")
    var task: TaskKind?

    @Flag(help: "Standardize CSV features (mean 0, std 1), fitted on the training split only. The target is not scaled: scale a large regression target yourself (a price in thousands).")
    var standardize = false

    @Option(parsing: .unconditional, help: ArgumentHelp("Hidden layer widths, e.g. 64,64; none for no hidden layer (a linear or logistic model). Several networks for a sweep: 32/64,64. Default: 64.", valueName: "widths"))
    var hidden: String?

    @Option(parsing: .unconditional, help: "Hidden-layer activation. Default: relu.")
    var activation: ValueList<HiddenActivation>?

    @Option(parsing: .unconditional, help: "Output activation. Default: follows the loss, else the data (softmax for classes, identity for values).")
    var outputActivation: ValueList<OutputActivation>?

    @Option(parsing: .unconditional, help: "Loss. Default: follows the output activation, else the data (cross-entropy for classes, mse for values).")
    var loss: ValueList<LossFunction>?

    @Option(parsing: .unconditional, help: ArgumentHelp("Learning rate (> 0). Default: 0.05.", valueName: "rate"))
    var learningRate: ValueList<Double>?

    @Option(parsing: .unconditional, help: ArgumentHelp("Mini-batch size (>= 1; >= the row count is full-batch gradient descent). Default: 32.", valueName: "n"))
    var batchSize: ValueList<Int>?

    @Option(parsing: .unconditional, help: ArgumentHelp("Epochs (0 to 1000000000). Default: 10.", valueName: "n"))
    var epochs: ValueList<Int>?

    @Option(parsing: .unconditional, help: "The update rule (formulas in docs/optimizers.md). Default: sgd.")
    var optimizer: ValueList<Optimizer>?

    @Option(parsing: .unconditional, help: ArgumentHelp("Momentum in [0, 1) for sgd (Keras) and rmsprop (PyTorch); adam and adamw have beta1 instead. Default: 0.", valueName: "m"))
    var momentum: ValueList<Double>?

    @Option(parsing: .unconditional, help: ArgumentHelp("adam/adamw: decay of the gradient average, in [0, 1). Default: 0.9.", valueName: "b"))
    var beta1: ValueList<Double>?

    @Option(parsing: .unconditional, help: ArgumentHelp("adam/adamw: decay of the squared-gradient average, in [0, 1). Default: 0.999.", valueName: "b"))
    var beta2: ValueList<Double>?

    @Option(parsing: .unconditional, help: ArgumentHelp("adam/adamw/rmsprop: added to the root of the squared-gradient average (> 0). Default: 1e-8.", valueName: "eps"))
    var epsilon: ValueList<Double>?

    @Option(parsing: .unconditional, help: ArgumentHelp("rmsprop: decay of the squared-gradient average (PyTorch's alpha), in [0, 1). Default: 0.99.", valueName: "r"))
    var rho: ValueList<Double>?

    @Flag(help: "Nesterov momentum (sgd with --momentum above 0 only).")
    var nesterov = false

    @Option(parsing: .unconditional, help: ArgumentHelp("Weight decay (>= 0): L2, added to the gradient; adamw: decoupled, w *= 1 - rate * decay. Default: 0.", valueName: "lambda"))
    var weightDecay: ValueList<Double>?

    @Option(parsing: .unconditional, help: ArgumentHelp("Seed of the initial weights and the shuffles (0 to 2^63 - 1). Default: 0.", valueName: "n"))
    var seed: ValueList<Int>?

    @Option(parsing: .unconditional, help: "Float precision of the run. Default: float32.")
    var precision: ValueList<Precision>?

    @Option(parsing: .unconditional, help: ArgumentHelp("Validation fraction in [0, 1). Default: 0.2.", valueName: "fraction"))
    var validation: ValueList<Double>?

    @Option(parsing: .unconditional, help: ArgumentHelp("Seed of the train/validation split (0 to 2^63 - 1; the same for every run of a sweep by default). Default: 0.", valueName: "n"))
    var splitSeed: ValueList<Int>?

    @Flag(help: "Layers without biases.")
    var noBias = false

    @Option(name: .customLong("init"), parsing: .unconditional, help: "Weight initialization. Default: he-uniform for relu layers, glorot-uniform otherwise.")
    var initialization: ValueList<WeightInitialization>?

    @Option(parsing: .unconditional, help: ArgumentHelp("Initial weights and biases of every layer, as `report tensors --format json` writes them.", valueName: "file.json"))
    var initWeights: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("Stop after this many epochs without improvement (early stopping; off by default).", valueName: "n"))
    var earlyStoppingPatience: ValueList<Int>?

    @Option(parsing: .unconditional, help: "What early stopping watches. Default: val_loss.")
    var earlyStoppingMonitor: EarlyStopping.Monitor?

    @Option(parsing: .unconditional, help: ArgumentHelp("Smallest improvement that counts for early stopping. Default: 0.", valueName: "delta"))
    var minDelta: ValueList<Double>?

    @Option(parsing: .unconditional, help: ArgumentHelp("Which epochs store their tensors: every, final, or N (every N epochs). Epoch 0 and the last epoch always do. Default: every.", valueName: "policy"))
    var logTensors: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("Name of the run (train) or of the sweep (sweep).", valueName: "text"))
    var name: String?

    /// The flags that were given, by setting, as texts (Experiments checks and names them in errors).
    var flagSettings: FlagSettings {
        var flags = FlagSettings()
        flags.add(.dataset, dataset?.texts)
        flags.add(.target, target.map { [$0] })
        flags.add(.task, task.map { [$0.rawValue] })
        if standardize { flags.add(.standardize, value: .bool(true)) }
        flags.add(.hidden, hidden.map { $0.split(separator: "/", omittingEmptySubsequences: false).map(String.init) })
        flags.add(.activation, activation?.texts)
        flags.add(.outputActivation, outputActivation?.texts)
        flags.add(.loss, loss?.texts)
        flags.add(.learningRate, learningRate?.texts)
        flags.add(.batchSize, batchSize?.texts)
        flags.add(.epochs, epochs?.texts)
        flags.add(.optimizer, optimizer?.texts)
        flags.add(.momentum, momentum?.texts)
        flags.add(.beta1, beta1?.texts)
        flags.add(.beta2, beta2?.texts)
        flags.add(.epsilon, epsilon?.texts)
        flags.add(.rho, rho?.texts)
        if nesterov { flags.add(.nesterov, value: .bool(true)) }
        flags.add(.weightDecay, weightDecay?.texts)
        flags.add(.seed, seed?.texts)
        flags.add(.precision, precision?.texts)
        flags.add(.validation, validation?.texts)
        flags.add(.splitSeed, splitSeed?.texts)
        if noBias { flags.add(.bias, value: .bool(false)) }
        flags.add(.initialization, initialization?.texts)
        flags.add(.initialWeights, initWeights.map { [$0] })
        flags.add(.earlyStoppingPatience, earlyStoppingPatience?.texts)
        flags.add(.earlyStoppingMonitor, earlyStoppingMonitor.map { [$0.rawValue] })
        flags.add(.minDelta, minDelta?.texts)
        flags.add(.logTensors, logTensors.map { [$0] })
        flags.add(.name, name.map { [$0] })
        return flags
    }

    func validate() throws {
        if initialization != nil && initWeights != nil { throw ValidationError("give either --init or --init-weights, not both") }
        do {
            try flagSettings.validate()
        } catch let error as ExperimentsError {
            throw ValidationError(error.description)
        }
    }
}
