// The database the dashboard reads, as it is now: a SQLite file deleted, replaced or written over
// while the dashboard runs (`rm` and a new sweep, a copy moved over it or `cp` onto it) is opened
// again at its path, since the connections opened before go on reading the old file (or their
// cached pages of it); until it can be, requests get a 503 saying so.
import Foundation
import Store

final class CurrentDatabase: @unchecked Sendable {  // `current` and `generation` are read and replaced under `lock`
    private let lock = NSLock()
    private var current: DashboardData
    /// How many times `current` was replaced: a reopen made from an older one is dropped.
    private var generation = 0

    init(_ data: DashboardData) {
        current = data
    }

    /// The data of the file now at the database's path (one `stat` when it is the same file).
    /// The file is looked at and opened again outside the lock, so that a slow open (a new file
    /// locked by its writer, waited for up to the busy timeout) holds up no other request; when
    /// two requests reopen at once, the first one kept wins.
    /// - Throws: `DashboardError.database` (503) when the file was deleted or replaced and what
    ///   is at its path now cannot be opened (nothing, or not a Slope database): asked again with
    ///   every request, so the dashboard serves the new file once it is there.
    func data() throws -> DashboardData {
        let (seen, seenGeneration) = lock.withLock { (current, generation) }
        guard let change = seen.queries.fileChange() else { return seen }
        let reopened: RunQueries
        do {
            reopened = try seen.queries.reopened()
        } catch {
            throw DashboardError.database("\(change) since the dashboard opened it, and what is at its path now cannot be opened "
                + "(\(error)); the dashboard opens it again once it is a Slope database")
        }
        return lock.withLock {
            if generation == seenGeneration {
                current.queries = reopened
                generation += 1
            }
            return current
        }
    }

    /// The change token of the database at its path (SQLite: of the file there now, whichever
    /// was opened). Read before `read` looks at the file, so that an answer is never cached under
    /// the token of a newer file than the one it was read from.
    func changeToken() throws -> String {
        try lock.withLock { current }.queries.changeToken()
    }

    /// `body` over the data of the database as it is now (`data()`). When `body` fails and the
    /// file was written over meanwhile (a `cp` over it while it was read: its pages look damaged),
    /// it runs again on the file now there, rather than call a healthy file damaged. When it fails
    /// because tables are gone (a PostgreSQL database dropped and made again empty), the error
    /// says what opening the database would (`RunQueries.schemaError`), as the commands do.
    func read<T>(_ body: (DashboardData) throws -> T) throws -> T {
        let data = try data()
        do {
            return try body(data)
        } catch where data.queries.fileChange() != nil {
            return try body(try self.data())
        } catch {
            throw data.queries.schemaError(explaining: error) ?? error
        }
    }
}
