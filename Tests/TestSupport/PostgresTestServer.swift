// Where the tests find their PostgreSQL server: scripts/postgres-test-cluster (started by .ci/run)
// exports a superuser URL in SLOPE_TEST_POSTGRES_URL. Without it the PostgreSQL tests are
// skipped, or fail when CI is set (CI must have started the server).
import Foundation

public enum PostgresTestServer {
    public struct Missing: Error, CustomStringConvertible {
        public init() {}
        public var description: String {
            "SLOPE_TEST_POSTGRES_URL is not set but CI is: .ci/run must start the PostgreSQL test cluster (scripts/postgres-test-cluster start)"
        }
    }

    /// Why a PostgreSQL test is skipped without a server.
    public static let skipReason = "no PostgreSQL test server: SLOPE_TEST_POSTGRES_URL is not set (start one with: eval \"$(scripts/postgres-test-cluster start)\")"

    /// The superuser URL of the test server; nil when there is none (skip the test).
    /// - Throws: `Missing` when there is none but CI is set.
    public static func adminURL() throws -> String? {
        let environment = ProcessInfo.processInfo.environment
        guard let url = environment["SLOPE_TEST_POSTGRES_URL"], !url.isEmpty else {
            if environment["CI"] != nil { throw Missing() }
            return nil
        }
        return url
    }
}
