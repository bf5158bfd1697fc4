// How both executables say on stderr that the PostgreSQL server was lost and is back: one wording,
// so that a fix to one tool's reaches the other.
import Foundation
import Store

public enum ConnectionNotices {
    /// A PostgreSQL store's reconnection that says "lost the connection to SERVER (REASON); WHILE_DOWN"
    /// once per outage and "reconnected to SERVER after N.N s" once back, each one line through
    /// `write` (which adds the tool's prefix, if any). `giveUpAfter`: seconds before an operation
    /// fails (nil: the store's default); `shouldGiveUp`: asked between attempts (Ctrl-C).
    public static func reconnection(server: String, giveUpAfter: TimeInterval? = nil, whileDown: String,
                                    write: @escaping @Sendable (String) -> Void,
                                    shouldGiveUp: @escaping @Sendable () -> Bool) -> SlopeStore.PostgresReconnection {
        var reconnection = SlopeStore.PostgresReconnection(
            onLost: { reason in write("lost the connection to \(server) (\(reason)); \(whileDown)") },
            // The server's name is not part of the format: a `%` in it is text.
            onReconnected: { seconds in write("reconnected to \(server) after " + String(format: "%.1f s", seconds)) },
            shouldGiveUp: shouldGiveUp)
        if let giveUpAfter { reconnection.giveUpAfter = giveUpAfter }
        return reconnection
    }
}
