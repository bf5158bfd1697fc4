// "Did you mean ...?" for names a user typed in a file (sweep file keys and settings), as
// ArgumentParser does for flags: the closest accepted name within a small edit distance.

public enum NameSuggestion {
    /// The accepted name closest to `name` (case-insensitive), if it is fewer than 4 edits away
    /// (ArgumentParser's threshold for flags); ties go to the earlier name.
    public static func closest(to name: String, among accepted: [String]) -> String? {
        let typed = Array(name.lowercased().unicodeScalars)
        guard typed.count <= 64 else { return nil }  // no real name is that long; the cost stays small
        var best: (name: String, distance: Int)? = nil
        for candidate in accepted {
            let distance = editDistance(typed, Array(candidate.lowercased().unicodeScalars))
            if distance < 4, distance < (best?.distance ?? .max) { best = (candidate, distance) }
        }
        return best?.name
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
