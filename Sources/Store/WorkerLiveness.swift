// Whether the process that holds a run still exists, told from what the claim recorded: host,
// pid, boot id, process start time and PID namespace. On Linux these come from /proc; elsewhere
// only the pid can be checked (as before the boot id and start time were recorded).
import Foundation

enum WorkerLiveness {
    /// What a claim recorded about the process holding a run (`runs` columns).
    struct Holder: Equatable {
        var host: String?
        var pid: Int32?
        var bootID: String?
        var startTime: Int64?
        var pidNamespace: String?
    }

    /// The answer for a run held on another host, or on this one when this host cannot tell.
    enum Verdict: Equatable { case alive, gone, unknown }

    /// This machine's boot id, read once.
    static let bootID: String? = (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8))?
        .trimmingCharacters(in: .whitespacesAndNewlines)

    /// Field 22 of /proc/PID/stat (start time in clock ticks after boot), nil if there is no such process.
    static func startTime(pid: Int32, proc: String = "/proc") -> Int64? {
        pid > 0 ? startTime(entry: "\(pid)", proc: proc) : nil
    }

    /// Field 22 of /proc/ENTRY/stat.
    static func startTime(entry: String, proc: String = "/proc") -> Int64? {
        processStat(entry: entry, proc: proc)?.startTime
    }

    /// Fields 3 (state) and 22 (start time) of /proc/ENTRY/stat, nil if there is no such process.
    /// The command name (field 2) may hold spaces and parentheses: the fields are counted after the last ')'.
    static func processStat(entry: String, proc: String = "/proc") -> (state: Character, startTime: Int64)? {
        guard let stat = try? String(contentsOfFile: "\(proc)/\(entry)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // fields[0] is field 3
        guard fields.count > 19, let state = fields[0].first, let startTime = Int64(fields[19]) else { return nil }
        return (state, startTime)
    }

    /// Whether a process in this state has ended: a zombie (Z, killed or exited but not yet reaped
    /// by its parent) keeps its pid, its /proc entry and its start time, and `kill(pid, 0)` still
    /// succeeds on it, but it will never run again. X (dead) is the moment it is being reaped.
    static func hasEnded(state: Character) -> Bool { state == "Z" || state == "X" }

    /// `readlink /proc/PID/ns/pid`, nil if unreadable (no such process, or not ours to inspect).
    static func pidNamespace(pid: Int32, proc: String = "/proc") -> String? {
        pidNamespace(entry: "\(pid)", proc: proc)
    }

    /// `readlink /proc/ENTRY/ns/pid`.
    static func pidNamespace(entry: String, proc: String = "/proc") -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: "\(proc)/\(entry)/ns/pid")
    }

    /// This process's start time and PID namespace, read through /proc/self: right even where
    /// /proc/\(getpid()) is another process (see `procShowsOwnNamespace`).
    static var ownStartTime: Int64? { startTime(entry: "self") }
    static var ownPIDNamespace: String? { pidNamespace(entry: "self") }

    /// Whether /proc numbers processes as this process's PID namespace does (`/proc/self` is our
    /// pid). A process started in a new PID namespace without a /proc of its own (`unshare -p -f`
    /// without --mount-proc) sees its parent namespace's /proc, where its pids name other
    /// processes: there /proc/PID cannot tell whether a pid of ours is the same process.
    static let procShowsOwnNamespace =
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self")) == String(getpid())

    /// Whether this process is in the machine's first PID namespace (the kernel numbers it
    /// PROC_PID_INIT_INO, 0xEFFFFFFC) and /proc is that namespace's: then /proc lists every process
    /// of the machine, in whatever namespace. Inside a container, /proc lists the container's processes only.
    static let seesEveryProcess = procShowsOwnNamespace && ownPIDNamespace == "pid:[\(0xEFFF_FFFC as UInt32)]"

    /// Whether the holder of a run is alive, gone, or unknown (decide by its heartbeat), as seen by `observer`.
    static func verdict(for holder: Holder, observer: WorkerIdentity) -> Verdict {
        guard holder.host == observer.host else { return .unknown }
        guard let pid = holder.pid else { return .gone }
        if let recorded = holder.bootID, let current = observer.bootID, recorded != current {
            return .gone  // this host booted again since the claim: every process of that boot is gone
        }
        guard let startTime = holder.startTime, holder.bootID != nil, observer.bootID != nil else {
            // Recorded by an older Slope, or no /proc: the pid is all there is.
            return processIsAlive(pid) ? .alive : .gone
        }
        if holder.pidNamespace == observer.pidNamespace {
            // The pid names a process of our own namespace: the same one only if it started at the same tick.
            // kill() counts pids in our namespace, /proc only when it is that namespace's; a live pid whose
            // start time cannot be read (hidepid, or a /proc of another namespace) is left to the heartbeat.
            guard procShowsOwnNamespace, let actual = processStat(entry: "\(pid)") else { return processIsAlive(pid) ? .unknown : .gone }
            return actual.startTime == startTime && !hasEnded(state: actual.state) ? .alive : .gone
        }
        // Another PID namespace (a container): its pids mean nothing here. From the first namespace
        // every process is visible: look for one that started at that tick in that namespace.
        guard let namespace = holder.pidNamespace, seesEveryProcess else { return .unknown }
        return anyProcess(startedAt: startTime, in: namespace)
    }

    /// The take-over rule: whether the worker holding a `running` run is gone, as `observer` sees
    /// it. On the observer's host its process decides (`verdict`); elsewhere, or when this host
    /// cannot tell, the heartbeat: older than the stale limit (`staleHeartbeatSQL`) means gone.
    /// `runner resume` takes such runs over; the reports and the dashboard show them as stalled.
    static func isGone(_ holder: Holder, heartbeatIsStale: Bool, observer: WorkerIdentity) -> Bool {
        switch verdict(for: holder, observer: observer) {
        case .alive: return false
        case .gone: return true
        case .unknown: return heartbeatIsStale
        }
    }

    /// SQL that is 1 when a run's heartbeat is missing or older than `?` seconds by the database's
    /// clock (on PostgreSQL the server's, which every worker's heartbeat was written with), else 0.
    static func staleHeartbeatSQL(_ dialect: SQLDialect) -> String {
        "CASE WHEN heartbeat_at IS NULL OR heartbeat_at < \(dialect.timestamp(secondsAgo: "?")) THEN 1 ELSE 0 END"
    }

    /// Scans /proc for a process with this start time in this PID namespace.
    private static func anyProcess(startedAt startTime: Int64, in namespace: String) -> Verdict {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return .unknown }
        var verdict = Verdict.gone
        for entry in entries {
            guard Int32(entry) != nil, let stat = processStat(entry: entry), stat.startTime == startTime,
                  !hasEnded(state: stat.state) else { continue }
            switch pidNamespace(entry: entry) {
            case namespace?: return .alive
            case nil: verdict = .unknown  // a process started at that tick that we may not inspect
            default: continue
            }
        }
        return verdict
    }

    /// Whether a process with this pid exists on this host (EPERM: it exists, owned by someone else)
    /// and has not ended: a zombie answers `kill(pid, 0)`, so /proc (when it numbers our namespace's
    /// pids) tells whether it has.
    static func processIsAlive(_ pid: Int32) -> Bool {
        guard pid > 0, kill(pid, 0) == 0 || errno != ESRCH else { return false }
        if procShowsOwnNamespace, let stat = processStat(entry: "\(pid)"), hasEnded(state: stat.state) { return false }
        return true
    }
}

extension WorkerLiveness.Holder {
    /// From a row with the `runs` columns host, pid, boot_id, process_start and pid_namespace.
    init(row: SQLRow) {
        self.init(host: row.get("host"), pid: row.get("pid"), bootID: row.get("boot_id"),
                  startTime: row.get("process_start"), pidNamespace: row.get("pid_namespace"))
    }
}
