// Whether the role connected owns Slope's tables, or may only read them: on a PostgreSQL server the
// owner queues, workers log in as another role and `report` may use a read-only one
// (docs/distributed.md, Roles); an SQLite file has no roles.
import Foundation

extension SlopeStore {
    /// True when the connection's role owns Slope's `runs` table (the role that created the
    /// tables, `slope_owner` in docs/distributed.md); always true on an SQLite file.
    public func connectedRoleOwnsTables() throws -> Bool {
        guard backend.dialect == .postgres else { return true }
        return try read { connection in
            let rows = try connection.rows("""
                SELECT count(*) FROM pg_tables
                WHERE schemaname = current_schema() AND tablename = 'runs' AND tableowner = current_user
                """, [])
            return rows.first.flatMap { Int64(sqlValue: $0[0]) } == 1
        }
    }
}

extension RunQueries {
    /// The connected role's name when it may not write Slope's runs (a read-only role such as
    /// docs/distributed.md's `slope_reader`), so that a hint to run `runner` does not hand it a URL
    /// that cannot write; nil when it may, and on an SQLite file (newuser16 N1).
    public func readOnlyRoleName() throws -> String? {
        guard dialect == .postgres else { return nil }
        return try read { connection in
            let rows = try connection.rows("SELECT current_user::text, CASE WHEN has_table_privilege('runs', 'UPDATE') THEN 1 ELSE 0 END", [])
            guard let row = rows.first, Int64(sqlValue: row[1]) == 0 else { return nil }
            return String(sqlValue: row[0]) ?? "?"
        }
    }
}
