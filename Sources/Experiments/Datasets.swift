// Where a run's data comes from: the built-in datasets (digits, shipped inside the
// binary, and the seeded generators) and CSV files; the target column, the task,
// the train/validation split and standardization fitted on the training split.
import Foundation
import NeuralNet
import Store

/// The datasets Slope ships. Generators take options after the name:
/// `spirals:rows=300:classes=3:noise=0.2:seed=1`.
public enum BuiltInDataset: String, CaseIterable, Sendable {
    case digits, xor, linear, spirals, moons, blobs

    public static var allNames: [String] { allCases.map(\.rawValue) }

    /// The largest `noise` option a generator takes.
    static let maximumNoise = 100.0

    /// Options a generator accepts, with their defaults.
    public var options: [(name: String, defaultValue: Double)] {
        switch self {
        case .digits, .xor: return []
        case .linear: return [("rows", 1000), ("noise", 0.1), ("seed", 0)]
        case .spirals: return [("rows", 300), ("classes", 3), ("noise", 0.2), ("seed", 0)]
        case .moons: return [("rows", 500), ("noise", 0.1), ("seed", 0)]
        case .blobs: return [("rows", 500), ("features", 2), ("classes", 3), ("seed", 0)]
        }
    }

    public var summary: String {
        switch self {
        case .digits: return "8x8 handwritten digits, pixels scaled to [0,1] (scikit-learn's digits)"
        case .xor: return "the four XOR points"
        case .linear: return "regression y = 3 x1 + 2 x2 + noise (a linear model's textbook case; the tiny workload)"
        case .spirals: return "interleaved spirals, one arm per class"
        case .moons: return "two interleaving half circles"
        case .blobs: return "Gaussian blobs, one per class"
        }
    }
}

/// A dataset in memory with what identifies it.
public struct LoadedData: Sendable {
    public var dataset: Dataset
    /// sha256 of the CSV file (or of the embedded digits file); for generated data, of its values.
    public var sha256: String?
    /// The class of each label 0, 1, ... as the data names it (a CSV's texts, or its numbers as
    /// written, e.g. "3"); nil for regression. `report evaluate` maps a test file's classes by it.
    public var classNames: [String]? = nil
    /// The target column's name in a CSV file (nil for generated data).
    public var targetName: String? = nil
    /// The first CSV cell beyond float32's range (1e39) in a feature column or a target of values
    /// (class labels become class numbers): a float32 run of this data is refused with this error.
    public var float32Problem: ExperimentsError? = nil
    /// "classification (10 classes)" / "regression (1 target)".
    public var taskDescription: String {
        switch dataset.targets {
        case let .labels(_, classCount): return "classification (\(classCount) classes)"
        case let .values(_, columns): return "regression (\(columns) target\(columns == 1 ? "" : "s"))"
        }
    }
}

public enum DataCatalog {
    /// Target columns with at most this many distinct whole numbers are class labels (task auto).
    public static let maximumAutoClassCount = 20

    private static let cache = Cache()

    /// Loads a built-in dataset or a CSV file, once per process (runs of a sweep share it).
    /// A file is read and hashed again when its device, inode, size, modification or change time
    /// differ from the last load (a file replaced or edited is noticed; each of a sweep's runs does
    /// not re-read a large file); parsing is cached by content.
    public static func load(_ name: String, target: String? = nil, task: TaskKind = .auto) throws -> LoadedData {
        let options = "\u{0}\(target ?? "")\u{0}\(task.rawValue)"
        if FileManager.default.fileExists(atPath: name) {
            let statKey = fileSignature(name).map { "stat:\(name)\u{0}\($0)" + options }
            if let statKey, let cached = cache.value(for: statKey) { return cached }
            let data = try InputFile.contents(name, what: "a CSV file", refusedFromStart: CSVTable.binaryProblem) { .badData(file: name, line: nil, column: nil, reason: $0) }
            let sha256 = SHA256.hexDigest(data)
            let key = "file:\(name)\u{0}\(sha256)" + options
            let loaded = try cache.value(for: key) ?? loadCSV(data, file: name, target: target, task: task, sha256: sha256)
            cache.store(loaded, for: key)
            // Only if the file did not change while it was read.
            if let statKey, fileSignature(name).map({ "stat:\(name)\u{0}\($0)" + options }) == statKey {
                cache.store(loaded, for: statKey)
            }
            return loaded
        }
        let key = "builtin:\(name)" + options
        if let cached = cache.value(for: key) { return cached }
        let loaded = try loadBuiltIn(name, target: target, task: task)
        cache.store(loaded, for: key)
        return loaded
    }

    /// How old a file's times must be before its signature is trusted (tests set 0).
    nonisolated(unsafe) static var settleSeconds: Double = 2

    /// Device, inode, size, and modification and change times (nanoseconds) of a file; nil when it
    /// changed in the last 2 seconds (file times are coarse: an edit made just after this load could
    /// keep the same times and size, so such a file is read and hashed every time, as git does).
    private static func fileSignature(_ path: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        let changed = max(Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9,
                          Double(info.st_ctim.tv_sec) + Double(info.st_ctim.tv_nsec) / 1e9)
        guard Date().timeIntervalSince1970 - changed >= settleSeconds else { return nil }
        return "\(info.st_dev):\(info.st_ino):\(info.st_size):\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec):"
            + "\(info.st_ctim.tv_sec).\(info.st_ctim.tv_nsec)"
    }

    /// What is wrong with a `--dataset` value, said without loading anything (nil: a file that
    /// exists, or a built-in name with valid options); settings check it as soon as it is given.
    public static func problem(withName name: String) -> String? {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: name, isDirectory: &isDirectory) {
            if isDirectory.boolValue { return "\(name) is a directory; give a CSV file or a built-in dataset" }
            return InputFile.problem(name, what: "a CSV file").map { "\(name): \($0)" }  // a device, a pipe, no permission
        }
        do {
            _ = try builtInOptions(name)
            return nil
        } catch let error as ExperimentsError {
            if case let .badSetting(_, reason) = error { return reason }
            if case let .badData(_, _, _, reason) = error {
                // A relative path is looked for in the current folder: say so (a sweep file's folder is not).
                return "\(name): " + (reason == "no such file" && !name.hasPrefix("/") ? "no such file in the current folder" : reason)
            }
            return error.description
        } catch {
            return "\(error)"
        }
    }

    /// A built-in dataset as it is stored: its name in lower case and the options that differ from
    /// their defaults, in the dataset's order, their numbers written one way
    /// (`SPIRALS:noise=0.2:rows=1e2` is `spirals:rows=100`, noise 0.2 being the default), so that one
    /// dataset has one `dataset` value to filter, group and compare by (hostile15 F11). A file, or a
    /// name that is no valid built-in, is kept as typed (its errors come where it is checked).
    static func canonicalName(_ name: String) -> String {
        guard !FileManager.default.fileExists(atPath: name), let (builtIn, options) = try? builtInOptions(name) else { return name }
        return ([builtIn.rawValue] + builtIn.options.compactMap { option in
            let value = options[option.name] ?? option.defaultValue
            return value == option.defaultValue ? nil : "\(option.name)=\(shortDescription(value))"
        }).joined(separator: ":")
    }

    /// The built-in dataset and its options (defaults filled in), checked: names, syntax, ranges.
    static func builtInOptions(_ name: String) throws -> (BuiltInDataset, [String: Double]) {
        let parts = name.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard let builtIn = BuiltInDataset(rawValue: parts[0].lowercased()) else {
            if name.lowercased().hasSuffix(".csv") || name.contains("/") {
                throw ExperimentsError.badData(file: name, line: nil, column: nil, reason: "no such file")
            }
            throw ExperimentsError.unknownDataset(name)
        }
        var options = Dictionary(uniqueKeysWithValues: builtIn.options.map { ($0.name, $0.defaultValue) })
        var given = Set<String>()
        for part in parts.dropFirst() {
            let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2, options[pair[0]] != nil, let value = DecimalNumber.value(of: pair[1]), value.isFinite else {
                let accepted = builtIn.options.isEmpty ? "none" : builtIn.options.map { "\($0.name)=N" }.joined(separator: ", ")
                throw ExperimentsError.badSetting(field: "--dataset \(name)", reason: "bad option '\(part)'; \(builtIn.rawValue) accepts \(accepted)")
            }
            // The last one would win silently, and the run's stored name would say both.
            guard given.insert(pair[0]).inserted else {
                throw ExperimentsError.badSetting(field: "--dataset \(name)", reason: "\(pair[0]) is given twice; give each option once")
            }
            options[pair[0]] = value
        }
        // In this order, so that of several bad options the same one is named every time.
        let minimums = [("rows", 2), ("classes", 2), ("features", 1), ("seed", 0)]
        for (option, minimum) in minimums {
            guard let value = options[option] else { continue }
            guard value.rounded() == value, value >= Double(minimum), value <= 10_000_000 else {
                throw ExperimentsError.badSetting(field: "--dataset \(name)", reason: "\(option) must be a whole number from \(minimum) to 10000000")
            }
        }
        // The scale of N(0, 1) noise on values of about 1 (an angle, for spirals): far beyond 100 the
        // data is noise alone, and near 1e308 it overflows into a run that diverges at epoch 0.
        if let noise = options["noise"], !(0...BuiltInDataset.maximumNoise).contains(noise) {
            throw ExperimentsError.badSetting(field: "--dataset \(name)",
                                              reason: "noise must be a number from 0 to \(Int(BuiltInDataset.maximumNoise)) (the scale of the Gaussian noise)")
        }
        if let rows = options["rows"], let classes = options["classes"], rows < classes {
            throw ExperimentsError.badSetting(field: "--dataset \(name)", reason: "rows (\(Int(rows))) must be at least classes (\(Int(classes))): every class needs rows")
        }
        if builtIn == .blobs, let rows = options["rows"], let features = options["features"], rows * features > 100_000_000 {
            throw ExperimentsError.badSetting(field: "--dataset \(name)", reason: "rows x features must be at most 100,000,000 values")
        }
        return (builtIn, options)
    }

    static func loadBuiltIn(_ name: String, target: String?, task: TaskKind) throws -> LoadedData {
        let (builtIn, options) = try builtInOptions(name)
        if builtIn != .digits, task != .auto || target != nil {
            throw ExperimentsError.badSetting(field: "--dataset \(name)", reason: "--target and --task apply to CSV files; \(builtIn.rawValue) decides its own targets")
        }
        func count(_ option: String, minimum: Int) throws -> Int { Int(options[option] ?? Double(minimum)) }  // checked above
        let seed = UInt64(try count("seed", minimum: 0))
        if let rows = options["rows"] {
            // Its values (features and target) in float64, and their bytes for the sha256 (see `generated`).
            let bytes = rows * ((options["features"] ?? 2) + 1) * 8 * 2
            try MemoryLimits.require(bytes: bytes, field: "--dataset \(name)",
                                     needs: "the dataset needs about \(MemoryLimits.memorySize(bytes)) of memory to generate")
        }
        switch builtIn {
        case .digits:
            guard let data = EmbeddedFiles.data(named: "digits.csv") else {
                throw ExperimentsError.badData(file: "digits.csv", line: nil, column: nil, reason: "not embedded in this build")
            }
            return try loadCSV(data, file: "digits", target: target, task: task)
        case .xor:
            return generated(GeneratedData.xor())
        case .linear:
            return generated(GeneratedData.linear(rows: try count("rows", minimum: 2), noise: options["noise"]!, seed: seed))
        case .spirals:
            return generated(GeneratedData.spirals(rows: try count("rows", minimum: 2), classes: try count("classes", minimum: 2),
                                                             noise: options["noise"]!, seed: seed))
        case .moons:
            return generated(GeneratedData.moons(rows: try count("rows", minimum: 2), noise: options["noise"]!, seed: seed))
        case .blobs:
            let rows = try count("rows", minimum: 2), features = try count("features", minimum: 1)
            return generated(GeneratedData.blobs(rows: rows, features: features,
                                                           classes: try count("classes", minimum: 2), seed: seed))
        }
    }

    /// A built-in dataset (generator options as for `--dataset`) as a CSV file that `--dataset FILE`
    /// and `report evaluate --data` read back to the same values: a header naming the features and
    /// the target as the run knows them (`x0`...`x63,label` for digits, `x1`...,`target` for the
    /// generated ones), then one line per row. Digits is its embedded file, byte for byte; generated
    /// values are written in Swift's shortest round-trip form, class labels as their numbers.
    /// - Throws: `ExperimentsError.badSetting` for a CSV file or an unknown name or option.
    public static func csvExport(ofBuiltIn name: String) throws -> Data {
        guard (try? builtInOptions(name)) != nil || !FileManager.default.fileExists(atPath: name) else {
            throw ExperimentsError.badSetting(field: "--csv", reason: "'\(shownText(name))' is a file; give a built-in dataset (runner datasets lists them)")
        }
        let dataset: Dataset
        do {
            let (builtIn, _) = try builtInOptions(name)
            if builtIn == .digits, let data = EmbeddedFiles.data(named: "digits.csv") { return data }
            dataset = try loadBuiltIn(name, target: nil, task: .auto).dataset
        } catch let ExperimentsError.badSetting(field, reason) where field.hasPrefix("--dataset ") {
            // The checks are training's: name the flag this command was given.
            throw ExperimentsError.badSetting(field: "--csv" + field.dropFirst("--dataset".count), reason: reason)
        }
        var text = (dataset.featureNames + ["target"]).joined(separator: ",") + "\n"
        for row in 0..<dataset.rowCount {
            var cells = dataset.features[(row * dataset.featureCount)..<((row + 1) * dataset.featureCount)].map { "\($0)" }
            switch dataset.targets {
            case let .labels(labels, _): cells.append(String(labels[row]))
            case let .values(values, columns): cells += values[(row * columns)..<((row + 1) * columns)].map { "\($0)" }
            }
            text += cells.joined(separator: ",") + "\n"
        }
        return Data(text.utf8)
    }

    /// Generated data with the sha256 of its values (features, then targets, as little-endian
    /// float64), so a run records exactly what it trained on and a changed generator is noticed.
    static func generated(_ dataset: Dataset) -> LoadedData {
        var bytes: [UInt8] = []
        let values: [Double]
        switch dataset.targets {
        case let .labels(labels, _): values = labels.map(Double.init)
        case let .values(targets, _): values = targets
        }
        bytes.reserveCapacity((dataset.features.count + values.count) * 8)
        for part in [dataset.features, values] {  // not `features + values`: a third copy of up to 0.8 GB
            for value in part {
                withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
            }
        }
        var classNames: [String]?
        if case let .labels(_, classCount) = dataset.targets { classNames = (0..<classCount).map(String.init) }
        return LoadedData(dataset: dataset, sha256: SHA256.hexDigest(bytes), classNames: classNames)
    }

    /// A CSV file's bytes as a dataset: features are every column but the target.
    static func loadCSV(_ data: Data, file: String, target: String?, task: TaskKind, sha256: String? = nil) throws -> LoadedData {
        let table = try CSVTable.parse([UInt8](data), file: file, textColumn: target)
        var loaded = try dataset(from: table, data: data, file: file, target: target, task: task, sha256: sha256)
        let targetIndex = target.flatMap { table.columnNames.firstIndex(of: $0) } ?? table.columnNames.count - 1
        let cells = table.beyondFloat32.filter { $0.key != targetIndex || !loaded.dataset.isClassification }
        if let (column, cell) = cells.min(by: { ($0.value.line, $0.key) < ($1.value.line, $1.key) }) {
            loaded.float32Problem = .badData(file: file, line: cell.line, column: "'\(shownText(table.columnNames[column]))' (\(column + 1))",
                reason: "'\(shownText(cell.text))' is beyond the float32 range (about ±3.4e38); use --precision float64, or rescale the column")
        }
        return loaded
    }

    /// The dataset of a parsed CSV table: target column, task, classes.
    private static func dataset(from table: CSVTable, data: Data, file: String, target: String?, task: TaskKind, sha256: String?) throws
        -> LoadedData
    {
        let targetIndex: Int
        if let target {
            guard let index = table.columnNames.firstIndex(of: target) else {
                throw ExperimentsError.badData(file: file, line: 1, column: nil,
                    reason: "no column named '\(shownText(target))'; the columns are \(table.columnNames.prefix(20).map { shownText($0) }.joined(separator: ", "))"
                        + (table.columnNames.count > 20 ? ", ... (\(table.columnNames.count) in all)" : ""))
            }
            targetIndex = index
        } else {
            targetIndex = table.columnNames.count - 1
        }
        guard table.columnNames.count >= 2 else {
            // A tab- or semicolon-separated file (Excel in many locales writes ';') reads as one column.
            let separator = [("\t", "tabs"), (";", "semicolons"), ("|", "'|'")].first { table.columnNames[0].contains($0.0) }
            throw ExperimentsError.badData(file: file, line: 1, column: nil, reason: "only one column; need at least one feature column and the target column"
                + (separator.map { "; the header holds \($0.1): Slope reads comma-separated values only, so save the file with commas" } ?? ""))
        }
        let targetName = table.columnNames[targetIndex]
        let targetValues = table.column(targetIndex)
        let featureIndices = (0..<table.columnNames.count).filter { $0 != targetIndex }
        var features = [Double]()
        features.reserveCapacity(table.rowCount * featureIndices.count)
        for row in 0..<table.rowCount {
            let start = row * table.columnNames.count
            for column in featureIndices { features.append(table.values[start + column]) }
        }
        if let (line, text) = table.mixedText {
            // The minority is the slip: a missing value written NA among numbers, or a number among class names.
            let texts = table.textCellCount, numbers = table.rowCount - table.textCellCount
            if texts > numbers, let (numberLine, number) = table.firstNumberInText {
                throw ExperimentsError.badData(file: file, line: numberLine, column: "'\(shownText(targetName))'",
                    reason: "'\(shownText(number))' is a number among class names (\(texts) of the column's \(table.rowCount) cells are text); "
                        + (numbers == 1 ? "write that class as a name, or fix or remove that row"
                                        : "write those classes as names, or fix or remove the \(numbers) rows with numbers (this is the first)"))
            }
            throw ExperimentsError.badData(file: file, line: line, column: "'\(shownText(targetName))'",
                reason: "'\(shownText(text))' is not a number, and " + (texts == 1 ? "the column's other cells are numbers; fix or remove that row"
                    : "\(numbers) of the column's \(table.rowCount) cells are numbers; fix or remove the \(texts) rows with text (this is the first)"))
        }
        if let texts = table.texts {  // class names: the classes in sorted order
            guard task != .regression else {
                throw ExperimentsError.badData(file: file, line: nil, column: "'\(targetName)'",
                    reason: "holds text ('\(shownText(texts.first { DecimalNumber.value(of: $0) == nil } ?? ""))'), so it can only be a classification target; drop --task regression")
            }
            let classes = Set(texts).sorted()
            if task == .auto && classes.count > maximumAutoClassCount {
                throw ExperimentsError.badData(file: file, line: nil, column: "'\(shownText(targetName))'",
                    reason: "holds \(classes.count) different texts; if they are classes, say so with --task classification")
            }
            guard classes.count >= 2 else {
                throw ExperimentsError.badData(file: file, line: nil, column: "'\(targetName)'",
                    reason: "a single class (\(shownText(classes[0]))) in the target column; classification needs at least two")
            }
            let index = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })
            let dataset = Dataset(features: features, rowCount: table.rowCount, featureCount: featureIndices.count,
                                  featureNames: featureIndices.map { table.columnNames[$0] },
                                  targets: .labels(texts.map { index[$0]! }, classCount: classes.count))
            return LoadedData(dataset: dataset, sha256: sha256 ?? SHA256.hexDigest(data), classNames: classes, targetName: targetName)
        }
        let distinct = Set(targetValues)
        let wholeNumbers = targetValues.allSatisfy { $0.rounded() == $0 }
        let isClassification: Bool
        switch task {
        case .classification:
            if let row = targetValues.firstIndex(where: { $0.rounded() != $0 }) {
                throw ExperimentsError.badData(file: file, line: row + 2, column: "'\(targetName)'",
                    reason: "\(shortDescription(targetValues[row])) is not a class label (a whole number); use --task regression")
            }
            isClassification = true
        case .regression: isClassification = false
        case .auto: isClassification = wholeNumbers && distinct.count <= maximumAutoClassCount
        }
        let targets: Dataset.Targets
        var classNames: [String]?
        if isClassification {
            try table.checkExactLabels(file: file, targetName: targetName)
            guard distinct.count >= 2 else {
                throw ExperimentsError.badData(file: file, line: nil, column: "'\(targetName)'",
                    reason: "a single class (\(shortDescription(targetValues[0]))) in the target column; classification needs at least two; use --task regression or another --target")
            }
            // Labels 0..K-1 stay as they are; other label sets map to their rank.
            let sorted = distinct.sorted()
            let isDense = sorted.first == 0 && sorted.last == Double(sorted.count - 1)
            let rank = Dictionary(uniqueKeysWithValues: sorted.enumerated().map { ($1, $0) })
            targets = .labels(targetValues.map { isDense ? Int($0) : rank[$0]! }, classCount: sorted.count)
            classNames = sorted.map(shortDescription)
        } else {
            targets = .values(targetValues, columns: 1)
        }
        let dataset = Dataset(features: features, rowCount: table.rowCount, featureCount: featureIndices.count,
                              featureNames: featureIndices.map { table.columnNames[$0] }, targets: targets)
        return LoadedData(dataset: dataset, sha256: sha256 ?? SHA256.hexDigest(data), classNames: classNames, targetName: targetName)
    }

    /// The training and validation sets of a run: same split for the same fraction and seed;
    /// standardization (if asked) fitted on the training rows only.
    /// The run's data, checked against the sha256 stored when it was queued. `databasePath`: a
    /// relative name is also looked for next to the database, and a built-in name that a file in
    /// the current folder shadows is tried as the built-in too; the one whose sha256 matches is
    /// used (so a file named `xor` here, or a CSV named `moons` beside the database, is no trap).
    public static func prepare(_ data: DataConfiguration, databasePath: String? = nil) throws -> (training: Dataset, validation: Dataset?) {
        let (name, loaded) = try loadChecked(data, databasePath: databasePath)
        return try split(loaded.dataset, name: name, validationFraction: data.validationFraction,
                         splitSeed: data.splitSeed, standardize: data.standardize)
    }

    /// The run's training rows as `prepare` makes them, with where each one is in the data (`dataRows[i]`:
    /// training row i is that row of the data, counted from 0 in its order) and the names of the
    /// classes (label 0 first; nil for regression): what `report explain --row` says of a row.
    public static func prepareTraining(_ data: DataConfiguration, databasePath: String? = nil) throws
        -> (training: Dataset, dataRows: [Int], classNames: [String]?) {
        let (name, loaded) = try loadChecked(data, databasePath: databasePath)
        let (training, _) = try split(loaded.dataset, name: name, validationFraction: data.validationFraction,
                                      splitSeed: data.splitSeed, standardize: data.standardize)
        let dataRows = data.validationFraction > 0
            ? Dataset.splitRows(rowCount: loaded.dataset.rowCount, validationFraction: data.validationFraction, seed: data.splitSeed).training
            : Array(0..<loaded.dataset.rowCount)
        return (training, dataRows, loaded.classNames)
    }

    /// The run's data as loaded (not split), with the name it was found by; checked against the
    /// sha256 stored when the run was queued (see `prepare`).
    static func loadChecked(_ data: DataConfiguration, databasePath: String?) throws -> (name: String, loaded: LoadedData) {
        let name = data.dataset
        var candidates: [(name: String, load: () throws -> LoadedData)] = [
            (name, { try load(name, target: data.target, task: data.taskOverride) })]  // a file here, else the built-in
        for beside in InputFile.candidates(name, databasePath: databasePath).dropFirst() {
            candidates.append((beside, { try load(beside, target: data.target, task: data.taskOverride) }))
        }
        if FileManager.default.fileExists(atPath: name), (try? builtInOptions(name)) != nil {
            candidates.append((name, { try loadBuiltIn(name, target: data.target, task: data.taskOverride) }))
        }
        var firstLoaded: LoadedData?, firstError: Error?
        for candidate in candidates {
            do {
                let loaded = try candidate.load()
                if data.sha256 == nil || loaded.sha256 == nil || loaded.sha256 == data.sha256 {
                    return (candidate.name, loaded)
                }
                if firstLoaded == nil { firstLoaded = loaded }
            } catch {
                if firstError == nil { firstError = error }
            }
        }
        if let loaded = firstLoaded, let expected = data.sha256, let actual = loaded.sha256 {
            throw ExperimentsError.storedInputUnavailable(file: name,
                reason: "the data changed since the run was queued (sha256 \(actual.prefix(12))..., expected \(expected.prefix(12))...)")
        }
        if case let ExperimentsError.badData(file, nil, nil, "no such file")? = firstError {
            throw ExperimentsError.storedInputUnavailable(file: file, reason: file.hasPrefix("/") ? "no such file"
                : InputFile.notFound(file, databasePath: databasePath) + " (the run was queued with this path relative to the folder it was started from)")
        }
        throw firstError ?? ExperimentsError.unknownDataset(name)
    }

    static func split(_ dataset: Dataset, name: String, validationFraction: Double, splitSeed: UInt64, standardize: Bool) throws
        -> (training: Dataset, validation: Dataset?)
    {
        try checkSplitSizes(rowCount: dataset.rowCount, name: name, validationFraction: validationFraction)
        var (training, validation) = validationFraction > 0
            ? dataset.split(validationFraction: validationFraction, seed: splitSeed)
            : (dataset, nil)
        if standardize {
            let (means, scales) = standardization(of: training)
            training = apply(means: means, scales: scales, to: training)
            validation = validation.map { apply(means: means, scales: scales, to: $0) }
        }
        return (training, validation)
    }

    /// Throws when `rowCount` rows leave no training row, or no validation row for a fraction > 0.
    static func checkSplitSizes(rowCount: Int, name: String, validationFraction: Double) throws {
        let sizes = validationFraction > 0
            ? Dataset.splitSizes(rowCount: rowCount, validationFraction: validationFraction)
            : (training: rowCount, validation: 0)
        if sizes.training < 1 || (validationFraction > 0 && sizes.validation < 1) {
            throw ExperimentsError.badData(file: name, line: nil, column: nil,
                reason: (rowCount == 1 ? "1 row is" : "\(rowCount) rows are") + " too few for a validation fraction of \(shortDescription(validationFraction)) "
                    + "(\(sizes.training) training, \(sizes.validation) validation row\(sizes.validation == 1 ? "" : "s")); use more rows or --validation 0")
        }
    }

    /// Per-feature mean and standard deviation (1 for a constant feature).
    static func standardization(of dataset: Dataset) -> (means: [Double], scales: [Double]) {
        let featureCount = dataset.featureCount
        var means = [Double](repeating: 0, count: featureCount)
        var squares = [Double](repeating: 0, count: featureCount)
        for row in 0..<dataset.rowCount {
            for column in 0..<featureCount { means[column] += dataset.features[row * featureCount + column] }
        }
        let count = Double(max(dataset.rowCount, 1))
        for column in 0..<featureCount { means[column] /= count }
        for row in 0..<dataset.rowCount {
            for column in 0..<featureCount {
                let deviation = dataset.features[row * featureCount + column] - means[column]
                squares[column] += deviation * deviation
            }
        }
        // A column that holds one value is centred on exactly that value and not scaled: its
        // computed mean can be off by a rounding error (0.1 is not a binary fraction), which would
        // leave a deviation of ~1e-17 to divide by.
        var scales = squares.map { sum -> Double in
            let deviation = (sum / count).squareRoot()
            return deviation > 0 ? deviation : 1
        }
        for column in 0..<featureCount where dataset.rowCount > 0 {
            let first = dataset.features[column]
            if (0..<dataset.rowCount).allSatisfy({ dataset.features[$0 * featureCount + column] == first }) {
                means[column] = first
                scales[column] = 1
            }
        }
        return (means, scales)
    }

    static func apply(means: [Double], scales: [Double], to dataset: Dataset) -> Dataset {
        var result = dataset
        let featureCount = dataset.featureCount
        for row in 0..<dataset.rowCount {
            for column in 0..<featureCount {
                let index = row * featureCount + column
                result.features[index] = (dataset.features[index] - means[column]) / scales[column]
            }
        }
        return result
    }

    /// Process-wide cache of loaded datasets (runs on several threads read it).
    private final class Cache: @unchecked Sendable {
        private let lock = NSLock()
        private var entries: [String: LoadedData] = [:]
        func value(for key: String) -> LoadedData? { lock.lock(); defer { lock.unlock() }; return entries[key] }
        func store(_ value: LoadedData, for key: String) { lock.lock(); entries[key] = value; lock.unlock() }
    }
}

extension DataCatalog {
    /// The built-in datasets at their default options, for `runner datasets`.
    public static func builtInSummaries() throws -> [(name: String, shape: String, task: String, options: String, summary: String)] {
        try BuiltInDataset.allCases.map { builtIn in
            let loaded = try load(builtIn.rawValue)
            let options = builtIn.options.map { "\($0.name)=\(shortDescription($0.defaultValue))" }.joined(separator: ":")
            return (builtIn.rawValue, "\(loaded.dataset.rowCount) x \(loaded.dataset.featureCount)", loaded.taskDescription,
                    options.isEmpty ? "" : "\(builtIn.rawValue):\(options)", builtIn.summary)
        }
    }
}
