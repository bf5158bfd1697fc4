// Tests of the dashboard server that do not depend on the store (SQLite only): the address and
// token rules, the response cache (its hit counts: PostgreSQL's change token also moves with the
// server's own background transactions), and the JSON writer.
import Foundation
import Hummingbird
import HummingbirdTesting
import Store
import TestSupport
import XCTest
@testable import Dashboard

final class DashboardServerTests: XCTestCase {
    private var directory: TemporaryDirectory!
    private var fixture: String { directory.path("fixture.db") }

    override func setUpWithError() throws {
        directory = try TemporaryDirectory(prefix: "slope-dashboard-server")
        try ReportFixture.build(at: fixture)
    }

    override func tearDown() {
        directory?.remove()
    }

    func testOtherAddressesNeedAGoodTokenAndLoopbackNeedsLoopbackHostNames() throws {
        let queries = try SlopeStore(path: fixture, mode: .readOnly).queries
        XCTAssertThrowsError(try DashboardServer(queries: queries, host: "0.0.0.0")) { error in
            XCTAssertTrue("\(error)".contains("give --token"))
        }
        XCTAssertThrowsError(try DashboardServer(queries: queries, host: "0.0.0.0", token: "short")) { error in
            XCTAssertTrue("\(error)".contains("at least 16"))
        }
        XCTAssertThrowsError(try DashboardServer(queries: queries, token: "has space and more than 16")) 
        XCTAssertNoThrow(try DashboardServer(queries: queries, host: "0.0.0.0", token: DashboardServer.generateToken()))
        XCTAssertEqual(DashboardServer.generateToken().count, 32)
        XCTAssertNotEqual(DashboardServer.generateToken(), DashboardServer.generateToken())
        for host in ["127.0.0.1:8080", "localhost:80", "[::1]:8080", "localhost", "[::1]", "127.1.2.3:65535", "LocalHost:1"] {
            XCTAssertTrue(GuardMiddleware.isLoopbackAuthority(host), host)
        }
        for host in ["evil.example:8080", "127.0.0.1.evil.example", "192.168.1.5:8080", "[::2]:80", "localhost:8080@evil.example",
                     "localhost@evil.example", "localhost:", "localhost:65536", "localhost:80:80", "localhost/", "[::1]x", "[::1", "",
                     "localhost:+80", "localhost :80", "user@localhost"] {
            XCTAssertFalse(GuardMiddleware.isLoopbackAuthority(host), host)
        }
        let server = try DashboardServer(queries: queries, host: "::1", port: 9000, token: "abcdefghijklmnopq")
        XCTAssertEqual(server.address(port: 9001), "http://[::1]:9001/?token=abcdefghijklmnopq")
        // Every address, however written (`--host 0` listens on all of them): the machine's name is shown.
        for host in ["0.0.0.0", "0", "0.0", "0x0", "000.0.0.0", "::", "[::]", "::0", "0:0:0:0:0:0:0:0"] {
            XCTAssertTrue(DashboardServer.isEveryAddress(host), host)
            let every = try DashboardServer(queries: queries, host: host, port: 9000, token: "abcdefghijklmnopq")
            XCTAssertEqual(every.address(port: 9002), "http://\(ProcessInfo.processInfo.hostName):9002/?token=abcdefghijklmnopq", host)
        }
        for host in ["127.0.0.1", "0.0.0.1", "1", "::1", "localhost", "example.org", "0.0.0.0.0", ""] {
            XCTAssertFalse(DashboardServer.isEveryAddress(host), host)
        }
    }

    /// Repeated requests are answered from the cache while the change token stays; a commit (a new
    /// token) makes the next request read the database again, and its answer shows the commit.
    /// A tensor row changed outside Slope (hostile F13: its bytes were served as they were): the
    /// routes that read its values answer 500 with the one line naming it; the same tensor at
    /// another epoch, and the run's page, still answer.
    func testADamagedTensorIsA500NamingIt() async throws {
        try ReportFixture.damageTensor(at: fixture, runID: 1, epoch: 1, layer: 1, kind: "weight", "data = substr(data, 1, 3)")
        let server = try DashboardServer(queries: SlopeStore(path: fixture, mode: .readOnly).queries)
        let replies = try await DashboardTests.fetch(["/api/runs/1/tensor.npy?epoch=1&layer=1&kind=weight",
                                                      "/api/runs/1/histogram?epoch=1&layer=1&kind=weight&bins=4",
                                                      "/api/runs/1/tensor.npy?epoch=0&layer=1&kind=weight", "/api/runs/1"], from: server)
        let message = "run 1, epoch 1: the weight of layer 1 is damaged (it holds 3 bytes, and its shape, 2 x 3 float32, needs 24): the database was "
            + "changed outside Slope (the sqlite3 shell, a script); restore it from a backup, or delete that row to read the rest without it "
            + "(in sqlite3, or psql): DELETE FROM tensors WHERE run_id = 1 AND epoch = 1 AND layer = 1 AND kind = 'weight';"
        for reply in replies.prefix(2) {
            XCTAssertEqual(reply.status, .internalServerError)
            XCTAssertEqual(reply.headers[.contentType], "application/json; charset=utf-8")
            XCTAssertEqual(reply.json["error"] as? String, message)
        }
        XCTAssertEqual(replies[2].status, .ok)
        // The .npy of epoch 0 ends with its 2 x 3 float32 values, as the fixture wrote them.
        let bytes = Array(replies[2].body.readableBytesView.suffix(24))
        let values = stride(from: 0, to: 24, by: 4).map { Float(bitPattern: UInt32(littleEndian: bytes[$0..<($0 + 4)].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) })) }
        XCTAssertEqual(values, [0.25, -0.5, 0.75, -1, 1.25, -1.5])
        XCTAssertEqual(replies[3].status, .ok)
    }

    func testRepeatedRequestsComeFromTheCacheUntilACommit() async throws {
        let server = try DashboardServer(queries: try SlopeStore(path: fixture, mode: .readOnly).queries)
        let first = try await DashboardTests.fetch(["/api/sweeps", "/api/sweeps", "/api/sweeps/1/runs?limit=2", "/api/changes", "/api/sweeps/1/runs?limit=3"], from: server)
        XCTAssertEqual(first.map(\.status), [.ok, .ok, .ok, .ok, .ok])
        XCTAssertEqual(first[1].body, first[0].body)
        XCTAssertEqual(server.cache.statistics, .init(hits: 1, misses: 3))  // /api/changes is never cached
        XCTAssertEqual(first[1].json["single_runs"] as? Int, 2)

        let writer = try SlopeStore(path: fixture)  // this test's own copy of the fixture
        _ = try writer.createRun(SlopeStore.NewRun(name: "new", learningRate: 0.1, batchSize: 4, epochs: 1, seed: 1, layers: "2-1",
                                                   activation: "relu", outputActivation: "identity", loss: "mse", dataset: "linear",
                                                   configJSON: "{}", slopeVersion: "test"))
        try writer.close()
        let after = try await DashboardTests.fetch(["/api/sweeps", "/api/sweeps"], from: server)
        XCTAssertEqual(after[0].json["single_runs"] as? Int, 3)
        XCTAssertEqual(after[1].body, after[0].body)
        XCTAssertEqual(server.cache.statistics, .init(hits: 2, misses: 4))
        // Errors are not cached.
        _ = try await DashboardTests.fetch(["/api/sweeps/9", "/api/sweeps/9"], from: server)
        XCTAssertEqual(server.cache.statistics, .init(hits: 2, misses: 6))
    }

    /// A database file deleted while the dashboard runs, then made again (`rm` and a new sweep):
    /// the open connections still read the deleted file, which the dashboard kept serving. Now
    /// each request checks the file at the path: until there is a Slope database there again, a
    /// 503 says what happened; then the new file is served. Likewise a file replaced by another.
    func testADeletedOrReplacedDatabaseFileIsOpenedAgainAndA503SaysWhatHappenedUntilThen() async throws {
        let path = directory.path("live.db")
        try ReportFixture.build(at: path)
        let server = try DashboardServer(queries: try SlopeStore(path: path, mode: .readOnly).queries)
        let before = try await DashboardTests.fetch(["/api/sweeps"], from: server)
        XCTAssertEqual(before[0].json["single_runs"] as? Int, 2)
        XCTAssertEqual((before[0].json["sweeps"] as? [[String: Any]])?.count, 1)

        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        let gone = try await DashboardTests.fetch(["/api/sweeps", "/api/changes", "/api/runs/1"], from: server)
        XCTAssertEqual(gone.map(\.status), [.serviceUnavailable, .serviceUnavailable, .serviceUnavailable])
        XCTAssertEqual(gone[0].json["error"] as? String, "cannot read the database: \(path) was deleted since the dashboard opened it, and what is "
                       + "at its path now cannot be opened (\(try Self.openingError(path))); the dashboard opens it again once it is a Slope database")

        let fresh = try SlopeStore(path: path)  // a new database at the path: one single run, no sweep
        _ = try fresh.createRun(SlopeStore.NewRun(name: "second", learningRate: 0.1, batchSize: 4, epochs: 1, seed: 1, layers: "2-1",
                                                  activation: "relu", outputActivation: "identity", loss: "mse", dataset: "moons",
                                                  configJSON: "{}", slopeVersion: "test"))
        try fresh.close()
        let after = try await DashboardTests.fetch(["/api/sweeps", "/api/runs"], from: server)
        XCTAssertEqual(after.map(\.status), [.ok, .ok])
        XCTAssertEqual(after[0].json["single_runs"] as? Int, 1)
        XCTAssertEqual((after[0].json["sweeps"] as? [[String: Any]])?.count, 0)
        XCTAssertEqual((after[1].json["runs"] as? [[String: Any]])?.first?["name"] as? String, "second")

        // Replaced (a file moved over it) by one that is not a database.
        try Data("not a database".utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        let replaced = try await DashboardTests.fetch(["/api/sweeps"], from: server)
        XCTAssertEqual(replaced[0].status, .serviceUnavailable)
        XCTAssertEqual(replaced[0].json["error"] as? String, "cannot read the database: \(path) was replaced by another file since the dashboard "
                       + "opened it, and what is at its path now cannot be opened (\(try Self.openingError(path))); the dashboard opens it "
                       + "again once it is a Slope database")
    }

    /// Another database copied onto the served file in place (`cp other.db served.db`: the same
    /// inode, the WAL index left as it was) was served from the connections' cached pages of the
    /// old file (stale sweeps and runs), or called damaged ("malformed"). Now the file's size and
    /// modification time show the change, and the new content is served.
    func testADatabaseCopiedOntoTheServedFileInPlaceIsServed() async throws {
        let path = directory.path("live.db"), other = directory.path("other.db")
        try ReportFixture.build(at: path)
        let server = try DashboardServer(queries: try SlopeStore(path: path, mode: .readOnly).queries)
        let before = try await DashboardTests.fetch(["/api/sweeps", "/api/sweeps/1/runs", "/api/runs", "/api/runs/1"], from: server)
        XCTAssertEqual(before.map(\.status), [.ok, .ok, .ok, .ok])
        XCTAssertEqual(before[0].json["single_runs"] as? Int, 2)
        XCTAssertEqual((before[0].json["sweeps"] as? [[String: Any]])?.count, 1)

        let fresh = try SlopeStore(path: other)  // one single run, no sweep
        _ = try fresh.createRun(SlopeStore.NewRun(name: "second", learningRate: 0.1, batchSize: 4, epochs: 1, seed: 1, layers: "2-1",
                                                  activation: "relu", outputActivation: "identity", loss: "mse", dataset: "moons",
                                                  configJSON: "{}", slopeVersion: "test"))
        try fresh.close()
        let inode = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? Int)
        let file = try XCTUnwrap(FileHandle(forWritingAtPath: path))  // as cp writes: truncated, then written, same inode
        try file.truncate(atOffset: 0)
        try file.write(contentsOf: try Data(contentsOf: URL(fileURLWithPath: other)))
        try file.close()
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? Int, inode)

        let after = try await DashboardTests.fetch(["/api/sweeps", "/api/runs", "/api/sweeps/1/runs", "/api/runs/3"], from: server)
        XCTAssertEqual(after.map(\.status), [.ok, .ok, .notFound, .notFound], after.map(\.text).joined(separator: "\n"))
        XCTAssertEqual(after[0].json["single_runs"] as? Int, 1)
        XCTAssertEqual((after[0].json["sweeps"] as? [[String: Any]])?.count, 0)
        XCTAssertEqual((after[1].json["runs"] as? [[String: Any]])?.map { $0["name"] as? String }, ["second"])
    }

    /// Why opening `path` read-only fails, as the store says it.
    private static func openingError(_ path: String) throws -> String {
        do {
            _ = try SlopeStore(path: path, mode: .readOnly)
        } catch {
            return "\(error)"
        }
        XCTFail("\(path) opened")
        return ""
    }

    func testCacheEntriesExpireAndStayWithinTheirBounds() {
        final class Clock: @unchecked Sendable { var seconds: TimeInterval = 100 }
        let clock = Clock()
        let cache = ResponseCache(maximumEntries: 2, maximumBytes: 1000, maximumAge: 1, now: { clock.seconds })
        var computed = 0
        func get(_ key: String, _ token: String = "t1") -> String {
            String(buffer: cache.body(for: key, token: token) { computed += 1; return ByteBuffer(string: "\(key)#\(computed)") })
        }
        XCTAssertEqual(get("a"), "a#1")
        clock.seconds = 100.9
        XCTAssertEqual(get("a"), "a#1")  // younger than a second
        clock.seconds = 101.0
        XCTAssertEqual(get("a"), "a#2")  // a second old: read again
        XCTAssertEqual(get("a", "t2"), "a#3")  // a new token: read again
        XCTAssertEqual(get("b", "t2"), "b#4")
        XCTAssertEqual(get("c", "t2"), "c#5")  // a third entry: the cache starts again with it
        XCTAssertEqual(get("c", "t2"), "c#5")
        XCTAssertEqual(get("a", "t2"), "a#6")
        XCTAssertEqual(cache.statistics, .init(hits: 2, misses: 6))
        // Bodies over a quarter of the byte bound are served but not kept.
        let large = String(repeating: "x", count: 300)
        _ = cache.body(for: "large", token: "t2") { ByteBuffer(string: large) }
        _ = cache.body(for: "large", token: "t2") { ByteBuffer(string: large) }
        XCTAssertEqual(cache.statistics, .init(hits: 2, misses: 8))
    }

    func testJSONEscapesMarkupControlsAndNonFiniteNumbers() {
        let value = JSONValue.object([("a</script>", .string("x\u{1}\u{2028}y")), ("n", .number(.nan)), ("i", .number(-.infinity)),
                                      ("w", .number(3)), ("f", .number(0.1)), ("e", .number(1e-7)), ("b", .bool(true)), ("z", .null)])
        XCTAssertEqual(value.serialized(), #"{"a\u003c/script\u003e":"x\u0001\u2028y","n":null,"i":null,"w":3,"f":0.1,"e":1e-07,"b":true,"z":null}"#)
    }

    /// Runs `server` on a free loopback port for `body` (given the port), then stops it.
    private func serving(_ server: DashboardServer, _ body: (Int) throws -> Void) throws {
        final class Port: @unchecked Sendable { var value = 0 }
        let bound = Port(), running = DispatchSemaphore(value: 0), stopped = DispatchSemaphore(value: 0)
        let serving = Task {
            defer { stopped.signal() }
            try await server.run { port in bound.value = port; running.signal() }
        }
        defer {
            serving.cancel()
            XCTAssertEqual(stopped.wait(timeout: .now() + 60), .success, "the server did not stop")
        }
        XCTAssertEqual(running.wait(timeout: .now() + 60), .success, "the server did not start")
        try body(bound.value)
    }

    /// A client that sends half a request head and stops is closed once the idle timeout has
    /// passed (here 1 s), and a whole request on another connection meanwhile still gets its answer.
    func testAHalfSentRequestIsClosedAndOthersAreStillAnswered() throws {
        let server = try DashboardServer(queries: try SlopeStore(path: fixture, mode: .readOnly).queries, port: 0, idleTimeout: .seconds(1))
        try serving(server) { port in
            let halfSent = try LoopbackConnection(port: port)
            defer { halfSent.close() }
            try halfSent.send("GET /api/sweeps HTTP/1.1\r\nHost: 127.0.0.1\r\nX-a: ")
            let whole = try LoopbackConnection(port: port)
            defer { whole.close() }
            try whole.send("GET /api/sweeps HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            let answer = whole.readToEnd()
            XCTAssertTrue(answer.hasPrefix("HTTP/1.1 200 OK\r\n"), answer)
            XCTAssertTrue(answer.contains("\"single_runs\":2"), answer)
            // Closed by the server: the read ends (at most 60 s, the socket's own receive timeout) with nothing.
            XCTAssertEqual(halfSent.readToEnd(), "")
            XCTAssertTrue(halfSent.wasClosedByPeer, "the half-sent request's connection is still open")
        }
    }

    /// Without a token, a request must carry one Host header naming a loopback host and at most a
    /// port: one without (HTTP/1.0), with `localhost:P@evil.example`, or with a second Host header
    /// naming another host got through; now they get a 403 saying why.
    func testRequestsWithoutALoopbackHostHeaderAreRefused() throws {
        let server = try DashboardServer(queries: try SlopeStore(path: fixture, mode: .readOnly).queries, port: 0)
        try serving(server) { port in
            func status(_ head: String) throws -> (line: String, answer: String) {
                let connection = try LoopbackConnection(port: port)
                defer { connection.close() }
                try connection.send(head + "Connection: close\r\n\r\n")
                let answer = connection.readToEnd()
                return (answer.components(separatedBy: "\r\n")[0], answer)
            }
            for head in ["GET /api/sweeps HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n", "GET / HTTP/1.1\r\nHost: localhost:\(port)\r\n",
                         "GET /api/sweeps HTTP/1.0\r\nHost: [::1]:\(port)\r\n", "GET /api/sweeps HTTP/1.1\r\nHost: 127.0.0.1\r\n"] {
                XCTAssertEqual(try status(head).line, "HTTP/1.1 200 OK", head)
            }
            let none = try status("GET /api/sweeps HTTP/1.0\r\n")
            XCTAssertEqual(none.line, "HTTP/1.1 403 Forbidden", none.answer)
            XCTAssertTrue(none.answer.hasSuffix(#"{"error":"requests must name the dashboard\u0027s own address in a Host header, and this one has none "#
                                                + #"(open the address `report serve` printed)"}"#), none.answer)
            let userInfo = try status("GET /api/sweeps HTTP/1.1\r\nHost: localhost:\(port)@evil.example\r\n")
            XCTAssertEqual(userInfo.line, "HTTP/1.1 403 Forbidden", userInfo.answer)
            XCTAssertTrue(userInfo.answer.contains(#"not the host \u0027localhost:\#(port)@evil.example\u0027"#), userInfo.answer)
            let two = try status("GET /api/sweeps HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nHost: evil.example\r\n")
            XCTAssertEqual(two.line, "HTTP/1.1 403 Forbidden", two.answer)
            XCTAssertTrue(two.answer.contains(#"not the host \u0027127.0.0.1:\#(port), evil.example\u0027"#), two.answer)
        }
    }

    /// A database that does not answer (here a file at the served path whose lock another
    /// connection keeps, so that opening it waits for the 600-second busy timeout; a PostgreSQL
    /// server that is down does the same for 3 s) held up every thread that answers requests:
    /// API requests queued behind each other and `/` waited for them. Now the database work runs
    /// on threads of its own: many API requests at once each get their 503 at the deadline (here
    /// 1 s), more of them than there are threads, and `/` is answered while they wait.
    func testAPIRequestsGetTheir503AndPagesAreServedWhileTheDatabaseDoesNotAnswer() throws {
        let path = directory.path("live.db")
        try ReportFixture.build(at: path)
        let server = try DashboardServer(queries: try SlopeStore(path: path, mode: .readOnly, busyTimeout: 600).queries, port: 0,
                                         answerWithin: .seconds(1))
        try serving(server) { port in
            func get(_ target: String) throws -> LoopbackConnection {
                let connection = try LoopbackConnection(port: port)
                try connection.send("GET \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                return connection
            }
            let before = try get("/api/sweeps")
            XCTAssertTrue(before.readToEnd().hasPrefix("HTTP/1.1 200 OK\r\n"))
            before.close()

            // A new database at the path, locked: opening it (as every request now does) waits.
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
            try ReportFixture.build(at: path)
            let holder = try SQLiteLockHolder(path: path)
            defer { try? holder.release() }

            let requests = try (1...12).map { try get("/api/changes?c=\($0)") } + (1...4).map { try get("/api/sweeps?c=\($0)") }
            defer { requests.forEach { $0.close() } }
            let page = try get("/")
            defer { page.close() }
            let pageAnswer = page.readToEnd()  // at most 60 s
            guard pageAnswer.hasPrefix("HTTP/1.1 200 OK\r\n") else {  // the lock goes (defer), which ends the waits
                return XCTFail("/ was not answered while the database was waited for: \(pageAnswer)")
            }
            XCTAssertTrue(pageAnswer.contains("<html"), pageAnswer)
            for request in requests {
                let answer = request.readToEnd()
                XCTAssertTrue(answer.hasPrefix("HTTP/1.1 503 Service Unavailable\r\n"), answer)
                XCTAssertTrue(answer.contains("{\"error\":\"cannot read the database: no answer within 1 s (a PostgreSQL server that is down"),
                              answer)
            }

            // Once the lock is gone the new database is served.
            try holder.release()
            var answer = ""
            for _ in 0..<60 where !answer.hasPrefix("HTTP/1.1 200 OK\r\n") {
                let request = try get("/api/sweeps")
                answer = request.readToEnd()
                request.close()
                Thread.sleep(forTimeInterval: 0.1)
            }
            XCTAssertTrue(answer.contains("\"single_runs\":2"), answer)
        }
    }
}

/// A blocking TCP connection to 127.0.0.1 whose reads give up after 60 s.
private final class LoopbackConnection {
    let descriptor: Int32
    private(set) var wasClosedByPeer = false

    init(port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var timeout = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    }

    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        guard Foundation.send(descriptor, bytes, bytes.count, 0) == bytes.count else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    }

    /// Everything read until the peer closes the connection (or a read times out or fails).
    func readToEnd() -> String {
        var received: [UInt8] = [], buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count == 0 { wasClosedByPeer = true }
            guard count > 0 else { break }
            received += buffer[0..<count]
        }
        return String(decoding: received, as: UTF8.self)
    }

    func close() { _ = Foundation.close(descriptor) }
}
