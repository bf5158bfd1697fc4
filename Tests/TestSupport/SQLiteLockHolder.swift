// A connection that keeps an SQLite database's exclusive lock until released: every other
// connection (in this process or another) meets SQLITE_BUSY and waits for its busy timeout, as
// behind a writer stopped inside a write. For tests of what waits for a database that does not answer.
import Foundation
import GRDB

public final class SQLiteLockHolder {
    private let queue: DatabaseQueue

    /// Opens the database at `path` (a Slope database in WAL mode) in exclusive locking mode and
    /// writes to it: the lock its write takes is kept until `release()`.
    public init(path: String) throws {
        var configuration = Configuration()
        // Before the connection's first read: in WAL mode the lock on the file is then taken and
        // kept, with no shared-memory index other connections could read through.
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA locking_mode = EXCLUSIVE") }
        queue = try DatabaseQueue(path: path, configuration: configuration)
        try queue.writeWithoutTransaction { db in try db.execute(sql: "UPDATE sweeps SET name = name") }
    }

    /// Ends the lock (closes the connection).
    public func release() throws {
        try queue.close()
    }
}
