// What the PostgreSQL store does when its connection to the server is lost (a server restart, the
// network): it reconnects with backoff and runs the interrupted transaction again, telling its
// caller (through callbacks: libraries never print) that it is waiting and when it is back.
import Foundation

extension SlopeStore {
    /// How a PostgreSQL store rides out a lost connection. A transaction interrupted before its
    /// COMMIT is run again once reconnected (the server rolled it back); one whose COMMIT's answer
    /// was lost is first checked on the server, so it is neither lost nor done twice.
    public struct PostgresReconnection: Sendable {
        /// Seconds to keep trying to reconnect before the operation fails with `.cannotConnect`.
        public var giveUpAfter: TimeInterval
        /// Told once per outage (however many threads meet it), on the waiting thread, that the
        /// connection was lost (the reason, without the password) and that the store is reconnecting.
        public var onLost: @Sendable (_ reason: String) -> Void
        /// Told once reconnected (by the first transaction that succeeds after the outage, even when
        /// those that met it gave up), with the seconds since it was met.
        public var onReconnected: @Sendable (_ seconds: TimeInterval) -> Void
        /// Asked between attempts: true ends the wait (Ctrl-C), and the operation fails.
        public var shouldGiveUp: @Sendable () -> Bool

        public init(giveUpAfter: TimeInterval = 600,
                    onLost: @escaping @Sendable (_ reason: String) -> Void = { _ in },
                    onReconnected: @escaping @Sendable (_ seconds: TimeInterval) -> Void = { _ in },
                    shouldGiveUp: @escaping @Sendable () -> Bool = { false }) {
            self.giveUpAfter = giveUpAfter
            self.onLost = onLost
            self.onReconnected = onReconnected
            self.shouldGiveUp = shouldGiveUp
        }

        /// The pause before reconnection attempt `attempt` (0, 1, 2...): 50 ms doubling up to 2 s,
        /// each with up to a quarter more at random, so that many workers do not knock at once.
        static func backoff(attempt: Int) -> TimeInterval {
            let base = min(0.05 * pow(2, Double(min(attempt, 10))), 2)
            return base * Double.random(in: 1...1.25)
        }
    }
}
