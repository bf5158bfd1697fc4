// A small pool of PostgreSQL connections shared by the threads of one process (a worker trains
// on several): each transaction checks one out, and returns it when done.
import Foundation

final class PostgresSessionPool: @unchecked Sendable {  // every field is guarded by `condition`
    private let condition = NSCondition()
    private var idle: [PostgresSession] = []
    /// Sessions open: idle, checked out, or being connected.
    private var open = 0
    private var isClosed = false
    let maximumCount: Int
    let settings: PostgresSettings
    private let connect: @Sendable () throws -> PostgresSession

    /// - Parameters:
    ///   - first: a session already connected (the one that migrated the database), kept idle.
    ///   - connect: makes a new session (called without the lock held).
    init(settings: PostgresSettings, maximumCount: Int, first: PostgresSession?,
         connect: @escaping @Sendable () throws -> PostgresSession) {
        self.settings = settings
        self.maximumCount = max(1, maximumCount)
        self.connect = connect
        if let first {
            idle = [first]
            open = 1
        }
    }

    /// An idle session, a new one while fewer than `maximumCount` are open, or else the first one
    /// returned by another thread. Only one thread uses a session at a time.
    /// - Throws: `.cannotConnect` when a new session cannot be made; `.invalidValue` after `close()`.
    func checkout() throws -> PostgresSession {
        condition.lock()
        while true {
            if isClosed {
                condition.unlock()
                throw StoreError.invalidValue("the PostgreSQL store \(settings.description) is closed")
            }
            if let session = idle.popLast() {
                if session.isClosed {  // ended while idle (a server restart, an idle timeout): replace it quietly
                    open -= 1
                    condition.unlock()
                    session.close()
                    condition.lock()
                    continue
                }
                condition.unlock()
                return session
            }
            if open < maximumCount { break }
            condition.wait()
        }
        open += 1
        condition.unlock()
        do {
            return try connect()
        } catch {
            condition.lock()
            open -= 1
            condition.signal()
            condition.unlock()
            throw error
        }
    }

    /// Takes a session back; one whose connection has closed is dropped instead.
    func checkin(_ session: PostgresSession) {
        guard !session.isClosed else { return discard(session) }
        condition.lock()
        if isClosed {
            open -= 1
            condition.unlock()
            session.close()
            return
        }
        idle.append(session)
        condition.signal()
        condition.unlock()
    }

    /// Closes a session that cannot be used any more (its connection was lost) and frees its place.
    func discard(_ session: PostgresSession) {
        session.close()
        condition.lock()
        open -= 1
        condition.signal()
        condition.unlock()
    }

    /// Closes the idle sessions now and the others as they come back; checkouts then fail.
    func close() {
        condition.lock()
        isClosed = true
        let sessions = idle
        idle = []
        open -= sessions.count
        condition.broadcast()
        condition.unlock()
        for session in sessions { session.close() }
    }
}
