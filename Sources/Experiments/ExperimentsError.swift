// The one error type of Experiments: bad data files, sweep specs, settings and
// run states. Each message names what was wrong (file, line, column, field) and
// what is accepted, so the `runner` executable can print it as it is.
import Foundation
import Store

public enum ExperimentsError: Error, CustomStringConvertible, Equatable {
    /// A data file that cannot be used; line and column when they are known.
    case badData(file: String, line: Int?, column: String?, reason: String)
    /// A dataset name that is neither a built-in nor an existing file.
    case unknownDataset(String)
    /// A sweep spec or setting that is invalid: `field` is its path (`parameters.learning_rate.values[1]`).
    case badSetting(field: String, reason: String)
    /// A value an option or argument of the executables does not take (`AcceptedValues`):
    /// `option` is "--jobs", or "<run>" for an argument.
    case valueNotAccepted(option: String, value: String, expected: String)
    /// A sweep spec file that cannot be read or parsed as YAML.
    case badSpecFile(path: String, reason: String)
    /// An `--init-weights` file that does not fit the network.
    case badInitialWeights(file: String, reason: String)
    /// A file a stored run names (its CSV data, its initial weights) missing where this process
    /// looks for it, or changed since the run was queued (its sha256 differs): a condition of the
    /// process (started in another folder, a file moved or edited), not of the run, which a worker
    /// puts back in the queue.
    case storedInputUnavailable(file: String, reason: String)
    /// Nothing to do, or a run that cannot be resumed.
    case notFound(String)
    /// A stored run whose configuration or tensors cannot be used (to resume, inspect or evaluate it).
    case corruptRun(runID: Int64, reason: String)
    /// A sweep whose stored spec (`sweeps.spec`) is not a valid spec: `reason` names the field.
    case corruptSweep(sweepID: Int64, reason: String)
    /// Recording a sweep or run failed as a whole (one transaction): nothing was queued.
    case notQueued(reason: String)
    /// The memory a run needs could not be allocated in this process.
    case outOfMemory(String)
    /// A TPE sampler's kept runs of a sweep and the runs it read do not add up to the sweep's runs
    /// (internal: the claim is made again reading every run; see `TrialHistory`).
    case staleTrialHistory

    public var description: String {
        switch self {
        case let .badData(file, line, column, reason):
            var location = file
            if let line { location += ", line \(line)" }
            if let column { location += ", column \(column)" }
            return "\(location): \(reason)"
        case let .unknownDataset(name):
            return "unknown dataset '\(shownText(name, limit: 200))': not a file, and not a built-in (\(BuiltInDataset.allNames.joined(separator: ", "))); see `runner datasets`"
        case let .badSetting(field, reason):
            return "\(field): \(reason)"
        case let .valueNotAccepted(option, value, expected):
            // As a bad setting is worded; an argument of ids is named: "the run id '-1' is not accepted; ...".
            let shown = "'\(shownText(value))' is not accepted; expected \(expected)"
            guard option.hasPrefix("<") else { return "\(option): \(shown)" }
            let name = option.dropFirst().dropLast()
            return "the \(name)\(name.hasSuffix("id") ? "" : " id") \(shown)"
        case let .badSpecFile(path, reason):
            return "\(path): \(reason)"
        case let .badInitialWeights(file, reason):
            return "\(file): \(reason)"
        case let .storedInputUnavailable(file, reason):
            return "\(file): \(reason)"
        case let .notFound(message):
            return message
        case let .corruptRun(runID, reason):
            return "run \(runID) cannot be used: \(reason)"
        case let .corruptSweep(sweepID, reason):
            return "sweep \(sweepID) cannot be used: its stored spec is not valid: \(reason); correct it in the database "
                + "(docs/sweeps.md, How it is stored) or queue the sweep again"
        case let .notQueued(reason):
            return reason
        case let .outOfMemory(message):
            return message
        case .staleTrialHistory:
            return "the runs of a TPE sweep changed while a trial was sampled; sample again"
        }
    }

    /// True for errors in what the user gave (flags, spec, files): exit status 2.
    public var isUsageError: Bool {
        switch self {
        case .badData, .unknownDataset, .badSetting, .valueNotAccepted, .badSpecFile, .badInitialWeights, .storedInputUnavailable: return true
        case .notFound, .corruptRun, .corruptSweep, .notQueued, .outOfMemory, .staleTrialHistory: return false
        }
    }
}
