// How a run is named in progress lines (`RunConfiguration.label`).
import Foundation
import Store

extension RunConfiguration {
    /// The key hyperparameters, for progress lines: `lr=0.01 batch=16 seed=0 64-64-10`, plus the
    /// other settings the sweep varies by their column names (`activation=tanh`, `weight_decay=0.01`),
    /// read from this configuration through the settings registry (`RunColumn.configKey`).
    public func label(showing varied: [Setting] = []) -> String {
        // Numbers as report's tables show them (`formatNumber`): a momentum of 0.9999999999999999 never reads as 1.
        var parts = ["lr=\(formatNumber(training.learningRate))", "batch=\(training.batchSize)", "seed=\(training.seed)"]
        if training.momentum > 0 && !varied.contains(.momentum) { parts.append("momentum=\(formatNumber(training.momentum))") }
        // JSONDecoder reads every number exactly (JSONSerialization on Linux read 0.9999999999999999 as 1).
        let stored = try? JSONDecoder().decode(StoredValue.self, from: Data(json().utf8))
        for setting in varied where ![.learningRate, .batchSize, .seed, .hidden].contains(setting) {  // shown already
            guard let column = RunColumn.setting(named: setting.rawValue), let key = column.configKey else { continue }
            var value = stored
            for part in key.split(separator: ".") {
                guard case let .object(members)? = value else { value = nil; break }
                value = members[String(part)]
            }
            parts.append("\(column.rawValue)=\(value?.text ?? "default")")  // unset: no early stopping, the activation's initialization...
        }
        parts.append(training.layerSizes.map(String.init).joined(separator: "-"))
        return parts.joined(separator: " ")
    }
}

/// A value of a stored configuration's JSON, as the label shows it.
private indirect enum StoredValue: Decodable {
    case null, flag(Bool), whole(Int64), number(Double), text(String), list([StoredValue]), object([String: StoredValue])

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let flag = try? container.decode(Bool.self) {
            self = .flag(flag)
        } else if let whole = try? container.decode(Int64.self) {
            self = .whole(whole)  // seeds up to 2^63 - 1 stay exact
        } else if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else if let text = try? container.decode(String.self) {
            self = .text(text)
        } else if let list = try? container.decode([StoredValue].self) {
            self = .list(list)
        } else {
            self = .object(try container.decode([String: StoredValue].self))
        }
    }

    /// Nil for null (the setting is unset).
    var text: String? {
        switch self {
        case .null: return nil
        case let .flag(flag): return String(flag)
        case let .whole(whole): return String(whole)
        case let .number(number): return formatNumber(number)
        case let .text(text): return text
        case let .list(items): return items.map { $0.text ?? "null" }.joined(separator: ",")
        case .object: return "{...}"
        }
    }
}
