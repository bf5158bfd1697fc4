// The registry of `runs` columns that reports may show, filter, sort and group by, and among
// them the run settings: one entry per column, with its snake_case name, type and, for a
// setting, where its value comes from in the run's `config` JSON. Everything that lists or
// compares settings (report runs/compare/grid/best/html, --where/--sort, runner's summary,
// the columns Store fills on insert) reads this list, so a new setting is one entry here
// plus the migration that adds its column.
import Foundation

/// A column of `runs` (settings, status and summary metrics) that reports may filter, sort or
/// group by. `rawValue` is the name users type; it is also the SQL column name, and only these
/// fixed names are ever spliced into SQL.
public struct RunColumn: Hashable, Sendable, RawRepresentable, CustomStringConvertible {
    public enum ValueKind: Sendable {
        case integer, real, text
        /// 0 or 1 in SQL; shown as false / true.
        case boolean
    }

    /// Where a column's value comes from.
    public enum Source: Hashable, Sendable {
        /// Not a setting: status, times, summary metrics.
        case record
        /// A setting written from `SlopeStore.NewRun`'s own field (the columns of 0001); `config`
        /// is its key path in the run's configuration JSON ("training.learningRate").
        case given(config: String)
        /// A setting Store computes on insert (and migration 0003 backfilled) with the column's
        /// `derivedSQL`, an expression over the row's `config` JSON (or other columns); `config` as above.
        case derived(config: String)
    }

    public let rawValue: String
    public let valueKind: ValueKind
    public let source: Source
    /// The sweep-file key and `runner` flag name, when it differs from the column name
    /// (`validation` for `validation_fraction`); accepted as a name for the column too.
    public let settingName: String?
    /// For a `.derived` setting: its expression in each dialect.
    let derivedSQL: (@Sendable (SQLDialect) -> String)?
    /// A text column of numbers ("64,32", "64-32-10", "10"), sorted with its numbers compared as
    /// numbers (`RunColumn.compareNumbersInText`) rather than by its bytes ("128" after "32").
    public let holdsNumbersAsText: Bool

    init(_ name: String, _ kind: ValueKind, _ source: Source = .record, setting: String? = nil, numbersAsText: Bool = false,
         derivedSQL: (@Sendable (SQLDialect) -> String)? = nil) {
        rawValue = name
        valueKind = kind
        self.source = source
        settingName = setting
        holdsNumbersAsText = numbersAsText
        self.derivedSQL = derivedSQL
    }

    /// A setting derived from the value at `path` ("training.weightDecay") of the run's `config`,
    /// `defaultValue` (SQL text) where it has none.
    static func derived(_ name: String, _ kind: ValueKind, config path: String, default defaultValue: String? = nil,
                        numbersAsText: Bool = false) -> RunColumn {
        RunColumn(name, kind, .derived(config: path), numbersAsText: numbersAsText, derivedSQL: { dialect in
            let value = dialect.jsonValue("config", path.split(separator: ".").map(String.init), as: kind.jsonKind)
            return defaultValue.map { "coalesce(\(value), \($0))" } ?? value
        })
    }

    public init?(rawValue: String) {
        guard let column = Self.byName[rawValue] else { return nil }
        self = column
    }

    public static func == (lhs: RunColumn, rhs: RunColumn) -> Bool { lhs.rawValue == rhs.rawValue }
    public func hash(into hasher: inout Hasher) { hasher.combine(rawValue) }
    public var description: String { rawValue }

    public var isNumeric: Bool { valueKind != .text }

    /// Whether this column is a setting of the run (a hyperparameter, the data, the network).
    public var isSetting: Bool { source != .record }

    /// The setting's key path in the run's configuration JSON ("training.weightDecay").
    public var configKey: String? {
        switch source {
        case .record: return nil
        case .given(let config), .derived(let config): return config
        }
    }

    /// The column as it appears in SQL (always qualified by the `runs` table).
    var sqlExpression: String { "runs.\(rawValue)" }

    /// The column to compare or sort by in `dialect`: a text column by its bytes on both stores.
    func orderedExpression(_ dialect: SQLDialect) -> String {
        valueKind == .text ? dialect.bytewise(sqlExpression) : sqlExpression
    }

    /// Whether a PostgreSQL double precision column of it may hold NaN, which SQLite cannot (a NaN
    /// bound there is stored as NULL) and Slope never writes, but a hand-made UPDATE can: such a
    /// value is missing, as the same run's would be in SQLite, so that both stores answer alike.
    private func holdsNaN(_ dialect: SQLDialect) -> Bool { dialect == .postgres && valueKind == .real }

    /// SQL true for a run without a value (NULL; NaN on PostgreSQL, `holdsNaN`).
    func missingCondition(_ dialect: SQLDialect) -> String {
        holdsNaN(dialect) ? "(\(sqlExpression) IS NULL OR \(sqlExpression) = 'NaN')" : "\(sqlExpression) IS NULL"
    }

    /// SQL true for a run with a value: the negation of `missingCondition`. The column itself is
    /// compared, so its index stays usable for the order of the values.
    func valuedCondition(_ dialect: SQLDialect) -> String {
        holdsNaN(dialect) ? "\(sqlExpression) <> 'NaN'" : "\(sqlExpression) IS NOT NULL"
    }

    /// `condition` (a comparison of the column) made false for a NaN on PostgreSQL (there NaN equals
    /// NaN and is greater than every number), as a comparison with NULL is never true.
    func comparingValues(_ condition: String, _ dialect: SQLDialect) -> String {
        holdsNaN(dialect) ? "(\(valuedCondition(dialect)) AND \(condition))" : condition
    }

    /// The order of two texts with each run of digits compared as a number, every other byte as a
    /// byte (as SQL orders text): "none" after "128" after "64,32" after "32", "5" before "10"
    /// before "every". Negative, zero or positive, as `a` sorts before, with or after `b`.
    public static func compareNumbersInText(_ a: String, _ b: String) -> Int {
        let x = Array(a.utf8), y = Array(b.utf8)
        func isDigit(_ byte: UInt8) -> Bool { byte >= 48 && byte <= 57 }
        /// The digits from `start`: where they end, and where they start without leading zeros.
        func number(_ bytes: [UInt8], from start: Int) -> (significant: Int, end: Int) {
            var end = start
            while end < bytes.count && isDigit(bytes[end]) { end += 1 }
            var significant = start
            while significant < end - 1 && bytes[significant] == 48 { significant += 1 }
            return (significant, end)
        }
        var i = 0, j = 0
        while i < x.count && j < y.count {
            guard isDigit(x[i]) && isDigit(y[j]) else {
                if x[i] != y[j] { return Int(x[i]) - Int(y[j]) }
                i += 1
                j += 1
                continue
            }
            let left = number(x, from: i), right = number(y, from: j)
            let leftLength = left.end - left.significant, rightLength = right.end - right.significant
            if leftLength != rightLength { return leftLength - rightLength }  // more digits: a larger number
            for k in 0..<leftLength where x[left.significant + k] != y[right.significant + k] {
                return Int(x[left.significant + k]) - Int(y[right.significant + k])
            }
            i = left.end
            j = right.end
        }
        return (x.count - i) - (y.count - j)
    }

    /// The order `--sort` gives two stored values of this column (neither missing): numbers by
    /// value (two integers exactly), a text column of numbers by `compareNumbersInText`, other text
    /// by its UTF-8 bytes as both stores order it (`orderedExpression`); numbers before text, as
    /// SQLite orders mixed values. Negative, zero or positive, as `a` sorts before, with or after `b`.
    public func compareValues(_ a: RunValue, _ b: RunValue) -> Int {
        func sign<T: Comparable>(_ x: T, _ y: T) -> Int { x < y ? -1 : (y < x ? 1 : 0) }
        switch (a, b) {
        case let (.integer(x), .integer(y)): return sign(x, y)
        case let (.text(x), .text(y)):
            if holdsNumbersAsText { return Self.compareNumbersInText(x, y) }
            return x.utf8.lexicographicallyPrecedes(y.utf8) ? -1 : (x.utf8.elementsEqual(y.utf8) ? 0 : 1)
        case (.text, _): return 1
        case (_, .text): return -1
        default: return sign(a.double ?? 0, b.double ?? 0)  // .null is for the caller to place (RunSort.ordered)
        }
    }

    /// Names as users type them, sorted: for "valid names are ..." messages.
    public static var validNames: [String] { allCases.map(\.rawValue).sorted() }

    /// A true/false setting's value as the Bool it stands for (stored 0/1), nil for any other
    /// column or value: the one reading of the boolean columns for tables, labels and JSON.
    public func boolean(_ value: RunValue) -> Bool? {
        guard valueKind == .boolean, case .integer(let flag) = value else { return nil }
        return flag != 0
    }

    /// Every setting column, in this registry's order.
    public static var settings: [RunColumn] { allCases.filter(\.isSetting) }

    /// The column of a setting by its column name or its sweep-file name (`validation`).
    public static func setting(named name: String) -> RunColumn? {
        settings.first { $0.rawValue == name || $0.settingName == name }
    }

    // Columns the code refers to by name.
    public static let id = RunColumn("id", .integer)
    public static let sweep_id = RunColumn("sweep_id", .integer)
    public static let name = RunColumn("name", .text)
    public static let status = RunColumn("status", .text)
    public static let stop_reason = RunColumn("stop_reason", .text)
    public static let learning_rate = RunColumn("learning_rate", .real, .given(config: "training.learningRate"))
    public static let batch_size = RunColumn("batch_size", .integer, .given(config: "training.batchSize"))
    public static let momentum = RunColumn("momentum", .real, .given(config: "training.momentum"))
    public static let epochs = RunColumn("epochs", .integer, .given(config: "training.epochs"))
    public static let seed = RunColumn("seed", .integer, .given(config: "training.seed"))
    /// Derived from the data and `hidden` ("64-64-10": inputs, hidden..., outputs): not itself a setting.
    public static let layers = RunColumn("layers", .text, numbersAsText: true)
    public static let activation = RunColumn("activation", .text, .given(config: "training.hiddenActivation"))
    public static let output_activation = RunColumn("output_activation", .text, .given(config: "training.outputActivation"))
    public static let loss = RunColumn("loss", .text, .given(config: "training.loss"))
    public static let precision = RunColumn("precision", .text, .given(config: "training.precision"))
    public static let dataset = RunColumn("dataset", .text, .given(config: "data.dataset"))
    public static let validation_fraction = RunColumn("validation_fraction", .real, .given(config: "data.validationFraction"),
                                                      setting: "validation")
    public static let epochs_done = RunColumn("epochs_done", .integer)
    public static let final_train_loss = RunColumn("final_train_loss", .real)
    public static let final_val_loss = RunColumn("final_val_loss", .real)
    public static let best_train_loss = RunColumn("best_train_loss", .real)
    public static let best_val_loss = RunColumn("best_val_loss", .real)
    public static let best_epoch = RunColumn("best_epoch", .integer)
    public static let final_train_accuracy = RunColumn("final_train_accuracy", .real)
    public static let final_val_accuracy = RunColumn("final_val_accuracy", .real)
    public static let created_at = RunColumn("created_at", .text)
    public static let started_at = RunColumn("started_at", .text)
    public static let finished_at = RunColumn("finished_at", .text)
    public static let worker = RunColumn("worker", .text)
    public static let hidden = RunColumn("hidden", .text, .derived(config: "training.layerSizes"), numbersAsText: true, derivedSQL: { dialect in
        // '64-32-10' -> '32': drop the input width, then the output width; 'none' without hidden layers.
        "coalesce(nullif(replace(rtrim(rtrim(substr(layers, \(dialect.position(of: "'-'", in: "layers")) + 1), '0123456789'), '-'), '-', ','), ''), 'none')"
    })

    public static let standardize = derived("standardize", .boolean, config: "data.standardize")
    public static let optimizer = derived("optimizer", .text, config: "training.optimizer", default: "'sgd'")

    /// Every column, in the order of `report export` and `--format csv/json` (new ones are appended,
    /// never inserted, so that column positions stay stable for scripts).
    public static let allCases: [RunColumn] = [
        id, sweep_id, name, status, stop_reason,
        learning_rate, batch_size, momentum, epochs, seed, layers,
        activation, output_activation, loss, precision, dataset, validation_fraction,
        epochs_done, final_train_loss, final_val_loss, best_train_loss, best_val_loss, best_epoch,
        final_train_accuracy, final_val_accuracy,
        created_at, started_at, finished_at, worker,
        // Migration 0003_run_settings: the settings that lived only in `config`.
        derived("weight_decay", .real, config: "training.weightDecay", default: "0"),
        derived("nesterov", .boolean, config: "training.nesterov", default: "0"),
        hidden,
        derived("init", .text, config: "training.initialization"),
        derived("bias", .boolean, config: "training.usesBias", default: "1"),
        derived("early_stopping_patience", .integer, config: "training.earlyStopping.patience"),
        derived("early_stopping_monitor", .text, config: "training.earlyStopping.monitor"),
        derived("min_delta", .real, config: "training.earlyStopping.minDelta"),
        derived("target", .text, config: "data.target"),
        derived("task", .text, config: "data.taskOverride"),
        standardize,
        derived("split_seed", .integer, config: "data.splitSeed"),
        derived("log_tensors", .text, config: "tensorLogging", numbersAsText: true),
        derived("init_weights", .text, config: "initialWeightsFile"),
        // Migration 0004_optimizer_state: the optimizer (sgd when absent) and its settings, NULL where
        // the optimizer does not use them (PyTorch's defaults where it does and the config has none).
        optimizer,
        optimizerSetting("beta1", 0.9, usedBy: "('adam', 'adamw')"),
        optimizerSetting("beta2", 0.999, usedBy: "('adam', 'adamw')"),
        optimizerSetting("epsilon", 1e-8, usedBy: "('adam', 'adamw', 'rmsprop')"),
        optimizerSetting("rho", 0.99, usedBy: "('rmsprop')"),
    ]

    /// The setting `training.<name>` (or its default) when the run's optimizer is one of `optimizers`, else NULL.
    private static func optimizerSetting(_ name: String, _ defaultValue: Double, usedBy optimizers: String) -> RunColumn {
        RunColumn(name, .real, .derived(config: "training.\(name)"), derivedSQL: { dialect in
            "CASE WHEN \(dialect.jsonValue("config", ["training", "optimizer"], as: .text)) IN \(optimizers) "
                + "THEN coalesce(\(dialect.jsonValue("config", ["training", name], as: .real)), \(defaultValue)) END"
        })
    }

    private static let byName = Dictionary(uniqueKeysWithValues: allCases.map { ($0.rawValue, $0) })

    /// `UPDATE runs SET <derived setting> = <its expression>, ... WHERE <condition>`: fills the
    /// derived setting columns of rows from their `config` (and `layers`), as migration 0003 did
    /// for old rows. `condition` takes one argument: `id = ?` (one run) or `sweep_id = ?` (a
    /// sweep's runs at once, as queueing one does).
    static func fillDerivedSettingsSQL(_ dialect: SQLDialect, condition: String = "id = ?") -> String {
        "UPDATE runs SET " + (dialect == .sqlite ? derivedAssignmentsSQLite : derivedAssignments(dialect)) + " WHERE " + condition
    }

    private static let derivedAssignmentsSQLite = derivedAssignments(.sqlite)

    private static func derivedAssignments(_ dialect: SQLDialect) -> String {
        allCases.compactMap { column in column.derivedSQL.map { "\(column.rawValue) = \($0(dialect))" } }.joined(separator: ", ")
    }
}

extension RunColumn.ValueKind {
    /// How a JSON value reads into a column of this kind.
    var jsonKind: SQLDialect.JSONValueKind {
        switch self {
        case .integer: return .integer
        case .real: return .real
        case .text: return .text
        case .boolean: return .boolean
        }
    }
}
