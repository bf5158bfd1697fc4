// NeuralNet's one error type: a bad configuration, dataset, parameters or argument, said in one line.

public enum NeuralNetError: Error, CustomStringConvertible, Equatable {
    case invalidConfiguration(field: String, value: String, reason: String)
    case invalidDataset(reason: String)
    case datasetMismatch(reason: String)
    case invalidParameters(reason: String)
    case invalidState(reason: String)
    case invalidArgument(name: String, value: String, reason: String)

    public var description: String {
        switch self {
        case let .invalidConfiguration(field, value, reason):
            return "invalid \(field) \(value): \(reason)"
        case let .invalidDataset(reason):
            return "invalid dataset: \(reason)"
        case let .datasetMismatch(reason):
            return "dataset does not fit the network: \(reason)"
        case let .invalidParameters(reason):
            return "invalid parameters: \(reason)"
        case let .invalidState(reason):
            return "cannot resume: \(reason)"
        case let .invalidArgument(name, value, reason):
            return "invalid \(name) \(value): \(reason)"
        }
    }
}
