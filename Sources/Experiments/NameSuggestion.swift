// "Did you mean ...?" for names a user typed in a file (sweep file keys and settings) or on the
// command line (options, commands): the usual abbreviation of a setting, else the name the typed
// one begins, else the closest accepted name within a small edit distance.

public enum NameSuggestion {
    /// The abbreviations ML users type first (PyTorch, Keras, sklearn scripts), by the name they
    /// mean, written as `normalized` writes names.
    static let abbreviations: [String: String] = [
        "lr": "learning-rate", "learningrate": "learning-rate", "eta": "learning-rate",
        "bs": "batch-size", "batch": "batch-size", "batchsize": "batch-size",
        "wd": "weight-decay", "l2": "weight-decay",
        "epoch": "epochs", "layers": "hidden", "act": "activation", "opt": "optimizer",
    ]

    /// The accepted name `name` (case-insensitive; dashes and underscores alike, leading dashes
    /// ignored) most likely means: the one its usual abbreviation stands for (`--lr`: --learning-rate),
    /// else the first that starts with it (`--batch`: --batch-size, not the nearer --beta1), else the
    /// closest fewer than 4 edits away (ArgumentParser's threshold for flags; ties go to the earlier name).
    public static func closest(to name: String, among accepted: [String]) -> String? {
        let plain = normalized(name)
        if let meant = abbreviations[plain], let found = accepted.first(where: { normalized($0) == meant }) { return found }
        if plain.count >= 3, let found = accepted.first(where: { normalized($0).hasPrefix(plain) && normalized($0) != plain }) { return found }
        let typed = Array(name.lowercased().unicodeScalars)
        guard typed.count <= 64 else { return nil }  // no real name is that long; the cost stays small
        var best: (name: String, distance: Int)? = nil
        for candidate in accepted {
            let distance = editDistance(typed, Array(candidate.lowercased().unicodeScalars))
            if distance < 4, distance < (best?.distance ?? .max) { best = (candidate, distance) }
        }
        return best?.name
    }

    /// `name` lower case, without leading dashes, with `_` as `-` (`--Batch_Size`: batch-size).
    static func normalized(_ name: String) -> String {
        String(name.lowercased().drop { $0 == "-" }).replacingOccurrences(of: "_", with: "-")
    }

    /// " did you mean 'x'?" or "" (to put after "unknown setting 'y';").
    public static func hint(for name: String, among accepted: [String]) -> String {
        closest(to: name, among: accepted).map { " did you mean '\($0)'?" } ?? ""
    }

    /// Levenshtein distance (insertions, deletions, substitutions), two rows.
    /// - Complexity: O(m n).
    static func editDistance(_ first: [Unicode.Scalar], _ second: [Unicode.Scalar]) -> Int {
        if first.isEmpty || second.isEmpty { return max(first.count, second.count) }
        var previous = Array(0...second.count)
        var current = [Int](repeating: 0, count: second.count + 1)
        for (row, character) in first.enumerated() {
            current[0] = row + 1
            for column in 1...second.count {
                let substitution = previous[column - 1] + (character == second[column - 1] ? 0 : 1)
                current[column] = min(substitution, previous[column] + 1, current[column - 1] + 1)
            }
            swap(&previous, &current)
        }
        return previous[second.count]
    }
}
