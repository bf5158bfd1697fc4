// `report serve`: the HTTP server of the live dashboard. Routes the pages (one HTML shell whose
// script draws each page) and the JSON API, checks the token and the Host header, sets the
// security headers, and turns every error into a 4xx/5xx JSON response. Never writes the database.
import Foundation
import Hummingbird
import Logging
import Reporting
import Store

public struct DashboardServer: Sendable {
    public let host: String
    public let port: Int
    /// Every request must carry it (header, query or cookie) when set; required off loopback.
    public let token: String?
    /// What the routes read: the database as opened, or the file now at its path (`CurrentDatabase`).
    let database: CurrentDatabase
    /// JSON answers per request while the database's change token stays the same.
    let cache: ResponseCache
    /// How long a connection may stay without a whole request head (and, between requests, idle)
    /// before it is closed: a client that sends half a request and stops (one per open file, so
    /// as to use up the process's descriptors) cannot lock the dashboard up. Not applied while an
    /// answer is being computed.
    let idleTimeout: Duration
    /// Where every database call runs (never on the threads that answer requests), and the time
    /// within which each API request is answered, with a 503 when the database has not.
    let databaseThreads: DatabaseThreads

    /// The default `idleTimeout`: long enough for a slow network, short enough that a flood of
    /// half-sent requests is closed before it uses up the descriptors.
    public static let defaultIdleTimeout: Duration = .seconds(10)

    /// The default time within which an API request is answered: the 3 seconds `report` waits
    /// for a PostgreSQL server that is down (`DatabaseOptions.reconnectionSeconds`), whose own
    /// error then comes first, and a second for a request that waited for a thread meanwhile.
    public static let defaultAnswerWithin: Duration = .seconds(4)

    /// Content-Security-Policy of every response: only the binary's own scripts, styles and API.
    static let contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        + "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    static let tokenCookie = "slope_token"

    /// `databaseArgument`: "--db X" as the server was given it, without a password
    /// (`CommandHint.databaseArgument`), or "": the `runner resume` commands of stalled notices carry it
    /// (unless the served role may only read: `RunQueries.readOnlyRoleName`, asked here once).
    /// - Throws: `DashboardError.badParameter` when `host` is not a loopback address and no token is given.
    public init(queries: RunQueries, host: String = "127.0.0.1", port: Int = 8080, token: String? = nil,
                idleTimeout: Duration = DashboardServer.defaultIdleTimeout,
                answerWithin: Duration = DashboardServer.defaultAnswerWithin, databaseArgument: String = "") throws {
        if !Self.isLoopback(host) && token == nil {
            throw DashboardError.badParameter("--host \(host) makes the dashboard reachable from other machines: give --token (or --token generate)")
        }
        if let token { try Self.checkToken(token) }
        self.host = host
        self.port = port
        self.token = token
        self.database = CurrentDatabase(DashboardData(queries: queries, databaseArgument: databaseArgument,
                                                      readOnlyRole: try queries.readOnlyRoleName()))
        self.cache = ResponseCache()
        self.idleTimeout = idleTimeout
        self.databaseThreads = DatabaseThreads(answerWithin: Self.seconds(answerWithin))
    }

    static func seconds(_ duration: Duration) -> TimeInterval {
        TimeInterval(duration.components.seconds) + TimeInterval(duration.components.attoseconds) / 1e18
    }

    /// A token must be hard to guess and safe in a URL and a cookie.
    public static func checkToken(_ token: String) throws {
        if token.count < 16 || !token.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.~".contains($0)) }) {
            throw DashboardError.badParameter("--token must be at least 16 letters, digits or - _ . ~ (or --token generate for a random one)")
        }
    }

    /// `localhost`, `::1` or an IPv4 address 127.x.y.z.
    public static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host == "::1" || host == "[::1]" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { UInt8($0) != nil } && parts[0] == "127"
    }

    /// A random 32-hex-digit token (128 bits from the system's generator).
    public static func generateToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<4).map { _ in String(format: "%08x", UInt32.random(in: .min ... .max, using: &generator)) }.joined()
    }

    /// Whether `host` is the wildcard address, however written (0.0.0.0, 0, 0.0, 0x0, ::, [::],
    /// ::0): listening on every address. IPv4 is read as the system reads it (inet_aton).
    public static func isEveryAddress(_ host: String) -> Bool {
        let name = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        var ipv4 = in_addr(), ipv6 = in6_addr()
        if inet_aton(name, &ipv4) != 0 { return ipv4.s_addr == 0 }
        guard inet_pton(AF_INET6, name, &ipv6) == 1 else { return false }
        return withUnsafeBytes(of: &ipv6) { $0.allSatisfy { $0 == 0 } }
    }

    /// The address to open in a browser (with the token, when there is one): for the wildcard
    /// address, which no browser can open, the machine's host name.
    public func address(port actualPort: Int) -> String {
        let name = Self.isEveryAddress(host) ? ProcessInfo.processInfo.hostName : host
        let shownHost = name.contains(":") && !name.hasPrefix("[") ? "[\(name)]" : name
        return "http://\(shownHost):\(actualPort)/" + (token.map { "?token=\($0)" } ?? "")
    }

    /// Serves until interrupted (SIGINT, SIGTERM). `onRunning` gets the bound port (useful with port 0).
    public func run(onRunning: @escaping @Sendable (Int) -> Void) async throws {
        var logger = Logger(label: "slope.dashboard")
        logger.logLevel = .critical  // the library prints nothing; errors go to clients as JSON
        let application = Application(
            router: router(),
            server: .http1(configuration: .init(idleTimeout: .nanoseconds(Int64(idleTimeout.components.seconds) * 1_000_000_000
                                                                      + idleTimeout.components.attoseconds / 1_000_000_000))),
            configuration: .init(address: .hostname(host, port: port), serverName: "slope"),
            onServerRunning: { channel in onRunning(channel.localAddress?.port ?? port) },
            logger: logger)
        do {
            try await application.runService()
        } catch {  // the address is taken, not this machine's, or not an address
            throw Self.listeningError(error, host: host, port: port)
        }
    }

    /// Why the server could not listen, in the user's terms: `.badParameter` for a --host that is
    /// no address of this machine or no host at all (bad input), `.cannotServe` otherwise. SwiftNIO's
    /// errors are told apart by their type's name and errno, which is all they expose to us.
    static func listeningError(_ error: Error, host: String, port: Int) -> DashboardError {
        let description = String(describing: error)
        let addresses = "give an address of this machine: 127.0.0.1 (this machine only) or 0.0.0.0 (every address)"
        if String(reflecting: type(of: error)).contains("SocketAddressError") || description.contains("SocketAddressError") {
            return .badParameter("--host \(host) is no host name or address this machine can resolve: \(addresses)")
        }
        if description.contains("errno: \(EADDRNOTAVAIL)") {
            return .badParameter("--host \(host) is not an address of this machine: \(addresses)")
        }
        if description.contains("errno: \(EADDRINUSE)") {
            return .cannotServe("port \(port) on \(host) is already in use: pick another with --port (or --port 0 for a free one)")
        }
        if description.contains("errno: \(EACCES)") {
            return .badParameter("--port \(port): ports below 1024 need root: pick one from 1024 up (or --port 0 for a free one)")
        }
        return .cannotServe("cannot listen on \(host) port \(port): \(description)")
    }

    /// Serves on the calling thread until interrupted: for a synchronous command-line `run()`.
    public func runUntilStopped(onRunning: @escaping @Sendable (Int) -> Void) throws {
        final class Outcome: @unchecked Sendable { var error: Error? }  // written before the signal, read after the wait
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        Task {
            do { try await run(onRunning: onRunning) } catch { outcome.error = error }
            done.signal()
        }
        done.wait()
        if let error = outcome.error { throw error }
    }

    // MARK: routes

    public func router() -> Router<BasicRequestContext> {
        let router = Router(options: .autoGenerateHeadEndpoints)
        router.add(middleware: GuardMiddleware(token: token, port: port))
        let database = self.database, threads = databaseThreads
        for page in ["/", "/sweeps/:id", "/runs/:id", "/compare"] {
            router.get(RouterPath(page)) { _, _ in try Self.asset("page.html") }
        }
        router.get("/assets/:name") { _, context in try Self.asset(context.parameters.get("name") ?? "") }
        let cache = self.cache
        /// A JSON route: `answer` gets the database's data, the query and the path's `id` (nil when the
        /// path has none), on a database thread. Its answer is cached per path and query under the
        /// change token read before the database file is looked at.
        /// `narrowing`: how to ask for less, said when the request takes longer than the time it is answered within.
        func api(_ path: RouterPath, cached: Bool = true, narrowing: String = DatabaseThreads.defaultNarrowing,
                 _ answer: @escaping @Sendable (DashboardData, QueryParameters, _ id: () throws -> Int64) throws -> JSONValue) {
            router.get(path) { request, context in
                let query = QueryParameters(request), idText = context.parameters.get("id")
                let key = request.uri.path + "?" + (request.uri.query ?? "")
                return Self.json(try await threads.run(narrowing: narrowing) { readBegun in
                    let token = cached ? try database.changeToken() : nil
                    return try database.read { data in
                        var observed = data
                        observed.queries = data.queries.observingReads(readBegun)
                        func compute() throws -> ByteBuffer {
                            ByteBuffer(string: try answer(observed, query, { try Self.id(idText) }).serialized())
                        }
                        guard let token else { return try compute() }
                        return try cache.body(for: key, token: token, compute: compute)
                    }
                })
            }
        }
        api("/api/changes", cached: false) { data, _, _ in try data.changes() }
        api("/api/sweeps") { data, _, _ in try data.sweeps() }
        api("/api/sweeps/:id") { data, _, id in try data.sweep(id: try id()) }
        api("/api/sweeps/:id/runs") { data, query, id in
            try data.runs(sweepID: try id(), filter: try query["where"], sort: try query["sort"], offset: try query["offset"], limit: try query["limit"],
                          columns: try query["columns"])
        }
        api("/api/runs") { data, query, _ in
            try data.runs(sweepID: nil, filter: try query["where"], sort: try query["sort"], offset: try query["offset"], limit: try query["limit"],
                          columns: try query["columns"])
        }
        api("/api/sweeps/:id/heatmap", narrowing: "narrow the runs with the filter (where=), or choose rows and cols with fewer values") { data, query, id in
            try data.heatmap(sweepID: try id(), rows: try query["rows"], columns: try query["cols"], metric: try query["metric"], filter: try query["where"])
        }
        api("/api/sweeps/:id/parallel", narrowing: "draw fewer runs (a smaller limit=) or narrow them with where=") { data, query, id in
            try data.parallel(sweepID: try id(), metric: try query["metric"], filter: try query["where"], limit: try query["limit"])
        }
        api("/api/sweeps/:id/importance", narrowing: "narrow the runs with the filter (where=)") { data, query, id in
            try data.importance(sweepID: try id(), metric: try query["metric"], filter: try query["where"])
        }
        api("/api/curves", narrowing: "ask for fewer runs at a time (runs=)") { data, query, _ in try data.curves(runs: try query["runs"], metric: try query["metric"]) }
        api("/api/compare", narrowing: "compare fewer runs at a time (runs=)") { data, query, _ in try data.compare(runs: try query["runs"]) }
        api("/api/runs/:id") { data, _, id in try data.run(id: try id()) }
        api("/api/runs/:id/epochs", narrowing: "ask for fewer epochs at a time (a smaller limit=)") { data, query, id in try data.epochs(runID: try id(), offset: try query["offset"], limit: try query["limit"]) }
        api("/api/runs/:id/layers", narrowing: "ask for fewer epochs at a time (a smaller limit=)") { data, query, id in
            try data.layers(runID: try id(), offset: try query["offset"], limit: try query["limit"])
        }
        api("/api/runs/:id/tensors") { data, query, id in try data.tensors(runID: try id(), epoch: try query["epoch"]) }
        api("/api/runs/:id/histogram") { data, query, id in
            try data.histogram(runID: try id(), epoch: try query["epoch"], layer: try query["layer"], kind: try query["kind"], bins: try query["bins"])
        }
        router.get("/api/runs/:id/tensor.npy") { request, context in
            let query = QueryParameters(request), idText = context.parameters.get("id")
            let (name, bytes) = try await threads.run(narrowing: "the tensor is large: read it with `report tensors RUN --epoch E --layer L --kind K --format npy`") { readBegun in
                try database.read { data in
                    var observed = data
                    observed.queries = data.queries.observingReads(readBegun)
                    return try observed.npy(runID: try Self.id(idText), epoch: try query["epoch"], layer: try query["layer"], kind: try query["kind"])
                }
            }
            var headers = HTTPFields()
            headers[.contentType] = "application/octet-stream"
            headers[.contentDisposition] = "attachment; filename=\"\(name)\""
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        return router
    }

    static func id(_ text: String?) throws -> Int64 {
        try DashboardData.identifier(text, name: "the id in the path")
    }

    static func json(_ body: ByteBuffer) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        headers[.cacheControl] = "no-store"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: body))
    }

    static func errorResponse(_ error: DashboardError) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        headers[.cacheControl] = "no-store"
        let body = JSONValue.object([("error", .string(error.description))]).serialized()
        return Response(status: error.status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    /// A file of Sources/Dashboard/Resources (embedded at build time), by its exact name.
    static func asset(_ name: String) throws -> Response {
        let types = ["html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8",
                     "svg": "image/svg+xml"]
        guard let type = types[String(name.split(separator: ".").last ?? "")], let bytes = assets[name] else {
            throw DashboardError.notFound("no asset \(DashboardData.quoted(name))")
        }
        var headers = HTTPFields()
        headers[.contentType] = type
        headers[.cacheControl] = "no-cache"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// The embedded files, decoded once.
    static let assets: [String: Data] = Dictionary(
        EmbeddedFiles.base64.compactMap { file in Data(base64Encoded: file.base64).map { (file.name, $0) } },
        uniquingKeysWith: { first, _ in first })
}

/// Runs before every route (and the not-found answer): refuses other methods, foreign Host headers
/// and requests without the token; adds the security headers; turns every error into JSON.
struct GuardMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let token: String?
    let port: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        var setsCookie = false
        do {
            guard request.method == .get || request.method == .head else { throw DashboardError.methodNotAllowed(request.method.rawValue) }
            if token == nil {
                // Without a token, one Host header naming a loopback host: a web page cannot reach the
                // dashboard through a DNS name of its own that resolves to 127.0.0.1 (DNS rebinding).
                // The first Host header is the authority; the HTTP parser leaves any other among the fields.
                guard let host = request.head.authority else { throw DashboardError.forbiddenHost(nil) }
                let otherHosts = request.headers.filter { $0.name.canonicalName == "host" }.map(\.value)
                guard Self.isLoopbackAuthority(host), otherHosts.isEmpty else {
                    throw DashboardError.forbiddenHost(DashboardData.quoted(([host] + otherHosts).joined(separator: ", ")))
                }
            }
            if let token {
                let query = try? QueryParameters(request)["token"]  // one that does not decode is no token: unauthorized
                guard let given = Self.bearer(request) ?? query ?? Self.cookie(request), Self.constantTimeEqual(given, token) else {
                    throw DashboardError.unauthorized
                }
                setsCookie = query != nil
            }
            response = try await next(request, context)
        } catch let error as DashboardError {
            response = DashboardServer.errorResponse(error)
        } catch let error as HTTPError {
            response = DashboardServer.errorResponse(error.status == .notFound
                ? .notFound("no page or API route \(DashboardData.quoted(request.uri.path)) (the API is listed in docs/dashboard.md)")
                : .badParameter(error.body ?? "bad request"))
        } catch let error as ReportError {
            response = DashboardServer.errorResponse(DashboardError.from(error))
        } catch let error as StoreError {
            if case .damagedTensor = error {
                response = DashboardServer.errorResponse(.damagedData(error.description))
            } else {
                response = DashboardServer.errorResponse(.database(error.description))
            }
        } catch {
            response = DashboardServer.errorResponse(.database("\(error)"))
        }
        response.headers[.contentSecurityPolicy] = DashboardServer.contentSecurityPolicy
        response.headers[.xContentTypeOptions] = "nosniff"
        if setsCookie, let token {
            // A page opened with ?token= keeps it in a cookie, so its scripts, styles and API calls carry it.
            response.headers[.setCookie] = "\(DashboardServer.tokenCookie)=\(token); Path=/; HttpOnly; SameSite=Strict"
        }
        return response
    }

    /// Whether a Host header is a loopback host and at most a port, nothing else: `127.0.0.1`,
    /// `localhost:8080`, `[::1]:8080`, but not `localhost:8080@evil.example` or `localhost/x`.
    static func isLoopbackAuthority(_ authority: String) -> Bool {
        let name: Substring, rest: Substring
        if authority.hasPrefix("[") {
            guard let end = authority.firstIndex(of: "]") else { return false }
            name = authority[...end]
            rest = authority[authority.index(after: end)...]
        } else {
            let colon = authority.firstIndex(of: ":") ?? authority.endIndex
            name = authority[..<colon]
            rest = authority[colon...]
        }
        let port = rest.dropFirst()
        let isPort = rest.isEmpty || (rest.first == ":" && (1...5).contains(port.count) && port.allSatisfy { $0.isASCII && $0.isNumber }
                                      && Int(port).map { $0 <= 65535 } == true)
        return isPort && DashboardServer.isLoopback(name.lowercased())
    }

    static func bearer(_ request: Request) -> String? {
        // The scheme's name in any case ("bearer"), as HTTP's auth schemes are (RFC 7235).
        guard let value = request.headers[.authorization], value.prefix(7).lowercased() == "bearer " else { return nil }
        return String(value.dropFirst(7))
    }

    static func cookie(_ request: Request) -> String? {
        for header in request.headers[values: .cookie] {
            for part in header.split(separator: ";") {
                let pair = part.trimmingCharacters(in: .whitespaces)
                if pair.hasPrefix(DashboardServer.tokenCookie + "=") { return String(pair.dropFirst(DashboardServer.tokenCookie.count + 1)) }
            }
        }
        return nil
    }

    /// Compares every byte whatever the first difference, so the time taken does not tell how much of a guess was right.
    static func constantTimeEqual(_ given: String, _ expected: String) -> Bool {
        let a = Array(given.utf8), b = Array(expected.utf8)
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for index in 0..<b.count { difference |= (index < a.count ? a[index] : 0) ^ b[index] }
        return difference == 0
    }
}

/// The query of a request as form data: `+` is a space (as browsers, curl -G --data-urlencode and
/// Python's urlencode write it), `%XX` a byte. A name given twice is a 400 when the route reads it
/// (`offset=1&offset=x` was the first value, the second never looked at: hostile16 F5).
struct QueryParameters: Sendable {
    private var values: [String: String] = [:]
    /// The parameters whose text does not percent-decode (a `%` without two hex digits, or escapes
    /// of bytes that are not UTF-8), by name: said as a 400 when the route reads one (rather than
    /// parsed undecoded). A parameter the route does not read is ignored, whatever its text (a
    /// cache buster, a tracking tag), as web servers and APIs ignore parameters they do not know.
    private var problems: [String: String] = [:]

    init(_ request: Request) {
        for pair in (request.uri.query ?? "").split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            // A name that does not decode is no parameter of ours: ignored.
            guard let name = parts[0].replacingOccurrences(of: "+", with: " ").removingPercentEncoding else { continue }
            let value = parts.count > 1 ? parts[1].replacingOccurrences(of: "+", with: " ") : ""
            if values[name] != nil || problems[name] != nil {
                values[name] = nil
                problems[name] = "\(name) is given more than once; give it once"
                continue
            }
            if let decoded = value.removingPercentEncoding {
                values[name] = decoded
            } else {
                problems[name] = Self.undecodable(value, name: name)
            }
        }
    }

    /// The parameter's decoded text (nil when not given); throws a bad parameter (400) when it
    /// does not percent-decode.
    subscript(_ name: String) -> String? {
        get throws {
            if let problem = problems[name] { throw DashboardError.badParameter(problem) }
            return values[name]
        }
    }

    /// Why `text` (the value of parameter `name`) does not percent-decode.
    static func undecodable(_ text: String, name: String) -> String {
        let what = "\(shownText(name)): "
        let bytes = Array(text.utf8)
        func hex(_ byte: UInt8) -> Bool { (48...57).contains(byte) || (65...70).contains(byte) || (97...102).contains(byte) }
        for (index, byte) in bytes.enumerated() where byte == UInt8(ascii: "%") {
            guard index + 2 < bytes.count, hex(bytes[index + 1]), hex(bytes[index + 2]) else {
                let shown = String(decoding: bytes[index..<min(index + 3, bytes.count)], as: UTF8.self)
                return what + "'\(shownText(shown))' is not a percent escape (% and two hex digits); write a % itself as %25"
            }
        }
        // Every % has two hex digits here: the escapes of bytes beyond ASCII are the suspects.
        let escapes = bytes.indices.filter { bytes[$0] == UInt8(ascii: "%") && bytes[$0 + 1] >= UInt8(ascii: "8") }  // 8-F: 0x80 and up
        let shown = escapes.prefix(4).map { String(decoding: bytes[$0..<($0 + 3)], as: UTF8.self) }.joined()
        return what + "not UTF-8 text after percent-decoding (\(shown)\(escapes.count > 4 ? "..." : "")); escape the text's UTF-8 bytes"
    }
}
