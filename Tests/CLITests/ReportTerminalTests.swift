// `report` on a real (pseudo-)terminal: colour only there and never with NO_COLOR, and tables
// fit the terminal's width as TIOCGWINSZ reports it when COLUMNS is unset.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
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
        process.standardOutput = FileHandle(fileDescriptor: slave, closeOnDealloc: false)
        process.standardError = FileHandle(fileDescriptor: slave, closeOnDealloc: false)
        try process.run()
        close(slave)
        var output = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {  // until the child closes the terminal (read fails with EIO)
            let count = read(master, &buffer, buffer.count)
            if count <= 0 { break }
            output += buffer[0..<count]
        }
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        return String(decoding: output, as: UTF8.self).replacingOccurrences(of: "\r\n", with: "\n")
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
}
