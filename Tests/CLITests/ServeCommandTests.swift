// `report serve` as a process: one-line errors and exit statuses for bad options, and a real
// server on a free loopback port that answers HTTP and stops cleanly on SIGTERM.
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import TestSupport
import XCTest

extension ReportCLITests {
    func testServeRefusesBadOptionsWithOneLine() throws {
        XCTAssertEqual(try report(["serve", "--db", Self.fixture, "--port", "70000"], expect: 2).error,
                       "report: error: --port: '70000' is not accepted; expected a whole number from 0 to 65535 (0: any free port)\n")
        XCTAssertEqual(try report(["serve", "--db", Self.fixture, "--port", "-1"], expect: 2).error,
                       "report: error: --port: '-1' is not accepted; expected a whole number from 0 to 65535 (0: any free port)\n")
        XCTAssertTrue(try report(["serve", "--db", Self.fixture, "--token", "short"], expect: 2).error.contains("--token must be at least 16"))
        XCTAssertTrue(try report(["serve", "--db", Self.fixture, "--host", ""], expect: 2).error.contains("--host"))
        XCTAssertTrue(try report(["serve", "--db", path("missing.db"), "--port", "0"], expect: 1).error.contains("does not exist"))
        let help = try report(["serve", "--help"], expect: 0).output
        for option in ["--host <address>", "--port <port>", "--token <token>", "--db <path-or-url>"] { XCTAssertTrue(help.contains(option), option) }
    }

    func testServeAnswersOnAFreeLoopbackPortAndStopsOnSIGTERM() throws {
        let child = try ChildProcess(ReportProcess.executable("report"), ["serve", "--db", Self.fixture, "--port", "0"])
        defer {
            if child.process.isRunning { kill(child.pid, SIGKILL) }
            _ = child.finish()
        }
        var address: String?
        for _ in 0..<300 where address == nil {  // at most 30 s
            if let range = child.outputSoFar.range(of: "http://127.0.0.1:[0-9]+/", options: .regularExpression) {
                address = String(child.outputSoFar[range])
            } else {
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
        let base = try XCTUnwrap(address, "no address printed: \(child.outputSoFar)")
        XCTAssertTrue(child.outputSoFar.hasPrefix("Slope dashboard of \(Self.fixture) at http://127.0.0.1:"))

        final class Reply: @unchecked Sendable { var status = 0; var body = Data() }
        let reply = Reply()
        let done = DispatchSemaphore(value: 0)
        var request = URLRequest(url: URL(string: base + "api/sweeps")!, timeoutInterval: 10)
        request.httpMethod = "GET"
        URLSession.shared.dataTask(with: request) { data, response, _ in
            reply.status = (response as? HTTPURLResponse)?.statusCode ?? 0
            reply.body = data ?? Data()
            done.signal()
        }.resume()
        XCTAssertEqual(done.wait(timeout: .now() + 15), .success)
        XCTAssertEqual(reply.status, 200)
        XCTAssertTrue(String(decoding: reply.body, as: UTF8.self).contains("\"name\":\"lr x bs \\u003cstudy\\u003e\""))

        kill(child.pid, SIGTERM)
        let result = child.finish()
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertEqual(result.error, "")
    }

    /// A --host that is no address of this machine (one of another: 192.0.2.1, TEST-NET-1), or
    /// that does not resolve, is the user's input: one line, exit 2, nothing of SwiftNIO's.
    func testServeRefusesAHostItCannotListenOnWithOneLine() throws {
        let foreign = try report(["serve", "--db", Self.fixture, "--host", "192.0.2.1", "--port", "0", "--token", "abcdefghijklmnopq"], expect: 2)
        XCTAssertEqual(foreign.error, "report: error: --host 192.0.2.1 is not an address of this machine: give an address of this machine: "
                       + "127.0.0.1 (this machine only) or 0.0.0.0 (every address)\n")
        let unknown = try report(["serve", "--db", Self.fixture, "--host", "999.1.1.1", "--port", "0", "--token", "abcdefghijklmnopq"], expect: 2)
        XCTAssertEqual(unknown.error, "report: error: --host 999.1.1.1 is no host name or address this machine can resolve: give an address of "
                       + "this machine: 127.0.0.1 (this machine only) or 0.0.0.0 (every address)\n")
    }

    /// `report serve` raises its soft limit on open files to the hard one (each connection takes
    /// a descriptor): started under a soft limit of 1024 (prlimit), its /proc limits show the hard one.
    func testServeRaisesItsOpenFileLimitToTheHardLimit() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: "/usr/bin/prlimit"), "needs prlimit (util-linux)")
        var own = rlimit()
        XCTAssertEqual(getrlimit(Int32(RLIMIT_NOFILE.rawValue), &own), 0)
        let hard = own.rlim_max == rlim_t.max ? 4096 : min(own.rlim_max, 65536)  // RLIM_INFINITY: any hard limit will do
        try XCTSkipUnless(hard > 1024, "the hard limit on open files is \(hard): nothing to raise")
        let child = try ChildProcess(URL(fileURLWithPath: "/usr/bin/prlimit"),
                                     ["--nofile=1024:\(hard)", ReportProcess.executable("report").path, "serve", "--db", Self.fixture, "--port", "0"])
        defer {
            if child.process.isRunning { kill(child.pid, SIGKILL) }
            _ = child.finish()
        }
        for _ in 0..<300 where !child.outputSoFar.contains("\n") { Thread.sleep(forTimeInterval: 0.1) }  // at most 30 s
        XCTAssertTrue(child.outputSoFar.hasPrefix("Slope dashboard of "), child.outputSoFar + child.errorSoFar)
        let limits = try String(contentsOfFile: "/proc/\(child.pid)/limits", encoding: .utf8)
        let line = limits.split(separator: "\n").first { $0.hasPrefix("Max open files") }.map(String.init) ?? ""
        XCTAssertEqual(line.split(separator: " ", omittingEmptySubsequences: true).suffix(3), ["\(hard)", "\(hard)", "files"], limits)
        kill(child.pid, SIGTERM)
        XCTAssertEqual(child.finish().status, 0)
    }

    func testServeSaysAPortInUseAndTheHostNameForEveryAddress() throws {
        // A port this test listens on.
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) == 0 && listen(listener, 1) == 0 && getsockname(listener, $0, &length) == 0 }
        }
        XCTAssertTrue(bound)
        let port = Int(UInt16(bigEndian: address.sin_port))
        let taken = try report(["serve", "--db", Self.fixture, "--port", "\(port)"], expect: 1)
        XCTAssertEqual(taken.error, "report: error: port \(port) on 127.0.0.1 is already in use: pick another with --port (or --port 0 for a free one)\n")

        let child = try ChildProcess(ReportProcess.executable("report"), ["serve", "--db", Self.fixture, "--host", "0.0.0.0", "--port", "0"])
        defer {
            if child.process.isRunning { kill(child.pid, SIGKILL) }
            _ = child.finish()
        }
        for _ in 0..<300 where !child.outputSoFar.contains("\n") { Thread.sleep(forTimeInterval: 0.1) }  // at most 30 s
        let line = child.outputSoFar
        let host = ProcessInfo.processInfo.hostName
        XCTAssertTrue(line.hasPrefix("Slope dashboard of \(Self.fixture) at http://\(host):"), line)
        XCTAssertTrue(line.contains("/?token="), line)
        XCTAssertTrue(line.hasSuffix("(Ctrl-C to stop, listening on every address of this machine)\n"), line)
        XCTAssertFalse(line.contains("0.0.0.0"), line)
        kill(child.pid, SIGTERM)
        XCTAssertEqual(child.finish().status, 0)
    }
}
