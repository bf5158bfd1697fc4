// The dashboard's response cache: JSON bodies kept per request (path and query) for as long as the
// database's change token stays the same, so the polls of many open pages cost a lookup, not queries.
import Foundation
import Hummingbird

/// Bodies of successful JSON answers, valid for one change token. A new token empties the cache
/// (every answer may have changed); an entry also expires after `maximumAge` seconds, so an answer
/// never outlives a commit the token might not show (two commits of equal size within one tick of
/// the file system's clock) by more than that. Bounded in entries and bytes.
final class ResponseCache: @unchecked Sendable {  // every field is read and written under `lock`
    struct Statistics: Equatable { var hits = 0, misses = 0 }

    let maximumEntries: Int
    let maximumBytes: Int
    let maximumAge: TimeInterval
    /// Seconds on a monotonic clock (injectable for tests).
    let now: @Sendable () -> TimeInterval

    private let lock = NSLock()
    private var token: String?
    private var entries: [String: (body: ByteBuffer, storedAt: TimeInterval)] = [:]
    private var bytes = 0
    private var counts = Statistics()

    init(maximumEntries: Int = 1000, maximumBytes: Int = 64 << 20, maximumAge: TimeInterval = 1,
         now: @escaping @Sendable () -> TimeInterval = { ProcessInfo.processInfo.systemUptime }) {
        self.maximumEntries = maximumEntries
        self.maximumBytes = maximumBytes
        self.maximumAge = maximumAge
        self.now = now
    }

    var statistics: Statistics { lock.withLock { counts } }

    /// The cached body for `key` under `token`, else `compute()`'s, stored for the next request.
    /// `token` must be read before `compute` reads the database: an answer then never claims to be
    /// newer than it is (a commit in between only makes the next request miss).
    func body(for key: String, token: String, compute: () throws -> ByteBuffer) rethrows -> ByteBuffer {
        let started = now()
        let cached: ByteBuffer? = lock.withLock {
            if self.token != token {
                self.token = token
                entries.removeAll(keepingCapacity: true)
                bytes = 0
            }
            if let entry = entries[key], started - entry.storedAt < maximumAge {
                counts.hits += 1
                return entry.body
            }
            counts.misses += 1
            return nil
        }
        if let cached { return cached }
        let body = try compute()
        lock.withLock {
            guard self.token == token, body.readableBytes <= maximumBytes / 4 else { return }
            if let old = entries.removeValue(forKey: key) { bytes -= old.body.readableBytes }
            if entries.count >= maximumEntries || bytes + body.readableBytes > maximumBytes {
                entries.removeAll(keepingCapacity: true)  // rare (many distinct requests): start again
                bytes = 0
            }
            entries[key] = (body, started)
            bytes += body.readableBytes
        }
        return body
    }
}
