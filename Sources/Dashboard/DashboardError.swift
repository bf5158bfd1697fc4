// The Dashboard module's one error type: each case is a one-line message and an HTTP status,
// sent to the client as {"error": "..."}.
import Foundation
import Hummingbird
import Reporting
import Store

public enum DashboardError: Error, Equatable, CustomStringConvertible {
    /// A bad parameter: names the parameter and what it accepts.
    case badParameter(String)
    case notFound(String)
    case unauthorized
    /// A Host header that is not a loopback name (quoted), or none (nil), without a token.
    case forbiddenHost(String?)
    case methodNotAllowed(String)
    /// The database could not answer (busy, damaged, gone): its one-line message.
    case database(String)
    /// A row the database holds that Slope cannot have written (`StoreError.damagedTensor`): asking
    /// again does not help, unlike `.database`.
    case damagedData(String)
    /// The database answered, but the request read more of it than fits in the time a request is
    /// answered within (a 503 too: the same request may fit once the machine is less busy): its message, with how to ask for less.
    case tooLong(String)
    /// The server could not start (the address is taken, not an address).
    case cannotServe(String)

    public var description: String {
        switch self {
        case .badParameter(let detail): return detail
        case .notFound(let detail): return detail
        case .unauthorized:
            return "this dashboard needs its token: open the address `report serve` printed (it carries ?token=...), or send the header Authorization: Bearer TOKEN"
        case .forbiddenHost(let host?):
            return "requests must name the dashboard's own address, not the host \(host) (open the address `report serve` printed)"
        case .forbiddenHost(nil):
            return "requests must name the dashboard's own address in a Host header, and this one has none (open the address `report serve` printed)"
        case .methodNotAllowed(let method): return "method \(method) is not allowed: the dashboard is read-only (GET and HEAD)"
        case .database(let detail): return "cannot read the database: \(detail)"
        case .damagedData(let detail): return detail
        case .tooLong(let detail): return "the request took too long: \(detail)"
        case .cannotServe(let detail): return detail
        }
    }

    var status: HTTPResponse.Status {
        switch self {
        case .badParameter: return .badRequest
        case .notFound: return .notFound
        case .unauthorized: return .unauthorized
        case .forbiddenHost: return .forbidden
        case .methodNotAllowed: return .methodNotAllowed
        case .database, .tooLong: return .serviceUnavailable
        case .damagedData: return .internalServerError
        case .cannotServe: return .internalServerError
        }
    }

    /// Reporting's and Store's errors as the dashboard reports them.
    static func from(_ error: ReportError) -> DashboardError {
        switch error {
        case .unknownRun, .unknownSweep, .noRuns, .noData: return .notFound(error.description)
        default: return .badParameter(error.description)
        }
    }
}
