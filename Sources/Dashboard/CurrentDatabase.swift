// The database the dashboard reads, as it is now: a SQLite file deleted or replaced while the
// dashboard runs (`rm` and a new sweep, a copy over it) is opened again at its path, since the
// connections opened before go on reading the old file; until it can be, requests get a 503 saying so.
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
}
