// Which `running` runs have lost their worker: the read side of the take-over rule that
// `runner resume` acts on (WorkerLiveness.isGone), shared by `report` and the dashboard so that
// a sweep whose worker died is shown as stalled, not as training.
import Foundation

extension SlopeStore {
    /// Seconds without a heartbeat after which a run held on another host (or in a container this
    /// host cannot look into) counts as interrupted: `runner resume --stale-after`'s default, and
    /// the limit `report` and the dashboard show stalled runs by. Workers beat every 30 seconds.
    public static let defaultStaleAfter: TimeInterval = 300
}

/// A `running` run whose worker is gone: nobody trains it until `runner resume` takes it over.
public struct StalledRun: Equatable, Sendable {
    public var runID: Int64
    public var sweepID: Int64?
    /// The last heartbeat as stored (ISO-8601 UTC text); nil when none was recorded.
    public var heartbeatAt: String?
    /// Seconds from the last heartbeat to now, by the database's clock; nil without a heartbeat.
    public var heartbeatAge: Double?

    public init(runID: Int64, sweepID: Int64?, heartbeatAt: String?, heartbeatAge: Double?) {
        self.runID = runID
        self.sweepID = sweepID
        self.heartbeatAt = heartbeatAt
        self.heartbeatAge = heartbeatAge
    }
}

extension RunQueries {
    /// The `running` runs (of one sweep, or of the whole database when `sweepID` is nil) whose
    /// worker is gone by the take-over rule: on `observer`'s host its process no longer exists; on
    /// other hosts, or when this host cannot tell, its heartbeat is older than `staleAfter` seconds
    /// by the database's clock. By run id.
    /// - Complexity: one query over the `running` runs (the status index).
    public func stalledRuns(sweepID: Int64? = nil, staleAfter: TimeInterval = SlopeStore.defaultStaleAfter,
                            observer: WorkerIdentity = .current()) throws -> [StalledRun] {
        try read { c in
            var sql = """
                SELECT id, sweep_id, heartbeat_at, \(c.dialect.secondsSince("heartbeat_at")) AS heartbeat_age,
                       host, pid, boot_id, process_start, pid_namespace, \(WorkerLiveness.staleHeartbeatSQL(c.dialect)) AS stale
                FROM runs WHERE status = 'running'
                """
            var arguments: [SQLValue] = [.real(staleAfter)]
            if let sweepID { sql += " AND sweep_id = ?"; arguments.append(.integer(sweepID)) }
            return try c.rows(sql + " ORDER BY id", arguments).compactMap { row -> StalledRun? in
                guard let id = row.get("id", as: Int64.self),
                      WorkerLiveness.isGone(WorkerLiveness.Holder(row: row), heartbeatIsStale: row.get("stale", as: Int64.self) == 1,
                                            observer: observer) else { return nil }
                return StalledRun(runID: id, sweepID: row.get("sweep_id"), heartbeatAt: row.get("heartbeat_at"),
                                  heartbeatAge: row.get("heartbeat_age"))
            }
        }
    }
}
