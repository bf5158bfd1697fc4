// Ranking configurations across seeds: runs that differ only by their seed are one configuration,
// ranked by its mean over the seeds (with the standard deviation and n), not by its luckiest run.
import Foundation
import Store

/// One configuration of a sweep and its runs (one per seed).
public struct SeedGroup: Equatable, Sendable {
    /// The group's runs in id order.
    public var runIDs: [Int64]
    /// The metric's values of the runs that have one, in id order.
    public var values: [Double]
    /// Runs without a value (failed or diverged, or not finished).
    public var missing: Int
    public var mean: Double
    /// Population standard deviation over the seeds (divided by n, as `report grid`'s `std`:
    /// `CellStatistics`); nil for a single value.
    public var standardDeviation: Double?
    /// The group's best run by the metric (nil when none has a value).
    public var bestRunID: Int64?
    /// True when two of its runs have the same seed (a search sampled the configuration again): its
    /// mean is then over runs, not over distinct seeds.
    public var repeatsASeed: Bool = false

    public var count: Int { values.count }
}

public enum SeedRanking {
    /// One run as the ranking sees it: `configuration` is what makes runs the same configuration
    /// (`configurationKey(configJSON:)`), `value` its metric (nil for failed, diverged or unfinished).
    public struct Entry: Sendable {
        public var id: Int64
        public var configuration: String
        public var value: Double?
        /// The run's training seed (nil when unknown): two equal ones in a group are said (`repeatsASeed`).
        public var seed: Int64?
        public init(id: Int64, configuration: String, value: Double?, seed: Int64? = nil) {
            self.id = id; self.configuration = configuration; self.value = value; self.seed = seed
        }
    }

    /// Groups the runs by configuration and ranks the groups, best first: groups where every run has
    /// a value come first (a configuration that diverged on one seed is not better for it), then by
    /// the mean over seeds, then by the first run's id.
    public static func rank(_ entries: [Entry], goal: Goal) -> [SeedGroup] {
        var order: [String] = []
        var members: [String: [Entry]] = [:]
        for entry in entries.sorted(by: { $0.id < $1.id }) {
            if members[entry.configuration] == nil { order.append(entry.configuration) }
            members[entry.configuration, default: []].append(entry)
        }
        let groups = order.map { key -> SeedGroup in
            let runs = members[key]!
            let values = runs.compactMap { $0.value.flatMap { $0.isFinite ? $0 : nil } }
            let statistics = CellStatistics(values)
            let mean = statistics?.mean ?? .nan
            let deviation = values.count < 2 ? nil : statistics?.standardDeviation
            let best = runs.filter { $0.value?.isFinite ?? false }
                .min { RunRanking.ranksBefore(($0.id, $0.value), ($1.id, $1.value), goal: goal) }
            let seeds = runs.compactMap(\.seed)
            return SeedGroup(runIDs: runs.map(\.id), values: values, missing: runs.count - values.count,
                             mean: mean, standardDeviation: deviation, bestRunID: best?.id,
                             repeatsASeed: Set(seeds).count < seeds.count)
        }
        return groups.sorted { left, right in
            let (leftComplete, rightComplete) = (left.missing == 0 && !left.values.isEmpty, right.missing == 0 && !right.values.isEmpty)
            if leftComplete != rightComplete { return leftComplete }
            if left.mean.isNaN != right.mean.isNaN { return !left.mean.isNaN }
            if left.mean != right.mean, !left.mean.isNaN { return goal.isBetter(left.mean, than: right.mean) }
            return left.runIDs[0] < right.runIDs[0]
        }
    }

    /// What makes two runs the same configuration: their stored `runs.config` without the training
    /// seed, the run's name and a search's `trial` (the sampler's values of the parameters, the
    /// seed's among them when it is one: the settings it chose are in the configuration already).
    /// Text that is not a JSON object is its own key.
    public static func configurationKey(configJSON: String) -> String {
        parsedConfigurationKey(configJSON) ?? configJSON
    }

    /// `configurationKey(configJSON:)` when the text is a JSON object (that serializes again), else nil.
    static func parsedConfigurationKey(_ configJSON: String) -> String? {
        guard var object = (try? JSONSerialization.jsonObject(with: Data(configJSON.utf8))) as? [String: Any] else { return nil }
        object["name"] = nil
        object["trial"] = nil
        if var training = object["training"] as? [String: Any] {
            training["seed"] = nil
            object["training"] = training
        }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    /// `configurationKey(configJSON:)` of many runs, with the JSON parsed and written again once per
    /// configuration rather than once per run (100,000 runs of a 2,500-configuration grid: most of
    /// `report best`'s time). Runs whose texts are equal but for the values of the top-level `name`
    /// and of `training.seed` (`ConfigurationText.pattern`) have the same key, since those are the
    /// values the key leaves out; the key is computed for the first of them and reused. A text the
    /// scan does not vouch for gets its key computed as before, so every key is the same as
    /// `configurationKey(configJSON:)` gives.
    public struct ConfigurationKeys {
        private var known: [String: String] = [:]
        /// How many texts were parsed as JSON (what the reuse saves: one per configuration, not per run).
        public private(set) var parsed = 0

        public init() {}

        public mutating func key(configJSON: String) -> String {
            parsed += 1
            guard let pattern = ConfigurationText.pattern(configJSON) else { return configurationKey(configJSON: configJSON) }
            if let key = known[pattern] { parsed -= 1; return key }
            // Not JSON after all: its own text, as configurationKey gives it, and never shared.
            guard let key = parsedConfigurationKey(configJSON) else { return configJSON }
            known[pattern] = key
            return key
        }
    }

    /// True when some configuration has more than one run: ranking by mean then says more than per run.
    public static func hasRepeatedConfigurations(_ groups: [SeedGroup]) -> Bool {
        groups.contains { $0.runIDs.count > 1 }
    }

    /// What the mean is over, as the reports say it: "seeds", or "runs" when some configuration ran
    /// twice with one seed (its runs then count each, not its distinct seeds).
    public static func meanOver(_ groups: [SeedGroup]) -> String {
        groups.contains(where: \.repeatsASeed) ? "runs, some repeating a seed" : "seeds"
    }
}

/// A scan of a run's configuration text that finds the values `SeedRanking.configurationKey` leaves
/// out (the top-level `name` and `training.seed`) without parsing the rest.
enum ConfigurationText {
    /// The text with those two values replaced by U+0001 (which valid JSON cannot hold outside an
    /// escape), or nil when the scan cannot vouch that two texts of one pattern differ only there:
    /// not an object, a key with an escape (it might spell `name` or `seed`), `name`, `training` or
    /// `seed` given twice, a `name` that is not a plain string (no escape) or null, a seed that is not
    /// a JSON number, something after the object. Two texts of one pattern, the first valid JSON,
    /// are then both valid JSON objects equal but for those two values.
    static func pattern(_ text: String) -> String? {
        var text = text
        return text.withUTF8 { bytes -> String? in
            var scanner = Scanner(bytes: bytes)
            guard let cuts = scanner.topLevel() else { return nil }
            var pattern: [UInt8] = []
            pattern.reserveCapacity(bytes.count)
            var start = 0
            for cut in cuts {
                pattern.append(contentsOf: bytes[start..<cut.lowerBound])
                pattern.append(1)
                start = cut.upperBound
            }
            pattern.append(contentsOf: bytes[start...])
            return String(decoding: pattern, as: UTF8.self)
        }
    }

    private struct Scanner {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        static let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\"), colon = UInt8(ascii: ":"), comma = UInt8(ascii: ",")
        static let openBrace = UInt8(ascii: "{"), closeBrace = UInt8(ascii: "}"), openBracket = UInt8(ascii: "["), closeBracket = UInt8(ascii: "]")

        var current: UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func skipSpace() {
            while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { index += 1 }
        }

        /// The top-level object: the ranges of the values left out, in text order; nil when not vouched for.
        mutating func topLevel() -> [Range<Int>]? {
            skipSpace()
            var cuts: [Range<Int>] = []
            var seen = Set<String>()
            let scanned = members { scanner, key in
                switch key {
                case "name":
                    guard seen.insert(key).inserted, let value = scanner.plainStringOrNull() else { return false }
                    cuts.append(value)
                    return true
                case "training":
                    guard seen.insert(key).inserted else { return false }
                    guard scanner.current == Self.openBrace else { return scanner.skipValue() }
                    var seedSeen = false
                    return scanner.members { scanner, key in
                        guard key == "seed" else { return scanner.skipValue() }
                        guard !seedSeen, let value = scanner.number() else { return false }
                        seedSeen = true
                        cuts.append(value)
                        return true
                    }
                default:
                    return scanner.skipValue()
                }
            }
            guard scanned else { return nil }
            skipSpace()
            return index == bytes.count ? cuts : nil
        }

        /// An object at `index`: calls `value` with each key (no escape in it) at its value; false when
        /// the object is not one the scan vouches for, or `value` says so.
        mutating func members(_ value: (inout Scanner, String) -> Bool) -> Bool {
            guard current == Self.openBrace else { return false }
            index += 1
            skipSpace()
            if current == Self.closeBrace { index += 1; return true }
            while true {
                skipSpace()
                guard let key = plainString() else { return false }
                skipSpace()
                guard current == Self.colon else { return false }
                index += 1
                skipSpace()
                guard value(&self, String(decoding: bytes[key], as: UTF8.self)) else { return false }
                skipSpace()
                if current == Self.comma { index += 1; continue }
                if current == Self.closeBrace { index += 1; return true }
                return false
            }
        }

        /// A string without escapes or control characters at `index`: the range of its characters.
        mutating func plainString() -> Range<Int>? {
            guard current == Self.quote else { return nil }
            let start = index + 1
            var end = start
            while end < bytes.count, bytes[end] != Self.quote {
                if bytes[end] == Self.backslash || bytes[end] < 0x20 { return nil }
                end += 1
            }
            guard end < bytes.count else { return nil }
            index = end + 1
            return start..<end
        }

        /// A plain string (with its quotes) or `null`: the range of the value.
        mutating func plainStringOrNull() -> Range<Int>? {
            let start = index
            if plainString() != nil { return start..<index }
            let null = Array("null".utf8)
            guard bytes.count - index >= 4, Array(bytes[index..<index + 4]) == null else { return nil }
            index += 4
            return start..<index
        }

        /// A JSON number (`-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`): the range of it.
        mutating func number() -> Range<Int>? {
            let start = index
            func isDigit(_ byte: UInt8?) -> Bool { byte.map { $0 >= 0x30 && $0 <= 0x39 } ?? false }
            if current == UInt8(ascii: "-") { index += 1 }
            guard isDigit(current) else { return nil }
            if current == 0x30 { index += 1 } else { while isDigit(current) { index += 1 } }
            if current == UInt8(ascii: ".") {
                index += 1
                guard isDigit(current) else { return nil }
                while isDigit(current) { index += 1 }
            }
            if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
                index += 1
                if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
                guard isDigit(current) else { return nil }
                while isDigit(current) { index += 1 }
            }
            return start..<index
        }

        /// Skips a value of any kind (kept as it is in the pattern, so not checked): strings with their
        /// escapes, nested objects and arrays. False when it runs past the end.
        mutating func skipValue() -> Bool {
            var depth = 0
            repeat {
                guard let byte = current else { return false }
                switch byte {
                case Self.quote:
                    index += 1
                    while let inner = current, inner != Self.quote { index += inner == Self.backslash ? 2 : 1 }
                    guard current != nil else { return false }
                    index += 1
                case Self.openBrace, Self.openBracket:
                    depth += 1; index += 1
                case Self.closeBrace, Self.closeBracket:
                    guard depth > 0 else { return false }
                    depth -= 1; index += 1
                default:
                    if depth > 0 { index += 1; continue }
                    // A scalar: up to the next separator.
                    while let inner = current, inner != Self.comma, inner != Self.closeBrace, inner != Self.closeBracket,
                          inner != 0x20, inner != 0x0A, inner != 0x0D, inner != 0x09 { index += 1 }
                }
            } while depth > 0
            return true
        }
    }
}
