// CSV loading, task detection, splits and standardization, and every bad-data error
// (each must name the file, line and column).
import NeuralNet
import Store
import TestSupport
import XCTest
@testable import Experiments

final class DataLoadingTests: XCTestCase {
    /// One built-in dataset, one stored name (hostile15 F11: `SPIRALS:rows=1e2`, `spirals:rows=100`
    /// and `Spirals:rows=+100`, the same data, were three `dataset` values to filter and group by):
    /// lower case, the options that differ from the defaults in the dataset's order, numbers one way.
    func testABuiltInDatasetIsStoredUnderOneName() throws {
        for (typed, stored) in [("SPIRALS:rows=1e2", "spirals:rows=100"), ("Spirals:rows=+100", "spirals:rows=100"),
                                ("spirals:noise=0.5:rows=100", "spirals:rows=100:noise=0.5"), ("spirals:noise=0.2", "spirals"),
                                ("DIGITS", "digits"), ("blobs:seed=2:classes=4:rows=60", "blobs:rows=60:classes=4:seed=2")] {
            var settings = RunSettings()
            try settings.apply(.dataset, .string(typed), field: "--dataset")
            XCTAssertEqual(settings.dataset, stored, typed)
            XCTAssertEqual(try DataCatalog.load(typed).sha256, try DataCatalog.load(stored).sha256, typed)
        }
        // Not a built-in: kept as typed, for its own error later.
        for typed in ["nosuch", "spirals:rows=x", "Data.CSV"] {
            var settings = RunSettings()
            try settings.apply(.dataset, .string(typed), field: "--dataset")
            XCTAssertEqual(settings.dataset, typed)
        }
        // The same data twice in one sweep is refused as `--seed 0,0` is.
        XCTAssertThrowsError(try RunSettings.checkDistinct([.string("spirals:rows=100"), .string("SPIRALS:rows=1e2")], of: .dataset) { "--dataset[\($0)]" }) { error in
            XCTAssertEqual("\(error)", "--dataset[1]: 'SPIRALS:rows=1e2' sets the same dataset as 'spirals:rows=100' before it; give each value once")
        }
    }

    private func load(_ text: String, target: String? = nil, task: TaskKind = .auto) throws -> LoadedData {
        try DataCatalog.loadCSV(Data(text.utf8), file: "data.csv", target: target, task: task)
    }

    private func assertBadData(_ text: String, target: String? = nil, task: TaskKind = .auto, line: Int?, column: String?,
                               contains fragment: String, file: StaticString = #filePath, sourceLine: UInt = #line) {
        XCTAssertThrowsError(try load(text, target: target, task: task), file: file, line: sourceLine) { error in
            guard case let .badData(name, errorLine, errorColumn, reason) = error as? ExperimentsError else {
                return XCTFail("expected badData, got \(error)", file: file, line: sourceLine)
            }
            XCTAssertEqual(name, "data.csv", file: file, line: sourceLine)
            XCTAssertEqual(errorLine, line, file: file, line: sourceLine)
            XCTAssertEqual(errorColumn, column, file: file, line: sourceLine)
            XCTAssertTrue(reason.contains(fragment), "'\(reason)' lacks '\(fragment)'", file: file, line: sourceLine)
            XCTAssertTrue("\(error)".hasPrefix("data.csv"), file: file, line: sourceLine)
        }
    }

    /// Of several options out of range, the same one is named every time (rows, then classes,
    /// features, seed: a Dictionary's order would change with every new dictionary's seed).
    func testTheFirstBadGeneratorOptionIsNamedEveryTime() {
        for _ in 0..<100 {
            XCTAssertThrowsError(try DataCatalog.builtInOptions("blobs:rows=1:classes=1:features=0:seed=-1")) { error in
                XCTAssertEqual("\(error)", "--dataset blobs:rows=1:classes=1:features=0:seed=-1: rows must be a whole number from 2 to 10000000")
            }
            XCTAssertThrowsError(try DataCatalog.builtInOptions("blobs:classes=1:features=0:seed=-1")) { error in
                XCTAssertEqual("\(error)", "--dataset blobs:classes=1:features=0:seed=-1: classes must be a whole number from 2 to 10000000")
            }
        }
    }

    func testClassificationFromFewWholeNumbers() throws {
        let loaded = try load("a,b,label\n1,2,0\n3,4,1\n5,6,2\n7,8,1\n")
        XCTAssertEqual(loaded.dataset.features, [1, 2, 3, 4, 5, 6, 7, 8])
        XCTAssertEqual(loaded.dataset.featureNames, ["a", "b"])
        XCTAssertEqual(loaded.dataset.targets, .labels([0, 1, 2, 1], classCount: 3))
        XCTAssertEqual(loaded.sha256, SHA256.hexDigest(Array("a,b,label\n1,2,0\n3,4,1\n5,6,2\n7,8,1\n".utf8)))
    }

    func testLabelsThatAreNotZeroBasedMapToTheirRank() throws {
        let loaded = try load("x,y\n1,5\n2,7\n3,5\n")
        XCTAssertEqual(loaded.dataset.targets, .labels([0, 1, 0], classCount: 2))
    }

    func testRegressionFromRealValuesAndOverride() throws {
        XCTAssertEqual(try load("x,y\n1,0.5\n2,1.5\n").dataset.targets, .values([0.5, 1.5], columns: 1))
        XCTAssertEqual(try load("x,y\n1,0\n2,1\n", task: .regression).dataset.targets, .values([0, 1], columns: 1))
        // 25 distinct whole numbers: more than the auto limit, so regression unless overridden.
        let rows = (0..<25).map { "\($0),\($0)" }.joined(separator: "\n")
        XCTAssertFalse(try load("x,y\n" + rows).dataset.isClassification)
        XCTAssertTrue(try load("x,y\n" + rows, task: .classification).dataset.isClassification)
    }

    /// Class names in the target column (iris style) are classes in sorted order; text anywhere
    /// else is still an error, and text cannot be a regression target.
    func testClassNamesInTheTargetColumn() throws {
        let loaded = try load("a,b,species\n1,2,setosa\n3,4,versicolor\n5,6,setosa\n7,8,virginica\n")
        XCTAssertEqual(loaded.dataset.targets, .labels([0, 1, 0, 2], classCount: 3))
        XCTAssertEqual(loaded.dataset.features, [1, 2, 3, 4, 5, 6, 7, 8])
        let byName = try load("species,a\nsetosa,1\nvirginica,2\n", target: "species")
        XCTAssertEqual(byName.dataset.targets, .labels([0, 1], classCount: 2))
        XCTAssertEqual(byName.dataset.featureNames, ["a"])
        assertBadData("a,species\n1,setosa\n2,virginica\n", task: .regression, line: nil, column: "'species'",
                      contains: "holds text ('setosa'), so it can only be a classification target")
        assertBadData("a,y\n1,0\nx,1\n", line: 3, column: "'a' (1)", contains: "'x' is not a number")
        assertBadData("a,species\n1,setosa\n2,setosa\n", line: nil, column: "'species'", contains: "a single class (setosa)")
        // A stray text among numbers (a missing value written NA) is an error, not a reason for classes.
        assertBadData("a,price\n1,250000\n2,NA\n3,310000\n", line: 3, column: "'price'",
                      contains: "'NA' is not a number, and the column's other cells are numbers")
        // Two of them: counted, the first named. Numbers among class names (hostile15 F7): the number is
        // the slip, not the names around it (the message blamed 'cat' and said the other cells were numbers).
        assertBadData("a,price\n1,250000\n2,NA\n3,310000\n4,?\n5,1\n6,2\n", line: 3, column: "'price'",
                      contains: "'NA' is not a number, and 4 of the column's 6 cells are numbers; fix or remove the 2 rows with text (this is the first)")
        assertBadData("a,b,y\n1,2,cat\n3,4,dog\n5,6,cat\n7,8,7\n7,8,dog\n", line: 5, column: "'y'",
                      contains: "'7' is a number among class names (4 of the column's 5 cells are text); write that class as a name, or fix or remove that row")
        assertBadData("a,y\n1,cat\n2,\"3.5\"\n3,dog\n4,cat\n5,2\n", line: 3, column: "'y'",
                      contains: "'3.5' is a number among class names (3 of the column's 5 cells are text); write those classes as names, "
                        + "or fix or remove the 2 rows with numbers (this is the first)")
        let names = (0..<25).map { "id\($0)" }
        assertBadData("a,name\n" + names.enumerated().map { "\($0.offset),\($0.element)" }.joined(separator: "\n") + "\n",
                      line: nil, column: "'name'", contains: "holds 25 different texts; if they are classes, say so with --task classification")
    }

    /// Hostile finding 8: a cell is a number only when written as pandas reads a float (sign, digits,
    /// point, exponent, inf/nan); hexadecimal (`0x10`, `0x1p3`, which strtod reads as 16 and 8) is text.
    func testOnlyDecimalNumbersAreNumbers() throws {
        for text in ["0", "-3", "+3", "1.5", ".5", "5.", "1e3", "-2E-2", "1.5e+10", "inf", "-Infinity", "NaN"] {
            XCTAssertTrue(DecimalNumber.isWellFormed(Array(text.utf8)[...]), text)
        }
        for text in ["0x10", "0x1p3", "0X1", "1_000", "", ".", "-", "e5", "1e", "1e+", "1.2.3", " 1", "1 ", "infinit", "nan(1)", "١"] {
            XCTAssertFalse(DecimalNumber.isWellFormed(Array(text.utf8)[...]), text)
            XCTAssertNil(DecimalNumber.value(of: text), text)
        }
        XCTAssertEqual(DecimalNumber.value(of: "-2E-2"), -0.02)
        // Both parsing paths (plain cells and quoted rows) read decimals, and refuse hexadecimal features.
        let loaded = try load("a,b,y\n+1,.5,2.5\n1e3,\"5.\",3\n-2E-2,7,1.25\n")
        XCTAssertEqual(loaded.dataset.features, [1, 0.5, 1000, 5, -0.02, 7])
        assertBadData("a,y\n1,0\n0x10,1\n", line: 3, column: "'a' (1)", contains: "'0x10' is not a number")
        assertBadData("a,y\n1,0\n\"0x1p3\",1\n", line: 3, column: "'a' (1)", contains: "'0x1p3' is not a number")
        // A target of 0, 1 and 0x1: text among numbers, refused as NA is (before: 0x1 merged into class 1).
        assertBadData("a,y\n1,0\n2,1\n3,0x1\n", line: 4, column: "'y'", contains: "'0x1' is not a number, and the column's other cells are numbers")
        // A target of hexadecimal texts only: class names, as pandas reads them.
        let classes = try load("a,y\n1,0x1\n2,0x2\n3,0x1\n")
        XCTAssertEqual(classes.dataset.targets, .labels([0, 1, 0], classCount: 2))
        XCTAssertEqual(classes.classNames, ["0x1", "0x2"])
    }

    /// Hostile finding 15: `runner datasets --csv NAME` writes a built-in dataset that reads back to
    /// the same bits (digits is its embedded file; generated values in shortest round-trip form).
    func testBuiltInDatasetsExportAsCSVThatReadsBackIdentically() throws {
        let digits = try DataCatalog.csvExport(ofBuiltIn: "digits")
        XCTAssertEqual(try DataCatalog.loadCSV(digits, file: "test.csv", target: nil, task: .auto).dataset, try DataCatalog.load("digits").dataset)
        XCTAssertTrue(String(decoding: digits.prefix(20), as: UTF8.self).hasPrefix("x0,x1,x2,"))
        for name in ["moons:rows=40:noise=0.3:seed=3", "linear:rows=30", "blobs:rows=24:features=3:classes=4"] {
            let exported = try DataCatalog.csvExport(ofBuiltIn: name)
            let original = try DataCatalog.load(name).dataset
            let readBack = try DataCatalog.loadCSV(exported, file: "test.csv", target: nil, task: .auto).dataset
            XCTAssertEqual(readBack.features.map(\.bitPattern), original.features.map(\.bitPattern), name)
            XCTAssertEqual(readBack.targets, original.targets, name)
            XCTAssertEqual(readBack.featureNames, original.featureNames, name)
        }
        let linear = String(decoding: try DataCatalog.csvExport(ofBuiltIn: "linear:rows=30"), as: UTF8.self)
        XCTAssertTrue(linear.hasPrefix("x1,x2,target\n"), linear)
        XCTAssertEqual(linear.split(separator: "\n").count, 31)
        XCTAssertThrowsError(try DataCatalog.csvExport(ofBuiltIn: "nosuch"))
        let directory = try TemporaryDirectory(prefix: "slope-export")
        defer { directory.remove() }
        try Data("a,y\n1,2\n".utf8).write(to: directory.url.appendingPathComponent("mine.csv"))
        XCTAssertThrowsError(try DataCatalog.csvExport(ofBuiltIn: directory.path("mine.csv"))) { error in
            XCTAssertTrue("\(error)".contains("is a file; give a built-in dataset"), "\(error)")
        }
    }

    func testAByteOrderMarkIsNotPartOfTheFirstName() throws {
        let loaded = try load("\u{FEFF}y,x1\n0,1\n1,2\n", target: "y")
        XCTAssertEqual(loaded.dataset.featureNames, ["x1"])
        XCTAssertEqual(loaded.dataset.targets, .labels([0, 1], classCount: 2))
    }

    func testTargetByNameQuotesAndCRLF() throws {
        let loaded = try load("\"label\",\"x, with comma\",z\r\n1,2,3\r\n0,5,6\r\n\r\n", target: "label")
        XCTAssertEqual(loaded.dataset.featureNames, ["x, with comma", "z"])
        XCTAssertEqual(loaded.dataset.features, [2, 3, 5, 6])
        XCTAssertEqual(loaded.dataset.targets, .labels([1, 0], classCount: 2))
    }

    func testEveryBadInputNamesFileLineAndColumn() {
        assertBadData("", line: nil, column: nil, contains: "empty")
        assertBadData("\n  \n", line: nil, column: nil, contains: "empty")
        assertBadData("1,2,3\n4,5,6\n", line: 1, column: nil, contains: "no header")
        assertBadData("a,b,c\n1,2,3\n4,5\n", line: 3, column: nil, contains: "2 fields, expected 3")
        assertBadData("a,b,c\n1,2,3\n4,x5,6\n", line: 3, column: "'b' (2)", contains: "'x5' is not a number")
        assertBadData("a,b,c\n1,,3\n", line: 2, column: "'b' (2)", contains: "empty cell")
        assertBadData("a,b,c\n1,2,3\nnan,2,3\n", line: 3, column: "'a' (1)", contains: "not a finite number")
        assertBadData("a,b,c\n1,inf,3\n", line: 2, column: "'b' (2)", contains: "not a finite number")
        assertBadData("a,b,c\n1,2,3\n", target: "label", line: 1, column: nil, contains: "no column named 'label'; the columns are a, b, c")
        assertBadData("a,b,c\n1,2,1\n3,4,1\n", line: nil, column: "'c'", contains: "a single class")
        assertBadData("a,b,c\n", line: nil, column: nil, contains: "no data rows")
        assertBadData("a,a,c\n1,2,3\n", line: 1, column: "'a'", contains: "appears twice")
        assertBadData("a,b\n1,2.5\n", task: .classification, line: 2, column: "'b'", contains: "not a class label")
        // Binary files are named as such; file text in messages has control characters escaped and is cut at 40.
        assertBadData("a,b\n1,\u{0}2\n", line: nil, column: nil, contains: "not a text file (it holds NUL bytes; UTF-16 text? save it as UTF-8)")
        // A file of zeros (a sparse file given by mistake) is refused from its first bytes, not read whole first
        // (hostile17: 3 GB read into 6 GB of memory for minutes): the check sees the first 4 KB only, and its
        // refusal is the one thrown (the whole-file check would give the same words, so the message alone proves nothing).
        let sparse = FileManager.default.temporaryDirectory.appendingPathComponent("slope-sparse-\(getpid()).csv").path
        XCTAssertTrue(FileManager.default.createFile(atPath: sparse, contents: nil))
        defer { unlink(sparse) }
        XCTAssertEqual(truncate(sparse, 1 << 20), 0)
        var seen: Data?
        XCTAssertThrowsError(try InputFile.contents(sparse, what: "a CSV file", refusedFromStart: { prefix in
            seen = prefix
            return CSVTable.binaryProblem(prefix)
        }) { .badData(file: sparse, line: nil, column: nil, reason: $0) }) { error in
            XCTAssertTrue("\(error)".hasSuffix(": not a text file (it holds NUL bytes; UTF-16 text? save it as UTF-8); expected CSV text: "
                                              + "a header row naming the columns, then one row per sample"), "\(error)")
        }
        XCTAssertEqual(seen, Data(count: 4096), "only the first 4 KB were read")
        // And loading a dataset goes through that check (Datasets.swift and EvaluationData.swift pass it).
        XCTAssertThrowsError(try DataCatalog.load(sparse)) { error in
            XCTAssertTrue("\(error)".contains("not a text file (it holds NUL bytes"), "\(error)")
        }
        assertBadData("a,b\n\u{1B}[31mred,1\n", line: 2, column: "'a' (1)", contains: "'\\x1B[31mred' is not a number")
        assertBadData("a,b\n\(String(repeating: "x", count: 100)),1\n", line: 2, column: "'a' (1)",
                      contains: "'\(String(repeating: "x", count: 40))...' is not a number")
        assertBadData("a,b\n1,\u{1B}[31mred\n", line: nil, column: "'b'", contains: "a single class (\\x1B[31mred)")
        // A bidi control (U+202E) in a header would reorder the rest of the error line on a terminal: escaped.
        assertBadData("a\u{202E}b,c\nx,1\n", line: 2, column: "'a\\u{202E}b' (1)", contains: "'x' is not a number")
        assertBadData("n\u{202E},n\u{202E}\n1,2\n", line: 1, column: "'n\\u{202E}'", contains: "column name 'n\\u{202E}' appears twice")
    }

    func testTooFewRowsForTheSplit() throws {
        let loaded = try load("a,y\n1,0\n2,1\n")
        XCTAssertThrowsError(try DataCatalog.split(loaded.dataset, name: "data.csv", validationFraction: 0.2, splitSeed: 0, standardize: false)) { error in
            guard case let .badData(file, _, _, reason) = error as? ExperimentsError else { return XCTFail("\(error)") }
            XCTAssertEqual(file, "data.csv")
            XCTAssertTrue(reason.contains("too few"), reason)
        }
        XCTAssertNoThrow(try DataCatalog.split(loaded.dataset, name: "data.csv", validationFraction: 0, splitSeed: 0, standardize: false))
    }

    /// The CSV parser's exact fast path gives strtod's bits (Double(String) here) for every decimal
    /// it accepts, and declines what it cannot do exactly.
    func testExactDecimalsMatchStrtodBitForBit() throws {
        var generator = TestRandom(seed: 11)
        var accepted = 0
        for _ in 0..<20_000 {
            let integerDigits = Int.random(in: 0...12, using: &generator)
            let fractionDigits = Int.random(in: 0...10, using: &generator)
            var text = Bool.random(using: &generator) ? "-" : ""
            text += String((0..<integerDigits).map { _ in Character(String(Int.random(in: 0...9, using: &generator))) })
            if fractionDigits > 0 || Bool.random(using: &generator) { text += "." }
            text += String((0..<fractionDigits).map { _ in Character(String(Int.random(in: 0...9, using: &generator))) })
            let bytes = Array(text.utf8)
            guard let fast = CSVTable.exactDecimal(bytes, 0..<bytes.count) else {
                let digitCount = integerDigits + fractionDigits
                XCTAssertTrue(digitCount == 0 || digitCount > 15, "declined a decimal of \(digitCount) digits: \(text)")
                continue
            }
            accepted += 1
            let reference = try XCTUnwrap(Double(text), text)
            XCTAssertEqual(fast.bitPattern, reference.bitPattern, text)
        }
        XCTAssertGreaterThan(accepted, 15_000)
        for declined in ["", "-", ".", "1e5", "1.5E-3", "0x10", "+1", "1.2.3", " 1", "12345678901234567890", "9007199254740993"] {
            XCTAssertNil(CSVTable.exactDecimal(Array(declined.utf8), 0..<declined.utf8.count), declined)
        }
        XCTAssertEqual(CSVTable.exactDecimal(Array("-0".utf8), 0..<2)?.sign, .minus)
        XCTAssertEqual(CSVTable.exactDecimal(Array("0.1".utf8), 0..<3), 0.1)
    }

    /// Loads are cached by the file's identity and times; a file edited in place or replaced is read again.
    func testAnEditedOrReplacedFileIsReadAgain() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("edited.csv")
        DataCatalog.settleSeconds = 0  // trust the signature of a file written a moment ago
        defer { DataCatalog.settleSeconds = 2 }
        try "x,y\n1,0\n2,1\n".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertEqual(try DataCatalog.load(path).dataset.rowCount, 2)
        XCTAssertEqual(try DataCatalog.load(path).dataset.rowCount, 2, "unchanged: the same data")

        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: path))  // in place: same inode
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("3,0\n".utf8))
        try handle.close()
        let edited = try DataCatalog.load(path)
        XCTAssertEqual(edited.dataset.rowCount, 3)
        XCTAssertEqual(edited.sha256, SHA256.hexDigest(try Data(contentsOf: URL(fileURLWithPath: path))))

        try "x,y\n1,0\n2,1\n3,0\n4,1\n".write(toFile: path, atomically: true, encoding: .utf8)  // replaced
        XCTAssertEqual(try DataCatalog.load(path).dataset.rowCount, 4)
    }

    func testFilesOnDiskAndUnknownNames() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("points.csv")
        try "x1,x2,y\n0,1,1\n1,0,1\n0,0,0\n1,1,0\n".write(toFile: path, atomically: true, encoding: .utf8)
        let loaded = try DataCatalog.load(path)
        XCTAssertEqual(loaded.dataset.rowCount, 4)
        XCTAssertEqual(loaded.sha256, SHA256.hexDigest(try Data(contentsOf: URL(fileURLWithPath: path))))
        XCTAssertThrowsError(try DataCatalog.load(directory.path("missing.csv"))) { error in
            XCTAssertEqual(error as? ExperimentsError, .badData(file: directory.path("missing.csv"), line: nil, column: nil, reason: "no such file"))
        }
        XCTAssertThrowsError(try DataCatalog.load("mnist")) { error in
            XCTAssertEqual(error as? ExperimentsError, .unknownDataset("mnist"))
            XCTAssertTrue("\(error)".contains("digits, xor, linear, spirals, moons, blobs"))
        }
        XCTAssertThrowsError(try DataCatalog.load("spirals:rows=100:colour=3")) { error in
            XCTAssertTrue("\(error)".contains("spirals accepts rows=N, classes=N, noise=N, seed=N"), "\(error)")
        }
    }

    func testGeneratorsWithOptions() throws {
        let spirals = try DataCatalog.load("spirals:rows=90:classes=3:seed=4")
        XCTAssertEqual(spirals.dataset.rowCount, 90)
        XCTAssertEqual(spirals.dataset, GeneratedData.spirals(rows: 90, classes: 3, noise: 0.2, seed: 4))
        XCTAssertEqual(spirals.sha256?.count, 64)
        XCTAssertEqual(try DataCatalog.loadBuiltIn("spirals:rows=90:classes=3:seed=4", target: nil, task: .auto).sha256, spirals.sha256,
                       "same generator options, same values, same sha256")
        XCTAssertNotEqual(try DataCatalog.load("spirals:rows=90:classes=3:seed=5").sha256, spirals.sha256)
        let blobs = try DataCatalog.load("blobs:rows=50:features=5:classes=4")
        XCTAssertEqual(blobs.dataset.featureCount, 5)
        XCTAssertEqual(try DataCatalog.load("linear").dataset, GeneratedData.linear(rows: 1000, noise: 0.1, seed: 0))
    }

    func testStandardizationIsFittedOnTheTrainingRowsOnly() throws {
        let dataset = try DataCatalog.load("blobs:rows=200:features=3:classes=2:seed=1").dataset
        let (training, validation) = try DataCatalog.split(dataset, name: "blobs", validationFraction: 0.25, splitSeed: 3, standardize: true)
        let (rawTraining, rawValidation) = dataset.split(validationFraction: 0.25, seed: 3)
        let (means, scales) = DataCatalog.standardization(of: rawTraining)
        for column in 0..<3 {
            let values = (0..<training.rowCount).map { training.features[$0 * 3 + column] }
            let mean = values.reduce(0, +) / Double(values.count)
            let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)
            XCTAssertEqual(mean, 0, accuracy: 1e-12)
            XCTAssertEqual(variance, 1, accuracy: 1e-12)
            // Validation rows use the training mean and scale, not their own.
            let expected = (rawValidation!.features[column] - means[column]) / scales[column]
            XCTAssertEqual(validation!.features[column], expected)
        }
    }

    /// A constant column (0.1 in every training row: not a binary fraction, so its computed mean
    /// is off by a rounding error) becomes exactly 0, not a huge number from a ~1e-17 deviation.
    func testAConstantColumnStandardizesToZero() throws {
        let rows = (0..<8).map { "\($0),0.1,\(2 * $0)" }.joined(separator: "\n")
        let loaded = try load("x,c,y\n" + rows + "\n")
        let (means, scales) = DataCatalog.standardization(of: loaded.dataset)
        XCTAssertEqual(means[1], 0.1)
        XCTAssertEqual(scales[1], 1)
        let (training, _) = try DataCatalog.split(loaded.dataset, name: "data.csv", validationFraction: 0, splitSeed: 0, standardize: true)
        XCTAssertEqual((0..<training.rowCount).map { training.features[$0 * 2 + 1] }, Array(repeating: 0, count: 8))
    }
}
