// The threads the dashboard's database work runs on. Every database call blocks its thread
// (SQLite's, PostgreSQL's through the store, a reopen, a server that is down and waited for), so
// none runs on Swift's cooperative pool (one thread per core), which answers every request: the
// pages and scripts never wait for the database, and each API request is answered in bounded time.
import Foundation
import Store

final class DatabaseThreads: @unchecked Sendable {  // `waiting`, `threads` and `idle` are guarded by `condition`
    /// Threads at most: as many as the PostgreSQL store's connections (and GRDB's readers), so
    /// that no thread waits for a connection that another one holds.
    let maximumThreads: Int
    /// Seconds after its arrival by which every request is answered: when its work has not
    /// finished by then (still waiting for a thread, or waiting for the database), a 503 says so,
    /// and work that had not started is never run.
    let answerWithin: TimeInterval
    /// Seconds an idle thread waits for more work before it ends (none is left running for good).
    let idleLifetime: TimeInterval

    private let condition = NSCondition()
    private var waiting: [any Runnable] = []
    private var threads = 0, idle = 0

    init(maximumThreads: Int = 4, answerWithin: TimeInterval, idleLifetime: TimeInterval = 5) {
        self.maximumThreads = max(1, maximumThreads)
        self.answerWithin = answerWithin
        self.idleLifetime = idleLifetime
    }

    /// `body`'s result, computed on one of these threads in the order of arrival. `body` calls the
    /// function it is given once the database has answered it (a read transaction has begun).
    /// - Throws: what `body` throws, or when there is no result within `answerWithin` seconds
    ///   (`body` may go on running: its result is then dropped): `DashboardError.tooLong` with
    ///   `narrowing` (how to ask for less) when the database had answered, so that the time went
    ///   into reading what the request asks for; else `DashboardError.database` (it did not answer).
    func run<T: Sendable>(narrowing: String = DatabaseThreads.defaultNarrowing,
                          _ body: @escaping @Sendable (_ readBegun: @escaping @Sendable () -> Void) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let job = Job(body, continuation)
            condition.withLock {
                waiting.append(job)
                if idle > 0 {
                    condition.signal()
                } else if threads < maximumThreads {
                    do {
                        try SystemThread.start(for: "reading the database", name: "slope.dashboard.database") { [self] in work() }
                        threads += 1
                    } catch {
                        // Refused (a memory limit): with no thread to read, the request fails now with the reason
                        // (not at its deadline, blaming the database); else a running thread takes it.
                        if threads == 0 {
                            waiting.removeAll { $0 === job }
                            job.finish(.failure(DashboardError.database("\(error)")))
                        }
                    }
                }
            }
            DispatchQueue.global().asyncAfter(deadline: .now() + answerWithin) { [self] in
                if job.hasRead {
                    return job.finish(.failure(DashboardError.tooLong(
                        "no answer within \(Self.seconds(answerWithin)): the database answers, but this request reads more of it "
                        + "than fits in that time (a large sweep or a long run): \(narrowing)")))
                }
                job.finish(.failure(DashboardError.database(
                    "no answer within \(Self.seconds(answerWithin)) (a PostgreSQL server that is down or does not answer, a file "
                    + "locked by another process, or a slow query; \(waitingCount) more requests waiting): the dashboard answers "
                    + "again once the database does, and open pages retry by themselves")))
            }
        }
    }

    /// How to ask for less, unless a route says better.
    static let defaultNarrowing = "ask for less (narrow the runs with where=, or a smaller limit=)"

    /// How many requests wait for a thread (said in the 503 of one that waited too long).
    var waitingCount: Int { condition.withLock { waiting.count } }

    /// One thread: runs the waiting work first come first served; ends after `idleLifetime` without any.
    private func work() {
        condition.lock()
        while true {
            if waiting.isEmpty {
                idle += 1
                let woken = condition.wait(until: Date().addingTimeInterval(idleLifetime))
                idle -= 1
                if !woken && waiting.isEmpty { break }
                continue
            }
            let job = waiting.removeFirst()
            condition.unlock()
            job.run()
            condition.lock()
        }
        threads -= 1
        condition.unlock()
    }

    static func seconds(_ value: TimeInterval) -> String {
        value == value.rounded() ? "\(Int(value)) s" : "\(value) s"
    }
}

private protocol Runnable: AnyObject, Sendable {
    func run()
}

/// One request's work and the request waiting for it: answered once, by the work or by the deadline.
private final class Job<T: Sendable>: Runnable, @unchecked Sendable {  // `continuation` and `read` are guarded by `lock`
    private let lock = NSLock()
    private var continuation: CheckedContinuation<T, Error>?
    private var read = false
    private let body: @Sendable (_ readBegun: @escaping @Sendable () -> Void) throws -> T

    init(_ body: @escaping @Sendable (_ readBegun: @escaping @Sendable () -> Void) throws -> T, _ continuation: CheckedContinuation<T, Error>) {
        self.body = body
        self.continuation = continuation
    }

    /// Whether the work has begun a read transaction: the database answered it.
    var hasRead: Bool { lock.withLock { read } }

    /// Answers the request, unless it was answered already.
    func finish(_ result: Result<T, Error>) {
        let waiting: CheckedContinuation<T, Error>? = lock.withLock {
            defer { continuation = nil }
            return continuation
        }
        waiting?.resume(with: result)
    }

    /// Runs the work, unless its request was answered already (its deadline passed while it waited).
    func run() {
        guard lock.withLock({ continuation != nil }) else { return }
        finish(Result { try body({ [self] in lock.withLock { read = true } }) })
    }
}
