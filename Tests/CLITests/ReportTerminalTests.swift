// `report` on a real (pseudo-)terminal: colour only there and never with NO_COLOR, tables fit
// the terminal's width as TIOCGWINSZ reports it when COLUMNS is unset, and `report export`'s
// progress line is shown on a terminal's standard error only, and erased at the end.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Store
import TestSupport
import XCTest

final class ReportTerminalTests: XCTestCase {
    static var directory: URL!
    static var fixture: String { directory.appendingPathComponent("fixture.db").path }

    override class func setUp() {
        super.setUp()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("slope-report-tty-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try! ReportFixture.build(at: fixture)
    }

    override class func tearDown() {
        try? FileManager.default.removeItem(at: directory)
        super.tearDown()
    }

    /// The pseudo-terminal functions of the C library, looked up at run time (Swift's Glibc module
    /// does not export them without _XOPEN_SOURCE).
    func libc<T>(_ name: String, as type: T.Type) throws -> T {
        let symbol = try XCTUnwrap(dlsym(UnsafeMutableRawPointer(bitPattern: 0), name), name)
        return unsafeBitCast(symbol, to: type)
    }

    /// Runs `report` with standard output on a pseudo-terminal `columns` wide; returns what it printed.
    func runOnTerminal(_ arguments: [String], columns: UInt16, environment: [String: String]) throws -> String {
        try runOnTerminal(arguments, columns: columns, environment: environment, outputOnTerminal: true).terminal
            .replacingOccurrences(of: "\r\n", with: "\n")
    }

    /// Runs `report` with standard error on a pseudo-terminal `columns` wide, and standard output
    /// too (or, unless `outputOnTerminal`, on a pipe). Returns what reached the terminal, as the
    /// terminal passed it on ("\r\n" for each "\n"), and what reached the pipe. Waits at most two
    /// minutes for the end (then the child is killed and the test fails), never for a time.
    func runOnTerminal(_ arguments: [String], columns: UInt16, environment: [String: String],
                       outputOnTerminal: Bool) throws -> (terminal: String, output: String) {
        typealias IntFunction = @convention(c) (Int32) -> Int32
        let posix_openpt = try libc("posix_openpt", as: IntFunction.self)
        let grantpt = try libc("grantpt", as: IntFunction.self)
        let unlockpt = try libc("unlockpt", as: IntFunction.self)
        let ptsname = try libc("ptsname", as: (@convention(c) (Int32) -> UnsafeMutablePointer<CChar>?).self)
        let master = posix_openpt(O_RDWR | O_NOCTTY)
        XCTAssertGreaterThanOrEqual(master, 0)
        defer { close(master) }
        XCTAssertEqual(grantpt(master), 0)
        XCTAssertEqual(unlockpt(master), 0)
        let slaveName = String(cString: try XCTUnwrap(ptsname(master)))
        var size = winsize(ws_row: 40, ws_col: columns, ws_xpixel: 0, ws_ypixel: 0)
        XCTAssertEqual(ioctl(master, UInt(TIOCSWINSZ), &size), 0)
        let slave = open(slaveName, O_RDWR | O_NOCTTY)
        XCTAssertGreaterThanOrEqual(slave, 0)

        let process = Process()
        process.executableURL = ReportProcess.executable("report")
        process.arguments = arguments
        var variables = ProcessInfo.processInfo.environment
        for key in ["COLUMNS", "NO_COLOR", "SLOPE_DB"] { variables.removeValue(forKey: key) }
        variables["TERM"] = "xterm"
        for (key, value) in environment { variables[key] = value }
        process.environment = variables
        let pipe = Pipe()
        process.standardOutput = outputOnTerminal ? FileHandle(fileDescriptor: slave, closeOnDealloc: false) : pipe
        process.standardError = FileHandle(fileDescriptor: slave, closeOnDealloc: false)
        try process.run()
        close(slave)
        // The pipe is read while the child runs, so that a large output cannot block it.
        final class Box: @unchecked Sendable { var data = Data() }
        let piped = Box(), pipeRead = DispatchSemaphore(value: 0)
        let pipeHandle = pipe.fileHandleForReading
        DispatchQueue.global().async {
            piped.data = outputOnTerminal ? Data() : pipeHandle.readDataToEndOfFile()
            pipeRead.signal()
        }
        var output = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        let deadline = Date().addingTimeInterval(120)
        var ended = false
        while !ended && Date() < deadline {  // until the child closes the terminal (read fails with EIO)
            var watched = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
            guard poll(&watched, 1, 100) > 0 else { continue }
            let count = read(master, &buffer, buffer.count)
            if count <= 0 { ended = true } else { output += buffer[0..<count] }
        }
        if !ended {
            kill(process.processIdentifier, SIGKILL)
            XCTFail("report \(arguments.joined(separator: " ")) did not end within two minutes")
        }
        process.waitUntilExit()
        XCTAssertEqual(pipeRead.wait(timeout: .now() + 60), .success, "the pipe was not closed")
        XCTAssertEqual(process.terminationStatus, 0)
        return (String(decoding: output, as: UTF8.self), String(decoding: piped.data, as: UTF8.self))
    }

    func testColourOnATerminalUnlessNoColorAndTablesFitItsWidth() throws {
        let colored = try runOnTerminal(["grid", "--sweep", "1", "--db", Self.fixture], columns: 120, environment: [:])
        XCTAssertTrue(colored.contains("\u{1B}[1m"), "bold header on a terminal")
        XCTAssertTrue(colored.contains("\u{1B}[32m"), "best row highlighted")

        let plain = try runOnTerminal(["grid", "--sweep", "1", "--db", Self.fixture], columns: 120, environment: ["NO_COLOR": "1"])
        XCTAssertFalse(plain.contains("\u{1B}"), plain)
        XCTAssertEqual(plain, colored.replacingOccurrences(of: "\u{1B}\\[[0-9]+m", with: "", options: .regularExpression))

        // 60 columns from the terminal itself (no COLUMNS): every line fits.
        let narrow = try runOnTerminal(["runs", "--db", Self.fixture], columns: 60, environment: ["NO_COLOR": "1"])
        let lines = narrow.split(separator: "\n")
        XCTAssertEqual(lines.prefix { !$0.hasPrefix("(") }.count, 12, "the table, then the note of hidden columns")
        XCTAssertLessThanOrEqual(lines.map(\.count).max() ?? 0, 60, "the note too, wrapped: \(narrow)")
        XCTAssertGreaterThan(lines.map(\.count).max() ?? 0, 50, "uses the width it has")
        XCTAssertTrue(narrow.contains("columns hidden"))
        // COLUMNS wins over the terminal's width.
        let wide = try runOnTerminal(["runs", "--db", Self.fixture], columns: 60, environment: ["NO_COLOR": "1", "COLUMNS": "300"])  // the fixture's runs differ in many settings
        XCTAssertFalse(wide.contains("columns hidden"))
    }

    /// `report export` (csv, json) with standard error on a terminal: each progress line written
    /// over the one before ("\r", erase to the end of the line, the line), naming the rows and bytes
    /// handed to standard output so far; the last thing written is the erase, so the terminal is
    /// left as it was. With standard error on a pipe, nothing (StatusLine). On the report fixture
    /// and on a database of large tensors (each CSV row about 50 KB: several pieces).
    func testExportShowsItsProgressLineOnATerminalOnlyAndErasesIt() throws {
        let large = Self.directory.appendingPathComponent("large-tensors.db").path
        let store = try SlopeStore(path: large)
        let worker = WorkerIdentity(host: "test-host", pid: 1, label: "test")
        let runID = try store.createRun(.example(name: "wide", epochs: 4))
        let claimToken = try XCTUnwrap(try store.claimRun(runID: runID, worker: worker)).claimToken
        for epoch in 0..<4 {
            let values = (0..<4096).map { Float(($0 * 7 + epoch) % 1000) / 1024 - 0.25 }
            try store.writeEpoch(runID: runID, SlopeStore.EpochRecord(epoch: epoch, trainLoss: 1, validationLoss: 1, seconds: 0.5),
                                 tensors: [.float32(layer: 1, kind: .weight, rows: 64, cols: 64, values),
                                           .float32(layer: 1, kind: .weightGradient, rows: 64, cols: 64, Array(values.reversed()))],
                                 holder: RunHolder(worker: worker, claimToken: claimToken))
        }
        try store.close()

        let erase = "\r\u{1B}[K"
        for (database, what, format) in [(Self.fixture, "epochs", "csv"), (Self.fixture, "epochs", "json"), (Self.fixture, "tensors", "csv"),
                                         (Self.fixture, "tensors", "json"), (large, "tensors", "csv"), (large, "tensors", "json")] {
            let arguments = ["export", "--what", what, "--format", format, "--db", database]
            let shown = try runOnTerminal(arguments, columns: 100, environment: [:], outputOnTerminal: false)
            let label = "\(arguments.joined(separator: " ")): \(shown.terminal.debugDescription)"
            XCTAssertTrue(shown.terminal.hasPrefix(erase), "each line starts by erasing the line: \(label)")
            XCTAssertTrue(shown.terminal.hasSuffix(erase), "erased at the end: \(label)")
            XCTAssertFalse(shown.terminal.contains("\n"), "one line, never a new one: \(label)")
            let lines = shown.terminal.components(separatedBy: erase).dropFirst().dropLast()
            // The first piece is shown at once; later ones at most twice a second, so any of them.
            let pieces = Self.exportPieces(shown.output, format: format)
            let expected = pieces.map { "report: exporting \(what): \($0.rows) rows, \(SlopeStore.describeBytes(Int64($0.bytes))) so far" }
            XCTAssertEqual(lines.first, expected.first, label)
            var rest = expected[...]
            for line in lines {
                guard let index = rest.firstIndex(of: line) else { return XCTFail("'\(line)' is no piece's end, or out of order: \(expected); \(label)") }
                rest = rest[index...]  // the last piece's line may come twice (its last row, then the end)
            }
            XCTAssertEqual(pieces.last?.rows, database == large ? 8 : what == "epochs" ? 37 : 256, "the fixture's 37 epochs and 256 tensors; \(label)")
            XCTAssertEqual(pieces.count > 1, database == large || format == "json" && what == "tensors", "\(pieces); \(label)")
            // Standard error on a pipe: the same output, and nothing on standard error.
            let piped = try ReportProcess.run("report", arguments)
            XCTAssertEqual(piped.status, 0, piped.error)
            XCTAssertEqual(piped.error, "", label)
            XCTAssertEqual(piped.output, shown.output, label)
        }
    }

    /// `report export --format sqlite` showed nothing for as long as it copied (minutes for a
    /// large sweep from a server): on a terminal's standard error, the same line kept up to date
    /// as csv and json show, "report: exporting to FILE: k of N runs, E epochs, T tensors so far",
    /// erased at the end; on a pipe, nothing but the line that says what was written.
    func testSQLiteExportShowsItsProgressLineOnATerminalOnly() throws {
        let erase = "\r\u{1B}[K"
        let fixture = try SlopeStore(path: Self.fixture, mode: .readOnly)
        let runs = try fixture.runs(sweepID: nil)
        let epochs = try runs.reduce(0) { $0 + (try fixture.storedEpochCount(runID: $1.id)) }
        try fixture.close()
        XCTAssertGreaterThan(runs.count, 1)
        let out = Self.directory.appendingPathComponent("copy-on-terminal.db").path
        // Wide enough for the whole line (testNarrowTerminalsGetProgressLinesThatFit has narrow ones).
        let shown = try runOnTerminal(["export", "--format", "sqlite", "--out", out, "--db", Self.fixture], columns: 250, environment: [:],
                                      outputOnTerminal: false)
        let label = shown.terminal.debugDescription
        XCTAssertTrue(shown.terminal.hasPrefix(erase + "report: exporting to \(out): "), label)
        XCTAssertTrue(shown.terminal.hasSuffix(erase), "erased at the end: \(label)")
        XCTAssertFalse(shown.terminal.contains("\n"), "one line, never a new one: \(label)")
        let lines = shown.terminal.components(separatedBy: erase).dropFirst().dropLast()
        // The first is shown at once (the first run copied, or its first 64 tensors); later ones at most twice a second.
        var last = (runs: -1, epochs: -1, tensors: -1)
        for line in lines {
            let prefix = "report: exporting to \(out): "
            XCTAssertTrue(line.hasPrefix(prefix) && line.hasSuffix(" tensors so far"), line)
            let numbers = line.dropFirst(prefix.count).split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
            XCTAssertEqual(numbers.count, 4, line)
            guard numbers.count == 4 else { continue }
            XCTAssertEqual(numbers[1], runs.count, line)
            XCTAssertTrue(numbers[0] >= last.runs && numbers[2] >= last.epochs && numbers[3] >= last.tensors && numbers[0] <= runs.count
                          && numbers[2] <= epochs && numbers[3] <= 256, "in order, within the totals: \(line)")
            last = (numbers[0], numbers[2], numbers[3])
        }
        XCTAssertFalse(lines.isEmpty, label)
        XCTAssertTrue(shown.output.hasPrefix("wrote \(out) (") && shown.output.hasSuffix(" \(runs.count) runs, \(epochs) epochs, 256 tensors\n"),
                      "the file written, on standard output: \(shown.output)")
        // Standard error on a pipe: nothing on it.
        let piped = try ReportProcess.run("report", ["export", "--format", "sqlite", "--out", out + "2", "--db", Self.fixture])
        XCTAssertEqual(piped.status, 0, piped.error)
        XCTAssertEqual(piped.error, "")
    }

    /// On a narrow terminal each progress line fits in its width less a column (hostile15 F3: written
    /// whole, it wrapped, and each redraw, "\r" and erase, cleared its last row only, leaving the
    /// others): the --out file shortened by its middle, its counts kept; csv's line cut at its end.
    func testNarrowTerminalsGetProgressLinesThatFit() throws {
        let erase = "\r\u{1B}[K"
        let out = Self.directory.appendingPathComponent("a-long-folder-name-for-exports/another-level-of-folders").path
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let file = out + "/sweep-one-copy.db"
        for (arguments, columns) in [(["export", "--format", "sqlite", "--out", file, "--db", Self.fixture], 80),
                                     (["export", "--what", "tensors", "--db", Self.fixture], 30)] as [([String], UInt16)] {
            let shown = try runOnTerminal(arguments, columns: columns, environment: [:], outputOnTerminal: false)
            let label = "\(arguments[1...3]) on \(columns) columns: \(shown.terminal.debugDescription)"
            XCTAssertFalse(shown.terminal.contains("\n"), label)
            XCTAssertTrue(shown.terminal.hasSuffix(erase), label)
            let lines = shown.terminal.components(separatedBy: erase).dropFirst().dropLast()
            XCTAssertFalse(lines.isEmpty, label)
            for line in lines {
                XCTAssertLessThanOrEqual(line.count, Int(columns) - 1, "\(line): \(label)")
                if arguments.contains("sqlite") {
                    XCTAssertTrue(line.hasPrefix("report: exporting to /") && line.contains("…") && line.hasSuffix(" tensors so far"), "\(line): \(label)")
                    XCTAssertEqual(line.count, Int(columns) - 1, "the name shortened no more than it must: \(line)")
                } else {
                    XCTAssertTrue(line.hasPrefix("report: exporting tensors: ") && line.hasSuffix("…"), "\(line): \(label)")
                }
            }
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: file))
    }

    /// The rows and bytes an export has handed out at the end of each piece, as Reporting's
    /// RowStream cuts it: after the row that takes the piece past 64 KB (65,536 bytes), and at the end.
    /// Worked out from the output: CSV rows are its lines after the header; JSON's start with "\n  {".
    static func exportPieces(_ output: String, format: String) -> [(rows: Int, bytes: Int)] {
        let bytes = Array(output.utf8)
        var rowEnds: [Int] = []  // the offset just past each row
        if format == "csv" {
            rowEnds = bytes.indices.filter { bytes[$0] == UInt8(ascii: "\n") }.map { $0 + 1 }.dropFirst().map { $0 }
        } else {
            let separator = Array(",\n  {".utf8)
            rowEnds = bytes.indices.filter { bytes[$0...].starts(with: separator) }
            if output.hasSuffix("}\n]\n") { rowEnds.append(bytes.count - 3) }
        }
        var pieces: [(rows: Int, bytes: Int)] = [], pieceStart = 0
        for (index, end) in rowEnds.enumerated() where end - pieceStart > 65_536 {
            pieces.append((index + 1, end))
            pieceStart = end
        }
        if pieces.last?.bytes != bytes.count { pieces.append((rowEnds.count, bytes.count)) }
        return pieces
    }
}
