// How a run is named in progress lines (`RunConfiguration.label`) and its numbers in pruning reasons.
import Foundation
import Store

/// A loss (or accuracy) in a pruning reason, as report's tables show numbers (`formatNumber`).
func formatLoss(_ value: Double) -> String { formatNumber(value) }

extension RunConfiguration {
    /// The key hyperparameters, for progress lines: `lr=0.01 batch=16 seed=0 64-64-10`, plus the
    /// other settings the sweep varies by their column names (`activation=tanh`, `weight_decay=0.01`),
    /// read from this configuration through the settings registry (`RunColumn.configKey`).
    public func label(showing varied: [Setting] = []) -> String {
        // Numbers as report's tables show them (`formatNumber`): a momentum of 0.9999999999999999 never reads as 1.
        var parts = ["lr=\(formatNumber(training.learningRate))", "batch=\(training.batchSize)", "seed=\(training.seed)"]
        if training.momentum > 0 && !varied.contains(.momentum) { parts.append("momentum=\(formatNumber(training.momentum))") }
        let stored = (try? JSONSerialization.jsonObject(with: Data(json().utf8))) as? [String: Any] ?? [:]
        for setting in varied where ![.learningRate, .batchSize, .seed, .hidden].contains(setting) {  // shown already
            guard let column = RunColumn.setting(named: setting.rawValue), let key = column.configKey else { continue }
            var value: Any? = stored
            for part in key.split(separator: ".") { value = (value as? [String: Any])?[String(part)] }
            let text: String
            if value == nil || value is NSNull {
                text = "default"  // unset: no early stopping, the activation's initialization...
            } else if column.valueKind == .boolean, let flag = value as? Bool {
                text = String(flag)
            } else if let whole = value as? Int {
                text = String(whole)
            } else if let number = value as? Double {
                text = formatNumber(number)
            } else {
                text = "\(value!)"
            }
            parts.append("\(column.rawValue)=\(text)")
        }
        parts.append(training.layerSizes.map(String.init).joined(separator: "-"))
        return parts.joined(separator: " ")
    }
}
