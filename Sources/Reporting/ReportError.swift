// Reporting's one error type: every case renders as one line that says what was wrong and how to fix it.
import Foundation
import Store

public enum ReportError: Error, Equatable, CustomStringConvertible {
    case invalidExpression(String, reason: String)
    case unknownColumn(String, valid: [String])
    case unknownRun(Int64)
    case unknownSweep(Int64)
    case noRuns(String)
    case noData(String)
    case invalidArgument(String)
    case inspection(String)
    case output(String)

    /// The database holds no run at all.
    static let emptyDatabase = ReportError.noRuns("the database has no runs yet (start one with `runner train` or `runner sweep`)")
    /// An export whose connection was lost after part of it was written (it is not written twice).
    static let exportCutShort = ReportError.noData("the connection to the server was lost after part of the export was written, "
        + "so the output is incomplete: run the export again")

    /// A sweep with no run, or none that matches the `--where` filter: every command's message. A
    /// sampled (tpe) sweep makes its trials as workers ask for them: before the first, how to start one.
    static func noRuns(in sweep: SlopeStore.SweepRecord, filtered: Bool) -> ReportError {
        if filtered { return .noRuns("no run of sweep \(sweep.id) matches the filter") }
        let sampled = sweep.head.method == "tpe"
        return .noRuns("sweep \(sweep.id) has no runs yet" + (sampled ? " (a tpe sweep samples each trial when a worker asks for one: "
            + "start one with `\(CommandHint.command("runner work --sweep \(sweep.id)"))`)" : ""))
    }

    /// Bad input (exit status 2): an expression, a column or an argument; the rest are runtime errors (1).
    public var isUsageError: Bool {
        switch self {
        case .invalidExpression, .unknownColumn, .invalidArgument: return true
        case .unknownRun, .unknownSweep, .noRuns, .noData, .inspection, .output: return false
        }
    }

    public var description: String {
        switch self {
        case .invalidExpression(let text, let reason):
            return "invalid expression \(oneLine(text)): \(reason)"
        case .unknownColumn(let name, let valid):
            return "unknown column \(oneLine(name, quote: "'")); valid columns: \(valid.joined(separator: ", "))"
        case .unknownRun(let id):
            return "no run with id \(id) in this database (list them with `\(CommandHint.command("report runs"))`)"
        case .unknownSweep(let id):
            return "no sweep with id \(id) in this database (list them with `\(CommandHint.command("report sweeps"))`)"
        case .noRuns(let detail): return detail
        case .noData(let detail): return detail
        case .invalidArgument(let detail): return detail
        case .inspection(let detail): return "cannot inspect the run: \(detail)"
        case .output(let detail): return "cannot write output: \(detail)"
        }
    }

    /// User text quoted on one line (`shownText`: control and bidi characters made visible), its
    /// first 120 characters when it is longer (a 10,000-term expression is not repeated back).
    private func oneLine(_ text: String, quote: Character = "\"") -> String { shownText(text, limit: 120, quote: quote) }
}
