// `report serve`: the live web dashboard (Dashboard module) over the database, opened read-only.
import ArgumentParser
import Dashboard
import Foundation
import Store

struct Serve: ParsableCommand, ReadsDatabase {
    static let configuration = CommandConfiguration(
        abstract: "Serve a live web dashboard of the database (sweeps, runs, curves, heatmaps, tensors).",
        discussion: """
            Opens the database read-only (safe beside running workers) and serves
            pages that update within two seconds of each stored epoch. Binds
            127.0.0.1 unless --host says otherwise; an address that is not loopback needs a
            token, which every request must carry (a random one is made and
            printed when --token is not given). A run left `running` by a worker
            that is gone (the rule of `runner resume`) shows as stalled, and its
            sweep as not live. A database file deleted, replaced or copied over
            in place (`cp new.db served.db`) while it serves is opened again at
            its path (until then, requests get a 503 saying so). Pages and API:
            docs/dashboard.md. Ctrl-C or SIGTERM stops it cleanly: exit status 0.
            Examples:
              report serve --db sweep.db
              report serve --port 0    # any free port; the address is printed
              report serve --host 0.0.0.0 --token generate
            """)

    @OptionGroup var database: DatabaseOptionsOf<ColumnsHidden>
    @Option(help: ArgumentHelp("The address to listen on (127.0.0.1: this machine only).", valueName: "address"))
    var host = "127.0.0.1"
    @Option(parsing: .unconditional, help: ArgumentHelp("The port to listen on: \(Accepted.port.expected). Default: 8080.", valueName: "port"),
            transform: Accepted.port.parse)
    var port = 8080
    @Option(help: ArgumentHelp("A token every request must carry (at least 16 letters, digits or -_.~), or `generate` for a random one. Needed unless --host is a loopback address (127.0.0.0/8, ::1, localhost): a random one is made when not given.", valueName: "token"))
    var token: String?

    func validate() throws {
        try database.refuseColumns("serve", because: "serves pages that fit the browser's window")
        guard !host.isEmpty else { throw ValidationError("--host: give an address, e.g. 127.0.0.1") }
        if let token, token != "generate" {
            do { try DashboardServer.checkToken(token) } catch let error as DashboardError { throw ValidationError(error.description) }
        }
    }

    func run() throws {
        // A token when asked for one, or when the address is not loopback and none was given.
        let chosenToken = token == "generate" || (token == nil && !DashboardServer.isLoopback(host)) ? DashboardServer.generateToken() : token
        Self.raiseOpenFileLimit()
        let store = try database.openStore(whileDown: "the dashboard answers 503 until it is back")
        let server = try DashboardServer(queries: store.queries, host: host, port: port, token: chosenToken, databaseArgument: databaseArgument)
        try server.runUntilStopped { port in
            // 0.0.0.0 or :: is every address: a browser elsewhere opens the machine's name instead.
            let every = DashboardServer.isEveryAddress(host) ? ", listening on every address of this machine" : ""
            Output.write("Slope dashboard of \(database.displayedLocation) at \(server.address(port: port))  (Ctrl-C to stop\(every))\n")
        }
    }

    /// Every connection takes a descriptor: the soft limit on open files (often 1,024) is raised
    /// to the hard one, so that many clients (or a flood of half-sent requests, until they time
    /// out) do not use them all up. Left as it is when it cannot be raised.
    static func raiseOpenFileLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
}
