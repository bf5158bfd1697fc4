// Whether the role connected owns Slope's tables: on a PostgreSQL server the owner queues and
// workers log in as another role (docs/distributed.md, Roles); an SQLite file has no roles.
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
